"""Rendering werf.yaml: the cache holds exactly while what the render read is unchanged,
locations point into the right file, and werf's options apply."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dockwright.config import render as render_module
from dockwright.config.render import RenderOptions, render
from dockwright.errors import ConfigError

WERF = """configVersion: 1
project: {{ env "PROJECT" "demo" }}
---
{{ include "images" . }}
settings: {{ .Files.Get "settings.txt" | trim }}
{{- range $path, $_ := .Files.Glob "conf/*.yaml" }}
# {{ $path }}
{{- end }}
"""
IMAGES = '{{ define "images" }}image: app\ndockerfile: Dockerfile{{ end }}'
GITERMINISM = "giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n" \
    "    allowEnvVariables: [PROJECT]\n"


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / ".werf").mkdir(parents=True)
    (root / "conf").mkdir()
    (root / "werf.yaml").write_text(WERF)
    (root / ".werf" / "images.tmpl").write_text(IMAGES)
    (root / "werf-giterminism.yaml").write_text(GITERMINISM)
    (root / "settings.txt").write_text("one\n")
    (root / "conf" / "a.yaml").write_text("a: 1\n")
    return root


class Counter:
    """Counts real renders (cache misses)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.misses = 0
        original = render_module._Renderer.run

        def counting(renderer: render_module._Renderer, text: str) -> object:
            self.misses += 1
            return original(renderer, text)

        monkeypatch.setattr(render_module._Renderer, "run", counting)


def test_render_and_its_cache(proj: Path, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    env = {"PROJECT": "p1", "UNRELATED": "x"}
    counter = Counter(monkeypatch)

    def text(environ: dict[str, str] = env) -> str:
        return render(proj, RenderOptions(), environ, cache).text

    first = text()
    assert first == ("configVersion: 1\nproject: p1\n---\nimage: app\ndockerfile: Dockerfile\n"
                     "settings: one\n# conf/a.yaml\n")
    assert text() == first and counter.misses == 1
    assert text({**env, "UNRELATED": "y"}) == first and counter.misses == 1  # not read

    steps: list[tuple[str, Callable[[], object], str]] = [
        ("an environment variable env read", lambda: env.update(PROJECT="p2"), "project: p2"),
        ("a file .Files.Get read", lambda: (proj / "settings.txt").write_text("two\n"),
         "settings: two"),
        ("a file the glob now matches", lambda: (proj / "conf" / "b.yaml").write_text(""),
         "# conf/b.yaml"),
        ("a partial", lambda: (proj / ".werf" / "images.tmpl").write_text(
            IMAGES.replace("app", "api")), "image: api"),
        ("a new partial", lambda: (proj / ".werf" / "more.tmpl").write_text(
            '{{ define "images" }}image: new\ndockerfile: D{{ end }}'), "image: new"),
        ("the config itself", lambda: (proj / "werf.yaml").write_text(
            WERF.replace("settings:", "value:")), "value: two"),
    ]
    for what, change, expected in steps:
        misses = counter.misses
        change()
        assert expected in text(), what
        assert counter.misses == misses + 1, what
        assert expected in text() and counter.misses == misses + 1, f"{what}: cached again"

    misses = counter.misses
    (proj / "conf" / "skip.txt").write_text("not matched by conf/*.yaml")
    (proj / "unrelated.txt").write_text("never read")
    text()
    assert counter.misses == misses

    for entry in (cache / "render").iterdir():
        entry.write_bytes(b"damaged")
    assert text() and counter.misses == misses + 1


def test_commit_is_read_from_git_and_a_new_commit_renders_again(
        proj: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (proj / "werf.yaml").write_text("configVersion: 1\nproject: x\n# {{ .Commit.Hash }} "
                                    "{{ .Commit.Date.Unix }} {{ .Commit.Date.Human }}\n")
    git_env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
               "GIT_AUTHOR_DATE": "2024-05-01T12:00:00+03:00",
               "GIT_COMMITTER_DATE": "2024-05-01T12:00:00+03:00"}

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(proj), *args], env=git_env, check=True,
                              capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "one")
    counter = Counter(monkeypatch)
    cache = tmp_path / "cache"
    out = render(proj, RenderOptions(), {}, cache).text
    assert out.endswith(f"# {git('rev-parse', 'HEAD')} 1714554000 "
                        "2024-05-01 12:00:00 +0300 +0300\n")
    render(proj, RenderOptions(), {}, cache)
    assert counter.misses == 1
    git("commit", "-q", "--allow-empty", "-m", "two")
    assert git("rev-parse", "HEAD") in render(proj, RenderOptions(), {}, cache).text
    assert counter.misses == 2


def test_commit_outside_git_is_an_error(proj: Path) -> None:
    (proj / "werf.yaml").write_text("configVersion: 1\nproject: {{ .Commit.Hash }}\n")
    with pytest.raises(ConfigError, match=r"\.Commit needs a git repository"):
        render(proj, RenderOptions(), {})


def test_options_config_templates_dir_env_and_loose(proj: Path) -> None:
    (proj / "ci").mkdir()
    (proj / "ci" / "werf.yaml").write_text('{{ include "x" . }}:{{ .Env }}:{{ env "NOPE" }}')
    (proj / "tmpl").mkdir()
    (proj / "tmpl" / "x.tmpl").write_text('{{ define "x" }}from tmpl{{ end }}')
    options = RenderOptions(config="ci/werf.yaml", templates_dir="tmpl", env="prod",
                            loose_giterminism=True)
    assert render(proj, options, {}).text == "from tmpl:prod:"
    with pytest.raises(ConfigError, match='env name "NOPE" not allowed by giterminism'):
        render(proj, RenderOptions(config="ci/werf.yaml", templates_dir="tmpl"), {})


def test_locations_of_rendered_lines(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(proj)
    (proj / ".werf" / "images.tmpl").write_text(
        '{{ define "images" }}image: app\ndockerfile: Dockerfile\ncontext: .{{ end }}')
    (proj / "werf.yaml").write_text(
        "configVersion: 1\nproject: demo\n---\n{{ template \"images\" }}\n# {{ 1 }}\n")
    rendered = render(proj, RenderOptions(), {})
    lines = rendered.text.splitlines()
    assert lines[4] == "dockerfile: Dockerfile"
    # a line written by a partial through {{ template }}: the partial's own line
    assert rendered.locate(4) == ".werf/images.tmpl:2 (rendered line 5)"
    assert rendered.locate(1) == "werf.yaml:2 (rendered line 2)"
    assert rendered.locate(6) == "werf.yaml:5 (rendered line 7)"


def test_a_line_an_include_wrote_is_located_in_the_partial(proj: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.chdir(proj)
    (proj / ".werf" / "images.tmpl").write_text(
        '{{ define "svc" }}\nimage: {{ .name }}\ndockerfile: Dockerfile\n'
        'imageSpec:\n  config:\n{{ include "cfg" . | indent 4 }}\n{{ end }}\n'
        '{{ define "cfg" }}user: app\nentrypont: [x]{{ end }}')
    (proj / "werf.yaml").write_text('configVersion: 1\nproject: demo\n{{ range list "a" "b" }}'
                                    '---\n{{- include "svc" (dict "name" .) }}{{ end }}\n')
    for cache in (tmp_path / "c", tmp_path / "c"):  # rendered, then from the cache
        rendered = render(proj, RenderOptions(), {}, cache)
        lines = rendered.text.splitlines()
        assert lines[8] == "    entrypont: [x]"
        # the include inside the include: the innermost partial's line, and the action
        # of werf.yaml that wrote it
        assert rendered.locate(8) == (".werf/images.tmpl:9 (rendered line 9, through "
                                      "werf.yaml:4)")


def test_a_config_without_templates_is_its_own_rendering(tmp_path: Path) -> None:
    (tmp_path / "werf.yaml").write_text("configVersion: 1\nproject: a\n")
    rendered = render(tmp_path, RenderOptions(), {})
    assert rendered.templated is False and rendered.locate(1).endswith("werf.yaml:2")


def test_errors_through_include_name_the_callers_once(proj: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(proj)
    (proj / ".werf" / "images.tmpl").write_text(
        '{{ define "loop" }}{{ include "loop" . }}{{ end }}\n'
        '{{ define "outer" }}\n{{ include "inner" . }}{{ end }}\n'
        '{{ define "inner" }}{{ .Files.Get "nope" }}{{ end }}')

    def error(project: str) -> ConfigError:
        (proj / "werf.yaml").write_text(f"configVersion: 1\nproject: {project}\n")
        with pytest.raises(ConfigError) as info:
            render(proj, RenderOptions(), {})
        return info.value

    assert error('{{ include "outer" . }}').message == (
        '.werf/images.tmpl:4:30: template: error calling Get: {{ .Files.Get "nope" }}: the '
        'file "nope" not found in the project directory (called from .werf/images.tmpl:3:4, '
        "werf.yaml:2:13)")
    loop = error('{{ include "loop" . }}')
    assert loop.message.startswith(
        ".werf/images.tmpl:1:23: template: exceeded maximum template depth (called from "
        ".werf/images.tmpl:1:23 (")
    assert loop.message.endswith(" times), werf.yaml:2:13)")
    assert "includes itself" in loop.hint


@pytest.mark.parametrize(("tz", "offset", "human"), [  # printed by Go 1.19 with go-git's rule
    ("UTC", "+0000", "2024-05-01 12:00:00 +0000 UTC"),
    ("UTC", "+0100", "2024-05-01 13:00:00 +0100 +0100"),
    ("UTC", "-0330", "2024-05-01 08:30:00 -0330 -0330"),
    ("Europe/Berlin", "+0000", "2024-05-01 12:00:00 +0000 +0000"),
    ("Europe/Berlin", "+0100", "2024-05-01 14:00:00 +0200 CEST"),
    ("Europe/Berlin", "+0300", "2024-05-01 15:00:00 +0300 +0300"),
])
def test_commit_date_human_as_werf_prints_it(tz: str, offset: str, human: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from dockwright.config.reads import go_time_string

    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        assert go_time_string(1714564800, offset) == human
    finally:
        monkeypatch.undo()
        time.tzset()
