"""Command line: ``main(argv) -> int``. Parses, calls the API, turns errors into exit codes.

The only place that prints errors and decides the exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockwright import __version__, plan, report
from dockwright.build import explain, step_lines
from dockwright.config import load_project
from dockwright.config.load import PROJECT_RE
from dockwright.config.model import Project
from dockwright.config.render import RenderOptions, render
from dockwright.digest import diff
from dockwright.engine.buildah import BuildahEngine
from dockwright.engine.store import storage_confs
from dockwright.errors import (
    BuildFailed,
    DockwrightError,
    Exit,
    SourceError,
    Terminated,
    UsageError,
)
from dockwright.host import limits
from dockwright.host.auth import auth_file, with_auth_file
from dockwright.host.probes import Prober, cache_dir
from dockwright.host.resolve import Setup, resolve
from dockwright.host.view import HostView, Identity
from dockwright.options import (
    Options,
    RunOptions,
    build_options,
    check_env,
    env_bool,
    host_cleanup_options,
    host_options,
    render_options,
    repo_cleanup_options,
)
from dockwright.progress import Live, Plain, Reporter
from dockwright.publish import complete, records
from dockwright.report import Source
from dockwright.schedule import Outcome, build_all
from dockwright.session import Publish, Session, new_session

if TYPE_CHECKING:
    from dockwright.source.commit import GitSource, Need
    from dockwright.storage.registry import RegistryStages

log = logging.getLogger("dockwright")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="log every command run and show tracebacks")
    project = argparse.ArgumentParser(add_help=False)
    project.add_argument("--dir", type=Path, default=Path("."),
                         help="project directory (default: the current one)")
    project.add_argument("--config", help="werf.yaml to use, relative to the project directory "
                         "(default: werf.yaml or werf.yml; $WERF_CONFIG)")
    project.add_argument("--config-templates-dir", metavar="DIR",
                         help="directory of the config's **/*.tmpl templates (default: .werf; "
                         "$WERF_CONFIG_TEMPLATES_DIR)")
    project.add_argument("--env", help="the environment the config sees as .Env ($WERF_ENV)")
    project.add_argument("--loose-giterminism", action="store_true", default=None,
                         help="turn giterminism's checks off: werf.yaml, templates and "
                         "Dockerfiles come from the working tree, env reads any variable "
                         "($WERF_LOOSE_GITERMINISM)")
    project.add_argument("--giterminism-config", metavar="FILE",
                         help="the giterminism file, relative to the project directory "
                         "(default: werf-giterminism.yaml; $WERF_GITERMINISM_CONFIG)")
    host = argparse.ArgumentParser(add_help=False)
    host.add_argument("--buildah-mode", help="auto, native-rootless or native-chroot "
                      "(default: $WERF_BUILDAH_MODE or auto)")
    host.add_argument("--storage-driver", help="auto, overlay or vfs "
                      "(default: $WERF_BUILDAH_STORAGE_DRIVER or auto)")
    host.add_argument("--storage-root", help="containers storage directory (default: Buildah's "
                      "place for this user; $DOCKWRIGHT_STORAGE_ROOT)")
    host.add_argument("--network", help="network of RUN steps with OCI isolation: private "
                      "(default: a network of their own), host or none; werf.yaml's 'network' "
                      "of an image wins ($DOCKWRIGHT_NETWORK)")
    host.add_argument("--no-probe-cache", action="store_true",
                      help="run the host probes again instead of using cached results")

    volume = argparse.ArgumentParser(add_help=False)  # when a host cleanup runs
    volume.add_argument("--allowed-backend-storage-volume-usage", metavar="PERCENT",
                        help="clean up dockwright's images when the store's volume is more "
                        "used than this (default 70; "
                        "$WERF_ALLOWED_BACKEND_STORAGE_VOLUME_USAGE; 0: every image the "
                        "keep rules allow)")
    volume.add_argument("--allowed-backend-storage-volume-usage-margin", metavar="PERCENT",
                        help="and go on until usage is that much under it (default 5; "
                        "$WERF_ALLOWED_BACKEND_STORAGE_VOLUME_USAGE_MARGIN)")
    volume.add_argument("--backend-storage-path", metavar="DIR",
                        help="the directory whose volume is measured (default: the store's; "
                        "$WERF_BACKEND_STORAGE_PATH)")

    parser = argparse.ArgumentParser(
        prog="dockwright", parents=[common],
        description="Build werf Dockerfile images with Buildah, without a daemon or root.")
    parser.add_argument("--version", action="version", version=f"dockwright {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    b = sub.add_parser("build", parents=[common, project, host, volume],
                       help="build the images of werf.yaml (reusing what is built)",
                       description="Build the images of werf.yaml with Buildah. An image whose "
                       "digest already has a stage in local storage is reused.")
    b.add_argument("images", nargs="*", metavar="IMAGE",
                   help="images to build, with their dependencies (default: all)")
    b.add_argument("--repo", help="registry repository for stages, as werf keeps them "
                   "(default: $WERF_REPO; without it, local storage only)")
    b.add_argument("--final-repo", help="also put final images there ($WERF_FINAL_REPO)")
    b.add_argument("--insecure-registry", action="append", default=[], metavar="HOST",
                   help="do not verify TLS for HOST (repeatable; loopback registries and "
                   "registries.conf 'insecure' entries are never verified)")
    b.add_argument("--add-custom-tag", action="append", default=[], metavar="TAG",
                   help="also tag final images with TAG; %%image%%, %%image_slug%% and "
                   "%%image_content_based_tag%% are replaced (repeatable)")
    b.add_argument("--platform", action="append", default=[], metavar="OS/ARCH[/VARIANT]",
                   help="build for these platforms, over werf.yaml's (repeatable, or a comma "
                   "list; $WERF_PLATFORM): an image with several is one manifest list")
    b.add_argument("--dev", action="store_true", default=None,
                   help="build the working tree, untracked files included (those git ignores "
                   "left out), instead of the commit ($WERF_DEV)")
    b.add_argument("--require-built-images", action="store_true",
                   help="fail, naming what is missing, instead of building "
                   "($WERF_REQUIRE_BUILT_IMAGES)")
    b.add_argument("--save-build-report", action="store_true",
                   help="write werf's build report ($WERF_SAVE_BUILD_REPORT)")
    b.add_argument("--build-report-path", type=Path,
                   help="where (default .werf-build-report.json; a path ending .env writes "
                   "the env-file form); implies --save-build-report")
    b.add_argument("--parallel", action=argparse.BooleanOptionalAction, default=None,
                   help="build independent images at the same time (default: on; "
                   "$WERF_PARALLEL)")
    b.add_argument("--parallel-tasks-limit", type=int, metavar="N",
                   help="at most N images at once, -1 for no limit (default 5; "
                   "$WERF_PARALLEL_TASKS_LIMIT)")
    b.add_argument("--log-format", choices=("auto", "plain", "live"), default="auto",
                   help="live: a table that updates (a terminal's default); plain: whole "
                   "lines prefixed with the image name (the default without a terminal)")
    b.add_argument("-q", "--quiet", action="store_true",
                   help="print only errors, warnings and the final references")
    b.add_argument("--disable-auto-host-cleanup", action="store_true", default=None,
                   help="no host cleanup after the build, even over the allowed usage "
                   "($WERF_DISABLE_AUTO_HOST_CLEANUP)")
    b.add_argument("--explain", metavar="IMAGE",
                   help="print every input of IMAGE's digest and what changed since its last "
                   "build; builds nothing")

    d = sub.add_parser("doctor", parents=[common, host],
                       help="check that this host can build rootless, and print the fixes",
                       description="Check every prerequisite of rootless Buildah builds, say "
                       "which mode, runtime and storage driver a build would use, and print "
                       "the commands that fix what is missing.")
    d.add_argument("--mode", dest="buildah_mode", help=argparse.SUPPRESS)
    d.add_argument("--json", action="store_true", help="print a JSON document (for CI gates)")
    d.add_argument("--platform", action="append", default=[], metavar="OS/ARCH[/VARIANT]",
                   help="also check that builds for these platforms can run here "
                   "(emulation; repeatable or a comma list; $WERF_PLATFORM)")
    d.add_argument("--fix", action="store_true",
                   help="print one reviewable shell script that applies every fix")
    d.add_argument("--yes", action="store_true",
                   help="with --fix, as root: apply the script and check again")

    h = sub.add_parser("host", help="clean up the local store (host cleanup, host purge)",
                       description="Remove what dockwright made in the local store.")
    host_sub = h.add_subparsers(dest="host_command", metavar="SUBCOMMAND")
    host_sub.required = True
    hc = host_sub.add_parser(
        "cleanup", parents=[common, host, volume],
        help="remove dockwright's unneeded images, least recently used first",
        description="When the store's volume is more used than allowed, remove dockwright's "
        "images, least recently used first, until it is under the allowed usage minus the "
        "margin. Kept: the latest build of each project's images, what was used within "
        "--keep-hours, what running builds use, images a user tagged; never an image "
        "dockwright did not make.")
    hc.add_argument("--keep-hours", metavar="HOURS",
                    help="keep what was used within this many hours (default 2; "
                    "$DOCKWRIGHT_KEEP_HOURS)")
    hc.add_argument("--dry-run", action="store_true",
                    help="print what would be removed, remove nothing ($WERF_DRY_RUN)")
    hp = host_sub.add_parser(
        "purge", parents=[common, host],
        help="remove everything dockwright made for a project (or for all)",
        description="Remove every image dockwright made in the store for a project, with "
        "the working containers left on them and dockwright's records of its builds.")
    hp.add_argument("--project", metavar="NAME", help="the project (werf.yaml's 'project'); "
                    "default: every project, after confirmation or with --force")
    hp.add_argument("--force", action="store_true", help="purge every project without asking")
    hp.add_argument("--dry-run", action="store_true", help="print what would be removed")

    cl = sub.add_parser(
        "cleanup", parents=[common],
        help="delete stages from a --repo that keep policies do not keep",
        description="Delete the stages and cached steps in a registry repository that no "
        "keep policy keeps: per image the newest --keep-stages, what was stored within the "
        "grace period, what the final repository, a custom tag or --keep-tag names. The "
        "registry must allow deletes.")
    cl.add_argument("--repo", help="the registry repository of the stages ($WERF_REPO)")
    cl.add_argument("--final-repo", help="its stages there are kept ($WERF_FINAL_REPO)")
    cl.add_argument("--keep-stages", metavar="N",
                    help="per image, keep the N newest stages (default 10; "
                    "$DOCKWRIGHT_KEEP_STAGES)")
    cl.add_argument("--keep-stages-built-within-last-n-hours", metavar="HOURS",
                    help="keep what was stored within HOURS (default 2; "
                    "$WERF_KEEP_STAGES_BUILT_WITHIN_LAST_N_HOURS)")
    cl.add_argument("--keep-tag", action="append", default=[], metavar="REGEX",
                    help="keep tags that REGEX matches, and their manifests (repeatable)")
    cl.add_argument("--insecure-registry", action="append", default=[], metavar="HOST",
                    help="do not verify TLS for HOST (repeatable)")
    cl.add_argument("--dry-run", action="store_true",
                    help="print what would be deleted, delete nothing ($WERF_DRY_RUN)")

    li = sub.add_parser("login", parents=[common], help="log in to a registry (werf cr login)",
                        description="Check a login with the registry and store it in the "
                        "auth file every registry call of dockwright uses (Buildah's and "
                        "skopeo's; dockwright doctor names it).")
    li.add_argument("registry", metavar="REGISTRY", help="HOST or HOST:PORT")
    li.add_argument("-u", "--username", help="the user name")
    li.add_argument("-p", "--password", help="the password or token (visible to other "
                    "users in ps: prefer --password-stdin)")
    li.add_argument("--password-stdin", action="store_true",
                    help="read the password or token from standard input")
    li.add_argument("--insecure-registry", action="store_true",
                    help="do not verify the registry's TLS certificate (loopback never is)")
    lo = sub.add_parser("logout", parents=[common], help="remove a registry login",
                        description="Remove the login for REGISTRY (or every login with "
                        "--all) from the auth file dockwright uses.")
    lo.add_argument("registry", metavar="REGISTRY", nargs="?", help="HOST or HOST:PORT")
    lo.add_argument("--all", action="store_true", help="remove every login")

    c = sub.add_parser("config", parents=[common, project], help="show the parsed project",
                       description="Load and validate werf.yaml and print what was parsed.")
    c.add_argument("--json", action="store_true", help="print JSON")
    config_sub = c.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    config_sub.add_parser("render", parents=[common, project],
                          help="print the rendered werf.yaml (templates applied), exactly "
                          "what a build reads",
                          description="Render werf.yaml's Go templates as werf does and "
                          "print the result.")
    return parser


def _buildah_version(ident: Identity) -> tuple[int, int] | None:
    """Buildah's version (a cached probe): where it keeps a user's logins depends on it."""
    from dockwright.engine.buildah import parse_version

    probed = Prober(HostView(env=dict(os.environ), identity=ident)).buildah_version()
    return parse_version(probed.detail) if probed.ok else None


def child_env() -> dict[str, str]:
    """The environment of every Buildah and skopeo call: the user's, with the auth file both
    tools use (host/auth.py) and the resource limits root can give RUN steps here
    (host/limits.py)."""
    ident = Identity.current()
    env = with_auth_file(os.environ, ident, _buildah_version(ident))
    wanted = limits.needed(HostView(env=env, identity=ident), limits.hard_limits())
    return limits.with_limits(env, wanted, cache_dir(env, ident.home))


def _host(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[HostView, Prober]:
    """The host as the checks see it (the user's environment), and the probes, which run
    Buildah with ``env`` as a build would."""
    ident = Identity.current()
    view = HostView(env=dict(os.environ), identity=ident)
    return view, Prober(HostView(env=dict(env), identity=ident),
                        use_cache=not args.no_probe_cache)


def _load(args: argparse.Namespace, env: Mapping[str, str], home: Path,
          options: RenderOptions) -> Project:
    return load_project(args.dir, env=env, cache=cache_dir(env, home) / "yaml",
                        options=options)


def cmd_build(args: argparse.Namespace) -> int:
    opts = build_options(args, os.environ)
    env = child_env()
    view, prober = _host(args, env)
    project = _load(args, os.environ, view.identity.home,  # templates see the user's env
                    opts.render)
    if not project.images and not args.images:
        print(f"nothing to build: {project.config_path.name} declares no images",
              file=sys.stderr)
        return Exit.OK
    project = plan.with_platforms(project, opts.platforms)
    chosen = plan.targets(project, plan.order(project, tuple(args.images)))
    source, notice = _open_source(opts, project, cache_dir(env, view.identity.home))
    wanted = tuple(sorted({p for i in chosen for p in i.platform}))  # emulation is checked
    setup = resolve(view, prober, replace(opts.host, platforms=wanted),
                    configured=[i.network for i in chosen])
    names = [i.label for i in chosen]
    reporter = _reporter(args, env, names)
    engine = BuildahEngine(env, setup.store, setup.isolation,
                           storage_confs(env, view.identity.home))
    session: Session | None = None
    try:
        publish = _publish(opts, engine, reporter)
        session = new_session(project, setup, engine, env, reporter, view.identity.home,
                              publish)
        if source is not None:
            session.use_source(*source)
        if notice:
            session.log("", notice)
        code = _build(args, opts.run, project, setup, session)
    finally:
        reporter.close()
        if session is not None and session.holds is not None:
            session.holds.release()  # its uses are in the log: nothing left to keep
    if not args.explain:
        _auto_cleanup(args, opts, engine, cache_dir(env, view.identity.home))
    return code


def _open_source(opts: Options, project: Project, cache: Path
                 ) -> tuple[tuple[GitSource, list[Need]] | None, str]:
    """In a git repository, what the build reads from git (``source/commit.py``) and the
    config files it must check; elsewhere None, and the notice that the working tree is
    built as it is."""
    from dockwright.source import in_repository

    loose = opts.render.loose_giterminism
    if not in_repository(project.dir):
        if opts.dev or loose or opts.render.giterminism_config:
            flag = "--dev" if opts.dev else "--loose-giterminism" if loose \
                else "--giterminism-config"
            raise UsageError(f"{flag} needs a git repository, and {project.dir} is not in one",
                             "run 'git init' and commit the project, or build without it")
        return None, (f"notice: {project.dir} is not in a git repository: building the "
                      "working tree as it is (giterminism needs git)")
    from dockwright.config import giterminism
    from dockwright.source import commit

    rules = giterminism.load(project.dir, cache / "yaml",  # the render's parse, cached
                             opts.render.giterminism_config)
    add_files = [os.path.relpath(i.context_dir / a, project.dir).replace(os.sep, "/")
                 for i in project.images for a in i.context_add_files]
    source = commit.open_source(project.dir, opts.dev, loose, rules, cache / "contexts",
                                add_files, project.force_shallow_clone)
    if source is None:
        return None, ""
    if opts.custom_tags and not loose and not rules.get_bool("cli.allowCustomTags"):
        raise SourceError("custom tags not allowed by giterminism: --add-custom-tag "
                          f"{opts.custom_tags[0]} names images outside what the commit decides",
                          "allow them in werf-giterminism.yaml (cli: {allowCustomTags: true}), "
                          "or build without --add-custom-tag")
    notice = ""
    if loose and not opts.dev:
        notice = ("warning: --loose-giterminism: nothing checks that the build reads "
                  "committed files; werf.yaml and the Dockerfiles come from the working "
                  "tree, the contexts from HEAD (werf-giterminism.yaml allows files one by one "
                  "instead)")
    templates = opts.render.templates_dir or ".werf"
    needs = commit.config_needs(project.dir, project.read, project.config_path, templates,
                                rules.path)
    return (source, needs), notice


def _reporter(args: argparse.Namespace, env: dict[str, str], names: list[str]) -> Reporter:
    live = args.log_format == "live" or (
        args.log_format == "auto" and not args.quiet and not args.explain
        and sys.stderr.isatty() and env.get("TERM") != "dumb")
    return Live(names) if live else Plain(quiet=args.quiet)


def _build(args: argparse.Namespace, opts: RunOptions, project: Project, setup: Setup,
           session: Session) -> int:
    say = session.log
    limit = opts.tasks_limit or len(project.images) or 1  # 0: no limit
    report_path = opts.report_path if opts.report_path.is_absolute() else \
        project.dir / opts.report_path
    if opts.save_report:
        report.check_writable(report_path)
    if args.explain:
        inputs, previous = explain(session, args.explain)
        out = sys.stdout
        out.write(f"image {args.explain}: digest {inputs.digest}\n")
        out.writelines(f"  {line}\n" for line in inputs.manifest.lines())
        if previous and previous.digest != inputs.digest:
            print(f"changed since the last build ({previous.digest[:12]}):")
            for line in diff(previous, inputs.manifest):
                print("  " + line)
        image = project.image("" if args.explain == "~" else args.explain)
        assert image is not None  # explain() found it
        print("instructions (a build now):")
        for line in step_lines(session, image, inputs):
            print("  " + line)
        return Exit.OK
    say("", setup.summary())
    for reason in setup.reasons:
        say("", reason)
    for warning in setup.warnings:
        say("", f"warning: {warning}")
    outcome = build_all(session, tuple(args.images), opts.parallel, limit)
    if opts.save_report or not args.quiet:
        outcome.results = session.sizes(complete(session, outcome.results))
        sized = {r.key: r for r in outcome.results}  # a list's platforms too
        outcome.lists = [replace(x, platforms=tuple(sized.get(p.key, p) for p in x.platforms))
                         for x in outcome.lists]
    results = outcome.results
    session.reporter.close()
    if not args.quiet:
        for line in summary_table(outcome):
            print(line, file=sys.stderr)
    if opts.save_report:
        outcome.lists = complete(session, outcome.lists)
        report.write(report_path, records(session, [*(r for r in results if not r.platform),
                                                    *outcome.lists]),
                     by_platform=bool(env_bool(os.environ, "WERF_ENABLE_REPORT_BY_PLATFORM")))
    session.record_uses(results)
    for r in [*results, *outcome.lists]:  # one platform's build: name@platform
        state = "built" if r.rebuilt else "reused"
        print(f"{r.key or '~'}\t{r.final_reference or r.reference}\t{state}\t{r.seconds:.2f}\t"
              f"{r.size or '-'}")
    sys.stdout.flush()
    return _verdict(outcome, session)


def _verdict(outcome: Outcome, session: Session) -> int:
    if outcome.ok:
        return Exit.OK
    if outcome.missing and not outcome.failed:
        where = session.publish.repo.repo if session.publish.repo else "local storage"
        raise BuildFailed(f"stages required: {', '.join(outcome.missing)} not built in {where}",
                          "run the build without --require-built-images first")
    skipped = f"; skipped, because what they need failed: {', '.join(outcome.skipped)}" \
        if outcome.skipped else ""
    first = next(iter(outcome.failed.values()))
    if len(outcome.failed) == 1:
        message = first.message
    else:
        message = f"{len(outcome.failed)} images failed: " + "; ".join(
            f"{name}: {exc.message}" for name, exc in outcome.failed.items())
    error = BuildFailed(message + skipped, first.hint)
    error.exit_code = first.exit_code
    raise error


def summary_table(outcome: Outcome) -> list[str]:
    rows = [("IMAGE", "REFERENCE", "RESULT", "TIME", "SIZE")]
    for r in [*outcome.results, *outcome.lists]:
        rows.append((r.key or "~", r.final_reference or r.reference,
                     "built" if r.rebuilt else ("reused (registry)" if r.source == Source.REPO
                                                else "reused"),
                     f"{r.seconds:.1f}s", r.size or "-"))
    for name in outcome.failed:
        rows.append((name, "-", "FAILED", "-", "-"))
    for name in outcome.skipped:
        rows.append((name, "-", "skipped", "-", "-"))
    for name in outcome.missing:
        rows.append((name, "-", "missing", "-", "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


def _publish(opts: Options, engine: BuildahEngine, reporter: Reporter) -> Publish:
    def stages(repo: str | None) -> RegistryStages | None:
        if repo is None:
            return None
        from dockwright.storage.registry import RegistryStages, tls_verify_for

        return RegistryStages(repo, engine, tls_verify_for(repo, opts.insecure_registries),
                              log=lambda m: reporter.message("", m))

    return Publish(stages(opts.repo), stages(opts.final_repo), opts.custom_tags,
                   opts.require_built)


def cmd_config(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    home = Identity.current().home
    if args.config_command == "render":
        rendered = render(args.dir.resolve(), render_options(args, env), env,
                          cache_dir(env, home))
        sys.stdout.write(rendered.text)
        return Exit.OK
    project = _load(args, env, home, render_options(args, env))
    if args.json:
        data = {
            "project": project.name,
            "dir": str(project.dir),
            "config": str(project.config_path),
            "cacheVersion": project.cache_version,
            "images": [
                {"name": i.name, "context": i.context, "dockerfile": i.dockerfile,
                 "target": i.target, "args": dict(i.args), "addHost": list(i.add_host),
                 "network": i.network, "final": i.final, "platform": list(i.platform),
                 "cacheVersion": i.cache_version, "contextAddFiles": list(i.context_add_files),
                 "imageSpec": i.image_spec.to_werf() if i.image_spec else None,
                 "dependencies": [{"image": d.image, "imports": [
                     {"type": m.type, "targetBuildArg": m.target_build_arg} for m in d.imports]}
                     for d in i.dependencies]}
                for i in project.images],
        }
        print(json.dumps(data, indent=2))
        return Exit.OK
    print(f"project: {project.name}  ({project.config_path})")
    if project.cache_version:
        print(f"cacheVersion: {project.cache_version}")
    for i in project.images:
        print(f"image {i.label}  ({i.where})")
        print(f"  context: {i.context}  dockerfile: {i.dockerfile}"
              + (f"  target: {i.target}" if i.target else ""))
        for key, value in i.args:
            print(f"  arg {key}={value}")
        for dep in i.dependencies:
            imports = ", ".join(f"{m.type}->{m.target_build_arg}" for m in dep.imports)
            print(f"  depends on {dep.image}" + (f" ({imports})" if imports else ""))
        if not i.final:
            print("  final: false")
        for key, value in i.image_spec.entries(project.name, i.name) if i.image_spec else ():
            print(f"  imageSpec {key}: {value}".replace("\n", ", "))
    return Exit.OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from dockwright import doctor

    check_env(os.environ)  # (the doctor reads the host's options itself, as build does)
    view, prober = _host(args, child_env())
    code, text = doctor.command(args, view, prober)
    if text:
        print(text, end="" if text.endswith("\n") else "\n")
    return code


def cmd_login(args: argparse.Namespace) -> int:
    from dockwright.storage import registry

    if not args.username:
        raise UsageError("dockwright login needs --username", "add -u USER, and the password "
                         "with --password-stdin (or -p)")
    if args.password_stdin == (args.password is not None):
        raise UsageError("give the password either with --password-stdin or with -p",
                         "for example: echo \"$TOKEN\" | dockwright login -u USER "
                         "--password-stdin " + args.registry)
    password = sys.stdin.read() if args.password_stdin else args.password
    password = password.rstrip("\r\n")
    if not password:
        raise UsageError("the password is empty", "pass the password or token on stdin")
    ident = Identity.current()
    found = auth_file(os.environ, ident, _buildah_version(ident))
    verify = not args.insecure_registry and registry.tls_verify_for(args.registry, ())
    registry.login(BuildahEngine(os.environ), args.registry, args.username, password,
                   str(found.path), verify)
    print(f"logged in to {args.registry}; the login is in {found.path} ({found.why})")
    return Exit.OK


def cmd_logout(args: argparse.Namespace) -> int:
    from dockwright.storage import registry

    if bool(args.registry) == bool(args.all):
        raise UsageError("dockwright logout needs one REGISTRY, or --all",
                         "for example: dockwright logout registry.example.com")
    ident = Identity.current()
    found = auth_file(os.environ, ident, _buildah_version(ident))
    name = None if args.all else args.registry
    if registry.logout(BuildahEngine(os.environ), name, str(found.path)):
        print(f"logged out of {name or 'every registry'} ({found.path})")
    else:
        print(f"not logged in to {name or 'any registry'} in {found.path}")
    return Exit.OK


def _store_engine(args: argparse.Namespace) -> tuple[BuildahEngine, Path]:
    """An engine bound to the store a build would use, and dockwright's cache directory."""
    asked = host_options(args, os.environ)
    env = child_env()
    view, prober = _host(args, env)
    setup = resolve(view, prober, asked)
    home = view.identity.home
    return (BuildahEngine(env, setup.store, setup.isolation, storage_confs(env, home)),
            cache_dir(env, home))


def cmd_host(args: argparse.Namespace) -> int:
    from dockwright.cleanup import command

    if args.host_command == "cleanup":
        opts = host_cleanup_options(args, os.environ)
        engine, cache = _store_engine(args)
        return command.host_cleanup(engine, cache, opts)
    if args.project is not None and not PROJECT_RE.match(args.project):
        raise UsageError(f"--project {args.project!r} is not a project name",
                         "give werf.yaml's 'project' value (lowercase letters, digits, '-')")
    engine, cache = _store_engine(args)
    return command.purge(engine, cache, args.project, args.force, args.dry_run)


def _auto_cleanup(args: argparse.Namespace, opts: Options, engine: BuildahEngine,
                  cache: Path) -> None:
    """The host cleanup after a build: one look at the volume's usage when it is under the
    allowed usage; over it, ``host cleanup`` with the build's store and thresholds, started
    in the background (the build's result is out and its exit is not delayed; the output
    goes to the store's ``auto-cleanup.log`` in dockwright's cache)."""
    if opts.cleanup is None or not opts.cleanup.auto:
        return
    from dockwright.cleanup import auto_cleanup_due

    log_path = auto_cleanup_due(engine.store.graph_root, opts.cleanup.storage_path,
                                opts.cleanup.allowed, cache)
    if log_path is None:
        return
    argv = [sys.executable, "-m", "dockwright", "host", "cleanup",
            "--allowed-backend-storage-volume-usage", f"{opts.cleanup.allowed:g}",
            "--allowed-backend-storage-volume-usage-margin", f"{opts.cleanup.margin:g}",
            "--keep-hours", f"{opts.cleanup.keep_hours:g}"]
    for flag, value in (("--buildah-mode", args.buildah_mode),
                        ("--storage-driver", args.storage_driver),
                        ("--storage-root", args.storage_root),
                        ("--backend-storage-path", opts.cleanup.storage_path)):
        if value:
            argv += [flag, str(value)]
    from dockwright.run import spawn_detached

    if spawn_detached(argv, os.environ, str(log_path)):
        print(f"host cleanup: the store's volume is over "
              f"{opts.cleanup.allowed:g}% used: cleaning up in the background (log: "
              f"{log_path}; WERF_DISABLE_AUTO_HOST_CLEANUP=1 turns this off)", file=sys.stderr)


def cmd_cleanup(args: argparse.Namespace) -> int:
    from collections import Counter

    from dockwright.cleanup import registry
    from dockwright.storage.registry import now_millis, tls_verify_for

    opts = repo_cleanup_options(args, os.environ)
    engine = BuildahEngine(child_env())  # registries only
    out = registry.cleanup(engine, opts, lambda repo: tls_verify_for(repo, opts.insecure),
                           now_millis(), lambda text: print(text, flush=True))
    verb = "would delete" if opts.dry_run else "deleted"
    print(f"cleanup of {opts.repo}: {verb} {len(out.deleted)} manifest(s), kept "
          f"{len(out.kept)} tag(s)" + (f"; {out.gone} were already gone" if out.gone else ""))
    for why, n in sorted(Counter(registry.kind_of_reason(w) for w in out.kept.values()).items()):
        print(f"  kept {n}: {why}")
    if out.deleted and not opts.dry_run:
        print("the registry frees the space of deleted manifests at its garbage collection "
              "(docker-registry: 'registry garbage-collect')")
    return Exit.OK


COMMANDS = {"build": cmd_build, "cleanup": cmd_cleanup, "config": cmd_config,
            "doctor": cmd_doctor, "host": cmd_host, "login": cmd_login, "logout": cmd_logout}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return int(exc.code or 0) if isinstance(exc.code, int) else Exit.BAD_INPUT
    debug = getattr(args, "debug", False)
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="debug: %(message)s", stream=sys.stderr)
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a reader gone away is found here, not at interpreter exit
        return code
    except BrokenPipeError:  # the reader of stdout went away (| head): end as SIGPIPE would
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.BROKEN_PIPE
    except DockwrightError as exc:
        if debug:
            log.exception("traceback")
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return int(exc.exit_code)
    except PermissionError as exc:  # a file of the user's that this user may not read or write
        if debug:
            log.exception("traceback")
        print(f"error: permission denied: {exc.filename or exc}", file=sys.stderr)
        print(f"hint: dockwright runs as {Identity.current().user}: give that user access to "
              "it (read for inputs, write for outputs; search on every directory above it)",
              file=sys.stderr)
        return Exit.BAD_INPUT
    except KeyboardInterrupt as exc:
        print("error: interrupted", file=sys.stderr)
        print("hint: run the command again to finish", file=sys.stderr)
        return Exit.TERMINATED if isinstance(exc, Terminated) else Exit.INTERRUPTED
    except Exception as exc:  # a bug in dockwright: still one line, traceback with --debug
        if debug:
            raise
        print(f"error: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("hint: rerun with --debug for the traceback, and report it", file=sys.stderr)
        return Exit.INTERNAL


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def entry() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main())
