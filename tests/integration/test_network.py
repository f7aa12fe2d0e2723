"""The network of RUN steps: a network of their own by default, the host's only when asked.

A loopback HTTP server stands for what a RUN step must not reach (a database, a metadata
endpoint): with a private network its 127.0.0.1 is the step's own. Root gets a private
network here (netavark); rootless Buildah 1.28 does not (netavark: setns ... not permitted),
so a rootless build stops with the fix unless the host network is allowed.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Builder, busybox_rootfs, give_to
from tests.integration.test_build import outcome

ROOTLESS = ("--buildah-mode", "native-rootless", "--storage-driver", "vfs")


@pytest.fixture
def loopback_service() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()


def project(where: Path, port: int, network: str | None = None) -> Path:
    """One image whose RUN step records whether it reached the host's loopback service."""
    busybox_rootfs(where / "rootfs")
    (where / "werf.yaml").write_text(
        "configVersion: 1\nproject: nettest\n---\nimage: app\ndockerfile: Dockerfile\n"
        + (f"network: {network}\n" if network else ""))
    (where / "Dockerfile").write_text(
        "FROM scratch\nCOPY rootfs/ /\n"
        'RUN ["/bin/busybox", "sh", "-c", "if /bin/busybox nc -w 3 127.0.0.1 '
        f'{port} </dev/null >/dev/null 2>&1; then echo reached > /net; '
        'else echo isolated > /net; fi; /bin/busybox ls /sys/class/net >> /net"]\n')
    return where


def seen(builder: Builder, result_out: str) -> list[str]:
    ref = outcome(result_out)["app"][0]
    return builder.run_in_image(ref, "/bin/busybox", "cat", "/net", driver="vfs").split()


def test_root_run_steps_get_their_own_network_unless_asked(
        root_builder: Builder, other_root_builder: Builder, loopback_service: int,
        tmp_path: Path) -> None:
    p = project(tmp_path / "p", loopback_service)
    private = root_builder.build(p, *ROOTLESS)
    lines = seen(root_builder, private.out)
    host_interfaces = sorted(path.name for path in Path("/sys/class/net").iterdir())
    assert lines[0] == "isolated", lines
    assert "lo" in lines[1:] and sorted(lines[1:]) != host_interfaces  # a namespace of its own
    host = other_root_builder.build(p, *ROOTLESS, "--network", "host")
    assert seen(other_root_builder, host.out) == ["reached", *host_interfaces]
    doctor = json.loads(root_builder.dockwright("doctor", "--json", *ROOTLESS, "--storage-root",
                                                str(root_builder.storage_root), cwd=p).out)
    check = next(c for c in doctor["checks"] if c["id"] == "network")
    assert check["status"] == "ok" and "of their own" in check["finding"]


def test_chroot_shares_the_host_network_and_the_doctor_says_so(
        root_builder: Builder, loopback_service: int, tmp_path: Path) -> None:
    p = project(tmp_path / "p", loopback_service)
    built = root_builder.build(p, "--buildah-mode", "native-chroot", "--storage-driver", "vfs")
    assert seen(root_builder, built.out)[0] == "reached"
    doctor = json.loads(root_builder.dockwright("doctor", "--json", "--buildah-mode",
                                                "native-chroot", cwd=p).out)
    check = next(c for c in doctor["checks"] if c["id"] == "network")
    assert "chroot isolation: RUN steps share the host's network" in check["finding"]


def test_rootless_stops_with_the_fix_unless_the_host_network_is_allowed(
        user_builder: Builder, loopback_service: int) -> None:
    b = user_builder
    b.env.pop("DOCKWRIGHT_NETWORK", None)  # the suite allows it for every other user build
    work = b.storage_root.parent
    p = give_to(b.user, project(work / "p", loopback_service))
    refused = b.build(p, *ROOTLESS, check=False)
    assert refused.code == 3, refused.err
    assert refused.err.startswith("error: RUN steps cannot get a network of their own here: "
                                  "[network] a private network for RUN steps does not work")
    assert "export DOCKWRIGHT_NETWORK=host" in refused.err
    assert "Traceback" not in refused.err
    assert b.stage_tags("nettest", "vfs") == set()
    doctor = b.dockwright("doctor", "--json", *ROOTLESS, "--storage-root", str(b.storage_root),
                          cwd=p, check=False)
    assert doctor.code == 3
    check = next(c for c in json.loads(doctor.out)["checks"] if c["id"] == "network")
    assert check["status"] == "fail"
    assert any(f.startswith("export DOCKWRIGHT_NETWORK=host") for f in check["fix"])

    allowed = b.build(p, *ROOTLESS, "--network", "host")
    assert seen(b, allowed.out)[0] == "reached"
    # werf.yaml's network for the image is an allowance too (another digest: a new build)
    q = give_to(b.user, project(work / "q", loopback_service, network="host"))
    (q / "Dockerfile").write_text((q / "Dockerfile").read_text() + "ENV V=2\n")
    by_config = b.build(q, *ROOTLESS)
    assert seen(b, by_config.out)[0] == "reached"
