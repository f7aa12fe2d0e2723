"""What a render of werf.yaml read, and whether all of it is still the same.

A render is cached with this record: the content of every file it read (a digest), the kind
of every path it tested, the matches of every glob, every environment variable it looked
up and HEAD when it used ``.Commit``. ``still_holds`` re-reads exactly those and nothing
else, which is all an unchanged project costs.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockwright import cachefile
from dockwright.config import globs

Span = tuple[int, str, int, bool]


def digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.blake2b(data, digest_size=16).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


class Reads:
    """Everything a render looked at, and what it found."""

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir
        self.files: dict[str, str | None] = {}  # path -> digest of the content (None: absent)
        self.kinds: dict[str, str] = {}  # path -> "file", "dir", "other" or "none"
        self.globs: dict[str, str] = {}  # (dir, pattern) -> digest of the matches
        self.env: dict[str, str | None] = {}
        self.head: str | None = None  # the HEAD commit, when the template used it

    def file(self, path: Path) -> bytes | None:
        data = _read(path)
        self.files[str(path)] = digest(data)
        return data

    def kind(self, path: Path) -> str:
        kind = path_kind(path)
        self.kinds[str(path)] = kind
        return kind

    def glob(self, rel_dir: str, pattern: str) -> list[str]:
        """werf's glob of ``pattern`` in ``rel_dir`` of the project (see ``globs``)."""
        matches = globs.list_files(self.project_dir, rel_dir, pattern)
        self.globs[f"{rel_dir}\0{pattern}"] = digest("\0".join(matches).encode()) or ""
        return matches

    def getenv(self, environ: Mapping[str, str], name: str) -> str | None:
        value = environ.get(name)
        self.env[name] = value
        return value

    def frozen(self) -> tuple[Any, ...]:
        return (sorted(self.files.items(), key=lambda i: i[0]), sorted(self.kinds.items()),
                sorted(self.globs.items()), sorted(self.env.items(), key=lambda i: i[0]),
                self.head)


# the rendered text, its spans, what include returned, and the files the render read
Cached = tuple[str, tuple[Span, ...], tuple[tuple[str, tuple[Span, ...]], ...],
               tuple[str, ...]]


def still_holds(entry: Path, project_dir: Path, environ: Mapping[str, str]) -> Cached | None:
    """The cached render in ``entry`` (text, spans, includes, files read) if everything it
    read is unchanged."""
    data: Any = cachefile.read_marshal(entry)
    try:
        (files, kinds, seen_globs, env, seen_head), out, spans, included = data
        for path, seen in files:
            if digest(_read(Path(path))) != seen:
                return None
        for path, kind in kinds:
            if path_kind(Path(path)) != kind:
                return None
        for key, seen in seen_globs:
            rel_dir, pattern = key.split("\0")
            found = globs.list_files(project_dir, rel_dir, pattern)
            if (digest("\0".join(found).encode()) or "") != seen:
                return None
        for name, value in env:
            if environ.get(name) != value:
                return None
        if seen_head is not None and head(project_dir) != seen_head:
            return None
        return (out, tuple(tuple(s) for s in spans),
                tuple((t, tuple(tuple(s) for s in ss)) for t, ss in included),
                tuple(path for path, seen in files if seen is not None))
    except (TypeError, ValueError):  # damaged, or a glob that no longer parses
        return None


def path_kind(path: Path) -> str:
    try:
        if path.is_dir():
            return "dir"
        if path.is_file():
            return "file"
        return "other" if path.exists() or path.is_symlink() else "none"
    except OSError:
        return "none"


def head(project_dir: Path) -> str | None:
    info = commit(project_dir)
    return info[0] if info else None


def commit(project_dir: Path) -> tuple[str, str, str] | None:
    """(hash, unix seconds, author date as Go's time.String prints it) of HEAD, or None
    outside a git repository."""
    from dockwright import run

    result = run.run(["git", "-C", str(project_dir), "log", "-1", "--format=%H%x00%at%x00%ai"],
                     check=False)
    if not result.ok or result.stdout.count("\0") != 2:
        return None
    commit, unix, iso = result.stdout.strip().split("\0")
    return commit, unix, go_time_string(int(unix), iso.rsplit(" ", 1)[-1])


def go_time_string(unix: int, offset: str) -> str:
    """Go's Time.String of a commit's author time as go-git gives it to werf: git's offset
    ("+0300") read with Go's time.Parse, which takes the local zone when that zone had this
    offset at the start of 1970 (the time then prints in the local zone, with its name:
    "+0000 UTC", or "+0200 CEST" in summer for "+0100" in Berlin), and a fixed zone without a
    name otherwise (the offset printed twice)."""
    sign = -1 if offset.startswith("-") else 1
    seconds = sign * (int(offset[1:3]) * 3600 + int(offset[3:5]) * 60)
    if time.localtime(0).tm_gmtoff == seconds:
        local = time.localtime(unix)
        stamp, zone_offset, name = local, local.tm_gmtoff, local.tm_zone
    else:
        stamp, zone_offset, name = time.gmtime(unix + seconds), seconds, ""
    numeric = f"{'-' if zone_offset < 0 else '+'}{abs(zone_offset) // 3600:02d}" \
        f"{abs(zone_offset) % 3600 // 60:02d}"
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', stamp)} {numeric} {name or numeric}"
