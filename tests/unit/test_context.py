""".dockerignore semantics (as Docker's), COPY source selection, and content checksums."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dockwright import cachefile, run
from dockwright.context import Ignore, checksum, clean, files_for, load_ignore, select, walk
from dockwright.errors import DockerfileError

TREE = [
    "a.txt", "b.txt", "c.md", "ab", "abc",
    "docs/index.md", "docs/api/ref.md", "docs/api/keep.txt",
    "src/main.py", "src/util/helpers.py", "src/util/data.json",
    "build/out.o", "build/logs/x.log",
    ".git/HEAD",
]


R = TypeVar("R")


def recording(real: Callable[..., R], calls: list[Any],
              what: Callable[..., Any]) -> Callable[..., R]:
    """``real``, noting ``what(*args)`` of each call in ``calls``."""
    def wrapper(*args: Any) -> R:
        calls.append(what(*args))
        return real(*args)
    return wrapper


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    root = tmp_path / "ctx"
    for rel in TREE:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    (root / "Dockerfile").write_text("FROM scratch\n")
    return root


def ignore_of(ctx: Path, text: str) -> Ignore:
    (ctx / ".dockerignore").write_text(text)
    return load_ignore(ctx, ctx / "Dockerfile")


def kept_files(ctx: Path, text: str) -> list[str]:
    entries = walk(ctx, ignore_of(ctx, text))
    return [e.rel for e in entries if e.kind == "file"]


def all_files() -> list[str]:
    return sorted([*TREE, "Dockerfile", ".dockerignore"])


def test_no_dockerignore_keeps_everything(ctx: Path) -> None:
    ignore = load_ignore(ctx, ctx / "Dockerfile")
    assert ignore == Ignore("", ())
    assert [e.rel for e in walk(ctx, ignore) if e.kind == "file"] == sorted([*TREE, "Dockerfile"])


def test_walk_is_sorted_and_lists_directories(ctx: Path) -> None:
    entries = walk(ctx, Ignore("", ()))
    rels = [e.rel for e in entries]
    assert rels == sorted(rels, key=lambda r: r.split("/"))
    assert {e.rel: e.kind for e in entries}["docs/api"] == "dir"


def test_star_stays_in_one_path_element(ctx: Path) -> None:
    kept = kept_files(ctx, "*.md\n")
    assert "c.md" not in kept
    assert "docs/index.md" in kept  # '*' does not cross '/'


def test_star_in_a_subdirectory(ctx: Path) -> None:
    kept = kept_files(ctx, "docs/*.md\n")
    assert "docs/index.md" not in kept
    assert "docs/api/ref.md" in kept


def test_question_mark_matches_one_character(ctx: Path) -> None:
    kept = kept_files(ctx, "a?\n")
    assert "ab" not in kept
    assert "abc" in kept
    assert "a.txt" in kept


def test_double_star_spans_directories(ctx: Path) -> None:
    kept = kept_files(ctx, "**/*.md\n")
    assert not [f for f in kept if f.endswith(".md")]
    assert "docs/api/keep.txt" in kept


def test_double_star_in_the_middle(ctx: Path) -> None:
    kept = kept_files(ctx, "src/**/*.py\n")
    assert "src/main.py" not in kept
    assert "src/util/helpers.py" not in kept
    assert "src/util/data.json" in kept


def test_directory_exclusion_covers_its_contents(ctx: Path) -> None:
    kept = kept_files(ctx, "build\n.git\n")
    assert not [f for f in kept if f.startswith(("build/", ".git/"))]
    assert "build" not in [e.rel for e in walk(ctx, ignore_of(ctx, "build\n"))]


def test_negation_reincludes(ctx: Path) -> None:
    kept = kept_files(ctx, "docs\n!docs/api/keep.txt\n")
    assert [f for f in kept if f.startswith("docs/")] == ["docs/api/keep.txt"]


def test_star_then_negation(ctx: Path) -> None:
    kept = kept_files(ctx, "*\n!src\n")
    assert kept == ["src/main.py", "src/util/data.json", "src/util/helpers.py"]


def test_last_match_wins(ctx: Path) -> None:
    assert "a.txt" in kept_files(ctx, "*.txt\n!a.txt\n")
    assert "a.txt" not in kept_files(ctx, "!a.txt\n*.txt\n")


def test_comments_blank_lines_leading_slash_and_dot_slash(ctx: Path) -> None:
    kept = kept_files(ctx, "# a comment\n\n/a.txt\n./b.txt\n  c.md  \n")
    assert "a.txt" not in kept and "b.txt" not in kept and "c.md" not in kept
    assert "ab" in kept


def test_character_class(ctx: Path) -> None:
    kept = kept_files(ctx, "[ab].txt\n")
    assert "a.txt" not in kept and "b.txt" not in kept
    assert "c.md" in kept


def test_negated_character_class(ctx: Path) -> None:
    kept = kept_files(ctx, "[^a].txt\n")
    assert "a.txt" in kept
    assert "b.txt" not in kept


def test_dockerfile_specific_ignore_is_preferred(ctx: Path) -> None:
    (ctx / ".dockerignore").write_text("a.txt\n")
    (ctx / "Dockerfile.dockerignore").write_text("b.txt\n")
    ignore = load_ignore(ctx, ctx / "Dockerfile")
    assert ignore.source == str(ctx / "Dockerfile.dockerignore")
    kept = [e.rel for e in walk(ctx, ignore)]
    assert "a.txt" in kept and "b.txt" not in kept


def test_dockerfile_specific_ignore_next_to_a_nested_dockerfile(ctx: Path) -> None:
    (ctx / "docker").mkdir()
    (ctx / "docker" / "app.Dockerfile").write_text("FROM scratch\n")
    (ctx / "docker" / "app.Dockerfile.dockerignore").write_text("c.md\n")
    (ctx / ".dockerignore").write_text("a.txt\n")
    ignore = load_ignore(ctx, ctx / "docker" / "app.Dockerfile")
    assert ignore.patterns == ((False, "c.md"),)
    # another Dockerfile of the same context still gets .dockerignore
    assert load_ignore(ctx, ctx / "Dockerfile").patterns == ((False, "a.txt"),)


def test_containerignore_is_read_as_buildah_does(ctx: Path) -> None:
    """Buildah 1.28 prefers .containerignore to .dockerignore in the context, and the
    Dockerfile's own <Dockerfile>.dockerignore / .containerignore to both."""
    (ctx / ".dockerignore").write_text("a.txt\n")
    (ctx / ".containerignore").write_text("b.txt\n")
    assert load_ignore(ctx, ctx / "Dockerfile").patterns == ((False, "b.txt"),)
    (ctx / "Dockerfile.containerignore").write_text("c.md\n")
    assert load_ignore(ctx, ctx / "Dockerfile").patterns == ((False, "c.md"),)
    (ctx / "Dockerfile.dockerignore").write_text("ab\n")
    ignore = load_ignore(ctx, ctx / "Dockerfile")
    assert ignore.patterns == ((False, "ab"),)
    assert ignore.source == str(ctx / "Dockerfile.dockerignore")


def test_source_excluded_by_containerignore_names_it(ctx: Path) -> None:
    (ctx / ".containerignore").write_text("a.txt\n")
    ignore = load_ignore(ctx, ctx / "Dockerfile")
    with pytest.raises(DockerfileError, match=r"\(or \.containerignore excludes it\)$"):
        files_for(ctx, walk(ctx, ignore), [("a.txt", "Dockerfile:4")], ignore)


def test_ignore_patterns_are_cleaned() -> None:
    assert clean("./a//b/../c/") == "a/c"
    assert clean("/") == ""
    assert clean("../../x") == "x"


# -- COPY sources ----------------------------------------------------------------------------

def rels(ctx: Path, pattern: str, ignore_text: str = "") -> list[str]:
    ignore = ignore_of(ctx, ignore_text) if ignore_text else Ignore("", ())
    return [e.rel for e in select(walk(ctx, ignore), pattern)]


def test_select_directory(ctx: Path) -> None:
    assert rels(ctx, "docs") == ["docs", "docs/api", "docs/api/keep.txt", "docs/api/ref.md",
                                 "docs/index.md"]
    assert rels(ctx, "./docs/") == rels(ctx, "docs")


def test_select_file(ctx: Path) -> None:
    assert rels(ctx, "src/main.py") == ["src/main.py"]
    assert rels(ctx, "/src/main.py") == ["src/main.py"]


def test_select_glob(ctx: Path) -> None:
    assert rels(ctx, "*.txt") == ["a.txt", "b.txt"]
    assert rels(ctx, "src/*/*.py") == ["src/util/helpers.py"]
    assert rels(ctx, "a?") == ["ab"]


def test_select_dot_is_everything(ctx: Path) -> None:
    assert rels(ctx, ".") == [e.rel for e in walk(ctx, Ignore("", ()))]


def test_select_after_dockerignore(ctx: Path) -> None:
    assert "docs/api/ref.md" not in rels(ctx, "docs", "**/*.md\n")
    assert "docs/api/keep.txt" in rels(ctx, "docs", "**/*.md\n")


def test_select_does_not_match_prefix_of_a_name(ctx: Path) -> None:
    assert rels(ctx, "a") == []
    assert rels(ctx, "doc") == []


def test_source_matching_nothing_names_file_and_line(ctx: Path) -> None:
    entries = walk(ctx, Ignore("", ()))
    with pytest.raises(DockerfileError) as info:
        files_for(ctx, entries, [("a.txt", "Dockerfile:2"), ("missing/*", "Dockerfile:3")],
                  Ignore("", ()))
    assert info.value.message == ("Dockerfile:3: COPY/ADD source 'missing/*' matches no file in "
                                  "the build context")
    assert info.value.hint == "fix the path (relative to the context directory)"


def test_source_excluded_by_dockerignore_says_so(ctx: Path) -> None:
    ignore = ignore_of(ctx, "a.txt\n")
    with pytest.raises(DockerfileError) as info:
        files_for(ctx, walk(ctx, ignore), [("a.txt", "Dockerfile:4")], ignore)
    assert info.value.message == ("Dockerfile:4: COPY/ADD source 'a.txt' matches no file in the "
                                  "build context (or .dockerignore excludes it)")
    assert info.value.hint == ("fix the path (relative to the context directory) or "
                               ".dockerignore")


# -- checksums -------------------------------------------------------------------------------

def sums(ctx: Path, pattern: str = ".") -> dict[str, tuple[int, str]]:
    ignore = load_ignore(ctx, ctx / "Dockerfile")
    out = files_for(ctx, walk(ctx, ignore), [(pattern, "Dockerfile:1")], ignore)
    return {f.rel: (f.mode, f.checksum) for f in out}


def test_checksum_changes_with_content(ctx: Path) -> None:
    before = sums(ctx)
    (ctx / "src/main.py").write_text("changed")
    after = sums(ctx)
    assert before["src/main.py"] != after["src/main.py"]
    assert {k: v for k, v in before.items() if k != "src/main.py"} == \
        {k: v for k, v in after.items() if k != "src/main.py"}


def test_checksum_ignores_mtime(ctx: Path) -> None:
    before = sums(ctx)
    os.utime(ctx / "a.txt", (1, 1))
    assert sums(ctx) == before


def test_checksum_changes_with_exec_bit(ctx: Path) -> None:
    before = sums(ctx)["a.txt"]
    os.chmod(ctx / "a.txt", 0o755)
    after = sums(ctx)["a.txt"]
    assert before[1] == after[1]
    assert before[0] != after[0]
    assert after[0] == 0o755


def test_checksum_of_symlink_is_its_target(ctx: Path) -> None:
    (ctx / "link").symlink_to("a.txt")
    first = sums(ctx)["link"]
    assert first[1] == "link:a.txt"
    (ctx / "link").unlink()
    (ctx / "link").symlink_to("b.txt")
    assert sums(ctx)["link"] != first


def test_symlinked_directory_is_not_followed(ctx: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("s")
    (ctx / "out").symlink_to(tmp_path / "outside")
    rels_ = [e.rel for e in walk(ctx, Ignore("", ()))]
    assert "out" in rels_
    assert "out/secret" not in rels_


def test_checksum_of_file_is_sha256(ctx: Path) -> None:
    import hashlib
    entry = next(e for e in walk(ctx, Ignore("", ())) if e.rel == "a.txt")
    assert checksum(ctx, entry) == hashlib.sha256(b"a.txt").hexdigest()


def test_dockerignored_file_does_not_count(ctx: Path) -> None:
    (ctx / ".dockerignore").write_text("build\n")
    before = sums(ctx)
    (ctx / "build" / "out.o").write_text("new")
    assert sums(ctx) == before
    assert not [k for k in before if k.startswith("build")]


def aged_tree(root: Path, files: int, *others: str) -> float:
    """``d/f0``... and ``others`` (not copied), a minute old: outside the racy window.
    Returns that time."""
    import os
    import time

    (root / "d").mkdir(parents=True)
    for n in range(files):
        (root / "d" / f"f{n}").write_text(f"file {n}\n")
    for other in others:
        (root / other).write_text("not copied\n")
    old = time.time() - 60
    for p in [*(root / "d").iterdir(), *(root / o for o in others)]:
        os.utime(p, (old, old))
    return old


def test_hash_cache_reuses_checksums_and_sees_every_change(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from dockwright import context as ctx

    root = tmp_path / "ctx"
    old = aged_tree(root, 40)
    ignore = ctx.Ignore("", ())
    cache_file = tmp_path / "cache.marshal"
    # utime() just now set every ctime to now: treat nothing as racy until the last step
    monkeypatch.setattr(ctx.HashCache, "RACY_NS", 0)

    def digest() -> dict[str, str]:
        cache = ctx.HashCache(cache_file)
        files = ctx.files_for(root, ctx.walk(root, ignore), [("d", "Dockerfile:1")], ignore,
                              cache)
        cache.save()
        return {f.rel: f.checksum for f in files}

    first = digest()
    assert first == {f.rel: f.checksum for f in ctx.files_for(
        root, ctx.walk(root, ignore), [("d", "Dockerfile:1")], ignore)}
    reads: list[str] = []
    real = ctx.checksum
    monkeypatch.setattr(ctx, "checksum", recording(real, reads, lambda d, e: e.rel))
    assert digest() == first
    assert reads == ["d"]  # only the directory entry: no file was read again
    # same size, mtime put back by hand: ctime still shows the rewrite
    target = root / "d" / "f7"
    target.write_text("file X\n")
    os.utime(target, (old, old))
    changed = digest()
    assert changed["d/f7"] != first["d/f7"]
    assert "d/f7" in reads
    # a file written just now is hashed, and not trusted from the cache next time
    monkeypatch.setattr(ctx.HashCache, "RACY_NS", 2_000_000_000)
    (root / "d" / "f8").write_text("fresh\n")
    reads.clear()
    digest()
    digest()
    assert reads.count("d/f8") == 2


def test_unchanged_context_is_answered_by_the_set_cache(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:

    from dockwright import context as ctx

    root = tmp_path / "ctx"
    aged_tree(root, 10, "other")
    monkeypatch.setattr(ctx.HashCache, "RACY_NS", 0)  # utime() set every ctime to now
    ignore = ctx.Ignore("", ())
    cache_file = tmp_path / "cache.marshal"
    patterns = [("d", "Dockerfile:1")]

    def sources(details: bool = False) -> ctx.ContextSet:
        cache = ctx.HashCache(cache_file)
        result = ctx.sources(root, ctx.Listing(ctx.walk_parts(root, ignore)), patterns, ignore,
                             cache, details)
        cache.save()
        return result

    first = sources()
    assert first.details is not None and first.paths == 11  # d and its 10 files
    assert first.root == ctx.root_of(first.details)
    reads: list[str] = []
    real = ctx.checksum
    monkeypatch.setattr(ctx, "checksum", recording(real, reads, lambda d, e: e.rel))
    loaded: list[Path] = []
    real_load = cachefile.read_marshal
    monkeypatch.setattr(cachefile, "read_marshal", recording(real_load, loaded, lambda p: p))
    again = sources()
    assert again == ctx.ContextSet(first.root, 11, None)  # from the cache alone
    assert reads == [] and loaded == [ctx.HashCache.sets_path(cache_file)]  # no per-file table
    assert sources(details=True) == first  # --explain: the paths, from the per-file table
    # any change to the context misses; a change to a copied file changes the root
    (root / "other").write_text("still not copied\n")
    assert sources().details is not None
    (root / "d" / "f3").write_text("changed\n")
    changed = sources()
    assert changed.details is not None and changed.root != first.root
    # a file written just now: the result is not stored, the next run looks again
    monkeypatch.setattr(ctx.HashCache, "RACY_NS", 2_000_000_000)
    (root / "d" / "f4").write_text("fresh\n")
    assert sources().details is not None
    assert sources().details is not None


def test_listing_fingerprint(tmp_path: Path) -> None:
    from dockwright import context as ctx

    root = tmp_path / "ctx"
    root.mkdir()
    (root / "a").write_text("a\n")
    ignore = ctx.Ignore("", ())
    first = ctx.Listing(ctx.walk_parts(root, ignore)).fingerprint
    assert ctx.Listing(ctx.walk_parts(root, ignore)).fingerprint == first
    (root / "a").chmod(0o600)  # ctime and mode
    assert ctx.Listing(ctx.walk_parts(root, ignore)).fingerprint != first


def test_per_file_table_of_an_older_format_is_dropped(tmp_path: Path) -> None:
    import marshal

    from dockwright import context as ctx

    path = tmp_path / "c.marshal"
    path.write_bytes(marshal.dumps({"a": "1:2:3:4:" + "0" * 64}))  # the text form of 0.1
    assert ctx.HashCache(path).data == {}
    entry = ctx.Entry("a", "file", 0o644, 1, 2, 4, 3)
    cache = ctx.HashCache(path)
    cache.put(entry, "ab" * 32, now_ns=10**19)
    cache.save()
    assert ctx.HashCache(path).get(entry) == "ab" * 32
    assert ctx.HashCache(path).get(entry._replace(ctime_ns=5)) is None


@pytest.mark.parametrize(("ignore_text", "helper"), [
    ("", ["top/b1", "top/c3"]),  # every second subdirectory of top
    ("top/b1\n", ["top/b2", "top/d4"]),  # of those it walks
    ("top/*\n!top/b2/keep\n", ["top/b1", "top/c3"]),  # '!': excluded ones are walked too
    ("**/x1\n", ["top/b1", "top/c3"]),
])
def test_walk_with_a_second_process_is_the_same_walk(tmp_path: Path, ignore_text: str,
                                                     helper: list[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from dockwright import context as ctx

    root = tmp_path / "ctx"
    for d in ("top/a0", "top/b1/deep/er", "top/b2", "top/c3", "top/d4/x1"):
        (root / d).mkdir(parents=True)
    for n, d in enumerate(("top", "top/a0", "top/b1/deep/er", "top/b2", "top/c3", "top/d4",
                           "top/d4/x1", "")):
        for k in range(3):
            (root / d / f"f{n}{k}").write_text(f"{n}{k}")
    (root / "top/b2/keep").write_text("kept")
    (root / "top/c3/link").symlink_to("../a0")
    ignore = ignore_of(root, ignore_text)
    alone = ctx.walk_raw(root, ignore)
    forks: list[list[str] | None] = []
    real_split, real_fork = ctx._split, run.fork_call
    splits: list[list[str] | None] = []
    def split(*args: Any) -> list[str] | None:
        splits.append(real_split(*args))
        return splits[-1]

    monkeypatch.setattr(ctx, "_split", split)
    monkeypatch.setattr(run, "fork_call", recording(real_fork, forks, lambda work: splits[-1]))
    assert ctx.walk_raw(root, ignore, expected=ctx.PARALLEL_WALK) == alone
    assert forks == [helper]
    # the same parts either way, so the same fingerprint
    assert ctx.walk_parts(root, ignore, expected=ctx.PARALLEL_WALK) == \
        ctx.walk_parts(root, ignore)
    assert len(ctx.walk_parts(root, ignore)) == 5  # around and in the two subtrees
    # the helper process fails: its part is walked here instead
    monkeypatch.setattr(run.Forked, "result", lambda self, timeout: self.cancel())
    assert ctx.walk_raw(root, ignore, expected=ctx.PARALLEL_WALK) == alone
    assert ctx.walk_raw(root, ignore, expected=ctx.PARALLEL_WALK - 1) == alone
    assert len(forks) == 3  # a small context is walked by one process


def test_a_wildcard_matching_nothing_beside_a_source_that_matches_is_fine(ctx: Path) -> None:
    """As Buildah: COPY *foo *.txt /d/ copies the .txt files; only an instruction none of
    whose sources matches anything, or a plain path that is missing, fails."""
    entries = walk(ctx, Ignore("", ()))
    files = files_for(ctx, entries, [("*foo", "Dockerfile:2"), ("a.txt", "Dockerfile:2")],
                      Ignore("", ()))
    assert [f.rel for f in files] == ["a.txt"]
    with pytest.raises(DockerfileError, match=r"^Dockerfile:3: COPY/ADD source '\*foo'"):
        files_for(ctx, entries, [("a.txt", "Dockerfile:2"), ("*foo", "Dockerfile:3"),
                                 ("*bar", "Dockerfile:3")], Ignore("", ()))
    with pytest.raises(DockerfileError, match=r"^Dockerfile:2: COPY/ADD source 'nosuch'"):
        files_for(ctx, entries, [("nosuch", "Dockerfile:2"), ("a.txt", "Dockerfile:2")],
                  Ignore("", ()))
