"""The one-line print of a Go value that the Go side of the unit tables (``show``) produces,
so a Python result and the Go program's output compare as strings."""

from __future__ import annotations

from typing import Any

from dockwright.gotemplate.strconv import go_quote
from dockwright.gotemplate.values import GoObject, type_of


def canon(v: Any) -> str:
    """The value as the Go side's ``show`` prints it."""
    if v is None:
        return "nil"
    t = type_of(v)
    if t == "string":
        return "s:" + go_quote(v, ascii_only=True)
    if t == "bool":
        return "bool:" + ("true" if v else "false")
    if isinstance(v, bool | int) and not isinstance(v, GoObject):
        return f"{t}:{int(v)}"
    if isinstance(v, float):
        return f"{t}:{float(v).hex()}"
    if isinstance(v, list):
        return t + "[" + ", ".join(canon(x) for x in v) + "]"
    if isinstance(v, dict):
        return t + "{" + ", ".join(sorted(canon(k) + ": " + canon(x) for k, x in v.items())) + "}"
    assert isinstance(v, GoObject)
    return t + "|" + go_quote(v.go_string() or "", ascii_only=True)
