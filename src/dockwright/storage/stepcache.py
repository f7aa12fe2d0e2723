"""Where the images of cached steps are (see ``dockwright.steps``).

Locally: an index from step key to image ID, one file per store and project in dockwright's
cache directory, next to the manifests of earlier builds; an entry counts only while its
image is in the store. In a ``--repo`` registry (images with ``staged: true``): one tag per
step, ``<repo>:cache-<key>``, pushed by Buildah, which writes the manifest after every blob,
so a tag names a whole image or does not exist. A step's image is the same image
everywhere: its ID is the digest of its config, which a push and a pull keep.

Any cache entry may be missing or unreadable: that is a cache miss, never a failed build.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockwright import cachefile
from dockwright.steps import TAG_PREFIX, Record


@dataclass
class LocalIndex:
    """Step key -> image ID, as recorded by builds on one store for one project."""

    path: Path
    _entries: dict[str, str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def entries(self) -> dict[str, str]:
        with self._lock:
            if self._entries is None:
                try:
                    data = json.loads(self.path.read_text())
                    self._entries = {str(k): str(v) for k, v in data.items()}
                except (OSError, ValueError, AttributeError):
                    self._entries = {}
            return dict(self._entries)

    def add(self, found: Mapping[str, str], present: set[str] | None = None) -> None:
        """Record ``found`` (key -> image ID); merged with what other builds wrote since.
        With ``present`` (the IDs in the store), entries whose image is gone are dropped,
        so that the index does not grow with every build."""
        if not found:
            return
        self.entries()
        with self._lock:
            assert self._entries is not None
            try:
                on_disk = json.loads(self.path.read_text())
                merged = {str(k): str(v) for k, v in on_disk.items()}
            except (OSError, ValueError, AttributeError):
                merged = {}
            merged.update(self._entries)
            merged.update(found)
            if present is not None:
                merged = {k: v for k, v in merged.items() if v in present}
            self._entries = merged
            cachefile.write(self.path, json.dumps(merged, sort_keys=True).encode())


def records_path(state_dir: Path, image: str) -> Path:
    return state_dir / f"{image.replace('/', '__')}.steps.json"


def read_records(path: Path) -> dict[str, Record]:
    """The steps of an image's last build, by place ("<stage>:<position>")."""
    try:
        data = json.loads(path.read_text())
        return {place: Record(r["text"], r["key"], r["parent"], r["sources"],
                              tuple((str(p), str(d)) for p, d in r["files"]),
                              tuple(r["reads"]))
                for place, r in data.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def write_records(path: Path, records: Mapping[str, Record]) -> None:
    data = {place: {"text": r.text, "key": r.key, "parent": r.parent, "sources": r.sources,
                    "files": [list(f) for f in r.files], "reads": list(r.reads)}
            for place, r in records.items()}
    cachefile.write(path, json.dumps(data, sort_keys=True).encode())


def remote_keys(tags: list[str]) -> set[str]:
    """The step keys that a registry repository holds images for."""
    return {t[len(TAG_PREFIX):] for t in tags if t.startswith(TAG_PREFIX)}


def remote_tag(key: str) -> str:
    return TAG_PREFIX + key
