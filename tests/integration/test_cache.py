"""Cache semantics: exactly the images whose inputs changed are rebuilt, with their dependents."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Builder
from tests.integration.test_build import copy_example, outcome

ARGS = ("--buildah-mode", "native-chroot", "--storage-driver", "overlay")


def states(builder: Builder, project: Path) -> dict[str, str]:
    return {name: state for name, (_, state) in outcome(builder.build(project, *ARGS).out).items()}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


ALL = {"base": "built", "app": "built", "tools": "built"}
NOTHING = {"base": "reused", "app": "reused", "tools": "reused"}
APP = {"base": "reused", "app": "built", "tools": "reused"}
TOOLS = {"base": "reused", "app": "reused", "tools": "built"}

CHANGES: list[tuple[str, Callable[[Path], object], dict[str, str]]] = [
    ("copied file", lambda p: append(p / "app/src/greeting.txt.in", "more\n"), APP),
    ("file mode of a copied file", lambda p: (p / "app/app.sh").chmod(0o700), APP),
    ("new file in a copied directory", lambda p: (p / "app/src/new.txt").write_text("n"), APP),
    ("arg in werf.yaml", lambda p: edit(p / "werf.yaml", "Hello from", "Hi from"), APP),
    ("Dockerfile instruction", lambda p: edit(p / "tools/Dockerfile", "CMD [", "CMD  ["),
     NOTHING),  # whitespace only: the parsed instruction is the same
    ("Dockerfile RUN step", lambda p: edit(p / "tools/Dockerfile", "self-test.txt",
                                           "self-test.out"), TOOLS),
    ("ENV value", lambda p: edit(p / "tools/Dockerfile", "/opt/tools\n", "/opt/tools MODE=x\n"),
     TOOLS),
    ("base Dockerfile: base and its dependents", lambda p: edit(
        p / "base/Dockerfile", 'CMD ["/bin/sh"]', 'CMD ["/bin/ash"]'), ALL),
    ("cacheVersion", lambda p: edit(p / "werf.yaml", 'cacheVersion: "1"',
                                    'cacheVersion: "2"'), ALL),
    # werf.yaml is a template: only app's entry has a greeting, and so this block
    ("image cacheVersion", lambda p: edit(p / "werf.yaml", "  GREETING: {{ . }}",
                                          "  GREETING: {{ . }}\ncacheVersion: x"), APP),
    ("dockerignored file", lambda p: append(p / "app/README.md", "more notes\n"), NOTHING),
    ("dockerignored new file", lambda p: (p / "app/scratch.tmp").write_text("x"), NOTHING),
    ("file no COPY reads", lambda p: (p / "app/unused.txt").write_text("x"), NOTHING),
    ("stage the target does not use", lambda p: edit(p / "app/Dockerfile", '"debug build"',
                                                     '"debug build 2"'), NOTHING),
    ("werf.yaml comment", lambda p: append(p / "werf.yaml", "# a comment\n"), NOTHING),
]


@pytest.fixture
def built(root_builder: Builder, tmp_path: Path) -> Path:
    project = copy_example(tmp_path / "hello")
    assert states(root_builder, project) == ALL
    return project


def test_second_build_builds_nothing(root_builder: Builder, built: Path) -> None:
    assert states(root_builder, built) == NOTHING


@pytest.mark.parametrize(("what", "change", "expected"), [pytest.param(*c, id=c[0])
                                                         for c in CHANGES])
def test_change_rebuilds_exactly(root_builder: Builder, built: Path, what: str,
                                 change: Callable[[Path], None], expected: dict[str, str]) -> None:
    change(built)
    assert states(root_builder, built) == expected
    assert states(root_builder, built) == NOTHING  # and the new result is reused


def test_updated_base_image_rebuilds(root_builder: Builder, tmp_path: Path) -> None:
    """A local base image that changes under the same name rebuilds its users (werf misses
    this: its digest has only the base's name)."""
    rootfs = copy_example(tmp_path / "seed") / "base"

    def make_base(content: str) -> None:
        cid = root_builder.buildah("from", "scratch", driver="overlay").out.strip()
        root_builder.buildah("copy", cid, str(rootfs / "rootfs"), "/", driver="overlay")
        (tmp_path / "marker").write_text(content)
        root_builder.buildah("copy", cid, str(tmp_path / "marker"), "/marker", driver="overlay")
        root_builder.buildah("commit", "--rm", cid, "localhost/dwbase:1", driver="overlay")

    make_base("one")
    project = tmp_path / "p"
    (project / "ctx").mkdir(parents=True)
    (project / "werf.yaml").write_text(
        "configVersion: 1\nproject: basetest\n---\nimage: app\ncontext: ctx\n"
        "dockerfile: Dockerfile\n")
    (project / "ctx/Dockerfile").write_text(
        'FROM dwbase:1\nRUN ["/bin/busybox", "cp", "/marker", "/copied"]\n')
    first = outcome(root_builder.build(project, *ARGS).out)
    assert first["app"][1] == "built"
    assert outcome(root_builder.build(project, *ARGS).out)["app"][1] == "reused"
    make_base("two")
    second = outcome(root_builder.build(project, *ARGS).out)
    assert second["app"][1] == "built"
    assert root_builder.run_in_image(second["app"][0], "/bin/busybox", "cat", "/copied",
                                     driver="overlay") == "two"


def test_explain_and_rebuild_reason(root_builder: Builder, built: Path) -> None:
    explained = root_builder.dockwright("build", "--storage-root", str(root_builder.storage_root),
                                        *ARGS, "--explain", "app", cwd=built)
    assert explained.out.startswith("image app: digest ")
    for key in ("cacheVersion: 1", "instruction 001: stage 0 (build): FROM localhost/hello:",
                "context src/greeting.txt.in: 0644 ", "import BASE_IMAGE: localhost/hello:",
                "ARG GREETING=Hello from dockwright"):
        assert key in explained.out, key
    assert "README.md" not in explained.out  # .dockerignore'd: not an input
    append(built / "app/src/greeting.txt.in", "x\n")
    rebuilt = root_builder.build(built, *ARGS)
    assert "[app] rebuilding: 1 input(s) changed since " in rebuilt.err
    assert "[app]   changed  context src/greeting.txt.in: 0644 " in rebuilt.err
