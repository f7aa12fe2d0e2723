"""Buildah: pure argv builders, and ``BuildahEngine``, which makes every Buildah and skopeo
call of dockwright.

Every builder returns a list and touches nothing, so tests compare lists. The engine runs
them through ``dockwright.run``, the only place that starts processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from dockwright import run
from dockwright.engine import skopeo, store
from dockwright.engine.base import BuildSpec, Isolation, LocalImage, StoreOptions

# Buildah 1.28 puts --label on every image a build keeps; from 1.30 only on the last one
# (containers/buildah#4673), and 1.32 added --layer-label for the others (#4940).
LAYER_LABEL_BUILDAH = (1, 32)
LABEL_LAST_ONLY_BUILDAH = (1, 30)


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


def manifest_create_argv(store: StoreOptions, name: str) -> list[str]:
    """An empty manifest list ``name`` in the store."""
    return buildah_argv(store, "manifest", "create", name)


def manifest_add_argv(store: StoreOptions, name: str, image: str,
                      tls_verify: bool = True) -> list[str]:
    """Add ``image`` (a local image, or ``docker://...``) to the list ``name``; its platform
    is read from its configuration."""
    argv = ["manifest", "add"]
    if not tls_verify:
        argv.append("--tls-verify=false")
    return buildah_argv(store, *argv, name, image)


def manifest_push_argv(store: StoreOptions, name: str, dest: str, digestfile: Path,
                       tls_verify: bool = True) -> list[str]:
    """Push the list ``name`` and every image it names to ``dest`` (``docker://...``)."""
    argv = ["manifest", "push", "--all", "--quiet", "--digestfile", str(digestfile)]
    if not tls_verify:
        argv.append("--tls-verify=false")
    return buildah_argv(store, *argv, name, dest)


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


def containers_argv(store: StoreOptions) -> list[str]:
    return buildah_argv(store, "containers", "--json")


def run_argv(store: StoreOptions, isolation: Isolation, container: str,
             options: Sequence[str], command: Sequence[str]) -> list[str]:
    """Run ``command`` in the working container ``container`` (probes do)."""
    return buildah_argv(store, "run", *isolation.args(), *options, container, *command)


def labelled_argv(store: StoreOptions, label: str) -> list[str]:
    """Every image carrying ``label`` (a key, or ``key=value``), step images included."""
    return buildah_argv(store, "images", "--all", "--json", "--no-trunc",
                        "--filter", f"label={label}")


def rmi_argv(store: StoreOptions, *images: str) -> list[str]:
    """Remove ``images`` (never by force: an image a container uses stays). Buildah also
    removes each one's parent images that are left without a name or another child."""
    return buildah_argv(store, "rmi", *images)


def unshare_argv(store: StoreOptions, command: Sequence[str]) -> list[str]:
    """``command`` in Buildah's user namespace (the one its builds get)."""
    return buildah_argv(store, "unshare", *command)


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


class BuildahEngine:
    """Every Buildah and skopeo call of dockwright, bound to one store, one isolation and
    one environment (``base.Engine``). ``storage_confs``: where containers/storage reads
    its configuration for this user (``store.storage_confs``)."""

    def __init__(self, env: Mapping[str, str], store_options: StoreOptions | None = None,
                 isolation: Isolation | None = None,
                 storage_confs: Sequence[Path] = ()) -> None:
        self.env = dict(env)
        self._store = store_options
        self.isolation = isolation or Isolation("chroot")
        self.storage_confs = tuple(storage_confs)
        self._tmpdir: str | None = None

    @property
    def store(self) -> StoreOptions:
        if self._store is None:  # a registry-only engine (login): no Buildah store
            raise AssertionError("this engine has no store")
        return self._store

    def _run(self, argv: list[str], on_line: Callable[[str], None] | None = None,
             input: str | None = None, timeout: float | None = None) -> run.Result:
        env = {**self.env, "TMPDIR": self._tmpdir} if self._tmpdir else self.env
        return run.run(argv, env=env, check=False, on_line=on_line, input=input,
                       timeout=timeout)

    @contextlib.contextmanager
    def scratch(self) -> Iterator[None]:
        """Point the children's ``TMPDIR`` at a fresh directory where Buildah would put its
        files anyway (``$TMPDIR``, else /var/tmp), and remove it afterwards, however the
        build ends: a Buildah that is stopped leaves its ``/var/tmp/buildah*`` directories
        (run bundles, blob copies) behind otherwise.

        Not for a user without ``XDG_RUNTIME_DIR``: Buildah then keeps that user's runtime
        directory, logins (auth.json) included, under ``TMPDIR`` (checked on Buildah 1.28),
        so it must not move."""
        if (os.geteuid() != 0 and not self.env.get("XDG_RUNTIME_DIR")) or self._tmpdir:
            yield
            return
        try:
            made = tempfile.mkdtemp(prefix="dockwright-", dir=self.env.get("TMPDIR")
                                    or "/var/tmp")
        except OSError:
            yield  # Buildah's own default then
            return
        self._tmpdir = made
        try:
            yield
        finally:
            self._tmpdir = None
            remove_tree(made)

    # -- local storage ------------------------------------------------------------------------
    def known_images(self) -> list[LocalImage] | None:
        return store.read_images(self.store.graph_root, self.store.driver, self.storage_confs)

    def images(self) -> list[LocalImage]:
        listed = self._run(images_argv(self.store))
        if not listed.ok:
            raise run.failure(listed)
        return parse_images(listed.stdout)

    def image_ids(self) -> set[str]:
        found = self.known_images()
        if found is not None:
            return {i.id for i in found}
        listed = self._run(all_ids_argv(self.store))
        if not listed.ok:
            raise run.failure(listed)
        return {line.strip().removeprefix("sha256:") for line in listed.stdout.splitlines()
                if line.strip()}

    def present(self, image_id: str) -> bool:
        """Whether the store still has ``image_id``: a look at containers/storage's
        directory for it, no program started (True when the store cannot be read so)."""
        images = self.store.graph_root / f"{self.store.driver}-images"
        return not images.is_dir() or (images / image_id).is_dir()

    def labelled(self, label: str) -> list[LocalImage]:
        listed = self._run(labelled_argv(self.store, label))
        if not listed.ok:
            raise run.failure(listed)
        return parse_images(listed.stdout)

    def rmi(self, *images: str) -> run.Result:
        return self._run(rmi_argv(self.store, *images))

    def container_records(self) -> list[dict[str, str]]:
        """``buildah containers --json``: id, containername, imageid, imagename."""
        listed = self._run(containers_argv(self.store))
        if not listed.ok:
            raise run.failure(listed)
        try:
            return [{k: str(v) for k, v in c.items()} for c in json.loads(listed.stdout or "[]")
                    or []]
        except (ValueError, AttributeError):
            return []

    def containers(self) -> set[str]:
        known = store.container_ids(self.store.graph_root, self.store.driver)
        if known is not None:
            return known
        listed = self._run(containers_argv(self.store))
        try:
            return {str(c.get("id")) for c in json.loads(listed.stdout or "[]") or []}
        except (ValueError, AttributeError):
            return set()

    def build(self, spec: BuildSpec, on_line: Callable[[str], None]) -> run.Result:
        return self._run(build_argv(self.store, self.isolation, spec), on_line=on_line)

    def pull(self, ref: str, tls_verify: bool = True) -> run.Result:
        return self._run(pull_argv(self.store, ref, tls_verify))

    def push(self, image: str, dest: str, digestfile: Path, tls_verify: bool = True
             ) -> run.Result:
        return self._run(push_argv(self.store, image, dest, digestfile, tls_verify))

    def tag(self, image: str, *tags: str) -> run.Result:
        return self._run(tag_argv(self.store, image, *tags))

    def manifest_create(self, name: str) -> run.Result:
        return self._run(manifest_create_argv(self.store, name))

    def manifest_add(self, name: str, image: str, tls_verify: bool = True) -> run.Result:
        return self._run(manifest_add_argv(self.store, name, image, tls_verify))

    def manifest_push(self, name: str, dest: str, digestfile: Path,
                      tls_verify: bool = True) -> run.Result:
        return self._run(manifest_push_argv(self.store, name, dest, digestfile, tls_verify))

    def publish_list(self, instances: Sequence[str], dest: str, digestfile: Path,
                     tls_verify: bool = True) -> run.Result:
        """A manifest list of ``instances`` (``docker://...``, in a registry) pushed to
        ``dest``, made in a store of its own and left nowhere: Buildah 1.28 cannot even list
        a store that holds a manifest list."""
        with tempfile.TemporaryDirectory(prefix="dockwright-list-") as tmp:
            store = StoreOptions(Path(tmp) / "root", Path(tmp) / "run", "vfs")
            name = "localhost/dockwright-list:new"
            for argv in (manifest_create_argv(store, name),
                         *(manifest_add_argv(store, name, i, tls_verify) for i in instances)):
                made = self._run(argv)
                if not made.ok:
                    return made
            return self._run(manifest_push_argv(store, name, dest, digestfile, tls_verify))

    def inspect(self, ref: str) -> run.Result:
        return self._run(inspect_argv(self.store, ref))

    def from_image(self, image: str, name: str) -> run.Result:
        return self._run(from_argv(self.store, image, name))

    def config(self, container: str, args: Sequence[str]) -> run.Result:
        return self._run(config_argv(self.store, container, args))

    def commit(self, container: str, tag: str, iidfile: Path, omit_history: bool
               ) -> run.Result:
        return self._run(commit_argv(self.store, container, tag, iidfile, omit_history))

    def rm(self, *containers: str) -> run.Result:
        return self._run(rm_argv(self.store, *containers))

    # -- probes -------------------------------------------------------------------------------
    def version(self) -> run.Result:
        return self._run(["buildah", "--version"])

    def run_in(self, container: str, options: Sequence[str], command: Sequence[str],
               timeout: float | None = None) -> run.Result:
        return self._run(run_argv(self.store, self.isolation, container, options, command),
                         timeout=timeout)

    def unshare(self, *command: str) -> run.Result:
        return self._run(unshare_argv(self.store, command))

    # -- registries ---------------------------------------------------------------------------
    def list_tags(self, repo: str, tls_verify: bool) -> run.Result:
        return self._run(skopeo.list_tags_argv(repo, tls_verify))

    def inspect_raw(self, ref: str, tls_verify: bool) -> run.Result:
        return self._run(skopeo.inspect_raw_argv(ref, tls_verify))

    def copy(self, src: str, dest: str, src_tls_verify: bool, dest_tls_verify: bool,
             preserve_digests: bool = False, every_platform: bool = False) -> run.Result:
        return self._run(skopeo.copy_argv(src, dest, src_tls_verify, dest_tls_verify,
                                          preserve_digests, every_platform))

    def inspect_remote(self, ref: str, tls_verify: bool) -> run.Result:
        return self._run(skopeo.inspect_argv(ref, tls_verify))

    def delete_remote(self, ref: str, tls_verify: bool) -> run.Result:
        return self._run(skopeo.delete_argv(ref, tls_verify))

    def login(self, registry: str, username: str, password: str, authfile: str,
              tls_verify: bool) -> run.Result:
        return self._run(skopeo.login_argv(registry, username, authfile, tls_verify),
                         input=password + "\n", timeout=120)

    def logout(self, registry: str | None, authfile: str) -> run.Result:
        return self._run(skopeo.logout_argv(registry, authfile), timeout=60)


def remove_tree(path: str) -> None:
    """``rm -rf``, also through the unreadable directories a stopped Buildah leaves (its run
    bundle's ``mnt`` is mode 0100), which a user who is not root cannot list."""
    def retry(func: object, target: str, exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(target, 0o700)
            shutil.rmtree(target, ignore_errors=True)

    shutil.rmtree(path, onerror=retry)
