"""Executing a parsed template: Go's ``text/template/exec.go`` in Python.

The rules are Go's, including the ones that surprise: a missing map key is an invalid value
that prints ``<no value>``, a nil inside an interface is dug out after every command of a
pipeline, arguments are checked against the function's Go parameter types (a literal is
converted to the parameter's type, a computed value must already have it), ``and``/``or``
return an operand and stop early, ``{{template "x"}}`` without a pipeline runs with nil data.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from dockwright.gotemplate import gofmt
from dockwright.gotemplate.nodes import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    CommentNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    RangeNode,
    StringNode,
    TemplateNode,
    TextNode,
    Tree,
    VariableNode,
    WithNode,
)
from dockwright.gotemplate.values import (
    ANY,
    COMPLEX_TYPES,
    FLOAT_TYPES,
    INT_TYPES,
    MISSING,
    REFLECT_VALUE,
    UINT_TYPES,
    Float32,
    Func,
    GoError,
    GoMap,
    GoObject,
    can_be_nil,
    convert,
    key_type,
    kind_of_type,
    type_of,
    wrap_int,
    zero,
)

MAX_DEPTH = 1000  # nested {{template}}/include calls (Go allows 100000; Python's stack less)


class ExecError(Exception):
    """A template failed while running. ``tree`` and ``node`` say where (None when the
    error is not at a node); ``inner`` is the error of a template that a function such as
    werf's ``include`` ran for this one, if that is what failed."""

    def __init__(self, message: str, tree: Tree | None, node: Node | None,
                 name: str = "", inner: ExecError | None = None) -> None:
        self.message = message
        self.tree = tree
        self.node = node
        self.name = name or (tree.name if tree else "")
        self.inner = inner
        super().__init__(self.go_text())

    def location(self) -> tuple[str, int, int] | None:
        """(parse name, line, column), both counted from 1; None without a node."""
        if self.tree is None or self.node is None:
            return None
        before = self.tree.text[:self.node.pos]
        line = before.count("\n") + 1
        return self.tree.parse_name, line, self.node.pos - (before.rfind("\n") + 1) + 1

    def go_text(self) -> str:
        """The error as Go's Execute reports it."""
        where = self.location()
        if where is None or self.node is None:
            return f"template: {self.name}: {self.message}" if self.name \
                else f"template: {self.message}"
        name, line, col = where
        return (f'template: {name}:{line}:{col - 1}: executing "{self.name}" at '
                f"<{self.node}>: {self.message}")


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


Lookup = Callable[[str], "Tree | None"]
# (output offset, parse name, source offset, whether it is literal text) of each piece of
# output, for error locations
Spans = list[tuple[int, str, int, bool]]

_BASIC_INT = frozenset(INT_TYPES)
_BASIC_UINT = frozenset(UINT_TYPES)


class State:
    def __init__(self, lookup: Lookup, funcs: Mapping[str, Func],
                 builtins: Mapping[str, Func], tree: Tree, spans: Spans | None,
                 depth: int = 0) -> None:
        self.lookup = lookup
        self.funcs = funcs
        self.builtins = builtins
        self.tree = tree
        self.out: list[str] = []
        self.size = 0
        self.spans = spans
        self.vars: list[list[Any]] = []  # [name, value] pairs, innermost last
        self.depth = depth
        self.node: Node | None = None

    # -- errors
    def error(self, message: str, inner: ExecError | None = None) -> ExecError:
        return ExecError(message, self.tree, self.node, self.tree.name, inner)

    # -- variables
    def push(self, name: str, value: Any) -> None:
        self.vars.append([name, value])

    def set_var(self, name: str, value: Any) -> None:
        for pair in reversed(self.vars):
            if pair[0] == name:
                pair[1] = value
                return
        raise self.error(f"undefined variable: {name}")

    def var_value(self, name: str) -> Any:
        for pair in reversed(self.vars):
            if pair[0] == name:
                return pair[1]
        raise self.error(f"undefined variable: {name}")

    # -- output
    def write(self, text: str, node: Node) -> None:
        if self.spans is not None:
            self.spans.append((self.size, self.tree.parse_name, node.pos, type(node) is TextNode))
        self.out.append(text)
        self.size += len(text)

    # -- walking
    def walk(self, dot: Any, node: Node) -> None:
        self.node = node
        t = type(node)
        if t is TextNode:
            self.write(node.text, node)  # type: ignore[attr-defined]
        elif t is ListNode:
            for child in node.nodes:  # type: ignore[attr-defined]
                self.walk(dot, child)
        elif t is ActionNode:
            assert isinstance(node, ActionNode) and node.pipe is not None
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.print_value(node, value)
        elif t is IfNode or t is WithNode:
            assert isinstance(node, BranchNode)
            self.walk_if_or_with(dot, node)
        elif t is RangeNode:
            assert isinstance(node, RangeNode)
            self.walk_range(dot, node)
        elif t is TemplateNode:
            assert isinstance(node, TemplateNode)
            self.walk_template(dot, node)
        elif t is BreakNode:
            raise _Break
        elif t is ContinueNode:
            raise _Continue
        elif t is CommentNode:
            pass
        else:
            raise self.error(f"unknown node: {node}")

    def walk_if_or_with(self, dot: Any, node: BranchNode) -> None:
        mark = len(self.vars)
        try:
            assert node.pipe is not None and node.list is not None
            value = self.eval_pipeline(dot, node.pipe)
            if is_true(value):
                self.walk(value if isinstance(node, WithNode) else dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Any, node: RangeNode) -> None:
        self.node = node
        mark = len(self.vars)
        assert node.pipe is not None and node.list is not None
        try:
            value = self.eval_pipeline(dot, node.pipe)
            body_mark = len(self.vars)
            ndecl = len(node.pipe.decl)

            def iteration(index: Any, elem: Any) -> None:
                if ndecl > 0:
                    self.vars[-1][1] = elem
                if ndecl > 1:
                    self.vars[-2][1] = index
                try:
                    self.walk(elem, node.list)  # type: ignore[arg-type]
                except _Continue:
                    pass
                finally:
                    del self.vars[body_mark:]

            items = self.range_items(value, node, ndecl)
            if items:
                try:
                    for index, elem in items:
                        iteration(index, elem)
                except _Break:
                    pass
                return
            if node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def range_items(self, value: Any, node: RangeNode, ndecl: int) -> list[tuple[Any, Any]]:
        if value is None or value is MISSING:
            return []
        kind = kind_of_type(type_of(value))
        if kind in ("slice", "array"):
            return list(enumerate(value))
        if kind == "map":
            return [(k, value[k]) for k in sort_keys(value)]
        if kind in INT_TYPES or kind in UINT_TYPES:  # Go 1.22: range over an integer
            if ndecl > 1:
                raise self.error(f"can't use {value} to iterate over more than one variable")
            return [(i, convert(i, type_of(value))) for i in range(int(value))]
        self.node = node
        raise self.error(f"range can't iterate over {gofmt.sprint(value)}")

    def walk_template(self, dot: Any, node: TemplateNode) -> None:
        self.node = node
        tree = self.lookup(node.name)
        if tree is None:
            raise self.error(f'template "{node.name}" not defined')
        if self.depth >= MAX_DEPTH:
            raise self.error(f"exceeded maximum template depth ({MAX_DEPTH})")
        data = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else MISSING
        inner = State(self.lookup, self.funcs, self.builtins, tree, self.spans, self.depth + 1)
        inner.size = self.size
        inner.out = self.out
        inner.vars = [["$", data]]
        inner.walk(data, tree.root)
        self.size = inner.size

    def print_value(self, node: Node, value: Any) -> None:
        self.node = node
        if value is MISSING or value is None:
            self.write("<no value>", node)
            return
        t = type(value)
        self.write(value if t is str else gofmt.sprint(value), node)

    # -- evaluation
    def eval_pipeline(self, dot: Any, pipe: PipeNode | None) -> Any:
        if pipe is None:
            return MISSING
        self.node = pipe
        value: Any = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
            if value is None:  # a nil interface is dug out: an invalid value
                value = MISSING
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.ident[0], value)
            else:
                self.push(var.ident[0], value)
        return value

    def not_a_function(self, args: list[Node], final: Any) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            raise self.error(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        t = type(first)
        if t is FieldNode:
            assert isinstance(first, FieldNode)
            self.node = first
            return self.eval_field_chain(dot, dot, first, first.ident, cmd.args, final)
        if t is ChainNode:
            assert isinstance(first, ChainNode)
            return self.eval_chain(dot, first, cmd.args, final)
        if t is IdentifierNode:
            assert isinstance(first, IdentifierNode)
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if t is PipeNode:
            assert isinstance(first, PipeNode)
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if t is VariableNode:
            assert isinstance(first, VariableNode)
            return self.eval_variable(dot, first, cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if t is BoolNode:
            return first.value  # type: ignore[attr-defined]
        if t is DotNode:
            return dot
        if t is NilNode:
            raise self.error("nil is not a command")
        if t is NumberNode:
            assert isinstance(first, NumberNode)
            return self.ideal_constant(first)
        if t is StringNode:
            return first.text  # type: ignore[attr-defined]
        raise self.error(f"can't evaluate command {first}")

    def ideal_constant(self, n: NumberNode) -> Any:
        self.node = n
        text = n.text
        if n.is_complex:
            return n.complex128
        if n.is_float and not _is_hex_int(text) and not text.startswith("'") \
                and any(c in text for c in ".eEpP"):
            return n.float64
        if n.is_int:
            return n.int64
        if n.is_uint:
            raise self.error(f"{text} overflows int")
        return MISSING

    def eval_chain(self, dot: Any, chain: ChainNode, args: list[Node], final: Any) -> Any:
        self.node = chain
        if isinstance(chain.node, NilNode):
            raise self.error(f"indirection through explicit nil in {chain}")
        assert chain.node is not None
        pipe = self.eval_arg(dot, None, chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.field, args, final)

    def eval_variable(self, dot: Any, var: VariableNode, args: list[Node], final: Any) -> Any:
        self.node = var
        value = self.var_value(var.ident[0])
        if len(var.ident) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, var, var.ident[1:], args, final)

    def eval_field_chain(self, dot: Any, receiver: Any, node: Node, ident: list[str],
                         args: list[Node], final: Any) -> Any:
        for name in ident[:-1]:
            receiver = self.eval_field(dot, name, node, [], _NO_FINAL, receiver)
        return self.eval_field(dot, ident[-1], node, args, final, receiver)

    def eval_function(self, dot: Any, node: IdentifierNode, cmd: Node, args: list[Node],
                      final: Any) -> Any:
        self.node = node
        name = node.ident
        fn = self.funcs.get(name)
        builtin = False
        if fn is None:
            fn = self.builtins.get(name)
            builtin = True
        if fn is None:
            raise self.error(f'"{name}" is not a defined function')
        return self.eval_call(dot, fn, builtin, cmd, name, args, final)

    def eval_field(self, dot: Any, name: str, node: Node, args: list[Node], final: Any,
                   receiver: Any) -> Any:
        if receiver is MISSING:
            return MISSING
        if receiver is None:
            raise self.error(f"nil pointer evaluating interface {{}}.{name}")
        has_args = len(args) > 1 or final is not _NO_FINAL
        t = type(receiver)
        if t is dict:
            if has_args:
                raise self.error(f"{name} is not a method but has arguments")
            return receiver.get(name, MISSING)
        if isinstance(receiver, GoObject):
            method = receiver.go_methods().get(name)
            if method is not None:
                return self.eval_call(dot, method, False, node, name, args, final)
            fields = receiver.go_fields()
            if name in fields:
                if has_args:
                    raise self.error(f"{name} has arguments but cannot be invoked as function")
                return fields[name]
        elif isinstance(receiver, GoMap) and key_type(receiver.gotype) in ("string", ANY):
            if has_args:
                raise self.error(f"{name} is not a method but has arguments")
            try:
                return receiver.get(name, MISSING)
            except GoError as exc:  # a map that is read when first used (werf's .Commit)
                raise self.error(exc.message) from None
        raise self.error(f"can't evaluate field {name} in type {type_of(receiver)}")

    def eval_call(self, dot: Any, fn: Func, builtin: bool, node: Node, name: str,
                  args: list[Node], final: Any) -> Any:
        args = args[1:] if args else []
        num_in = len(args) + (final is not _NO_FINAL)
        params = fn.params
        variadic = fn.variadic is not None
        if variadic:
            if num_in < len(params):
                raise self.error(f"wrong number of args for {name}: want at least "
                                 f"{len(params)} got {len(args)}")
        elif num_in != len(params):
            raise self.error(f"wrong number of args for {name}: want {len(params)} got "
                             f"{num_in}")
        if builtin and name in ("and", "or"):
            want = name == "or"
            value: Any = MISSING
            for arg in args:
                value = self.eval_arg(dot, REFLECT_VALUE, arg)
                if is_true(value) == want:
                    return value
            if final is not _NO_FINAL:
                value = final
            return value
        argv: list[Any] = []
        for i, arg in enumerate(args):
            typ = params[i] if i < len(params) else fn.variadic
            argv.append(self.eval_arg(dot, typ, arg))
        if final is not _NO_FINAL:
            i = num_in - 1
            typ = params[i] if i < len(params) else fn.variadic
            argv.append(self.validate_type(final, typ))
        try:
            result = fn.fn(*argv)
        except GoError as exc:
            self.node = node
            inner = exc.inner if isinstance(exc.inner, ExecError) else None
            raise self.error(f"error calling {name}: {exc.message}", inner) from None
        except RecursionError:
            self.node = node
            raise self.error("exceeded maximum template depth") from None
        return convert(result, fn.result)

    def validate_type(self, value: Any, typ: str | None) -> Any:
        if value is MISSING:
            if typ is None or typ == REFLECT_VALUE:
                return MISSING
            if can_be_nil(typ):
                return zero(typ)
            raise self.error(f"invalid value; expected {typ}")
        if typ is None or typ in (ANY, REFLECT_VALUE):
            return value
        if value is None:
            raise self.error(f"wrong type for value; expected {typ}; got interface {{}}")
        actual = type_of(value)
        if actual != typ:
            if actual == "*" + typ and isinstance(value, GoObject):  # one dereference
                pointee = value.go_deref()
                if pointee is not None:
                    return pointee
            raise self.error(f"wrong type for value; expected {typ}; got {actual}")
        return value

    def eval_arg(self, dot: Any, typ: str | None, n: Node) -> Any:
        self.node = n
        t = type(n)
        if t is DotNode:
            return self.validate_type(dot, typ)
        if t is NilNode:
            if typ is not None and can_be_nil(typ):
                return MISSING if typ == REFLECT_VALUE else zero(typ)
            raise self.error(f"cannot assign nil to {typ}")
        if t is FieldNode:
            assert isinstance(n, FieldNode)
            return self.validate_type(
                self.eval_field_chain(dot, dot, n, n.ident, [n], _NO_FINAL), typ)
        if t is VariableNode:
            assert isinstance(n, VariableNode)
            return self.validate_type(self.eval_variable(dot, n, [], _NO_FINAL), typ)
        if t is PipeNode:
            assert isinstance(n, PipeNode)
            return self.validate_type(self.eval_pipeline(dot, n), typ)
        if t is IdentifierNode:
            assert isinstance(n, IdentifierNode)
            return self.validate_type(self.eval_function(dot, n, n, [], _NO_FINAL), typ)
        if t is ChainNode:
            assert isinstance(n, ChainNode)
            return self.validate_type(self.eval_chain(dot, n, [], _NO_FINAL), typ)
        assert typ is not None
        if typ in (ANY, REFLECT_VALUE):
            if t is BoolNode:
                return n.value  # type: ignore[attr-defined]
            if t is NumberNode:
                assert isinstance(n, NumberNode)
                return self.ideal_constant(n)
            if t is StringNode:
                return n.text  # type: ignore[attr-defined]
            raise self.error(f"can't handle assignment of {n} to empty interface argument")
        kind = kind_of_type(typ)
        if kind == "bool":
            if t is BoolNode:
                return n.value  # type: ignore[attr-defined]
            raise self.error(f"expected bool; found {n}")
        if kind == "string":
            if t is StringNode:
                return n.text  # type: ignore[attr-defined]
            raise self.error(f"expected string; found {n}")
        if kind in _BASIC_INT:
            if isinstance(n, NumberNode) and n.is_int:
                return wrap_int(n.int64, typ)
            raise self.error(f"expected integer; found {n}")
        if kind in _BASIC_UINT:
            if isinstance(n, NumberNode) and n.is_uint:
                return wrap_int(n.uint64, typ)
            raise self.error(f"expected unsigned integer; found {n}")
        if kind in FLOAT_TYPES:
            if isinstance(n, NumberNode) and n.is_float:
                return n.float64 if typ == "float64" else Float32(n.float64)
            raise self.error(f"expected float; found {n}")
        if kind in COMPLEX_TYPES:
            if isinstance(n, NumberNode) and n.is_complex:
                return n.complex128
            raise self.error(f"expected complex; found {n}")
        raise self.error(f"can't handle {n} for arg of type {typ}")


_NO_FINAL = object()  # no value from the previous command of the pipeline


def _is_hex_int(s: str) -> bool:
    return len(s) > 2 and s[0] == "0" and s[1] in "xX" and not any(c in s for c in "pP")


def is_true(value: Any) -> bool:
    """Go's isTrue: the zero value of every type is false, a struct always true."""
    if value is None or value is MISSING:
        return False
    t = type(value)
    if t is bool:
        return value  # type: ignore[no-any-return]
    if t is str or t is list or t is dict:
        return len(value) > 0
    if isinstance(value, GoObject):
        return True
    if isinstance(value, (int, float, complex)):
        return value != 0
    return len(value) > 0


def sort_keys(mapping: Mapping[Any, Any]) -> list[Any]:
    """A map's keys in the order Go's fmtsort gives them (range, and fmt's %v)."""
    keys = list(mapping)
    if all(type(k) is str for k in keys):
        return sorted(keys)
    return sorted(keys, key=_key_order)


_KIND_RANK = {"invalid": 0, "bool": 1, "int": 2, "uint": 3, "string": 4, "float": 5,
              "complex": 6}


def _key_order(key: Any) -> tuple[int, Any]:
    if key is None:
        return (0, 0)
    t = type_of(key)
    kind = kind_of_type(t)
    if kind == "bool":
        return (1, bool(key))
    if kind in INT_TYPES:
        return (2, int(key))
    if kind in UINT_TYPES:
        return (3, int(key))
    if kind == "string":
        return (4, key)
    if kind in FLOAT_TYPES:
        return (5, float(key))
    return (7, str(key))


def execute(tree: Tree, data: Any, lookup: Lookup, funcs: Mapping[str, Func],
            builtins: Mapping[str, Func], spans: Spans | None = None,
            depth: int = 0) -> str:
    """Run ``tree`` with ``data``; ``lookup`` finds the other templates of its set."""
    state = State(lookup, funcs, builtins, tree, spans, depth)
    state.vars = [["$", data]]
    limit = sys.getrecursionlimit()
    if limit < 20000:
        sys.setrecursionlimit(20000)
    try:
        state.walk(data, tree.root)
    except (_Break, _Continue):  # the parser allows these only inside range
        raise state.error("break or continue outside range") from None
    finally:
        if limit < 20000:
            sys.setrecursionlimit(limit)
    return "".join(state.out)
