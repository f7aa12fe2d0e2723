"""Buildah: pure argv builders, and the few calls dockwright makes.

Every builder returns a list and touches nothing, so tests compare lists. The calls go
through ``dockwright.run``, the only place that starts processes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dockwright import run


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


# Buildah 1.28 puts --label on every image a build keeps; from 1.30 only on the last one
# (containers/buildah#4673), and 1.32 added --layer-label for the others (#4940).
LAYER_LABEL_BUILDAH = (1, 32)


def parse_version(text: str) -> tuple[int, int] | None:
    """(major, minor) of what ``buildah --version`` prints ("buildah version 1.28.2 ...")."""
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2])) if match else None


def buildah_argv(store: StoreOptions, *args: str) -> list[str]:
    return ["buildah", *store.global_args(), *args]


def build_argv(store: StoreOptions, isolation: Isolation, spec: BuildSpec) -> list[str]:
    argv = buildah_argv(store, "build", *isolation.args(), "--format", "docker",
                        "--file", str(spec.dockerfile))
    if spec.layers:  # and no container left behind by a failed step, as without --layers
        argv += ["--layers", "--force-rm"]
    if spec.tag:
        argv += ["--tag", spec.tag]
    if spec.target:
        argv += ["--target", spec.target]
    for key, value in spec.build_args:
        argv += ["--build-arg", f"{key}={value}"]
    for key, value in spec.labels:
        argv += ["--label", f"{key}={value}"]
    for key, value in spec.layer_labels:
        argv += ["--layer-label", f"{key}={value}"]
    for host in spec.add_hosts:
        argv += ["--add-host", host]
    if spec.network:
        argv += ["--network", spec.network]
    if spec.platform:
        argv += ["--platform", spec.platform]
    for sid, path in spec.secrets:
        argv += ["--secret", f"id={sid},src={path}"]
    if spec.ssh:
        argv += ["--ssh", spec.ssh]
    if spec.iidfile:
        argv += ["--iidfile", str(spec.iidfile)]
    argv.append(str(spec.context_dir))
    return argv


def images_argv(store: StoreOptions) -> list[str]:
    return buildah_argv(store, "images", "--json", "--no-trunc")


def all_ids_argv(store: StoreOptions) -> list[str]:
    """The IDs of every image, those kept for build steps (untagged) included."""
    return buildah_argv(store, "images", "--all", "--quiet", "--no-trunc")


def push_argv(store: StoreOptions, image: str, dest: str, digestfile: Path,
              tls_verify: bool = True) -> list[str]:
    """Push ``image`` to ``dest`` (with its transport: ``docker://...``, ``dir:...``), the
    manifest digest into ``digestfile``; no retries of Buildah's own (dockwright retries)."""
    argv = ["push", "--quiet", "--retry", "0", "--digestfile", str(digestfile)]
    if not tls_verify:
        argv.append("--tls-verify=false")
    return buildah_argv(store, *argv, image, dest)


def pull_argv(store: StoreOptions, ref: str, tls_verify: bool = True) -> list[str]:
    """Pull ``ref``; Buildah prints the image ID (``--quiet``)."""
    argv = ["pull", "--quiet"]
    if not tls_verify:
        argv.append("--tls-verify=false")
    return buildah_argv(store, *argv, ref)


def tag_argv(store: StoreOptions, image: str, *tags: str) -> list[str]:
    return buildah_argv(store, "tag", image, *tags)


def inspect_argv(store: StoreOptions, ref: str) -> list[str]:
    return buildah_argv(store, "inspect", "--type", "image", ref)


def from_argv(store: StoreOptions, image: str, name: str) -> list[str]:
    """A working container ``name`` of a local image (never pulled)."""
    return buildah_argv(store, "from", "--pull=never", "--quiet", "--name", name, image)


def config_argv(store: StoreOptions, container: str, args: Sequence[str]) -> list[str]:
    return buildah_argv(store, "config", *args, container)


def commit_argv(store: StoreOptions, container: str, tag: str, iidfile: Path,
                omit_history: bool = False) -> list[str]:
    """Commit ``container`` as ``tag`` (docker format, as builds are) and remove it."""
    argv = ["commit", "--quiet", "--rm", "--format", "docker", "--iidfile", str(iidfile)]
    if omit_history:
        argv.append("--omit-history")
    return buildah_argv(store, *argv, container, tag)


def rm_argv(store: StoreOptions, *containers: str) -> list[str]:
    return buildah_argv(store, "rm", *containers)


@dataclass(frozen=True)
class LocalImage:
    id: str  # full hex, without "sha256:"
    names: tuple[str, ...]
    created: int
    size: str
    digest: str = ""


def parse_images(output: str) -> list[LocalImage]:
    data = json.loads(output or "[]") or []
    images = []
    for item in data:
        images.append(LocalImage(
            id=str(item.get("id", "")).removeprefix("sha256:"),
            names=tuple(item.get("names") or ()),
            created=int(item.get("created") or 0),
            size=str(item.get("size", "")),
            digest=str(item.get("digest", "")),
        ))
    return images


def list_images(store: StoreOptions, env: Mapping[str, str]) -> list[LocalImage]:
    return parse_images(run.run(images_argv(store), env=env).stdout)


def build(store: StoreOptions, isolation: Isolation, spec: BuildSpec, env: Mapping[str, str],
          on_line: Callable[[str], None]) -> run.Result:
    return run.run(build_argv(store, isolation, spec), env=env, on_line=on_line, check=False)


def candidate_names(ref: str) -> list[str]:
    """The names under which Buildah may keep ``ref`` locally (short names resolved)."""
    name, tag = ref, ""
    if "@" in ref:
        return [ref]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
    tag = tag or "latest"
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return [f"{name}:{tag}"]
    out = [f"localhost/{name}:{tag}"]
    if "/" not in name:
        out.append(f"docker.io/library/{name}:{tag}")
    else:
        out.append(f"docker.io/{name}:{tag}")
    return out


def find_local(images: Sequence[LocalImage], ref: str) -> LocalImage | None:
    by_name = {n: img for img in images for n in img.names}
    for candidate in candidate_names(ref):
        if candidate in by_name:
            return by_name[candidate]
    return None
