"""The only module that starts processes (and the one fork of a helper, ``fork_call``).

Every argv is logged under ``--debug``; a missing program and a killing signal become
``CommandFailed`` with a readable message instead of a raw exit status.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from dockwright.errors import CommandFailed

log = logging.getLogger("dockwright")

REAP_SECONDS = 3.0  # how long a child ended by an exception may take to stop after SIGTERM
_children: set[subprocess.Popen[str]] = set()
_forks: set[int] = set()  # pids of fork_call helpers still running
_children_lock = threading.Lock()


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def which(program: str, path: str | None = None) -> str | None:
    return shutil.which(program, path=path)


def last_line(text: str, default: str = "") -> str:
    """The last non-blank line of a command's output, stripped: what an error message quotes."""
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()
    return default


def describe(argv: Sequence[str]) -> str:
    return shlex.join(argv)


def _failure(argv: Sequence[str], returncode: int, stderr: str) -> CommandFailed:
    name = os.path.basename(argv[0])
    if returncode == 127:
        return CommandFailed(f"{name} not found", f"install {name} or put it on PATH",
                             returncode=returncode, stderr=stderr)
    if returncode < 0:
        try:
            sig = signal.Signals(-returncode).name
        except ValueError:
            sig = f"signal {-returncode}"
        return CommandFailed(f"{name} was killed by {sig}", "", returncode=returncode,
                             stderr=stderr)
    last = last_line(stderr)
    detail = f": {last}" if last else ""
    return CommandFailed(f"{name} failed with exit code {returncode}{detail}",
                         f"the command was: {describe(argv)}", returncode=returncode,
                         stderr=stderr)


def failure(result: Result) -> CommandFailed:
    """The error of a failed ``result`` (run with ``check=False``), as ``check`` raises it."""
    return _failure(result.argv, result.returncode, result.stderr)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    input: str | None = None,
    timeout: float | None = None,
    check: bool = True,
    on_line: Callable[[str], None] | None = None,
) -> Result:
    """Run ``argv`` and wait for it.

    Without ``on_line`` stdout and stderr are captured separately. With ``on_line`` both go,
    merged and line by line, to the callback as they come (a build log), and the last lines
    are kept as ``stderr`` for the error message.
    """
    argv = tuple(argv)
    log.debug("run: %s", describe(argv))
    full_env = dict(os.environ if env is None else env)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if on_line else subprocess.PIPE,
            env=full_env,
            cwd=cwd,
            text=True,
            errors="replace",
            start_new_session=False,
        )
    except FileNotFoundError:
        result = Result(argv, 127, "", f"{argv[0]}: not found")
        if check:
            raise _failure(argv, 127, result.stderr) from None
        return result
    with _children_lock:
        _children.add(proc)
    try:
        if on_line is None:
            try:
                out, err = proc.communicate(input, timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                err += f"\n{argv[0]}: timed out after {timeout} s"
        else:
            out, err = "", _stream(proc, argv[0], input, timeout, on_line)
    except BaseException:  # the caller never sees this child again: end it and wait for it
        _reap(proc)
        raise
    finally:
        with _children_lock:
            _children.discard(proc)
    result = Result(argv, proc.returncode, out, err)
    if result.returncode != 0:
        log.debug("exit %d: %s", result.returncode, err.strip()[-2000:])
        if check:
            raise _failure(argv, result.returncode, err)
    return result


def _stream(proc: subprocess.Popen[str], program: str, input: str | None,
            timeout: float | None, on_line: Callable[[str], None]) -> str:
    """Feed ``on_line`` every line of the merged output; returns the last lines. At
    ``timeout`` the child is killed (a timer: reading a pipe cannot time out)."""
    tail: deque[str] = deque(maxlen=40)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        with contextlib.suppress(OSError):
            proc.kill()

    timer = threading.Timer(timeout, expire) if timeout is not None else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        assert proc.stdout is not None
        if input is not None and proc.stdin is not None:
            proc.stdin.write(input)
            proc.stdin.close()
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            tail.append(line)
            on_line(line)
        proc.wait()
    finally:
        if timer:
            timer.cancel()
    if expired.is_set():
        tail.append(f"{program}: timed out after {timeout} s")
    return "\n".join(tail)


def _reap(proc: subprocess.Popen[str]) -> None:
    """Terminate ``proc`` and wait for it: SIGTERM, then SIGKILL after ``REAP_SECONDS``."""
    try:
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.terminate()
            proc.wait(timeout=REAP_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait()


def stop_children(sig: int = signal.SIGTERM) -> int:
    """Send ``sig`` to every child still running; returns how many there were."""
    with _children_lock:
        procs = list(_children)
        forks = list(_forks)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
    for pid in forks:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    return len(procs) + len(forks)


class Forked:
    """A forked helper computing bytes for this process (``fork_call``)."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid = pid
        self.pipe = pipe
        self._done = False

    def result(self, timeout: float) -> bytes | None:
        """The helper's bytes, or None when it failed or did not finish within ``timeout``
        seconds (it is killed then). Either way the helper has been waited for."""
        deadline = time.monotonic() + timeout
        chunks: list[bytes] = []
        complete = False
        try:
            while (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([self.pipe], [], [], left)
                if not ready:
                    break
                chunk = os.read(self.pipe, 1 << 20)
                if not chunk:
                    complete = True
                    break
                chunks.append(chunk)
            status = self._reap(deadline if complete else None)
        except BaseException:
            self.cancel()
            raise
        if not complete:
            log.debug("fork %d: no result within %.1f s; killed", self.pid, timeout)
        return b"".join(chunks) if complete and status == 0 else None

    def cancel(self) -> None:
        """Kill the helper and wait for it (a caller that no longer wants its result)."""
        self._reap(None)

    def _reap(self, deadline: float | None) -> int:
        """Wait until ``deadline`` for the helper to exit, then kill it; returns its status."""
        if self._done:
            return -1
        try:
            while deadline is not None and time.monotonic() < deadline:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    return status
                time.sleep(0.001)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            return -1
        finally:
            self._done = True
            os.close(self.pipe)
            with _children_lock:
                _forks.discard(self.pid)


def fork_call(work: Callable[[], bytes]) -> Forked | None:
    """Run ``work`` in a forked copy of this process, for CPU-bound work that must start
    faster than a new interpreter could (a context walk). The copy runs ``work`` only,
    sends its bytes through a pipe and leaves with ``os._exit``: nothing of the parent's
    (atexit, threads, buffers) runs there. A copy made while another thread held a lock it
    needs would hang: ``Forked.result``'s timeout is the answer. None when fork fails."""
    try:
        read, write = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return None
    if pid == 0:  # the copy
        code = 1
        try:
            os.close(read)
            data = memoryview(work())
            while data:
                data = data[os.write(write, data):]
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    log.debug("fork %d: helper", pid)
    with _children_lock:
        _forks.add(pid)
    return Forked(pid, read)


def spawn_detached(argv: Sequence[str], env: Mapping[str, str], log_path: str) -> bool:
    """Start ``argv`` in a session of its own, its output appended to ``log_path``, and do
    not wait for it: it outlives this process (the host cleanup after a build). False when
    it cannot be started."""
    log.debug("spawn %s (detached, output to %s)", describe(argv), log_path)
    try:
        with open(log_path, "ab") as out:
            subprocess.Popen(list(argv), env=dict(env), stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    except OSError:
        return False
    return True
