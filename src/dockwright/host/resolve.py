"""Choose mode, isolation, OCI runtime and storage driver, in one place.

Pure decisions over checks and probe results; every choice carries the reason it was made.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from dockwright.engine.base import Isolation, StoreOptions
from dockwright.errors import HostError, UsageError
from dockwright.host import checks, checks_runtime, checks_storage, container
from dockwright.host.checks import Check, Status
from dockwright.host.probes import Prober
from dockwright.host.view import HostView


class Mode(StrEnum):
    """WERF_BUILDAH_MODE: how RUN steps are isolated (auto chooses one of the others)."""

    AUTO = "auto"
    ROOTLESS = "native-rootless"
    CHROOT = "native-chroot"


class Driver(StrEnum):
    """WERF_BUILDAH_STORAGE_DRIVER."""

    AUTO = "auto"
    OVERLAY = "overlay"
    VFS = "vfs"


class Network(StrEnum):
    """DOCKWRIGHT_NETWORK: the network of RUN steps with OCI isolation."""

    PRIVATE = "private"
    HOST = "host"
    NONE = "none"


MODES = tuple(Mode)
DRIVERS = tuple(Driver)
VFS_COST = ("vfs copies every layer in full: expect several times the image size on disk "
            "(werf measured 1.2 GB on vfs against 328 MB on overlay for a 7-layer image)")


def parse_mode(value: str | None) -> Mode:
    mode = (value or "auto").strip()
    if mode in ("", "default"):
        return Mode.AUTO
    if mode == "docker":
        raise UsageError("dockwright has no Docker-daemon backend (WERF_BUILDAH_MODE=docker)",
                         f"use one of the Buildah modes: {', '.join(MODES)}")
    if mode not in MODES:
        raise UsageError(f"unexpected mode specified: {mode}",
                         f"WERF_BUILDAH_MODE / --buildah-mode takes one of: {', '.join(MODES)}")
    return Mode(mode)


def parse_network(value: str | None) -> Network:
    """The network asked for RUN steps: private (the default), host or none."""
    network = (value or "private").strip()
    if network in ("", "default"):
        return Network.PRIVATE
    if network not in tuple(Network):
        raise UsageError(f"unexpected network specified: {network}",
                         "DOCKWRIGHT_NETWORK / --network takes one of: "
                         f"{', '.join(Network)}")
    return Network(network)


def image_network(configured: str | None, default: str) -> str:
    """The network of an image's RUN steps: werf.yaml's ``network``, else the build's."""
    return configured if configured not in (None, "", "default") else default


def parse_driver(value: str | None) -> Driver:
    driver = (value or "auto").strip()
    if driver in ("", "default"):
        return Driver.AUTO
    if driver not in DRIVERS:
        raise UsageError(f"unexpected storage driver specified: {driver}",
                         "WERF_BUILDAH_STORAGE_DRIVER / --storage-driver takes one of: "
                         f"{', '.join(DRIVERS)}")
    return Driver(driver)


@dataclass(frozen=True)
class Asked:
    """What the user asked of the host: WERF_BUILDAH_MODE, WERF_BUILDAH_STORAGE_DRIVER,
    the storage root and DOCKWRIGHT_NETWORK (``options.host_options`` reads them)."""

    mode: Mode = Mode.AUTO
    driver: Driver = Driver.AUTO
    storage_root: str | None = None
    network: Network = Network.PRIVATE
    platforms: tuple[str, ...] = ()  # what the images build for (emulation is checked)

    @classmethod
    def parse(cls, mode: str | None = None, driver: str | None = None,
              storage_root: str | None = None, network: str | None = None) -> Asked:
        """From the values as given (flag or variable); a bad one is a ``UsageError``."""
        return cls(parse_mode(mode), parse_driver(driver), storage_root or None,
                   parse_network(network))


@dataclass(frozen=True)
class Setup:
    mode: Mode  # ROOTLESS or CHROOT, never AUTO
    isolation: Isolation
    store: StoreOptions
    rootless: bool  # running as a user other than root
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    checks: tuple[Check, ...] = field(default=(), compare=False)
    buildah: str = ""  # "buildah version 1.28.2", as Buildah says it
    network: str = "private"  # of RUN steps where werf.yaml says nothing: a Network

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


def gate_checks(view: HostView, prober: Prober, wanted_driver: str, graph_root: Path,
                run_root: Path, default_place: bool) -> list[Check]:
    """The checks whose failure stops a build in either mode (cheap: no probe but Buildah's
    version)."""
    done = [checks_runtime.check_buildah(view, prober)]
    if not view.identity.is_root:  # the user namespace: every rootless build needs it
        done += [checks.check_subids(view, "/etc/subuid"),
                 checks.check_subids(view, "/etc/subgid"),
                 checks.check_idmap_tools(view), checks.check_no_new_privs(view),
                 checks.check_userns_clone(view), checks.check_max_user_namespaces(view),
                 checks.check_apparmor_userns(view)]
    done += [checks_storage.check_storage_dir(view, graph_root, default_place),
             checks_storage.check_run_root(view, run_root)]
    return done


def resolve(view: HostView, prober: Prober, asked: Asked,
            configured: Sequence[str | None] = (None,)) -> Setup:
    """The setup a build uses here; HostError, with the doctor's findings and fixes, when the
    asked mode, driver or network cannot work (``configured``: werf.yaml's ``network`` of
    each image built; a private network is probed only when one of them gets it)."""
    mode, network, wanted_driver = asked.mode, asked.network, asked.driver
    storage_root = asked.storage_root
    ident = view.identity
    reasons: list[str] = []
    warnings: list[str] = []
    graph_root, run_root = storage_places(view, storage_root)
    who = "root" if ident.is_root else ident.user
    store_check = checks_storage.check_store_driver(view, graph_root, wanted_driver)
    if store_check.failed:
        existing = checks_storage.existing_driver(view, graph_root)
        raise _host_error("", [store_check], f"use WERF_BUILDAH_STORAGE_DRIVER={existing}, or give "
                          "another store with --storage-root DIR, or empty this one")
    done = [store_check, *gate_checks(view, prober, wanted_driver, graph_root, run_root,
                                not storage_root),
            checks_runtime.check_emulation(view, asked.platforms)]
    failed = [c for c in done if c.failed]
    if failed:
        raise _host_error(f"{who} cannot build here", failed)
    probes = [checks.check_userns_create] if container.needs_userns(view) else []
    probes += [checks.check_userns_probe] if not ident.is_root else []
    for probe in probes:  # the namespace at all, then its full mapping
        done.append(probe(view, prober))
        if done[-1].failed:
            raise _host_error(f"{who} cannot build here", [done[-1]])

    in_container, why_container = checks.containerized(view)
    runtime_check, runtime = None, None
    if mode == Mode.AUTO and runtime_mode(view, mode) == Mode.CHROOT:
        mode = Mode.CHROOT
        reasons.append(f"auto: native-chroot, because this runs in a container "
                       f"({why_container}); set WERF_CONTAINERIZED=no if it does not")
    elif mode in ("auto", "native-rootless"):
        runtime_check, runtime = checks_runtime.check_runtimes(view, prober, mode)
        done.append(runtime_check)
        if runtime_check.failed:
            raise _host_error("native-rootless mode needs an OCI runtime that works here",
                              [runtime_check])
        if mode == Mode.AUTO:
            mode = Mode.ROOTLESS if runtime else Mode.CHROOT
            reasons.append(f"auto: native-rootless, with OCI runtime {runtime}" if runtime
                           else f"auto: native-chroot, because {runtime_check.finding}")
        elif in_container:
            warnings.append(f"native-rootless inside a container ({why_container}): it works "
                            "here because the probes passed; werf itself refuses this")
    if runtime_check and runtime_check.status is Status.WARN and runtime:
        warnings.append(runtime_check.finding)

    isolation = Isolation("oci", runtime) if mode == "native-rootless" else Isolation("chroot")
    networks = {image_network(c, network) for c in configured}
    if isolation.kind == "oci" and (network != Network.PRIVATE or Network.PRIVATE in networks):
        network_check = checks_runtime.check_network(view, prober, "oci", runtime, network)
        done.append(network_check)
        if network_check.failed:
            raise _host_error("RUN steps cannot get a network of their own here", [network_check])
    store, store_reasons, store_warnings = _choose_storage(view, prober, wanted_driver,
                                                           graph_root, run_root, done)
    reasons += store_reasons
    warnings += store_warnings
    version = prober.buildah_version()  # cached: gate_checks asked already
    return Setup(mode, isolation, store, not ident.is_root, tuple(reasons), tuple(warnings),
                 tuple(done), version.detail if version.ok else "",
                 network if isolation.kind == "oci" else "host")


def runtime_mode(view: HostView, mode: Mode) -> Mode:
    """The mode whose runtime a build looks for: werf's rule makes auto inside a container
    native-chroot; auto elsewhere still depends on a runtime working (``resolve``)."""
    in_container, _ = checks.containerized(view)
    return Mode.CHROOT if mode == Mode.AUTO and in_container else mode


def store_driver(view: HostView, graph_root: Path, wanted: Driver) -> Driver:
    """vfs when asked, or when auto finds a store made with vfs (never open a store with
    another driver); otherwise what was asked (auto: overlay if it works, ``resolve``)."""
    existing = checks_storage.existing_driver(view, graph_root)
    return Driver.VFS if wanted == Driver.VFS or (wanted == Driver.AUTO and existing == "vfs") \
        else wanted


def _choose_storage(view: HostView, prober: Prober, wanted: Driver, graph_root: Path,
                    run_root: Path, done: list[Check]
                    ) -> tuple[StoreOptions, list[str], list[str]]:
    reasons: list[str] = []
    warnings: list[str] = []
    if store_driver(view, graph_root, wanted) == Driver.VFS:
        if wanted == "auto":
            reasons.append(f"storage: vfs, the driver the existing store at {graph_root} uses")
        warnings.append(VFS_COST)
        return StoreOptions(graph_root, run_root, "vfs"), reasons, warnings

    native = prober.native_overlay(graph_root.parent)
    done.append(checks_storage.check_native_overlay(wanted, native, graph_root.parent))
    if native.ok:
        reasons.append("storage: native kernel overlay")
        return StoreOptions(graph_root, run_root, "overlay"), reasons, warnings
    fuse_check = checks_storage.check_fuse(view, wanted, native_ok=False)
    done.append(fuse_check)
    if fuse_check.status is Status.OK:
        fuse = str(view.which("fuse-overlayfs"))
        reasons.append(f"storage: overlay through {fuse}, since native overlay failed "
                       f"({native.detail})")
        return StoreOptions(graph_root, run_root, "overlay", fuse), reasons, warnings
    if fuse_check.failed:
        raise _host_error(f"overlay storage cannot work here: native overlay failed "
                          f"({native.detail})", [fuse_check])
    reasons.append(f"storage: vfs, because native overlay failed ({native.detail}) and "
                   f"{fuse_check.finding}")
    warnings.append(VFS_COST)
    return StoreOptions(graph_root, run_root, "vfs"), reasons, warnings


def _host_error(summary: str, failed: list[Check], lead: str = "") -> HostError:
    """The doctor's findings and fix lines, as the error ``build`` stops with."""
    findings = "; ".join(f"[{c.id}] {c.finding}" for c in failed)
    fixes = list(dict.fromkeys(line for c in failed for line in c.fix))  # once each
    hint = (lead + "\n") if lead else ""
    hint += ("fix:\n" + "\n".join(f"  {line}" for line in fixes) + "\n") if fixes else ""
    message = f"{summary}: {findings}" if summary else "; ".join(c.finding for c in failed)
    return HostError(message, hint + "details: dockwright doctor")
