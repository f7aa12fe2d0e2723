"""text/template's predefined functions (Go's ``funcs.go``): and, or, not, len, index,
slice, print, printf, println, the comparisons, html, js, urlquery and call.

Most take ``reflect.Value`` parameters, so they see a missing value as it is: ``None`` (a
nil interface) and ``MISSING`` both read as "nil" once Go's ``indirectInterface`` is applied.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from dockwright.gotemplate import gofmt, strconv
from dockwright.gotemplate.execute import is_true
from dockwright.gotemplate.values import (
    ANY,
    BOOL,
    COMPLEX_TYPES,
    FLOAT_TYPES,
    INT,
    INT_TYPES,
    MISSING,
    REFLECT_VALUE,
    STRING,
    UINT_TYPES,
    Func,
    GoError,
    GoObject,
    GoSlice,
    Uint8,
    assignable,
    can_be_nil,
    convert,
    elem_type,
    from_go_bytes,
    go_bytes,
    go_len,
    key_type,
    kind_of_type,
    type_of,
    zero,
)

RV = REFLECT_VALUE


def _concrete(v: Any) -> Any:
    """Go's indirectInterface: a nil interface is no value at all."""
    return MISSING if v is None else v


def _kind(v: Any) -> str:
    return "invalid" if v is MISSING else kind_of_type(type_of(v))


def _not(arg: Any) -> bool:
    return not is_true(_concrete(arg))


def _length(item: Any) -> int:
    if item is None:
        raise GoError("len of nil pointer")
    if item is MISSING:
        raise GoError("reflect: call of reflect.Value.Type on zero Value")
    kind = _kind(item)
    if kind == "string":
        return go_len(item)
    if kind in ("slice", "array", "map", "chan"):
        return len(item)
    raise GoError(f"len of type {type_of(item)}")


def _index_arg(index: Any, cap: int) -> int:
    kind = _kind(index)
    if kind in INT_TYPES or kind in UINT_TYPES:
        x = int(index)
    elif kind == "invalid":
        raise GoError("cannot index slice/array with nil")
    else:
        raise GoError(f"cannot index slice/array with type {type_of(index)}")
    if x < 0 or x > cap:
        raise GoError(f"index out of range: {x}")
    return x


def _prepare_arg(value: Any, typ: str) -> Any:
    if value is MISSING:
        if not can_be_nil(typ):
            raise GoError(f"value is nil; should be of type {typ}")
        return zero(typ)
    if assignable(value, typ):
        return value
    vkind, tkind = _kind(value), kind_of_type(typ)
    ints = INT_TYPES + UINT_TYPES
    if vkind in ints and tkind in ints:
        return convert(int(value), typ)
    raise GoError(f"value has type {type_of(value)}; should be {typ}")


def _index(item: Any, *indexes: Any) -> Any:
    item = _concrete(item)
    if item is MISSING:
        raise GoError("index of untyped nil")
    for raw in indexes:
        index = _concrete(raw)
        if item is None or item is MISSING:
            raise GoError("index of nil pointer")
        kind = _kind(item)
        if kind in ("slice", "array", "string"):
            length = go_len(item) if kind == "string" else len(item)
            x = _index_arg(index, length)
            if x == length:
                raise GoError("reflect: slice index out of range" if kind != "string"
                              else "reflect: string index out of range")
            item = Uint8(go_bytes(item)[x]) if kind == "string" else item[x]
        elif kind == "map":
            gotype = type_of(item)
            key = _prepare_arg(index, key_type(gotype))
            item = item[key] if key in item else zero(elem_type(gotype))
        else:
            raise GoError(f"can't index item of type {type_of(item)}")
    return item


def _slice(item: Any, *indexes: Any) -> Any:
    item = _concrete(item)
    if item is MISSING:
        raise GoError("slice of untyped nil")
    if len(indexes) > 3:
        raise GoError(f"too many slice indexes: {len(indexes)}")
    kind = _kind(item)
    if kind == "string":
        if len(indexes) == 3:
            raise GoError("cannot 3-index slice a string")
        data = go_bytes(item)
        cap = len(data)
    elif kind in ("slice", "array"):
        cap = len(item)
    else:
        raise GoError(f"can't slice item of type {type_of(item)}")
    idx = [0, cap, cap]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(_concrete(index), cap)
    if idx[0] > idx[1]:
        raise GoError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise GoError(f"invalid slice index: {idx[1]} > {idx[2]}")
    if kind == "string":
        return from_go_bytes(data[idx[0]:idx[1]])
    part = item[idx[0]:idx[1]]
    return GoSlice(part, item.gotype) if isinstance(item, GoSlice) else part


# --- comparison ----------------------------------------------------------------------------

def _basic(v: Any) -> str:
    kind = _kind(v)
    if kind in INT_TYPES:
        return "int"
    if kind in UINT_TYPES:
        return "uint"
    if kind in FLOAT_TYPES:
        return "float"
    if kind in COMPLEX_TYPES:
        return "complex"
    if kind in ("bool", "string"):
        return kind
    return "invalid"


def _eq(arg1: Any, *rest: Any) -> bool:
    arg1 = _concrete(arg1)
    if not rest:
        raise GoError("missing argument for comparison")
    k1 = _basic(arg1)
    for raw in rest:
        arg = _concrete(raw)
        k2 = _basic(arg)
        truth = False
        if k1 != k2:
            if {k1, k2} == {"int", "uint"}:
                truth = int(arg1) == int(arg)
            elif arg1 is not MISSING and arg is not MISSING:
                raise GoError("incompatible types for comparison")
        elif k1 != "invalid":
            truth = arg1 == arg
        else:
            truth = _eq_other(arg1, arg)
        if truth:
            return True
    return False


def _eq_other(a: Any, b: Any) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka != kb and "invalid" not in (ka, kb):
        raise GoError(f"non-comparable types {gofmt.sprint(a)}: {type_of(a)}, {type_of(b)}: "
                      f"{gofmt.sprint(b)}")
    if a is MISSING or b is MISSING:
        return a is b
    if kb in ("slice", "map", "func"):
        raise GoError(f"non-comparable type {gofmt.sprint(b)}: {type_of(b)}")
    return type_of(a) == type_of(b) and a == b


def _lt(arg1: Any, arg2: Any) -> bool:
    arg1, arg2 = _concrete(arg1), _concrete(arg2)
    k1, k2 = _basic(arg1), _basic(arg2)
    if k1 == "invalid" or k2 == "invalid":
        raise GoError("invalid type for comparison")
    if k1 != k2:
        if {k1, k2} == {"int", "uint"}:
            return int(arg1) < int(arg2)
        raise GoError("incompatible types for comparison")
    if k1 in ("bool", "complex"):
        raise GoError("invalid type for comparison")
    return arg1 < arg2  # type: ignore[no-any-return]


def _le(arg1: Any, arg2: Any) -> bool:
    return _lt(arg1, arg2) or _eq(arg1, arg2)


def _gt(arg1: Any, arg2: Any) -> bool:
    return not _le(arg1, arg2)


def _ge(arg1: Any, arg2: Any) -> bool:
    return not _lt(arg1, arg2)


def _ne(arg1: Any, arg2: Any) -> bool:
    return not _eq(arg1, arg2)


# --- escaping ------------------------------------------------------------------------------

def eval_args(args: tuple[Any, ...]) -> str:
    """fmt.Sprint of the arguments, the fast way for one string (Go's evalArgs)."""
    if len(args) == 1 and type(args[0]) is str:
        return str(args[0])
    return gofmt.sprint(*args)


_HTML = {"\0": "\ufffd", '"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;"}
_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026",
       "=": "\\u003D"}


def html_escape(s: str) -> str:
    if not any(c in s for c in _HTML):
        return s
    return "".join(_HTML.get(c, c) for c in s)


def _html(*args: Any) -> str:
    return html_escape(eval_args(args))


def js_escape(s: str) -> str:
    out = []
    for ch in s:
        if ch in _JS:
            out.append(_JS[ch])
        elif ch < " ":
            out.append(f"\\u00{ord(ch):02X}")
        elif ch < "\x80":
            out.append(ch)
        elif not 0xDC80 <= ord(ch) <= 0xDCFF and not strconv.is_print(ord(ch)):  # bad bytes stay
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _js(*args: Any) -> str:
    return js_escape(eval_args(args))


def _urlquery(*args: Any) -> str:
    return quote_plus(go_bytes(eval_args(args)), safe="-_.~")


def _call(fn: Any, *args: Any) -> Any:
    fn = _concrete(fn)
    if fn is MISSING:
        raise GoError("call of nil")
    if not isinstance(fn, GoObject) or not isinstance(getattr(fn, "func", None), Func):
        raise GoError(f"non-function of type {type_of(fn)}")
    target: Func = fn.func  # type: ignore[attr-defined]
    params = target.params
    if target.variadic is None and len(args) != len(params):
        raise GoError(f"wrong number of args: got {len(args)} want {len(params)}")
    if target.variadic is not None and len(args) < len(params):
        raise GoError(f"wrong number of args: got {len(args)} want at least {len(params)}")
    argv = []
    for i, arg in enumerate(args):
        typ = params[i] if i < len(params) else target.variadic
        assert typ is not None
        try:
            argv.append(_prepare_arg(_concrete(arg), typ))
        except GoError as exc:
            raise GoError(f"arg {i}: {exc.message}") from None
    return convert(target.fn(*argv), target.result)


BUILTINS: dict[str, Func] = {
    "and": Func(lambda *a: a[-1], (RV,), RV, RV),  # evaluated by the executor (short-circuit)
    "or": Func(lambda *a: a[-1], (RV,), RV, RV),
    "not": Func(_not, (RV,), result=BOOL),
    "len": Func(_length, (RV,), result=INT, errors=True),
    "index": Func(_index, (RV,), RV, RV, errors=True),
    "slice": Func(_slice, (RV,), RV, RV, errors=True),
    "call": Func(_call, (RV,), RV, RV, errors=True),
    "print": Func(gofmt.sprint, (), ANY, STRING),
    "printf": Func(gofmt.sprintf, (STRING,), ANY, STRING),
    "println": Func(gofmt.sprintln, (), ANY, STRING),
    "html": Func(_html, (), ANY, STRING),
    "js": Func(_js, (), ANY, STRING),
    "urlquery": Func(_urlquery, (), ANY, STRING),
    "eq": Func(_eq, (RV,), RV, BOOL, errors=True),
    "ne": Func(_ne, (RV, RV), result=BOOL, errors=True),
    "lt": Func(_lt, (RV, RV), result=BOOL, errors=True),
    "le": Func(_le, (RV, RV), result=BOOL, errors=True),
    "gt": Func(_gt, (RV, RV), result=BOOL, errors=True),
    "ge": Func(_ge, (RV, RV), result=BOOL, errors=True),
}
