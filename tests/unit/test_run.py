"""The process gateway: timeouts and the lifetime of children (real processes, no mocks)."""

from __future__ import annotations

import os
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


@pytest.mark.parametrize("streamed", [True, False])
def test_an_exception_ends_and_reaps_the_child(streamed: bool) -> None:
    pids: list[int] = []

    def boom(line: str) -> None:
        pids.append(int(line))
        raise RuntimeError("the caller failed")

    if streamed:
        with pytest.raises(RuntimeError):
            run.run(["sh", "-c", "echo $$; exec sleep 30"], on_line=boom)
    else:
        def interrupt(*args: object, **kwargs: object) -> tuple[str, str]:
            raise KeyboardInterrupt

        proc_pid: list[int] = []
        real = run.subprocess.Popen

        class Popen(real):  # type: ignore[misc, valid-type]
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, **kwargs)
                proc_pid.append(self.pid)

            communicate = interrupt

        run.subprocess.Popen = Popen  # type: ignore[misc]
        try:
            with pytest.raises(KeyboardInterrupt):
                run.run(["sleep", "30"])
        finally:
            run.subprocess.Popen = real  # type: ignore[misc]
        pids = proc_pid
    assert len(pids) == 1
    assert not alive(pids[0])  # terminated and waited for: not even a zombie
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)
    assert run.stop_children() == 0
