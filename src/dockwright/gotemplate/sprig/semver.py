"""sprig's semver and semverCompare, behaving as Masterminds/semver v3.2.0 does (NewVersion,
NewConstraint, Constraints.Check): the syntax it accepts, written as the regular expressions
below and run through ``regex``'s Go regexp semantics, and its comparison rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from dockwright.gotemplate import gojson
from dockwright.gotemplate.sprig.regex import compile_go
from dockwright.gotemplate.strconv import NumError, parse_uint
from dockwright.gotemplate.values import BOOL, INT, STRING, Func, GoError, GoObject

_SEMVER = (r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?"
           r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
           r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?")
_CV = (r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?"
       r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
       r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?")
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"

_VERSION_RE = compile_go("^" + _SEMVER + "$")
_CONSTRAINT_RE = compile_go(rf"^\s*({_OPS})\s*({_CV})\s*$")
_RANGE_RE = compile_go(rf"\s*({_CV})\s+-\s+({_CV})\s*")
_FIND_RE = compile_go(rf"({_OPS})\s*({_CV})")
_VALID_RE = compile_go(rf"^(\s*({_OPS})\s*({_CV})\s*)((?:\s+|,\s*)({_OPS})\s*({_CV})\s*)*$")

_NUM = frozenset("0123456789")
_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789")


def _groups(m: re.Match[str]) -> list[str]:
    """FindStringSubmatch: the match and its groups, "" for a group that did not match."""
    return [g or "" for g in (m.group(0), *m.groups())]


class Version(GoObject):
    """A semver.Version (``pointer``: a *semver.Version, as semver returns)."""

    def __init__(self, major: int, minor: int, patch: int, pre: str, metadata: str,
                 original: str, pointer: bool = True) -> None:
        self.major, self.minor, self.patch = major, minor, patch
        self.pre, self.metadata, self.original = pre, metadata, original
        self.pointer = pointer
        self.gotype = "*semver.Version" if pointer else "semver.Version"

    def __repr__(self) -> str:
        return f"Version({self.string()!r})"

    def string(self) -> str:
        s = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            s += "-" + self.pre
        if self.metadata:
            s += "+" + self.metadata
        return s

    def go_string(self) -> str:
        return self.string()

    def go_json(self) -> str:
        return gojson.quote(self.string())

    def compare(self, o: Version) -> int:
        for a, b in ((self.major, o.major), (self.minor, o.minor), (self.patch, o.patch)):
            if a != b:
                return -1 if a < b else 1
        if not self.pre and not o.pre:
            return 0
        if not self.pre:
            return 1
        if not o.pre:
            return -1
        return _compare_prerelease(self.pre, o.pre)

    def _v_prefix(self) -> str:
        return "v" if self.original[:1] == "v" else ""

    def _derived(self, major: int, minor: int, patch: int, pre: str, metadata: str) -> Version:
        v = Version(major, minor, patch, pre, metadata, "", pointer=False)
        v.original = self._v_prefix() + v.string()
        return v

    def inc_patch(self) -> Version:
        if self.pre:
            return self._derived(self.major, self.minor, self.patch, "", "")
        return self._derived(self.major, self.minor, self.patch + 1, "", "")

    def go_methods(self) -> dict[str, Func]:
        def with_pre(pre: str) -> Version:
            if pre:
                _validate_prerelease(pre)
            return self._derived(self.major, self.minor, self.patch, pre, self.metadata)

        def with_meta(meta: str) -> Version:
            if meta:
                _validate_metadata(meta)
            return self._derived(self.major, self.minor, self.patch, self.pre, meta)

        def cmp(test: Callable[[int], bool]) -> Callable[[Version], bool]:
            return lambda o: test(self.compare(o))

        methods = {
            "Major": Func(lambda: self.major, result="uint64"),
            "Minor": Func(lambda: self.minor, result="uint64"),
            "Patch": Func(lambda: self.patch, result="uint64"),
            "Prerelease": Func(lambda: self.pre, result=STRING),
            "Metadata": Func(lambda: self.metadata, result=STRING),
            "String": Func(self.string, result=STRING),
            "IncPatch": Func(self.inc_patch, result="semver.Version"),
            "IncMinor": Func(lambda: self._derived(self.major, self.minor + 1, 0, "", ""),
                             result="semver.Version"),
            "IncMajor": Func(lambda: self._derived(self.major + 1, 0, 0, "", ""),
                             result="semver.Version"),
            "SetPrerelease": Func(with_pre, (STRING,), result="semver.Version", errors=True),
            "SetMetadata": Func(with_meta, (STRING,), result="semver.Version", errors=True),
        }
        if self.pointer:
            methods.update({
                "Original": Func(lambda: self.original, result=STRING),
                "Compare": Func(self.compare, ("*semver.Version",), result=INT),
                "LessThan": Func(cmp(lambda c: c < 0), ("*semver.Version",), result=BOOL),
                "GreaterThan": Func(cmp(lambda c: c > 0), ("*semver.Version",), result=BOOL),
                "Equal": Func(cmp(lambda c: c == 0), ("*semver.Version",), result=BOOL),
            })
        return methods


def _compare_prerelease(v: str, o: str) -> int:
    sparts, oparts = v.split("."), o.split(".")
    for i in range(max(len(sparts), len(oparts))):
        s = sparts[i] if i < len(sparts) else ""
        t = oparts[i] if i < len(oparts) else ""
        d = _compare_pre_part(s, t)
        if d:
            return d
    return 0


def _uint(s: str) -> int | None:
    try:
        return parse_uint(s, 10, 64)
    except NumError:
        return None


def _compare_pre_part(s: str, o: str) -> int:
    if s == o:
        return 0
    if s == "":
        return -1
    if o == "":
        return 1
    oi, si = _uint(o), _uint(s)
    if oi is None and si is None:
        return 1 if s.encode("utf-8", "surrogateescape") > o.encode("utf-8", "surrogateescape") \
            else -1
    if oi is None:
        return -1
    if si is None:
        return 1
    return 1 if si > oi else -1


def _validate_prerelease(p: str) -> None:
    for part in p.split("."):
        if all(c in _NUM for c in part):
            if len(part) > 1 and part[0] == "0":
                raise GoError("Version segment starts with 0")
        elif not all(c in _ALLOWED for c in part):
            raise GoError("Invalid Prerelease string")


def _validate_metadata(m: str) -> None:
    for part in m.split("."):
        if not all(c in _ALLOWED for c in part):
            raise GoError("Invalid Metadata string")


def _segment(s: str) -> int:
    try:
        return parse_uint(s, 10, 64)
    except NumError as exc:
        raise GoError(f"Error parsing version segment: {exc}") from None


def new_version(v: str) -> Version:
    """semver.NewVersion."""
    m = _VERSION_RE.pattern.search(v)
    if m is None:
        raise GoError("Invalid Semantic Version")
    g = _groups(m)
    version = Version(_segment(g[1]), _segment(g[2][1:]) if g[2] else 0,
                      _segment(g[3][1:]) if g[3] else 0, g[5], g[8], v)
    if version.pre:
        _validate_prerelease(version.pre)
    if version.metadata:
        _validate_metadata(version.metadata)
    return version


class _Constraint:
    def __init__(self, con: Version, orig: str, op: str, minor_dirty: bool, patch_dirty: bool,
                 dirty: bool) -> None:
        self.con, self.orig, self.op = con, orig, op
        self.minor_dirty, self.patch_dirty, self.dirty = minor_dirty, patch_dirty, dirty

    def check(self, v: Version) -> bool:
        return _OPERATORS[self.op](v, self)


def _is_x(s: str) -> bool:
    return s in ("x", "*", "X")


def _parse_constraint(c: str) -> _Constraint:
    if not c:
        return _Constraint(Version(0, 0, 0, "", "", "0.0.0"), c, "", False, False, True)
    m = _CONSTRAINT_RE.pattern.search(c)
    if m is None:
        raise GoError(f"improper constraint: {c}")
    g = _groups(m)
    ver = g[2]
    minor_dirty = patch_dirty = dirty = False
    if _is_x(g[3]) or g[3] == "":
        ver = f"0.0.0{g[6]}"
        dirty = True
    elif _is_x(g[4][1:] if g[4].startswith(".") else g[4]) or g[4] == "":
        minor_dirty = dirty = True
        ver = f"{g[3]}.0.0{g[6]}"
    elif _is_x(g[5][1:] if g[5].startswith(".") else g[5]) or g[5] == "":
        dirty = patch_dirty = True
        ver = f"{g[3]}{g[4]}.0{g[6]}"
    try:
        con = new_version(ver)
    except GoError:
        raise GoError("constraint Parser Error") from None
    return _Constraint(con, g[2], g[1], minor_dirty, patch_dirty, dirty)


def _rewrite_range(s: str) -> str:
    matches = _RANGE_RE.matches(s, -1)
    out = s
    for m in matches:
        g = _groups(m)
        out = out.replace(g[0], f">= {g[1]}, <= {g[11]}", 1)
    return out


def new_constraint(c: str) -> list[list[_Constraint]]:
    """semver.NewConstraint: the alternatives (||) of constraint lists (all must hold)."""
    c = _rewrite_range(c)
    result = []
    for v in c.split("||"):
        if _VALID_RE.pattern.search(v) is None:
            raise GoError(f"improper constraint: {v}")
        found = [m.group(0) for m in _FIND_RE.matches(v, -1)] or [v]
        result.append([_parse_constraint(s) for s in found])
    return result


def _pre_guard(v: Version, c: _Constraint) -> bool:
    """True when a prerelease version meets a constraint without a prerelease (never holds)."""
    return bool(v.pre) and not c.con.pre


def _not_equal(v: Version, c: _Constraint) -> bool:
    if c.dirty:
        if _pre_guard(v, c):
            return False
        if c.con.major != v.major:
            return True
        if c.con.minor != v.minor and not c.minor_dirty:
            return True
        if c.minor_dirty:
            return False
        if c.con.patch != v.patch and not c.patch_dirty:
            return True
        if c.patch_dirty:
            if v.pre or c.con.pre:
                return _compare_prerelease(v.pre, c.con.pre) != 0
            return False
    return v.compare(c.con) != 0


def _greater_than(v: Version, c: _Constraint) -> bool:
    if _pre_guard(v, c):
        return False
    if not c.dirty:
        return v.compare(c.con) == 1
    if v.major > c.con.major:
        return True
    if v.major < c.con.major or c.minor_dirty:
        return False
    if c.patch_dirty:
        return v.minor > c.con.minor
    return v.compare(c.con) == 1


def _less_than(v: Version, c: _Constraint) -> bool:
    return not _pre_guard(v, c) and v.compare(c.con) < 0


def _greater_equal(v: Version, c: _Constraint) -> bool:
    return not _pre_guard(v, c) and v.compare(c.con) >= 0


def _less_equal(v: Version, c: _Constraint) -> bool:
    if _pre_guard(v, c):
        return False
    if not c.dirty:
        return v.compare(c.con) <= 0
    if v.major > c.con.major:
        return False
    return not (v.major == c.con.major and v.minor > c.con.minor and not c.minor_dirty)


def _tilde(v: Version, c: _Constraint) -> bool:
    if _pre_guard(v, c) or v.compare(c.con) < 0:
        return False
    if c.con.major == 0 and c.con.minor == 0 and c.con.patch == 0 \
            and not c.minor_dirty and not c.patch_dirty:
        return True
    if v.major != c.con.major:
        return False
    return not (v.minor != c.con.minor and not c.minor_dirty)


def _tilde_or_equal(v: Version, c: _Constraint) -> bool:
    if _pre_guard(v, c):
        return False
    if c.dirty:
        return _tilde(v, c)
    return v.compare(c.con) == 0


def _caret(v: Version, c: _Constraint) -> bool:
    if _pre_guard(v, c) or v.compare(c.con) < 0:
        return False
    if c.con.major > 0 or c.minor_dirty:
        return v.major == c.con.major
    if c.con.major == 0 and v.major > 0:
        return False
    if c.con.minor > 0 or c.patch_dirty:
        return v.minor == c.con.minor
    if c.con.minor == 0 and v.minor > 0:
        return False
    return c.con.patch == v.patch


_OPERATORS: dict[str, Callable[[Version, _Constraint], bool]] = {
    "": _tilde_or_equal, "=": _tilde_or_equal, "!=": _not_equal, ">": _greater_than,
    "<": _less_than, ">=": _greater_equal, "=>": _greater_equal, "<=": _less_equal,
    "=<": _less_equal, "~": _tilde, "~>": _tilde, "^": _caret,
}


def semver_compare(constraint: str, version: str) -> bool:
    """sprig's semverCompare: whether ``version`` meets ``constraint``."""
    alternatives = new_constraint(constraint)
    v = new_version(version)
    return any(all(c.check(v) for c in alt) for alt in alternatives)


def _semver(version: str) -> Any:
    return new_version(version)


FUNCS: dict[str, Func] = {
    "semver": Func(_semver, (STRING,), result="*semver.Version", errors=True),
    "semverCompare": Func(semver_compare, (STRING, STRING), result=BOOL, errors=True),
}
