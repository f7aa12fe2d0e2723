"""sprig's string functions (strings.go, and the ``strings``/goutils/xstrings functions that
functions.go maps directly).

Go strings are bytes: where Go slices or scans bytes (substr, trunc, abbrev, wrap, nospace,
initials, replace, split...) the work is done on ``go_bytes``; where Go decodes runes (upper,
title, swapcase, camelcase...) an invalid byte is U+FFFD, as Go's ``range`` and
``[]rune(s)`` make it. Case mappings are Go's simple (one rune to one rune) mappings.

xstrings is v1.4.0 (the version werf builds with): ``camelcase`` keeps the case of the letters
inside words.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from dockwright.gotemplate.gofmt import sprintf
from dockwright.gotemplate.sprig._convert import strslice, strval
from dockwright.gotemplate.strconv import go_quote
from dockwright.gotemplate.values import (
    ANY,
    BOOL,
    INT,
    MAP_STRING,
    SLICE_STRING,
    STRING,
    Func,
    GoError,
    from_go_bytes,
    go_bytes,
    kind_of,
)

RUNE_ERROR = "\ufffd"

# unicode.IsSpace: the Latin-1 spaces and the White_Space property above them.
SPACES = ("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
          "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_SPACE_SET = frozenset(SPACES)


# --- runes and Go's unicode package --------------------------------------------------------

def runes(s: str) -> str:
    """``s`` as Go decodes it rune by rune: every invalid byte is U+FFFD."""
    if s.isascii():
        return s
    return "".join(RUNE_ERROR if "\ud800" <= c <= "\udfff" else c for c in s)


def rune_of(c: str) -> str:
    """One character of a Go string as a decoded rune (an invalid byte is U+FFFD)."""
    return RUNE_ERROR if "\ud800" <= c <= "\udfff" else c


def is_space(r: str) -> bool:
    return r in _SPACE_SET


def _category(r: str) -> str:
    return "Cn" if "\ud800" <= r <= "\udfff" else unicodedata.category(r)


def is_upper(r: str) -> bool:
    if r < "\x80":
        return "A" <= r <= "Z"
    return _category(r) == "Lu"


def is_lower(r: str) -> bool:
    if r < "\x80":
        return "a" <= r <= "z"
    return _category(r) == "Ll"


def is_title(r: str) -> bool:
    return _category(r) == "Lt"


def is_letter(r: str) -> bool:
    if r < "\x80":
        return "a" <= r <= "z" or "A" <= r <= "Z"
    return _category(r)[0] == "L"


def is_digit(r: str) -> bool:
    if r < "\x80":
        return "0" <= r <= "9"
    return _category(r) == "Nd"


def is_number(r: str) -> bool:
    if r < "\x80":
        return "0" <= r <= "9"
    return _category(r)[0] == "N"


def is_punct(r: str) -> bool:
    return _category(r)[0] == "P"


def to_upper(r: str) -> str:
    """unicode.ToUpper (the simple mapping: where the full one has several runes, Go maps
    the Greek letters with ypogegrammeni to their title case form, the others to
    themselves)."""
    if r < "\x80":
        return r.upper()
    u = r.upper()
    if len(u) == 1:
        return u
    t = r.title()
    return t if len(t) == 1 else r


def to_lower(r: str) -> str:
    """unicode.ToLower (the simple mapping)."""
    if r < "\x80":
        return r.lower()
    if r == "\u0130":
        return "i"
    lo = r.lower()
    return lo if len(lo) == 1 else r


def to_title(r: str) -> str:
    """unicode.ToTitle (the simple mapping)."""
    if r < "\x80":
        return r.upper()
    t = r.title()
    return t if len(t) == 1 else r


def _go_map(mapping: Callable[[str], str], s: str) -> str:
    """strings.Map with a mapping that never drops a rune."""
    return "".join(mapping(r) for r in runes(s))


# --- the standard library's strings functions -------------------------------------------

def trim_space(s: str) -> str:
    """strings.TrimSpace."""
    return s.strip(SPACES)


def go_upper(s: str) -> str:
    """strings.ToUpper."""
    return s.upper() if s.isascii() else _go_map(to_upper, s)


def go_lower(s: str) -> str:
    """strings.ToLower."""
    return s.lower() if s.isascii() else _go_map(to_lower, s)


def _is_separator(r: str) -> bool:
    if r < "\x80":
        return not (r.isalnum() or r == "_")
    if is_letter(r) or is_digit(r):
        return False
    return is_space(r)


def go_title(s: str) -> str:
    """strings.Title: the first letter of every word in title case."""
    out = []
    prev = " "
    for r in runes(s):
        out.append(to_title(r) if _is_separator(prev) else r)
        prev = r
    return "".join(out)


def _repeat(s: str, count: int) -> str:
    """strings.Repeat, with its panics."""
    if count == 0:
        return ""
    if count < 0:
        raise GoError("strings: negative Repeat count")
    size = len(go_bytes(s))
    n = size * count
    wrapped = (n + (1 << 63)) % (1 << 64) - (1 << 63)
    quotient = abs(wrapped) // count * (-1 if wrapped < 0 else 1)  # Go's / truncates
    if quotient != size:
        raise GoError("strings: Repeat count causes overflow")
    if n > 1 << 48:
        raise GoError("runtime error: makeslice: cap out of range")
    return s * count


def _trim(s: str, cutset: str) -> str:
    """strings.Trim: runes of ``cutset`` cut from both ends (an invalid byte in either is
    U+FFFD, which matches every invalid byte and U+FFFD)."""
    if s == "" or cutset == "":
        return s
    cut = frozenset(runes(cutset))
    chars = list(s)
    start, stop = 0, len(chars)
    while start < stop and rune_of(chars[start]) in cut:
        start += 1
    while stop > start and rune_of(chars[stop - 1]) in cut:
        stop -= 1
    return "".join(chars[start:stop])


def _split(s: str, sep: str, n: int) -> list[str]:
    """strings.SplitN (n < 0: no limit)."""
    if n == 0:
        return []
    if sep == "":
        chars = list(s)
        if n < 0 or n > len(chars):
            n = len(chars)
        if n == 0:
            return []
        return [*chars[:n - 1], "".join(chars[n - 1:])]
    parts = go_bytes(s).split(go_bytes(sep), -1 if n < 0 else n - 1)
    return [from_go_bytes(p) for p in parts]


def _replace(s: str, old: str, new: str) -> str:
    """strings.Replace(s, old, new, -1): an empty ``old`` matches before every rune."""
    if old == "":
        return s.replace("", new)  # one Python character is one rune or one invalid byte
    if s.isascii() and old.isascii() and new.isascii():
        return s.replace(old, new)
    return from_go_bytes(go_bytes(s).replace(go_bytes(old), go_bytes(new)))


def _slice_bounds(s: bytes, start: int | None, end: int | None) -> bytes:
    """``s[start:end]`` in Go, with its runtime panics."""
    n = len(s)
    lo = 0 if start is None else start
    hi = n if end is None else end
    if end is not None and (end < 0 or end > n):
        if end < 0:
            raise GoError(f"runtime error: slice bounds out of range [:{end}]")
        raise GoError(f"runtime error: slice bounds out of range [:{end}] with length {n}")
    if lo < 0:
        raise GoError(f"runtime error: slice bounds out of range [{lo}:]")
    if lo > hi:
        raise GoError(f"runtime error: slice bounds out of range [{lo}:{hi}]")
    return s[lo:hi]


# --- goutils -----------------------------------------------------------------------------

def _abbreviate_full(s: bytes, offset: int, width: int) -> bytes | None:
    """goutils.AbbreviateFull on bytes; None for its errors."""
    if not s:
        return b""
    if width < 4:
        return None
    n = len(s)
    if n <= width:
        return s
    offset = min(offset, n)
    if n - offset < width - 3:
        offset = n - (width - 3)
    if offset <= 4:
        return s[0:width - 3] + b"..."
    if width < 7:
        return None
    if offset + width - 3 < n:
        inner = _abbreviate_full(s[offset:], 0, width - 3)
        return b"..." + (inner if inner is not None else b"")
    return b"..." + s[n - (width - 3):]


def abbrev(width: int, s: str) -> str:
    if width < 4:
        return s
    r = _abbreviate_full(go_bytes(s), 0, width)
    return "" if r is None else from_go_bytes(r)


def abbrevboth(left: int, right: int, s: str) -> str:
    if right < 4 or (left > 0 and right < 7):
        return s
    r = _abbreviate_full(go_bytes(s), left, right)
    return "" if r is None else from_go_bytes(r)


def _latin1_is_space(b: int) -> bool:
    return chr(b) in _SPACE_SET


def nospace(s: str) -> str:
    """goutils.DeleteWhiteSpace: scans bytes, each read as the rune of that value (so the
    bytes 0x85 and 0xA0 of UTF-8 sequences are spaces too), and writes the kept ones back as
    runes when it dropped any."""
    if s == "":
        return s
    b = go_bytes(s)
    kept = [c for c in b if not _latin1_is_space(c)]
    if len(kept) == len(b):
        return s
    return "".join(chr(c) for c in kept)


def initials(s: str) -> str:
    """goutils.Initials: the first byte of every word (as a rune of that value)."""
    if s == "":
        return s
    out = []
    gap = True
    for c in go_bytes(s):
        if _latin1_is_space(c):
            gap = True
        elif gap:
            out.append(chr(c))
            gap = False
    return "".join(out)


def untitle(s: str) -> str:
    """goutils.Uncapitalize: the first letter of every whitespace-separated word in lower
    case."""
    if s == "":
        return s
    out = []
    next_word = True
    for r in runes(s):
        if is_space(r):
            next_word = True
            out.append(r)
        elif next_word:
            out.append(to_lower(r))
            next_word = False
        else:
            out.append(r)
    return "".join(out)


def swapcase(s: str) -> str:
    """goutils.SwapCase: upper and title case to lower; lower case to title case at the start
    of a word, to upper case elsewhere."""
    if s == "":
        return s
    out = []
    whitespace = True
    for r in runes(s):
        if is_upper(r) or is_title(r):
            out.append(to_lower(r))
            whitespace = False
        elif is_lower(r):
            if whitespace:
                out.append(to_title(r))
                whitespace = False
            else:
                out.append(to_upper(r))
        else:
            out.append(r)
            whitespace = is_space(r)
    return "".join(out)


def _wrap_custom(s: str, length: int, newline: str, long_words: bool) -> str:
    """goutils.WrapCustom, on bytes."""
    if s == "":
        return ""
    nl = go_bytes(newline or "\n")
    length = max(length, 1)
    b = go_bytes(s)
    n = len(b)
    offset = 0
    out = bytearray()
    while n - offset > length:
        if b[offset] == 0x20:
            offset += 1
            continue
        end = length + offset + 1
        space = b.rfind(b" ", offset, end)
        if space >= offset:
            out += b[offset:space] + nl
            offset = space + 1
        elif long_words:
            out += b[offset:length + offset] + nl
            offset += length
        else:
            end = length + offset
            index = b.find(b" ", end)
            if index == -1:
                out += b[offset:]
                offset = n
            else:
                out += b[offset:index] + nl
                offset = index + 1
    out += b[offset:]
    return from_go_bytes(bytes(out))


# --- xstrings ----------------------------------------------------------------------------

def _is_connector(r: str) -> bool:
    return r == "-" or r == "_" or is_space(r)


def _is_alphabet(r: str) -> bool:
    """xstrings' isAlphabet: a letter, but not a CJK ideograph."""
    if not is_letter(r):
        return False
    o = ord(r)
    if o < 0x3400:
        return True
    return not (0x4E00 <= o <= 0x9FCC or 0x3400 <= o <= 0x4D85 or 0x20000 <= o <= 0x2B81D)


def camelcase(s: str) -> str:
    """xstrings.ToCamelCase (v1.4.0): connectors (``-``, ``_``, spaces) dropped and the
    next letter upper-cased; leading connectors kept, runs of them kept but one."""
    if s == "":
        return ""
    rs = runes(s)
    out = []
    i = 0
    r0 = ""
    size = 0
    while i < len(rs):
        r0 = rs[i]
        size = 1
        i += 1
        if not _is_connector(r0):
            r0 = to_upper(r0)
            break
        out.append(r0)
    if i >= len(rs):
        if size:
            out.append(r0)
        return "".join(out)
    while i < len(rs):
        r1 = r0
        r0 = rs[i]
        i += 1
        if _is_connector(r0) and _is_connector(r1):
            out.append(r1)
            continue
        if _is_connector(r1):
            r0 = to_upper(r0)
        else:
            out.append(r1)
    out.append(r0)
    return "".join(out)


_INVALID, _NUMBER, _UPPER, _ALPHABET, _CONNECTOR, _PUNCT, _OTHER = range(7)


def _next_valid_rune(s: str, prev: str) -> tuple[str, int]:
    size = 0
    for c in s:
        size += 1
        r = rune_of(c)
        if r != RUNE_ERROR:
            return r, size
    return prev, size


def _next_word(s: str) -> tuple[int, str, str]:
    """xstrings' nextWord: the type of the word at the start of ``s``, the word, the rest
    (positions count characters: a rune or an invalid byte each)."""
    if s == "":
        return _INVALID, "", ""
    remaining = s
    r, size = _next_valid_rune(remaining, RUNE_ERROR)
    offset = size
    if r == RUNE_ERROR:
        return _INVALID, s[:offset], s[offset:]

    def run(pred: Callable[[str], bool], r: str) -> None:
        nonlocal offset, remaining
        while remaining:
            r, size = _next_valid_rune(remaining, r)
            if not pred(r):
                break
            offset += size
            remaining = remaining[size:]

    if _is_connector(r):
        wt = _CONNECTOR
        remaining = remaining[size:]
        run(_is_connector, r)
    elif is_punct(r):
        wt = _PUNCT
        remaining = remaining[size:]
        run(is_punct, r)
    elif is_upper(r):
        wt = _UPPER
        remaining = remaining[size:]
        if remaining:
            r, size = _next_valid_rune(remaining, r)
            if is_upper(r):
                prev_size = size
                offset += size
                remaining = remaining[size:]
                while remaining:
                    r, size = _next_valid_rune(remaining, r)
                    if not is_upper(r):
                        break
                    prev_size = size
                    offset += size
                    remaining = remaining[size:]
                # "HTTPStatus": the S belongs to the next word
                if remaining and _is_alphabet(r):
                    offset -= prev_size
                    remaining = s[offset:]
            elif _is_alphabet(r):
                offset += size
                remaining = remaining[size:]
                run(lambda x: _is_alphabet(x) and not is_upper(x), r)
    elif _is_alphabet(r):
        wt = _ALPHABET
        remaining = remaining[size:]
        run(lambda x: _is_alphabet(x) and not is_upper(x), r)
    elif is_number(r):
        wt = _NUMBER
        remaining = remaining[size:]
        run(is_number, r)
    else:
        wt = _OTHER
        remaining = remaining[size:]
        run(lambda x: not (_is_connector(x) or _is_alphabet(x) or is_number(x)
                           or is_punct(x)), r)
    return wt, s[:offset], remaining


def _lower_word(out: list[str], wt: int, word: str, connector: str) -> None:
    if wt != _UPPER and wt != _CONNECTOR:
        out.append(word)
        return
    for c in word:
        r = rune_of(c)
        if _is_connector(r):
            out.append(connector)
        elif is_upper(r):
            out.append(to_lower(r))
        else:
            out.append(r)


def _camel_to_lower(s: str, connector: str) -> str:
    """xstrings' camelCaseToLowerCase (snakecase, kebabcase)."""
    if s == "":
        return ""
    out: list[str] = []
    wt, word, remaining = _next_word(s)
    while remaining:
        if wt != _CONNECTOR:
            _lower_word(out, wt, word, connector)
        prev, last = wt, word
        wt, word, remaining = _next_word(remaining)
        if prev == _NUMBER:
            while wt in (_ALPHABET, _NUMBER):
                _lower_word(out, wt, word, connector)
                wt, word, remaining = _next_word(remaining)
            if wt not in (_INVALID, _PUNCT, _CONNECTOR):
                out.append(connector)
        elif prev == _CONNECTOR:
            _lower_word(out, prev, last, connector)
        elif prev == _PUNCT:
            pass
        else:
            if wt != _NUMBER:
                if wt not in (_CONNECTOR, _PUNCT):
                    out.append(connector)
                continue
            if not remaining:
                continue
            last = word
            wt, word, remaining = _next_word(remaining)
            # a number followed by something else than letters ends the previous word
            if wt != _ALPHABET:
                _lower_word(out, _NUMBER, last, connector)
                if wt not in (_CONNECTOR, _PUNCT):
                    out.append(connector)
                continue
            # letters after a number: the number starts a word
            out.append(connector)
            _lower_word(out, _NUMBER, last, connector)
            while wt in (_ALPHABET, _NUMBER):
                _lower_word(out, wt, word, connector)
                wt, word, remaining = _next_word(remaining)
            if wt not in (_INVALID, _CONNECTOR, _PUNCT):
                out.append(connector)
    _lower_word(out, wt, word, connector)
    return "".join(out)


def snakecase(s: str) -> str:
    return _camel_to_lower(s, "_")


def kebabcase(s: str) -> str:
    return _camel_to_lower(s, "-")


# --- sprig's own -------------------------------------------------------------------------

def trunc(c: int, s: str) -> str:
    b = go_bytes(s)
    if c < 0 and len(b) + c > 0:
        return from_go_bytes(b[len(b) + c:])
    if c >= 0 and len(b) > c:
        return from_go_bytes(b[:c])
    return s


def substr(start: int, end: int, s: str) -> str:
    b = go_bytes(s)
    if start < 0:
        return from_go_bytes(_slice_bounds(b, None, end))
    if end < 0 or end > len(b):
        return from_go_bytes(_slice_bounds(b, start, None))
    return from_go_bytes(_slice_bounds(b, start, end))


def quote(*args: Any) -> str:
    return " ".join(go_quote(strval(a)) for a in args if a is not None)


def _sprint(v: Any) -> str:
    """fmt's %v of one operand."""
    return v if type(v) is str else sprintf("%v", v)


def squote(*args: Any) -> str:
    return " ".join("'" + _sprint(a) + "'" for a in args if a is not None)


def cat(*args: Any) -> str:
    return " ".join(_sprint(a) for a in args if a is not None)


def indent(spaces: int, v: str) -> str:
    pad = _repeat(" ", spaces)
    return pad + v.replace("\n", "\n" + pad)


def nindent(spaces: int, v: str) -> str:
    return "\n" + indent(spaces, v)


def split(sep: str, orig: str) -> dict[str, str]:
    return {f"_{i}": p for i, p in enumerate(_split(orig, sep, -1))}


def splitn(sep: str, n: int, orig: str) -> dict[str, str]:
    return {f"_{i}": p for i, p in enumerate(_split(orig, sep, n))}


def join(sep: str, v: Any) -> str:
    return sep.join(strslice(v))


def _has_prefix(s: str, prefix: str) -> bool:
    return go_bytes(s).startswith(go_bytes(prefix))


def _has_suffix(s: str, suffix: str) -> bool:
    return go_bytes(s).endswith(go_bytes(suffix))


def _trim_prefix(s: str, prefix: str) -> str:
    return from_go_bytes(go_bytes(s)[len(go_bytes(prefix)):]) if _has_prefix(s, prefix) else s


def _trim_suffix(s: str, suffix: str) -> str:
    if suffix == "" or not _has_suffix(s, suffix):
        return s
    return from_go_bytes(go_bytes(s)[:-len(go_bytes(suffix))])


def sort_alpha(v: Any) -> list[str]:
    """sprig's sortAlpha: a slice's elements as strings, sorted bytewise; any other value as
    a one-element list."""
    if kind_of(v) in ("slice", "array"):
        return sorted(strslice(v), key=go_bytes)
    return [strval(v)]


def _s(fn: Callable[..., Any], *params: str, result: str = STRING) -> Func:
    return Func(fn, params, result=result)


FUNCS: dict[str, Func] = {
    "hello": _s(lambda: "Hello!"),
    "abbrev": _s(abbrev, INT, STRING),
    "abbrevboth": _s(abbrevboth, INT, INT, STRING),
    "trunc": _s(trunc, INT, STRING),
    "trim": _s(trim_space, STRING),
    "upper": _s(go_upper, STRING),
    "lower": _s(go_lower, STRING),
    "title": _s(go_title, STRING),
    "untitle": _s(untitle, STRING),
    "substr": _s(substr, INT, INT, STRING),
    "repeat": _s(lambda count, s: _repeat(s, count), INT, STRING),
    "trimall": _s(lambda a, b: _trim(b, a), STRING, STRING),
    "trimAll": _s(lambda a, b: _trim(b, a), STRING, STRING),
    "trimSuffix": _s(lambda a, b: _trim_suffix(b, a), STRING, STRING),
    "trimPrefix": _s(lambda a, b: _trim_prefix(b, a), STRING, STRING),
    "nospace": _s(nospace, STRING),
    "initials": _s(initials, STRING),
    "swapcase": _s(swapcase, STRING),
    "snakecase": _s(snakecase, STRING),
    "camelcase": _s(camelcase, STRING),
    "kebabcase": _s(kebabcase, STRING),
    "wrap": _s(lambda n, s: _wrap_custom(s, n, "", False), INT, STRING),
    "wrapWith": _s(lambda n, sep, s: _wrap_custom(s, n, sep, True), INT, STRING, STRING),
    "contains": _s(lambda sub, s: go_bytes(sub) in go_bytes(s), STRING, STRING, result=BOOL),
    "hasPrefix": _s(lambda p, s: _has_prefix(s, p), STRING, STRING, result=BOOL),
    "hasSuffix": _s(lambda p, s: _has_suffix(s, p), STRING, STRING, result=BOOL),
    "quote": Func(quote, (), ANY, STRING),
    "squote": Func(squote, (), ANY, STRING),
    "cat": Func(cat, (), ANY, STRING),
    "indent": _s(indent, INT, STRING),
    "nindent": _s(nindent, INT, STRING),
    "replace": _s(lambda old, new, src: _replace(src, old, new), STRING, STRING, STRING),
    "plural": _s(lambda one, many, n: one if n == 1 else many, STRING, STRING, INT),
    "toString": _s(strval, ANY),
    "split": _s(split, STRING, STRING, result=MAP_STRING),
    "splitList": _s(lambda sep, s: _split(s, sep, -1), STRING, STRING, result=SLICE_STRING),
    "splitn": _s(splitn, STRING, INT, STRING, result=MAP_STRING),
    "toStrings": _s(strslice, ANY, result=SLICE_STRING),
    "join": _s(join, STRING, ANY),
    "sortAlpha": _s(sort_alpha, ANY, result=SLICE_STRING),
}
