"""A set of named templates that share functions: Go's ``*template.Template`` and the
templates associated with it (``New(name).Parse(text)``, ``ExecuteTemplate``, ``Lookup``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dockwright.gotemplate.builtins import BUILTINS
from dockwright.gotemplate.execute import ExecError, Spans, execute
from dockwright.gotemplate.nodes import Tree, is_empty_tree
from dockwright.gotemplate.parse import parse
from dockwright.gotemplate.values import Func


class Templates:
    """Templates by name. ``name`` is the set's own (the root's) name, which Go's
    "no template associated with template" message quotes."""

    def __init__(self, name: str, funcs: Mapping[str, Func]) -> None:
        self.name = name
        self.funcs = dict(funcs)
        self.trees: dict[str, Tree] = {}
        self._known = set(self.funcs) | set(BUILTINS)

    def parse(self, name: str, text: str) -> None:
        """Parse ``text`` as template ``name``, adding it and every template it defines.
        Raises ``parse.ParseError``."""
        for tree_name, tree in parse(name, text, self._known).items():
            old = self.trees.get(tree_name)
            if old is not None and is_empty_tree(tree.root):
                continue  # an empty definition does not replace a template
            self.trees[tree_name] = tree

    def lookup(self, name: str) -> Tree | None:
        return self.trees.get(name)

    def execute(self, name: str, data: Any, spans: Spans | None = None) -> str:
        """The output of template ``name`` run with ``data``; raises ``ExecError``. With
        ``spans``, each piece of output is recorded with where in which file it came from."""
        tree = self.trees.get(name)
        if tree is None:
            raise ExecError(f'no template "{name}" associated with template "{self.name}"',
                            None, None, name="")
        return execute(tree, data, self.trees.get, self.funcs, BUILTINS, spans)
