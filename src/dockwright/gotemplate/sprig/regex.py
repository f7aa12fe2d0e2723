"""sprig's regular expressions: regexMatch regexFindAll regexFind regexReplaceAll
regexReplaceAllLiteral regexSplit regexQuoteMeta and their must* variants.

Go's regexp is RE2. A pattern is parsed here as Go's regexp/syntax parses it (same errors,
same texts) and translated to an equivalent Python ``re`` pattern: every character class
is computed as Go computes it (case folding included) and written out as explicit ranges,
anchors and ``.`` are written for the flags in force where they stand, so Python's flags
are never used. The iteration over matches (FindAll, ReplaceAll, Split) follows Go's rules
for empty matches, and ``$1``/``${name}`` expansion is Go's.

Known limits: Unicode script classes (``\\p{Greek}``) are not supported (an error says so);
general categories come from Python's unicodedata (a slightly newer Unicode than Go
1.19's); Go's guarantee of linear time is not kept (Python backtracks).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from dockwright.gotemplate.strconv import can_backquote, go_quote
from dockwright.gotemplate.values import (
    BOOL,
    INT,
    SLICE_STRING,
    STRING,
    Func,
    GoError,
)

_MAX_RUNE = 0x10FFFF
Ranges = list[tuple[int, int]]


# --- character sets ----------------------------------------------------------------------

def _clean(ranges: Ranges) -> Ranges:
    """Sorted, merged ranges."""
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _negate(ranges: Ranges) -> Ranges:
    out: Ranges = []
    nxt = 0
    for lo, hi in _clean(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= _MAX_RUNE:
        out.append((nxt, _MAX_RUNE))
    return out


_ORBITS: dict[int, tuple[int, ...]] | None = None
_FOLDABLE: list[int] = []


def _orbits() -> dict[int, tuple[int, ...]]:
    """Every character that has case variants, with all of them (itself included): Go's
    unicode.SimpleFold orbits, from Python's single-character case mappings."""
    global _ORBITS
    if _ORBITS is None:
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            while parent.get(x, x) != x:
                x = parent[x]
            return x

        for cp in range(_MAX_RUNE + 1):
            if 0xD800 <= cp <= 0xDFFF:
                continue
            ch = chr(cp)
            for other in (ch.lower(), ch.upper()):
                if len(other) == 1 and other != ch:
                    a, b = find(cp), find(ord(other))
                    if a != b:
                        parent[a] = b
        groups: dict[int, list[int]] = {}
        for cp in parent:
            groups.setdefault(find(cp), []).append(cp)
        orbits: dict[int, tuple[int, ...]] = {}
        for root, members in groups.items():
            orbit = tuple(sorted({*members, root}))
            for cp in orbit:
                orbits[cp] = orbit
        _ORBITS = orbits
        _FOLDABLE.extend(sorted(orbits))
    return _ORBITS


def _fold_ranges(ranges: Ranges) -> Ranges:
    """The ranges with every character's case variants added (Go's appendFoldedRange)."""
    orbits = _orbits()
    out = list(ranges)
    for lo, hi in ranges:
        i = bisect.bisect_left(_FOLDABLE, lo)
        j = bisect.bisect_right(_FOLDABLE, hi)
        for cp in _FOLDABLE[i:j]:
            out.extend((c, c) for c in orbits[cp])
    return _clean(out)


def _r(spec: str) -> Ranges:
    """Ranges from "a-z0-9_" notation (ASCII only)."""
    out: Ranges = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out.append((ord(spec[i]), ord(spec[i + 2])))
            i += 3
        else:
            out.append((ord(spec[i]), ord(spec[i])))
            i += 1
    return out


_PERL = {"d": _r("0-9"), "s": _r("\t\n\f\r "), "w": _r("0-9A-Za-z_")}
_POSIX = {
    "alnum": _r("0-9A-Za-z"), "alpha": _r("A-Za-z"), "ascii": [(0, 0x7F)], "blank": _r("\t "),
    "cntrl": [(0, 0x1F), (0x7F, 0x7F)], "digit": _r("0-9"), "graph": _r("!-~"),
    "lower": _r("a-z"), "print": _r(" -~"), "punct": _r("!-/:-@[-`{-~"),
    "space": _r("\t\n\v\f\r "), "upper": _r("A-Z"), "word": _r("0-9A-Za-z_"),
    "xdigit": _r("0-9A-Fa-f"),
}
_CATEGORY_NAMES = ("C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps "
                   "S Sc Sk Sm So Z Zl Zp Zs")
_CATEGORIES = frozenset(_CATEGORY_NAMES.split())


@cache
def _category(name: str) -> tuple[tuple[int, int], ...]:
    """The characters of a Unicode general category (one letter: all its subcategories)."""
    out: Ranges = []
    start = -1
    for cp in range(_MAX_RUNE + 2):
        inside = False
        if cp <= _MAX_RUNE:
            cat = unicodedata.category(chr(cp))
            inside = cat == name if len(name) == 2 else (cat[0] == name and cat != "Cn")
        if inside and start < 0:
            start = cp
        elif not inside and start >= 0:
            out.append((start, cp - 1))
            start = -1
    return tuple(out)

# Go 1.19's script tables (unicode.Scripts) for the commonly used scripts; the others are
# known by name and reported as not supported.
_SCRIPT_RANGES = {
    "Latin": (
        "41-5a 61-7a aa ba c0-d6 d8-f6 f8-2b8 2e0-2e4 1d00-1d25 1d2c-1d5c 1d62-1d65 "
        "1d6b-1d77 1d79-1dbe 1e00-1eff 2071 207f 2090-209c 212a-212b 2132 214e 2160-2188 "
        "2c60-2c7f a722-a787 a78b-a7bf a7c2-a7ca a7f5-a7ff ab30-ab5a ab5c-ab64 ab66-ab69 "
        "fb00-fb06 ff21-ff3a ff41-ff5a"
    ),
    "Greek": (
        "370-373 375-377 37a-37d 37f 384 386 388-38a 38c 38e-3a1 3a3-3e1 3f0-3ff "
        "1d26-1d2a 1d5d-1d61 1d66-1d6a 1dbf 1f00-1f15 1f18-1f1d 1f20-1f45 1f48-1f4d "
        "1f50-1f57 1f59 1f5b 1f5d 1f5f-1f7d 1f80-1fb4 1fb6-1fc4 1fc6-1fd3 1fd6-1fdb "
        "1fdd-1fef 1ff2-1ff4 1ff6-1ffe 2126 ab65 10140-1018e 101a0 1d200-1d245"
    ),
    "Cyrillic": "400-484 487-52f 1c80-1c88 1d2b 1d78 2de0-2dff a640-a69f fe2e-fe2f",
    "Han": (
        "2e80-2e99 2e9b-2ef3 2f00-2fd5 3005 3007 3021-3029 3038-303b 3400-4dbf 4e00-9ffc "
        "f900-fa6d fa70-fad9 16ff0-16ff1 20000-2a6dd 2a700-2b734 2b740-2b81d 2b820-2cea1 "
        "2ceb0-2ebe0 2f800-2fa1d 30000-3134a"
    ),
    "Hiragana": "3041-3096 309d-309f 1b001-1b11e 1b150-1b152 1f200",
    "Katakana": (
        "30a1-30fa 30fd-30ff 31f0-31ff 32d0-32fe 3300-3357 ff66-ff6f ff71-ff9d 1b000 "
        "1b164-1b167"
    ),
    "Hangul": (
        "1100-11ff 302e-302f 3131-318e 3200-321e 3260-327e a960-a97c ac00-d7a3 d7b0-d7c6 "
        "d7cb-d7fb ffa0-ffbe ffc2-ffc7 ffca-ffcf ffd2-ffd7 ffda-ffdc"
    ),
    "Arabic": (
        "600-604 606-60b 60d-61a 61c 61e 620-63f 641-64a 656-66f 671-6dc 6de-6ff 750-77f "
        "8a0-8b4 8b6-8c7 8d3-8e1 8e3-8ff fb50-fbc1 fbd3-fd3d fd50-fd8f fd92-fdc7 "
        "fdf0-fdfd fe70-fe74 fe76-fefc 10e60-10e7e 1ee00-1ee03 1ee05-1ee1f 1ee21-1ee22 "
        "1ee24 1ee27 1ee29-1ee32 1ee34-1ee37 1ee39 1ee3b 1ee42 1ee47 1ee49 1ee4b "
        "1ee4d-1ee4f 1ee51-1ee52 1ee54 1ee57 1ee59 1ee5b 1ee5d 1ee5f 1ee61-1ee62 1ee64 "
        "1ee67-1ee6a 1ee6c-1ee72 1ee74-1ee77 1ee79-1ee7c 1ee7e 1ee80-1ee89 1ee8b-1ee9b "
        "1eea1-1eea3 1eea5-1eea9 1eeab-1eebb 1eef0-1eef1"
    ),
    "Hebrew": "591-5c7 5d0-5ea 5ef-5f4 fb1d-fb36 fb38-fb3c fb3e fb40-fb41 fb43-fb44 fb46-fb4f",
    "Armenian": "531-556 559-58a 58d-58f fb13-fb17",
    "Georgian": "10a0-10c5 10c7 10cd 10d0-10fa 10fc-10ff 1c90-1cba 1cbd-1cbf 2d00-2d25 2d27 2d2d",
    "Thai": "e01-e3a e40-e5b",
    "Devanagari": "900-950 955-963 966-97f a8e0-a8ff",
}
_ALL_SCRIPTS = """
    Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak
    Bengali Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian
    Caucasian_Albanian Chakma Cham Cherokee Chorasmian Common Coptic Cuneiform Cypriot
    Cyrillic Deseret Devanagari Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan
    Elymaic Ethiopic Georgian Glagolitic Gothic Grantha Greek Gujarati Gunjala_Gondi
    Gurmukhi Han Hangul Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana Imperial_Aramaic
    Inherited Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada Katakana
    Kayah_Li Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Lao Latin Lepcha Limbu
    Linear_A Linear_B Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic Manichaean
    Marchen Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive
    Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar Nabataean Nandinagari
    New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Old_Hungarian
    Old_Italic Old_North_Arabian Old_Permic Old_Persian Old_Sogdian Old_South_Arabian
    Old_Turkic Oriya Osage Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician
    Psalter_Pahlavi Rejang Runic Samaritan Saurashtra Sharada Shavian Siddham SignWriting
    Sinhala Sogdian Sora_Sompeng Soyombo Sundanese Syloti_Nagri Syriac Tagalog Tagbanwa
    Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangut Telugu Thaana Thai Tibetan Tifinagh Tirhuta
    Ugaritic Vai Wancho Warang_Citi Yezidi Yi Zanabazar_Square
"""
_SCRIPT_NAMES = frozenset(_ALL_SCRIPTS.split())


@cache
def _script(name: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in _SCRIPT_RANGES[name].split():
        lo, _, hi = part.partition("-")
        out.append((int(lo, 16), int(hi or lo, 16)))
    return tuple(out)


# --- errors ------------------------------------------------------------------------------

class _ParseError(Exception):
    def __init__(self, code: str, expr: str) -> None:
        super().__init__(f"error parsing regexp: {code}: `{expr}`")
        self.text = str(self)


class _Unsupported(Exception):
    pass


def _quote(s: str) -> str:
    return f"`{s}`" if can_backquote(s) else go_quote(s)


# --- the parser --------------------------------------------------------------------------

_FOLD, _ONELINE, _DOTNL, _NONGREEDY = 1, 2, 4, 8


class _Item:
    """One element of a concatenation: Python pattern text and its counted repeats."""

    __slots__ = ("reps", "text")

    def __init__(self, text: str, reps: list[Any] | None = None) -> None:
        self.text = text
        self.reps: list[Any] = reps or []


class _Frame:
    """An open group (or the whole expression)."""

    def __init__(self, flags: int, cap: int | None) -> None:
        self.flags = flags  # the flags to restore at its ')'
        self.cap = cap  # None: non-capturing
        self.alternatives: list[list[_Item]] = []
        self.items: list[_Item] = []


def _reps_valid(reps: list[Any], n: int) -> bool:
    for m, sub in reps:
        if m == 0:
            continue
        if m > 0:
            if m > n:
                return False
            nn = n // m
        else:
            nn = n
        if not _reps_valid(sub, nn):
            return False
    return True


def _class_text(ranges: Ranges) -> str:
    """A Python class for Go's ranges: invalid bytes (held as surrogate escapes) match where
    U+FFFD does, as Go reads each invalid byte as U+FFFD."""
    ranges = _clean(ranges)
    has_fffd = any(lo <= 0xFFFD <= hi for lo, hi in ranges)
    cut: Ranges = []
    for lo, hi in ranges:
        if hi < 0xD800 or lo > 0xDFFF:
            cut.append((lo, hi))
            continue
        if lo < 0xD800:
            cut.append((lo, 0xD7FF))
        if hi > 0xDFFF:
            cut.append((0xE000, hi))
    if has_fffd:
        cut.append((0xDC80, 0xDCFF))
    cut = _clean(cut)
    if not cut:
        return "(?!)"
    parts = []
    for lo, hi in cut:
        parts.append(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}")
    return "[" + "".join(parts) + "]"


_WORD = "[0-9A-Za-z_]"
_WORD_BOUNDARY = f"(?:(?<={_WORD})(?!{_WORD})|(?<!{_WORD})(?={_WORD}))"
_NO_WORD_BOUNDARY = f"(?:(?<={_WORD})(?={_WORD})|(?<!{_WORD})(?!{_WORD}))"


class _Parser:
    def __init__(self, expr: str) -> None:
        self.whole = expr
        self.flags = _ONELINE
        self.ncap = 0
        self.names: list[str] = [""]
        self.stack = [_Frame(self.flags, None)]

    # -- helpers

    def next_rune(self, t: str) -> tuple[str, str]:
        if not t:
            return "", ""
        c = t[0]
        if 0xDC80 <= ord(c) <= 0xDCFF:
            raise _ParseError("invalid UTF-8", t)
        return c, t[1:]

    def check_utf8(self, s: str) -> None:
        for i, c in enumerate(s):
            if 0xDC80 <= ord(c) <= 0xDCFF:
                raise _ParseError("invalid UTF-8", s[i:])

    def push(self, text: str, reps: list[Any] | None = None) -> None:
        self.stack[-1].items.append(_Item(text, reps))

    def literal(self, c: str) -> None:
        self.push(self.char_text(c))

    def char_text(self, c: str) -> str:
        if self.flags & _FOLD:
            orbit = _orbits().get(ord(c))
            if orbit:
                return _class_text([(o, o) for o in orbit])
        if 0xDC80 <= ord(c) <= 0xDCFF:
            return _class_text([(ord(c), ord(c))])
        if c == "\ufffd":
            return _class_text([(0xFFFD, 0xFFFD)])
        return re.escape(c)

    def group(self, ranges: Ranges, negate: bool) -> Ranges:
        """Go's appendGroup: the group's ranges (folded when (?i)), negated if asked."""
        if self.flags & _FOLD:
            ranges = _fold_ranges(ranges)
        return _negate(ranges) if negate else list(ranges)

    # -- the main loop (Go's parse)

    def parse(self) -> str:
        t = self.whole
        last_repeat = ""
        while t:
            repeat = ""
            c = t[0]
            if c == "(":
                if len(t) >= 2 and t[1] == "?":
                    t = self.perl_flags(t)
                else:
                    self.ncap += 1
                    self.names.append("")
                    self.stack.append(_Frame(self.flags, self.ncap))
                    t = t[1:]
            elif c == "|":
                frame = self.stack[-1]
                frame.alternatives.append(frame.items)
                frame.items = []
                t = t[1:]
            elif c == ")":
                self.right_paren()
                t = t[1:]
            elif c == "^":
                self.push("\\A" if self.flags & _ONELINE else "(?m:^)")
                t = t[1:]
            elif c == "$":
                self.push("\\Z" if self.flags & _ONELINE else "(?m:$)")
                t = t[1:]
            elif c == ".":
                self.push("(?s:.)" if self.flags & _DOTNL else "[^\\n]")
                t = t[1:]
            elif c == "[":
                t = self.parse_class(t)
            elif c in "*+?":
                before = t
                t = self.repeat(c, 0, 0, before, t[1:], last_repeat)
                repeat = before
            elif c == "{":
                before = t
                parsed = self.parse_repeat(t)
                if parsed is None:
                    self.literal("{")
                    t = t[1:]
                else:
                    lo, hi, after = parsed
                    if lo < 0 or lo > 1000 or hi > 1000 or (hi >= 0 and lo > hi):
                        raise _ParseError("invalid repeat count", before[:len(before) - len(after)])
                    t = self.repeat("{", lo, hi, before, after, last_repeat)
                    repeat = before
            elif c == "\\":
                t = self.backslash(t)
            else:
                ch, t = self.next_rune(t)
                self.literal(ch)
            last_repeat = repeat
        if len(self.stack) != 1:
            raise _ParseError("missing closing )", self.whole)
        return self.alternation(self.stack[0])[0]

    def alternation(self, frame: _Frame) -> tuple[str, list[Any]]:
        alts = [*frame.alternatives, frame.items]
        reps: list[Any] = []
        for items in alts:
            for item in items:
                reps.extend(item.reps)
        return "|".join("".join(i.text for i in items) for items in alts), reps

    def right_paren(self) -> None:
        if len(self.stack) < 2:
            raise _ParseError("unexpected )", self.whole)
        frame = self.stack.pop()
        text, reps = self.alternation(frame)
        self.flags = frame.flags
        self.push(f"({text})" if frame.cap is not None else f"(?:{text})", reps)

    def perl_flags(self, s: str) -> str:
        t = s
        if len(t) > 4 and t[2] == "P" and t[3] == "<":
            end = t.find(">")
            if end < 0:
                self.check_utf8(t)
                raise _ParseError("invalid named capture", s)
            capture = t[:end + 1]
            name = t[4:end]
            self.check_utf8(name)
            if not name or not all(ch == "_" or (ch.isascii() and ch.isalnum()) for ch in name):
                raise _ParseError("invalid named capture", capture)
            self.ncap += 1
            self.names.append(name)
            self.stack.append(_Frame(self.flags, self.ncap))
            return t[end + 1:]
        t = t[2:]
        flags = self.flags
        sign = 1
        saw_flag = False
        while t:
            c, t = self.next_rune(t)
            if c == "i":
                flags = flags | _FOLD if sign > 0 else flags & ~_FOLD
                saw_flag = True
            elif c == "m":
                flags = flags & ~_ONELINE if sign > 0 else flags | _ONELINE
                saw_flag = True
            elif c == "s":
                flags = flags | _DOTNL if sign > 0 else flags & ~_DOTNL
                saw_flag = True
            elif c == "U":
                flags = flags | _NONGREEDY if sign > 0 else flags & ~_NONGREEDY
                saw_flag = True
            elif c == "-":
                if sign < 0:
                    break
                sign = -1
                saw_flag = False
            elif c in ":)":
                if sign < 0 and not saw_flag:
                    break
                if c == ":":
                    self.stack.append(_Frame(self.flags, None))
                self.flags = flags
                return t
            else:
                break
        raise _ParseError("invalid or unsupported Perl syntax", s[:len(s) - len(t)])

    def parse_repeat(self, s: str) -> tuple[int, int, str] | None:
        s = s[1:]
        parsed = self.parse_int(s)
        if parsed is None:
            return None
        lo, s = parsed
        if not s:
            return None
        if s[0] != ",":
            hi = lo
        else:
            s = s[1:]
            if not s:
                return None
            if s[0] == "}":
                hi = -1
            else:
                parsed = self.parse_int(s)
                if parsed is None:
                    return None
                hi, s = parsed
                if hi < 0:
                    lo = -1
        if not s or s[0] != "}":
            return None
        return lo, hi, s[1:]

    @staticmethod
    def parse_int(s: str) -> tuple[int, str] | None:
        if not s or not "0" <= s[0] <= "9":
            return None
        if len(s) >= 2 and s[0] == "0" and "0" <= s[1] <= "9":
            return None
        i = 0
        while i < len(s) and "0" <= s[i] <= "9":
            i += 1
        n = 0
        for ch in s[:i]:
            if n >= 100_000_000:
                n = -1
                break
            n = n * 10 + ord(ch) - 48
        return n, s[i:]

    def repeat(self, op: str, lo: int, hi: int, before: str, after: str, last: str) -> str:
        flags = self.flags
        if after and after[0] == "?":
            after = after[1:]
            flags ^= _NONGREEDY
        if last:
            raise _ParseError("invalid nested repetition operator", last[:len(last) - len(after)])
        items = self.stack[-1].items
        if not items:
            raise _ParseError("missing argument to repetition operator",
                              before[:len(before) - len(after)])
        sub = items[-1]
        if op == "{":
            quant = f"{{{lo}}}" if lo == hi else f"{{{lo},}}" if hi < 0 else f"{{{lo},{hi}}}"
            m = 0 if hi == 0 else (lo if hi < 0 else hi)
            reps: list[Any] = [(m, sub.reps)]
            if (lo >= 2 or hi >= 2) and not _reps_valid(reps, 1000):
                raise _ParseError("invalid repeat count", before[:len(before) - len(after)])
        else:
            quant = op
            reps = [(-1, sub.reps)] if sub.reps else []
        if flags & _NONGREEDY:
            quant += "?"
        items[-1] = _Item(f"(?:{sub.text}){quant}", reps)
        return after

    # -- escapes and classes

    def backslash(self, t: str) -> str:
        if len(t) >= 2:
            c = t[1]
            if c == "A":
                self.push("\\A")
                return t[2:]
            if c == "b":
                self.push(_WORD_BOUNDARY)
                return t[2:]
            if c == "B":
                self.push(_NO_WORD_BOUNDARY)
                return t[2:]
            if c == "C":
                raise _ParseError("invalid escape sequence", t[:2])
            if c == "Q":
                lit, sep, rest = t[2:].partition("\\E")
                t = rest if sep else ""
                while lit:
                    ch, lit = self.next_rune(lit)
                    self.literal(ch)
                return t
            if c == "z":
                self.push("\\Z")
                return t[2:]
        if len(t) >= 2 and t[1] in "pP":
            parsed = self.unicode_class(t)
            if parsed is not None:
                ranges, t = parsed
                self.push(_class_text(ranges))
                return t
        perl = self.perl_class(t)
        if perl is not None:
            ranges, t = perl
            self.push(_class_text(ranges))
            return t
        ch, t = self.escape(t)
        self.literal(ch)
        return t

    def perl_class(self, s: str) -> tuple[Ranges, str] | None:
        if len(s) < 2 or s[0] != "\\" or s[1].lower() not in _PERL:
            return None
        return self.group(_PERL[s[1].lower()], s[1].isupper()), s[2:]

    def escape(self, s: str) -> tuple[str, str]:
        t = s[1:]
        if not t:
            raise _ParseError("trailing backslash at end of expression", "")
        c, t = self.next_rune(t)
        if (c in "1234567" and t and "0" <= t[0] <= "7") or c == "0":
            r = ord(c) - 48
            for _ in range(2):
                if not t or not "0" <= t[0] <= "7":
                    break
                r = r * 8 + ord(t[0]) - 48
                t = t[1:]
            return chr(r), t
        if c == "x" and t:
            c, t = self.next_rune(t)
            if c == "{":
                nhex = 0
                r = 0
                while True:
                    if not t:
                        raise _ParseError("invalid escape sequence", s[:len(s) - len(t)])
                    c, t = self.next_rune(t)
                    if c == "}":
                        break
                    v = _unhex(c)
                    if v < 0:
                        raise _ParseError("invalid escape sequence", s[:len(s) - len(t)])
                    r = r * 16 + v
                    if r > _MAX_RUNE:
                        raise _ParseError("invalid escape sequence", s[:len(s) - len(t)])
                    nhex += 1
                if nhex == 0:
                    raise _ParseError("invalid escape sequence", s[:len(s) - len(t)])
                return chr(r), t
            x = _unhex(c)
            c, t = self.next_rune(t)
            y = _unhex(c) if c else -1
            if x < 0 or y < 0:
                raise _ParseError("invalid escape sequence", s[:len(s) - len(t)])
            return chr(x * 16 + y), t
        simple = {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
        if c in simple:
            return simple[c], t
        if c and ord(c) < 0x80 and not c.isalnum():
            return c, t
        raise _ParseError("invalid escape sequence", s[:len(s) - len(t)])

    def unicode_class(self, s: str) -> tuple[Ranges, str] | None:
        negate = s[1] == "P"
        t = s[2:]
        c, t = self.next_rune(t)
        if c != "{":
            seq = s[:len(s) - len(t)]
            name = seq[2:]
        else:
            end = s.find("}")
            if end < 0:
                self.check_utf8(s)
                raise _ParseError("invalid character class range", s)
            seq, t = s[:end + 1], s[end + 1:]
            name = s[3:end]
            self.check_utf8(name)
        if name.startswith("^"):
            negate = not negate
            name = name[1:]
        if name == "Any":
            table: Ranges = [(0, _MAX_RUNE)]
        elif name in _CATEGORIES:
            table = list(_category(name))
        elif name in _SCRIPT_RANGES:
            table = list(_script(name))
        elif name in _SCRIPT_NAMES:
            raise _Unsupported(f"the Unicode script class {seq} is not supported by dockwright")
        else:
            raise _ParseError("invalid character class range", seq)
        if self.flags & _FOLD and name != "Any":
            table = _fold_ranges(table)
        return (_negate(table) if negate else table), t

    def parse_class(self, s: str) -> str:
        t = s[1:]
        negate = False
        if t and t[0] == "^":
            negate = True
            t = t[1:]
        ranges: Ranges = []
        first = True
        while not t or t[0] != "]" or first:
            first = False
            if len(t) > 2 and t[0] == "[" and t[1] == ":":
                end = t.find(":]", 2)
                if end >= 0:
                    name = t[:end + 2]
                    key = name[2:-2]
                    neg = key.startswith("^")
                    if neg:
                        key = key[1:]
                    if key not in _POSIX:
                        raise _ParseError("invalid character class range", name)
                    ranges.extend(self.group(_POSIX[key], neg))
                    t = t[end + 2:]
                    continue
            if len(t) >= 2 and t[0] == "\\" and t[1] in "pP":
                parsed = self.unicode_class(t)
                if parsed is not None:
                    more, t = parsed
                    ranges.extend(more)
                    continue
            perl = self.perl_class(t)
            if perl is not None:
                more, t = perl
                ranges.extend(more)
                continue
            rng = t
            lo, t = self.class_char(t, s)
            hi = lo
            if len(t) >= 2 and t[0] == "-" and t[1] != "]":
                t = t[1:]
                hi, t = self.class_char(t, s)
                if ord(hi) < ord(lo):
                    raise _ParseError("invalid character class range", rng[:len(rng) - len(t)])
            span = [(ord(lo), ord(hi))]
            ranges.extend(_fold_ranges(span) if self.flags & _FOLD else span)
        t = t[1:]
        ranges = _clean(ranges)
        if negate:
            ranges = _negate(ranges)
        self.push(_class_text(ranges))
        return t

    def class_char(self, s: str, whole: str) -> tuple[str, str]:
        if not s:
            raise _ParseError("missing closing ]", whole)
        if s[0] == "\\":
            return self.escape(s)
        return self.next_rune(s)


def _unhex(c: str) -> int:
    if "0" <= c <= "9":
        return ord(c) - 48
    if "a" <= c <= "f":
        return ord(c) - 87
    if "A" <= c <= "F":
        return ord(c) - 55
    return -1


class GoRegexp:
    """A compiled Go regexp: the Python pattern and the group names."""

    def __init__(self, expr: str) -> None:
        parser = _Parser(expr)
        self.expr = expr
        self.pattern = re.compile(parser.parse())
        self.names = parser.names

    # Go's allMatches: the matches, an empty one right after a match left out.
    def matches(self, s: str, n: int) -> list[re.Match[str]]:
        if n < 0:
            n = len(s) + 1
        out: list[re.Match[str]] = []
        pos = 0
        prev_end = -1
        while len(out) < n and pos <= len(s):
            m = self.pattern.search(s, pos)
            if m is None:
                break
            accept = True
            if m.end() == pos:
                if m.start() == prev_end:
                    accept = False
                pos += 1
            else:
                pos = m.end()
            prev_end = m.end()
            if accept:
                out.append(m)
        return out

    def replace_all(self, s: str, repl: Callable[[re.Match[str]], str]) -> str:
        out = []
        last_end = 0
        pos = 0
        while pos <= len(s):
            m = self.pattern.search(s, pos)
            if m is None:
                break
            out.append(s[last_end:m.start()])
            if m.end() > last_end or m.start() == 0:
                out.append(repl(m))
            last_end = m.end()
            if pos + 1 > m.end():
                pos += 1
            else:
                pos = m.end()
        out.append(s[last_end:])
        return "".join(out)

    def expand(self, template: str, m: re.Match[str]) -> str:
        out = []
        while template:
            before, sep, after = template.partition("$")
            if not sep:
                break
            out.append(before)
            template = after
            if template.startswith("$"):
                out.append("$")
                template = template[1:]
                continue
            extracted = _extract(template)
            if extracted is None:
                out.append("$")
                continue
            name, num, template = extracted
            if num >= 0:
                if num <= len(self.names) - 1 and m.group(num) is not None:
                    out.append(m.group(num))
            else:
                for i, group_name in enumerate(self.names):
                    if group_name == name and m.group(i) is not None:
                        out.append(m.group(i))
                        break
        out.append(template)
        return "".join(out)

    def split(self, s: str, n: int) -> list[str]:
        if n == 0:
            return []
        if self.expr and not s:
            return [""]
        strings: list[str] = []
        beg = end = 0
        for m in self.matches(s, n):
            if n > 0 and len(strings) == n - 1:
                break
            end = m.start()
            if m.end() != 0:
                strings.append(s[beg:end])
            beg = m.end()
        if end != len(s):
            strings.append(s[beg:])
        return strings


def _extract(s: str) -> tuple[str, int, str] | None:
    """Go's extract: the name after a '$' (``name`` or ``{name}``), its number (-1 if not a
    number) and the rest of the template."""
    if not s:
        return None
    brace = s[0] == "{"
    if brace:
        s = s[1:]
    i = 0
    while i < len(s) and (s[i].isalpha() or s[i].isdecimal() or s[i] == "_"):
        i += 1
    if i == 0:
        return None
    name = s[:i]
    if brace:
        if i >= len(s) or s[i] != "}":
            return None
        i += 1
    num = 0
    for ch in name:
        if not "0" <= ch <= "9" or num >= 100_000_000:
            num = -1
            break
        num = num * 10 + ord(ch) - 48
    if name[0] == "0" and len(name) > 1:
        num = -1
    return name, num, s[i:]


@lru_cache(maxsize=256)
def _compile(expr: str) -> GoRegexp | str:
    """The compiled regexp, or the text of Go's compile error."""
    try:
        return GoRegexp(expr)
    except _ParseError as exc:
        return exc.text
    except _Unsupported as exc:
        return f"dockwright: {exc}"


def compile_go(expr: str) -> GoRegexp:
    """regexp.Compile: raises GoError with Go's error text."""
    result = _compile(expr)
    if isinstance(result, str):
        raise GoError(result)
    return result


def must_compile(expr: str) -> GoRegexp:
    """regexp.MustCompile: its panic is a GoError with Go's panic text."""
    result = _compile(expr)
    if isinstance(result, str):
        if result.startswith("dockwright: "):
            raise GoError(result)
        raise GoError(f"regexp: Compile({_quote(expr)}): {result}")
    return result


_SPECIAL = frozenset("\\.+*?()|[]{}^$")


def quote_meta(s: str) -> str:
    """regexp.QuoteMeta."""
    return "".join("\\" + c if c in _SPECIAL else c for c in s)


# --- sprig's functions -------------------------------------------------------------------

def _match(regex: str, s: str) -> bool:
    result = _compile(regex)
    if isinstance(result, str):
        if result.startswith("dockwright: "):
            raise GoError(result)
        return False
    return result.pattern.search(s) is not None


def _must_match(regex: str, s: str) -> bool:
    return compile_go(regex).pattern.search(s) is not None


def _find_all(r: GoRegexp, s: str, n: int) -> list[str]:
    return [m.group(0) for m in r.matches(s, n)] if n != 0 else []


def _find(r: GoRegexp, s: str) -> str:
    m = r.pattern.search(s)
    return m.group(0) if m else ""


def _replace(r: GoRegexp, s: str, repl: str) -> str:
    return r.replace_all(s, lambda m: r.expand(repl, m))


def _replace_literal(r: GoRegexp, s: str, repl: str) -> str:
    return r.replace_all(s, lambda m: repl)


FUNCS: dict[str, Func] = {
    "regexMatch": Func(_match, (STRING, STRING), result=BOOL),
    "mustRegexMatch": Func(_must_match, (STRING, STRING), result=BOOL, errors=True),
    "regexFindAll": Func(lambda e, s, n: _find_all(must_compile(e), s, n), (STRING, STRING, INT),
                         result=SLICE_STRING),
    "mustRegexFindAll": Func(lambda e, s, n: _find_all(compile_go(e), s, n),
                             (STRING, STRING, INT), result=SLICE_STRING, errors=True),
    "regexFind": Func(lambda e, s: _find(must_compile(e), s), (STRING, STRING), result=STRING),
    "mustRegexFind": Func(lambda e, s: _find(compile_go(e), s), (STRING, STRING), result=STRING,
                          errors=True),
    "regexReplaceAll": Func(lambda e, s, r: _replace(must_compile(e), s, r),
                            (STRING, STRING, STRING), result=STRING),
    "mustRegexReplaceAll": Func(lambda e, s, r: _replace(compile_go(e), s, r),
                                (STRING, STRING, STRING), result=STRING, errors=True),
    "regexReplaceAllLiteral": Func(lambda e, s, r: _replace_literal(must_compile(e), s, r),
                                   (STRING, STRING, STRING), result=STRING),
    "mustRegexReplaceAllLiteral": Func(lambda e, s, r: _replace_literal(compile_go(e), s, r),
                                       (STRING, STRING, STRING), result=STRING, errors=True),
    "regexSplit": Func(lambda e, s, n: must_compile(e).split(s, n), (STRING, STRING, INT),
                       result=SLICE_STRING),
    "mustRegexSplit": Func(lambda e, s, n: compile_go(e).split(s, n), (STRING, STRING, INT),
                           result=SLICE_STRING, errors=True),
    "regexQuoteMeta": Func(quote_meta, (STRING,), result=STRING),
}
