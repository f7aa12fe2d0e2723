"""What the pipeline asks of an engine, and the values it passes: the one boundary between
dockwright and the programs that build, store and move images.

``Engine`` is small on purpose: the build (``build``, ``schedule``, ``publish``,
``storage``) sees nothing else of Buildah and skopeo. ``BuildahEngine``
(``engine/buildah.py``) runs the real programs; the unit tests run the same orchestration
against an engine kept in memory. A missing image is ``None`` or an empty result, never an
exception; a failed command is a ``run.Result`` that is not ``ok``, for the caller to word.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from dockwright.run import Result


@dataclass(frozen=True)
class StoreOptions:
    """Where and how Buildah keeps images: passed explicitly on every call."""

    graph_root: Path
    run_root: Path
    driver: str  # "overlay" | "vfs"
    mount_program: str | None = None  # fuse-overlayfs, for overlay without native support

    def global_args(self) -> list[str]:
        args = ["--root", str(self.graph_root), "--runroot", str(self.run_root),
                "--storage-driver", self.driver]
        if self.mount_program:
            args += ["--storage-opt", f"overlay.mount_program={self.mount_program}"]
        return args


@dataclass(frozen=True)
class Isolation:
    kind: str  # "oci" | "chroot"
    runtime: str | None = None  # path of the OCI runtime, for "oci"

    def args(self) -> list[str]:
        args = ["--isolation", self.kind]
        if self.kind == "oci" and self.runtime:
            args += ["--runtime", self.runtime]
        return args


@dataclass(frozen=True)
class BuildSpec:
    context_dir: Path
    dockerfile: Path
    tag: str | None  # None: the image is only known by its ID (--iidfile)
    target: str | None = None
    build_args: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    add_hosts: tuple[str, ...] = ()
    network: str | None = None
    platform: str | None = None
    secrets: tuple[tuple[str, str], ...] = ()  # (id, file)
    ssh: str | None = None
    iidfile: Path | None = None
    layers: bool = False  # keep an image per step (the instruction cache)
    layer_labels: tuple[tuple[str, str], ...] = ()  # on those images (Buildah 1.32 or newer)


@dataclass(frozen=True)
class LocalImage:
    id: str  # full hex, without "sha256:"
    names: tuple[str, ...]
    created: int
    size: str
    digest: str = ""


class Engine(Protocol):
    """Every Buildah and skopeo call a build makes, bound to one store, one isolation and
    one environment."""

    @property
    def store(self) -> StoreOptions: ...

    def scratch(self) -> contextlib.AbstractContextManager[None]:
        """While it is held, the children keep their temporary files in a directory of
        this build's own, removed when it ends (see ``BuildahEngine.scratch``)."""
        ...

    # -- local storage ----------------------------------------------------------------------
    def known_images(self) -> list[LocalImage] | None:
        """The store's named images (no sizes) when they can be read without starting a
        program; None: ask ``images``."""
        ...

    def images(self) -> list[LocalImage]:
        """The store's named images, with their sizes, as Buildah lists them."""
        ...

    def image_ids(self) -> set[str]:
        """The IDs of every image, those kept for build steps (untagged) included."""
        ...

    def present(self, image_id: str) -> bool:
        """Whether the store has ``image_id`` now (cheap: no program is started)."""
        ...

    def containers(self) -> set[str]:
        """The IDs of the store's working containers."""
        ...

    def build(self, spec: BuildSpec, on_line: Callable[[str], None]) -> Result: ...
    def pull(self, ref: str, tls_verify: bool = True) -> Result:
        """Pull ``ref``; its stdout ends with the image ID."""
        ...

    def push(self, image: str, dest: str, digestfile: Path, tls_verify: bool = True) -> Result:
        ...

    def tag(self, image: str, *tags: str) -> Result: ...
    # manifest lists (an image built for several platforms)
    def manifest_create(self, name: str) -> Result: ...
    def manifest_add(self, name: str, image: str, tls_verify: bool = True) -> Result: ...
    def manifest_push(self, name: str, dest: str, digestfile: Path,
                      tls_verify: bool = True) -> Result: ...
    def publish_list(self, instances: Sequence[str], dest: str, digestfile: Path,
                     tls_verify: bool = True) -> Result: ...
    def inspect(self, ref: str) -> Result: ...
    def from_image(self, image: str, name: str) -> Result: ...
    def config(self, container: str, args: Sequence[str]) -> Result: ...
    def commit(self, container: str, tag: str, iidfile: Path, omit_history: bool) -> Result:
        ...

    def rm(self, *containers: str) -> Result: ...

    # -- registries --------------------------------------------------------------------------
    def list_tags(self, repo: str, tls_verify: bool) -> Result: ...
    def inspect_raw(self, ref: str, tls_verify: bool) -> Result: ...
    def inspect_remote(self, ref: str, tls_verify: bool) -> Result:
        """skopeo inspect: the image's name, and the platform of a single image."""
        ...
    def copy(self, src: str, dest: str, src_tls_verify: bool, dest_tls_verify: bool,
             preserve_digests: bool = False, every_platform: bool = False) -> Result: ...
