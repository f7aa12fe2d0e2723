"""Where registry logins live: one auth file that Buildah and skopeo both read and write.

Buildah and skopeo choose their default auth file differently for a user without
``XDG_RUNTIME_DIR`` (``su``, ``runuser``, a CI executor). skopeo reads
``/run/containers/<uid>/auth.json``, which fails with "permission denied" once root's Buildah
has made ``/run/containers`` mode 0700; Buildah keeps that user's runtime files, logins
included, in its runtime directory: Buildah 1.28 takes
``${TMPDIR:-/var/tmp}/containers-user-<uid>/containers`` (``/run/user/<uid>`` is not used
even when it exists), Buildah 1.39 c/storage's ``/run/user/<uid>`` when it is the user's,
else ``${TMPDIR:-/var/tmp}/storage-run-<uid>``; either falls back to ``$HOME/rundir`` when
its directory is not the user's own with mode 0700 (both checked; the switch is taken as
Buildah 1.30, c/storage's ``GetRuntimeDir``, not checked in between). dockwright resolves the
file once, the way Buildah does, and gives it to every child as ``REGISTRY_AUTH_FILE``: both
tools then use that file first and still fall back to ``~/.config/containers/auth.json`` and
``~/.docker/config.json`` (checked with skopeo 1.9 and Buildah 1.28).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dockwright.host.checks import Check, Status
from dockwright.host.view import HostView, Identity


@dataclass(frozen=True)
class AuthFile:
    path: Path
    why: str  # how it was chosen, for the doctor and error hints


STORAGE_RUN_BUILDAH = (1, 30)  # from here Buildah takes c/storage's runtime directory


def auth_file(env: Mapping[str, str], identity: Identity,
              buildah: tuple[int, int] | None = None) -> AuthFile:
    """The auth file Buildah (version ``buildah``; None: unknown, taken as new) uses for
    this user and environment."""
    if env.get("REGISTRY_AUTH_FILE"):
        return AuthFile(Path(env["REGISTRY_AUTH_FILE"]), "REGISTRY_AUTH_FILE")
    if env.get("DOCKER_CONFIG"):
        return AuthFile(Path(env["DOCKER_CONFIG"]) / "config.json", "DOCKER_CONFIG")
    if env.get("XDG_RUNTIME_DIR"):
        return AuthFile(Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json",
                        "XDG_RUNTIME_DIR")
    if identity.is_root:
        return AuthFile(Path("/run/containers/0/auth.json"), "root's default")
    why = "Buildah's runtime directory for a user without XDG_RUNTIME_DIR"
    if buildah is not None and buildah < STORAGE_RUN_BUILDAH:
        runtime = _private(Path(env.get("TMPDIR") or "/var/tmp") /
                           f"containers-user-{identity.uid}", identity, exact=True)
        return AuthFile((runtime or _rundir(env, identity)) / "containers" / "containers" /
                        "auth.json", why)
    runtime = _private(Path(f"/run/user/{identity.uid}"), identity, exact=False,
                       missing_ok=False) \
        or _private(Path(env.get("TMPDIR") or "/var/tmp") / f"storage-run-{identity.uid}",
                    identity, exact=True) \
        or _rundir(env, identity)
    return AuthFile(runtime / "containers" / "auth.json", why)


def _private(directory: Path, identity: Identity, exact: bool,
             missing_ok: bool = True) -> Path | None:
    """``directory`` if Buildah takes it as the runtime directory: missing (Buildah makes it,
    0700; ``missing_ok``), or the user's own with mode 0700 (``exact``: nothing more)."""
    try:
        st = directory.stat()
    except FileNotFoundError:
        return directory if missing_ok else None
    except OSError:
        return None
    mode = stat.S_IMODE(st.st_mode)
    private = mode == 0o700 if exact else mode & 0o700 == 0o700
    return directory if st.st_uid == identity.uid and private else None


def _rundir(env: Mapping[str, str], identity: Identity) -> Path:
    return Path(os.path.realpath(env.get("HOME") or identity.home)) / "rundir"


def _make_dirs(path: Path) -> None:
    """``path`` and its missing parents, each new one mode 0700 (Buildah accepts its
    runtime directory only so)."""
    missing = []
    for parent in (path, *path.parents):
        if parent.exists():
            break
        missing.append(parent)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)


def with_auth_file(env: Mapping[str, str], identity: Identity,
                   buildah: tuple[int, int] | None = None) -> dict[str, str]:
    """``env`` with ``REGISTRY_AUTH_FILE`` set for the children (see the module doc).

    Buildah refuses an auth file given this way that does not exist ("checking authfile:
    stat ...: no such file or directory"), so a missing one is created empty (no logins,
    mode 0600, where ``buildah login`` would create it). Where that fails, ``env`` is
    returned unchanged: the tools then choose as they always did."""
    if env.get("REGISTRY_AUTH_FILE"):
        return dict(env)  # the user's choice, as it is
    path = auth_file(env, identity, buildah).path
    try:
        _make_dirs(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError:
        return dict(env)
    else:
        with os.fdopen(fd, "w") as f:
            f.write('{"auths": {}}\n')
    return {**env, "REGISTRY_AUTH_FILE": str(path)}


def fallback_files(env: Mapping[str, str], identity: Identity) -> tuple[Path, ...]:
    """The files both tools read after the auth file, in their order."""
    config = Path(env.get("XDG_CONFIG_HOME") or identity.home / ".config")
    return (config / "containers" / "auth.json", identity.home / ".docker" / "config.json")


def _registries(text: str) -> list[str] | None:
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError:
        return None
    auths = data.get("auths") if isinstance(data, dict) else None
    return sorted(auths) if isinstance(auths, dict) else []


def check_registry_auth(view: HostView, buildah: tuple[int, int] | None = None) -> Check:
    """Which auth file registry calls use, and whether this user can read it."""
    found = auth_file(view.env, view.identity, buildah)
    path = view.path(found.path)
    where = f"{found.path} ({found.why})"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        parent = next((p for p in path.parents if p.exists()), None)
        if parent is not None and not os.access(parent, os.X_OK):
            return _unreadable(found, f"{view.path(parent)} cannot be searched")
        extra = [str(p) for p in fallback_files(view.env, view.identity)
                 if view.path(p).is_file()]
        also = f"; also read: {', '.join(extra)}" if extra else ""
        return Check("registry-auth", Status.OK,
                     f"no logins yet in {where}: public registries only{also}",
                     ("dockwright login REGISTRY  # writes there; Buildah and skopeo read it",))
    except PermissionError:
        return _unreadable(found, "permission denied")
    except OSError as exc:
        return _unreadable(found, exc.strerror or str(exc))
    names = _registries(text)
    if names is None:
        return Check("registry-auth", Status.FAIL, f"{where} is not valid JSON",
                     (f"mv {found.path} {found.path}.broken  # then log in again: "
                      "dockwright login REGISTRY",))
    logged = ", ".join(names) if names else "none"
    return Check("registry-auth", Status.OK, f"{where}, readable; logged in to: {logged}")


def _unreadable(found: AuthFile, why: str) -> Check:
    return Check("registry-auth", Status.FAIL,
                 f"{found.path} ({found.why}) cannot be read: {why}; every registry call "
                 "would fail",
                 ("export REGISTRY_AUTH_FILE=$HOME/.config/containers/auth.json  # a file of "
                  "your own, then: dockwright login REGISTRY",))
