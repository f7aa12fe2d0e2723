"""sprig's urlParse and urlJoin, behaving as Go's net/url (Parse, URL.String) does: the
same parts, escapes and errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockwright.gotemplate.strconv import go_quote
from dockwright.gotemplate.values import (
    MAP_ANY,
    STRING,
    Func,
    GoError,
    from_go_bytes,
    go_bytes,
    kind_of,
)

_PATH, _PATH_SEGMENT, _HOST, _ZONE, _USER_PASSWORD, _QUERY_COMPONENT, _FRAGMENT = range(7)
_UPPERHEX = b"0123456789ABCDEF"


class _UrlError(Exception):
    """An error of net/url's parse (its Error() text)."""


def _should_escape(c: int, mode: int) -> bool:
    if 0x61 <= c <= 0x7A or 0x41 <= c <= 0x5A or 0x30 <= c <= 0x39:
        return False
    if mode in (_HOST, _ZONE) and c in b"!$&'()*+,;=:[]<>\"":
        return False
    if c in b"-_.~":
        return False
    if c in b"$&+,/:;=?@":
        if mode == _PATH:
            return c == 0x3F
        if mode == _PATH_SEGMENT:
            return c in b"/;,?"
        if mode == _USER_PASSWORD:
            return c in b"@/?:"
        if mode == _QUERY_COMPONENT:
            return True
        if mode == _FRAGMENT:
            return False
    return not (mode == _FRAGMENT and c in b"!()*")


def _ishex(c: int) -> bool:
    return c in b"0123456789abcdefABCDEF"


def _unhex(c: int) -> int:
    return int(chr(c), 16)


def _gq(b: bytes) -> str:
    return go_quote(from_go_bytes(b))


def _unescape(s: bytes, mode: int) -> bytes:
    n = 0
    has_plus = False
    i = 0
    while i < len(s):
        c = s[i]
        if c == 0x25:
            n += 1
            if i + 2 >= len(s) or not _ishex(s[i + 1]) or not _ishex(s[i + 2]):
                bad = s[i:][:3]
                raise _UrlError(f"invalid URL escape {_gq(bad)}")
            if mode == _HOST and _unhex(s[i + 1]) < 8 and s[i:i + 3] != b"%25":
                raise _UrlError(f"invalid URL escape {_gq(s[i:i + 3])}")
            if mode == _ZONE:
                v = _unhex(s[i + 1]) << 4 | _unhex(s[i + 2])
                if s[i:i + 3] != b"%25" and v != 0x20 and _should_escape(v, _HOST):
                    raise _UrlError(f"invalid URL escape {_gq(s[i:i + 3])}")
            i += 3
        elif c == 0x2B:
            has_plus = mode == _QUERY_COMPONENT
            i += 1
        else:
            if mode in (_HOST, _ZONE) and c < 0x80 and _should_escape(c, mode):
                raise _UrlError(f"invalid character {_gq(s[i:i + 1])} in host name")
            i += 1
    if n == 0 and not has_plus:
        return s
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == 0x25:
            out.append(_unhex(s[i + 1]) << 4 | _unhex(s[i + 2]))
            i += 3
            continue
        if c == 0x2B:
            out.append(0x20 if mode == _QUERY_COMPONENT else 0x2B)
        else:
            out.append(c)
        i += 1
    return bytes(out)


def _escape(s: bytes, mode: int) -> bytes:
    out = bytearray()
    for c in s:
        if c == 0x20 and mode == _QUERY_COMPONENT:
            out.append(0x2B)
        elif _should_escape(c, mode):
            out += b"%" + bytes([_UPPERHEX[c >> 4], _UPPERHEX[c & 15]])
        else:
            out.append(c)
    return bytes(out)


@dataclass
class _URL:
    scheme: bytes = b""
    opaque: bytes = b""
    user: tuple[bytes, bytes | None] | None = None
    host: bytes = b""
    path: bytes = b""
    raw_path: bytes = b""
    omit_host: bool = False
    force_query: bool = False
    raw_query: bytes = b""
    fragment: bytes = b""
    raw_fragment: bytes = b""

    def set_path(self, p: bytes) -> None:
        self.path = _unescape(p, _PATH)
        self.raw_path = b"" if _escape(self.path, _PATH) == p else p

    def set_fragment(self, f: bytes) -> None:
        self.fragment = _unescape(f, _FRAGMENT)
        self.raw_fragment = b"" if _escape(self.fragment, _FRAGMENT) == f else f

    def escaped_path(self) -> bytes:
        if self.raw_path and _valid_encoded(self.raw_path, _PATH):
            try:
                if _unescape(self.raw_path, _PATH) == self.path:
                    return self.raw_path
            except _UrlError:
                pass
        if self.path == b"*":
            return b"*"
        return _escape(self.path, _PATH)

    def escaped_fragment(self) -> bytes:
        if self.raw_fragment and _valid_encoded(self.raw_fragment, _FRAGMENT):
            try:
                if _unescape(self.raw_fragment, _FRAGMENT) == self.fragment:
                    return self.raw_fragment
            except _UrlError:
                pass
        return _escape(self.fragment, _FRAGMENT)

    def user_string(self) -> bytes:
        if self.user is None:
            return b""
        name, password = self.user
        s = _escape(name, _USER_PASSWORD)
        if password is not None:
            s += b":" + _escape(password, _USER_PASSWORD)
        return s

    def string(self) -> bytes:
        buf = bytearray()
        if self.scheme:
            buf += self.scheme + b":"
        if self.opaque:
            buf += self.opaque
        else:
            if (self.scheme or self.host or self.user is not None) and not (
                    self.omit_host and not self.host and self.user is None):
                if self.host or self.path or self.user is not None:
                    buf += b"//"
                if self.user is not None:
                    buf += self.user_string() + b"@"
                if self.host:
                    buf += _escape(self.host, _HOST)
            path = self.escaped_path()
            if path and path[0] != 0x2F and self.host:
                buf += b"/"
            if not buf and b":" in path.partition(b"/")[0]:
                buf += b"./"
            buf += path
        if self.force_query or self.raw_query:
            buf += b"?" + self.raw_query
        if self.fragment:
            buf += b"#" + self.escaped_fragment()
        return bytes(buf)

    def hostname(self) -> bytes:
        host = self.host
        colon = host.rfind(b":")
        if colon != -1 and _valid_optional_port(host[colon:]):
            host = host[:colon]
        if host.startswith(b"[") and host.endswith(b"]"):
            host = host[1:-1]
        return host


def _valid_encoded(s: bytes, mode: int) -> bool:
    return all(c in b"!$&'()*+,;=:@[]%" or not _should_escape(c, mode) for c in s)


def _valid_optional_port(port: bytes) -> bool:
    if not port:
        return True
    if port[0] != 0x3A:
        return False
    return all(0x30 <= b <= 0x39 for b in port[1:])


def _get_scheme(raw: bytes) -> tuple[bytes, bytes]:
    for i, c in enumerate(raw):
        if 0x61 <= c <= 0x7A or 0x41 <= c <= 0x5A:
            continue
        if 0x30 <= c <= 0x39 or c in b"+-.":
            if i == 0:
                return b"", raw
            continue
        if c == 0x3A:
            if i == 0:
                raise _UrlError("missing protocol scheme")
            return raw[:i], raw[i + 1:]
        return b"", raw
    return b"", raw


def _parse_host(host: bytes) -> bytes:
    if host.startswith(b"["):
        i = host.rfind(b"]")
        if i < 0:
            raise _UrlError("missing ']' in host")
        colon_port = host[i + 1:]
        if not _valid_optional_port(colon_port):
            raise _UrlError(f"invalid port {_gq(colon_port)} after host")
        zone = host[:i].find(b"%25")
        if zone >= 0:
            return (_unescape(host[:zone], _HOST) + _unescape(host[zone:i], _ZONE)
                    + _unescape(host[i:], _HOST))
    else:
        i = host.rfind(b":")
        if i != -1:
            colon_port = host[i:]
            if not _valid_optional_port(colon_port):
                raise _UrlError(f"invalid port {_gq(colon_port)} after host")
    return _unescape(host, _HOST)


_USERINFO_OK = frozenset(b"-._:~!$&'()*+,;=%@")


def _parse_authority(authority: bytes) -> tuple[tuple[bytes, bytes | None] | None, bytes]:
    i = authority.rfind(b"@")
    host = _parse_host(authority if i < 0 else authority[i + 1:])
    if i < 0:
        return None, host
    userinfo = authority[:i]
    text = from_go_bytes(userinfo)
    if not all(c.isascii() and (c.isalnum() or ord(c) in _USERINFO_OK) for c in text):
        raise _UrlError("net/url: invalid userinfo")
    if b":" not in userinfo:
        return (_unescape(userinfo, _USER_PASSWORD), None), host
    name, _, password = userinfo.partition(b":")
    return (_unescape(name, _USER_PASSWORD), _unescape(password, _USER_PASSWORD)), host


def _parse(raw: bytes) -> _URL:
    if any(b < 0x20 or b == 0x7F for b in raw):
        raise _UrlError("net/url: invalid control character in URL")
    url = _URL()
    if raw == b"*":
        url.path = b"*"
        return url
    scheme, rest = _get_scheme(raw)
    url.scheme = scheme.lower()
    if rest.endswith(b"?") and rest.count(b"?") == 1:
        url.force_query = True
        rest = rest[:-1]
    else:
        rest, _, url.raw_query = rest.partition(b"?")
    if not rest.startswith(b"/"):
        if url.scheme:
            url.opaque = rest
            return url
        if b":" in rest.partition(b"/")[0]:
            raise _UrlError("first path segment in URL cannot contain colon")
    if (url.scheme or not rest.startswith(b"///")) and rest.startswith(b"//"):
        authority, rest = rest[2:], b""
        i = authority.find(b"/")
        if i >= 0:
            authority, rest = authority[:i], authority[i:]
        url.user, url.host = _parse_authority(authority)
    elif url.scheme and rest.startswith(b"/"):
        url.omit_host = True
    url.set_path(rest)
    return url


def parse_url(raw: bytes) -> _URL:
    """url.Parse; raises _UrlError with the text of Go's *url.Error."""
    u, _, frag = raw.partition(b"#")
    try:
        url = _parse(u)
    except _UrlError as exc:
        raise _UrlError(f"parse {_gq(u)}: {exc}") from None
    if not frag:
        return url
    try:
        url.set_fragment(frag)
    except _UrlError as exc:
        raise _UrlError(f"parse {_gq(raw)}: {exc}") from None
    return url


def _url_parse(v: str) -> dict[str, Any]:
    try:
        url = parse_url(go_bytes(v))
    except _UrlError as exc:
        raise GoError(f"unable to parse url: {exc}") from None
    s = from_go_bytes
    return {
        "scheme": s(url.scheme), "host": s(url.host), "hostname": s(url.hostname()),
        "path": s(url.path), "query": s(url.raw_query), "opaque": s(url.opaque),
        "fragment": s(url.fragment), "userinfo": s(url.user_string()),
    }


def _get(d: dict[str, Any], key: str) -> bytes:
    if key not in d:
        return b""
    value = d[key]
    kind = kind_of(value)
    if kind == "invalid":
        raise GoError("runtime error: invalid memory address or nil pointer dereference")
    if kind != "string":
        raise GoError(f"unable to parse {key} key, must be of type string, but {kind} found")
    return go_bytes(str(value))


def _url_join(d: dict[str, Any]) -> str:
    url = _URL(scheme=_get(d, "scheme"), host=_get(d, "host"), path=_get(d, "path"),
               raw_query=_get(d, "query"), opaque=_get(d, "opaque"),
               fragment=_get(d, "fragment"))
    userinfo = _get(d, "userinfo")
    if userinfo:
        try:
            url.user = parse_url(b"proto://" + userinfo + b"@host").user
        except _UrlError as exc:
            raise GoError(f"unable to parse userinfo in dict: {exc}") from None
    return from_go_bytes(url.string())


FUNCS: dict[str, Func] = {
    "urlParse": Func(_url_parse, (STRING,), result=MAP_ANY),
    "urlJoin": Func(_url_join, (MAP_ANY,), result=STRING),
}
