"""The README's promises that code can check: its list of sprig functions is the code's."""

from __future__ import annotations

from pathlib import Path

from dockwright.gotemplate.sprig import families, not_implemented

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
WERF_REPLACED = ("env", "expandenv")  # werf's own env replaces sprig's; expandenv is removed


def family_lines() -> list[str]:
    return [f"- {family}: " + ", ".join(f"`{n}`" for n in sorted(funcs, key=str.lower)) + "."
            for family, funcs in families().items()]


def test_readme_lists_every_implemented_sprig_function() -> None:
    text = " ".join(README.split())  # the README wraps its lines
    for line in family_lines():
        assert line in text, f"README lacks: {line}"
    missing = ", ".join(f"`{n}`" for n in not_implemented() if n not in WERF_REPLACED)
    assert f"Not implemented: {missing}." in text
