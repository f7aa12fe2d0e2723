"""sprig's flow control: ``fail``."""

from __future__ import annotations

from typing import NoReturn

from dockwright.gotemplate.values import STRING, Func, GoError


def fail(msg: str) -> NoReturn:
    """``fail "msg"``: the template stops with the error ``msg``."""
    raise GoError(msg)


FUNCS: dict[str, Func] = {
    "fail": Func(fail, (STRING,), result=STRING, errors=True),
}
