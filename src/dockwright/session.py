"""One build run: the project, the host setup, the store's images, where stages go.

``Session`` is what every stage of the pipeline reads (``build`` per image, ``publish`` for
registries, ``schedule`` for the order); ``Result`` is what an image's build produced.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockwright import context, dockerfile, layers, plan
from dockwright.config.model import Image, Project
from dockwright.engine.base import Engine, LocalImage
from dockwright.host.probes import cache_dir
from dockwright.host.resolve import Setup
from dockwright.progress import Reporter
from dockwright.report import Source
from dockwright.storage import local, usage

if TYPE_CHECKING:
    from dockwright.source.commit import GitSource, Need
    from dockwright.storage.registry import RegistryStages


@dataclass(frozen=True)
class Publish:
    """Where stages and final images go (``--repo``, ``--final-repo``, custom tags)."""

    repo: RegistryStages | None = None
    final_repo: RegistryStages | None = None
    custom_tags: tuple[str, ...] = ()
    require_built: bool = False


@dataclass(frozen=True)
class Result:
    name: str
    reference: str  # where the stage is: "<repo>:<tag>"
    tag: str
    image_id: str  # hex, no "sha256:"
    digest: str  # the stage digest (content-based)
    rebuilt: bool
    final: bool
    seconds: float
    size: str = ""
    source: Source = Source.LOCAL
    image_digest: str = ""  # registry manifest digest, when in a registry
    final_reference: str = ""  # in --final-repo, when given
    platform: str = ""  # one platform's build of an image with several
    platforms: tuple[Result, ...] = ()  # a manifest list: its platforms' builds

    @property
    def key(self) -> str:
        """As ``Image.key``: the image, or the image on one platform."""
        return f"{self.name}@{self.platform}" if self.platform else self.name

    @property
    def repo(self) -> str:
        return self.reference.rsplit(":", 1)[0]


@dataclass
class Session:
    """What one build run knows: the project, the host setup, local images, registries."""

    project: Project
    setup: Setup
    engine: Engine  # every Buildah and skopeo call goes through it
    env: Mapping[str, str]
    reporter: Reporter
    state_dir: Path
    publish: Publish = field(default_factory=Publish)
    listing: Future[list[LocalImage]] | None = None  # the store's images, as listed
    parsed: dict[Path, dockerfile.Dockerfile] = field(default_factory=dict)
    results: dict[str, Result] = field(default_factory=dict)
    cancelled: threading.Event = field(default_factory=threading.Event)
    walks: plan.Walks = field(default_factory=plan.Walks)
    hash_caches: dict[Path, context.HashCache] = field(default_factory=dict)
    hash_root: Path | None = None
    # the store's containers before the build (see schedule.py): no build may start before
    # this list is taken, or an interruption could not tell its containers from others'
    containers_before: Future[set[str]] | None = None
    _local_index: tuple[list[LocalImage], dict[str, local.Stage]] | None = None
    _step_cache: layers.StepCache | None = None
    unsettled: dict[str, Unsettled] = field(default_factory=dict)  # see settle()
    # the images (Image.key) that others in this build depend on (build._from_registry)
    depended: frozenset[str] = frozenset()
    # (base image, platform) -> the ID of that platform's image (bases.pinned)
    pinned: dict[tuple[str, str], str] = field(default_factory=dict)
    # the images this build uses, kept from host cleanups, next to the store's use log
    holds: usage.Holds | None = None
    source: GitSource | None = None  # the git tree the build reads; None: the working tree
    config_needs: list[Need] = field(default_factory=list)  # what werf.yaml was made of
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # images being resolved or built, by digest: an image of the same digest waits for the
    # first one and reuses its stage (image: [a, b], or identical generated images)
    _digests: dict[str, tuple[threading.Lock, str]] = field(default_factory=dict)

    @contextlib.contextmanager
    def digest_turn(self, digest: str, label: str) -> Iterator[str | None]:
        """Hold ``digest`` for ``label``; yields the label of the image that held it before
        (None when none did)."""
        with self._lock:
            held = self._digests.get(digest)
            if held is None:
                held = self._digests[digest] = (threading.Lock(), label)
        lock, first = held
        waited = lock.locked()
        with lock:
            yield first if waited and first != label else None

    def hashes(self, context_dir: Path) -> context.HashCache:
        """The checksum cache of one build context (shared by the images that use it)."""
        with self._lock:
            if context_dir not in self.hash_caches:
                name = hashlib.sha256(str(context_dir).encode()).hexdigest()[:24]
                path = self.hash_root / f"{name}.marshal" if self.hash_root else None
                self.hash_caches[context_dir] = context.HashCache(path)
            return self.hash_caches[context_dir]

    def save_caches(self) -> None:
        for cache in self.hash_caches.values():
            cache.save()

    def log(self, image: str, text: str) -> None:
        self.reporter.message(image, text)

    @property
    def local_repo(self) -> str:
        return local.local_repo(self.project.name)

    @property
    def images(self) -> list[LocalImage]:
        if self.listing is None:
            self.refresh()
        assert self.listing is not None
        return self.listing.result()

    def refresh(self, background: bool = False) -> None:
        """List the store's images (``background``: in a thread, while other work goes on;
        the first use of ``images`` waits for it)."""
        future: Future[list[LocalImage]] = Future()
        self.listing = future

        def list_now() -> None:
            try:
                future.set_result(self.engine.images())
            except BaseException as exc:  # handed to whoever uses the listing
                future.set_exception(exc)

        if background:
            threading.Thread(target=list_now, name="list-images", daemon=True).start()
        else:
            list_now()

    def _set_images(self, images: list[LocalImage]) -> None:
        future: Future[list[LocalImage]] = Future()
        future.set_result(images)
        self.listing = future

    def claim(self, image_id: str) -> bool:
        """Hold ``image_id`` for the rest of this build (no host cleanup removes it now) and
        say whether it is still there: it may have been removed since it was listed."""
        if self.holds is not None:
            self.holds.hold(image_id)
        return self.engine.present(image_id)

    def record_uses(self, results: list[Result]) -> None:
        """Log that this build used its results' images (host cleanup's last use)."""
        if self.holds is None:
            return
        now = usage.now_millis()
        usage.record(self.holds.root, [usage.Use(now, self.project.name, r.name or "~",
                                                r.image_id)
                                      for r in results if len(r.image_id) == 64])

    def add_local(self, image_id: str, reference: str) -> None:
        """Record an image this build just made (its size is filled in by ``sizes``)."""
        self.claim(image_id)
        with self._lock:
            self._set_images([*self.images, LocalImage(image_id, (reference,), 0, "")])

    def sizes(self, results: list[Result]) -> list[Result]:
        """``results`` with the sizes of what was built, from one listing of the store."""
        if all(r.size for r in results):
            return results
        self.refresh()
        by_id = {i.id: i.size for i in self.images}
        return [r if r.size else replace(r, size=by_id.get(r.image_id, "")) for r in results]

    def local_stage(self, digest: str, label: str = "") -> local.Stage | None:
        """The oldest stage for ``digest`` in local storage, held for this build (see
        ``claim``). One removed since the store was listed is looked up again in a new
        listing, and ``label``'s log says so."""
        found = self._indexed_stage(digest)
        while found is not None and not self.claim(found.image_id):
            self.log(label, f"{found.reference} was removed from local storage (by a cleanup?) "
                     "after this build listed it: looking for the stage again")
            self.refresh()
            found = self._indexed_stage(digest)
        return found

    def _indexed_stage(self, digest: str) -> local.Stage | None:
        images = self.images
        with self._lock:
            if self._local_index is None or self._local_index[0] is not images:
                index: dict[str, local.Stage] = {}
                for repo in self.stage_repos():
                    for key, stage in local.stages(images, repo).items():
                        if key not in index or stage.millis < index[key].millis:
                            index[key] = stage
                self._local_index = (images, index)
            return self._local_index[1].get(digest)

    @property
    def step_cache(self) -> layers.StepCache:
        with self._lock:
            if self._step_cache is None:
                self._step_cache = layers.StepCache(
                    self.project, self.state_dir, lambda: {i.id for i in self.images},
                    self.engine.image_ids, self.log, self.claim)
            return self._step_cache

    def step_registry(self, image: Image) -> RegistryStages | None:
        """Where the steps of ``image`` are shared: ``--repo``, for ``staged: true``."""
        return self.publish.repo if image.staged else None

    def stage_repos(self) -> list[str]:
        repos = [self.local_repo]
        if self.publish.repo:
            repos.append(self.publish.repo.repo)
        return repos

    def use_source(self, source: GitSource, config_needs: list[Need]) -> None:
        """Read contexts from ``source``'s git tree, not the working tree."""
        self.source = source
        self.config_needs = config_needs
        self.walks.lister = lambda image, ignore: source.listing(image.context_dir, ignore)

    def context_dir(self, image: Image) -> Path:
        """The directory Buildah gets as ``image``'s context."""
        return self.source.context_dir(image.context_dir) if self.source else image.context_dir

    def dockerfile(self, image: Image) -> dockerfile.Dockerfile:
        if image.dockerfile_path not in self.parsed:
            display = os.path.relpath(image.dockerfile_path, self.project.dir)
            self.parsed[image.dockerfile_path] = dockerfile.parse(image.dockerfile_path, display)
        return self.parsed[image.dockerfile_path]


def new_session(project: Project, setup: Setup, engine: Engine, env: Mapping[str, str],
                reporter: Reporter, home: Path, publish: Publish | None = None) -> Session:
    # per store: another store's builds say nothing about what this one holds
    cache = cache_dir(env, home)
    uses = usage.usage_dir(cache, setup.store.graph_root)
    state = usage.records_dir(cache, setup.store.graph_root) / project.name
    holds = usage.Holds(uses)
    holds.building()  # before Buildah makes anything (host cleanup: running_since)
    session = Session(project, setup, engine, env, reporter, state, publish or Publish(),
                      hash_root=cache / "hashes", holds=holds)
    known = engine.known_images()
    if known is not None:
        session._set_images(known)  # sizes, when shown, come from one listing at the end
    else:
        session.refresh(background=True)  # while werf.yaml's images are validated
    return session


@dataclass
class Unsettled:
    """A stage this build stored, until no older tag for its digest can still appear."""

    result: Result
    stamp: int  # unix millis of its tag
    claimed: bool = False
    done: threading.Event = field(default_factory=threading.Event)
