"""The build's orchestration (schedule -> build -> publish) against an engine kept in memory
(tests/unit/fakeengine.py): which images are built, reused, pulled and pushed, and where
their results point. The real Buildah and registry are the integration tests' business;
here nothing runs but dockwright's own decisions, so each case is exact and fast."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dockwright import bases, publish, run
from dockwright.config import load_project
from dockwright.engine.base import BuildSpec, Isolation
from dockwright.errors import ConfigError
from dockwright.host.resolve import Mode, Setup
from dockwright.progress import Plain
from dockwright.report import Source
from dockwright.schedule import Outcome, build_all
from dockwright.session import Publish, Result, Session, new_session
from dockwright.storage import local, registry
from dockwright.storage.registry import (
    CLOCK_SKEW_MS,
    SETTLE_MS,
    UPLOAD_RE,
    RegistryStages,
    Retry,
)
from tests.unit.fakeengine import FakeEngine, FakeRegistries, digest_of, manifest_of

REPO = "registry.test/team/demo"
FINAL = "registry.test/team/final"
PROJECT = {
    "werf.yaml": """\
configVersion: 1
project: demo
---
image: base
dockerfile: base.Dockerfile
---
image: app
dockerfile: app.Dockerfile
dependencies:
- image: base
  imports:
  - type: ImageName
    targetBuildArg: BASE
---
image: tools
dockerfile: tools.Dockerfile
""",
    "base.Dockerfile": "FROM scratch\nCOPY base.txt /base.txt\n",
    "app.Dockerfile": "ARG BASE\nFROM $BASE\nCOPY app.txt /app.txt\n",
    "tools.Dockerfile": "FROM scratch\nCOPY tools.txt /tools.txt\n",
    "base.txt": "base\n", "app.txt": "app\n", "tools.txt": "tools\n",
}


class Clock:
    """The registry's clock (tag stamps, the settle window): sleeping moves it on."""

    def __init__(self) -> None:
        self.now = int(time.time() * 1000)

    def millis(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(1, round(seconds * 1000))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(registry, "now_millis", fake.millis)
    return fake


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    for name, text in PROJECT.items():
        (directory / name).write_text(text)
    return directory


class Machine:
    """One builder: its own store (a FakeEngine), cache directory and log."""

    def __init__(self, root: Path, registries: FakeRegistries, clock: Clock) -> None:
        self.root = root
        self.engine = FakeEngine(root, registries)
        self.clock = clock
        self.log = io.StringIO()

    def stages(self, repo: str) -> RegistryStages:
        return RegistryStages(repo, self.engine, tls_verify=False,
                              retry=Retry(sleep=self.clock.sleep), sleep=self.clock.sleep)

    def session(self, project_dir: Path, repo: str | None = None, final_repo: str | None = None,
                require_built: bool = False, custom_tags: tuple[str, ...] = (),
                buildah: str = "1.28.2") -> Session:
        env = {"HOME": str(self.root), "XDG_CACHE_HOME": str(self.root / "cache")}
        project = load_project(project_dir, env=env)
        setup = Setup(Mode.CHROOT, Isolation("chroot"), self.engine.store, rootless=False,
                      buildah=f"buildah version {buildah}")
        publish = Publish(self.stages(repo) if repo else None,
                          self.stages(final_repo) if final_repo else None, custom_tags,
                          require_built)
        return new_session(project, setup, self.engine, env, Plain(self.log), self.root,
                           publish)

    def build(self, project_dir: Path, **options: object) -> Outcome:
        return build_all(self.session(project_dir, **options))  # type: ignore[arg-type]


@pytest.fixture
def registries() -> FakeRegistries:
    return FakeRegistries()


def machine(tmp_path: Path, name: str, registries: FakeRegistries, clock: Clock) -> Machine:
    return Machine(tmp_path / name, registries, clock)


def by_name(outcome: Outcome) -> dict[str, tuple[bool, Source, str]]:
    return {r.name: (r.rebuilt, r.source, r.reference) for r in outcome.results}


def test_a_second_build_reuses_every_local_stage(tmp_path: Path, project_dir: Path,
                                                 registries: FakeRegistries,
                                                 clock: Clock) -> None:
    one = machine(tmp_path, "one", registries, clock)
    first = one.build(project_dir)
    assert first.ok and len(one.engine.built) == 3
    assert {r.name: r.rebuilt for r in first.results} == {"base": True, "app": True,
                                                           "tools": True}
    # app was built on base's stage: its BASE argument is base's reference
    app_spec = next(s for s, text in zip(one.engine.built, one.engine.texts, strict=True)
                    if "app.txt" in text)
    assert dict(app_spec.build_args)["BASE"] == by_name(first)["base"][2]

    second = one.build(project_dir)
    assert second.ok and len(one.engine.built) == 3  # nothing built again
    assert by_name(second) == {n: (False, Source.LOCAL, ref)
                               for n, (_, _, ref) in by_name(first).items()}
    assert not registries.repos  # no registry asked for: nothing left the machine

    (project_dir / "tools.txt").write_text("tools, changed\n")
    third = one.build(project_dir)
    assert len(one.engine.built) == 4  # only tools
    assert {r.name: r.rebuilt for r in third.results} == {"base": False, "app": False,
                                                           "tools": True}


@pytest.mark.parametrize(("buildah", "repo"), [("1.28.2", None), ("1.28.2", "reg.test/app"),
                                             ("1.39.3", None)])
def test_labels_are_one_dockerfile_line_where_buildah_makes_each_flag_a_step(
        tmp_path: Path, project_dir: Path, registries: FakeRegistries, clock: Clock,
        buildah: str, repo: str | None) -> None:
    """Buildah before 1.30 makes every --label a step with a commit of its own: there the
    labels end the target stage as one LABEL line (one commit); from 1.30 they are flags."""
    one = machine(tmp_path, "one", registries, clock)
    outcome = one.build(project_dir, buildah=buildah, repo=repo)
    assert outcome.ok and len(one.engine.built) == 3
    digests = {r.reference.rsplit(":", 1)[1].rsplit("-", 1)[0] for r in outcome.results}
    for spec, text in zip(one.engine.built, one.engine.texts, strict=True):
        name = spec.dockerfile.name.removesuffix(".Dockerfile")
        labels = {"werf": "demo", local.IMAGE_LABEL: name}
        lines = text.splitlines()
        last = lines[-1]
        if buildah == "1.28.2":
            assert spec.labels == () and last.startswith("LABEL "), text
            assert all(f'"{k}"="{v}"' in last for k, v in labels.items()), last
            start = next(n for n, line in enumerate(lines) if line.startswith("FROM "))
            assert lines[start + 1] == 'LABEL "werf"="demo"', text
            digest = last.rsplit('"werf-stage-content-digest"="', 1)[1].split('"')[0]
        else:
            assert not last.startswith("LABEL") and dict(spec.labels).items() >= labels.items()
            digest = dict(spec.labels)["werf-stage-content-digest"]
        assert digest in digests


def test_a_machine_with_empty_storage_reuses_the_registry_stages(
        tmp_path: Path, project_dir: Path, registries: FakeRegistries, clock: Clock) -> None:
    one = machine(tmp_path, "one", registries, clock)
    built = one.build(project_dir, repo=REPO)
    assert built.ok and len(one.engine.built) == 3
    stored = {t for t in registries.repos[REPO] if not UPLOAD_RE.match(t)}
    assert {r.tag for r in built.results} == stored  # every stage stored, by its content tag
    assert all(r.reference.startswith(REPO + ":") for r in built.results)

    two = machine(tmp_path, "two", registries, clock)
    session = two.session(project_dir, repo=REPO)
    reused = build_all(session)
    assert reused.ok and two.engine.built == []  # the second machine builds nothing
    assert by_name(reused) == {n: (False, Source.REPO, ref)
                               for n, (_, _, ref) in by_name(built).items()}
    assert two.engine.pulled == [] and two.engine.pushed == []  # and moves no image
    # one manifest read: base's, which app builds on; the others are read for a summary
    assert two.engine.manifest_reads == [by_name(built)["base"][2]]
    shown = publish.complete(session, reused.results)
    assert {r.image_id for r in shown} == {r.image_id for r in built.results}
    assert all(r.image_digest.startswith("sha256:") and r.size for r in shown)


def test_a_local_stage_is_pushed_not_rebuilt(tmp_path: Path, project_dir: Path,
                                             registries: FakeRegistries, clock: Clock) -> None:
    """(Not app: the name of base's stage, which it imports, is another one in the
    registry, so app's inputs change with --repo, as in werf.)"""
    one = machine(tmp_path, "one", registries, clock)
    local = build_all(one.session(project_dir), only=("base", "tools"))
    assert local.ok and len(one.engine.built) == 2 and one.engine.pushed == []

    published = build_all(one.session(project_dir, repo=REPO), only=("base", "tools"))
    assert published.ok and len(one.engine.built) == 2  # pushed as they are
    digests = {r.name: r.digest for r in local.results}
    assert {r.name for r in published.results} == {"base", "tools"}
    for r in published.results:
        assert (r.rebuilt, r.source, r.digest) == (False, Source.LOCAL, digests[r.name])
        assert r.reference.startswith(f"{REPO}:{r.digest}-")
        uploads = [t for t in one.engine.pushed if t.startswith(f"{REPO}:{r.digest}-upload-")]
        assert len(uploads) == 1 and UPLOAD_RE.match(uploads[0].rsplit(":", 1)[1])
        assert registries.repos[REPO][r.tag] == manifest_of(r.image_id)
        assert r.image_digest.startswith("sha256:")


def test_a_lost_race_takes_the_stage_stored_first(tmp_path: Path, project_dir: Path,
                                                  registries: FakeRegistries,
                                                  clock: Clock) -> None:
    """Another builder stores the same digest while this one uploads: its older tag wins
    and this build's result points at it (werf's rule: the stage already there wins)."""
    other_id = "c" * 64

    def other_builder_stores_first(ref: str) -> None:
        repo, tag = ref.rsplit(":", 1)
        upload = UPLOAD_RE.match(tag)
        if upload:  # its upload, then its stamped tag, while this build uploads
            registries.write(repo, f"{upload['digest']}-upload-{'0' * 16}",
                             manifest_of(other_id))
            registries.write(repo, f"{upload['digest']}-{clock.now - 10}",
                             manifest_of(other_id))

    registries.before_push = other_builder_stores_first
    one = machine(tmp_path, "one", registries, clock)
    outcome = build_all(one.session(project_dir, repo=REPO), only=("tools",))
    assert outcome.ok and len(one.engine.built) == 1
    (result,) = outcome.results
    winner = min(t for t in registries.repos[REPO] if t.startswith(result.digest + "-")
                 and not UPLOAD_RE.match(t))
    assert result.tag == winner and result.image_id == other_id
    assert result.source == Source.REPO and result.rebuilt
    own = [t for t in registries.repos[REPO] if t.startswith(result.digest + "-")
           and t != winner and not UPLOAD_RE.match(t)]
    assert len(own) == 1 and int(own[0].rsplit("-", 1)[1]) > int(winner.rsplit("-", 1)[1])
    assert "was stored by another builder first" in one.log.getvalue()


def test_a_lost_race_seen_late_is_settled_by_the_window(
        tmp_path: Path, project_dir: Path, registries: FakeRegistries, clock: Clock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Another builder's older tag that becomes visible only after this build's own tag: the
    two upload tags say there were two builders, so this build waits the whole settle window
    (not just the clock skew), and then takes the older tag."""
    other_id = "c" * 64
    late: list[tuple[str, str, int]] = []

    def other_builder_uploads(ref: str) -> None:
        repo, tag = ref.rsplit(":", 1)
        upload = UPLOAD_RE.match(tag)
        if upload:  # its upload is there; its tag, stamped now, is written slowly
            registries.write(repo, f"{upload['digest']}-upload-{'0' * 16}",
                             manifest_of(other_id))
            late.append((repo, f"{upload['digest']}-{clock.now - 10}", clock.now + 1500))

    one = machine(tmp_path, "one", registries, clock)
    listing = one.engine.list_tags

    def list_tags(repo: str, tls_verify: bool) -> run.Result:
        for r, t, at in late:
            if clock.now >= at:
                registries.write(r, t, manifest_of(other_id))
        return listing(repo, tls_verify)

    registries.before_push = other_builder_uploads
    monkeypatch.setattr(one.engine, "list_tags", list_tags)
    started = clock.now
    outcome = build_all(one.session(project_dir, repo=REPO), only=("tools",))
    assert outcome.ok
    (result,) = outcome.results
    assert result.image_id == other_id and result.tag == late[0][1]
    assert clock.now - started >= SETTLE_MS


def test_the_settle_window_is_waited_once_for_the_build(tmp_path: Path, project_dir: Path,
                                                        registries: FakeRegistries,
                                                        clock: Clock) -> None:
    one = machine(tmp_path, "one", registries, clock)
    started = clock.now
    assert one.build(project_dir, repo=REPO).ok
    # one builder: each stage is settled once no other builder's upload is listed,
    # CLOCK_SKEW_MS after its stamp; base before app builds on it, the rest at the end:
    # never 3 waits, and never the whole window
    assert CLOCK_SKEW_MS <= clock.now - started < 3 * CLOCK_SKEW_MS < SETTLE_MS


def test_required_but_missing_images_build_nothing(tmp_path: Path, project_dir: Path,
                                                   registries: FakeRegistries,
                                                   clock: Clock) -> None:
    one = machine(tmp_path, "one", registries, clock)
    outcome = one.build(project_dir, repo=REPO, require_built=True)
    assert not outcome.ok and sorted(outcome.missing) == ["app", "base", "tools"]
    assert outcome.failed == {} and outcome.results == []
    assert one.engine.built == [] and one.engine.pushed == []

    assert one.build(project_dir, repo=REPO).ok  # built once ...
    again = one.build(project_dir, repo=REPO, require_built=True)
    assert again.ok and again.missing == [] and len(one.engine.built) == 3  # ... then found


def test_final_images_are_published_to_the_final_repo(tmp_path: Path, project_dir: Path,
                                                       registries: FakeRegistries,
                                                       clock: Clock) -> None:
    one = machine(tmp_path, "one", registries, clock)
    outcome = one.build(project_dir, repo=REPO, final_repo=FINAL,
                        custom_tags=("%image%-latest",))
    assert outcome.ok
    for r in outcome.results:
        assert r.final_reference == f"{FINAL}:{r.tag}"
        assert registries.repos[FINAL][r.tag] == registries.repos[REPO][r.tag]
        assert registries.repos[FINAL][f"{r.name}-latest"] == registries.repos[REPO][r.tag]
    # a second machine reuses the stages and copies nothing: the final repo has them
    before = {k: dict(v) for k, v in registries.repos.items()}
    two = machine(tmp_path, "two", registries, clock)
    again = two.build(project_dir, repo=REPO, final_repo=FINAL)
    assert again.ok and two.engine.built == [] and registries.repos == before
    assert [r.final_reference for r in again.results] == \
        [r.final_reference for r in outcome.results]


def test_custom_tags_without_a_registry_are_local_tags(tmp_path: Path, project_dir: Path,
                                                       registries: FakeRegistries,
                                                       clock: Clock) -> None:
    one = machine(tmp_path, "one", registries, clock)
    assert one.build(project_dir, custom_tags=("%image%-v1",)).ok
    assert sorted(one.engine.tagged) == ["localhost/demo:app-v1", "localhost/demo:base-v1",
                                         "localhost/demo:tools-v1"]


def test_a_failure_skips_its_dependents_and_lets_the_rest_finish(
        tmp_path: Path, project_dir: Path, registries: FakeRegistries, clock: Clock) -> None:
    (project_dir / "base.Dockerfile").write_text("FROM scratch\nRUN false\n")
    one = machine(tmp_path, "one", registries, clock)
    outcome = one.build(project_dir, repo=REPO)
    assert list(outcome.failed) == ["base"] and outcome.skipped == {"app": "base"}
    assert "failed to build" in outcome.failed["base"].message
    assert [r.name for r in outcome.results] == ["tools"]  # built and published anyway
    assert all("app.txt" not in text for text in one.engine.texts)
    stored = {t.split("-", 1)[0] for t in registries.repos[REPO]}
    assert stored == {outcome.results[0].digest}  # no tag for what failed


def test_a_local_stage_removed_after_the_listing_is_built_again(
        tmp_path: Path, project_dir: Path, registries: FakeRegistries, clock: Clock) -> None:
    """A host cleanup removes a stage between the build's listing of the store and its use:
    the build sees it gone (Session.claim), says so, and builds it again."""
    one = machine(tmp_path, "one", registries, clock)
    first = one.build(project_dir)
    session = one.session(project_dir)  # the store is listed here
    tools = next(r for r in first.results if r.name == "tools")
    del one.engine.local[tools.image_id]  # removed by a cleanup meanwhile
    second = build_all(session)
    assert second.ok
    assert {r.name: r.rebuilt for r in second.results} == {"base": False, "app": False,
                                                            "tools": True}
    assert f"{tools.reference} was removed from local storage (by a cleanup?) after this " \
           "build listed it" in one.log.getvalue()


def deleted_after_listing(name: str, tmp_path: Path, project_dir: Path,
                          registries: FakeRegistries, clock: Clock
                          ) -> tuple[Result, Machine, Outcome]:
    """Machine one builds to --repo; machine two lists the repository, then a registry
    cleanup deletes ``name``'s stage, then two builds: the stage deleted, two, its outcome."""
    one = machine(tmp_path, "one", registries, clock)
    gone = next(r for r in one.build(project_dir, repo=REPO).results if r.name == name)
    two = machine(tmp_path, "two", registries, clock)
    session = two.session(project_dir, repo=REPO)
    assert session.publish.repo is not None
    session.publish.repo.tags()
    del registries.repos[REPO][gone.tag]
    clock.sleep(3)
    outcome = build_all(session)
    assert outcome.ok
    return gone, two, outcome


def test_a_registry_stage_deleted_after_the_listing_is_built_again(
        tmp_path: Path, project_dir: Path, registries: FakeRegistries, clock: Clock) -> None:
    tools, two, second = deleted_after_listing("tools", tmp_path, project_dir, registries,
                                               clock)
    assert {r.name: (r.rebuilt, r.source) for r in second.results} == {
        "base": (False, Source.REPO), "app": (False, Source.REPO), "tools": (True, Source.BUILT)}
    assert f"{tools.reference} was deleted from the registry (by a cleanup?) after this build " \
           "found it: building it again" in two.log.getvalue()
    assert any(t.startswith(tools.digest + "-") and t != tools.tag
               for t in registries.repos[REPO])  # stored again


def test_a_registry_stage_another_builds_on_is_read_when_reused_and_built_if_deleted(
        tmp_path: Path, project_dir: Path, registries: FakeRegistries, clock: Clock) -> None:
    """base's stage is read as it is reused (app builds on it); deleted after the listing,
    that read finds it gone and base is built again; app, which imports its new name, too."""
    base, two, second = deleted_after_listing("base", tmp_path, project_dir, registries,
                                              clock)
    assert {r.name: (r.rebuilt, r.source) for r in second.results} == {
        "base": (True, Source.BUILT), "app": (True, Source.BUILT), "tools": (False, Source.REPO)}
    assert base.reference in two.engine.manifest_reads
    assert f"{base.reference} was deleted from the registry (by a cleanup?) after this build " \
           "found it: building it again" in two.log.getvalue()


def test_a_reused_registry_stage_deleted_with_a_local_copy_is_pushed_again(
        tmp_path: Path, project_dir: Path, registries: FakeRegistries, clock: Clock) -> None:
    """tools is reused from the registry, where its tag is the local copy's; deleted before
    the end of the build, the local copy is pushed again (nothing is built)."""
    one = machine(tmp_path, "one", registries, clock)
    tools = next(r for r in one.build(project_dir, repo=REPO).results if r.name == "tools")
    session = one.session(project_dir, repo=REPO)
    assert session.publish.repo is not None
    session.publish.repo.tags()
    del registries.repos[REPO][tools.tag]
    clock.sleep(3)
    built_before = len(one.engine.built)
    second = build_all(session)
    assert second.ok and len(one.engine.built) == built_before
    again = next(r for r in second.results if r.name == "tools")
    assert again.tag != tools.tag and again.tag in registries.repos[REPO]
    assert again.image_id == tools.image_id
    assert f"{tools.reference} was deleted from the registry (by a cleanup?) after this build " \
           "found it: pushing the local stage instead" in one.log.getvalue()


def test_a_base_list_with_another_systems_entry_gives_the_platforms_image(
        tmp_path: Path, project_dir: Path, registries: FakeRegistries, clock: Clock) -> None:
    """Official images list windows/amd64 (and architectures not built for here) beside
    Linux's: those entries are described, not refused as if the user had asked for them."""
    base = "registry.test/library/base:1"
    arm = manifest_of("a" * 64)
    registries.write("registry.test/library/base", "arm", arm)
    registries.write("registry.test/library/base", "1", json.dumps({"manifests": [
        {"digest": "sha256:" + "1" * 64, "platform": {"os": "windows", "architecture": "amd64",
                                                    "os.version": "10.0.20348"}},
        {"digest": "sha256:" + "2" * 64, "platform": {"os": "linux", "architecture": "ppc64"}},
        {"digest": digest_of(arm), "platform": {"os": "linux", "architecture": "arm64",
                                               "variant": "v8"}}]}))
    one = machine(tmp_path, "one", registries, clock)
    session = one.session(project_dir)
    assert bases.pinned(session, base, "linux/arm64", None, pull=True) == "a" * 64
    assert one.engine.pulled == [f"registry.test/library/base@{digest_of(arm)}"]
    with pytest.raises(ConfigError) as refused:
        bases.pinned(session, base, "linux/s390x", None, pull=True)
    assert refused.value.message == ("base image 'registry.test/library/base:1' has no "
                                     "linux/s390x image (it has: windows/amd64, linux/ppc64, "
                                     "linux/arm64)")


@pytest.mark.parametrize(("error", "builds"), [
    # a host cleanup removed an image while Buildah looked through the store for a cached
    # step: built again (once), not failed
    ("Error: checking if cached image exists from a previous build: getting top layer info: "
     "layer not known", 2),
    ("error building at STEP \"RUN make\": exit status 2", 1),  # a real failure: not again
])
def test_a_build_whose_cache_look_lost_an_image_is_run_again(
        tmp_path: Path, project_dir: Path, registries: FakeRegistries, clock: Clock,
        monkeypatch: pytest.MonkeyPatch, error: str, builds: int) -> None:
    one = machine(tmp_path, "one", registries, clock)
    calls: list[int] = []
    build = one.engine.build

    def first_fails(spec: BuildSpec, on_line: Callable[[str], None]) -> run.Result:
        calls.append(1)
        if len(calls) == 1:
            on_line("a" * 64)  # a step image it had made: not taken for the result
            return run.Result(("buildah", "build"), 125, "", error)
        return build(spec, on_line)

    monkeypatch.setattr(one.engine, "build", first_fails)
    outcome = build_all(one.session(project_dir), only=("tools",))
    assert len(calls) == builds
    assert outcome.ok is (builds == 2)
    if outcome.ok:
        assert outcome.results[0].image_id != "a" * 64
        assert "an image went away while Buildah looked through the store" in \
            one.log.getvalue()
