"""Dockerfile heredocs (RUN <<EOF) with the Buildah of this host: built where Buildah can
(1.35 and newer: Debian 13), refused before anything runs where it cannot (Debian 12's 1.28
reads the body as instructions and fails late, at 'Unknown instruction: "SET"')."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from dockwright.errors import Exit
from tests.integration.conftest import Builder, busybox_rootfs
from tests.integration.test_build import outcome

DOCKERFILE = """FROM scratch
COPY rootfs/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN <<EOF
set -e
echo from a heredoc > /heredoc
EOF
"""


def buildah_version() -> tuple[str, tuple[int, int]]:
    """("version 1.28.2", (1, 28)) for the buildah on PATH."""
    out = subprocess.run(["buildah", "--version"], capture_output=True, text=True,
                         check=True).stdout
    match = re.search(r"version (\d+)\.(\d+)\S*", out)
    assert match, out
    return match[0], (int(match[1]), int(match[2]))


def test_heredoc_builds_or_is_refused_before_building(root_builder: Builder,
                                                     tmp_path: Path) -> None:
    root = tmp_path / "heredoc"
    busybox_rootfs(root / "rootfs")
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "werf.yaml").write_text("configVersion: 1\nproject: heredoc\n---\nimage: app\n"
                                    "dockerfile: Dockerfile\n")
    result = root_builder.build(root, "--buildah-mode", "native-chroot", "--storage-driver",
                                "vfs", check=False)
    version, number = buildah_version()
    if number >= (1, 35):
        assert result.code == Exit.OK, result.err
        ref = outcome(result.out)["app"][0]
        assert root_builder.run_in_image(ref, "cat", "/heredoc", driver="vfs") == \
            "from a heredoc\n"
        return
    assert result.code == Exit.HOST_NOT_READY, result.err
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: Dockerfile:4: a heredoc (<<EOF) needs Buildah 1.35 or newer "
                      f"to build; this host has {version}"]
    assert "STEP" not in result.err  # Buildah never started a build
    assert root_builder.stage_tags("heredoc", "vfs") == set()
