"""``main()`` in-process: version, help, ``config``, and exit codes for bad input."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dockwright import __version__, report
from dockwright import cli as cli_module
from dockwright.errors import Exit, ReportError, UsageError
from dockwright.host.resolve import Asked, Driver, Mode, Network
from dockwright.options import build_options, host_options, tasks_limit
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
Make = Callable[[dict[str, str]], Path]

SAMPLE = {
    "werf.yaml": """\
        configVersion: 1
        project: sample
        build:
          cacheVersion: "3"
        ---
        image: base
        context: base
        dockerfile: Dockerfile
        final: false
        ---
        image: app
        dockerfile: Dockerfile
        target: runtime
        args:
          GREETING: hi
        addHost: ["db:10.0.0.2"]
        contextAddFiles: [extra.txt]
        dependencies:
        - image: base
          imports:
          - type: ImageName
            targetBuildArg: BASE_IMAGE
        """,
    "base/Dockerfile": "FROM scratch\n",
    "Dockerfile": "ARG BASE_IMAGE\nFROM $BASE_IMAGE AS runtime\n",
    "extra.txt": "x\n",
}


def test_version(cli: Cli) -> None:
    r = cli("--version")
    assert r.code == Exit.OK
    assert r.out == f"dockwright {__version__}\n"


@pytest.mark.parametrize("argv", [(), ("build",), ("doctor",), ("config",)])
def test_help(cli: Cli, argv: tuple[str, ...]) -> None:
    r = cli(*argv, "--help")
    assert r.code == Exit.OK
    assert r.out.startswith("usage: dockwright")
    assert r.err == ""


def test_help_names_every_command(cli: Cli) -> None:
    out = cli("--help").out
    for command in ("build", "doctor", "config"):
        assert command in out


def test_build_help_lists_options(cli: Cli) -> None:
    out = cli("build", "--help").out
    for option in ("--dir", "--config", "--buildah-mode", "--storage-driver", "--explain"):
        assert option in out


def test_unknown_command(cli: Cli) -> None:
    r = cli("frobnicate")
    assert r.code == Exit.BAD_INPUT
    assert "invalid choice: 'frobnicate'" in r.err


def test_no_command(cli: Cli) -> None:
    r = cli()
    assert r.code == Exit.BAD_INPUT
    assert "required" in r.err


def test_unknown_option(cli: Cli) -> None:
    assert cli("config", "--bogus").code == Exit.BAD_INPUT


def test_config_text(cli: Cli, project: Make) -> None:
    root = project(SAMPLE)
    r = cli("config", "--dir", root)
    assert r.code == Exit.OK, r.err
    config = root.resolve() / "werf.yaml"
    assert r.out.splitlines() == [
        f"project: sample  ({config})",
        "cacheVersion: 3",
        f"image base  ({config}:6)",
        "  context: base  dockerfile: Dockerfile",
        "  final: false",
        f"image app  ({config}:11)",
        "  context: .  dockerfile: Dockerfile  target: runtime",
        "  arg GREETING=hi",
        "  depends on base (ImageName->BASE_IMAGE)",
    ]


def test_config_json(cli: Cli, project: Make) -> None:
    root = project(SAMPLE)
    r = cli("config", "--json", "--dir", root)
    assert r.code == Exit.OK, r.err
    assert json.loads(r.out) == {
        "project": "sample",
        "dir": str(root.resolve()),
        "config": str(root.resolve() / "werf.yaml"),
        "cacheVersion": "3",
        "images": [
            {"name": "base", "context": "base", "dockerfile": "Dockerfile", "target": None,
             "args": {}, "addHost": [], "network": None, "final": False, "platform": [],
             "cacheVersion": None, "contextAddFiles": [], "imageSpec": None,
             "dependencies": []},
            {"name": "app", "context": ".", "dockerfile": "Dockerfile", "target": "runtime",
             "args": {"GREETING": "hi"}, "addHost": ["db:10.0.0.2"], "network": None,
             "final": True, "platform": [], "cacheVersion": None,
             "contextAddFiles": ["extra.txt"], "imageSpec": None,
             "dependencies": [{"image": "base", "imports": [
                 {"type": "ImageName", "targetBuildArg": "BASE_IMAGE"}]}]},
        ],
    }


def test_config_from_the_project_directory(cli: Cli, project: Make,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(SAMPLE)
    monkeypatch.chdir(root)
    r = cli("config")
    assert r.code == Exit.OK, r.err
    assert r.out.splitlines()[2] == "image base  (werf.yaml:6)"


def test_config_with_config_option(cli: Cli, project: Make) -> None:
    root = project({**SAMPLE, "other.yaml": "configVersion: 1\nproject: other\n---\n"
                                            "image: x\ndockerfile: Dockerfile\n"})
    r = cli("config", "--json", "--dir", root, "--config", "other.yaml")
    assert r.code == Exit.OK, r.err
    assert json.loads(r.out)["project"] == "other"


def test_config_error_is_one_error_and_one_hint(cli: Cli, project: Make,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    root = project({**SAMPLE, "werf.yaml": "configVersion: 1\nproject: sample\n---\n"
                                           "image: app\ndockerfile: Dockerfile\ntagret: x\n"})
    monkeypatch.chdir(root)
    r = cli("config")
    assert r.code == Exit.BAD_INPUT
    assert r.out == ""
    assert r.err.splitlines() == [
        "error: werf.yaml:6: image document: unknown key 'tagret'",
        "hint: did you mean 'target'?",
    ]
    assert "Traceback" not in r.err


def test_config_without_werf_yaml(cli: Cli, tmp_path: Path) -> None:
    r = cli("config", "--dir", tmp_path)
    assert r.code == Exit.BAD_INPUT
    assert r.err.splitlines()[0] == f"error: no werf.yaml or werf.yml in {tmp_path.resolve()}"


def test_build_bad_mode_is_bad_input(cli: Cli, project: Make,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(SAMPLE)
    r = cli("build", "--dir", root, "--buildah-mode", "fast")
    assert r.code == Exit.BAD_INPUT
    assert r.err.splitlines()[0] == "error: unexpected mode specified: fast"


def test_config_render_and_template_options(cli: Cli, project: Make,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root = project({
        "werf.yaml": 'configVersion: 1\nproject: {{ env "NAME" }}-{{ .Env | default "dev" }}\n',
        "ci/giterminism.yaml": "giterminismConfigVersion: 1\nconfig:\n"
                               "  goTemplateRendering:\n    allowEnvVariables: [NAME]\n",
    })
    monkeypatch.setenv("NAME", "demo")
    r = cli("config", "render", "--dir", root, "--giterminism-config", "ci/giterminism.yaml",
            "--env", "prod")
    assert (r.code, r.out) == (Exit.OK, "configVersion: 1\nproject: demo-prod\n"), r.err
    monkeypatch.setenv("WERF_GITERMINISM_CONFIG", "ci/giterminism.yaml")
    monkeypatch.setenv("WERF_ENV", "stage")
    assert cli("config", "render", "--dir", root).out.endswith("project: demo-stage\n")
    monkeypatch.delenv("WERF_GITERMINISM_CONFIG")
    r = cli("config", "render", "--dir", root)
    assert r.code == Exit.BAD_INPUT and 'env name "NAME" not allowed' in r.err
    monkeypatch.setenv("WERF_LOOSE_GITERMINISM", "1")
    assert cli("config", "render", "--dir", root).code == Exit.OK
    monkeypatch.setenv("WERF_LOOSE_GITERMINISM", "sometimes")
    r = cli("config", "render", "--dir", root)
    assert r.code == Exit.BAD_INPUT and "is not a boolean" in r.err


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_stdout_closed_early_ends_quietly_as_sigpipe(project: Make, unbuffered: str) -> None:
    """Buffered (Python's default) or not: the broken pipe is found while main() runs (with
    buffered output it was found only at interpreter exit: exit 120 and a message)."""
    import os
    import subprocess
    import sys

    root = project(SAMPLE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    proc = subprocess.Popen([sys.executable, "-m", "dockwright", "config", "--json", "--dir",
                             str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes away before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait() == Exit.BROKEN_PIPE
    assert err == ""


def test_quiet_has_its_short_form(cli: Cli, project: Make) -> None:
    r = cli("build", "-q", "--explain", "nope", "--dir", project(SAMPLE))
    assert "unrecognized arguments" not in r.err
    assert r.code == Exit.BAD_INPUT and "nope" in r.err  # refused for the image, not -q


def test_an_unreadable_file_is_bad_input_not_a_crash(cli: Cli, project: Make,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    directory = project(SAMPLE)
    stat = Path.stat

    def denied(self: Path, **kwargs: bool) -> object:  # as for a user who may not read it
        if self.name == "werf.yaml":
            raise PermissionError(13, "Permission denied", str(self))
        return stat(self, **kwargs)

    monkeypatch.setattr(Path, "stat", denied)
    r = cli("config", "--dir", directory)
    assert r.code == Exit.BAD_INPUT
    assert r.err.startswith(f"error: permission denied: {directory / 'werf.yaml'}\n")
    assert "hint: dockwright runs as " in r.err and "Traceback" not in r.err


@pytest.mark.parametrize(("env", "message"), [
    ({"WERF_PARALLEL_TASKS_LIMIT": "abc"}, "WERF_PARALLEL_TASKS_LIMIT='abc' is not a number"),
    ({"WERF_PARALLEL_TASKS_LIMIT": "0"}, "WERF_PARALLEL_TASKS_LIMIT=0: the limit must be at "
     "least 1, or -1 for no limit"),
    ({"WERF_PARALLEL": "sometimes"}, "WERF_PARALLEL='sometimes' is not a boolean"),
    ({"WERF_SAVE_BUILD_REPORT": "ja"}, "WERF_SAVE_BUILD_REPORT='ja' is not a boolean"),
    ({"WERF_REQUIRE_BUILT_IMAGES": "2"}, "WERF_REQUIRE_BUILT_IMAGES='2' is not a boolean"),
    ({"WERF_CONTAINERIZED": "maybe"}, "WERF_CONTAINERIZED='maybe' is not a boolean"),
    ({"WERF_LOOSE_GITERMINISM": "x"}, "WERF_LOOSE_GITERMINISM='x' is not a boolean"),
])
def test_bad_werf_variables_are_bad_input(cli: Cli, project: Make,
                                          monkeypatch: pytest.MonkeyPatch,
                                          env: dict[str, str], message: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for argv in (("build", "--dir", project(SAMPLE)), ("doctor",)):
        r = cli(*argv)
        assert r.code == Exit.BAD_INPUT, (argv, r.err)
        assert r.err.startswith(f"error: {message}\nhint: "), r.err
        assert "internal error" not in r.err and r.out == ""


@pytest.mark.parametrize(("flag", "env", "limit"), [
    (None, {}, 5), (3, {}, 3), (-1, {}, 0), (None, {"WERF_PARALLEL_TASKS_LIMIT": "-1"}, 0),
    (None, {"WERF_PARALLEL_TASKS_LIMIT": " 8 "}, 8), (2, {"WERF_PARALLEL_TASKS_LIMIT": "8"}, 2),
])
def test_tasks_limit(flag: int | None, env: dict[str, str], limit: int) -> None:
    assert tasks_limit(flag, env) == limit


@pytest.mark.parametrize("value", ["0", "-2"])
def test_a_limit_flag_below_one_is_refused(cli: Cli, project: Make, value: str) -> None:
    r = cli("build", "--parallel-tasks-limit", value, "--dir", project(SAMPLE))
    assert r.code == Exit.BAD_INPUT
    assert f"error: --parallel-tasks-limit {value}: the limit must be at least 1" in r.err


def test_an_unwritable_report_path_is_refused_before_building(cli: Cli, project: Make,
                                                              tmp_path: Path) -> None:
    directory = project(SAMPLE)
    (tmp_path / "afile").write_text("")
    for path, message in ((tmp_path, "is a directory"),
                          (tmp_path / "afile" / "r.json", "is not a writable directory")):
        r = cli("build", "--build-report-path", path, "--dir", directory)
        assert r.code == Exit.BAD_INPUT, r.err
        assert "error: the build report" in r.err and message in r.err
        assert "mode " not in r.err  # stopped before the setup was even announced


def test_a_report_that_fails_to_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.mkdir()  # os.replace onto a directory fails after the temporary file is written
    with pytest.raises(ReportError, match="could not be written"):
        report.write(target, [])
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def build_args(*argv: str) -> argparse.Namespace:
    return cli_module._parser().parse_args(["build", *argv])


def test_build_options_are_resolved_once_flags_first() -> None:
    env = {"WERF_REPO": "registry.example.com/team/env", "WERF_BUILDAH_MODE": "native-chroot",
           "WERF_BUILDAH_STORAGE_DRIVER": "vfs", "DOCKWRIGHT_NETWORK": "host",
           "WERF_ADD_CUSTOM_TAG_2": "b-%image%", "WERF_ADD_CUSTOM_TAG_1": "a-%image%",
           "WERF_REQUIRE_BUILT_IMAGES": "yes", "WERF_PARALLEL_TASKS_LIMIT": "-1",
           "DOCKWRIGHT_INSECURE_REGISTRIES": "reg.lan:5000, other.lan",
           "WERF_ENV": "staging"}
    opts = build_options(build_args("--repo", "registry.example.com/team/flag",
                                    "--buildah-mode", "native-rootless", "--add-custom-tag",
                                    "c-%image%", "--insecure-registry", "x.lan"), env)
    assert opts.repo == "registry.example.com/team/flag" and opts.final_repo is None
    assert opts.host == Asked(Mode.ROOTLESS, Driver.VFS, None, Network.HOST)
    assert opts.custom_tags == ("c-%image%", "a-%image%", "b-%image%")
    assert opts.insecure_registries == ("x.lan", "reg.lan:5000", "other.lan")
    assert opts.require_built and opts.run.tasks_limit == 0 and opts.run.parallel
    assert opts.render.env == "staging"
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.repo = "x"  # type: ignore[misc]
    assert build_options(build_args(), env).repo == "registry.example.com/team/env"


@pytest.mark.parametrize(("argv", "env", "named"), [
    (("--repo", "Registry.Example.com/App"), {}, "--repo"),
    ((), {"WERF_REPO": "user:pw@reg.io/app"}, "WERF_REPO user:***@reg.io/app"),
    ((), {"WERF_FINAL_REPO": "reg.io/app@sha256:00"}, "WERF_FINAL_REPO"),
    ((), {"WERF_BUILDAH_MODE": "docker"}, "Docker-daemon"),
    ((), {"WERF_BUILDAH_STORAGE_DRIVER": "btrfs"}, "storage driver"),
    ((), {"DOCKWRIGHT_NETWORK": "bridge"}, "network"),
    ((), {"WERF_PARALLEL": "maybe"}, "WERF_PARALLEL"),
])
def test_a_bad_option_is_refused_before_any_work(argv: tuple[str, ...], env: dict[str, str],
                                                 named: str) -> None:
    with pytest.raises(UsageError) as info:
        build_options(build_args(*argv), env)
    assert named in info.value.message and info.value.hint
    assert "pw" not in info.value.message.replace("***", "")


def test_doctor_reads_the_host_options_as_build_does() -> None:
    env = {"WERF_BUILDAH_MODE": "native-rootless", "DOCKWRIGHT_STORAGE_ROOT": "/srv/store"}
    doctor_args = cli_module._parser().parse_args(["doctor", "--storage-driver", "vfs"])
    assert host_options(doctor_args, env) == build_options(
        build_args("--storage-driver", "vfs"), env).host == \
        Asked(Mode.ROOTLESS, Driver.VFS, "/srv/store", Network.PRIVATE)
