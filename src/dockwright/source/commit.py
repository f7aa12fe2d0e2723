"""What a build reads in a git repository: the commit (giterminism), or the working tree
with ``--dev``; one tree either way.

The build reads one git tree:
- by default HEAD's, with the files werf-giterminism.yaml lets come from the working tree
  (and contextAddFiles) put in. Every file the build reads that differs from HEAD and is not
  allowed stops the build, all of them named in one error (``check``);
- with ``--dev``, the working tree as ``git add -A`` would stage it (untracked files
  included, files git ignores left out), written as a tree beside the user's index;
- with ``--loose-giterminism``, HEAD's, unchecked: werf.yaml and the Dockerfiles come from the
  working tree, as in werf.

Context listings come from that tree (``GitListing``): no file is read, a file's checksum is
its blob id, so the same content has the same digest from a commit or from a clean working
tree; only a file that differs from HEAD is read, by ``git add`` (in C, using the index's
stat data). Buildah gets the context checked out from the tree (``context_dir``), never the
working tree: an untracked file or one git ignores is never sent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from dockwright import context
from dockwright.config import globs
from dockwright.config.giterminism import Giterminism
from dockwright.errors import SourceError
from dockwright.source.git import GITLINK, TREE, Change, Repo, TreeEntry
from dockwright.storage.usage import Holds

# what werf-giterminism.yaml allows for each kind of file a build reads
ALLOW = {"config": "config.allowUncommitted",
         "template": "config.allowUncommittedTemplates",
         "file": "config.goTemplateRendering.allowUncommittedFiles",
         "dockerfile": "config.dockerfile.allowUncommitted",
         "ignore": "config.dockerfile.allowUncommittedDockerignoreFiles",
         "context": "",  # context files: only --dev or a commit
         "giterminism": ""}  # the giterminism file itself: committed, always
NAMES = {"config": "werf config", "template": "template", "file": ".Files",
         "dockerfile": "Dockerfile", "ignore": "ignore file", "context": "context file",
         "giterminism": "giterminism config"}


@dataclass(frozen=True)
class Need:
    """A file the build reads, relative to the project directory, and what it is."""

    rel: str
    kind: str  # a key of ALLOW


def allowed(rules: Giterminism, key: str, rel: str) -> bool:
    """Whether werf-giterminism.yaml's ``key`` (globs relative to the project directory,
    werf's dialect: a pattern also covers what lies below it) lets ``rel`` be uncommitted."""
    if not key:
        return False
    if key == "config.allowUncommitted":
        return rules.get_bool(key)
    for pattern in rules.get_list(key):
        if globs.match(pattern, rel) or globs.match(pattern.rstrip("/") + "/**/*", rel):
            return True
    return False


def _entry(rel: str, git_entry: TreeEntry) -> context.Entry:
    mode = 0o755 if git_entry.mode in (TREE, "100755", GITLINK) else \
        0o777 if git_entry.kind == "link" else 0o644
    return context.Entry(rel, "dir" if git_entry.kind in ("dir", "submodule") else
                         git_entry.kind, mode, 0, 0, 0)


class GitListing(context.Listing):
    """A context's paths as a git tree holds them (``.dockerignore`` applied), with their
    checksums: blob ids (``git:<id>``), a link's target blob, a submodule's files below it."""

    def __init__(self, source: GitSource, tree: str, ignore: context.Ignore) -> None:
        super().__init__([])
        self.source = source
        self.tree = tree
        self.ignore = ignore
        self.sums: dict[str, str] = {}

    @cached_property
    def fingerprint(self) -> str:
        return f"git-tree:{self.tree}"  # a tree id names every path and content below it

    @cached_property
    def entries(self) -> list[context.Entry]:
        out: list[context.Entry] = []
        excluded = "\0"  # the directory last left out with all it holds (git lists in order)
        rescue = self.ignore.rescues
        for rel, git_entry in self.source.walk_tree(self.source.repo, self.tree, ""):
            if rel.startswith(excluded):
                continue
            if self.ignore.patterns and self.ignore.excluded(rel):
                if git_entry.kind in ("dir", "submodule") and not rescue:
                    excluded = rel + "/"
                continue
            out.append(_entry(rel, git_entry))
            self.sums[rel] = "dir" if git_entry.kind in ("dir", "submodule") \
                else f"git:{git_entry.oid}"
        return out

    def known_sums(self, entries: Sequence[context.Entry]) -> list[str] | None:
        self.entries  # noqa: B018 - fills sums
        return [self.sums[e.rel] for e in entries]


@dataclass
class GitSource:
    """The tree a build reads, and the checks that it may."""

    repo: Repo
    project_dir: Path
    dev: bool = False
    loose: bool = False
    rules: Giterminism = field(default_factory=Giterminism)
    checkouts: Path | None = None  # where contexts are checked out (the cache directory)
    add_files: tuple[str, ...] = ()  # every image's contextAddFiles, project-relative
    _changes: dict[str, Change] | None = None
    _tree: str | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @cached_property
    def _holds(self) -> Holds:
        assert self.checkouts is not None
        return Holds(self.checkouts)

    @property
    def mode(self) -> str:
        return "--dev: the working tree" if self.dev else \
            f"commit {self.repo.head[:12]}" + (" (--loose-giterminism)" if self.loose else "")

    def top_rel(self, path: Path) -> str:
        return self.repo.rel(path)

    def project_rel(self, path: Path) -> str:
        rel = os.path.relpath(path, self.project_dir)
        return "" if rel == "." else rel.replace(os.sep, "/")

    # -- what differs from HEAD -----------------------------------------------------------------
    @property
    def changes(self) -> dict[str, Change]:
        """Changes below the project directory, by path relative to it."""
        with self._lock:
            if self._changes is None:
                under = self.top_rel(self.project_dir)
                prefix = under + "/" if under else ""
                self._changes = {c.path[len(prefix):]: c for c in self.repo.changes(under)
                                 if c.path.startswith(prefix)}
            return self._changes

    def check(self, needs: Iterable[Need]) -> None:
        """Stop when a file the build reads differs from HEAD and nothing allows it: one
        error naming every such file. contextAddFiles come from the working tree when
        werf-giterminism.yaml allows them (with --dev too, as in werf: only
        --loose-giterminism turns that check off)."""
        if self.loose:
            return
        refused = [a for a in self.add_files
                   if not allowed(self.rules, "config.dockerfile.allowContextAddFiles", a)]
        if refused:
            raise SourceError(
                f"contextAddFiles {', '.join(refused)} not allowed by giterminism: they come "
                "from the working tree, not the commit",
                "allow them in werf-giterminism.yaml (config: {dockerfile: "
                f"{{allowContextAddFiles: [{', '.join(refused)}]}}}}), or use "
                "--loose-giterminism")
        if self.dev:
            return
        bad: dict[str, tuple[Change, Need]] = {}
        changes = self.changes
        for need in needs:
            change = changes.get(need.rel)
            if change is None or need.rel in bad:
                continue
            if allowed(self.rules, ALLOW[need.kind], need.rel):
                continue
            bad[need.rel] = (change, need)
        if not bad:
            return
        listed = sorted(bad.values(), key=lambda item: (item[0].what != "untracked",
                                                        item[0].path))
        names = ", ".join(f"{self.project_rel(self.repo.top / c.path)} ({c.what}, "
                          f"{NAMES[n.kind]})" for c, n in listed)
        allow = sorted({f"{ALLOW[n.kind]}" for _, n in listed if ALLOW[n.kind]})
        where = f", or allow them in werf-giterminism.yaml ({', '.join(allow)})" \
            if allow else ""
        count = len(listed)
        raise SourceError(
            f"{count} file{'s' if count > 1 else ''} the build reads "
            f"{'are' if count > 1 else 'is'} not committed: {names}",
            "the build reads the commit (werf's giterminism): commit them (git add ... && "
            f"git commit), or build the working tree with --dev{where}")

    def context_needs(self, context_dir: Path, patterns: Sequence[tuple[str, ...]],
                      ignore: context.Ignore) -> list[Need]:
        """The changed paths below ``context_dir`` that a COPY/ADD source (``patterns``)
        reads: a changed file it matches, or a changed path in a directory it copies (a
        submodule with new commits or changes)."""
        base = self.project_rel(context_dir)
        prefix = base + "/" if base else ""
        skip = set(self.add_files)
        out: list[Need] = []
        for rel, _change in self.changes.items():
            if prefix and not rel.startswith(prefix):
                continue
            inner = rel[len(prefix):]
            if rel in skip or any(rel.startswith(s + "/") for s in skip):
                continue
            if ignore.patterns and ignore.excluded(inner):
                continue
            probe = [context.Entry(inner, "file", 0o644, 0, 0, 0)]
            for pattern, *_ in patterns:
                cleaned = context.clean(pattern)
                if context.select(probe, pattern) or \
                        (cleaned and cleaned.startswith(inner + "/")):
                    out.append(Need(rel, "context"))
                    break
        return out

    # -- the tree -------------------------------------------------------------------------------
    def tree(self) -> str:
        """The tree builds read (see the module doc)."""
        with self._lock:
            if self._tree is None:
                add = [self.repo.rel(self.project_dir / a) for a in self.add_files]
                if self.dev:
                    self._tree = self.repo.tree_with("HEAD", add, all_changes=True)
                else:
                    allowed_paths = [] if self.loose else [
                        self.repo.rel(self.project_dir / rel) for rel in self._allowed_changes()]
                    paths = [*allowed_paths, *add]
                    self._tree = self.repo.tree_with("HEAD", paths) if paths else \
                        self.repo.tree_of("HEAD", "") or ""
            return self._tree

    def _allowed_changes(self) -> list[str]:
        kinds = [k for k in ALLOW.values() if k]
        return [rel for rel in self.changes
                if any(allowed(self.rules, k, rel) for k in kinds)]

    def listing(self, context_dir: Path, ignore: context.Ignore) -> context.Listing:
        return GitListing(self, self.context_tree(context_dir), ignore)

    def context_tree(self, context_dir: Path) -> str:
        rel = self.repo.rel(context_dir)
        found = self.repo.tree_of(self.tree(), rel)
        if found is None:
            raise SourceError(f"the build context {self.project_rel(context_dir) or '.'} is "
                              f"not in {self.mode}",
                              "commit it (git add ... && git commit), or use --dev")
        return found

    def walk_tree(self, repo: Repo, tree: str, prefix: str
                  ) -> Iterable[tuple[str, TreeEntry]]:
        """Every entry of ``tree``, a submodule's files below it (at its recorded commit)."""
        for entry in repo.entries(tree):
            rel = prefix + entry.rel
            yield rel, entry
            if entry.mode == GITLINK:
                sub = self._submodule(repo, entry, rel)
                sub_tree = sub.tree_of(entry.oid, "")
                assert sub_tree is not None  # _submodule checked it
                yield from self.walk_tree(sub, sub_tree, rel + "/")

    def _submodule(self, repo: Repo, entry: TreeEntry, rel: str) -> Repo:
        sub = Repo(repo.top / entry.rel, entry.oid, repo.env)
        if not (sub.top / ".git").exists() or sub.tree_of(entry.oid, "") is None:
            raise SourceError(f"submodule {rel} is not checked out at its commit "
                              f"{entry.oid[:12]}",
                              "git submodule update --init --recursive")
        return sub

    # -- what Buildah gets ----------------------------------------------------------------------
    def context_dir(self, context_dir: Path) -> Path:
        """The context, checked out from the tree into the cache (once per tree id)."""
        tree = self.context_tree(context_dir)
        assert self.checkouts is not None
        target = self.checkouts / tree
        self._holds.hold(tree)  # no host cleanup removes it while this build runs
        if target.is_dir():
            with contextlib.suppress(OSError):
                os.utime(target)  # its last use, for host cleanup
            return target
        self.checkouts.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{tree[:12]}-", dir=self.checkouts))
        try:
            self._checkout(self.repo, tree, work)
            os.rename(work, target)
        except FileExistsError:
            shutil.rmtree(work, ignore_errors=True)  # another build checked it out meanwhile
        except OSError as exc:
            shutil.rmtree(work, ignore_errors=True)
            if not target.is_dir():
                raise SourceError(f"the build context cannot be checked out to {target}: "
                                  f"{exc.strerror}", "check the space and permissions of "
                                  "the cache directory") from None
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return target

    def _checkout(self, repo: Repo, tree: str, dest: Path) -> None:
        repo.checkout(tree, dest)
        for entry in repo.entries(tree):
            if entry.mode == GITLINK:
                sub = self._submodule(repo, entry, entry.rel)
                sub_tree = sub.tree_of(entry.oid, "")
                assert sub_tree is not None
                (dest / entry.rel).mkdir(parents=True, exist_ok=True)
                self._checkout(sub, sub_tree, dest / entry.rel)


def config_needs(project_dir: Path, read: Sequence[str], config: Path,
                 templates_dir: str, giterminism_file: Path | None) -> list[Need]:
    """What rendering werf.yaml read (``Project.read``), and the giterminism file."""
    out: list[Need] = []
    templates = (project_dir / templates_dir).resolve()
    for name in read:
        path = Path(name)
        if not path.is_relative_to(project_dir):
            continue
        rel = path.relative_to(project_dir).as_posix()
        kind = "config" if path == config else \
            "template" if path.is_relative_to(templates) and path.suffix == ".tmpl" else "file"
        out.append(Need(rel, kind))
    if giterminism_file is not None and giterminism_file.is_relative_to(project_dir):
        out.append(Need(giterminism_file.relative_to(project_dir).as_posix(), "giterminism"))
    return out


# where CI systems name the commit a job was started for: its own checkout, detached and
# shallow as the CI makes it, is the commit to build (GitLab CI and Woodpecker, GitHub
# Actions, Jenkins' git plugin, Bitbucket, CircleCI, Azure Pipelines, Buildkite, Drone,
# Travis)
CI_COMMIT_VARIABLES = ("CI_COMMIT_SHA", "GITHUB_SHA", "GIT_COMMIT", "BITBUCKET_COMMIT",
                       "CIRCLE_SHA1", "BUILD_SOURCEVERSION", "BUILDKITE_COMMIT",
                       "DRONE_COMMIT_SHA", "TRAVIS_COMMIT")


def ci_job_commit(head: str, env: Mapping[str, str]) -> str:
    """The variable by which a CI job names ``head`` as its commit; "" when none does."""
    return next((name for name in CI_COMMIT_VARIABLES
                 if env.get(name, "").strip().lower() == head), "")


def check_checkout(repo: Repo, force_shallow: bool, env: Mapping[str, str]) -> None:
    """Stop on a checkout whose commit others cannot find or whose clone is cut short: a
    detached HEAD at a commit no branch, tag or remote-tracking ref holds (made while
    detached, or left behind by a rebase), and a shallow clone, both named in one error.
    A detached HEAD that a ref holds is that ref's commit (a tag, a submodule, a bisect
    step); a CI job's own checkout (HEAD is the commit the job names) passes; werf.yaml's
    ``gitWorktree.forceShallowClone`` accepts a shallow clone. (werf refuses neither for
    Dockerfile images; see the README, "Giterminism".)"""
    if ci_job_commit(repo.head, env):
        return
    problems: list[str] = []
    fixes: list[str] = []
    if not repo.branch and not repo.must("for-each-ref", "--contains", repo.head,
                                         "--count=1", "--format=%(refname)",
                                         what="the refs that hold HEAD").strip():
        problems.append(f"HEAD is detached at a commit no branch or tag holds "
                        f"({repo.head[:12]})")
        fixes.append("keep the commit on a branch (git switch -c <name>) or check out a "
                     "branch (git switch <branch>)")
    if repo.shallow and not force_shallow:
        problems.append("the clone is shallow")
        fixes.append("fetch the history (git fetch --unshallow), or accept the shallow "
                     "clone in werf.yaml (gitWorktree: {forceShallowClone: true})")
    if problems:
        raise SourceError(
            f"{' and '.join(problems)} in the repository at {repo.top}: a build reads a "
            "commit others can find, of a whole clone (a CI job's own checkout excepted)",
            "; ".join(fixes) + "; a CI job is recognised by its commit variable "
            f"({', '.join(CI_COMMIT_VARIABLES[:2])}, ...); --dev builds the working tree, "
            "--loose-giterminism turns the checks off")


def open_source(project_dir: Path, dev: bool, loose: bool, rules: Giterminism,
                checkouts: Path, add_files: Sequence[str] = (), force_shallow: bool = False,
                env: Mapping[str, str] | None = None) -> GitSource | None:
    """The git source of the project in ``project_dir``; None outside a repository. Without
    --dev or --loose-giterminism, the checkout must pass ``check_checkout``."""
    from dockwright.source.git import open_repo

    repo = open_repo(project_dir)
    if repo is None:
        return None
    if not dev and not loose:
        check_checkout(repo, force_shallow, os.environ if env is None else env)
    return GitSource(repo, project_dir.resolve(), dev, loose, rules, checkouts,
                     tuple(add_files))
