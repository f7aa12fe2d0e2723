"""The recipes of docs/ci.md, run in dockwright's image under Debian's podman against a real
registry server (TLS and a login, as a CI registry has).

Each runner's own settings are turned into podman flags as that runner would pass them, on top
of the confinement the runner gives by default (a seccomp profile forbidding user namespaces,
like Docker's and Kubernetes' RuntimeDefault). The job's commands run as the recipe writes them.
A recipe without its settings must fail the way the doctor says: the settings are needed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.ci import (
    STORE,
    Image,
    Podman,
    ci_image,  # noqa: F401  (a fixture)
    confined_profile,
    podman,  # noqa: F401  (a fixture)
    scratch_project,
)
from tests.integration.conftest import REPO, Run
from tests.integration.registry import Registry
from tests.integration.test_build import outcome as build_outcome

RECIPE_IMAGES = ("registry.example.com/tools/dockwright:latest",
                 "ghcr.io/example/dockwright:latest")


def outcome(stdout: str) -> dict[str, tuple[str, str]]:
    """The build's result lines among a job's other output (the login, the doctor)."""
    return build_outcome("\n".join(x for x in stdout.splitlines() if x.count("\t") == 4))


def empty_dir(path: Path, fs_group: int) -> Path:
    """A Kubernetes emptyDir of a pod with ``fsGroup``: writable by the group."""
    path.mkdir()
    os.chown(path, 0, fs_group)
    os.chmod(path, 0o2777)
    return path


def recipes() -> dict[tuple[str, str], str]:
    """{(recipe, file): text} of the blocks docs/ci.md marks ``recipe=NAME file=PATH``."""
    text = (REPO / "docs" / "ci.md").read_text()
    found = re.findall(r"^```\w+ recipe=(\S+) file=(\S+)\n(.*?)^```", text, re.S | re.M)
    return {(name, file): body for name, file, body in found}


def test_docs_ci_has_every_recipe() -> None:
    assert set(recipes()) == {
        ("gitlab-docker", "config.toml"), ("gitlab-docker", ".gitlab-ci.yml"),
        ("gitlab-kubernetes", "config.toml"), ("github", ".github/workflows/build.yml"),
        ("kubernetes-job", "job.yaml")}


# -- what a runner does with its settings -----------------------------------------------------

def security(options: dict[str, str]) -> list[str]:
    """The runner's default confinement, then what its settings relax (podman: the last
    --security-opt of a kind wins)."""
    flags = ["--security-opt", f"seccomp={confined_profile()}"]
    for kind, value in options.items():
        flags += ["--security-opt", f"{kind}={value}"]
    return flags


def docker_security_opt(entries: list[str]) -> dict[str, str]:
    """GitLab's ``security_opt = ["seccomp:unconfined"]`` (Docker's API spelling)."""
    return dict(entry.replace("=", ":", 1).split(":", 1) for entry in entries)


def pod_security(pod: dict[str, Any], container: dict[str, Any],
                 annotations: dict[str, str]) -> dict[str, str]:
    """A pod's seccomp and AppArmor settings for its container ``build``."""
    out: dict[str, str] = {}
    for context in (pod, container):
        if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
            out["seccomp"] = "unconfined"
        if (context.get("appArmorProfile") or {}).get("type") == "Unconfined":
            out["apparmor"] = "unconfined"
    if annotations.get("container.apparmor.security.beta.kubernetes.io/build") == "unconfined":
        out["apparmor"] = "unconfined"
    return out


@pytest.fixture
def volumes() -> Iterator[list[str]]:
    """Named podman volumes a test creates (removed after it)."""
    made: list[str] = []
    yield made
    for name in made:
        subprocess.run(["podman", "volume", "rm", "-f", name], capture_output=True)


def named_volume(spec: str, made: list[str]) -> str:
    """``NAME:PATH`` with a name of this test's own."""
    name, path = spec.split(":", 1)
    unique = f"{name}-{uuid.uuid4().hex[:8]}"
    made.append(unique)
    return f"{unique}:{path}"


def checkout(dest: Path, owner: int = 0, depth: int = 0, detach: bool = False) -> Path:
    """A project checked out as a runner leaves it: a git repository of two commits, owned
    by ``owner`` (GitLab's helper: root, with umask 0000 so that the job's user may write).
    With ``depth``, a shallow clone of it, as CI fetches (``--depth``); with ``detach``, at
    its commit rather than on the branch, as GitLab CI checks out."""
    origin = dest.with_name(dest.name + "-origin") if depth else dest
    scratch_project(origin, "app")
    git = ["git", "-C", str(origin), "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "start"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "app"], check=True)
    if depth:
        subprocess.run(["git", "clone", "-q", "--depth", str(depth), f"file://{origin}",
                        str(dest)], check=True)
        assert (dest / ".git" / "shallow").exists()
    if detach:
        subprocess.run(["git", "-C", str(dest), "checkout", "-q", "--detach"], check=True)
    subprocess.run(["chmod", "-R", "a+rwX", str(dest)], check=True)
    subprocess.run(["chown", "-R", f"{owner}:{owner}", str(dest)], check=True)
    return dest


def head_of(repo: Path) -> str:
    return subprocess.run(["git", "-c", "safe.directory=*", "-C", str(repo), "rev-parse", "HEAD"],
                          check=True,
                          capture_output=True, text=True).stdout.strip()


def gitlab_job(ci: str, image: Image, registry: Registry) -> tuple[str, dict[str, str], str]:
    """(image, variables, script) of the ``build`` job, with GitLab's predefined variables."""
    job = yaml.safe_load(ci)["build"]
    assert job["image"] in RECIPE_IMAGES
    variables = {"CI_REGISTRY": registry.host, "CI_REGISTRY_USER": registry.user,
                 "CI_REGISTRY_PASSWORD": registry.password,
                 "CI_REGISTRY_IMAGE": f"{registry.host}/group/app",
                 **{k: str(v) for k, v in (job.get("variables") or {}).items()}}
    return image.ref, variables, "\n".join(job["script"])


def stages_in(registry: Registry, authfile: Path) -> list[str]:
    return registry.stage_tags("group/app/stages", authfile)


@pytest.fixture
def authfile(secure_registry: Registry, tmp_path: Path) -> Path:
    path = tmp_path / "auth.json"
    secure_registry.login(path)
    return path


# -- GitLab CI --------------------------------------------------------------------------------

def test_gitlab_docker_executor(ci_image: Image, podman: Podman, secure_registry: Registry,
                                authfile: Path, tmp_path: Path, volumes: list[str]) -> None:
    config = tomllib.loads(recipes()[("gitlab-docker", "config.toml")])["runners"][0]
    docker = config["docker"]
    assert docker["image"] in RECIPE_IMAGES
    image, variables, script = gitlab_job(recipes()[("gitlab-docker", ".gitlab-ci.yml")],
                                          ci_image, secure_registry)
    project = checkout(tmp_path / "project", depth=1, detach=True)  # GitLab's fetch
    variables["CI_COMMIT_SHA"] = head_of(project)
    mounts = [x for spec in docker.get("volumes", []) for x in ("-v", named_volume(spec, volumes))]
    job = ["-v", f"{project}:/builds/group/app", "-w", "/builds/group/app", *mounts]

    def run(relax: dict[str, str]) -> Run:
        return podman.run(image, "sh", "-ec", script, options=[*job, *security(relax)],
                          env=variables)

    unconfined = run(docker_security_opt(docker["security_opt"]))
    assert unconfined.code == 0, unconfined.text
    assert outcome(unconfined.out)["app"][1] == "built"
    assert "verdict: ready" in unconfined.out  # the job's `dockwright doctor`
    assert len(stages_in(secure_registry, authfile)) == 1
    report = json.loads((project / ".werf-build-report.json").read_text())  # the artifact
    assert report["Images"]["app"]["DockerRepo"] == f"{secure_registry.host}/group/app/stages"

    again = run(docker_security_opt(docker["security_opt"]))  # the next job on this runner
    assert again.code == 0, again.text
    assert outcome(again.out)["app"] == (outcome(unconfined.out)["app"][0], "reused")

    confined = run({})  # the runner without the recipe's security_opt
    assert confined.code == 3, confined.text  # `dockwright doctor` stops the job
    assert "fail  userns-create" in confined.out
    assert 'security_opt = ["seccomp:unconfined", "apparmor:unconfined"]' in confined.out


def test_gitlab_kubernetes_executor(ci_image: Image, podman: Podman, secure_registry: Registry,
                                    authfile: Path, tmp_path: Path) -> None:
    config = tomllib.loads(recipes()[("gitlab-kubernetes", "config.toml")])["runners"][0]
    kube = config["kubernetes"]
    assert kube["image"] in RECIPE_IMAGES
    assert "FF_USE_ADVANCED_POD_SPEC_CONFIGURATION=true" in config["environment"]
    pod = kube["pod_security_context"]
    patch = yaml.safe_load(kube["pod_spec"][0]["patch"])
    build = next(c for c in patch["containers"] if c["name"] == "build")
    relax = pod_security({}, build["securityContext"], kube["pod_annotations"])
    assert relax == {"seccomp": "unconfined", "apparmor": "unconfined"}
    image, variables, script = gitlab_job(recipes()[("gitlab-docker", ".gitlab-ci.yml")],
                                          ci_image, secure_registry)
    project = checkout(tmp_path / "project", owner=pod["fs_group"], depth=1, detach=True)
    variables["CI_COMMIT_SHA"] = head_of(project)
    mounts = []
    for n, empty in enumerate(kube["volumes"]["empty_dir"]):
        directory = empty_dir(tmp_path / f"empty-{n}", pod["fs_group"])
        mounts += ["-v", f"{directory}:{empty['mount_path']}"]
    assert any(STORE in m for m in mounts)
    job = ["--user", f"{pod['run_as_user']}:{pod['run_as_group']}",
           "-v", f"{project}:/builds/group/app", "-w", "/builds/group/app", *mounts]
    done = podman.run(image, "sh", "-ec", script, options=[*job, *security(relax)],
                      env=variables)
    assert done.code == 0, done.text
    assert outcome(done.out)["app"][1] == "built"
    assert len(stages_in(secure_registry, authfile)) == 1


# -- GitHub Actions ---------------------------------------------------------------------------

def test_github_actions(ci_image: Image, podman: Podman, secure_registry: Registry,
                        authfile: Path, tmp_path: Path, volumes: list[str]) -> None:
    workflow = yaml.safe_load(recipes()[("github", ".github/workflows/build.yml")])
    steps = workflow["jobs"]["build"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    assert "kernel.apparmor_restrict_unprivileged_userns=0" in steps[1]["run"]
    step = next(s for s in steps if s.get("name") == "Build with dockwright")
    script = step["run"]
    for recipe_image in RECIPE_IMAGES:
        script = script.replace(recipe_image, ci_image.ref)
    script = re.sub(r"-v (dockwright-\w+:\S+)",  # the step's named volumes, this test's own
                    lambda m: "-v " + named_volume(m[1], volumes), script)
    expressions = {"github.actor": secure_registry.user,
                   "github.repository": "group/app"}
    script = re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: expressions[m[1]], script)
    script = script.replace("ghcr.io", secure_registry.host)
    env = {"REGISTRY_PASSWORD": secure_registry.password}
    assert step["env"]["REGISTRY_PASSWORD"] == "${{ secrets.GITHUB_TOKEN }}"
    # `docker` on the hosted runner: here podman, as this machine runs it, with Docker's
    # default confinement in front of the step's own flags
    shim = tmp_path / "bin" / "docker"
    shim.parent.mkdir()
    base = podman.argv("IMAGE")[2:podman.argv("IMAGE").index("IMAGE")]
    shim.write_text("#!/bin/sh\ncmd=$1; shift\nexec podman \"$cmd\" "
                    + " ".join(base) + " " + " ".join(security({}))
                    + " -e WERF_DISABLE_AUTO_HOST_CLEANUP=1 \"$@\"\n")
    shim.chmod(0o755)
    # actions/checkout: one commit fetched, the branch checked out, as the runner's user
    workspace = checkout(tmp_path / "workspace", owner=1001, depth=1)
    env["GITHUB_SHA"] = head_of(workspace)  # every step has it
    done = subprocess.run(["bash", "-e", "-c", script], cwd=workspace, capture_output=True,
                          text=True, timeout=600,
                          env={**os.environ, **env,
                               "PATH": f"{shim.parent}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert outcome(done.stdout)["app"][1] == "built"
    assert len(stages_in(secure_registry, authfile)) == 1


# -- a Kubernetes Job -------------------------------------------------------------------------

def test_kubernetes_job(ci_image: Image, podman: Podman, secure_registry: Registry,
                        authfile: Path, tmp_path: Path) -> None:
    """Two pods of the Job, one after the other: the first builds, the second reuses the
    stage from the registry (a fresh emptyDir store, a fresh clone)."""
    job = yaml.safe_load(recipes()[("kubernetes-job", "job.yaml")])
    template = job["spec"]["template"]
    pod, (container,) = template["spec"], template["spec"]["containers"]
    assert container["image"] in RECIPE_IMAGES and container["name"] == "build"
    context = pod["securityContext"]
    relax = pod_security(context, container["securityContext"],
                         template["metadata"]["annotations"])
    assert relax == {"seccomp": "unconfined", "apparmor": "unconfined"}
    bare = tmp_path / "app.git"
    source = checkout(tmp_path / "source")
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(bare)], check=True)
    subprocess.run(["chmod", "-R", "a+rX", str(bare)], check=True)
    values = {"GIT_URL": "file:///git/app.git",
              "REPO": f"{secure_registry.host}/group/app/stages"}
    env = {e["name"]: values.get(e["name"], e["value"]) for e in container["env"]}
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / ".dockerconfigjson").write_text(authfile.read_text())
    subprocess.run(["chmod", "-R", "a+rX", str(secret)], check=True)

    def run_pod(n: int) -> Run:
        mounts = ["-v", f"{bare}:/git/app.git:ro"]
        by_name = {v["name"]: v for v in pod["volumes"]}
        for mount in container["volumeMounts"]:
            volume = by_name[mount["name"]]
            if "emptyDir" in volume:
                directory = empty_dir(tmp_path / f"pod{n}-{mount['name']}",
                                      context["fsGroup"])
            else:
                assert volume["secret"]["secretName"] == "registry-auth"
                directory = secret
            ro = ":ro" if mount.get("readOnly") else ""
            mounts += ["-v", f"{directory}:{mount['mountPath']}{ro}"]
        entrypoint = json.dumps(container["command"])
        options = ["--user", f"{context['runAsUser']}:{context['runAsGroup']}",
                   "--entrypoint", entrypoint, *mounts, *security(relax)]
        return podman.run(ci_image.ref, *container["args"], options=options, env=env)

    first = run_pod(1)
    assert first.code == 0, first.text
    assert outcome(first.out)["app"][1] == "built"
    second = run_pod(2)
    assert second.code == 0, second.text
    assert outcome(second.out)["app"] == (outcome(first.out)["app"][0], "reused")
    assert len(stages_in(secure_registry, authfile)) == 1
