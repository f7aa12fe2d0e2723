"""werf's build report: JSON (``--save-build-report``) and the env-file form (``.env`` path)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from dockwright.errors import ReportError, UsageError


class Source(StrEnum):
    """Where an image's stage came from in this build."""

    LOCAL = "local"  # local storage
    REPO = "repo"  # the --repo registry
    BUILT = "built"  # this build made it


@dataclass(frozen=True)
class ImageRecord:
    name: str
    repo: str
    tag: str
    image_id: str  # "sha256:..."
    image_digest: str  # "sha256:..." (manifest digest), "" when only local
    rebuilt: bool
    final: bool
    size: int
    seconds: float
    created_ns: int
    source: Source
    platform: str = ""  # the platform of one platform's build ("" for single-platform images)
    # a manifest list: the builds it joins, one per platform
    platforms: tuple[ImageRecord, ...] = ()

    @property
    def image_name(self) -> str:
        return f"{self.repo}:{self.tag}"


def _stage(r: ImageRecord, name: str) -> dict[str, object]:
    build_time = f"{r.seconds:.2f}" if r.rebuilt else "0.00"
    return {
        "Name": name,
        "DockerImageName": r.image_name,
        "DockerTag": r.tag,
        "DockerImageID": r.image_id,
        "DockerImageDigest": r.image_digest,
        "CreatedAt": r.created_ns,
        "Size": r.size,
        "SourceType": "" if r.source == Source.BUILT else str(r.source),
        "BaseImagePulled": False,
        "Rebuilt": r.rebuilt,
        "BuildTime": build_time,
    }


def _image(r: ImageRecord) -> dict[str, object]:
    """werf's record of an image; of a manifest list, what werf writes then: the list's tag
    and digest, every platform's stages named "<stage> (<platform>)", the build times
    summed, rebuilt if any platform was."""
    stages = [_stage(p, f"dockerfile ({p.platform})") for p in r.platforms] \
        if r.platforms else [_stage(r, "dockerfile")]
    rebuilt = any(p.rebuilt for p in r.platforms) if r.platforms else r.rebuilt
    seconds = sum(p.seconds for p in r.platforms if p.rebuilt) if r.platforms else \
        (r.seconds if r.rebuilt else 0.0)
    return {
        "WerfImageName": r.name,
        "DockerRepo": r.repo,
        "DockerTag": r.tag,
        "DockerImageID": r.image_id,
        "DockerImageDigest": r.image_digest,
        "DockerImageName": r.image_name,
        "TargetPlatform": r.platform,
        "Rebuilt": rebuilt,
        "Final": r.final,
        "Size": r.size,
        "BuildTime": f"{seconds:.2f}",
        "Stages": stages,
    }


def to_json(records: Sequence[ImageRecord], by_platform: bool = False) -> str:
    """``Images``: each image, a manifest list for one with several platforms;
    ``ImagesByPlatform`` (werf fills it when WERF_ENABLE_REPORT_BY_PLATFORM is set): each
    platform's build of those."""
    images = {r.name: _image(r) for r in records}
    platforms = {r.name: {p.platform: _image(p) for p in r.platforms}
                 for r in records if r.platforms and by_platform}
    return json.dumps({"Images": images, "ImagesByPlatform": platforms}, indent="\t") + "\n"


def env_name(image: str) -> str:
    """werf's formatting: upper case, '/' and '-' become '_'."""
    return re.sub(r"[/\-]", "_", image.upper())


def to_env(records: Sequence[ImageRecord]) -> str:
    return "".join(f"WERF_{env_name(r.name)}_DOCKER_IMAGE_NAME={r.image_name}\n"
                   for r in records)


def check_writable(path: Path) -> None:
    """Refuse, before anything is built, a report path that cannot be written."""
    if path.is_dir():
        raise UsageError(f"the build report path {path} is a directory",
                         "give a file name, for example build-report.json or build.env")
    parent = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("/"))
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"the build report cannot be written to {path}: {parent} is not a "
                         "writable directory", "choose another --build-report-path "
                         "(or WERF_BUILD_REPORT_PATH), or fix the directory's permissions")


def write(path: Path, records: Sequence[ImageRecord], by_platform: bool = False) -> None:
    """Write atomically: a reader never sees half a report, and a failure leaves no file."""
    text = to_env(records) if path.suffix == ".env" else to_json(records, by_platform)
    tmp = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise ReportError(f"the build report could not be written to {path}: "
                          f"{exc.strerror or exc}", "the images are built (run the build "
                          "again to write the report: it reuses them); fix the path or its "
                          "directory's permissions") from None
