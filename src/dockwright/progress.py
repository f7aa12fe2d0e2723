"""What a build shows while it runs: plain lines (CI, pipes, ``--log-format plain``), a live
view on a terminal, or nothing but errors (``--quiet``).

Reporters are called from several build threads; each keeps its lines whole.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.table import Table

class State(StrEnum):
    """Where an image is in the build (the live view's column, in this order)."""

    WAITING = "waiting"
    RESOLVING = "resolving"
    REUSED = "reused"
    BUILDING = "building"
    PUSHING = "pushing"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


STATES = tuple(State)


class Reporter(Protocol):
    def message(self, image: str, text: str) -> None:
        """A whole line about ``image`` ("" for the build as a whole)."""

    def output(self, image: str, line: str) -> None:
        """A line of Buildah's output while ``image`` builds."""

    def state(self, image: str, state: State, detail: str = "") -> None:
        """``image`` moved to ``state`` (one of STATES)."""

    def close(self) -> None:
        """The build is over: stop any live display."""


class Plain:
    """Whole lines prefixed with the image name; lines of parallel builds never mix."""

    def __init__(self, stream: IO[str] | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self._lock = threading.Lock()

    def _print(self, image: str, text: str) -> None:
        line = f"[{image}] {text}" if image else text
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def message(self, image: str, text: str) -> None:
        if not self.quiet or text.startswith("warning:"):
            self._print(image, text)

    def output(self, image: str, line: str) -> None:
        if not self.quiet:
            self._print(image, line)

    def state(self, image: str, state: State, detail: str = "") -> None:
        if state in ("failed", "skipped") and not self.quiet:
            self._print(image, f"{state}: {detail}" if detail else state)

    def close(self) -> None:
        pass


@dataclass
class _Row:
    state: str = "waiting"
    detail: str = ""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=30))


class Live:
    """A live table of every image (rich), refreshed a few times a second."""

    def __init__(self, images: list[str], stream: IO[str] | None = None) -> None:
        from rich.console import Console
        from rich.live import Live as RichLive

        self.console = Console(file=stream or sys.stderr)
        self.rows = {name: _Row() for name in images}
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._live = RichLive(get_renderable=self._render, console=self.console,
                              refresh_per_second=8, transient=False)
        self._live.start()

    def _render(self) -> Table:
        from rich.table import Table

        table = Table(box=None, show_header=False, pad_edge=False)
        style = {"done": "green", "reused": "green", "failed": "bold red", "skipped": "yellow",
                 "building": "cyan", "pushing": "cyan", "resolving": "blue"}
        now = time.monotonic()
        with self._lock:
            for name, row in self.rows.items():
                elapsed = (row.finished or now) - row.started
                shown = "" if row.state == "waiting" else f"{elapsed:5.1f}s"
                table.add_row(name, f"[{style.get(row.state, 'dim')}]{row.state}[/]", shown,
                              row.detail[:100])
        return table

    def message(self, image: str, text: str) -> None:
        if image and image in self.rows:
            with self._lock:
                self.rows[image].detail = text
            return
        self.console.print(text, highlight=False, markup=False)

    def output(self, image: str, line: str) -> None:
        with self._lock:
            row = self.rows[image]
            row.tail.append(line)
            if "STEP " in line:
                row.detail = line[line.index("STEP "):]

    def state(self, image: str, state: State, detail: str = "") -> None:
        with self._lock:
            row = self.rows[image]
            if row.state == "waiting":
                row.started = time.monotonic()
            row.state = state
            if detail:
                row.detail = detail
            if state in ("done", "reused", "failed", "skipped"):
                row.finished = time.monotonic()
            tail = list(row.tail) if state == "failed" else []
        for line in tail:  # a failed build shows its last lines above the table
            self.console.print(f"[{image}] {line}", highlight=False, markup=False)

    def close(self) -> None:
        if self._live.is_started:
            self._live.stop()
