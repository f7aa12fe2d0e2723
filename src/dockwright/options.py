"""werf's environment variables, read once and checked like flags.

A flag wins over its variable. A bad value of either is one ``UsageError`` naming where the
value came from (exit 2), never a crash or a silent default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dockwright.errors import UsageError

TRUE = ("1", "true", "yes", "on", "t")
FALSE = ("0", "false", "no", "off", "f")
BOOLEANS = ("WERF_CONTAINERIZED", "WERF_LOOSE_GITERMINISM", "WERF_PARALLEL",
            "WERF_REQUIRE_BUILT_IMAGES", "WERF_SAVE_BUILD_REPORT")
DEFAULT_TASKS_LIMIT = 5


def env_bool(env: Mapping[str, str], name: str) -> bool | None:
    """A boolean variable: 1/true/yes/on, 0/false/no/off, or None when unset or empty."""
    value = env.get(name, "").strip().lower()
    if not value:
        return None
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise UsageError(f"{name}={env[name]!r} is not a boolean",
                     f"set {name} to 1 or 0 (or true/false), or unset it")


def check_env(env: Mapping[str, str]) -> None:
    """Refuse a bad value of any boolean werf variable dockwright reads, before any work."""
    for name in BOOLEANS:
        env_bool(env, name)
    if env.get("WERF_PARALLEL_TASKS_LIMIT", "").strip():
        tasks_limit(None, env)


def tasks_limit(flag: int | None, env: Mapping[str, str]) -> int:
    """At most this many images at once; 0 means no limit (werf's -1)."""
    name = "WERF_PARALLEL_TASKS_LIMIT"
    if flag is not None:
        value, source = flag, f"--parallel-tasks-limit {flag}"
    elif env.get(name, "").strip():
        raw = env[name].strip()
        try:
            value = int(raw, 10)
        except ValueError:
            raise UsageError(f"{name}={env[name]!r} is not a number",
                             f"set {name} to a number of images at once (-1: no limit), "
                             "or unset it for the default 5") from None
        source = f"{name}={raw}"
    else:
        return DEFAULT_TASKS_LIMIT
    if value == -1:
        return 0
    if value < 1:
        raise UsageError(f"{source}: the limit must be at least 1, or -1 for no limit",
                         "the default is 5")
    return value


@dataclass(frozen=True)
class RunOptions:
    """How a build runs and what it writes, after flags and variables."""

    parallel: bool
    tasks_limit: int  # 0: no limit
    save_report: bool
    report_path: Path


def run_options(env: Mapping[str, str], *, parallel: bool | None, tasks: int | None,
                save_report: bool, report_path: Path | None) -> RunOptions:
    def first(flag: bool | None, name: str, default: bool) -> bool:
        if flag is not None:
            return flag
        value = env_bool(env, name)
        return default if value is None else value

    path = report_path or Path(env.get("WERF_BUILD_REPORT_PATH") or ".werf-build-report.json")
    return RunOptions(
        parallel=first(parallel, "WERF_PARALLEL", True),
        tasks_limit=tasks_limit(tasks, env),
        save_report=first(save_report or bool(report_path) or None, "WERF_SAVE_BUILD_REPORT",
                          False),
        report_path=path,
    )
