"""What a build reads: a git commit (``commit.py``, on ``git.py``) or, outside git, the
working tree. This module is imported by every build, so it imports nothing but ``os``:
a build outside git pays for no more than ``in_repository``."""

from __future__ import annotations

import os
from pathlib import Path


def in_repository(path: Path) -> bool:
    """Whether ``path`` is in a git work tree, without starting git: a ``.git`` in it or in a
    directory above it (``GIT_DIR`` set: git decides, in ``open_source``)."""
    if os.environ.get("GIT_DIR"):
        return True
    for directory in (path.resolve(), *path.resolve().parents):
        if (directory / ".git").exists():
            return True
    return False
