"""Which build-context files an image reads, and their checksums.

A file counts when a COPY/ADD source of a used stage matches it (or a directory above it)
and the ignore file (``.dockerignore`` and friends, see ``ignore_files``) does not exclude
it. Patterns follow Docker: ``*`` and ``?`` stay within one path element, ``**`` spans
directories, ``!`` re-includes, the last matching line wins.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import marshal
import os
import re
import stat
import struct
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from dockwright import cachefile, run
from dockwright.digest import hash_lines
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

    @property
    def rescues(self) -> bool:
        """A '!' line may re-include something below an excluded directory."""
        return any(negate for negate, _ in self.patterns)

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


Raw = tuple[str, int, int, int, int, int]  # rel, st_mode, size, mtime_ns, inode, ctime_ns
_KINDS = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "link"}


PARALLEL_WALK = 20_000  # paths a context had last time from which a second process helps
HELPER_SLACK = 10.0  # seconds the walk helper may take beyond 4 times this process's half


def walk_parts(context_dir: Path, ignore: Ignore, expected: int = 0) -> list[bytes]:
    """Every path in the context that ``.dockerignore`` lets through, in tree order (names
    sorted), as plain tuples (``Raw``): the cheapest form for 100,000 files. Returned in
    parts, each the marshal (version 2) of a list of them: the subtrees ``_split`` names,
    and what lies between them. A walk is one lstat per path (names read with listdir,
    stat'ed relative to their directory's descriptor, the fastest way here); when the
    context had ``expected`` >= PARALLEL_WALK paths last time, a forked process walks those
    subtrees meanwhile, which halves the walk on two cores. Either way the parts are the
    same, and so is ``Listing.fingerprint``."""
    filtering = bool(ignore.patterns)
    rescue = ignore.rescues
    lstat, listdir, opendir = os.lstat, os.listdir, os.open
    reg, dir_, lnk = stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK
    marks: dict[str, int] = {}  # subtrees walked as parts of their own: rel -> position

    def scan(fd: int, prefix: str, out: list[Raw]) -> None:
        append = out.append
        try:
            for name in sorted(listdir(fd)):
                st = lstat(name, dir_fd=fd)
                mode = st.st_mode
                fmt = mode & 0o170000
                if fmt != reg and fmt != dir_ and fmt != lnk:
                    continue
                rel = prefix + name
                if filtering and ignore.excluded(rel):
                    if fmt == dir_ and rescue:
                        descend(fd, name, rel, out)
                    continue
                append((rel, mode, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))
                if fmt == dir_:
                    descend(fd, name, rel, out)
        finally:
            os.close(fd)

    def descend(fd: int, name: str, rel: str, out: list[Raw]) -> None:
        if rel in marks:
            marks[rel] = len(out)
        else:
            scan(opendir(name, _BELOW, dir_fd=fd), rel + "/", out)

    def subtree(rel: str) -> bytes:
        block: list[Raw] = []
        scan(opendir(context_dir / rel, _BELOW), rel + "/", block)
        return marshal.dumps(block, 2)

    # 100,000 new tuples would start the cycle collector hundreds of times; none of them
    # can be part of a cycle
    collecting = gc.isenabled()
    gc.disable()
    try:
        subtrees = _split(context_dir, ignore) or []
        helper = run.fork_call(lambda: marshal.dumps({rel: subtree(rel) for rel in subtrees})) \
            if subtrees and expected >= PARALLEL_WALK else None
        marks.update(dict.fromkeys(subtrees, -1))
        out: list[Raw] = []
        started = time.monotonic()
        try:
            scan(opendir(context_dir, _BELOW & ~os.O_NOFOLLOW), "", out)
        except BaseException:
            if helper is not None:
                helper.cancel()
            raise
        blocks: dict[str, bytes] = {}
        if helper is not None:  # it walks about as much as this process did
            data = helper.result(HELPER_SLACK + 4 * (time.monotonic() - started))
            blocks = _blocks(data) if data is not None else {}
        parts: list[bytes] = []
        at = 0
        for rel, mark in sorted(((r, m) for r, m in marks.items() if m >= 0),
                                key=lambda item: item[1]):
            parts.append(marshal.dumps(out[at:mark], 2))
            parts.append(blocks[rel] if rel in blocks else subtree(rel))  # helper failed
            at = mark
        parts.append(marshal.dumps(out[at:], 2))
        return parts
    finally:
        if collecting:
            gc.enable()


def walk_raw(context_dir: Path, ignore: Ignore, expected: int = 0) -> list[Raw]:
    """``walk_parts`` as one list."""
    return raw_of(walk_parts(context_dir, ignore, expected))


def raw_of(parts: list[bytes]) -> list[Raw]:
    out: list[Raw] = []
    for part in parts:
        out += marshal.loads(part)
    return out


_BELOW = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _split(context_dir: Path, ignore: Ignore) -> list[str] | None:
    """Half of the subtrees of the first directory, going down from the context's root,
    that has two or more subdirectories to walk (every second one in name order); None
    when there is none. Reads directory types only (d_type), no stat."""
    prefix = ""
    rescue = ignore.rescues
    for _ in range(64):
        with os.scandir(context_dir / prefix if prefix else context_dir) as it:
            subdirs = sorted(e.name for e in it if e.is_dir(follow_symlinks=False)
                             and (rescue or not ignore.excluded(prefix + e.name)))
        if len(subdirs) >= 2:
            return [prefix + name for name in subdirs[1::2]]
        if not subdirs:
            return None
        prefix += subdirs[0] + "/"
    return None


def _blocks(data: bytes) -> dict[str, bytes]:
    """The helper's walks by subtree; empty when unreadable (they are walked here then)."""
    with contextlib.suppress(ValueError, EOFError, TypeError):
        blocks = marshal.loads(data)
        if isinstance(blocks, dict):
            return blocks
    return {}


def entries_of(raw: list[Raw]) -> list[Entry]:
    kinds, imode = _KINDS, stat.S_IMODE
    return [Entry(rel, kinds[mode & 0o170000], imode(mode), size, mtime, inode, ctime)
            for rel, mode, size, mtime, inode, ctime in raw]


def walk(context_dir: Path, ignore: Ignore) -> list[Entry]:
    """Every path in the context that ``.dockerignore`` lets through, sorted."""
    return entries_of(walk_raw(context_dir, ignore))


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


STAMP = struct.Struct("<QqqQ")  # size, mtime ns, ctime ns, inode


class HashCache:
    """Checksums of one context's files, kept between builds.

    A checksum is reused while the file's size, mtime, ctime and inode are unchanged (ctime
    cannot be set back by hand, so a rewrite always shows). Files changed in the last two
    seconds are not cached: another write in the same clock tick would go unseen.

    Beside it, a small table (``<path>.sets``) of whole results: the root and file count of
    a set of COPY/ADD sources over a listing with a given fingerprint (``Listing``). When
    nothing in the context changed, that table answers alone and the per-file table, one
    line per file, is not even read.
    """

    RACY_NS = 2_000_000_000

    def __init__(self, path: Path | None) -> None:
        self.path = path
        # rel -> size, mtime, ctime, inode (STAMP) and the SHA-256, 64 bytes in all: one
        # small object per file keeps a large context's cache small; read on first use
        self._data: dict[str, bytes] | None = None
        self.dirty = False
        self.sets: dict[str, tuple[str, int]] = {}
        self.sets_dirty = False
        self._lock = threading.Lock()
        if path is not None:
            loaded = cachefile.read_marshal(self.sets_path(path))
            if isinstance(loaded, dict):
                self.sets = {k: v for k, v in loaded.items()
                             if isinstance(v, tuple) and len(v) == 2}

    @staticmethod
    def sets_path(path: Path) -> Path:
        return path.with_suffix(".sets")

    @property
    def data(self) -> dict[str, bytes]:
        with self._lock:
            if self._data is None:
                loaded = cachefile.read_marshal(self.path) if self.path is not None else None
                data: dict[str, bytes] = {}
                if isinstance(loaded, dict) and all(  # an older format is dropped
                        isinstance(v, bytes) and len(v) == 64
                        for v in islice(loaded.values(), 1)):
                    data = loaded
                self._data = data
            return self._data

    @staticmethod
    def stamp(entry: Entry) -> bytes:
        return STAMP.pack(entry.size, entry.mtime_ns, entry.ctime_ns, entry.inode)

    @classmethod
    def trusted(cls, entry: Entry, now_ns: int) -> bool:
        """Written long enough ago that a later write in the same tick cannot hide."""
        return now_ns - max(entry.mtime_ns, entry.ctime_ns) >= cls.RACY_NS

    def lookup(self, entries: list[Entry]) -> list[str | None]:
        """The cached checksum of each entry, None where it no longer holds."""
        data, stamp = self.data, self.stamp  # once here, not per file
        out: list[str | None] = []
        for e in entries:
            hit = data.get(e.rel)
            out.append(hit[32:].hex() if hit is not None and hit[:32] == stamp(e) else None)
        return out

    def get(self, entry: Entry) -> str | None:
        return self.lookup([entry])[0]

    def put(self, entry: Entry, digest: str, now_ns: int) -> None:
        if not self.trusted(entry, now_ns):
            return
        data = self.data
        with self._lock:
            data[entry.rel] = self.stamp(entry) + bytes.fromhex(digest)
            self.dirty = True

    def put_set(self, key: str, root: str, count: int) -> None:
        with self._lock:
            if self.sets.get(key) != (root, count):
                self.sets[key] = (root, count)
                self.sets_dirty = True

    def save(self) -> None:
        if self.path is None:
            return
        with self._lock:
            if self.dirty and self._data is not None:
                cachefile.write(self.path, marshal.dumps(self._data))
                self.dirty = False
            if self.sets_dirty:
                cachefile.write(self.sets_path(self.path), marshal.dumps(self.sets))
                self.sets_dirty = False


class Listing:
    """One walk of a context (``walk_parts``) and its fingerprint: a hash over every path
    the ignore file lets through with its type, mode, size, mtime, ctime and inode. Equal
    fingerprints mean that no such file was added, removed, or written since."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    @cached_property
    def entries(self) -> list[Entry]:
        self.fingerprint  # noqa: B018 - taken first: the parts can go after this
        entries = entries_of(raw_of(self.parts))
        self.parts = []
        return entries

    def known_sums(self, entries: Sequence[Entry]) -> list[str] | None:
        """The checksums of ``entries`` when the listing knows them without reading a file
        (a git tree's blob ids, ``source.commit.GitListing``); None: they are read."""
        return None

    @cached_property
    def fingerprint(self) -> str:
        # marshal version 2 writes no back-references: the same values, the same bytes;
        # BLAKE2b hashes them in two thirds of SHA-256's time here
        h = hashlib.blake2b(digest_size=32)
        for part in self.parts:
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
        return h.hexdigest()


# What reads context files: (pattern, where in the Dockerfile[, what reads it]), what being
# COPY (COPY/ADD, the default) or MOUNT (a RUN's bind mount)
Patterns = Sequence[tuple[str, ...]]
COPY = "COPY/ADD"
MOUNT = "RUN --mount"


class ContextSet(NamedTuple):
    """What the COPY/ADD sources of one image read from its context."""

    root: str  # SHA-256 over "<path>\t<mode> <checksum>\n" for each path, in path order
    paths: int
    # (path, "<mode> <checksum>") for each path; None when the result came from the cache
    details: tuple[tuple[str, str], ...] | None

    @property
    def value(self) -> str:
        return f"{self.paths} paths, sha256:{self.root}"


def root_of(details: Iterable[tuple[str, str]]) -> str:
    return hash_lines(hashlib.sha256(), (f"{path}\t{detail}\n" for path, detail in details))


def set_key(listing: Listing, patterns: Patterns, ignore: Ignore) -> str:
    what = marshal.dumps((listing.fingerprint, ignore.source, ignore.patterns,
                          tuple(p[0] for p in patterns)), 2)
    return hashlib.sha256(what).hexdigest()


def known_set(listing: Listing, patterns: Patterns, ignore: Ignore,
              cache: HashCache | None) -> tuple[str, int] | None:
    """The cached result for these sources over this very listing, if there is one (it
    also means that every pattern matched: only complete results are stored)."""
    if cache is None or not cache.sets:
        return None
    return cache.sets.get(set_key(listing, patterns, ignore))


def sources(context_dir: Path, listing: Listing, patterns: Patterns,
            ignore: Ignore, cache: HashCache | None, details: bool) -> ContextSet:
    """The files ``patterns`` (pattern, where) read and their root hash; with ``details``
    false, a cached root for an unchanged listing is enough (no file is looked at)."""
    if not details:
        hit = known_set(listing, patterns, ignore, cache)
        if hit is not None:
            return ContextSet(hit[0], hit[1], None)
    matched = match_sources(listing.entries, patterns, ignore)
    sums = listing.known_sums(matched) or _sums(context_dir, matched, cache)
    found = tuple((e.rel, f"{e.mode:04o} {digest}")
                  for e, digest in zip(matched, sums, strict=True))
    del sums  # 100,000 of them: not kept beside the details
    root = root_of(found)
    if cache is not None:
        now = time.time_ns()
        if all(cache.trusted(e, now) for e in matched if e.kind != "dir"):
            cache.put_set(set_key(listing, patterns, ignore), root, len(found))
    return ContextSet(root, len(found), found)


def files_for(context_dir: Path, entries: list[Entry], patterns: Patterns,
              ignore: Ignore, cache: HashCache | None = None) -> list[ContextFile]:
    """Checksums of the entries that ``patterns`` (pattern, where) match.

    A pattern that matches nothing is an error, as it is in Buildah, but said before the build.
    """
    matched = match_sources(entries, patterns, ignore)
    return [ContextFile(e.rel, e.mode, digest)
            for e, digest in zip(matched, _sums(context_dir, matched, cache), strict=True)]


def _sums(context_dir: Path, matched: list[Entry], cache: HashCache | None) -> list[str]:
    """The checksum of each entry, in order: from the cache where it holds, else read."""
    if cache is None:
        return [checksum(context_dir, e) for e in matched]
    known = cache.lookup(matched)
    where = [n for n, digest in enumerate(known) if digest is None]
    missing = [matched[n] for n in where]
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
        known[position] = digest
        if entry.kind == "file":
            cache.put(entry, digest, now)
    return [digest or "" for digest in known]


def match_sources(entries: list[Entry], patterns: Patterns, ignore: Ignore) -> list[Entry]:
    """The entries ``patterns`` (pattern, where[, what reads it]) match, sorted. As in
    Buildah, an instruction fails when a plain path matches nothing, or when none of its
    sources matches anything; a wildcard that matches nothing beside one that does is fine.
    The failure is a ``DockerfileError`` at the instruction's line."""
    chosen: dict[str, Entry] = {}
    empty: dict[tuple[str, str], list[str]] = {}  # (where, what reads) -> unmatched patterns
    found: set[tuple[str, str]] = set()  # instructions with a source that matched
    for item in patterns:
        pattern, where = item[0], item[1]
        via = item[2] if len(item) > 2 else COPY
        matched = select(entries, pattern)
        if not matched and not _is_glob(pattern):
            raise _no_match(pattern, where, via, ignore)
        if not matched:
            empty.setdefault((where, via), []).append(pattern)
        else:
            found.add((where, via))
        for entry in matched:
            chosen[entry.rel] = entry
    for (where, via), unmatched in empty.items():
        if (where, via) not in found:
            raise _no_match(unmatched[0], where, via, ignore)
    return sorted(chosen.values(), key=lambda e: e.rel)


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _no_match(pattern: str, where: str, via: str, ignore: Ignore) -> DockerfileError:
    because = f" (or {os.path.basename(ignore.source)} excludes it)" if ignore.source else ""
    fix = "fix 'source='" if via == MOUNT else "fix the path"
    return DockerfileError(
        f"{via} source '{pattern}' matches no file in the build context{because}",
        f"{fix} (relative to the context directory)"
        + (f" or {os.path.basename(ignore.source)}" if ignore.source else ""),
        where=where,
    )
