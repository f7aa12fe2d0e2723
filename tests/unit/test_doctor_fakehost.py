"""Every doctor check against fake host trees, including what no real test machine produces:
old kernels, each sysctl value, AppArmor's restriction, missing or malformed subuid files,
NoNewPrivs. Functional probes are a fake Prober; nothing here needs root or Buildah."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from dockwright import doctor
from dockwright.errors import Exit, HostError, UsageError
from dockwright.host import auth, checks, checks_runtime, checks_storage, limits, probes
from dockwright.host.checks import CAP_SETGID, CAP_SETUID, Status
from dockwright.host.probes import Prober, ProbeResult
from dockwright.host.resolve import Asked, Driver, Mode, resolve
from dockwright.host.view import HostView, Identity

OK_MAP = ProbeResult(True, "0 1000 1 | 1 100000 65536")
CREATED = ProbeResult(True, "unshare --user works")
SECCOMP_EPERM = ProbeResult(False, "unshare: unshare failed: Operation not permitted")
FULL_CAPS = "000001ffffffffff"  # a root that holds CAP_SYS_ADMIN
CONTAINER_CAPS = "00000000800405fb"  # podman's default set for root: no CAP_SYS_ADMIN
MOUNTED = ProbeResult(True, "test mount succeeded")
BUILDAH = ProbeResult(True, "buildah version 1.28.2")
OWN_NETWORK = ProbeResult(True, "a container got its own network")
HYBRID = "cgroups in hybrid mode not supported, drop all controllers from cgroupv2"


class FakeProber(Prober):
    """Stands in for the functional probes (unit tests only)."""

    def __init__(self, view: HostView, *, userns: ProbeResult = OK_MAP,
                 create: ProbeResult = CREATED,
                 runtimes: dict[str, ProbeResult] | None = None,
                 overlay: ProbeResult = MOUNTED, buildah: ProbeResult = BUILDAH,
                 network: ProbeResult = OWN_NETWORK) -> None:
        super().__init__(view, use_cache=False)
        self.network = network
        self.userns = userns
        self.create = create
        self.runtimes = runtimes or {}
        self.overlay = overlay
        self.buildah = buildah
        self.probed: list[str] = []

    def userns_mapping(self) -> ProbeResult:
        self.probed.append("userns-mapping")
        return self.userns

    def userns_create(self) -> ProbeResult:
        self.probed.append("userns-create")
        return self.create

    def runtime(self, runtime: str) -> ProbeResult:
        self.probed.append(runtime)
        return self.runtimes.get(os.path.basename(runtime), ProbeResult(True, "ran"))

    def native_overlay(self, storage_parent: Path) -> ProbeResult:
        return self.overlay

    def private_network(self, runtime: str) -> ProbeResult:
        self.probed.append(f"network:{runtime}")
        return self.network

    def buildah_version(self) -> ProbeResult:
        return self.buildah


class Host:
    """A fake host tree below ``root``: a sane modern host until a test changes it."""

    def __init__(self, root: Path, user: str = "alice", uid: int = 1000) -> None:
        self.root = root
        self.identity = Identity(uid, uid, user, Path(f"/home/{user}"))
        self.env = {"PATH": "/usr/bin:/bin", "WERF_CONTAINERIZED": "no"}
        self.write("/proc/sys/kernel/osrelease", "6.1.0-18-amd64\n")
        self.write("/proc/sys/user/max_user_namespaces", "63379\n")
        self.write("/proc/filesystems", "nodev\tsysfs\nnodev\toverlay\n\text4\n")
        self.write("/proc/self/status", "Name:\tpython3\nNoNewPrivs:\t0\nSeccomp:\t0\n"
                   f"CapEff:\t{FULL_CAPS}\n")
        self.write("/proc/self/mountinfo",
                   "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n")
        self.write("/etc/subuid", f"bob:100000:65536\n{user}:165536:65536\n")
        self.write("/etc/subgid", f"bob:100000:65536\n{user}:165536:65536\n")
        for tool in ("buildah", "runc", "fuse-overlayfs"):
            self.tool(tool)
        for tool in ("newuidmap", "newgidmap"):
            self.tool(tool, 0o4755)
        self.mkdir(f"/home/{user}", 0o755)
        self.mkdir("/tmp", 0o777)
        self.write("/dev/fuse", "", 0o666)

    def write(self, path: str, text: str, mode: int | None = None) -> Path:
        p = self.root / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        if mode is not None:
            p.chmod(mode)
        return p

    def remove(self, path: str) -> None:
        (self.root / path.lstrip("/")).unlink()

    def mkdir(self, path: str, mode: int = 0o755) -> Path:
        p = self.root / path.lstrip("/")
        p.mkdir(parents=True, exist_ok=True)
        p.chmod(mode)
        return p

    def tool(self, name: str, mode: int = 0o755, directory: str = "/usr/bin") -> Path:
        return self.write(f"{directory}/{name}", "#!/bin/sh\n", mode)

    def view(self, root_user: bool = False) -> HostView:
        ident = Identity(0, 0, "root", Path("/root")) if root_user else self.identity
        return HostView(self.root, dict(self.env), ident)


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host(tmp_path / "host")


# -- kernel and overlay ----------------------------------------------------------------------

@pytest.mark.parametrize(("release", "status"), [
    ("6.1.0-18-amd64", Status.OK), ("5.13.0", Status.OK), ("5.11.0-27-generic", Status.WARN),
    ("5.12.3", Status.WARN), ("4.19.0-26-amd64", Status.WARN), ("3.10.0-1160.el7", Status.WARN),
])
def test_kernel_version(host: Host, release: str, status: Status) -> None:
    host.write("/proc/sys/kernel/osrelease", release + "\n")
    check = checks_storage.check_kernel(host.view())
    assert check.status is status
    assert release in check.finding
    assert check.fix == ()  # fuse-overlayfs is installed


def test_old_kernel_without_fuse_overlayfs_says_install_it(host: Host) -> None:
    host.write("/proc/sys/kernel/osrelease", "4.19.0\n")
    host.remove("/usr/bin/fuse-overlayfs")
    check = checks_storage.check_kernel(host.view())
    assert check.status is Status.WARN and "older than 5.11" in check.finding
    assert check.fix == ("sudo apt-get install -y fuse-overlayfs",)


def test_old_kernel_is_fine_for_root(host: Host) -> None:
    host.write("/proc/sys/kernel/osrelease", "4.19.0\n")
    assert checks_storage.check_kernel(host.view(root_user=True)).status is Status.OK


def test_overlay_counts_when_built_in(host: Host) -> None:
    """/proc/filesystems lists a built-in overlay that lsmod (/proc/modules) never shows."""
    host.write("/proc/modules", "ext4 1 0 - Live 0x0\n")
    check = checks_storage.check_overlay_module(host.view())
    assert (check.status, check.finding) == (Status.OK, "overlay is in /proc/filesystems")


def test_overlay_loaded_module(host: Host) -> None:
    host.write("/proc/filesystems", "nodev\tsysfs\n\text4\n")
    host.write("/proc/modules", "overlay 151552 0 - Live 0x0\n")
    assert checks_storage.check_overlay_module(host.view()).status is Status.OK


def test_overlay_module_not_loaded(host: Host) -> None:
    host.write("/proc/filesystems", "nodev\tsysfs\n\text4\n")
    host.mkdir("/lib/modules/6.1.0-18-amd64/kernel/fs/overlayfs")
    check = checks_storage.check_overlay_module(host.view())
    assert check.status is Status.WARN
    assert check.fix == ("sudo modprobe overlay",
                         "echo overlay | sudo tee /etc/modules-load.d/overlay.conf")


def test_no_overlay_at_all_and_no_fuse_overlayfs(host: Host) -> None:
    host.write("/proc/filesystems", "nodev\tsysfs\n\text4\n")
    host.remove("/usr/bin/fuse-overlayfs")
    check = checks_storage.check_overlay_module(host.view())
    assert check.status is Status.WARN and "no overlay filesystem" in check.finding
    assert check.fix == ("sudo apt-get install -y fuse-overlayfs",)


# -- sysctls, AppArmor, NoNewPrivs -----------------------------------------------------------

SEED_CLONE_FIX = ("echo 'kernel.unprivileged_userns_clone = 1' | sudo tee -a /etc/sysctl.conf",
                  "sudo sysctl -p")
SEED_MAXNS_FIX = ("echo 'user.max_user_namespaces = 15000' | sudo tee -a /etc/sysctl.conf",
                  "sudo sysctl -p")


@pytest.mark.parametrize(("value", "status"), [
    (None, Status.OK), ("1", Status.OK), ("0", Status.FAIL), ("2", Status.FAIL)])
def test_unprivileged_userns_clone(host: Host, value: str | None, status: Status) -> None:
    if value is not None:
        host.write("/proc/sys/kernel/unprivileged_userns_clone", value + "\n")
    check = checks.check_userns_clone(host.view())
    assert check.status is status
    assert check.fix == (SEED_CLONE_FIX if status is Status.FAIL else ())
    if value is not None:
        host.remove("/proc/sys/kernel/unprivileged_userns_clone")


def test_unprivileged_userns_clone_does_not_matter_for_root(host: Host) -> None:
    host.write("/proc/sys/kernel/unprivileged_userns_clone", "0\n")
    assert checks.check_userns_clone(host.view(root_user=True)).status is Status.SKIP


@pytest.mark.parametrize(("value", "status"), [
    ("0", Status.FAIL), ("14999", Status.FAIL), ("15000", Status.OK), ("63379", Status.OK)])
def test_max_user_namespaces(host: Host, value: str, status: Status) -> None:
    host.write("/proc/sys/user/max_user_namespaces", value + "\n")
    check = checks.check_max_user_namespaces(host.view())
    assert check.status is status
    assert check.fix == (SEED_MAXNS_FIX if status is Status.FAIL else ())
    assert ("disabled" in check.finding) == (value == "0")


def test_max_user_namespaces_missing(host: Host) -> None:
    host.remove("/proc/sys/user/max_user_namespaces")
    assert checks.check_max_user_namespaces(host.view()).status is Status.WARN


def test_apparmor_restriction(host: Host) -> None:
    assert checks.check_apparmor_userns(host.view()).status is Status.SKIP  # no such sysctl
    host.write("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "0\n")
    assert checks.check_apparmor_userns(host.view()).status is Status.OK
    host.write("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n")
    check = checks.check_apparmor_userns(host.view())
    assert check.status is Status.FAIL
    assert "/usr/bin/buildah" in check.finding
    assert "sudo apparmor_parser -r /etc/apparmor.d/buildah" in check.fix
    assert check.fix[0].endswith("| sudo tee /etc/apparmor.d/buildah")
    assert "userns," in check.fix[0]
    assert checks.check_apparmor_userns(host.view(root_user=True)).status is Status.OK


def test_apparmor_restriction_with_a_buildah_profile(host: Host) -> None:
    host.write("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n")
    host.write("/etc/apparmor.d/buildah",
               "profile buildah /usr/bin/buildah flags=(unconfined) {\n  userns,\n}\n")
    assert checks.check_apparmor_userns(host.view()).status is Status.OK


@pytest.mark.parametrize(("value", "status"), [("0", Status.OK), ("1", Status.FAIL)])
def test_no_new_privs(host: Host, value: str, status: Status) -> None:
    host.write("/proc/self/status", f"Name:\tpython3\nNoNewPrivs:\t{value}\n")
    check = checks.check_no_new_privs(host.view())
    assert check.status is status
    if status is Status.FAIL:
        assert "newuidmap" in check.finding and check.fix[0].startswith("#")
    assert checks.check_no_new_privs(host.view(root_user=True)).status is Status.SKIP


# -- subuid / subgid -------------------------------------------------------------------------

def test_subids_ok(host: Host) -> None:
    check = checks.check_subids(host.view(), "/etc/subuid")
    assert (check.status, check.finding) == (Status.OK, "65536 ids from 165536 (/etc/subuid:2)")
    assert checks.check_subids(host.view(root_user=True), "/etc/subuid").status is Status.SKIP


def test_subids_matched_by_uid(host: Host) -> None:
    host.write("/etc/subgid", "1000:165536:65536\n")
    assert checks.check_subids(host.view(), "/etc/subgid").status is Status.OK


def test_subid_file_missing(host: Host) -> None:
    host.remove("/etc/subuid")
    check = checks.check_subids(host.view(), "/etc/subuid")
    assert check.status is Status.FAIL and "does not exist" in check.finding
    assert check.fix == (checks.INSTALL_UIDMAP,
                         "sudo usermod --add-subuids 100000-165535 alice")


def test_no_line_for_the_user_gets_a_free_range(host: Host) -> None:
    host.write("/etc/subgid", "bob:100000:65536\ncarol:165536:65536\n")
    check = checks.check_subids(host.view(), "/etc/subgid")
    assert check.status is Status.FAIL
    assert check.finding == "/etc/subgid has no range for alice"
    assert check.fix == ("sudo usermod --add-subgids 231072-296607 alice",)


@pytest.mark.parametrize("line", ["alice:100000", "alice:x:65536", "alice:100000:-1",
                                  ":100000:65536", "alice 100000 65536"])
def test_malformed_subid_line(host: Host, line: str) -> None:
    host.write("/etc/subuid", f"bob:100000:65536\n{line}\n")
    check = checks.check_subids(host.view(), "/etc/subuid")
    assert check.status is Status.FAIL
    assert check.finding.startswith("/etc/subuid:2 is malformed")
    assert check.fix == ("sudo sed -i '2d' /etc/subuid  # the malformed line",)


def test_duplicate_subid_lines(host: Host) -> None:
    """What appending a line after Debian's useradd makes: newuidmap then fails."""
    host.write("/etc/subuid", "alice:165536:65536\nbob:100000:65536\nalice:300000:65536\n")
    check = checks.check_subids(host.view(), "/etc/subuid")
    assert check.status is Status.FAIL
    assert "2 lines for alice (lines 1, 3)" in check.finding
    assert "Invalid argument" in check.finding
    assert check.fix == ("sudo sed -i '3d' /etc/subuid  # keep line 1",)


def test_subid_range_contains_own_uid(host: Host) -> None:
    host.write("/etc/subuid", "alice:0:65536\n")
    check = checks.check_subids(host.view(), "/etc/subuid")
    assert check.status is Status.FAIL and "own id 1000" in check.finding
    assert check.fix == ("sudo usermod --del-subuids 0-65535 --add-subuids 100000-165535 alice",)


def test_subid_range_too_small(host: Host) -> None:
    host.write("/etc/subuid", "bob:100000:65536\nalice:165536:1000\n")
    check = checks.check_subids(host.view(), "/etc/subuid")
    assert check.status is Status.FAIL and "1000 ids" in check.finding
    assert check.fix == ("sudo usermod --del-subuids 165536-166535 --add-subuids "
                         "165536-231071 alice",)


def test_overlapping_subid_ranges(host: Host) -> None:
    host.write("/etc/subuid", "bob:100000:65536\nalice:150000:65536\n")
    check = checks.check_subids(host.view(), "/etc/subuid")
    assert check.status is Status.WARN and "overlaps bob's range at line 1" in check.finding
    assert check.fix == ("sudo usermod --del-subuids 150000-215535 --add-subuids "
                         "165536-231071 alice",)


# -- newuidmap / newgidmap -------------------------------------------------------------------

SEED_CAP_FIX = ("sudo setcap cap_setuid+ep /usr/bin/newuidmap",
                "sudo setcap cap_setgid+ep /usr/bin/newgidmap",
                "sudo chmod u-s,g-s /usr/bin/newuidmap /usr/bin/newgidmap")


def test_idmap_tools_setuid(host: Host) -> None:
    assert checks.check_idmap_tools(host.view(), lambda p: None).status is Status.OK


def test_idmap_tools_missing(host: Host) -> None:
    host.remove("/usr/bin/newgidmap")
    check = checks.check_idmap_tools(host.view(), lambda p: None)
    assert check.status is Status.FAIL and "newgidmap is not installed" in check.finding
    assert check.fix == (checks.INSTALL_UIDMAP,)


def test_the_fix_leaves_a_working_idmap_tool_alone(host: Host) -> None:
    """setuid newuidmap, bare newgidmap: only newgidmap is changed (the script stripped the
    setuid bit of both and capped only newgidmap, which broke newuidmap)."""
    host.tool("newgidmap", 0o755)
    check = checks.check_idmap_tools(host.view(), lambda p: None)
    assert check.status is Status.FAIL
    assert "newuidmap has" not in check.finding
    assert check.fix == ("sudo setcap cap_setgid+ep /usr/bin/newgidmap",
                         "sudo chmod u-s,g-s /usr/bin/newgidmap")
    script = doctor.fix_script(doctor.diagnose(host.view(), FakeProber(host.view()),
                                               Asked(Mode.AUTO, Driver.AUTO, None)))
    assert [line for line in doctor.root_lines(script) if "map" in line] == [
        "setcap cap_setgid+ep /usr/bin/newgidmap", "chmod u-s,g-s /usr/bin/newgidmap"]


def test_idmap_tools_without_setuid_or_caps(host: Host) -> None:
    host.tool("newuidmap", 0o755)
    host.tool("newgidmap", 0o755)
    check = checks.check_idmap_tools(host.view(), lambda p: None)
    assert check.status is Status.FAIL and "single mapping" in check.finding
    assert check.fix == SEED_CAP_FIX


def test_idmap_tools_with_file_caps(host: Host) -> None:
    host.tool("newuidmap", 0o755)
    host.tool("newgidmap", 0o755)
    caps = {"newuidmap": (1 << CAP_SETUID, True), "newgidmap": (1 << CAP_SETGID, True)}
    view = host.view()
    assert checks.check_idmap_tools(view, lambda p: caps[os.path.basename(p)]).status \
        is Status.OK
    # the wrong capability (setgid on newuidmap), or one that is not effective, does not count
    wrong = {"newuidmap": (1 << CAP_SETGID, True), "newgidmap": (1 << CAP_SETGID, False)}
    check = checks.check_idmap_tools(view, lambda p: wrong[os.path.basename(p)])
    assert check.status is Status.FAIL
    assert check.fix == SEED_CAP_FIX


def test_file_caps_are_parsed(tmp_path: Path) -> None:
    assert checks.file_caps(str(tmp_path)) is None  # no xattr


def test_userns_probe(host: Host) -> None:
    view = host.view()
    assert checks.check_userns_probe(view, FakeProber(view)).status is Status.OK
    single = FakeProber(view, userns=ProbeResult(False, "single mapping only: 0 1000 1"))
    check = checks.check_userns_probe(view, single)
    assert check.status is Status.FAIL and "single mapping" in check.finding
    assert checks.check_userns_probe(host.view(root_user=True), single).status is Status.SKIP


# -- programs --------------------------------------------------------------------------------

def test_buildah(host: Host) -> None:
    view = host.view()
    check = checks_runtime.check_buildah(view, FakeProber(view))
    assert (check.status, check.finding) == (Status.OK,
                                             "/usr/bin/buildah: buildah version 1.28.2")
    old = FakeProber(view, buildah=ProbeResult(True, "buildah version 1.19.6"))
    assert checks_runtime.check_buildah(view, old).status is Status.WARN
    host.remove("/usr/bin/buildah")
    check = checks_runtime.check_buildah(host.view(), FakeProber(view))
    assert check.status is Status.FAIL and check.fix[0].startswith("sudo apt-get install")


def test_runtime_none_installed(host: Host) -> None:
    host.remove("/usr/bin/runc")
    view = host.view()
    by_mode = {m: checks_runtime.check_runtimes(view, FakeProber(view), m)
               for m in ("auto", "native-rootless", "native-chroot")}
    assert by_mode["native-rootless"][0].status is Status.FAIL
    assert by_mode["native-rootless"][0].fix[0] == \
        "sudo apt-get install -y runc  # works with every cgroup layout"
    assert by_mode["auto"][0].status is Status.WARN
    assert "native-chroot" in by_mode["auto"][0].finding
    assert by_mode["native-chroot"][0].status is Status.SKIP
    assert all(runtime is None for _, runtime in by_mode.values())


def test_runtime_crun_broken_runc_works(host: Host) -> None:
    host.tool("crun")
    view = host.view()
    prober = FakeProber(view, runtimes={"crun": ProbeResult(False, HYBRID)})
    check, chosen = checks_runtime.check_runtimes(view, prober, "native-rootless")
    assert chosen == "/usr/bin/runc"
    assert check.status is Status.WARN and HYBRID in check.finding
    assert prober.probed == ["/usr/bin/crun", "/usr/bin/runc"]  # each really tried


def test_runtime_only_crun_on_path_runc_elsewhere(host: Host) -> None:
    host.remove("/usr/bin/runc")
    host.tool("crun")
    host.tool("runc", directory="/usr/sbin")
    view = host.view()
    prober = FakeProber(view, runtimes={"crun": ProbeResult(False, HYBRID)})
    check, chosen = checks_runtime.check_runtimes(view, prober, "native-rootless")
    assert chosen is None and check.status is Status.FAIL
    assert "/usr/sbin/runc works but is not on PATH" in check.finding
    assert check.fix[0] == 'export PATH="$PATH:/usr/sbin"'


# -- container -------------------------------------------------------------------------------

def test_container_detection(host: Host) -> None:
    assert checks.check_container(host.view(), "auto").status is Status.OK
    host.env.pop("WERF_CONTAINERIZED")
    host.write("/.dockerenv", "")
    check = checks.check_container(host.view(), "native-rootless")
    assert check.status is Status.WARN and "/.dockerenv exists" in check.finding
    assert "native-rootless was asked for" in check.finding
    host.remove("/.dockerenv")
    host.write("/proc/1/cgroup", "0::/kubepods/besteffort/pod1\n")
    assert "kubepods" in checks.check_container(host.view(), "auto").finding


def test_werf_containerized_said_is_not_a_warning(host: Host) -> None:
    """dockwright's image sets WERF_CONTAINERIZED=yes: nothing was guessed, nothing to fix."""
    host.env["WERF_CONTAINERIZED"] = "yes"
    check = checks.check_container(host.view(), "auto")
    assert check.status is Status.OK and check.fix == ()
    assert "auto means native-chroot" in check.finding


def in_container(host: Host, *, seccomp: bool = False, apparmor: str = "",
                 caps: str = FULL_CAPS) -> None:
    """The host as a process inside a container sees it (podman, docker, a pod)."""
    host.env.pop("WERF_CONTAINERIZED", None)
    host.write("/run/.containerenv", "")
    host.write("/proc/self/status", f"Name:\tpython3\nNoNewPrivs:\t0\n"
               f"Seccomp:\t{2 if seccomp else 0}\nCapEff:\t{caps}\n")
    if apparmor:
        host.write("/proc/self/attr/current", apparmor + "\n")


RUNNER_LINES = ("podman/docker run:", "Kubernetes:", "GitLab runner")


def runner_phrased(fix: tuple[str, ...]) -> bool:
    return all(any(line.startswith("#   " + who) for line in fix) for who in RUNNER_LINES)


def test_userns_create_fails_in_a_confined_container(host: Host) -> None:
    """Docker's default seccomp profile (and a docker-default AppArmor profile) forbid
    unshare(CLONE_NEWUSER): the finding names what confines the process and the fix is the
    runner's setting, in each runner's words."""
    in_container(host, seccomp=True, apparmor="docker-default (enforce)")
    view = host.view()
    check = checks.check_userns_create(view, FakeProber(view, create=SECCOMP_EPERM))
    assert check.status is Status.FAIL
    assert "a seccomp filter" in check.finding
    assert "the AppArmor profile docker-default (enforce)" in check.finding
    assert "Operation not permitted" in check.finding
    assert runner_phrased(check.fix)
    assert any("seccomp=unconfined" in line and "apparmor=unconfined" in line
               for line in check.fix)
    assert any("seccompProfile: {type: Unconfined}" in line for line in check.fix)
    assert any('security_opt = ["seccomp:unconfined", "apparmor:unconfined"]' in line
               for line in check.fix)


def test_userns_create_outside_a_container_points_at_the_sysctls(host: Host) -> None:
    view = host.view()
    check = checks.check_userns_create(view, FakeProber(view, create=SECCOMP_EPERM))
    assert check.status is Status.FAIL and not runner_phrased(check.fix)
    assert "userns-clone, max-user-namespaces and apparmor-userns" in check.fix[0]
    assert "confines" not in check.finding  # no seccomp filter, no AppArmor profile here
    assert checks.check_userns_create(view, FakeProber(view)).status is Status.OK


def test_userns_create_for_root_depends_on_cap_sys_admin(host: Host) -> None:
    """Root with CAP_SYS_ADMIN (a host) builds without a user namespace; root in an
    unprivileged container does not hold it, and Buildah then needs one."""
    view = host.view(root_user=True)
    prober = FakeProber(view, create=SECCOMP_EPERM)
    assert checks.check_userns_create(view, prober).status is Status.SKIP
    assert prober.probed == []
    in_container(host, seccomp=True, caps=CONTAINER_CAPS)
    view = host.view(root_user=True)
    check = checks.check_userns_create(view, FakeProber(view, create=SECCOMP_EPERM))
    assert check.status is Status.FAIL
    assert check.finding.startswith("root without CAP_SYS_ADMIN cannot create")
    assert runner_phrased(check.fix)


def test_userns_create_failure_stops_the_build_before_the_mapping_probe(host: Host) -> None:
    in_container(host, seccomp=True, caps=CONTAINER_CAPS)
    view = host.view()
    prober = FakeProber(view, create=SECCOMP_EPERM)
    with pytest.raises(HostError) as info:
        resolve(view, prober, Asked.parse("auto", "vfs"))
    assert "[userns-create]" in info.value.message
    assert "--security-opt seccomp=unconfined" in info.value.hint
    assert prober.probed == ["userns-create"]  # the mapping is not probed after it
    report = doctor.diagnose(view, FakeProber(view, create=SECCOMP_EPERM),
                             Asked.parse("auto", "vfs"))
    by_id = {c.id: c for c in report.checks}
    assert by_id["userns-create"].failed and by_id["userns-mapping"].status is Status.SKIP
    assert not report.ready
    root = host.view(root_user=True)
    with pytest.raises(HostError, match=r"\[userns-create\] root without CAP_SYS_ADMIN"):
        resolve(root, FakeProber(root, create=SECCOMP_EPERM), Asked.parse("auto", "vfs"))


def test_kernel_settings_in_a_container_are_the_runner_hosts(host: Host) -> None:
    """/proc/sys in a container is the host's kernel: the fix is on the runner's host, as
    notes (doctor --fix must not run them in the container)."""
    in_container(host)
    host.write("/proc/sys/user/max_user_namespaces", "0\n")
    host.write("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n")
    view = host.view()
    for check in (checks.check_max_user_namespaces(view), checks.check_apparmor_userns(view)):
        assert check.failed and check.fix[0].startswith("# on the runner's host")
        assert all(line.startswith("#") for line in check.fix), check.fix
    check = checks.check_apparmor_userns(view)
    assert "runner's host" in check.finding
    assert any("apparmor_restrict_unprivileged_userns = 0" in line for line in check.fix)
    assert not any("apparmor.d" in line for line in check.fix)  # a profile in here: no use


def test_no_subuid_range_in_a_container_says_which_user_to_run_as(host: Host) -> None:
    """An arbitrary uid (OpenShift, runAsUser) has no range in the image's /etc/subuid: the
    fix is the runner's user setting, and for a uid without a name useradd, not usermod."""
    in_container(host)
    host.identity = Identity(4242, 4242, "4242", Path("/"))
    view = host.view()
    check = checks.check_subids(view, "/etc/subuid")
    assert check.status is Status.FAIL and "uid 4242" in check.finding
    assert runner_phrased(check.fix)
    assert "#   podman/docker run: --user 1000" in check.fix
    assert any("useradd --uid 4242" in line for line in check.fix)
    host.identity = Identity(1001, 1001, "carol", Path("/home/carol"))
    check = checks.check_subids(host.view(), "/etc/subgid")
    assert any("RUN usermod --add-subgids" in line and "carol" in line for line in check.fix)
    with pytest.raises(HostError) as info:  # subuid and subgid: each runner line once
        resolve(host.view(), FakeProber(view), Asked.parse("auto", "vfs"))
    assert info.value.hint.count("podman/docker run: --user 1000") == 1


def test_fuse_missing_in_a_container_is_the_runners_device_setting(host: Host) -> None:
    in_container(host)
    host.remove("/dev/fuse")
    check = checks_storage.check_fuse(host.view(), "overlay", native_ok=False)
    assert check.status is Status.FAIL and runner_phrased(check.fix)
    assert '#   GitLab runner, [runners.docker]: devices = ["/dev/fuse"]' in check.fix
    host.write("/dev/fuse", "", 0o000)
    check = checks_storage.check_fuse(host.view(), "auto", native_ok=False)
    assert check.status is Status.WARN and "not readable and writable" in check.finding
    assert check.fix[0].startswith("# on the host: sudo chmod 0666 /dev/fuse")


def test_read_only_store_in_a_container(host: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    """A volume mounted with :ro (the integration test mounts one for real): the finding says
    read-only, not a permission to chown, and the fix is the mount."""
    in_container(host)
    graph = Path("/home/alice/.local/share/containers/storage")
    host.mkdir(str(graph.parent), 0o755)
    ro_mount = str(host.root / str(graph.parent).lstrip("/"))
    real = os.statvfs

    def statvfs(path: str | os.PathLike[str]) -> os.statvfs_result:
        result = real(path)
        if os.fspath(path) != ro_mount:
            return result
        fields = list(result)
        fields[8] |= os.ST_RDONLY  # f_flag
        return os.statvfs_result(fields)
    monkeypatch.setattr(os, "statvfs", statvfs)
    check = checks_storage.check_storage_dir(host.view(), graph, True)
    assert check.status is Status.FAIL and "read-only mount" in check.finding
    assert runner_phrased(check.fix)
    assert any("(without :ro)" in line for line in check.fix)


# -- storage ---------------------------------------------------------------------------------

def test_storage_dir(host: Host) -> None:
    graph = Path("/home/alice/.local/share/containers/storage")
    check = checks_storage.check_storage_dir(host.view(), graph, default=True)
    assert check.status is Status.OK and "will be created" in check.finding
    host.mkdir("/home/alice/.local/share/containers", 0o500)
    check = checks_storage.check_storage_dir(host.view(), graph, default=True)
    assert check.status is Status.FAIL
    assert check.fix == ("sudo chown alice: /home/alice/.local/share/containers",
                         "sudo chmod u+rwx /home/alice/.local/share/containers")
    host.mkdir("/home/alice/.local/share/containers", 0o700)
    host.mkdir("/home/alice/.local/share", 0o500)
    check = checks_storage.check_storage_dir(host.view(), Path("/home/alice/.local/share/x"),
                                             default=False)
    assert check.status is Status.FAIL and "cannot create it" in check.finding
    assert check.fix == ("sudo install -d -o alice -g 1000 /home/alice/.local/share/x",)


def test_storage_on_overlayfs_or_nfs(host: Host) -> None:
    graph = Path("/home/alice/store")
    host.write("/proc/self/mountinfo",
               "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
               "40 22 0:40 / /home rw - nfs4 srv:/home rw\n")
    check = checks_storage.check_storage_fs(host.view(), graph)
    assert check.status is Status.WARN and "NFS (/home)" in check.finding
    host.write("/proc/self/mountinfo", "22 1 0:30 / / rw - overlay overlay rw,lowerdir=/a\n")
    assert "overlayfs" in checks_storage.check_storage_fs(host.view(), graph).finding
    host.write("/proc/self/mountinfo", "22 1 8:1 / / rw - xfs /dev/sda1 rw\n")
    assert checks_storage.check_storage_fs(host.view(), graph).status is Status.OK


def test_store_with_another_driver(host: Host) -> None:
    graph = Path("/home/alice/store")
    host.write("/home/alice/store/overlay-images/images.json", "[]")
    assert checks_storage.check_store_driver(host.view(), graph, "auto").status is Status.OK
    assert checks_storage.check_store_driver(host.view(), graph, "overlay").status is Status.OK
    check = checks_storage.check_store_driver(host.view(), graph, "vfs")
    assert check.status is Status.FAIL and "created with the overlay driver" in check.finding
    assert check.fix[0] == "export WERF_BUILDAH_STORAGE_DRIVER=overlay"


def test_run_root_and_xdg_runtime_dir(host: Host) -> None:
    run_root = Path("/tmp/dockwright-run-1000")
    assert checks_storage.check_run_root(host.view(), run_root).status is Status.OK
    host.mkdir("/tmp/dockwright-run-1000", 0o500)  # e.g. squatted by another user
    check = checks_storage.check_run_root(host.view(), run_root)
    assert check.status is Status.FAIL and check.fix[0].startswith("sudo rm -rf ")
    assert checks_storage.check_xdg_runtime_dir(host.view()).status is Status.OK  # unset
    host.mkdir("/run/user/1000", 0o500)
    host.env["XDG_RUNTIME_DIR"] = "/run/user/1000"
    check = checks_storage.check_xdg_runtime_dir(host.view())
    assert check.status is Status.WARN and check.fix[0].startswith("unset XDG_RUNTIME_DIR")
    host.mkdir("/run/user/1000", 0o700)
    assert checks_storage.check_xdg_runtime_dir(host.view()).status is Status.OK


def test_fuse(host: Host) -> None:
    view = host.view()
    assert checks_storage.check_fuse(view, "auto", native_ok=True).status is Status.SKIP
    assert checks_storage.check_fuse(view, "vfs", native_ok=False).status is Status.SKIP
    assert checks_storage.check_fuse(view, "overlay", native_ok=False).status is Status.OK
    host.write("/dev/fuse", "", 0o000)
    check = checks_storage.check_fuse(host.view(), "overlay", native_ok=False)
    assert check.status is Status.FAIL and "not readable and writable" in check.finding
    assert check.fix[0] == "sudo chmod 0666 /dev/fuse"
    assert checks_storage.check_fuse(host.view(), "auto", native_ok=False).status is Status.WARN
    host.remove("/dev/fuse")
    check = checks_storage.check_fuse(host.view(), "overlay", native_ok=False)
    assert check.fix[0] == "sudo modprobe fuse"
    host.remove("/usr/bin/fuse-overlayfs")
    check = checks_storage.check_fuse(host.view(), "overlay", native_ok=False)
    assert check.fix[0] == "sudo apt-get install -y fuse-overlayfs"


# -- the doctor command and resolve ----------------------------------------------------------

def args(*, mode: str | None = None, driver: str | None = None, json_out: bool = False,
         fix: bool = False, yes: bool = False) -> argparse.Namespace:
    return argparse.Namespace(buildah_mode=mode, storage_driver=driver, storage_root=None,
                              network=None, json=json_out, fix=fix, yes=yes, no_probe_cache=True)


def test_doctor_green_host(host: Host) -> None:
    view = host.view()
    code, text = doctor.command(args(), view, FakeProber(view))
    assert code == Exit.OK
    assert "verdict: ready: mode native-rootless: oci isolation with runc, overlay storage" \
        in text
    assert "\nfail " not in text
    lines = [line.split()[:2] for line in text.splitlines()[2:22]]
    assert [status for status, _ in lines].count("fail") == 0
    assert len({check_id for _, check_id in lines}) == 20


def test_doctor_json_document(host: Host) -> None:
    host.remove("/etc/subuid")
    view = host.view()
    code, text = doctor.command(args(json_out=True), view, FakeProber(view))
    doc = json.loads(text)
    assert code == Exit.HOST_NOT_READY == doc["exitCode"]
    assert set(doc) == {"schema", "ready", "exitCode", "user", "kernel", "asked", "counts",
                        "checks", "verdict", "error"}
    assert doc["schema"] == "dockwright-doctor/1" and doc["ready"] is False
    assert doc["verdict"] is None and "/etc/subuid does not exist" in doc["error"]["message"]
    subuid = next(c for c in doc["checks"] if c["id"] == "subuid")
    assert subuid["status"] == "fail" and subuid["fix"][-1].startswith("sudo usermod")
    assert doc["asked"] == {"mode": "auto", "storageDriver": "auto", "storageRoot": None}
    assert sum(doc["counts"].values()) == len(doc["checks"])


def test_doctor_json_verdict(host: Host) -> None:
    view = host.view()
    doc = json.loads(doctor.command(args(json_out=True, mode="native-chroot", driver="vfs"),
                                    view, FakeProber(view))[1])
    assert doc["ready"] is True and doc["error"] is None
    assert doc["verdict"]["mode"] == "native-chroot"
    assert doc["verdict"]["isolation"] == "chroot" and doc["verdict"]["runtime"] is None
    assert doc["verdict"]["storageDriver"] == "vfs"


def test_mode_and_driver_from_the_environment(host: Host) -> None:
    host.env.update(WERF_BUILDAH_MODE="native-chroot", WERF_BUILDAH_STORAGE_DRIVER="vfs")
    view = host.view()
    doc = json.loads(doctor.command(args(json_out=True), view, FakeProber(view))[1])
    assert doc["asked"]["mode"] == "native-chroot" and doc["asked"]["storageDriver"] == "vfs"
    with pytest.raises(UsageError, match="unexpected mode specified: rootful"):
        doctor.command(args(mode="rootful"), view, FakeProber(view))


def test_missing_runtime_fails_only_native_rootless(host: Host) -> None:
    host.remove("/usr/bin/runc")
    view = host.view()
    for mode, code in (("native-rootless", Exit.HOST_NOT_READY), ("auto", Exit.OK),
                       ("native-chroot", Exit.OK)):
        got, text = doctor.command(args(mode=mode), view, FakeProber(view))
        assert got == code, (mode, text)
    assert "verdict: ready: mode native-chroot" in \
        doctor.command(args(), view, FakeProber(view))[1]


def test_fuse_unusable_fails_only_overlay(host: Host) -> None:
    host.write("/dev/fuse", "", 0o000)
    view = host.view()
    failing = FakeProber(view, overlay=ProbeResult(False, "wrong fs type"))
    code, text = doctor.command(args(driver="overlay"), view, failing)
    assert code == Exit.HOST_NOT_READY and "sudo chmod 0666 /dev/fuse" in text
    code, text = doctor.command(args(), view, failing)
    assert code == Exit.OK and "vfs storage" in text and "warn  fuse" in text


def test_fix_script(host: Host) -> None:
    host.write("/etc/subuid", "bob:100000:65536\n")
    host.write("/proc/sys/user/max_user_namespaces", "0\n")
    host.remove("/usr/bin/runc")
    host.tool("runc", directory="/usr/sbin")
    host.tool("crun")
    view = host.view()
    prober = FakeProber(view, runtimes={"crun": ProbeResult(False, HYBRID)})
    code, script = doctor.command(args(fix=True, mode="native-rootless"), view, prober)
    assert code == Exit.HOST_NOT_READY
    assert script.startswith("#!/bin/sh\n")
    assert doctor.root_lines(script) == [
        "echo 'user.max_user_namespaces = 15000' | tee -a /etc/sysctl.conf",
        "sysctl -p",
        "usermod --add-subuids 165536-231071 alice",
    ]
    assert '#   export PATH="$PATH:/usr/sbin"' in script.splitlines()


def test_fix_script_when_nothing_to_fix(host: Host) -> None:
    view = host.view()
    code, script = doctor.command(args(fix=True), view, FakeProber(view))
    assert code == Exit.OK and doctor.root_lines(script) == []
    assert "# nothing to fix" in script


def test_fix_yes_needs_root(host: Host) -> None:
    view = host.view()
    with pytest.raises(UsageError, match="as root"):
        doctor.command(args(fix=True, yes=True), view, FakeProber(view))
    with pytest.raises(UsageError, match="--yes only goes with --fix"):
        doctor.command(args(yes=True), view, FakeProber(view))


@pytest.mark.parametrize(("fault", "check_id"), [
    ("nonewprivs", "no-new-privs"), ("subuid", "subuid"), ("maxns", "max-user-namespaces"),
    ("apparmor", "apparmor-userns"), ("setuid", "newuidmap"), ("store", "store-driver")])
def test_build_refuses_with_the_doctors_message(host: Host, fault: str, check_id: str) -> None:
    """``resolve`` (what build calls) fails with the same finding and fix as the doctor."""
    if fault == "nonewprivs":
        host.write("/proc/self/status", "NoNewPrivs:\t1\n")
    elif fault == "subuid":
        host.write("/etc/subuid", "bob:100000:65536\n")
    elif fault == "maxns":
        host.write("/proc/sys/user/max_user_namespaces", "0\n")
    elif fault == "apparmor":
        host.write("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n")
    elif fault == "setuid":
        host.tool("newuidmap", 0o755)
    elif fault == "store":
        host.write("/home/alice/.local/share/containers/storage/overlay-layers/x", "")
    view = host.view()
    driver = Driver.VFS if fault == "store" else Driver.AUTO
    report = doctor.diagnose(view, FakeProber(view), Asked(Mode.AUTO, driver, None))
    check = next(c for c in report.checks if c.id == check_id)
    assert check.failed
    with pytest.raises(HostError) as info:
        resolve(view, FakeProber(view), Asked.parse("auto", driver))
    assert check.finding in info.value.message
    for line in check.fix:
        assert line in info.value.hint
    assert report.error is not None and report.error.message == info.value.message


def test_userns_probe_failure_stops_the_build(host: Host) -> None:
    view = host.view()
    single = FakeProber(view, userns=ProbeResult(False, "single mapping only: 0 1000 1"))
    with pytest.raises(HostError, match="single mapping"):
        resolve(view, single, Asked.parse("native-chroot", "vfs"))


# -- registry-auth ---------------------------------------------------------------------------

ALICE = Identity(1000, 1000, "alice", Path("/home/alice"))
OLD = (1, 28)  # Buildah on Debian 12


@pytest.mark.parametrize(("env", "identity", "path"), [
    ({"REGISTRY_AUTH_FILE": "/a.json", "XDG_RUNTIME_DIR": "/run/user/1000"}, ALICE, "/a.json"),
    ({"DOCKER_CONFIG": "/d", "XDG_RUNTIME_DIR": "/run/user/1000"}, ALICE, "/d/config.json"),
    ({"XDG_RUNTIME_DIR": "/run/user/1000"}, ALICE, "/run/user/1000/containers/auth.json"),
    ({}, Identity(0, 0, "root", Path("/root")), "/run/containers/0/auth.json"),
    ({}, ALICE, "/var/tmp/containers-user-1000/containers/containers/auth.json"),
    ({"TMPDIR": "/s"}, ALICE, "/s/containers-user-1000/containers/containers/auth.json"),
])
def test_the_auth_file_is_the_one_buildah_uses(env: dict[str, str], identity: Identity,
                                               path: str) -> None:
    assert str(auth.auth_file(env, identity, OLD).path) == path


@pytest.mark.parametrize(("env", "path"), [
    ({}, "/var/tmp/storage-run-1000/containers/auth.json"),
    ({"TMPDIR": "/s"}, "/s/storage-run-1000/containers/auth.json"),
    ({"XDG_RUNTIME_DIR": "/run/user/1000"}, "/run/user/1000/containers/auth.json"),
])
def test_a_newer_buildah_keeps_logins_in_storage_run(env: dict[str, str], path: str) -> None:
    """Buildah 1.39 (Debian 13), checked there: c/storage's runtime directory."""
    assert str(auth.auth_file(env, ALICE, (1, 39)).path) == path


def test_the_auth_file_is_made_where_buildah_would_make_it(tmp_path: Path) -> None:
    """Buildah refuses a REGISTRY_AUTH_FILE that does not exist: an empty one is made."""
    env = {"TMPDIR": str(tmp_path), "HOME": str(tmp_path / "home")}
    made = Path(auth.with_auth_file(env, ALICE, OLD)["REGISTRY_AUTH_FILE"])
    runtime = tmp_path / "containers-user-1000"
    assert made == runtime / "containers/containers/auth.json"
    assert json.loads(made.read_text()) == {"auths": {}}
    assert made.stat().st_mode & 0o777 == 0o600
    # every directory made is 0700: Buildah takes its runtime directory only so
    assert {oct(p.stat().st_mode & 0o777) for p in (runtime, made.parent.parent)} == {"0o700"}
    for p in (runtime, *runtime.rglob("*")):
        os.chown(p, ALICE.uid, ALICE.gid)  # as alice would have made them
    made.write_text('{"auths": {"r.example": {}}}')
    assert auth.with_auth_file(env, ALICE, OLD)["REGISTRY_AUTH_FILE"] == str(made)
    assert "r.example" in made.read_text()  # never overwritten
    mine = {"REGISTRY_AUTH_FILE": str(tmp_path / "absent.json")}
    assert auth.with_auth_file(mine, ALICE, OLD) == mine  # the user's choice, untouched
    assert not (tmp_path / "absent.json").exists()
    (tmp_path / "file").write_text("")
    blocked = {"TMPDIR": str(tmp_path / "file"), "HOME": str(tmp_path / "file")}
    # neither place can be made: the tools choose, as they did
    assert auth.with_auth_file(blocked, ALICE, OLD) == blocked


def test_buildah_moves_to_home_rundir_when_its_tmp_directory_is_not_private(
        tmp_path: Path) -> None:
    env = {"TMPDIR": str(tmp_path), "HOME": str(tmp_path / "home")}
    runtime = tmp_path / "containers-user-1000"
    runtime.mkdir(mode=0o755)
    os.chown(runtime, ALICE.uid, ALICE.gid)
    assert auth.auth_file(env, ALICE, OLD).path == \
        tmp_path / "home/rundir/containers/containers/auth.json"
    runtime.chmod(0o700)
    assert auth.auth_file(env, ALICE, OLD).path == runtime / "containers/containers/auth.json"


def test_registry_auth_check(host: Host) -> None:
    file = "/var/tmp/containers-user-1000/containers/containers/auth.json"
    check = auth.check_registry_auth(host.view(), OLD)
    assert check.status is Status.OK and "no logins yet in " + file in check.finding
    assert "also read" not in check.finding
    host.write("/home/alice/.docker/config.json", "{}")
    assert "also read: /home/alice/.docker/config.json" in \
        auth.check_registry_auth(host.view(), OLD).finding
    host.write(file, '{"auths": {"b.example": {"auth": "eDp5"}, "a.example:5000": {}}}')
    check = auth.check_registry_auth(host.view(), OLD)
    assert check.status is Status.OK
    assert check.finding.endswith("readable; logged in to: a.example:5000, b.example")
    assert "eDp5" not in check.finding
    host.write(file, "{not json")
    check = auth.check_registry_auth(host.view(), OLD)
    assert check.status is Status.FAIL and "is not valid JSON" in check.finding
    assert check.fix and "dockwright login" in check.fix[0]


# -- network ---------------------------------------------------------------------------------

SETNS = ProbeResult(False, "netavark: setns: IO error: Operation not permitted (os error 1)")
NO_IPTABLES = ProbeResult(False, "netavark: No such file or directory (os error 2)")


def test_network_check(host: Host) -> None:
    view = host.view()
    ok = checks_runtime.check_network(view, FakeProber(view), "oci", "/usr/bin/runc", "private")
    assert ok.status is Status.OK and "of their own" in ok.finding
    chroot = checks_runtime.check_network(view, FakeProber(view, network=SETNS), "chroot",
                                          None, "private")
    assert chroot.status is Status.OK and "share the host's network" in chroot.finding
    for asked in ("host", "none"):
        prober = FakeProber(view, network=SETNS)
        check = checks_runtime.check_network(view, prober, "oci", "/usr/bin/runc", asked)
        assert check.status is Status.OK and f"asked: {asked}" in check.finding
        assert prober.probed == []  # nothing to probe when the host's or no network is asked
    failed = checks_runtime.check_network(view, FakeProber(view, network=SETNS), "oci",
                                          "/usr/bin/runc", "private")
    assert failed.status is Status.FAIL and "setns" in failed.finding
    assert "export DOCKWRIGHT_NETWORK=host  # RUN steps share the host's network, or:" in \
        failed.fix


def test_network_without_sbin_on_path_names_it(host: Host) -> None:
    host.tool("iptables", directory="/usr/sbin")
    view = host.view()  # PATH=/usr/bin:/bin, as runuser leaves it
    check = checks_runtime.check_network(view, FakeProber(view, network=NO_IPTABLES), "oci",
                                         "/usr/bin/runc", "private")
    assert check.fix[0] == 'export PATH="$PATH:/usr/sbin"  # netavark runs iptables from PATH'
    host.remove("/usr/sbin/iptables")
    check = checks_runtime.check_network(view, FakeProber(view, network=NO_IPTABLES), "oci",
                                         "/usr/bin/runc", "private")
    assert check.fix[0].startswith("sudo apt-get install -y iptables")


def test_resolve_stops_without_a_private_network_unless_none_needs_one(host: Host) -> None:
    view = host.view()
    prober = FakeProber(view, network=SETNS)
    with pytest.raises(HostError, match="RUN steps cannot get a network of their own"):
        resolve(view, prober, Asked.parse("native-rootless", "vfs"))
    assert resolve(view, prober, Asked.parse("native-rootless", "vfs", network="host")
                   ).network == "host"
    assert resolve(view, prober, Asked.parse("native-rootless", "vfs"),
                   configured=("host",)).network == "private"  # werf.yaml sets every image's
    assert resolve(view, prober, Asked.parse("native-chroot", "vfs")).network == "host"
    with pytest.raises(UsageError, match="unexpected network specified: bridge"):
        Asked.parse("native-rootless", "vfs", network="bridge")


# -- rlimits ---------------------------------------------------------------------------------

HERE = {"nofile": 20000, "nproc": 96365}  # this VM's hard limits


def test_root_without_cap_sys_resource_gets_its_own_hard_limits(host: Host,
                                                                tmp_path: Path) -> None:
    host.write("/proc/self/status", "Name:\tpython3\nCapEff:\t000001fffeffffff\n")
    root = host.view(root_user=True)
    assert limits.needed(root, HERE) == ("nofile=20000:20000", "nproc=96365:96365")
    assert limits.needed(root, {"nofile": 1_048_576, "nproc": 96365}) == \
        ("nproc=96365:96365",)
    assert limits.needed(host.view(), HERE) == ()  # rootless: Buildah keeps the hard limits
    env = limits.with_limits({"PATH": "/bin"}, limits.needed(root, HERE), tmp_path)
    conf = Path(env["CONTAINERS_CONF_OVERRIDE"])
    assert conf.read_text() == ('[containers]\ndefault_ulimits = ["nofile=20000:20000", '
                                '"nproc=96365:96365"]\n')
    assert limits.with_limits({"CONTAINERS_CONF_OVERRIDE": "/mine.conf"}, ("nofile=1:1",),
                              tmp_path) == {"CONTAINERS_CONF_OVERRIDE": "/mine.conf"}
    check = limits.check_rlimits(root, HERE)
    assert check.status is Status.OK and "nofile=20000:20000" in check.finding
    host.env["CONTAINERS_CONF_OVERRIDE"] = "/mine.conf"
    check = limits.check_rlimits(host.view(root_user=True), HERE)
    assert check.status is Status.WARN and "/mine.conf" in check.fix[0]


def test_root_with_cap_sys_resource_needs_nothing(host: Host) -> None:
    host.write("/proc/self/status", "Name:\tpython3\nCapEff:\t000001ffffffffff\n")
    assert limits.needed(host.view(root_user=True), HERE) == ()
    assert limits.check_rlimits(host.view(root_user=True), HERE).finding == \
        "RUN steps get Buildah's own resource limits"


@pytest.mark.parametrize(("usage", "env", "status", "finding"), [
    (None, {}, Status.SKIP, "the usage of /home/alice's volume is unknown"),
    ("50 100", {}, Status.OK, "is 50.0% used; dockwright's builds use 0 B of it (0 stages in "
     "use) (a build starts a host cleanup over 70%)"),
    ("71 100", {}, Status.OK, "is 71.0% used; dockwright's builds use 0 B of it (0 stages "
     "in use) (over 70%, so a build starts a host cleanup)"),
    ("50 100", {"WERF_ALLOWED_BACKEND_STORAGE_VOLUME_USAGE": "40"}, Status.OK,
     "use) (over 40%, so a build starts a host cleanup)"),
    ("95 100", {}, Status.WARN, "use): builds may run out of space (over 70%, so a build "
     "starts a host cleanup)"),
])
def test_storage_usage_against_the_host_cleanup_threshold(
        host: Host, usage: str | None, env: dict[str, str], status: Status,
        finding: str) -> None:
    if usage is not None:
        host.write("/.volume-usage", usage)
    host.env.update(env)
    check = doctor.check_storage_usage(host.view(), Path("/home/alice/.local/share/"
                                                          "containers/storage"), "overlay")
    assert check.status is status and finding in check.finding
    if status is Status.WARN:
        assert check.fix[-1] == "dockwright host cleanup --allowed-backend-storage-volume-usage 70"


def test_the_probe_cache_keeps_the_newest_results(host: Host,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every store path and host change is a key of its own: the file keeps the newest
    CACHE_ENTRIES results, so it stays small enough to read on every build."""
    view = host.view()
    prober = Prober(view)
    clock = iter(range(10**12, 10**12 + 10**6))
    monkeypatch.setattr("dockwright.host.probes.time.time_ns", lambda: next(clock) * 10**6)
    for n in range(probes.CACHE_ENTRIES + 40):
        prober._store(f"key-{n:04d}", ProbeResult(n % 2 == 0, f"result {n}"))
    kept = json.loads(prober._path.read_text())
    assert sorted(kept) == [f"key-{n:04d}" for n in range(40, probes.CACHE_ENTRIES + 40)]
    again = Prober(view)  # a later build reads the file
    assert again._cached("key-0295") == ProbeResult(False, "result 295")
    assert again._cached("key-0039") is None
