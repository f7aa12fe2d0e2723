"""Build images in parallel, in dependency order; stop cleanly when interrupted.

Independent images build at the same time (at most ``limit``); an image starts when every
image it depends on is done. A failure stops what depends on it and lets the rest finish.
On SIGINT/SIGTERM: no new image starts, Buildah children are stopped, containers they left
are removed, and no tag is written for an unfinished image.

Buildah and skopeo keep their temporary files in a directory of this build's own
(``Engine.scratch``), removed when the build ends however it ends.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial

from dockwright import manifests, plan, publish, run
from dockwright.build import build_one, say_vanished
from dockwright.config.model import Image
from dockwright.errors import DockwrightError, Exit, Interrupted, StageMissing, Terminated
from dockwright.progress import State
from dockwright.publish import check_custom_tags, settle
from dockwright.report import Source
from dockwright.session import Result, Session


@dataclass
class Outcome:
    results: list[Result] = field(default_factory=list)  # in plan order
    failed: dict[str, DockwrightError] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # image -> the failure it waits on
    missing: list[str] = field(default_factory=list)  # --require-built-images
    lists: list[Result] = field(default_factory=list)  # images with several platforms

    @property
    def ok(self) -> bool:
        return not (self.failed or self.skipped or self.missing)


def build_all(session: Session, only: tuple[str, ...] = (), parallel: bool = True,
              limit: int = 5) -> Outcome:
    """Every image (an image with several platforms once per platform, then its manifest
    list), each in ``Outcome.results`` under its ``Image.key``."""
    images = plan.targets(session.project, plan.order(session.project, only))
    if session.source is not None:  # every uncommitted file the build reads, in one error
        session.source.check([*session.config_needs, *(
            need for image in images for need in plan.source_needs(
                session.project, image, session.dockerfile(image), session.source))])
    for image in images:  # bad input anywhere builds nothing
        plan.validate(session.project, image, session.dockerfile(image), session.walks,
                      session.hashes(image.context_dir), session.setup.buildah)
    lists = _lists(images)
    check_custom_tags([i for i in images if not i.variant] + lists,
                      session.publish.custom_tags)
    for registry in (session.publish.repo, session.publish.final_repo):
        if registry is not None:
            registry.tags()  # once per build, before anything is built: unreachable stops here
    session.depended = frozenset(d.image for image in images for d in image.dependencies)
    for image in images:
        session.reporter.state(image.label, State.WAITING)
    with session.engine.scratch():
        outcome = _build_all(session, images, parallel, limit)
        if not outcome.ok:
            return outcome
        by_image: dict[str, list[Result]] = {}
        for r in outcome.results:
            if r.platform:
                by_image.setdefault(r.name, []).append(r)
        for image in images:
            results = by_image.pop(image.name, None)
            if results is not None:
                outcome.lists.append(manifests.make(session, image, results))
        return outcome


def _again(session: Session, images: list[Image], done: dict[str, Result],
           outcome: Outcome) -> None:
    """Build again, one after another, each image whose stage reused from ``--repo`` was
    deleted after this build decided to reuse it (``publish.vanished``): its local copy is
    pushed, or it is built. What builds on it is unaffected (a stage's digest names its
    content, whatever its tag)."""
    gone = {r.tag: r for r in publish.vanished(session, [done[i.key] for i in images
                                                         if i.key in done])}
    if not gone:
        return
    for image in images:
        old = done.get(image.key)
        if old is None or old.tag not in gone:
            continue
        say_vanished(session, image.label, old.reference,
                     session.local_stage(old.digest, image.label) is not None)
        _record(session, outcome, done, image, partial(build_one, session, image))
    settle(session, list(done))


def _record(session: Session, outcome: Outcome, done: dict[str, Result], image: Image,
            build: Callable[[], Result]) -> None:
    """``image``'s build (``build`` gives its result or raises): its result in ``done``
    and ``session.results``, or why it has none in ``outcome``."""
    done.pop(image.key, None)
    try:
        result = build()
    except StageMissing:  # --require-built-images
        outcome.missing.append(image.key)
        return
    except DockwrightError as exc:
        outcome.failed[image.key] = exc
        session.reporter.state(image.label, State.FAILED, exc.message)
        return
    done[image.key] = session.results[image.key] = result
    if result.rebuilt:
        session.reporter.state(image.label, State.DONE, f"built in {result.seconds:.1f} s")
    else:
        session.reporter.state(image.label, State.REUSED, "from the registry"
                               if result.source == Source.REPO else "locally")


def _lists(images: list[Image]) -> list[Image]:
    """Each image built for several platforms, once (its first platform's build)."""
    seen: dict[str, Image] = {}
    for i in images:
        if i.variant:
            seen.setdefault(i.name, i)
    return list(seen.values())


def _build_all(session: Session, images: list[Image], parallel: bool, limit: int) -> Outcome:
    workers = max(1, limit if parallel else 1)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="build")
    helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot")
    # while the first digests are computed (when Buildah must be asked); builds wait for it
    before = helper.submit(session.engine.containers)
    session.containers_before = before
    try:
        return _schedule(session, images, workers, pool)
    except KeyboardInterrupt as exc:
        _stop(session, before.result(), pool)
        signame = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
        raise Interrupted(f"interrupted by {signame}: the build was stopped, and nothing "
                          "unfinished was tagged", "run the build again to finish it",
                          code=Exit.TERMINATED if isinstance(exc, Terminated)
                          else Exit.INTERRUPTED) from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        helper.shutdown(wait=False)
        session.save_caches()


def _stop(session: Session, before: set[str], pool: ThreadPoolExecutor) -> None:
    """Stop Buildah children and remove what they left; a second signal ends at once."""
    def now(signum: int, frame: object) -> None:
        run.stop_children(signal.SIGKILL)
        raise SystemExit(128 + signum)

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for s in previous:
            signal.signal(s, now)
    except ValueError:  # not the main thread (tests): nothing to install
        previous = {}
    try:
        session.cancelled.set()
        stopped = run.stop_children(signal.SIGTERM)
        session.log("", f"interrupted: stopping {stopped} running command(s)")
        pool.shutdown(wait=True, cancel_futures=True)
        left = session.engine.containers() - before
        if left:
            session.engine.rm(*sorted(left))
            session.log("", f"removed {len(left)} working container(s) left by the build")
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _schedule(session: Session, images: list[Image], limit: int,
              pool: ThreadPoolExecutor) -> Outcome:
    outcome = Outcome()
    done: dict[str, Result] = {}
    pending = list(images)
    running: dict[Future[Result], Image] = {}
    while pending or running:
        for image in list(pending):
            deps = [d.image for d in image.dependencies]
            blocked = [d for d in deps if d in outcome.failed or d in outcome.skipped
                       or d in outcome.missing]
            if blocked:
                pending.remove(image)
                if any(d in outcome.missing for d in blocked):
                    outcome.missing.append(image.key)
                else:
                    outcome.skipped[image.key] = blocked[0]
                    session.reporter.state(image.label, State.SKIPPED,
                                           f"'{blocked[0]}' did not build")
                continue
            if len(running) < limit and all(d in done for d in deps):
                pending.remove(image)
                running[pool.submit(build_one, session, image)] = image
        if not running:
            continue
        finished, _ = wait(list(running), timeout=0.2, return_when=FIRST_COMPLETED)
        for future in finished:
            _record(session, outcome, done, running.pop(future), future.result)
    settle(session, list(done))  # one wait for every stage stored in the registry
    _again(session, images, done, outcome)
    # settled results are in session.results (those settled earlier, for a dependent, too)
    outcome.results = [session.results[i.key] for i in images if i.key in done]
    missing = set(outcome.missing)  # in plan order, not the order the builds finished in
    outcome.missing = [i.key for i in images if i.key in missing]
    return outcome
