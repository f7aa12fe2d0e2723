"""What each image was built from last time: its digest manifest, per store and project.

``--explain`` and a rebuild compare against it to say which inputs changed.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

from dockwright import cachefile
from dockwright.config.model import Image
from dockwright.digest import CONTEXT, Manifest
from dockwright.session import Session


def manifest_path(session: Session, image: Image) -> Path:
    return session.state_dir / f"{image.key.replace('/', '__')}.json"


def previous_manifest(session: Session, image: Image) -> Manifest | None:
    try:
        return Manifest.from_json(manifest_path(session, image).read_text())
    except (OSError, ValueError, KeyError):
        return None


def remember(session: Session, image: Image, manifest: Manifest) -> None:
    path = manifest_path(session, image)
    marker = path.with_suffix(".digest")
    with contextlib.suppress(OSError):
        if marker.read_text() == manifest.digest and path.exists():
            return  # unchanged since last time: a large manifest is not written again
    if manifest.details is None:
        # the context came from the cache: the previous paths still hold if its entry is
        # the same, so that the next rebuild can still name the paths that changed
        previous = previous_manifest(session, image)
        if previous is not None and previous.details is not None and \
                dict(previous.entries).get(CONTEXT) == dict(manifest.entries).get(CONTEXT):
            manifest = replace(manifest, details=previous.details)
    cachefile.write(path, manifest.to_json().encode())
    cachefile.write(marker, manifest.digest.encode())
