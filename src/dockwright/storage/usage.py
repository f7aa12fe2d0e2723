"""What dockwright's images in one store were used for and when, and which of them running
builds hold: what a host cleanup needs to remove the least recently used first and never
an image a build is using.

Per store, in dockwright's cache directory (``usage/<store key>/``):

- ``uses.log``: one line per image a build produced or reused,
  ``<unix millis> <project> <image name> <image ID>``, appended (one ``write`` of a short
  line with ``O_APPEND``, so builds running at once never mix their lines). A cleanup reads
  the latest use of each image from it, and rewrites it without the images it removed.
- ``held/<image ID>``: a build takes a shared ``flock`` on the file of every image it uses
  (a stage it reuses or pushes, a cached step it builds on, an image it built) and keeps it
  until it exits, however it exits (the kernel drops the locks of a process that ends). A
  cleanup removes an image only while it holds that file's exclusive lock, which it cannot
  get while any build holds the shared one. A build takes its lock *before* it checks that
  the image is still there, so either it sees the image gone (and builds or pulls it
  again, saying so) or the cleanup sees it held and keeps it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


def store_key(graph_root: Path) -> str:
    """One store's name in dockwright's cache (its graph root, hashed)."""
    return hashlib.sha256(str(graph_root).encode()).hexdigest()[:16]


def usage_dir(cache: Path, graph_root: Path) -> Path:
    return cache / "usage" / store_key(graph_root)


def records_dir(cache: Path, graph_root: Path) -> Path:
    """dockwright's records of the builds on one store, a directory per project (what each
    image was built from, the instruction cache's index: ``session.new_session``)."""
    return cache / "manifests" / store_key(graph_root)


DOCKERFILES = "dockerfiles"  # in a project's records: the Dockerfiles Buildah was given


@dataclass(frozen=True)
class Use:
    millis: int
    project: str
    image: str  # werf.yaml's image name ("~" for the nameless one)
    image_id: str

    def line(self) -> str:
        return f"{self.millis} {self.project} {self.image or '~'} {self.image_id}\n"


def record(directory: Path, uses: Iterable[Use]) -> None:
    """Append ``uses`` to the log; a log that cannot be written loses them (a cleanup then
    dates those images by their creation), never the build."""
    text = "".join(u.line() for u in uses)
    if not text:
        return
    with contextlib.suppress(OSError):
        directory.mkdir(parents=True, exist_ok=True)
        with _locked(directory / "uses.lock", fcntl.LOCK_SH):
            fd = os.open(directory / "uses.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)


def read(directory: Path) -> list[Use]:
    try:
        text = (directory / "uses.log").read_text(errors="replace")
    except OSError:
        return []
    uses = []
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) == 4 and parts[0].isdigit() and len(parts[3]) == 64:
            uses.append(Use(int(parts[0]), parts[1], parts[2], parts[3]))
    return uses


def forget(directory: Path, removed: set[str]) -> None:
    """Rewrite the log without the uses of ``removed`` images (under the exclusive lock, so
    that no build appends in between)."""
    if not removed:
        return
    with contextlib.suppress(OSError), _locked(directory / "uses.lock", fcntl.LOCK_EX):
        kept = [u for u in read(directory) if u.image_id not in removed]
        tmp = directory / f"uses.log.{os.getpid()}"
        tmp.write_text("".join(u.line() for u in kept))
        os.replace(tmp, directory / "uses.log")


RUNNING = "build"  # held/build-<start millis>-<pid>: a build that runs (Holds.building)


def now_millis() -> int:
    return int(time.time() * 1000)


@contextlib.contextmanager
def _locked(path: Path, how: int) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, how)
        yield
    finally:
        os.close(fd)


class Holds:
    """The images this process holds (shared locks, kept until it exits)."""

    def __init__(self, root: Path) -> None:
        self.root = root  # the store's usage directory (the use log is there too)
        self.directory = root / "held"
        self._fds: dict[str, int] = {}
        self._lock = threading.Lock()
        self._running = ""  # the name of this build's mark, once it has one (building)

    def hold(self, image_id: str) -> None:
        with self._lock:
            if image_id in self._fds:
                return
            with contextlib.suppress(OSError):
                self.directory.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.directory / image_id, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH)  # waits while a cleanup removes it
                except OSError:
                    os.close(fd)
                    return
                self._fds[image_id] = fd

    def building(self) -> None:
        """Say, until ``release`` or this process's end, that it builds in this store: from
        now on, what Buildah makes here is the build's before the build can hold it
        (``running_since``). Once per process."""
        with self._lock:
            if self._running:
                return
            self._running = f"{RUNNING}-{now_millis()}-{os.getpid()}"
        self.hold(self._running)

    def release(self) -> None:
        """Let go of every image, and remove this build's mark (a cleanup removes the mark
        of a build that ended without this)."""
        with self._lock:
            if self._running in self._fds:
                with contextlib.suppress(OSError):
                    (self.directory / self._running).unlink()
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()


@dataclass
class Claim:
    ok: bool  # every image's exclusive lock is held
    gone: set[str]  # set by the caller: the images it removed (their lock files go)


@contextlib.contextmanager
def claimed(directory: Path, image_ids: Iterable[str]) -> Iterator[Claim]:
    """For a cleanup: the exclusive locks of all ``image_ids``, or of none when a running
    build holds any of them (``ok`` False). The lock files of the images the caller says
    it removed are deleted before the locks are let go (``Exclusive.release``)."""
    locks = Exclusive(directory)
    claim = Claim(locks.take(image_ids), set())
    try:
        yield claim
    finally:
        locks.release(claim.gone if claim.ok else set())


def running_since(directory: Path) -> int | None:
    """When the earliest build still running in this store started (Unix millis); None when
    none runs. The marks of builds that ended are removed."""
    earliest: int | None = None
    held = directory / "held"
    with contextlib.suppress(OSError):
        for path in held.glob(f"{RUNNING}-*-*"):
            try:
                started = int(path.name.split("-")[1])
                fd = os.open(path, os.O_RDWR)
            except (ValueError, OSError):
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its build runs
                earliest = started if earliest is None else min(earliest, started)
            except OSError:
                pass
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
            finally:
                os.close(fd)
    return earliest


def is_held(directory: Path, image_id: str) -> bool:
    """Whether a running build holds ``image_id`` (for what a dry run would keep)."""
    with claimed(directory, [image_id]) as claim:
        return not claim.ok


class Exclusive:
    """A cleanup's exclusive locks on images (taken group by group): each image's file is
    locked once, however many groups name it."""

    def __init__(self, directory: Path) -> None:
        self.held = directory / "held"
        self._fds: dict[str, int] = {}

    def take(self, image_ids: Iterable[str]) -> bool:
        """Lock every image of ``image_ids`` not locked yet; False (and none of those new
        ones locked) when a running build holds any of them."""
        new: dict[str, int] = {}
        try:
            self.held.mkdir(parents=True, exist_ok=True)
            for image_id in image_ids:
                if image_id in self._fds or image_id in new:
                    continue
                fd = os.open(self.held / image_id, os.O_RDWR | os.O_CREAT, 0o644)
                new[image_id] = fd
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            for fd in new.values():
                os.close(fd)
            return False
        self._fds.update(new)
        return True

    def release(self, gone: set[str]) -> None:
        """Let every lock go, the files of the images in ``gone`` first: a build waiting on
        one then holds a lock nobody else can take, sees the image gone, and makes it
        again."""
        for image_id, fd in self._fds.items():
            if image_id in gone:
                with contextlib.suppress(OSError):
                    (self.held / image_id).unlink()
            os.close(fd)
        self._fds.clear()
