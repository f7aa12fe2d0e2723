"""The parsed project: frozen, validated, with absolute paths resolved once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

IMPORT_TYPES = ("ImageName", "ImageTag", "ImageRepo", "ImageID", "ImageDigest")


@dataclass(frozen=True)
class Import:
    type: str  # one of IMPORT_TYPES
    target_build_arg: str


@dataclass(frozen=True)
class Dependency:
    image: str
    imports: tuple[Import, ...] = ()


@dataclass(frozen=True)
class Secret:
    id: str
    env: str | None = None
    src: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class Image:
    name: str
    where: str  # "werf.yaml:12", for messages
    context: str  # relative to the project directory, "." by default
    dockerfile: str  # relative to the context
    context_dir: Path
    dockerfile_path: Path
    target: str | None = None
    args: tuple[tuple[str, str], ...] = ()
    add_host: tuple[str, ...] = ()
    network: str | None = None
    ssh: str | None = None
    secrets: tuple[Secret, ...] = ()
    context_add_files: tuple[str, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    final: bool = True
    platform: tuple[str, ...] = ()
    cache_version: str | None = None
    staged: bool = False
    image_spec: bool = False  # present (not applied yet: refused when building)

    @property
    def args_dict(self) -> dict[str, str]:
        return dict(self.args)

    @property
    def label(self) -> str:
        """The name as logs show it: werf's "~" for the nameless image."""
        return self.name or "~"


@dataclass(frozen=True)
class Project:
    name: str
    dir: Path
    config_path: Path
    cache_version: str | None = None
    platform: tuple[str, ...] = ()
    images: tuple[Image, ...] = field(default_factory=tuple)

    def image(self, name: str) -> Image | None:
        return next((i for i in self.images if i.name == name), None)
