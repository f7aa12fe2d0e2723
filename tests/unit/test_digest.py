"""Stage digests from plan.inputs manifests: what changes a digest, and what must not."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from dockwright import dockerfile, plan
from dockwright.config import load_project
from dockwright.digest import Manifest, ManifestBuilder, diff
from dockwright.errors import ConfigError, DockerfileError

WERF = """\
configVersion: 1
project: demo
build:
  cacheVersion: "1"
---
image: app
dockerfile: Dockerfile
target: final
args:
  GREETING: hello
addHost:
- "db:10.0.0.2"
"""

DOCKERFILE = """\
ARG BASE=registry.example/base:1
FROM scratch AS unused
RUN echo unused
FROM $BASE AS final
ARG GREETING
ARG DEP_IMAGE=none
COPY src/ /app/
COPY config.json /etc/app.json
RUN echo $GREETING
"""

FILES = {
    "werf.yaml": WERF,
    "Dockerfile": DOCKERFILE,
    ".dockerignore": "src/*.tmp\n",
    "src/main.sh": "echo main\n",
    "src/lib/util.sh": "echo util\n",
    "src/scratch.tmp": "ignored\n",
    "config.json": "{}\n",
    "README.md": "not copied\n",
}

BASE_ID = "a" * 64


def write(root: Path, files: Mapping[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def digest_of(root: Path, imports: Mapping[str, str] | None = None,
              base_ids: Mapping[str, str | None] | None = None,
              name: str = "app") -> plan.Inputs:
    project = load_project(root, env={})
    image = project.image(name)
    assert image is not None
    parsed = dockerfile.parse(image.dockerfile_path, "Dockerfile")
    ids = {"registry.example/base:1": BASE_ID} if base_ids is None else base_ids
    return plan.inputs(project, image, imports or {}, ids, parsed)


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    return write(tmp_path / "p", FILES)


Change = Callable[[Path], object]


def edit(rel: str, text: str) -> Change:
    return lambda root: write(root, {rel: text})


def replace(rel: str, old: str, new: str) -> Change:
    def change(root: Path) -> None:
        path = root / rel
        assert old in path.read_text(), f"{old!r} not in {rel}"
        path.write_text(path.read_text().replace(old, new))
    return change


def test_same_inputs_same_digest(proj: Path, tmp_path: Path) -> None:
    first = digest_of(proj)
    assert first.digest == digest_of(proj).digest
    assert len(first.digest) == 56
    # the same tree elsewhere (another checkout) has the same digest
    other = write(tmp_path / "elsewhere", FILES)
    assert digest_of(other).digest == first.digest


def test_manifest_content(proj: Path) -> None:
    m = digest_of(proj).manifest
    keys = [k for k, _ in m.entries]
    assert keys == [
        "manifest-version", "cacheVersion", "target",
        "instruction 001", "instruction 002", "instruction 003", "instruction 004",
        "instruction 005", "instruction 006",
        "base registry.example/base:1",
        "addHost db:10.0.0.2",
        "context",
    ]
    # the context entry stands for one line per path, which --explain prints after it
    assert [k for k, _ in m.expanded()] == [*keys, "context config.json", "context src",
                                            "context src/lib", "context src/lib/util.sh",
                                            "context src/main.sh"]
    assert m.details is not None
    lines = "".join(f"{path}\t{detail}\n" for path, detail in m.details)
    assert dict(m.entries)["context"] == \
        f"5 paths, sha256:{hashlib.sha256(lines.encode()).hexdigest()}"
    values = dict(m.expanded())
    assert values["instruction 001"] == "stage 1 (final): FROM registry.example/base:1"
    assert values["instruction 002"] == "stage 1 (final): ARG GREETING=hello"
    assert values["base registry.example/base:1"] == f"sha256:{BASE_ID}"
    assert values["context src/main.sh"].startswith("0644 ")


CHANGES: dict[str, Change] = {
    "copied file content": edit("src/main.sh", "echo changed\n"),
    "copied file added": edit("src/new.sh", "new\n"),
    "copied single file": edit("config.json", '{"a": 1}\n'),
    "arg value": replace("werf.yaml", "GREETING: hello", "GREETING: bye"),
    "arg added that the Dockerfile declares": replace(
        "werf.yaml", "GREETING: hello", "GREETING: hello\n  DEP_IMAGE: other"),
    "dockerfile default of a used arg": replace("Dockerfile", "DEP_IMAGE=none", "DEP_IMAGE=x"),
    "instruction": replace("Dockerfile", "RUN echo $GREETING", "RUN echo $GREETING!"),
    "instruction added": replace("Dockerfile", "RUN echo $GREETING", "RUN echo $GREETING\nUSER 1"),
    "base image reference": replace("Dockerfile", "base:1", "base:2"),
    "cacheVersion": replace("werf.yaml", 'cacheVersion: "1"', 'cacheVersion: "2"'),
    "image cacheVersion": replace("werf.yaml", "target: final", "target: final\ncacheVersion: x"),
    "addHost": replace("werf.yaml", "db:10.0.0.2", "db:10.0.0.3"),
    "platform": replace("werf.yaml", 'cacheVersion: "1"', 'cacheVersion: "1"\n  platform: '
                        "[linux/arm64]"),
    "dockerignore stops excluding": edit(".dockerignore", ""),
    "exec bit": lambda root: os.chmod(root / "src" / "main.sh", 0o755),
    "symlink target": lambda root: (root / "src" / "link").symlink_to("main.sh"),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_change_makes_a_new_digest(proj: Path, change: Change) -> None:
    before = digest_of(proj)
    change(proj)
    after = digest_of(proj)
    assert after.digest != before.digest
    assert diff(before.manifest, after.manifest)


def test_symlink_retarget_makes_a_new_digest(proj: Path) -> None:
    (proj / "src" / "link").symlink_to("main.sh")
    before = digest_of(proj).digest
    (proj / "src" / "link").unlink()
    (proj / "src" / "link").symlink_to("lib")
    assert digest_of(proj).digest != before


SAME: dict[str, Change] = {
    "dockerignored file": edit("src/scratch.tmp", "changed\n"),
    "dockerignored file added": edit("src/other.tmp", "new\n"),
    "file no COPY reads": edit("README.md", "changed\n"),
    "new file outside every COPY source": edit("docs/new.md", "x\n"),
    "stage the target does not use": replace("Dockerfile", "RUN echo unused", "RUN echo other"),
    "werf.yaml arg that the Dockerfile does not declare": replace(
        "werf.yaml", "GREETING: hello", "GREETING: hello\n  UNDECLARED: x"),
    "comment in the Dockerfile": replace("Dockerfile", "ARG GREETING\n", "# hi\nARG GREETING\n"),
    "mtime of a copied file": lambda root: os.utime(root / "src" / "main.sh", (1, 1)),
    "network (not an input)": replace("werf.yaml", "target: final", "target: final\n"
                                      "network: host"),
}


@pytest.mark.parametrize("change", SAME.values(), ids=SAME.keys())
def test_change_keeps_the_digest(proj: Path, change: Change) -> None:
    before = digest_of(proj)
    change(proj)
    assert digest_of(proj).digest == before.digest


def test_base_image_id_changes_digest(proj: Path) -> None:
    a = digest_of(proj, base_ids={"registry.example/base:1": "a" * 64})
    b = digest_of(proj, base_ids={"registry.example/base:1": "b" * 64})
    missing = digest_of(proj, base_ids={"registry.example/base:1": None})
    assert len({a.digest, b.digest, missing.digest}) == 3
    assert dict(missing.manifest.entries)["base registry.example/base:1"] == \
        "(not present locally)"


def test_import_value_changes_digest(proj: Path) -> None:
    write(proj, {"werf.yaml": WERF + "dependencies:\n- image: dep\n  imports:\n"
                 "  - type: ImageName\n    targetBuildArg: DEP_IMAGE\n---\n"
                 "image: dep\ndockerfile: Dockerfile\ntarget: unused\n"})
    one = digest_of(proj, imports={"DEP_IMAGE": "localhost/demo:" + "1" * 56 + "-1"})
    two = digest_of(proj, imports={"DEP_IMAGE": "localhost/demo:" + "2" * 56 + "-2"})
    assert one.digest != two.digest
    assert dict(one.build_args)["DEP_IMAGE"].endswith("-1")
    assert ("import DEP_IMAGE", "localhost/demo:" + "1" * 56 + "-1") in one.manifest.entries
    assert diff(one.manifest, two.manifest)[0].startswith("changed  instruction 003: ")


def test_import_beats_dockerfile_default(proj: Path) -> None:
    inputs = digest_of(proj, imports={"DEP_IMAGE": "from-import"})
    assert "stage 1 (final): ARG DEP_IMAGE=from-import" in inputs.analysis.instructions


def test_context_add_files_count(proj: Path) -> None:
    write(proj, {"extra/a.txt": "a", "extra/sub/b.txt": "b", "one.txt": "1"})
    write(proj, {"werf.yaml": WERF + "contextAddFiles: [extra, one.txt]\n"})
    before = digest_of(proj)
    keys = [k for k, _ in before.manifest.entries if k.startswith("contextAddFiles")]
    assert keys == ["contextAddFiles extra/a.txt", "contextAddFiles extra/sub",
                    "contextAddFiles extra/sub/b.txt", "contextAddFiles one.txt"]
    write(proj, {"extra/sub/b.txt": "changed"})
    changed = digest_of(proj)
    assert changed.digest != before.digest
    os.chmod(proj / "one.txt", 0o755)
    assert digest_of(proj).digest != changed.digest


def test_context_add_files_overlapping_entries(proj: Path) -> None:
    write(proj, {"extra/a.txt": "a"})
    write(proj, {"werf.yaml": WERF + "contextAddFiles: [extra, extra/a.txt, extra]\n"})
    keys = [k for k, _ in digest_of(proj).manifest.entries if k.startswith("contextAddFiles")]
    assert keys == ["contextAddFiles extra/a.txt"]


def test_same_add_host_twice(proj: Path) -> None:
    write(proj, {"werf.yaml": WERF + '- "db:10.0.0.2"\n'})
    keys = [k for k, _ in digest_of(proj).manifest.entries if k.startswith("addHost")]
    assert keys == ["addHost db:10.0.0.2"]


def test_same_url_in_two_used_stages(proj: Path) -> None:
    write(proj, {"Dockerfile": "FROM scratch AS a\nADD https://e.com/f /f\nFROM a AS final\n"
                               "ADD https://e.com/f /g\n"})
    entries = dict(digest_of(proj).manifest.entries)
    assert entries["remote https://e.com/f"] == "https://e.com/f"


def test_copy_source_missing_names_dockerfile_line(proj: Path) -> None:
    write(proj, {"Dockerfile": "FROM scratch AS final\nCOPY nothere /x\n"})
    with pytest.raises(DockerfileError) as info:
        digest_of(proj)
    assert info.value.message == ("Dockerfile:2: COPY/ADD source 'nothere' matches no file in "
                                  "the build context (or .dockerignore excludes it)")


def test_copy_source_dockerignored(proj: Path) -> None:
    write(proj, {"Dockerfile": "FROM scratch AS final\nCOPY src/scratch.tmp /x\n"})
    with pytest.raises(DockerfileError, match=r"^Dockerfile:2: COPY/ADD source 'src/scratch\.tmp'"
                       r" matches no file in the build context \(or \.dockerignore excludes"):
        digest_of(proj)


def test_dockerfile_in_a_context_subdirectory_reports_project_relative_path(tmp_path: Path) -> None:
    root = write(tmp_path / "p", {
        "werf.yaml": "configVersion: 1\nproject: demo\n---\nimage: app\ncontext: app\n"
                     "dockerfile: docker/Dockerfile\n",
        "app/docker/Dockerfile": "FROM scratch\nCOPY missing /m\n",
    })
    project = load_project(root, env={})
    image = project.images[0]
    parsed = dockerfile.parse(image.dockerfile_path, "app/docker/Dockerfile")
    with pytest.raises(ConfigError, match=r"^app/docker/Dockerfile:2: COPY/ADD source 'missing'"):
        plan.inputs(project, image, {}, {}, parsed)


# -- Manifest ---------------------------------------------------------------------------------

def manifest(**entries: str) -> Manifest:
    b = ManifestBuilder()
    for k, v in entries.items():
        b.add(k, v)
    return b.build()


def test_manifest_builder_refuses_a_key_twice() -> None:
    b = ManifestBuilder()
    b.add("a", "1")
    with pytest.raises(ValueError, match="added twice"):
        b.add("a", "2")


def test_manifest_text_and_digest() -> None:
    m = manifest(a="1", b="2")
    assert m.text() == "manifest-version\t2\na\t1\nb\t2\n"
    assert m.digest == hashlib.sha3_224(m.text().encode()).hexdigest()
    assert manifest(b="2", a="1").digest != m.digest  # order is part of the manifest


def test_manifest_lines() -> None:
    long = "x" * 200
    lines = list(manifest(a="1", b=long).lines())
    import hashlib
    assert lines[1] == f"{hashlib.sha256(b'1').hexdigest()[:12]}  a: 1"
    assert lines[2] == f"{hashlib.sha256(long.encode()).hexdigest()[:12]}  b: {'x' * 117}..."


def test_diff_lines() -> None:
    old = manifest(keep="same", changed="old", removed="gone")
    new = manifest(keep="same", changed="new", added="here")
    assert diff(old, new) == [
        "changed  changed: old -> new",
        "added    added: here",
        "removed  removed: gone",
    ]
    assert diff(old, old) == []


def test_diff_shortens_long_values() -> None:
    old = manifest(k="a" * 100)
    new = manifest(k="b" * 100)
    assert diff(old, new) == [f"changed  k: {'a' * 80}... -> {'b' * 80}..."]


def test_diff_of_long_values_shows_where_they_differ() -> None:
    """Two stage references differ only in their last digits: the shown part must hold them."""
    prefix = "FROM localhost/hello:" + "d" * 56 + "-"
    old = manifest(k=prefix + "1795706173827")
    new = manifest(k=prefix + "1795706464943")
    [line] = diff(old, new)
    assert line.startswith("changed  k: ...")
    old_shown, new_shown = line.removeprefix("changed  k: ").split(" -> ")
    assert old_shown.endswith("-1795706173827") and new_shown.endswith("-1795706464943")


def test_manifest_json_round_trip(proj: Path) -> None:
    m = digest_of(proj).manifest
    text = m.to_json()
    data = json.loads(text)
    assert data["digest"] == m.digest
    back = Manifest.from_json(text)
    assert back == m
    assert back.digest == m.digest


def test_manifest_text_is_unambiguous() -> None:
    # a value with a newline must not read as two inputs
    assert manifest(a="1\nb\t2").digest != manifest(a="1", b="2").digest
    assert manifest(a="x\\ty").digest != manifest(a="x\ty").digest


def test_manifest_json_round_trip_keeps_odd_values() -> None:
    m = manifest(**{"tab\tkey": "line\nbreak", "unicode": "é ✓"})
    assert Manifest.from_json(m.to_json()) == m


def test_diff_names_context_paths_when_both_sides_have_them() -> None:
    def with_context(value: str, details: tuple[tuple[str, str], ...] | None) -> Manifest:
        b = ManifestBuilder()
        b.add("a", "1")
        b.add("context", value)
        return b.build(details)

    old = with_context("2 paths, sha256:1", (("x", "0644 aa"), ("y", "0644 bb")))
    new = with_context("2 paths, sha256:2", (("x", "0644 ab"), ("z", "0644 cc")))
    assert diff(old, new) == ["changed  context x: 0644 aa -> 0644 ab",
                              "added    context z: 0644 cc", "removed  context y: 0644 bb"]
    # the details are not part of the digest; without them on one side, the entry shows
    assert with_context("v", None).digest == with_context("v", (("x", "y"),)).digest
    assert diff(old, with_context("2 paths, sha256:2", None)) == [
        "changed  context: 2 paths, sha256:1 -> 2 paths, sha256:2"]
    again = Manifest.from_json(new.to_json())
    assert again == new and list(again.lines())[-2].endswith("context x: 0644 ab")


@pytest.mark.parametrize(("buildah", "refused"), [
    ("buildah version 1.28.2", True), ("buildah version 1.34.0", True),
    ("buildah version 1.35.0", False), ("buildah version 1.39.3", False), ("", False)])
def test_heredocs_need_buildah_1_35(tmp_path: Path, buildah: str, refused: bool) -> None:
    from dockwright.config import load_project
    from dockwright.errors import Exit, HostError

    (tmp_path / "Dockerfile").write_text("FROM scratch\nRUN <<EOF\nset -e\nEOF\n")
    (tmp_path / "werf.yaml").write_text("configVersion: 1\nproject: p\n---\nimage: app\n"
                                        "dockerfile: Dockerfile\n")
    project = load_project(tmp_path, env={})
    image = project.images[0]
    parsed = dockerfile.parse(image.dockerfile_path)
    if not refused:
        plan.validate(project, image, parsed, buildah=buildah)
        return
    with pytest.raises(HostError) as info:
        plan.validate(project, image, parsed, buildah=buildah)
    version = buildah.removeprefix("buildah ")
    assert info.value.message == ("Dockerfile:2: a heredoc (<<EOF) needs Buildah 1.35 or "
                                  f"newer to build; this host has {version}")
    assert info.value.exit_code == Exit.HOST_NOT_READY
