"""Render werf.yaml as werf does: Go's text/template with sprig and werf's own functions.

The config file becomes the template named "werfConfig"; every ``**/*.tmpl`` file of the
templates directory (``.werf`` by default) is a template named by its path inside that
directory, parsed first, so the config can ``include`` them. The data is werf's: ``.Files``
(Get, Glob, Exists, IsDir, relative to the project directory), ``.Env`` (``--env``) and
``.Commit`` (the HEAD commit in a git repository).

A render is cached under ``~/.cache/dockwright/render`` with everything it read: the texts
of the config and the templates, the templates directory's listing, every file ``.Files``
touched, every environment variable ``env`` looked up, and HEAD when ``.Commit`` was used.
An unchanged project renders from the cache without importing the template engine.
"""

from __future__ import annotations

import bisect
import hashlib
import marshal
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockwright import __version__, cachefile
from dockwright.config.names import CONFIG_NAMES, GITERMINISM_NAMES, TEMPLATES_DIR
from dockwright.errors import ConfigError

if TYPE_CHECKING:
    from dockwright.config import reads
    from dockwright.config.giterminism import Giterminism
    from dockwright.gotemplate.values import Func

ROOT = "werfConfig"  # the name werf gives the config's template
FORMAT = "1"  # bump when the cached form changes


@dataclass(frozen=True)
class RenderOptions:
    config: str | None = None  # --config: the config file, relative to the project directory
    templates_dir: str | None = None  # --config-templates-dir
    env: str = ""  # --env: the template's .Env
    loose_giterminism: bool = False
    giterminism_config: str | None = None  # --giterminism-config


# A piece of output and where it came from: (rendered offset, file shown, line in that
# file, whether the piece is literal text of the file (else an action's result)).
Span = tuple[int, str, int, bool]


@dataclass(frozen=True)
class Rendered:
    path: Path  # the config file
    display: str  # the config file as messages show it
    text: str  # the rendered config
    templated: bool  # False: the file has no template actions and is its own rendering
    spans: tuple[Span, ...] = ()
    included: tuple[tuple[str, tuple[Span, ...]], ...] = ()  # what include returned, and whence
    read: tuple[str, ...] = ()  # every file the render read (the config first), absolute

    def locate(self, line: int) -> str:
        """``file:line`` for a 0-based line of the rendered text: the template line that
        wrote it, and the rendered line when templating was involved."""
        if not self.templated:
            return f"{self.display}:{line + 1}"
        offset = _line_offset(self.text, line)
        # the first character that is not a space: YAML's node starts there
        while offset < len(self.text) and self.text[offset] in " \t":
            offset += 1
        starts = [s[0] for s in self.spans]
        i = bisect.bisect_right(starts, offset) - 1
        if i < 0:
            return f"{self.display}:{line + 1} (rendered)"
        start, display, src_line, literal = self.spans[i]
        if literal:
            src_line += self.text.count("\n", start, offset)
            return f"{display}:{src_line} (rendered line {line + 1})"
        end = self.spans[i + 1][0] if i + 1 < len(self.spans) else len(self.text)
        line_end = self.text.find("\n", offset)
        wanted = self.text[offset:line_end if line_end >= 0 else len(self.text)].strip()
        inner = self._included_line(wanted, self.text[start:end])
        if inner:
            return f"{inner} (rendered line {line + 1}, through {display}:{src_line})"
        return f"{display}:{src_line} (rendered line {line + 1})"

    def _included_line(self, wanted: str, chunk: str) -> str | None:
        """Where a line that an action wrote came from, when an include gave it: the
        partial's own line (an include's text may reach the output indented, by nindent)."""
        if not wanted:
            return None
        for text, spans in reversed(self.included):
            first = next((x.strip() for x in text.splitlines() if x.strip()), "")
            if first not in chunk:
                continue
            offset = 0
            for row in text.splitlines(keepends=True):
                if row.strip() == wanted:
                    starts = [s[0] for s in spans]
                    at = offset + len(row) - len(row.lstrip())
                    j = bisect.bisect_right(starts, at) - 1
                    if j >= 0 and spans[j][3]:
                        start, display, src_line, _ = spans[j]
                        return f"{display}:{src_line + text.count(chr(10), start, at)}"
                offset += len(row)
        return None


def _one_line(message: str) -> str:
    """An error of several lines (yaml.v2's) as one: an error is one line."""
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


def _line_offset(text: str, line: int) -> int:
    offset = 0
    for _ in range(line):
        nxt = text.find("\n", offset)
        if nxt < 0:
            return len(text)
        offset = nxt + 1
    return offset


def config_path(project_dir: Path, options: RenderOptions) -> Path:
    if options.config:
        path = Path(options.config)
        path = path if path.is_absolute() else project_dir / path
        if not path.is_file():
            raise ConfigError(f"config file {options.config} does not exist",
                              "give --config (or WERF_CONFIG) a werf.yaml that exists, "
                              "relative to the project directory")
        return path
    for name in CONFIG_NAMES:
        if (project_dir / name).is_file():
            return project_dir / name
    raise ConfigError(f"no werf.yaml or werf.yml in {project_dir}",
                      "run dockwright in the project directory, or give --dir DIR or "
                      "--config FILE")


def display_path(path: Path) -> str:
    cwd = Path.cwd()
    return os.path.relpath(path, cwd) if path.is_relative_to(cwd) else str(path)


def render(project_dir: Path, options: RenderOptions, environ: Mapping[str, str],
           cache: Path | None = None) -> Rendered:
    """The rendered config of the project in ``project_dir``; raises ConfigError.
    ``cache`` is dockwright's cache directory (renders and composed YAML go below it)."""
    project_dir = project_dir.resolve()
    path = config_path(project_dir, options)
    display = display_path(path)
    templates = project_dir / (options.templates_dir or TEMPLATES_DIR)
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    if "{{" not in text and not templates.is_dir():
        if options.giterminism_config or any((project_dir / n).exists() for n in GITERMINISM_NAMES):
            from dockwright.config import giterminism

            giterminism.load(project_dir, cache / "yaml" if cache else None,  # werf checks it
                             options.giterminism_config)
        return Rendered(path, display, text, templated=False, read=(str(path),))
    from dockwright.config import reads  # a config with templates only

    key = hashlib.blake2b(repr((FORMAT, __version__, str(project_dir), str(path),
                                str(templates), options)).encode(), digest_size=16).hexdigest()
    entry = cache / "render" / f"{key}.marshal" if cache is not None else None
    if entry is not None:
        hit = reads.still_holds(entry, project_dir, environ)
        if hit is not None:
            out, spans, included, read = hit
            return Rendered(path, display, out, True, spans, included,
                            (str(path), *(r for r in read if r != str(path))))
    record = reads.Reads(project_dir)
    out, spans, included = _Renderer(project_dir, path, display, templates, options, environ,
                                     record, cache).run(text)
    if entry is not None:
        cachefile.write(entry, marshal.dumps((record.frozen(), out, spans, included)))
    read = tuple(p for p, seen in record.files.items() if seen is not None and p != str(path))
    return Rendered(path, display, out, True, spans, included, (str(path), *read))


# --- the render itself (imports the template engine) ----------------------------------------

class _Renderer:
    def __init__(self, project_dir: Path, path: Path, display: str, templates: Path,
                 options: RenderOptions, environ: Mapping[str, str], record: reads.Reads,
                 cache: Path | None) -> None:
        self.project_dir = project_dir
        self.path = path
        self.display = display
        self.templates_dir = templates
        self.options = options
        self.environ = environ
        self.record = record
        self.cache = cache
        self.sources: dict[str, tuple[str, str]] = {}  # template parse name -> (shown, text)
        self.included: list[tuple[str, list[tuple[int, str, int, bool]]]] = []
        self._giterminism: Giterminism | None = None

    def run(self, text: str) -> tuple[str, tuple[Span, ...],
                                      tuple[tuple[str, tuple[Span, ...]], ...]]:
        from dockwright.config import reads
        from dockwright.gotemplate.execute import ExecError
        from dockwright.gotemplate.parse import ParseError
        from dockwright.gotemplate.template import Templates

        self.templates = Templates(ROOT, self.functions())
        self.record.files[str(self.path)] = reads.digest(text.encode("utf-8", "surrogateescape"))
        self.giterminism()  # werf checks the file before rendering, used or not
        try:
            for name, partial in self.partials():
                self.sources[name] = (f"{self.templates_rel()}/{name}", partial)
                self.templates.parse(name, partial)
            self.sources[ROOT] = (self.display, text)
            self.templates.parse(ROOT, text)
            raw: list[tuple[int, str, int, bool]] = []
            out = self.templates.execute(ROOT, self.data(), raw)
        except ParseError as exc:
            raise self.parse_error(exc) from None
        except ExecError as exc:
            raise self.exec_error(exc) from None
        return out, self.spans(raw), tuple((t, self.spans(s)) for t, s in self.included)

    def templates_rel(self) -> str:
        return os.path.relpath(self.templates_dir, self.project_dir)

    def partials(self) -> Iterator[tuple[str, str]]:
        if self.record.kind(self.templates_dir) != "dir":
            return
        for rel in self.record.glob(self.templates_rel(), "**/*.tmpl"):
            data = self.record.file(self.templates_dir / rel)
            yield rel, (data or b"").decode("utf-8", "surrogateescape")

    def spans(self, raw: list[tuple[int, str, int, bool]]) -> tuple[Span, ...]:
        result: list[Span] = []
        for offset, parse_name, pos, literal in raw:
            shown, text = self.sources.get(parse_name, (parse_name, ""))
            result.append((offset, shown, text.count("\n", 0, pos) + 1, literal))
        return tuple(result)

    # -- data and functions
    def data(self) -> dict[str, Any]:
        from dockwright.config import werffuncs

        return {"Files": werffuncs.Files(self.project_dir, self.record), "Env": self.options.env,
                "Commit": werffuncs.LazyCommit(lambda: self.commit())}

    def commit(self) -> tuple[str, str, str] | None:
        from dockwright.config import reads

        info = reads.commit(self.project_dir)
        self.record.head = info[0] if info else None
        return info

    def functions(self) -> dict[str, Func]:
        from dockwright.config import werffuncs

        return werffuncs.function_map(self.templates_lookup, self.env,
                                      self.options.loose_giterminism,
                                      lambda text, spans: self.included.append((text, spans)))

    def templates_lookup(self) -> Any:
        return self.templates

    def giterminism(self) -> Giterminism:
        if self._giterminism is None:
            from dockwright.config import giterminism

            custom = self.options.giterminism_config
            for name in (custom,) if custom else GITERMINISM_NAMES:
                self.record.file(self.project_dir / name)
            self._giterminism = giterminism.load(
                self.project_dir, self.cache / "yaml" if self.cache else None, custom)
        return self._giterminism

    def env(self, name: str) -> tuple[bool, str | None]:
        """(allowed, value) for the template function ``env``."""
        if not self.options.loose_giterminism and not self.giterminism().env_allowed(name):
            return False, None
        return True, self.record.getenv(self.environ, name)

    # -- errors
    def where(self, parse_name: str, line: int, col: int | None) -> str:
        shown = self.sources.get(parse_name, (parse_name, ""))[0]
        if parse_name.startswith("tpl-") and parse_name not in self.sources:
            shown = f"the text given to tpl ({parse_name})"
        return f"{shown}:{line}" + (f":{col}" if col else "")

    def parse_error(self, exc: Any) -> ConfigError:
        from dockwright.config import werffuncs

        col = None
        if exc.pos is not None:
            text = self.sources.get(exc.parse_name, ("", ""))[1]
            col = exc.pos - (text.rfind("\n", 0, exc.pos) + 1) + 1 if text else None
        message = exc.message
        for name, (shown, _) in self.sources.items():  # Go names a file by its template
            message = message.replace(f" {name}:", f" {shown}:")
        return ConfigError(f"template: {message}",
                           werffuncs.hint_for(exc.message, self.templates, self.missing_dir()),
                           where=self.where(exc.parse_name, exc.line, col))

    def exec_error(self, exc: Any) -> ConfigError:
        from dockwright.config import werffuncs

        chain = [exc]
        while chain[-1].inner is not None:
            chain.append(chain[-1].inner)
        deepest = next((e for e in reversed(chain) if e.location() is not None), exc)
        location = deepest.location()
        where = self.where(*location) if location else self.display
        message = deepest.message
        places = [self.where(*loc) for e in reversed(chain) if e is not deepest
                  and (loc := e.location()) is not None]  # innermost first
        runs: list[tuple[str, int]] = []  # a recursion calls from one place many times
        for place in places:
            if runs and runs[-1][0] == place:
                runs[-1] = (place, runs[-1][1] + 1)
            else:
                runs.append((place, 1))
        if runs:
            listed = [f"{p} ({n} times)" if n > 1 else p for p, n in runs]
            if len(listed) > 6:
                listed = [*listed[:3], "...", *listed[-2:]]
            message += f" (called from {', '.join(listed)})"
        return ConfigError(f"template: {_one_line(message)}",
                           werffuncs.hint_for(deepest.message, self.templates,
                                              self.missing_dir()), where=where)

    def missing_dir(self) -> str:
        """The templates directory asked for, when it does not exist."""
        asked = self.options.templates_dir
        return asked if asked and not self.templates_dir.is_dir() else ""
