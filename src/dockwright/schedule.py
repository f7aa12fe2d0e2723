"""Build images in parallel, in dependency order; stop cleanly when interrupted.

Independent images build at the same time (at most ``limit``); an image starts when every
image it depends on is done. A failure stops what depends on it and lets the rest finish.
On SIGINT/SIGTERM: no new image starts, Buildah children are stopped, containers they left
are removed, and no tag is written for an unfinished image.

Buildah and skopeo keep their temporary files (run bundles, blob copies) in a directory of
this build's own (``TMPDIR``), removed when the build ends however it ends: a Buildah that
is stopped leaves its ``/var/tmp/buildah*`` directories behind otherwise. Not for a user
without ``XDG_RUNTIME_DIR``: Buildah then keeps that user's runtime directory, logins
(auth.json) included, under ``TMPDIR`` (checked on Buildah 1.28), so it must not move.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from dockwright import plan, run
from dockwright.build import build_one
from dockwright.config.model import Image
from dockwright.engine import buildah
from dockwright.errors import DockwrightError, Exit, Interrupted, StageMissing, Terminated
from dockwright.progress import State
from dockwright.publish import check_custom_tags, settle
from dockwright.report import Source
from dockwright.session import Result, Session
from dockwright.storage import local


@dataclass
class Outcome:
    results: list[Result] = field(default_factory=list)  # in plan order
    failed: dict[str, DockwrightError] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # image -> the failure it waits on
    missing: list[str] = field(default_factory=list)  # --require-built-images

    @property
    def ok(self) -> bool:
        return not (self.failed or self.skipped or self.missing)


def containers(session: Session) -> set[str]:
    res = run.run(buildah.buildah_argv(session.setup.store, "containers", "--json"),
                  env=session.env, check=False)
    try:
        return {str(c.get("id")) for c in json.loads(res.stdout or "[]") or []}
    except ValueError:
        return set()


def build_all(session: Session, only: tuple[str, ...] = (), parallel: bool = True,
              limit: int = 5) -> Outcome:
    images = plan.order(session.project, only)
    for image in images:  # bad input anywhere builds nothing
        plan.validate(session.project, image, session.dockerfile(image), session.walks,
                      session.hashes(image.context_dir), session.setup.buildah)
    check_custom_tags(images, session.publish.custom_tags)
    for registry in (session.publish.repo, session.publish.final_repo):
        if registry is not None:
            registry.tags()  # once per build, before anything is built: unreachable stops here
    for image in images:
        session.reporter.state(image.label, State.WAITING)
    with scratch_dir(session):
        return _build_all(session, images, parallel, limit)


@contextlib.contextmanager
def scratch_dir(session: Session) -> Iterator[None]:
    """Point the children's ``TMPDIR`` at a fresh directory where Buildah would put its
    files anyway (``$TMPDIR``, else /var/tmp), and remove it afterwards."""
    if os.geteuid() != 0 and not session.env.get("XDG_RUNTIME_DIR"):
        yield  # see the module doc
        return
    base = session.env.get("TMPDIR") or "/var/tmp"
    try:
        scratch = tempfile.mkdtemp(prefix="dockwright-", dir=base)
    except OSError:
        yield  # Buildah's own default then
        return
    outer = session.env
    session.env = {**outer, "TMPDIR": scratch}
    try:
        yield
    finally:
        session.env = outer
        remove_tree(scratch)


def remove_tree(path: str) -> None:
    """``rm -rf``, also through the unreadable directories a stopped Buildah leaves (its run
    bundle's ``mnt`` is mode 0100), which a user who is not root cannot list."""
    def retry(func: object, target: str, exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(target, 0o700)
            shutil.rmtree(target, ignore_errors=True)

    shutil.rmtree(path, onerror=retry)


def _build_all(session: Session, images: list[Image], parallel: bool, limit: int) -> Outcome:
    workers = max(1, limit if parallel else 1)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="build")
    helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot")
    store = session.setup.store
    known = local.container_ids(store.graph_root, store.driver)
    before: Future[set[str]]
    if known is not None:
        before = Future()
        before.set_result(known)
    else:  # while the first digests are computed; builds wait for it
        before = helper.submit(containers, session)
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
        left = containers(session) - before
        if left:
            run.run(buildah.buildah_argv(session.setup.store, "rm", *sorted(left)),
                    env=session.env, check=False)
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
                    outcome.missing.append(image.name)
                else:
                    outcome.skipped[image.name] = blocked[0]
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
            image = running.pop(future)
            try:
                result = future.result()
            except StageMissing:
                outcome.missing.append(image.name)
                continue
            except DockwrightError as exc:
                outcome.failed[image.name] = exc
                session.reporter.state(image.label, State.FAILED, exc.message)
                continue
            done[image.name] = result
            session.results[image.name] = result
            if result.rebuilt:
                session.reporter.state(image.label, State.DONE,
                                       f"built in {result.seconds:.1f} s")
            else:
                session.reporter.state(image.label, State.REUSED,
                                       "from the registry" if result.source == Source.REPO
                                       else "locally")
    settle(session, list(done))  # one wait for every stage stored in the registry
    # settled results are in session.results (those settled earlier, for a dependent, too)
    outcome.results = [session.results[i.name] for i in images if i.name in done]
    return outcome
