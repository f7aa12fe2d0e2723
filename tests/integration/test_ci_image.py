"""dockwright's own image (make image) run by Debian's podman, as a CI runner or a pod runs it:
as root and as the image's user build, with werf's runner settings and without them. In each
case the doctor inside the container says what the build then does: ready and it builds, or
not ready and the build stops before building with the same finding and a fix spelled for the
runner."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.ci import (
    STORE,
    Image,
    Podman,
    ci_image,  # noqa: F401  (a fixture)
    confined_profile,
    fuse_device,
    podman,  # noqa: F401  (a fixture)
    scratch_project,
)
from tests.integration.conftest import Run
from tests.integration.registry import Registry
from tests.integration.test_build import outcome

pytestmark = pytest.mark.usefixtures("ci_image")


def test_the_image_has_what_ci_needs(ci_image: Image, podman: Podman) -> None:
    """Buildah and its helpers; newuidmap/newgidmap with file capabilities and no setuid bit;
    the user build (uid 1000) with a 65536-id range; both stores as volumes."""
    r = podman.run(ci_image.ref, "sh", "-c",
                   "id; stat -c '%a %n' /usr/bin/newuidmap /usr/bin/newgidmap; "
                   "python3 -c 'import os; [print(p, os.getxattr(p, \"security.capability\")"
                   ".hex()) for p in (\"/usr/bin/newuidmap\", \"/usr/bin/newgidmap\")]'; "
                   "grep ^build: /etc/subuid /etc/subgid; "
                   "for t in buildah skopeo runc fuse-overlayfs git dockwright; do "
                   "command -v $t; done; echo WERF_CONTAINERIZED=$WERF_CONTAINERIZED; "
                   "for p in git git-core/git-remote-http; do ldd /usr/lib/$p 2>/dev/null "
                   "|| ldd /usr/bin/$p; done | grep -c 'not found' || true")
    assert r.code == 0, r.text
    assert "uid=1000(build) gid=1000(build)" in r.out
    assert "755 /usr/bin/newuidmap" in r.out and "755 /usr/bin/newgidmap" in r.out
    # security.capability v2: effective flag, then the permitted mask: CAP_SETUID is bit 7,
    # CAP_SETGID bit 6
    assert "/usr/bin/newuidmap 0100000280" in r.out, r.out
    assert "/usr/bin/newgidmap 0100000240" in r.out, r.out
    assert "/etc/subuid:build:100000:65536" in r.out and "/etc/subgid:build:100000:65536" in r.out
    for tool in ("buildah", "skopeo", "runc", "fuse-overlayfs", "git", "dockwright"):
        assert f"/{tool}\n" in r.out, r.out
    assert "WERF_CONTAINERIZED=yes" in r.out
    # git comes without its package (and perl): every library its programs link is there
    assert r.out.rstrip().endswith("\n0"), r.out
    volumes = json.loads(subprocess.run(
        ["podman", "image", "inspect", "--format", "{{json .Config.Volumes}}", ci_image.ref],
        check=True, capture_output=True, text=True).stdout)
    assert set(volumes) == {"/var/lib/containers", STORE}


@dataclass(frozen=True)
class Case:
    options: tuple[str, ...]
    ready: bool
    failing: str = ""  # the check that stops the build
    runner_fix: str = ""  # in a line of its fix: the runner's setting
    env: tuple[tuple[str, str], ...] = ()
    driver: str = ""  # the storage the doctor's verdict chose, when ready: overlay, fuse, vfs


def cases(profile: Path, fuse: Path, volume: str) -> dict[str, Case]:
    werf_settings = ("--security-opt", "seccomp=unconfined", "--security-opt",
                     "apparmor=unconfined", "--device", f"{fuse}:/dev/fuse")
    docker_like = ("--security-opt", f"seccomp={profile}")
    overlay = (("WERF_BUILDAH_STORAGE_DRIVER", "overlay"),)
    no_volume = ("--image-volume", "ignore")  # the store on the container's own overlayfs
    return {
        "root": Case(("--user", "0"), True, driver="overlay"),
        "build-user": Case((), True, driver="overlay"),
        "build-user-werf-settings": Case(werf_settings, True, driver="overlay"),
        "root-docker-seccomp": Case(("--user", "0", *docker_like), False, "userns-create",
                                    "#   podman/docker run: --security-opt seccomp=unconfined"),
        "build-user-docker-seccomp": Case(docker_like, False, "userns-create",
                                          '#   GitLab runner, [runners.docker]: security_opt = '
                                          '["seccomp:unconfined", "apparmor:unconfined"]'),
        "no-volume-no-fuse": Case(no_volume, True, driver="vfs"),
        "no-volume-no-fuse-overlay": Case(no_volume, False, "fuse",
                                          "#   podman/docker run: --device /dev/fuse", overlay),
        "no-volume-fuse-overlay": Case((*no_volume, "--device", f"{fuse}:/dev/fuse"), True,
                                       env=overlay, driver="fuse"),
        "uid-without-subuid": Case(("--user", "4242"), False, "subuid",
                                   "#   podman/docker run: --user 1000"),
        "read-only-store": Case(("-v", f"{volume}:{STORE}:ro"), False, "storage-dir",
                                f"#   podman/docker run: -v VOLUME:{STORE} (without :ro)"),
    }


CASES = ["root", "build-user", "build-user-werf-settings", "root-docker-seccomp",
         "build-user-docker-seccomp", "no-volume-no-fuse", "no-volume-no-fuse-overlay",
         "no-volume-fuse-overlay", "uid-without-subuid", "read-only-store"]


@pytest.fixture
def ro_volume(tmp_path: Path) -> str:
    """A store directory the runner mounts (here with :ro), owned by the image's user."""
    store = tmp_path / "store"
    store.mkdir()
    os.chown(store, 1000, 1000)
    return str(store)


@pytest.mark.parametrize("name", CASES)
def test_doctor_in_the_container_says_what_the_build_does(
        name: str, ci_image: Image, podman: Podman, tmp_path: Path, ro_volume: str) -> None:
    case = cases(confined_profile(), fuse_device(), ro_volume)[name]
    project = scratch_project(tmp_path / "project")
    options = ("-v", f"{project}:/src", "-w", "/src", *case.options)
    env = dict(case.env)
    doctor = podman.run(ci_image.ref, "dockwright", "doctor", "--json", options=options,
                        env=env)
    verdict = json.loads(doctor.out)
    build = podman.run(ci_image.ref, "dockwright", "build", options=options, env=env)
    failed = {c["id"]: c for c in verdict["checks"] if c["status"] == "fail"}
    assert verdict["ready"] is case.ready, doctor.out
    assert (build.code == 0) is case.ready, build.text  # the doctor's verdict is the build's
    if case.ready:
        assert doctor.code == 0 and not failed
        setup = verdict["verdict"]
        fuse = bool(setup["mountProgram"])
        assert (setup["storageDriver"], fuse) == \
            (("overlay", True) if case.driver == "fuse" else (case.driver, False)), setup
        assert setup["mode"] == "native-chroot"  # WERF_CONTAINERIZED=yes: werf's rule
        assert outcome(build.out)["app"][1] == "built"
        return
    assert doctor.code == 3 and build.code == 3, build.text
    assert case.failing in failed, sorted(failed)
    fix = failed[case.failing]["fix"]
    assert any(case.runner_fix in line for line in fix), fix
    assert f"[{case.failing}]" in build.err and case.runner_fix in build.err, build.err
    assert "Traceback" not in build.err and "STEP 1" not in build.err  # stopped before


# -- two runners, one registry ---------------------------------------------------------------

def runner_build(podman: Podman, image: Image, project: Path, repo: str) -> Run:
    """One CI job: a fresh container with an empty store (its own anonymous volume) builds
    the checkout against the shared registry."""
    return podman.run(image.ref, "dockwright", "build", "--repo", repo,
                      options=("-v", f"{project}:/src", "-w", "/src"))


def test_two_runners_share_one_registry(ci_image: Image, podman: Podman, registry: Registry,
                                        tmp_path: Path) -> None:
    """The second runner reuses what the first built (its RUN step does not run); racing on
    one new image, two runners agree on one stage, the oldest tag (the race protocol between
    processes holds between containers)."""
    project = scratch_project(tmp_path / "project", "shared")
    repo = f"{registry.host}/shared"
    first = runner_build(podman, ci_image, project, repo)
    assert first.code == 0, first.text
    assert outcome(first.out)["app"][1] == "built"
    second = runner_build(podman, ci_image, project, repo)
    assert second.code == 0, second.text
    assert outcome(second.out)["app"] == (outcome(first.out)["app"][0], "reused")
    assert "RUN" not in second.err  # nothing ran: the stage came from the registry

    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("echo built", "echo raced"))
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: runner_build(podman, ci_image, project, repo), (1, 2)))
    for r in runs:
        assert r.code == 0, r.text
    refs = {outcome(r.out)["app"][0] for r in runs}
    assert len(refs) == 1, refs  # both runners report the same stage
    tag = refs.pop().rsplit(":", 1)[1]
    same = [t for t in registry.stage_tags("shared") if t.split("-")[0] == tag.split("-")[0]]
    assert tag == min(same, key=lambda t: int(t.split("-")[1]))  # the oldest wins
    discarded = sum("discarding own" in r.err for r in runs)
    assert len(same) - 1 <= discarded  # an extra tag is one a runner said it discards
