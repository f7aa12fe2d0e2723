"""Conversions that several sprig families share.

``strval``/``strslice`` are sprig's own helpers; ``to_int64``/``to_int``/``to_float64`` are
spf13/cast's ``ToInt64E``/``ToIntE``/``ToFloat64E`` with the error dropped, as sprig calls
them (a value cast cannot convert gives 0). Go's strconv is ``gotemplate.strconv``.
"""

from __future__ import annotations

import math
from typing import Any

from dockwright.gotemplate import gofmt
from dockwright.gotemplate.strconv import NumError, parse_float, parse_int
from dockwright.gotemplate.values import (
    INT_TYPES,
    UINT_TYPES,
    GoObject,
    GoSlice,
    Uint8,
    from_go_bytes,
    go_bytes,
    kind_of,
)

_MIN_INT64 = -(1 << 63)
_MAX_INT64 = (1 << 63) - 1


# --- sprig's strval and strslice ---------------------------------------------------------

def strval(v: Any) -> str:
    """sprig's ``strval``: a string as is, []byte as a string, an error's or Stringer's text,
    anything else as ``fmt.Sprintf("%v", v)``."""
    if type(v) is str:
        return v
    if isinstance(v, GoSlice) and v.gotype == "[]uint8":
        return from_go_bytes(bytes(int(b) & 0xFF for b in v))
    if isinstance(v, GoObject):
        text = v.go_string()
        if text is not None:
            return text
    return gofmt.sprintf("%v", v)


def strslice(v: Any) -> list[str]:
    """sprig's ``strslice`` (``toStrings``): the elements of a slice or array as strings, nil
    elements of a []interface {} dropped; nil gives an empty list, any other value a
    one-element list."""
    if isinstance(v, GoSlice) and v.gotype == "[]string":
        return list(v)
    if type(v) is list:
        return [strval(s) for s in v if s is not None]
    if kind_of(v) in ("slice", "array"):
        return [strval(s) for s in v if s is not None]
    if v is None:
        return []
    return [strval(v)]


# --- spf13/cast --------------------------------------------------------------------------

def float_to_int64(f: float) -> int:
    """Go's ``int64(f)`` on amd64: truncation; NaN and out-of-range values give MinInt64."""
    if math.isnan(f) or math.isinf(f):
        return _MIN_INT64
    n = int(f)
    if n < _MIN_INT64 or n > _MAX_INT64:
        return _MIN_INT64
    return n


def _wrap64(n: int) -> int:
    n &= (1 << 64) - 1
    return n - (1 << 64) if n >> 63 else n


# cast reads these named integer types as ints (a GoObject holding ``value``, as dates has)
_NAMED_INTS = ("time.Weekday", "time.Month")


def _trim_zero_decimal(s: str) -> str:
    """cast's trimZeroDecimal: "1.0" and "1.00" become "1"; anything else stays."""
    found_zero = False
    for i in range(len(s), 0, -1):
        c = s[i - 1]
        if c == ".":
            if found_zero:
                return s[:i - 1]
        elif c == "0":
            found_zero = True
        else:
            return s
    return s


def _cast_int(v: Any) -> int | None:
    """The int64 that cast's ToInt64E gives ``v``, None where it gives an error."""
    t = type(v)
    if t is bool:
        return 1 if v else 0
    if t is int:
        return int(v)
    if v is None:
        return 0
    if t is str:
        try:
            return parse_int(_trim_zero_decimal(v), 0, 64)
        except NumError:
            return None
    if isinstance(v, float):  # float64, float32
        return float_to_int64(float(v))
    gotype = getattr(v, "gotype", None)
    if isinstance(v, int) and (gotype in INT_TYPES or gotype in UINT_TYPES):
        return _wrap64(int(v))
    if gotype in _NAMED_INTS:
        return int(getattr(v, "value", v))
    return None


def to_int64(v: Any) -> int:
    """cast.ToInt64: ints of every type, floats truncated, strings parsed as Go integer
    literals (base prefixes; "5.0" is 5), bools as 0/1, nil as 0; anything else 0."""
    n = _cast_int(v)
    return 0 if n is None else n


def to_int(v: Any) -> int:
    """cast.ToInt (Go's int is 64 bits wide here, so the same as to_int64)."""
    return to_int64(v)


def to_float64(v: Any) -> float:
    """cast.ToFloat64: numbers converted, strings parsed as Go float literals, bools as 0/1,
    nil as 0; anything else (and a string that does not parse) 0."""
    t = type(v)
    if t is bool:
        return 1.0 if v else 0.0
    if t is int:
        return float(v)
    if isinstance(v, float):
        return float(v)
    if v is None:
        return 0.0
    if t is str:
        try:
            return parse_float(v)
        except NumError:
            return 0.0
    gotype = getattr(v, "gotype", None)
    if isinstance(v, int) and gotype in INT_TYPES:
        return float(_wrap64(int(v)))
    if isinstance(v, int) and gotype in UINT_TYPES:
        return float(int(v) & ((1 << 64) - 1))
    if gotype in _NAMED_INTS:
        return float(getattr(v, "value", v))
    return 0.0


def to_bytes(s: str) -> Any:
    """A Go []byte of the string ``s`` (a GoSlice of Uint8)."""
    return GoSlice([Uint8(b) for b in go_bytes(s)], "[]uint8")


