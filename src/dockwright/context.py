"""Which build-context files an image reads, and their checksums.

A file counts when a COPY/ADD source of a used stage matches it (or a directory above it)
and the ignore file (``.dockerignore`` and friends, see ``ignore_files``) does not exclude
it. Patterns follow Docker: ``*`` and ``?`` stay within one path element, ``**`` spans
directories, ``!`` re-includes, the last matching line wins.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import operator
import os
import re
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from dockwright.errors import DockerfileError

_CHUNK = 1 << 20


@lru_cache(maxsize=4096)
def _pattern_regex(pattern: str, double_star: bool) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if double_star and pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                out.append("(?:.*/)?")
                i += 1
            else:
                out.append(".*")
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end]
                if body.startswith("^"):
                    body = "!" + body[1:]
                body = body.replace("\\", "\\\\")
                out.append("[^/" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z")


def clean(path: str) -> str:
    """Like Go's filepath.Clean, relative to the context root ('' for the root)."""
    parts: list[str] = []
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def _parents(rel: str) -> list[str]:
    """``a/b/c`` -> ``[a/b/c, a/b, a]``."""
    parts = rel.split("/")
    return ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]


@dataclass(frozen=True)
class Ignore:
    source: str  # the file the patterns came from, "" when none
    patterns: tuple[tuple[bool, str], ...]  # (exclusion, cleaned pattern)

    def excluded(self, rel: str) -> bool:
        if not self.patterns:
            return False
        result = False
        candidates = _parents(rel)
        for negate, pattern in self.patterns:
            regex = _pattern_regex(pattern, True)
            if any(regex.match(c) for c in candidates):
                result = not negate
        return result


def ignore_files(context_dir: Path, dockerfile: Path) -> list[Path]:
    """Where Buildah looks for ignore patterns, first found wins (checked on Buildah 1.28:
    the Dockerfile's own files, then the context's, ``.containerignore`` before
    ``.dockerignore`` in the context). The digest must see the files Buildah sends."""
    return [dockerfile.parent / f"{dockerfile.name}.dockerignore",
            dockerfile.parent / f"{dockerfile.name}.containerignore",
            context_dir / ".containerignore",
            context_dir / ".dockerignore"]


def load_ignore(context_dir: Path, dockerfile: Path) -> Ignore:
    for candidate in ignore_files(context_dir, dockerfile):
        if candidate.is_file():
            patterns: list[tuple[bool, str]] = []
            for line in candidate.read_text(encoding="utf-8", errors="replace").splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                negate = line.startswith("!")
                pattern = clean(line[1:].strip() if negate else line)
                if pattern:
                    patterns.append((negate, pattern))
            return Ignore(str(candidate), tuple(patterns))
    return Ignore("", ())


class Entry(NamedTuple):
    """One path of the context (a tuple: a large context has many)."""

    rel: str
    kind: str  # "file", "dir", "link"
    mode: int
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int = 0


def walk(context_dir: Path, ignore: Ignore) -> list[Entry]:
    """Every path in the context that ``.dockerignore`` lets through, sorted."""
    entries: list[Entry] = []

    filtering = bool(ignore.patterns)
    rescue = any(negate for negate, _ in ignore.patterns)  # '!' may re-include below
    append = entries.append
    by_name = operator.attrgetter("name")
    make = Entry._make
    is_lnk, is_dir, is_reg, imode = stat.S_ISLNK, stat.S_ISDIR, stat.S_ISREG, stat.S_IMODE

    def scan(directory: str, prefix: str) -> None:
        with os.scandir(directory) as it:
            items = sorted(it, key=by_name)
        for item in items:
            rel = prefix + item.name
            st = item.stat(follow_symlinks=False)
            mode = st.st_mode
            if is_reg(mode):
                kind = "file"
            elif is_dir(mode):
                kind = "dir"
            elif is_lnk(mode):
                kind = "link"
            else:
                continue
            excluded = filtering and ignore.excluded(rel)
            if not excluded:
                append(make((rel, kind, imode(mode), st.st_size, st.st_mtime_ns, st.st_ino,
                             st.st_ctime_ns)))
            if kind == "dir" and (not excluded or rescue):
                scan(item.path, rel + "/")

    scan(str(context_dir), "")
    return entries


def select(entries: list[Entry], pattern: str) -> list[Entry]:
    """The entries that a COPY/ADD source matches (itself or anything below it)."""
    cleaned = clean(pattern)
    if cleaned == "":
        return list(entries)
    if not any(c in cleaned for c in "*?[\\"):  # a plain path: a prefix test is enough
        below = cleaned + "/"
        return [e for e in entries if e.rel == cleaned or e.rel.startswith(below)]
    regex = _pattern_regex(cleaned, False)
    depth = cleaned.count("/") + 1
    out = []
    for entry in entries:
        parts = entry.rel.split("/")
        if len(parts) >= depth and regex.match("/".join(parts[:depth])):
            out.append(entry)
    return out


def checksum(context_dir: Path, entry: Entry) -> str:
    path = context_dir / entry.rel
    if entry.kind == "dir":
        return "dir"
    if entry.kind == "link":
        return "link:" + os.readlink(path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class ContextFile(NamedTuple):
    rel: str
    mode: int
    checksum: str


class HashCache:
    """Checksums of one context's files, kept between builds.

    A checksum is reused while the file's size, mtime, ctime and inode are unchanged (ctime
    cannot be set back by hand, so a rewrite always shows). Files changed in the last two
    seconds are not cached: another write in the same clock tick would go unseen.
    """

    RACY_NS = 2_000_000_000

    def __init__(self, path: Path | None) -> None:
        self.path = path
        # rel -> "size:mtime:ctime:inode:sha256": one string per file keeps a large
        # context's cache small in memory
        self.data: dict[str, str] = {}
        self.dirty = False
        self._lock = threading.Lock()
        if path is not None:
            try:
                loaded = marshal.loads(path.read_bytes())
                if isinstance(loaded, dict) and all(
                        isinstance(v, str) for v in list(loaded.values())[:1]):
                    self.data = loaded
            except (OSError, ValueError, EOFError, TypeError):
                self.data = {}

    @staticmethod
    def stamp(entry: Entry) -> str:
        return f"{entry.size}:{entry.mtime_ns}:{entry.ctime_ns}:{entry.inode}:"

    def get(self, entry: Entry) -> str | None:
        hit = self.data.get(entry.rel)
        stamp = self.stamp(entry)
        if hit is not None and hit.startswith(stamp):
            return hit[len(stamp):]
        return None

    def put(self, entry: Entry, digest: str, now_ns: int) -> None:
        if now_ns - max(entry.mtime_ns, entry.ctime_ns) < self.RACY_NS:
            return
        with self._lock:
            self.data[entry.rel] = self.stamp(entry) + digest
            self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            with self._lock:
                tmp.write_bytes(marshal.dumps(self.data))
            tmp.replace(self.path)
            self.dirty = False


def files_for(context_dir: Path, entries: list[Entry], patterns: list[tuple[str, str]],
              ignore: Ignore, cache: HashCache | None = None) -> list[ContextFile]:
    """Checksums of the entries that ``patterns`` (pattern, where) match.

    A pattern that matches nothing is an error, as it is in Buildah, but said before the build.
    """
    matched = match_sources(entries, patterns, ignore)
    if cache is None:
        return [ContextFile(e.rel, e.mode, checksum(context_dir, e)) for e in matched]
    get = cache.get
    sums_by_position: list[str] = []
    missing: list[Entry] = []
    where: list[int] = []
    for e in matched:  # once per context file
        known = get(e)
        if known is not None:
            sums_by_position.append(known)
        else:
            where.append(len(sums_by_position))
            sums_by_position.append("")
            missing.append(e)
    now = time.time_ns()
    if len(missing) > 64:
        # Reading and hashing release the GIL: one worker per core, each over a contiguous
        # run of files (sequential reads; a few futures, not one per file).
        workers = min(4, os.cpu_count() or 1)
        step = -(-len(missing) // workers)
        runs = [missing[i:i + step] for i in range(0, len(missing), step)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(lambda run: [checksum(context_dir, e) for e in run], runs))
        sums = [digest for part in parts for digest in part]
    else:
        sums = [checksum(context_dir, e) for e in missing]
    for entry, position, digest in zip(missing, where, sums, strict=True):
        sums_by_position[position] = digest
        if entry.kind == "file":
            cache.put(entry, digest, now)
    return [ContextFile(e.rel, e.mode, digest)
            for e, digest in zip(matched, sums_by_position, strict=True)]


def match_sources(entries: list[Entry], patterns: list[tuple[str, str]],
                  ignore: Ignore) -> list[Entry]:
    """The entries ``patterns`` (pattern, where) match, sorted; a pattern that matches
    nothing raises ``DockerfileError`` at its Dockerfile line."""
    chosen: dict[str, Entry] = {}
    for pattern, where in patterns:
        matched = select(entries, pattern)
        if not matched:
            because = f" (or {os.path.basename(ignore.source)} excludes it)" if ignore.source \
                else ""
            raise DockerfileError(
                f"COPY/ADD source '{pattern}' matches no file in the build context{because}",
                "fix the path (relative to the context directory)"
                + (f" or {os.path.basename(ignore.source)}" if ignore.source else ""),
                where=where,
            )
        for entry in matched:
            chosen[entry.rel] = entry
    return sorted(chosen.values(), key=lambda e: e.rel)
