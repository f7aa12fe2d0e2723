"""Go's encoding/json for the values of ``values``, byte for byte (Go 1.19).

``marshal`` is ``json.Marshal`` (with ``indent``: ``json.MarshalIndent(v, "", indent)``;
with ``escape_html=False``: what an Encoder with ``SetEscapeHTML(false)`` writes, without
its final newline). ``unmarshal`` is ``json.Unmarshal`` into an ``interface {}``: objects
become dicts (map[string]interface {}), arrays lists, numbers floats, with Go's error texts.

A GoObject marshals through its ``go_json()`` method when it has one (a MarshalJSON that
returns the JSON text, or raises GoError with the method's error), else as a struct of its
``go_fields()``.
"""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

from dockwright.gotemplate.strconv import NumError, format_float, go_quote, parse_float
from dockwright.gotemplate.values import (
    MISSING,
    GoError,
    GoObject,
    from_go_bytes,
    go_bytes,
    key_type,
    kind_of_type,
    type_of,
)

_HEX = "0123456789abcdef"
_KEY_KINDS = ("string", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16",
              "uint32", "uint64", "uintptr")


# --- Marshal ----------------------------------------------------------------------------

def quote(s: str, escape_html: bool = True) -> str:
    """A Go string as encoding/json writes it: quoted, control characters, quote and
    backslash escaped, <, > and & too when ``escape_html``, U+2028 and U+2029 always,
    invalid UTF-8 as \\ufffd."""
    out = ['"']
    for c in s:
        o = ord(c)
        if o < 0x80:
            if c == '"' or c == "\\":
                out.append("\\" + c)
            elif c == "\n":
                out.append("\\n")
            elif c == "\r":
                out.append("\\r")
            elif c == "\t":
                out.append("\\t")
            elif o < 0x20 or (escape_html and c in "<>&"):
                out.append("\\u00" + _HEX[o >> 4] + _HEX[o & 0xF])
            else:
                out.append(c)
        elif 0xD800 <= o <= 0xDFFF:  # an invalid byte (surrogate escape) or a lone surrogate
            out.append("\\ufffd")
        elif o in (0x2028, 0x2029):
            out.append("\\u202" + _HEX[o & 0xF])
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _float(f: float, bits: int) -> str:
    if math.isnan(f) or math.isinf(f):
        raise GoError("json: unsupported value: " + format_float(f, "g", bits))
    a = abs(f)
    if bits == 32:
        a = struct.unpack("<f", struct.pack("<f", a))[0]
    fmt = "f"
    if a != 0 and (a < 1e-6 or a >= 1e21):
        fmt = "e"
    text = format_float(f, fmt, bits)
    if fmt == "e":
        n = len(text)
        if n >= 4 and text[n - 4] == "e" and text[n - 3] == "-" and text[n - 2] == "0":
            text = text[:n - 2] + text[n - 1]
    return text


class _Encoder:
    def __init__(self, escape_html: bool, indent: str | None) -> None:
        self.escape_html = escape_html
        self.indent = indent
        self.out: list[str] = []

    def newline(self, depth: int) -> None:
        if self.indent is not None:
            self.out.append("\n" + self.indent * depth)

    def encode(self, v: Any, depth: int) -> None:
        out = self.out
        if v is None or v is MISSING:
            out.append("null")
            return
        if isinstance(v, bool):
            out.append("true" if v else "false")
            return
        if isinstance(v, str):
            out.append(quote(str(v), self.escape_html))
            return
        if isinstance(v, int):
            gotype = type_of(v)
            if gotype.startswith("uint"):
                out.append(str(int(v) & ((1 << 64) - 1)))
            else:
                out.append(str(int(v)))
            return
        if isinstance(v, float):
            out.append(_float(float(v), 32 if type_of(v) == "float32" else 64))
            return
        if isinstance(v, list):
            gotype = type_of(v)
            if gotype in ("[]uint8", "[]byte"):
                data = bytes(int(b) & 0xFF for b in v)
                out.append('"' + base64.b64encode(data).decode("ascii") + '"')
                return
            self.sequence(v, depth)
            return
        if isinstance(v, dict):
            self.mapping(v, type_of(v), depth)
            return
        if isinstance(v, _RawNumber):
            out.append(v.literal)
            return
        if isinstance(v, GoObject):
            self.object(v, depth)
            return
        raise GoError("json: unsupported type: " + type_of(v))

    def sequence(self, items: list[Any], depth: int) -> None:
        out = self.out
        out.append("[")
        for i, item in enumerate(items):
            if i:
                out.append(",")
            self.newline(depth + 1)
            self.encode(item, depth + 1)
        if items:
            self.newline(depth)
        out.append("]")

    def mapping(self, m: dict[Any, Any], gotype: str, depth: int) -> None:
        if kind_of_type(key_type(gotype)) not in _KEY_KINDS:
            raise GoError("json: unsupported type: " + gotype)
        keyed = []
        for k, item in m.items():
            if isinstance(k, str):
                ks = str(k)
            elif type_of(k).startswith("uint"):
                ks = str(int(k) & ((1 << 64) - 1))
            else:
                ks = str(int(k))
            keyed.append((go_bytes(ks), ks, item))
        keyed.sort(key=lambda e: e[0])
        self.members([(ks, item) for _, ks, item in keyed], depth)

    def members(self, members: list[tuple[str, Any]], depth: int) -> None:
        out = self.out
        out.append("{")
        for i, (name, item) in enumerate(members):
            if i:
                out.append(",")
            self.newline(depth + 1)
            out.append(quote(name, self.escape_html))
            out.append(": " if self.indent is not None else ":")
            self.encode(item, depth + 1)
        if members:
            self.newline(depth)
        out.append("}")

    def object(self, v: GoObject, depth: int) -> None:
        method = getattr(v, "go_json", None)
        if method is None:
            self.members(list(v.go_fields().items()), depth)
            return
        try:
            raw = method()
        except GoError as exc:
            raise GoError(f"json: error calling MarshalJSON for type {v.gotype}: "
                          f"{exc.message}") from None
        # Go compacts what MarshalJSON returns (HTML-escaping it as the encoder does), and
        # MarshalIndent then indents it with the rest: re-encoded here, number literals as
        # they are (string escapes are written Go's way, not kept).
        value, error = unmarshal_partial(raw, raw_numbers=True)
        if error is not None:
            raise GoError(f"json: error calling MarshalJSON for type {v.gotype}: {error}")
        self.encode(value, depth)


class _RawNumber(GoObject):
    """A number literal of a MarshalJSON result, written back as it is."""

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def go_json(self) -> str:
        return self.literal


def marshal(v: Any, escape_html: bool = True, indent: str | None = None) -> str:
    """json.Marshal(v) as a Go string (``indent``: MarshalIndent(v, "", indent))."""
    enc = _Encoder(escape_html, indent)
    enc.encode(v, 0)
    return "".join(enc.out)


# --- Unmarshal --------------------------------------------------------------------------

_MAX_DEPTH = 10000
_SPACE = frozenset(b" \t\r\n")
_HEXDIGITS = frozenset(b"0123456789abcdefABCDEF")
_DIGITS = frozenset(b"0123456789")
_OBJECT_KEY, _OBJECT_VALUE, _ARRAY_VALUE = 0, 1, 2
_LITERALS = {"t": b"true", "f": b"false", "n": b"null"}


def _quote_char(c: int) -> str:
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    return "'" + go_quote(chr(c))[1:-1] + "'"


class _Scanner:
    """Go's encoding/json scanner (a state per byte), for its syntax errors."""

    def __init__(self) -> None:
        self.state = "begin_value"
        self.stack: list[int] = []
        self.end_top = False
        self.error: str | None = None
        self.literal = b""  # the rest of true/false/null still expected
        self.word = ""
        self.hex_left = 0

    def fail(self, c: int, context: str) -> None:
        self.state = "error"
        self.error = f"invalid character {_quote_char(c)} {context}"

    def push(self, c: int, state: int) -> None:
        self.stack.append(state)
        if len(self.stack) > _MAX_DEPTH:
            self.fail(c, "exceeded max depth")

    def pop(self) -> None:
        self.stack.pop()
        if not self.stack:
            self.state = "end_top"
            self.end_top = True
        else:
            self.state = "end_value"

    def step(self, c: int) -> None:
        state = self.state
        if state == "error":
            return
        if state == "begin_value_or_empty":
            if c in _SPACE:
                return
            if c == 0x5D:
                self.end_value(c)
                return
            state = "begin_value"
        if state == "begin_string_or_empty":
            if c in _SPACE:
                return
            if c == 0x7D:
                self.stack[-1] = _OBJECT_VALUE
                self.end_value(c)
                return
            state = "begin_string"
        if state == "begin_value":
            self.begin_value(c)
        elif state == "begin_string":
            if c in _SPACE:
                return
            if c == 0x22:
                self.state = "in_string"
            else:
                self.fail(c, "looking for beginning of object key string")
        elif state == "end_value":
            self.end_value(c)
        elif state == "end_top":
            if c not in _SPACE:
                self.fail(c, "after top-level value")
        elif state == "in_string":
            if c == 0x22:
                self.state = "end_value"
            elif c == 0x5C:
                self.state = "in_string_esc"
            elif c < 0x20:
                self.fail(c, "in string literal")
        elif state == "in_string_esc":
            if c in b'bfnrt\\/"':
                self.state = "in_string"
            elif c == 0x75:
                self.state = "in_string_esc_u"
                self.hex_left = 4
            else:
                self.fail(c, "in string escape code")
        elif state == "in_string_esc_u":
            if c in _HEXDIGITS:
                self.hex_left -= 1
                if not self.hex_left:
                    self.state = "in_string"
            else:
                self.fail(c, "in \\u hexadecimal character escape")
        elif state == "neg":
            if c == 0x30:
                self.state = "0"
            elif 0x31 <= c <= 0x39:
                self.state = "1"
            else:
                self.fail(c, "in numeric literal")
        elif state == "1":
            if c not in _DIGITS:
                self.state0(c)
        elif state == "0":
            self.state0(c)
        elif state == "dot":
            if c in _DIGITS:
                self.state = "dot0"
            else:
                self.fail(c, "after decimal point in numeric literal")
        elif state == "dot0":
            if c in _DIGITS:
                return
            if c in b"eE":
                self.state = "e"
            else:
                self.end_value(c)
        elif state == "e":
            if c in b"+-":
                self.state = "esign"
            elif c in _DIGITS:
                self.state = "e0"
            else:
                self.fail(c, "in exponent of numeric literal")
        elif state == "esign":
            if c in _DIGITS:
                self.state = "e0"
            else:
                self.fail(c, "in exponent of numeric literal")
        elif state == "e0":
            if c not in _DIGITS:
                self.end_value(c)
        elif state == "literal":
            if c == self.literal[0]:
                self.literal = self.literal[1:]
                if not self.literal:
                    self.state = "end_value"
            else:
                self.fail(c, f"in literal {self.word} (expecting {_quote_char(self.literal[0])})")

    def state0(self, c: int) -> None:
        if c == 0x2E:
            self.state = "dot"
        elif c in b"eE":
            self.state = "e"
        else:
            self.end_value(c)

    def begin_value(self, c: int) -> None:
        if c in _SPACE:
            self.state = "begin_value"
            return
        if c == 0x7B:
            self.state = "begin_string_or_empty"
            self.push(c, _OBJECT_KEY)
        elif c == 0x5B:
            self.state = "begin_value_or_empty"
            self.push(c, _ARRAY_VALUE)
        elif c == 0x22:
            self.state = "in_string"
        elif c == 0x2D:
            self.state = "neg"
        elif c == 0x30:
            self.state = "0"
        elif 0x31 <= c <= 0x39:
            self.state = "1"
        elif chr(c) in _LITERALS:
            self.word = _LITERALS[chr(c)].decode()
            self.literal = _LITERALS[chr(c)][1:]
            self.state = "literal"
        else:
            self.fail(c, "looking for beginning of value")

    def end_value(self, c: int) -> None:
        if not self.stack:
            self.state = "end_top"
            self.end_top = True
            if c not in _SPACE:
                self.fail(c, "after top-level value")
            return
        if c in _SPACE:
            self.state = "end_value"
            return
        ps = self.stack[-1]
        if ps == _OBJECT_KEY:
            if c == 0x3A:
                self.stack[-1] = _OBJECT_VALUE
                self.state = "begin_value"
            else:
                self.fail(c, "after object key")
        elif ps == _OBJECT_VALUE:
            if c == 0x2C:
                self.stack[-1] = _OBJECT_KEY
                self.state = "begin_string"
            elif c == 0x7D:
                self.pop()
            else:
                self.fail(c, "after object key:value pair")
        elif c == 0x2C:
            self.state = "begin_value"
        elif c == 0x5D:
            self.pop()
        else:
            self.fail(c, "after array element")

    def eof(self) -> str | None:
        if self.error is not None:
            return self.error
        if self.end_top:
            return None
        self.step(0x20)
        if self.end_top:
            return None
        return self.error or "unexpected end of JSON input"


def check_valid(data: bytes) -> str | None:
    """The SyntaxError text Go's json.Valid check gives ``data``, None when it is valid."""
    scan = _Scanner()
    for c in data:
        scan.step(c)
        if scan.error is not None:
            return scan.error
    return scan.eof()


def _unquote(data: bytes, i: int) -> tuple[str, int]:
    """The JSON string starting after the quote at ``data[i - 1]`` (valid, as checked),
    decoded as Go does (invalid UTF-8 and lone surrogates as U+FFFD); and the index after
    its closing quote."""
    out = bytearray()
    n = len(data)
    while True:
        c = data[i]
        if c == 0x22:
            break
        if c == 0x5C:
            e = data[i + 1]
            if e == 0x75:
                r = int(data[i + 2:i + 6], 16)
                i += 6
                if 0xD800 <= r < 0xE000:
                    r2 = -1
                    if i + 6 <= n and data[i] == 0x5C and data[i + 1] == 0x75:
                        r2 = _hex4(data[i + 2:i + 6])
                    if 0xD800 <= r < 0xDC00 and 0xDC00 <= r2 < 0xE000:
                        r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00)
                        i += 6
                    else:
                        r = 0xFFFD
                out += chr(r).encode()
                continue
            out.append(_ESCAPES[e])
            i += 2
            continue
        if c < 0x80:
            out.append(c)
            i += 1
            continue
        size = _rune_len(data, i)
        if size:
            out += data[i:i + size]
            i += size
        else:
            out += "\ufffd".encode()
            i += 1
    return from_go_bytes(bytes(out)), i + 1


def _hex4(b: bytes) -> int:
    return int(b, 16) if len(b) == 4 and all(c in _HEXDIGITS for c in b) else -1


_ESCAPES = {ord("b"): 8, ord("f"): 12, ord("n"): 10, ord("r"): 13, ord("t"): 9, ord('"'): 0x22,
            ord("\\"): 0x5C, ord("/"): 0x2F}


def _rune_len(data: bytes, i: int) -> int:
    """The length of the valid UTF-8 sequence at ``data[i]`` (a non-ASCII byte), 0 if none."""
    for size in (2, 3, 4):
        try:
            data[i:i + size].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return size
    return 0


def unmarshal(text: str) -> Any:
    """json.Unmarshal of a Go string into an interface {}; raises GoError with Go's text.
    (``unmarshal_partial`` gives what Go leaves in the value along with the error.)"""
    value, error = unmarshal_partial(text)
    if error is not None:
        raise GoError(error)
    return value


def unmarshal_partial(text: str, raw_numbers: bool = False) -> tuple[Any, str | None]:
    """json.Unmarshal into an interface {}: the value and the error text (a number out of
    float64's range leaves nil in its place, and the first such error is reported)."""
    data = go_bytes(text)
    error = check_valid(data)
    if error is not None:
        return None, error
    first_error: list[str] = []
    n = len(data)

    def skip(j: int) -> int:
        while j < n and data[j] in _SPACE:
            j += 1
        return j

    def scalar(j: int) -> tuple[Any, int]:
        c = data[j]
        if c == 0x22:
            return _unquote(data, j + 1)
        if c == 0x74:
            return True, j + 4
        if c == 0x66:
            return False, j + 5
        if c == 0x6E:
            return None, j + 4
        k = j
        while k < n and data[k] in b"0123456789+-.eE":
            k += 1
        literal = data[j:k].decode("ascii")
        if raw_numbers:
            return _RawNumber(literal), k
        try:
            return parse_float(literal), k
        except NumError:
            if not first_error:
                first_error.append(f"json: cannot unmarshal number {literal} "
                                   "into Go value of type float64")
            return None, k

    # An explicit stack: [container, pending key] per open array or object.
    stack: list[list[Any]] = []
    i = skip(0)
    result: Any = None
    while True:
        c = data[i]
        value: Any
        if c == 0x7B or c == 0x5B:
            container: Any = {} if c == 0x7B else []
            stack.append([container, None])
            i = skip(i + 1)
            if data[i] in b"}]":
                i += 1
                value = stack.pop()[0]
            elif c == 0x7B:
                key, i = _unquote(data, skip(i) + 1)
                stack[-1][1] = key
                i = skip(skip(i) + 1)  # the colon
                continue
            else:
                continue
        else:
            value, i = scalar(i)
        # a value is complete: store it, closing as many containers as end here
        while True:
            if not stack:
                result = value
                break
            top = stack[-1]
            if isinstance(top[0], dict):
                top[0][top[1]] = value
            else:
                top[0].append(value)
            i = skip(i)
            if data[i] == 0x2C:
                i = skip(i + 1)
                if isinstance(top[0], dict):
                    key, i = _unquote(data, i + 1)
                    top[1] = key
                    i = skip(skip(i) + 1)
                break
            i += 1  # the closing } or ]
            value = stack.pop()[0]
        if not stack:
            break
    return result, (first_error[0] if first_error else None)
