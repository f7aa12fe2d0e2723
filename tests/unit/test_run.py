"""The process gateway: timeouts and the lifetime of children (real processes, no mocks)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from dockwright import run


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_streamed_child_is_killed_at_its_timeout() -> None:
    lines: list[str] = []
    started = time.monotonic()
    result = run.run(["sh", "-c", "echo started; exec sleep 30"], on_line=lines.append,
                     timeout=0.5, check=False)
    assert time.monotonic() - started < 5
    assert lines == ["started"]
    assert result.returncode == -9
    assert result.stderr.endswith("sh: timed out after 0.5 s")


def test_a_captured_child_is_killed_at_its_timeout() -> None:
    result = run.run(["sh", "-c", "exec sleep 30"], timeout=0.3, check=False)
    assert result.returncode == -9 and "timed out after 0.3 s" in result.stderr


def test_an_exception_in_a_streamed_run_ends_and_reaps_the_child() -> None:
    pids: list[int] = []

    def boom(line: str) -> None:
        pids.append(int(line))
        raise RuntimeError("the caller failed")

    with pytest.raises(RuntimeError):
        run.run(["sh", "-c", "echo $$; exec sleep 30"], on_line=boom)
    assert_reaped(pids)


def test_an_interrupt_while_waiting_ends_and_reaps_the_child(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pids: list[int] = []

    class Interrupted(subprocess.Popen[str]):
        def communicate(self, *args: object, **kwargs: object) -> tuple[str, str]:
            pids.append(self.pid)
            raise KeyboardInterrupt

    monkeypatch.setattr(subprocess, "Popen", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        run.run(["sleep", "30"])
    assert_reaped(pids)


def assert_reaped(pids: list[int]) -> None:
    assert len(pids) == 1
    assert not alive(pids[0])  # terminated and waited for: not even a zombie
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)
    assert run.stop_children() == 0


def test_a_forked_helper_sends_its_bytes_and_is_waited_for() -> None:
    helper = run.fork_call(lambda: b"x" * 3_000_000)  # more than a pipe holds
    assert helper is not None
    assert helper.result(timeout=10) == b"x" * 3_000_000
    assert not alive(helper.pid)
    assert run.stop_children() == 0


def test_a_forked_helper_that_hangs_is_killed_at_the_timeout() -> None:
    helper = run.fork_call(lambda: time.sleep(30) or b"late")  # type: ignore[func-returns-value]
    assert helper is not None
    started = time.monotonic()
    assert helper.result(timeout=0.3) is None
    assert time.monotonic() - started < 3
    assert not alive(helper.pid)


def test_a_forked_helper_that_fails_gives_nothing() -> None:
    def fail() -> bytes:
        raise OSError("walk failed")

    helper = run.fork_call(fail)
    assert helper is not None
    assert helper.result(timeout=10) is None
    assert not alive(helper.pid)


def test_a_cancelled_helper_is_reaped() -> None:
    helper = run.fork_call(lambda: time.sleep(30) or b"")  # type: ignore[func-returns-value]
    assert helper is not None
    assert run.stop_children() == 1  # a running helper counts as a child
    helper.cancel()
    assert not alive(helper.pid)
    assert run.stop_children() == 0
