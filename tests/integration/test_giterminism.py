"""Builds from the git commit (werf's giterminism) through the real CLI and real Buildah, as
root: what Buildah gets is the commit, --dev builds the working tree, and every way a build
could read something else is refused before anything is built (exit 2, one error, one hint,
no image, no container)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockwright.errors import Exit
from tests.integration.conftest import Builder, busybox_rootfs

PROJECT = "gitproj"
WERF = f"configVersion: 1\nproject: {PROJECT}\n---\nimage: app\ndockerfile: Dockerfile\n"
# the checks run in the image: the commit's content, modes kept, no ignored or untracked file
DOCKERFILE = """FROM scratch
COPY rootfs/ /
COPY app/ /app/
RUN ["/bin/busybox", "sh", "-c", "test -x /app/run.sh && test ! -e /app/debug.log"]
"""
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
ARGS = ("--storage-driver", "vfs", "--buildah-mode", "native-chroot")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


def make_project(root: Path, commit: bool = True) -> Path:
    root.mkdir(parents=True)
    files = {"werf.yaml": WERF, "Dockerfile": DOCKERFILE, "app/main.txt": "committed\n",
             "app/run.sh": "#!/bin/sh\n", ".gitignore": "*.log\n", "docs/notes.md": "n\n"}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    os.chmod(root / "app/run.sh", 0o755)
    busybox_rootfs(root / "rootfs")
    git(root, "init", "-q", "-b", "main")
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "first")
    return root


def leftovers(builder: Builder) -> tuple[set[str], str]:
    builder.buildah("images", "--quiet", driver="vfs", check=True)
    return builder.stage_tags(PROJECT, "vfs"), builder.containers("vfs")


def test_the_commit_is_built_not_the_working_tree(root_builder: Builder,
                                                  tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    (project / "app/debug.log").write_text("ignored by git: never sent\n")
    (project / "docs/notes.md").write_text("edited, but no COPY reads it\n")
    built = root_builder.build(project, *ARGS)
    assert built.out.startswith(f"app\tlocalhost/{PROJECT}:") and "\tbuilt\t" in built.out
    reference = built.out.split("\t")[1]
    assert root_builder.run_in_image(reference, "/bin/busybox", "cat", "/app/main.txt",
                                     driver="vfs") == "committed\n"
    assert "not in a git repository" not in built.err
    # nothing changed in what the build reads: reused, and no checkout needed again
    again = root_builder.build(project, *ARGS)
    assert "\treused\t" in again.out


def test_a_checkout_whose_owner_and_times_changed_is_still_the_commit(
        root_builder: Builder, tmp_path: Path) -> None:
    """A runner's chown (Kubernetes' fsGroup, GitLab's helper, a restored workspace) changes
    what git recorded of each file's stat, and ``diff-index`` then reports every file as
    modified: the content decides, and a file really edited is still refused."""
    project = make_project(tmp_path / "p")
    for path in project.rglob("*"):
        if ".git" not in path.parts:
            os.chown(path, 1000, 1000)
            os.utime(path, (1_000_000_000, 1_000_000_000))
    built = root_builder.build(project, *ARGS)
    assert "\tbuilt\t" in built.out, built.err
    (project / "app/main.txt").write_text("edited\n")
    os.utime(project / "app/main.txt", (1_000_000_000, 1_000_000_000))
    refused = root_builder.build(project, *ARGS, check=False)
    assert refused.code == Exit.BAD_INPUT, refused.err
    assert "app/main.txt (modified" in refused.err
    assert "Dockerfile" not in refused.err.split("hint:")[0]  # only the edited file


def test_dev_builds_the_working_tree_and_the_commit_of_it_reuses_the_stage(
        root_builder: Builder, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    (project / "app/main.txt").write_text("edited\n")
    (project / "app/extra.txt").write_text("untracked\n")
    dev = root_builder.build(project, *ARGS, "--dev")
    reference = dev.out.split("\t")[1]
    assert root_builder.run_in_image(reference, "/bin/busybox", "cat", "/app/main.txt",
                                     "/app/extra.txt", driver="vfs") == "edited\nuntracked\n"
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "second")
    committed = root_builder.build(project, *ARGS)
    assert committed.out.split("\t")[1] == reference and "\treused\t" in committed.out


def test_env_werf_dev_is_dev(root_builder: Builder, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    (project / "app/extra.txt").write_text("untracked\n")
    assert root_builder.build(project, *ARGS, check=False).code == Exit.BAD_INPUT
    assert root_builder.build(project, *ARGS, extra_env={"WERF_DEV": "1"}).code == 0


def test_loose_giterminism_warns_and_builds_the_commit_context(root_builder: Builder,
                                                               tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    (project / "app/main.txt").write_text("edited\n")
    loose = root_builder.build(project, *ARGS, "--loose-giterminism")
    assert "warning: --loose-giterminism" in loose.err
    reference = loose.out.split("\t")[1]
    assert root_builder.run_in_image(reference, "/bin/busybox", "cat", "/app/main.txt",
                                     driver="vfs") == "committed\n"  # as werf: the commit


def test_werf_giterminism_yaml_lets_a_dockerfile_and_custom_tags_through(
        root_builder: Builder, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    (project / "werf-giterminism.yaml").write_text(
        "giterminismConfigVersion: 1\ncli:\n  allowCustomTags: true\nconfig:\n"
        "  dockerfile:\n    allowUncommitted: [Dockerfile]\n")
    git(project, "add", "werf-giterminism.yaml")
    git(project, "commit", "-q", "-m", "giterminism")
    with (project / "Dockerfile").open("a") as f:  # uncommitted, and allowed
        f.write('RUN ["/bin/busybox", "touch", "/from-the-working-tree"]\n')
    built = root_builder.build(project, *ARGS, "--add-custom-tag", "%image%-latest")
    reference = built.out.split("\t")[1]
    assert root_builder.run_in_image(reference, "/bin/busybox", "ls", "/from-the-working-tree",
                                     driver="vfs") == "/from-the-working-tree\n"
    assert f"localhost/{PROJECT}:app-latest" in root_builder.stage_tags(PROJECT, "vfs")


def test_a_ci_jobs_checkout_and_a_forced_shallow_clone_build(root_builder: Builder,
                                                             tmp_path: Path) -> None:
    """werf.yaml's ``gitWorktree.forceShallowClone`` accepts a shallow clone; a detached HEAD
    at a commit no ref holds builds when a CI job names that commit."""
    project = make_project(tmp_path / "p")
    (project / "werf.yaml").write_text(WERF.replace(
        "---", "gitWorktree:\n  forceShallowClone: true\n---"))
    git(project, "commit", "-q", "-am", "force shallow")
    shallow(project)
    on_branch = root_builder.build(project, *ARGS)
    assert "\tbuilt\t" in on_branch.out, on_branch.err
    detached(project)
    assert root_builder.build(project, *ARGS, check=False).code == Exit.BAD_INPUT
    head = subprocess.run(["git", "-C", str(project), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    ci_job = root_builder.build(project, *ARGS, extra_env={"CI_COMMIT_SHA": head})
    assert "\treused\t" in ci_job.out, ci_job.err


def test_outside_git_the_working_tree_is_built_with_a_notice(root_builder: Builder,
                                                             tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", commit=False)
    shutil.rmtree(project / ".git")
    built = root_builder.build(project, *ARGS)
    notices = [line for line in built.err.splitlines() if "not in a git repository" in line]
    assert len(notices) == 1 and notices[0].startswith("notice: ")


@dataclass(frozen=True)
class Case:
    id: str
    change: Callable[[Path], None]
    error: str  # the error line starts with this
    hint: str  # the hint line contains this
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


def write(rel: str, text: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return change


def remove(rel: str) -> Callable[[Path], None]:
    return lambda root: (root / rel).unlink()


def both(*changes: Callable[[Path], None]) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        for one in changes:
            one(root)
    return change


def no_git(root: Path) -> None:
    shutil.rmtree(root / ".git")


def unborn(root: Path) -> None:
    shutil.rmtree(root / ".git")
    git(root, "init", "-q", "-b", "main")


def corrupt_tree(root: Path) -> None:
    """HEAD's tree is gone from the object database (a damaged clone). (A missing blob of a
    context already checked out once is no error: checkouts are kept by tree id.)"""
    oid = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD^{tree}"],
                         check=True, capture_output=True, text=True).stdout.strip()
    (root / ".git" / "objects" / oid[:2] / oid[2:]).unlink()


def shallow(root: Path) -> None:
    """The project becomes a ``--depth 1`` clone of itself, one commit later (on main)."""
    (root / "docs/notes.md").write_text("second\n")
    git(root, "commit", "-q", "-am", "second")
    clone = root.with_name(root.name + "-clone")
    git(root.parent, "clone", "-q", "--depth", "1", f"file://{root}", str(clone))
    shutil.rmtree(root / ".git")
    shutil.move(clone / ".git", root / ".git")
    shutil.rmtree(clone)


def detached(root: Path) -> None:
    """HEAD detached at a commit made there: no branch or tag holds it."""
    git(root, "checkout", "-q", "--detach")
    git(root, "commit", "-q", "--allow-empty", "-m", "made while detached")


COMMITTED = "the build reads the commit"
CASES = [
    Case("not a repository, --dev", no_git, "--dev needs a git repository", "git init",
         ("--dev",)),
    Case("not a repository, --loose-giterminism", no_git,
         "--loose-giterminism needs a git repository", "git init", ("--loose-giterminism",)),
    Case("not a repository, --giterminism-config",
         both(no_git, write("g.yaml", "giterminismConfigVersion: 1\n")),
         "--giterminism-config needs a git repository", "git init",
         ("--giterminism-config", "g.yaml")),
    Case("unborn HEAD", unborn, "the repository at ", "git commit"),
    Case("unborn HEAD with --dev", unborn, "the repository at ", "git commit", ("--dev",)),
    Case("untracked Dockerfile",
         both(write("werf.yaml", WERF.replace("dockerfile: Dockerfile",
                                              "dockerfile: other/Dockerfile")),
              write("other/Dockerfile", DOCKERFILE)),
         "2 files the build reads are not committed: other/Dockerfile (untracked, "
         "Dockerfile), werf.yaml (modified, werf config)", "dockerfile.allowUncommitted"),
    Case("modified werf.yaml", write("werf.yaml", WERF + "# edited\n"),
         "1 file the build reads is not committed: werf.yaml (modified, werf config)",
         "config.allowUncommitted"),
    Case("untracked template", write(".werf/extra.tmpl", '{{ define "x" }}{{ end }}\n'),
         "1 file the build reads is not committed: .werf/extra.tmpl (untracked, template)",
         "config.allowUncommittedTemplates"),
    Case(".Files.Get of an untracked file",
         both(write("werf.yaml", WERF.replace("dockerfile: Dockerfile",
                                              'dockerfile: {{ .Files.Get "df.txt" }}')),
              write("df.txt", "Dockerfile")),
         "2 files the build reads are not committed: df.txt (untracked, .Files), werf.yaml "
         "(modified, werf config)", "goTemplateRendering"),
    Case("Dockerfile deleted but still referenced", remove("Dockerfile"),
         "werf.yaml:5: image 'app': Dockerfile 'Dockerfile' not found",
         "relative to the context directory"),
    Case("modified context file", write("app/main.txt", "edited\n"),
         "1 file the build reads is not committed: app/main.txt (modified, context file)",
         "--dev"),
    Case("untracked context file", write("app/new.txt", "new\n"),
         "1 file the build reads is not committed: app/new.txt (untracked, context file)",
         "--dev"),
    Case("untracked .dockerignore", write(".dockerignore", "docs\n"),
         "1 file the build reads is not committed: .dockerignore (untracked, ignore file)",
         "allowUncommittedDockerignoreFiles"),
    Case("contextAddFiles without allowContextAddFiles",
         both(write("werf.yaml", WERF + "contextAddFiles: [gen.log]\n"),
              write("gen.log", "generated\n")),
         "contextAddFiles gen.log not allowed by giterminism", "allowContextAddFiles"),
    Case("uncommitted werf-giterminism.yaml",
         write("werf-giterminism.yaml", "giterminismConfigVersion: 1\n"),
         "1 file the build reads is not committed: werf-giterminism.yaml (untracked, "
         "giterminism config)", "commit them"),
    Case("a custom tag without cli.allowCustomTags", lambda root: None,
         "custom tags not allowed by giterminism", "allowCustomTags",
         ("--add-custom-tag", "latest")),
    Case("a damaged clone (an object missing)", corrupt_tree, "git could not read ",
         "git fsck"),
    Case("a detached HEAD no ref holds", detached,
         "HEAD is detached at a commit no branch or tag holds (", "git switch -c"),
    Case("a shallow clone", shallow, "the clone is shallow in the repository at ",
         "forceShallowClone: true"),
    Case("a detached HEAD of a shallow clone, another CI job's commit",
         both(shallow, detached), "HEAD is detached at a commit no branch or tag holds (",
         "git fetch --unshallow",
         env=(("CI_COMMIT_SHA", "0" * 40),)),
]


def test_there_are_at_least_twelve_cases() -> None:
    assert len(CASES) >= 12 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case: Case, root_builder: Builder, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    case.change(project)
    result = root_builder.build(project, *ARGS, *case.args, check=False,
                                extra_env=dict(case.env))
    assert "Traceback" not in result.text
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    hints = [line for line in result.err.splitlines() if line.startswith("hint:")]
    assert len(errors) == 1 and len(hints) == 1, result.err
    if case.error != "...":
        assert errors[0].startswith(f"error: {case.error}"), errors[0]
    assert case.hint in hints[0], hints[0]
    assert result.code == Exit.BAD_INPUT, result.err
    tags, containers = leftovers(root_builder)
    assert tags == set() and containers == ""
