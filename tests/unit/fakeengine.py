"""An engine kept in memory (``dockwright.engine.base.Engine``), for unit tests of the
orchestration: what is built, pulled, pushed and tagged, with no Buildah and no registry.

``FakeRegistries`` is the registry server several fake machines share (each machine is one
``FakeEngine``: its own store). Images are named by their ID; a manifest names its image by
the config digest, as in a real registry, so a push then a pull gives back the same ID.
A build fails when the Dockerfile Buildah gets has a ``RUN false`` line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dockwright import run
from dockwright.engine.base import BuildSpec, LocalImage, StoreOptions


def _ok(stdout: str = "") -> run.Result:
    return run.Result(("fake",), 0, stdout, "")


def _failed(stderr: str) -> run.Result:
    return run.Result(("fake",), 1, "", stderr)


def manifest_of(image_id: str) -> str:
    return json.dumps({"schemaVersion": 2, "config": {"digest": f"sha256:{image_id}",
                                                      "size": 100},
                       "layers": [{"size": 1_000_000}]})


def digest_of(manifest: str) -> str:
    return "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()


def _split(ref: str) -> tuple[str, str]:
    """``docker://repo:tag`` or ``repo@sha256:...`` -> (repo, tag or digest)."""
    ref = ref.removeprefix("docker://")
    if "@" in ref:
        repo, digest = ref.split("@", 1)
        return repo, digest
    repo, tag = ref.rsplit(":", 1)
    return repo, tag


@dataclass
class FakeRegistries:
    """Every registry repository the machines of a test reach: repo -> tag -> manifest."""

    repos: dict[str, dict[str, str]] = field(default_factory=dict)
    # called with "repo:tag" just before a push writes it (to let another builder race)
    before_push: Callable[[str], None] | None = None

    def write(self, repo: str, tag: str, manifest: str) -> None:
        self.repos.setdefault(repo, {})[tag] = manifest

    def read(self, ref: str) -> str | None:
        repo, name = _split(ref)
        tags = self.repos.get(repo, {})
        if name.startswith("sha256:"):
            return next((m for m in tags.values() if digest_of(m) == name), None)
        return tags.get(name)


class FakeEngine:
    """One machine: a store of images and containers, and the registries it reaches."""

    def __init__(self, root: Path, registries: FakeRegistries | None = None) -> None:
        self._store = StoreOptions(root / "root", root / "run", "vfs")
        self.registries = registries or FakeRegistries()
        self.local: dict[str, set[str]] = {}  # image ID -> names
        self.built: list[BuildSpec] = []
        self.texts: list[str] = []  # each build's Dockerfile, as read while building
        self.pulled: list[str] = []
        self.pushed: list[str] = []  # destinations, "repo:tag"
        self.tagged: list[str] = []
        self.manifest_reads: list[str] = []  # registry references whose manifest was read
        self.lists: dict[str, list[str]] = {}  # manifest lists: name -> images added
        self.pushed_lists: dict[str, list[str]] = {}  # destination -> images

    @property
    def store(self) -> StoreOptions:
        return self._store

    def scratch(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def _find(self, ref: str) -> str | None:
        if ref in self.local:
            return ref
        return next((i for i, names in self.local.items() if ref in names), None)

    # -- local storage ----------------------------------------------------------------------
    def known_images(self) -> list[LocalImage] | None:
        return [LocalImage(i, tuple(sorted(n)), 0, "") for i, n in self.local.items()]

    def images(self) -> list[LocalImage]:
        return [LocalImage(i, tuple(sorted(n)), 0, "1.00 MB") for i, n in self.local.items()]

    def image_ids(self) -> set[str]:
        return set(self.local)

    def present(self, image_id: str) -> bool:
        return image_id in self.local

    def containers(self) -> set[str]:
        return set()

    def build(self, spec: BuildSpec, on_line: Callable[[str], None]) -> run.Result:
        text = spec.dockerfile.read_text()
        self.built.append(spec)
        self.texts.append(text)
        if "RUN false" in text.splitlines():
            on_line("STEP 2/2: RUN false")
            return _failed("error building at STEP \"RUN false\": exit status 1")
        image_id = hashlib.sha256(f"{len(self.built)}\n{text}\n{spec.build_args}".encode()
                                  ).hexdigest()
        self.local[image_id] = {spec.tag} if spec.tag else set()
        on_line(image_id)  # Buildah's last line without --iidfile: the image built
        return _ok()

    def pull(self, ref: str, tls_verify: bool = True) -> run.Result:
        manifest = self.registries.read(ref)
        if manifest is None:
            return _failed(f"reading manifest {ref}: manifest unknown")
        image_id = json.loads(manifest)["config"]["digest"].removeprefix("sha256:")
        self.local.setdefault(image_id, set()).add(ref)
        self.pulled.append(ref)
        return _ok(image_id + "\n")

    def push(self, image: str, dest: str, digestfile: Path, tls_verify: bool = True
             ) -> run.Result:
        found = self._find(image)
        if found is None:
            return _failed(f"{image}: image not known")
        repo, tag = _split(dest)
        if self.registries.before_push:
            self.registries.before_push(f"{repo}:{tag}")
        manifest = manifest_of(found)
        self.registries.write(repo, tag, manifest)
        digestfile.write_text(digest_of(manifest))
        self.pushed.append(f"{repo}:{tag}")
        return _ok()

    def tag(self, image: str, *tags: str) -> run.Result:
        found = self._find(image)
        if found is None:
            return _failed(f"{image}: image not known")
        self.local[found].update(tags)
        self.tagged += tags
        return _ok()

    def manifest_create(self, name: str) -> run.Result:
        if name in self.lists:
            return _failed(f"{name}: image name is already in use")
        self.lists[name] = []
        list_id = hashlib.sha256(name.encode()).hexdigest()
        self.local[list_id] = {name}
        return _ok(list_id + "\n")

    def manifest_add(self, name: str, image: str, tls_verify: bool = True) -> run.Result:
        self.lists.setdefault(name, []).append(image)
        return _ok()

    def publish_list(self, instances: Sequence[str], dest: str, digestfile: Path,
                     tls_verify: bool = True) -> run.Result:
        digestfile.write_text("sha256:" + "e" * 64)
        self.pushed_lists[dest] = list(instances)
        return _ok()

    def manifest_push(self, name: str, dest: str, digestfile: Path,
                      tls_verify: bool = True) -> run.Result:
        if name not in self.lists:
            return _failed(f"{name}: image not known")
        return self.publish_list(self.lists[name], dest, digestfile, tls_verify)

    def inspect(self, ref: str) -> run.Result:
        found = self._find(ref)
        if found is None:
            return _failed(f"{ref}: image not known")
        return _ok(json.dumps({"FromImageID": found, "OCIv1": {"config": {}}}))

    def from_image(self, image: str, name: str) -> run.Result:
        return _failed("working containers are not kept by the fake engine")

    def config(self, container: str, args: Sequence[str]) -> run.Result:
        return _failed("working containers are not kept by the fake engine")

    def commit(self, container: str, tag: str, iidfile: Path, omit_history: bool
               ) -> run.Result:
        return _failed("working containers are not kept by the fake engine")

    def rm(self, *containers: str) -> run.Result:
        return _ok()

    # -- registries --------------------------------------------------------------------------
    def list_tags(self, repo: str, tls_verify: bool) -> run.Result:
        if repo not in self.registries.repos:
            return _failed("reading tags: repository name not known to registry (NAME_UNKNOWN)")
        return _ok(json.dumps({"Tags": sorted(self.registries.repos[repo])}))

    def inspect_raw(self, ref: str, tls_verify: bool) -> run.Result:
        self.manifest_reads.append(ref)
        manifest = self.registries.read(ref)
        return _ok(manifest) if manifest is not None else _failed("manifest unknown")

    def inspect_remote(self, ref: str, tls_verify: bool) -> run.Result:
        manifest = self.registries.read(ref)
        name = ref.removeprefix("docker://").rsplit(":", 1)[0]
        return _ok(json.dumps({"Name": name})) if manifest is not None else \
            _failed("manifest unknown")

    def copy(self, src: str, dest: str, src_tls_verify: bool, dest_tls_verify: bool,
             preserve_digests: bool = False, every_platform: bool = False) -> run.Result:
        manifest = self.registries.read(src)
        if manifest is None:
            return _failed(f"{src}: manifest unknown")
        repo, tag = _split(dest)
        self.registries.write(repo, tag, manifest)
        return _ok()
