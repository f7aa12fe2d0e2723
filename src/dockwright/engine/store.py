"""What containers/storage keeps on disk about a store, read without starting Buildah.

containers/storage replaces its JSON lists (``<root>/<driver>-images/images.json``,
``<root>/<driver>-containers/*containers.json``) atomically, so they can be read without
its lock. Every answer may be ``None``: the files cannot be read or do not tell the whole
story, and Buildah must be asked instead (``BuildahEngine`` does).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockwright.engine.base import LocalImage


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


def storage_confs(env: Mapping[str, str], home: Path) -> list[Path]:
    """Where containers/storage reads its configuration, for this user."""
    if env.get("CONTAINERS_STORAGE_CONF"):
        return [Path(env["CONTAINERS_STORAGE_CONF"])]
    config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    return [config / "containers" / "storage.conf", Path("/etc/containers/storage.conf"),
            Path("/usr/share/containers/storage.conf")]


@dataclass(frozen=True)
class Stored:
    """One image as containers/storage records it: what a cleanup needs to tell which
    images Buildah removes with it (a removed image's parents that are left without a name
    or another child go too)."""

    id: str
    names: tuple[str, ...]
    layer: str  # its top layer ("" for an image without layers)
    created: str  # RFC 3339, as recorded


@dataclass(frozen=True)
class Tree:
    images: dict[str, Stored]
    parents: dict[str, str]  # layer -> its parent layer
    sizes: dict[str, int]  # layer -> bytes unpacked

    def chain(self, layer: str) -> list[str]:
        """``layer`` and its ancestors, top first."""
        out: list[str] = []
        while layer and layer not in out:
            out.append(layer)
            layer = self.parents.get(layer, "")
        return out


def read_tree(graph_root: Path, driver: str) -> Tree | None:
    """The store's images and layers from containers/storage's lists; None when they
    cannot be read."""
    images = _store_lists(graph_root, f"{driver}-images", "images.json")
    layers = _store_lists(graph_root, f"{driver}-layers", "layers.json")
    if images is None or layers is None:
        return None
    try:
        return Tree(
            {str(i["id"]): Stored(str(i["id"]), tuple(str(n) for n in i.get("names") or ()),
                                  str(i.get("layer") or ""), str(i.get("created") or ""))
             for i in images},
            {str(x["id"]): str(x.get("parent") or "") for x in layers},
            {str(x["id"]): int(x.get("diff-size") or 0) for x in layers})
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def lock_holder(graph_root: Path, driver: str) -> int | None:
    """The process holding a write lock on the store's image or layer lists right now
    (containers/storage locks them with fcntl), or None. -1: a holder the kernel does not
    name (an open file description lock)."""
    import fcntl
    import os
    import struct

    for path in (graph_root / f"{driver}-layers" / "layers.lock",
                 graph_root / f"{driver}-images" / "images.lock",
                 graph_root / "storage.lock"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            query = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
            kind, _, _, _, pid = struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, query))
        except OSError:
            continue
        finally:
            os.close(fd)
        if kind != fcntl.F_UNLCK:
            return int(pid)
    return None
