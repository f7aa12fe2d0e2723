"""The instruction cache: a key for every Dockerfile instruction, and the Dockerfile that
Buildah is given so that the instructions before the first changed one are not run again.

A step's key is a chain, like a layer's ID: the key of the step before it (for the first
step of a stage, the stage's start: its base image's ID, or the last key of the stage it
builds on), its resolved text (ARG and ENV values included, so a changed ARG value changes
it and every step after it), and the content of what it reads: the context files of
COPY/ADD and of ``RUN --mount=type=bind`` sources, the last keys of the stages it copies or
mounts from, the IDs of the images it copies or mounts from. Secret values are never an
input: only the text naming a secret is.

Buildah builds with ``--layers``: each step is kept as an image. dockwright records which
image each step made (``StepIds`` reads Buildah's output) under the step's key and gives
Buildah a derived Dockerfile (``derive``):

- each stage that a cached prefix covers starts ``FROM <image of its last cached step>``
  and keeps only the steps after it (and its ARG lines, which an image does not keep);
- a RUN with a bind mount is preceded by ``ARG DOCKWRIGHT_BIND_SOURCES=<digest of the
  sources>``: Buildah's own cache key does not cover what a bind mount reads, and would
  reuse the layer of a RUN whose mounted files changed (werf issue 6823).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from dockwright.dockerfile import Analysis, Dockerfile, Step

KEY_VERSION = "1"
LAYER_STEPS = frozenset({"RUN", "COPY", "ADD"})  # the steps whose images are worth a pull
BIND_ARG = "DOCKWRIGHT_BIND_SOURCES"
TAG_PREFIX = "cache-"  # a step's image in a --repo registry: <repo>:cache-<key>
# what a LABEL line may hold between its quotes without Dockerfile escapes or expansion
SAFE_LABEL_RE = re.compile(r"^[A-Za-z0-9._/:@+~-]+$")
MAX_FILES = 200  # a step's files are remembered (to name what changed) up to this many

Files = tuple[tuple[str, str], ...]  # (path, "<mode> <checksum>")


def _h(*parts: str) -> str:
    h = hashlib.sha3_224()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part.encode())
    return h.hexdigest()


@dataclass(frozen=True)
class Keyed:
    """A step with its key and what the key was made of (to say why it changed)."""

    step: Step
    key: str
    parent: str  # the key it chains from
    sources: str  # digest of the context files it reads ("" when none)
    files: Files = ()  # those files, when at most MAX_FILES
    reads: tuple[str, ...] = ()  # keys of stages and IDs of images it reads

    @property
    def where(self) -> tuple[int, int]:
        return self.step.stage, self.step.position

    @property
    def bind_digest(self) -> str:
        """What a RUN's bind mounts read (context files, stages, images), as one digest."""
        return _h(self.sources, *self.reads)


@dataclass(frozen=True)
class Chain:
    """The keys of every used stage's steps, in build order."""

    steps: tuple[Keyed, ...]

    def of_stage(self, stage: int) -> list[Keyed]:
        return [k for k in self.steps if k.step.stage == stage]


def chain(analysis: Analysis, salt: str, base_ids: Mapping[str, str | None],
          read: Callable[[tuple[str, ...]], tuple[str, Files]]) -> Chain:
    """The keys of ``analysis``'s steps. ``salt`` holds what every key depends on (the
    project, whose label the steps carry, the platform, cacheVersion); ``read`` gives, for
    context patterns, one digest of the files they name with their checksums, and those
    files when there are at most MAX_FILES (to name the ones that changed)."""
    steps: list[Keyed] = []
    ends: dict[int, str] = {}  # each stage's last key
    by_stage: dict[int, list[Step]] = {}
    for step in analysis.steps:
        by_stage.setdefault(step.stage, []).append(step)
    for head in analysis.heads:
        if head.parent is not None:
            start = _h(KEY_VERSION, salt, "stage", ends[head.parent])
        else:
            base = base_ids.get(head.base) if head.base.lower() != "scratch" else "scratch"
            start = _h(KEY_VERSION, salt, "image", head.base, base or "(not present locally)")
        previous = start
        for step in by_stage.get(head.stage, []):
            sources, files = read(step.sources) if step.sources else ("", ())
            reads = tuple([ends[s] for s in step.stages] +
                          [f"{ref}@{base_ids.get(ref) or '(not present locally)'}"
                           for ref in step.images])
            key = _h(previous, step.text, sources, *reads)
            steps.append(Keyed(step, key, previous, sources, files, reads))
            previous = key
        ends[head.stage] = previous
    return Chain(tuple(steps))


def reusable(steps: list[Keyed]) -> int:
    """How many of a stage's first steps a cached image may stand for: not past an ONBUILD
    (an image keeps its triggers, which a FROM of it would run again)."""
    for n, keyed in enumerate(steps):
        if keyed.step.cmd == "ONBUILD":
            return n
    return len(steps)


# -- the Dockerfile Buildah gets --------------------------------------------------------------

@dataclass(frozen=True)
class Derived:
    """A derived Dockerfile and, per stage, what each of its steps after FROM stands for: a
    position in the original stage, or None for a line dockwright added or kept (ARG)."""

    text: str
    layout: tuple[tuple[int | None, ...], ...]


def label_line(labels: Sequence[tuple[str, str]]) -> str | None:
    """One LABEL instruction setting ``labels``; None when a key or value holds a character
    a Dockerfile would read otherwise (quotes, escapes, ``$``, spaces): those go as
    ``--label`` flags."""
    if not labels or not all(SAFE_LABEL_RE.match(k) and SAFE_LABEL_RE.match(v)
                             for k, v in labels):
        return None
    return "LABEL " + " ".join(f'"{k}"="{v}"' for k, v in labels) + "\n"


def derive(source: str, df: Dockerfile, binds: Mapping[tuple[int, int], str],
           prefixes: Mapping[int, tuple[int, str]], labels: tuple[str, str] = ("", ""),
           label_stage: int = -1) -> Derived:
    """``source`` (the Dockerfile's text) as Buildah gets it (module doc). ``binds`` maps a
    RUN's (stage, position) to the digest of what its bind mounts read; ``prefixes`` maps a
    stage to (how many of its first steps are cached, the image that holds them).
    ``labels`` are two LABEL lines (``label_line``; "" for none): the first follows the FROM
    of every stage that starts from no cached prefix (its steps' images inherit it; a
    prefix's image has it already), the second ends the stage ``label_stage``, the target."""
    head, tail = labels
    lines = source.splitlines(keepends=True)
    starts = [i.line for i in df.meta_args]
    for stage in df.stages:
        starts += [stage.line, *(i.line for i in stage.instructions)]
    bounds = [*starts[1:], len(lines) + 1]

    def segment(n: int) -> str:
        text = "".join(lines[starts[n] - 1:bounds[n] - 1])
        return text if text.endswith("\n") else text + "\n"

    out = ["".join(lines[:starts[0] - 1])]
    n = 0
    for _ in df.meta_args:
        out.append(segment(n))
        n += 1
    layout: list[tuple[int | None, ...]] = []
    for stage in df.stages:
        prefix = prefixes.get(stage.index)
        positions: list[int | None] = []
        if prefix is not None:
            name = f" AS {stage.name}" if stage.name else ""
            out.append(f"FROM {prefix[1]}{name}\n")
        else:
            out.append(segment(n))
            if head:
                out.append(head)
                positions.append(None)
        n += 1
        for position, ins in enumerate(stage.instructions):
            text = segment(n)
            n += 1
            if prefix is not None and position < prefix[0]:
                if ins.cmd == "ARG":  # an image keeps ENV, not ARG: declare it again
                    out.append(text)
                    positions.append(None)
                continue
            if (stage.index, position) in binds:
                out.append(f"ARG {BIND_ARG}={binds[stage.index, position]}\n")
                positions.append(None)
            out.append(text)
            positions.append(position)
        if tail and stage.index == label_stage:
            out.append(tail)
            positions.append(None)
        layout.append(tuple(positions))
    return Derived("".join(out), tuple(layout))


# -- what Buildah did -------------------------------------------------------------------------

STEP_RE = re.compile(r"^(?:\[(\d+)/\d+\] )?STEP (\d+)/\d+: ")
ID_RE = re.compile(r"^--> (Using cache )?([0-9a-f]{11,64})\s*$")
FINAL_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class StepIds:
    """Reads Buildah's output line by line: the image each step made, by (stage, step);
    steps are counted as Buildah does (stage from 0, step 2 is the first after FROM).

    Buildah prints a new step's image (``--> <short ID>``) only without ``--iidfile``; the
    image it built is then the last line, in full (``final``)."""

    ids: dict[tuple[int, int], str] = field(default_factory=dict)
    from_cache: set[tuple[int, int]] = field(default_factory=set)
    final: str = ""
    _at: tuple[int, int] | None = None

    def feed(self, line: str) -> None:
        if FINAL_RE.match(line):
            self.final = line
            return
        step = STEP_RE.match(line)
        if step:
            self._at = (int(step[1] or 1) - 1, int(step[2]))
            return
        found = ID_RE.match(line)
        if found and self._at is not None:
            known = self.ids.get(self._at, "")
            if len(found[2]) > len(known):  # "Using cache <full ID>", then "--> <short>"
                self.ids[self._at] = found[2]
            if found[1]:
                self.from_cache.add(self._at)

    def by_place(self, derived: Derived) -> dict[tuple[int, int], tuple[str, bool]]:
        """(image ID as printed, from Buildah's cache) by (stage, position) in the original."""
        out: dict[tuple[int, int], tuple[str, bool]] = {}
        for (stage, step), image in self.ids.items():
            if stage >= len(derived.layout) or not 2 <= step <= len(derived.layout[stage]) + 1:
                continue
            position = derived.layout[stage][step - 2]
            if position is not None:
                out[stage, position] = (image, (stage, step) in self.from_cache)
        return out


# -- why a step runs --------------------------------------------------------------------------

@dataclass(frozen=True)
class Record:
    """What an earlier build knew of a step: enough to say what changed."""

    text: str
    key: str
    parent: str
    sources: str
    files: Files
    reads: tuple[str, ...]

    @classmethod
    def of(cls, keyed: Keyed) -> Record:
        return cls(keyed.step.text, keyed.key, keyed.parent, keyed.sources, keyed.files,
                   keyed.reads)


def why(keyed: Keyed, before: Record | None, earlier_runs: bool) -> str:
    """Why a step that is not cached runs."""
    if earlier_runs:
        return "a step before it runs"
    if before is None:
        return "no earlier build of this step"
    if before.key == keyed.key:
        return "its cached image is gone"
    if before.text != keyed.step.text:
        return f"its text changed (was: {short(before.text)})"
    if before.sources != keyed.sources:
        changed = changed_files(before.files, keyed.files)
        return "files it reads changed" + (f": {changed}" if changed else "")
    if before.reads != keyed.reads:
        return "a stage or image it reads changed"
    return "its base changed"


def changed_files(old: Files, new: Files, most: int = 5) -> str:
    was, now = dict(old), dict(new)
    if not was and not now:
        return ""
    names = sorted(p for p in was.keys() | now.keys() if was.get(p) != now.get(p))
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def layer_keys(steps: Iterable[Keyed]) -> list[Keyed]:
    return [k for k in steps if k.step.cmd in LAYER_STEPS]
