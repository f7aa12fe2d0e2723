"""Manifest lists kept in an OCI image layout (a directory: ``index.json``, ``blobs/``).

Where Buildah cannot keep a manifest list in its store (``manifests.LOCAL_LISTS_BUILDAH``),
a list built without ``--repo`` is kept here instead, beside the build records: Buildah
pushes each platform's image into the layout, then an image index naming them (with their
platforms) is written as a blob and tagged in ``index.json``. skopeo, Buildah and Podman read
it as ``oci:<directory>:<tag>``; ``skopeo copy --all`` publishes it with every image.

Writers of one layout take turns (``flock`` on ``<directory>.lock``); ``index.json`` is
replaced whole (written beside it, then renamed), so a reader sees it before or after.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class Entry:
    """One platform's image, as pushed into the layout."""

    digest: str  # "sha256:..." of its manifest
    platform: tuple[str, str, str]  # os, architecture, variant ("" for none)


def reference(directory: Path, tag: str) -> str:
    return f"oci:{directory}:{tag}"


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold ``directory``'s layout for writing (see the module doc)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{directory}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _index(directory: Path) -> dict[str, object]:
    """``index.json``; an empty index when there is none or it cannot be read."""
    try:
        data = json.loads((directory / "index.json").read_text())
    except (OSError, ValueError):
        data = None
    return data if isinstance(data, dict) else {"schemaVersion": 2, "manifests": []}


def set_aside(directory: Path) -> str:
    """An ``index.json`` that is not a JSON object (Buildah would refuse to push into the
    layout) renamed out of the way; its new name, "" when there was nothing to do. The
    caller holds ``locked``; the lists it named are made again, as they are needed."""
    path = directory / "index.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return ""
    except (OSError, ValueError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("manifests"), list):
        return ""
    aside = path.with_name(f"index.json.unreadable-{time.time_ns() // 10**6}")
    path.replace(aside)
    return aside.name


def _manifests(index: dict[str, object]) -> list[dict[str, object]]:
    found = index.get("manifests")
    return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []


def _name(m: dict[str, object]) -> str:
    notes = m.get("annotations")
    return str(notes.get(REF_NAME, "")) if isinstance(notes, dict) else ""


def find(directory: Path, tag: str) -> str:
    """The digest of what ``tag`` names in the layout; "" when it names nothing."""
    return next((str(m.get("digest", "")) for m in _manifests(_index(directory))
                 if _name(m) == tag), "")


def _blob(directory: Path, digest: str) -> Path:
    return directory / "blobs" / digest.replace(":", "/", 1)


def add_list(directory: Path, tag: str, entries: Sequence[Entry],
             drop: Sequence[str] = ()) -> str:
    """Write the image index of ``entries`` (pushed already) and tag it ``tag``; the tags
    ``drop`` (the platforms' pushes) are removed from ``index.json``. Returns the index's
    digest. The caller holds ``locked``."""
    manifests = []
    for e in entries:
        os_name, arch, variant = e.platform
        platform = {"architecture": arch, "os": os_name, **({"variant": variant}
                                                             if variant else {})}
        manifests.append({"mediaType": MANIFEST, "digest": e.digest,
                          "size": _blob(directory, e.digest).stat().st_size,
                          "platform": platform})
    body = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests},
                      separators=(",", ":")).encode()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    blob = _blob(directory, digest)
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(body)
    _tag(directory, _index(directory),
         {"mediaType": INDEX, "digest": digest, "size": len(body)}, [tag], set(drop))
    return digest


def tag(directory: Path, existing: str, tags: Sequence[str]) -> None:
    """Give what ``existing`` names the further tags ``tags``. The caller holds ``locked``."""
    index = _index(directory)
    source = next(m for m in _manifests(index) if _name(m) == existing)
    _tag(directory, index, {k: v for k, v in source.items() if k != "annotations"}, tags,
         set())


def _tag(directory: Path, index: dict[str, object], descriptor: dict[str, object],
         tags: Sequence[str], drop: set[str]) -> None:
    """``index`` (``directory``'s, as read) written back with ``descriptor`` tagged
    ``tags``, those tags moved from wherever they were, and the tags ``drop`` removed."""
    gone = drop | set(tags)
    kept = [m for m in _manifests(index) if _name(m) not in gone]
    added = [{**descriptor, "annotations": {REF_NAME: t}} for t in tags]
    index["manifests"] = kept + added
    path = directory / "index.json"
    temporary = path.with_name(f".index.json.{os.getpid()}")
    temporary.write_text(json.dumps(index, separators=(",", ":")))
    temporary.replace(path)
