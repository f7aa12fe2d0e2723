"""werf's template functions and data, given to the Go template engine by ``render``.

Functions: sprig's (without ``expandenv``), ``include``, ``tpl``, ``env``, ``required``,
``fromYaml``, ``toYaml`` and werf's debug helpers; data: ``.Files`` and ``.Commit``. Each
behaves as werf's does, errors included (werf's texts where a user sees them).
"""

from __future__ import annotations

import difflib
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockwright.config.globs import BadPattern
from dockwright.gotemplate.execute import ExecError
from dockwright.gotemplate.gofmt import sprint
from dockwright.gotemplate.parse import ParseError
from dockwright.gotemplate.sprig import functions as sprig_functions
from dockwright.gotemplate.strconv import go_quote
from dockwright.gotemplate.values import (
    ANY,
    BOOL,
    MAP_ANY,
    STRING,
    Func,
    GoError,
    GoMap,
    GoObject,
    from_go_bytes,
    go_bytes,
)

if TYPE_CHECKING:
    from dockwright.config.reads import Reads
    from dockwright.gotemplate.template import Templates


Included = Callable[[str, list[tuple[int, str, int, bool]]], None]


def function_map(templates: Callable[[], Templates],
                 env: Callable[[str], tuple[bool, str | None]],
                 loose: bool, included: Included | None = None) -> dict[str, Func]:
    """werf's function map: sprig's and werf's own. ``templates`` gives the template set
    (for include and tpl); ``env`` says whether a variable may be read, and its value;
    ``included`` hears of every text include made, with where each piece of it came from."""

    def include(name: str, data: Any) -> str:
        spans: list[tuple[int, str, int, bool]] | None = [] if included else None
        try:
            text = templates().execute(name, data, spans)
        except ExecError as exc:
            innermost = exc
            while innermost.inner is not None:  # a message of constant size at any depth
                innermost = innermost.inner
            raise GoError(innermost.go_text(), exc) from None
        if included and spans is not None:
            included(text, spans)
        return text

    def tpl(text: str, data: Any) -> str:
        name = f"tpl-{zlib.adler32(go_bytes(text))}"
        try:
            templates().parse(name, text)
        except ParseError as exc:
            raise GoError(f"in the text given to tpl, line {exc.line}: {exc.message}") from None
        return include(name, data)

    def getenv(value: Any, *default: str) -> str:
        if len(default) > 1:
            raise GoError("more than 1 optional argument prohibited")
        name = sprint(value)
        allowed, found = env(name)
        if not allowed:
            raise GoError(f"env name {go_quote(name)} not allowed by giterminism")
        if found is None:
            if default:
                return default[0]
            if loose:
                return ""
            raise GoError(f"the environment variable {go_quote(name)} must be set or default must "
                          "be provided")
        return default[0] if found == "" and default else found

    def required(message: str, value: Any) -> Any:
        if value is None or (value == "" and type(value) is str):
            raise GoError(message)
        return value

    def from_yaml(text: str) -> Any:
        from dockwright.gotemplate import goyaml

        return goyaml.unmarshal_map(text)

    def to_yaml(value: Any) -> str:
        from dockwright.gotemplate import goyaml

        try:
            return str(goyaml.marshal(value)).removesuffix("\n")
        except GoError:
            return ""

    def nothing(*_: Any) -> str:
        return ""

    funcs = sprig_functions()
    del funcs["expandenv"]
    funcs.update({
        "include": Func(include, (STRING, ANY), result=STRING, errors=True),
        "include_debug": Func(include, (STRING, ANY), result=STRING, errors=True),
        "tpl": Func(tpl, (STRING, ANY), result=STRING, errors=True),
        "tpl_debug": Func(tpl, (STRING, ANY), result=STRING, errors=True),
        "env": Func(getenv, (ANY,), STRING, STRING, errors=True),
        "required": Func(required, (STRING, ANY), result=ANY, errors=True),
        "fromYaml": Func(from_yaml, (STRING,), result=MAP_ANY, errors=True),
        "toYaml": Func(to_yaml, (ANY,), result=STRING),
        "printf_debug": Func(nothing, (STRING,), ANY, STRING),
        "dump_debug": Func(nothing, (ANY,), result=STRING),
    })
    return funcs


class Files(GoObject):
    """werf's ``.Files``: files of the project directory, by paths relative to it."""

    gotype = "config.files"

    def __init__(self, project_dir: Path, reads: Reads) -> None:
        self.project_dir = project_dir
        self.reads = reads
        self._methods = {
            "Get": Func(self.get, (STRING,), result=STRING),
            "Glob": Func(self.glob, (STRING,), result=MAP_ANY),
            "Exists": Func(self.exists, (STRING,), result=BOOL),
            "IsDir": Func(self.is_dir, (STRING,), result=BOOL),
        }

    def go_methods(self) -> dict[str, Func]:
        return self._methods

    def _path(self, rel: str) -> Path | None:
        path = (self.project_dir / rel).resolve() if rel else self.project_dir
        return path if path.is_relative_to(self.project_dir) else None

    def get(self, rel: str) -> str:
        path = self._path(rel)
        data = self.reads.file(path) if path is not None else None
        if data is None:
            quoted = go_quote(rel)
            raise GoError(f"{{{{ .Files.Get {quoted} }}}}: the file {quoted} not found in the "
                          "project directory")
        return from_go_bytes(data)

    def glob(self, pattern: str) -> dict[str, Any]:
        try:
            matches = self.reads.glob("", pattern)
        except BadPattern as exc:
            raise GoError(str(exc)) from None
        found: dict[str, Any] = {}
        for rel in matches:
            data = self.reads.file(self.project_dir / rel)
            if data is None:
                raise GoError(f"the file {go_quote(rel)} not found in the project directory")
            found[rel] = from_go_bytes(data)
        return found

    def exists(self, rel: str) -> bool:
        path = self._path(rel)
        return path is not None and self.reads.kind(path) in ("file", "dir", "other")

    def is_dir(self, rel: str) -> bool:
        path = self._path(rel)
        return path is not None and self.reads.kind(path) == "dir"


class LazyCommit(GoMap):
    """werf's ``.Commit`` map ({Hash, Date: {Human, Unix}}), read from git on first use."""

    __slots__ = ("_load", "_loaded")

    def __init__(self, load: Callable[[], tuple[str, str, str] | None]) -> None:
        super().__init__((), MAP_ANY)
        self._load = load
        self._loaded = False

    def _fill(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        info = self._load()
        if info is None:
            raise GoError(".Commit needs a git repository, and the project directory is "
                          "not in one")
        commit, unix, human = info
        super().update({"Hash": commit, "Date": GoMap({"Human": human, "Unix": unix},
                                                      "map[string]string")})

    def get(self, key: Any, default: Any = None) -> Any:
        self._fill()
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self._fill()
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._fill()
        return super().__contains__(key)

    def __iter__(self) -> Iterator[Any]:
        self._fill()
        return super().__iter__()

    def __len__(self) -> int:
        self._fill()
        return super().__len__()

    def keys(self) -> Any:
        self._fill()
        return super().keys()

    def items(self) -> Any:
        self._fill()
        return super().items()

    def values(self) -> Any:
        self._fill()
        return super().values()


# --- hints for template errors ---------------------------------------------------------------

def hint_for(message: str, templates: Templates | None, missing_dir: str = "") -> str:
    """What to do about a template error, by what it says (``missing_dir``: a templates
    directory that was asked for and does not exist)."""
    if m := re.search(r'function "([^"]+)" not defined', message):
        names = sorted(templates.funcs) if templates else []
        near = difflib.get_close_matches(m.group(1), names, n=1, cutoff=0.75)
        if near:
            return f"did you mean '{near[0]}'?"
        return ("dockwright has Go's built-in template functions, sprig's and werf's "
                "(the README lists them)")
    if m := re.search(r'env name "([^"]+)" not allowed by giterminism', message):
        return (f"allow it in werf-giterminism.yaml: 'config: {{goTemplateRendering: "
                f"{{allowEnvVariables: [{m.group(1)}]}}}}' (a name or /regex/), or run with "
                "--loose-giterminism")
    if m := re.search(r'environment variable "([^"]+)" must be set', message):
        return (f"set {m.group(1)}, give env a default ({{{{ env \"{m.group(1)}\" \"value\" "
                "}}), or run with --loose-giterminism")
    if "not found in the project directory" in message:
        return "paths given to .Files are relative to the project directory"
    if m := re.search(r'(?:no template|template) "([^"]+)"(?: associated| not defined)',
                      message):
        names = sorted(n for n in (templates.trees if templates else {})
                       if not n.startswith("tpl-") and n != (templates.name if templates
                                                              else ""))
        if missing_dir:
            return f"the templates directory {missing_dir} does not exist"
        near = difflib.get_close_matches(m.group(1), names, n=1)
        if near:
            return f"did you mean '{near[0]}'?"
        return ("define it with {{ define \"NAME\" }}...{{ end }} in werf.yaml or in a "
                ".werf/*.tmpl file" + (f"; defined: {', '.join(names)}" if names else ""))
    if "error calling required:" in message:
        return "give the value that 'required' asks for; its message says which"
    if "error calling fail:" in message:
        return "the template stops here on purpose (fail): do what its message says"
    if "more than 1 optional argument prohibited" in message:
        return "env takes a variable name and at most one default: {{ env \"NAME\" \"default\" }}"
    if "index out of range" in message:
        return "the list is shorter than that: check it with len, or use first/last"
    if "incompatible types for comparison" in message or "invalid type for comparison" in \
            message:
        return ("eq, ne, lt, le, gt and ge compare values of one kind: convert with int, "
                "float64 or toString first")
    if "range can't iterate over" in message:
        return "range takes a list, a map or an integer"
    if "invalid value; expected" in message:
        return ("a value that does not exist (a missing key?) was given to a function that "
                "needs one: check the name, or give a default with default")
    if "is not implemented by dockwright" in message:
        return "the README lists the sprig functions dockwright implements"
    if "wrong type for value" in message or "expected integer" in message:
        return ("the function takes arguments of other Go types: convert with int, int64, "
                "float64 or toString (sprig's add, sub, mul, div return int64)")
    if "nil pointer evaluating" in message:
        return "the value before the field is null: test it with if/with or use default"
    if "exceeded maximum template depth" in message:
        return "a template includes itself without end: give the recursion a way to stop"
    if "undefined variable" in message:
        return ("declare it first with {{ $name := ... }}; variables do not reach into "
                "define, template or include")
    if "wrong number of args" in message:
        return "give the function the number of arguments it takes"
    if "unexpected EOF" in message or "unclosed action" in message:
        return ("every {{ if }}, {{ range }}, {{ with }}, {{ define }} needs its {{ end }}, "
                "and every {{ needs its }}")
    return "fix the template at that place"
