"""Removing what dockwright made and no longer needs: ``host`` (the local store: host
cleanup and purge) and ``registry`` (stages in a ``--repo``, by keep policies).

Both decide first, in pure functions over listings (what to remove, what to keep and why),
then remove through the engine; ``--dry-run`` stops after deciding.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from dockwright.storage import usage

RETRY_MS = 600_000  # an automatic cleanup that left the volume over its target waits this
RETRY_GROWTH = 0.01  # long before the next, unless usage grew by this part of the volume


def existing(path: Path) -> Path:
    """``path`` or its nearest parent that is a directory (a store not made yet)."""
    while not path.is_dir() and path != path.parent:
        path = path.parent
    return path


def measured(path: Path) -> tuple[int, int]:
    """(used, total) bytes of the volume holding ``path`` or its nearest existing parent."""
    du = shutil.disk_usage(existing(path))
    return du.total - du.free, du.total


def auto_cleanup_due(graph_root: Path, storage_path: Path | None, allowed: float,
                     cache: Path) -> Path | None:
    """After a build: where the host cleanup's log goes when one should start now (the
    volume is over ``allowed`` percent, and no automatic cleanup ran lately to no avail);
    else None. When one is due, the next builds do not start another for a while.

    Here, not in ``host``: a build pays for this check on every run, and it costs one
    ``statvfs`` under the threshold (no import of the cleanup itself)."""
    used, total = measured(storage_path or graph_root)
    if allowed > 0 and (not total or 100.0 * used / total <= allowed):
        return None
    directory = usage.usage_dir(cache, graph_root)
    stamp = directory / "auto-cleanup"
    try:
        millis, then = (int(x) for x in stamp.read_text().split())
        if usage.now_millis() - millis < RETRY_MS and used - then < RETRY_GROWTH * total:
            return None  # its keep rules would keep the same images
    except (OSError, ValueError):
        pass
    with contextlib.suppress(OSError):
        directory.mkdir(parents=True, exist_ok=True)
        stamp.write_text(f"{usage.now_millis()} {used}\n")
    return directory / "auto-cleanup.log"
