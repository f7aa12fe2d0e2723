"""The instruction cache at work for one image build: which steps are cached (locally, or
in ``--repo`` for ``staged: true`` images), the Dockerfile Buildah gets, and what the build
leaves for the next one. The keys and the derived Dockerfile are ``dockwright.steps``; where
cached images are is ``dockwright.storage.stepcache``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dockwright import cachefile, context, plan, run, steps
from dockwright.config.model import Image, Project
from dockwright.dockerfile import Analysis, Dockerfile
from dockwright.errors import BuildFailed, RegistryError
from dockwright.storage import stepcache
from dockwright.storage.usage import DOCKERFILES

if TYPE_CHECKING:
    from dockwright.storage.registry import RegistryStages


@dataclass(frozen=True)
class Verdict:
    """One step of a planned build: where it comes from, or why it runs."""

    keyed: steps.Keyed
    cached: str  # "local" | "repo"; "" when it runs
    why: str = ""  # when it runs

    def line(self, display: str) -> str:
        head = f"{display}:{self.keyed.step.line} {steps.short(self.keyed.step.text, 50)}"
        return f"{head}: cached ({self.cached})" if self.cached else f"{head}: runs: {self.why}"


@dataclass(frozen=True)
class Plan:
    """What one image build takes from the cache, per used stage."""

    chain: steps.Chain
    prefixes: Mapping[int, tuple[int, str]]  # stage -> (cached steps, image ID)
    cached: Mapping[tuple[int, int], str]  # the steps a prefix covers: "local" | "repo"
    available: Mapping[tuple[int, int], str]  # every step found, by place: "local" | "repo"
    limits: Mapping[int, int] = field(default_factory=dict)  # stage -> steps a prefix may cover

    def verdicts(self, previous: Mapping[str, steps.Record]) -> list[Verdict]:
        out = []
        runs: set[int] = set()  # stages where a step runs
        for keyed in self.chain.steps:
            stage, position = keyed.where
            if keyed.where in self.cached:
                out.append(Verdict(keyed, self.cached[keyed.where]))
                continue
            if stage not in runs and keyed.where in self.available and \
                    position >= self.limits.get(stage, position + 1):
                reason = "a cached step is not used past ONBUILD (its image would trigger it)"
            else:
                reason = steps.why(keyed, previous.get(f"{stage}:{position}"), stage in runs)
            runs.add(stage)
            out.append(Verdict(keyed, "", reason))
        return out

    def lines(self, previous: Mapping[str, steps.Record], display: str) -> list[str]:
        """One line per step: from the cache (where) or why it runs."""
        return [v.line(display) for v in self.verdicts(previous)]


@dataclass
class StepCache:
    """The instruction cache of one build run (shared by its images)."""

    project: Project
    state_dir: Path
    present: Callable[[], set[str]]  # IDs of the images in the store, as listed
    store_ids: Callable[[], set[str]]  # IDs of the images in the store now (a new listing)
    log: Callable[[str, str], None]
    claim: Callable[[str], bool] = lambda image_id: True  # held, and still there (Session)
    index: stepcache.LocalIndex = field(init=False)
    _made: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.index = stepcache.LocalIndex(self.state_dir / "steps.json")

    # -- keys -------------------------------------------------------------------------------

    def chain(self, image: Image, analysis: Analysis, base_ids: Mapping[str, str | None],
              walks: plan.Walks, hashes: context.HashCache) -> steps.Chain:
        ignore = context.load_ignore(image.context_dir, image.dockerfile_path)
        listing: list[context.Listing] = []

        def read(patterns: tuple[str, ...]) -> tuple[str, steps.Files]:
            """As the image's own context entry is made (context.sources): the root over
            the files' lines, cached with the listing; the lines only for a few files."""
            if not listing:
                listing.append(plan.context_listing(image, ignore, walks, hashes))
            where = [(p, image.dockerfile_path.name) for p in patterns]
            found = context.sources(image.context_dir, listing[0], where, ignore, hashes,
                                    details=False)
            files: steps.Files = ()
            if found.paths <= steps.MAX_FILES:
                files = found.details or context.sources(
                    image.context_dir, listing[0], where, ignore, hashes, details=True).details \
                    or ()
            return f"{found.paths} paths, sha256:{found.root}", files

        salt = "\n".join((self.project.name, plan.image_platform(self.project, image) or "",
                          image.cache_version or self.project.cache_version or ""))
        return steps.chain(analysis, salt, base_ids, read)

    # -- what is cached ---------------------------------------------------------------------

    def plan(self, label: str, chain: steps.Chain, analysis: Analysis,
             registry: RegistryStages | None, pull: bool) -> Plan:
        """The longest cached prefix of each used stage: the local store first, then
        ``registry`` (pulled when ``pull``; an entry that cannot be pulled is a miss, with a
        warning, and a shorter prefix is tried)."""
        local = self._local()
        remote = stepcache.remote_keys(registry.tags()) if registry is not None else set()
        prefixes: dict[int, tuple[int, str]] = {}
        cached: dict[tuple[int, int], str] = {}
        available: dict[tuple[int, int], str] = {}
        limits: dict[int, int] = {}
        for head in analysis.heads:
            stage_steps = chain.of_stage(head.stage)
            limits[head.stage] = steps.reusable(stage_steps)
            for keyed in stage_steps:
                if keyed.key in local:
                    available[keyed.where] = "local"
                elif keyed.key in remote:
                    available[keyed.where] = "repo"
            for n in range(limits[head.stage], 0, -1):
                keyed = stage_steps[n - 1]
                image_id = local.get(keyed.key, "")
                where = "local"
                if image_id and not self.claim(image_id):
                    self.log(label, f"the cached step image {image_id[:12]} was removed (by a "
                             "cleanup?) after this build listed it: the step runs again")
                    image_id = ""
                if not image_id:
                    if registry is None or keyed.key not in remote:
                        continue
                    where = "repo"
                    if pull:
                        image_id = self._pull(label, registry, keyed.key)
                        if not image_id:
                            continue
                prefixes[head.stage] = (n, image_id)
                cached.update((k.where, where) for k in stage_steps[:n])
                break
        return Plan(chain, prefixes, cached, available, limits)

    def _local(self) -> dict[str, str]:
        present = self.present()
        with self._lock:
            present = present | self._made
        return {k: v for k, v in self.index.entries().items() if v in present}

    def _pull(self, label: str, registry: RegistryStages, key: str) -> str:
        ref = f"{registry.repo}:{stepcache.remote_tag(key)}"
        result = registry.pull(ref)
        image_id = result.stdout.strip().splitlines()[-1] if result.ok and result.stdout \
            else ""
        if not result.ok or len(image_id) != 64:
            self.log(label, f"warning: the cached step {ref} cannot be pulled "
                            f"({run.last_line(result.stderr, 'no output')}): a cache miss")
            return ""
        with self._lock:
            self._made.add(image_id)
        self.index.add({key: image_id})
        return image_id

    # -- the Dockerfile Buildah gets ----------------------------------------------------------

    def derive(self, image: Image, parsed: Dockerfile, step_plan: Plan, scratch: Path,
               labels: tuple[str, str] = ("", ""), label_stage: int = -1
               ) -> tuple[Path, steps.Derived]:
        """The derived Dockerfile, written where Buildah can read it (its ignore file
        beside it when the original has one of its own: Buildah looks for
        ``<Dockerfile>.dockerignore`` next to the file it is given): in the cache directory,
        where it stays for a look (``--debug`` names it), else in ``scratch``, the build's
        own temporary directory (a cache directory that cannot be written fails no build).
        With ``labels`` (``steps.derive``: the last names the build's digest) there is one
        per build: a host cleanup removes those not used within its ``--keep-hours``."""
        binds = {k.where: k.bind_digest for k in step_plan.chain.steps if k.step.binds}
        derived = steps.derive(parsed.text, parsed, binds, step_plan.prefixes, labels,
                               label_stage)
        files = {image.dockerfile_path.name: derived.text.encode()}
        for suffix in (".dockerignore", ".containerignore"):
            own = image.dockerfile_path.with_name(image.dockerfile_path.name + suffix)
            if own.is_file():
                files[own.name] = own.read_bytes()
        # named by everything in it, so that a directory once written never changes
        name = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()[:24]
        target = image.dockerfile_path.name
        for directory in (self.state_dir / DOCKERFILES / name, scratch / name):
            if not (directory / target).exists():
                for file_name, data in files.items():  # the Dockerfile last: it marks them done
                    if file_name != target:
                        cachefile.write(directory / file_name, data)
                cachefile.write(directory / target, derived.text.encode())
            else:  # (only the kept one can be there already)
                with contextlib.suppress(OSError):
                    os.utime(directory)  # used now: a host cleanup leaves it
            if (directory / target).exists():
                return directory / target, derived
        raise BuildFailed(f"image '{image.label}': the Dockerfile for Buildah cannot be written "
                          f"to {scratch}", "check the space and permissions of TMPDIR")

    # -- after the build ----------------------------------------------------------------------

    def record(self, image: Image, step_plan: Plan, derived: steps.Derived,
               seen: steps.StepIds, final_id: str) -> tuple[int, int]:
        """Index the images Buildah made for the steps; returns (steps from the cache,
        steps that ran)."""
        by_place = seen.by_place(derived)
        present = self.store_ids() | {final_id}
        full = self._full_ids({image_id for image_id, _ in by_place.values()}, present)
        found: dict[str, str] = {}
        from_cache = len(step_plan.cached)
        ran = 0
        for keyed in step_plan.chain.steps:
            made = by_place.get(keyed.where)
            if made is None:
                continue
            if made[1]:
                from_cache += 1
            else:
                ran += 1
            image_id = full.get(made[0])
            if image_id:
                found[keyed.key] = image_id
        with self._lock:
            self._made.update(found.values())
        self.index.add(found, present | self._made)
        stepcache.write_records(stepcache.records_path(self.state_dir, image.key),
                                {f"{k.where[0]}:{k.where[1]}": steps.Record.of(k)
                                 for k in step_plan.chain.steps})
        return from_cache, ran

    @staticmethod
    def _full_ids(printed: set[str], known: set[str]) -> dict[str, str]:
        """Buildah prints a step's image ID in short: the store's images complete it."""
        out = {}
        for short in printed:
            matches = [i for i in known if i.startswith(short)]
            if len(matches) == 1:
                out[short] = matches[0]
        return out

    def previous(self, image: Image) -> dict[str, steps.Record]:
        return stepcache.read_records(stepcache.records_path(self.state_dir, image.key))

    def publish(self, label: str, step_plan: Plan, registry: RegistryStages) -> int:
        """Push the images of the layer steps that the registry lacks; returns how many.
        A failed push is a warning: the next build misses that step, nothing more."""
        local = self._local()
        remote = stepcache.remote_keys(registry.tags())
        pushed = 0
        for keyed in steps.layer_keys(step_plan.chain.steps):
            image_id = local.get(keyed.key)
            if image_id is None or keyed.key in remote:
                continue
            tag = stepcache.remote_tag(keyed.key)
            try:
                registry.push(image_id, tag, f"pushing {registry.repo}:{tag}")
            except RegistryError as exc:
                self.log(label, f"warning: the cached step {registry.repo}:{tag} was not "
                                f"pushed ({exc.message})")
                continue
            registry.added(tag)
            pushed += 1
        return pushed
