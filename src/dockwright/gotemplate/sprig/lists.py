"""sprig's list functions (list.go): any slice or array works, through reflection.

A value that is not a slice or array is an error that names its kind ("Cannot push on type
string"): the ``must`` variants return it, the others panic with it, which the template
reports the same way. nil is no kind at all: reflect.TypeOf(nil).Kind() dereferences a nil
pointer. Elements are compared with reflect.DeepEqual (int 1 and int64 1 differ).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from dockwright.gotemplate.sprig._convert import float_to_int64, to_int
from dockwright.gotemplate.sprig.defaults import empty
from dockwright.gotemplate.sprig.reflection import deep_equal
from dockwright.gotemplate.values import (
    ANY,
    BOOL,
    INT,
    SLICE_ANY,
    Func,
    GoError,
    GoSlice,
    kind_of,
)

NIL_DEREFERENCE = "runtime error: invalid memory address or nil pointer dereference"
_MAKESLICE = "runtime error: makeslice: len out of range"


def _kind(v: Any) -> str:
    """reflect.TypeOf(v).Kind(), which panics for nil."""
    if v is None:
        raise GoError(NIL_DEREFERENCE)
    return kind_of(v)


def _items(v: Any, message: str) -> list[Any]:
    """The elements of slice or array ``v``; else the error ``message % kind``."""
    kind = _kind(v)
    if kind in ("slice", "array"):
        return list(v)
    raise GoError(message % kind)


def push(v: Any, x: Any) -> list[Any]:
    return [*_items(v, "Cannot push on type %s"), x]


def prepend(v: Any, x: Any) -> list[Any]:
    return [x, *_items(v, "Cannot prepend on type %s")]


def _go_int(f: float) -> int:
    return float_to_int64(f)


def _div(a: float, b: float) -> float:
    """Go's float64 division (by zero gives an infinity or NaN)."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _floor_int(f: float) -> int:
    """int(math.Floor(f)) in Go."""
    if math.isnan(f) or math.isinf(f):
        return _go_int(f)
    return _go_int(float(math.floor(f)))


def chunk(size: int, v: Any) -> list[list[Any]]:
    items = _items(v, "Cannot chunk type %s")
    n = len(items)
    quotient = _div(float(n - 1), float(size))
    cs = _go_int(math.floor(quotient) + 1.0) if math.isfinite(quotient) else _go_int(quotient)
    if cs < 0:
        raise GoError(_MAKESLICE)
    out: list[list[Any]] = []
    for i in range(cs):
        clen = size
        if i == cs - 1:
            clen = _floor_int(math.fmod(float(n), float(size))) if size else _go_int(math.nan)
            if clen == 0:
                clen = size
        if clen < 0:
            raise GoError(_MAKESLICE)
        part = []
        for j in range(clen):
            ix = i * size + j
            if not 0 <= ix < n:
                raise GoError("reflect: slice index out of range")
            part.append(items[ix])
        out.append(part)
    return out


def first(v: Any) -> Any:
    items = _items(v, "Cannot find first on type %s")
    return items[0] if items else None


def last(v: Any) -> Any:
    items = _items(v, "Cannot find last on type %s")
    return items[-1] if items else None


def rest(v: Any) -> list[Any]:
    return _items(v, "Cannot find rest on type %s")[1:]


def initial(v: Any) -> list[Any]:
    return _items(v, "Cannot find initial on type %s")[:-1]


def reverse(v: Any) -> list[Any]:
    return _items(v, "Cannot find reverse on type %s")[::-1]


def compact(v: Any) -> list[Any]:
    return [x for x in _items(v, "Cannot compact on type %s") if not empty(x)]


def _in_list(haystack: list[Any], needle: Any) -> bool:
    return any(deep_equal(needle, h) for h in haystack)


def uniq(v: Any) -> list[Any]:
    dest: list[Any] = []
    for x in _items(v, "Cannot find uniq on type %s"):
        if not _in_list(dest, x):
            dest.append(x)
    return dest


def without(v: Any, *omit: Any) -> list[Any]:
    omitted = list(omit)
    return [x for x in _items(v, "Cannot find without on type %s")
            if not _in_list(omitted, x)]


def has(needle: Any, haystack: Any) -> bool:
    if haystack is None:
        return False
    return _in_list(_items(haystack, "Cannot find has on type %s"), needle)


def slice_(v: Any, *indices: Any) -> Any:
    """``slice $list start end``: the part of the list, of the list's own type; nil for an
    empty list."""
    kind = _kind(v)
    if kind not in ("slice", "array"):
        raise GoError(f"list should be type of slice or array but {kind}")
    n = len(v)
    if n == 0:
        return None
    start = to_int(indices[0]) if indices else 0
    end = to_int(indices[1]) if len(indices) >= 2 else n
    if kind == "array":
        raise GoError("reflect.Value.Slice: slice of unaddressable array")
    if start < 0 or end < start or end > n:
        raise GoError("reflect.Value.Slice: slice index out of bounds")
    part = v[start:end]
    return part if type(v) is list else GoSlice(part, v.gotype)


def concat(*lists: Any) -> list[Any]:
    res: list[Any] = []
    for v in lists:
        kind = _kind(v)
        if kind not in ("slice", "array"):
            raise GoError(f"Cannot concat type {kind} as list")
        res.extend(v)
    return res


def _pair(fn: Callable[..., Any], params: tuple[str, ...], result: str,
          variadic: str | None = None) -> tuple[Func, Func]:
    """The function and its ``must`` variant (which has an error result)."""
    return (Func(fn, params, variadic, result),
            Func(fn, params, variadic, result, errors=True))


FUNCS: dict[str, Func] = {
    "list": Func(lambda *v: list(v), (), ANY, SLICE_ANY),
    "tuple": Func(lambda *v: list(v), (), ANY, SLICE_ANY),
    "concat": Func(concat, (), ANY, ANY),
}

for _names, _fn, _params, _result, _variadic in (
        (("push", "mustPush"), push, (ANY, ANY), SLICE_ANY, None),
        (("append", "mustAppend"), push, (ANY, ANY), SLICE_ANY, None),
        (("prepend", "mustPrepend"), prepend, (ANY, ANY), SLICE_ANY, None),
        (("chunk", "mustChunk"), chunk, (INT, ANY), "[][]interface {}", None),
        (("first", "mustFirst"), first, (ANY,), ANY, None),
        (("last", "mustLast"), last, (ANY,), ANY, None),
        (("rest", "mustRest"), rest, (ANY,), SLICE_ANY, None),
        (("initial", "mustInitial"), initial, (ANY,), SLICE_ANY, None),
        (("reverse", "mustReverse"), reverse, (ANY,), SLICE_ANY, None),
        (("compact", "mustCompact"), compact, (ANY,), SLICE_ANY, None),
        (("uniq", "mustUniq"), uniq, (ANY,), SLICE_ANY, None),
        (("without", "mustWithout"), without, (ANY,), SLICE_ANY, ANY),
        (("has", "mustHas"), has, (ANY, ANY), BOOL, None),
        (("slice", "mustSlice"), slice_, (ANY,), ANY, ANY)):
    FUNCS[_names[0]], FUNCS[_names[1]] = _pair(_fn, _params, _result, _variadic)
