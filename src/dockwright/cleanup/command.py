"""``dockwright host cleanup``, ``host purge`` and the cleanup after a build: what they print.

The CLI hands over an engine bound to the store (the same one a build would use) and
dockwright's cache directory; errors are raised for the CLI to print.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dockwright.cleanup import existing, host
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
    return host.Volume(existing(opts.storage_path or engine.store.graph_root), opts.allowed,
                       opts.margin)


def host_cleanup(engine: BuildahEngine, cache: Path, opts: HostCleanupOptions,
                 say: Callable[[str], None] = _say) -> int:
    where = volume(engine, opts)
    before = where.percent()
    if opts.allowed > 0 and before <= opts.allowed:
        say(f"host cleanup: {where.path} is {before:.1f}% used, not over "
            f"{opts.allowed:g}%: nothing to clean")
        return 0
    directory = usage.usage_dir(cache, engine.store.graph_root)
    used_before = where.used()[0]
    report = host.host_cleanup(engine, directory,
                               usage.records_dir(cache, engine.store.graph_root), where,
                               opts.keep_hours, opts.dry_run, say, lock_timeout())
    checkouts = host.checkouts_cleanup(cache / "contexts", opts.keep_hours, opts.dry_run, say)
    derived = host.dockerfiles_cleanup(usage.records_dir(cache, engine.store.graph_root),
                                       opts.keep_hours, opts.dry_run)
    if derived:
        say(f"{'would remove' if opts.dry_run else 'removed'} {derived} Dockerfile(s) derived "
            f"for builds that no build used within {opts.keep_hours:g} h")
    images = len(report.gone)
    after = where.percent(report.freed if opts.dry_run else 0)
    if opts.dry_run:  # the layers' records (vfs keeps a whole copy per layer: more there)
        freed = f"would free about {host.human(report.freed + checkouts)}"
    else:
        freed = f"freed {host.human(max(used_before - where.used()[0], 0))}"
    say(f"host cleanup: {'would remove' if opts.dry_run else 'removed'} {images} image(s), "
        f"{freed}; {where.path}: {before:.1f}% -> {after:.1f}% used"
        + ("" if opts.allowed == 0 else f" (target {where.target():g}%)"))
    reasons = Counter(_kind(why) for why in report.kept.values())
    if reasons:
        say("kept: " + "; ".join(f"{n} {kind}" for kind, n in sorted(reasons.items())))
    if not report.reached and opts.allowed > 0:
        say(f"warning: still over {where.target():g}%: what is left is kept by the rules "
            "above, or not dockwright's (see 'dockwright doctor')")
    return 0


def _kind(why: str) -> str:
    """A kept image's reason, without the particulars (for the summary's counts)."""
    for prefix, kind in (("the latest build", "latest builds"), ("used", "used recently"),
                         ("tagged", "tagged by a user"), ("held", "held by running builds"),
                         ("images that stay", "bases of kept images"),
                         ("a step of", "steps of kept images"),
                         ("removing it would", "over images dockwright did not make")):
        if why.startswith(prefix):
            return kind
    return "not removable: " + why


def purge(engine: BuildahEngine, cache: Path, project: str | None, force: bool,
          dry_run: bool, say: Callable[[str], None] = _say) -> int:
    directory = usage.usage_dir(cache, engine.store.graph_root)
    state_root = usage.records_dir(cache, engine.store.graph_root)
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
    out = host.purge(engine, directory, state_root, project, dry_run, say, lock_timeout())
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
