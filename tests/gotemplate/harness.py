"""Build and run the Go oracle (oracle/*.go) and the Python renderer on a corpus case."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.gotemplate.txtar import Case

HERE = Path(__file__).parent
ORACLE_SOURCE = HERE / "oracle"
CORPUS = HERE / "corpus"
GOPATH = "/usr/share/gocode"
INSTALL_HINT = (
    "the Go oracle needs Go and the Debian Go sources of sprig and yaml.v2: "
    "apt-get install golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v2-dev"
)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Corpus Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Corpus Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


@dataclass(frozen=True)
class Oracle:
    """The built oracle binary and the (major, minor) version of the Go that built it."""

    binary: Path
    go_version: tuple[int, int]


class OracleUnavailable(Exception):
    """Go, or the Go sources the oracle imports, are missing."""


@dataclass(frozen=True)
class Outcome:
    """A render: its text when it worked, else its error message."""

    ok: bool
    text: str

    def describe(self, who: str) -> str:
        what = "rendered" if self.ok else "failed"
        return f"--- {who} {what}:\n{self.text}"


def base_environ() -> dict[str, str]:
    """PATH and HOME of this process: the part of every render's environment not in #env."""
    return {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}


def go_cache_dir(fallback: Path) -> Path:
    """Go's build cache: ~/.cache/go-build when writable, else ``fallback``."""
    home_cache = Path.home() / ".cache" / "go-build"
    try:
        home_cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        return fallback
    return home_cache if os.access(home_cache, os.W_OK) else fallback


def build_oracle(out_dir: Path, gocache: Path) -> Oracle:
    """Compile the oracle in GOPATH mode (offline, with Debian's Go sources)."""
    go = shutil.which("go")
    if go is None:
        raise OracleUnavailable(f"`go` is not on PATH; {INSTALL_HINT}")
    env = {
        **base_environ(),
        "GO111MODULE": "off",
        "GOPATH": GOPATH,
        "GOCACHE": str(gocache),
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }
    binary = out_dir / "werf-oracle"
    built = subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=copy_sources(out_dir / "src"),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        raise OracleUnavailable(f"building the oracle failed:\n{built.stderr}\n{INSTALL_HINT}")
    version = subprocess.run(
        [go, "env", "GOVERSION"], env=env, capture_output=True, text=True, check=True
    ).stdout
    return Oracle(binary, parse_go_version(version))


def copy_sources(dest: Path) -> Path:
    """Copy oracle/*.go to ``dest``, importing sprig as .../sprig/v3 where Debian has only that."""
    dest.mkdir(parents=True, exist_ok=True)
    sprig = Path(GOPATH, "src/github.com/Masterminds/sprig")
    only_v3 = not any(sprig.glob("*.go")) and any(sprig.glob("v3/*.go"))
    for source in ORACLE_SOURCE.glob("*.go"):
        text = source.read_text(encoding="utf-8")
        if only_v3:
            text = text.replace(
                '"github.com/Masterminds/sprig"', '"github.com/Masterminds/sprig/v3"'
            )
        (dest / source.name).write_text(text, encoding="utf-8")
    return dest


def parse_go_version(text: str) -> tuple[int, int]:
    found = re.search(r"go(\d+)\.(\d+)", text)
    if found is None:
        raise OracleUnavailable(f"cannot read the Go version from {text!r}")
    return int(found.group(1)), int(found.group(2))


def commit_all(project: Path, case: Case) -> None:
    """Make ``project`` a git repository whose one commit (HEAD) holds every file."""
    env = {**base_environ(), **GIT_IDENTITY}
    env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = case.git_date
    for argv in (
        ["git", "-c", "init.defaultBranch=main", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "commit.gpgsign=false", "commit", "-q", "-m", f"corpus: {case.name}"],
    ):
        subprocess.run(argv, cwd=project, env=env, check=True, capture_output=True)


def render_environ(case: Case) -> dict[str, str]:
    return {**base_environ(), **case.environ}


def oracle_argv(binary: Path, project: Path, case: Case) -> list[str]:
    argv = [str(binary)]
    for name, value in case.options.items():
        argv.append(f"--{name}" if name == "loose-giterminism" else f"--{name}={value}")
    return [*argv, str(project)]


def run_oracle(binary: Path, project: Path, case: Case) -> Outcome:
    done = subprocess.run(
        oracle_argv(binary, project, case),
        env=render_environ(case),
        capture_output=True,
        check=False,
        timeout=60,
    )
    if done.returncode == 0:
        return Outcome(True, done.stdout.decode("utf-8", errors="surrogateescape"))
    return Outcome(False, done.stderr.decode("utf-8", errors="replace"))


def run_python(project: Path, case: Case) -> Outcome:
    """Render with dockwright; a ConfigError is a failed render, anything else a bug."""
    from dockwright.config.render import RenderOptions, render
    from dockwright.errors import ConfigError

    options = RenderOptions(
        config=case.options.get("config"),
        templates_dir=case.options.get("config-templates-dir"),
        env=case.options.get("env", ""),
        loose_giterminism=case.loose_giterminism,
    )
    with local_zone(case.environ.get("TZ")):
        try:
            rendered = render(project, options, render_environ(case))
        except ConfigError as error:
            return Outcome(False, f"{type(error).__name__}: {error}")
    return Outcome(True, rendered.text)


@contextlib.contextmanager
def local_zone(tz: str | None) -> Iterator[None]:
    """The case's TZ for this process too (.Commit.Date.Human is printed in the local zone
    when the commit's offset is the local one, as werf prints it)."""
    if tz is None:
        yield
        return
    saved = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()
