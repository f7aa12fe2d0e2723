"""Resource limits of RUN steps: what Buildah asks for, and what this host lets root give.

Buildah running as root gives every RUN step RLIMIT_NOFILE and RLIMIT_NPROC of 1048576
unless containers.conf says otherwise (rootless, it keeps the caller's hard limits). Raising
a hard limit needs CAP_SYS_RESOURCE; a root without it (a container, a VM sandbox) then
fails every RUN step: 'setting "RLIMIT_NOFILE" limit to soft=1048576,hard=1048576 (was
soft=20000,hard=20000): operation not permitted' (seen with Buildah 1.39 on Debian 13;
Buildah 1.28 does not raise them). dockwright then gives Buildah the caller's own hard limits
as containers.conf ``default_ulimits``, through a ``CONTAINERS_CONF_OVERRIDE`` file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import tempfile
from collections.abc import Mapping
from pathlib import Path

from dockwright import cachefile
from dockwright.host.checks import Check, Status
from dockwright.host.view import HostView

BUILDAH_RLIMIT = 1_048_576
CAP_SYS_RESOURCE = 24
LIMITS = (("nofile", resource.RLIMIT_NOFILE), ("nproc", resource.RLIMIT_NPROC))


def hard_limits() -> dict[str, int]:
    """This process's hard limits, as Buildah's ulimit names."""
    out = {}
    for name, which in LIMITS:
        hard = resource.getrlimit(which)[1]
        out[name] = BUILDAH_RLIMIT if hard == resource.RLIM_INFINITY else hard
    return out


def _can_raise(view: HostView) -> bool:
    return view.capability(CAP_SYS_RESOURCE) is not False  # not reported: assume it can


def needed(view: HostView, hard: Mapping[str, int]) -> tuple[str, ...]:
    """The ``default_ulimits`` entries a root RUN step needs here; () when Buildah's own
    limits can be set (rootless, or CAP_SYS_RESOURCE, or hard limits that high already)."""
    if not view.identity.is_root or _can_raise(view):
        return ()
    return tuple(f"{name}={value}:{value}" for name, value in sorted(hard.items())
                 if value < BUILDAH_RLIMIT)


def with_limits(env: Mapping[str, str], entries: tuple[str, ...],
                directory: Path) -> dict[str, str]:
    """``env`` with ``CONTAINERS_CONF_OVERRIDE`` naming a file that sets ``entries``; as it
    is when nothing is needed or the user set an override of their own (the doctor says)."""
    if not entries or env.get("CONTAINERS_CONF_OVERRIDE"):
        return dict(env)
    text = "[containers]\ndefault_ulimits = [" + ", ".join(f'"{e}"' for e in entries) + "]\n"
    name = f"ulimits-{hashlib.sha256(text.encode()).hexdigest()[:12]}.conf"
    # the cache, else a private directory in /tmp (a cache that cannot be written)
    for place in (directory, Path(tempfile.gettempdir()) / f"dockwright-conf-{os.getuid()}"):
        path = place / name
        if not path.is_file():
            with contextlib.suppress(OSError):
                place.mkdir(mode=0o700, parents=True, exist_ok=True)
            cachefile.write(path, text.encode())
        if path.is_file():
            return {**env, "CONTAINERS_CONF_OVERRIDE": str(path)}
    return dict(env)  # nowhere to write it: Buildah as it is (the doctor says what fails)


def check_rlimits(view: HostView, hard: Mapping[str, int]) -> Check:
    entries = needed(view, hard)
    if not entries:
        return Check("rlimits", Status.OK, "RUN steps get Buildah's own resource limits")
    shown = ", ".join(entries)
    if view.env.get("CONTAINERS_CONF_OVERRIDE"):
        return Check("rlimits", Status.WARN,
                     f"root without CAP_SYS_RESOURCE: newer Buildah (1.39) raises RUN steps' "
                     f"limits to {BUILDAH_RLIMIT} and fails here; CONTAINERS_CONF_OVERRIDE is "
                     "the user's, so dockwright does not set default_ulimits",
                     (f"# add to {view.env['CONTAINERS_CONF_OVERRIDE']}: [containers] "
                      f"default_ulimits = [{', '.join(repr(e) for e in entries)}]",))
    return Check("rlimits", Status.OK,
                 f"root without CAP_SYS_RESOURCE: RUN steps get this process's hard limits "
                 f"({shown}) through CONTAINERS_CONF_OVERRIDE, since newer Buildah (1.39) "
                 f"would raise them to {BUILDAH_RLIMIT} and fail")
