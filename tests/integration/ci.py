"""dockwright's own image under Debian's podman: the image (built by ``make image``), a podman
that runs it here, and the container settings a CI runner would start it with."""

from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import NO_AUTO_CLEANUP, REPO, SHARED, Run, busybox_rootfs

# What Docker's default seccomp profile does to a process without CAP_SYS_ADMIN that
# matters here: no unshare(), no clone() of a user namespace, clone3 reported missing (so
# that libc falls back to clone). Podman's own default allows user namespaces, so the tests
# use this as the confined runner (a GitLab Docker executor, docker run).
DOCKER_LIKE_SECCOMP = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
        {"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
        {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 0, "value": 0x10000000, "valueTwo": 0x10000000,
                   "op": "SCMP_CMP_MASKED_EQ"}]},
    ],
}
FUSE_MAJOR_MINOR = (10, 229)
STORE = "/home/build/.local/share/containers"


@dataclass(frozen=True)
class Image:
    ref: str  # localhost/dockwright:<content tag>
    size: int  # bytes, as the store reports it


def make_image() -> Image:
    """``make image``, as a user runs it; WERF_DEV=1 builds the working tree under test."""
    env = {**os.environ, **NO_AUTO_CLEANUP, "WERF_DEV": "1"}
    done = subprocess.run(["make", "-s", "image"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines() if line.count("\t") == 4]
    assert [r[0] for r in rows] == ["dockwright"], done.stdout
    ref = rows[0][1]
    size = subprocess.run(["podman", "image", "inspect", "--format", "{{.Size}}", ref],
                          check=True, capture_output=True, text=True).stdout
    return Image(ref, int(size))


@dataclass(frozen=True)
class Podman:
    """``podman run`` as it works on this machine: with the first OCI runtime that runs a
    container (crun fails on hybrid cgroups here; probed, not assumed), and the process's own
    hard limits (podman's defaults exceed this VM's)."""

    runtime: str
    ulimits: tuple[str, ...]

    @classmethod
    def probe(cls, image: str) -> Podman:
        assert shutil.which("podman"), "podman is not installed: run 'make test-deps' as root"
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        # podman's own process limit here is 32768, whatever this process's is
        nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], 32768)
        ulimits = (f"nofile={nofile}:{nofile}", f"nproc={nproc}:{nproc}")
        tried = []
        for runtime in ("crun", "runc"):
            if not shutil.which(runtime):
                continue
            podman = cls(runtime, ulimits)
            done = subprocess.run(podman.argv(image, "true"), capture_output=True, text=True)
            if done.returncode == 0:
                return podman
            tried.append(f"{runtime}: {done.stderr.strip()[-300:]}")
        raise AssertionError("podman runs no container here: " + "; ".join(tried))

    def argv(self, image: str, *command: str, options: Sequence[str] = ()) -> list[str]:
        limits = [x for u in self.ulimits for x in ("--ulimit", u)]
        return ["podman", "run", "--rm", "--runtime", self.runtime, *limits, "--pull=never",
                "--network", "host", *options, image, *command]

    def run(self, image: str, *command: str, options: Sequence[str] = (),
            env: Mapping[str, str] | None = None, timeout: float = 300) -> Run:
        opts = [*options, *(x for k, v in {**NO_AUTO_CLEANUP, **(env or {})}.items()
                            for x in ("-e", f"{k}={v}"))]
        done = subprocess.run(self.argv(image, *command, options=opts), capture_output=True,
                              text=True, timeout=timeout)
        return Run(done.returncode, done.stdout, done.stderr)


def confined_profile() -> Path:
    path = SHARED / "docker-like-seccomp.json"
    SHARED.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(DOCKER_LIKE_SECCOMP))
    return path


def fuse_device() -> Path:
    """/dev/fuse as most distributions make it (0666); this machine's own is root-only."""
    path = SHARED / "fuse"
    if not path.exists():
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(*FUSE_MAJOR_MINOR))
    os.chmod(path, 0o666)
    return path


def scratch_project(dest: Path, name: str = "ci") -> Path:
    """A FROM-scratch project whose RUN step writes a marker; readable and writable by any
    uid, as a runner's checkout is for the job's user."""
    busybox_rootfs(dest / "rootfs")
    (dest / "Dockerfile").write_text(
        "FROM scratch\nCOPY rootfs /\n"
        'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /out && '
        '/bin/busybox echo built > /out/marker"]\n')
    (dest / "werf.yaml").write_text(f"project: {name}\nconfigVersion: 1\n---\n"
                                    "image: app\ndockerfile: Dockerfile\n")
    subprocess.run(["chmod", "-R", "a+rwX", str(dest)], check=True)
    return dest


@pytest.fixture(scope="session")
def ci_image(shared_site: Path) -> Image:
    return make_image()


@pytest.fixture(scope="session")
def podman(ci_image: Image) -> Podman:
    return Podman.probe(ci_image.ref)
