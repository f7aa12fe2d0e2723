"""Files under ~/.cache/dockwright: written whole or not at all, and never required.

A cache that cannot be read is empty, and one that cannot be written is skipped: a build
never fails over its caches. A write goes to a temporary file beside the target (unique per
process and thread), then replaces it, so a reader sees the old file or the new one.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import threading
from pathlib import Path


def write(path: Path, data: bytes) -> None:
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)


def read_json(path: Path) -> dict[str, str]:
    """A JSON object of strings at ``path``, or {}."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def read_marshal(path: Path) -> object:
    """What ``path`` holds (written with marshal), or None."""
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
