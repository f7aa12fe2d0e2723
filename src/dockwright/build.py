"""The pipeline of one image: inputs -> digest -> stage lookup (local, registry) -> Buildah.

An image whose digest already has a stage (locally, or in the ``--repo`` registry) is reused,
never rebuilt; what it built goes to ``publish``. ``schedule`` runs images in dependency
order; ``session`` holds what one run knows; ``history`` what the last build read.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from dockwright import bases, dockerfile, history, layers, plan, publish, run, steps
from dockwright.config.model import Image, ImageSpec, Secret
from dockwright.digest import Manifest, diff
from dockwright.engine import buildah
from dockwright.engine.base import BuildSpec
from dockwright.errors import (
    BuildFailed,
    ConfigError,
    Interrupted,
    RegistryError,
    StageMissing,
    StageVanished,
)
from dockwright.host.resolve import Network, Setup, image_network
from dockwright.progress import State
from dockwright.report import Source
from dockwright.session import Result, Session
from dockwright.storage import local

# Buildah looks through every image of the store for a cached step; an image a host cleanup
# removes meanwhile (one no build holds: storage/usage.py) fails that look with "layer not
# known". The build is run again: the steps it had done come from the cache. (A store-wide
# lock would keep a cleanup waiting for every running build.)
SCAN_RACE = re.compile(r"checking if cached image exists from a previous build: .*"
                       r"\b(?:layer|image) not known")
SCAN_RETRIES = 2


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


def base_ids(session: Session, refs: tuple[str, ...], pull: bool,
             platform: str | None = None) -> dict[str, str | None]:
    """Image IDs of the base images; ``pull`` fetches what is missing (needed to build).
    For an image with a ``platform``, each base's image for that platform (``bases``)."""
    own = {r.reference: r for r in session.results.values()}
    out: dict[str, str | None] = {}
    for ref in refs:
        found = buildah.find_local(session.images, ref)
        if found is None and ref in own:
            out[ref] = own[ref].image_id  # our own stage: known without pulling it
            continue
        if platform is not None:
            out[ref] = bases.pinned(session, ref, platform, found, pull)
            continue
        if found is None and pull:
            _pull(session, ref)
            found = buildah.find_local(session.images, ref)
        out[ref] = found.id if found else None
    return out


def _label_lines(project: tuple[str, str], labels: tuple[tuple[str, str], ...]
                 ) -> tuple[str, str] | None:
    """Buildah before 1.30 makes every ``--label`` a step (a commit, 30 ms of an edit's
    rebuild, benchmark row 8) and sets it on every image the build makes. There the labels
    go into the Dockerfile instead (``steps.derive``): werf's project label after each
    stage's FROM, so that every step image inherits it (a cleanup finds them by it; the
    line is the same every build, so Buildah's cache has it after the first), and all of
    them in one line at the end: one commit. None when a value is not safe in a LABEL
    line: then they stay flags."""
    head, tail = steps.label_line([project]), steps.label_line(labels)
    return (head, tail) if head and tail else None


def _pull(session: Session, ref: str) -> None:
    repo = session.publish.repo
    if repo and ref.startswith(repo.repo + ":"):
        result = repo.pull(ref)
        if not result.ok:
            from dockwright.storage.registry import failure

            raise failure(f"pulling {ref}", result, repo.repo)
    else:
        result = session.engine.pull(ref)
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
    analysis = dockerfile.analyze(parsed, image.target, plan.analysis_args(image, imports))
    ids = base_ids(session, analysis.bases, pull, image.target_platform)
    return plan.inputs(session.project, image, imports, ids, parsed, session.walks,
                       session.hashes(image.context_dir), analysis, details)


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


def build_one(session: Session, image: Image) -> Result:
    log = session.log
    started = time.monotonic()
    session.reporter.state(image.label, State.RESOLVING)
    publish.settle(session, [d.image for d in image.dependencies])  # the stages it builds on
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
    found = session.local_stage(digest, image.label)

    if registry is not None:
        remote = registry.settled(digest)
        if remote is not None:
            try:
                result = _from_registry(session, image, remote, found, digest, started)
            except StageVanished:
                say_vanished(session, image.label, remote.reference, found is not None)
            else:
                history.remember(session, image, inputs.manifest)
                log(image.label, f"reused {remote.reference} (in the registry)")
                session.reporter.state(image.label, State.REUSED, "from the registry")
                return publish.publish_final(session, image, result)
        if found is not None:
            history.remember(session, image, inputs.manifest)
            log(image.label, f"found {found.reference} locally; pushing it to {registry.repo}")
            session.reporter.state(image.label, State.PUSHING)
            result = publish.push_stage(session, image, found.reference, found.image_id, digest,
                                 False, started, found.size)
            if session.step_registry(image) is not None:  # and its steps this store has
                _push_steps(session, image, _step_plan(session, image, inputs, pull=False))
            return publish.publish_final(session, image, result)
    elif found is not None:
        history.remember(session, image, inputs.manifest)
        log(image.label, f"reused {found.reference}")
        session.reporter.state(image.label, State.REUSED, "locally")
        result = Result(image.name, found.reference, found.tag, found.image_id, digest, False,
                        image.final, time.monotonic() - started, found.size, Source.LOCAL,
                        platform=image.variant)
        return publish.publish_final(session, image, result)

    if session.publish.require_built:
        raise StageMissing(image.key)
    if session.cancelled.is_set():
        raise Interrupted("interrupted before it started")
    session.reporter.state(image.label, State.BUILDING)
    _say_why(session, image, inputs.manifest)
    tag = f"{digest}-{int(time.time() * 1000)}"
    reference = f"{session.local_repo}:{tag}"
    image_id, step_plan = _build(session, image, inputs, reference)
    size = ""  # filled in at the end (Session.sizes): one listing of the store, not one each
    history.remember(session, image, inputs.manifest)
    log(image.label, f"built {reference} in {time.monotonic() - started:.1f} s")
    if registry is not None:
        session.reporter.state(image.label, State.PUSHING)
        result = publish.push_stage(session, image, reference, image_id, digest, True, started,
                                    size)
        _push_steps(session, image, step_plan)  # after the stage: its blobs are up, it settles
    else:
        result = Result(image.name, reference, tag, image_id, digest, True, image.final,
                        time.monotonic() - started, size, Source.BUILT, platform=image.variant)
    return publish.publish_final(session, image, result)


def say_vanished(session: Session, label: str, reference: str, local_copy: bool) -> None:
    """A stage this build found in ``--repo`` is gone: what happens instead."""
    session.log(label, f"{reference} was deleted from the registry (by a cleanup?) after this "
                "build found it: " + ("pushing the local stage instead" if local_copy
                                      else "building it again"))


def _from_registry(session: Session, image: Image, remote: local.Stage,
                   found: local.Stage | None, digest: str, started: float) -> Result:
    """The result of a stage reused from ``--repo``. Its manifest is read here only when
    this build goes on to use the stage: another image builds on it, or a final image is
    copied from it (a stage deleted since the listing raises ``StageVanished`` then).
    Otherwise one listing at the end of the build says every such stage is still there
    (``publish.vanished``), and what the summary or report shows of it is read only for
    them (``publish.complete``): a no-op starts no process per stage."""
    registry = session.publish.repo
    assert registry is not None
    local_copy = found if found and found.tag == remote.tag else None
    used = image.key in session.depended or publish.copies_final(session, image)
    image_id, size, image_digest = "", "", ""
    if local_copy is not None:
        image_id, size = local_copy.image_id, local_copy.size
    if used:
        image_digest = registry.manifest_digest(remote.tag)
        image_id = image_id or registry.image_id(remote.tag)
        size = size or registry.size(remote.tag)
    return Result(image.name, remote.reference, remote.tag, image_id, digest, False,
                  image.final, time.monotonic() - started, size, Source.REPO, image_digest,
                  platform=image.variant)


def _push_steps(session: Session, image: Image, step_plan: layers.Plan) -> None:
    """The images of ``image``'s steps to ``--repo``, for a ``staged: true`` image."""
    registry = session.step_registry(image)
    if registry is None:
        return
    pushed = session.step_cache.publish(image.label, step_plan, registry)
    if pushed:
        session.log(image.label, f"pushed {pushed} cached step(s) to {registry.repo}")


def _say_why(session: Session, image: Image, manifest: Manifest) -> None:
    previous = history.previous_manifest(session, image)
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
    wanted = image_network(configured, setup.network)
    return None if wanted == Network.PRIVATE else wanted


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

    version = buildah.parse_version(session.setup.buildah) or (0, 0)
    werf, mine = ("werf", session.project.name), (local.IMAGE_LABEL, image.name or "~")
    labels = (werf, ("werf-stage-content-digest", inputs.digest), mine)
    lines = _label_lines(werf, labels) if version < buildah.LABEL_LAST_ONLY_BUILDAH else None
    with tempfile.TemporaryDirectory(prefix="dockwright-") as tmp, \
            secret_files(image.secrets, session.env, image.context_dir) as secrets:
        dockerfile_path, derived = cache.derive(image, session.dockerfile(image), step_plan,
                                                Path(tmp), lines or ("", ""),
                                                inputs.analysis.target_stage)
        if session.containers_before is not None:
            session.containers_before.result()
        spec = BuildSpec(
            context_dir=session.context_dir(image),
            dockerfile=dockerfile_path,
            tag=None if image.image_spec else reference,  # tagged once the spec is applied
            target=image.target,
            build_args=inputs.build_args,
            labels=() if lines else labels,
            # every step image carries the project's label, for a cleanup to find it
            layer_labels=(werf, mine) if version >= buildah.LAYER_LABEL_BUILDAH else (),
            add_hosts=image.add_host,
            network=network,
            platform=plan.image_platform(session.project, image),
            secrets=secrets,
            ssh=image.ssh,
            layers=True,  # no --iidfile: Buildah then prints each step's image (StepIds)
        )
        result = session.engine.build(spec, on_line)
        for _ in range(SCAN_RETRIES):
            if result.ok or not SCAN_RACE.search(result.stderr) or session.cancelled.is_set():
                break
            session.log(image.label, "an image went away while Buildah looked through the "
                        "store for cached steps (a host cleanup removing it): building again, "
                        "the steps done so far from the cache")
            seen = steps.StepIds()  # what on_line feeds: this run's steps only
            result = session.engine.build(spec, on_line)
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
    inspected = session.engine.inspect(reference)
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

    engine = session.engine

    def buildah_call(result: run.Result) -> run.Result:
        if not result.ok:
            exc = run.failure(result)
            raise BuildFailed(f"image '{image.label}': applying imageSpec failed: "
                              f"{exc.message}", exc.hint)
        return result

    inspected = json.loads(buildah_call(engine.inspect(built)).stdout or "{}")
    change = imagespec.change(spec, inspected.get("OCIv1", {}).get("config") or {},
                              session.project.name, image.name)
    for warning in change.warnings:
        session.log(image.label, f"warning: {warning}")
    container = f"dockwright-spec-{built[:12]}-{os.getpid()}-{threading.get_ident()}"
    buildah_call(engine.from_image(built, container))
    iidfile = tmp / "spec-iid"
    try:
        buildah_call(engine.config(container, change.config_args))
        buildah_call(engine.commit(container, reference, iidfile, change.omit_history))
    except BaseException:
        engine.rm(container)
        raise
    # ``built`` stays, untagged: it is the build's last step image, and removing it would
    # remove the untagged step images under it too (the instruction cache)
    return iidfile.read_text().strip().removeprefix("sha256:")


def _step_plan(session: Session, image: Image, inputs: plan.Inputs,
               pull: bool) -> layers.Plan:
    """The keys of ``image``'s steps and which of them are cached (``pull``: the base images
    and the cached steps from the registry are pulled, to build)."""
    cache = session.step_cache
    bases = base_ids(session, inputs.analysis.bases, pull, image.target_platform)
    chain = cache.chain(image, inputs.analysis, bases, session.walks,
                        session.hashes(image.context_dir))
    step_plan = cache.plan(image.label, chain, inputs.analysis, session.step_registry(image),
                           pull)
    if image.target_platform is None:
        return step_plan
    # a stage FROM a base image starts from that platform's image, by its ID
    prefixes = dict(step_plan.prefixes)
    own = {r.reference for r in session.results.values()}
    for head in inputs.analysis.heads:
        base_id = bases.get(head.base) if head.base.lower() != "scratch" else None
        if head.stage not in prefixes and base_id and head.base not in own:
            prefixes[head.stage] = (0, base_id)
    return replace(step_plan, prefixes=prefixes)


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
        session.results[image.key] = Result(image.name, found.reference, found.tag,
                                             found.image_id, inputs.digest, False, image.final,
                                             0.0)
    target = images[-1]
    inputs = image_inputs(session, target, pull=False, details=True)
    session.save_caches()
    with contextlib.suppress(OSError):  # the same digest as last time: nothing to compare
        if history.manifest_path(session, target).with_suffix(".digest").read_text() == \
                inputs.digest:
            return inputs, None
    return inputs, history.previous_manifest(session, target)
