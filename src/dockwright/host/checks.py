"""Host checks. Each is a small function of the host (``HostView``, and a ``Prober`` for the
few that must try something for real) returning a ``Check``; none prints or exits.

``resolve`` uses them to choose the mode and storage; ``dockwright doctor`` prints them.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from enum import StrEnum

from dockwright.host.probes import Prober
from dockwright.host.view import HostView

SUBID_MIN = 65536
MAX_USER_NAMESPACES_MIN = 15000
RUNTIMES = ("crun", "runc", "kata-runtime", "runsc")
CONTAINER_CGROUP_MARKERS = ("/kubepods", "/containerd", "/cri-containerd-")


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
    fix: tuple[str, ...] = ()  # shell lines that fix it

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


def _subid_lines(view: HostView, file: str) -> list[tuple[int, str, int, int]] | None:
    text = view.read(file)
    if text is None:
        return None
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.strip().split(":")
        if len(parts) != 3 or line.strip().startswith("#"):
            if line.strip() and not line.strip().startswith("#"):
                out.append((number, line.strip(), -1, -1))
            continue
        try:
            out.append((number, parts[0], int(parts[1]), int(parts[2])))
        except ValueError:
            out.append((number, line.strip(), -1, -1))
    return out


def check_subids(view: HostView, file: str) -> Check:
    """``file`` (/etc/subuid or /etc/subgid) gives the user one range of >= 65536 ids."""
    ident = view.identity
    kind = "subuid" if file.endswith("subuid") else "subgid"
    check_id = kind
    flag = "--add-subuids" if kind == "subuid" else "--add-subgids"
    add_fix = (f"usermod {flag} 100000-165535 {ident.user}",)
    if ident.is_root:
        return Check(check_id, Status.SKIP, "root needs no subordinate ids")
    lines = _subid_lines(view, file)
    if lines is None:
        return Check(check_id, Status.FAIL, f"{file} does not exist",
                     ("apt-get install uidmap  # Debian/Ubuntu; shadow-utils elsewhere",
                      *add_fix))
    bad = [(n, t) for n, t, start, _ in lines if start < 0]
    if bad:
        n, text = bad[0]
        return Check(check_id, Status.FAIL, f"{file}:{n} is malformed: {text!r}",
                     (f"fix or remove line {n} of {file} (format: user:start:count)",))
    mine = [(n, start, count) for n, who, start, count in lines
            if who in (ident.user, str(ident.uid))]
    if not mine:
        return Check(check_id, Status.FAIL, f"{file} has no range for {ident.user}", add_fix)
    if len(mine) > 1:
        where = ", ".join(str(n) for n, _, _ in mine)
        return Check(check_id, Status.FAIL,
                     f"{file} has {len(mine)} lines for {ident.user} (lines {where}); "
                     "newuidmap then fails with 'write to uid_map failed: Invalid argument'",
                     (f"keep one line for {ident.user} in {file}: "
                      f"sed -i '{mine[-1][0]}d' {file}",))
    n, start, count = mine[0]
    own = ident.uid if kind == "subuid" else ident.gid
    if start <= own < start + count:
        return Check(check_id, Status.FAIL,
                     f"{file}:{n}: range {start}-{start + count - 1} contains {ident.user}'s "
                     f"own id {own}", (f"move the range in {file}:{n} above 100000",))
    for m, who, ostart, ocount in lines:
        if m != n and ostart >= 0 and start < ostart + ocount and ostart < start + count:
            return Check(check_id, Status.WARN,
                         f"{file}:{n} overlaps {who}'s range at line {m}",
                         (f"give {ident.user} a range of its own in {file}",))
    if count < SUBID_MIN:
        return Check(check_id, Status.FAIL,
                     f"{file}:{n}: {count} ids for {ident.user}, fewer than {SUBID_MIN}",
                     (f"set the count in {file}:{n} to {SUBID_MIN}",))
    return Check(check_id, Status.OK, f"{count} ids from {start} ({file}:{n})")


def check_idmap_tools(view: HostView) -> Check:
    """newuidmap/newgidmap present, with setuid or a file capability."""
    if view.identity.is_root:
        return Check("newuidmap", Status.SKIP, "root needs no newuidmap")
    problems: list[str] = []
    fixes: list[str] = []
    for tool, cap in (("newuidmap", "cap_setuid"), ("newgidmap", "cap_setgid")):
        path = view.which(tool)
        if path is None:
            return Check("newuidmap", Status.FAIL, f"{tool} is not installed",
                         ("apt-get install uidmap  # Debian/Ubuntu; shadow-utils elsewhere",))
        real = view.path(path)
        st = os.stat(real)
        setuid = bool(st.st_mode & stat.S_ISUID)  # Debian ships both setuid root
        has_cap = _has_file_caps(str(real))
        if not (setuid and st.st_uid == 0) and not has_cap:
            problems.append(f"{path} has neither the setuid bit nor the {cap} capability")
            fixes += [f"setcap {cap}+ep {path}", f"chmod u-s,g-s {path}"]
    if problems:
        return Check("newuidmap", Status.FAIL, "; ".join(problems), tuple(fixes))
    return Check("newuidmap", Status.OK, "newuidmap and newgidmap are setuid or have filecaps")


def _has_file_caps(path: str) -> bool:
    try:
        return len(os.getxattr(path, "security.capability")) > 0
    except OSError:
        return False


def check_userns_sysctls(view: HostView) -> Check:
    fixes: list[str] = []
    found: list[str] = []
    clone = view.sysctl("kernel.unprivileged_userns_clone")
    if clone is not None and clone != "1" and not view.identity.is_root:
        found.append(f"kernel.unprivileged_userns_clone = {clone}")
        fixes += ["echo 'kernel.unprivileged_userns_clone = 1' | sudo tee -a /etc/sysctl.conf",
                  "sudo sysctl -p"]
    maxns = view.sysctl("user.max_user_namespaces")
    if maxns is not None and maxns.isdigit() and int(maxns) < MAX_USER_NAMESPACES_MIN:
        found.append(f"user.max_user_namespaces = {maxns} (< {MAX_USER_NAMESPACES_MIN})")
        fixes += ["echo 'user.max_user_namespaces = 15000' | sudo tee -a /etc/sysctl.conf",
                  "sudo sysctl -p"]
    apparmor = view.sysctl("kernel.apparmor_restrict_unprivileged_userns")
    if apparmor == "1" and not view.identity.is_root:
        found.append("kernel.apparmor_restrict_unprivileged_userns = 1")
        fixes += ["sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0  # or an "
                  "AppArmor profile allowing userns for buildah"]
    if found:
        return Check("userns-sysctls", Status.FAIL, "; ".join(found), tuple(fixes))
    shown = f"user.max_user_namespaces = {maxns}" if maxns else "no limits found"
    return Check("userns-sysctls", Status.OK, shown)


def check_userns_probe(view: HostView, prober: Prober) -> Check:
    if view.identity.is_root:
        return Check("userns-mapping", Status.SKIP, "root builds without a user namespace")
    result = prober.userns_mapping()
    if result.ok:
        return Check("userns-mapping", Status.OK, f"full mapping: {result.detail}")
    return Check("userns-mapping", Status.FAIL,
                 f"Buildah's user namespace has no full mapping: {result.detail}",
                 ("check the subuid/subgid and newuidmap lines above",))


def runtime_candidates(view: HostView) -> list[str]:
    return [str(p) for p in (view.which(name) for name in RUNTIMES) if p]


def check_runtimes(view: HostView, prober: Prober) -> tuple[Check, str | None]:
    """Probe every installed OCI runtime; returns the check and the first one that works."""
    found = runtime_candidates(view)
    if not found:
        return (Check("oci-runtime", Status.FAIL, "no OCI runtime (crun, runc, kata, runsc) "
                      "on PATH", ("apt-get install runc  # or crun",)), None)
    works: list[str] = []
    broken: list[str] = []
    for path in found:
        result = prober.runtime(path)
        (works if result.ok else broken).append(
            path if result.ok else f"{os.path.basename(path)}: {result.detail}")
    if not works:
        return (Check("oci-runtime", Status.FAIL,
                      "no installed OCI runtime runs a container here: " + "; ".join(broken),
                      ("apt-get install runc  # works with hybrid cgroups",
                       "export WERF_BUILDAH_MODE=native-chroot  # or use chroot isolation")),
                None)
    # prefer runc when crun fails, otherwise Buildah's own preference order (crun first)
    chosen = works[0]
    note = f"using {chosen}"
    if broken:
        return Check("oci-runtime", Status.WARN, note + "; not working: " + "; ".join(broken),
                     ()), chosen
    return Check("oci-runtime", Status.OK, note), chosen
