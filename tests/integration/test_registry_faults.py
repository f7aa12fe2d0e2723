"""Races between builders and a registry that fails: retries, clear errors, no broken tags."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.conftest import Builder, Run
from tests.integration.registry import FaultProxy, Registry
from tests.integration.test_build import copy_example, outcome

CHROOT = ("--buildah-mode", "native-chroot", "--storage-driver", "vfs")


def test_concurrent_builders_agree(registry: Registry, tmp_path: Path) -> None:
    """Three machines (separate stores) build the same project against one repo at once."""
    project = copy_example(tmp_path / "hello")
    repo = f"{registry.host}/hello"
    builders = [Builder("root", tmp_path / f"store-{n}",
                        {"WERF_CONTAINERIZED": "no", "XDG_CACHE_HOME": str(tmp_path / f"c{n}")})
                for n in range(3)]
    try:
        with ThreadPoolExecutor(3) as pool:
            runs: list[Run] = list(pool.map(
                lambda b: b.build(project, *CHROOT, "--repo", repo), builders))
        results = [outcome(r.out) for r in runs]
        refs = [{n: ref for n, (ref, _) in r.items()} for r in results]
        assert refs[0] == refs[1] == refs[2]  # every builder reports the same references
        by_digest: dict[str, list[str]] = {}
        for tag in registry.stage_tags("hello"):
            by_digest.setdefault(tag.split("-")[0], []).append(tag)
        assert len(by_digest) == 3  # every stage has at least one tag
        for name, ref in refs[0].items():
            tag = ref.rsplit(":", 1)[1]
            oldest = min(by_digest[tag.split("-")[0]], key=lambda t: int(t.split("-")[1]))
            assert tag == oldest, f"{name}: {tag} is not the oldest"
        discarded = [line for r in runs for line in r.err.splitlines()
                     if "discarding own" in line]
        extra = sum(len(t) - 1 for t in by_digest.values())
        # every extra tag belongs to a builder that said it discards its own
        assert len(discarded) >= extra
    finally:
        for b in builders:
            b.cleanup()


def test_unreachable_registry(root_builder: Builder, tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    with FaultProxy(upstream=1, mode="refuse") as proxy:
        r = root_builder.build(project, *CHROOT, "--repo", f"{proxy.host}/hello", check=False)
    assert r.code == 4
    assert f"error: listing the tags of {proxy.host}/hello failed:" in r.err
    assert f"hint: the registry {proxy.host} did not answer after retries" in r.err
    assert r.err.count("retrying in") == 3  # bounded: 4 attempts
    assert proxy.faults >= 4  # skopeo may try https and http on each attempt
    assert "Traceback" not in r.err
    assert root_builder.containers("vfs") == ""


def test_5xx_answers_are_retried(root_builder: Builder, registry: Registry,
                                 tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    with FaultProxy(upstream=registry.port, mode="503", count=2) as proxy:
        r = root_builder.build(project, *CHROOT, "--repo", f"{proxy.host}/hello")
    assert proxy.faults == 2  # one skopeo call tries https, then http: both get 503
    # skopeo 1.9: "invalid status code from registry 503 (Service Unavailable)"; 1.18 words
    # it its own way: dockwright's line names the 503 and the retry either way
    retried = [line for line in r.err.splitlines() if "retrying in 0.5 s (1/3)" in line]
    assert len(retried) == 1 and "503" in retried[0], r.err
    assert {s for _, s in outcome(r.out).values()} == {"built"}
    assert len(registry.stage_tags("hello")) == 3


def test_push_reset_midway_is_retried(root_builder: Builder, registry: Registry,
                                      tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    with FaultProxy(upstream=registry.port, mode="reset", count=3) as proxy:
        r = root_builder.build(project, *CHROOT, "--repo", f"{proxy.host}/hello")
    assert proxy.faults == 3  # three uploads were cut off midway
    # and retried: by dockwright ("pushing base to ...: retrying in"), or within the one
    # `buildah push` that now uploads straight to the registry, which can resume a blob
    # upload itself (dockwright's own retries are proved by the 503 case above)
    assert {s for _, s in outcome(r.out).values()} == {"built"}
    assert len(registry.stage_tags("hello")) == 3
    assert_complete(registry, "hello")


@pytest.mark.parametrize("count", [100])
def test_push_that_keeps_failing_leaves_no_tag_and_the_next_run_completes(
        root_builder: Builder, registry: Registry, tmp_path: Path, count: int) -> None:
    project = copy_example(tmp_path / "hello")
    with FaultProxy(upstream=registry.port, mode="reset", count=count) as proxy:
        r = root_builder.build(project, *CHROOT, "--repo", f"{proxy.host}/hello", check=False)
    assert r.code == 4
    assert "error: pushing base to " in r.err and "Traceback" not in r.err
    assert registry.tags("hello") == []  # no tag for an incomplete image
    assert root_builder.containers("vfs") == ""
    again = root_builder.build(project, *CHROOT, "--repo", f"{registry.host}/hello")
    states = {n: s for n, (_, s) in outcome(again.out).items()}
    assert states == {"base": "reused", "app": "built", "tools": "built"}  # base was built
    assert len(registry.stage_tags("hello")) == 3
    assert_complete(registry, "hello")


def assert_complete(registry: Registry, repo: str) -> None:
    """Every tag's manifest and blobs can be read in full."""
    for tag in registry.tags(repo):
        p = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw",
                            f"docker://{registry.host}/{repo}:{tag}"], capture_output=True,
                           text=True, check=True)
        manifest = json.loads(p.stdout)
        for blob in [manifest["config"], *manifest["layers"]]:
            url = f"http://{registry.host}/v2/{repo}/blobs/{blob['digest']}"
            out = subprocess.run(["python3", "-c", "import sys,urllib.request,hashlib;"
                                  "d=urllib.request.urlopen(sys.argv[1]).read();"
                                  "print('sha256:'+hashlib.sha256(d).hexdigest())", url],
                                 capture_output=True, text=True, check=True).stdout.strip()
            assert out == blob["digest"]
