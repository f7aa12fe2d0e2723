"""Stages in local containers storage, tagged ``localhost/<project>:<digest>-<unix millis>``.

A miss is ``None``. With several tags for one digest the oldest wins, as in werf.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dockwright.engine.base import LocalImage

# on every image a build makes (stages and the images of its steps), with werf's
# "werf=<project>": the image's name in werf.yaml; what cleanups look for (dockwright's own
# images, never another program's)
IMAGE_LABEL = "dockwright-image"

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
