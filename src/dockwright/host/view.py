"""Read-only access to the host, rooted at a path so that tests can point it at a fake tree."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Identity:
    uid: int
    gid: int
    user: str
    home: Path

    @property
    def is_root(self) -> bool:
        return self.uid == 0

    @classmethod
    def current(cls, env: Mapping[str, str] | None = None) -> Identity:
        env = os.environ if env is None else env
        uid, gid = os.getuid(), os.getgid()
        try:
            entry = pwd.getpwuid(uid)
            name, home = entry.pw_name, entry.pw_dir
        except KeyError:
            name, home = str(uid), "/"
        return cls(uid, gid, name, Path(env.get("HOME") or home))


@dataclass(frozen=True)
class HostView:
    """Files of the host, below ``root`` ("/" for the real host)."""

    root: Path = Path("/")
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    identity: Identity = field(default_factory=Identity.current)

    def path(self, absolute: str | Path) -> Path:
        return self.root / str(absolute).lstrip("/")

    def read(self, absolute: str | Path) -> str | None:
        try:
            return self.path(absolute).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def exists(self, absolute: str | Path) -> bool:
        return os.path.lexists(self.path(absolute))

    def sysctl(self, name: str) -> str | None:
        value = self.read("/proc/sys/" + name.replace(".", "/"))
        return None if value is None else value.strip()

    def kernel_release(self) -> str:
        value = self.read("/proc/sys/kernel/osrelease")
        return value.strip() if value else os.uname().release

    def which(self, program: str) -> Path | None:
        """``program`` on the PATH of ``env``, looked up below ``root``."""
        for directory in self.env.get("PATH", os.defpath).split(os.pathsep):
            if not directory:
                continue
            if self.is_program(Path(directory) / program):
                return Path(directory) / program
        return None

    def is_program(self, absolute: str | Path) -> bool:
        """Is ``absolute`` a file this process may run? False, not PermissionError, below a
        directory it may not search (root's ~/.cargo/bin on a PATH kept by runuser): the
        shell passes such a directory over too."""
        real = self.path(absolute)
        try:
            return real.is_file() and os.access(real, os.X_OK)
        except PermissionError:
            return False

    def status_field(self, name: str) -> str | None:
        """A field of /proc/self/status (``NoNewPrivs``, ``Seccomp``...)."""
        for line in (self.read("/proc/self/status") or "").splitlines():
            key, _, value = line.partition(":")
            if key == name:
                return value.strip()
        return None

    def capability(self, bit: int) -> bool | None:
        """Does this process hold capability ``bit`` (``CapEff`` of /proc/self/status)?
        None when it is not reported."""
        value = self.status_field("CapEff")
        try:
            return bool(int(value, 16) >> bit & 1) if value else None
        except ValueError:
            return None

    def fs_type(self, absolute: str | Path) -> tuple[str, str]:
        """(filesystem type, mount point) of ``absolute``, from /proc/self/mountinfo."""
        target = os.path.normpath(str(absolute))
        best = ("", "")
        for line in (self.read("/proc/self/mountinfo") or "").splitlines():
            left, sep, right = line.partition(" - ")
            fields = left.split()
            if not sep or len(fields) < 5 or not right.split():
                continue
            point = fields[4].replace("\\040", " ")
            inside = target == point or target.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best[1]):
                best = (right.split()[0], point)
        return best

    def existing_ancestor(self, absolute: str | Path) -> Path:
        """``absolute`` or its nearest ancestor that exists (a host path)."""
        current = Path(absolute)
        while not self.exists(current) and current != current.parent:
            current = current.parent
        return current

    def volume_usage(self, absolute: str | Path) -> tuple[int, int] | None:
        """(used, total) bytes of the volume holding ``absolute`` (or its nearest existing
        ancestor). A test tree gives them in its ``/.volume-usage`` file ("used total");
        None when it has none."""
        if self.is_fake:
            try:
                used, total = (int(x) for x in (self.read("/.volume-usage") or "").split())
            except ValueError:
                return None
            return used, total
        du = shutil.disk_usage(self.existing_ancestor(absolute))
        return du.total - du.free, du.total

    @property
    def is_fake(self) -> bool:
        """A test tree: every file in it counts as owned both by root and by the identity,
        so that mode bits alone decide (tests need not run as root)."""
        return self.root != Path("/")

    def owned_by_root(self, absolute: str | Path) -> bool:
        try:
            return self.is_fake or os.stat(self.path(absolute)).st_uid == 0
        except OSError:
            return False

    def can_access(self, absolute: str | Path, write: bool = True) -> bool:
        """Can the identity read (and write, and search, for a directory) ``absolute``?"""
        real = self.path(absolute)
        ident = self.identity
        if not self.is_fake and ident.uid == os.getuid():
            mode = os.R_OK | (os.W_OK if write else 0)
            mode |= os.X_OK if real.is_dir() else 0
            return os.access(real, mode)
        try:
            st = os.stat(real)
        except OSError:
            return False
        if ident.is_root:
            return True
        if self.is_fake or st.st_uid == ident.uid:
            r, w, x = stat.S_IRUSR, stat.S_IWUSR, stat.S_IXUSR
        elif st.st_gid == ident.gid:
            r, w, x = stat.S_IRGRP, stat.S_IWGRP, stat.S_IXGRP
        else:
            r, w, x = stat.S_IROTH, stat.S_IWOTH, stat.S_IXOTH
        need = r | (w if write else 0) | (x if stat.S_ISDIR(st.st_mode) else 0)
        return st.st_mode & need == need
