"""Stages in local containers storage, tagged ``localhost/<project>:<digest>-<unix millis>``.

A miss is ``None``. With several tags for one digest the oldest wins, as in werf.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockwright.engine.buildah import LocalImage

TAG_RE = re.compile(r"^(?P<digest>[0-9a-f]{56})-(?P<millis>[0-9]{13})$")


@dataclass(frozen=True)
class Stage:
    repo: str  # "localhost/<project>"
    tag: str  # "<digest>-<millis>"
    image_id: str  # hex, no "sha256:"
    size: str = ""

    @property
    def reference(self) -> str:
        return f"{self.repo}:{self.tag}"

    @property
    def digest(self) -> str:
        return self.tag.split("-", 1)[0]

    @property
    def millis(self) -> int:
        return int(self.tag.split("-", 1)[1])


def _store_lists(graph_root: Path, directory: str,
                 pattern: str) -> list[Any] | None:
    """The records of containers/storage's own JSON lists (``<root>/<directory>/<pattern>``,
    which it replaces atomically, so they can be read without its lock): no process to wait
    for. Empty when there is no store yet; None when they cannot be read."""
    if not graph_root.exists():
        return []
    lists = sorted((graph_root / directory).glob(pattern))
    if not lists:
        return None
    records: list[Any] = []  # JSON records, checked where they are used
    try:
        for path in lists:
            records += json.loads(path.read_text()) or []
    except (OSError, ValueError, TypeError):
        return None
    return records


def container_ids(graph_root: Path, driver: str) -> set[str] | None:
    """The IDs of every container in the store (``<driver>-containers/*containers.json``);
    ``None`` when they cannot be read: ask ``buildah containers``."""
    records = _store_lists(graph_root, f"{driver}-containers", "*containers.json")
    try:
        return None if records is None else {str(c["id"]) for c in records}
    except (KeyError, TypeError):
        return None


EXTRA_STORES = re.compile(r'additionalimagestores\s*=\s*\[\s*"', re.IGNORECASE)


def read_images(graph_root: Path, driver: str,
                storage_confs: Sequence[Path] = ()) -> list[LocalImage] | None:
    """The store's images (ID, names, manifest digest; no size) from ``images.json``.
    ``None`` when it cannot be read, or when ``storage_confs`` name additional image stores,
    which only ``buildah images`` sees: ask Buildah then."""
    for conf in storage_confs:
        try:
            if EXTRA_STORES.search(conf.read_text(errors="replace")):
                return None
        except OSError:
            continue
    records = _store_lists(graph_root, f"{driver}-images", "images.json")
    try:
        return None if records is None else [
            LocalImage(str(i["id"]), tuple(str(n) for n in i.get("names") or ()), 0, "",
                       str(i.get("digest", ""))) for i in records]
    except (KeyError, TypeError, AttributeError):
        return None


def local_repo(project: str) -> str:
    return f"localhost/{project}"


def oldest_by_digest(tags: Iterable[str]) -> dict[str, str]:
    """The oldest ``<digest>-<millis>`` tag of each digest; other tags are ignored."""
    found: dict[str, tuple[int, str]] = {}
    for tag in tags:
        m = TAG_RE.match(tag)
        if m:
            millis = int(m["millis"])
            old = found.get(m["digest"])
            if old is None or millis < old[0]:
                found[m["digest"]] = (millis, tag)
    return {digest: tag for digest, (_, tag) in found.items()}


def stages(images: Sequence[LocalImage], repo: str) -> dict[str, Stage]:
    """Every stage in ``repo`` by digest, the oldest tag for each digest."""
    prefix = repo + ":"
    tagged = {name[len(prefix):]: image for image in images for name in image.names
              if name.startswith(prefix)}
    return {digest: Stage(repo, tag, tagged[tag].id, tagged[tag].size)
            for digest, tag in oldest_by_digest(tagged).items()}
