"""Inside a container (a CI runner's job, a pod): what the process may do, and each fix phrased
for whoever starts the container, since nothing run inside it can change it.

A fix is a tuple of ``# ...`` note lines (see ``checks``): one line each for podman/docker,
Kubernetes, and the GitLab runner's ``config.toml``. ``docs/ci.md`` gives the same settings in
whole recipes.
"""

from __future__ import annotations

from dockwright.host.view import HostView

CAP_SYS_ADMIN = 21
BUILD_UID = 1000  # the user `build` of dockwright's image (image/Dockerfile)


def cap_sys_admin(view: HostView) -> bool:
    """Does this process hold CAP_SYS_ADMIN? Buildah run by a root without it (root in an
    unprivileged container) re-executes itself in a user namespace, as a rootless user's does."""
    return view.capability(CAP_SYS_ADMIN) is True


def needs_userns(view: HostView) -> bool:
    """Must Buildah create a user namespace here: any user but root, and a root without
    CAP_SYS_ADMIN."""
    return not view.identity.is_root or not cap_sys_admin(view)


def apparmor_profile(view: HostView) -> str:
    """This process's AppArmor profile ('' where AppArmor is off)."""
    for attr in ("/proc/self/attr/apparmor/current", "/proc/self/attr/current"):
        value = (view.read(attr) or "").strip().strip("\0").strip()
        if value:
            return value
    return ""


def confinement(view: HostView) -> list[str]:
    """What confines this process's system calls: a seccomp filter, an AppArmor profile."""
    found = []
    if view.status_field("Seccomp") == "2":
        found.append("a seccomp filter (Seccomp: 2 in /proc/self/status)")
    profile = apparmor_profile(view)
    if profile and not profile.startswith("unconfined"):
        found.append(f"the AppArmor profile {profile}")
    return found


def unconfined() -> tuple[str, ...]:
    """Start the container with seccomp and AppArmor unconfined (werf's runner settings)."""
    return (
        "# start the container with seccomp and AppArmor unconfined:",
        "#   podman/docker run: --security-opt seccomp=unconfined --security-opt "
        "apparmor=unconfined",
        "#   Kubernetes: securityContext: {seccompProfile: {type: Unconfined}, "
        "appArmorProfile: {type: Unconfined}}",
        "#   GitLab runner, [runners.docker]: security_opt = [\"seccomp:unconfined\", "
        "\"apparmor:unconfined\"]",
    )


def fuse_device() -> tuple[str, ...]:
    return (
        "# pass /dev/fuse into the container (on the host first: sudo modprobe fuse):",
        "#   podman/docker run: --device /dev/fuse",
        "#   Kubernetes: a FUSE device plugin's resource in resources.limits",
        "#   GitLab runner, [runners.docker]: devices = [\"/dev/fuse\"]",
    )


def writable_volume(path: str) -> tuple[str, ...]:
    return (
        f"# mount the store's volume read-write at {path}:",
        f"#   podman/docker run: -v VOLUME:{path} (without :ro)",
        "#   Kubernetes: the volumeMount without readOnly: true",
        f"#   GitLab runner, [runners.docker]: volumes = [\"VOLUME:{path}\"] (without :ro)",
    )


def run_as_build_user() -> tuple[str, ...]:
    return (
        f"# run as a user with a range: dockwright's image has build (uid {BUILD_UID})",
        f"#   podman/docker run: --user {BUILD_UID}",
        f"#   Kubernetes: securityContext: {{runAsUser: {BUILD_UID}, runAsGroup: {BUILD_UID}}}",
        f"#   GitLab runner, [runners.kubernetes.pod_security_context]: run_as_user = "
        f"{BUILD_UID}",
    )
