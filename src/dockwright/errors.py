"""One exception family. Each error says what went wrong and what to do (the hint).

Only ``cli.main`` prints these and turns them into exit codes.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """Documented exit codes (README, "Exit codes")."""

    OK = 0
    BUILD_FAILED = 1  # Buildah failed while building an image
    BAD_INPUT = 2  # command line, werf.yaml or Dockerfile is wrong
    HOST_NOT_READY = 3  # the chosen mode cannot work on this host (see `dockwright doctor`)
    REGISTRY = 4  # a registry could not be reached or refused an operation
    INTERNAL = 70  # a bug in dockwright (EX_SOFTWARE); --debug shows the traceback
    INTERRUPTED = 130  # SIGINT
    BROKEN_PIPE = 141  # stdout's reader went away (as a program killed by SIGPIPE)
    TERMINATED = 143  # SIGTERM


class DockwrightError(Exception):
    exit_code: Exit = Exit.BUILD_FAILED

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(DockwrightError):
    exit_code = Exit.BAD_INPUT


class ConfigError(DockwrightError):
    """werf.yaml is wrong. ``where`` is ``file:line`` when known."""

    exit_code = Exit.BAD_INPUT

    def __init__(self, message: str, hint: str = "", where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message, hint)


class DockerfileError(ConfigError):
    pass


class SourceError(DockwrightError):
    """What the build reads cannot come from git as asked: a file not committed, a
    repository that cannot give the commit (unborn HEAD, shallow clone, damaged objects)."""

    exit_code = Exit.BAD_INPUT


class HostError(DockwrightError):
    exit_code = Exit.HOST_NOT_READY


class StorageBusy(DockwrightError):
    """The store cannot be cleaned now: another process holds it locked, or its records
    cannot be read. Nothing was removed."""

    exit_code = Exit.HOST_NOT_READY


class CommandFailed(DockwrightError):
    """A program run through ``run.run`` failed."""

    exit_code = Exit.BUILD_FAILED

    def __init__(self, message: str, hint: str = "", *, returncode: int = 1,
                 stderr: str = "") -> None:
        super().__init__(message, hint)
        self.returncode = returncode
        self.stderr = stderr


class BuildFailed(DockwrightError):
    exit_code = Exit.BUILD_FAILED


class Interrupted(DockwrightError):
    exit_code = Exit.INTERRUPTED

    def __init__(self, message: str, hint: str = "", code: Exit = Exit.INTERRUPTED) -> None:
        super().__init__(message, hint)
        self.exit_code = code


class ReportError(DockwrightError):
    """The build report could not be written (the images are built)."""

    exit_code = Exit.BAD_INPUT


class RegistryError(DockwrightError):
    """A registry could not be reached or refused an operation."""

    exit_code = Exit.REGISTRY


class StageVanished(RegistryError):
    """A stage tag listed a moment ago is gone: deleted by a cleanup since."""


class StageMissing(Exception):
    """With --require-built-images: the stage for this digest exists nowhere."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like SIGINT's KeyboardInterrupt."""
