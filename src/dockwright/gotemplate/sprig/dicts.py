"""sprig's dictionary functions (dict.go): dict, get, set, unset, hasKey, pluck, keys, pick,
omit, values, merge (mergo), deepCopy (copystructure), dig.

A Go map has no order: ``keys``, ``values`` and ``omit`` follow the Python dict's, where Go's
would be random. ``merge`` and ``mergeOverwrite`` follow mergo v0.3.16 (the version werf
builds with) on maps: nested maps are merged in place, slices replace (never append), and
``mergeOverwrite`` also writes empty values and nils of the source over the destination.
"""

from __future__ import annotations

from typing import Any

from dockwright.gotemplate.sprig._convert import strval
from dockwright.gotemplate.sprig.defaults import empty
from dockwright.gotemplate.values import (
    ANY,
    BOOL,
    COMPLEX_TYPES,
    MAP_ANY,
    MISSING,
    SLICE_ANY,
    SLICE_STRING,
    STRING,
    Func,
    GoError,
    GoMap,
    GoSlice,
    can_be_nil,
    elem_type,
    kind_of,
    kind_of_type,
    type_of,
)


def dict_(*v: Any) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for i in range(0, len(v), 2):
        d[strval(v[i])] = v[i + 1] if i + 1 < len(v) else ""
    return d


def get(d: dict[str, Any], key: str) -> Any:
    return d.get(key, "")


def set_(d: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    d[key] = value
    return d


def unset(d: dict[str, Any], key: str) -> dict[str, Any]:
    d.pop(key, None)
    return d


def pluck(key: str, *dicts: dict[str, Any]) -> list[Any]:
    return [d[key] for d in dicts if key in d]


def keys(*dicts: dict[str, Any]) -> list[str]:
    return [k for d in dicts for k in d]


def pick(d: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: d[k] for k in names if k in d}


def omit(d: dict[str, Any], *names: str) -> dict[str, Any]:
    omitted = set(names)
    return {k: v for k, v in d.items() if k not in omitted}


def values(d: dict[str, Any]) -> list[Any]:
    return list(d.values())


# --- mergo -------------------------------------------------------------------------------

def _map_elem_type(m: Any) -> str:
    return elem_type(type_of(m))


def _mergo_empty(v: Any) -> bool:
    """mergo's isEmptyValue (interfaces and pointers looked through): sprig's ``empty`` but
    for complex numbers, which mergo never counts empty."""
    return kind_of(v) not in COMPLEX_TYPES and empty(v)


def _set_index(dst: Any, key: Any, value: Any, static_type: str) -> None:
    """reflect's SetMapIndex: the value's static type must be assignable to the element's."""
    want = _map_elem_type(dst)
    if want != ANY and static_type != want:
        raise GoError(f"reflect.Value.SetMapIndex: value of type {static_type} is not "
                      f"assignable to type {want}")
    dst[key] = value


def _merge_maps(dst: Any, src: Any, overwrite: bool) -> None:
    """mergo's deepMerge of map ``src`` into map ``dst``."""
    src_static = _map_elem_type(src)
    src_static_kind = kind_of_type(src_static)
    dst_elem_kind = kind_of_type(_map_elem_type(dst))
    for key, src_el in list(src.items()):
        dst_has = key in dst
        dst_el = dst[key] if dst_has else MISSING
        if src_static_kind in ("chan", "func", "map", "interface", "slice") and src_el is None:
            if overwrite:
                _set_index(dst, key, None, src_static)
            continue
        kind = kind_of(src_el)
        if kind == "map":
            if dst_has and dst_el is not None and kind_of(dst_el) == "map":
                _merge_maps(dst_el, src_el, overwrite)
        elif kind == "slice":
            if dst_has and not can_be_nil(_map_elem_type(dst)):
                raise GoError(f"reflect: call of reflect.Value.IsNil on {dst_elem_kind} Value")
            if not dst_has or dst_el is None:
                dst_slice: Any = [] if type(src_el) is list else GoSlice((), src_el.gotype)
            else:
                dst_slice = dst_el
            if overwrite or len(dst) == 0:
                dst_slice = src_el
            _set_index(dst, key, dst_slice, type_of(dst_slice))
        if dst_has and not _mergo_empty(dst_el) and (
                kind == "slice" or (kind == "map" and kind_of(dst_el) == "map")):
            continue
        if (src_static_kind != "ptr" and overwrite) or not dst_has or _mergo_empty(dst_el):
            _set_index(dst, key, src_el, src_static)


def merge(dst: dict[str, Any], *srcs: dict[str, Any]) -> Any:
    for src in srcs:
        _merge_maps(dst, src, False)
    return dst


def merge_overwrite(dst: dict[str, Any], *srcs: dict[str, Any]) -> Any:
    for src in srcs:
        _merge_maps(dst, src, True)
    return dst


# --- copystructure -----------------------------------------------------------------------

def deep_copy_value(v: Any) -> Any:
    """A deep copy of maps and slices (other values are immutable here, or copied as they
    are)."""
    if type(v) is dict:
        return {k: deep_copy_value(x) for k, x in v.items()}
    if type(v) is list:
        return [deep_copy_value(x) for x in v]
    if isinstance(v, GoMap):
        return GoMap({k: deep_copy_value(x) for k, x in v.items()}, v.gotype)
    if isinstance(v, GoSlice):
        return GoSlice([deep_copy_value(x) for x in v], v.gotype)
    return v


def deep_copy(v: Any) -> Any:
    if v is None or v is MISSING:
        raise GoError("reflect: call of reflect.Value.Type on zero Value")
    return deep_copy_value(v)


# --- dig ---------------------------------------------------------------------------------

def _assert(v: Any, want: str) -> None:
    """A Go type assertion of an interface {} value to ``want``."""
    actual = "nil" if v is None or v is MISSING else type_of(v)
    if actual != want:
        raise GoError(f"interface conversion: interface {{}} is {actual}, not {want}")


def dig(*ps: Any) -> Any:
    if len(ps) < 3:
        raise GoError("dig needs at least three arguments")
    d = ps[-1]
    _assert(d, MAP_ANY)
    default = ps[-2]
    path = ps[:-2]
    for k in path:
        _assert(k, STRING)
    for i, k in enumerate(path):
        if k not in d:
            return default
        step = d[k]
        if i == len(path) - 1:
            return step
        _assert(step, MAP_ANY)
        d = step
    return default  # not reached: the path has at least one key


FUNCS: dict[str, Func] = {
    "dict": Func(dict_, (), ANY, MAP_ANY),
    "get": Func(get, (MAP_ANY, STRING), result=ANY),
    "set": Func(set_, (MAP_ANY, STRING, ANY), result=MAP_ANY),
    "unset": Func(unset, (MAP_ANY, STRING), result=MAP_ANY),
    "hasKey": Func(lambda d, k: k in d, (MAP_ANY, STRING), result=BOOL),
    "pluck": Func(pluck, (STRING,), MAP_ANY, SLICE_ANY),
    "keys": Func(keys, (), MAP_ANY, SLICE_STRING),
    "pick": Func(pick, (MAP_ANY,), STRING, MAP_ANY),
    "omit": Func(omit, (MAP_ANY,), STRING, MAP_ANY),
    "merge": Func(merge, (MAP_ANY,), MAP_ANY, ANY),
    "mustMerge": Func(merge, (MAP_ANY,), MAP_ANY, ANY, errors=True),
    "mergeOverwrite": Func(merge_overwrite, (MAP_ANY,), MAP_ANY, ANY),
    "mustMergeOverwrite": Func(merge_overwrite, (MAP_ANY,), MAP_ANY, ANY, errors=True),
    "values": Func(values, (MAP_ANY,), result=SLICE_ANY),
    "deepCopy": Func(deep_copy, (ANY,), result=ANY),
    "mustDeepCopy": Func(deep_copy, (ANY,), result=ANY, errors=True),
    "dig": Func(dig, (), ANY, ANY, errors=True),
}
