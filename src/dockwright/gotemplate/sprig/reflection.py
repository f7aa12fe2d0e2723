"""sprig's reflection functions (reflect.go) and ``deepEqual`` (reflect.DeepEqual)."""

from __future__ import annotations

from typing import Any

from dockwright.gotemplate.values import (
    ANY,
    BOOL,
    MISSING,
    STRING,
    Func,
    kind_of,
    kind_of_type,
    type_of,
)


def _is_nil(v: Any) -> bool:
    return v is None or v is MISSING


def deep_equal(x: Any, y: Any) -> bool:
    """reflect.DeepEqual on two interface values: the same dynamic type and deeply equal
    contents (so int 1 and int64 1 differ, and NaN differs from itself)."""
    if _is_nil(x) or _is_nil(y):
        return _is_nil(x) and _is_nil(y)
    return _deep(x, y)


def _deep(x: Any, y: Any) -> bool:
    tx = type_of(x)
    if tx != type_of(y):
        return False
    kind = kind_of_type(tx)
    if kind in ("slice", "array"):
        if x is y:
            return True
        return len(x) == len(y) and all(deep_equal(a, b) for a, b in zip(x, y, strict=True))
    if kind == "map":
        if x is y:
            return True
        if len(x) != len(y):
            return False
        return all(k in y and deep_equal(v, y[k]) for k, v in x.items())
    if kind in ("struct", "ptr", "func", "chan", "interface"):
        return x is y or bool(x == y)
    return bool(x == y)


def type_of_value(src: Any) -> str:
    """fmt's %T: the dynamic type's name, "<nil>" for nil."""
    return "<nil>" if _is_nil(src) else type_of(src)


def kind_name(src: Any) -> str:
    """reflect.ValueOf(src).Kind().String(): "invalid" for nil."""
    return kind_of(src)


FUNCS: dict[str, Func] = {
    "typeOf": Func(type_of_value, (ANY,), result=STRING),
    "typeIs": Func(lambda target, src: target == type_of_value(src), (STRING, ANY),
                   result=BOOL),
    "typeIsLike": Func(lambda target, src: type_of_value(src) in (target, "*" + target),
                       (STRING, ANY), result=BOOL),
    "kindOf": Func(kind_name, (ANY,), result=STRING),
    "kindIs": Func(lambda target, src: target == kind_name(src), (STRING, ANY), result=BOOL),
    "deepEqual": Func(deep_equal, (ANY, ANY), result=BOOL),
}
