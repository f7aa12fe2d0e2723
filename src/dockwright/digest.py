"""A stage digest from an explicit manifest of its inputs.

The manifest is a list of (key, value) pairs, each key unique, in a fixed order: it can be
printed (``build --explain``), stored, and diffed against the previous build of the image to
say why it was rebuilt. The digest is SHA3-224 over the printed manifest, the hash werf uses
for its content digests (56 hex characters).

The context files an image reads are one entry, ``context``: their count and a SHA-256 over
one line per path (see ``context.ContextSet``), so that an unchanged context of 100,000
files costs one cached value, not 100,000 manifest lines. The per-path lines behind it are
kept beside the entries (``details``) when they were computed: ``--explain`` prints them and
a rebuild names the paths that changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

MANIFEST_VERSION = "2"
CONTEXT = "context"

Details = tuple[tuple[str, str], ...]  # (path, "<mode> <checksum>") behind the context entry


@dataclass(frozen=True)
class Manifest:
    entries: tuple[tuple[str, str], ...]
    details: Details | None = None  # not part of the digest: the context entry stands for it

    def _text_lines(self) -> Iterator[str]:
        """One ``key<TAB>value`` line per input; tabs, newlines and backslashes in keys and
        values are escaped, so that no two manifests have the same text."""
        return (f"{_escape(key)}\t{_escape(value)}\n" for key, value in self.entries)

    def text(self) -> str:
        return "".join(self._text_lines())

    @cached_property
    def digest(self) -> str:
        return hash_lines(hashlib.sha3_224(), self._text_lines())

    def expanded(self) -> Iterator[tuple[str, str]]:
        """The entries, each context path after the context entry as ``context <path>``."""
        for key, value in self.entries:
            yield key, value
            if key == CONTEXT and self.details is not None:
                for path, detail in self.details:
                    yield f"{CONTEXT} {path}", detail

    def lines(self) -> Iterator[str]:
        """Printable: each input with the SHA-256 of its value (short) and the value."""
        for key, value in self.expanded():
            h = hashlib.sha256(value.encode()).hexdigest()[:12]
            shown = value if len(value) <= 120 else value[:117] + "..."
            yield f"{h}  {key}: {shown}"

    def to_json(self) -> str:
        data: dict[str, object] = {"digest": self.digest,
                                   "entries": [list(e) for e in self.entries]}
        if self.details is not None:
            data["details"] = [list(d) for d in self.details]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        details = data.get("details")
        return cls(tuple((str(k), str(v)) for k, v in data["entries"]),
                   None if details is None else tuple((str(k), str(v)) for k, v in details))


def hash_lines(h: hashlib._Hash, lines: Iterable[str]) -> str:
    """The hex digest of ``lines`` joined, fed in pieces: a listing of 100,000 lines is
    never copied whole."""
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == 4096:
            h.update("".join(chunk).encode())
            chunk.clear()
    h.update("".join(chunk).encode())
    return h.hexdigest()


def diff(old: Manifest, new: Manifest) -> list[str]:
    """What changed from ``old`` to ``new``, one line per input, in manifest order; context
    paths one by one when both sides have them, else the context entry as a whole."""
    both = old.details is not None and new.details is not None
    old_entries = list(old.expanded()) if both else list(old.entries)
    new_entries = list(new.expanded()) if both else list(new.entries)
    before = dict(old_entries)
    after = dict(new_entries)
    out: list[str] = []
    for key, value in new_entries:
        if both and key == CONTEXT:
            continue  # the paths below say what changed
        if key not in before:
            out.append(f"added    {key}: {_short(value)}")
        elif before[key] != value:
            old_text, new_text = _around_change(before[key], value)
            out.append(f"changed  {key}: {old_text} -> {new_text}")
    for key, value in old_entries:
        if key not in after:
            out.append(f"removed  {key}: {_short(value)}")
    return out


def _escape(text: str) -> str:
    if "\\" not in text and "\t" not in text and "\n" not in text:
        return text
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _short(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "..."


def _around_change(old: str, new: str, width: int = 80) -> tuple[str, str]:
    """Both values cut to ``width`` around where they first differ, so the change shows."""
    if len(old) <= width and len(new) <= width:
        return old, new
    start = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
                 min(len(old), len(new)))
    begin = max(0, start - width // 3)

    def cut(text: str) -> str:
        piece = text[begin:begin + width]
        return ("..." if begin else "") + piece + ("..." if begin + width < len(text) else "")

    return cut(old), cut(new)


class ManifestBuilder:
    def __init__(self) -> None:
        self._entries: list[tuple[str, str]] = [("manifest-version", MANIFEST_VERSION)]
        self._keys: set[str] = {"manifest-version"}

    def add(self, key: str, value: str) -> None:
        if key in self._keys:
            raise ValueError(f"manifest key {key!r} added twice")
        self._keys.add(key)
        self._entries.append((key, value))

    def build(self, details: Details | None = None) -> Manifest:
        return Manifest(tuple(self._entries), details)
