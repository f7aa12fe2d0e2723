"""Read-only access to the host, rooted at a path so that tests can point it at a fake tree."""

from __future__ import annotations

import os
import pwd
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
            candidate = self.path(Path(directory) / program)
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return Path(directory) / program
        return None
