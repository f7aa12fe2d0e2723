"""``dockwright doctor``: every host check, the setup a build would use, and the fixes.

``diagnose`` runs the checks and asks ``resolve`` (what ``build`` calls) for the verdict;
``render_text``, ``render_json`` and ``fix_script`` turn the report into text. Nothing here
prints: ``command`` returns (exit code, text) and ``cli`` prints it. docs/doctor.md documents
the checks, the JSON document and the exit codes.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockwright import run
from dockwright.engine.buildah import parse_version
from dockwright.errors import Exit, HostError, UsageError
from dockwright.host import auth, checks, checks_runtime, checks_storage, limits
from dockwright.host.checks import Check, Status
from dockwright.host.probes import Prober
from dockwright.host.resolve import (
    Asked,
    Mode,
    Setup,
    resolve,
    runtime_mode,
    storage_places,
    store_driver,
)
from dockwright.host.view import HostView
from dockwright.options import allowed_usage, host_options

SCHEMA = "dockwright-doctor/1"
FULL_PERCENT = 90  # the store's volume this full is a warning (over the cleanup threshold,
# which is no fault: builds clean up then)


@dataclass(frozen=True)
class Report:
    view: HostView
    asked: Asked
    checks: tuple[Check, ...]
    setup: Setup | None  # what a build would use; None when it cannot run
    error: HostError | None  # why it cannot

    @property
    def ready(self) -> bool:
        return self.setup is not None

    @property
    def exit_code(self) -> int:
        return int(Exit.OK if self.ready else Exit.HOST_NOT_READY)


def survey(view: HostView, prober: Prober, asked: Asked) -> list[Check]:
    """Every check, in a fixed order, whatever fails (unlike ``resolve``, which stops)."""
    graph_root, run_root = storage_places(view, asked.storage_root)
    mode = runtime_mode(view, asked.mode)  # the rules a build follows (host/resolve.py)
    driver = store_driver(view, graph_root, asked.driver)
    runtimes, runtime = checks_runtime.check_runtimes(view, prober, mode)
    isolation = "chroot" if mode == Mode.CHROOT or runtime is None else "oci"
    storage_dir = checks_storage.check_storage_dir(view, graph_root, asked.storage_root is None)
    create = checks.check_userns_create(view, prober)
    mapping = checks.check_userns_probe(view, prober) if not create.failed else \
        Check("userns-mapping", Status.SKIP, "not probed: no user namespace (see userns-create)")
    if storage_dir.failed or (create.failed and not view.identity.is_root):
        # the overlay probe needs the store's directory, and a rootless one a user namespace
        blocked = "not probed: " + ("the storage directory is not usable (see storage-dir)"
                                    if storage_dir.failed else
                                    "no user namespace (see userns-create)")
        overlay = [Check("native-overlay", Status.SKIP, blocked),
                   Check("fuse", Status.SKIP, blocked)]
    else:
        native = None if driver == "vfs" else prober.native_overlay(graph_root.parent)
        overlay = [checks_storage.check_native_overlay(driver, native, graph_root.parent),
                   checks_storage.check_fuse(view, driver, native is not None and native.ok)]
    return [
        checks_runtime.check_buildah(view, prober),
        checks_storage.check_kernel(view),
        checks_storage.check_overlay_module(view),
        checks.check_container(view, asked.mode),
        checks.check_userns_clone(view),
        checks.check_max_user_namespaces(view),
        checks.check_apparmor_userns(view),
        checks.check_no_new_privs(view),
        checks.check_subids(view, "/etc/subuid"),
        checks.check_subids(view, "/etc/subgid"),
        checks.check_idmap_tools(view),
        create,
        mapping,
        runtimes,
        checks_runtime.check_network(view, prober, isolation, runtime, asked.network),
        checks_runtime.check_emulation(view, asked.platforms),
        storage_dir,
        checks_storage.check_storage_fs(view, graph_root),
        checks_storage.check_store_driver(view, graph_root, asked.driver),
        checks_storage.check_run_root(view, run_root),
        checks_storage.check_xdg_runtime_dir(view),
        *overlay,
        limits.check_rlimits(view, limits.hard_limits()),
        auth.check_registry_auth(view, parse_version(prober.buildah_version().detail)),
        check_storage_usage(view, graph_root, checks_storage.existing_driver(view, graph_root)
                            or ("vfs" if driver == "vfs" else "overlay")),
    ]


def check_storage_usage(view: HostView, graph_root: Path, driver: str) -> Check:
    """How full the store's volume is, against the host cleanup's threshold, and how much of
    the store dockwright's builds use (the layers under the images its use log names,
    counted once, from containers/storage's records: no Buildah call)."""
    from dockwright.cleanup import host as cleanup
    from dockwright.engine import store
    from dockwright.host.probes import cache_dir
    from dockwright.storage import usage

    place = view.existing_ancestor(graph_root)
    measured = view.volume_usage(graph_root)
    if measured is None or not measured[1]:
        return Check("storage-usage", Status.SKIP, f"the usage of {place}'s volume is unknown")
    allowed = allowed_usage(None, view.env)  # a bad value: the error a build would give
    percent = 100.0 * measured[0] / measured[1]
    owned = ""
    tree = store.read_tree(view.path(graph_root), driver)
    if tree is not None:
        uses = usage.read(usage.usage_dir(cache_dir(view.env, view.identity.home), graph_root))
        ids = {u.image_id for u in uses if u.image_id in tree.images}
        layers = {layer for i in ids for layer in tree.chain(tree.images[i].layer)}
        size = cleanup.human(sum(tree.sizes.get(x, 0) for x in layers))
        owned = f"; dockwright's builds use {size} of it ({len(ids)} stages in use)"
    finding = f"the store's volume ({place}) is {percent:.1f}% used{owned}"
    after = f"over {allowed:g}%, so a build starts a host cleanup" if percent > allowed \
        else f"a build starts a host cleanup over {allowed:g}%"
    if percent >= FULL_PERCENT:  # a fault: builds are about to run out of space
        return Check("storage-usage", Status.WARN,
                     f"{finding}: builds may run out of space ({after})",
                     ("dockwright host cleanup --dry-run   # what would go",
                      "dockwright host cleanup --allowed-backend-storage-volume-usage "
                      f"{min(allowed, FULL_PERCENT - 10):g}"))
    return Check("storage-usage", Status.OK, f"{finding} ({after})")


def diagnose(view: HostView, prober: Prober, asked: Asked) -> Report:
    found = tuple(survey(view, prober, asked))
    try:
        setup = resolve(view, prober, asked)
    except HostError as exc:
        return Report(view, asked, found, None, exc)
    return Report(view, asked, found, setup, None)


# -- rendering -------------------------------------------------------------------------------

def _header(report: Report) -> str:
    ident = report.view.identity
    a = report.asked
    return (f"dockwright doctor: user {ident.user} (uid {ident.uid}), kernel "
            f"{report.view.kernel_release()}; asked: mode {a.mode}, storage driver {a.driver}"
            + (f", storage root {a.storage_root}" if a.storage_root else ""))


def render_text(report: Report) -> str:
    lines = [_header(report), ""]
    for c in report.checks:
        lines.append(f"{c.status.value:<5} {c.id:<20} {c.finding}")
        if c.status in (Status.FAIL, Status.WARN):
            lines += [f"{'':<5} {'':<20}   {fix}" for fix in c.fix]
    counts = Counter(c.status.value for c in report.checks)
    lines += ["", ", ".join(f"{counts[s.value]} {s.value}" for s in Status), ""]
    if report.setup is not None:
        lines.append(f"verdict: ready: {report.setup.summary()}")
        lines += [f"  why: {r}" for r in report.setup.reasons]
        lines += [f"  warning: {w}" for w in report.setup.warnings]
    else:
        assert report.error is not None
        lines.append(f"verdict: not ready (exit {report.exit_code}): {report.error.message}")
        lines += [f"  {line}" for line in report.error.hint.splitlines()]
        lines.append("  print every fix as one script: dockwright doctor --fix")
    return "\n".join(lines) + "\n"


def as_document(report: Report) -> dict[str, Any]:
    ident = report.view.identity
    setup = report.setup
    verdict = None if setup is None else {
        "mode": setup.mode,
        "isolation": setup.isolation.kind,
        "runtime": setup.isolation.runtime,
        "storageDriver": setup.store.driver,
        "mountProgram": setup.store.mount_program,
        "graphRoot": str(setup.store.graph_root),
        "runRoot": str(setup.store.run_root),
        "rootless": setup.rootless,
        "reasons": list(setup.reasons),
        "warnings": list(setup.warnings),
    }
    error = None if report.error is None else \
        {"message": report.error.message, "hint": report.error.hint}
    return {
        "schema": SCHEMA,
        "ready": report.ready,
        "exitCode": report.exit_code,
        "user": {"name": ident.user, "uid": ident.uid, "gid": ident.gid, "home": str(ident.home)},
        "kernel": report.view.kernel_release(),
        "asked": {"mode": report.asked.mode, "storageDriver": report.asked.driver,
                  "storageRoot": report.asked.storage_root},
        "counts": {s.value: sum(c.status is s for c in report.checks) for s in Status},
        "checks": [{"id": c.id, "status": c.status.value, "finding": c.finding,
                    "fix": list(c.fix)} for c in report.checks],
        "verdict": verdict,
        "error": error,
    }


def render_json(report: Report) -> str:
    return json.dumps(as_document(report), indent=2) + "\n"


def is_root_line(line: str) -> bool:
    return line.startswith("sudo ") or "| sudo " in line


def as_root(line: str) -> str:
    """A fix line for a shell that already runs as root."""
    return line.removeprefix("sudo ").replace("| sudo ", "| ")


def fix_script(report: Report) -> str:
    """One script with every fix of every failing or warning check, to run as root."""
    ident = report.view.identity
    out = ["#!/bin/sh",
           f"# Fixes found by 'dockwright doctor' for {ident.user} (uid {ident.uid}).",
           "# Review them, then run this as root: sudo sh ./dockwright-fix.sh",
           "set -eux"]
    later: list[str] = []
    for c in report.checks:
        if c.status not in (Status.FAIL, Status.WARN) or not c.fix:
            continue
        out.append(f"# [{c.id}] {c.finding}")
        for line in c.fix:
            if is_root_line(line):
                out.append(as_root(line))
            elif line.startswith("#"):
                out.append(line)
            else:
                later.append(line)
    if later:
        out += ["", f"# Then, as {ident.user}, in the shell that runs dockwright:"]
        out += [f"#   {line}" for line in later]
    if len(out) == 4:
        out.append("# nothing to fix")
    return "\n".join(out) + "\n"


def root_lines(script: str) -> list[str]:
    return [line for line in script.splitlines()
            if line.strip() and not line.lstrip().startswith("#") and line != "set -eux"]


def command(args: argparse.Namespace, view: HostView, prober: Prober) -> tuple[int, str]:
    asked = host_options(args, view.env)
    if args.yes and not args.fix:
        raise UsageError("--yes only goes with --fix", "dockwright doctor --fix --yes")
    report = diagnose(view, prober, asked)
    if not args.fix:
        return report.exit_code, render_json(report) if args.json else render_text(report)
    script = fix_script(report)
    if not args.yes:
        return report.exit_code, script
    if not view.identity.is_root or os.getuid() != 0:
        raise UsageError("--fix --yes applies the fixes as root",
                         "review and run the script yourself: dockwright doctor --fix > "
                         "dockwright-fix.sh && sudo sh dockwright-fix.sh")
    applied = run.run(["sh", "-c", script], env=dict(view.env), check=False) \
        if root_lines(script) else None
    prober.forget()
    again = diagnose(view, prober, asked)
    text = script
    if applied is not None:
        text += f"\n# applied: exit {applied.returncode}\n" + applied.stderr
    text += "\n# checked again:\n"
    text += render_json(again) if args.json else render_text(again)
    return again.exit_code, text
