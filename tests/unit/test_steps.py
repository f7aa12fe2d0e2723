"""The instruction cache's pure parts: step keys, the derived Dockerfile, Buildah's output."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from dockwright import dockerfile, steps
from dockwright.dockerfile import Analysis

FILES: dict[str, str] = {"app.sh": "0644 a1", "dep.txt": "0644 d1", "lib/x": "0644 x1"}
DOCKERFILE = """\
# syntax=docker/dockerfile:1
ARG BASE=scratch
FROM ${BASE} AS deps
COPY lib/ /lib/
ARG V=1
RUN ["/bin/busybox", "sh", "-c", "echo $V"]
RUN --mount=type=bind,source=dep.txt,target=/dep.txt ["/bin/busybox", "cat", "/dep.txt"]
FROM deps
ENV X=1
COPY app.sh /app.sh
COPY --from=deps /lib /lib2
"""


def analysis(tmp_path: Path, text: str = DOCKERFILE,
             args: Mapping[str, str] | None = None) -> tuple[dockerfile.Dockerfile, Analysis]:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    parsed = dockerfile.parse(path, "Dockerfile")
    return parsed, dockerfile.analyze(parsed, None, args or {})


def keys(a: Analysis, files: Mapping[str, str] | None = None, salt: str = "p",
         bases: Mapping[str, str | None] | None = None) -> list[str]:
    known = dict(FILES if files is None else files)

    def read(patterns: tuple[str, ...]) -> tuple[str, steps.Files]:
        out = []
        for path, detail in sorted(known.items()):
            for p in patterns:
                p = p.rstrip("/")
                if p in (".", "") or path == p or path.startswith(p + "/"):
                    out.append((path, detail))
                    break
        return "|".join(f"{p}\t{d}" for p, d in out), tuple(out)

    return [k.key for k in steps.chain(a, salt, bases or {}, read).steps]


def changed_from(old: list[str], new: list[str]) -> int | None:
    """The first step whose key changed (None: none did); every later one must change too."""
    assert len(old) == len(new)
    first = next((n for n, (a, b) in enumerate(zip(old, new, strict=True)) if a != b), None)
    if first is not None:
        assert all(a != b for a, b in zip(old[first:], new[first:], strict=True))
    return first


# -- keys -------------------------------------------------------------------------------------

def test_steps_of_the_used_stages_in_order(tmp_path: Path) -> None:
    _, a = analysis(tmp_path)
    assert [(s.stage, s.position, s.cmd) for s in a.steps] == [
        (0, 0, "COPY"), (0, 1, "ARG"), (0, 2, "RUN"), (0, 3, "RUN"),
        (1, 0, "ENV"), (1, 1, "COPY"), (1, 2, "COPY")]
    bind = a.steps[3]
    assert bind.binds and bind.sources == ("dep.txt",)
    assert a.steps[2].binds is False
    assert a.steps[6].stages == (0,) and a.steps[6].sources == ()
    assert [(h.stage, h.parent, h.base) for h in a.heads] == [(0, None, "scratch"), (1, 0, "")]
    # a bind mount's source is part of the image's digest as a COPY source is
    assert [s.pattern for s in a.sources] == ["lib/", "dep.txt", "app.sh"]


def test_a_key_changes_from_the_step_whose_input_changed(tmp_path: Path) -> None:
    _, a = analysis(tmp_path)
    base = keys(a)
    assert keys(a) == base  # stable
    assert len(set(base)) == len(base)
    assert changed_from(base, keys(a, {**FILES, "app.sh": "0644 a2"})) == 5
    assert changed_from(base, keys(a, {**FILES, "dep.txt": "0644 d2"})) == 3  # the bind RUN
    assert changed_from(base, keys(a, {**FILES, "lib/x": "0755 x1"})) == 0  # a mode counts
    assert changed_from(base, keys(a, {**FILES, "unread": "0644 u"})) is None
    assert changed_from(base, keys(a, salt="other project")) == 0


def test_an_arg_value_changes_the_arg_step_and_all_after_it(tmp_path: Path) -> None:
    _, a = analysis(tmp_path)
    _, a2 = analysis(tmp_path, args={"V": "2"})
    assert changed_from(keys(a), keys(a2)) == 1
    _, a3 = analysis(tmp_path, args={"UNDECLARED": "x"})  # not declared: not an input
    assert keys(a3) == keys(a)


def test_the_text_of_a_step_is_an_input(tmp_path: Path) -> None:
    _, a = analysis(tmp_path)
    _, b = analysis(tmp_path, DOCKERFILE.replace("ENV X=1", "ENV X=2"))
    assert changed_from(keys(a), keys(b)) == 4


def test_a_base_image_id_is_an_input(tmp_path: Path) -> None:
    text = "FROM debian:12\nRUN true\nCOPY --from=busybox:1 /bin/sh /sh\n"
    _, a = analysis(tmp_path, text)
    one = keys(a, bases={"debian:12": "aaa", "busybox:1": "bbb"})
    assert changed_from(one, keys(a, bases={"debian:12": "ccc", "busybox:1": "bbb"})) == 0
    assert changed_from(one, keys(a, bases={"debian:12": "aaa", "busybox:1": "ddd"})) == 1


def test_a_secret_mount_names_the_secret_not_its_value(tmp_path: Path) -> None:
    text = "FROM scratch\nRUN --mount=type=secret,id=token cat /run/secrets/token\n"
    _, a = analysis(tmp_path, text)
    (step,) = a.steps
    assert step.sources == () and not step.binds
    assert "token" in step.text


def test_a_bind_mount_without_source_reads_the_whole_context(tmp_path: Path) -> None:
    _, a = analysis(tmp_path, "FROM scratch\nRUN --mount=target=/src make\n")
    assert a.steps[0].sources == (".",) and a.steps[0].binds
    base = keys(a)
    assert changed_from(base, keys(a, {**FILES, "new": "0644 n"})) == 0


def test_a_bind_mount_from_a_stage_reads_that_stage(tmp_path: Path) -> None:
    text = ("FROM scratch AS src\nCOPY lib/ /lib/\nFROM scratch\n"
            "RUN --mount=type=bind,from=src,source=/lib,target=/l ls /l\n")
    _, a = analysis(tmp_path, text)
    step = a.steps[-1]
    assert step.binds and step.sources == () and step.stages == (0,)
    assert changed_from(keys(a), keys(a, {**FILES, "lib/x": "0644 x2"})) == 0


def test_reusable_stops_before_onbuild(tmp_path: Path) -> None:
    _, a = analysis(tmp_path, "FROM scratch\nENV A=1\nONBUILD RUN x\nENV B=2\n")
    chain = steps.chain(a, "p", {}, lambda p: ("", ()))
    assert steps.reusable(chain.of_stage(0)) == 1


# -- the derived Dockerfile -----------------------------------------------------------------

def test_derive_keys_bind_mounts(tmp_path: Path) -> None:
    parsed, _ = analysis(tmp_path)
    d = steps.derive(DOCKERFILE, parsed, {(0, 3): "abc"}, {})
    assert d.text == DOCKERFILE.replace(
        "RUN --mount", "ARG DOCKWRIGHT_BIND_SOURCES=abc\nRUN --mount")
    assert d.layout == ((0, 1, 2, None, 3), (0, 1, 2))
    assert steps.derive(DOCKERFILE, parsed, {}, {}).text == DOCKERFILE


def test_derive_starts_a_stage_from_its_cached_prefix(tmp_path: Path) -> None:
    parsed, _ = analysis(tmp_path)
    d = steps.derive(DOCKERFILE, parsed, {(0, 3): "abc"}, {0: (3, "f" * 64), 1: (1, "e" * 64)})
    assert d.text == f"""\
# syntax=docker/dockerfile:1
ARG BASE=scratch
FROM {"f" * 64} AS deps
ARG V=1
ARG DOCKWRIGHT_BIND_SOURCES=abc
RUN --mount=type=bind,source=dep.txt,target=/dep.txt ["/bin/busybox", "cat", "/dep.txt"]
FROM {"e" * 64}
COPY app.sh /app.sh
COPY --from=deps /lib /lib2
"""
    # the ARG kept from the prefix is Buildah's step 2, and stands for no step of ours
    assert d.layout == ((None, None, 3), (1, 2))


def test_derive_keeps_continuations_heredocs_and_a_missing_last_newline(tmp_path: Path) -> None:
    text = "FROM scratch\nRUN a \\\n  b\nRUN <<EOF\necho hi\nEOF\nCOPY x /x"
    parsed, _ = analysis(tmp_path, text)
    d = steps.derive(text, parsed, {}, {})
    assert d.text == text + "\n"
    d = steps.derive(text, parsed, {}, {0: (2, "a" * 64)})
    assert d.text == f"FROM {'a' * 64}\nCOPY x /x\n"


def test_labels_become_one_line_or_none_when_a_dockerfile_would_read_them_otherwise() -> None:
    assert steps.label_line([("werf", "app"), ("werf-stage-content-digest", "ab" * 28)]) == \
        f'LABEL "werf"="app" "werf-stage-content-digest"="{"ab" * 28}"\n'
    assert steps.label_line([("dockwright-image", "web/app_1.2")]) is not None
    for value in ("a b", "$HOME", 'a"b', "a\\b", "a`b", "", "a\nb"):
        assert steps.label_line([("werf", "p"), ("k", value)]) is None, value
    assert steps.label_line([]) is None


def test_derive_labels_every_unprefixed_stage_and_ends_the_target(tmp_path: Path) -> None:
    """The first line follows each FROM that starts from no cached prefix (a prefix's image
    has it), the second ends the target (its stage may not be the last one); both stand for
    no step of ours, so that the instruction cache records what the steps did."""
    parsed, _ = analysis(tmp_path)
    head, tail = 'LABEL "werf"="p"\n', 'LABEL "werf"="p" "d"="1"\n'
    d = steps.derive(DOCKERFILE, parsed, {}, {1: (1, "e" * 64)}, (head, tail), 0)
    lines = d.text.splitlines()
    assert lines[lines.index("FROM ${BASE} AS deps") + 1] == head.strip()
    assert lines[lines.index(tail.strip()) - 1].startswith("RUN --mount")
    assert lines[lines.index(tail.strip()) + 1] == f"FROM {'e' * 64}"  # no head: a prefix
    assert d.text.count(head) == 1 and d.layout == ((None, 0, 1, 2, 3, None), (1, 2))
    last = steps.derive(DOCKERFILE, parsed, {}, {}, (head, tail), 1)
    assert last.text == DOCKERFILE.replace("AS deps\n", "AS deps\n" + head).replace(
        "FROM deps\n", "FROM deps\n" + head) + tail
    assert last.layout == ((None, 0, 1, 2, 3), (None, 0, 1, 2, None))


# -- what Buildah printed ---------------------------------------------------------------------

MULTI = """\
[2/3] STEP 1/2: FROM scratch AS a
[2/3] STEP 2/2: COPY bin/ /bin/
--> Using cache 5a9fdce664a8495b8bba4647ef052258fa1457748d904d459b770c7b056042bb
--> 5a9fdce664a
[3/3] STEP 1/3: FROM 5a9fdce664a8495b8bba4647ef052258fa1457748d904d459b770c7b056042bb
[3/3] STEP 2/3: ENV X=1
--> 8685f20d2f6
[3/3] STEP 3/3: COPY --from=a /bin/busybox /bb
[3/3] COMMIT
--> 8a9d4053606
8a9d405360627172d68c81ee1e18770a0658c72f40a949abf0ec756034ce9e71
"""


def test_step_ids_from_buildah_output() -> None:
    seen = steps.StepIds()
    for line in MULTI.splitlines():
        seen.feed(line)
    assert seen.final == "8a9d405360627172d68c81ee1e18770a0658c72f40a949abf0ec756034ce9e71"
    assert seen.ids == {(1, 2): "5a9fdce664a8495b8bba4647ef052258fa1457748d904d459b770c7b056042bb",
                        (2, 2): "8685f20d2f6", (2, 3): "8a9d4053606"}
    assert seen.from_cache == {(1, 2)}
    derived = steps.Derived("", ((), (0,), (0, 1)))
    assert seen.by_place(derived) == {
        (1, 0): ("5a9fdce664a8495b8bba4647ef052258fa1457748d904d459b770c7b056042bb", True),
        (2, 0): ("8685f20d2f6", False), (2, 1): ("8a9d4053606", False)}


def test_step_ids_of_a_single_stage_and_lines_that_are_not_steps() -> None:
    seen = steps.StepIds()
    for line in ["STEP 1/3: FROM scratch", "STEP 2/3: RUN echo '--> abcdefabcdef'",
                 "--> abcdefabcdef", "output of the step", "STEP 3/3: LABEL a=b",
                 "--> 0123456789a", "STEP 4/3: LABEL werf=x", "--> fedcba98765"]:
        seen.feed(line)
    derived = steps.Derived("", ((None, 0),))  # step 4: a --label step, ours to ignore
    assert seen.by_place(derived) == {(0, 0): ("0123456789a", False)}


# -- why a step runs --------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "reason"), [
    ({"text": "COPY old /x"}, "its text changed (was: COPY old /x)"),
    ({"sources": "s2", "files": (("a", "0644 1"), ("b", "0644 2"))},
     "files it reads changed: b"),
    ({"reads": ("other",)}, "a stage or image it reads changed"),
    ({"parent": "p2"}, "its base changed"),
    ({}, "its cached image is gone"),
])
def test_why(change: dict[str, object], reason: str) -> None:
    step = dockerfile.Step(0, 0, 2, "COPY", "COPY a b /x", ("a", "b"))
    keyed = steps.Keyed(step, "k", "p", "s", (("a", "0644 1"), ("b", "0644 1")), ())
    record = steps.Record.of(keyed)
    if change:
        record = steps.Record(**{**record.__dict__, "key": "old", **change})
    assert steps.why(keyed, record, False) == reason
    assert steps.why(keyed, None, False) == "no earlier build of this step"
    assert steps.why(keyed, record, True) == "a step before it runs"


def test_the_local_index_merges_and_drops_what_the_store_lost(tmp_path: Path) -> None:
    from dockwright.storage.stepcache import LocalIndex

    index = LocalIndex(tmp_path / "steps.json")
    index.add({"k1": "i1", "k2": "i2"})
    other = LocalIndex(tmp_path / "steps.json")  # another build, same store
    other.add({"k3": "i3"})
    index.add({"k4": "i4"}, present={"i1", "i3", "i4"})  # i2 was removed from the store
    assert LocalIndex(tmp_path / "steps.json").entries() == {"k1": "i1", "k3": "i3",
                                                               "k4": "i4"}
    (tmp_path / "steps.json").write_text("not json")
    assert LocalIndex(tmp_path / "steps.json").entries() == {}  # unreadable: empty
