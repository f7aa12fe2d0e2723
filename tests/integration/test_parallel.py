"""Parallel builds in dependency order, failures, output formats, and clean interruption."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.conftest import Builder, busybox_rootfs, give_to
from tests.integration.test_build import outcome

CHROOT = ("--buildah-mode", "native-chroot", "--storage-driver", "vfs", "--log-format", "plain")
SLEEP = '["/bin/busybox", "sleep", "1"]'


def image(name: str, deps: tuple[str, ...] = (), context: str | None = None) -> str:
    doc = f"image: {name}\ncontext: {context or name}\ndockerfile: Dockerfile\n"
    if deps:
        doc += "dependencies:\n" + "".join(
            f"- image: {d}\n  imports:\n  - type: ImageName\n    targetBuildArg: "
            f"{d.upper()}_IMAGE\n" for d in deps)
    return doc


def diamond(root: Path, fail: str = "", sleep: str = SLEEP) -> Path:
    """base -> left, right -> join -> tail, and solo on its own: 6 images."""
    busybox_rootfs(root / "base" / "rootfs")
    busybox_rootfs(root / "solo" / "rootfs")
    docs = [image("base"), image("left", ("base",)), image("right", ("base",)),
            image("join", ("left", "right")), image("tail", ("join",)), image("solo")]
    (root / "werf.yaml").write_text(
        "---\n".join(["configVersion: 1\nproject: diamond\n", *docs]))
    files = {
        "base": 'FROM scratch\nCOPY rootfs/ /\nRUN ["/bin/busybox", "--install", "-s", '
                '"/bin"]\n',
        "left": f"ARG BASE_IMAGE\nFROM $BASE_IMAGE\nRUN {sleep}\nRUN echo left > /left\n",
        "right": f"ARG BASE_IMAGE\nFROM $BASE_IMAGE\nRUN {sleep}\nRUN echo right > /right\n",
        "join": "ARG LEFT_IMAGE\nARG RIGHT_IMAGE\nFROM $RIGHT_IMAGE AS r\nFROM $LEFT_IMAGE\n"
                "COPY --from=r /right /right\nRUN cat /left /right > /joined\n",
        "tail": "ARG JOIN_IMAGE\nFROM $JOIN_IMAGE\nRUN cp /joined /tail\n",
        "solo": f"FROM scratch\nCOPY rootfs/ /\nRUN {sleep}\n",
    }
    for name, text in files.items():
        if name == fail:
            text += 'RUN ["/bin/busybox", "false"]\n'
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "Dockerfile").write_text(text)
    return root


def events(err: str) -> dict[str, tuple[int, int]]:
    """Per image: the line of its first build step and of its 'built' line."""
    lines = err.splitlines()
    out: dict[str, tuple[int, int]] = {}
    for name in ("base", "left", "right", "join", "tail", "solo"):
        first = next(i for i, x in enumerate(lines) if x.startswith(f"[{name}] ")
                     and "STEP 1/" in x)
        built = next(i for i, x in enumerate(lines) if x.startswith(f"[{name}] built "))
        out[name] = (first, built)
    return out


EDGES = [("base", "left"), ("base", "right"), ("left", "join"), ("right", "join"),
         ("join", "tail")]
LINE_RE = re.compile(r"^(\[(base|left|right|join|tail|solo)\] .*|mode native-\S+: .*|"
                     r"storage: .*|warning: .*|notice: .*|"
                     r"(IMAGE|base|left|right|join|tail|solo) +.*)$")


def test_diamond_builds_in_parallel_in_dependency_order(root_builder: Builder,
                                                        tmp_path: Path) -> None:
    project = diamond(tmp_path / "p")
    result = root_builder.build(project, *CHROOT)
    assert {n: s for n, (_, s) in outcome(result.out).items()} == {
        n: "built" for n in ("base", "left", "right", "join", "tail", "solo")}
    ev = events(result.err)
    for dep, user in EDGES:
        assert ev[dep][1] < ev[user][0], f"{user} started before {dep} was built"
    # independent images overlap: left and right build at the same time, and solo with base
    assert ev["left"][0] < ev["right"][1] and ev["right"][0] < ev["left"][1]
    assert ev["solo"][0] < ev["base"][1] or ev["base"][0] < ev["solo"][1]
    # plain output: whole lines, each one prefixed with its image or a known global line
    for line in result.err.splitlines():
        assert LINE_RE.match(line), line
        assert not re.search(r"\S\[(base|left|right|join|tail|solo)\] ", line), line
    # the summary table names every image with its result
    table = [x for x in result.err.splitlines() if x.startswith(("IMAGE ", "join "))]
    assert table[0].split() == ["IMAGE", "REFERENCE", "RESULT", "TIME", "SIZE"]
    assert table[1].split()[2] == "built"
    again = root_builder.build(project, *CHROOT)
    assert {s for _, s in outcome(again.out).values()} == {"reused"}
    joined = root_builder.run_in_image(outcome(result.out)["tail"][0], "cat", "/tail",
                                       driver="vfs")
    assert joined == "left\nright\n"


def test_no_parallel_builds_one_at_a_time(root_builder: Builder, tmp_path: Path) -> None:
    project = diamond(tmp_path / "p")
    result = root_builder.build(project, *CHROOT, "--no-parallel")
    spans = sorted(events(result.err).values())
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end < start  # each image starts after the previous one was built


def test_a_failure_stops_its_dependents_only(root_builder: Builder, tmp_path: Path) -> None:
    project = diamond(tmp_path / "p", fail="left")
    result = root_builder.build(project, *CHROOT, check=False)
    assert result.code == 1
    states = {n: s for n, (_, s) in outcome(result.out).items()}
    assert states == {"base": "built", "right": "built", "solo": "built"}
    assert "error: image 'left' failed to build: " in result.err
    assert "; skipped, because what they need failed: join, tail\n" in result.err
    table = {x.split()[0]: x.split()[2] for x in result.err.splitlines()
             if re.match(r"^(left|join|tail) +- ", x)}
    assert table == {"left": "FAILED", "join": "skipped", "tail": "skipped"}
    assert "Traceback" not in result.err
    assert root_builder.containers("vfs") == ""


def test_quiet_prints_only_warnings_and_references(root_builder: Builder,
                                                   tmp_path: Path) -> None:
    project = diamond(tmp_path / "p")
    result = root_builder.build(project, *CHROOT, "--quiet")
    assert result.err.splitlines() == [x for x in result.err.splitlines()
                                       if x.startswith("warning: vfs copies every layer")]
    assert len(result.err.splitlines()) == 1
    assert len(outcome(result.out)) == 6


def test_live_view_on_a_terminal(root_builder: Builder, tmp_path: Path) -> None:
    """Under a pseudo-terminal the default is a live table; NO_COLOR removes colours."""
    project = diamond(tmp_path / "p")
    argv = root_builder.argv("build", "--storage-root", str(root_builder.storage_root),
                             "--buildah-mode", "native-chroot", "--storage-driver", "vfs")
    env = {**os.environ, **root_builder.env, "TERM": "xterm", "COLUMNS": "160"}
    cmd = " ".join(f"'{a}'" for a in argv)
    colour = subprocess.run(["script", "-qfec", cmd, "/dev/null"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300)
    assert colour.returncode == 0, colour.stdout
    assert "\x1b[" in colour.stdout  # cursor movement of the live view
    assert re.search(r"\x1b\[[0-9;]*3\dm", colour.stdout)  # and colours
    for name in ("base", "left", "right", "join", "tail", "solo"):
        assert re.search(rf"{name} +.*(built|reused)", colour.stdout), name
    plain = subprocess.run(["script", "-qfec", cmd, "/dev/null"], cwd=project,
                           env={**env, "NO_COLOR": "1"}, capture_output=True, text=True,
                           timeout=300)
    assert plain.returncode == 0
    assert not re.search(r"\x1b\[[0-9;]*3\dm", plain.stdout)


def start(builder: Builder, project: Path, *args: str,
          env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    argv = builder.argv("build", "--storage-root", str(builder.storage_root), *CHROOT, *args)
    return subprocess.Popen(argv, cwd=project, env={**os.environ, **builder.env, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(proc: subprocess.Popen[str], marker: str, timeout: float = 120) -> list[str]:
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line.rstrip("\n"))
        if marker in line:
            return seen
    raise AssertionError(f"{marker!r} never came:\n" + "\n".join(seen))


LONG = '["/bin/busybox", "sleep", "30"]'


@pytest.mark.parametrize(("marker", "sig", "code"), [
    pytest.param("[left] STEP 2/", signal.SIGINT, 130, id="sigint-during-run"),
    pytest.param("[base] STEP 1/", signal.SIGTERM, 143, id="sigterm-while-others-wait"),
    pytest.param("[solo] STEP 3/", signal.SIGINT, 130, id="sigint-during-independent"),
])
def test_interrupt_leaves_nothing_behind(root_builder: Builder, tmp_path: Path, marker: str,
                                         sig: int, code: int) -> None:
    project = diamond(tmp_path / "p", sleep=LONG)
    # a container that was there before the build is not the build's to remove
    root_builder.buildah("from", "--name", "bystander", "scratch", driver="vfs")
    bystander = root_builder.containers("vfs")
    assert bystander
    tmp = tmp_path / "tmp"  # where Buildah's temporary files go (TMPDIR)
    tmp.mkdir()
    proc = start(root_builder, project, env={"TMPDIR": str(tmp)})
    wait_for(proc, marker)
    assert {p.name[:11] for p in tmp.iterdir()} == {"dockwright-"}  # the build's own only
    started = time.monotonic()
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert time.monotonic() - started < 20  # the 30 s RUN steps were stopped
    assert "error: interrupted by " in err and "Traceback" not in err
    assert root_builder.containers("vfs") == bystander
    assert list(tmp.iterdir()) == []  # no run bundle or blob copy of a stopped Buildah left
    root_builder.buildah("rm", "bystander", driver="vfs")
    tags = root_builder.stage_tags("diamond", "vfs")
    unfinished = {"left", "right", "join", "tail", "solo"}
    assert len(tags) <= 6 - len(unfinished)  # at most base was finished and tagged
    # the next build completes (with short RUN steps)
    diamond(project, sleep=SLEEP)
    done = root_builder.build(project, *CHROOT)
    assert len(outcome(done.out)) == 6


def test_second_ctrl_c_ends_at_once(root_builder: Builder, tmp_path: Path) -> None:
    project = diamond(tmp_path / "p", sleep=LONG)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = start(root_builder, project, env={"TMPDIR": str(tmp)})
    wait_for(proc, "[left] STEP 2/")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    proc.communicate(timeout=30)
    assert proc.returncode in (130, 2, -2)
    assert time.monotonic() - started < 10
    assert list(tmp.iterdir()) == []  # even then
    # whatever the first signal did not finish, the next build cleans up and completes
    diamond(project, sleep=SLEEP)
    time.sleep(1)
    assert len(outcome(root_builder.build(project, *CHROOT).out)) == 6


def test_rootless_interrupt_leaves_nothing_behind(user_builder: Builder) -> None:
    """As a user with a login session's XDG_RUNTIME_DIR: the run bundle a stopped Buildah
    leaves has a directory its owner cannot list (mode 0100); the build's temporary
    directory still goes."""
    work = user_builder.storage_root.parent
    project = give_to(user_builder.user, diamond(work / "p", sleep=LONG))
    tmp, runtime = work / "tmp", work / "run"
    for d in (tmp, runtime):
        d.mkdir(mode=0o700)
        give_to(user_builder.user, d)
    user_builder.env.update(TMPDIR=str(tmp), XDG_RUNTIME_DIR=str(runtime))
    proc = start(user_builder, project, "--buildah-mode", "native-rootless")
    wait_for(proc, "[left] STEP 2/")
    time.sleep(1)  # the RUN step's container is up
    assert any(tmp.iterdir())
    # to dockwright itself, under runuser (which would turn a signal into its own SIGTERM)
    (child,) = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True,
                              check=True).stdout.split()
    os.kill(int(child), signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert user_builder.containers("vfs") == ""
    assert list(tmp.iterdir()) == []


def test_remove_tree_as_a_user(rootless_user: str, shared_site: Path) -> None:
    """What a killed Buildah leaves can hold a directory of mode 0100, which its owner cannot
    list: remove_tree still removes it (plain rmtree would not, unless root)."""
    work = shared_site.parent / f"rm-{os.getpid()}"
    work.mkdir(mode=0o755)
    give_to(rootless_user, work)
    script = ("import os, shutil, sys; from dockwright.engine.buildah import remove_tree;"
              "d = sys.argv[1] + '/bundle'; os.makedirs(d + '/mnt/rootfs');"
              "open(d + '/mnt/rootfs/f', 'w').close(); os.chmod(d + '/mnt', 0o100);"
              "shutil.rmtree(d, ignore_errors=True); print(os.path.exists(d));"
              "remove_tree(d); print(os.path.exists(d))")
    out = subprocess.run(["runuser", "-u", rootless_user, "--", "env", "-i",
                          f"PYTHONPATH={shared_site}", "/usr/bin/python3", "-c", script,
                          str(work)], capture_output=True, text=True, check=True).stdout
    shutil.rmtree(work)
    assert out.split() == ["True", "False"]  # rmtree left it; remove_tree did not


def test_images_of_one_digest_build_once_in_parallel(root_builder: Builder,
                                                     tmp_path: Path) -> None:
    """image: [a, b] (and identical images a template makes) have one digest: one builds, the
    others wait for it and reuse its stage, so every one has the same reference, now and on
    the next build."""
    root = tmp_path / "twins"
    busybox_rootfs(root / "rootfs")
    (root / "Dockerfile").write_text(f"FROM scratch\nCOPY rootfs/ /\nRUN {SLEEP}\n")
    (root / "werf.yaml").write_text(
        "configVersion: 1\nproject: twins\n---\nimage: [a, b]\ndockerfile: Dockerfile\n"
        '{{ range list "c" "d" }}---\nimage: {{ . }}\ndockerfile: Dockerfile\n{{ end }}')
    first = root_builder.build(root, *CHROOT, "--parallel-tasks-limit", "4")
    built = outcome(first.out)
    assert sorted(state for _, state in built.values()) == ["built", "reused", "reused",
                                                             "reused"]
    assert len({ref for ref, _ in built.values()}) == 1
    assert first.err.count("has the same digest: its stage is reused") == 3
    again = outcome(root_builder.build(root, *CHROOT).out)
    assert again == {name: (ref, "reused") for name, (ref, _) in built.items()}
