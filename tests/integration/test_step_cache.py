"""The instruction cache with real Buildah: change one input, and exactly the steps from that
point on run again; locally, and on an empty store through a real registry (staged: true)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Builder, busybox_rootfs, give_to
from tests.integration.registry import Registry
from tests.integration.test_build import outcome

CHROOT = ("--buildah-mode", "native-chroot", "--storage-driver", "overlay", "--log-format",
          "plain")
SECRET = "s3cr3t-value-never-logged"
DOCKERFILE = """\
FROM scratch
COPY rootfs/ /
ARG LEVEL=1
RUN ["/bin/busybox", "sh", "-c", "echo RAN-deps; echo $LEVEL > /deps"]
RUN --mount=type=bind,source=conf.txt,target=/conf.txt --mount=type=secret,id=token \\
    ["/bin/busybox", "sh", "-c", \\
     "echo RAN-bind; cat /conf.txt > /conf.copy; test -s /run/secrets/token"]
COPY app.sh /app.sh
RUN ["/bin/busybox", "sh", "-c", "echo RAN-last; cat /app.sh > /app.out"]
"""
STEPS = ("deps", "bind", "last")


def werf(staged: bool = False, args: str = "") -> str:
    return ("configVersion: 1\nproject: steps\n---\nimage: app\ndockerfile: Dockerfile\n"
            "secrets:\n- id: token\n  env: DW_TEST_TOKEN\n" + ("staged: true\n" if staged else "")
            + args)


def project(where: Path, user: str = "root", staged: bool = False) -> Path:
    where.mkdir(parents=True)
    busybox_rootfs(where / "rootfs")
    (where / "Dockerfile").write_text(DOCKERFILE)
    (where / "werf.yaml").write_text(werf(staged))
    (where / "app.sh").write_text("app 1\n")
    (where / "conf.txt").write_text("conf 1\n")
    return give_to(user, where)


def build(builder: Builder, root: Path, *args: str, token: str = SECRET) -> tuple[set[str], str]:
    """The RUN steps that ran (their own output says so), and the build's output."""
    run = builder.build(root, *CHROOT, *args, extra_env={"DW_TEST_TOKEN": token})
    ran = {name for name in STEPS if re.search(rf"^\[app\] RAN-{name}$", run.err, re.M)}
    return ran, run.out + run.err


def content(builder: Builder, out: str, path: str) -> str:
    """A file in the image built, read by running the image's busybox."""
    rows = [line.split("\t") for line in out.splitlines() if line.startswith("app\t")]
    ref = rows[-1][1]
    if not ref.startswith("localhost/"):  # in the registry: its layers are all local
        builder.buildah("pull", "--quiet", "--tls-verify=false", ref, driver="overlay")
    return builder.run_in_image(ref, "/bin/busybox", "cat", path, driver="overlay")


def test_exactly_the_steps_from_a_change_on_run_again(root_builder: Builder,
                                                      tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    ran, _ = build(root_builder, root)
    assert ran == {"deps", "bind", "last"}

    (root / "app.sh").write_text("app 2\n")  # a COPY source
    ran, out = build(root_builder, root)
    assert ran == {"last"}
    assert "Dockerfile:8 COPY app.sh /app.sh: runs: files it reads changed: app.sh" in out
    assert "steps: 4 from the cache, 2 run" in out, out
    assert content(root_builder, out, "/app.out") == "app 2\n"

    (root / "conf.txt").write_text("conf 2\n")  # a bind mount's source (werf issue 6823)
    ran, out = build(root_builder, root)
    assert ran == {"bind", "last"}
    assert content(root_builder, out, "/conf.copy") == "conf 2\n"

    (root / "werf.yaml").write_text(werf(args="args:\n  LEVEL: \"2\"\n"))  # an ARG's value
    ran, out = build(root_builder, root)
    assert ran == {"deps", "bind", "last"}
    assert content(root_builder, out, "/deps") == "2\n"

    (root / "werf.yaml").write_text(werf())  # back to the first value: the first stage
    ran, out = build(root_builder, root)
    assert ran == set() and "\treused\t" in out

    # the text of the last step
    (root / "Dockerfile").write_text(DOCKERFILE.replace("cat /app.sh", "cat  /app.sh"))
    ran, _ = build(root_builder, root)
    assert ran == {"last"}

    # a secret's value is not an input: nothing runs, the stage is reused
    ran, out = build(root_builder, root, token="another-value")
    assert ran == set() and "\treused\t" in out


def test_a_secret_value_never_enters_a_key_a_layer_a_log_or_the_report(
        root_builder: Builder, tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    cache = tmp_path / "cache"
    root_builder.env["XDG_CACHE_HOME"] = str(cache)
    _, out = build(root_builder, root, "--save-build-report", "--build-report-path",
                   str(tmp_path / "report.json"))
    assert SECRET not in out
    assert SECRET not in (tmp_path / "report.json").read_text()
    for path in cache.rglob("*"):  # manifests, step records, index, derived Dockerfiles
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    ids = root_builder.buildah("images", "--all", "--quiet", "--no-trunc",
                               driver="overlay").out.split()
    assert len(ids) > 3
    for image in ids:
        inspected = root_builder.buildah("inspect", "--type", "image", image,
                                         driver="overlay").out
        assert SECRET not in inspected
        mounted = subprocess.run(
            ["buildah", "--root", str(root_builder.storage_root), "--runroot",
             str(root_builder.run_root), "--storage-driver", "overlay", "unshare", "sh", "-c",
             f"c=$(buildah from --pull=never {image}) && d=$(buildah mount $c) && "
             f"grep -rl -- {SECRET} $d; buildah rm $c >/dev/null"],
            capture_output=True, text=True)
        assert mounted.stdout.strip() == "", mounted.stdout


def test_explain_says_per_instruction_whether_it_is_cached(root_builder: Builder,
                                                          tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    build(root_builder, root)
    (root / "conf.txt").write_text("conf 2\n")
    explained = root_builder.build(root, *CHROOT, "--explain", "app").out
    lines = explained[explained.index("instructions (a build now):"):].splitlines()[1:]
    assert [line.strip().split(": ", 1)[1] if ": " in line else line for line in lines] == [
        "cached (local)", "cached (local)", "cached (local)",
        "runs: files it reads changed: conf.txt", "runs: a step before it runs",
        "runs: a step before it runs"]
    assert lines[3].strip().startswith("Dockerfile:5 RUN --mount=type=bind,source=conf.txt")


def test_a_rootless_user_gets_the_same_cache(user_builder: Builder) -> None:
    root = project(user_builder.storage_root.parent / "p", user_builder.user)
    args = ("--buildah-mode", "native-rootless", "--storage-driver", "vfs", "--log-format",
            "plain")
    first = user_builder.build(root, *args, extra_env={"DW_TEST_TOKEN": SECRET})
    assert "[app] RAN-deps" in first.err
    subprocess.run(["runuser", "-u", user_builder.user, "--", "sh", "-c",
                    f"echo app 2 > {root / 'app.sh'}"], check=True)
    again = user_builder.build(root, *args, extra_env={"DW_TEST_TOKEN": SECRET})
    assert "[app] RAN-deps" not in again.err and "[app] RAN-bind" not in again.err
    assert "[app] RAN-last" in again.err
    ref = outcome(again.out)["app"][0]
    assert user_builder.run_in_image(ref, "/bin/busybox", "cat", "/app.out",
                                     driver="vfs") == "app 2\n"


def _manifest(registry: Registry, repo: str, tag: str) -> dict[str, Any]:
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                          f"docker://{registry.host}/{repo}:{tag}"], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(raw)  # type: ignore[no-any-return]


def test_an_empty_store_takes_the_steps_from_the_registry(
        root_builder: Builder, other_root_builder: Builder, registry: Registry,
        tmp_path: Path) -> None:
    root = project(tmp_path / "p", staged=True)
    repo = f"{registry.host}/steps"
    ran, _ = build(root_builder, root, "--repo", repo)
    assert ran == {"deps", "bind", "last"}
    cached = [t for t in registry.tags("steps") if t.startswith("cache-")]
    assert len(cached) == 5  # COPY, RUN, RUN, COPY, RUN: the steps with a layer
    for tag in cached:  # each one labelled for a cleanup to find
        config = subprocess.run(["skopeo", "inspect", "--config", "--tls-verify=false",
                                 f"docker://{repo}:{tag}"], capture_output=True, text=True,
                                check=True).stdout
        assert json.loads(config)["config"]["Labels"]["werf"] == "steps"

    (root / "app.sh").write_text("app 2\n")
    ran, out = build(other_root_builder, root, "--repo", repo)
    assert ran == {"last"}  # the dependency steps did not run on the empty store
    assert content(other_root_builder, out, "/app.out") == "app 2\n"
    assert content(other_root_builder, out, "/conf.copy") == "conf 1\n"
    names = other_root_builder.buildah("images", "--format", "{{.Name}}:{{.Tag}}",
                                       driver="overlay").out.split()
    pulled = [n for n in names if ":cache-" in n]
    assert len(pulled) == 1, names  # only the step it builds on
    # the new steps went up too (COPY app.sh, the RUN after it)
    assert len([t for t in registry.tags("steps") if t.startswith("cache-")]) == 7

    # --explain on a store that has nothing says where the steps are
    third = Builder("root", tmp_path / "storage-3", {"WERF_CONTAINERIZED": "no",
                                                     "XDG_CACHE_HOME": str(tmp_path / "c3")})
    (root / "app.sh").write_text("app 3\n")
    explained = third.build(root, *CHROOT, "--repo", repo, "--explain", "app").out
    assert "Dockerfile:5 RUN --mount=type=bind,source=conf.txt,target=/c...: cached (repo)" \
        in explained


@pytest.mark.parametrize("damage", ["truncated layer", "missing layer", "garbage manifest"])
def test_a_broken_cache_entry_is_a_miss_with_a_warning(
        damage: str, root_builder: Builder, other_root_builder: Builder, registry: Registry,
        tmp_path: Path) -> None:
    root = project(tmp_path / "p", staged=True)
    repo = f"{registry.host}/steps"
    build(root_builder, root, "--repo", repo)
    # the entry an empty store would pull first: the last step before COPY app.sh
    explained = other_root_builder.build(root, *CHROOT, "--repo", repo, "--explain", "app").out
    assert "cached (repo)" in explained
    (root / "app.sh").write_text("app 2\n")
    tags = [t for t in registry.tags("steps") if t.startswith("cache-")]
    by_layers = sorted(tags, key=lambda t: len(_manifest(registry, "steps", t)["layers"]))
    bind_entry = by_layers[2]  # COPY rootfs (1 layer), RUN deps (2), RUN bind (3)
    layers = _manifest(registry, "steps", bind_entry)["layers"]
    assert isinstance(layers, list)
    top = str(layers[-1]["digest"]).removeprefix("sha256:")  # only this entry has it
    blobs = registry.root / "data/docker/registry/v2/blobs/sha256"
    blob = blobs / top[:2] / top / "data"
    if damage == "truncated layer":
        blob.write_bytes(blob.read_bytes()[:blob.stat().st_size // 2])
    elif damage == "missing layer":
        blob.unlink()
    else:
        raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                              f"docker://{repo}:{bind_entry}"], capture_output=True,
                             check=True).stdout
        digest = hashlib.sha256(raw).hexdigest()
        (blobs / digest[:2] / digest / "data").write_bytes(b"{not a manifest" + raw[15:])

    ran, out = build(other_root_builder, root, "--repo", repo)
    assert re.search(rf"warning: the cached step {re.escape(repo)}:{bind_entry} cannot be "
                     r"pulled \(.+\): a cache miss", out), out
    assert ran == {"bind", "last"}  # from the entry before it, which is whole
    assert content(other_root_builder, out, "/conf.copy") == "conf 1\n"
    assert content(other_root_builder, out, "/app.out") == "app 2\n"


@pytest.mark.parametrize("kind", ["ONBUILD"])
def test_a_prefix_never_passes_an_onbuild(kind: str, root_builder: Builder,
                                          tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "Dockerfile").write_text(DOCKERFILE.replace(
        "COPY app.sh /app.sh\n", f"{kind} RUN echo later\nCOPY app.sh /app.sh\n"))
    build(root_builder, root)
    (root / "app.sh").write_text("app 2\n")
    ran, out = build(root_builder, root)
    # the derived Dockerfile starts from the image of the step before ONBUILD, which has no
    # trigger to run; Buildah's own cache serves the steps after it
    assert ran == {"last"}
    assert not re.search(r"^\[app\] later$", out, re.M)
    assert "ONBUILD RUN echo later: runs: a cached step is not used past ONBUILD" in out
    ref = next(line.split("\t")[1] for line in out.splitlines() if line.startswith("app\t"))
    config = json.loads(root_builder.buildah("inspect", "--type", "image", ref,
                                             driver="overlay").out)["Docker"]["config"]
    assert config["OnBuild"] == ["RUN echo later"]  # kept for the images built FROM it


def test_a_stage_found_locally_goes_up_with_its_steps(root_builder: Builder,
                                                       registry: Registry,
                                                       tmp_path: Path) -> None:
    root = project(tmp_path / "p", staged=True)
    build(root_builder, root)  # no --repo yet
    ran, out = build(root_builder, root, "--repo", f"{registry.host}/steps")
    assert ran == set() and "locally; pushing it" in out
    assert len([t for t in registry.tags("steps") if t.startswith("cache-")]) == 5


def test_a_changed_base_image_runs_every_step(root_builder: Builder, tmp_path: Path) -> None:
    root = tmp_path / "p"
    busybox_rootfs(root / "base" / "rootfs")
    (root / "base" / "Dockerfile").write_text("FROM scratch\nCOPY rootfs/ /\nLABEL v=1\n")
    (root / "app").mkdir()
    (root / "app" / "Dockerfile").write_text(
        'ARG BASE_IMAGE\nFROM $BASE_IMAGE\nENV X=1\n'
        'RUN ["/bin/busybox", "sh", "-c", "echo RAN-deps; touch /one"]\n'
        'RUN ["/bin/busybox", "sh", "-c", "echo RAN-last; touch /two"]\n')
    (root / "werf.yaml").write_text(
        "configVersion: 1\nproject: steps\n---\nimage: base\ncontext: base\n"
        "dockerfile: Dockerfile\n---\nimage: app\ncontext: app\ndockerfile: Dockerfile\n"
        "dependencies:\n- image: base\n  imports:\n  - type: ImageName\n"
        "    targetBuildArg: BASE_IMAGE\n")
    ran, _ = build(root_builder, root)
    assert ran == {"deps", "last"}
    (root / "base" / "Dockerfile").write_text("FROM scratch\nCOPY rootfs/ /\nLABEL v=2\n")
    ran, out = build(root_builder, root)
    assert ran == {"deps", "last"}  # a new base: nothing of the old chain fits
    assert "Dockerfile:3 ENV X=1: runs: " in out
    ran, _ = build(root_builder, root, "--no-parallel")
    assert ran == set()


def test_the_dockerfiles_own_ignore_file_follows_its_changes(root_builder: Builder,
                                                             tmp_path: Path) -> None:
    """Buildah reads <Dockerfile>.dockerignore beside the Dockerfile it is given, the derived
    one: a changed ignore file must reach it even when the derived text is the same."""
    root = project(tmp_path / "p")
    # the step the ignore file changes comes first: no cached prefix, the same derived text
    (root / "Dockerfile").write_text("FROM scratch\nCOPY extra/ /extra/\nCOPY rootfs/ /\n")
    (root / "extra").mkdir()
    (root / "extra" / "a.txt").write_text("a")
    (root / "extra" / "b.txt").write_text("b")
    listed = []
    for ignored in ("extra/b.txt\n", "extra/a.txt\n"):
        (root / "Dockerfile.dockerignore").write_text(ignored)
        _, out = build(root_builder, root)
        listed.append(content(root_builder, out, "/extra/a.txt") if ignored.endswith("b.txt\n")
                      else root_builder.run_in_image(
                          next(x.split("\t")[1] for x in out.splitlines()
                               if x.startswith("app\t")),
                          "/bin/busybox", "ls", "/extra", driver="overlay"))
    assert listed == ["a", "b.txt\n"]


def test_a_cache_directory_that_cannot_be_written_fails_no_build(root_builder: Builder,
                                                                tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    blocked = tmp_path / "a-file"  # not a directory: nothing can be written under it
    blocked.write_text("")
    root_builder.env["XDG_CACHE_HOME"] = str(blocked)
    ran, out = build(root_builder, root)
    assert ran == {"deps", "bind", "last"}
    assert content(root_builder, out, "/app.out") == "app 1\n"
