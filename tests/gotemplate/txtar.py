"""Corpus cases in txtar format (golang.org/x/tools/txtar), and how to lay them out.

A case is a comment, then ``-- NAME --`` marker lines, each starting a file. Files are
written into the project directory, except pseudo-files whose name starts with ``#``:

``#env``
    ``NAME=value`` lines: the whole environment of the render (plus PATH and HOME).
``#args``
    one option a line: ``loose-giterminism``, ``env=VALUE``, ``config=REL``,
    ``config-templates-dir=REL``.
``#git``
    make the project a git repository with one commit of everything, with a fixed
    author, committer and date; an optional ``date=ISO-8601`` line changes the date.
``#error``
    the render must fail.
``#go``
    the lowest Go version (``1.22``) that can render the case.

As in Go's txtar, a file's body runs up to the next marker line, and a last body that
does not end in a newline gets one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MARKER = re.compile(r"^-- (.+?) --$")
PSEUDO_FILES = frozenset({"#env", "#args", "#git", "#error", "#go"})
OPTIONS = frozenset({"loose-giterminism", "env", "config", "config-templates-dir"})
GIT_DATE = "2024-05-01T12:00:00+03:00"


@dataclass(frozen=True)
class Archive:
    comment: str
    files: dict[str, str]


def parse(text: str) -> Archive:
    """Split txtar ``text`` into its comment and its files (in order)."""
    comment: list[str] = []
    bodies: dict[str, list[str]] = {}
    current = comment
    for line in _lines(text):
        marker = MARKER.match(line.rstrip("\n"))
        if marker is None:
            current.append(line)
            continue
        name = marker.group(1).strip()
        if name in bodies:
            raise ValueError(f"file {name!r} appears twice")
        current = bodies[name] = []
    files = {name: _with_final_newline("".join(lines)) for name, lines in bodies.items()}
    return Archive("".join(comment), files)


def _lines(text: str) -> list[str]:
    """Lines ending in "\\n" (only: a "\\r" stays part of the line, as in Go's txtar)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return [line for line in lines if line]


def _with_final_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


@dataclass(frozen=True)
class Case:
    """One corpus case: a project, its environment and render options, what Go does."""

    name: str
    comment: str
    files: dict[str, str]
    environ: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    git: bool = False
    git_date: str = GIT_DATE
    expect_error: bool = False
    min_go: tuple[int, int] | None = None

    @property
    def loose_giterminism(self) -> bool:
        return "loose-giterminism" in self.options


def load_case(path: Path) -> Case:
    archive = parse(path.read_bytes().decode("utf-8"))
    files = {k: v for k, v in archive.files.items() if not k.startswith("#")}
    pseudo = {k: v for k, v in archive.files.items() if k.startswith("#")}
    unknown = set(pseudo) - PSEUDO_FILES
    if unknown:
        raise ValueError(f"{path.name}: unknown pseudo-files {sorted(unknown)}")
    git = _pairs(pseudo["#git"]) if "#git" in pseudo else {}
    return Case(
        name=path.stem,
        comment=archive.comment,
        files=files,
        environ=_pairs(pseudo.get("#env", "")),
        options=_options(path.name, pseudo.get("#args", "")),
        git="#git" in pseudo,
        git_date=git.get("date", GIT_DATE),
        expect_error="#error" in pseudo,
        min_go=_version(pseudo["#go"]) if "#go" in pseudo else None,
    )


def _pairs(body: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in body.splitlines():
        if line:
            name, sep, value = line.partition("=")
            if not sep:
                raise ValueError(f"expected NAME=value, got {line!r}")
            pairs[name] = value
    return pairs


def _options(case: str, body: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for line in body.splitlines():
        if line:
            name, _, value = line.partition("=")
            if name not in OPTIONS:
                raise ValueError(f"{case}: unknown option {line!r}")
            options[name] = value
    return options


def _version(body: str) -> tuple[int, int]:
    major, minor = body.strip().split(".")[:2]
    return int(major), int(minor)


def write_project(case: Case, root: Path) -> Path:
    """Write the case's files below ``root`` (created) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in case.files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
    return root
