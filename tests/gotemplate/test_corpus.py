"""The golden corpus: the Python renderer must render every case exactly as Go does.

Each case (corpus/*.txtar, see txtar.py) is rendered by the Go oracle (oracle/main.go:
text/template + sprig + werf's functions, as werf does it) and by
``dockwright.config.render.render``; both must give the same text, or both must fail.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.gotemplate.harness import (
    CORPUS,
    Oracle,
    Outcome,
    commit_all,
    run_oracle,
    run_python,
)
from tests.gotemplate.txtar import Case, load_case, write_project

CASES = [load_case(path) for path in sorted(CORPUS.glob("*.txtar"))]


def project_for(case: Case, oracle: Oracle, tmp_path: Path) -> Path:
    if case.min_go is not None and oracle.go_version < case.min_go:
        pytest.skip(f"needs Go {case.min_go}, the oracle has Go {oracle.go_version}")
    project = write_project(case, tmp_path / "project")
    if case.git:
        commit_all(project, case)
    return project


def go_outcome(case: Case, oracle: Oracle, project: Path) -> Outcome:
    """Render with Go and check the case's #error marker agrees."""
    go = run_oracle(oracle.binary, project, case)
    if go.ok == case.expect_error:
        expected = "fail" if case.expect_error else "render"
        pytest.fail(f"{case.name}: Go should {expected}\n{go.describe('Go')}", pytrace=False)
    return go


def mismatch_report(go: Outcome, py: Outcome) -> str:
    """Both outcomes, preceded by a diff when both rendered."""
    both = f"{go.describe('Go')}\n{py.describe('Python')}"
    if not (go.ok and py.ok):
        return both
    diff = difflib.unified_diff(
        go.text.splitlines(keepends=True), py.text.splitlines(keepends=True), "go", "python"
    )
    return f"the renders differ:\n{''.join(diff)}\n{both}"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_oracle_agrees_with_case(case: Case, oracle: Oracle, tmp_path: Path) -> None:
    """Go alone: the case renders or fails as its #error marker says."""
    go_outcome(case, oracle, project_for(case, oracle, tmp_path))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_python_renders_like_go(case: Case, oracle: Oracle, tmp_path: Path) -> None:
    project = project_for(case, oracle, tmp_path)
    go = go_outcome(case, oracle, project)
    py = run_python(project, case)
    same = go.ok == py.ok and (not go.ok or go.text == py.text)
    if not same:
        pytest.fail(f"{case.name}:\n{case.comment}{mismatch_report(go, py)}", pytrace=False)


def test_corpus_is_big_enough() -> None:
    errors = [case for case in CASES if case.expect_error]
    assert len(CASES) >= 150, f"only {len(CASES)} cases"
    assert len(errors) >= 20, f"only {len(errors)} error cases"


def test_cases_have_a_config() -> None:
    for case in (case for case in CASES if not case.expect_error):
        config = case.options.get("config")
        names = [config] if config else ["werf.yaml", "werf.yml"]
        assert any(name in case.files for name in names), f"{case.name}: no werf config"


def test_the_example_project_renders_like_go(oracle: Oracle) -> None:
    """examples/hello (what `make run` builds) is a template too: Go and Python agree."""
    example = Path(__file__).resolve().parents[2] / "examples" / "hello"
    case = Case(name="examples/hello", comment="", files={})
    go, py = run_oracle(oracle.binary, example, case), run_python(example, case)
    assert go.ok and py.ok and go.text == py.text, mismatch_report(go, py)
    assert "{{" in (example / "werf.yaml").read_text() and "{{" not in py.text
