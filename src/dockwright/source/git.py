"""git, as the build reads it: the repository around a project, its HEAD, what differs from
HEAD in the working tree, trees and their entries, and a context checked out from a tree.

Every call goes through ``dockwright.run`` with ``git -C <top>``. Paths handed in and out
are relative to the repository's top directory, with ``/``; git's own quoting is off
(``-z``). Errors say what is wrong with the repository and what to do (``SourceError``,
exit 2).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockwright import run
from dockwright.errors import SourceError

# what ``git ls-tree`` calls the kinds of entry, by mode
FILE_MODES = {"100644": 0o644, "100755": 0o755, "120000": 0o777}
LINK, GITLINK, TREE = "120000", "160000", "040000"
BLOB, EXECUTABLE = "100644", "100755"
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1\n"


@dataclass(frozen=True)
class TreeEntry:
    rel: str  # relative to the tree listed
    mode: str  # git's: "100644", "100755", "120000", "160000", "040000"
    oid: str

    @property
    def kind(self) -> str:
        if self.mode == TREE:
            return "dir"
        if self.mode == LINK:
            return "link"
        if self.mode == GITLINK:
            return "submodule"
        return "file"


@dataclass(frozen=True)
class Change:
    """A path of the working tree that differs from HEAD."""

    path: str  # relative to the top directory
    what: str  # "modified", "untracked", "deleted", "added", "renamed", "type changed"

    def __str__(self) -> str:
        return f"{self.path} ({self.what})"


STATUS_WORDS = {"M": "modified", "A": "added", "D": "deleted", "R": "renamed",
                "C": "copied", "T": "type changed", "U": "unmerged", "?": "untracked"}


@dataclass(frozen=True)
class Diff:
    """One entry of ``git diff-index`` (raw format): HEAD's side and the working tree's."""

    path: str
    status: str  # M, A, D, T...
    head_mode: str
    mode: str
    head_oid: str
    oid: str  # all zeros: the working tree's file was not hashed (only its stat differs)

    @property
    def stat_only(self) -> bool:
        """Reported because the file's stat differs from the index's record (a chown, a
        copy, a restored cache): it may hold HEAD's content still, and only hashing tells."""
        return (self.status == "M" and self.mode == self.head_mode
                and self.mode in (BLOB, EXECUTABLE) and not self.oid.strip("0")
                and "\n" not in self.path)  # hash-object --stdin-paths reads lines

    def change(self) -> Change:
        return Change(self.path, STATUS_WORDS.get(self.status[:1], "changed"))


def parse_raw(output: str) -> list[Diff]:
    """``git diff-index -z`` (raw): ``:<mode> <mode> <oid> <oid> <status>\0<path>\0``."""
    items = output.split("\0")
    out = []
    for i in range(0, len(items) - 1, 2):
        fields = items[i].lstrip(":").split()
        if len(fields) == 5:
            out.append(Diff(items[i + 1], fields[4], *fields[:4]))
    return out


def parse_tree(output: str) -> list[TreeEntry]:
    """``git ls-tree -z``: ``<mode> SP <type> SP <oid> TAB <path>\\0``."""
    out: list[TreeEntry] = []
    for item in output.split("\0"):
        if not item:
            continue
        head, _, path = item.partition("\t")
        mode, _, rest = head.partition(" ")
        out.append(TreeEntry(path, mode, rest.rpartition(" ")[2]))
    return out


@dataclass
class Repo:
    """The git repository a project lives in, at its HEAD commit."""

    top: Path  # the work tree's top directory
    head: str  # the commit
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    branch: str = ""  # what HEAD names (refs/heads/...); "" when detached
    shallow: bool = False  # the history stops short (git clone --depth N)
    _trees: dict[str, str] = field(default_factory=dict)

    def git(self, *args: str, env: Mapping[str, str] | None = None,
            input: str | None = None) -> run.Result:
        return run.run(["git", "-C", str(self.top), *args], env=env or self.env, check=False,
                       input=input)

    def must(self, *args: str, what: str, env: Mapping[str, str] | None = None,
             input: str | None = None) -> str:
        result = self.git(*args, env=env, input=input)
        if not result.ok:
            raise damaged(f"git could not read {what}", result)
        return result.stdout

    def rel(self, path: Path) -> str:
        """``path`` relative to the top directory ("" for the top itself)."""
        rel = os.path.relpath(path.resolve(), self.top)
        return "" if rel == "." else rel.replace(os.sep, "/")

    # -- what differs from HEAD -----------------------------------------------------------------
    def changes(self, under: str = "") -> list[Change]:
        """Every path below ``under`` that differs from HEAD (in the index or the working
        tree: modified, added, deleted) or is untracked and not ignored by git. Two git
        processes at once, each one pass over the files: ``diff-index`` (an lstat per
        tracked file) and ``ls-files --others`` (a read of each directory), together about
        half of what ``git status`` takes."""
        spec = f":/{under}" if under else ":/"
        untracked: list[run.Result] = []
        other = threading.Thread(target=lambda: untracked.append(self.git(
            "ls-files", "-z", "--others", "--exclude-standard", "--", spec)))
        other.start()
        try:
            tracked = parse_raw(self.must("diff-index", "-z", "--no-renames",
                                          "--ignore-submodules=none", "HEAD", "--", spec,
                                          what="what differs from HEAD"))
        finally:
            other.join()
        if not untracked or not untracked[0].ok:
            raise damaged("git could not list the untracked files",
                          untracked[0] if untracked else None)
        same = self.unchanged([d for d in tracked if d.stat_only])
        return [*(d.change() for d in tracked if d.path not in same),
                *(Change(p, "untracked") for p in untracked[0].stdout.split("\0") if p)]

    def unchanged(self, diffs: list[Diff]) -> set[str]:
        """The paths of ``diffs`` whose content is HEAD's after all: git compares stat
        records first, and a checkout whose owner or times changed after git wrote its index
        (a runner's chown, Kubernetes' fsGroup, a copied workspace) looks modified to
        ``diff-index`` until the files are hashed. Only those files are read; a failure
        leaves them modified."""
        if not diffs:
            return set()
        hashed = self.git("hash-object", "--stdin-paths",
                          input="".join(d.path + "\n" for d in diffs))
        oids = hashed.stdout.split()
        if not hashed.ok or len(oids) != len(diffs):
            return set()
        return {d.path for d, oid in zip(diffs, oids, strict=True) if oid == d.head_oid}

    # -- trees ----------------------------------------------------------------------------------
    def tree_of(self, tree: str, rel: str) -> str | None:
        """The id of the tree at ``rel`` in ``tree`` (None when there is nothing there, or a
        file)."""
        key = f"{tree}:{rel}"
        if key not in self._trees:
            if rel:  # one entry, listed only when it is a directory
                found = parse_tree(self.git("ls-tree", "-d", "-z", "--full-tree", tree, "--",
                                            rel).stdout)
                oid = next((e.oid for e in found if e.rel == rel and e.mode == TREE), "")
            else:
                result = self.git("rev-parse", "--verify", "-q", f"{tree}^{{tree}}")
                oid = result.stdout.strip() if result.ok else ""
            self._trees[key] = oid
        return self._trees[key] or None

    def entries(self, tree: str) -> list[TreeEntry]:
        """Every entry of ``tree``, recursively, directories included, in git's order."""
        return parse_tree(self.must("ls-tree", "-r", "-t", "-z", "--full-tree", tree,
                                    what=f"tree {tree[:12]}"))

    def tree_with(self, base: str, paths: Iterable[str], all_changes: bool = False) -> str:
        """A tree: ``base`` (a tree or commit) with ``paths`` (relative to the top) as the
        working tree has them (a path that is gone is removed); ``all_changes``: with every
        change below the top that git does not ignore (``--dev``). Written to the object
        database like any tree; HEAD, the index and the working tree are not touched."""
        with tempfile.TemporaryDirectory(prefix="dockwright-index-") as tmp:
            env = {**self.env, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
            index = self.must("rev-parse", "--git-path", "index", what="the index").strip()
            index_path = Path(index) if os.path.isabs(index) else self.top / index
            with contextlib.suppress(OSError):  # its stat data spares git re-reading files
                shutil.copyfile(index_path, Path(tmp) / "index")
            self.must("read-tree", base, env=env, what="HEAD's tree")
            if all_changes:
                self.must("add", "-A", "--", ":/", env=env, what="the working tree")
            chosen = list(dict.fromkeys(paths))
            if chosen:
                self.must("add", "-A", "-f", "--pathspec-from-file=-", "--pathspec-file-nul",
                          env=env, input="\0".join(f":/{p}" for p in chosen),
                          what="the allowed uncommitted files")
            return self.must("write-tree", env=env, what="the working tree").strip()

    def checkout(self, tree: str, dest: Path) -> None:
        """Write the files of ``tree`` into the empty directory ``dest``, as committed: no
        filters (Git LFS pointers stay pointers), modes and symlinks as git records them."""
        with tempfile.TemporaryDirectory(prefix="dockwright-index-") as tmp:
            env = {**self.env, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.must("read-tree", tree, env=env, what=f"tree {tree[:12]}")
            self.must("-c", "core.symlinks=true", "-c", "filter.lfs.smudge=",
                      "-c", "filter.lfs.process=", "-c", "filter.lfs.required=false",
                      f"--work-tree={dest}", "checkout-index", "--all", "--force",
                      env=env, what=f"the files of tree {tree[:12]}")


def open_repo(project_dir: Path, env: Mapping[str, str] | None = None) -> Repo | None:
    """The repository ``project_dir`` is in, at its HEAD; None outside git. An unborn HEAD
    or a HEAD that cannot be read is a ``SourceError``; whether a detached HEAD or a shallow
    clone may be built is ``source.commit``'s to say (``Repo.branch``, ``Repo.shallow``)."""
    environment = dict(env if env is not None else os.environ)
    found = run.run(["git", "-C", str(project_dir), "rev-parse", "--show-toplevel",
                     "--is-bare-repository", "--is-shallow-repository", "HEAD^{commit}",
                     "--symbolic-full-name", "HEAD"], env=environment, check=False)
    if found.returncode == 127:
        return None  # no git: not a repository as far as a build can tell
    lines = found.stdout.splitlines()
    if found.ok and len(lines) == 5:
        if lines[1] == "true":
            return None
        branch = lines[4] if lines[4].startswith("refs/") else ""
        return Repo(Path(lines[0]), lines[3], environment, branch=branch,
                    shallow=lines[2] == "true")
    if "not a git repository" in found.stderr:
        return None
    if len(lines) >= 2 and lines[1] == "true":
        return None
    if "dubious ownership" in found.stderr:
        raise SourceError(f"git refuses the repository at {project_dir}: it belongs to another "
                          "user (git's 'dubious ownership')",
                          "if you trust it: git config --global --add safe.directory "
                          f"{lines[0] if lines else project_dir}")
    if not lines:  # not even the top directory: the repository itself is unreadable
        raise damaged(f"git cannot read the repository at {project_dir}", found)
    top = Path(lines[0])
    unborn = run.run(["git", "-C", str(top), "symbolic-ref", "-q", "HEAD"],
                     env=environment, check=False)
    has_commits = run.run(["git", "-C", str(top), "rev-list", "-n", "1", "--all"],
                          env=environment, check=False)
    if unborn.ok and has_commits.ok and not has_commits.stdout.strip():
        raise SourceError(f"the repository at {top} has no commit yet (HEAD is "
                          f"{unborn.stdout.strip()}, unborn)",
                          "commit the project first: git add -A && git commit -m 'first'")
    raise damaged(f"HEAD of the repository at {top} cannot be read", found)


def damaged(what: str, result: run.Result | None) -> SourceError:
    """A git call that failed on the repository itself: what, and git's last line."""
    why = run.last_line(result.stderr, "no output") if result else "failed"
    return SourceError(f"{what}: {why}", "check the repository with 'git fsck'; a damaged "
                       "clone is best cloned again")
