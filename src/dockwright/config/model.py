"""The parsed project: frozen, validated, with absolute paths resolved once."""

from __future__ import annotations

import json
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
class Healthcheck:
    test: tuple[str, ...] = ()
    interval: int = 0  # seconds, as werf.yaml gives them
    timeout: int = 0
    start_period: int = 0
    retries: int = 0


@dataclass(frozen=True)
class ImageSpec:
    """werf's imageSpec: changes to the built image's configuration (README, "imageSpec").
    ``None`` for cmd, entrypoint and expose means "not given" (an empty list is given)."""

    author: str = ""
    clear_history: bool = False
    keep_essential_werf_labels: bool = False
    clear_werf_labels: bool = False
    remove_labels: tuple[str, ...] = ()
    remove_volumes: tuple[str, ...] = ()
    remove_env: tuple[str, ...] = ()
    clear_cmd: bool = False
    clear_entrypoint: bool = False
    clear_user: bool = False
    clear_working_dir: bool = False
    volumes: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    user: str = ""
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    working_dir: str = ""
    stop_signal: str = ""
    expose: tuple[str, ...] | None = None
    healthcheck: Healthcheck | None = None

    def to_werf(self) -> dict[str, object]:
        """The spec with werf's key names (for ``config --json``)."""
        config: dict[str, object] = {
            "keepEssentialWerfLabels": self.keep_essential_werf_labels,
            "clearWerfLabels": self.clear_werf_labels, "removeLabels": list(self.remove_labels),
            "removeVolumes": list(self.remove_volumes), "removeEnv": list(self.remove_env),
            "clearCmd": self.clear_cmd, "clearEntrypoint": self.clear_entrypoint,
            "clearUser": self.clear_user, "clearWorkingDir": self.clear_working_dir,
            "volumes": list(self.volumes), "labels": dict(self.labels), "env": dict(self.env),
            "user": self.user, "cmd": None if self.cmd is None else list(self.cmd),
            "entrypoint": None if self.entrypoint is None else list(self.entrypoint),
            "workingDir": self.working_dir, "stopSignal": self.stop_signal,
            "expose": None if self.expose is None else list(self.expose),
            "healthcheck": None if self.healthcheck is None else {
                "test": list(self.healthcheck.test), "interval": self.healthcheck.interval,
                "timeout": self.healthcheck.timeout,
                "startPeriod": self.healthcheck.start_period,
                "retries": self.healthcheck.retries},
        }
        return {"author": self.author, "clearHistory": self.clear_history, "config": config}

    def entries(self, project: str, image: str) -> list[tuple[str, str]]:
        """The spec as digest inputs: one entry per field that is set, sorted where werf
        sorts (an unset spec adds nothing, so images without one keep their digests).
        Labels count with %project% and %image% replaced: two images with one spec differ."""
        out: list[tuple[str, str]] = []
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            given_empty = value == () and name in ("cmd", "entrypoint", "expose")
            if value is None or (value in ("", False, ()) and not given_empty):
                continue
            if name == "labels":
                text = "\n".join(sorted(f"{label_template(k, project, image)}="
                                         f"{label_template(v, project, image)}"
                                         for k, v in value))
            elif name == "env":
                text = "\n".join(f"{k}={v}" for k, v in sorted(value))
            elif name in ("cmd", "entrypoint"):
                text = json.dumps(list(value))
            elif isinstance(value, tuple):
                text = "\n".join(sorted(value))
            elif isinstance(value, Healthcheck):
                text = json.dumps([list(value.test), value.interval, value.timeout,
                                   value.start_period, value.retries])
            else:
                text = str(value).lower() if isinstance(value, bool) else str(value)
            out.append((name, text))
        return out


def label_template(text: str, project: str, image: str) -> str:
    """werf's imageSpec label templating: %project% and %image%."""
    return text.replace("%project%", project).replace("%image%", image)


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
    image_spec: ImageSpec | None = None  # the image's merged with the meta section's
    # the one platform of this build of an image that builds for several (plan.targets): each
    # platform is a build of its own, and a manifest list joins them
    variant: str = ""

    @property
    def args_dict(self) -> dict[str, str]:
        return dict(self.args)

    @property
    def label(self) -> str:
        """The name as logs show it: werf's "~" for the nameless image, and the platform of
        one platform's build."""
        return f"{self.name or '~'} {self.variant}" if self.variant else self.name or "~"

    @property
    def target_platform(self) -> str | None:
        """The one platform this build is for, when werf.yaml or --platform names one (after
        ``plan.targets``, every build with a platform has exactly one)."""
        return self.platform[0] if len(self.platform) == 1 else None

    @property
    def key(self) -> str:
        """What a build is known by in one run: the image, or the image on one platform."""
        return f"{self.name}@{self.variant}" if self.variant else self.name


@dataclass(frozen=True)
class Project:
    name: str
    dir: Path
    config_path: Path
    cache_version: str | None = None
    platform: tuple[str, ...] = ()
    images: tuple[Image, ...] = field(default_factory=tuple)
    read: tuple[str, ...] = ()  # the files werf.yaml was rendered from (it first), absolute
    force_shallow_clone: bool = False  # gitWorktree.forceShallowClone: a shallow clone builds

    def image(self, name: str) -> Image | None:
        return next((i for i in self.images if i.name == name), None)
