"""Dockerfile parsing and analysis: stages used, ARG/ENV resolution, sources, bases, errors."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from dockwright.dockerfile import Analysis, ContextSource, Dockerfile, analyze, expand, parse
from dockwright.errors import DockerfileError, Exit


def df(tmp_path: Path, text: str) -> Dockerfile:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return parse(path, "Dockerfile")


def an(tmp_path: Path, text: str, target: str | None = None,
       args: Mapping[str, str] | None = None) -> Analysis:
    return analyze(df(tmp_path, text), target, args or {})


def error(tmp_path: Path, text: str, target: str | None = None,
          args: Mapping[str, str] | None = None) -> DockerfileError:
    with pytest.raises(DockerfileError) as info:
        an(tmp_path, text, target, args)
    assert info.value.exit_code == Exit.BAD_INPUT
    assert info.value.hint, "every error says what to do"
    return info.value


def body(a: Analysis) -> list[str]:
    """The resolved instructions without their "stage N (name): " prefix."""
    return [line.split(": ", 1)[1] for line in a.instructions]


# -- parse ------------------------------------------------------------------------------------

def test_parse_stages_and_meta_args(tmp_path: Path) -> None:
    d = df(tmp_path, "ARG A=1\nFROM scratch AS One\nRUN x\nFROM one\nCOPY a b\n")
    assert [i.original for i in d.meta_args] == ["ARG A=1"]
    assert [(s.index, s.name, s.base, s.line) for s in d.stages] == [
        (0, "one", "scratch", 2), (1, None, "one", 4)]
    assert [i.cmd for i in d.stages[0].instructions] == ["RUN"]
    assert [(i.cmd, i.value, i.line) for i in d.stages[1].instructions] == [
        ("COPY", ("a", "b"), 5)]
    assert d.display == "Dockerfile"


def test_instructions_are_case_insensitive(tmp_path: Path) -> None:
    a = an(tmp_path, "from scratch as base\nrun echo\nFrom base\ncopy x /x\n")
    assert body(a) == ["FROM scratch", "RUN echo", "FROM stage 0", "COPY x /x"]


def test_unknown_instruction(tmp_path: Path) -> None:
    err = error(tmp_path, "FROM scratch\nRUN true\nFROBNICATE x\n")
    assert err.message == "Dockerfile:3: unknown instruction: FROBNICATE"
    assert err.hint.startswith("valid instructions: ADD, ARG, CMD, COPY")


def test_no_from(tmp_path: Path) -> None:
    err = error(tmp_path, "ARG A=1\n")
    assert err.message == "Dockerfile: the Dockerfile has no FROM instruction"
    assert "FROM scratch" in err.hint


def test_empty_dockerfile(tmp_path: Path) -> None:
    assert error(tmp_path, "# nothing\n").message == \
        "Dockerfile: the Dockerfile has no FROM instruction"


def test_instruction_before_from(tmp_path: Path) -> None:
    err = error(tmp_path, "ARG A\nRUN true\nFROM scratch\n")
    assert err.message == "Dockerfile:2: RUN before the first FROM"
    assert err.hint == "only ARG may come before FROM"


def test_bad_from(tmp_path: Path) -> None:
    err = error(tmp_path, "FROM a b\n")
    assert err.message == "Dockerfile:1: FROM takes an image and an optional 'AS name'"


def test_duplicate_stage_names(tmp_path: Path) -> None:
    err = error(tmp_path, "FROM scratch AS a\nFROM scratch AS b\nFROM scratch AS A\n")
    assert err.message == "Dockerfile:3: stage name 'a' is used twice"
    assert err.hint == "give each stage its own name (the first is at line 1)"


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(b"FROM scratch\nLABEL a=\xff\xfe\n")
    with pytest.raises(DockerfileError, match="not UTF-8"):
        parse(tmp_path / "Dockerfile", "Dockerfile")


# -- stages used by a target ------------------------------------------------------------------

MULTI = """\
FROM scratch AS deps
RUN deps
FROM scratch AS unused
RUN unused
FROM scratch AS assets
RUN assets
FROM scratch AS tool
RUN tool
FROM deps AS build
COPY --from=assets /a /a
RUN --mount=type=cache,target=/c --mount=type=bind,from=tool,target=/t build
FROM scratch AS final
COPY --from=build /out /out
COPY --from=0 /d /d
"""


def test_stages_used_by_the_last_stage(tmp_path: Path) -> None:
    a = an(tmp_path, MULTI)
    assert a.target_stage == 5
    assert a.used_stages == (0, 2, 3, 4, 5)
    assert not any("unused" in line for line in a.instructions)
    assert a.bases == ()


def test_stages_used_by_a_named_target(tmp_path: Path) -> None:
    a = an(tmp_path, MULTI, target="build")
    assert a.target_stage == 4
    assert a.used_stages == (0, 2, 3, 4)
    assert a.instructions[0] == "stage 0 (deps): FROM scratch"
    assert a.instructions[-1].startswith("stage 4 (build): RUN --mount=")


def test_target_is_case_insensitive(tmp_path: Path) -> None:
    assert an(tmp_path, MULTI, target="Assets").used_stages == (2,)


def test_copy_from_index(tmp_path: Path) -> None:
    a = an(tmp_path,
           "FROM scratch\nRUN a\nFROM scratch\nRUN b\nFROM scratch\nCOPY --from=1 /b /b\n")
    assert a.used_stages == (1, 2)
    assert body(a) == ["FROM scratch", "RUN b", "FROM scratch", "COPY --from=1 /b /b"]


def test_copy_from_stage_named_by_an_arg(tmp_path: Path) -> None:
    text = ("ARG SRC=one\nFROM scratch AS one\nRUN one\nFROM scratch AS two\nRUN two\n"
            "FROM scratch\nARG SRC\nCOPY --from=$SRC /x /x\n")
    a = an(tmp_path, text)
    assert a.used_stages == (0, 2)
    assert a.bases == ()
    assert "stage 0 (one): RUN one" in a.instructions
    assert an(tmp_path, text, args={"SRC": "two"}).used_stages == (1, 2)


def test_run_mount_from_stage_named_by_an_arg(tmp_path: Path) -> None:
    text = ("FROM scratch AS tools\nRUN t\nFROM scratch\nARG T=tools\n"
            "RUN --mount=type=bind,from=${T},target=/t true\n")
    assert an(tmp_path, text).used_stages == (0, 1)


def test_copy_from_stage_index_out_of_range(tmp_path: Path) -> None:
    err = error(tmp_path, "FROM scratch\nCOPY --from=3 /a /a\n")
    assert err.message == "Dockerfile:2: stage index 3 does not exist"


def test_copy_from_later_stage(tmp_path: Path) -> None:
    err = error(tmp_path, "FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\n", "a")
    assert err.message == "Dockerfile:2: --from=b refers to this or a later stage"


def test_missing_target_names_the_stages(tmp_path: Path) -> None:
    err = error(tmp_path, MULTI, target="runtime")
    assert err.message == "Dockerfile: target stage 'runtime' not found in the Dockerfile"
    assert err.hint == "stages with a name: deps, unused, assets, tool, build, final"


def test_missing_target_without_named_stages(tmp_path: Path) -> None:
    err = error(tmp_path, "FROM scratch\n", target="x")
    assert err.hint == "stages with a name: none"


def test_from_stage_inherits_env(tmp_path: Path) -> None:
    a = an(tmp_path, "FROM scratch AS a\nENV P=/a\nFROM a\nENV Q=$P/b\nWORKDIR $Q\n")
    assert body(a) == ["FROM scratch", "ENV P=/a", "FROM stage 0", "ENV Q=/a/b", "WORKDIR /a/b"]


def test_unnamed_stages_use_index_in_label(tmp_path: Path) -> None:
    a = an(tmp_path, "FROM scratch AS x\nFROM x\nRUN y\n")
    assert a.instructions == ("stage 0 (x): FROM scratch", "stage 1: FROM stage 0",
                              "stage 1: RUN y")


# -- ARG / ENV --------------------------------------------------------------------------------

def test_build_arg_beats_dockerfile_default(tmp_path: Path) -> None:
    text = "FROM scratch\nARG V=default\nLABEL v=$V\n"
    assert body(an(tmp_path, text)) == ["FROM scratch", "ARG V=default", "LABEL v default"]
    assert body(an(tmp_path, text, args={"V": "given"})) == [
        "FROM scratch", "ARG V=given", "LABEL v given"]


def test_undeclared_build_arg_is_not_used(tmp_path: Path) -> None:
    a = an(tmp_path, "FROM scratch\nLABEL v=${V}\n", args={"V": "given"})
    assert body(a) == ["FROM scratch", "LABEL v "]


def test_meta_arg_in_from(tmp_path: Path) -> None:
    text = "ARG BASE=registry.example/base:1\nFROM $BASE\n"
    assert an(tmp_path, text).bases == ("registry.example/base:1",)
    assert an(tmp_path, text, args={"BASE": "other:2"}).bases == ("other:2",)
    assert body(an(tmp_path, text, args={"BASE": "other:2"})) == ["FROM other:2"]


def test_meta_arg_refers_to_earlier_meta_arg(tmp_path: Path) -> None:
    text = "ARG REG=r.example\nARG IMG=${REG}/img:1\nFROM ${IMG}\n"
    assert an(tmp_path, text, args={"REG": "q.example"}).bases == ("q.example/img:1",)


def test_meta_arg_is_not_visible_in_stage_without_redeclaration(tmp_path: Path) -> None:
    a = an(tmp_path, "ARG V=meta\nFROM scratch\nLABEL v=$V\n")
    assert body(a)[-1] == "LABEL v "


def test_arg_redeclared_in_stage_gets_meta_value(tmp_path: Path) -> None:
    text = "ARG V=meta\nFROM scratch\nARG V\nLABEL v=$V\n"
    assert body(an(tmp_path, text)) == ["FROM scratch", "ARG V=meta", "LABEL v meta"]
    assert body(an(tmp_path, text, args={"V": "given"})) == [
        "FROM scratch", "ARG V=given", "LABEL v given"]


def test_arg_without_value_anywhere_is_empty(tmp_path: Path) -> None:
    assert body(an(tmp_path, "FROM scratch\nARG V\nUSER $V\n")) == ["FROM scratch", "ARG V=",
                                                                   "USER"]


def test_env_overrides_arg(tmp_path: Path) -> None:
    text = "FROM scratch\nARG V=arg\nENV V=env\nLABEL v=$V\n"
    assert body(an(tmp_path, text, args={"V": "given"}))[-1] == "LABEL v env"


def test_env_legacy_form_and_quotes(tmp_path: Path) -> None:
    a = an(tmp_path, "FROM scratch\nENV A one two\nENV B=\"x y\" C='$A' D=\"$A\"\n")
    assert body(a)[1:] == ["ENV A=one two", "ENV B=x y C=$A D=one two"]


def test_arg_default_in_quotes(tmp_path: Path) -> None:
    a = an(tmp_path, 'FROM scratch\nARG M="hello world"\nLABEL m="$M"\n')
    assert body(a)[1:] == ["ARG M=hello world", "LABEL m hello world"]


def test_arg_value_is_not_shared_between_stages(tmp_path: Path) -> None:
    text = "FROM scratch AS a\nARG V=a\nFROM a\nLABEL v=$V\n"
    assert body(an(tmp_path, text))[-1] == "LABEL v "


def test_run_is_kept_as_written(tmp_path: Path) -> None:
    a = an(tmp_path, "FROM scratch\nARG V=x\nRUN echo $V ${V:-y}\n")
    assert body(a)[-1] == "RUN echo $V ${V:-y}"


def test_json_form_is_kept(tmp_path: Path) -> None:
    a = an(tmp_path, 'FROM scratch\nCMD ["/bin/sh", "-c", "echo hi"]\n')
    assert body(a)[-1] == "CMD ['/bin/sh', '-c', 'echo hi']"


@pytest.mark.parametrize(("word", "env", "out"), [
    ("$A", {"A": "1"}, "1"),
    ("${A}x", {"A": "1"}, "1x"),
    ("$Ax", {"A": "1"}, ""),
    ("${A:-d}", {}, "d"),
    ("${A:-d}", {"A": ""}, "d"),
    ("${A:-d}", {"A": "v"}, "v"),
    ("${A-d}", {"A": ""}, ""),
    ("${A-d}", {}, "d"),
    ("${A:+alt}", {"A": "v"}, "alt"),
    ("${A:+alt}", {"A": ""}, ""),
    ("${A:+alt}", {}, ""),
    ("${A+alt}", {"A": ""}, "alt"),
    ("${A+alt}", {}, ""),
    ("${A:-$B}", {"B": "b"}, "b"),
    ("${A:-${B}}", {"B": "b"}, "b"),
    ("${A:-${B:-c}}/x", {}, "c/x"),
    ("'$A'", {"A": "1"}, "$A"),
    ('"$A"', {"A": "1"}, "1"),
    ('"a b"', {}, "a b"),
    ("\\$A", {"A": "1"}, "$A"),
    ("a\\ b", {}, "a b"),
    ("$", {}, "$"),
    ("$1", {}, "$1"),
    ("x${A}y${B}z", {"A": "1", "B": "2"}, "x1y2z"),
])
def test_expand(word: str, env: dict[str, str], out: str) -> None:
    assert expand(word, env) == out


# -- COPY/ADD sources and bases ---------------------------------------------------------------

def test_copy_and_add_sources(tmp_path: Path) -> None:
    a = an(tmp_path, "FROM scratch\nARG D=src\nCOPY $D/a.txt b* /dst/\nADD . /app\n"
                     "COPY --chown=1:1 [\"with space\", \"/x\"]\n")
    assert a.sources == (ContextSource(0, 3, "src/a.txt"), ContextSource(0, 3, "b*"),
                         ContextSource(0, 4, "."), ContextSource(0, 5, "with space"))
    assert a.remote_sources == ()


def test_sources_only_from_used_stages(tmp_path: Path) -> None:
    text = "FROM scratch AS a\nCOPY a /a\nFROM scratch AS b\nCOPY b /b\nFROM a\nCOPY c /c\n"
    assert [s.pattern for s in an(tmp_path, text).sources] == ["a", "c"]
    assert [s.pattern for s in an(tmp_path, text, "b").sources] == ["b"]


def test_copy_from_stage_is_no_context_source(tmp_path: Path) -> None:
    a = an(tmp_path, "FROM scratch AS a\nFROM scratch\nCOPY --from=a /x /x\n")
    assert a.sources == ()


def test_add_url_is_remote(tmp_path: Path) -> None:
    a = an(tmp_path, "FROM scratch\nADD https://example.com/f.tgz local /x/\n"
                     "ADD git@github.com:o/r.git /r\n")
    assert a.remote_sources == ("https://example.com/f.tgz", "git@github.com:o/r.git")
    assert a.sources == (ContextSource(0, 2, "local"),)


def test_same_url_added_twice_is_one_remote_source(tmp_path: Path) -> None:
    a = an(tmp_path, "FROM scratch AS a\nADD https://e.com/f /f\nFROM a\nADD https://e.com/f /g\n")
    assert a.remote_sources == ("https://e.com/f",)


def test_copy_of_url_is_a_context_path(tmp_path: Path) -> None:
    # COPY does not download: the text is a (missing) context path.
    a = an(tmp_path, "FROM scratch\nCOPY http://x/y /y\n")
    assert a.remote_sources == ()
    assert [s.pattern for s in a.sources] == ["http://x/y"]


def test_copy_heredoc_has_no_source(tmp_path: Path) -> None:
    a = an(tmp_path, "# syntax=docker/dockerfile:1\nFROM scratch\nCOPY <<EOF /x\nhello\nEOF\n")
    assert a.sources == ()


def test_copy_needs_source(tmp_path: Path) -> None:
    err = error(tmp_path, "FROM scratch\nCOPY /only\n")
    assert err.message == "Dockerfile:2: COPY needs a source and a destination"


def test_bases(tmp_path: Path) -> None:
    a = an(tmp_path, "ARG TAG=3\nFROM alpine:$TAG AS a\nFROM scratch AS b\n"
                     "COPY --from=busybox:1 /bin/sh /sh\n"
                     "RUN --mount=type=bind,from=tools:2,target=/t true\n"
                     "COPY --from=a /x /x\nFROM alpine:3\nCOPY --from=b / /\n")
    assert a.bases == ("alpine:3", "busybox:1", "tools:2")
    assert a.used_stages == (0, 1, 2)


def test_from_empty_after_args(tmp_path: Path) -> None:
    err = error(tmp_path, "ARG BASE\nFROM $BASE\n")
    assert err.message == ("Dockerfile:2: FROM $BASE: the image name is empty after expanding "
                           "build args")
    assert "'args'" in err.hint


def test_from_later_stage_is_refused(tmp_path: Path) -> None:
    err = error(tmp_path, "FROM b AS a\nFROM scratch AS b\n", "a")
    assert err.message == "Dockerfile:1: FROM b: a stage can only build on an earlier stage"


HEREDOC = "FROM scratch AS a\nRUN <<EOF\nset -e\necho hi\nEOF\nFROM scratch\nRUN <<EOT\nx\nEOT\n"


def test_heredoc_lines_of_the_used_stages(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(HEREDOC)
    parsed = parse(path)
    assert analyze(parsed, None, {}).heredoc_lines == (7,)
    assert analyze(parsed, "a", {}).heredoc_lines == (2,)
    # the body is part of the instruction's text, and so of the digest
    assert "set -e\necho hi" in "\n".join(analyze(parsed, "a", {}).instructions)


def test_onbuild_keeps_its_instruction_and_flags(tmp_path: Path) -> None:
    a = an(tmp_path, "FROM scratch\nONBUILD RUN echo  later\nONBUILD COPY --from=x a b\n")
    assert body(a)[1:] == ["ONBUILD RUN echo later", "ONBUILD COPY --from=x a b"]
