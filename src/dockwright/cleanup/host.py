"""Host cleanup: remove dockwright's images from one store, least recently used first,
until the volume holding it is under a threshold; and purge: everything of a project.

Only dockwright's images are considered (``ours``: its label, or werf's label and its own
records).
What stays, and why:

- the stage of each image's latest build, for every project the store's use log knows;
- anything used (built or reused by a build) or created within the last ``keep`` hours;
- anything a running build holds (``storage.usage``: it holds what it uses until it exits);
- anything with a name a user gave it (a custom tag): only stage and cache names are
  dockwright's to drop;
- anything whose removal would take an image that is not dockwright's with it (Buildah
  removes a removed image's parents that are left without a name or another child).

``decide`` is pure (listings in, decisions out); ``clean`` removes, one image at a time,
holding each one's lock, and stops as soon as the volume is under the target.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from dockwright import run
from dockwright.engine import store
from dockwright.engine.base import LocalImage
from dockwright.engine.store import Tree
from dockwright.errors import StorageBusy
from dockwright.storage import local, usage

if TYPE_CHECKING:
    from dockwright.engine.buildah import BuildahEngine

HOUR_MS = 3_600_000
CREATED_GRAIN_MS = 1000  # an image's creation time is read in whole seconds
DERIVED_GRACE_S = 60  # a derived Dockerfile used this recently stays, whatever --keep-hours
ID = re.compile(r"[0-9a-f]{64}")
STAGE_NAME = re.compile(r":(?:[0-9a-f]{56}-[0-9]{13}|cache-[0-9a-f]{64})$")


@dataclass(frozen=True)
class Owned:
    """One of dockwright's images in the store."""

    id: str
    names: tuple[str, ...]
    used: int  # unix millis: its last use by a build, else its creation
    project: str = ""  # from the use log ("" when no build recorded it)
    image: str = ""


@dataclass(frozen=True)
class Decision:
    remove: list[Owned]  # in this order: least recently used first
    kept: dict[str, str]  # image ID -> why it stays


def owned(labelled: Sequence[LocalImage], uses: Sequence[usage.Use]) -> list[Owned]:
    """The labelled images, each with its last use (the use log's latest, else its
    creation) and the project and image that last used it."""
    last: dict[str, usage.Use] = {}
    for use in uses:
        if use.image_id not in last or use.millis >= last[use.image_id].millis:
            last[use.image_id] = use
    out = []
    for i in labelled:
        found = last.get(i.id)
        created = i.created * 1000
        out.append(Owned(i.id, i.names, max(created, found.millis) if found else created,
                         found.project if found else "", found.image if found else ""))
    return out


def latest_builds(uses: Sequence[usage.Use]) -> dict[str, tuple[str, str]]:
    """The image ID of each project's image's latest use -> (project, image)."""
    latest: dict[tuple[str, str], usage.Use] = {}
    for u in uses:
        key = (u.project, u.image)
        if key not in latest or u.millis >= latest[key].millis:
            latest[key] = u
    return {u.image_id: key for key, u in latest.items()}


def decide(images: Sequence[Owned], uses: Sequence[usage.Use], now: int, keep_hours: float,
           running_since: int | None = None) -> Decision:
    """What goes and what stays, and why. ``running_since``: when the earliest build still
    running started; what was made or used since may be that build's before it holds it
    (Buildah has committed it, dockwright has not taken it yet), so it stays."""
    latest = latest_builds(uses)
    kept: dict[str, str] = {}
    remove = []
    for i in images:
        foreign = [n for n in i.names if not STAGE_NAME.search(n)]
        if i.id in latest:
            project, image = latest[i.id]
            kept[i.id] = f"the latest build of {project}'s image {image}"
        elif foreign:
            kept[i.id] = f"tagged {foreign[0]}"
        elif running_since is not None and i.used >= running_since - CREATED_GRAIN_MS:
            kept[i.id] = "held by a running build (made or used since it started)"
        elif i.used > now - keep_hours * HOUR_MS:
            kept[i.id] = f"used {(now - i.used) / HOUR_MS:.1f} h ago (--keep-hours " \
                         f"{keep_hours:g})"
        else:
            remove.append(i)
    remove.sort(key=lambda i: (i.used, i.id))
    return Decision(remove, kept)


class Lineage:
    """Which images are built on which, from the store's layer records: an image's parents
    are the images whose top layer is in its chain (an image without a layer of its own,
    made by a step like ENV, shares its parent's top layer and is younger)."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.by_layer: dict[str, list[str]] = {}
        for stored in tree.images.values():
            self.by_layer.setdefault(stored.layer, []).append(stored.id)

    @cached_property
    def children(self) -> dict[str, set[str]]:
        """Image -> the images built on it (only a dry run asks: a real one asks Buildah)."""
        children: dict[str, set[str]] = {}
        for stored in self.tree.images.values():
            for depth, layer in enumerate(self.tree.chain(stored.layer)):
                for other in self.by_layer.get(layer, ()):
                    if other != stored.id and (depth or self.tree.images[other].created <
                                               stored.created):
                        children.setdefault(other, set()).add(stored.id)
        return children

    def has_children(self, image_id: str, gone: set[str]) -> bool:
        """Whether an image that is still there is built on ``image_id`` (Buildah does not
        remove an image with children)."""
        return any(c not in gone for c in self.children.get(image_id, ()))

    def with_parents(self, image_id: str) -> list[str]:
        """``image_id`` and every image Buildah might remove with it: it removes a removed
        image's parent when that is left without a name and without another child, and so
        on down. Here: every image without a name anywhere in its layer chain (images of
        identical content share layers, so the layers alone do not tell which is whose
        parent). More than Buildah removes; never fewer."""
        me = self.tree.images.get(image_id)
        if me is None:
            return [image_id]
        out = [image_id]
        for layer in self.tree.chain(me.layer):
            out += [i for i in self.by_layer.get(layer, ())
                    if i != image_id and not self.tree.images[i].names]
        return out


@dataclass
class Freed:
    """How many bytes the removal of images gives back: the layers no image left uses
    (counted from containers/storage's records)."""

    tree: Tree
    users: dict[str, int] = field(default_factory=dict)  # layer -> images using it

    def __post_init__(self) -> None:
        for stored in self.tree.images.values():
            for layer in self.tree.chain(stored.layer):
                self.users[layer] = self.users.get(layer, 0) + 1

    def remove(self, image_ids: Iterable[str]) -> int:
        freed = 0
        for image_id in image_ids:
            stored = self.tree.images.get(image_id)
            if stored is None:
                continue
            for layer in self.tree.chain(stored.layer):
                self.users[layer] -= 1
                if self.users[layer] == 0:
                    freed += self.tree.sizes.get(layer, 0)
        return freed


@dataclass(frozen=True)
class Volume:
    """The volume a store is on, and the usage a cleanup aims for."""

    path: Path
    allowed: float  # percent: a cleanup starts above it
    margin: float  # percent: and goes on until usage is ``allowed - margin``

    def used(self) -> tuple[int, int]:
        """(used bytes, total bytes)."""
        du = shutil.disk_usage(self.path)
        return du.total - du.free, du.total

    def percent(self, less: int = 0) -> float:
        used, total = self.used()
        return 100.0 * (used - less) / total if total else 0.0

    def over(self) -> bool:
        return self.percent() > self.allowed

    def target(self) -> float:
        return max(self.allowed - self.margin, 0.0)


@dataclass
class Report:
    removed: list[tuple[Owned, list[str]]] = field(default_factory=list)  # image, with parents
    gone: set[str] = field(default_factory=set)  # every image removed
    kept: dict[str, str] = field(default_factory=dict)
    freed: int = 0  # bytes, from the layers' records
    reached: bool = False  # the usage target


# Buildah's rmi of several images: the IDs it removed (parents it pruned included), and
# its error output for those it did not
Remove = Callable[[list[str]], tuple[list[str], str]]
CHUNK = 40  # images per rmi (one process, one lock of the store) when removing all allowed
CHUNK_TO_TARGET = 8  # ... and when the volume is checked in between


def clean(decision: Decision, tree: Tree, labelled: set[str], usage_dir: Path,
          remove: Remove, volume: Volume | None, dry_run: bool,
          say: Callable[[str], None]) -> Report:
    """Remove ``decision.remove`` in order, each while holding its lock (and those of what
    Buildah may remove with it), until ``volume`` is under its target (all of them when
    ``volume`` is None). An image with children waits for them. Images go a few at a time
    through one ``rmi`` (``remove``); the volume is checked between them."""
    report = Report(kept=dict(decision.kept))
    freed = Freed(tree)
    lineage = Lineage(tree)
    gone: set[str] = set()
    chunk = CHUNK if volume is None else CHUNK_TO_TARGET

    def under_target() -> bool:
        return volume is not None and volume.percent(report.freed if dry_run else 0) <= \
            volume.target()

    # the images of a kept image's steps stay with it: the next build of that image takes
    # its unchanged steps from them (the instruction cache); Buildah would remove them
    under_kept = {i for k in decision.kept for i in lineage.with_parents(k)[1:]}
    waiting = []
    for image in decision.remove:
        if image.id in under_kept:
            report.kept[image.id] = "a step of a kept image"
        else:
            waiting.append(image)
    while waiting and not under_target():
        later: list[Owned] = []
        batch: list[tuple[Owned, list[str]]] = []
        locks = usage.Exclusive(usage_dir)
        removed: set[str] = set()
        try:
            for n, image in enumerate(waiting):
                if image.id in gone:
                    continue
                if dry_run and lineage.has_children(image.id, gone):
                    later.append(image)  # (a real run asks Buildah, which knows for sure)
                    continue
                family = [i for i in lineage.with_parents(image.id) if i not in gone]
                foreign = [i for i in family if i not in labelled]
                if foreign:
                    report.kept[image.id] = f"removing it would remove {foreign[0][:12]} " \
                                            "too, which dockwright did not make"
                    continue
                if not locks.take(family):
                    report.kept[image.id] = "held by a running build"
                    continue
                batch.append((image, family))
                if len(batch) == chunk:
                    later += waiting[n + 1:]
                    break
            if not batch:
                break
            why = ""
            if dry_run:  # Buildah would take the unnamed parents nothing kept stands on
                removed = {i for _, family in batch for i in family
                           if i not in under_kept and i not in report.kept}
            else:
                out, why = remove([image.id for image, _ in batch])
                removed = set(out)
            gone |= removed
            report.gone |= removed
            told: set[str] = set()  # each removed image is said once, with the first it went with
            for image, family in batch:
                if image.id not in removed:
                    refused = _refusal(image.id, why)
                    if refused:
                        report.kept[image.id] = refused
                    else:
                        later.append(image)  # images are built on it: after them, maybe
                    continue
                mine = [i for i in family if i in removed and i not in told]
                told.update(mine)
                report.freed += freed.remove(mine)
                report.removed.append((image, mine))
                say(f"{'would remove' if dry_run else 'removed'} {_describe(image)}"
                    + (f" and {len(mine) - 1} image(s) under it" if len(mine) > 1 else ""))
        finally:
            locks.release(set() if dry_run else removed)
        if not removed:  # what is left is built on what stays
            for image in later:
                report.kept.setdefault(image.id, "images that stay are built on it")
            break
        waiting = sorted(later, key=lambda i: (i.used, i.id))
    report.reached = volume is None or under_target()
    return report


def _refusal(image_id: str, errors: str) -> str:
    """Buildah's reason for not removing ``image_id`` (its line of the error output); ""
    when it gave none (it keeps an image with children without a word)."""
    for line in errors.splitlines():
        if image_id[:12] in line:
            return line.strip(" *\t")
    return ""


def _describe(image: Owned) -> str:
    name = image.names[0] if image.names else f"step image {image.id[:12]}"
    whose = f"{image.project}/{image.image}, " if image.project else ""
    return f"{name} ({whose}last used {usage_age(image.used)})"


def usage_age(millis: int) -> str:
    hours = max(usage.now_millis() - millis, 0) / HOUR_MS
    return f"{hours:.1f} h ago" if hours < 48 else f"{hours / 24:.0f} days ago"


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def purge_order(images: Sequence[LocalImage], tree: Tree | None) -> list[str]:
    """Every image of a purge, children before parents (an image with children is not
    removed, and its children's removal takes it)."""
    if tree is None:
        return [i.id for i in images]

    def depth(image_id: str) -> int:
        stored = tree.images.get(image_id)
        return len(tree.chain(stored.layer)) if stored else 0

    return [i.id for i in sorted(images, key=lambda i: (-depth(i.id), -i.created, i.id))]


# -- running it against a store ---------------------------------------------------------------

def wait_unlocked(graph_root: Path, driver: str, timeout: float) -> None:
    """Wait (up to ``timeout`` seconds) until no process holds the store's lists locked;
    then a cleanup's removals do not queue behind it."""
    deadline = time.monotonic() + timeout
    while True:
        pid = store.lock_holder(graph_root, driver)
        if pid is None:
            return
        if time.monotonic() >= deadline:
            who = f"process {pid}" + (f" ({_command_of(pid)})" if pid > 0 else "") \
                if pid else "another process"
            raise StorageBusy(
                f"the store {graph_root} is locked by {who} for more than {timeout:g} s: "
                "nothing was removed",
                "wait for that process to end (or stop it if it hangs), then run the cleanup "
                "again; DOCKWRIGHT_LOCK_TIMEOUT sets how long to wait")
        time.sleep(0.2)


def _command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "gone"
    return " ".join(p.decode(errors="replace") for p in raw.split(b"\0") if p)[:80]


@contextlib.contextmanager
def one_at_a_time(usage_dir: Path) -> Iterator[None]:
    """Cleanups of one store take turns (the second one then decides on what is left)."""
    usage_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(usage_dir / "cleanup.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def rmi(engine: BuildahEngine) -> Remove:
    """Buildah's rmi; what it removed is what the store's image list lost (Buildah prints
    the images asked for, not every parent it pruned with them)."""
    def listed() -> set[str] | None:
        found = store.read_images(engine.store.graph_root, engine.store.driver)
        return None if found is None else {i.id for i in found}

    last: list[set[str] | None] = [listed()]  # cleanups take turns: only this one removes

    def remove(image_ids: list[str]) -> tuple[list[str], str]:
        before = last[0]
        result = engine.rmi(*image_ids)
        after = last[0] = listed()
        printed = {line.strip() for line in result.stdout.splitlines()
                   if ID.fullmatch(line.strip())}
        gone = before - after if before is not None and after is not None else printed
        return sorted(gone), "" if result.ok else result.stderr
    return remove


@dataclass(frozen=True)
class Listed:
    """The store's images with werf's label, and the IDs of those with dockwright's."""

    werf: list[LocalImage]
    marked: set[str]


def listed(engine: BuildahEngine, project: str | None = None) -> Listed:
    return Listed(engine.labelled(f"werf={project}" if project else "werf"),
                  {i.id for i in engine.labelled(local.IMAGE_LABEL)})


def ours(found: Listed, uses: Sequence[usage.Use], states: Path
         ) -> tuple[list[LocalImage], set[str]]:
    """dockwright's images among ``found``, and the IDs of every image with werf's label
    (what Buildah may remove with one of them, being below it).

    dockwright's: with its label (``local.IMAGE_LABEL``), or with werf's and named by
    dockwright's own records (the use log, the instruction cache's indexes). Every stage
    has dockwright's label; step images have it from Buildah 1.32 (``--layer-label``), and
    the records tell the others."""
    recorded = {u.image_id for u in uses}
    for index in states.glob("*/steps.json"):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            recorded |= {str(v) for v in json.loads(index.read_text()).values()}
    return ([i for i in found.werf if i.id in found.marked or i.id in recorded],
            {i.id for i in found.werf})


def host_cleanup(engine: BuildahEngine, usage_dir: Path, records: Path, volume: Volume,
                 keep_hours: float, dry_run: bool, say: Callable[[str], None],
                 lock_timeout: float = 30.0) -> Report:
    """Remove dockwright's images the keep rules allow, least recently used first, until
    ``volume`` is under its target (everything allowed when the allowed usage is 0)."""
    graph_root, driver = engine.store.graph_root, engine.store.driver
    with one_at_a_time(usage_dir):
        if not dry_run:
            wait_unlocked(graph_root, driver, lock_timeout)
        # In this order: the store's list, then the running builds, then the use log. An
        # image listed was made by a build that either still runs when the builds are
        # looked at (what it made since it started stays), or has ended, and then its uses
        # are in the log read after (its stage is the latest build's).
        found = listed(engine)
        since = usage.running_since(usage_dir)
        uses = usage.read(usage_dir)
        mine, werf = ours(found, uses, records)
        tree = store.read_tree(graph_root, driver)
        if tree is None:
            raise StorageBusy(f"the records of the store {graph_root} cannot be read: nothing "
                              "was removed", "run 'dockwright doctor' to check the store")
        decision = decide(owned(mine, uses), uses, usage.now_millis(), keep_hours, since)
        report = clean(decision, tree, werf, usage_dir, rmi(engine),
                       volume if volume.allowed > 0 else None, dry_run, say)
        if not dry_run:
            usage.forget(usage_dir, report.gone)
    return report


def checkouts_cleanup(checkouts: Path, keep_hours: float, dry_run: bool,
                      say: Callable[[str], None]) -> int:
    """Remove the git contexts checked out for builds (``source.commit``) that no build used
    within ``keep_hours`` and none holds now; returns the bytes freed."""
    if not checkouts.is_dir():
        return 0
    limit = time.time() - keep_hours * 3600
    freed = 0
    for path in sorted(checkouts.iterdir()):
        if path.name == "held" or not path.is_dir():
            continue
        try:
            if path.stat().st_mtime > limit:
                continue
        except OSError:
            continue
        with usage.claimed(checkouts, [path.name]) as claim:
            if not claim.ok:
                continue
            size = tree_size(path)
            if not dry_run:
                shutil.rmtree(path, ignore_errors=True)
                claim.gone.add(path.name)
            freed += size
            say(f"{'would remove' if dry_run else 'removed'} the checked-out context "
                f"{path.name[:12]} ({human(size)})")
    return freed


def dockerfiles_cleanup(records: Path, keep_hours: float, dry_run: bool) -> int:
    """Remove the derived Dockerfiles (``layers.StepCache.derive``; one per build where the
    labels are in them) that no build used within ``keep_hours``, or the last minute (a
    build reads one right after finding it); returns how many."""
    limit = time.time() - max(keep_hours * 3600, DERIVED_GRACE_S)
    removed = 0
    for path in records.glob(f"*/{usage.DOCKERFILES}/*"):
        try:
            if path.stat().st_mtime > limit:
                continue
        except OSError:
            continue
        if not dry_run:
            shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed


def tree_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


@dataclass
class Purged:
    images: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    freed: int = 0
    left: dict[str, str] = field(default_factory=dict)  # image ID -> why it is still there


def known_projects(usage_dir: Path, state_root: Path) -> set[str]:
    """The projects this store's use log or dockwright's build records name."""
    named = {u.project for u in usage.read(usage_dir)}
    with contextlib.suppress(OSError):
        named |= {p.name for p in state_root.iterdir() if p.is_dir()}
    return named


def purge(engine: BuildahEngine, usage_dir: Path, records: Path, project: str | None,
          dry_run: bool, say: Callable[[str], None], lock_timeout: float = 30.0) -> Purged:
    """Remove every image dockwright made in this store for ``project`` (all projects when
    None) and the working containers left on them. Refused, with nothing removed, while a
    running build holds any of them."""
    graph_root, driver = engine.store.graph_root, engine.store.driver
    out = Purged()
    with one_at_a_time(usage_dir):
        if not dry_run:
            wait_unlocked(graph_root, driver, lock_timeout)
        images, _ = ours(listed(engine, project), usage.read(usage_dir), records)
        ids = {i.id for i in images}
        held = [i for i in ids if usage.is_held(usage_dir, i)]
        if held:
            raise StorageBusy(f"a running build uses {len(held)} of the images to purge "
                              f"({held[0][:12]}…): nothing was removed",
                              "wait for the build to end, then purge again")
        tree = store.read_tree(graph_root, driver)
        containers = [c for c in engine.container_records()
                      if c.get("imageid", "").removeprefix("sha256:") in ids]
        for c in containers:
            name = c.get("containername") or c.get("id", "")[:12]
            say(f"{'would remove' if dry_run else 'removed'} the working container {name}")
        if containers and not dry_run:
            rm = engine.rm(*(c["id"] for c in containers))
            if not rm.ok:
                raise StorageBusy(f"the working containers cannot be removed: "
                                  f"{run.last_line(rm.stderr, 'buildah rm failed')}",
                                  "remove them with 'buildah rm', then purge again")
        out.containers = [c["id"] for c in containers]
        freed = Freed(tree) if tree is not None else None
        order = purge_order(images, tree)
        if dry_run:
            out.images = order
        else:
            remove = rmi(engine)
            gone: set[str] = set()
            errors = ""
            for _ in range(3):  # an image with children goes with them, or on a later pass
                todo = [i for i in order if i not in gone]
                if not todo:
                    break
                removed, errors = remove(todo)
                gone |= set(removed)
            out.images = [*(i for i in order if i in gone), *(gone - set(order))]  # + pruned
            out.left = {i: _refusal(i, errors) or "Buildah kept it" for i in order
                        if i not in gone}
            usage.forget(usage_dir, gone)
        if freed is not None:
            out.freed = freed.remove(out.images)
    return out


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
