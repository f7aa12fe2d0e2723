"""The build pipeline: plan -> digest -> stage lookup (local, registry) -> Buildah -> publish.

An image whose digest already has a stage (locally, or in the ``--repo`` registry) is reused,
never rebuilt. Images build one at a time in dependency order.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

from dockwright import cachefile, context, dockerfile, layers, plan, run, steps
from dockwright.config.model import Image, ImageSpec, Project, Secret
from dockwright.digest import CONTEXT, Manifest, diff
from dockwright.engine import buildah, skopeo
from dockwright.errors import BuildFailed, CommandFailed, ConfigError, Interrupted, UsageError
from dockwright.host.probes import cache_dir
from dockwright.host.resolve import Setup
from dockwright.progress import Reporter
from dockwright.report import ImageRecord
from dockwright.storage import local
from dockwright.storage.registry import UPLOAD_SUFFIX, RegistryError, RegistryStages, call, failure


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
    source: str = "local"  # "local" | "repo" | "built"
    image_digest: str = ""  # registry manifest digest, when in a registry
    final_reference: str = ""  # in --final-repo, when given

    @property
    def repo(self) -> str:
        return self.reference.rsplit(":", 1)[0]


@dataclass
class Session:
    """What one build run knows: the project, the host setup, local images, registries."""

    project: Project
    setup: Setup
    env: Mapping[str, str]
    reporter: Reporter
    state_dir: Path
    publish: Publish = field(default_factory=Publish)
    listing: Future[list[buildah.LocalImage]] | None = None  # the store's images, as listed
    parsed: dict[Path, dockerfile.Dockerfile] = field(default_factory=dict)
    results: dict[str, Result] = field(default_factory=dict)
    cancelled: threading.Event = field(default_factory=threading.Event)
    walks: plan.Walks = field(default_factory=dict)
    hash_caches: dict[Path, context.HashCache] = field(default_factory=dict)
    hash_root: Path | None = None
    # the store's containers before the build (see schedule.py): no build may start before
    # this list is taken, or an interruption could not tell its containers from others'
    containers_before: Future[set[str]] | None = None
    _local_index: tuple[list[buildah.LocalImage], dict[str, local.Stage]] | None = None
    _step_cache: layers.StepCache | None = None
    unsettled: dict[str, Unsettled] = field(default_factory=dict)  # see settle()
    storage_confs: list[Path] = field(default_factory=list)
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
    def images(self) -> list[buildah.LocalImage]:
        if self.listing is None:
            self.refresh()
        assert self.listing is not None
        return self.listing.result()

    def refresh(self, background: bool = False) -> None:
        """List the store's images (``background``: in a thread, while other work goes on;
        the first use of ``images`` waits for it)."""
        future: Future[list[buildah.LocalImage]] = Future()
        self.listing = future

        def list_now() -> None:
            try:
                future.set_result(buildah.list_images(self.setup.store, self.env))
            except BaseException as exc:  # handed to whoever uses the listing
                future.set_exception(exc)

        if background:
            threading.Thread(target=list_now, name="list-images", daemon=True).start()
        else:
            list_now()

    def _set_images(self, images: list[buildah.LocalImage]) -> None:
        future: Future[list[buildah.LocalImage]] = Future()
        future.set_result(images)
        self.listing = future

    def add_local(self, image_id: str, reference: str) -> None:
        """Record an image this build just made (its size is filled in by ``sizes``)."""
        with self._lock:
            self._set_images([*self.images, buildah.LocalImage(image_id, (reference,), 0, "")])

    def sizes(self, results: list[Result]) -> list[Result]:
        """``results`` with the sizes of what was built, from one listing of the store."""
        if all(r.size for r in results):
            return results
        self.refresh()
        by_id = {i.id: i.size for i in self.images}
        return [r if r.size else replace(r, size=by_id.get(r.image_id, "")) for r in results]

    def local_stage(self, digest: str) -> local.Stage | None:
        """The oldest stage for ``digest`` in local storage (indexed once per listing)."""
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
                    self.project, self.setup.store, self.env, self.state_dir,
                    lambda: {i.id for i in self.images}, self.store_ids, self.log)
            return self._step_cache

    def store_ids(self) -> set[str]:
        """The IDs of every image in the store now (untagged step images included)."""
        store = self.setup.store
        found = local.read_images(store.graph_root, store.driver, self.storage_confs)
        if found is not None:
            return {i.id for i in found}
        listed = run.run(buildah.all_ids_argv(store), env=self.env)
        return {line.strip().removeprefix("sha256:") for line in listed.stdout.splitlines()
                if line.strip()}

    def step_registry(self, image: Image) -> RegistryStages | None:
        """Where the steps of ``image`` are shared: ``--repo``, for ``staged: true``."""
        return self.publish.repo if image.staged else None

    def stage_repos(self) -> list[str]:
        repos = [self.local_repo]
        if self.publish.repo:
            repos.append(self.publish.repo.repo)
        return repos

    def dockerfile(self, image: Image) -> dockerfile.Dockerfile:
        if image.dockerfile_path not in self.parsed:
            display = os.path.relpath(image.dockerfile_path, self.project.dir)
            self.parsed[image.dockerfile_path] = dockerfile.parse(image.dockerfile_path, display)
        return self.parsed[image.dockerfile_path]


def new_session(project: Project, setup: Setup, env: Mapping[str, str], reporter: Reporter,
                home: Path, publish: Publish | None = None) -> Session:
    # per store: another store's builds say nothing about what this one holds
    store_key = hashlib.sha256(str(setup.store.graph_root).encode()).hexdigest()[:16]
    state = cache_dir(env, home) / "manifests" / store_key / project.name
    session = Session(project, setup, env, reporter, state, publish or Publish(),
                      hash_root=cache_dir(env, home) / "hashes")
    session.storage_confs = storage_confs(env, home)
    known = local.read_images(setup.store.graph_root, setup.store.driver,
                              session.storage_confs)
    if known is not None:
        session._set_images(known)  # sizes, when shown, come from one listing at the end
    else:
        session.refresh(background=True)  # while werf.yaml's images are validated
    return session


def storage_confs(env: Mapping[str, str], home: Path) -> list[Path]:
    """Where containers/storage reads its configuration, for this user."""
    if env.get("CONTAINERS_STORAGE_CONF"):
        return [Path(env["CONTAINERS_STORAGE_CONF"])]
    config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    return [config / "containers" / "storage.conf", Path("/etc/containers/storage.conf"),
            Path("/usr/share/containers/storage.conf")]


def import_values(session: Session, image: Image) -> dict[str, str]:
    values: dict[str, str] = {}
    for dep in image.dependencies:
        built = session.results.get(dep.image)
        if built is None:
            raise BuildFailed(f"image '{image.label}' needs '{dep.image}', which is not built",
                              "run 'dockwright build' (without --explain) first")
        for imp in dep.imports:
            values[imp.target_build_arg] = {
                "ImageName": built.reference,
                "ImageTag": built.tag,
                "ImageRepo": built.repo,
                "ImageID": f"sha256:{built.image_id}",
                "ImageDigest": built.image_digest or _local_digest(session, built),
            }[imp.type]
    return values


def _local_digest(session: Session, built: Result) -> str:
    found = next((i for i in session.images if i.id == built.image_id), None)
    return found.digest if found else ""


def base_ids(session: Session, refs: tuple[str, ...], pull: bool) -> dict[str, str | None]:
    """Image IDs of the base images; ``pull`` fetches what is missing (needed to build)."""
    own = {r.reference: r for r in session.results.values()}
    out: dict[str, str | None] = {}
    for ref in refs:
        found = buildah.find_local(session.images, ref)
        if found is None and ref in own:
            out[ref] = own[ref].image_id  # our own stage: known without pulling it
            continue
        if found is None and pull:
            _pull(session, ref)
            found = buildah.find_local(session.images, ref)
        out[ref] = found.id if found else None
    return out


def _pull(session: Session, ref: str) -> None:
    repo = session.publish.repo
    if repo and ref.startswith(repo.repo + ":"):
        result = repo.pull(session.setup.store, ref, session.env)
        if not result.ok:
            raise failure(f"pulling {ref}", result, repo.repo)
    else:
        result = run.run(buildah.pull_argv(session.setup.store, ref), env=session.env,
                         check=False)
        if not result.ok:
            why = run.last_line(result.stderr, "no output")
            raise RegistryError(
                f"base image '{ref}' is not in local storage and could not be pulled: {why}",
                "build or pull the base image first, or fix the FROM reference",
            )
    session.refresh()


def image_inputs(session: Session, image: Image, pull: bool,
                 details: bool = False) -> plan.Inputs:
    parsed = session.dockerfile(image)
    imports = import_values(session, image)
    analysis = dockerfile.analyze(parsed, image.target, {**image.args_dict, **imports})
    ids = base_ids(session, analysis.bases, pull)
    return plan.inputs(session.project, image, imports, ids, parsed, session.walks,
                       session.hashes(image.context_dir), analysis, details)


def _manifest_path(session: Session, image: Image) -> Path:
    return session.state_dir / f"{image.name.replace('/', '__')}.json"


def previous_manifest(session: Session, image: Image) -> Manifest | None:
    try:
        return Manifest.from_json(_manifest_path(session, image).read_text())
    except (OSError, ValueError, KeyError):
        return None


def remember(session: Session, image: Image, manifest: Manifest) -> None:
    path = _manifest_path(session, image)
    marker = path.with_suffix(".digest")
    with contextlib.suppress(OSError):
        if marker.read_text() == manifest.digest and path.exists():
            return  # unchanged since last time: a large manifest is not written again
    if manifest.details is None:
        # the context came from the cache: the previous paths still hold if its entry is
        # the same, so that the next rebuild can still name the paths that changed
        previous = previous_manifest(session, image)
        if previous is not None and previous.details is not None and \
                dict(previous.entries).get(CONTEXT) == dict(manifest.entries).get(CONTEXT):
            manifest = replace(manifest, details=previous.details)
    cachefile.write(path, manifest.to_json().encode())
    cachefile.write(marker, manifest.digest.encode())


@contextlib.contextmanager
def secret_files(secrets: tuple[Secret, ...], env: Mapping[str, str],
                 context_dir: Path) -> Iterator[tuple[tuple[str, str], ...]]:
    """Secrets as files Buildah can read; values from env or werf.yaml go to 0600 temp files."""
    made: list[str] = []
    out: list[tuple[str, str]] = []
    try:
        for s in secrets:
            if s.src is not None:
                path = os.path.expanduser(s.src)
                if not os.path.isabs(path):
                    path = str(context_dir / path)
                if not os.path.isfile(path):
                    raise ConfigError(f"secret '{s.id}': file {s.src} does not exist",
                                      "create it or fix 'src'")
                out.append((s.id, path))
                continue
            if s.env is not None:
                if s.env not in env:
                    raise ConfigError(f"secret '{s.id}': environment variable {s.env} is not "
                                      "set", f"export {s.env}=... before the build")
                value = env[s.env]
            else:
                value = s.value or ""
            fd, path = tempfile.mkstemp(prefix="dockwright-secret-")
            made.append(path)
            with os.fdopen(fd, "w") as f:
                f.write(value)
            out.append((s.id, path))
        yield tuple(out)
    finally:
        for path in made:
            with contextlib.suppress(OSError):
                os.unlink(path)


class StageMissing(Exception):
    """With --require-built-images: the stage for this digest exists nowhere."""


def build_one(session: Session, image: Image) -> Result:
    log = session.log
    started = time.monotonic()
    session.reporter.state(image.label, "resolving")
    settle(session, [d.image for d in image.dependencies])  # the stages it builds on
    inputs = image_inputs(session, image, pull=not session.publish.require_built)
    with session.digest_turn(inputs.digest, image.label) as waited_for:
        if waited_for is not None:
            log(image.label, f"{waited_for} has the same digest: its stage is reused")
        return _resolve_and_build(session, image, inputs, started)


def _resolve_and_build(session: Session, image: Image, inputs: plan.Inputs,
                       started: float) -> Result:
    log = session.log
    digest = inputs.digest
    registry = session.publish.repo
    found = session.local_stage(digest)

    if registry is not None:
        remote = registry.settled(digest)
        if remote is not None:
            remember(session, image, inputs.manifest)
            local_copy = found if found and found.tag == remote.tag else None
            image_id = local_copy.image_id if local_copy else registry.image_id(remote.tag)
            log(image.label, f"reused {remote.reference} (in the registry)")
            session.reporter.state(image.label, "reused", "from the registry")
            result = Result(image.name, remote.reference, remote.tag, image_id, digest, False,
                            image.final, time.monotonic() - started,
                            local_copy.size if local_copy else registry.size(remote.tag),
                            "repo", registry.manifest_digest(remote.tag))
            return _publish_final(session, image, result)
        if found is not None:
            remember(session, image, inputs.manifest)
            log(image.label, f"found {found.reference} locally; pushing it to {registry.repo}")
            session.reporter.state(image.label, "pushing")
            result = _push_stage(session, image, found.reference, found.image_id, digest,
                                 False, started, found.size)
            if session.step_registry(image) is not None:  # and its steps this store has
                _push_steps(session, image, _step_plan(session, image, inputs, pull=False))
            return _publish_final(session, image, result)
    elif found is not None:
        remember(session, image, inputs.manifest)
        log(image.label, f"reused {found.reference}")
        session.reporter.state(image.label, "reused", "locally")
        result = Result(image.name, found.reference, found.tag, found.image_id, digest, False,
                        image.final, time.monotonic() - started, found.size, "local")
        return _publish_final(session, image, result)

    if session.publish.require_built:
        raise StageMissing(image.name)
    if session.cancelled.is_set():
        raise Interrupted("interrupted before it started")
    session.reporter.state(image.label, "building")
    _say_why(session, image, inputs.manifest)
    tag = f"{digest}-{int(time.time() * 1000)}"
    reference = f"{session.local_repo}:{tag}"
    image_id, step_plan = _build(session, image, inputs, reference)
    size = ""  # filled in at the end (Session.sizes): one listing of the store, not one each
    remember(session, image, inputs.manifest)
    log(image.label, f"built {reference} in {time.monotonic() - started:.1f} s")
    if registry is not None:
        session.reporter.state(image.label, "pushing")
        result = _push_stage(session, image, reference, image_id, digest, True, started, size)
        _push_steps(session, image, step_plan)  # after the stage: its blobs are up, it settles
    else:
        result = Result(image.name, reference, tag, image_id, digest, True, image.final,
                        time.monotonic() - started, size, "built")
    return _publish_final(session, image, result)


def _push_steps(session: Session, image: Image, step_plan: layers.Plan) -> None:
    """The images of ``image``'s steps to ``--repo``, for a ``staged: true`` image."""
    registry = session.step_registry(image)
    if registry is None:
        return
    pushed = session.step_cache.publish(image.label, step_plan, registry)
    if pushed:
        session.log(image.label, f"pushed {pushed} cached step(s) to {registry.repo}")


def _say_why(session: Session, image: Image, manifest: Manifest) -> None:
    previous = previous_manifest(session, image)
    if previous and previous.digest != manifest.digest:
        changes = diff(previous, manifest)
        session.log(image.label, f"rebuilding: {len(changes)} input(s) changed since "
                                f"{previous.digest[:12]}:")
        for line in changes:
            session.log(image.label, f"  {line}")
    elif previous is None:
        session.log(image.label, "building: no earlier build of this image")
    else:
        session.log(image.label, "building: the stage for this digest is gone")


def run_network(configured: str | None, setup: Setup) -> str | None:
    """Buildah's ``--network`` for an image's RUN steps: werf.yaml's ``network`` first, then
    the build's (``Setup.network``); None for a network of their own (Buildah's default)
    and for chroot isolation, which always shares the host's."""
    if setup.isolation.kind != "oci":
        return None
    wanted = configured if configured not in (None, "", "default") else setup.network
    return None if wanted == "private" else wanted


def _build(session: Session, image: Image, inputs: plan.Inputs,
           reference: str) -> tuple[str, layers.Plan]:
    """Build ``image`` as ``reference``: its image ID, and what its steps took from the
    instruction cache."""
    own = {r.reference for r in session.results.values()}
    for ref in inputs.analysis.bases:  # stages of ours that only the registry has
        if ref in own and buildah.find_local(session.images, ref) is None:
            _pull(session, ref)
    network = run_network(image.network, session.setup)
    cache = session.step_cache
    step_plan = _step_plan(session, image, inputs, pull=True)
    display = os.path.relpath(image.dockerfile_path, session.project.dir)
    first_runs: set[int] = set()
    for verdict in step_plan.verdicts(cache.previous(image)):
        stage = verdict.keyed.step.stage
        if not verdict.cached and stage not in first_runs:  # the first step to run, and why
            first_runs.add(stage)
            session.log(image.label, verdict.line(display))
    seen = steps.StepIds()

    def on_line(line: str) -> None:
        seen.feed(line)
        session.reporter.output(image.label, line)

    with tempfile.TemporaryDirectory(prefix="dockwright-") as tmp, \
            secret_files(image.secrets, session.env, image.context_dir) as secrets:
        dockerfile_path, derived = cache.derive(image, session.dockerfile(image), step_plan,
                                                Path(tmp))
        if session.containers_before is not None:
            session.containers_before.result()
        spec = buildah.BuildSpec(
            context_dir=image.context_dir,
            dockerfile=dockerfile_path,
            tag=None if image.image_spec else reference,  # tagged once the spec is applied
            target=image.target,
            build_args=inputs.build_args,
            labels=(("werf", session.project.name),
                    ("werf-stage-content-digest", inputs.digest)),
            # every step image carries the project's label, for a cleanup to find it
            layer_labels=(("werf", session.project.name),) if (buildah.parse_version(
                session.setup.buildah) or (0, 0)) >= buildah.LAYER_LABEL_BUILDAH else (),
            add_hosts=image.add_host,
            network=network,
            platform=plan.image_platform(session.project, image),
            secrets=secrets,
            ssh=image.ssh,
            layers=True,  # no --iidfile: Buildah then prints each step's image (StepIds)
        )
        result = buildah.build(session.setup.store, session.setup.isolation, spec, session.env,
                               on_line)
        if session.cancelled.is_set():
            raise Interrupted(f"image '{image.label}': its build was stopped")
        if not result.ok:
            why = run.last_line(result.stderr, "no output")
            raise BuildFailed(f"image '{image.label}' failed to build: {why}",
                              "see the Buildah output above; rerun with --debug for the "
                              "exact command")
        image_id = seen.final or (_local_id(session, reference) if spec.tag else "")
        if not image_id:
            raise BuildFailed(f"image '{image.label}': Buildah did not say which image it built",
                              "rerun with --debug and report the Buildah output")
        from_cache, ran = cache.record(image, step_plan, derived, seen, image_id)
        session.log(image.label, f"steps: {from_cache} from the cache, {ran} run")
        if image.image_spec:
            image_id = _apply_image_spec(session, image, image.image_spec, image_id, reference,
                                         Path(tmp))
    session.add_local(image_id, reference)  # no need to list the whole store again
    return image_id, step_plan


def _local_id(session: Session, reference: str) -> str:
    """The ID of the local image ``reference`` (when Buildah's output did not end with it)."""
    inspected = run.run(buildah.inspect_argv(session.setup.store, reference), env=session.env,
                        check=False)
    try:
        return str(json.loads(inspected.stdout or "{}").get("FromImageID", ""))
    except ValueError:
        return ""


def _apply_image_spec(session: Session, image: Image, spec: ImageSpec, built: str,
                      reference: str, tmp: Path) -> str:
    """Apply werf's imageSpec to the image ``built`` (untagged) and commit the result as
    ``reference``; returns its ID. The untagged image stays (a step image); the working
    container, however this ends."""
    from dockwright.engine import imagespec  # only images with a spec pay its import

    store = session.setup.store

    def buildah_call(argv: list[str]) -> run.Result:
        try:
            return run.run(argv, env=session.env)
        except CommandFailed as exc:
            raise BuildFailed(f"image '{image.label}': applying imageSpec failed: "
                              f"{exc.message}", exc.hint) from None

    inspected = json.loads(buildah_call(buildah.inspect_argv(store, built)).stdout or "{}")
    change = imagespec.change(spec, inspected.get("OCIv1", {}).get("config") or {},
                              session.project.name, image.name)
    for warning in change.warnings:
        session.log(image.label, f"warning: {warning}")
    container = f"dockwright-spec-{built[:12]}-{os.getpid()}-{threading.get_ident()}"
    buildah_call(buildah.from_argv(store, built, container))
    iidfile = tmp / "spec-iid"
    try:
        buildah_call(buildah.config_argv(store, container, change.config_args))
        buildah_call(buildah.commit_argv(store, container, reference, iidfile,
                                         change.omit_history))
    except BaseException:
        run.run(buildah.rm_argv(store, container), env=session.env, check=False)
        raise
    # ``built`` stays, untagged: it is the build's last step image, and removing it would
    # remove the untagged step images under it too (the instruction cache)
    return iidfile.read_text().strip().removeprefix("sha256:")


def _push_stage(session: Session, image: Image, source: str, image_id: str, digest: str,
                rebuilt: bool, started: float, size: str) -> Result:
    """Store a local stage in the registry unless another builder stored the same digest
    meanwhile: as in werf, the stage already there wins and this one is discarded. The
    stored stage is settled later (``settle``): nothing waits for that but what needs it."""
    registry = session.publish.repo
    assert registry is not None
    publishing = time.monotonic()
    winner = registry.settled(digest, refresh=True)
    if winner is not None:
        session.log(image.label, f"{winner.reference} was stored by another builder first: "
                                f"discarding own {source}")
        return _winner(session, image, winner, digest, rebuilt, started, size)
    manifest_digest = registry.push(session.setup.store, source, f"{digest}{UPLOAD_SUFFIX}",
                                    session.env, f"pushing {image.name} to {registry.repo}")
    own, stamp = registry.stamp(image.name, manifest_digest, digest)
    session.log(image.label, f"published the stage in {time.monotonic() - publishing:.3f} s "
                            f"as {registry.repo}:{own} (it settles by the end of the build)")
    result = Result(image.name, f"{registry.repo}:{own}", own, image_id, digest, rebuilt,
                    image.final, time.monotonic() - started, size,
                    "built" if rebuilt else "local", manifest_digest)
    with session._lock:
        session.unsettled[image.name] = Unsettled(result, stamp)
    return result


def _winner(session: Session, image: Image, winner: local.Stage, digest: str, rebuilt: bool,
            started: float, size: str) -> Result:
    registry = session.publish.repo
    assert registry is not None
    return Result(image.name, winner.reference, winner.tag, registry.image_id(winner.tag),
                  digest, rebuilt, image.final, time.monotonic() - started, size, "repo",
                  registry.manifest_digest(winner.tag))


@dataclass
class Unsettled:
    """A stage this build stored, until no older tag for its digest can still appear."""

    result: Result
    stamp: int  # unix millis of its tag
    claimed: bool = False
    done: threading.Event = field(default_factory=threading.Event)


def settle(session: Session, names: list[str]) -> dict[str, Result]:
    """The results of the images ``names`` once the stages they stored are settled (see
    storage/registry.py): one wait for all of them, the latest first, then one listing
    answers for the rest. Where another builder's older tag won, its stage replaces ours."""
    registry = session.publish.repo
    with session._lock:
        wanted = {n: u for n, u in session.unsettled.items() if n in names}
        mine = {n: u for n, u in wanted.items() if not u.claimed}
        for u in mine.values():
            u.claimed = True
    try:
        first = True
        for u in sorted(mine.values(), key=lambda x: -x.stamp):
            assert registry is not None
            own = u.result
            winner = registry.settled(own.digest, refresh=first)
            first = False
            if winner is None:
                raise RegistryError(f"{own.reference} disappeared right after it was pushed",
                                    "check the registry's storage and any cleanup job on it")
            if winner.tag != own.tag:
                session.log(own.name or "~", f"{winner.reference} was stored by another "
                                             f"builder first: discarding own {own.reference}")
                u.result = replace(
                    own, reference=winner.reference, tag=winner.tag,
                    image_id=registry.image_id(winner.tag), source="repo",
                    image_digest=registry.manifest_digest(winner.tag))
            else:
                session.log(own.name or "~", f"pushed {own.reference}")
    finally:
        with session._lock:
            for name, u in mine.items():
                session.unsettled.pop(name, None)
                if name in session.results:
                    session.results[name] = u.result
                u.done.set()
    for u in wanted.values():
        u.done.wait()
    return {n: u.result for n, u in wanted.items()}


SLUG_RE = re.compile(r"[^a-z0-9]+")


def custom_tag(template: str, image: str, content_tag: str) -> str:
    slug = SLUG_RE.sub("-", image.lower()).strip("-")
    return (template.replace("%image_content_based_tag%", content_tag)
            .replace("%image_slug%", slug).replace("%image%", image))


def _publish_final(session: Session, image: Image, result: Result) -> Result:
    """Final images: into --final-repo, and the custom tags (locally without a registry)."""
    if not image.final:
        return result
    pub = session.publish
    if pub.final_repo is not None or pub.custom_tags:
        result = settle(session, [image.name]).get(image.name, result)
    target = pub.final_repo or pub.repo
    tags = [custom_tag(t, image.name, result.tag) for t in pub.custom_tags]
    final_reference = ""
    if pub.final_repo is not None:
        final_reference = f"{pub.final_repo.repo}:{result.tag}"
        tags.insert(0, result.tag)
    if target is None:
        for t in tags:
            run.run(buildah.tag_argv(session.setup.store, result.reference,
                                     f"{session.local_repo}:{t}"), env=session.env)
            session.log(image.label, f"tagged {session.local_repo}:{t}")
        return result
    have_local = buildah.find_local(session.images, result.reference) is not None
    existing = set(target.tags())
    for t in tags:
        dest = f"{target.repo}:{t}"
        if t == result.tag and t in existing:
            continue
        if have_local:
            target.push(session.setup.store, result.reference, t, session.env,
                        f"pushing {dest}")
        else:
            source = pub.repo if pub.repo is not None else target
            argv = skopeo.copy_argv(f"docker://{result.reference}", f"docker://{dest}",
                                    source.tls_verify, target.tls_verify)
            copied = call(argv, session.env, f"copying to {dest}", target.retry,
                          lambda m: session.log("", m))
            if not copied.ok:
                raise failure(f"copying {result.reference} to {dest}", copied, target.repo)
        target.added(t)
        session.log(image.label, f"published {dest}")
    if final_reference:
        return Result(**{**result.__dict__, "final_reference": final_reference})
    return result


def check_custom_tags(images: list[Image], templates: tuple[str, ...]) -> None:
    finals = [i for i in images if i.final]
    for t in templates:
        if len(finals) > 1 and "%image" not in t.replace("%image_content_based_tag%", ""):
            raise UsageError(f"custom tag '{t}' would name every final image the same",
                             "put %image% or %image_slug% in it, or build one image")
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
                            custom_tag(t, "image", "0" * 56 + "-" + "0" * 13)):
            raise UsageError(f"custom tag '{t}' is not a valid tag",
                             "tags use letters, digits, '_', '.', '-' (at most 128)")


def records(session: Session, results: list[Result]) -> list[ImageRecord]:
    out = []
    for r in results:
        reference = r.final_reference or r.reference
        repo, tag = reference.rsplit(":", 1)
        out.append(ImageRecord(r.name, repo, tag, f"sha256:{r.image_id}", r.image_digest,
                               r.rebuilt, r.final, _bytes(r.size), r.seconds,
                               int(tag.rsplit("-", 1)[-1]) * 1_000_000 if "-" in tag else 0,
                               r.source))
    return out


def _bytes(size: str) -> int:
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kKMGT]?B)\s*", size or "")
    if not m:
        return 0
    factor = {"B": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
    return int(float(m[1]) * factor.get(m[2], 1))


def _step_plan(session: Session, image: Image, inputs: plan.Inputs,
               pull: bool) -> layers.Plan:
    """The keys of ``image``'s steps and which of them are cached (``pull``: the base images
    and the cached steps from the registry are pulled, to build)."""
    cache = session.step_cache
    chain = cache.chain(image, inputs.analysis, base_ids(session, inputs.analysis.bases, pull),
                        session.walks, session.hashes(image.context_dir))
    return cache.plan(image.label, chain, inputs.analysis, session.step_registry(image), pull)


def step_lines(session: Session, image: Image, inputs: plan.Inputs) -> list[str]:
    """Per instruction: whether a build now would take it from the cache, and why not."""
    return _step_plan(session, image, inputs, pull=False).lines(
        session.step_cache.previous(image),
        os.path.relpath(image.dockerfile_path, session.project.dir))


def explain(session: Session, name: str) -> tuple[plan.Inputs, Manifest | None]:
    """The digest inputs of ``name`` (dependencies must be built already), and its previous
    manifest when that had another digest."""
    images = plan.order(session.project, (name,))
    for image in images[:-1]:
        inputs = image_inputs(session, image, pull=False)
        found = session.local_stage(inputs.digest)
        registry = session.publish.repo
        if found is None and registry is not None:
            remote = registry.find(inputs.digest)
            if remote is not None:
                found = local.Stage(registry.repo, remote.tag, registry.image_id(remote.tag))
        if found is None:
            raise BuildFailed(f"'{name}' depends on '{image.label}', which is not built for its "
                              "current inputs", "run 'dockwright build' first")
        session.results[image.name] = Result(image.name, found.reference, found.tag,
                                             found.image_id, inputs.digest, False, image.final,
                                             0.0)
    target = images[-1]
    inputs = image_inputs(session, target, pull=False, details=True)
    session.save_caches()
    with contextlib.suppress(OSError):  # the same digest as last time: nothing to compare
        if _manifest_path(session, target).with_suffix(".digest").read_text() == \
                inputs.digest:
            return inputs, None
    return inputs, previous_manifest(session, target)
