"""Stages in local containers storage, tagged ``localhost/<project>:<digest>-<unix millis>``.

A miss is ``None``. With several tags for one digest the oldest wins, as in werf.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

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


def local_repo(project: str) -> str:
    return f"localhost/{project}"


def stages(images: Sequence[LocalImage], repo: str) -> dict[str, Stage]:
    """Every stage in ``repo`` by digest, the oldest tag for each digest."""
    found: dict[str, Stage] = {}
    prefix = repo + ":"
    for image in images:
        for name in image.names:
            if not name.startswith(prefix):
                continue
            m = TAG_RE.match(name[len(prefix):])
            if not m:
                continue
            stage = Stage(repo, name[len(prefix):], image.id, image.size)
            old = found.get(m["digest"])
            if old is None or stage.millis < old.millis:
                found[m["digest"]] = stage
    return found
