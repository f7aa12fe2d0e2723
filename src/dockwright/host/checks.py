"""Host checks of the user namespace. Each is a small function of the host (``HostView``, and a
``Prober`` for the few that must try something for real) returning a ``Check``; none prints or
exits. The other checks are in ``checks_runtime`` and ``checks_storage``.

``resolve`` uses them to choose the mode and storage; ``dockwright doctor`` prints them.

A fix is a tuple of shell lines: ``sudo ...`` lines run as root (the seed's own spelling where
the seed gives one), ``export ...`` lines in the user's shell, ``# ...`` lines are notes.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from dockwright.host import container
from dockwright.host.probes import Prober
from dockwright.host.view import HostView

SUBID_MIN = 65536
SUBID_BASE = 100000
MAX_USER_NAMESPACES_MIN = 15000
CONTAINER_CGROUP_MARKERS = ("/kubepods", "/containerd", "/cri-containerd-")
INSTALL_UIDMAP = "sudo apt-get install -y uidmap  # Debian/Ubuntu; shadow-utils elsewhere"
CAP_SETGID, CAP_SETUID = 6, 7
SYSCTL_D = "/etc/sysctl.d/20-apparmor-donotrestrict.conf"


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    id: str
    status: Status
    finding: str
    fix: tuple[str, ...] = ()  # shell lines that fix it (see the module's docstring)

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL


def containerized(view: HostView) -> tuple[bool, str]:
    """werf's rule: WERF_CONTAINERIZED first, then /.dockerenv, /run/.containerenv, cgroup."""
    forced = view.env.get("WERF_CONTAINERIZED", "").strip().lower()
    if forced in ("1", "true", "yes"):
        return True, "WERF_CONTAINERIZED is set"
    if forced in ("0", "false", "no"):
        return False, "WERF_CONTAINERIZED=no"
    for marker in ("/.dockerenv", "/run/.containerenv"):
        if view.exists(marker):
            return True, f"{marker} exists"
    cgroup = view.read("/proc/1/cgroup") or ""
    for marker in CONTAINER_CGROUP_MARKERS:
        if marker in cgroup:
            return True, f"/proc/1/cgroup mentions {marker}"
    return False, "no container markers"


def check_container(view: HostView, mode: str) -> Check:
    inside, why = containerized(view)
    if not inside:
        return Check("container", Status.OK, f"not in a container ({why})")
    rules_out = ("werf refuses native-rootless in containers, so auto means native-chroot; "
                 "the user namespace may need unconfined seccomp/AppArmor (userns-create "
                 "says), and overlay /dev/fuse passed in where native overlay fails (fuse)")
    if mode == "native-rootless":
        rules_out += "; native-rootless was asked for: allowed only because the probes pass"
    if why == "WERF_CONTAINERIZED is set":  # said, not guessed: nothing to correct
        return Check("container", Status.OK, f"running in a container ({why}): {rules_out}")
    return Check("container", Status.WARN, f"running in a container ({why}): {rules_out}",
                 ("export WERF_CONTAINERIZED=no  # only if this is not really a container",))


def host_side(view: HostView, lines: tuple[str, ...]) -> tuple[str, ...]:
    """A fix only the host can apply (the kernel's settings): inside a container, notes for
    the runner's host, which nothing run in the container can change."""
    if not containerized(view)[0]:
        return lines
    return ("# on the runner's host (the container shares its kernel and cannot change it):",
            *(f"#   {line}" for line in lines))


# -- /etc/subuid, /etc/subgid ----------------------------------------------------------------

@dataclass(frozen=True)
class SubidLine:
    number: int
    who: str  # user name or uid; the raw text for a malformed line
    start: int  # -1 for a malformed line
    count: int

    @property
    def end(self) -> int:  # last id of the range
        return self.start + self.count - 1


def subid_lines(view: HostView, file: str) -> list[SubidLine] | None:
    text = view.read(file)
    if text is None:
        return None
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        try:
            start, count = int(parts[1]), int(parts[2])
            if len(parts) != 3 or not parts[0] or start < 0 or count <= 0:
                raise ValueError(line)
            out.append(SubidLine(number, parts[0], start, count))
        except (ValueError, IndexError):
            out.append(SubidLine(number, line, -1, -1))
    return out


def free_range(lines: list[SubidLine], skip: tuple[int, ...] = ()) -> tuple[int, int]:
    """The first range of SUBID_MIN ids above every other range (``skip``: line numbers)."""
    ends = [x.start + x.count for x in lines if x.start >= 0 and x.number not in skip]
    start = max([SUBID_BASE, *ends])
    return start, start + SUBID_MIN - 1


def check_subids(view: HostView, file: str) -> Check:
    """``file`` (/etc/subuid or /etc/subgid) gives the user one range of >= 65536 ids."""
    ident = view.identity
    kind = "subuid" if file.endswith("subuid") else "subgid"
    flag = "subuids" if kind == "subuid" else "subgids"
    if ident.is_root:
        return Check(kind, Status.SKIP, "root needs no subordinate ids")
    lines = subid_lines(view, file)
    if lines is None:
        return Check(kind, Status.FAIL, f"{file} does not exist",
                     (INSTALL_UIDMAP,
                      f"sudo usermod --add-{flag} {SUBID_BASE}-{SUBID_BASE + SUBID_MIN - 1} "
                      f"{ident.user}"))
    bad = [x for x in lines if x.start < 0]
    if bad:
        return Check(kind, Status.FAIL,
                     f"{file}:{bad[0].number} is malformed: {bad[0].who!r} "
                     "(newuidmap and useradd refuse the file)",
                     tuple(f"sudo sed -i '{x.number}d' {file}  # the malformed line"
                           for x in reversed(bad)))
    mine = [x for x in lines if x.who in (ident.user, str(ident.uid))]
    if not mine:
        low, high = free_range(lines)
        add = f"sudo usermod --add-{flag} {low}-{high} {ident.user}"
        if containerized(view)[0]:
            return Check(kind, Status.FAIL, f"{file} has no range for {ident.user} (uid "
                         f"{ident.uid}), the user this container runs as",
                         (*container.run_as_build_user(),
                          f"# or give the user a range in the image: RUN {add[5:]}"
                          if ident.user != str(ident.uid) else
                          f"# or add a user with uid {ident.uid} in the image: RUN useradd "
                          f"--uid {ident.uid} NAME (Debian's useradd gives it a range)"))
        return Check(kind, Status.FAIL, f"{file} has no range for {ident.user}", (add,))
    if len(mine) > 1:
        where = ", ".join(str(x.number) for x in mine)
        return Check(kind, Status.FAIL,
                     f"{file} has {len(mine)} lines for {ident.user} (lines {where}); newuidmap "
                     "then fails with 'write to uid_map failed: Invalid argument' and Buildah "
                     "falls back to a single mapping, wrongly blaming newuidmap's setuid bit",
                     tuple(f"sudo sed -i '{x.number}d' {file}  # keep line {mine[0].number}"
                           for x in reversed(mine[1:])))
    line = mine[0]
    own = ident.uid if kind == "subuid" else ident.gid
    low, high = free_range(lines, skip=(line.number,))
    replace = (f"sudo usermod --del-{flag} {line.start}-{line.end} "
               f"--add-{flag} {low}-{high} {ident.user}",)
    if line.start <= own <= line.end:
        return Check(kind, Status.FAIL,
                     f"{file}:{line.number}: range {line.start}-{line.end} contains "
                     f"{ident.user}'s own id {own}", replace)
    if line.count < SUBID_MIN:
        return Check(kind, Status.FAIL,
                     f"{file}:{line.number}: {line.count} ids for {ident.user}, fewer than "
                     f"{SUBID_MIN} (Buildah: 'potentially insufficient UIDs or GIDs')", replace)
    for other in lines:
        if other.number != line.number and other.start <= line.end and line.start <= other.end:
            return Check(kind, Status.WARN,
                         f"{file}:{line.number} overlaps {other.who}'s range at line "
                         f"{other.number}: files in either user's images can be changed by "
                         "the other", replace)
    return Check(kind, Status.OK,
                 f"{line.count} ids from {line.start} ({file}:{line.number})")


# -- newuidmap, newgidmap --------------------------------------------------------------------

def file_caps(path: str) -> tuple[int, bool] | None:
    """(permitted capability mask, effective flag) of a file capability, if it has one."""
    try:
        raw = os.getxattr(path, "security.capability")
    except OSError:
        return None
    if len(raw) < 12:
        return None
    magic, permitted, _inheritable = struct.unpack_from("<III", raw)
    high = struct.unpack_from("<I", raw, 12)[0] if len(raw) >= 20 else 0
    return permitted | (high << 32), bool(magic & 1)


def check_idmap_tools(view: HostView,
                      read_caps: Callable[[str], tuple[int, bool] | None] = file_caps) -> Check:
    """newuidmap/newgidmap present, with setuid root or the right file capability.
    (``read_caps``: tests cannot set security.capability without root.)"""
    if view.identity.is_root:
        return Check("newuidmap", Status.SKIP, "root needs no newuidmap")
    problems: list[str] = []
    fixes: list[str] = []
    broken: list[str] = []  # only these are changed: a working tool is left as it is
    for tool, cap, bit in (("newuidmap", "cap_setuid", CAP_SETUID),
                           ("newgidmap", "cap_setgid", CAP_SETGID)):
        path = view.which(tool)
        if path is None:
            return Check("newuidmap", Status.FAIL,
                         f"{tool} is not installed (Buildah: 'command required for rootless "
                         f"mode with multiple IDs: exec: \"{tool}\": executable file not found')",
                         (INSTALL_UIDMAP,))
        real = view.path(path)
        st = os.stat(real)
        setuid = bool(st.st_mode & stat.S_ISUID) and view.owned_by_root(path)
        caps = read_caps(str(real))
        has_cap = caps is not None and caps[1] and bool(caps[0] & (1 << bit))
        if not setuid and not has_cap:
            problems.append(f"{path} has neither the setuid bit nor the {cap} file capability")
            fixes.append(f"sudo setcap {cap}+ep {path}")
            broken.append(str(path))
    if problems:
        fixes.append(f"sudo chmod u-s,g-s {' '.join(broken)}")
        return Check("newuidmap", Status.FAIL,
                     "; ".join(problems) + ": Buildah falls back to a single mapping with "
                     "only a warning ('newuidmap should be setuid or have filecaps setuid') and "
                     "the build fails later at the first chown", tuple(fixes))
    return Check("newuidmap", Status.OK, "newuidmap and newgidmap are setuid or have filecaps")


def check_no_new_privs(view: HostView) -> Check:
    if view.identity.is_root:
        return Check("no-new-privs", Status.SKIP, "root needs no newuidmap")
    value = view.status_field("NoNewPrivs")
    if value == "1":
        return Check("no-new-privs", Status.FAIL,
                     "NoNewPrivs is set for this process: newuidmap and newgidmap cannot gain "
                     "their setuid or capabilities, so only a single mapping is possible",
                     ("# run dockwright without no_new_privs: drop Docker's --security-opt "
                      "no-new-privileges, systemd's NoNewPrivileges=yes, or setpriv "
                      "--no-new-privs from what starts it",))
    return Check("no-new-privs", Status.OK,
                 "NoNewPrivs is not set" if value == "0" else "NoNewPrivs not reported")


# -- sysctls ---------------------------------------------------------------------------------

def check_userns_clone(view: HostView) -> Check:
    value = view.sysctl("kernel.unprivileged_userns_clone")
    if view.identity.is_root:
        return Check("userns-clone", Status.SKIP, "root needs no unprivileged user namespace")
    if value is None:
        return Check("userns-clone", Status.OK,
                     "kernel.unprivileged_userns_clone does not exist (no such restriction)")
    if value == "1":
        return Check("userns-clone", Status.OK, "kernel.unprivileged_userns_clone = 1")
    return Check("userns-clone", Status.FAIL,
                 f"kernel.unprivileged_userns_clone = {value}: users cannot create user "
                 "namespaces ('Error during unshare(CLONE_NEWUSER): Operation not permitted')",
                 host_side(view, ("echo 'kernel.unprivileged_userns_clone = 1' | "
                                  "sudo tee -a /etc/sysctl.conf", "sudo sysctl -p")))


def check_max_user_namespaces(view: HostView) -> Check:
    value = view.sysctl("user.max_user_namespaces")
    if view.identity.is_root:
        return Check("max-user-namespaces", Status.SKIP,
                     f"root builds without a user namespace (user.max_user_namespaces = {value})")
    if value is None:
        return Check("max-user-namespaces", Status.WARN,
                     "user.max_user_namespaces does not exist: the kernel may lack user "
                     "namespaces (CONFIG_USER_NS)")
    if not value.isdigit() or int(value) < MAX_USER_NAMESPACES_MIN:
        return Check("max-user-namespaces", Status.FAIL,
                     f"user.max_user_namespaces = {value}, fewer than "
                     f"{MAX_USER_NAMESPACES_MIN}" + (" (user namespaces are disabled)"
                                                     if value == "0" else ""),
                     host_side(view, ("echo 'user.max_user_namespaces = 15000' | "
                                      "sudo tee -a /etc/sysctl.conf", "sudo sysctl -p")))
    return Check("max-user-namespaces", Status.OK, f"user.max_user_namespaces = {value}")


def check_apparmor_userns(view: HostView) -> Check:
    """Ubuntu 23.10+: unprivileged user namespaces only for programs with an AppArmor profile
    that allows ``userns``."""
    name = "kernel.apparmor_restrict_unprivileged_userns"
    value = view.sysctl(name)
    if value is None:
        return Check("apparmor-userns", Status.SKIP, f"{name} does not exist")
    if view.identity.is_root or value == "0":
        return Check("apparmor-userns", Status.OK, f"{name} = {value}"
                     + (" (root is not restricted)" if value != "0" else ""))
    buildah = view.which("buildah")
    profile = view.read("/etc/apparmor.d/buildah") or ""
    if "userns" in profile:
        return Check("apparmor-userns", Status.OK,
                     f"{name} = {value}, and /etc/apparmor.d/buildah allows userns")
    target = buildah or "/usr/bin/buildah"
    if containerized(view)[0]:  # the host's sysctl; a profile in the container would not count
        return Check("apparmor-userns", Status.FAIL,
                     f"{name} = {value} on the runner's host: unconfined programs get no user "
                     "namespace there (Ubuntu 23.10+)",
                     host_side(view, (f"echo '{name} = 0' | sudo tee {SYSCTL_D}",
                                      f"sudo sysctl -p {SYSCTL_D}")))
    return Check("apparmor-userns", Status.FAIL,
                 f"{name} = {value} and no AppArmor profile allows {target} user namespaces",
                 (f"printf 'abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile buildah "
                  f"{target} flags=(unconfined) {{\\n  userns,\\n}}\\n' | "
                  "sudo tee /etc/apparmor.d/buildah",
                  "sudo apparmor_parser -r /etc/apparmor.d/buildah",
                  f"# or, for every program: sudo sysctl -w {name}=0"))


def check_userns_create(view: HostView, prober: Prober) -> Check:
    """The process may create a user namespace: Buildah needs one unless it runs as a root
    holding CAP_SYS_ADMIN. In a container the seccomp filter or AppArmor profile the
    container was started with is the usual reason it may not."""
    if not container.needs_userns(view):
        return Check("userns-create", Status.SKIP,
                     "root with CAP_SYS_ADMIN builds without a user namespace")
    result = prober.userns_create()
    who = "root without CAP_SYS_ADMIN" if view.identity.is_root else view.identity.user
    if result.ok:
        return Check("userns-create", Status.OK, f"{who} can create a user namespace")
    confined = container.confinement(view)
    inside, _ = containerized(view)
    cause = (f"; {' and '.join(confined)} confines this process" if confined else "")
    finding = (f"{who} cannot create a user namespace ({result.detail}){cause}: Buildah "
               "fails with 'Error during unshare(CLONE_NEWUSER): Operation not permitted'")
    if inside:
        return Check("userns-create", Status.FAIL, finding, container.unconfined())
    return Check("userns-create", Status.FAIL, finding,
                 ("# fix the userns-clone, max-user-namespaces and apparmor-userns checks "
                  "above; a seccomp or AppArmor profile of what starts dockwright must allow "
                  "unshare(CLONE_NEWUSER)",))


def check_userns_probe(view: HostView, prober: Prober) -> Check:
    """Buildah's user namespace really has the full mapping (more than one uid_map line)."""
    if view.identity.is_root:
        return Check("userns-mapping", Status.SKIP, "root builds without a user namespace")
    result = prober.userns_mapping()
    if result.ok:
        return Check("userns-mapping", Status.OK, f"full mapping: {result.detail}")
    return Check("userns-mapping", Status.FAIL,
                 f"'buildah unshare' gets no full mapping ({result.detail}); Buildah would go "
                 "on with a single mapping and fail at the first chown",
                 ("# fix the subuid, subgid, newuidmap and sysctl checks above",))
