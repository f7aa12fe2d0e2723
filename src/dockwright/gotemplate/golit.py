"""Go's literals as strconv reads them: quoted strings, characters, integers, floats.

``number`` gives a template's NumberNode with Go's rules for which kinds a literal fits
(``IsInt``, ``IsUint``, ``IsFloat``, ``IsComplex``); the messages are strconv's and the
parser's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from dockwright.gotemplate import strconv
from dockwright.gotemplate.nodes import NumberNode
from dockwright.gotemplate.strconv import NumError
from dockwright.gotemplate.values import from_go_bytes

_SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_MAX_RUNE = 0x10FFFF


_N = TypeVar("_N", int, float)


class LiteralError(Exception):
    pass


def unquote(text: str) -> str:
    """strconv.Unquote of a "..." or `...` literal (errors as ``invalid syntax``)."""
    if len(text) < 2 or text[0] != text[-1]:
        raise LiteralError("invalid syntax")
    quote, body = text[0], text[1:-1]
    if quote == "`":
        if "`" in body:
            raise LiteralError("invalid syntax")
        return body.replace("\r", "")
    if quote not in "\"'":
        raise LiteralError("invalid syntax")
    if "\n" in body:
        raise LiteralError("invalid syntax")
    if "\\" not in body and quote not in body:
        if quote == "'" and len(body) != 1:
            raise LiteralError("invalid syntax")
        return body
    out = bytearray()
    i = 0
    while i < len(body):
        if body[i] == quote and quote == "'":
            raise LiteralError("invalid syntax")
        value, is_byte, i = _unquote_char(body, i, quote)
        if is_byte:
            out.append(value)
        else:
            out += chr(value).encode("utf-8", "surrogatepass")
        if quote == "'" and i != len(body):
            raise LiteralError("invalid syntax")
    return from_go_bytes(bytes(out))


def _unquote_char(s: str, i: int, quote: str) -> tuple[int, bool, int]:
    """One character at ``s[i]``: (value, whether it is a raw byte, next index)."""
    ch = s[i]
    if ch == quote and quote in "'\"":
        raise LiteralError("invalid syntax")
    if ch != "\\":
        return ord(ch), False, i + 1
    if i + 1 >= len(s):
        raise LiteralError("invalid syntax")
    c = s[i + 1]
    i += 2
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c], False, i
    if c in "xuU":
        n = {"x": 2, "u": 4, "U": 8}[c]
        digits = s[i:i + n]
        if len(digits) < n or not all(d in "0123456789abcdefABCDEF" for d in digits):
            raise LiteralError("invalid syntax")
        value = int(digits, 16)
        if c == "x":
            return value, quote != "'", i + n
        if value > _MAX_RUNE or 0xD800 <= value < 0xE000:
            raise LiteralError("invalid syntax")
        return value, False, i + n
    if "0" <= c <= "7":
        digits = s[i - 1:i + 2]
        if len(digits) < 3 or not all("0" <= d <= "7" for d in digits):
            raise LiteralError("invalid syntax")
        value = int(digits, 8)
        if value > 255:
            raise LiteralError("invalid syntax")
        return value, quote != "'", i + 2
    if c == quote and quote in "'\"":
        return ord(c), False, i
    raise LiteralError("invalid syntax")


def _maybe(parse: Callable[[], _N]) -> _N | None:
    try:
        return parse()
    except NumError:
        return None


def parse_uint(text: str) -> int | None:
    """strconv.ParseUint(text, 0, 64), None where it fails."""
    return _maybe(lambda: strconv.parse_uint(text, 0, 64))


def parse_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), None where it fails."""
    return _maybe(lambda: strconv.parse_int(text, 0, 64))


def parse_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64), None where it fails (syntax or out of range)."""
    return _maybe(lambda: strconv.parse_float(text))


def number(pos: int, text: str, *, char: bool = False, complex_: bool = False) -> NumberNode:
    """A NumberNode for the literal ``text`` (Go's ``Tree.newNumber``)."""
    n = NumberNode(pos, text)
    if char:
        try:
            value, _, end = _unquote_char(text[1:], 0, "'")
        except (LiteralError, IndexError):
            raise LiteralError("invalid syntax") from None
        if text[1 + end:] != "'":
            raise LiteralError(f"malformed character constant: {text}")
        n.int64 = n.uint64 = value
        n.float64 = float(value)
        n.is_int = n.is_uint = n.is_float = True
        return n
    if complex_:
        match = re.fullmatch(r"([+-]?[^+-]+(?:[eE][+-][0-9_]+)?)([+-].+)i", text)
        real = parse_float(match.group(1)) if match else None
        imag = parse_float(match.group(2)) if match else None
        if real is None or imag is None:
            raise LiteralError(f"illegal number syntax: {strconv.go_quote(text)}")
        _set_complex(n, complex(real, imag))
        return n
    if text.endswith("i"):
        imag = parse_float(text[:-1])
        if imag is not None:
            _set_complex(n, complex(0, imag))
            return n
    u = parse_uint(text)
    if u is not None:
        n.is_uint, n.uint64 = True, u
    i = parse_int(text)
    if i is not None:
        n.is_int, n.int64 = True, i
        if i == 0:
            n.is_uint, n.uint64 = True, u or 0
    if n.is_int:
        n.is_float, n.float64 = True, float(n.int64)
    elif n.is_uint:
        n.is_float, n.float64 = True, float(n.uint64)
    else:
        f = parse_float(text)
        if f is not None:
            if not any(c in text for c in ".eEpP"):
                raise LiteralError(f"integer overflow: {strconv.go_quote(text)}")
            n.is_float, n.float64 = True, f
            if f == int(f) and -(1 << 63) <= f < (1 << 63):
                n.is_int, n.int64 = True, int(f)
            if f == int(f) and 0 <= f < (1 << 64):
                n.is_uint, n.uint64 = True, int(f)
    if not (n.is_int or n.is_uint or n.is_float):
        raise LiteralError(f"illegal number syntax: {strconv.go_quote(text)}")
    return n


def _set_complex(n: NumberNode, value: complex) -> None:
    n.is_complex, n.complex128 = True, value
    n.is_float = value.imag == 0
    if n.is_float:
        f = n.float64 = value.real
        finite = f == f and f not in (float("inf"), float("-inf"))
        n.is_int = finite and f == int(f) and -(1 << 63) <= f < (1 << 63)
        if n.is_int:
            n.int64 = int(f)
        n.is_uint = finite and f == int(f) and 0 <= f < (1 << 64)
        if n.is_uint:
            n.uint64 = int(f)
