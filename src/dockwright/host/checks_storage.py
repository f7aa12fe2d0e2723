"""Checks of the storage: kernel overlay, fuse-overlayfs, the store's directories, its
filesystem and the driver it was created with."""

from __future__ import annotations

import os
import re
from pathlib import Path

from dockwright.host import container
from dockwright.host.checks import Check, Status, containerized
from dockwright.host.probes import ProbeResult
from dockwright.host.view import HostView

INSTALL_FUSE = "sudo apt-get install -y fuse-overlayfs"
NO_OVERLAY_FS = {"overlay": "overlayfs", "aufs": "aufs", "nfs": "NFS", "nfs4": "NFS",
                 "cifs": "CIFS", "smb3": "SMB", "fuse.sshfs": "sshfs", "9p": "9p"}


def kernel_version(release: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", release)
    return (int(match[1]), int(match[2])) if match else None


def check_kernel(view: HostView) -> Check:
    """Rootless native overlay needs 5.13 (5.11 on Ubuntu and some others)."""
    release = view.kernel_release()
    version = kernel_version(release)
    if version is None:
        return Check("kernel", Status.WARN, f"cannot read the kernel version from {release!r}")
    if view.identity.is_root or version >= (5, 13):
        return Check("kernel", Status.OK, f"{release}: native overlay works "
                     + ("for root" if version < (5, 13) else "rootless (5.13+)"))
    fuse = view.which("fuse-overlayfs")
    fix = () if fuse else (INSTALL_FUSE,)
    if version >= (5, 11):
        return Check("kernel", Status.WARN,
                     f"{release}: rootless native overlay only on some distributions "
                     "(5.11+); otherwise fuse-overlayfs or vfs", fix)
    return Check("kernel", Status.WARN,
                 f"{release}: older than 5.11, no rootless native overlay: "
                 + (f"{fuse} will be used" if fuse else "install fuse-overlayfs, or vfs is used"),
                 fix)


def check_overlay_module(view: HostView) -> Check:
    """``overlay`` known to the kernel: built in or loaded (/proc/filesystems counts both)."""
    if "overlay" in (view.read("/proc/filesystems") or "").split():
        return Check("overlay-module", Status.OK, "overlay is in /proc/filesystems")
    modules = view.read("/proc/modules") or ""
    if any(line.split()[:1] == ["overlay"] for line in modules.splitlines()):
        return Check("overlay-module", Status.OK, "the overlay module is loaded")
    fuse = view.which("fuse-overlayfs")
    available = view.exists(f"/lib/modules/{view.kernel_release()}/kernel/fs/overlayfs")
    if available:
        return Check("overlay-module", Status.WARN,
                     "the overlay module is not loaded"
                     + (f" ({fuse} would be used)" if fuse else ""),
                     ("sudo modprobe overlay",
                      "echo overlay | sudo tee /etc/modules-load.d/overlay.conf"))
    return Check("overlay-module", Status.WARN,
                 "this kernel has no overlay filesystem: "
                 + (f"{fuse} will be used" if fuse else "install fuse-overlayfs, or vfs is used"),
                 () if fuse else (INSTALL_FUSE,))


def check_native_overlay(driver: str, probe: ProbeResult | None, where: Path) -> Check:
    if driver == "vfs" or probe is None:
        return Check("native-overlay", Status.SKIP, "vfs storage: no overlay needed")
    if probe.ok:
        return Check("native-overlay", Status.OK, f"kernel overlay mounts in {where}")
    return Check("native-overlay", Status.WARN,
                 f"kernel overlay does not mount in {where} ({probe.detail}): overlay needs "
                 "fuse-overlayfs here")


def check_fuse(view: HostView, driver: str, native_ok: bool) -> Check:
    """fuse-overlayfs and a usable /dev/fuse, when native overlay cannot be used."""
    if driver == "vfs":
        return Check("fuse", Status.SKIP, "vfs storage: no overlay needed")
    if native_ok:
        return Check("fuse", Status.SKIP, "not needed: native kernel overlay works")
    status = Status.FAIL if driver == "overlay" else Status.WARN
    fallback = "" if driver == "overlay" else " (auto therefore uses vfs)"
    alt = "# or use vfs: export WERF_BUILDAH_STORAGE_DRIVER=vfs"
    fuse = view.which("fuse-overlayfs")
    if fuse is None:
        return Check("fuse", status, "native overlay fails and fuse-overlayfs is not "
                     "installed" + fallback, (INSTALL_FUSE, alt))
    inside = containerized(view)[0]
    if not view.exists("/dev/fuse"):
        return Check("fuse", status, "/dev/fuse does not exist ('fuse: device not found, try "
                     "modprobe fuse first')" + fallback,
                     (*container.fuse_device(), alt) if inside else ("sudo modprobe fuse", alt))
    if not view.can_access("/dev/fuse"):
        return Check("fuse", status, f"/dev/fuse is not readable and writable by "
                     f"{view.identity.user} ('fuse-overlayfs: cannot mount: Permission "
                     "denied')" + fallback,
                     ("# on the host: sudo chmod 0666 /dev/fuse, then pass it in:",
                      *container.fuse_device()[1:], alt) if inside else
                     ("sudo chmod 0666 /dev/fuse",
                      "# to keep it after a reboot: a udev rule KERNEL==\"fuse\", MODE=\"0666\"",
                      alt))
    return Check("fuse", Status.OK, f"native overlay fails here, so {fuse} with /dev/fuse")


def check_storage_dir(view: HostView, graph_root: Path, default: bool) -> Check:
    """The store (and, for the default place, ~/.local/share/containers) exists or can be
    created, and the user can read and write it."""
    ident = view.identity
    dirs = [graph_root.parent, graph_root] if default else [graph_root]
    for directory in dirs:
        if view.exists(directory):
            if not view.path(directory).is_dir():
                return Check("storage-dir", Status.FAIL, f"{directory} is not a directory",
                             (f"sudo mv {directory} {directory}.moved",))
            if read_only(view, directory):
                inside = containerized(view)[0]
                return Check("storage-dir", Status.FAIL,
                             f"{directory} is on a read-only mount: Buildah cannot write its "
                             "store there",
                             container.writable_volume(str(directory)) if inside else
                             (f"# remount {view.fs_type(directory)[1] or directory} read-write, "
                              "or give a writable store with --storage-root DIR",))
            if not view.can_access(directory):
                return Check("storage-dir", Status.FAIL,
                             f"{ident.user} cannot read and write {directory}",
                             (f"sudo chown {ident.user}: {directory}",
                              f"sudo chmod u+rwx {directory}"))
            continue
        parent = view.existing_ancestor(directory)
        if not view.can_access(parent):
            return Check("storage-dir", Status.FAIL,
                         f"{directory} does not exist and {ident.user} cannot create it "
                         f"({parent} is not writable)",
                         (f"sudo install -d -o {ident.user} -g {ident.gid} {directory}",))
    state = "exists" if view.exists(graph_root) else "will be created"
    return Check("storage-dir", Status.OK, f"{graph_root} {state}, readable and writable")


def read_only(view: HostView, absolute: str | Path) -> bool:
    """Is ``absolute`` on a read-only mount (a volume mounted with :ro)?"""
    try:
        return bool(os.statvfs(view.path(absolute)).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def check_storage_fs(view: HostView, graph_root: Path) -> Check:
    where = view.existing_ancestor(graph_root)
    fstype, mount = view.fs_type(where)
    if not fstype:
        return Check("storage-fs", Status.SKIP, f"filesystem of {where} unknown")
    if fstype in NO_OVERLAY_FS:
        return Check("storage-fs", Status.WARN,
                     f"{graph_root} is on {NO_OVERLAY_FS[fstype]} ({mount}): kernel overlay "
                     f"does not work over {fstype} ('overlay' is not supported over "
                     f"{fstype}); fuse-overlayfs or vfs instead",
                     ("# put the store on a local filesystem (a volume) with --storage-root",))
    return Check("storage-fs", Status.OK, f"{graph_root} is on {fstype} ({mount})")


def existing_driver(view: HostView, graph_root: Path) -> str | None:
    """The driver a store at ``graph_root`` was created with, if it has images or layers."""
    for driver in ("overlay", "vfs"):
        for what in ("images", "layers"):
            directory = view.path(graph_root / f"{driver}-{what}")
            try:
                if directory.is_dir() and any(directory.iterdir()):
                    return driver
            except OSError:
                continue
    return None


def check_store_driver(view: HostView, graph_root: Path, wanted: str) -> Check:
    existing = existing_driver(view, graph_root)
    if existing is None:
        return Check("store-driver", Status.OK, f"no store yet at {graph_root}")
    if wanted in ("auto", existing):
        return Check("store-driver", Status.OK, f"the store at {graph_root} uses {existing}")
    return Check("store-driver", Status.FAIL,
                 f"the store at {graph_root} was created with the {existing} driver; {wanted} "
                 "was asked for, and Buildah cannot open it with another driver ('User-selected "
                 f"graph driver \"{wanted}\" overwritten by graph driver \"{existing}\"')",
                 (f"export WERF_BUILDAH_STORAGE_DRIVER={existing}",
                  "# or give another store with --storage-root DIR, or empty this one: buildah "
                  f"--root {graph_root} --storage-driver {existing} rmi --all"))


def check_run_root(view: HostView, run_root: Path) -> Check:
    ident = view.identity
    if view.exists(run_root):
        if view.can_access(run_root):
            return Check("run-root", Status.OK, f"{run_root} is writable")
        return Check("run-root", Status.FAIL,
                     f"{ident.user} cannot write the run root {run_root} ('mkdir "
                     f"{run_root}: permission denied')",
                     (f"sudo rm -rf {run_root}  # another user's; it is re-created",))
    parent = view.existing_ancestor(run_root)
    if view.can_access(parent):
        return Check("run-root", Status.OK, f"{run_root} will be created in {parent}")
    return Check("run-root", Status.FAIL,
                 f"{ident.user} cannot create the run root {run_root} ({parent} is not "
                 "writable)", (f"sudo install -d -m 0700 -o {ident.user} {run_root}",))


def check_xdg_runtime_dir(view: HostView) -> Check:
    value = view.env.get("XDG_RUNTIME_DIR")
    ident = view.identity
    if ident.is_root:
        return Check("xdg-runtime-dir", Status.SKIP, "root uses /run/containers")
    if not value:
        return Check("xdg-runtime-dir", Status.OK,
                     f"unset (as after su or runuser): the run root is /tmp/dockwright-run-"
                     f"{ident.uid}")
    try:
        mine = view.is_fake or view.path(value).stat().st_uid == ident.uid
    except OSError:
        mine = False
    if not mine or not view.can_access(value):
        return Check("xdg-runtime-dir", Status.WARN,
                     f"XDG_RUNTIME_DIR={value} is not {ident.user}'s own writable directory "
                     "(Buildah: 'XDG_RUNTIME_DIR ... is not owned by the current user')",
                     ("unset XDG_RUNTIME_DIR  # dockwright then uses a private run root in /tmp",))
    return Check("xdg-runtime-dir", Status.OK, f"{value} is {ident.user}'s and writable")
