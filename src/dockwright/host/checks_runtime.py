"""Checks of the programs a build runs: Buildah itself and the OCI runtimes."""

from __future__ import annotations

import os
from pathlib import Path

from dockwright import platforms
from dockwright.engine.buildah import parse_version
from dockwright.host.checks import Check, Status, host_side
from dockwright.host.probes import Prober
from dockwright.host.view import HostView

RUNTIMES = ("crun", "runc", "kata-runtime", "runsc")
# where containers.conf looks for runtimes: a runtime there but not on PATH is worth a hint
RUNTIME_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin",
                "/usr/lib/cri-o-runc/sbin", "/run/current-system/sw/bin")
BUILDAH_MIN = (1, 23)


def check_buildah(view: HostView, prober: Prober) -> Check:
    path = view.which("buildah")
    if path is None:
        return Check("buildah", Status.FAIL, "buildah is not on PATH",
                     ("sudo apt-get install -y buildah  # dnf install buildah elsewhere",))
    result = prober.buildah_version()
    if not result.ok:
        return Check("buildah", Status.FAIL, f"{path} does not run: {result.detail}",
                     ("sudo apt-get install --reinstall -y buildah",))
    version = parse_version(result.detail)
    if version and version < BUILDAH_MIN:
        return Check("buildah", Status.WARN,
                     f"{path}: {result.detail}, older than the oldest tested "
                     f"({'.'.join(map(str, BUILDAH_MIN))})",
                     ("sudo apt-get install -y --only-upgrade buildah",))
    return Check("buildah", Status.OK, f"{path}: {result.detail}")


def runtime_candidates(view: HostView) -> list[str]:
    """Installed OCI runtimes on PATH, in Buildah's order of preference."""
    return [str(p) for p in (view.which(name) for name in RUNTIMES) if p]


def runtimes_off_path(view: HostView) -> list[str]:
    """Runtimes in the usual places that PATH does not reach (one per real file)."""
    on_path = {os.path.realpath(view.path(p)) for p in runtime_candidates(view)}
    names_on_path = {os.path.basename(p) for p in runtime_candidates(view)}
    found: list[str] = []
    for name in RUNTIMES:
        if name in names_on_path:
            continue
        for directory in RUNTIME_DIRS:
            candidate = Path(directory) / name
            real = os.path.realpath(view.path(candidate))
            if view.is_program(candidate) and real not in on_path:
                on_path.add(real)
                found.append(str(candidate))
                break
    return found


def check_runtimes(view: HostView, prober: Prober, mode: str = "auto"
                   ) -> tuple[Check, str | None]:
    """Probe every installed OCI runtime; returns the check and the first one that works.

    Only native-rootless needs one: for auto a missing runtime means native-chroot (a warning),
    for native-chroot the check is skipped.
    """
    found = runtime_candidates(view)
    if mode == "native-chroot":
        shown = ", ".join(found) or "none on PATH"
        return Check("oci-runtime", Status.SKIP,
                     f"native-chroot runs no OCI runtime (installed: {shown})"), None
    works: list[str] = []
    broken: list[str] = []
    for path in found:
        result = prober.runtime(path)
        if result.ok:
            works.append(path)
        else:
            broken.append(f"{os.path.basename(path)}: {result.detail}")
    if works:
        note = f"{works[0]} runs a container"
        if broken:
            return Check("oci-runtime", Status.WARN, f"{note}; not working: {'; '.join(broken)}"
                         ), works[0]
        return Check("oci-runtime", Status.OK, note), works[0]
    elsewhere = [p for p in runtimes_off_path(view) if prober.runtime(p).ok]
    finding = ("no OCI runtime (crun, runc, kata-runtime, runsc) on PATH" if not found else
               "no OCI runtime on PATH runs a container here: " + "; ".join(broken))
    if elsewhere:
        directory = os.path.dirname(elsewhere[0])
        finding += f"; {elsewhere[0]} works but is not on PATH"
        fix: tuple[str, ...] = (f'export PATH="$PATH:{directory}"',)
    else:
        fix = ("sudo apt-get install -y runc  # works with every cgroup layout",)
    status = Status.FAIL if mode == "native-rootless" else Status.WARN
    if status is Status.WARN:
        finding += " (auto therefore uses native-chroot)"
    else:
        fix += ("# or build without an OCI runtime: export WERF_BUILDAH_MODE=native-chroot",)
    return Check("oci-runtime", status, finding, fix), None




def check_network(view: HostView, prober: Prober, isolation: str, runtime: str | None,
                  asked: str) -> Check:
    """The network RUN steps get: their own (the default), the host's, or none."""
    if isolation == "chroot":
        return Check("network", Status.OK,
                     "chroot isolation: RUN steps share the host's network, services on its "
                     "loopback included (native-rootless gives them a network of their own)")
    if asked == "host":
        return Check("network", Status.OK, "RUN steps use the host's network (asked: host), "
                     "services on its loopback included")
    if asked == "none":
        return Check("network", Status.OK, "RUN steps have no network (asked: none)")
    if runtime is None:
        return Check("network", Status.SKIP, "not probed: no OCI runtime works here")
    probe = prober.private_network(runtime)
    if probe.ok:
        return Check("network", Status.OK, "RUN steps get a network of their own (Buildah's "
                     "default); the host's loopback services are out of their reach")
    fixes: list[str] = []
    if "No such file or directory" in probe.detail and view.which("iptables") is None:
        # netavark runs iptables from PATH; su/runuser/CI environments often lack /usr/sbin
        sbin = next((d for d in ("/usr/sbin", "/sbin") if view.is_program(f"{d}/iptables")),
                    None)
        fixes.append(f'export PATH="$PATH:{sbin}"  # netavark runs iptables from PATH' if sbin
                     else "sudo apt-get install -y iptables  # netavark needs it")
    elif not view.identity.is_root:
        fixes.append("# this Buildah gives rootless RUN steps no network of their own here "
                     "(as root it would)")
    fixes += ["export DOCKWRIGHT_NETWORK=host  # RUN steps share the host's network, or:",
              "export DOCKWRIGHT_NETWORK=none  # RUN steps have no network",
              "# per image: 'network: host' in werf.yaml; per build: --network host"]
    return Check("network", Status.FAIL,
                 f"a private network for RUN steps does not work here ({probe.detail})",
                 tuple(fixes))


BINFMT = "/proc/sys/fs/binfmt_misc"
INSTALL_QEMU = "sudo apt-get install -y qemu-user-static binfmt-support"


def check_emulation(view: HostView, wanted: tuple[str, ...]) -> Check:
    """Each platform asked for that this machine does not run natively has a binfmt_misc
    handler: registered, enabled, with the F flag (the interpreter is opened when it is
    registered, so it works in the chroot or user namespace of a RUN step, where its path
    does not exist), and its interpreter present."""
    native = platforms.host()
    foreign = [p for p in wanted if platforms.parse(p).arch != native.arch]
    if not foreign:
        return Check("emulation", Status.SKIP, "no platform asked for needs emulation"
                     + (f" ({', '.join(wanted)})" if wanted else ""))
    if not view.exists(f"{BINFMT}/status"):
        return Check("emulation", Status.FAIL,
                     f"{', '.join(foreign)} need emulation, and binfmt_misc is not mounted at "
                     f"{BINFMT}: RUN steps for them fail ('exec format error')",
                     host_side(view, (f"sudo mount -t binfmt_misc binfmt_misc {BINFMT}",
                                      INSTALL_QEMU)))
    problems: list[str] = []
    fixes: list[str] = []
    for p in foreign:
        arch = platforms.parse(p).arch
        qemu = platforms.QEMU.get(arch, arch)
        entry = view.read(f"{BINFMT}/qemu-{qemu}")
        if entry is None:
            problems.append(f"{p}: no handler qemu-{qemu} is registered")
            fixes += [INSTALL_QEMU, f"sudo update-binfmts --enable qemu-{qemu}"]
            continue
        fields = {key: value for key, _, value in (x.partition(" ")
                                                   for x in entry.splitlines())}
        interpreter = fields.get("interpreter", "").strip()
        flags = fields.get("flags:", "").strip()
        if "enabled" not in fields:
            problems.append(f"{p}: the handler qemu-{qemu} is disabled")
            fixes.append(f"sudo update-binfmts --enable qemu-{qemu}")
        elif "F" not in flags:
            problems.append(f"{p}: the handler qemu-{qemu} lacks the F flag (flags: "
                            f"{flags or 'none'}), so its interpreter {interpreter} is not "
                            "found inside a RUN step's root")
            fixes.append(f"{INSTALL_QEMU}  # qemu-user-static registers with F")
        elif interpreter and not view.exists(interpreter):
            problems.append(f"{p}: the interpreter {interpreter} of qemu-{qemu} is missing")
            fixes.append(INSTALL_QEMU)
    if problems:
        return Check("emulation", Status.FAIL, "; ".join(problems),
                     host_side(view, tuple(dict.fromkeys(fixes))))
    return Check("emulation", Status.OK,
                 f"{', '.join(foreign)} run through binfmt_misc (qemu-user, F flag)")
