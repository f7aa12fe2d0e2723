"""``dockwright host cleanup``, ``host purge`` and the cleanup after a build: what they print.

The CLI hands over an engine bound to the store (the same one a build would use) and
dockwright's cache directory; errors are raised for the CLI to print.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dockwright.cleanup import host
from dockwright.errors import UsageError
from dockwright.storage import usage

if TYPE_CHECKING:
    from dockwright.engine.buildah import BuildahEngine
    from dockwright.options import HostCleanupOptions


def _say(text: str) -> None:
    print(text, flush=True)


def lock_timeout() -> float:
    try:
        return max(float(os.environ.get("DOCKWRIGHT_LOCK_TIMEOUT", "30")), 0.0)
    except ValueError:
        return 30.0


def volume(engine: BuildahEngine, opts: HostCleanupOptions) -> host.Volume:
    """The volume to measure: ``--backend-storage-path``, else the store's (its nearest
    directory that exists)."""
    path = opts.storage_path or engine.store.graph_root
    while not path.is_dir() and path != path.parent:
        path = path.parent
    return host.Volume(path, opts.allowed, opts.margin)


def auto_cleanup_due(engine: BuildahEngine, cache: Path, opts: HostCleanupOptions
                     ) -> Path | None:
    """After a build: where the cleanup's log goes when one should start now (the volume
    is over the allowed usage, and no cleanup ran lately to no avail); else None. When one
    is due, the next builds do not start another for a while (``_recently_tried``)."""
    where = volume(engine, opts)
    if opts.allowed > 0 and where.percent() <= opts.allowed:
        return None  # the usual case: one statvfs
    directory = usage.usage_dir(cache, engine.store.graph_root)
    if _recently_tried(directory, where):
        return None
    directory.mkdir(parents=True, exist_ok=True)
    _tried(directory, where)
    return directory / "auto-cleanup.log"


def host_cleanup(engine: BuildahEngine, cache: Path, opts: HostCleanupOptions,
                 say: Callable[[str], None] = _say) -> int:
    where = volume(engine, opts)
    before = where.percent()
    if opts.allowed > 0 and before <= opts.allowed:
        say(f"host cleanup: {where.path} is {before:.1f}% used, not over "
            f"{opts.allowed:g}%: nothing to clean")
        return 0
    directory = usage.usage_dir(cache, engine.store.graph_root)
    report = host.host_cleanup(engine, directory, where, opts.keep_hours, opts.dry_run, say,
                               lock_timeout())
    checkouts = host.checkouts_cleanup(cache / "contexts", opts.keep_hours, opts.dry_run, say)
    images = sum(len(ids) for _, ids in report.removed)
    verb = "would free" if opts.dry_run else "freed"
    after = where.percent(report.freed if opts.dry_run else 0)
    say(f"host cleanup: {'would remove' if opts.dry_run else 'removed'} {images} image(s), "
        f"{verb} {host.human(report.freed + checkouts)}; {where.path}: {before:.1f}% -> "
        f"{after:.1f}% used" + ("" if opts.allowed == 0 else
                                f" (target {where.target():g}%)"))
    reasons = Counter(_kind(why) for why in report.kept.values())
    if reasons:
        say("kept: " + "; ".join(f"{n} {kind}" for kind, n in sorted(reasons.items())))
    if not report.reached and opts.allowed > 0:
        say(f"warning: still over {where.target():g}%: what is left is kept by the rules "
            "above, or not dockwright's (see 'dockwright doctor')")
    return 0


RETRY_MS = 600_000  # an automatic cleanup that left the volume over its target waits this
RETRY_GROWTH = 0.01  # long before the next, unless usage grew by this part of the volume


def _recently_tried(directory: Path, where: host.Volume) -> bool:
    """Whether an automatic cleanup ran within ``RETRY_MS`` and the volume has not grown by
    ``RETRY_GROWTH`` since: its keep rules would keep the same images, so a build does not
    pay for the same futile cleanup again."""
    try:
        millis, used = (int(x) for x in (directory / "auto-cleanup").read_text().split())
    except (OSError, ValueError):
        return False
    now_used, total = where.used()
    return usage.now_millis() - millis < RETRY_MS and now_used - used < RETRY_GROWTH * total


def _tried(directory: Path, where: host.Volume) -> None:
    with contextlib.suppress(OSError):
        (directory / "auto-cleanup").write_text(f"{usage.now_millis()} {where.used()[0]}\n")


def _kind(why: str) -> str:
    """A kept image's reason, without the particulars (for the summary's counts)."""
    for prefix, kind in (("the latest build", "latest builds"), ("used", "used recently"),
                         ("tagged", "tagged by a user"), ("held", "held by running builds"),
                         ("images that stay", "bases of kept images"),
                         ("removing it would", "over images dockwright did not make")):
        if why.startswith(prefix):
            return kind
    return "not removable: " + why


def purge(engine: BuildahEngine, cache: Path, project: str | None, force: bool,
          dry_run: bool, say: Callable[[str], None] = _say) -> int:
    directory = usage.usage_dir(cache, engine.store.graph_root)
    state_root = cache / "manifests" / usage.store_key(engine.store.graph_root)
    known = host.known_projects(directory, state_root)
    if project is not None and project not in known and \
            not engine.labelled(f"werf={project}"):
        raise UsageError(f"--project {project}: this store has nothing of that project",
                         "projects here: " + (", ".join(sorted(known)) or "none") +
                         f" (store {engine.store.graph_root})")
    if project is None and not force and not dry_run:
        if not sys.stdin.isatty():
            raise UsageError("purging every project needs confirmation",
                             "add --force (or name one with --project NAME; --dry-run "
                             "lists what would go)")
        answer = input(f"remove every image dockwright made in {engine.store.graph_root}, "
                       "for all projects? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            say("nothing removed")
            return 0
    out = host.purge(engine, directory, project, dry_run, say, lock_timeout())
    if not dry_run:
        targets = [state_root / project] if project else [state_root]
        for path in targets:
            host.remove_dir(path)
        if project is None:
            host.remove_dir(cache / "contexts")
    for image_id, why in sorted(out.left.items()):
        say(f"warning: {image_id[:12]} is still there: {why}")
    verb = "would remove" if dry_run else "removed"
    say(f"host purge ({project or 'every project'}): {verb} {len(out.images)} image(s) and "
        f"{len(out.containers)} working container(s), {host.human(out.freed)}")
    return 0
