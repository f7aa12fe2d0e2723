"""A command's options: flags and werf's environment variables, read once, checked like
flags, into frozen objects (``Options`` for a build, ``Asked`` for the host, which the doctor
reads the same way).

A flag wins over its variable. A bad value of either is one ``UsageError`` naming where the
value came from (exit 2), never a crash or a silent default, and before any work.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from dockwright import platforms
from dockwright.config.render import RenderOptions
from dockwright.errors import ConfigError, UsageError
from dockwright.host.resolve import Asked

TRUE = ("1", "true", "yes", "on", "t")
FALSE = ("0", "false", "no", "off", "f")
BOOLEANS = ("WERF_CONTAINERIZED", "WERF_DEV", "WERF_DISABLE_AUTO_HOST_CLEANUP", "WERF_DRY_RUN",
            "WERF_LOOSE_GITERMINISM", "WERF_PARALLEL", "WERF_REQUIRE_BUILT_IMAGES",
            "WERF_SAVE_BUILD_REPORT")
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


def host_options(args: argparse.Namespace, env: Mapping[str, str]) -> Asked:
    """Mode, storage driver, storage root and network, as ``build`` and ``doctor`` read
    them."""
    check_env(env)
    asked = Asked.parse(args.buildah_mode or env.get("WERF_BUILDAH_MODE"),
                        args.storage_driver or env.get("WERF_BUILDAH_STORAGE_DRIVER"),
                        args.storage_root or env.get("DOCKWRIGHT_STORAGE_ROOT"),
                        args.network or env.get("DOCKWRIGHT_NETWORK"))
    wanted = _platforms(getattr(args, "platform", None) or [], env)
    return replace(asked, platforms=wanted) if wanted else asked


def render_options(args: argparse.Namespace, env: Mapping[str, str]) -> RenderOptions:
    """How to render werf.yaml: flags first, then werf's variables."""
    loose = args.loose_giterminism
    if loose is None:
        loose = bool(env_bool(env, "WERF_LOOSE_GITERMINISM"))
    return RenderOptions(config=args.config or env.get("WERF_CONFIG") or None,
                         templates_dir=args.config_templates_dir
                         or env.get("WERF_CONFIG_TEMPLATES_DIR") or None,
                         env=args.env if args.env is not None else env.get("WERF_ENV", ""),
                         loose_giterminism=loose,
                         giterminism_config=args.giterminism_config
                         or env.get("WERF_GITERMINISM_CONFIG") or None)


REPO_RE = re.compile(r"^[a-z0-9.-]+(?::[0-9]+)?(?:/[a-z0-9._/-]+)?$|^\[[0-9a-f:]+\]:[0-9]+/"
                     r"[a-z0-9._/-]+$")


def _repository(flag: str | None, env: Mapping[str, str], name: str, option: str
                ) -> str | None:
    value = flag or env.get(name)
    if not value:
        return None
    if "@" in value or not REPO_RE.match(value) or "/" not in value:
        from dockwright.storage.registry import redact

        raise UsageError(f"{option if flag else name} {redact(value)} is not a registry "
                         "repository",
                         "give HOST[:PORT]/PATH in lowercase, for example "
                         "registry.example.com/team/project; credentials belong in "
                         "the auth file (dockwright login), not in the name")
    return value


def _insecure(flags: list[str], env: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(flags) + tuple(h.strip() for h in env.get("DOCKWRIGHT_INSECURE_REGISTRIES",
                                                             "").split(",") if h.strip())


@dataclass(frozen=True)
class Options:
    """What ``dockwright build`` was asked, after flags and variables."""

    host: Asked
    render: RenderOptions
    run: RunOptions
    repo: str | None = None  # --repo / WERF_REPO
    final_repo: str | None = None  # --final-repo / WERF_FINAL_REPO
    insecure_registries: tuple[str, ...] = ()
    custom_tags: tuple[str, ...] = ()  # --add-custom-tag, WERF_ADD_CUSTOM_TAG*
    require_built: bool = False
    dev: bool = False  # --dev / WERF_DEV: the working tree, not the commit
    platforms: tuple[str, ...] = ()  # --platform / WERF_PLATFORM, over werf.yaml's
    cleanup: HostCleanupOptions | None = None  # the host cleanup after the build


def build_options(args: argparse.Namespace, env: Mapping[str, str]) -> Options:
    return Options(
        host=host_options(args, env),
        render=render_options(args, env),
        run=run_options(env, parallel=args.parallel, tasks=args.parallel_tasks_limit,
                        save_report=args.save_build_report,
                        report_path=args.build_report_path),
        repo=_repository(args.repo, env, "WERF_REPO", "--repo"),
        final_repo=_repository(args.final_repo, env, "WERF_FINAL_REPO", "--final-repo"),
        insecure_registries=_insecure(args.insecure_registry, env),
        custom_tags=tuple(args.add_custom_tag) + tuple(
            v for k, v in sorted(env.items()) if k.startswith("WERF_ADD_CUSTOM_TAG") and v),
        require_built=args.require_built_images or bool(
            env_bool(env, "WERF_REQUIRE_BUILT_IMAGES")),
        dev=args.dev if args.dev is not None else bool(env_bool(env, "WERF_DEV")),
        cleanup=host_cleanup_options(args, env),
        platforms=_platforms(args.platform, env),
    )


def _platforms(flags: list[str], env: Mapping[str, str]) -> tuple[str, ...]:
    """--platform (repeatable, each a comma list), else WERF_PLATFORM; bad input is a
    ``UsageError``, before anything is read."""
    values, source = (flags, "--platform") if flags else \
        ([env.get("WERF_PLATFORM", "")], "WERF_PLATFORM")
    try:
        found = platforms.parse_list(values)
    except ConfigError as exc:
        raise UsageError(f"{source}: {exc.message}", exc.hint) from None
    if flags and not found:
        raise UsageError(f"--platform {','.join(flags)!r} names no platform",
                         "give OS/ARCH[/VARIANT], e.g. --platform linux/amd64,linux/arm64")
    return found


def _number(flag: str | None, env: Mapping[str, str], name: str, option: str,
            default: float, low: float, high: float | None, what: str) -> float:
    """A number from ``option`` or its variable ``name``, within [low, high]."""
    if flag is not None:
        raw, source = flag, f"{option} {flag}"
    elif env.get(name, "").strip():
        raw, source = env[name].strip(), f"{name}={env[name].strip()}"
    else:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{source}: {raw!r} is not a number",
                         f"give {what}, e.g. {option} {default:g}") from None
    if value != value or value < low or (high is not None and value > high):  # NaN too
        limit = f"from {low:g} to {high:g}" if high is not None else f"at least {low:g}"
        raise UsageError(f"{source}: must be {limit}", f"give {what}, e.g. {option} {default:g}")
    return value


def allowed_usage(flag: str | None, env: Mapping[str, str]) -> float:
    """The volume usage (percent) over which a host cleanup runs: werf's 70 by default."""
    return _number(flag, env, "WERF_ALLOWED_BACKEND_STORAGE_VOLUME_USAGE",
                   "--allowed-backend-storage-volume-usage", 70, 0, 100,
                   "a percentage of the volume from 0 to 100")


@dataclass(frozen=True)
class HostCleanupOptions:
    """``host cleanup``'s options (and those of the cleanup after a build)."""

    allowed: float  # percent of the volume: above it, a cleanup runs
    margin: float  # and goes on until usage is allowed - margin
    storage_path: Path | None  # the volume to measure (default: the store's)
    keep_hours: float
    dry_run: bool = False
    auto: bool = True  # after a build


def host_cleanup_options(args: argparse.Namespace, env: Mapping[str, str]
                         ) -> HostCleanupOptions:
    allowed = allowed_usage(args.allowed_backend_storage_volume_usage, env)
    margin = _number(args.allowed_backend_storage_volume_usage_margin, env,
                     "WERF_ALLOWED_BACKEND_STORAGE_VOLUME_USAGE_MARGIN",
                     "--allowed-backend-storage-volume-usage-margin", 5, 0, 100,
                     "a percentage of the volume from 0 to 100")
    keep = _number(getattr(args, "keep_hours", None), env, "DOCKWRIGHT_KEEP_HOURS",
                   "--keep-hours", 2, 0, None, "a number of hours")
    raw_path = args.backend_storage_path or env.get("WERF_BACKEND_STORAGE_PATH") or None
    path = Path(raw_path) if raw_path else None
    if path is not None and not path.is_dir():
        raise UsageError(f"--backend-storage-path {raw_path}: not a directory",
                         "give the directory of the store (see 'dockwright doctor'), or leave "
                         "it out to measure the store's own volume")
    disabled = getattr(args, "disable_auto_host_cleanup", None)
    if disabled is None:
        disabled = bool(env_bool(env, "WERF_DISABLE_AUTO_HOST_CLEANUP"))
    dry = getattr(args, "dry_run", False) or bool(env_bool(env, "WERF_DRY_RUN"))
    return HostCleanupOptions(allowed, margin, path, keep, dry, not disabled)


@dataclass(frozen=True)
class RepoCleanupOptions:
    """``cleanup``'s options: the registry's keep policies."""

    repo: str
    final_repo: str | None
    keep_stages: int  # per image, the newest
    keep_hours: float  # stages stored within them stay
    keep_tags: tuple[re.Pattern[str], ...]
    insecure: tuple[str, ...]
    dry_run: bool


def repo_cleanup_options(args: argparse.Namespace, env: Mapping[str, str]
                         ) -> RepoCleanupOptions:
    repo = _repository(args.repo, env, "WERF_REPO", "--repo")
    if repo is None:
        raise UsageError("cleanup needs the registry repository of the stages",
                         "give --repo REGISTRY/REPOSITORY (or set WERF_REPO)")
    final = _repository(args.final_repo, env, "WERF_FINAL_REPO", "--final-repo")
    keep = _number(args.keep_stages, env, "DOCKWRIGHT_KEEP_STAGES", "--keep-stages", 10, 0,
                   None, "a number of stages per image")
    if keep != int(keep):
        raise UsageError(f"--keep-stages {args.keep_stages or keep}: not a whole number",
                         "give a number of stages per image, e.g. --keep-stages 10")
    hours = _number(args.keep_stages_built_within_last_n_hours, env,
                    "WERF_KEEP_STAGES_BUILT_WITHIN_LAST_N_HOURS",
                    "--keep-stages-built-within-last-n-hours", 2, 0, None, "a number of hours")
    patterns = []
    for text in args.keep_tag:
        try:
            patterns.append(re.compile(text))
        except re.error as exc:
            raise UsageError(f"--keep-tag {text!r}: not a regular expression ({exc})",
                             "give a Python regular expression that tags to keep match, "
                             "e.g. --keep-tag '^v[0-9]+'") from None
    dry = args.dry_run or bool(env_bool(env, "WERF_DRY_RUN"))
    return RepoCleanupOptions(repo, final, int(keep), hours, tuple(patterns),
                              _insecure(args.insecure_registry, env), dry)
