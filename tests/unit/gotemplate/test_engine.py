"""The template engine on its own: what the corpus (tests/gotemplate) cannot show, such as
values a werf.yaml cannot make, positions, spans and limits. Expected outputs are Go's."""

from __future__ import annotations

from typing import Any

import pytest

from dockwright.gotemplate.execute import ExecError
from dockwright.gotemplate.parse import ParseError
from dockwright.gotemplate.sprig import functions
from dockwright.gotemplate.sprig.dates import GoTime
from dockwright.gotemplate.template import Templates
from dockwright.gotemplate.values import GoMap, GoSlice, Int64, Uint8


def run(text: str, data: Any = None, **partials: str) -> str:
    t = Templates("root", functions())
    for name, partial in partials.items():
        t.parse(name, partial)
    t.parse("root", text)
    return t.execute("root", data)


@pytest.mark.parametrize(("text", "data", "out"), [
    # typed maps: a missing key is a zero value through index, <no value> through a field
    ('{{ index .m "x" }}|{{ .m.x }}', {"m": GoMap({"a": "1"}, "map[string]string")},
     "|<no value>"),
    ("{{ index .m 2 }}", {"m": GoMap({1: "one"}, "map[int]string")}, ""),
    # a byte of a string is a uint8
    ('{{ index "abc" 1 }} {{ printf "%T" (index "abc" 1) }}', None, "98 uint8"),
    ("{{ slice .s 1 }}", {"s": GoSlice(["a", "b"], "[]string")}, "[b]"),
    ("{{ eq .i 3 }} {{ lt .u 300 }}", {"i": Int64(3), "u": Uint8(200)}, "true true"),
    # range over a map of int keys: numeric order
    ("{{ range $k, $v := .m }}{{ $k }}{{ end }}", {"m": GoMap({10: 0, 9: 0, -1: 0},
                                                              "map[int]int")}, "-1910"),
    # a *time.Time is dereferenced for a time.Time parameter, as Go does
    ("{{ unixEpoch .t }}", {"t": GoTime(1700000000, pointer=True)}, "1700000000"),
    ("{{ range 3 }}{{ . }}{{ end }}", None, "012"),  # Go 1.22
    # Go 1.23 (werf's Go): else with
    ('{{ with .a }}A{{ else with .b }}B{{ . }}{{ else }}none{{ end }}', {"b": "bee"}, "Bbee"),
    ('{{ with .a }}A{{ else with .b }}B{{ else }}none{{ end }}', {}, "none"),
    ("{{ template \"x\" }}", None, "<no value>"),
])
def test_values_a_werf_yaml_cannot_make(text: str, data: Any, out: str) -> None:
    assert run(text, data, x="{{ . }}") == out


@pytest.mark.parametrize("text", ["{{ if 1 }}{{ else with 2 }}{{ end }}",
                                  "{{ with 1 }}{{ else if 2 }}{{ end }}"])
def test_else_chains_only_of_their_own_kind(text: str) -> None:
    with pytest.raises(ParseError, match=r"unexpected <(with|if)> in input"):
        run(text)


def test_exec_error_names_place_template_and_node() -> None:
    with pytest.raises(ExecError) as info:
        run('line one\n  {{ template "inner" .a }}', {"a": {"b": None}},
            inner='{{ define "inner" }}\n\n{{ .b.c }}{{ end }}')
    err = info.value
    assert err.go_text() == ('template: inner:3:5: executing "inner" at <.b.c>: nil pointer '
                             "evaluating interface {}.c")
    assert err.location() == ("inner", 3, 6)  # 1-based; Go counts from 0


def test_parse_error_line_and_offset() -> None:
    with pytest.raises(ParseError) as info:
        run("a\nb {{ if }}\n")
    assert str(info.value) == "template: root:2: missing value for if"
    assert info.value.pos == 10  # the "}}" that ended the empty pipeline


def test_spans_map_output_to_source() -> None:
    t = Templates("root", {})
    t.parse("p", '{{ define "x" }}X{{ end }}')
    t.parse("root", 'ab{{ "c" }}\n{{ template "x" }}')
    spans: list[tuple[int, str, int, bool]] = []
    assert t.execute("root", None, spans) == "abc\nX"
    assert spans == [(0, "root", 0, True), (2, "root", 5, False), (3, "root", 11, True),
                     (4, "p", 16, True)]


def test_an_empty_definition_does_not_replace_one() -> None:
    t = Templates("root", {})
    t.parse("a", '{{ define "x" }}full{{ end }}')
    t.parse("b", '{{ define "x" }}  {{ end }}')
    t.parse("root", '{{ template "x" }}')
    assert t.execute("root", None) == "full"
    with pytest.raises(ParseError, match='multiple definition of template "y"'):
        t.parse("c", '{{ define "y" }}1{{ end }}{{ define "y" }}2{{ end }}')


def test_endless_recursion_is_an_error_not_a_crash() -> None:
    with pytest.raises(ExecError, match="exceeded maximum template depth"):
        run('{{ define "loop" }}{{ template "loop" . }}{{ end }}{{ template "loop" . }}')


def test_unknown_template_from_execute() -> None:
    t = Templates("werfConfig", {})
    with pytest.raises(ExecError) as info:
        t.execute("nope", None)
    assert info.value.go_text() == ('template: no template "nope" associated with template '
                                    '"werfConfig"')
