"""sprig's encodings: b64enc b64dec b32enc b32dec, and the JSON functions fromJson toJson
toPrettyJson toRawJson mustFromJson mustToJson mustToPrettyJson mustToRawJson.

A failed base64/base32 decoding gives the error's text as the result, as sprig does.
fromJson ignores errors (nil, or what Go had decoded when a number is out of range);
toJson and toPrettyJson give "" on error; toRawJson panics with it.
"""

from __future__ import annotations

import base64
from typing import Any

from dockwright.gotemplate import gojson
from dockwright.gotemplate.values import ANY, STRING, Func, GoError, from_go_bytes, go_bytes


def _b64enc(s: str) -> str:
    return base64.b64encode(go_bytes(s)).decode("ascii")


def _b32enc(s: str) -> str:
    return base64.b32encode(go_bytes(s)).decode("ascii")


_B64 = {c: i for i, c in enumerate(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_B32 = {c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}
_PAD = 0x3D


class _Corrupt(Exception):
    def __init__(self, name: str, at: int) -> None:
        super().__init__(f"illegal {name} data at input byte {at}")


def _b64_quantum(src: bytes, si: int, out: bytearray) -> tuple[int, bool]:
    """Go's base64 decodeQuantum (StdEncoding): decodes from ``src[si]``; returns the next
    index and whether the input ended."""
    dbuf = [0, 0, 0, 0]
    dlen = 4
    j = 0
    while j < 4:
        if si == len(src):
            if j == 0:
                return si, True
            raise _Corrupt("base64", si - j)
        c = src[si]
        si += 1
        d = _B64.get(c)
        if d is not None:
            dbuf[j] = d
            j += 1
            continue
        if c in (0x0A, 0x0D):
            continue
        if c != _PAD:
            raise _Corrupt("base64", si - 1)
        if j in (0, 1):
            raise _Corrupt("base64", si - 1)
        if j == 2:
            while si < len(src) and src[si] in (0x0A, 0x0D):
                si += 1
            if si == len(src):
                raise _Corrupt("base64", len(src))
            if src[si] != _PAD:
                raise _Corrupt("base64", si - 1)
            si += 1
        while si < len(src) and src[si] in (0x0A, 0x0D):
            si += 1
        if si < len(src):
            raise _Corrupt("base64", si)
        dlen = j
        break
    val = dbuf[0] << 18 | dbuf[1] << 12 | dbuf[2] << 6 | dbuf[3]
    out += val.to_bytes(3, "big")[:dlen - 1]
    return si, dlen < 4


def _b64decode(s: str) -> bytes:
    src = go_bytes(s)
    out = bytearray()
    si = 0
    end = not src
    while not end:
        si, end = _b64_quantum(src, si, out)
    return bytes(out)


def _b32decode(s: str) -> bytes:
    """Go's base32 StdEncoding.DecodeString (newlines dropped first)."""
    src = go_bytes(s).replace(b"\r", b"").replace(b"\n", b"")
    olen = len(src)
    out = bytearray()
    pos = 0
    end = False
    while pos < olen and not end:
        dbuf = [0] * 8
        dlen = 8
        j = 0
        while j < 8:
            if pos == olen:
                raise _Corrupt("base32", olen - (olen - pos) - j)
            c = src[pos]
            pos += 1
            left = olen - pos
            if c == _PAD and j >= 2 and left < 8:
                if left + j < 8 - 1:
                    raise _Corrupt("base32", olen)
                for k in range(8 - 1 - j):
                    if left > k and src[pos + k] != _PAD:
                        raise _Corrupt("base32", olen - left + k - 1)
                dlen, end = j, True
                if dlen in (1, 3, 6):
                    raise _Corrupt("base32", olen - left - 1)
                break
            d = _B32.get(c)
            if d is None:
                raise _Corrupt("base32", olen - left - 1)
            dbuf[j] = d
            j += 1
        b = dbuf
        chunk = [(b[0] << 3 | b[1] >> 2) & 0xFF, (b[1] << 6 | b[2] << 1 | b[3] >> 4) & 0xFF,
                 (b[3] << 4 | b[4] >> 1) & 0xFF, (b[4] << 7 | b[5] << 2 | b[6] >> 3) & 0xFF,
                 (b[6] << 5 | b[7]) & 0xFF]
        count = {8: 5, 7: 4, 5: 3, 4: 2, 2: 1}.get(dlen, 0)
        out += bytes(chunk[:count])
    return bytes(out)


def _b64dec(s: str) -> str:
    try:
        return from_go_bytes(_b64decode(s))
    except _Corrupt as exc:
        return str(exc)


def _b32dec(s: str) -> str:
    try:
        return from_go_bytes(_b32decode(s))
    except _Corrupt as exc:
        return str(exc)


def _from_json(s: str) -> Any:
    return gojson.unmarshal_partial(s)[0]


def _to_json(v: Any) -> str:
    try:
        return gojson.marshal(v)
    except GoError:
        return ""


def _to_pretty_json(v: Any) -> str:
    try:
        return gojson.marshal(v, indent="  ")
    except GoError:
        return ""


def _to_raw_json(v: Any) -> str:
    return gojson.marshal(v, escape_html=False)


FUNCS: dict[str, Func] = {
    "b64enc": Func(_b64enc, (STRING,), result=STRING),
    "b64dec": Func(_b64dec, (STRING,), result=STRING),
    "b32enc": Func(_b32enc, (STRING,), result=STRING),
    "b32dec": Func(_b32dec, (STRING,), result=STRING),
    "fromJson": Func(_from_json, (STRING,), result=ANY),
    "mustFromJson": Func(gojson.unmarshal, (STRING,), result=ANY, errors=True),
    "toJson": Func(_to_json, (ANY,), result=STRING),
    "mustToJson": Func(gojson.marshal, (ANY,), result=STRING, errors=True),
    "toPrettyJson": Func(_to_pretty_json, (ANY,), result=STRING),
    "mustToPrettyJson": Func(lambda v: gojson.marshal(v, indent="  "), (ANY,), result=STRING,
                             errors=True),
    "toRawJson": Func(_to_raw_json, (ANY,), result=STRING),
    "mustToRawJson": Func(_to_raw_json, (ANY,), result=STRING, errors=True),
}
