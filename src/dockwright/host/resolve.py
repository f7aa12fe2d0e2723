"""Choose mode, isolation, OCI runtime and storage driver, in one place.

Pure decisions over checks and probe results; every choice carries the reason it was made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dockwright.engine.buildah import Isolation, StoreOptions
from dockwright.errors import HostError, UsageError
from dockwright.host import checks
from dockwright.host.checks import Check, Status
from dockwright.host.probes import Prober
from dockwright.host.view import HostView

MODES = ("auto", "native-rootless", "native-chroot")
DRIVERS = ("auto", "overlay", "vfs")
VFS_COST = ("vfs copies every layer in full: expect several times the image size on disk "
            "(werf measured 1.2 GB on vfs against 328 MB on overlay for a 7-layer image)")


def parse_mode(value: str | None) -> str:
    mode = (value or "auto").strip()
    if mode in ("", "default"):
        return "auto"
    if mode == "docker":
        raise UsageError("dockwright has no Docker-daemon backend (WERF_BUILDAH_MODE=docker)",
                         f"use one of the Buildah modes: {', '.join(MODES)}")
    if mode not in MODES:
        raise UsageError(f"unexpected mode specified: {mode}",
                         f"WERF_BUILDAH_MODE / --buildah-mode takes one of: {', '.join(MODES)}")
    return mode


def parse_driver(value: str | None) -> str:
    driver = (value or "auto").strip()
    if driver in ("", "default"):
        return "auto"
    if driver not in DRIVERS:
        raise UsageError(f"unexpected storage driver specified: {driver}",
                         "WERF_BUILDAH_STORAGE_DRIVER / --storage-driver takes one of: "
                         f"{', '.join(DRIVERS)}")
    return driver


@dataclass(frozen=True)
class Setup:
    mode: str  # "native-rootless" | "native-chroot"
    isolation: Isolation
    store: StoreOptions
    rootless: bool  # running as a user other than root
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    checks: tuple[Check, ...] = field(default=(), compare=False)

    def summary(self) -> str:
        runtime = f" with {os.path.basename(self.isolation.runtime)}" \
            if self.isolation.runtime else ""
        fuse = " (fuse-overlayfs)" if self.store.mount_program else ""
        return (f"mode {self.mode}: {self.isolation.kind} isolation{runtime}, "
                f"{self.store.driver}{fuse} storage in {self.store.graph_root}")


def storage_places(view: HostView, storage_root: str | None = None) -> tuple[Path, Path]:
    """Graph root and run root, as Buildah would use them for this user."""
    ident = view.identity
    if storage_root:
        graph = Path(storage_root).resolve()
        run_root = Path(f"/tmp/dockwright-run-{ident.uid}") / graph.as_posix().strip("/") \
            .replace("/", "_")
        return graph, run_root
    if ident.is_root:
        return Path("/var/lib/containers/storage"), Path("/run/containers/storage")
    data = view.env.get("XDG_DATA_HOME") or str(ident.home / ".local" / "share")
    runtime_dir = view.env.get("XDG_RUNTIME_DIR")
    if runtime_dir and os.access(runtime_dir, os.W_OK):
        run_root = Path(runtime_dir) / "containers"
    else:
        run_root = Path(f"/tmp/dockwright-run-{ident.uid}")
    return Path(data) / "containers" / "storage", run_root


def existing_driver(graph_root: Path) -> str | None:
    """The driver a store at ``graph_root`` was created with, if it has images or layers."""
    for driver in ("overlay", "vfs"):
        for what in ("images", "layers"):
            directory = graph_root / f"{driver}-{what}"
            if directory.is_dir() and any(directory.iterdir()):
                return driver
    return None


def resolve(view: HostView, prober: Prober, mode_value: str | None, driver_value: str | None,
            storage_root: str | None = None) -> Setup:
    mode = parse_mode(mode_value)
    wanted_driver = parse_driver(driver_value)
    ident = view.identity
    reasons: list[str] = []
    warnings: list[str] = []
    done: list[Check] = []

    # The user namespace: every non-root build needs it, whatever the isolation.
    if not ident.is_root:
        userns = [checks.check_subids(view, "/etc/subuid"),
                  checks.check_subids(view, "/etc/subgid"),
                  checks.check_idmap_tools(view), checks.check_userns_sysctls(view)]
        done += userns
        failed = [c for c in userns if c.failed]
        if not failed:
            probe = checks.check_userns_probe(view, prober)
            done.append(probe)
            failed = [probe] if probe.failed else []
        if failed:
            raise _host_error(f"{ident.user} cannot build without root here", failed)

    in_container, why_container = checks.containerized(view)
    runtime_check, runtime = None, None
    if mode == "auto":
        if in_container:
            mode = "native-chroot"
            reasons.append(f"auto: native-chroot, because this runs in a container "
                           f"({why_container}); set WERF_CONTAINERIZED=no if it does not")
        else:
            runtime_check, runtime = checks.check_runtimes(view, prober)
            done.append(runtime_check)
            if runtime:
                mode = "native-rootless"
                reasons.append(f"auto: native-rootless, with OCI runtime {runtime}")
            else:
                mode = "native-chroot"
                reasons.append(f"auto: native-chroot, because {runtime_check.finding}")
    elif mode == "native-rootless":
        runtime_check, runtime = checks.check_runtimes(view, prober)
        done.append(runtime_check)
        if runtime is None:
            raise _host_error("native-rootless mode needs an OCI runtime that works here",
                              [runtime_check])
        if in_container:
            warnings.append(f"native-rootless inside a container ({why_container}): it works "
                            "here because the probes passed; werf itself refuses this")
    if runtime_check and runtime_check.status is Status.WARN:
        warnings.append(runtime_check.finding)

    isolation = Isolation("oci", runtime) if mode == "native-rootless" else Isolation("chroot")
    graph_root, run_root = storage_places(view, storage_root)
    store, store_reasons, store_warnings = _choose_storage(view, prober, wanted_driver,
                                                           graph_root, run_root)
    reasons += store_reasons
    warnings += store_warnings
    return Setup(mode, isolation, store, not ident.is_root, tuple(reasons), tuple(warnings),
                 tuple(done))


def _choose_storage(view: HostView, prober: Prober, wanted: str, graph_root: Path,
                    run_root: Path) -> tuple[StoreOptions, list[str], list[str]]:
    reasons: list[str] = []
    warnings: list[str] = []
    existing = existing_driver(graph_root)
    if existing and wanted != "auto" and existing != wanted:
        raise HostError(
            f"the store at {graph_root} was created with the {existing} driver; "
            f"{wanted} was asked for, and Buildah cannot open it with another driver",
            f"use WERF_BUILDAH_STORAGE_DRIVER={existing}, or give another store with "
            f"--storage-root DIR, or empty this one (buildah --root {graph_root} "
            f"--storage-driver {existing} rmi --all, then remove {graph_root})",
        )
    if wanted == "vfs" or (wanted == "auto" and existing == "vfs"):
        if wanted == "auto":
            reasons.append(f"storage: vfs, the driver the existing store at {graph_root} uses")
        warnings.append(VFS_COST)
        return StoreOptions(graph_root, run_root, "vfs"), reasons, warnings

    native = prober.native_overlay(graph_root.parent)
    if native.ok:
        reasons.append("storage: native kernel overlay")
        return StoreOptions(graph_root, run_root, "overlay"), reasons, warnings
    fuse = view.which("fuse-overlayfs")
    dev_fuse_ok = view.exists("/dev/fuse") and os.access(view.path("/dev/fuse"),
                                                         os.R_OK | os.W_OK)
    if fuse and dev_fuse_ok:
        reasons.append(f"storage: overlay through {fuse}, since native overlay failed "
                       f"({native.detail})")
        return StoreOptions(graph_root, run_root, "overlay", str(fuse)), reasons, warnings
    missing = "fuse-overlayfs is not installed" if not fuse else \
        "/dev/fuse is missing or not readable and writable by this user"
    if wanted == "overlay":
        raise HostError(
            f"overlay storage cannot work here: native overlay failed ({native.detail}) and "
            f"{missing}",
            "install fuse-overlayfs and make /dev/fuse usable (modprobe fuse; pass the device "
            "into a container), or use WERF_BUILDAH_STORAGE_DRIVER=vfs",
        )
    reasons.append(f"storage: vfs, because native overlay failed ({native.detail}) and "
                   f"{missing}")
    warnings.append(VFS_COST)
    return StoreOptions(graph_root, run_root, "vfs"), reasons, warnings


def _host_error(summary: str, failed: list[Check]) -> HostError:
    findings = "; ".join(c.finding for c in failed)
    fixes = [line for c in failed for line in c.fix]
    hint = "fix: " + " && ".join(fixes) if fixes else "run 'dockwright doctor' for details"
    return HostError(f"{summary}: {findings}", hint + " (details: dockwright doctor)")
