"""dockwright against raw Buildah, side by side: `make bench`.

Every figure is measured in this one run: a warm-up, then at least 5 runs of each side,
alternating, with the median, min and max. Results go to stdout and bench/results/latest.json.
Run as root (it starts a loopback registry and uses private stores under /var/tmp).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = Path(os.environ.get("DOCKWRIGHT_BENCH_DIR", "/var/tmp/dockwright-bench"))
PY = str(REPO / ".venv" / "bin" / "python")
sys.path.insert(0, str(REPO))

from tests.integration.registry import Registry  # noqa: E402

# As installed: byte-compiled modules (pip compiles them; this sandbox sets
# PYTHONDONTWRITEBYTECODE, which would make every run compile dockwright from source).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV.update({"WERF_CONTAINERIZED": "no", "XDG_CACHE_HOME": str(WORK / "cache"),
            # the rows time builds; on a volume over 70 % a build would start a host cleanup
            # in the background, competing with the next timed run: row 12 times that
            "WERF_DISABLE_AUTO_HOST_CLEANUP": "1"})
CHROOT_VFS = ["--buildah-mode", "native-chroot", "--storage-driver", "vfs"]
CHROOT_OVERLAY = ["--buildah-mode", "native-chroot", "--storage-driver", "overlay"]


def sh(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
       check: bool = True) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(argv, cwd=cwd, env=env or ENV, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{p.stderr[-3000:]}")
    return p


def timed(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
          before: Callable[[], None] | None = None) -> tuple[float, int]:
    """Wall time of one run, and the peak RSS (kB) of the process itself."""
    if before:
        before()
    peak = 0
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env or ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    status = Path(f"/proc/{proc.pid}/status")

    def watch() -> None:
        nonlocal peak
        while proc.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
            except OSError:
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{err[-3000:]}")
    return elapsed, peak


def stats(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 4), "min": round(min(values), 4),
            "max": round(max(values), 4), "runs": len(values)}


def side_by_side(a: Callable[[], tuple[float, int]], b: Callable[[], tuple[float, int]],
                 runs: int) -> tuple[list[float], list[float], int]:
    a(), b()  # warm-up
    xs, ys, peak = [], [], 0
    for _ in range(runs):
        t, p = a()
        xs.append(t)
        peak = max(peak, p)
        ys.append(b()[0])
    return xs, ys, peak


def dockwright(*args: str) -> list[str]:
    return [PY, "-m", "dockwright", *args]


def vfs_store(store: Path) -> tuple[list[str], Callable[[], None]]:
    """Buildah's flags for the vfs store dockwright uses at ``store`` (same run root as
    ``--storage-root``), and a function that empties it between runs."""
    flags = ["--root", str(store), "--runroot", "/tmp/dockwright-run-0/" +
             str(store).strip("/").replace("/", "_"), "--storage-driver", "vfs"]

    def clean() -> None:
        sh(["buildah", *flags, "rmi", "-a", "-f"], check=False)
        os.sync()  # the last run's writes go to disk now, not during the next timed run

    return flags, clean


def fresh(root: Path) -> Path:
    """An empty workload directory."""
    if root.exists():
        shutil.rmtree(root)
    return root


def rootfs(directory: Path) -> None:
    (directory / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2("/bin/busybox", directory / "bin" / "busybox")


# -- workloads ------------------------------------------------------------------------------

def ten_images(root: Path, files: int = 300) -> Path:
    """10 Dockerfile images, multi-stage, each COPYing a few hundred files."""
    if root.exists():
        shutil.rmtree(root)
    rootfs(root / "rootfs")
    docs = ["configVersion: 1\nproject: bench10\n"]
    for n in range(10):
        ctx = root / f"img{n}"
        for f in range(files):
            (ctx / "src" / f"d{f % 10}").mkdir(parents=True, exist_ok=True)
            (ctx / "src" / f"d{f % 10}" / f"f{f}.txt").write_text(f"image {n} file {f}\n" * 20)
        shutil.copytree(root / "rootfs", ctx / "rootfs")
        (ctx / "Dockerfile").write_text(
            "FROM scratch AS build\nCOPY rootfs/ /\nCOPY src/ /src/\n"
            'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox cat /src/d1/* > /all.txt"]\n'
            "FROM scratch\nCOPY rootfs/ /\nCOPY --from=build /all.txt /all.txt\n"
            f"LABEL n={n}\n")
        docs.append(f"image: img{n}\ncontext: img{n}\ndockerfile: Dockerfile\n")
    (root / "werf.yaml").write_text("---\n".join(docs))
    return root


def four_images(root: Path, project: str, dockerfile: Callable[[int], str]) -> None:
    """A project of 4 independent images i0..i3, each in its own context."""
    docs = [f"configVersion: 1\nproject: {project}\n"]
    for n in range(4):
        (root / f"i{n}").mkdir(parents=True, exist_ok=True)
        (root / f"i{n}" / "Dockerfile").write_text(dockerfile(n))
        docs.append(f"image: i{n}\ncontext: i{n}\ndockerfile: Dockerfile\n")
    (root / "werf.yaml").write_text("---\n".join(docs))


def buildah_builds(root: Path, store: list[str]) -> list[list[str]]:
    return [["buildah", *store, "build", "--layers", "--isolation", "chroot", "--quiet",
             "-t", f"raw-img{n}", str(root / f"img{n}")] for n in range(10)]


def run_all(argvs: list[list[str]]) -> Callable[[], tuple[float, int]]:
    def go() -> tuple[float, int]:
        start = time.perf_counter()
        for argv in argvs:
            sh(argv)
        return time.perf_counter() - start, 0
    return go


def bench_noop(runs: int) -> dict[str, object]:
    root = ten_images(WORK / "noop")
    store = WORK / "noop-store"
    raw_store = ["--root", str(WORK / "noop-raw"), "--runroot", str(WORK / "noop-raw-run"),
                 "--storage-driver", "overlay"]
    dw = dockwright("build", "--storage-root", str(store), *CHROOT_OVERLAY, "--quiet")
    sh(dw, cwd=root)  # build everything once
    raw = buildah_builds(root, raw_store)
    run_all(raw)()
    xs, ys, peak = side_by_side(lambda: timed(dw, cwd=root), run_all(raw), runs)
    return {"dockwright_s": stats(xs), "buildah_layers_s": stats(ys),
            "ratio": round(statistics.median(xs) / statistics.median(ys), 3),
            "goal_ratio": 0.15, "goal_dockwright_s": 0.6, "peak_rss_mb": round(peak / 1024, 1)}


TEMPLATED_WERF = """configVersion: 1
project: {{ env "BENCH_PROJECT" "bench10" }}
{{- /* 10 images from one table: what a templated werf.yaml of a real project does */}}
{{- $images := dict }}
""" + "".join(f"""{{{{- $_ := set $images "img{n}" (dict
    "context" "img{n}"
    "tier" "{'backend' if n % 2 else 'frontend'}"
    "replicas" {n + 1}
    "args" (dict "VERSION" "1.{n}.0" "BUILD" "{n * 7}")
    "labels" (list "team" "core" "tier" "t{n % 3}")
) }}}}
""" for n in range(10)) + """
{{- range $name, $image := $images }}
---
{{ include "image.header" (dict "name" $name "image" $image) }}
{{- include "image.args" $image | nindent 0 }}
{{- include "image.labels" (dict "name" $name "image" $image "root" $) | nindent 0 }}
{{- end }}
""" + "".join(f"# padding line {n}: {{{{ printf \"%03d\" {n} }}}}\n" for n in range(220))

PARTIALS = {
    "_helpers.tmpl": '{{- define "fullname" -}}{{ .name | lower | trunc 40 }}{{- end }}\n'
                     '{{- define "tier" -}}{{ .tier | default "none" }}{{- end }}\n',
    "image/header.tmpl": '{{- define "image.header" -}}\nimage: {{ include "fullname" . }}\n'
                         'context: {{ .image.context }}\ndockerfile: Dockerfile\n{{- end }}\n',
    "image/args.tmpl": '{{- define "image.args" -}}\nargs:\n{{- range $k, $v := .args }}\n'
                       '  {{ $k }}: {{ $v | quote }}\n{{- end }}\n{{- end }}\n',
    "image/labels.tmpl": '{{- define "image.labels" -}}\n# tier {{ include "tier" .image }} '
                         '{{ .image.labels | join "," }} {{ .root.Files.Get "VERSION" | trim }}'
                         '\n{{- end }}\n',
    "unused.tmpl": '{{- define "unused" }}{{ range until 10 }}{{ . }}{{ end }}{{ end }}\n',
}


# Loading the project as a build does (render, YAML, validation), in a fresh process each
# time; prints its seconds. argv: the config file, the templates directory ("" = default).
LOAD_STAGE = """
import os, sys, time
from pathlib import Path
started = time.perf_counter()
from dockwright.config import load_project
from dockwright.config.render import RenderOptions
from dockwright.host.probes import cache_dir
options = RenderOptions(config=sys.argv[1] or None, templates_dir=sys.argv[2] or None)
load_project(Path("."), env=os.environ, cache=cache_dir(os.environ, Path.home()) / "yaml",
             options=options)
print(time.perf_counter() - started)
"""


def bench_templated_noop(runs: int) -> dict[str, object]:
    """A werf.yaml of about 300 lines with 5 partials, loaded as a no-op build loads it,
    against the same config already rendered (no templates): what rendering costs a no-op
    build. Measured in-process (a fresh process each time, alternating, 3x the runs), since
    the whole build's spread is larger than the figure; whole no-op builds beside it."""
    root = ten_images(WORK / "templated")
    (root / "werf.yaml").write_text(TEMPLATED_WERF)
    (root / "VERSION").write_text("1.0\n")
    (root / "werf-giterminism.yaml").write_text(
        "giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n"
        "    allowEnvVariables: [BENCH_PROJECT]\n")
    for name, text in PARTIALS.items():
        (root / ".werf" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / ".werf" / name).write_text(text)
    store = WORK / "templated-store"
    templated = dockwright("build", "--storage-root", str(store), *CHROOT_OVERLAY, "--quiet")
    sh(templated, cwd=root)
    (root / "rendered.yaml").write_text(sh(dockwright("config", "render"), cwd=root).stdout)
    plain = [*templated, "--config", "rendered.yaml", "--config-templates-dir", "none"]
    sh(plain, cwd=root)  # the same digests: nothing is built

    def load(config: str, templates: str, before: Callable[[], None] | None = None) -> float:
        if before:
            before()
        return float(sh([PY, "-c", LOAD_STAGE, config, templates], cwd=root).stdout)

    renders = WORK / "cache" / "dockwright" / "render"
    load("", ""), load("rendered.yaml", "none")  # warm-up
    cached, plain_load, uncached = [], [], []
    for _ in range(3 * runs):
        cached.append(load("", ""))
        plain_load.append(load("rendered.yaml", "none"))
    for _ in range(runs):
        uncached.append(load("", "", lambda: shutil.rmtree(renders, ignore_errors=True)))
    xs, ys, peak = side_by_side(lambda: timed(templated, cwd=root),
                                lambda: timed(plain, cwd=root), runs)
    return {"werf_yaml_lines": TEMPLATED_WERF.count("\n"), "partials": len(PARTIALS),
            "load_templated_s": stats(cached), "load_rendered_s": stats(plain_load),
            "render_cost_ms": round((statistics.median(cached) -
                                     statistics.median(plain_load)) * 1000, 1),
            "goal_render_cost_ms": 20, "load_templated_uncached_s": stats(uncached),
            "templated_noop_build_s": stats(xs), "rendered_noop_build_s": stats(ys),
            "peak_rss_mb": round(peak / 1024, 1)}


def bench_registry(runs: int) -> dict[str, object]:
    root = WORK / "noop"
    reg = Registry(WORK / "registry").start()
    try:
        repo = f"{reg.host}/bench10"
        sh(dockwright("build", "--storage-root", str(WORK / "noop-store"), *CHROOT_OVERLAY,
                      "--quiet", "--repo", repo), cwd=root)
        empty = WORK / "empty-store"

        def fresh() -> None:
            if empty.exists():
                sh(["buildah", "--root", str(empty), "--storage-driver", "overlay", "rmi",
                    "-a", "-f"], check=False)
                shutil.rmtree(empty)

        argv = dockwright("build", "--storage-root", str(empty), *CHROOT_OVERLAY, "--quiet",
                          "--repo", repo)
        timed(argv, cwd=root, before=fresh)
        xs = [timed(argv, cwd=root, before=fresh)[0] for _ in range(runs)]
        images = sh(["buildah", "--root", str(empty), "--storage-driver", "overlay",
                     "images", "-q"]).stdout.split()
    finally:
        reg.stop()
    return {"dockwright_s": stats(xs), "images_pulled": len(images), "goal_s": 1.5}


def bench_cold(runs: int) -> dict[str, object]:
    root = fresh(WORK / "cold")
    rootfs(root / "ctx" / "rootfs")
    (root / "ctx" / "Dockerfile").write_text(
        'FROM scratch\nCOPY rootfs/ /\nRUN ["/bin/busybox", "sh", "-c", "for i in 1 2 3; do '
        '/bin/busybox dd if=/dev/urandom of=/blob$i bs=1M count=8 2>/dev/null; done; '
        '/bin/busybox sleep 2"]\n')
    (root / "werf.yaml").write_text("configVersion: 1\nproject: cold\n---\nimage: app\n"
                                    "context: ctx\ndockerfile: Dockerfile\n")
    store = WORK / "cold-store"
    _flags, clean = vfs_store(store)

    dw = dockwright("build", "--storage-root", str(store), *CHROOT_VFS, "--quiet")
    # Buildah with identical flags: the very command dockwright runs (its tag, labels and
    # --iidfile included), as --debug prints it
    clean()
    debug = sh(dockwright("--debug", "build", "--storage-root", str(store), *CHROOT_VFS,
                          "--log-format", "plain"), cwd=root).stderr
    (line,) = [x for x in debug.splitlines() if x.startswith("debug: run: buildah ")
               and " build " in x]
    raw = shlex.split(line.removeprefix("debug: run: "))  # its derived Dockerfile is kept
    xs, ys, peak = side_by_side(lambda: timed(dw, cwd=root, before=clean),
                                lambda: timed(raw, cwd=root, before=clean), runs)
    return {"dockwright_s": stats(xs), "buildah_s": stats(ys),
            "ratio": round(statistics.median(xs) / statistics.median(ys), 3), "goal_ratio": 1.05,
            "buildah_argv": shlex.join(raw), "peak_rss_mb": round(peak / 1024, 1)}


def big_context(root: Path, files: int, total: int) -> Path:
    if (root / ".done").exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    (root / "ctx").mkdir(parents=True)
    size = total // files
    chunk = os.urandom(size)
    for n in range(files):
        d = root / "ctx" / "data" / f"{n // 1000:03d}"
        if n % 1000 == 0:
            d.mkdir(parents=True, exist_ok=True)
        with open(d / f"{n:06d}.bin", "wb") as f:
            f.write(n.to_bytes(8, "little") + chunk[8:])
    (root / "ctx" / "Dockerfile").write_text("FROM scratch\nCOPY data/ /data/\n")
    (root / "werf.yaml").write_text("configVersion: 1\nproject: ctx\n---\nimage: app\n"
                                    "context: ctx\ndockerfile: Dockerfile\n")
    (root / ".done").write_text("")
    return root


# The hashing stage alone, as a build runs it (validate, then the digest inputs without the
# per-path details), in a fresh process each time; prints its seconds. With "git" after the
# cache directory, as a build in a git repository runs it (source/commit.py, row 11): the
# giterminism check (what differs from HEAD) first, and checksums that are blob ids.
HASHING_STAGE = """
import sys, time
from pathlib import Path
from dockwright import context, dockerfile, plan
from dockwright.config import load_project
from dockwright.config.giterminism import Giterminism
from dockwright.source.commit import config_needs, open_source
project = load_project(Path("."))
image = project.images[0]
parsed = dockerfile.parse(image.dockerfile_path)
name = __import__("hashlib").sha256(str(image.context_dir).encode()).hexdigest()[:24]
started = time.perf_counter()
cache = context.HashCache(Path(sys.argv[1]) / (name + ".marshal"))
walks = plan.Walks()
if sys.argv[2:] == ["git"]:
    source = open_source(project.dir, False, False, Giterminism(), Path(sys.argv[1]) / "ctx")
    walks.lister = lambda i, ignore: source.listing(i.context_dir, ignore)
    source.check([*config_needs(project.dir, project.read, project.config_path, ".werf", None),
                  *plan.source_needs(project, image, parsed, source)])
plan.validate(project, image, parsed, walks, cache)
plan.inputs(project, image, {}, {}, parsed, walks, cache, details=False).digest
cache.save()
print(time.perf_counter() - started)
"""


def bench_context(runs: int, files: int, total: int) -> dict[str, object]:
    root = big_context(WORK / "context", files, total)
    cache = WORK / "ctx-cache"
    env = {**ENV, "XDG_CACHE_HOME": str(cache)}
    store = WORK / "ctx-store"
    explain = dockwright("build", "--storage-root", str(store), *CHROOT_VFS, "--explain", "app")
    build = dockwright("build", "--storage-root", str(store), *CHROOT_VFS, "--quiet")
    listing = WORK / "ctx-files.txt"
    names = sorted(str(p) for p in (root / "ctx" / "data").rglob("*.bin"))
    listing.write_text("\n".join(names) + "\n")
    sha = ["sh", "-c", f"xargs -a {listing} -d '\\n' sha256sum > /dev/null"]

    def cold() -> None:
        sh(["sync"])
        Path("/proc/sys/vm/drop_caches").write_text("1")  # same start for both sides
        shutil.rmtree(cache / "dockwright" / "hashes", ignore_errors=True)

    # first run: every file read and hashed (--explain lists them all)
    xs, ys, peak = side_by_side(lambda: timed(explain, cwd=root, env=env, before=cold),
                                lambda: timed(sha, before=cold), runs)
    # nothing changed: the hashing stage alone, and a whole no-op build of the image
    hashes = cache / "dockwright" / "hashes"
    sh([PY, "-c", HASHING_STAGE, str(hashes)], cwd=root, env=env)
    stage = [float(sh([PY, "-c", HASHING_STAGE, str(hashes)], cwd=root, env=env).stdout)
             for _ in range(runs)]
    timed(build, cwd=root, env=env)  # built once (1 GB into vfs), then reused
    timed(build, cwd=root, env=env)
    noop = [timed(build, cwd=root, env=env) for _ in range(runs)]
    return {"files": files, "bytes": total, "first_run_s": stats(xs), "sha256sum_s": stats(ys),
            "ratio": round(statistics.median(xs) / statistics.median(ys), 3),
            "goal_ratio": 1.2, "unchanged_hashing_stage_s": stats(stage),
            "goal_unchanged_s": 0.5, "unchanged_noop_build_s": stats([n[0] for n in noop]),
            "peak_rss_mb": round(max(peak, *(n[1] for n in noop)) / 1024, 1)}


GIT_IDENTITY = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
                "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}


def git_context(root: Path, files: int, total: int) -> Path:
    """The big context of row 4, committed to a git repository of its own."""
    done = root / ".git" / "dockwright-bench-done"
    if done.exists():
        return root
    source = big_context(WORK / "context", files, total)
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(".done"))
    env = {**ENV, **GIT_IDENTITY}
    sh(["git", "init", "-q", "-b", "main"], cwd=root, env=env)
    sh(["git", "add", "-A"], cwd=root, env=env)
    sh(["git", "commit", "-q", "-m", "a big context"], cwd=root, env=env)
    done.write_text("")
    return root


def bench_git_context(runs: int, files: int, total: int) -> dict[str, object]:
    """Row 11: the context of row 4 committed; the build reads the commit (giterminism)."""
    root = git_context(WORK / "context-git", files, total)
    cache = WORK / "git-cache"
    env = {**ENV, "XDG_CACHE_HOME": str(cache)}
    listing = WORK / "git-ctx-files.txt"
    names = sorted(str(p) for p in (root / "ctx" / "data").rglob("*.bin"))
    listing.write_text("\n".join(names) + "\n")
    sha = ["sh", "-c", f"xargs -a {listing} -d '\\n' sha256sum > /dev/null"]
    stage_dir = cache / "stage"

    def cold() -> None:
        sh(["sync"])
        Path("/proc/sys/vm/drop_caches").write_text("1")  # same start for both sides
        shutil.rmtree(stage_dir, ignore_errors=True)

    def stage() -> tuple[float, int]:
        return float(sh([PY, "-c", HASHING_STAGE, str(stage_dir), "git"], cwd=root,
                        env=env).stdout), 0

    def first() -> tuple[float, int]:
        cold()
        return stage()

    xs, ys, _ = side_by_side(first, lambda: timed(sha, before=cold), runs)
    unchanged = [stage()[0] for _ in range(runs)]
    store = WORK / "git-store"
    build = dockwright("build", "--storage-root", str(store), *CHROOT_VFS, "--quiet")
    timed(build, cwd=root, env=env)  # built once (1 GB checked out, into vfs), then reused
    timed(build, cwd=root, env=env)
    noop = [timed(build, cwd=root, env=env) for _ in range(runs)]
    return {"files": files, "bytes": total, "first_hashing_stage_s": stats(xs),
            "sha256sum_s": stats(ys),
            "ratio": round(statistics.median(xs) / statistics.median(ys), 3),
            "goal_ratio": 0.2, "unchanged_hashing_stage_s": stats(unchanged),
            "unchanged_noop_build_s": stats([n[0] for n in noop]), "goal_noop_s": 0.3,
            "peak_rss_mb": round(max(n[1] for n in noop) / 1024, 1)}


def bench_parallel(runs: int) -> dict[str, object]:
    root = WORK / "parallel"
    if root.exists():
        shutil.rmtree(root)
    # a RUN of its own in each (the same RUN text would be one cached step for all four)
    four_images(root, "par", lambda n: (
        f'FROM scratch\nCOPY rootfs/ /\nRUN ["/bin/busybox", "sh", "-c", "sleep 2; echo {n}"]'
        f'\nLABEL n={n}\n'))
    for n in range(4):
        rootfs(root / f"i{n}" / "rootfs")
    store = WORK / "par-store"
    _, clean = vfs_store(store)

    base = dockwright("build", "--storage-root", str(store), *CHROOT_VFS, "--quiet")
    xs, ys, peak = side_by_side(lambda: timed([*base, "--parallel"], cwd=root, before=clean),
                                lambda: timed([*base, "--no-parallel"], cwd=root,
                                              before=clean), runs)
    return {"parallel_s": stats(xs), "sequential_s": stats(ys),
            "ratio": round(statistics.median(xs) / statistics.median(ys), 3), "goal_ratio": 0.6,
            "peak_rss_mb": round(peak / 1024, 1)}


def bench_storage() -> dict[str, object]:
    root = WORK / "layers"
    if root.exists():
        shutil.rmtree(root)
    rootfs(root / "ctx" / "rootfs")
    steps = "".join(f'RUN ["/bin/busybox", "dd", "if=/dev/urandom", "of=/layer{n}", "bs=1M", '
                    f'"count=4"]\n' for n in range(9))
    (root / "ctx" / "Dockerfile").write_text("FROM scratch\nCOPY rootfs/ /\n" + steps)
    out: dict[str, object] = {}
    for driver in ("overlay", "vfs"):
        store = WORK / f"layers-{driver}"
        if store.exists():
            sh(["buildah", "--root", str(store), "--storage-driver", driver, "rmi", "-a", "-f"],
               check=False)
            shutil.rmtree(store)
        sh(["buildah", "--root", str(store), "--runroot", f"/tmp/dw-bench-{driver}",
            "--storage-driver", driver, "build", "--layers", "--isolation", "chroot", "-q",
            "-t", "ten", str(root / "ctx")])
        du = sh(["du", "-sb", str(store)]).stdout.split()[0]
        out[f"{driver}_bytes"] = int(du)
    out["ratio_vfs_to_overlay"] = round(int(str(out["vfs_bytes"])) /
                                        int(str(out["overlay_bytes"])), 2)
    doctor = json.loads(sh(dockwright("doctor", "--json"), env=ENV, check=False).stdout)
    out["auto_picks"] = (doctor.get("verdict") or {}).get("storageDriver")
    return out


# -- the instruction cache (8, 9) and publishing (10) ------------------------------------------

DEP_STEP = ('RUN ["/bin/busybox", "sh", "-c", "echo RAN-deps; /bin/busybox sleep 4; '
            '/bin/busybox date +%s%N > /marker"]\n')


def edit_project(root: Path, staged: bool) -> Path:
    """A 4 s dependency step, then COPY of one source file: the loop a developer runs."""
    rootfs(fresh(root) / "rootfs")
    (root / "Dockerfile").write_text("FROM scratch\nCOPY rootfs/ /\n" + DEP_STEP +
                                     "COPY app.sh /app.sh\n")
    (root / "werf.yaml").write_text("configVersion: 1\nproject: edit\n---\nimage: app\n"
                                    "dockerfile: Dockerfile\n" +
                                    ("staged: true\n" if staged else ""))
    (root / "app.sh").write_text("echo 0\n")
    os.chmod(root, 0o755)
    return root


def bench_edit(runs: int) -> dict[str, object]:
    root = edit_project(WORK / "edit", staged=False)
    store, raw = WORK / "edit-store", WORK / "edit-raw"
    for path in (store, raw):
        if path.exists():
            sh(["buildah", "--root", str(path), "--storage-driver", "overlay", "rmi", "-a",
                "-f"], check=False)
            shutil.rmtree(path)
    dw = dockwright("build", "--storage-root", str(store), *CHROOT_OVERLAY, "--quiet")
    bb = ["buildah", "--root", str(raw), "--runroot", str(WORK / "edit-raw-run"),
          "--storage-driver", "overlay", "build", "--layers", "--isolation", "chroot",
          "--quiet", "-t", "edit-app", str(root)]
    count = [0]

    def edit() -> None:
        count[0] += 1
        (root / "app.sh").write_text(f"echo {count[0]}\n")

    sh(dw, cwd=root), sh(bb)  # the dependency step, once for each
    xs, ys, peak = side_by_side(lambda: timed(dw, cwd=root, before=edit),
                                lambda: timed(bb, before=edit), runs)
    return {"dockwright_s": stats(xs), "buildah_layers_s": stats(ys),
            "ratio": round(statistics.median(xs) / statistics.median(ys), 3), "goal_ratio": 1.2,
            "peak_rss_mb": round(peak / 1024, 1)}


def second_user() -> tuple[str, list[str]]:
    """An ordinary user, and the argv prefix that runs Debian's python3 as that user with
    dockwright importable (as the integration tests do)."""
    from tests.integration.conftest import _shared_site, ensure_user

    user = ensure_user("dwbench")
    site = _shared_site()
    sh(["/usr/bin/python3", "-m", "compileall", "-q", str(site)], check=False)  # as installed
    sh(["chmod", "-R", "a+rX", str(site)])
    env = [f"HOME={user.pw_dir}", f"PYTHONPATH={site}", "WERF_CONTAINERIZED=no",
           "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
           f"REGISTRY_AUTH_FILE={user.pw_dir}/auth.json"]
    return user.pw_name, ["runuser", "-u", user.pw_name, "--", "env", "-i", *env]


def bench_edit_repo(runs: int) -> dict[str, object]:
    root = edit_project(WORK / "edit-repo", staged=True)
    shutil.rmtree(WORK / "registry-edit", ignore_errors=True)  # nothing from an earlier run
    reg = Registry(WORK / "registry-edit").start()
    user, as_user = second_user()
    home = Path(f"~{user}").expanduser()
    (home / "auth.json").write_text("{}")
    shutil.chown(home / "auth.json", user)
    first = WORK / "edit-repo-store"
    if first.exists():
        sh(["buildah", "--root", str(first), "--storage-driver", "overlay", "rmi", "-a", "-f"],
           check=False)
        shutil.rmtree(first)
    try:
        repo = f"{reg.host}/edit"
        sh(dockwright("build", "--storage-root", str(first), *CHROOT_OVERLAY, "--quiet",
                      "--repo", repo), cwd=root)
        store = home / "edit-store"
        from tests.integration.conftest import Builder

        flags = ["--root", str(store), "--runroot", str(Builder(user, store).run_root),
                 "--storage-driver", "overlay"]
        argv = [*as_user, "/usr/bin/python3", "-m", "dockwright", "build", "--storage-root",
                str(store), "--buildah-mode", "native-chroot", "--storage-driver", "overlay",
                "--log-format", "plain", "--repo", repo]

        def fresh() -> None:
            sh([*as_user, "buildah", "unshare", "rm", "-rf", str(store),
                str(home / ".cache")], check=False)

        builds, pulls, markers, ran = [], [], set(), 0
        for n in range(runs + 1):
            fresh()
            (root / "app.sh").write_text(f"echo repo {n}\n")
            start = time.perf_counter()
            p = sh(argv, cwd=root)
            took = time.perf_counter() - start
            ran += "[app] RAN-deps" in p.stderr
            digest = next(line.split("\t")[1] for line in p.stdout.splitlines()
                          ).rsplit(":", 1)[1].split("-")[0]
            names = sh([*as_user, "buildah", *flags, "images", "--format",
                        "{{.Name}}:{{.Tag}}"]).stdout.split()
            local_ref = next((n for n in names if n.startswith(f"localhost/edit:{digest}-")),
                             None)
            if local_ref is None:
                raise SystemExit(f"no local image for {digest}: {names}\n{p.stdout}\n"
                                 f"{p.stderr[-3000:]}")
            bb = " ".join(["buildah", *flags])
            markers.add(sh([*as_user, "buildah", *flags, "unshare", "sh", "-c",
                            f"c=$({bb} from --pull=never -q {local_ref}) && cat "
                            f"$({bb} mount $c)/marker; {bb} rm $c >/dev/null"]).stdout.strip())
            # the pull it needs, alone: the cached step it builds on, into an empty store
            (pulled,) = [line.split()[-1] for line in p.stderr.splitlines()
                         if "FROM " in line and "STEP 1/" in line]
            tag = next((t for t in reg.tags("edit")
                        if t.startswith("cache-") and _config_id(repo, t) == pulled), None)
            if tag is None:
                raise SystemExit(f"the build took no cached step:\n{p.stderr[-3000:]}")
            fresh()
            start_pull = time.perf_counter()
            sh([*as_user, "buildah", *flags, "pull", "--quiet", "--tls-verify=false",
                f"{repo}:{tag}"])
            pull = time.perf_counter() - start_pull
            if n:  # the first is a warm-up
                builds.append(took)
                pulls.append(pull)
    finally:
        reg.stop()
    return {"second_user_build_s": stats(builds), "pull_s": stats(pulls),
            "dependency_step_ran": ran, "distinct_markers": len(markers),
            "goal_s": "at most 1.5 + pull_s",
            "met": statistics.median(builds) <= 1.5 + statistics.median(pulls)}


def _config_id(repo: str, tag: str) -> str:
    config = sh(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{repo}:{tag}"])
    return str(json.loads(config.stdout)["config"]["digest"]).removeprefix("sha256:")


def bench_publish(runs: int) -> dict[str, object]:
    """A freshly built stage (FROM a 200 MB base the registry has) to --repo: dockwright's
    whole publish step (its log says how long) against ``buildah push`` of that image."""
    root = fresh(WORK / "publish")
    rootfs(root / "base" / "rootfs")
    (root / "base" / "Dockerfile").write_text(
        'FROM scratch\nCOPY rootfs/ /\nRUN ["/bin/busybox", "dd", "if=/dev/urandom", '
        '"of=/big", "bs=1M", "count=200"]\n')
    (root / "app").mkdir()
    (root / "app" / "Dockerfile").write_text(
        'FROM localhost/pubbase:1\nRUN ["/bin/busybox", "sh", "-c", "date > /built"]\n')
    (root / "werf.yaml").write_text("configVersion: 1\nproject: pub\n---\nimage: app\n"
                                    "context: app\ndockerfile: Dockerfile\n")
    store = WORK / "publish-store"
    if store.exists():
        sh(["buildah", "--root", str(store), "--storage-driver", "overlay", "rmi", "-a", "-f"],
           check=False)
        shutil.rmtree(store)
    flags = ["--root", str(store), "--runroot", str(WORK / "publish-run"), "--storage-driver",
             "overlay"]
    sh(["buildah", *flags, "build", "--isolation", "chroot", "-q", "-t", "localhost/pubbase:1",
        str(root / "base")])
    shutil.rmtree(WORK / "registry-publish", ignore_errors=True)
    reg = Registry(WORK / "registry-publish").start()
    try:
        built = sh(dockwright("build", "--storage-root", str(store), *CHROOT_OVERLAY,
                              "--log-format", "plain"), cwd=root)
        ref = built.stdout.split("\t")[1]
        publish, push, total = [], [], []
        for n in range(runs + 1):
            for side in ("dw", "raw"):  # each gets a repository that has the base already
                sh(["buildah", *flags, "push", "--tls-verify=false", "localhost/pubbase:1",
                    f"docker://{reg.host}/{side}{n}:base"])
            start = time.perf_counter()
            out = sh(dockwright("build", "--storage-root", str(store), *CHROOT_OVERLAY,
                                "--log-format", "plain", "--repo", f"{reg.host}/dw{n}"),
                     cwd=root).stderr
            whole = time.perf_counter() - start
            (line,) = [x for x in out.splitlines() if "published the stage in " in x]
            step = float(line.split("published the stage in ")[1].split()[0])
            raw = timed(["buildah", *flags, "push", "--tls-verify=false", ref,
                         f"docker://{reg.host}/raw{n}:stage"])[0]
            if n:
                publish.append(step)
                push.append(raw)
                total.append(whole)
    finally:
        reg.stop()
    goal = 1.5 * statistics.median(push) + 0.3
    return {"dockwright_publish_s": stats(publish), "buildah_push_s": stats(push),
            "goal_s": round(goal, 3), "met": statistics.median(publish) <= goal,
            "whole_build_s": stats(total)}


CLEANUP_DOCKERFILE = """FROM scratch
COPY rootfs/ /
COPY v.txt /v.txt
RUN ["/bin/busybox", "sh", "-c", "cat /v.txt > /w"]
RUN ["/bin/busybox", "sh", "-c", "cat /w /w > /x"]
LABEL built=yes
"""


def bench_cleanup(runs: int, projects: int = 20, builds: int = 5) -> dict[str, object]:
    """A store (overlay) filled by ``projects * builds`` builds (7 images each: the stage and
    the images of its steps), then ``host cleanup`` with nothing kept but the rules' minimum
    (usage 0, --keep-hours 0): its time against the fill's, what it removed and freed, and
    that every project's latest build is still a no-op. Then the cost of the host cleanup
    check on a no-op build that needs no cleanup (usage under the threshold, and over it
    right after a cleanup that left it there), against the check turned off."""
    root = fresh(WORK / "cleanup")
    store = WORK / "cleanup-store"
    flags = ["--root", str(store), "--runroot", "/tmp/dockwright-run-0/" +
             str(store).strip("/").replace("/", "_"), "--storage-driver", "overlay"]
    sh(["buildah", *flags, "rmi", "-a", "-f"], check=False)
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(WORK / "cache" / "dockwright" / "usage", ignore_errors=True)
    dw = dockwright("build", "--storage-root", str(store), *CHROOT_OVERLAY, "--quiet")
    dirs = []
    for n in range(projects):
        d = root / f"p{n}"
        rootfs(d / "rootfs")
        (d / "Dockerfile").write_text(CLEANUP_DOCKERFILE)
        (d / "werf.yaml").write_text(f"configVersion: 1\nproject: clean{n}\n---\nimage: app\n"
                                     "dockerfile: Dockerfile\n")
        dirs.append(d)
    start = time.perf_counter()
    for b in range(builds):
        for d in dirs:
            (d / "v.txt").write_text(f"project {d.name}, build {b}\n")
            sh(dw, cwd=d)
    fill = time.perf_counter() - start
    listed = sh(["buildah", *flags, "images", "--all", "--quiet"]).stdout.split()
    size_before = int(sh(["du", "-sb", str(store)]).stdout.split()[0])
    clean = dockwright("host", "cleanup", "--storage-root", str(store), *CHROOT_OVERLAY,
                       "--allowed-backend-storage-volume-usage", "0", "--keep-hours", "0")
    start = time.perf_counter()
    out = sh(clean).stdout
    took = time.perf_counter() - start
    left = sh(["buildah", *flags, "images", "--all", "--quiet"]).stdout.split()
    size_after = int(sh(["du", "-sb", str(store)]).stdout.split()[0])
    summary = next(line for line in out.splitlines() if line.startswith("host cleanup:"))
    reused = 0
    for d in dirs:
        states = sh(dw, cwd=d).stdout.split("\t")
        reused += states[2] == "reused"
    # the check after a build: under the threshold (one statvfs), over it just after a
    # cleanup that could not get under it (one more small file read), and off
    d = dirs[0]
    off = {**ENV, "WERF_DISABLE_AUTO_HOST_CLEANUP": "1"}
    on = {**ENV, "WERF_DISABLE_AUTO_HOST_CLEANUP": "0"}
    under = [*dw, "--allowed-backend-storage-volume-usage", "100"]
    over = [*dw, "--allowed-backend-storage-volume-usage", "0"]
    sh(over, cwd=d, env=on)  # starts the one cleanup; the next builds do not start another
    time.sleep(3)
    xs_under, xs_off, _ = side_by_side(lambda: timed(under, cwd=d, env=on),
                                       lambda: timed(dw, cwd=d, env=off), runs * 2)
    xs_over, xs_off2, _ = side_by_side(lambda: timed(over, cwd=d, env=on),
                                       lambda: timed(dw, cwd=d, env=off), runs * 2)
    return {"images_before": len(listed), "images_after": len(left), "fill_s": round(fill, 2),
            "cleanup_s": round(took, 3), "ratio_to_fill": round(took / fill, 3),
            "summary": summary, "latest_reused": f"{reused}/{len(dirs)}",
            "store_mb_before": round(size_before / 1e6, 1),
            "store_mb_after": round(size_after / 1e6, 1),
            "noop_check_under_s": stats(xs_under), "noop_check_off_s": stats(xs_off),
            "check_cost_under_ms": round(1000 * (statistics.median(xs_under)
                                                 - statistics.median(xs_off)), 1),
            "noop_check_over_s": stats(xs_over), "noop_check_off2_s": stats(xs_off2),
            "check_cost_over_ms": round(1000 * (statistics.median(xs_over)
                                                - statistics.median(xs_off2)), 1)}


def bench_platforms(runs: int) -> dict[str, object]:
    """4 images for linux/amd64 and linux/arm64 (through QEMU), to a loopback --repo: the
    two-platform build against each platform alone (each run an empty store and an empty
    repository), and the no-op rebuild of both against the no-op of one."""
    from tests.integration.test_platforms import arm64_busybox_path

    arm64 = arm64_busybox_path()
    root = fresh(WORK / "platforms")
    four_images(root, "plat4", lambda n: (
        "FROM scratch\nARG TARGETARCH\nCOPY rootfs-${TARGETARCH}/ /\n"
        f'RUN ["/bin/busybox", "sh", "-c", "for i in 1 2 3 4 5; do /bin/busybox md5sum '
        f'/bin/busybox; done > /sums; echo {n}"]\n'))
    for n in range(4):
        rootfs(root / f"i{n}" / "rootfs-amd64")
        (root / f"i{n}" / "rootfs-arm64" / "bin").mkdir(parents=True)
        shutil.copy2(arm64, root / f"i{n}" / "rootfs-arm64" / "bin" / "busybox")
    store = WORK / "plat-store"
    _, clean = vfs_store(store)
    reg = Registry(fresh(WORK / "registry-plat")).start()
    counter = iter(range(10_000))
    try:
        def cold(platform: str) -> tuple[float, int]:
            repo = f"{reg.host}/plat{next(counter)}"  # an empty repository each run
            return timed(dockwright("build", "--storage-root", str(store), *CHROOT_VFS,
                                    "--quiet", "--repo", repo, "--platform", platform),
                         cwd=root, before=clean)

        both, amd, arm = [], [], []
        cold("linux/amd64,linux/arm64")  # warm-up
        peak = 0
        for _ in range(runs):
            t, p = cold("linux/amd64,linux/arm64")
            both.append(t)
            peak = max(peak, p)
            amd.append(cold("linux/amd64")[0])
            arm.append(cold("linux/arm64")[0])
        repo = f"{reg.host}/plat-noop"
        noop = dockwright("build", "--storage-root", str(store), *CHROOT_VFS, "--quiet",
                          "--repo", repo, "--platform")
        clean()
        sh([*noop, "linux/amd64,linux/arm64"], cwd=root)
        xs, ys, _ = side_by_side(lambda: timed([*noop, "linux/amd64,linux/arm64"], cwd=root),
                                 lambda: timed([*noop, "linux/amd64"], cwd=root), runs)
    finally:
        reg.stop()
    alone = statistics.median(amd) + statistics.median(arm)
    return {"two_platforms_s": stats(both), "amd64_alone_s": stats(amd),
            "arm64_alone_s": stats(arm),
            "ratio_to_both_alone": round(statistics.median(both) / alone, 3),
            "noop_two_platforms_s": stats(xs), "noop_one_platform_s": stats(ys),
            "noop_ratio": round(statistics.median(xs) / statistics.median(ys), 3),
            "goal_noop_ratio": 1.2, "peak_rss_mb": round(peak / 1024, 1)}


# times one command from inside (a container), printing "<seconds> <exit code>"
TIMER = ("import subprocess, sys, time\nt = time.perf_counter()\n"
         "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
         "print(f'{time.perf_counter() - t:.4f} {r.returncode}')")


def bench_ci_image(runs: int) -> dict[str, object]:
    """dockwright's own image (make image): its size, the time from `podman run` to a no-op
    build done, and a cold build inside the container against the same build on the host
    (the build user there, an ordinary user here: both rootless, native-chroot, overlay,
    an empty store and an empty cache)."""
    from tests.integration.ci import STORE, Podman, make_image

    image = make_image()
    podman = Podman.probe(image.ref)
    reg = Registry(fresh(WORK / "registry-ci")).start()
    try:  # what a runner pulls: the layers as a registry stores them (gzip)
        target = f"docker://{reg.host}/dockwright:bench"
        sh(["skopeo", "copy", "-q", "--dest-tls-verify=false",
            f"containers-storage:{image.ref}", target])
        manifest = json.loads(sh(["skopeo", "inspect", "--raw", "--tls-verify=false",
                                  target]).stdout)
        pushed = manifest["config"]["size"] + sum(x["size"] for x in manifest["layers"])
    finally:
        reg.stop()

    root = fresh(WORK / "ci-cold")
    rootfs(root / "ctx" / "rootfs")
    (root / "ctx" / "Dockerfile").write_text(  # row 3's workload
        'FROM scratch\nCOPY rootfs/ /\nRUN ["/bin/busybox", "sh", "-c", "for i in 1 2 3; do '
        '/bin/busybox dd if=/dev/urandom of=/blob$i bs=1M count=8 2>/dev/null; done; '
        '/bin/busybox sleep 2"]\n')
    (root / "werf.yaml").write_text("configVersion: 1\nproject: cicold\n---\nimage: app\n"
                                    "context: ctx\ndockerfile: Dockerfile\n")
    sh(["chmod", "-R", "a+rwX", str(root)])
    user, as_user = second_user()
    owner = Path(f"~{user}").expanduser().stat()
    build = ["--quiet"]

    def inside(*options: str) -> tuple[float, float]:
        """(wall time of podman run, the build's own time inside)."""
        start = time.perf_counter()
        done = podman.run(image.ref, "python3", "-c", TIMER, "dockwright", "build", *build,
                          options=["-v", f"{root}:/src", "-w", "/src", *options])
        wall = time.perf_counter() - start
        seconds, code = done.out.split()
        assert done.code == 0 and code == "0", done.text
        return wall, float(seconds)

    def on_host() -> float:
        base = WORK / "ci-host"  # the user's: the overlay probe writes next to the store
        if base.exists():
            sh([*as_user, "buildah", "unshare", "rm", "-rf", str(base / "store")],
               check=False)
        store, cache = base / "store", fresh(base) / "cache"
        for d in (base, store, cache):
            d.mkdir()
            os.chown(d, owner.st_uid, owner.st_gid)
        out = sh([*as_user, f"XDG_CACHE_HOME={cache}", "WERF_DISABLE_AUTO_HOST_CLEANUP=1",
                  "/usr/bin/python3", "-c", TIMER, "/usr/bin/python3", "-m", "dockwright",
                  "build", "--storage-root", str(store), *CHROOT_OVERLAY, *build],
                 cwd=root).stdout.split()
        assert out[1] == "0", out
        return float(out[0])

    def cold_inside() -> float:
        return inside()[1]  # a fresh anonymous volume: an empty store

    cold_inside(), on_host()  # warm-up
    xs, ys = [], []
    for _ in range(runs):
        xs.append(cold_inside())
        ys.append(on_host())

    # a runner's volumes (docs/ci.md) that already hold the stage: the build is a no-op
    kept, cache = fresh(WORK / "ci-store"), fresh(WORK / "ci-cache")
    for d in (kept, cache):
        d.mkdir()
        os.chown(d, 1000, 1000)
    volumes = ("-v", f"{kept}:{STORE}", "-v", f"{cache}:/home/build/.cache")
    inside(*volumes)
    walls, noops = [], []
    for _ in range(runs):
        wall, noop = inside(*volumes)
        walls.append(wall)
        noops.append(noop)
    shutil.rmtree(kept, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return {"image": image.ref, "image_size_mb": round(image.size / 1e6, 1),
            "image_pushed_mb": round(pushed / 1e6, 1), "goal_size_mb": 250,
            "cold_container_s": stats(xs), "cold_host_s": stats(ys),
            "cold_ratio": round(statistics.median(xs) / statistics.median(ys), 3),
            "goal_cold_ratio": 1.1, "start_to_noop_s": stats(walls), "noop_inside_s":
            stats(noops), "start_overhead_s": round(statistics.median(walls)
                                                    - statistics.median(noops), 3),
            "goal_start_overhead_s": 1.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--bytes", type=int, default=1_000_000_000)
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args()
    assert os.getuid() == 0, "run the benchmarks as root"
    WORK.mkdir(parents=True, exist_ok=True)
    out = HERE / "results" / "latest.json"
    results: dict[str, object] = json.loads(out.read_text()) if args.only and out.exists() \
        else {}
    results |= {
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                    "python": platform.python_version(),
                    "buildah": sh(["buildah", "--version"]).stdout.strip(),
                    "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")},
    }
    todo: list[tuple[str, Callable[[], dict[str, object]]]] = [
        ("1_noop_rebuild", lambda: bench_noop(args.runs)),
        ("1b_templated_noop", lambda: bench_templated_noop(args.runs)),
        ("2_registry_reuse", lambda: bench_registry(args.runs)),
        ("3_cold_build", lambda: bench_cold(args.runs)),
        ("4_context_hashing", lambda: bench_context(args.runs, args.files, args.bytes)),
        ("5_parallelism", lambda: bench_parallel(args.runs)),
        ("6_storage", bench_storage),
        ("8_edit_rebuild", lambda: bench_edit(args.runs)),
        ("9_edit_empty_store_repo", lambda: bench_edit_repo(args.runs)),
        ("10_publish", lambda: bench_publish(args.runs)),
        ("11_git_context", lambda: bench_git_context(args.runs, args.files, args.bytes)),
        ("12_host_cleanup", lambda: bench_cleanup(args.runs)),
        ("13_ci_image", lambda: bench_ci_image(args.runs)),
        ("14_platforms", lambda: bench_platforms(args.runs)),
    ]
    for name, fn in todo:
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        print(f"== {name}", flush=True)
        results[name] = fn()
        print(json.dumps(results[name], indent=1), flush=True)
    peaks = [float(r["peak_rss_mb"]) for r in results.values() if isinstance(r, dict)
             and r.get("peak_rss_mb")]
    results["7_peak_memory_mb"] = {"max": max(peaks, default=0), "goal": 150}
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"== 7_peak_memory_mb\n{json.dumps(results['7_peak_memory_mb'])}\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
