"""Real builds of the example project: root and rootless, both isolations, both drivers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, SHARED, Builder, busybox_rootfs, give_to

EXAMPLE = REPO / "examples" / "hello"
GREETING = "Hello from dockwright, built without a daemon and without root."


def copy_example(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("rootfs"))
    busybox_rootfs(dest / "base" / "rootfs")
    return dest


def outcome(stdout: str) -> dict[str, tuple[str, str]]:
    """{image: (reference, "built" | "reused")} from the build's stdout lines."""
    rows = [line.split("\t") for line in stdout.strip().splitlines()]
    assert all(len(row) == 5 for row in rows), rows  # name, reference, state, seconds, size
    return {row[0]: (row[1], row[2]) for row in rows}


MATRIX = [
    pytest.param("root", "native-rootless", "overlay", id="root-rootless-overlay"),
    pytest.param("root", "native-chroot", "vfs", id="root-chroot-vfs"),
    pytest.param("root", "native-chroot", "overlay", id="root-chroot-overlay"),
    pytest.param("root", "native-rootless", "vfs", id="root-rootless-vfs"),
    pytest.param("user", "native-rootless", "overlay", id="user-rootless-overlay"),
    pytest.param("user", "native-rootless", "vfs", id="user-rootless-vfs"),
    pytest.param("user", "native-chroot", "overlay", id="user-chroot-overlay"),
    pytest.param("user", "native-chroot", "vfs", id="user-chroot-vfs"),
]


@pytest.mark.parametrize(("who", "mode", "driver"), MATRIX)
def test_example_builds_and_runs(who: str, mode: str, driver: str, request: pytest.FixtureRequest,
                                 tmp_path: Path) -> None:
    builder: Builder = request.getfixturevalue("root_builder" if who == "root"
                                               else "user_builder")
    where = tmp_path if who == "root" else builder.storage_root.parent
    project = give_to(builder.user, copy_example(where / "hello"))

    first = builder.build(project, "--buildah-mode", mode, "--storage-driver", driver)
    built = outcome(first.out)
    assert {name: state for name, (_, state) in built.items()} == \
        {"base": "built", "app": "built", "tools": "built"}
    expected_isolation = "oci isolation with runc" if mode == "native-rootless" \
        else "chroot isolation"
    assert f"mode {mode}: {expected_isolation}, {driver} storage" in first.err

    app_ref = built["app"][0]
    assert app_ref.startswith("localhost/hello:")
    assert builder.run_in_image(app_ref, "/usr/local/bin/app", driver=driver).strip() == GREETING
    tools = builder.run_in_image(built["tools"][0], "/opt/tools/check", driver=driver)
    assert tools.strip() == "tools ok: Linux"
    # the RUN step ran inside the build (as the image's root, owning what it wrote)
    assert builder.run_in_image(built["tools"][0], "stat", "-c", "%u %a",
                                "/opt/tools/check", driver=driver).strip() == "0 755"
    labels = builder.buildah("inspect", "--type", "image", "--format",
                             "{{index .OCIv1.Config.Labels \"werf\"}} "
                             "{{index .OCIv1.Config.Labels \"werf-stage-content-digest\"}}",
                             app_ref, driver=driver).out.split()
    tag = app_ref.split(":", 1)[1]
    assert labels == ["hello", tag.split("-")[0]]
    assert builder.containers(driver) == ""

    second = builder.build(project, "--buildah-mode", mode, "--storage-driver", driver)
    assert outcome(second.out) == {name: (ref, "reused") for name, (ref, _) in built.items()}
    assert "STEP" not in second.err


def test_rootless_user_storage_is_the_users(user_builder: Builder) -> None:
    """The default store of a user is under its home; the build needs no root anywhere."""
    project = give_to(user_builder.user, copy_example(user_builder.storage_root.parent / "p"))
    result = user_builder.dockwright("build", "--buildah-mode", "native-rootless",
                                     "--storage-driver", "vfs", cwd=project)
    assert "vfs storage in /home/dwbuild/.local/share/containers/storage" in result.err
    assert set(outcome(result.out)) == {"base", "app", "tools"}
    user_builder.dockwright("build", "--buildah-mode", "native-rootless", "--storage-driver",
                            "vfs", cwd=project)
    # clean the user's default store
    rm = ["rmi", "--all", "--force"]
    from tests.integration.conftest import Builder as B
    home = B(user_builder.user, Path("/home/dwbuild/.local/share/containers/storage"),
             user_builder.env)
    home.buildah(*rm, driver="vfs", check=False)
    assert SHARED.exists()
