"""Dockerfile analysis on top of BuildKit's own parser (PyPI ``dockerfile``).

For one target this answers: which stages it uses, every instruction of those stages with
ARG/ENV values resolved, the base images it pulls in, and the context paths COPY/ADD read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import dockerfile as bk

from dockwright.errors import DockerfileError

INSTRUCTIONS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
# Instructions whose arguments Docker expands with ARG/ENV values.
EXPANDED = frozenset({"ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER",
                      "VOLUME", "WORKDIR", "ONBUILD"})
# Args that BuildKit defines itself; they may be used without a declaration.
_URL_RE = re.compile(r"^(https?|git)://|^git@")


@dataclass(frozen=True)
class Instruction:
    line: int
    cmd: str
    flags: tuple[str, ...]
    value: tuple[str, ...]
    json: bool
    heredocs: tuple[str, ...]
    original: str


@dataclass(frozen=True)
class Stage:
    index: int
    name: str | None
    base: str  # as written, before expansion
    line: int
    instructions: tuple[Instruction, ...]  # after FROM


@dataclass(frozen=True)
class Dockerfile:
    path: Path
    display: str
    meta_args: tuple[Instruction, ...]  # ARGs before the first FROM
    stages: tuple[Stage, ...]
    text: str = ""  # as read (the instruction cache derives Buildah's Dockerfile from it)


@dataclass(frozen=True)
class ContextSource:
    """A path the build reads from the context: a COPY/ADD source, or a RUN's bind mount."""

    stage: int
    line: int
    pattern: str  # relative to the context, as written after expansion
    mount: bool = False  # a RUN --mount=type=bind source


@dataclass(frozen=True)
class Step:
    """One instruction of a used stage, with what its cache key must cover (steps.py)."""

    stage: int
    position: int  # index in Stage.instructions
    line: int
    cmd: str
    text: str  # canonical, resolved (as in Analysis.instructions, without the stage prefix)
    sources: tuple[str, ...] = ()  # context paths read: COPY/ADD sources, bind mount sources
    stages: tuple[int, ...] = ()  # stages read (COPY --from, RUN --mount from=)
    images: tuple[str, ...] = ()  # external images read the same ways
    binds: bool = False  # RUN with a bind mount: Buildah's own cache key ignores its sources


@dataclass(frozen=True)
class Head:
    """Where a used stage starts: an earlier stage, or an image (``scratch`` included)."""

    stage: int
    parent: int | None
    base: str  # expanded; "" when ``parent`` is set


@dataclass(frozen=True)
class Analysis:
    """What one target of a Dockerfile depends on."""

    target_stage: int
    used_stages: tuple[int, ...]  # in build order
    instructions: tuple[str, ...]  # canonical, resolved text, one per instruction
    bases: tuple[str, ...]  # external images (FROM, COPY --from, RUN --mount from)
    sources: tuple[ContextSource, ...]
    remote_sources: tuple[str, ...]  # ADD of URLs: recorded as text only
    heredoc_lines: tuple[int, ...] = ()  # lines of the instructions with heredocs (<<EOF)
    heads: tuple[Head, ...] = ()  # one per used stage, in build order
    steps: tuple[Step, ...] = ()  # the instructions of the used stages, in build order


# flags that take a value, which must be joined to them with '=' (--from=stage)
VALUE_FLAGS = {"COPY": ("from", "chown", "chmod", "exclude"),
               "ADD": ("chown", "chmod", "checksum", "exclude"),
               "RUN": ("mount", "network", "security")}


def parse(path: Path, display: str | None = None) -> Dockerfile:
    display = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DockerfileError("the Dockerfile is not UTF-8 text", "save it as UTF-8",
                              where=display) from None
    try:
        commands = bk.parse_string(text)
    except bk.GoParseError as exc:
        if "no instructions" in str(exc):
            raise _no_from(display) from None
        raise DockerfileError(f"Dockerfile does not parse: {exc}",
                              "fix the Dockerfile syntax", where=display) from None
    meta: list[Instruction] = []
    stages: list[Stage] = []
    current: list[Instruction] | None = None
    head: tuple[str | None, str, int] | None = None
    for c in commands:
        cmd = c.cmd.upper()
        ins = Instruction(c.start_line, cmd, tuple(c.flags), tuple(c.value), bool(c.json),
                          tuple(h.content for h in c.heredocs), c.original)
        if cmd not in INSTRUCTIONS:
            raise DockerfileError(f"unknown instruction: {c.cmd}",
                                  f"valid instructions: {', '.join(sorted(INSTRUCTIONS))}",
                                  where=f"{display}:{c.start_line}")
        for flag in ins.flags:
            if flag[2:] in VALUE_FLAGS.get(cmd, ()):
                following = f"{flag}={ins.value[0]}" if ins.value else f"{flag}=VALUE"
                raise DockerfileError(f"{cmd} {flag} has no value: a space does not join a "
                                      "flag to its value (Buildah refuses it)",
                                      f"join them with '=': {cmd} {following} ...",
                                      where=f"{display}:{c.start_line}")
        if cmd == "FROM":
            if current is not None and head is not None:
                stages.append(Stage(len(stages), head[0], head[1], head[2], tuple(current)))
            value = ins.value
            if len(value) == 3 and value[1].upper() == "AS":
                head = (value[2].lower(), value[0], ins.line)
            elif len(value) == 1:
                head = (None, value[0], ins.line)
            else:
                raise DockerfileError("FROM takes an image and an optional 'AS name'",
                                      "write 'FROM image' or 'FROM image AS name'",
                                      where=f"{display}:{ins.line}")
            current = []
        elif current is None:
            if cmd != "ARG":
                raise DockerfileError(f"{cmd} before the first FROM",
                                      "only ARG may come before FROM",
                                      where=f"{display}:{ins.line}")
            meta.append(ins)
        else:
            current.append(ins)
    if current is None or head is None:
        raise _no_from(display)
    stages.append(Stage(len(stages), head[0], head[1], head[2], tuple(current)))
    first: dict[str, Stage] = {}
    for stage in stages:
        if stage.name is None:
            continue
        if stage.name in first:
            raise DockerfileError(f"stage name '{stage.name}' is used twice",
                                  f"give each stage its own name (the first is at line "
                                  f"{first[stage.name].line})", where=f"{display}:{stage.line}")
        first[stage.name] = stage
    return Dockerfile(path, display, tuple(meta), tuple(stages), text)


def _no_from(display: str) -> DockerfileError:
    return DockerfileError("the Dockerfile has no FROM instruction",
                           "start the build stage with 'FROM image' or 'FROM scratch'",
                           where=display)


# ---------------------------------------------------------------------------------------------
# Word expansion as Docker's shell lexer does it: $VAR, ${VAR}, ${VAR:-x}, ${VAR:+x}, quotes.

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OP_RE = re.compile(r":?[-+]")


def _closing_brace(word: str, start: int) -> int:
    """Index of the '}' that closes a '${' whose name starts at ``start`` (nesting counted)."""
    depth = 1
    i = start
    while i < len(word):
        ch = word[i]
        if ch == "\\":
            i += 2
            continue
        if word.startswith("${", i):
            depth += 1
            i += 2
            continue
        if ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _variable(word: str, i: int, env: Mapping[str, str]) -> tuple[str, int] | None:
    """The value of the reference at ``word[i] == '$'`` and where it ends, or None."""
    if word.startswith("${", i):
        name = _NAME_RE.match(word, i + 2)
        if not name:
            return None
        end = _closing_brace(word, name.end())
        if end == -1:
            return None
        value = env.get(name.group())
        op = _OP_RE.match(word, name.end(), end)
        if op is None:
            if name.end() != end:
                return None  # an operator dockwright does not know: keep the text
            return value or "", end + 1
        alt = word[op.end():end]
        if op.group().endswith("-"):
            if (not value) if op.group().startswith(":") else value is None:
                value = expand(alt, env, unquote=False)
        elif (value if op.group().startswith(":") else value is not None):
            value = expand(alt, env, unquote=False)
        else:
            value = ""
        return value or "", end + 1
    name = _NAME_RE.match(word, i + 1)
    if not name:
        return None
    return env.get(name.group()) or "", name.end()


def expand(word: str, env: Mapping[str, str], *, unquote: bool = True) -> str:
    out: list[str] = []
    i = 0
    quote: str | None = None
    while i < len(word):
        ch = word[i]
        if ch == "\\" and quote != "'" and i + 1 < len(word):
            out.append(word[i + 1] if unquote else word[i:i + 2])
            i += 2
            continue
        if unquote and ch in "'\"" and (quote is None or quote == ch):
            quote = None if quote == ch else ch
            i += 1
            continue
        if ch == "$" and quote != "'":
            found = _variable(word, i, env)
            if found:
                out.append(found[0])
                i = found[1]
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _pairs(ins: Instruction) -> list[tuple[str, str | None]]:
    """NAME=value pairs of ARG/ENV/LABEL (ENV's legacy 'ENV NAME value' included)."""
    if ins.cmd == "ARG":
        pairs: list[tuple[str, str | None]] = []
        for item in ins.value:
            name, eq, default = item.partition("=")
            pairs.append((name, default if eq else None))
        return pairs
    values = list(ins.value)
    return [(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]


def analyze(df: Dockerfile, target: str | None, build_args: Mapping[str, str]) -> Analysis:
    """Resolve ``target`` of ``df`` with ``build_args`` (the values werf.yaml passes)."""
    by_name = {s.name: s for s in df.stages if s.name}
    if target is None:
        target_stage = df.stages[-1]
    elif target.lower() in by_name:
        target_stage = by_name[target.lower()]
    else:
        names = ", ".join(s.name for s in df.stages if s.name) or "none"
        raise DockerfileError(f"target stage '{target}' not found in the Dockerfile",
                              f"stages with a name: {names}", where=df.display)

    meta_env: dict[str, str] = {}
    for ins in df.meta_args:
        for name, default in _pairs(ins):
            if name in build_args:
                meta_env[name] = build_args[name]
            elif default is not None:
                meta_env[name] = expand(default, meta_env)

    def stage_ref(ref: str, line: int) -> Stage | None:
        if ref.lower() in by_name:
            return by_name[ref.lower()]
        if ref.isdigit():
            index = int(ref)
            if index >= len(df.stages):
                raise DockerfileError(f"stage index {index} does not exist",
                                      f"stages are counted from 0; this Dockerfile has "
                                      f"{len(df.stages)}", where=f"{df.display}:{line}")
            return df.stages[index]
        return None

    # Each stage is resolved once its parent and the stages it copies from are: a
    # ``--from`` value is known only after expanding it with the stage's ARG/ENV values.
    order: list[int] = []
    stage_env: dict[int, dict[str, str]] = {}
    stage_lines: dict[int, list[str]] = {}
    bases: list[str] = []
    sources: list[ContextSource] = []
    remote: list[str] = []
    heredocs: list[int] = []
    heads: dict[int, Head] = {}
    steps: dict[int, list[Step]] = {}

    def used_stage(ref: str, stage: Stage, line: int) -> Stage | None:
        used = stage_ref(ref, line)
        if used is not None and used.index >= stage.index:
            raise DockerfileError(f"--from={ref} refers to this or a later stage",
                                  "a stage can only use stages above it",
                                  where=f"{df.display}:{line}")
        return used

    def visit(stage: Stage) -> None:
        if stage.index in stage_env:
            return
        base = expand(stage.base, meta_env)
        if not base:
            raise DockerfileError(f"FROM {stage.base}: the image name is empty after "
                                  "expanding build args",
                                  "give the arg a value in 'args' or a default in the "
                                  "Dockerfile", where=f"{df.display}:{stage.line}")
        parent = stage_ref(base, stage.line)
        if parent is not None and parent.index >= stage.index:
            raise DockerfileError(f"FROM {base}: a stage can only build on an earlier stage",
                                  "move the stage it builds on above it",
                                  where=f"{df.display}:{stage.line}")
        label = f"stage {stage.index}" + (f" ({stage.name})" if stage.name else "")
        lines: list[str] = []
        if parent is not None:
            visit(parent)
            lines.append(f"{label}: FROM stage {parent.index}")
            heads[stage.index] = Head(stage.index, parent.index, "")
        else:
            lines.append(f"{label}: FROM {base}")
            heads[stage.index] = Head(stage.index, None, base)
            if base.lower() != "scratch":
                bases.append(base)
        env: dict[str, str] = dict(stage_env[parent.index]) if parent else {}
        args: dict[str, str] = {}
        own: list[Step] = []
        for position, ins in enumerate(stage.instructions):
            if ins.heredocs:
                heredocs.append(ins.line)
            scope = {**args, **env}
            text = _canonical(ins, scope, args, env, build_args, meta_env)
            lines.append(f"{label}: {text}")
            read_stages: list[int] = []
            read_images: list[str] = []
            for raw in _from_refs(ins):
                ref = expand(raw, scope)
                used = used_stage(ref, stage, ins.line)
                if used is None:
                    bases.append(ref)
                    read_images.append(ref)
                else:
                    visit(used)
                    read_stages.append(used.index)
            binds = [expand(src, scope) for src in _bind_sources(ins)]
            for src in binds:
                sources.append(ContextSource(stage.index, ins.line, src, mount=True))
            step = Step(stage.index, position, ins.line, ins.cmd, text, tuple(binds),
                        tuple(read_stages), tuple(read_images),
                        ins.cmd == "RUN" and any(_mount_type(m) == "bind"
                                                 for m in _mounts(ins)))
            own.append(step)
            if ins.cmd not in ("COPY", "ADD") or _flag(ins, "from") is not None \
                    or ins.heredocs:
                continue
            words = [expand(w, scope) for w in ins.value[:-1]]
            if not words:
                raise DockerfileError(f"{ins.cmd} needs a source and a destination",
                                      f"write '{ins.cmd} SOURCE... DESTINATION'",
                                      where=f"{df.display}:{ins.line}")
            for word in words:
                if ins.cmd == "ADD" and _URL_RE.match(word):
                    remote.append(word)
                else:
                    sources.append(ContextSource(stage.index, ins.line, word))
            own[-1] = replace(own[-1], sources=tuple(w for w in words
                                                      if not (ins.cmd == "ADD"
                                                              and _URL_RE.match(w))))
        steps[stage.index] = own
        stage_env[stage.index] = env
        stage_lines[stage.index] = lines
        order.append(stage.index)

    visit(target_stage)
    lines = [line for index in order for line in stage_lines[index]]
    sources.sort(key=lambda s: order.index(s.stage))
    return Analysis(target_stage.index, tuple(order), tuple(lines), tuple(dict.fromkeys(bases)),
                    tuple(sources), tuple(dict.fromkeys(remote)), tuple(sorted(heredocs)),
                    tuple(heads[i] for i in order),
                    tuple(step for i in order for step in steps[i]))


def _flag(ins: Instruction, name: str) -> str | None:
    prefix = f"--{name}="
    for flag in ins.flags:
        if flag.startswith(prefix):
            return flag[len(prefix):]
    return None


def _mounts(ins: Instruction) -> list[dict[str, str]]:
    """The ``--mount`` options of a RUN, each as {key: value} (a bare key maps to "")."""
    if ins.cmd != "RUN":
        return []
    out = []
    for flag in ins.flags:
        if flag.startswith("--mount="):
            options: dict[str, str] = {}
            for part in flag[len("--mount="):].split(","):
                key, _, value = part.partition("=")
                options[key.strip().lower()] = value.strip()
            out.append(options)
    return out


def _mount_type(options: Mapping[str, str]) -> str:
    return options.get("type", "bind").lower()  # BuildKit's default type is bind


def _bind_sources(ins: Instruction) -> list[str]:
    """What the bind mounts of a RUN read from the build context (none has ``from=``); the
    whole context when ``source`` is not given, as in BuildKit."""
    return [m.get("source", m.get("src", "")) or "." for m in _mounts(ins)
            if _mount_type(m) == "bind" and "from" not in m]


def _from_refs(ins: Instruction) -> list[str]:
    refs: list[str] = []
    if ins.cmd in ("COPY", "ADD"):
        ref = _flag(ins, "from")
        if ref is not None:
            refs.append(ref)
    for options in _mounts(ins):
        if "from" in options:
            refs.append(options["from"])
    return refs


def _canonical(ins: Instruction, scope: dict[str, str], args: dict[str, str],
               env: dict[str, str], build_args: Mapping[str, str],
               meta_env: Mapping[str, str]) -> str:
    """One instruction as resolved text; updates ``args``/``env`` for ARG and ENV."""
    if ins.cmd == "ARG":
        parts = []
        for name, default in _pairs(ins):
            value: str
            if name in build_args:
                value = build_args[name]
            elif default is not None:
                value = expand(default, scope)
            elif name in meta_env:
                value = meta_env[name]
            else:
                value = ""
            args[name] = value
            scope[name] = value
            parts.append(f"{name}={value}")
        return "ARG " + " ".join(parts)
    if ins.cmd == "ENV":
        parts = []
        for name, raw in _pairs(ins):
            resolved = expand(raw or "", scope)
            env[name] = resolved
            scope[name] = resolved
            parts.append(f"{name}={resolved}")
        return "ENV " + " ".join(parts)
    if ins.cmd == "ONBUILD":  # the parser keeps neither its instruction nor its flags
        trigger = ins.original.split(None, 1)[1] if " " in ins.original.strip() else ""
        return f"ONBUILD {' '.join(trigger.split())}".rstrip()
    flags = " ".join(expand(f, scope) if ins.cmd in EXPANDED else f for f in ins.flags)
    if ins.json:
        value = repr(list(ins.value))
    elif ins.cmd in EXPANDED:
        value = " ".join(expand(v, scope) for v in ins.value)
    else:
        value = " ".join(ins.value)
    heredocs = "".join(f"\n<<{h}" for h in ins.heredocs)
    return " ".join(p for p in (ins.cmd, flags, value) if p) + heredocs
