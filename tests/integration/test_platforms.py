"""Several platforms, for real: amd64 natively and arm64 through QEMU (binfmt_misc, Debian's
qemu-user-static), FROM scratch with each platform's own busybox-static, and a real registry
server for the manifest list."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest

from dockwright import platforms
from dockwright.engine.buildah import parse_version
from dockwright.errors import Exit
from tests.integration.conftest import SHARED, Builder, busybox_rootfs
from tests.integration.registry import Registry
from tests.integration.test_build import outcome

ARGS = ("--storage-driver", "vfs", "--buildah-mode", "native-chroot")
BINFMT = Path("/proc/sys/fs/binfmt_misc")
TWO = "linux/amd64,linux/arm64"
DOCKERFILE = """FROM --platform=$BUILDPLATFORM scratch AS tools
COPY rootfs-amd64/ /
ARG TARGETARCH
ARG TARGETPLATFORM
RUN ["/bin/busybox", "sh", "-c", "echo $TARGETPLATFORM $TARGETARCH > /target; \\
     /bin/busybox uname -m > /built-on"]
FROM scratch
ARG TARGETARCH
COPY rootfs-${TARGETARCH}/ /
COPY --from=tools /target /built-on /
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox uname -m > /runs-on"]
"""


@pytest.fixture(scope="session")
def arm64_busybox() -> Path:
    if platforms.host().arch != "amd64":
        pytest.fail("these tests build arm64 on an amd64 host")
    return arm64_busybox_path()


def arm64_busybox_path() -> Path:
    """Debian's arm64 busybox-static, and QEMU registered to run it (as make test-deps
    installs it: qemu-user-static and binfmt-support). The benchmark uses it too."""
    if not (BINFMT / "status").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=True)
    if not (BINFMT / "qemu-aarch64").exists():
        subprocess.run(["update-binfmts", "--enable", "qemu-aarch64"], check=True)
    assert "flags: PF" in (BINFMT / "qemu-aarch64").read_text() or \
        "F" in (BINFMT / "qemu-aarch64").read_text().split("flags:")[1].split()[0]
    out = SHARED / "arm64" / "busybox"
    if not out.exists():
        work = SHARED / "arm64"
        work.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg", "--add-architecture", "arm64"], check=True)
        subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
        subprocess.run(["apt-get", "download", "-q", "busybox-static:arm64"], cwd=work,
                       check=True, capture_output=True)
        deb = next(work.glob("busybox-static_*_arm64.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "x")], check=True)
        # /bin on Debian 12, /usr/bin on Debian 13 (merged /usr)
        next(p for p in (work / "x" / "bin" / "busybox", work / "x" / "usr" / "bin" /
                         "busybox") if p.is_file()).rename(out)
    return out


def project(root: Path, busybox: Path, platform: str = "") -> Path:
    root.mkdir(parents=True)
    busybox_rootfs(root / "rootfs-amd64")
    (root / "rootfs-arm64" / "bin").mkdir(parents=True)
    (root / "rootfs-arm64" / "bin" / "busybox").write_bytes(busybox.read_bytes())
    (root / "rootfs-arm64" / "bin" / "busybox").chmod(0o755)
    (root / "Dockerfile").write_text(DOCKERFILE)
    extra = f"platform: [{platform}]\n" if platform else ""
    (root / "werf.yaml").write_text("configVersion: 1\nproject: plat\n---\nimage: app\n"
                                    f"dockerfile: Dockerfile\n{extra}")
    return root


def inside(builder: Builder, ref: str) -> str:
    return builder.run_in_image(ref, "/bin/busybox", "cat", "/target", "/built-on", "/runs-on",
                                driver="vfs")


def test_two_platforms_one_manifest_list(root_builder: Builder, registry: Registry,
                                         arm64_busybox: Path, tmp_path: Path) -> None:
    """Each platform is built, by its own digest, in parallel; the list joins them in the
    registry; the second build reuses all; one platform alone reuses its stage."""
    p = project(tmp_path / "p", arm64_busybox, "linux/amd64, linux/arm64")
    repo = f"{registry.host}/plat"
    first = root_builder.build(p, *ARGS, "--repo", repo, "--save-build-report",
                               extra_env={"WERF_ENABLE_REPORT_BY_PLATFORM": "1"})
    rows = outcome(first.out)
    assert set(rows) == {"app@linux/amd64", "app@linux/arm64", "app"}
    assert {state for _, state in rows.values()} == {"built"}
    amd, arm, listed = (rows[k][0] for k in ("app@linux/amd64", "app@linux/arm64", "app"))
    assert amd.split(":")[-1].split("-")[0] != arm.split(":")[-1].split("-")[0]  # own digests
    tag = listed.rsplit(":", 1)[1]
    assert len(tag) == 56 and tag in registry.tags("plat")
    index = json.loads(subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{listed}"],
        check=True, capture_output=True, text=True).stdout)
    assert sorted(m["platform"]["architecture"] for m in index["manifests"]) == \
        ["amd64", "arm64"]
    # arm64 ran under QEMU; its build stage ran natively (FROM --platform=$BUILDPLATFORM)
    local = root_builder.stage_tags("plat", "vfs")  # tagged when built, stamped when pushed

    def built(ref: str) -> str:
        digest = ref.rsplit(":", 1)[1].split("-")[0]
        return next(t for t in local if t.startswith(f"localhost/plat:{digest}-"))
    assert inside(root_builder, built(arm)).split() == ["linux/arm64", "arm64", "x86_64",
                                                        "aarch64"]
    assert inside(root_builder, built(amd)).split() == ["linux/amd64", "amd64", "x86_64",
                                                        "x86_64"]
    report = json.loads((p / ".werf-build-report.json").read_text())
    app = report["Images"]["app"]
    assert (app["DockerTag"], app["TargetPlatform"], app["Rebuilt"]) == (tag, "", True)
    assert {s["Name"] for s in app["Stages"]} == {"dockerfile (linux/amd64)",
                                                  "dockerfile (linux/arm64)"}
    assert set(report["ImagesByPlatform"]["app"]) == {"linux/amd64", "linux/arm64"}

    again = outcome(root_builder.build(p, *ARGS, "--repo", repo).out)
    assert {state for _, state in again.values()} == {"reused"}
    assert again["app"][0] == listed
    alone = outcome(root_builder.build(p, *ARGS, "--repo", repo, "--platform",
                                       "linux/arm64").out)
    assert alone == {"app": (arm, "reused")}  # the platform's stage, reused on its own


def raw_manifest(ref: str) -> dict[str, Any]:
    """The manifest (or index) ``ref`` names, as skopeo reads it (``oci:...``, ``docker://``)."""
    out = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", ref],
                         check=True, capture_output=True, text=True).stdout
    return cast(dict[str, Any], json.loads(out))


def test_without_a_repo_the_list_is_kept_locally(root_builder: Builder, registry: Registry,
                                                 arm64_busybox: Path, tmp_path: Path) -> None:
    """Buildah 1.39 keeps the list in its store. Buildah 1.28 cannot list a store holding one
    (manifests.LOCAL_LISTS_BUILDAH: this project's ARG right after FROM scratch makes the
    image without layers that sets it off), so the list goes to an OCI layout beside the
    build records. Either way: both platforms are in it, the store still lists, a rebuild
    reuses it, a custom tag names it, and --final-repo gets it with both images."""
    p = project(tmp_path / "p", arm64_busybox)
    version = parse_version(root_builder.buildah("--version").out) or (0, 0)
    r = root_builder.build(p, *ARGS, "--platform", TWO, "--add-custom-tag", "multi")
    listed, state = outcome(r.out)["app"]
    assert state == "built"
    tag = listed.rsplit(":", 1)[1]
    if version < (1, 39):
        assert listed.startswith("oci:") and listed.endswith(f"/manifest-lists:{tag}")
        index = raw_manifest(listed)
        assert raw_manifest(listed.rsplit(":", 1)[0] + ":multi") == index
    else:
        assert listed == f"localhost/plat:{tag}"
        index = json.loads(root_builder.buildah("manifest", "inspect", listed,
                                                driver="vfs").out)
        assert json.loads(root_builder.buildah("manifest", "inspect", "localhost/plat:multi",
                                               driver="vfs").out) == index
    assert sorted(m["platform"]["architecture"] for m in index["manifests"]) == \
        ["amd64", "arm64"]
    assert root_builder.buildah("images", driver="vfs").code == 0
    again = outcome(root_builder.build(p, *ARGS, "--platform", TWO).out)
    assert again["app"] == (listed, "reused")

    final = f"{registry.host}/plat-local-final"
    pushed = outcome(root_builder.build(p, *ARGS, "--platform", TWO, "--final-repo",
                                        final).out)["app"][0]
    assert pushed == f"{final}:{tag}"
    remote = raw_manifest(f"docker://{pushed}")
    assert sorted(m["platform"]["architecture"] for m in remote["manifests"]) == \
        ["amd64", "arm64"]
    for m in remote["manifests"]:  # every image it names came along
        assert raw_manifest(f"docker://{final}@{m['digest']}")["layers"]


@pytest.mark.parametrize(("where", "value", "says"), [
    ("cli", "linux/arm65", "--platform: unknown architecture 'arm65'"),
    ("werf.yaml", '"linux/amd64,linux/arm64"', "specify multiple platforms using yaml array"),
    ("werf.yaml", "solaris/amd64", "unknown operating system 'solaris'"),
])
def test_a_bad_platform_builds_nothing(root_builder: Builder, arm64_busybox: Path,
                                       tmp_path: Path, where: str, value: str,
                                       says: str) -> None:
    p = project(tmp_path / "p", arm64_busybox, value if where == "werf.yaml" else "")
    extra = ("--platform", value) if where == "cli" else ()
    r = root_builder.build(p, *ARGS, *extra, check=False)
    assert r.code == Exit.BAD_INPUT and says in r.err, r.err
    assert "hint:" in r.err and "Traceback" not in r.err
    if where == "werf.yaml":
        assert "error: werf.yaml:6: " in r.err  # the line of the platform
    assert root_builder.stage_tags("plat", "vfs") == set()


def test_missing_emulation_stops_before_building(root_builder: Builder, registry: Registry,
                                                 arm64_busybox: Path, tmp_path: Path) -> None:
    """The handler disabled on the real host (restored after): the build stops, exit 3,
    naming the platform, and builds nothing, not even the platform that could run."""
    p = project(tmp_path / "p", arm64_busybox)
    handler = BINFMT / "qemu-aarch64"
    handler.write_text("0")
    try:
        r = root_builder.build(p, *ARGS, "--platform", TWO, "--repo",
                               f"{registry.host}/plat", check=False)
    finally:
        handler.write_text("1")
    assert r.code == Exit.HOST_NOT_READY, r.err
    assert "[emulation] linux/arm64: the handler qemu-aarch64 is disabled" in r.err
    assert "update-binfmts --enable qemu-aarch64" in r.err
    assert root_builder.stage_tags("plat", "vfs") == set()
    assert "enabled" in handler.read_text()


def test_each_platform_builds_on_its_own_base(root_builder: Builder, registry: Registry,
                                              arm64_busybox: Path, tmp_path: Path) -> None:
    """FROM a multi-platform base in a registry: each platform's build starts from that
    platform's image of it (pulled by digest: no tag moves under a parallel build); a base
    without the platform asked for stops the build, naming what it has."""
    base = project(tmp_path / "base", arm64_busybox, "linux/amd64, linux/arm64")
    repo = f"{registry.host}/plat"
    listed = outcome(root_builder.build(base, *ARGS, "--repo", repo).out)["app"][0]
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(
        f"FROM {listed}\n"
        'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox cp /runs-on /base-ran-on; '
        '/bin/busybox uname -m > /app-runs-on"]\n')
    (app / "werf.yaml").write_text("configVersion: 1\nproject: platapp\n---\nimage: app\n"
                                   "dockerfile: Dockerfile\n"
                                   "platform: [linux/amd64, linux/arm64]\n")
    other = Builder("root", tmp_path / "store-2", root_builder.env)  # another machine
    try:
        rows = outcome(other.build(app, *ARGS, "--repo", f"{registry.host}/platapp").out)
        arm = rows["app@linux/arm64"][0]
        pulled = json.loads(subprocess.run(
            ["skopeo", "inspect", "--tls-verify=false", f"docker://{arm}"],
            check=True, capture_output=True, text=True).stdout)
        assert pulled["Architecture"] == "arm64"
        tags = other.stage_tags("platapp", "vfs")
        digest = arm.rsplit(":", 1)[1].split("-")[0]
        local = next(t for t in tags if t.startswith(f"localhost/platapp:{digest}-"))
        seen = other.run_in_image(local, "/bin/busybox", "cat", "/base-ran-on",
                                  "/app-runs-on", driver="vfs").split()
        assert seen == ["aarch64", "aarch64"]
    finally:
        other.cleanup()
    single = outcome(root_builder.build(base, *ARGS, "--repo", repo, "--platform",
                                        "linux/amd64").out)["app"][0]
    (app / "Dockerfile").write_text(f"FROM {single}\nRUN [\"/bin/busybox\", \"true\"]\n")
    refused = root_builder.build(app, *ARGS, "--repo", f"{registry.host}/platapp",
                                 "--platform", "linux/arm64", check=False)
    assert refused.code == Exit.BAD_INPUT, refused.err
    assert f"base image '{single}' has no linux/arm64 image (it has: linux/amd64)" in \
        refused.err
    assert "STEP 1" not in refused.err


def test_final_repo_custom_tags_and_required_images_name_the_list(
        root_builder: Builder, registry: Registry, arm64_busybox: Path, tmp_path: Path) -> None:
    p = project(tmp_path / "p", arm64_busybox, "linux/amd64, linux/arm64")
    repo, final = f"{registry.host}/plat", f"{registry.host}/plat-final"
    r = root_builder.build(p, *ARGS, "--repo", repo, "--final-repo", final,
                           "--add-custom-tag", "%image%-multi")
    listed, state = outcome(r.out)["app"]
    tag = listed.rsplit(":", 1)[1]
    assert state == "built" and listed == f"{final}:{tag}"  # the final reference is the list's
    for ref in (f"{final}:{tag}", f"{final}:app-multi"):
        index = json.loads(subprocess.run(
            ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
            check=True, capture_output=True, text=True).stdout)
        assert sorted(m["platform"]["architecture"] for m in index["manifests"]) == \
            ["amd64", "arm64"], ref
    ok = root_builder.build(p, *ARGS, "--repo", repo, "--require-built-images")
    assert outcome(ok.out)["app"][1] == "reused"
    (p / "Dockerfile").write_text(DOCKERFILE + 'RUN ["/bin/busybox", "true"]\n')
    missing = root_builder.build(p, *ARGS, "--repo", repo, "--require-built-images",
                                 check=False)
    assert missing.code == Exit.BUILD_FAILED, missing.err
    assert "stages required: app@linux/amd64, app@linux/arm64 not built in" in missing.err
