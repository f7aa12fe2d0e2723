"""sprig's defaults functions (defaults.go): default, empty, coalesce, all, any, ternary.

(``compact`` is in list.go: ``lists``; the JSON functions are ``encoding``'s; ``deepCopy`` is
``dicts``'.)
"""

from __future__ import annotations

from typing import Any

from dockwright.gotemplate.values import (
    ANY,
    BOOL,
    COMPLEX_TYPES,
    FLOAT_TYPES,
    INT_TYPES,
    MISSING,
    UINT_TYPES,
    Func,
    kind_of,
)

_NUMBER_KINDS = frozenset(INT_TYPES + UINT_TYPES + FLOAT_TYPES + COMPLEX_TYPES)


def empty(given: Any) -> bool:
    """sprig's ``empty``: nil, a zero number, false, and an empty string, slice, array or map
    are empty; a struct never is; any other kind is empty when nil."""
    if given is None or given is MISSING:
        return True
    kind = kind_of(given)
    if kind in ("array", "slice", "map", "string"):
        return len(given) == 0
    if kind == "bool":
        return not given
    if kind in _NUMBER_KINDS:
        return bool(given == 0)
    return False


def dfault(d: Any, *given: Any) -> Any:
    if not given or empty(given[0]):
        return d
    return given[0]


def coalesce(*v: Any) -> Any:
    for val in v:
        if not empty(val):
            return val
    return None


FUNCS: dict[str, Func] = {
    "default": Func(dfault, (ANY,), ANY),
    "empty": Func(empty, (ANY,), result=BOOL),
    "coalesce": Func(coalesce, (), ANY),
    "all": Func(lambda *v: all(not empty(x) for x in v), (), ANY, BOOL),
    "any": Func(lambda *v: any(not empty(x) for x in v), (), ANY, BOOL),
    "ternary": Func(lambda vt, vf, v: vt if v else vf, (ANY, ANY, BOOL)),
}
