"""werf's imageSpec as ``buildah config`` arguments: pure, from the spec and the image's
current configuration (``buildah inspect``'s ``OCIv1.config``).

The rules are werf's (its imageSpec stage): labels and environment variables named in the
remove lists (a name or ``/regex/``) go, werf's essential labels stay; added labels may use
``%project%`` and ``%image%``; ``expose`` replaces the exposed ports; an entrypoint given
without a cmd clears the cmd; werf's commit variables never stay in the environment.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockwright.config.model import ImageSpec, label_template

ESSENTIAL_LABELS = ("werf", "werf-stage-content-digest", "werf.io/parent-stage-id",
                    "werf-project-repo-commit")
ALWAYS_REMOVED_ENV = ("WERF_COMMIT_HASH", "WERF_COMMIT_TIME_HUMAN", "WERF_COMMIT_TIME_UNIX")


@dataclass(frozen=True)
class Change:
    config_args: tuple[str, ...]  # for ``buildah config``
    omit_history: bool  # for ``buildah commit``
    warnings: tuple[str, ...] = ()


def _matcher(patterns: Sequence[str]) -> re.Pattern[str] | None:
    parts = [f"(?:{p[1:-1]})" if len(p) >= 2 and p.startswith("/") and p.endswith("/")
             else re.escape(p) for p in patterns]
    return re.compile("|".join(parts)) if parts else None


def _matches(matcher: re.Pattern[str] | None, key: str) -> bool:
    return matcher is not None and matcher.fullmatch(key) is not None


def change(spec: ImageSpec, config: Mapping[str, Any], project: str, image: str) -> Change:
    """What turns an image with ``config`` into one with ``spec`` applied."""
    args: list[str] = []
    warnings: list[str] = []

    labels: Mapping[str, str] = config.get("Labels") or {}
    remove = _matcher(spec.remove_labels)
    kept_essential = False
    for key in sorted(labels):
        if _matches(remove, key):
            if key in ESSENTIAL_LABELS:
                kept_essential = True
                continue
            args += ["--label", f"{key}-"]
    if kept_essential and not spec.keep_essential_werf_labels:
        warnings.append("imageSpec: werf's essential labels (werf, werf-stage-content-digest, "
                        "...) are kept: cleanup needs them (set keepEssentialWerfLabels to "
                        "silence this)")
    for key, value in spec.labels:
        args += ["--label", f"{label_template(key, project, image)}="
                            f"{label_template(value, project, image)}"]

    env_names = [e.split("=", 1)[0] for e in config.get("Env") or ()]
    remove_env = _matcher((*spec.remove_env, *ALWAYS_REMOVED_ENV))
    args += [a for name in env_names if _matches(remove_env, name) for a in ("--env", f"{name}-")]
    for key, value in spec.env:
        args += ["--env", f"{key}={value}"]  # Buildah expands $VAR against the image's env

    volumes: Mapping[str, Any] = config.get("Volumes") or {}
    for volume in spec.remove_volumes:
        if volume in volumes:
            args += ["--volume", f"{volume}-"]
    for volume in spec.volumes:
        args += ["--volume", volume]

    if spec.expose is not None:
        wanted = set(spec.expose) | {f"{p}/tcp" for p in spec.expose if "/" not in p}
        for port in sorted(config.get("ExposedPorts") or {}):
            if port not in wanted:
                args += ["--port", f"{port}-"]
        for port in spec.expose:
            args += ["--port", port]

    if spec.healthcheck is not None:
        h = spec.healthcheck
        if h.test:  # Buildah splits the value into words as a shell would: quote them
            args += ["--healthcheck", shlex.join(h.test)]
        for flag, seconds in (("--healthcheck-interval", h.interval),
                              ("--healthcheck-timeout", h.timeout),
                              ("--healthcheck-start-period", h.start_period)):
            if seconds:
                args += [flag, f"{seconds}s"]
        if h.retries:
            args += ["--healthcheck-retries", str(h.retries)]

    if spec.author:
        args += ["--author", spec.author]
    if spec.user:
        args += ["--user", spec.user]
    elif spec.clear_user:
        args += ["--user", ""]
    if spec.working_dir:
        args += ["--workingdir", spec.working_dir]
    elif spec.clear_working_dir:
        args += ["--workingdir", ""]
    if spec.stop_signal:
        args += ["--stop-signal", spec.stop_signal]
    if spec.entrypoint is not None:
        args += ["--entrypoint", json.dumps(list(spec.entrypoint))]
    elif spec.clear_entrypoint:
        args += ["--entrypoint", ""]
    if spec.cmd is not None:
        args += ["--cmd", json.dumps(list(spec.cmd))]
    elif spec.clear_cmd or spec.entrypoint is not None:
        args += ["--cmd", ""]  # Docker's rule: a new entrypoint drops the inherited cmd
    return Change(tuple(args), spec.clear_history, tuple(warnings))
