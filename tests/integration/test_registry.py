"""Stages in a real registry: reuse across machines, final repo, custom tags, report, auth."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.integration.conftest import Builder
from tests.integration.registry import Registry
from tests.integration.test_build import copy_example, outcome

CHROOT = ("--buildah-mode", "native-chroot", "--storage-driver", "vfs")


def local_names(builder: Builder) -> list[str]:
    out = builder.buildah("images", "--json", driver="vfs", check=False).out or "[]"
    return sorted(n for img in json.loads(out) or [] for n in img.get("names") or [])


def test_stages_go_to_the_repo_and_another_machine_reuses_them(
        root_builder: Builder, other_root_builder: Builder, registry: Registry,
        tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    repo = f"{registry.host}/hello"
    first = outcome(root_builder.build(project, *CHROOT, "--repo", repo).out)
    assert {s for _, s in first.values()} == {"built"}
    tags = registry.tags("hello")
    stages = registry.stage_tags("hello")
    assert len(stages) == 3
    assert {ref for ref, _ in first.values()} == {f"{repo}:{t}" for t in stages}
    # each stage went up as <digest>-upload-<builder> first, then got its stamped tag
    # (storage/registry.py); one builder: one upload tag each, all with the same builder
    uploads = registry.upload_tags("hello")
    assert sorted(t.split("-")[0] for t in uploads) == sorted(t.split("-")[0] for t in stages)
    assert len({t.rsplit("-", 1)[1] for t in uploads}) == 1
    assert len(tags) == 6

    # another machine: empty store, same registry -> builds nothing, pulls nothing
    second = other_root_builder.build(project, *CHROOT, "--repo", repo, "--debug")
    assert outcome(second.out) == {n: (ref, "reused") for n, (ref, _) in first.items()}
    assert local_names(other_root_builder) == []
    runs = [line for line in second.err.splitlines() if "debug: run:" in line]
    # the repo is listed twice: to decide, and at the end to confirm that the stages reused
    # are still there; the one manifest read before that is base's, which the others build
    # on; the others' are read after, for the summary's sizes (none with --quiet)
    listings = [n for n, line in enumerate(runs) if " list-tags " in line]
    assert len(listings) == 2
    reads = [(n, line.rsplit("/", 1)[1]) for n, line in enumerate(runs)
             if " inspect --raw " in line]
    assert [ref for n, ref in reads if n < listings[1]] == [first["base"][0].rsplit("/", 1)[1]]
    assert sorted(ref for n, ref in reads if n > listings[1]) == sorted(
        first[name][0].rsplit("/", 1)[1] for name in ("app", "tools"))
    assert not any(" pull " in line or " build " in line for line in runs)
    assert registry.tags("hello") == tags


def test_a_changed_image_pulls_only_what_it_builds_on(
        root_builder: Builder, other_root_builder: Builder, registry: Registry,
        tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    repo = f"{registry.host}/hello"
    first = outcome(root_builder.build(project, *CHROOT, "--repo", repo).out)
    (project / "tools/check.sh").write_text('#!/bin/sh\necho "tools v2"\n')
    second = outcome(other_root_builder.build(project, *CHROOT, "--repo", repo).out)
    assert {n: s for n, (_, s) in second.items()} == \
        {"base": "reused", "app": "reused", "tools": "built"}
    names = local_names(other_root_builder)
    assert first["base"][0] in names  # tools builds FROM base: pulled
    assert first["app"][0] not in names  # app is not needed: not pulled
    assert len(registry.stage_tags("hello")) == 4


def test_a_local_stage_is_pushed_not_rebuilt(root_builder: Builder, registry: Registry,
                                             tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    local_only = outcome(root_builder.build(project, *CHROOT).out)
    base_tag = local_only["base"][0].split(":", 1)[1]
    local_id = root_builder.buildah("inspect", "--format", "{{.FromImageID}}",
                                    local_only["base"][0], driver="vfs").out.strip()
    with_repo = root_builder.build(project, *CHROOT, "--repo", f"{registry.host}/hello")
    states = {n: s for n, (_, s) in outcome(with_repo.out).items()}
    assert states["base"] == "reused"  # the same digest: pushed as it is
    assert f"found localhost/hello:{base_tag} locally; pushing it" in with_repo.err
    digest = base_tag.split("-")[0]
    # the registry tag is stamped when it is written (see storage/registry.py), the image
    # is the local one: same config digest, so the same image ID
    (pushed,) = [t for t in registry.stage_tags("hello") if t.startswith(digest + "-")]
    manifest = json.loads(subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false",
         f"docker://{registry.host}/hello:{pushed}"],
        capture_output=True, text=True, check=True).stdout)
    assert manifest["config"]["digest"] == f"sha256:{local_id}"


def test_final_repo_custom_tags_and_report(root_builder: Builder, registry: Registry,
                                           tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    repo, final = f"{registry.host}/hello", f"{registry.host}/hello-final"
    result = root_builder.build(project, *CHROOT, "--repo", repo, "--final-repo", final,
                                "--add-custom-tag", "%image%-latest",
                                "--add-custom-tag", "v1-%image_slug%",
                                "--save-build-report")
    refs = outcome(result.out)
    stage_tags = {ref.rsplit(":", 1)[1] for ref, _ in refs.values()}
    # base is not final: only app and tools go to the final repo, with their custom tags
    app_tag = refs["app"][0].rsplit(":", 1)[1]
    tools_tag = refs["tools"][0].rsplit(":", 1)[1]
    assert refs["app"][0] == f"{final}:{app_tag}"
    assert registry.tags("hello-final") == sorted(
        [app_tag, tools_tag, "app-latest", "tools-latest", "v1-app", "v1-tools"])
    assert set(registry.stage_tags("hello")) == stage_tags
    report = json.loads((project / ".werf-build-report.json").read_text())
    app = report["Images"]["app"]
    assert app["WerfImageName"] == "app" and app["DockerRepo"] == final
    assert app["DockerTag"] == app_tag and app["DockerImageName"] == f"{final}:{app_tag}"
    assert app["DockerImageID"].startswith("sha256:") and len(app["DockerImageID"]) == 71
    assert app["DockerImageDigest"].startswith("sha256:")
    assert app["Rebuilt"] is True and app["Final"] is True and app["Size"] > 1_000_000
    assert report["Images"]["base"]["Final"] is False
    assert report["Images"]["base"]["DockerRepo"] == repo
    # the env form, and a second run that reuses everything
    again = root_builder.build(project, *CHROOT, "--repo", repo, "--final-repo", final,
                               "--build-report-path", "out/report.env")
    assert {s for _, s in outcome(again.out).values()} == {"reused"}
    env = (project / "out/report.env").read_text().splitlines()
    assert sorted(env) == sorted([
        f"WERF_APP_DOCKER_IMAGE_NAME={final}:{app_tag}",
        f"WERF_TOOLS_DOCKER_IMAGE_NAME={final}:{tools_tag}",
        f"WERF_BASE_DOCKER_IMAGE_NAME={refs['base'][0]}",
    ])


def test_require_built_images(root_builder: Builder, registry: Registry,
                              tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    repo = f"{registry.host}/hello"
    refused = root_builder.build(project, *CHROOT, "--repo", repo, "--require-built-images",
                                 check=False)
    assert refused.code == 1
    assert f"error: stages required: base, app, tools not built in {repo}" in refused.err
    assert "Traceback" not in refused.err
    assert registry.tags("hello") == []
    assert local_names(root_builder) == []
    root_builder.build(project, *CHROOT, "--repo", repo)
    ok = root_builder.build(project, *CHROOT, "--repo", repo, "--require-built-images")
    assert {s for _, s in outcome(ok.out).values()} == {"reused"}


def test_tls_and_htpasswd(root_builder: Builder, other_root_builder: Builder,
                          secure_registry: Registry, tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    repo = f"{secure_registry.host}/hello"
    authfile = tmp_path / "auth.json"
    env = {"REGISTRY_AUTH_FILE": str(authfile)}
    denied = root_builder.build(project, *CHROOT, "--repo", repo, check=False, extra_env=env)
    assert denied.code == 4
    assert "hint: log in first: dockwright login " + secure_registry.host in denied.err
    assert "Traceback" not in denied.err
    secure_registry.login(authfile)
    built = root_builder.build(project, *CHROOT, "--repo", repo, "--save-build-report",
                               extra_env=env)
    reused = other_root_builder.build(project, *CHROOT, "--repo", repo, extra_env=env)
    assert {s for _, s in outcome(reused.out).values()} == {"reused"}
    assert len(secure_registry.stage_tags("hello", authfile)) == 3
    report = (project / ".werf-build-report.json").read_text()
    for text in (denied.out, denied.err, built.out, built.err, reused.out, reused.err, report):
        assert secure_registry.password not in text


def test_bad_repo_names(root_builder: Builder, tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    for bad in ("user:pw@127.0.0.1:5000/x", "NoUpper/Case", "justaname"):
        r = root_builder.build(project, *CHROOT, "--repo", bad, check=False)
        assert r.code == 2, r.err
        assert "is not a registry repository" in r.err and "pw" not in r.err
