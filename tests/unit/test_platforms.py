"""Platforms as werf reads them: parsing and normalising, precedence, one build per platform,
the manifest list's tag, the report with several platforms, and the emulation check."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from dockwright import plan, platforms
from dockwright.config.model import Dependency, Image, Project
from dockwright.errors import ConfigError, UsageError
from dockwright.host import checks_runtime
from dockwright.host.checks import Status
from dockwright.host.view import HostView, Identity
from dockwright.manifests import list_tag
from dockwright.options import _platforms
from dockwright.report import ImageRecord, Source, to_json
from dockwright.session import Result


@pytest.mark.parametrize(("text", "normal"), [
    ("linux/amd64", "linux/amd64"), ("linux/x86_64", "linux/amd64"), ("amd64", "linux/amd64"),
    ("linux/aarch64", "linux/arm64"), ("linux/arm64/v8", "linux/arm64"),
    ("linux/arm", "linux/arm/v7"), ("linux/arm/v6", "linux/arm/v6"), ("LINUX/ARM64", "linux/arm64"),
    ("linux/386", "linux/386"), ("linux/s390x", "linux/s390x"),
])
def test_platforms_are_normalised_as_containerd_does(text: str, normal: str) -> None:
    assert str(platforms.parse(text)) == normal


@pytest.mark.parametrize(("text", "says"), [
    ("linux/amd65", "unknown architecture 'amd65'"), ("plan9/amd64", "unknown operating system"),
    ("linux/arm/v9", "unknown variant 'v9' of arm"), ("linux//amd64", "invalid platform"),
    ("linux/amd64/v2/x", "invalid platform"), ("", "invalid platform"),
    ("windows/amd64", "Buildah builds Linux images only"),
])
def test_a_bad_platform_is_refused_with_the_form_to_use(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        platforms.parse(text, "werf.yaml:4")
    assert says in info.value.message and info.value.message.startswith("werf.yaml:4: ")
    assert "OS/ARCH[/VARIANT]" in info.value.hint


def test_lists_commas_and_repeats() -> None:
    assert platforms.parse_list(["linux/amd64,linux/arm64", "arm64"]) == (
        "linux/amd64", "linux/arm64")
    with pytest.raises(ConfigError, match="specify multiple platforms using yaml array"):
        platforms.parse_list(["linux/amd64,linux/arm64"], commas=False)
    # the command line before the variable; bad input is a usage error
    assert _platforms(["linux/arm64"], {"WERF_PLATFORM": "linux/amd64"}) == ("linux/arm64",)
    assert _platforms([], {"WERF_PLATFORM": "linux/amd64, linux/arm/v7"}) == (
        "linux/amd64", "linux/arm/v7")
    with pytest.raises(UsageError, match="WERF_PLATFORM: unknown architecture"):
        _platforms([], {"WERF_PLATFORM": "linux/sparc"})
    with pytest.raises(UsageError, match="--platform ',,' names no platform"):
        _platforms([",,"], {})
    assert _platforms([], {"WERF_PLATFORM": ""}) == ()  # unset: werf.yaml's, or the host's


def test_the_platform_args_of_a_stage() -> None:
    args = platforms.build_args("linux/arm/v7")
    assert (args["TARGETPLATFORM"], args["TARGETOS"], args["TARGETARCH"],
            args["TARGETVARIANT"]) == ("linux/arm/v7", "linux", "arm", "v7")
    assert args["BUILDPLATFORM"] == str(platforms.host())
    assert platforms.build_args(None)["TARGETARCH"] == platforms.host().arch


def image(name: str, platform: tuple[str, ...] = (), deps: tuple[str, ...] = ()) -> Image:
    return Image(name, "werf.yaml:1", ".", "Dockerfile", Path("/p"), Path("/p/Dockerfile"),
                 platform=platform, dependencies=tuple(Dependency(d) for d in deps))


def test_one_build_per_platform_each_on_its_platforms_dependencies() -> None:
    two = ("linux/amd64", "linux/arm64")
    project = Project("p", Path("/p"), Path("/p/werf.yaml"), platform=("linux/arm64",),
                      images=(image("base", two), image("app", two, ("base",)),
                              image("tool", (), ("base",)), image("meta")))
    builds = plan.targets(project, list(project.images))
    assert [b.key for b in builds] == ["base@linux/amd64", "base@linux/arm64",
                                       "app@linux/amd64", "app@linux/arm64", "tool", "meta"]
    assert [b.label for b in builds[:2]] == ["base linux/amd64", "base linux/arm64"]
    assert [d.image for d in builds[3].dependencies] == ["base@linux/arm64"]
    assert builds[3].platform == ("linux/arm64",)
    assert builds[5].platform == ("linux/arm64",)  # build.platform, when the image has none
    with pytest.raises(ConfigError, match="'app' builds for linux/arm/v7, and the image 'base'"):
        plan.targets(project, [project.images[0],
                               image("app", ("linux/arm/v7", "linux/amd64"), ("base",))])
    # --platform over everything
    forced = plan.with_platforms(project, ("linux/s390x",))
    assert {b.key for b in plan.targets(forced, list(forced.images))} == {
        "base", "app", "tool", "meta"}
    assert {b.platform for b in plan.targets(forced, list(forced.images))} == {
        ("linux/s390x",)}


def result(platform: str, tag: str, rebuilt: bool = True) -> Result:
    return Result("app", f"r/p:{tag}", tag, "ab" * 32, tag.split("-")[0], rebuilt, True, 2.0,
                  "1.0 MB", Source.BUILT if rebuilt else Source.REPO, "sha256:" + "cd" * 32,
                  platform=platform)


def test_the_lists_tag_is_werfs() -> None:
    """SHA3-224 over the platforms' stage tags, in the order of the platforms, with ':::'."""
    a, b = result("linux/arm64", "b" * 56 + "-2"), result("linux/amd64", "a" * 56 + "-1")
    expected = hashlib.sha3_224(f"{'a' * 56}-1:::{'b' * 56}-2".encode()).hexdigest()
    assert list_tag([a, b]) == list_tag([b, a]) == expected and len(expected) == 56


def test_the_report_of_a_list_holds_its_platforms() -> None:
    def record(platform: str, rebuilt: bool) -> ImageRecord:
        return ImageRecord("app", "r/p", f"{platform[-5:]}-1", "sha256:1", "sha256:2", rebuilt,
                           True, 5, 1.5, 1, Source.BUILT, platform)
    parts = (record("linux/amd64", True), record("linux/arm64", False))
    listed = ImageRecord("app", "r/p", "f" * 56, "sha256:9", "sha256:9", True, True, 0, 9.0, 0,
                         Source.BUILT, "", parts)
    doc = json.loads(to_json([listed]))
    app = doc["Images"]["app"]
    assert (app["DockerTag"], app["TargetPlatform"], app["Rebuilt"], app["BuildTime"]) == (
        "f" * 56, "", True, "1.50")
    assert [s["Name"] for s in app["Stages"]] == ["dockerfile (linux/amd64)",
                                                  "dockerfile (linux/arm64)"]
    assert doc["ImagesByPlatform"] == {}  # werf fills it with WERF_ENABLE_REPORT_BY_PLATFORM
    by = json.loads(to_json([listed], by_platform=True))["ImagesByPlatform"]["app"]
    assert set(by) == {"linux/amd64", "linux/arm64"}
    assert by["linux/arm64"]["TargetPlatform"] == "linux/arm64"
    assert not by["linux/arm64"]["Rebuilt"]
    one = json.loads(to_json([replace(listed, platforms=())]))["Images"]["app"]
    assert [s["Name"] for s in one["Stages"]] == ["dockerfile"]


def fake_host(tmp_path: Path, entry: str | None, status: bool = True) -> HostView:
    root = tmp_path / "host"
    binfmt = root / "proc/sys/fs/binfmt_misc"
    binfmt.mkdir(parents=True)
    if status:
        (binfmt / "status").write_text("enabled\n")
    if entry is not None:
        (binfmt / "qemu-aarch64").write_text(entry)
    (root / "usr/libexec/qemu-binfmt").mkdir(parents=True)
    (root / "usr/libexec/qemu-binfmt/aarch64-binfmt-P").write_text("")
    return HostView(root, {"WERF_CONTAINERIZED": "no"}, Identity(1000, 1000, "a", Path("/h")))


REGISTERED = ("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n"
              "offset 0\nmagic 7f454c46\nmask ffffffff\n")


@pytest.mark.skipif(platforms.host().arch != "amd64", reason="the cases are for an amd64 host")
@pytest.mark.parametrize(("entry", "status", "verdict", "says"), [
    (REGISTERED, True, Status.OK, "run through binfmt_misc"),
    (REGISTERED.replace("flags: PF", "flags: P"), True, Status.FAIL, "lacks the F flag"),
    (REGISTERED.replace("enabled", "disabled"), True, Status.FAIL, "is disabled"),
    (REGISTERED.replace("aarch64-binfmt-P", "gone"), True, Status.FAIL, "is missing"),
    (None, True, Status.FAIL, "no handler qemu-aarch64 is registered"),
    (REGISTERED, False, Status.FAIL, "binfmt_misc is not mounted"),
])
def test_emulation(tmp_path: Path, entry: str | None, status: bool, verdict: Status,
                   says: str) -> None:
    view = fake_host(tmp_path, entry, status)
    check = checks_runtime.check_emulation(view, ("linux/amd64", "linux/arm64"))
    assert check.status is verdict and says in check.finding, check.finding
    if verdict is Status.FAIL:
        assert check.fix and "linux/arm64" in check.finding
    assert checks_runtime.check_emulation(view, ("linux/amd64",)).status is Status.SKIP
