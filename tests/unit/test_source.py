"""What a build reads in a git repository (source/git.py, source/commit.py), with real git in
temporary repositories: the giterminism check, the tree of --dev, context listings from git,
the checkout Buildah gets. No Buildah here: tests/integration/test_giterminism.py builds."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dockwright import context
from dockwright.config.giterminism import Giterminism
from dockwright.errors import Exit, SourceError
from dockwright.source.commit import (
    CI_COMMIT_VARIABLES,
    GitListing,
    GitSource,
    Need,
    ci_job_commit,
    open_source,
)
from dockwright.source.git import Change, TreeEntry, open_repo, parse_raw, parse_tree

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env={**os.environ, **GIT_ENV}).stdout


def make_repo(root: Path, files: dict[str, str], commit: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "first")
    return root


FILES = {"werf.yaml": "configVersion: 1\nproject: p\n---\nimage: app\ndockerfile: Dockerfile\n",
         "Dockerfile": "FROM scratch\nCOPY app/ /app/\n",
         "app/main.txt": "main\n", "app/lib/util.txt": "util\n", "docs/readme.md": "docs\n",
         ".gitignore": "*.log\n"}


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


def source(root: Path, tmp_path: Path, dev: bool = False, rules: Giterminism | None = None,
           add_files: tuple[str, ...] = ()) -> GitSource:
    found = open_source(root, dev, False, rules or Giterminism(), tmp_path / "checkouts",
                        add_files)
    assert found is not None
    return found


def needs(*rels: str, kind: str = "context") -> list[Need]:
    return [Need(r, kind) for r in rels]


def app_root(src: GitSource, root: Path) -> str:
    """The root hash of what ``COPY app/`` reads, from the source's listing."""
    listing = src.listing(root, context.Ignore("", ()))
    found = context.sources(root, listing, [("app/", "Dockerfile:2")], context.Ignore("", ()),
                            None, details=True)
    return found.value


# -- parsing ------------------------------------------------------------------------------------

def test_what_differs_from_head_is_read_from_the_raw_diff() -> None:
    z, a, b = "0" * 40, "a" * 40, "b" * 40
    out = (f":100644 100644 {a} {z} M\0a.txt\0:100644 000000 {a} {z} D\0gone dir/b.txt\0"
           f":000000 100644 {z} {z} A\0added.txt\0:120000 100644 {b} {z} T\0link\0"
           f":100644 100755 {a} {z} M\0mode.sh\0:100644 100644 {a} {b} M\0staged.txt\0")
    diffs = parse_raw(out)
    assert [d.change() for d in diffs] == [Change("a.txt", "modified"),
                                           Change("gone dir/b.txt", "deleted"),
                                           Change("added.txt", "added"),
                                           Change("link", "type changed"),
                                           Change("mode.sh", "modified"),
                                           Change("staged.txt", "modified")]
    # only a file whose stat alone was seen to differ may still hold HEAD's content
    assert [d.path for d in diffs if d.stat_only] == ["a.txt"]
    assert parse_raw("") == []


def test_tree_lines_are_read() -> None:
    out = ("100755 blob " + "a" * 40 + "\trun.sh\x00120000 blob " + "b" * 40 + "\tlink\x00"
           "160000 commit " + "c" * 40 + "\tsub\x00040000 tree " + "d" * 40 + "\tdir\x00")
    assert [(e.rel, e.kind) for e in parse_tree(out)] == [
        ("run.sh", "file"), ("link", "link"), ("sub", "submodule"), ("dir", "dir")]
    assert parse_tree(out)[0] == TreeEntry("run.sh", "100755", "a" * 40)


# -- the repository --------------------------------------------------------------------------

def test_outside_git_there_is_no_source(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    assert open_repo(tmp_path / "p") is None


def test_an_unborn_head_is_refused_with_a_hint(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", FILES, commit=False)
    with pytest.raises(SourceError, match="has no commit yet") as info:
        open_repo(root)
    assert "git commit" in info.value.hint


def test_a_detached_head_is_the_commit_it_points_at(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", FILES)
    head = git(root, "rev-parse", "HEAD").strip()
    repo = open_repo(root)
    assert repo is not None and repo.branch == "refs/heads/main" and not repo.shallow
    git(root, "checkout", "-q", "--detach")
    repo = open_repo(root)
    assert repo is not None and repo.head == head and repo.branch == ""


def shallow_clone(tmp_path: Path) -> Path:
    """A clone of two commits' history that holds only the last (``--depth 1``)."""
    origin = make_repo(tmp_path / "origin", FILES)
    (origin / "app/main.txt").write_text("second\n")
    git(origin, "commit", "-q", "-am", "second")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(clone))
    return clone


def refused(root: Path, tmp_path: Path, force_shallow: bool = False,
            env: dict[str, str] | None = None) -> SourceError:
    with pytest.raises(SourceError) as info:
        open_source(root, False, False, Giterminism(), tmp_path / "c",
                    force_shallow=force_shallow, env=env or {})
    assert info.value.exit_code == Exit.BAD_INPUT
    return info.value


def accepted(root: Path, tmp_path: Path, dev: bool = False, loose: bool = False,
             force_shallow: bool = False, env: dict[str, str] | None = None) -> bool:
    return open_source(root, dev, loose, Giterminism(), tmp_path / "c",
                       force_shallow=force_shallow, env=env or {}) is not None


def test_a_shallow_clone_is_refused_unless_werf_yaml_forces_it(tmp_path: Path) -> None:
    clone = shallow_clone(tmp_path)
    repo = open_repo(clone)
    assert repo is not None and repo.shallow and repo.branch == "refs/heads/main"
    error = refused(clone, tmp_path)
    assert error.message.startswith(f"the clone is shallow in the repository at {clone}")
    assert "git fetch --unshallow" in error.hint and "forceShallowClone: true" in error.hint
    assert accepted(clone, tmp_path, force_shallow=True)
    git(clone, "fetch", "-q", "--unshallow")
    assert accepted(clone, tmp_path)


def orphan(root: Path) -> str:
    """HEAD detached at a commit made there, which no ref holds; that commit."""
    git(root, "checkout", "-q", "--detach")
    git(root, "commit", "-q", "--allow-empty", "-m", "made while detached")
    return git(root, "rev-parse", "HEAD").strip()


def test_a_detached_head_that_a_ref_holds_is_that_refs_commit(tmp_path: Path) -> None:
    """A tag, an older commit of a branch, a submodule's checkout: others can find it."""
    root = make_repo(tmp_path / "r", FILES)
    git(root, "checkout", "-q", "--detach")
    assert accepted(root, tmp_path)
    orphan(root)
    assert refused(root, tmp_path).message.startswith("HEAD is detached at a commit no ")
    git(root, "tag", "v1")
    assert accepted(root, tmp_path)


def test_an_orphan_detached_head_is_refused_and_both_problems_are_named_at_once(
        tmp_path: Path) -> None:
    clone = shallow_clone(tmp_path)
    head = orphan(clone)
    error = refused(clone, tmp_path)
    assert error.message.startswith("HEAD is detached at a commit no branch or tag holds "
                                    f"({head[:12]}) and the clone is shallow")
    assert "git switch -c" in error.hint and "git fetch --unshallow" in error.hint
    assert "--loose-giterminism" in error.hint and "CI_COMMIT_SHA" in error.hint
    # werf.yaml accepts the shallow clone; the detached HEAD is still named, alone
    error = refused(clone, tmp_path, force_shallow=True)
    assert error.message.startswith("HEAD is detached") and "shallow" not in error.message


def test_a_ci_jobs_own_checkout_and_dev_and_loose_builds_are_accepted(tmp_path: Path) -> None:
    clone = shallow_clone(tmp_path)
    head = orphan(clone)
    for variable in CI_COMMIT_VARIABLES:
        assert accepted(clone, tmp_path, env={variable: head.upper()}), variable
    # a CI variable naming another commit is not this checkout's job
    error = refused(clone, tmp_path, env={"CI_COMMIT_SHA": "0" * 40, "GITHUB_SHA": ""})
    assert error.message.startswith("HEAD is detached")
    assert accepted(clone, tmp_path, dev=True)
    assert accepted(clone, tmp_path, loose=True)
    assert ci_job_commit(head, {"GITHUB_SHA": f" {head}\n"}) == "GITHUB_SHA"


# -- the check ----------------------------------------------------------------------------------

def test_a_clean_commit_passes_and_changes_are_named_all_at_once(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", FILES)
    src = source(root, tmp_path)
    src.check([Need("werf.yaml", "config"), Need("Dockerfile", "dockerfile"),
               *needs("app/main.txt")])
    (root / "app/main.txt").write_text("changed\n")
    (root / "app/new.txt").write_text("new\n")
    (root / "Dockerfile").unlink()
    (root / "build.log").write_text("ignored by git\n")
    src = source(root, tmp_path)
    patterns = [("app/", "Dockerfile:2")]
    found = src.context_needs(root, patterns, context.Ignore("", ()))
    assert sorted(n.rel for n in found) == ["app/main.txt", "app/new.txt"]
    with pytest.raises(SourceError) as info:
        src.check([Need("Dockerfile", "dockerfile"), *found])
    message = info.value.message
    assert message.startswith("3 files the build reads are not committed: ")
    # untracked first, as werf lists them; each with what it is to the build
    assert message.index("app/new.txt (untracked, context file)") < \
        message.index("Dockerfile (deleted, Dockerfile)")
    assert "app/main.txt (modified, context file)" in message
    assert "build.log" not in message and "--dev" in info.value.hint
    assert "config.dockerfile.allowUncommitted" in info.value.hint


def test_the_listing_leaves_out_what_dockerignore_excludes(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {**FILES, "app/lib/deep/x.txt": "x\n",
                                      "app/lib2/y.txt": "y\n", ".dockerignore": "app/lib\n"})
    listing = source(root, tmp_path).listing(root, context.load_ignore(root,
                                                                       root / "Dockerfile"))
    rels = {e.rel for e in listing.entries}
    assert not any(r == "app/lib" or r.startswith("app/lib/") for r in rels)
    assert {"app/main.txt", "app/lib2", "app/lib2/y.txt"} <= rels


def test_what_a_copy_does_not_read_may_differ(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {**FILES, ".dockerignore": "app/lib\n"})
    (root / "docs/readme.md").write_text("changed\n")  # no COPY reads it
    (root / "app/lib/util.txt").write_text("changed\n")  # .dockerignore leaves it out
    src = source(root, tmp_path)
    ignore = context.load_ignore(root, root / "Dockerfile")
    assert src.context_needs(root, [("app/", "Dockerfile:2")], ignore) == []


@pytest.mark.parametrize(("rule", "need"), [
    ({"config.allowUncommitted": True}, Need("werf.yaml", "config")),
    ({"config.allowUncommittedTemplates": (".werf/**/*.tmpl",)},
     Need(".werf/a/b.tmpl", "template")),
    ({"config.goTemplateRendering.allowUncommittedFiles": ("conf",)},
     Need("conf/x.yaml", "file")),  # a directory's pattern covers what is below it
    ({"config.dockerfile.allowUncommitted": ("Dockerfile",)}, Need("Dockerfile", "dockerfile")),
    ({"config.dockerfile.allowUncommittedDockerignoreFiles": (".dockerignore",)},
     Need(".dockerignore", "ignore")),
])
def test_werf_giterminism_yaml_allows_each_kind_of_file(tmp_path: Path, rule: dict[str, object],
                                                        need: Need) -> None:
    root = make_repo(tmp_path / "r", FILES)
    path = root / need.rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("uncommitted\n")
    with pytest.raises(SourceError):
        source(root, tmp_path).check([need])
    rules = Giterminism(root / "werf-giterminism.yaml", tuple(rule.items()))
    source(root, tmp_path, rules=rules).check([need])
    # a rule for one kind allows no other kind
    other = "template" if need.kind != "template" else "file"
    with pytest.raises(SourceError):
        source(root, tmp_path, rules=rules).check([Need(need.rel, other)])


def test_context_files_and_the_giterminism_file_have_no_allow_rule(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", FILES)
    (root / "werf-giterminism.yaml").write_text("giterminismConfigVersion: 1\n")
    (root / "app/main.txt").write_text("changed\n")
    rules = Giterminism(root / "werf-giterminism.yaml",
                        (("config.dockerfile.allowUncommitted", ("**/*",)),))
    with pytest.raises(SourceError) as info:
        source(root, tmp_path, rules=rules).check(
            [Need("werf-giterminism.yaml", "giterminism"), *needs("app/main.txt")])
    assert "werf-giterminism.yaml (untracked, giterminism config)" in info.value.message


def test_context_add_files_need_allow_context_add_files(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", FILES)
    (root / "app/gen.log").write_text("generated\n")  # ignored by git, made by the build host
    for dev in (False, True):  # --dev checks them too, as werf does
        with pytest.raises(SourceError, match=r"contextAddFiles app/gen\.log not allowed"):
            source(root, tmp_path, dev=dev, add_files=("app/gen.log",)).check([])
    rules = Giterminism(root / "werf-giterminism.yaml",
                        (("config.dockerfile.allowContextAddFiles", ("app/gen.log",)),))
    src = source(root, tmp_path, rules=rules, add_files=("app/gen.log",))
    src.check([])
    assert (src.context_dir(root) / "app/gen.log").read_text() == "generated\n"


# -- listings, digests, checkouts ---------------------------------------------------------------

def test_checksums_are_blob_ids_and_the_same_from_a_commit_or_dev(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", FILES)
    src = source(root, tmp_path)
    listing = src.listing(root, context.Ignore("", ()))
    assert isinstance(listing, GitListing)
    by_rel = {e.rel: e for e in listing.entries}
    blob = git(root, "rev-parse", "HEAD:app/main.txt").strip()
    assert listing.known_sums([by_rel["app/main.txt"]]) == [f"git:{blob}"]
    assert by_rel["app/lib"].kind == "dir"
    committed = app_root(src, root)
    assert app_root(source(root, tmp_path, dev=True), root) == committed  # clean: the same
    (root / "app/main.txt").write_text("other\n")
    changed = app_root(source(root, tmp_path, dev=True), root)
    assert changed != committed
    git(root, "commit", "-q", "-am", "other")
    assert app_root(source(root, tmp_path), root) == changed  # same content, same digest
    # and in another clone, whose files have other inodes and times
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    assert app_root(source(clone, tmp_path / "c"), clone) == changed


def test_a_project_and_a_context_below_the_top_directory(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {f"deploy/svc/{k}": v for k, v in FILES.items()})
    project = root / "deploy/svc"
    (project / "app/new.txt").write_text("untracked\n")
    (root / "elsewhere.txt").write_text("outside the project: not its business\n")
    src = source(project, tmp_path)
    assert src.project_rel(project / "app/new.txt") == "app/new.txt"
    found = src.context_needs(project / "app", [("lib/", "Dockerfile:2")],
                              context.Ignore("", ()))
    assert found == []  # app/new.txt is not below app/lib
    found = src.context_needs(project / "app", [(".", "Dockerfile:2")],
                              context.Ignore("", ()))
    assert [n.rel for n in found] == ["app/new.txt"]
    listing = src.listing(project / "app", context.Ignore("", ()))
    assert {e.rel for e in listing.entries} == {"main.txt", "lib", "lib/util.txt"}
    checkout = src.context_dir(project / "app")
    assert sorted(p.name for p in checkout.iterdir()) == ["lib", "main.txt"]
    with pytest.raises(SourceError, match="the build context docs/none is not in commit"):
        src.context_tree(project / "docs" / "none")


def test_dev_takes_untracked_files_but_not_ignored_ones_and_keeps_the_index(
        tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", FILES)
    (root / "app/new.txt").write_text("new\n")
    (root / "app/debug.log").write_text("ignored\n")
    before = git(root, "status", "--porcelain")
    src = source(root, tmp_path, dev=True)
    src.check([*needs("app/new.txt")])  # --dev checks nothing
    rels = {e.rel for e in src.listing(root, context.Ignore("", ())).entries}
    assert "app/new.txt" in rels and "app/debug.log" not in rels
    checkout = src.context_dir(root)
    assert (checkout / "app/new.txt").is_file() and not (checkout / "app/debug.log").exists()
    assert git(root, "status", "--porcelain") == before  # the user's index is untouched


def test_the_checkout_holds_the_commit_not_the_working_tree(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {**FILES, "run.sh": "#!/bin/sh\n",
                                      "data/file.txt": "data\n"})
    os.chmod(root / "run.sh", 0o755)
    os.symlink("app/main.txt", root / "to-file")
    os.symlink("data", root / "to-dir")
    os.symlink("../../outside", root / "to-outside")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "links")
    (root / "app/main.txt").write_text("uncommitted edit\n")
    (root / "build.log").write_text("ignored\n")
    (root / "untracked.txt").write_text("untracked\n")
    checkout = source(root, tmp_path).context_dir(root)
    assert (checkout / "app/main.txt").read_text() == "main\n"
    assert not (checkout / "build.log").exists() and not (checkout / "untracked.txt").exists()
    assert os.stat(checkout / "run.sh").st_mode & 0o111 and \
        not os.stat(checkout / "docs/readme.md").st_mode & 0o111
    assert os.readlink(checkout / "to-file") == "app/main.txt"
    assert os.readlink(checkout / "to-dir") == "data" and (checkout / "to-dir").is_symlink()
    assert os.readlink(checkout / "to-outside") == "../../outside"  # as committed, not followed
    listing = source(root, tmp_path).listing(root, context.Ignore("", ()))
    modes = {e.rel: (e.kind, e.mode) for e in listing.entries}
    assert modes["run.sh"] == ("file", 0o755) and modes["docs/readme.md"] == ("file", 0o644)
    assert modes["to-dir"] == ("link", 0o777)


def test_submodules_are_part_of_the_context_at_their_commit(tmp_path: Path) -> None:
    lib = make_repo(tmp_path / "lib", {"lib.txt": "lib v1\n"})
    root = make_repo(tmp_path / "r", FILES)
    git(root, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib),
        "app/vendor")
    git(root, "commit", "-q", "-m", "submodule")
    src = source(root, tmp_path)
    rels = {e.rel for e in src.listing(root, context.Ignore("", ())).entries}
    assert {"app/vendor", "app/vendor/lib.txt"} <= rels
    assert (src.context_dir(root) / "app/vendor/lib.txt").read_text() == "lib v1\n"
    # new content in the submodule's work tree is a change the build would read
    (root / "app/vendor/lib.txt").write_text("lib v2\n")
    found = source(root, tmp_path).context_needs(root, [("app/", "Dockerfile:2")],
                                                 context.Ignore("", ()))
    assert [n.rel for n in found] == ["app/vendor"]
    # a clone without its submodules checked out cannot give their files
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    with pytest.raises(SourceError, match="submodule app/vendor is not checked out") as info:
        source(clone, tmp_path / "c").listing(clone, context.Ignore("", ())).entries  # noqa: B018
    assert info.value.hint == "git submodule update --init --recursive"


def test_lfs_pointers_are_sent_as_committed(tmp_path: Path) -> None:
    pointer = ("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 +
               "\nsize 12\n")
    root = make_repo(tmp_path / "r", {**FILES, ".gitattributes": "*.bin filter=lfs\n",
                                      "app/model.bin": pointer})
    assert (source(root, tmp_path).context_dir(root) / "app/model.bin").read_text() == pointer
