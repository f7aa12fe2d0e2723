"""Pure pieces of publishing: TLS choice, redaction, custom tags, report, skopeo argv."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import pytest

from dockwright import report, run
from dockwright.engine import skopeo
from dockwright.engine.base import Engine
from dockwright.errors import RegistryError
from dockwright.publish import custom_tag
from dockwright.storage import registry
from dockwright.storage.registry import (
    MISSING_REPO,
    TRANSIENT,
    is_loopback,
    redact,
    tls_verify_for,
)


@pytest.mark.parametrize(("repo", "insecure", "verify"), [
    ("registry.example.com/team/app", (), True),
    ("registry.example.com:5000/app", (), True),
    ("127.0.0.1:5000/app", (), False),
    ("localhost:5000/app", (), False),
    ("127.8.9.1:443/app", (), False),
    ("[::1]:5000/app", (), False),
    ("10.0.0.5:5000/app", (), True),  # private is not loopback
    ("10.0.0.5:5000/app", ("10.0.0.5:5000",), False),
    ("registry.example.com/app", ("other.example.com",), True),
])
def test_tls_is_verified_except_for_loopback_and_insecure(repo: str, insecure: tuple[str, ...],
                                                         verify: bool) -> None:
    assert tls_verify_for(repo, insecure) is verify


def test_is_loopback() -> None:
    assert is_loopback("localhost") and is_loopback("127.0.0.1:1") and is_loopback("[::1]:5")
    assert not is_loopback("example.com") and not is_loopback("192.168.1.1:80")


@pytest.mark.parametrize(("text", "shown"), [
    ("user:pw@127.0.0.1:5000/x", "user:***@127.0.0.1:5000/x"),
    ("pushing docker://bob:s3cr3t@reg.io/a failed", "pushing docker://bob:***@reg.io/a failed"),
    ("no credentials in reg.io/a:tag", "no credentials in reg.io/a:tag"),
])
def test_redact(text: str, shown: str) -> None:
    assert redact(text) == shown


@pytest.mark.parametrize("stderr", [
    "dial tcp 127.0.0.1:5000: connect: connection refused",
    "read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer",
    "invalid status code from registry 503 (Service Unavailable)",
    "writing blob: use of closed network connection",
    "received unexpected HTTP status: 502 Bad Gateway",
])
def test_transient_failures_are_recognised(stderr: str) -> None:
    assert TRANSIENT.search(stderr)


@pytest.mark.parametrize("stderr", [
    "unauthorized: authentication required",
    "manifest unknown",
    "x509: certificate signed by unknown authority",
    # the digits 429 and 404 inside a quoted digest are not HTTP statuses
    'reading manifest sha256:0e4c1a9d5f2b4290c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4 '
    'in 127.0.0.1:5000/app: manifest unknown',
    'copying "docker://127.0.0.1:5000/app@sha256:404429aa": manifest unknown',
])
def test_permanent_failures_are_not_retried(stderr: str) -> None:
    assert not TRANSIENT.search(stderr)
    assert not MISSING_REPO.search(stderr)


@pytest.mark.parametrize(("stderr", "transient", "missing"), [
    ("invalid status code from registry 429 (Too Many Requests)", True, False),
    ("received unexpected HTTP status: 429", True, False),
    ("invalid status code from registry 404 (Not Found)", False, True),
    ("repository name not known to registry", False, True),
])
def test_status_codes_still_count(stderr: str, transient: bool, missing: bool) -> None:
    assert bool(TRANSIENT.search(stderr)) is transient
    assert bool(MISSING_REPO.search(stderr)) is missing


def test_custom_tag_placeholders() -> None:
    tag = "a" * 56 + "-1795706000000"
    assert custom_tag("%image%-latest", "app", tag) == "app-latest"
    assert custom_tag("v1-%image_slug%", "Team/App_1", tag) == "v1-team-app-1"
    assert custom_tag("%image_content_based_tag%", "app", tag) == tag


def test_skopeo_argv() -> None:
    assert skopeo.list_tags_argv("reg.io/a", True) == [
        "skopeo", "list-tags", "--retry-times", "0", "docker://reg.io/a"]
    assert skopeo.inspect_raw_argv("127.0.0.1:5000/a:t", False) == [
        "skopeo", "inspect", "--raw", "--retry-times", "0", "--tls-verify=false",
        "docker://127.0.0.1:5000/a:t"]
    assert skopeo.copy_argv("docker://a/b:1", "docker://c/d:1", False, True) == [
        "skopeo", "copy", "--quiet", "--retry-times", "0", "--src-tls-verify=false",
        "docker://a/b:1", "docker://c/d:1"]
    assert skopeo.copy_argv("dir:/t/i", "docker://c/d@sha256:1", True, False, True) == [
        "skopeo", "copy", "--quiet", "--retry-times", "0", "--preserve-digests",
        "--dest-tls-verify=false", "dir:/t/i", "docker://c/d@sha256:1"]
    manifest = json.dumps({"config": {"digest": "sha256:abc"}, "layers": []})
    assert skopeo.config_digest(manifest) == "abc"


def test_report_json_and_env() -> None:
    record = report.ImageRecord("dev/app-front", "reg.io/p", "d-1", "sha256:i", "sha256:m",
                                True, True, 123, 1.234, 5, report.Source.BUILT)
    data = json.loads(report.to_json([record]))
    image = data["Images"]["dev/app-front"]
    assert image["DockerImageName"] == "reg.io/p:d-1" and image["BuildTime"] == "1.23"
    assert image["Stages"][0]["SourceType"] == "" and data["ImagesByPlatform"] == {}
    assert report.to_env([record]) == "WERF_DEV_APP_FRONT_DOCKER_IMAGE_NAME=reg.io/p:d-1\n"


class FakeRegistry:
    """A tag listing that changes over a fake clock: tags appear at given times."""

    def __init__(self, appears: dict[str, int], clock: int) -> None:
        self.appears = appears
        self.clock = clock
        self.listings: list[int] = []

    def list_tags(self, repo: str, tls_verify: bool) -> run.Result:
        """The engine's registry listing (the only call ``settled`` makes)."""
        self.listings.append(self.clock)
        tags = [t for t, at in self.appears.items() if at <= self.clock]
        return run.Result(("skopeo", "list-tags", repo), 0, json.dumps({"Tags": tags}), "")

    def sleep(self, seconds: float) -> None:
        self.clock += round(seconds * 1000)


D = "a" * 56
T = 1_795_000_000_000  # tags carry 13-digit unix millis


def tag(millis: int) -> str:
    return f"{D}-{T + millis}"


def upload(builder: str) -> str:
    return f"{D}-upload-{builder}" if builder else f"{D}-upload"


@pytest.mark.parametrize(("appears", "clock", "winner", "listings"), [
    # long settled: one listing, no wait
    ({tag(1000): 1100}, 90_000, tag(1000), [90_000]),
    # a fresh tag: wait until it is SETTLE_MS old; an older one that shows up late wins
    ({tag(5000): 5100, tag(4900): 6500}, 5200, tag(4900), [5200, 7000]),
    # a younger one does not change the winner
    ({tag(5000): 5100, tag(6000): 5150}, 5200, tag(5000), [5200, 7000]),
    # nothing stored: no wait
    ({}, 5200, None, [5200]),
    # one builder (one upload tag, one stage tag): settled CLOCK_SKEW_MS after its stamp
    ({upload("1" * 16): 4000, tag(5000): 5100}, 5300, tag(5000), [5300]),
    ({upload("1" * 16): 4000, tag(5000): 5100}, 5100, tag(5000), [5100, 5250]),
    # two builders' uploads: the whole window, and the older tag shown late wins
    ({upload("1" * 16): 4000, upload("2" * 16): 4500, tag(5000): 5100, tag(4900): 6500},
     5300, tag(4900), [5300, 7000]),
    # an upload tag without a builder (written before they had one): the whole window
    ({upload(""): 4000, tag(5000): 5100}, 5300, tag(5000), [5300, 7000]),
])
def test_settled_waits_until_no_older_tag_can_appear(
        monkeypatch: pytest.MonkeyPatch, appears: dict[str, int], clock: int,
        winner: str | None, listings: list[int]) -> None:
    appears = {t: T + at for t, at in appears.items()}
    listings = [T + at for at in listings]
    fake = FakeRegistry(appears, T + clock)
    monkeypatch.setattr(registry, "now_millis", lambda: fake.clock)
    stages = registry.RegistryStages("reg.io/p", cast(Engine, fake), sleep=fake.sleep)
    found = stages.settled(D)
    assert (found.tag if found else None) == winner
    assert fake.listings == listings
    assert (registry.SETTLE_MS, registry.CLOCK_SKEW_MS) == (2000, 250)  # the figures assume


class RacingTagWrites:
    """A registry that refuses the first manifest writes with ``error`` (another builder's
    upload of the same layer rewriting its link at that moment, as docker-registry does)."""

    def __init__(self, error: str, refusals: int) -> None:
        self.error, self.refusals = error, refusals
        self.written: list[str] = []
        self.clock = T

    def copy(self, src: str, dest: str, src_tls_verify: bool, dest_tls_verify: bool,
             preserve_digests: bool = False) -> run.Result:
        self.clock += 300  # each write takes a while
        if self.refusals:
            self.refusals -= 1
            return run.Result(("skopeo", "copy"), 1, "", self.error)
        self.written.append(dest)
        return run.Result(("skopeo", "copy"), 0, "", "")


BLOB_UNKNOWN = ('time="..." level=fatal msg="writing manifest: uploading manifest x to '
                'reg.io/p: errors:\ndigest invalid manifest blob unknown: blob unknown to '
                'registry"')


def test_a_stage_tag_refused_for_a_racing_blob_is_written_again_and_stamped_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = RacingTagWrites(BLOB_UNKNOWN, refusals=2)
    monkeypatch.setattr(registry, "now_millis", lambda: fake.clock)
    slept: list[float] = []
    stages = registry.RegistryStages("reg.io/p", cast(Engine, fake),
                                     retry=registry.Retry(sleep=slept.append))
    tag, stamp = stages.stamp("app", "sha256:" + "ab" * 32, D)
    assert fake.written == [f"docker://reg.io/p:{tag}"]  # one tag: the attempt that passed
    assert stamp == T + 600 and tag == f"{D}-{T + 600}"  # stamped just before its write
    assert slept == [0.5, 1.0]


def test_a_stage_tag_refused_otherwise_fails_at_once() -> None:
    fake = RacingTagWrites('msg="writing manifest: unauthorized: authentication required"', 1)
    slept: list[float] = []
    stages = registry.RegistryStages("reg.io/p", cast(Engine, fake),
                                     retry=registry.Retry(sleep=slept.append))
    with pytest.raises(RegistryError, match="authentication required"):
        stages.stamp("app", "sha256:" + "ab" * 32, D)
    assert fake.written == [] and slept == []


def test_container_ids_from_the_store_lists(tmp_path: Path) -> None:
    from dockwright.engine.store import container_ids

    assert container_ids(tmp_path / "none", "vfs") == set()  # no store: no container
    (tmp_path / "vfs-containers").mkdir()
    assert container_ids(tmp_path, "vfs") is None  # cannot tell: ask buildah
    (tmp_path / "vfs-containers" / "containers.json").write_text(
        json.dumps([{"id": "a1", "names": ["x-working-container"]}]))
    (tmp_path / "vfs-containers" / "volatile-containers.json").write_text(
        json.dumps([{"id": "b2"}]))
    assert container_ids(tmp_path, "vfs") == {"a1", "b2"}
    assert container_ids(tmp_path, "overlay") is None
    (tmp_path / "vfs-containers" / "containers.json").write_text("[{")
    assert container_ids(tmp_path, "vfs") is None


def test_read_images_from_the_store_list(tmp_path: Path) -> None:
    from dockwright.engine.store import read_images

    assert read_images(tmp_path / "none", "vfs") == []  # no store: no image
    assert read_images(tmp_path, "vfs") is None  # cannot tell: ask buildah
    (tmp_path / "vfs-images").mkdir()
    (tmp_path / "vfs-images" / "images.json").write_text(json.dumps([
        {"id": "ab" * 32, "digest": "sha256:" + "cd" * 32, "names": ["localhost/p:x-1"],
         "created": "2026-11-26T18:00:00Z"},
        {"id": "ef" * 32}]))
    (first, second) = read_images(tmp_path, "vfs") or []
    assert (first.id, first.names, first.digest) == ("ab" * 32, ("localhost/p:x-1",),
                                                     "sha256:" + "cd" * 32)
    assert (second.names, second.size) == ((), "")
    conf = tmp_path / "storage.conf"
    conf.write_text('[storage.options]\nadditionalimagestores = [\n  "/ro/store",\n]\n')
    assert read_images(tmp_path, "vfs", [conf]) is None  # only buildah sees those
    conf.write_text("[storage.options]\nadditionalimagestores = []\n")
    assert read_images(tmp_path, "vfs", [conf, tmp_path / "absent.conf"]) is not None


def test_a_logrus_error_of_several_lines_is_one_line() -> None:
    stderr = ('time="2026-11-27T08:50:00Z" level=fatal msg="Error listing repository tags: '
              'getting username and password: 1 error occurred:\\n\\t* reading JSON file '
              '\\"/run/containers/1001/auth.json\\": permission denied\\n\\n"\n')
    error = registry.failure("listing the tags of r/p", run.Result(("skopeo",), 1, "", stderr),
                             "r/p")
    assert error.message == (
        'listing the tags of r/p failed: Error listing repository tags: getting username and '
        'password: 1 error occurred: * reading JSON file "/run/containers/1001/auth.json": '
        "permission denied")
