"""How build chooses mode, runtime and storage on the real host, and the probe cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.integration.conftest import Builder
from tests.integration.test_build import copy_example, outcome


def test_auto_outside_a_container_is_rootless_with_a_working_runtime(
        root_builder: Builder, tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    result = root_builder.build(project, "--storage-driver", "vfs")
    # crun is installed but cannot run containers on this host's hybrid cgroups: runc is chosen
    assert "auto: native-rootless, with OCI runtime /usr/sbin/runc" in result.err
    assert "mode native-rootless: oci isolation with runc, vfs storage" in result.err
    assert "crun" in result.err  # the warning names the runtime that does not work


def test_auto_inside_a_container_is_chroot(root_builder: Builder, tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    result = root_builder.build(project, "--storage-driver", "vfs",
                                extra_env={"WERF_CONTAINERIZED": "yes"})
    assert "auto: native-chroot, because this runs in a container (WERF_CONTAINERIZED is " \
        "set)" in result.err
    assert set(outcome(result.out)) == {"base", "app", "tools"}


def test_store_is_never_opened_with_another_driver(root_builder: Builder,
                                                   tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    root_builder.build(project, "--buildah-mode", "native-chroot", "--storage-driver", "vfs")
    refused = root_builder.build(project, "--buildah-mode", "native-chroot",
                                 "--storage-driver", "overlay", check=False)
    assert refused.code == 3
    assert "error: the store at " in refused.err
    assert "was created with the vfs driver; overlay was asked for" in refused.err
    assert "hint: use WERF_BUILDAH_STORAGE_DRIVER=vfs, or give another store" in refused.err
    # auto follows the store's driver, and says so
    auto = root_builder.build(project, "--buildah-mode", "native-chroot")
    assert "storage: vfs, the driver the existing store at" in auto.err
    assert {s for _, s in outcome(auto.out).values()} == {"reused"}


def test_probes_are_cached_until_their_inputs_change(root_builder: Builder,
                                                     tmp_path: Path) -> None:
    project = copy_example(tmp_path / "hello")
    cache = tmp_path / "cache"
    env = {"XDG_CACHE_HOME": str(cache)}
    args = ("--debug", "--buildah-mode", "native-rootless", "--storage-driver", "overlay")

    def probe_container(line: str) -> bool:  # a probe's container of scratch
        return " from --pull=never " in line and line.rstrip().endswith(" scratch")

    def probes_run() -> list[str]:
        err = root_builder.build(project, *args, extra_env=env).err
        return [line for line in err.splitlines()
                if "debug: run:" in line and (probe_container(line)
                                              or "mount -t overlay" in line)]

    first = probes_run()
    assert any("mount -t overlay" in line for line in first)
    # crun, runc, and a private network with the runtime chosen
    assert sum(probe_container(line) for line in first) == 3
    assert (cache / "dockwright" / "probes.json").is_file()
    assert probes_run() == []
    # a runtime binary that changes (an upgrade: new mtime) is probed again, nothing else
    runc = shutil.which("runc")
    assert runc
    st = os.stat(runc)
    os.utime(runc, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    try:
        again = probes_run()
    finally:
        os.utime(runc, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert len(again) == 2 and all(probe_container(line) for line in again)
