"""werf's imageSpec rules turned into ``buildah config`` arguments (pure)."""

from __future__ import annotations

from dockwright.config.model import Healthcheck, ImageSpec
from dockwright.engine.imagespec import change

CONFIG = {
    "Labels": {"werf": "demo", "werf-stage-content-digest": "d", "old": "1", "tmp-a": "2",
               "keep": "3"},
    "Env": ["PATH=/bin", "DEBUG=1", "WERF_COMMIT_HASH=abc", "LANG=C"],
    "Volumes": {"/data": {}},
    "ExposedPorts": {"80/tcp": {}, "443/tcp": {}},
    "User": "1000", "WorkingDir": "/w", "Cmd": ["a"], "Entrypoint": ["/bin/sh"],
}


def test_an_empty_spec_changes_only_werf_commit_variables() -> None:
    result = change(ImageSpec(), CONFIG, "demo", "app")
    assert result.config_args == ("--env", "WERF_COMMIT_HASH-")
    assert result.omit_history is False and result.warnings == ()


def test_labels_removed_by_name_and_regex_essential_ones_kept() -> None:
    spec = ImageSpec(remove_labels=("old", "/tmp-.*/", "/werf.*/"),
                     labels=(("team", "core"), ("%project%.image", "%image%-%project%")))
    result = change(spec, CONFIG, "demo", "app")
    assert result.config_args == (
        "--label", "old-", "--label", "tmp-a-",
        "--label", "team=core", "--label", "demo.image=app-demo",
        "--env", "WERF_COMMIT_HASH-")
    assert "werf's essential labels" in result.warnings[0]
    silenced = change(ImageSpec(remove_labels=("werf",), keep_essential_werf_labels=True),
                      CONFIG, "demo", "app")
    assert silenced.warnings == ()


def test_env_volumes_and_ports() -> None:
    spec = ImageSpec(remove_env=("/DEB.*/",), env=(("PATH", "/app:$PATH"),),
                     remove_volumes=("/data", "/absent"), volumes=("/cache",),
                     expose=("8080", "443/tcp"))
    assert change(spec, CONFIG, "demo", "app").config_args == (
        "--env", "DEBUG-", "--env", "WERF_COMMIT_HASH-", "--env", "PATH=/app:$PATH",
        "--volume", "/data-", "--volume", "/cache",
        "--port", "80/tcp-", "--port", "8080", "--port", "443/tcp")


def test_entrypoint_without_cmd_clears_cmd_and_clear_flags() -> None:
    spec = ImageSpec(entrypoint=("/app", "run"), clear_user=True, clear_working_dir=True,
                     author="me", stop_signal="SIGINT", clear_history=True)
    result = change(spec, {}, "demo", "app")
    assert result.config_args == (
        "--author", "me", "--user", "", "--workingdir", "", "--stop-signal", "SIGINT",
        "--entrypoint", '["/app", "run"]', "--cmd", "")
    assert result.omit_history is True
    both = change(ImageSpec(entrypoint=(), cmd=("x",), user="app", working_dir="/a"), {}, "d",
                  "a")
    assert both.config_args == ("--user", "app", "--workingdir", "/a", "--entrypoint", "[]",
                                "--cmd", '["x"]')
    cleared = change(ImageSpec(clear_cmd=True, clear_entrypoint=True), {}, "d", "a")
    assert cleared.config_args == ("--entrypoint", "", "--cmd", "")


def test_healthcheck() -> None:
    spec = ImageSpec(healthcheck=Healthcheck(("CMD", "/bin/true", "-x"), 30, 5, 2, 3))
    assert change(spec, {}, "d", "a").config_args == (
        "--healthcheck", "CMD /bin/true -x", "--healthcheck-interval", "30s",
        "--healthcheck-timeout", "5s", "--healthcheck-start-period", "2s",
        "--healthcheck-retries", "3")
    shell = ImageSpec(healthcheck=Healthcheck(("CMD-SHELL", "curl -f localhost")))
    assert change(shell, {}, "d", "a").config_args == ("--healthcheck",
                                                       "CMD-SHELL 'curl -f localhost'")


def test_spec_entries_are_digest_inputs() -> None:
    assert ImageSpec().entries("p", "i") == []
    spec = ImageSpec(labels=(("b", "%image%"), ("a", "1")), cmd=(), expose=("80",), user="app")
    assert spec.entries("p", "app") == [("labels", "a=1\nb=app"), ("user", "app"),
                                        ("cmd", "[]"), ("expose", "80")]
    # one spec, two images: %image% makes their digests differ
    assert spec.entries("p", "app") != spec.entries("p", "worker")
