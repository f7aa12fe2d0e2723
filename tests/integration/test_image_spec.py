"""werf's imageSpec applied to real images (root, and a rootless user), and a werf.yaml
template that makes the images: the built configuration is what the spec says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import Builder, busybox_rootfs, give_to
from tests.integration.test_build import outcome

DOCKERFILE = """FROM scratch
COPY rootfs/ /
ENV A=1 DEBUG=yes
LABEL old=1 tmp-x=2 keep=3
VOLUME /data
EXPOSE 80
USER 1000
WORKDIR /w
ENTRYPOINT ["/bin/busybox"]
CMD ["echo", "base"]
"""

WERF = """configVersion: 1
project: spec
build:
  imageSpec:
    config:
      labels: {team: core}
---
{{- range $name := list "app" "worker" }}
image: {{ $name }}
dockerfile: Dockerfile
imageSpec:
  author: {{ $.Env | default "nobody" }}
  clearHistory: true
  config:
    removeLabels: [old, /tmp-.*/]
    labels: {"%project%/image": "%image%", version: "{{ $.Files.Get "VERSION" | trim }}"}
    removeEnv: [DEBUG]
    env: {PATH: "/app:$A"}
    removeVolumes: [/data]
    volumes: [/cache]
    expose: ["8080/tcp"]
    user: app
    workingDir: /srv
    entrypoint: ["/bin/busybox", "sh", "-c"]
    stopSignal: SIGINT
    healthcheck: {test: [CMD, /bin/busybox, "true"], interval: 30, retries: 2}
---
{{ end }}"""


def project(root: Path) -> Path:
    busybox_rootfs(root / "rootfs")
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "werf.yaml").write_text(WERF)
    (root / "VERSION").write_text("1.2.3\n")
    return root


def inspect(builder: Builder, ref: str) -> dict[str, object]:
    out = builder.buildah("inspect", "--type", "image", ref, driver="vfs").out
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("who", ["root", "user"])
def test_image_spec_is_applied_and_is_part_of_the_digest(
        who: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    builder: Builder = request.getfixturevalue(f"{who}_builder")
    where = tmp_path if who == "root" else builder.storage_root.parent
    root = give_to(builder.user, project(where / "proj"))
    args = ("--storage-driver", "vfs", "--env", "staging")
    first = outcome(builder.build(root, *args).out)
    assert {n: s for n, (_, s) in first.items()} == {"app": "built", "worker": "built"}

    image = inspect(builder, first["app"][0])
    docker = image["Docker"]
    assert isinstance(docker, dict)
    config = docker["config"]
    assert docker["author"] == "staging"
    labels = config["Labels"]
    assert labels["spec/image"] == "app" and labels["version"] == "1.2.3"
    assert labels["team"] == "core"  # from the meta section's imageSpec
    assert "old" not in labels and "tmp-x" not in labels and labels["keep"] == "3"
    assert labels["werf"] == "spec"  # werf's essential labels stay
    assert "A=1" in config["Env"] and "PATH=/app:1" in config["Env"]
    assert not any(e.startswith("DEBUG=") for e in config["Env"])
    assert set(config["Volumes"]) == {"/cache"}
    assert set(config["ExposedPorts"]) == {"8080/tcp"}
    assert config["User"] == "app" and config["WorkingDir"] == "/srv"
    assert config["Entrypoint"] == ["/bin/busybox", "sh", "-c"]
    assert not config.get("Cmd")  # a new entrypoint drops the inherited cmd
    assert config["StopSignal"] == "SIGINT"
    assert config["Healthcheck"]["Test"][-2:] == ["/bin/busybox", "true"]
    assert config["Healthcheck"]["Interval"] == 30 * 10**9
    assert not docker.get("history")
    assert inspect(builder, first["worker"][0])["Docker"]["config"]["Labels"][  # type: ignore
        "spec/image"] == "worker"

    # the working container is gone; the image before the spec stays, untagged, with the
    # other step images under it (removing it would remove them: the instruction cache)
    assert builder.containers("vfs") == ""
    ids = builder.buildah("images", "--all", "--quiet", "--no-trunc", driver="vfs").out.split()
    assert len(ids) > 2
    named = json.loads(builder.buildah("images", "--all", "--json", driver="vfs").out)
    assert sorted(n for i in named for n in i.get("names") or []) == sorted(
        ref if ref.startswith("localhost/") else f"localhost/{ref}"
        for ref, _ in first.values())
    assert all(inspect(builder, i)["Docker"]["config"]["Labels"]["werf"] == "spec"  # type: ignore
               for i in ids)

    again = outcome(builder.build(root, *args).out)
    assert again == {n: (ref, "reused") for n, (ref, _) in first.items()}

    # the spec is an input of the digest: a changed file read by the template rebuilds
    (root / "VERSION").write_text("1.2.4\n")
    changed = outcome(builder.build(root, *args).out)
    assert changed["app"][1] == "built" and changed["app"][0] != first["app"][0]
    assert inspect(builder, changed["app"][0])["Docker"]["config"]["Labels"][  # type: ignore
        "version"] == "1.2.4"
