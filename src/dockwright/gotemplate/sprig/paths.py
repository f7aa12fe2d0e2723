"""sprig's path functions: base dir clean ext isAbs (Go's path) and osBase osClean osDir osExt
osIsAbs (Go's path/filepath, which on Linux, where werf runs, follow the same rules)."""

from __future__ import annotations

from dockwright.gotemplate.values import BOOL, STRING, Func


def clean(path: str) -> str:
    """path.Clean: the shortest equivalent path, by lexical processing."""
    if path == "":
        return "."
    rooted = path[0] == "/"
    n = len(path)
    out: list[str] = []
    r = 0
    dotdot = 0
    if rooted:
        out.append("/")
        r = 1
        dotdot = 1
    while r < n:
        if path[r] == "/" or (path[r] == "." and (r + 1 == n or path[r + 1] == "/")):
            r += 1
        elif path[r] == "." and path[r + 1] == "." and (r + 2 == n or path[r + 2] == "/"):
            r += 2
            if len(out) > dotdot:
                # backtrack to the last slash
                w = len(out) - 1
                while w > dotdot and out[w] != "/":
                    w -= 1
                del out[w:]
            elif not rooted:
                if out:
                    out.append("/")
                out.extend("..")
                dotdot = len(out)
        else:
            if (rooted and len(out) != 1) or (not rooted and out):
                out.append("/")
            while r < n and path[r] != "/":
                out.append(path[r])
                r += 1
    if not out:
        return "."
    return "".join(out)


def base(path: str) -> str:
    """path.Base: the last element; "." for "", "/" for a path of slashes."""
    if path == "":
        return "."
    path = path.rstrip("/")
    if path == "":
        return "/"
    return path[path.rfind("/") + 1:]


def dirname(path: str) -> str:
    """path.Dir: all but the last element, cleaned."""
    return clean(path[:path.rfind("/") + 1])


def ext(path: str) -> str:
    """path.Ext: the suffix from the last dot of the last element, or ""."""
    for i in range(len(path) - 1, -1, -1):
        if path[i] == "/":
            break
        if path[i] == ".":
            return path[i:]
    return ""


def is_abs(path: str) -> bool:
    return path.startswith("/")


FUNCS: dict[str, Func] = {
    "base": Func(base, (STRING,), result=STRING),
    "dir": Func(dirname, (STRING,), result=STRING),
    "clean": Func(clean, (STRING,), result=STRING),
    "ext": Func(ext, (STRING,), result=STRING),
    "isAbs": Func(is_abs, (STRING,), result=BOOL),
    "osBase": Func(base, (STRING,), result=STRING),
    "osClean": Func(clean, (STRING,), result=STRING),
    "osDir": Func(dirname, (STRING,), result=STRING),
    "osExt": Func(ext, (STRING,), result=STRING),
    "osIsAbs": Func(is_abs, (STRING,), result=BOOL),
}
