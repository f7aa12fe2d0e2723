"""The build pipeline: plan -> digest -> cache lookup -> Buildah -> tag -> result.

Images are built one at a time in dependency order; an image whose digest already has a
stage in local storage is reused, never rebuilt.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockwright import dockerfile, plan, run
from dockwright.config.model import Image, Project, Secret
from dockwright.digest import Manifest, diff
from dockwright.engine import buildah
from dockwright.errors import BuildFailed, ConfigError
from dockwright.host.probes import cache_dir
from dockwright.host.resolve import Setup
from dockwright.storage import local

Log = Callable[[str, str], None]  # (image name or "", message)


@dataclass(frozen=True)
class Result:
    name: str
    reference: str
    tag: str
    image_id: str
    digest: str
    rebuilt: bool
    final: bool
    seconds: float
    size: str = ""


@dataclass
class Session:
    """What one build run knows: the project, the host setup, and local images."""

    project: Project
    setup: Setup
    env: Mapping[str, str]
    log: Log
    state_dir: Path
    images: list[buildah.LocalImage] = field(default_factory=list)
    parsed: dict[Path, dockerfile.Dockerfile] = field(default_factory=dict)
    results: dict[str, Result] = field(default_factory=dict)

    @property
    def repo(self) -> str:
        return local.local_repo(self.project.name)

    def refresh(self) -> None:
        self.images = buildah.list_images(self.setup.store, self.env)

    def dockerfile(self, image: Image) -> dockerfile.Dockerfile:
        if image.dockerfile_path not in self.parsed:
            display = os.path.relpath(image.dockerfile_path, self.project.dir)
            self.parsed[image.dockerfile_path] = dockerfile.parse(image.dockerfile_path, display)
        return self.parsed[image.dockerfile_path]


def new_session(project: Project, setup: Setup, env: Mapping[str, str], log: Log,
                home: Path) -> Session:
    state = cache_dir(env, home) / "manifests" / project.name
    session = Session(project, setup, env, log, state)
    session.refresh()
    return session


def import_values(session: Session, image: Image) -> dict[str, str]:
    values: dict[str, str] = {}
    for dep in image.dependencies:
        built = session.results.get(dep.image)
        if built is None:
            raise BuildFailed(f"image '{image.name}' needs '{dep.image}', which is not built",
                              "run 'dockwright build' (without --explain) first")
        found = next((i for i in session.images if i.id == built.image_id), None)
        for imp in dep.imports:
            values[imp.target_build_arg] = {
                "ImageName": built.reference,
                "ImageTag": built.tag,
                "ImageRepo": built.reference.rsplit(":", 1)[0],
                "ImageID": f"sha256:{built.image_id}",
                "ImageDigest": found.digest if found else "",
            }[imp.type]
    return values


def base_ids(session: Session, refs: tuple[str, ...], pull: bool) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for ref in refs:
        found = buildah.find_local(session.images, ref)
        if found is None and pull:
            res = run.run(buildah.buildah_argv(session.setup.store, "pull", "--quiet", ref),
                          env=session.env, check=False)
            if not res.ok:
                raise BuildFailed(
                    f"base image '{ref}' is not in local storage and could not be pulled: "
                    f"{_last(res.stderr)}",
                    "build or pull the base image first, or fix the FROM reference",
                )
            session.refresh()
            found = buildah.find_local(session.images, ref)
        out[ref] = found.id if found else None
    return out


def _last(text: str) -> str:
    lines = [x.strip() for x in text.strip().splitlines() if x.strip()]
    return lines[-1] if lines else "no output"


def image_inputs(session: Session, image: Image, pull: bool) -> plan.Inputs:
    parsed = session.dockerfile(image)
    imports = import_values(session, image)
    analysis = dockerfile.analyze(parsed, image.target, {**image.args_dict, **imports})
    ids = base_ids(session, analysis.bases, pull)
    return plan.inputs(session.project, image, imports, ids, parsed)


def _manifest_path(session: Session, image: Image) -> Path:
    return session.state_dir / f"{image.name.replace('/', '__')}.json"


def previous_manifest(session: Session, image: Image) -> Manifest | None:
    try:
        return Manifest.from_json(_manifest_path(session, image).read_text())
    except (OSError, ValueError, KeyError):
        return None


def remember(session: Session, image: Image, manifest: Manifest) -> None:
    path = _manifest_path(session, image)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(manifest.to_json())
        tmp.replace(path)


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
    inputs = image_inputs(session, image, pull=True)
    digest = inputs.digest
    found = local.stages(session.images, session.repo).get(digest)
    previous = previous_manifest(session, image)
    if found:
        remember(session, image, inputs.manifest)
        log(image.name, f"reused {found.reference}")
        return Result(image.name, found.reference, found.tag, found.image_id, digest, False,
                      image.final, time.monotonic() - started, found.size)

    if previous and previous.digest != digest:
        changes = diff(previous, inputs.manifest)
        log(image.name, f"rebuilding: {len(changes)} input(s) changed since "
                        f"{previous.digest[:12]}:")
        for line in changes:
            log(image.name, f"  {line}")
    elif previous is None:
        log(image.name, "building: no earlier build of this image")
    else:
        log(image.name, "building: the stage for this digest is gone from local storage")

    tag = f"{digest}-{int(time.time() * 1000)}"
    reference = f"{session.repo}:{tag}"
    platform = (image.platform or session.project.platform or (None,))[0]
    network = image.network
    if network is None and session.setup.isolation.kind == "oci":
        network = "host"  # see README: rootless private networks fail on many hosts
    with tempfile.TemporaryDirectory(prefix="dockwright-") as tmp, \
            secret_files(image.secrets, session.env, image.context_dir) as secrets:
        iidfile = Path(tmp) / "iid"
        spec = buildah.BuildSpec(
            context_dir=image.context_dir,
            dockerfile=image.dockerfile_path,
            tag=reference,
            target=image.target,
            build_args=inputs.build_args,
            labels=(("werf", session.project.name), ("werf-stage-content-digest", digest)),
            add_hosts=image.add_host,
            network=network,
            platform=platform,
            secrets=secrets,
            ssh=image.ssh,
            iidfile=iidfile,
        )
        result = buildah.build(session.setup.store, session.setup.isolation, spec, session.env,
                               lambda line: log(image.name, line))
        if not result.ok:
            raise BuildFailed(f"image '{image.name}' failed to build: {_last(result.stderr)}",
                              "see the Buildah output above; rerun with --debug for the "
                              "exact command")
        image_id = iidfile.read_text().strip().removeprefix("sha256:")
    session.refresh()
    size = next((i.size for i in session.images if i.id == image_id), "")
    remember(session, image, inputs.manifest)
    seconds = time.monotonic() - started
    log(image.name, f"built {reference} in {seconds:.1f} s")
    return Result(image.name, reference, tag, image_id, digest, True, image.final, seconds, size)


def build_project(session: Session, only: tuple[str, ...] = ()) -> list[Result]:
    images = plan.order(session.project, only)
    for image in images:
        plan.unsupported(session.project, image)
    out = []
    for image in images:
        result = build_one(session, image)
        session.results[image.name] = result
        out.append(result)
    return out


def explain(session: Session, name: str) -> tuple[plan.Inputs, Manifest | None]:
    """The digest inputs of ``name`` (dependencies must be built already)."""
    images = plan.order(session.project, (name,))
    for image in images[:-1]:
        inputs = image_inputs(session, image, pull=False)
        found = local.stages(session.images, session.repo).get(inputs.digest)
        if found is None:
            raise BuildFailed(f"'{name}' depends on '{image.name}', which is not built for its "
                              "current inputs", "run 'dockwright build' first")
        session.results[image.name] = Result(image.name, found.reference, found.tag,
                                             found.image_id, inputs.digest, False, image.final,
                                             0.0)
    target = images[-1]
    return image_inputs(session, target, pull=False), previous_manifest(session, target)
