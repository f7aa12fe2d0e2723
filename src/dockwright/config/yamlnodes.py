"""werf.yaml's YAML documents as plain nodes that know the line they start on.

Importing PyYAML is a fifth of a build's start-up (about 30 ms of 150), and a project's
werf.yaml rarely changes: the nodes composed from a text are cached, keyed by a hash of that
text, so PyYAML is imported only when the text is new. A syntax error is never cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
from pathlib import Path
from typing import TypeAlias

from dockwright import cachefile

FORMAT = "3"  # bump when the cached form changes
STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
TRUE = ("yes", "true", "on")  # YAML 1.1, as PyYAML's SafeLoader resolves booleans


class Node:
    __slots__ = ("line", "tag")

    def __init__(self, tag: str, line: int) -> None:
        self.tag = tag
        self.line = line  # 0-based, as YAML marks count


class ScalarNode(Node):
    __slots__ = ("plain", "value")

    def __init__(self, tag: str, line: int, value: str, plain: bool = True) -> None:
        super().__init__(tag, line)
        self.value = value
        self.plain = plain  # written without quotes (or block indicators)


class SequenceNode(Node):
    __slots__ = ("value",)

    def __init__(self, tag: str, line: int, value: list[Node]) -> None:
        super().__init__(tag, line)
        self.value = value


class MappingNode(Node):
    __slots__ = ("value",)

    def __init__(self, tag: str, line: int, value: list[tuple[Node, Node]]) -> None:
        super().__init__(tag, line)
        self.value = value


class YamlSyntaxError(Exception):
    def __init__(self, problem: str, line: int | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line  # 0-based, None when unknown


# (kind, tag, line, value): "v" plain scalars hold a string ("q" quoted or block ones), "s"
# sequences their items, "m" mappings their keys and values in turn
Frozen: TypeAlias = tuple[str, str, int, "str | tuple[Frozen, ...]"]


def compose_all(text: str, cache: Path | None = None) -> list[Node | None]:
    """The documents of ``text`` (None for an empty one), from ``cache`` when it has them."""
    path = None
    if cache is not None:
        key = hashlib.blake2b(f"{FORMAT}\0{text}".encode(), digest_size=20).hexdigest()
        path = cache / f"{key}.marshal"
        cached = cachefile.read_marshal(path)
        with contextlib.suppress(ValueError, TypeError, IndexError):  # damaged: compose
            if isinstance(cached, list):
                return [None if doc is None else _thaw(doc) for doc in cached]
    frozen = _compose(text)
    if path is not None:
        cachefile.write(path, marshal.dumps(frozen))
    return [None if doc is None else _thaw(doc) for doc in frozen]


MERGE = "tag:yaml.org,2002:merge"


def _compose(text: str) -> list[Frozen | None]:
    import yaml  # only for a text not seen before (see the module doc)

    def merged(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
        """The pairs of a mapping with its merge keys (``<<: *base``) applied as YAML 1.1
        (and werf's yaml.v2) apply them: own keys win, then the merged mappings in order."""
        own: list[tuple[yaml.Node, yaml.Node]] = []
        merges: list[tuple[yaml.Node, yaml.Node]] = []
        for key, value in node.value:
            if key.tag != MERGE:
                own.append((key, value))
                continue
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise YamlSyntaxError("a merge key (<<) takes a mapping or a list of "
                                          "mappings", source.start_mark.line)
                merges.extend(merged(source))
        seen = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        result = list(own)
        for key, value in merges:
            if isinstance(key, yaml.ScalarNode) and key.value in seen:
                continue
            seen.add(key.value)
            result.append((key, value))
        return result

    def freeze(node: yaml.Node) -> Frozen:
        line = node.start_mark.line
        if isinstance(node, yaml.MappingNode):
            return ("m", node.tag, line, tuple(x for k, v in merged(node)
                                               for x in (freeze(k), freeze(v))))
        if isinstance(node, yaml.SequenceNode):
            return ("s", node.tag, line, tuple(freeze(item) for item in node.value))
        style = node.style if isinstance(node, yaml.ScalarNode) else None
        return ("v" if style is None else "q", node.tag, line, str(node.value))

    try:
        return [None if node is None else freeze(node)
                for node in yaml.compose_all(text, Loader=yaml.SafeLoader)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlSyntaxError(str(exc.problem or exc.context),
                              mark.line if mark else None) from None


def _thaw(frozen: Frozen) -> Node:
    kind, tag, line, value = frozen
    if isinstance(value, str):
        return ScalarNode(tag, line, value, kind == "v")
    if kind == "s":
        return SequenceNode(tag, line, [_thaw(item) for item in value])
    items = [_thaw(item) for item in value]
    return MappingNode(tag, line, list(zip(items[::2], items[1::2], strict=True)))
