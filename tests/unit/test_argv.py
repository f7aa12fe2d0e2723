"""Buildah argv builders compared as whole lists; image listing and local stage lookup."""

from __future__ import annotations

from pathlib import Path

from dockwright.engine.base import BuildSpec, Isolation, LocalImage, StoreOptions
from dockwright.engine.buildah import (
    all_ids_argv,
    build_argv,
    buildah_argv,
    candidate_names,
    commit_argv,
    config_argv,
    find_local,
    from_argv,
    images_argv,
    inspect_argv,
    parse_images,
    push_argv,
    rm_argv,
    tag_argv,
)
from dockwright.storage.local import Stage, local_repo, stages

STORE = StoreOptions(Path("/s/graph"), Path("/s/run"), "vfs")
FUSE = StoreOptions(Path("/s/graph"), Path("/s/run"), "overlay", "/usr/bin/fuse-overlayfs")
GLOBAL = ["--root", "/s/graph", "--runroot", "/s/run", "--storage-driver", "vfs"]


def test_store_options_without_mount_program() -> None:
    assert STORE.global_args() == GLOBAL
    assert StoreOptions(Path("/g"), Path("/r"), "overlay").global_args() == [
        "--root", "/g", "--runroot", "/r", "--storage-driver", "overlay"]


def test_store_options_with_mount_program() -> None:
    assert FUSE.global_args() == [
        "--root", "/s/graph", "--runroot", "/s/run", "--storage-driver", "overlay",
        "--storage-opt", "overlay.mount_program=/usr/bin/fuse-overlayfs"]


def test_isolation() -> None:
    assert Isolation("oci", "/usr/sbin/runc").args() == [
        "--isolation", "oci", "--runtime", "/usr/sbin/runc"]
    assert Isolation("oci").args() == ["--isolation", "oci"]
    assert Isolation("chroot").args() == ["--isolation", "chroot"]
    assert Isolation("chroot", "/usr/sbin/runc").args() == ["--isolation", "chroot"]


def test_build_argv_minimal() -> None:
    spec = BuildSpec(Path("/p/ctx"), Path("/p/ctx/Dockerfile"), "localhost/demo:d-1")
    assert build_argv(STORE, Isolation("chroot"), spec) == [
        "buildah", *GLOBAL, "build", "--isolation", "chroot", "--format", "docker",
        "--file", "/p/ctx/Dockerfile", "--tag", "localhost/demo:d-1", "/p/ctx"]


def test_build_argv_with_every_option() -> None:
    spec = BuildSpec(
        context_dir=Path("/p/ctx"),
        dockerfile=Path("/p/ctx/docker/Dockerfile"),
        tag="localhost/demo:d-1",
        target="runtime",
        build_args=(("A", "1"), ("B", "two words")),
        labels=(("werf", "demo"), ("werf-stage-content-digest", "d")),
        add_hosts=("db:10.0.0.2", "cache:10.0.0.3"),
        network="host",
        platform="linux/arm64",
        secrets=(("token", "/tmp/s1"), ("npmrc", "/home/u/.npmrc")),
        ssh="default",
        iidfile=Path("/tmp/iid"),
        layers=True,
        layer_labels=(("werf", "demo"),),
    )
    assert build_argv(FUSE, Isolation("oci", "/usr/sbin/runc"), spec) == [
        "buildah", "--root", "/s/graph", "--runroot", "/s/run", "--storage-driver", "overlay",
        "--storage-opt", "overlay.mount_program=/usr/bin/fuse-overlayfs",
        "build", "--isolation", "oci", "--runtime", "/usr/sbin/runc", "--format", "docker",
        "--file", "/p/ctx/docker/Dockerfile", "--layers", "--force-rm",
        "--tag", "localhost/demo:d-1", "--target", "runtime",
        "--build-arg", "A=1", "--build-arg", "B=two words",
        "--label", "werf=demo", "--label", "werf-stage-content-digest=d",
        "--layer-label", "werf=demo",
        "--add-host", "db:10.0.0.2", "--add-host", "cache:10.0.0.3",
        "--network", "host",
        "--platform", "linux/arm64",
        "--secret", "id=token,src=/tmp/s1", "--secret", "id=npmrc,src=/home/u/.npmrc",
        "--ssh", "default",
        "--iidfile", "/tmp/iid",
        "/p/ctx",
    ]


def test_small_argv_builders() -> None:
    assert buildah_argv(STORE, "info") == ["buildah", *GLOBAL, "info"]
    assert images_argv(STORE) == ["buildah", *GLOBAL, "images", "--json", "--no-trunc"]
    assert push_argv(STORE, "localhost/p:t", "dir:/tmp/x", Path("/tmp/d"), False) == [
        "buildah", *GLOBAL, "push", "--quiet", "--retry", "0", "--digestfile", "/tmp/d",
        "--tls-verify=false", "localhost/p:t", "dir:/tmp/x"]
    assert all_ids_argv(STORE) == ["buildah", *GLOBAL, "images", "--all", "--quiet",
                                   "--no-trunc"]
    assert tag_argv(STORE, "img", "t1", "t2") == ["buildah", *GLOBAL, "tag", "img", "t1", "t2"]
    assert inspect_argv(STORE, "ref") == ["buildah", *GLOBAL, "inspect", "--type", "image",
                                          "ref"]


def test_image_spec_argv_builders() -> None:
    assert from_argv(STORE, "abc", "w") == ["buildah", *GLOBAL, "from", "--pull=never",
                                            "--quiet", "--name", "w", "abc"]
    assert config_argv(STORE, "w", ["--user", "app"]) == ["buildah", *GLOBAL, "config",
                                                          "--user", "app", "w"]
    assert commit_argv(STORE, "w", "localhost/p:t", Path("/tmp/i"), omit_history=True) == [
        "buildah", *GLOBAL, "commit", "--quiet", "--rm", "--format", "docker", "--iidfile",
        "/tmp/i", "--omit-history", "w", "localhost/p:t"]
    assert commit_argv(STORE, "w", "t", Path("/i"))[-4:] == ["--iidfile", "/i", "w", "t"]
    assert rm_argv(STORE, "w") == ["buildah", *GLOBAL, "rm", "w"]


def test_build_argv_without_tag() -> None:
    spec = BuildSpec(Path("/p/ctx"), Path("/p/ctx/Dockerfile"), None, iidfile=Path("/t/iid"))
    argv = build_argv(STORE, Isolation("chroot"), spec)
    assert "--tag" not in argv
    assert argv[-3:] == ["--iidfile", "/t/iid", "/p/ctx"]


def test_candidate_names() -> None:
    assert candidate_names("alpine") == ["localhost/alpine:latest",
                                         "docker.io/library/alpine:latest"]
    assert candidate_names("alpine:3.19") == ["localhost/alpine:3.19",
                                              "docker.io/library/alpine:3.19"]
    assert candidate_names("team/app:1") == ["localhost/team/app:1", "docker.io/team/app:1"]
    assert candidate_names("registry.example/app:1") == ["registry.example/app:1"]
    assert candidate_names("registry.example:5000/app") == ["registry.example:5000/app:latest"]
    assert candidate_names("localhost/demo:abc") == ["localhost/demo:abc"]
    assert candidate_names("localhost:5000/team/app:2") == ["localhost:5000/team/app:2"]
    assert candidate_names("alpine@sha256:" + "a" * 64) == ["alpine@sha256:" + "a" * 64]


# `buildah images --json --no-trunc` of Buildah 1.28 (a dangling image has "names": null).
IMAGES_JSON = """[
    {
        "id": "sha256:e23af439aefd8c45bdc5cf74f5658eab3f3ff225a7bda8032f172fa218fb0086",
        "names": ["localhost/demo:abc", "localhost/demo:def"],
        "digest": "sha256:40d69b205523180f395f17c92d30cff97b92e69e4c76a1fd61dd29e4149b34bd",
        "createdat": "Less than a second ago",
        "size": "2.34 KB",
        "created": 1795705303,
        "createdatraw": "2026-11-26T15:01:43.613021911Z",
        "readonly": false,
        "history": null
    },
    {
        "id": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
        "names": null,
        "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
        "createdat": "2 days ago",
        "size": "10 MB",
        "created": 1795500000,
        "createdatraw": "2026-11-24T00:00:00Z",
        "readonly": false,
        "history": null
    }
]"""


def test_parse_images() -> None:
    assert parse_images(IMAGES_JSON) == [
        LocalImage("e23af439aefd8c45bdc5cf74f5658eab3f3ff225a7bda8032f172fa218fb0086",
                   ("localhost/demo:abc", "localhost/demo:def"), 1795705303, "2.34 KB",
                   "sha256:40d69b205523180f395f17c92d30cff97b92e69e4c76a1fd61dd29e4149b34bd"),
        LocalImage("1" * 64, (), 1795500000, "10 MB", "sha256:" + "2" * 64),
    ]


def test_parse_images_empty_store() -> None:
    assert parse_images("") == []
    assert parse_images("[]") == []
    assert parse_images("null") == []


def test_find_local() -> None:
    images = [
        LocalImage("1" * 64, ("docker.io/library/alpine:3",), 1, ""),
        LocalImage("2" * 64, ("localhost/alpine:3",), 2, ""),
        LocalImage("3" * 64, ("registry.example/app:1",), 3, ""),
    ]
    found = find_local(images, "alpine:3")
    assert found is not None and found.id == "2" * 64  # localhost first, as Buildah does
    found = find_local(images, "registry.example/app:1")
    assert found is not None and found.id == "3" * 64
    assert find_local(images, "alpine:4") is None
    assert find_local([], "alpine") is None


D1 = "a" * 56
D2 = "b" * 56


def test_stages_picks_the_oldest_tag_for_a_digest() -> None:
    images = [
        LocalImage("new", (f"localhost/demo:{D1}-1700000000500",), 2, "2 MB"),
        LocalImage("old", (f"localhost/demo:{D1}-1700000000100",), 1, "1 MB"),
        LocalImage("mid", (f"localhost/demo:{D1}-1700000000300",
                           f"localhost/demo:{D2}-1700000000900"), 1, "3 MB"),
    ]
    found = stages(images, local_repo("demo"))
    assert found == {
        D1: Stage("localhost/demo", f"{D1}-1700000000100", "old", "1 MB"),
        D2: Stage("localhost/demo", f"{D2}-1700000000900", "mid", "3 MB"),
    }
    stage = found[D1]
    assert stage.reference == f"localhost/demo:{D1}-1700000000100"
    assert stage.digest == D1
    assert stage.millis == 1700000000100


def test_stages_ignores_other_repos_and_other_tags() -> None:
    images = [
        LocalImage("x", (f"localhost/other:{D1}-1700000000100",
                         f"localhost/demo-x:{D1}-1700000000100",
                         "localhost/demo:latest",
                         f"localhost/demo:{D1}",
                         f"localhost/demo:{D1}-17",
                         f"localhost/demo:{D1.upper()}-1700000000100",
                         f"registry.example/demo:{D1}-1700000000100"), 1, ""),
    ]
    assert stages(images, "localhost/demo") == {}
    assert local_repo("demo") == "localhost/demo"
