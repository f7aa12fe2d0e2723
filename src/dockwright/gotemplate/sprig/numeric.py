"""sprig's arithmetic: add1 add sub div mod mul biggest max min maxf minf ceil floor round add1f
addf subf divf mulf until untilStep seq toDecimal (randInt is left out: not deterministic).

The integer functions convert their operands with cast.ToInt64 and compute in int64 (wrapping
as Go does); the float ones with cast.ToFloat64. addf and friends go through
shopspring/decimal: each operand becomes the decimal of its shortest representation, the sum,
difference and product are exact, the quotient is rounded half away from zero to 16 places.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any, TypeVar

from dockwright.gotemplate import gofmt
from dockwright.gotemplate.sprig._convert import to_float64, to_int64
from dockwright.gotemplate.strconv import NumError, format_float, parse_int, shortest_digits
from dockwright.gotemplate.values import (
    ANY,
    FLOAT64,
    INT,
    INT64,
    SLICE_INT,
    STRING,
    UINT_TYPES,
    Func,
    GoError,
    GoInt,
    GoObject,
)

_DIVIDE_BY_ZERO = "runtime error: integer divide by zero"


_T = TypeVar("_T", int, float)


def _folding(convert: Callable[[Any], _T], op: Callable[[_T, _T], _T]) -> Callable[..., _T]:
    """sprig's variadic folds (mul, max, min, maxf, minf): every operand converted first."""

    def fold(a: Any, *values: Any) -> _T:
        result = convert(a)
        for v in values:
            result = op(result, convert(v))
        return result

    return fold


def wrap64(n: int) -> int:
    """``n`` as a Go int64 (or int) holds it."""
    n &= (1 << 64) - 1
    return n - (1 << 64) if n >> 63 else n


# --- int64 arithmetic --------------------------------------------------------------------

def _add1(i: Any) -> int:
    return wrap64(to_int64(i) + 1)


def _add(*values: Any) -> int:
    return wrap64(sum(to_int64(v) for v in values))


def _sub(a: Any, b: Any) -> int:
    return wrap64(to_int64(a) - to_int64(b))


def go_div(a: int, b: int) -> int:
    """Go's int64 ``a / b``: truncated toward zero, MinInt64 / -1 wraps."""
    if b == 0:
        raise GoError(_DIVIDE_BY_ZERO)
    q = abs(a) // abs(b)
    return wrap64(q if (a < 0) == (b < 0) else -q)


def go_mod(a: int, b: int) -> int:
    """Go's int64 ``a % b``: the remainder has the dividend's sign."""
    if b == 0:
        raise GoError(_DIVIDE_BY_ZERO)
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _div(a: Any, b: Any) -> int:
    return go_div(to_int64(a), to_int64(b))


def _mod(a: Any, b: Any) -> int:
    return go_mod(to_int64(a), to_int64(b))








# --- float64 -----------------------------------------------------------------------------

def go_max(x: float, y: float) -> float:
    """math.Max: +Inf wins, then NaN; +0 over -0."""
    if (math.isinf(x) and x > 0) or (math.isinf(y) and y > 0):
        return math.inf
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x == 0 and x == y:
        return y if math.copysign(1.0, x) < 0 else x
    return x if x > y else y


def go_min(x: float, y: float) -> float:
    """math.Min: -Inf wins, then NaN; -0 over +0."""
    if (math.isinf(x) and x < 0) or (math.isinf(y) and y < 0):
        return -math.inf
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x == 0 and x == y:
        return x if math.copysign(1.0, x) < 0 else y
    return x if x < y else y


def go_floor(x: float) -> float:
    if math.isinf(x) or math.isnan(x) or x == 0:
        return x
    return math.copysign(float(math.floor(x)), x)


def go_ceil(x: float) -> float:
    if math.isinf(x) or math.isnan(x) or x == 0:
        return x
    return math.copysign(float(math.ceil(x)), x)






def go_pow10(y: float) -> float:
    """math.Pow(10, y) for an integral ``y``, computed as Go computes it (repeated squaring
    of the mantissa, then Ldexp)."""
    if y == 0:
        return 1.0
    if y == 1:
        return 10.0
    if math.isnan(y):
        return math.nan
    if math.isinf(y):
        return math.inf if y > 0 else 0.0
    yi = abs(y)
    if yi >= 1 << 63:
        return math.inf if y > 0 else 0.0
    a1 = 1.0
    ae = 0
    x1, xe = math.frexp(10.0)
    i = int(yi)
    while i != 0:
        if xe < -(1 << 12) or xe > (1 << 12):
            ae += xe
            break
        if i & 1 == 1:
            a1 *= x1
            ae += xe
        x1 *= x1
        xe <<= 1
        if x1 < 0.5:
            x1 += x1
            xe -= 1
        i >>= 1
    if y < 0:
        a1 = 1 / a1
        ae = -ae
    return _ldexp(a1, ae)


def _ldexp(frac: float, exp: int) -> float:
    try:
        return math.ldexp(frac, exp)
    except OverflowError:
        return math.copysign(math.inf, frac)


def _round(a: Any, p: int, *round_on: float) -> float:
    on = round_on[0] if round_on else 0.5
    val = to_float64(a)
    pow10 = go_pow10(float(p))
    digit = pow10 * val
    frac = math.nan if math.isinf(digit) or math.isnan(digit) else math.modf(digit)[0]
    result = go_ceil(digit) if frac >= on else go_floor(digit)
    return _fdiv(result, pow10)


def _fdiv(a: float, b: float) -> float:
    """Go's float64 division (IEEE: x/0 is an infinity or NaN)."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        neg = (math.copysign(1.0, a) < 0) != (math.copysign(1.0, b) < 0)
        return -math.inf if neg else math.inf
    return a / b


# --- shopspring/decimal ------------------------------------------------------------------

def _decimal(f: float) -> Fraction:
    """decimal.NewFromFloat: the shortest decimal that reads back as ``f``."""
    if math.isnan(f) or math.isinf(f):
        raise GoError(f"Cannot create a Decimal from {_go_v_float(f)}")
    if f == 0:
        return Fraction(0)
    digits, point = shortest_digits(f)
    value = Fraction(int(digits)) * Fraction(10) ** (point - len(digits))
    return -value if f < 0 else value


def _go_v_float(f: float) -> str:
    if math.isnan(f):
        return "NaN"
    return "+Inf" if f > 0 else "-Inf"


_SCALE = 10 ** 16


def _decimal_div(a: Fraction, b: Fraction) -> Fraction:
    """decimal's Div: rounded half away from zero to 16 decimal places."""
    if b == 0:
        raise GoError("decimal division by 0")
    x = a / b * _SCALE
    q = math.trunc(x)
    if abs(x - q) * 2 >= 1:
        q += 1 if x > 0 else -1
    return Fraction(q, _SCALE)


def _to_float(d: Fraction) -> float:
    """decimal's Float64 (big.Rat.Float64): the nearest float64."""
    try:
        return d.numerator / d.denominator
    except OverflowError:
        return math.inf if d > 0 else -math.inf


def _decimal_op(op: str, a: Any, values: tuple[Any, ...]) -> float:
    result = _decimal(to_float64(a))
    for v in values:
        d = _decimal(to_float64(v))
        if op == "+":
            result += d
        elif op == "-":
            result -= d
        elif op == "*":
            result *= d
        else:
            result = _decimal_div(result, d)
    return _to_float(result)


# --- sequences ---------------------------------------------------------------------------

def until_step(start: int, stop: int, step: int) -> list[int]:
    """sprig's untilStep."""
    if stop < start:
        if step >= 0:
            return []
        return list(range(start, stop, step))
    if step <= 0:
        return []
    return list(range(start, stop, step))


def _until(count: int) -> list[int]:
    return until_step(0, count, -1 if count < 0 else 1)


def _seq(*params: int) -> str:
    if len(params) == 1:
        start, end, inc = 1, params[0], 1
        if end < start:
            inc = -1
        values = until_step(start, wrap64(end + inc), inc)
    elif len(params) == 3:
        start, step, end = params
        inc = 1
        if end < start:
            inc = -1
            if step > 0:
                return ""
        values = until_step(start, wrap64(end + inc), step)
    elif len(params) == 2:
        start, end = params
        step = -1 if end < start else 1
        values = until_step(start, wrap64(end + step), step)
    else:
        return ""
    return " ".join(str(v) for v in values)


def _sprint(v: Any) -> str:
    """fmt.Sprint of one value, as far as toDecimal can tell the difference: strings, ints and
    floats; other values (which never parse as octal) via gofmt."""
    if isinstance(v, str):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        gotype = getattr(v, "gotype", INT)
        if isinstance(v, GoInt) and gotype in UINT_TYPES:
            return str(int(v) & ((1 << 64) - 1))
        return str(int(v))
    if isinstance(v, float):
        return format_float(v, "g", 32 if getattr(v, "gotype", "") == "float32" else 64)
    if v is None:
        return "<nil>"
    if isinstance(v, GoObject):
        return gofmt.sprint(v)
    return "["  # slices and maps print in brackets: never an octal number


def _to_decimal(v: Any) -> int:
    try:
        return parse_int(_sprint(v), 8, 64)
    except NumError:
        return 0


_mul = _folding(to_int64, lambda x, y: wrap64(x * y))
_max = _folding(to_int64, max)
_min = _folding(to_int64, min)
_maxf = _folding(to_float64, go_max)
_minf = _folding(to_float64, go_min)

FUNCS: dict[str, Func] = {
    "add1": Func(_add1, (ANY,), result=INT64),
    "add": Func(_add, variadic=ANY, result=INT64),
    "sub": Func(_sub, (ANY, ANY), result=INT64),
    "div": Func(_div, (ANY, ANY), result=INT64),
    "mod": Func(_mod, (ANY, ANY), result=INT64),
    "mul": Func(_mul, (ANY,), variadic=ANY, result=INT64),
    "biggest": Func(_max, (ANY,), variadic=ANY, result=INT64),
    "max": Func(_max, (ANY,), variadic=ANY, result=INT64),
    "min": Func(_min, (ANY,), variadic=ANY, result=INT64),
    "maxf": Func(_maxf, (ANY,), variadic=ANY, result=FLOAT64),
    "minf": Func(_minf, (ANY,), variadic=ANY, result=FLOAT64),
    "ceil": Func(lambda a: go_ceil(to_float64(a)), (ANY,), result=FLOAT64),
    "floor": Func(lambda a: go_floor(to_float64(a)), (ANY,), result=FLOAT64),
    "round": Func(_round, (ANY, INT), variadic=FLOAT64, result=FLOAT64),
    "add1f": Func(lambda i: _decimal_op("+", i, (1,)), (ANY,), result=FLOAT64),
    "addf": Func(lambda *v: _decimal_op("+", 0.0, v), variadic=ANY, result=FLOAT64),
    "subf": Func(lambda a, *v: _decimal_op("-", a, v), (ANY,), variadic=ANY, result=FLOAT64),
    "divf": Func(lambda a, *v: _decimal_op("/", a, v), (ANY,), variadic=ANY, result=FLOAT64),
    "mulf": Func(lambda a, *v: _decimal_op("*", a, v), (ANY,), variadic=ANY, result=FLOAT64),
    "until": Func(_until, (INT,), result=SLICE_INT),
    "untilStep": Func(until_step, (INT, INT, INT), result=SLICE_INT),
    "seq": Func(_seq, variadic=INT, result=STRING),
    "toDecimal": Func(_to_decimal, (ANY,), result=INT64),
}
