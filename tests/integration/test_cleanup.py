"""Host cleanup, purge and registry cleanup against real Buildah stores and a real registry
server (docker-registry, deletes enabled unless a test says otherwise)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockwright.storage import usage
from tests.integration.conftest import BUSYBOX, Builder, Run, give_to
from tests.integration.registry import Registry
from tests.integration.test_build import outcome

VFS = ("--buildah-mode", "native-chroot", "--storage-driver", "vfs")
EVERYTHING = ("--allowed-backend-storage-volume-usage", "0", "--keep-hours", "0")
DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
COPY v.txt /v.txt
RUN ["/bin/busybox", "sh", "-c", "cat /v.txt > /w"]
"""


@pytest.fixture
def builder(tmp_path: Path) -> Iterator[Builder]:
    """A root builder with a store and a cache directory of its own; builds do not start a
    host cleanup unless a test asks (WERF_DISABLE_AUTO_HOST_CLEANUP=0)."""
    b = Builder("root", tmp_path / "storage", {"WERF_CONTAINERIZED": "no",
                                               "XDG_CACHE_HOME": str(tmp_path / "cache"),
                                               "WERF_DISABLE_AUTO_HOST_CLEANUP": "1"})
    yield b
    b.cleanup()


def project(path: Path, name: str, images: tuple[str, ...] = ("app",)) -> Path:
    path.mkdir(parents=True)
    (path / "werf.yaml").write_text(f"project: {name}\nconfigVersion: 1\n" + "".join(
        f"---\nimage: {i}\ndockerfile: Dockerfile\n" for i in images))
    (path / "Dockerfile").write_text(DOCKERFILE)
    (path / "busybox").write_bytes(BUSYBOX.read_bytes())
    (path / "busybox").chmod(0o755)
    return path


def build(b: Builder, where: Path, version: str, *args: str, check: bool = True,
          extra_env: dict[str, str] | None = None) -> tuple[str, Run]:
    """Build with v.txt = ``version``; the stage reference of the (first) image."""
    (where / "v.txt").write_text(version + "\n")
    run = b.build(where, *VFS, *args, check=check, extra_env=extra_env)
    return (next(iter(outcome(run.out).values()))[0] if run.code == 0 else ""), run


def clean(b: Builder, *args: str, check: bool = True,
          extra_env: dict[str, str] | None = None) -> Run:
    return b.dockwright("host", "cleanup", "--storage-root", str(b.storage_root), *VFS, *args,
                        cwd=b.storage_root.parent, check=check, extra_env=extra_env)


def images(b: Builder) -> dict[str, list[str]]:
    """Every image in the store (step images too): ID -> names."""
    out = b.buildah("images", "--all", "--json", "--no-trunc", driver="vfs",
                    check=False).out or "[]"
    return {i["id"].removeprefix("sha256:"): i.get("names") or []
            for i in json.loads(out) or []}


def names(b: Builder) -> set[str]:
    return {n for ns in images(b).values() for n in ns}


def foreign_images(b: Builder) -> None:
    """An image werf itself could have made (its label, not dockwright's), and one of
    nobody's: a cleanup touches neither."""
    for name, label in (("localhost/clean-a:by-werf", "werf=clean-a"),
                        ("localhost/other:1", "team=x")):
        cid = b.buildah("from", "scratch", driver="vfs").out.strip()
        b.buildah("config", "--label", label, cid, driver="vfs")
        b.buildah("commit", "--rm", cid, name, driver="vfs")


def test_host_cleanup_removes_what_no_rule_keeps_and_the_latest_build_is_still_reused(
        builder: Builder, tmp_path: Path) -> None:
    p = project(tmp_path / "a", "clean-a")
    v0, _ = build(builder, p, "0")
    v1, _ = build(builder, p, "1")
    v2, _ = build(builder, p, "2")
    builder.buildah("tag", v1, "localhost/release:1", driver="vfs")  # a user's own tag
    foreign_images(builder)
    before = images(builder)

    dry = clean(builder, *EVERYTHING, "--dry-run")
    assert f"would remove {v0} (clean-a/app, last used" in dry.out
    assert v1 not in dry.out and v2 not in dry.out
    assert images(builder) == before  # a dry run removes nothing

    done = clean(builder, *EVERYTHING)
    assert f"removed {v0} (clean-a/app, last used" in done.out
    assert "host cleanup: removed" in done.out and "freed" in done.out
    left = names(builder)
    assert v0 not in left
    assert {v1, v2, "localhost/release:1", "localhost/clean-a:by-werf",
            "localhost/other:1"} <= left
    assert len(images(builder)) < len(before)  # v0's step images went with it
    assert "1 latest builds" in done.out and "1 tagged by a user" in done.out

    # the latest build is reused as it was, and nothing else is left to remove
    again, run = build(builder, p, "2")
    assert (again, outcome(run.out)["app"][1]) == (v2, "reused")
    # its steps stayed with it: an edit takes the unchanged COPY from the cache
    assert "steps: 1 from the cache" in build(builder, p, "2b")[1].err
    assert f"removed {v2}" in clean(builder, *EVERYTHING).out  # 2b is the latest now
    # v0 is built again when asked for: its stage is gone
    assert outcome(build(builder, p, "0")[1].out)["app"][1] == "built"


def test_a_rootless_user_cleans_up_their_own_store(user_builder: Builder) -> None:
    p = give_to(user_builder.user, project(user_builder.storage_root.parent / "p", "clean-u"))
    rootless = ("--buildah-mode", "native-rootless", "--storage-driver", "overlay")

    def build_as_user(version: str) -> str:
        (p / "v.txt").write_text(version + "\n")
        run = user_builder.dockwright("build", "--storage-root", str(user_builder.storage_root),
                                      *rootless, cwd=p)
        return outcome(run.out)["app"][0]

    v0, v1 = build_as_user("0"), build_as_user("1")
    out = user_builder.dockwright("host", "cleanup", "--storage-root",
                                  str(user_builder.storage_root), *rootless, *EVERYTHING,
                                  cwd=p).out
    assert f"removed {v0} (clean-u/app" in out
    listed = user_builder.buildah("images", "--format", "{{.Name}}:{{.Tag}}",
                                  driver="overlay").out.split()
    assert v0 not in listed and v1 in listed


def test_recent_and_held_images_stay(builder: Builder, tmp_path: Path) -> None:
    p = project(tmp_path / "a", "clean-b")
    v0, _ = build(builder, p, "0")
    build(builder, p, "1")
    kept = clean(builder, "--allowed-backend-storage-volume-usage", "0")  # --keep-hours 2
    assert v0 in names(builder)
    assert "used recently" in kept.out

    # a running build holds what it uses: its shared lock on the image's file
    image_id = next(i for i, ns in images(builder).items() if v0 in ns)
    held = usage.usage_dir(tmp_path / "cache" / "dockwright", builder.storage_root.resolve())
    (held / "held").mkdir(parents=True, exist_ok=True)
    fd = os.open(held / "held" / image_id, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        out = clean(builder, *EVERYTHING).out
        assert v0 in names(builder)
        assert "1 held by running builds" in out
    finally:
        os.close(fd)
    assert f"removed {v0}" in clean(builder, *EVERYTHING).out
    assert v0 not in names(builder)


def test_cleanups_while_builds_run_never_break_them(builder: Builder, tmp_path: Path) -> None:
    """Builds and cleanups (two at a time, removing all they may) on one store at once:
    every build succeeds, and the last build is reused afterwards."""
    p = project(tmp_path / "a", "clean-c", images=("app", "web"))
    build(builder, p, "seed")
    done = threading.Event()
    failures: list[str] = []
    rounds = [0]

    def cleanups() -> None:
        while not done.is_set():
            pair = [subprocess.Popen(builder.argv("host", "cleanup", "--storage-root",
                                                  str(builder.storage_root), *VFS, *EVERYTHING),
                                     env={**os.environ, **builder.env}, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for _ in range(2)]
            for proc in pair:
                _, err = proc.communicate(timeout=300)
                if proc.returncode != 0:
                    failures.append(err)
            rounds[0] += 1

    thread = threading.Thread(target=cleanups)
    thread.start()
    try:
        for version in ("1", "2", "1", "3", "2", "4"):
            _, run = build(builder, p, version, check=False)
            assert run.code == 0, run.err
    finally:
        done.set()
        thread.join()
    assert failures == []
    assert rounds[0] >= 2  # cleanups did run alongside
    _, run = build(builder, p, "4")
    assert {s for _, s in outcome(run.out).values()} == {"reused"}
    assert builder.containers("vfs") == ""


def test_a_build_over_the_threshold_cleans_up_in_the_background(
        builder: Builder, tmp_path: Path) -> None:
    p = project(tmp_path / "a", "clean-d")
    v0, _ = build(builder, p, "0")
    auto = {"WERF_DISABLE_AUTO_HOST_CLEANUP": "0", "DOCKWRIGHT_KEEP_HOURS": "0"}
    v1, run = build(builder, p, "1", "--allowed-backend-storage-volume-usage", "0",
                    extra_env=auto)
    assert "cleaning up in the background" in run.err
    log = usage.usage_dir(tmp_path / "cache" / "dockwright",
                          builder.storage_root.resolve()) / "auto-cleanup.log"
    deadline = time.monotonic() + 60
    while "host cleanup: removed" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, log.read_text() if log.exists() else "no log"
        time.sleep(0.2)
    assert f"removed {v0}" in log.read_text()
    assert v0 not in names(builder) and v1 in names(builder)

    # under the threshold: one look at the volume, nothing started
    _, run = build(builder, p, "2", "--allowed-backend-storage-volume-usage", "100",
                   extra_env=auto)
    assert "host cleanup" not in run.err
    # turned off: nothing either, over the threshold as it is
    v3, run = build(builder, p, "3", "--allowed-backend-storage-volume-usage", "0",
                    extra_env={"DOCKWRIGHT_KEEP_HOURS": "0"})
    assert "host cleanup" not in run.err
    _, run = build(builder, p, "4", "--allowed-backend-storage-volume-usage", "0",
                   "--disable-auto-host-cleanup", extra_env=auto)
    assert "host cleanup" not in run.err
    time.sleep(1)
    assert v3 in names(builder)


def test_purge_removes_a_project_with_its_containers_and_nothing_else(
        builder: Builder, tmp_path: Path) -> None:
    a = project(tmp_path / "a", "clean-a")
    b = project(tmp_path / "b", "clean-e")
    va, _ = build(builder, a, "a")
    vb, _ = build(builder, b, "b")
    foreign_images(builder)
    builder.buildah("from", "--name", "left-behind", va, driver="vfs")

    def purge(*args: str, check: bool = True) -> Run:
        return builder.dockwright("host", "purge", "--storage-root", str(builder.storage_root),
                                  *VFS, *args, cwd=tmp_path, check=check)

    missing = purge("--project", "nope", check=False)
    assert missing.code == 2 and "error: --project nope: this store has nothing of that " \
        "project" in missing.err and "hint: projects here: clean-a, clean-e" in missing.err
    unconfirmed = purge(check=False)  # no terminal to confirm on
    assert unconfirmed.code == 2 and "hint: add --force" in unconfirmed.err
    assert {va, vb} <= names(builder)

    out = purge("--project", "clean-a").out
    assert "removed the working container left-behind" in out
    assert "host purge (clean-a): removed" in out
    left = names(builder)
    assert va not in left and {vb, "localhost/clean-a:by-werf", "localhost/other:1"} <= left
    assert builder.containers("vfs") == ""

    purge("--force")
    assert names(builder) == {"localhost/clean-a:by-werf", "localhost/other:1"}


def test_host_cleanup_bad_input_is_one_error_and_removes_nothing(
        builder: Builder, tmp_path: Path) -> None:
    p = project(tmp_path / "a", "clean-f")
    build(builder, p, "0")
    build(builder, p, "1")
    before = images(builder)
    for args, message in [
        (("--allowed-backend-storage-volume-usage", "101"),
         "error: --allowed-backend-storage-volume-usage 101: must be from 0 to 100"),
        (("--keep-hours", "-1"), "error: --keep-hours -1: must be at least 0"),
        (("--keep-hours", "two"), "error: --keep-hours two: 'two' is not a number"),
        (("--backend-storage-path", str(tmp_path / "none")),
         f"error: --backend-storage-path {tmp_path / 'none'}: not a directory"),
    ]:
        run = clean(builder, *args, check=False)
        assert run.code == 2, run.err
        lines = run.err.splitlines()
        assert lines[0] == message and lines[1].startswith("hint:")
        assert "Traceback" not in run.err
    # the store locked by another process (containers/storage's fcntl lock on its lists)
    lock = builder.storage_root / "vfs-layers" / "layers.lock"
    holder = subprocess.Popen(
        ["python3", "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR);"
         "fcntl.lockf(fd, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()",
         str(lock)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        run = clean(builder, *EVERYTHING, check=False,
                    extra_env={"DOCKWRIGHT_LOCK_TIMEOUT": "1"})
    finally:
        holder.communicate("")
    assert run.code == 3
    first = run.err.splitlines()[0]
    assert first.startswith(f"error: the store {builder.storage_root} is locked by process "
                            f"{holder.pid} (") and "python3" in first
    assert "nothing was removed" in run.err and "hint: wait for that process" in run.err
    assert images(builder) == before


def test_the_doctor_reports_the_volume_and_what_dockwright_uses(builder: Builder,
                                                                 tmp_path: Path) -> None:
    p = project(tmp_path / "a", "clean-g")
    build(builder, p, "0")
    run = builder.dockwright("doctor", "--storage-root", str(builder.storage_root), *VFS,
                             cwd=tmp_path, check=False)
    line = next(x for x in run.out.splitlines() if "storage-usage" in x)
    assert "% used; dockwright's builds use" in line and "(1 stages in use)" in line


# -- registry cleanup ---------------------------------------------------------------------------

def repo_clean(b: Builder, repo: str, *args: str, check: bool = True) -> Run:
    return b.dockwright("cleanup", "--repo", repo, *args, cwd=b.storage_root.parent,
                        check=check)


def test_registry_cleanup_keeps_policies_and_a_second_machine_still_reuses(
        builder: Builder, other_root_builder: Builder, registry: Registry,
        tmp_path: Path) -> None:
    p = project(tmp_path / "a", "clean-r")
    repo = f"{registry.host}/clean-r"
    v0, _ = build(builder, p, "0", "--repo", repo, "--add-custom-tag", "release-0")
    v1, _ = build(builder, p, "1", "--repo", repo)
    v2, _ = build(builder, p, "2", "--repo", repo)
    v3, _ = build(builder, p, "3", "--repo", repo)
    tag = {v: v.rsplit(":", 1)[1] for v in (v0, v1, v2, v3)}
    before = registry.tags("clean-r")
    policy = ("--keep-stages", "1", "--keep-stages-built-within-last-n-hours", "0",
              "--keep-tag", f"^{tag[v2]}$")

    dry = repo_clean(builder, repo, *policy, "--dry-run")
    assert f"would delete {repo}:{tag[v1]} (stage of image app" in dry.out
    assert "would delete 1 manifest(s)" in dry.out
    assert registry.tags("clean-r") == before

    out = repo_clean(builder, repo, *policy).out
    assert f"deleted {repo}:{tag[v1]}" in out
    after = registry.tags("clean-r")
    assert tag[v1] not in after  # and its upload tag, which names the same manifest
    assert not any(t.startswith(f"{tag[v1].split('-')[0]}-upload") for t in after)
    assert any(t.startswith(f"{tag[v2].split('-')[0]}-upload-") for t in after)
    assert {tag[v0], "release-0", tag[v2], tag[v3]} <= set(after)
    assert "kept 1: tagged …" in out and "kept 1: matches --keep-tag …" in out

    # another machine with empty storage: the newest stage is still reused, nothing built
    (p / "v.txt").write_text("3\n")
    run = other_root_builder.build(p, *VFS, "--repo", repo)
    assert outcome(run.out)["app"] == (v3, "reused")
    # and two cleanups at once both finish, agreeing on what is left
    procs = [subprocess.Popen(builder.argv("cleanup", "--repo", repo, "--keep-stages", "0",
                                           "--keep-stages-built-within-last-n-hours", "0"),
                              env={**os.environ, **builder.env}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], results
    assert set(registry.stage_tags("clean-r")) == {tag[v0]}  # kept by its custom tag


def test_a_registry_that_refuses_deletes_is_a_clear_error(builder: Builder,
                                                           tmp_path: Path) -> None:
    reg = Registry(tmp_path / "no-deletes", deletes=False).start()
    try:
        p = project(tmp_path / "a", "clean-s")
        repo = f"{reg.host}/clean-s"
        build(builder, p, "0", "--repo", repo)
        build(builder, p, "1", "--repo", repo)
        before = reg.tags("clean-s")
        run = repo_clean(builder, repo, "--keep-stages", "0",
                         "--keep-stages-built-within-last-n-hours", "0", check=False)
        assert run.code == 4
        assert run.err.splitlines()[0] == f"error: the registry {reg.host} refuses to delete " \
                                          "manifests: nothing was deleted"
        assert "storage.delete.enabled: true" in run.err.splitlines()[1]
        assert reg.tags("clean-s") == before
    finally:
        reg.stop()
