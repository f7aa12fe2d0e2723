"""Broken werf.yaml and Dockerfiles through the real CLI and real Buildah (as root).

Each case must end with the documented exit code, exactly one ``error:`` line saying what is
wrong, one ``hint:`` line saying what to do, no traceback, and nothing built, tagged or left
behind in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dockwright.errors import Exit
from tests.integration.conftest import Builder, busybox_rootfs

PROJECT = "bad"
WERF = f"configVersion: 1\nproject: {PROJECT}\n---\nimage: app\ndockerfile: Dockerfile\n"
DOCKERFILE = 'FROM scratch\nCOPY rootfs/ /\nRUN ["/bin/busybox", "true"]\n'
GOOD = {"werf.yaml": WERF, "Dockerfile": DOCKERFILE}


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str | None]  # changes to GOOD; None removes the file
    error: str  # the whole error line after "error: "; a trailing "..." matches a prefix
    hint: str  # text the hint line contains
    code: Exit = Exit.BAD_INPUT
    args: tuple[str, ...] = ("--storage-driver", "vfs")
    env: dict[str, str] = field(default_factory=dict)
    drivers: tuple[str, ...] = ("vfs",)  # stores to check for leftovers
    xfail: str = ""  # a known bug outside the files this suite may fix


def werf(*docs: str, meta: str = f"configVersion: 1\nproject: {PROJECT}\n") -> str:
    return "---\n".join([meta, *docs])


APP = "image: app\ndockerfile: Dockerfile\n"
LIB = "image: lib\ndockerfile: Dockerfile\n"

CASES = [
    Case("missing configVersion",
         {"werf.yaml": werf(APP, meta=f"project: {PROJECT}\n")},
         "werf.yaml:1: 'configVersion: 1' field required!", "configVersion: 1"),
    Case("configVersion 2",
         {"werf.yaml": werf(APP, meta=f"configVersion: 2\nproject: {PROJECT}\n")},
         "werf.yaml:1: 'configVersion: 1' field required!", "config version 1"),
    Case("missing project", {"werf.yaml": werf(APP, meta="configVersion: 1\n")},
         "werf.yaml:1: meta document: 'project' is required", "project: my-project"),
    Case("bad project slug", {"werf.yaml": werf(APP, meta="configVersion: 1\nproject: Bad_Name\n")},
         "werf.yaml:2: project name 'Bad_Name' is not a valid slug", "lowercase letters"),
    Case("bad project slug from WERF_PROJECT_NAME", {}, "werf.yaml:2: project name 'No Way' "
         "(from WERF_PROJECT_NAME) is not a valid slug", "lowercase letters",
         env={"WERF_PROJECT_NAME": "No Way"}),
    Case("unknown key with suggestion", {"werf.yaml": werf(APP + "tagret: x\n")},
         "werf.yaml:6: image document: unknown key 'tagret'", "did you mean 'target'?"),
    Case("unknown meta key with suggestion",
         {"werf.yaml": werf(APP, meta=f"configVersion: 1\nproject: {PROJECT}\nbiuld: {{}}\n")},
         "werf.yaml:3: meta document: unknown key 'biuld'", "did you mean 'build'?"),
    Case("misspelled dockerfile key", {"werf.yaml": werf("image: app\ndokerfile: Dockerfile\n")},
         "werf.yaml:5: image document: unknown key 'dokerfile'", "did you mean 'dockerfile'?"),
    Case("wrong type", {"werf.yaml": werf(APP + "final: 'no'\n")},
         "werf.yaml:6: 'final' must be true or false, not a string", "without quotes"),
    Case("args not a mapping", {"werf.yaml": werf(APP + "args: [A=1]\n")},
         "werf.yaml:6: 'args' must be a mapping, not a list", "NAME: value"),
    Case("duplicate image names", {"werf.yaml": werf(APP, APP)},
         "werf.yaml:7: image 'app' is declared twice", "first declaration is at werf.yaml:4"),
    Case("context outside project", {"werf.yaml": werf(APP + "context: ..\n")},
         "werf.yaml:6: image 'app': context '..' is outside the project directory",
         "inside it"),
    Case("missing Dockerfile", {"Dockerfile": None},
         "werf.yaml:5: image 'app': Dockerfile 'Dockerfile' not found in context '.'",
         "relative to the context directory"),
    Case("arg both in args and import",
         {"werf.yaml": werf(LIB, APP + "args:\n  BASE: x\ndependencies:\n- image: lib\n"
                            "  imports:\n  - type: ImageName\n    targetBuildArg: BASE\n")},
         "werf.yaml:15: image 'app': build arg 'BASE' is given both in 'args' and by a "
         "dependency import", "remove it from 'args' or from the import"),
    Case("unknown dependency", {"werf.yaml": werf(LIB, APP + "dependencies:\n- image: lbi\n")},
         "werf.yaml:10: image 'app' depends on unknown image 'lbi'", "did you mean 'lib'?"),
    Case("dependency cycle",
         {"werf.yaml": werf(LIB + "dependencies:\n- image: app\n",
                            APP + "dependencies:\n- image: lib\n")},
         "werf.yaml:12: dependency cycle: app -> lib -> app", "remove one of these"),
    Case("stapel image", {"werf.yaml": werf("image: backend\nfrom: alpine\n", APP)},
         "werf.yaml:4: Unable to build stapel type images and artifacts with buildah container "
         "backend: image 'backend'", "Please select only dockerfile images"),
    Case("invalid YAML", {"werf.yaml": werf(APP + "args: [unclosed\n")},
         "werf.yaml:7: invalid YAML: ...", "fix the YAML syntax"),
    Case("contextAddFiles missing", {"werf.yaml": werf(APP + "contextAddFiles: [nope]\n")},
         "werf.yaml:6: contextAddFiles: 'nope' does not exist in the context",
         "remove it from the list"),
    Case("unknown Dockerfile instruction", {"Dockerfile": DOCKERFILE + "FROBNICATE x\n"},
         "Dockerfile:4: unknown instruction: FROBNICATE", "valid instructions:"),
    Case("Dockerfile without FROM", {"Dockerfile": "ARG A=1\n"},
         "Dockerfile: the Dockerfile has no FROM instruction", "FROM scratch"),
    Case("empty Dockerfile", {"Dockerfile": "# nothing here\n"},
         "Dockerfile: the Dockerfile has no FROM instruction", "FROM scratch"),
    Case("instruction before FROM", {"Dockerfile": "RUN true\n" + DOCKERFILE},
         "Dockerfile:1: RUN before the first FROM", "only ARG may come before FROM"),
    Case("duplicate stage names", {"Dockerfile": "FROM scratch AS a\nFROM scratch AS a\n"},
         "Dockerfile:2: stage name 'a' is used twice", "the first is at line 1"),
    Case("missing target stage", {"werf.yaml": werf(APP + "target: runtime\n"),
                                  "Dockerfile": "FROM scratch AS build\nFROM build AS test\n"},
         "Dockerfile: target stage 'runtime' not found in the Dockerfile",
         "stages with a name: build, test"),
    Case("COPY source missing", {"Dockerfile": "FROM scratch\nCOPY nothere /x\n"},
         "Dockerfile:2: COPY/ADD source 'nothere' matches no file in the build context",
         "fix the path (relative to the context directory)"),
    Case("COPY source dockerignored", {".dockerignore": "rootfs\n"},
         "Dockerfile:2: COPY/ADD source 'rootfs/' matches no file in the build context "
         "(or .dockerignore excludes it)", ".dockerignore"),
    Case("COPY source excluded by .containerignore (Buildah reads it first)",
         {".containerignore": "rootfs\n", ".dockerignore": "nothing-else\n"},
         "Dockerfile:2: COPY/ADD source 'rootfs/' matches no file in the build context "
         "(or .containerignore excludes it)", "or .containerignore"),
    Case("FROM empty after args", {"Dockerfile": "ARG BASE\nFROM ${BASE}\n"},
         "Dockerfile:2: FROM ${BASE}: the image name is empty after expanding build args",
         "give the arg a value in 'args'"),
    Case("COPY --from a later stage",
         {"Dockerfile": "FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\n",
          "werf.yaml": werf(APP + "target: a\n")},
         "Dockerfile:2: --from=b refers to this or a later stage", "stages above it"),
    Case("COPY --from without '='",
         {"Dockerfile": "FROM scratch\nCOPY --from registry.example/img:1 /x /x\n"},
         "Dockerfile:2: COPY --from has no value: a space does not join a flag to its value...",
         "join them with '=': COPY --from=registry.example/img:1 ..."),
    Case("RUN --mount without '='",
         {"Dockerfile": "FROM scratch\nRUN --mount type=bind,target=/x true\n"},
         "Dockerfile:2: RUN --mount has no value...", "RUN --mount=type=bind,target=/x"),
    Case("COPY of wildcards none of which matches",
         {"Dockerfile": "FROM scratch\nCOPY *foo *bar /x/\n"},
         "Dockerfile:2: COPY/ADD source '*foo' matches no file in the build context",
         "fix the path"),
    Case("RUN --mount source missing",
         {"Dockerfile": "FROM scratch\nRUN --mount=type=bind,source=nothere,target=/x true\n"},
         "Dockerfile:2: RUN --mount source 'nothere' matches no file in the build context",
         "fix 'source='"),
    Case("unknown platform",
         {"werf.yaml": werf(APP, meta=f"configVersion: 1\nproject: {PROJECT}\nbuild:\n"
                                      "  platform: [linux/amd64, linux/arm65]\n")},
         "werf.yaml:4: unknown architecture 'arm65' in platform 'linux/arm65'",
         "write OS/ARCH[/VARIANT]"),
    Case("unknown image on the command line", {},
         "no image 'nope' in werf.yaml", "images: app",
         args=("--storage-driver", "vfs", "nope")),
    Case("secret from an unset variable",
         {"werf.yaml": werf(APP + "secrets:\n- env: DOCKWRIGHT_TEST_UNSET_SECRET\n")},
         "secret 'DOCKWRIGHT_TEST_UNSET_SECRET': environment variable "
         "DOCKWRIGHT_TEST_UNSET_SECRET is not set", "export DOCKWRIGHT_TEST_UNSET_SECRET="),
    Case("bad WERF_BUILDAH_MODE", {}, "unexpected mode specified: turbo",
         "native-rootless", env={"WERF_BUILDAH_MODE": "turbo"}),
    Case("WERF_BUILDAH_MODE=docker", {},
         "dockwright has no Docker-daemon backend (WERF_BUILDAH_MODE=docker)",
         "native-chroot", env={"WERF_BUILDAH_MODE": "docker"}),
    Case("bad storage driver", {}, "unexpected storage driver specified: zfs",
         "overlay, vfs", args=("--storage-driver", "zfs"), drivers=("vfs", "overlay")),
    Case("bad WERF_BUILDAH_STORAGE_DRIVER", {}, "unexpected storage driver specified: btrfs",
         "WERF_BUILDAH_STORAGE_DRIVER", args=(), env={"WERF_BUILDAH_STORAGE_DRIVER": "btrfs"},
         drivers=("vfs", "overlay")),
    Case("base image absent and unpullable", {"Dockerfile": "FROM localhost/nonexistent:1\n"},
         "base image 'localhost/nonexistent:1' is not in local storage and could not be "
         "pulled: ...", "build or pull the base image first", code=Exit.REGISTRY),
    Case("RUN fails", {"Dockerfile": 'FROM scratch\nCOPY rootfs/ /\nRUN ["/bin/busybox", '
                                     '"false"]\n'},
         "image 'app' failed to build: Error: building at STEP \"RUN /bin/busybox false\": "
         "...", "see the Buildah output above", code=Exit.BUILD_FAILED),
    Case("second image broken, first fine",
         {"werf.yaml": werf(LIB, APP + "context: app\n"), "app/Dockerfile":
          "FROM scratch\nCOPY nothere /x\n"},
         "app/Dockerfile:2: COPY/ADD source 'nothere' matches no file in the build context",
         "fix the path"),
    # werf.yaml's Go templates: the place in the template (or the rendered text) and a hint
    Case('template: unclosed action',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ .Env\n',
         },
         'werf.yaml:3:1: template: unclosed action started at werf.yaml:2',
         'every {{ if }}, {{ range }}, {{ with }},'),
    Case('template: if without end',
         {
          'werf.yaml': 'configVersion: 1\nproject: bad\n{{ if .Env }}\n---\nimage: app\ndocke'
                         'rfile: Dockerfile\n',
         },
         'werf.yaml:7:1: template: unexpected EOF: the {{if}} of line 3 has no {{end}}',
         'every {{ if }}, {{ range }}, {{ with }},'),
    Case('template: end without block',
         {
          'werf.yaml': 'configVersion: 1\nproject: bad\n{{ end }}\n',
         },
         'werf.yaml:3:8: template: unexpected {{end}}',
         'fix the template at that place'),
    Case('template: unknown function near',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ uper "bad" }}\n',
         },
         'werf.yaml:2:13: template: function "uper" not defined',
         "did you mean 'upper'?"),
    Case('template: unknown function far',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ frobnicate }}\n',
         },
         'werf.yaml:2:13: template: function "frobnicate" not defined',
         "dockwright has Go's built-in template fu"),
    Case('template: undefined variable',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ $name }}\n',
         },
         'werf.yaml:2:13: template: undefined variable "$name"',
         'declare it first with {{ $name := ... }}'),
    Case('template: missing include',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ include "projct" . }}\n',
          '.werf/names.tmpl': '{{ define "project" }}bad{{ end }}',
         },
         'werf.yaml:2:13: template: error calling include: template: no template "projct" assoc'
         'iated with template "werfConfig"',
         "did you mean 'project'?"),
    Case('template: missing template',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ template "nme" }}\n',
         },
         'werf.yaml:2:22: template: template "nme" not defined',
         'define it with {{ define "NAME" }}...{{ '),
    Case('template: required',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ required "set .Env: dev or prod" .Env }'
                         '}\n',
         },
         'werf.yaml:2:13: template: error calling required: set .Env: dev or prod',
         "give the value that 'required' asks for;"),
    Case('template: Files.Get missing',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ .Files.Get "project.txt" }}\n',
         },
         'werf.yaml:2:19: template: error calling Get: {{ .Files.Get "project.txt" }}: the file'
         ' "project.txt" not found in the project directory',
         'paths given to .Files are relative to th'),
    Case('template: env not allowed',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ env "PROJ" }}\n',
         },
         'werf.yaml:2:13: template: error calling env: env name "PROJ" not allowed by gitermini'
         'sm',
         "allow it in werf-giterminism.yaml: 'conf"),
    Case('template: env unset no default',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ env "DW_UNSET_X" }}\n',
          'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  goTemplateRenderi'
                                     'ng:\n    allowEnvVariables: [/DW_.*/]\n',
         },
         'werf.yaml:2:13: template: error calling env: the environment variable "DW_UNSET_X" mu'
         'st be set or default must be provided',
         'set DW_UNSET_X, give env a default ({{ e'),
    Case('template: env two defaults',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ env "X" "a" "b" }}\n',
         },
         'werf.yaml:2:13: template: error calling env: more than 1 optional argument prohibited',
         'env takes a variable name and at most on'),
    Case('template: wrong arg count',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ replace "a" "b" }}\n',
         },
         'werf.yaml:2:13: template: wrong number of args for replace: want 3 got 2',
         'give the function the number of argument'),
    Case('template: wrong arg type',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ substr 0 (add 1 2) "bad" }}\n',
         },
         'werf.yaml:2:29: template: wrong type for value; expected int; got int64',
         'the function takes arguments of other Go'),
    Case('template: literal of wrong type',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ repeat "2" "bad" }}\n',
         },
         'werf.yaml:2:20: template: expected integer; found "2"',
         'the function takes arguments of other Go'),
    Case('template: nil pointer',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ $s := fromYaml "a: null" }}{{ $s.a.name'
                         ' }}\n',
         },
         'werf.yaml:2:45: template: nil pointer evaluating interface {}.name',
         'the value before the field is null: test'),
    Case('template: index out of range',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ index (list "a") 3 }}\n',
         },
         'werf.yaml:2:13: template: error calling index: index out of range: 3',
         'the list is shorter than that: check it '),
    Case('template: incompatible comparison',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ if eq 1 "1" }}x{{ end }}\n',
         },
         'werf.yaml:2:16: template: error calling eq: incompatible types for comparison',
         'eq, ne, lt, le, gt and ge compare values'),
    Case('template: fail',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ fail "this project needs --env" }}\n',
         },
         'werf.yaml:2:13: template: error calling fail: this project needs --env',
         'the template stops here on purpose (fail'),
    Case('template: range over a string',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ range "abc" }}{{ . }}{{ end }}\n',
         },
         "werf.yaml:2:19: template: range can't iterate over abc",
         'range takes a list, a map or an integer'),
    Case('template: break outside range',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ break }}\n',
         },
         'werf.yaml:2:19: template: {{break}} outside {{range}}',
         'fix the template at that place'),
    Case('template: bad number',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ 1x }}\n',
         },
         'werf.yaml:2:13: template: bad number syntax: "1x"',
         'fix the template at that place'),
    Case('template: unterminated string',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ "bad }}\n',
         },
         'werf.yaml:2:13: template: unterminated quoted string',
         'fix the template at that place'),
    Case('template: syntax error in a partial',
         {
          'werf.yaml': 'configVersion: 1\nproject: bad\n',
          '.werf/helpers/names.tmpl': '{{ define "x" }}\n{{ if }}\n{{ end }}\n',
         },
         '.werf/helpers/names.tmpl:2:7: template: missing value for if',
         'fix the template at that place'),
    Case('template: error inside an include',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ include "name" . }}\n',
          '.werf/names.tmpl': '{{ define "name" }}\n{{- .Files.Get "nope" -}}\n{{ end }}',
         },
         '.werf/names.tmpl:2:11: template: error calling Get: {{ .Files.Get "nope" }}: the file'
         ' "nope" not found in the project directory (called from werf.yaml:2:13)',
         'paths given to .Files are relative to th'),
    Case('template: tpl syntax error',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ tpl "{{ .x" . }}\n',
         },
         'werf.yaml:2:13: template: error calling tpl: in the text given to tpl, line 1: unclos'
         'ed action',
         'every {{ if }}, {{ range }}, {{ with }},'),
    Case('template: Glob bad pattern',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ .Files.Glob "[a-" }}\n',
         },
         'werf.yaml:2:19: template: error calling Glob: syntax error in pattern',
         'fix the template at that place'),
    Case('template: sprig not implemented',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ genCA "x" 3 }}\n',
         },
         'werf.yaml:2:13: template: error calling genCA: the sprig function genCA is not implem'
         'ented by dockwright yet',
         'the README lists the sprig functions doc'),
    Case('template: division by zero',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ div 1 0 }}\n',
         },
         'werf.yaml:2:13: template: error calling div: runtime error: integer divide by zero',
         'fix the template at that place'),
    Case('template: char literal',
         {
          'werf.yaml': "configVersion: 1\nproject: {{ 'ab' }}\n",
         },
         "werf.yaml:2:13: template: malformed character constant: 'ab'",
         'fix the template at that place'),
    Case('template: argument to a non-function',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ .Env "x" }}\n',
         },
         'werf.yaml:2:13: template: Env is not a method but has arguments',
         'fix the template at that place'),
    Case('template: giterminism unknown key',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ env "X" "bad" }}\n',
          'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  goTemplateRendrin'
                                     'g:\n    allowEnvVariables: [X]\n',
         },
         "werf-giterminism.yaml:3: unknown key 'config.goTemplateRendring'",
         "did you mean 'goTemplateRendering'?"),
    Case('template: giterminism bad regex',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ env "X" "bad" }}\n',
          'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  goTemplateRenderi'
                                     'ng:\n    allowEnvVariables: [/X(/]\n',
         },
         'werf-giterminism.yaml: config.goTemplateRendering.allowEnvVariables: /X(/ is not a va'
         'lid regular expression: missing ), unterminated subpattern at position 1',
         'fix the pattern'),
    Case('template: template renders bad YAML',
         {
          'werf.yaml': 'configVersion: 1\nproject: bad\n{{ range list 1 2 }}\n---\nimage: app'
                         '{{ . }}\ndockerfile: [Dockerfile\n{{ end }}',
         },
         "werf.yaml:4 (rendered line 8): invalid YAML: expected ',' or ']', but got '<document "
         "start>'",
         "'dockwright config render' prints the re"),
    Case('template: WERF_LOOSE_GITERMINISM bad',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ env "X" "bad" }}\n',
         },
         "WERF_LOOSE_GITERMINISM='maybe' is not a boolean",
         'set WERF_LOOSE_GITERMINISM to 1 or 0 (or', env={'WERF_LOOSE_GITERMINISM': 'maybe'}),
    Case('template: config missing',
         {
         },
         'config file ci/werf.yaml does not exist',
         'give --config (or WERF_CONFIG) a werf.ya', env={'WERF_CONFIG': 'ci/werf.yaml'}),
    Case('template: dot command',
         {
          'werf.yaml': 'configVersion: 1\nproject: {{ .Values.name | upper }}\n',
         },
         'werf.yaml:2:28: template: invalid value; expected string',
         'a value that does not exist (a missing k'),
]


def params() -> list[object]:
    out: list[object] = []
    for case in CASES:
        marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
        out.append(pytest.param(case, id=case.id.replace(" ", "-"), marks=marks))
    return out


def make_project(root: Path, changes: dict[str, str | None]) -> Path:
    busybox_rootfs(root / "rootfs")
    for rel, text in {**GOOD, **changes}.items():
        path = root / rel
        if text is None:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def leftovers(builder: Builder, driver: str) -> tuple[set[str], str]:
    # the query itself must work, or an empty answer would prove nothing
    builder.buildah("images", "--quiet", driver=driver, check=True)
    return builder.stage_tags(PROJECT, driver), builder.containers(driver)


def test_cases_are_distinct() -> None:
    assert len(CASES) >= 28
    assert len([c for c in CASES if c.id.startswith("template")]) >= 25
    assert len({c.id for c in CASES}) == len(CASES)


def test_the_good_project_builds(root_builder: Builder, tmp_path: Path) -> None:
    """The control: unchanged, the project builds, and the leftover check sees its tag."""
    project = make_project(tmp_path / "good", {})
    result = root_builder.build(project, "--storage-driver", "vfs")
    assert result.out.startswith(f"app\tlocalhost/{PROJECT}:")
    tags, containers = leftovers(root_builder, "vfs")
    assert len(tags) == 1
    assert containers == ""


def test_a_wildcard_matching_nothing_beside_a_match_builds(root_builder: Builder,
                                                           tmp_path: Path) -> None:
    """Buildah copies what the other sources match; dockwright refused it before building."""
    project = make_project(tmp_path / "glob", {
        "Dockerfile": 'FROM scratch\nCOPY *foo rootfs/ /\nRUN ["/bin/busybox", "true"]\n'})
    result = root_builder.build(project, "--storage-driver", "vfs")
    assert result.out.startswith(f"app\tlocalhost/{PROJECT}:")


@pytest.mark.parametrize("case", params())
def test_bad_input(case: Case, root_builder: Builder, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", case.files)
    result = root_builder.build(project, *case.args, check=False, extra_env=case.env)

    assert "Traceback" not in result.text
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    hints = [line for line in result.err.splitlines() if line.startswith("hint:")]
    assert len(errors) == 1, result.err
    assert len(hints) == 1, result.err
    if case.error.endswith("..."):
        assert errors[0].startswith(f"error: {case.error[:-3]}"), errors[0]
        assert len(errors[0]) > len(f"error: {case.error[:-3]}"), "the detail is missing"
    else:
        assert errors[0] == f"error: {case.error}"
    assert case.hint in hints[0]
    assert result.code == case.code, result.err

    for driver in case.drivers:
        tags, containers = leftovers(root_builder, driver)
        assert tags == set(), f"{driver}: {tags}"
        assert containers == "", f"{driver}: {containers}"
