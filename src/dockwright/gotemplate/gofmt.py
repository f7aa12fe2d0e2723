"""Go's fmt for the values of ``values``: Sprint, Sprintln, Sprintf, byte for byte.

The printer follows the structure of Go's fmt (print.go and format.go): a format loop that
parses flags, width, precision and argument indexes, ``print_arg`` that dispatches on the
operand's type, ``print_value`` for the composite kinds (slices, maps, structs), and the
low-level formatters for integers, floats, strings and byte slices. Floats are formatted as
strconv does: shortest digits (Python's ``repr`` for float64, an exact search for float32)
or correctly rounded digits (Python's ``format``, which rounds the exact binary value half
to even like Go does).

Go strings are bytes: a Python str holds invalid UTF-8 bytes as surrogates (U+DC80-U+DCFF,
see ``values.from_go_bytes``), so one Python character is one Go rune as width, precision
and ``%q`` count them, and the result is returned in the same form.

Known approximations (what the value model cannot express, or cannot be known):

- pointers print a fixed fake address (``0xc000010000``) where Go prints a real one (%p,
  and a pointer inside a slice, map or struct);
- the keys of a map with interface keys of different dynamic types are ordered by type
  name (Go orders by the address of the type descriptor, which the linker lays out by size
  then name: the same order for the basic types);
- a nil slice or map is an empty one (``%#v`` prints ``[]string{}``, not ``[]string(nil)``);
  a nil in a struct field prints as a nil interface (the field's type is not known);
- ``strconv.IsPrint`` (``%q``, ``%#U``) uses Python's Unicode tables (14.0 for Python
  3.11): Go 1.19 (Unicode 13.0) escapes the characters new in 14.0, newer Go releases
  know them (and those of 15.0, which are escaped here).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from dockwright.gotemplate import strconv
from dockwright.gotemplate.values import (
    INT_CLASSES,
    MAP_ANY,
    MISSING,
    SLICE_ANY,
    UINT_TYPES,
    Float32,
    GoInt,
    GoMap,
    GoObject,
    GoSlice,
    from_go_bytes,
    go_bytes,
    type_of,
)

__all__ = ["sprint", "sprintf", "sprintln"]

_MASK64 = (1 << 64) - 1
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_MAX_RUNE = 0x10FFFF
_RUNE_ERROR = 0xFFFD
_UNSIGNED = frozenset(UINT_TYPES)
_SCALARS = frozenset((str, int, bool, float, Float32))
_ANY = "interface {}"
# Where Go prints the address of a pointer, map or slice: an address cannot be known here.
_FAKE_POINTER = 0xC000010000
_BASE_CODE = {10: "d", 16: "x", 8: "o", 2: "b"}
# Element types of typed slices and maps whose elements may be held as plain ints or
# floats: (the class for the element type, the plain Python type it is converted from).
_TYPED: dict[str, tuple[type[Any], type[Any]]] = {
    **{name: (cls, int) for name, cls in INT_CLASSES.items()}, "float32": (Float32, float)}


# --- public API --------------------------------------------------------------------------

def sprint(*args: Any) -> str:
    """fmt.Sprint: operands in their default format (%v); a space between two operands
    when neither is a string."""
    if len(args) == 1:
        a = args[0]
        t = type(a)
        if t is str:
            return a  # type: ignore[no-any-return]
        if t is int and _INT64_MIN <= a <= _INT64_MAX:
            return str(a)
    p = _Printer()
    prev_string = False
    for n, arg in enumerate(args):
        is_string = type(arg) is str
        if n > 0 and not is_string and not prev_string:
            p.buf.append(" ")
        p.print_arg(arg, "v")
        prev_string = is_string
    return _result(p.buf)


def sprintln(*args: Any) -> str:
    """fmt.Sprintln: operands in %v, always separated by a space, and a newline."""
    p = _Printer()
    for n, arg in enumerate(args):
        if n > 0:
            p.buf.append(" ")
        p.print_arg(arg, "v")
    p.buf.append("\n")
    return _result(p.buf)


def sprintf(format: str, *args: Any) -> str:
    """fmt.Sprintf with every verb, flag, width, precision and argument index, and Go's
    error forms (%!d(string=x), %!s(MISSING), %!(EXTRA ...), ...)."""
    if "%" not in format and not args:
        return format
    p = _Printer()
    p.do_printf(format, args)
    return _result(p.buf)


def _result(buf: list[str]) -> str:
    out = "".join(buf)
    if not out.isascii():
        # Bytes of an incomplete UTF-8 sequence written next to each other may now form a
        # character: give the string its canonical form (see values.from_go_bytes).
        try:
            out.encode("utf-8")
        except UnicodeEncodeError:
            out = from_go_bytes(go_bytes(out))
    return out


# --- format string parsing helpers ------------------------------------------------------

def _too_large(x: int) -> bool:
    return x > 1_000_000 or x < -1_000_000


def _parsenum(s: str, start: int, end: int) -> tuple[int, bool, int]:
    """Go's parsenum: (number, whether there was one, index after it)."""
    if start >= end:
        return 0, False, end
    num = 0
    isnum = False
    i = start
    while i < end and "0" <= s[i] <= "9":
        if _too_large(num):
            return 0, False, end
        num = num * 10 + ord(s[i]) - 48
        isnum = True
        i += 1
    return num, isnum, i


def _parse_arg_number(s: str, start: int) -> tuple[int, int, bool]:
    """The bracketed number at s[start] ("[n]"), minus 1; the length consumed; ok."""
    if len(s) - start < 3:
        return 0, 1, False
    close = s.find("]", start + 1)
    if close < 0:
        return 0, 1, False
    width, ok, newi = _parsenum(s, start + 1, close)
    if not ok or newi != close:
        return 0, close - start + 1, False
    return width - 1, close - start + 1, True


def _int_from_arg(args: tuple[Any, ...], argnum: int) -> tuple[int, bool, int]:
    """An argument used as a * width or precision: (value, is an int, next argnum)."""
    num = 0
    is_int = False
    new_argnum = argnum
    if argnum < len(args):
        a = args[argnum]
        t = type(a)
        if t is int or isinstance(a, GoInt):
            n = int(a)
            if t is not int and a.gotype in _UNSIGNED:
                n &= _MASK64
                if n <= _INT64_MAX:
                    num, is_int = n, True
            else:
                num, is_int = _wrap_signed(n), True
        new_argnum = argnum + 1
        if _too_large(num):
            num = 0
            is_int = False
    return num, is_int, new_argnum


def _wrap_signed(v: int) -> int:
    if _INT64_MIN <= v <= _INT64_MAX:
        return v
    v &= _MASK64
    return v - (1 << 64) if v >> 63 else v


def _fmt_e(neg: bool, digits: str, dp: int, prec: int, fmt: str) -> str:
    nd = len(digits)
    out = ["-" if neg else "", digits[0] if nd else "0"]
    if prec > 0:
        frac = digits[1:prec + 1]
        out.append(".")
        out.append(frac)
        out.append("0" * (prec - len(frac)))
    exp = dp - 1 if nd else 0
    out.append(fmt)
    out.append("-" if exp < 0 else "+")
    out.append(f"{abs(exp):02d}")
    return "".join(out)


def _fmt_f(neg: bool, digits: str, dp: int, prec: int) -> str:
    nd = len(digits)
    ip = (digits[:dp] + "0" * (dp - nd) if dp > nd else digits[:dp]) if dp > 0 else "0"
    if prec > 0:
        frac = ("0" * -dp + digits if dp < 0 else digits[dp:])[:prec]
        ip += "." + frac + "0" * (prec - len(frac))
    return "-" + ip if neg else ip


def _fmt_b(neg: bool, mant: int, exp: int) -> str:
    return f"{'-' if neg else ''}{mant}p{exp:+d}"


def _fmt_x(prec: int, fmt: str, neg: bool, mant: int, exp: int, mantbits: int) -> str:
    """strconv's %x of a float: -0x1.yyyyp±dd."""
    exp += mantbits  # as strconv keeps it: v = 1.mant * 2**exp
    if mant == 0:
        exp = 0
    mant <<= 60 - mantbits
    while mant != 0 and mant & (1 << 60) == 0:
        mant <<= 1
        exp -= 1
    if 0 <= prec < 15:
        shift = prec * 4
        extra = (mant << shift) & ((1 << 60) - 1)
        mant >>= 60 - shift
        if extra | (mant & 1) > 1 << 59:
            mant += 1
        mant <<= 60 - shift
        if mant & (1 << 61):
            mant >>= 1
            exp += 1
    hexdigits = "0123456789ABCDEF" if fmt == "X" else "0123456789abcdef"
    out = ["-" if neg else "", "0", fmt, "1" if (mant >> 60) & 1 else "0"]
    mant = (mant << 4) & _MASK64
    if prec < 0 and mant != 0:
        out.append(".")
        while mant != 0:
            out.append(hexdigits[(mant >> 60) & 15])
            mant = (mant << 4) & _MASK64
    elif prec > 0:
        out.append(".")
        for _ in range(prec):
            out.append(hexdigits[(mant >> 60) & 15])
            mant = (mant << 4) & _MASK64
    out.append("P" if fmt == "X" else "p")
    out.append("-" if exp < 0 else "+")
    out.append(f"{abs(exp):02d}")
    return "".join(out)


def _ftoa(v: float, fmt: str, prec: int, size: int) -> str:
    """strconv.FormatFloat(v, fmt, prec, size)."""
    if size == 32:
        v = strconv.to_float32(v)
    if v != v:
        return "NaN"
    if v in (math.inf, -math.inf):
        return "+Inf" if v > 0 else "-Inf"
    if fmt in "bxX":
        neg, mant, exp = strconv.float_bits(v, size)
        if fmt == "b":
            return _fmt_b(neg, mant, exp)
        return _fmt_x(prec, fmt, neg, mant, exp, 23 if size == 32 else 52)
    neg = math.copysign(1.0, v) < 0
    a = -v if neg else v
    if prec < 0:
        digits, dp = strconv.shortest_positive(a, size)
        nd = len(digits)
        if fmt in "eE":
            return _fmt_e(neg, digits, dp, max(nd - 1, 0), fmt)
        if fmt == "f":
            return _fmt_f(neg, digits, dp, max(nd - dp, 0))
        # 'g', 'G' with the shortest digits: %e when the exponent is < -4 or >= 6.
        exp = dp - 1
        if exp < -4 or exp >= 6:
            return _fmt_e(neg, digits, dp, nd - 1, "e" if fmt == "g" else "E")
        return _fmt_f(neg, digits, dp, max(nd - dp, 0))
    # A fixed precision: Python's format rounds the exact binary value correctly, half to
    # even, as strconv does, and writes the same forms for these verbs.
    s = format(a, f".{prec}{fmt}")
    return "-" + s if neg else s


# --- the printer ---------------------------------------------------------------------------

class _Printer:
    """Go's pp with its fmt: the output buffer and the flags of the current verb."""

    __slots__ = ("buf", "dirty", "erroring", "minus", "plus", "plus_v", "prec", "prec_present",
                 "sharp", "sharp_v", "space", "wid", "wid_present", "zero")

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.erroring = False
        self.clear_flags()

    def clear_flags(self) -> None:
        self.dirty = False
        self.wid = 0
        self.prec = 0
        self.wid_present = False
        self.prec_present = False
        self.minus = False
        self.plus = False
        self.sharp = False
        self.space = False
        self.zero = False
        self.plus_v = False
        self.sharp_v = False

    # --- padding -------------------------------------------------------------------------

    def write_padding(self, n: int) -> None:
        if n > 0:
            self.buf.append(("0" if self.zero else " ") * n)

    def pad(self, s: str) -> None:
        """Append s, padded to the width (counted in runes) on the left or the right."""
        if not self.wid_present or self.wid == 0:
            self.buf.append(s)
            return
        width = self.wid - len(s)
        if width <= 0:
            self.buf.append(s)
        elif self.minus:
            self.buf.append(s)
            self.buf.append(("0" if self.zero else " ") * width)
        else:
            self.buf.append(("0" if self.zero else " ") * width)
            self.buf.append(s)

    def pad_nozero(self, s: str) -> None:
        old = self.zero
        self.zero = False
        self.pad(s)
        self.zero = old

    # --- basic formatters ----------------------------------------------------------------

    def fmt_integer(self, v: int, base: int, verb: str, upper: bool) -> None:
        """fmt.fmtInteger; ``v`` is already the Go value (negative only if signed)."""
        negative = v < 0
        u = -v if negative else v
        prec = 0
        if self.prec_present:
            prec = self.prec
            if prec == 0 and u == 0:
                old = self.zero
                self.zero = False
                self.write_padding(self.wid)
                self.zero = old
                return
        elif self.zero and self.wid_present:
            prec = self.wid
            if negative or self.plus or self.space:
                prec -= 1
        digits = format(u, _BASE_CODE[base])
        if upper:
            digits = digits.upper()
        if len(digits) < prec:
            digits = "0" * (prec - len(digits)) + digits
        if self.sharp:
            if base == 2:
                digits = "0b" + digits
            elif base == 8:
                if digits[0] != "0":
                    digits = "0" + digits
            elif base == 16:
                digits = ("0X" if upper else "0x") + digits
        if verb == "O":
            digits = "0o" + digits
        if negative:
            digits = "-" + digits
        elif self.plus:
            digits = "+" + digits
        elif self.space:
            digits = " " + digits
        self.pad_nozero(digits)

    def fmt_0x64(self, u: int, leading0x: bool) -> None:
        sharp = self.sharp
        self.sharp = leading0x
        self.fmt_integer(u, 16, "v", False)
        self.sharp = sharp

    def fmt_unicode(self, u: int) -> None:
        prec = 4
        if self.prec_present and self.prec > 4:
            prec = self.prec
        s = "U+" + format(u, "X").rjust(prec, "0")
        if self.sharp and u <= _MAX_RUNE and strconv.is_print(u):
            s += " '" + chr(u) + "'"
        self.pad_nozero(s)

    def fmt_c(self, u: int) -> None:
        if u > _MAX_RUNE or 0xD800 <= u <= 0xDFFF:
            u = _RUNE_ERROR
        self.pad(chr(u))

    def fmt_qc(self, u: int) -> None:
        if u > _MAX_RUNE:
            u = _RUNE_ERROR
        self.pad(strconv.quote_rune(u, self.plus))

    def truncate(self, s: str) -> str:
        if self.prec_present and self.prec < len(s):
            return s[:self.prec]
        return s

    def fmt_s(self, s: str) -> None:
        if self.prec_present:
            s = s[:self.prec]
        self.pad(s)

    def fmt_q(self, s: str) -> None:
        s = self.truncate(s)
        if self.sharp and strconv.can_backquote(s):
            self.pad("`" + s + "`")
        else:
            self.pad(strconv.go_quote(s, self.plus))

    def fmt_sbx(self, b: bytes, upper: bool) -> None:
        """A string or byte slice as hexadecimal: %x, % x, %#x, % #x."""
        length = len(b)
        if self.prec_present and self.prec < length:
            length = self.prec
        width = 2 * length
        if width > 0:
            if self.space:
                if self.sharp:
                    width *= 2
                width += length - 1
            elif self.sharp:
                width += 2
        else:
            if self.wid_present:
                self.write_padding(self.wid)
            return
        if self.wid_present and self.wid > width and not self.minus:
            self.write_padding(self.wid - width)
        prefix = ("0X" if upper else "0x") if self.sharp else ""
        hexs = b[:length].hex()
        if upper:
            hexs = hexs.upper()
        if self.space:
            sep = " " + prefix
            self.buf.append(prefix + sep.join(hexs[i:i + 2] for i in range(0, len(hexs), 2)))
        else:
            self.buf.append(prefix + hexs)
        if self.wid_present and self.wid > width and self.minus:
            self.write_padding(self.wid - width)

    def fmt_float(self, v: float, size: int, verb: str, prec: int) -> None:
        if self.prec_present:
            prec = self.prec
        num = _ftoa(v, verb, prec, size)
        if num[0] == "-" or num[0] == "+":
            sign, body = num[0], num[1:]
        else:
            sign, body = "+", num
        if self.space and sign == "+" and not self.plus:
            sign = " "
        if body[0] == "I" or body[0] == "N":
            if body[0] == "N" and not self.space and not self.plus:
                self.pad_nozero(body)
            else:
                self.pad_nozero(sign + body)
            return
        if self.sharp and verb != "b":
            body = self._sharp_float(body, verb, prec)
        if self.plus or sign != "+":
            num = sign + body
            if self.zero and self.wid_present and self.wid > len(num):
                self.buf.append(sign)
                self.write_padding(self.wid - len(num))
                self.buf.append(body)
                return
            self.pad(num)
            return
        self.pad(body)

    @staticmethod
    def _sharp_float(body: str, verb: str, prec: int) -> str:
        """The # flag: always a decimal point, and %g keeps its trailing zeros."""
        digits = 0
        if verb in "gGx":
            digits = 6 if prec == -1 else prec
        tail = ""
        has_point = False
        saw_nonzero = False
        for i, c in enumerate(body):
            if c == ".":
                has_point = True
            elif c == "p" or c == "P" or ((c == "e" or c == "E") and verb not in "xX"):
                tail = body[i:]
                body = body[:i]
                break
            else:
                if c != "0":
                    saw_nonzero = True
                if saw_nonzero:
                    digits -= 1
        if not has_point:
            if body == "0":
                digits -= 1
            body += "."
        if digits > 0:
            body += "0" * digits
        return body + tail

    # --- by type -------------------------------------------------------------------------

    def fmt_bool(self, v: bool, verb: str, value: Any) -> None:
        if verb == "t" or verb == "v":
            self.pad("true" if v else "false")
        else:
            self.bad_verb(verb, value)

    def fmt_int(self, v: int, signed: bool, verb: str, value: Any) -> None:
        if signed:
            v = _wrap_signed(v)
        else:
            v &= _MASK64
        if verb == "v":
            if self.sharp_v and not signed:
                self.fmt_0x64(v, True)
            else:
                self.fmt_integer(v, 10, verb, False)
        elif verb == "d":
            self.fmt_integer(v, 10, verb, False)
        elif verb == "x":
            self.fmt_integer(v, 16, verb, False)
        elif verb == "X":
            self.fmt_integer(v, 16, verb, True)
        elif verb == "o" or verb == "O":
            self.fmt_integer(v, 8, verb, False)
        elif verb == "b":
            self.fmt_integer(v, 2, verb, False)
        elif verb == "c":
            self.fmt_c(v & _MASK64)
        elif verb == "q":
            self.fmt_qc(v & _MASK64)
        elif verb == "U":
            self.fmt_unicode(v & _MASK64)
        else:
            self.bad_verb(verb, value)

    def fmt_float_verb(self, v: float, size: int, verb: str, value: Any) -> None:
        if verb == "v":
            self.fmt_float(v, size, "g", -1)
        elif verb in "bgGxX":
            self.fmt_float(v, size, verb, -1)
        elif verb in "feE":
            self.fmt_float(v, size, verb, 6)
        elif verb == "F":
            self.fmt_float(v, size, "f", 6)
        else:
            self.bad_verb(verb, value)

    def fmt_string(self, s: str, verb: str, value: Any) -> None:
        if verb == "v":
            if self.sharp_v:
                self.fmt_q(s)
            else:
                self.fmt_s(s)
        elif verb == "s":
            self.fmt_s(s)
        elif verb == "x":
            self.fmt_sbx(go_bytes(s), False)
        elif verb == "X":
            self.fmt_sbx(go_bytes(s), True)
        elif verb == "q":
            self.fmt_q(s)
        else:
            self.bad_verb(verb, value)

    def fmt_bytes(self, value: list[Any], verb: str, type_string: str) -> None:
        """A []byte (or [N]uint8) operand."""
        if verb == "v" or verb == "d":
            if self.sharp_v:
                self.buf.append(type_string + "{")
                for i, c in enumerate(value):
                    if i > 0:
                        self.buf.append(", ")
                    self.fmt_0x64(int(c) & 0xFF, True)
                self.buf.append("}")
            else:
                self.buf.append("[")
                for i, c in enumerate(value):
                    if i > 0:
                        self.buf.append(" ")
                    self.fmt_integer(int(c) & 0xFF, 10, verb, False)
                self.buf.append("]")
            return
        b = bytes(int(c) & 0xFF for c in value)
        if verb == "s":
            self.fmt_s(from_go_bytes(b))
        elif verb == "x":
            self.fmt_sbx(b, False)
        elif verb == "X":
            self.fmt_sbx(b, True)
        elif verb == "q":
            self.fmt_q(from_go_bytes(b))
        else:
            self.print_slice(value, type_string if type_string != "[]byte" else "[]uint8",
                             verb, 0, bytes_checked=True)

    def fmt_pointer(self, value: Any, gotype: str, verb: str, is_nil: bool) -> None:
        """A pointer, map or slice value for %p (and nested pointers for %v)."""
        u = 0 if is_nil else _FAKE_POINTER
        if verb == "v":
            if self.sharp_v:
                self.buf.append("(" + gotype + ")(")
                if u == 0:
                    self.buf.append("nil")
                else:
                    self.fmt_0x64(u, True)
                self.buf.append(")")
            elif u == 0:
                self.pad("<nil>")
            else:
                self.fmt_0x64(u, not self.sharp)
        elif verb == "p":
            self.fmt_0x64(u, not self.sharp)
        elif verb in "bodxX":
            self.fmt_int(u, False, verb, value)
        else:
            self.bad_verb(verb, value, gotype)

    def bad_verb(self, verb: str, value: Any, gotype: str | None = None) -> None:
        """%!verb(type=value)."""
        self.erroring = True
        self.buf.append("%!" + verb + "(")
        if value is not None:
            self.buf.append(type_of(value) + "=")
            self.print_arg(value, "v")
        elif gotype is not None:
            self.buf.append(gotype + "=")
            self.print_nil(gotype, "v")
        else:
            self.buf.append("<nil>")
        self.buf.append(")")
        self.erroring = False

    def handle_methods(self, value: Any, verb: str) -> bool:
        """The String()/Error() of a value, for the verbs that accept a string."""
        if self.erroring:
            return False
        if verb == "w":
            # %w is only for Errorf: anything else gets the bad verb.
            self.bad_verb(verb, value)
            return True
        if self.sharp_v or verb not in "vsxXq" or not isinstance(value, GoObject):
            return False
        s = value.go_string()
        if s is None:
            return False
        self.fmt_string(s, verb, value)
        return True

    # --- operands ------------------------------------------------------------------------

    def print_arg(self, arg: Any, verb: str) -> None:
        t = type(arg)
        if t is str and not self.wid_present and not self.prec_present \
                and (verb == "s" or (verb == "v" and not self.sharp_v)):
            self.buf.append(arg)
            return
        if t is int and (verb == "d" or verb == "v") and not self.wid_present \
                and not self.prec_present and not self.plus and not self.space \
                and _INT64_MIN <= arg <= _INT64_MAX:
            self.buf.append(str(arg))
            return
        if t is float and verb == "v" and not self.wid_present and not self.prec_present \
                and not self.sharp \
                and not self.plus and not self.space and (1e-4 <= abs(arg) < 1e6 or arg == 0):
            # Go's shortest %g writes these without an exponent, as repr does.
            r = repr(arg)
            self.buf.append(r[:-2] if r.endswith(".0") else r)
            return
        if arg is None:
            if verb == "T" or verb == "v":
                self.pad("<nil>")
            else:
                self.bad_verb(verb, None)
            return
        if verb == "T" or verb == "p":
            self._special(arg, verb)
        elif t in _SCALARS or isinstance(arg, GoInt):  # no methods: printed as values are
            self.print_value(arg, verb, 0, _ANY)
        elif t is GoSlice and arg.gotype == "[]uint8":
            self.fmt_bytes(arg, verb, "[]byte")
        elif arg is MISSING:
            self.buf.append("<invalid reflect.Value>")
        elif not self.handle_methods(arg, verb):
            self.print_value(arg, verb, 0, _ANY)

    def _special(self, arg: Any, verb: str) -> None:
        """%T and %p, done first for any operand."""
        if verb == "T":
            self.fmt_s("reflect.Value" if arg is MISSING else type_of(arg))
            return
        t = type(arg)
        if t is list or t is dict or t is GoSlice or t is GoMap:
            self.fmt_pointer(arg, type_of(arg), "p", False)
        elif isinstance(arg, GoObject) and arg.gotype.startswith("*"):
            self.fmt_pointer(arg, arg.gotype, "p", False)
        else:
            self.bad_verb("p", arg)

    def print_nil(self, static: str, verb: str) -> None:
        """A nil element, field or map value whose declared type is ``static``."""
        if static.startswith("*"):
            self.fmt_pointer(None, static, verb, True)
        elif static.startswith("[]") or static.startswith("map["):
            if self.sharp_v:
                self.buf.append(static + "(nil)")
            elif static.startswith("[]"):
                self.buf.append("[]")
            else:
                self.buf.append("map[]")
        elif self.sharp_v:
            self.buf.append(static + "(nil)")
        else:
            self.buf.append("<nil>")

    def print_value(self, value: Any, verb: str, depth: int, static: str) -> None:
        """Go's printValue: ``static`` is the declared type of the element or field (for a
        nil, which has no type of its own)."""
        if value is None:
            self.print_nil(static, verb)
            return
        if depth > 0 and (verb == "w" or isinstance(value, GoObject)) \
                and self.handle_methods(value, verb):
            return
        t = type(value)
        if t is str:
            self.fmt_string(value, verb, value)
        elif t is int:
            self.fmt_int(value, True, verb, value)
        elif t is bool:
            self.fmt_bool(value, verb, value)
        elif t is float:
            self.fmt_float_verb(value, 64, verb, value)
        elif isinstance(value, GoInt):
            self.fmt_int(int(value), value.gotype not in _UNSIGNED, verb, value)
        elif t is Float32:
            self.fmt_float_verb(float(value), 32, verb, value)
        elif t is list:
            self.print_slice(value, SLICE_ANY, verb, depth)
        elif t is GoSlice:
            self.print_slice(value, value.gotype, verb, depth)
        elif t is dict:
            self.print_map(value, MAP_ANY, verb, depth)
        elif t is GoMap:
            self.print_map(value, value.gotype, verb, depth)
        elif isinstance(value, GoObject):
            self.print_object(value, verb, depth)
        elif value is MISSING:
            if depth == 0:
                self.buf.append("<invalid reflect.Value>")
            elif verb == "v":
                self.buf.append("<nil>")
            else:
                self.bad_verb(verb, None)
        elif isinstance(value, list):
            self.print_slice(value, getattr(value, "gotype", SLICE_ANY), verb, depth)
        elif isinstance(value, dict):
            self.print_map(value, getattr(value, "gotype", MAP_ANY), verb, depth)
        else:
            self.buf.append("?" + type(value).__name__ + "?")

    def print_slice(self, value: list[Any], gotype: str, verb: str, depth: int,
                    bytes_checked: bool = False) -> None:
        elem = _elem(gotype)
        if not bytes_checked and elem == "uint8" and verb in "sqxX":
            self.fmt_bytes(value, verb, gotype)
            return
        buf = self.buf
        if self.sharp_v:
            buf.append(gotype + "{")
            sep = ", "
        else:
            buf.append("[")
            sep = " "
        typed = _TYPED.get(elem)
        for i, e in enumerate(value):
            if i > 0:
                buf.append(sep)
            if typed is not None and type(e) is typed[1]:
                e = typed[0](e)
            self.print_value(e, verb, depth + 1, elem)
        buf.append("}" if self.sharp_v else "]")

    def print_map(self, value: dict[Any, Any], gotype: str, verb: str, depth: int) -> None:
        if gotype == MAP_ANY:
            ktype, vtype = "string", _ANY
        else:
            ktype, vtype = _map_types(gotype)
        buf = self.buf
        if self.sharp_v:
            buf.append(gotype + "{")
            sep = ", "
        else:
            buf.append("map[")
            sep = " "
        ktyped = _TYPED.get(ktype)
        vtyped = _TYPED.get(vtype)
        for i, (k, v) in enumerate(_sorted_items(value)):
            if i > 0:
                buf.append(sep)
            if ktyped is not None and type(k) is ktyped[1]:
                k = ktyped[0](k)
            if vtyped is not None and type(v) is vtyped[1]:
                v = vtyped[0](v)
            self.print_value(k, verb, depth + 1, ktype)
            buf.append(":")
            self.print_value(v, verb, depth + 1, vtype)
        buf.append("}" if self.sharp_v else "]")

    def print_object(self, value: GoObject, verb: str, depth: int) -> None:
        gotype = value.gotype
        if gotype.startswith("*"):
            if depth > 0:
                self.fmt_pointer(value, gotype, verb, False)
                return
            self.buf.append("&")
            gotype = gotype[1:]
        buf = self.buf
        if self.sharp_v:
            buf.append(gotype)
        buf.append("{")
        names = self.plus_v or self.sharp_v
        for i, (name, field) in enumerate(value.go_fields().items()):
            if i > 0:
                buf.append(", " if self.sharp_v else " ")
            if names:
                buf.append(name + ":")
            self.print_value(field, verb, depth + 1, _ANY)
        buf.append("}")

    # --- the format loop -----------------------------------------------------------------

    def do_printf(self, format: str, args: tuple[Any, ...]) -> None:
        buf = self.buf
        end = len(format)
        nargs = len(args)
        argnum = 0
        reordered = False
        i = 0
        while i < end:
            j = format.find("%", i)
            if j < 0:
                buf.append(format[i:])
                break
            if j > i:
                buf.append(format[i:j])
            i = j + 1
            if i < end and argnum < nargs and "a" <= format[i] <= "z":
                # The common case: a verb without flags, width or precision.
                if self.dirty:
                    self.clear_flags()
                self.print_arg(args[argnum], format[i])
                argnum += 1
                i += 1
                continue
            self.clear_flags()
            self.dirty = True
            simple = False
            while i < end:
                c = format[i]
                if c == "#":
                    self.sharp = True
                elif c == "0":
                    self.zero = not self.minus
                elif c == "+":
                    self.plus = True
                elif c == "-":
                    self.minus = True
                    self.zero = False
                elif c == " ":
                    self.space = True
                else:
                    if "a" <= c <= "z" and argnum < nargs:
                        if c == "v":
                            self.sharp_v = self.sharp
                            self.sharp = False
                            self.plus_v = self.plus
                            self.plus = False
                        self.print_arg(args[argnum], c)
                        argnum += 1
                        i += 1
                        simple = True
                    break
                i += 1
            if simple:
                continue

            good_argnum = True
            # An explicit argument index?
            after_index = False
            if i < end and format[i] == "[":
                reordered = True
                argnum, i, after_index, good = self._arg_number(argnum, format, i, nargs)
                good_argnum = good_argnum and good

            # Width.
            if i < end and format[i] == "*":
                i += 1
                self.wid, self.wid_present, argnum = _int_from_arg(args, argnum)
                if not self.wid_present:
                    buf.append("%!(BADWIDTH)")
                if self.wid < 0:
                    self.wid = -self.wid
                    self.minus = True
                    self.zero = False
                after_index = False
            else:
                self.wid, self.wid_present, i = _parsenum(format, i, end)
                if after_index and self.wid_present:  # "%[3]2d"
                    good_argnum = False

            # Precision.
            if i + 1 < end and format[i] == ".":
                i += 1
                if after_index:  # "%[3].2d"
                    good_argnum = False
                after_index = False
                if i < end and format[i] == "[":
                    reordered = True
                    argnum, i, after_index, good = self._arg_number(argnum, format, i, nargs)
                    good_argnum = good_argnum and good
                if i < end and format[i] == "*":
                    i += 1
                    self.prec, self.prec_present, argnum = _int_from_arg(args, argnum)
                    if self.prec < 0:
                        self.prec = 0
                        self.prec_present = False
                    if not self.prec_present:
                        buf.append("%!(BADPREC)")
                    after_index = False
                else:
                    self.prec, self.prec_present, i = _parsenum(format, i, end)
                    if not self.prec_present:
                        self.prec = 0
                        self.prec_present = True

            if not after_index and i < end and format[i] == "[":
                reordered = True
                argnum, i, after_index, good = self._arg_number(argnum, format, i, nargs)
                good_argnum = good_argnum and good

            if i >= end:
                buf.append("%!(NOVERB)")
                break

            verb = format[i]
            i += 1
            if 0xD800 <= ord(verb) <= 0xDFFF:  # an invalid byte decodes as U+FFFD
                verb = "\ufffd"
            if verb == "%":
                buf.append("%")
            elif not good_argnum:
                buf.append("%!" + verb + "(BADINDEX)")
            elif argnum >= nargs:
                buf.append("%!" + verb + "(MISSING)")
            else:
                if verb == "v":
                    self.sharp_v = self.sharp
                    self.sharp = False
                    self.plus_v = self.plus
                    self.plus = False
                self.print_arg(args[argnum], verb)
                argnum += 1

        if not reordered and argnum < nargs:
            self.clear_flags()
            buf.append("%!(EXTRA ")
            for n, arg in enumerate(args[argnum:]):
                if n > 0:
                    buf.append(", ")
                if arg is None:
                    buf.append("<nil>")
                else:
                    buf.append(("reflect.Value" if arg is MISSING else type_of(arg)) + "=")
                    self.print_arg(arg, "v")
            buf.append(")")

    @staticmethod
    def _arg_number(argnum: int, format: str, i: int,
                    nargs: int) -> tuple[int, int, bool, bool]:
        """An argument index "[n]" at format[i]: (argnum, new i, found, good)."""
        index, wid, ok = _parse_arg_number(format, i)
        if ok and 0 <= index < nargs:
            return index, i + wid, True, True
        return argnum, i + wid, ok, False


# --- types and map order -----------------------------------------------------------------

def _elem(gotype: str) -> str:
    """The element type of a slice or array type (interface {} when it cannot be told)."""
    if gotype.startswith("[]"):
        return gotype[2:]
    if gotype.startswith("["):
        close = gotype.find("]")
        if close > 0:
            return gotype[close + 1:]
    return _ANY


def _map_types(gotype: str) -> tuple[str, str]:
    """The key and element types of a map type."""
    if gotype.startswith("map["):
        depth = 0
        for i in range(3, len(gotype)):
            c = gotype[i]
            if c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
                if depth == 0:
                    return gotype[4:i], gotype[i + 1:]
    return _ANY, _ANY


def _sort_key(k: Any) -> tuple[Any, ...]:
    """The order of internal/fmtsort: by type (by name, see the module docstring), then
    numbers by value (NaN first), strings by bytes, false before true, structs by field."""
    if k is None:
        return ("",)
    t = type(k)
    if t is str:
        return ("string", go_bytes(k))
    if t is bool:
        return ("bool", int(k))
    if t is int or isinstance(k, GoInt):
        return (type_of(k), int(k))
    if t is float or t is Float32:
        return (type_of(k), 0, 0.0) if k != k else (type_of(k), 1, float(k))
    if isinstance(k, GoObject):
        return (k.gotype, tuple(_sort_key(f) for f in k.go_fields().values()))
    return (type_of(k),)


def _sorted_items(m: dict[Any, Any]) -> list[tuple[Any, Any]]:
    items = list(m.items())
    if len(items) < 2:
        return items
    kinds = {type(k) for k in m}
    if len(kinds) == 1:
        kt = next(iter(kinds))
        if kt is str and all(k.isascii() for k in m):
            items.sort(key=lambda kv: kv[0])
            return items
        if kt is int:
            items.sort(key=lambda kv: kv[0])
            return items
    with contextlib.suppress(TypeError):  # keys that do not compare: keep their order
        items.sort(key=lambda kv: _sort_key(kv[0]))
    return items
