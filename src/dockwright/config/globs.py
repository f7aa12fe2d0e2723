"""werf's file globs (``.Files.Glob``, the config templates ``**/*.tmpl``), on a directory.

The rules werf applies, in its order:
- the leading components without ``* ? [ { \\`` are a base directory, the rest the glob; a
  base that is a regular file is the whole result;
- the base is walked as Go's filepath.Walk walks (names sorted in each directory, depth
  first), skipping ``.git``, into directories the glob can still match;
- a file matches the glob itself, the glob without its trailing ``*``-only components, or
  that followed by ``/**/*``: a matching directory brings every file below it;
- the pattern dialect is doublestar's: ``*`` and ``?`` within a component, ``[...]`` with
  ``!``/``^``, ``{a,b}`` (nested), ``\\`` escapes, ``**`` as a whole component for zero or
  more components. A malformed pattern raises ``BadPattern``.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
from collections.abc import Callable
from pathlib import Path

_MAGIC = "*?[{\\"


class BadPattern(ValueError):
    def __init__(self) -> None:
        super().__init__("syntax error in pattern")


def _parts(path: str) -> list[str]:
    path = posixpath.normpath(path).lstrip("/") if path else ""
    return [] if path in ("", ".") else path.split("/")


def _clean(path: str) -> str:
    return "" if path in ("", ".", "/") else posixpath.normpath(path)


def _trim_stars(glob: str) -> str:
    parts = _parts(glob)
    while parts and parts[-1].strip("*") == "":
        parts.pop()
    return "/".join(parts)


@functools.lru_cache(maxsize=256)
def _component(pattern: str) -> re.Pattern[str]:
    """Go's path.Match of one component as a regular expression."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            i += 1
            if i >= n:
                raise BadPattern
            out.append(re.escape(pattern[i]))
        elif c == "[":
            i += 1
            negate = i < n and pattern[i] in "^!"
            if negate:
                i += 1
            items = []
            first = True
            while True:
                if i >= n:
                    raise BadPattern
                if pattern[i] == "]" and not first:
                    break
                first = False
                lo, i = _class_char(pattern, i)
                if i < n and pattern[i] == "-":
                    hi, i = _class_char(pattern, i + 1)
                    if hi < lo:
                        raise BadPattern
                    items.append(f"{re.escape(lo)}-{re.escape(hi)}")
                else:
                    items.append(re.escape(lo))
            out.append(f"[{'^' if negate else ''}{''.join(items)}]")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.S)


def _class_char(pattern: str, i: int) -> tuple[str, int]:
    if i >= len(pattern) or pattern[i] in "-]":
        raise BadPattern
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            raise BadPattern
    return pattern[i], i + 1


def _braces(pattern: str) -> list[str]:
    """a{b,c}d -> [abd, acd], nesting allowed."""
    start = pattern.find("{")
    if start < 0:
        return [pattern]
    depth, alternatives, begin, i = 0, [], start + 1, start
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 1
        elif c == "{":
            depth += 1
        elif c == "," and depth == 1:
            alternatives.append(pattern[begin:i])
            begin = i + 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                alternatives.append(pattern[begin:i])
                return [e for alt in alternatives
                        for e in _braces(pattern[:start] + alt + pattern[i + 1:])]
        i += 1
    raise BadPattern


def _match_parts(pattern: list[str], name: list[str]) -> bool:
    if not pattern:
        return not name
    if pattern[0] == "**":
        return any(_match_parts(pattern[1:], name[i:]) for i in range(len(name) + 1))
    if not name or not _component(pattern[0]).fullmatch(name[0]):
        return False
    return _match_parts(pattern[1:], name[1:])


def match(pattern: str, name: str) -> bool:
    """doublestar's Match of a slash path."""
    return any(_match_parts(alt.split("/"), name.split("/")) for alt in _braces(pattern))


def _glob_matches(glob: str, path: str) -> bool:
    trimmed = _trim_stars(glob)
    return any(match(g, path) for g in (glob, trimmed, posixpath.join(trimmed, "**", "*")))


class _Matcher:
    def __init__(self, base: str, glob: str) -> None:
        self.base = base
        self.glob = glob

    def under_base(self, path: str) -> str | None:
        path = _clean(path)
        if not self.base:
            return path
        if path == self.base:
            return ""
        if path.startswith(self.base + "/"):
            return path[len(self.base) + 1:]
        return None

    def matches(self, path: str) -> bool:
        rel = self.under_base(path)
        return rel is not None and _glob_matches(self.glob, rel)

    def walk_into(self, path: str) -> bool:
        """Matched, or a directory on the way to matches."""
        if self.matches(path):
            return True
        path = _clean(path)
        if self.base and (path == "" or self.base.startswith(path + "/")):
            return True
        rel = self.under_base(path)
        return rel is not None and self._partial(rel)

    def _partial(self, rel: str) -> bool:
        if self.glob == "." or _trim_stars(self.glob) == "":
            return False
        if rel == "":
            return True
        rest = self.glob
        for part in _parts(rel):
            glob_parts = _parts(rest)
            if not match(glob_parts[0], part):
                return False
            if "**" not in glob_parts[0]:
                if len(glob_parts) == 1:
                    return False
                rest = "/".join(glob_parts[1:])
        return _trim_stars(rest) != ""


def list_files(root: Path, rel_dir: str, pattern: str,
               on_dir: Callable[[str], None] | None = None) -> list[str]:
    """The files under ``root/rel_dir`` that ``pattern`` matches, relative to that
    directory, in werf's order. ``on_dir`` hears of every directory read."""
    parts = _parts(pattern)
    literal = 0
    while literal < len(parts) and not any(c in parts[literal] for c in _MAGIC):
        literal += 1
    prefix, rest = "/".join(parts[:literal]), "/".join(parts[literal:])
    if literal == 0:
        rest = pattern
    start = _clean(posixpath.join(rel_dir, prefix))
    matcher = _Matcher(start, _clean(rest))
    found: list[str] = []
    top = os.path.join(root, rel_dir)

    def add(rel: str) -> None:
        if matcher.matches(rel):
            found.append(os.path.relpath(os.path.join(root, rel), top))

    if os.path.isfile(os.path.join(root, start)):
        add(start)
        return found
    _walk(root, start, matcher, add, on_dir)
    return found


def _walk(root: Path, start: str, matcher: _Matcher, add: Callable[[str], None],
          on_dir: Callable[[str], None] | None) -> None:
    if not matcher.walk_into(start) or posixpath.basename(start) == ".git":
        return
    resolved = os.path.realpath(os.path.join(root, start))
    if not os.path.isdir(resolved):
        return

    def visit(directory: str, rel: str) -> None:
        if on_dir is not None:
            on_dir(directory)
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return
        for name in names:
            child_rel = posixpath.join(rel, name) if rel else name
            path = os.path.join(directory, name)
            if not matcher.walk_into(child_rel) or name == ".git":
                continue
            if os.path.islink(path):
                if os.path.isdir(path):
                    _walk(root, child_rel, matcher, add, on_dir)
                else:
                    add(child_rel)
            elif os.path.isdir(path):
                visit(path, child_rel)
            else:
                add(child_rel)

    visit(resolved, start)
