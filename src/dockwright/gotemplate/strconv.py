"""Go's strconv, the parts the template functions need: ParseInt, ParseUint, Atoi,
ParseFloat (with their ``*NumError`` texts), Quote and FormatFloat's shortest and fixed forms.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction


class NumError(ValueError):
    """strconv's ``*NumError``: ``str()`` is its ``Error()`` text."""

    def __init__(self, func: str, num: str, err: str) -> None:
        super().__init__(f"strconv.{func}: parsing {go_quote(num)}: {err}")
        self.func = func
        self.num = num
        self.err = err
        self.message = str(self)


SYNTAX = "invalid syntax"
RANGE = "value out of range"


def _underscore_ok(s: str) -> bool:
    saw = "^"
    i = 0
    if s[:1] in ("-", "+"):
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i = 2
        saw = "0"
        hexa = s[1].lower() == "x"
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9" or (hexa and "a" <= c.lower() <= "f"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
        i += 1
    return saw != "_"


def parse_uint(s: str, base: int, bits: int = 64, func: str = "ParseUint") -> int:
    """strconv.ParseUint (bases 0 and 2..36); raises NumError."""
    s0 = s
    if s == "":
        raise NumError(func, s0, SYNTAX)
    base0 = base == 0
    if base == 0:
        base = 10
        if s[0] == "0":
            if len(s) >= 3 and s[1].lower() == "b":
                base, s = 2, s[2:]
            elif len(s) >= 3 and s[1].lower() == "o":
                base, s = 8, s[2:]
            elif len(s) >= 3 and s[1].lower() == "x":
                base, s = 16, s[2:]
            else:
                base, s = 8, s[1:]
    max_val = (1 << bits) - 1
    n = 0
    underscores = False
    for c in s:
        if c == "_" and base0:
            underscores = True
            continue
        if "0" <= c <= "9":
            d = ord(c) - 48
        elif "a" <= c.lower() <= "z" and c.isascii():
            d = ord(c.lower()) - 87
        else:
            raise NumError(func, s0, SYNTAX)
        if d >= base:
            raise NumError(func, s0, SYNTAX)
        n = n * base + d
        if n > max_val:
            raise _RangeError(func, s0, max_val)
    if underscores and not _underscore_ok(s0):
        raise NumError(func, s0, SYNTAX)
    return n


class _RangeError(NumError):
    def __init__(self, func: str, num: str, value: int) -> None:
        super().__init__(func, num, RANGE)
        self.value = value


def parse_int(s: str, base: int = 0, bits: int = 64) -> int:
    """strconv.ParseInt; raises NumError (a range error carries the clamped ``value``)."""
    s0 = s
    neg = False
    if s[:1] == "+":
        s = s[1:]
    elif s[:1] == "-":
        neg, s = True, s[1:]
    try:
        un = parse_uint(s, base, bits)
    except _RangeError:
        un = 1 << 64
    except NumError as exc:
        raise NumError("ParseInt", s0, exc.err) from None
    cutoff = 1 << (bits - 1)
    if not neg and un >= cutoff:
        raise _RangeError("ParseInt", s0, cutoff - 1)
    if neg and un > cutoff:
        raise _RangeError("ParseInt", s0, -cutoff)
    return -un if neg else un


def atoi(s: str) -> int:
    """strconv.Atoi's result with the error ignored (0 for bad syntax, the clamped value
    when out of range)."""
    try:
        return parse_int(s, 10, 64)
    except _RangeError as exc:
        return exc.value
    except NumError:
        return 0


def _special(s: str) -> tuple[float, int] | None:
    if not s:
        return None
    sign = 1.0
    nsign = 0
    c = s[0]
    if c in "+-" or c in "iI":
        if c in "+-":
            sign = -1.0 if c == "-" else 1.0
            nsign = 1
            s = s[1:]
        n = 0
        for a, b in zip(s.lower(), "infinity", strict=False):
            if a != b:
                break
            n += 1
        if 3 < n < 8:
            n = 3
        if n in (3, 8):
            return sign * math.inf, nsign + n
    elif c in "nN" and s[:3].lower() == "nan":
        return math.nan, 3
    return None


def _read_float(s: str) -> tuple[int, bool]:
    """Go's readFloat: how much of ``s`` is a float literal, and whether it is hex; -1 when
    it is not one."""
    i = 0
    underscores = False
    if i < len(s) and s[i] in "+-":
        i += 1
    hexa = False
    if i + 2 < len(s) and s[i] == "0" and s[i + 1].lower() == "x":
        hexa = True
        i += 2
    sawdot = sawdigits = False
    while i < len(s):
        c = s[i]
        if c == "_":
            underscores = True
        elif c == ".":
            if sawdot:
                break
            sawdot = True
        elif "0" <= c <= "9" or (hexa and "a" <= c.lower() <= "f"):
            sawdigits = True
        else:
            break
        i += 1
    if not sawdigits:
        return -1, hexa
    if i < len(s) and s[i].lower() == ("p" if hexa else "e"):
        i += 1
        if i >= len(s):
            return -1, hexa
        if s[i] in "+-":
            i += 1
        if i >= len(s) or not "0" <= s[i] <= "9":
            return -1, hexa
        while i < len(s) and ("0" <= s[i] <= "9" or s[i] == "_"):
            if s[i] == "_":
                underscores = True
            i += 1
    elif hexa:
        return -1, hexa
    if underscores and not _underscore_ok(s[:i]):
        return -1, hexa
    return i, hexa


def parse_float(s: str) -> float:
    """strconv.ParseFloat(s, 64); raises NumError (syntax, or range for overflow)."""
    special = _special(s)
    if special is not None and special[1] == len(s):
        return special[0]
    n, hexa = _read_float(s)
    if special is not None or n != len(s):
        raise NumError("ParseFloat", s, SYNTAX)
    text = s.replace("_", "")
    try:
        f = float.fromhex(text) if hexa else float(text)
    except OverflowError:
        raise NumError("ParseFloat", s, RANGE) from None
    except ValueError:
        raise NumError("ParseFloat", s, SYNTAX) from None
    if math.isinf(f):
        raise NumError("ParseFloat", s, RANGE)
    return f


_MAX_RUNE = 0x10FFFF
_RUNE_ERROR = 0xFFFD
_ESCAPES = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}


def is_print(r: int) -> bool:
    """strconv.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space."""
    if r <= 0xFF:
        return 0x20 <= r <= 0x7E or (0xA1 <= r <= 0xFF and r != 0xAD)
    if r > _MAX_RUNE or 0xD800 <= r <= 0xDFFF:
        return False
    return chr(r).isprintable()


def _escape_rune(r: int, quote: int, ascii_only: bool) -> str:
    if r == quote or r == 0x5C:
        return "\\" + chr(r)
    if ascii_only:
        if r < 0x80 and is_print(r):
            return chr(r)
    elif is_print(r):
        return chr(r)
    esc = _ESCAPES.get(r)
    if esc is not None:
        return esc
    if r < 0x20 or r == 0x7F:
        return f"\\x{r:02x}"
    if r > _MAX_RUNE or 0xD800 <= r <= 0xDFFF:
        r = _RUNE_ERROR
    if r < 0x10000:
        return f"\\u{r:04x}"
    return f"\\U{r:08x}"


def go_quote(s: str, ascii_only: bool = False) -> str:
    """strconv.Quote (QuoteToASCII with ``ascii_only``)."""
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return '"' + s + '"'
    out = ['"']
    for ch in s:
        r = ord(ch)
        if 0xDC80 <= r <= 0xDCFF:  # a byte that is not valid UTF-8
            out.append(f"\\x{r - 0xDC00:02x}")
        elif 0x20 <= r < 0x7F and r != 0x22 and r != 0x5C:
            out.append(ch)
        else:
            out.append(_escape_rune(r, 0x22, ascii_only))
    out.append('"')
    return "".join(out)


def quote_rune(r: int, ascii_only: bool) -> str:
    """strconv.QuoteRune (QuoteRuneToASCII with ``ascii_only``)."""
    if r > _MAX_RUNE or 0xD800 <= r <= 0xDFFF:
        r = _RUNE_ERROR
    return "'" + _escape_rune(r, 0x27, ascii_only) + "'"


def can_backquote(s: str) -> bool:
    for ch in s:
        r = ord(ch)
        if r >= 0x80:
            if r == 0xFEFF or 0xDC80 <= r <= 0xDCFF:
                return False
        elif (r < 0x20 and r != 9) or r == 0x60 or r == 0x7F:
            return False
    return True


def float_bits(v: float, size: int) -> tuple[bool, int, int]:
    """(negative, mantissa with the implicit bit, binary exponent): v = mant * 2**exp."""
    if size == 32:
        bits = struct.unpack(">I", struct.pack(">f", v))[0]
        mantbits, expbits, bias = 23, 8, -127
    else:
        bits = struct.unpack(">Q", struct.pack(">d", v))[0]
        mantbits, expbits, bias = 52, 11, -1023
    neg = bool(bits >> (expbits + mantbits))
    exp = (bits >> mantbits) & ((1 << expbits) - 1)
    mant = bits & ((1 << mantbits) - 1)
    if exp == 0:
        exp += 1
    else:
        mant |= 1 << mantbits
    return neg, mant, exp + bias - mantbits


def to_float32(v: float) -> float:
    try:
        result: float = struct.unpack(">f", struct.pack(">f", v))[0]
    except OverflowError:
        return math.copysign(math.inf, v)
    return result


def shortest_positive(a: float, size: int) -> tuple[str, int]:
    """The shortest decimal digits that identify the positive float ``a`` (of ``size``
    bits) and the decimal point position: a = 0.DIGITS * 10**dp. Zero: ("", 0)."""
    if a == 0:
        return "", 0
    if size == 32:
        return _shortest32(a)
    r = repr(a)
    mant, _, e = r.partition("e")
    ip, _, fp = mant.partition(".")
    digits = ip + fp
    dp = len(ip) + (int(e) if e else 0)
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    return stripped.rstrip("0"), dp


def _shortest32(a: float) -> tuple[str, int]:
    _, mant, e2 = float_bits(a, 32)
    x = Fraction(mant) * Fraction(2) ** e2
    half = Fraction(2) ** (e2 - 1)
    upper = x + half
    # The gap below is half as wide at a power of two (but not for the smallest exponent).
    lower = x - half if mant > 1 << 23 or e2 == -149 else x - half / 2
    inclusive = mant % 2 == 0
    for p in range(1, 10):
        m, _, e = format(a, f".{p - 1}e").partition("e")
        d = int(m.replace(".", ""))
        scale = int(e) - p + 1
        unit = Fraction(10) ** scale
        best: tuple[Fraction, int] | None = None
        for cand in (d, d - 1, d + 1):
            value = cand * unit
            inside = lower <= value <= upper if inclusive else lower < value < upper
            if inside and cand > 0:
                dist = abs(value - x)
                if best is None or dist < best[0]:
                    best = (dist, cand)
        if best is not None:
            digits = str(best[1])
            dp = len(digits) + scale
            stripped = digits.rstrip("0")
            return stripped, dp
    raise AssertionError("float32 with no 9-digit representation")  # pragma: no cover



def shortest_digits(f: float, bits: int = 64) -> tuple[str, int]:
    """The shortest decimal digits that read back as ``f`` (finite, non-zero; a float32 when
    ``bits`` is 32) and the decimal point position: 0.0125 is ("125", -1), 1234.0 is
    ("1234", 4)."""
    return shortest_positive(abs(f), bits)


def format_float(f: float, fmt: str = "g", bits: int = 64) -> str:
    """strconv.FormatFloat(f, fmt, -1, bits) for fmt 'e', 'f' and 'g'."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    if f == 0:
        digits, point = "0", 1
    else:
        digits, point = shortest_digits(f, bits)
    if fmt == "g":  # shortest: %e when the exponent is < -4 or >= 6
        exp = point - 1
        fmt = "e" if exp < -4 or exp >= 6 else "f"
    if fmt == "e":
        exp = point - 1 if f != 0 else 0
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        esign = "-" if exp < 0 else "+"
        return f"{sign}{mant}e{esign}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"
