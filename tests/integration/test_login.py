"""Registry logins for a user without XDG_RUNTIME_DIR, after root has used Buildah.

Such a user (started with runuser, as here) makes skopeo read /run/containers/<uid>/auth.json,
which it may not once /run/containers is mode 0700 (root's Buildah leaves it so); Buildah
keeps that user's logins elsewhere. dockwright gives both the same file (host/auth.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Builder, give_to
from tests.integration.registry import Registry
from tests.integration.test_build import copy_example, outcome

CHROOT = ("--buildah-mode", "native-chroot", "--storage-driver", "vfs")


@pytest.fixture
def run_containers_0700() -> Iterator[None]:
    """/run/containers as root's Buildah leaves it; restored afterwards. (No host lock: the
    user_builder fixture holds it shared, and only skopeo without dockwright minds this.)"""
    path = Path("/run/containers")
    path.mkdir(exist_ok=True)
    before = path.stat().st_mode & 0o7777
    os.chmod(path, 0o700)
    try:
        yield
    finally:
        os.chmod(path, before)


def as_user(builder: Builder, *args: str, stdin: str | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(builder.argv(*args), input=stdin, capture_output=True, text=True,
                          timeout=300, cwd=cwd or builder.storage_root.parent)


def user_buildah(builder: Builder, *args: str) -> subprocess.CompletedProcess[str]:
    """Plain buildah as the user, in the user's environment, without dockwright's help."""
    argv = builder.argv("x")
    i = argv.index("/usr/bin/python3")
    return subprocess.run([*argv[:i], "buildah", *args], capture_output=True, text=True,
                          timeout=120)


def test_a_runuser_user_logs_in_and_builds_with_the_repo(
        user_builder: Builder, secure_registry: Registry, run_containers_0700: None,
        tmp_path: Path) -> None:
    b = user_builder
    tmp = b.storage_root.parent / "tmp"
    tmp.mkdir()
    give_to(b.user, tmp)
    b.env["TMPDIR"] = str(tmp)  # Buildah's runtime files (logins included) follow TMPDIR
    host = secure_registry.host
    project = give_to(b.user, copy_example(b.storage_root.parent / "hello"))
    repo = f"{host}/hello"

    # skopeo alone fails for this user, as the issue saw it: the claim is not moot here
    argv = b.argv("x")
    plain = subprocess.run([*argv[:argv.index("/usr/bin/python3")], "skopeo", "list-tags",
                            "--tls-verify=false", f"docker://{repo}"],
                           capture_output=True, text=True, timeout=60)
    assert "/run/containers/" in plain.stderr and "permission denied" in plain.stderr

    denied = b.build(project, *CHROOT, "--repo", repo, check=False)
    assert denied.code == 4, denied.err
    assert f"hint: log in first: dockwright login {host}" in denied.err
    assert "permission denied" not in denied.err  # refused by the registry, not by a file

    wrong = as_user(b, "login", "-u", secure_registry.user, "--password-stdin", host,
                    stdin="not-the-password\n")
    assert wrong.returncode == 4, wrong.stderr
    assert f"error: {host} refused the login of 'dwuser'" in wrong.stderr

    good = as_user(b, "login", "-u", secure_registry.user, "--password-stdin", host,
                   stdin=secure_registry.password + "\n")
    assert good.returncode == 0, good.stderr
    # Buildah's runtime directory below TMPDIR: containers-user-UID (1.28), storage-run-UID
    # (1.39); that plain Buildah reads it is checked below
    written = re.search(r"the login is in (\S+) \(", good.stdout)
    assert written, good.stdout
    authfile = Path(written[1])
    assert authfile.is_relative_to(tmp) and authfile.name == "auth.json"
    assert host in json.loads(authfile.read_text())["auths"]
    # Buildah on its own finds the login where dockwright put it
    got = user_buildah(b, "login", "--get-login", host)
    assert got.stdout.strip() == secure_registry.user, got.stderr

    built = b.build(project, *CHROOT, "--repo", repo)
    assert {s for _, s in outcome(built.out).values()} == {"built"}
    assert len(secure_registry.stage_tags("hello", authfile)) == 3

    doctor = as_user(b, "doctor", "--json", "--buildah-mode", "native-chroot")
    check = next(c for c in json.loads(doctor.stdout)["checks"] if c["id"] == "registry-auth")
    assert check["status"] == "ok" and str(authfile) in check["finding"]
    assert f"logged in to: {host}" in check["finding"]
    # a file the user cannot read (skopeo's own default here) is named, with a fix
    b.env["REGISTRY_AUTH_FILE"] = f"/run/containers/{os.stat(tmp).st_uid}/auth.json"
    bad = json.loads(as_user(b, "doctor", "--json", "--buildah-mode", "native-chroot").stdout)
    check = next(c for c in bad["checks"] if c["id"] == "registry-auth")
    assert check["status"] == "fail", check
    assert "auth.json (REGISTRY_AUTH_FILE) cannot be read: permission denied" in check["finding"]
    assert "REGISTRY_AUTH_FILE" in check["fix"][0]
    del b.env["REGISTRY_AUTH_FILE"]
    for text in (good.stdout, good.stderr, built.out, built.err, doctor.stdout):
        assert secure_registry.password not in text

    out = as_user(b, "logout", host)
    assert out.returncode == 0 and f"logged out of {host}" in out.stdout, out.stderr
    again = as_user(b, "logout", host)
    assert again.returncode == 0 and "not logged in" in again.stdout, again.stderr
    assert host not in json.loads(authfile.read_text()).get("auths", {})
    denied = b.build(project, *CHROOT, "--repo", repo, "--no-probe-cache", check=False)
    assert denied.code == 4, denied.err  # the repo is listed on every build


def test_login_refuses_bad_input(root_builder: Builder, tmp_path: Path) -> None:
    env = {**os.environ, "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json")}
    cases = [
        (["login", "https://registry.example/x", "-u", "u", "-p", "x"], "is not a registry host"),
        (["login", "registry.example", "-p", "x"], "needs --username"),
        (["login", "registry.example", "-u", "u"], "either with --password-stdin or with -p"),
        (["logout"], "needs one REGISTRY, or --all"),
    ]
    for args, message in cases:
        r = subprocess.run(root_builder.argv(*args), capture_output=True, text=True, env=env,
                           timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 2, (args, r.stderr)
        assert "error: " in r.stderr and message in r.stderr and "hint: " in r.stderr
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "auth.json").exists()
