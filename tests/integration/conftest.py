"""Integration fixtures: real Buildah, as root and as an unprivileged user.

These tests never skip for a missing tool: CI runs them as root on a machine that `make deps`
prepared, and a missing buildah must fail the suite.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dockwright.host import limits
from dockwright.host.resolve import storage_places
from dockwright.host.view import HostView, Identity
from tests.integration.registry import Registry

REPO = Path(__file__).resolve().parents[2]
SHARED = Path("/var/tmp/dockwright-it")  # readable by the test users
BUSYBOX = Path("/bin/busybox")
# a build over the volume usage threshold starts a host cleanup in the background, which
# would still be running when a test removes its store: only test_cleanup.py lets it
NO_AUTO_CLEANUP = {"WERF_DISABLE_AUTO_HOST_CLEANUP": "1"}
# what root's Buildah needs here to run anything (host/limits.py: Buildah 1.39 raises RUN
# steps' rlimits, which root without CAP_SYS_RESOURCE cannot): the tests' own buildah calls
# get the same override dockwright gives its own
ROOT_BUILDAH_ENV = limits.with_limits(
    os.environ, limits.needed(HostView(identity=Identity(0, 0, "root", Path("/root"))),
                              limits.hard_limits()), SHARED / "conf")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def busybox_rootfs(directory: Path) -> Path:
    """A root filesystem with a static busybox: what the test images are built FROM scratch on."""
    (directory / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, directory / "bin" / "busybox")
    return directory


@dataclass
class Builder:
    """Runs the real ``dockwright`` CLI (a process) as ``user`` against its own store."""

    user: str
    storage_root: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def is_root(self) -> bool:
        return self.user == "root"

    @property
    def run_root(self) -> Path:
        """The run root dockwright uses with ``--storage-root``."""
        entry = pwd.getpwnam(self.user)
        ident = Identity(entry.pw_uid, entry.pw_gid, self.user, Path(entry.pw_dir))
        return storage_places(HostView(identity=ident), str(self.storage_root))[1]

    def argv(self, *args: str) -> list[str]:
        if self.is_root:
            return [sys.executable, "-m", "dockwright", *args]
        return ["runuser", "-u", self.user, "--", "env", "-i", *self._user_env(),
                "/usr/bin/python3", "-m", "dockwright", *args]

    def _user_env(self) -> list[str]:
        entry = pwd.getpwnam(self.user)
        base = {"HOME": entry.pw_dir, "USER": self.user, "LOGNAME": self.user,
                "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                "PYTHONPATH": str(SHARED / "site"), **self.env}
        return [f"{k}={v}" for k, v in base.items()]

    def dockwright(self, *args: str | Path, cwd: Path, check: bool = True,
                   extra_env: Mapping[str, str] | None = None) -> Run:
        argv = self.argv(*(str(a) for a in args))
        if self.is_root:
            env = {**os.environ, **self.env, **(extra_env or {})}
        else:
            env = dict(os.environ)
            if extra_env:
                i = argv.index("/usr/bin/python3")
                argv[i:i] = [f"{k}={v}" for k, v in extra_env.items()]
        p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        result = Run(p.returncode, p.stdout, p.stderr)
        if check and p.returncode != 0:
            raise AssertionError(f"dockwright {' '.join(map(str, args))} failed "
                                 f"({p.returncode}):\n{p.stderr}")
        return result

    def build(self, project: Path, *args: str, check: bool = True,
              extra_env: Mapping[str, str] | None = None) -> Run:
        return self.dockwright("build", "--storage-root", str(self.storage_root), *args,
                               cwd=project, check=check, extra_env=extra_env)

    def buildah(self, *args: str, check: bool = True, driver: str | None = None) -> Run:
        """buildah against this builder's store (the driver it was created with)."""
        store = ["--root", str(self.storage_root), "--runroot", str(self.run_root)]
        if driver:
            store += ["--storage-driver", driver]
        if self.is_root:
            argv = ["buildah", *store, *args]
        else:
            argv = ["runuser", "-u", self.user, "--", "env", "-i", *self._user_env(),
                    "buildah", *store, *args]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                           env=ROOT_BUILDAH_ENV)
        if check and p.returncode != 0:
            raise AssertionError(f"buildah {' '.join(args)} failed:\n{p.stderr}")
        return Run(p.returncode, p.stdout, p.stderr)

    def run_in_image(self, ref: str, *command: str, driver: str) -> str:
        """``buildah from`` + ``buildah run``: what a command prints inside the image."""
        cid = self.buildah("from", "--pull=never", ref, driver=driver).out.strip()
        try:
            return self.buildah("run", "--isolation", "chroot", cid, *command,
                                driver=driver).out
        finally:
            self.buildah("rm", cid, driver=driver, check=False)

    def stage_tags(self, project_name: str, driver: str) -> set[str]:
        out = self.buildah("images", "--json", driver=driver, check=False).out or "[]"
        import json
        names = {n for img in json.loads(out) or [] for n in img.get("names") or []}
        return {n for n in names if n.startswith(f"localhost/{project_name}:")}

    def containers(self, driver: str) -> str:
        return self.buildah("containers", "--quiet", driver=driver, check=False).out.strip()

    def cleanup(self) -> None:
        for driver in ("overlay", "vfs"):
            if (self.storage_root / f"{driver}-images").exists():
                self.buildah("rm", "--all", driver=driver, check=False)
                self.buildah("rmi", "--all", "--force", driver=driver, check=False)
        if self.is_root:
            shutil.rmtree(self.storage_root, ignore_errors=True)
        else:
            self.buildah("unshare", "rm", "-rf", str(self.storage_root), check=False)


def _shared_site() -> Path:
    """dockwright and its dependencies where a test user can import them."""
    import dockerfile
    import markdown_it
    import mdurl
    import pygments
    import rich
    import yaml

    import dockwright

    site = SHARED / "site"
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    for module in (dockwright, yaml, dockerfile, rich, pygments, markdown_it, mdurl):
        src = Path(module.__file__ or "").parent if module.__file__ and \
            module.__file__.endswith("__init__.py") else Path(module.__file__ or "")
        dest = site / src.name
        if src.is_dir():
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest)
    for extra in Path(dockerfile.__file__ or "").parent.glob("dockerfile*.so"):
        shutil.copy2(extra, site / extra.name)
    for extra in Path(yaml.__file__ or "").parent.parent.glob("_yaml*"):
        if extra.is_dir():
            shutil.copytree(extra, site / extra.name, dirs_exist_ok=True)
    subprocess.run(["chmod", "-R", "a+rX", str(SHARED)], check=True)
    return site


def ensure_user(name: str) -> pwd.struct_passwd:
    """An ordinary user with Debian's own subuid/subgid range (useradd makes it)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True)
        return pwd.getpwnam(name)


@pytest.fixture(scope="session")
def shared_site() -> Path:
    assert shutil.which("buildah"), "buildah is not installed: run 'make deps' as root"
    assert os.getuid() == 0, "the integration tests run as root (they create a test user)"
    SHARED.mkdir(parents=True, exist_ok=True)
    os.chmod(SHARED, 0o755)
    return _shared_site()


@pytest.fixture(scope="session")
def rootless_user(shared_site: Path) -> str:
    name = "dwbuild"
    ensure_user(name)
    return name


@pytest.fixture
def root_builder(tmp_path: Path) -> Iterator[Builder]:
    b = Builder("root", tmp_path / "storage", {"WERF_CONTAINERIZED": "no", **NO_AUTO_CLEANUP})
    yield b
    b.cleanup()


@contextlib.contextmanager
def host_lock(exclusive: bool) -> Iterator[None]:
    """Tests that break the host for everyone (newuidmap's setuid bit, /dev/fuse) hold this
    lock exclusively; every rootless build holds it shared, so the two never overlap."""
    SHARED.mkdir(parents=True, exist_ok=True)
    with open(SHARED / "host-faults.lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture
def user_builder(rootless_user: str, tmp_path: Path) -> Iterator[Builder]:
    with host_lock(exclusive=False):
        yield from _user_builder(rootless_user, tmp_path)


def _user_builder(rootless_user: str, tmp_path: Path) -> Iterator[Builder]:
    entry = pwd.getpwnam(rootless_user)
    work = SHARED / f"work-{os.getpid()}-{tmp_path.name}"
    work.mkdir(parents=True, exist_ok=True)
    os.chown(work, entry.pw_uid, entry.pw_gid)
    # DOCKWRIGHT_NETWORK=host: rootless Buildah 1.28 gives RUN steps no private network here
    # (netavark: setns ... not permitted), so a rootless build needs that allowance;
    # test_network.py takes it away to test the default
    b = Builder(rootless_user, work / "storage", {"WERF_CONTAINERIZED": "no", **NO_AUTO_CLEANUP,
                                                  "XDG_CACHE_HOME": str(work / "cache"),
                                                  "DOCKWRIGHT_NETWORK": "host"})
    yield b
    b.cleanup()
    shutil.rmtree(work, ignore_errors=True)


def give_to(user: str, path: Path) -> Path:
    """Make ``path`` (a project tree) readable by ``user``."""
    if user != "root":
        subprocess.run(["chown", "-R", f"{user}:", str(path)], check=True)
    return path


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """A plain registry server on a free loopback port."""
    reg = Registry(tmp_path / "registry").start()
    yield reg
    reg.stop()


@pytest.fixture
def secure_registry(tmp_path: Path) -> Iterator[Registry]:
    """TLS (a self-signed certificate) and htpasswd authentication."""
    reg = Registry(tmp_path / "secure-registry", tls=True, user="dwuser",
                   password="s3cret-Pa55word").start()
    yield reg
    reg.stop()


@pytest.fixture
def other_root_builder(tmp_path: Path) -> Iterator[Builder]:
    """A second root builder with a store of its own: another machine."""
    b = Builder("root", tmp_path / "storage-2", {"WERF_CONTAINERIZED": "no", **NO_AUTO_CLEANUP,
                                                 "XDG_CACHE_HOME": str(tmp_path / "cache-2")})
    yield b
    b.cleanup()
