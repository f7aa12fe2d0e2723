"""The cleanups' decisions (cleanup/host.py, cleanup/registry.py), the use log and the locks
(storage/usage.py), and their options. The removals themselves run against real Buildah and
a real registry in tests/integration/test_cleanup.py."""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockwright.cleanup import host, registry
from dockwright.engine.base import LocalImage
from dockwright.engine.store import Stored, Tree
from dockwright.errors import UsageError
from dockwright.options import host_cleanup_options, repo_cleanup_options
from dockwright.storage import usage

NOW = 1_800_000_000_000
H = host.HOUR_MS
D = "d" * 56


def img(n: int) -> str:
    return f"{n:064x}"


def stage_name(project: str, n: int, millis: int = NOW) -> str:
    return f"localhost/{project}:{D[:-2]}{n:02d}-{millis}"


# -- host cleanup's decisions -----------------------------------------------------------------

def test_latest_builds_recent_use_and_user_tags_are_kept_the_rest_goes_oldest_first() -> None:
    uses = [usage.Use(NOW - 50 * H, "p", "app", img(1)),
            usage.Use(NOW - 40 * H, "p", "app", img(2)),  # app's latest build
            usage.Use(NOW - 30 * H, "q", "web", img(3)),  # q's latest
            usage.Use(NOW - 45 * H, "p", "db", img(4)),  # db's latest
            usage.Use(NOW - 1 * H, "p", "app", img(5)),
            usage.Use(NOW - H // 2, "p", "app", img(2))]  # img(2) used again: 5 is not latest
    labelled = [LocalImage(img(i), (stage_name("p", i),), (NOW - 60 * H) // 1000, "")
                for i in range(1, 6)]
    labelled += [LocalImage(img(6), (), (NOW - 70 * H) // 1000, ""),  # a step image, unlogged
                 LocalImage(img(7), (stage_name("p", 7), "localhost/p:release"),
                            (NOW - 80 * H) // 1000, "")]
    decision = host.decide(host.owned(labelled, uses), uses, NOW, keep_hours=2)
    assert [i.id for i in decision.remove] == [img(6), img(1)]  # least recently used first
    assert decision.kept[img(2)] == "the latest build of p's image app"
    assert decision.kept[img(3)] == "the latest build of q's image web"
    assert decision.kept[img(4)] == "the latest build of p's image db"
    assert decision.kept[img(5)] == "used 1.0 h ago (--keep-hours 2)"
    assert decision.kept[img(7)] == "tagged localhost/p:release"
    # --keep-hours 0: only what is used recently goes on top
    zero = host.decide(host.owned(labelled, uses), uses, NOW, keep_hours=0)
    assert [i.id for i in zero.remove] == [img(6), img(1), img(5)]


def tree(*images: tuple[str, tuple[str, ...], str, str], layers: dict[str, str]) -> Tree:
    return Tree({i: Stored(i, names, layer, created) for i, names, layer, created in images},
                layers, dict.fromkeys(layers, 1000))


def test_lineage_knows_children_and_what_buildah_removes_with_an_image() -> None:
    # base (named, L1) <- s1 (L2) <- s2 (ENV: also L2, younger) <- stage A (L3, named)
    #                               \\ stage B (L4, named), also on s2
    t = tree((img(1), ("docker.io/library/base:1",), "L1", "t1"),
             (img(2), (), "L2", "t2"), (img(3), (), "L2", "t3"),
             (img(4), (stage_name("p", 4),), "L3", "t4"),
             (img(5), (stage_name("p", 5),), "L4", "t5"),
             layers={"L1": "", "L2": "L1", "L3": "L2", "L4": "L2"})
    lineage = host.Lineage(t)
    assert lineage.has_children(img(3), set())
    assert lineage.has_children(img(3), {img(5)})  # A is still there
    assert not lineage.has_children(img(3), {img(4), img(5)})
    assert not lineage.has_children(img(4), set())
    assert lineage.has_children(img(2), {img(3)})  # s2 gone, but A and B sit on L2's chain
    # removing A may take the unnamed s1 and s2 with it, never the named base or B
    assert lineage.with_parents(img(4)) == [img(4), img(2), img(3)]
    assert lineage.with_parents(img(1)) == [img(1)]
    freed = host.Freed(t)
    assert freed.remove([img(4)]) == 1000  # L3: only A used it
    assert freed.remove([img(5), img(2), img(3)]) == 2000  # L4 and then L2


def test_clean_keeps_what_a_build_holds_and_what_would_take_a_foreign_image(
        tmp_path: Path) -> None:
    t = tree((img(1), (), "L1", "t1"),  # not dockwright's (no label), unnamed
             (img(2), (stage_name("p", 2),), "L2", "t2"),
             (img(3), (stage_name("p", 3),), "L3", "t3"),
             (img(4), (stage_name("p", 4),), "L4", "t4"),
             layers={"L1": "", "L2": "L1", "L3": "", "L4": ""})
    owned = [host.Owned(img(i), t.images[img(i)].names, NOW - 10 * H) for i in (2, 3, 4)]
    holds = usage.Holds(tmp_path)
    holds.hold(img(3))  # a build uses it
    removed: list[str] = []

    def remove(image_ids: list[str]) -> tuple[list[str], str]:
        removed.extend(image_ids)
        return image_ids, ""

    lines: list[str] = []
    report = host.clean(host.Decision(owned, {}), t, {img(2), img(3), img(4)}, tmp_path,
                        remove, None, False, lines.append)
    holds.release()
    assert removed == [img(4)]
    assert report.kept[img(2)].startswith(f"removing it would remove {img(1)[:12]} too")
    assert report.kept[img(3)] == "held by a running build"
    assert len(lines) == 1 and lines[0].startswith(f"removed {stage_name('p', 4)} (last used ")


def test_a_build_waiting_on_a_removed_image_holds_a_lock_no_cleanup_can_take(
        tmp_path: Path) -> None:
    """The lock file of a removed image goes while the cleanup holds it: a build that opened
    it meanwhile gets a lock on a file nobody else reaches, and sees the image gone."""
    with usage.claimed(tmp_path, [img(1)]) as claim:
        assert claim.ok
        claim.gone.add(img(1))
        holder = subprocess.Popen(
            [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR);"
             "print('opened', flush=True); fcntl.flock(fd, fcntl.LOCK_SH);"
             "print('held', flush=True); sys.stdin.read()",
             str(tmp_path / "held" / img(1))], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True)
        assert holder.stdout is not None and holder.stdout.readline() == "opened\n"
    assert holder.stdout.readline() == "held\n"  # once the cleanup let go
    assert not (tmp_path / "held" / img(1)).exists()
    with usage.claimed(tmp_path, [img(1)]) as again:
        assert again.ok  # a new file: the old one is nobody's concern
    holder.communicate("")
    # a build that holds the image's file keeps it from every cleanup
    holds = usage.Holds(tmp_path)
    holds.hold(img(2))
    assert usage.is_held(tmp_path, img(2))
    with usage.claimed(tmp_path, [img(3), img(2)]) as claim:
        assert not claim.ok
    holds.release()
    assert not usage.is_held(tmp_path, img(2))


def test_a_running_build_says_when_it_started_until_it_ends(tmp_path: Path) -> None:
    assert usage.running_since(tmp_path) is None
    stale = tmp_path / "held" / f"{usage.RUNNING}-{NOW}-99999999"  # its process is gone
    stale.parent.mkdir(parents=True)
    stale.write_text("")
    before = usage.now_millis()
    holds = usage.Holds(tmp_path)
    holds.building()
    holds.building()  # once per process
    since = usage.running_since(tmp_path)
    assert since is not None and before <= since <= usage.now_millis()
    assert not stale.exists()  # a mark nobody holds is removed
    assert len(list((tmp_path / "held").glob(f"{usage.RUNNING}-*"))) == 1
    holds.release()
    assert list((tmp_path / "held").glob(f"{usage.RUNNING}-*")) == []  # its mark went with it
    assert usage.running_since(tmp_path) is None


def test_what_was_made_since_a_running_build_started_stays() -> None:
    """Buildah commits a stage before the build holds it: a cleanup then must not take it."""
    started = NOW - 10_000
    labelled = [LocalImage(img(1), (stage_name("p", 1),), (started - 5_000) // 1000, ""),
                LocalImage(img(2), (stage_name("p", 2),), (started + 300) // 1000, "")]
    decision = host.decide(host.owned(labelled, []), [], NOW, keep_hours=0,
                           running_since=started)
    assert [i.id for i in decision.remove] == [img(1)]
    assert decision.kept[img(2)].startswith("held by a running build")
    everything = host.decide(host.owned(labelled, []), [], NOW, keep_hours=0)
    assert [i.id for i in everything.remove] == [img(1), img(2)]


def test_derived_dockerfiles_not_used_within_keep_hours_go(tmp_path: Path) -> None:
    """One per build where the labels are in them (Buildah 1.28): a host cleanup removes
    those no build used (wrote or found) within --keep-hours, or the last minute."""
    old, recent, fresh = (tmp_path / "p" / usage.DOCKERFILES / n for n in ("a", "b", "c"))
    for path, age in ((old, 3 * 3600), (recent, 1800), (fresh, 10)):
        (path / "Dockerfile").parent.mkdir(parents=True)
        (path / "Dockerfile").write_text("FROM scratch\n")
        os.utime(path, (time.time() - age, time.time() - age))
    assert host.dockerfiles_cleanup(tmp_path, 2, dry_run=True) == 1 and old.exists()
    assert host.dockerfiles_cleanup(tmp_path, 2, dry_run=False) == 1 and not old.exists()
    assert host.dockerfiles_cleanup(tmp_path, 0, dry_run=False) == 1
    assert not recent.exists() and fresh.exists()


def test_the_use_log_is_appended_by_builds_and_rewritten_without_removed_images(
        tmp_path: Path) -> None:
    usage.record(tmp_path, [usage.Use(1, "p", "app", img(1)), usage.Use(2, "p", "~", img(2))])
    usage.record(tmp_path, [usage.Use(3, "q", "web", img(1))])
    (tmp_path / "uses.log").open("a").write("garbage line\n")
    assert usage.read(tmp_path) == [usage.Use(1, "p", "app", img(1)),
                                    usage.Use(2, "p", "~", img(2)),
                                    usage.Use(3, "q", "web", img(1))]
    usage.forget(tmp_path, {img(1)})
    assert usage.read(tmp_path) == [usage.Use(2, "p", "~", img(2))]
    # appends take the log's lock shared; a rewrite takes it alone
    fd = os.open(tmp_path / "uses.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_SH)
    usage.record(tmp_path, [usage.Use(4, "p", "app", img(4))])  # not blocked by a reader
    os.close(fd)
    assert len(usage.read(tmp_path)) == 2


# -- registry cleanup's decisions -------------------------------------------------------------

def entry(tag: str, digest: str, stored: int, image: str = "",
          layers: tuple[str, ...] = ()) -> registry.Entry:
    return registry.Entry(tag, f"sha256:{digest * 64}"[:71], stored, image, layers)


def stage_tag(n: int, millis: int) -> str:
    return f"{D[:-2]}{n:02d}-{millis}"


def test_registry_policy_keeps_newest_per_image_recent_final_and_tagged() -> None:
    old = NOW - 100 * H
    entries = [
        entry(stage_tag(1, old - 5), "1", old - 5, "app", ("a", "b")),
        entry(stage_tag(2, old - 4), "2", old - 4, "app", ("a", "c")),
        entry(stage_tag(3, old - 3), "3", old - 3, "app", ("a", "d")),  # newest old app
        entry(stage_tag(4, NOW - H), "4", NOW - H, "app"),  # within the grace period
        entry(stage_tag(5, old), "5", old, "web"),  # web's newest
        entry(stage_tag(6, old - 9), "6", old - 9, "web"),  # in the final repo
        entry(stage_tag(7, old - 8), "7", old - 8, "web"),  # a custom tag names it
        entry("v1.0", "7", old, ""),
        entry(stage_tag(8, old - 7), "8", old - 7, "web"),  # --keep-tag
        entry(f"{D[:-2]}01-upload", "1", old - 5),  # the same manifest as stage 1
        entry(f"{D[:-2]}09-upload", "9", old),  # an upload that lost its race
        entry(f"{D[:-2]}05-upload-{'e' * 16}", "e", old),  # one of today's that lost
        entry(f"{D[:-2]}05-upload-{'f' * 16}", "5", old),  # the same manifest as stage 5
        entry("cache-" + "a" * 64, "a", old, "app", ("a",)),  # under kept stage 3
        entry("cache-" + "b" * 64, "b", old, "app", ("z",)),  # under nothing kept
        entry("cache-" + "c" * 64, "c", NOW - H, "app", ("z",)),  # young
    ]
    policy = registry.Policy(keep_stages=2, keep_ms=2 * H,
                             keep_tags=(re.compile(f"^{stage_tag(8, old - 7)}$"),))
    remove, kept = registry.decide(entries, policy, NOW,
                                   frozenset({stage_tag(6, old - 9)}))
    assert [e.tag for e in remove] == [stage_tag(1, old - 5), stage_tag(2, old - 4),
                                       "cache-" + "b" * 64, f"{D[:-2]}05-upload-{'e' * 16}",
                                       f"{D[:-2]}09-upload"]
    assert kept[stage_tag(3, old - 3)] == "one of the 2 newest stages of image app"
    assert kept[stage_tag(4, NOW - H)] == "one of the 2 newest stages of image app"
    assert kept[stage_tag(5, old)] == "one of the 2 newest stages of image web"
    assert kept[stage_tag(6, old - 9)] == "in the final repository"
    assert kept[stage_tag(7, old - 8)] == "tagged v1.0"
    assert kept[stage_tag(8, old - 7)].startswith("matches --keep-tag")
    assert kept["v1.0"] == "not a stage or cache tag (a user's or a custom tag)"
    assert kept["cache-" + "a" * 64] == "a step of a kept stage"
    assert kept["cache-" + "c" * 64] == "younger than the grace period"
    assert f"{D[:-2]}01-upload" not in kept  # goes with stage 1's manifest
    # keep 0 newest: app's stage 3 goes too; stage 4 stays for the grace period
    remove, kept = registry.decide(entries, registry.Policy(0, 2 * H), NOW)
    assert stage_tag(3, old - 3) in {e.tag for e in remove}
    assert kept[stage_tag(4, NOW - H)].startswith("stored 1.0 h ago")


def test_a_manifest_a_kept_tag_names_is_never_deleted() -> None:
    old = NOW - 100 * H
    entries = [entry(stage_tag(1, old - 1), "1", old - 1, "app"),
               entry(stage_tag(2, old), "1", old, "app")]  # the same manifest, newer stage
    remove, kept = registry.decide(entries, registry.Policy(1, 0), NOW)
    assert remove == []
    assert kept[stage_tag(1, old - 1)] == f"the same manifest as {stage_tag(2, old)}, " \
                                          "which stays"


def test_registry_inspect_output_is_read_as_skopeo_prints_it() -> None:
    out = ('{"Name": "r/p", "Digest": "sha256:' + "f" * 64 + '", "Created": '
           '"2026-11-27T03:50:48.958118261Z", "Labels": {"dockwright-image": "app"}, '
           '"Layers": ["sha256:1", "sha256:2"]}')
    e = registry.parse_inspect("cache-" + "a" * 64, out)
    assert (e.kind, e.image, e.layers) == ("cache", "app", ("sha256:1", "sha256:2"))
    assert e.stored == 1795751448958
    assert registry.parse_inspect(stage_tag(1, 1234567890123), out).stored == 1234567890123


# -- options -----------------------------------------------------------------------------------

def host_args(**given: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "allowed_backend_storage_volume_usage": None,
        "allowed_backend_storage_volume_usage_margin": None, "backend_storage_path": None,
        "keep_hours": None, "dry_run": False}
    values.update(given)
    return argparse.Namespace(**values)


def test_host_cleanup_options_take_werf_defaults_flags_and_variables() -> None:
    opts = host_cleanup_options(host_args(), {})
    assert (opts.allowed, opts.margin, opts.keep_hours, opts.storage_path, opts.auto) == \
        (70, 5, 2, None, True)
    opts = host_cleanup_options(host_args(keep_hours="0"), {
        "WERF_ALLOWED_BACKEND_STORAGE_VOLUME_USAGE": "0",
        "WERF_DISABLE_AUTO_HOST_CLEANUP": "1", "WERF_DRY_RUN": "yes"})
    assert (opts.allowed, opts.keep_hours, opts.auto, opts.dry_run) == (0, 0, False, True)
    # the flag wins over the variable
    assert host_cleanup_options(host_args(allowed_backend_storage_volume_usage="80"), {
        "WERF_ALLOWED_BACKEND_STORAGE_VOLUME_USAGE": "10"}).allowed == 80


@pytest.mark.parametrize(("given", "env", "message"), [
    ({"allowed_backend_storage_volume_usage": "120"}, {},
     "--allowed-backend-storage-volume-usage 120: must be from 0 to 100"),
    ({"allowed_backend_storage_volume_usage": "lots"}, {},
     "--allowed-backend-storage-volume-usage lots: 'lots' is not a number"),
    ({}, {"WERF_ALLOWED_BACKEND_STORAGE_VOLUME_USAGE_MARGIN": "-1"},
     "WERF_ALLOWED_BACKEND_STORAGE_VOLUME_USAGE_MARGIN=-1: must be from 0 to 100"),
    ({"keep_hours": "-2"}, {}, "--keep-hours -2: must be at least 0"),
    ({"keep_hours": "nan"}, {}, "--keep-hours nan: must be at least 0"),
    ({"keep_hours": "2h"}, {}, "--keep-hours 2h: '2h' is not a number"),
    ({"backend_storage_path": "/nonexistent/dir"}, {},
     "--backend-storage-path /nonexistent/dir: not a directory"),
])
def test_bad_host_cleanup_options_are_one_error_each(given: dict[str, object],
                                                     env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        host_cleanup_options(host_args(**given), env)
    assert caught.value.message == message and caught.value.hint


def repo_args(**given: object) -> argparse.Namespace:
    values: dict[str, object] = {"repo": "registry.example.com/p", "final_repo": None,
                                 "keep_stages": None,
                                 "keep_stages_built_within_last_n_hours": None,
                                 "keep_tag": [], "insecure_registry": [], "dry_run": False}
    values.update(given)
    return argparse.Namespace(**values)


@pytest.mark.parametrize(("given", "env", "message"), [
    ({"repo": None}, {}, "cleanup needs the registry repository of the stages"),
    ({"keep_stages": "1.5"}, {}, "--keep-stages 1.5: not a whole number"),
    ({"keep_stages": "-1"}, {}, "--keep-stages -1: must be at least 0"),
    ({"keep_stages_built_within_last_n_hours": "soon"}, {},
     "--keep-stages-built-within-last-n-hours soon: 'soon' is not a number"),
    ({"keep_tag": ["v[0-9"]}, {}, "--keep-tag 'v[0-9': not a regular expression"),
    ({"repo": "Registry/UPPER"}, {}, "--repo Registry/UPPER is not a registry repository"),
])
def test_bad_registry_cleanup_options_are_one_error_each(
        given: dict[str, object], env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        repo_cleanup_options(repo_args(**given), env)
    assert caught.value.message.startswith(message) and caught.value.hint


def test_registry_cleanup_options_defaults_and_variables() -> None:
    opts = repo_cleanup_options(repo_args(repo=None), {
        "WERF_REPO": "127.0.0.1:5000/p", "WERF_KEEP_STAGES_BUILT_WITHIN_LAST_N_HOURS": "0.5"})
    assert (opts.repo, opts.keep_stages, opts.keep_hours) == ("127.0.0.1:5000/p", 10, 0.5)


def test_images_go_a_few_per_rmi_and_buildahs_refusals_are_the_reasons_kept(
        tmp_path: Path) -> None:
    t = tree(*[(img(i), (stage_name("p", i),), f"L{i}", f"t{i}") for i in range(1, 11)],
             layers={f"L{i}": "" for i in range(1, 11)})
    owned = [host.Owned(img(i), t.images[img(i)].names, NOW - 10 * H) for i in range(1, 11)]
    calls: list[list[str]] = []

    def remove(image_ids: list[str]) -> tuple[list[str], str]:
        calls.append(image_ids)
        refused = img(3)
        return [i for i in image_ids if i != refused], \
            f"Error: 1 error occurred:\n\t* image used by {refused[:12]}abc: image is in use " \
            "by a container\n"

    report = host.clean(host.Decision(owned, {}), t, set(t.images), tmp_path, remove, None,
                        False, lambda _: None)
    assert calls == [[img(i) for i in range(1, 11)]]  # one rmi for all of them
    assert report.kept == {img(3): f"image used by {img(3)[:12]}abc: image is in use by a "
                                   "container"}
    assert len(report.removed) == 9
    # the lock files of what went are gone, the refused one's stays for the next cleanup
    assert sorted(p.name for p in (tmp_path / "held").iterdir()) == [img(3)]


def test_the_step_images_under_a_kept_image_stay(tmp_path: Path) -> None:
    """The latest build's steps are the next build's instruction cache: removing them would
    make an edit run the unchanged steps again."""
    t = tree((img(1), (), "L1", "t1"),  # a step both builds share
             (img(2), (), "L2", "t2"),  # a step of the old build only
             (img(3), (stage_name("p", 3),), "L3", "t3"),  # the old build
             (img(4), (stage_name("p", 4),), "L4", "t4"),  # the latest build: kept
             layers={"L1": "", "L2": "L1", "L3": "L2", "L4": "L1"})
    owned = [host.Owned(img(i), t.images[img(i)].names, NOW - 10 * H) for i in (1, 2, 3)]
    removed: list[str] = []

    def remove(image_ids: list[str]) -> tuple[list[str], str]:
        removed.extend(image_ids)
        return image_ids, ""

    report = host.clean(host.Decision(owned, {img(4): "the latest build of p's image app"}),
                        t, set(t.images), tmp_path, remove, None, False, lambda _: None)
    assert report.kept[img(1)] == "a step of a kept image"
    assert removed == [img(2), img(3)]
