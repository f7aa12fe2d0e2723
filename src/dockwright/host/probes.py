"""Functional probes: things only a real try can tell (a runtime runs a container, native
overlay mounts, the user namespace gets its full mapping).

Each costs process starts, so results are cached in ``~/.cache/dockwright/probes.json`` under
a fingerprint of everything they depend on (kernel, boot, binaries' stat including ctime so a
setcap or chmod counts, subuid/subgid files, storage filesystem); a change of any of these
runs the probe again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from dockwright import cachefile, run
from dockwright.engine.base import Isolation, StoreOptions
from dockwright.engine.buildah import BuildahEngine
from dockwright.host import container
from dockwright.host.view import HostView

CACHE_VERSION = 2
CACHE_ENTRIES = 256  # probe results kept in the file, the newest


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str  # what was seen: an error line, or a short description


def cache_dir(env: Mapping[str, str], home: Path) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(home / ".cache")
    return Path(base) / "dockwright"


def _stamp(entry: object) -> int:
    at = entry.get("at") if isinstance(entry, dict) else None
    return at if isinstance(at, int) else 0


def _stat_key(path: str | Path | None) -> str:
    if not path:
        return "-"
    try:
        st = os.stat(path)
    except OSError:
        return f"{path}:absent"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_mode:o}"


class Prober:
    """Runs probes on the real host, with a cache. ``use_cache=False`` always probes."""

    def __init__(self, view: HostView, use_cache: bool = True) -> None:
        self.view = view
        self.env = dict(view.env)
        self.use_cache = use_cache
        self._path = cache_dir(self.env, view.identity.home) / "probes.json"
        self._cache: dict[str, dict[str, object]] | None = None
        self._memo: dict[str, ProbeResult] = {}  # this process: each probe runs once

    def forget(self) -> None:
        """After the host changed (fixes applied): probe everything again."""
        self._memo.clear()
        self.use_cache = False

    # -- cache --------------------------------------------------------------------------------
    def _fingerprint(self, name: str, *parts: str) -> str:
        common = (
            str(CACHE_VERSION), name, str(self.view.identity.uid), self.view.kernel_release(),
            (self.view.read("/proc/sys/kernel/random/boot_id") or "").strip(),
            _stat_key(shutil.which("buildah", path=self.env.get("PATH"))),
            _stat_key(shutil.which("newuidmap", path=self.env.get("PATH"))),
            _stat_key(shutil.which("newgidmap", path=self.env.get("PATH"))),
            self.view.read("/etc/subuid") or "", self.view.read("/etc/subgid") or "",
            self.view.sysctl("user.max_user_namespaces") or "",
            # what confines this process (a container's seccomp filter, AppArmor profile,
            # capabilities): a cache shared by containers started differently stays right
            self.view.status_field("Seccomp") or "", self.view.status_field("CapEff") or "",
            container.apparmor_profile(self.view),
        )
        return hashlib.sha256("\0".join((*common, *parts)).encode()).hexdigest()

    def _load(self) -> dict[str, dict[str, object]]:
        if self._cache is None:
            try:
                self._cache = json.loads(self._path.read_text())
            except (OSError, ValueError):
                self._cache = {}
        return self._cache

    def _cached(self, key: str) -> ProbeResult | None:
        if key in self._memo:
            return self._memo[key]
        if not self.use_cache:
            return None
        hit = self._load().get(key)
        if isinstance(hit, dict) and isinstance(hit.get("ok"), bool):
            return ProbeResult(bool(hit["ok"]), str(hit.get("detail", "")))
        return None

    def _store(self, key: str, result: ProbeResult) -> ProbeResult:
        """Remember ``result``; the file keeps the ``CACHE_ENTRIES`` newest results (every
        store path and host change makes a key of its own, so old ones pile up)."""
        self._memo[key] = result
        cache = self._load()
        cache[key] = {"ok": result.ok, "detail": result.detail, "at": time.time_ns() // 10**6}
        if len(cache) > CACHE_ENTRIES:
            newest = sorted(cache, key=lambda k: _stamp(cache[k]))[-CACHE_ENTRIES:]
            cache = self._cache = {k: cache[k] for k in newest}
        cachefile.write(self._path, json.dumps(cache, indent=1, sort_keys=True).encode())
        return result

    # -- probes -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _scratch_store(self, isolation: Isolation | None = None) -> Iterator[BuildahEngine]:
        """An engine on a throw-away vfs store, so that probes never touch the user's
        images."""
        base = tempfile.mkdtemp(prefix="dockwright-probe-")
        engine = BuildahEngine(self.env, StoreOptions(Path(base) / "root", Path(base) / "run",
                                                      "vfs"), isolation)
        try:
            yield engine
        finally:
            shutil.rmtree(base, ignore_errors=True)
            if os.path.exists(base):  # files owned by sub-ids: remove from inside the userns
                engine.unshare("rm", "-rf", base)

    def _conf_override(self) -> str:
        """containers.conf settings given through the environment (host/limits.py): a
        container that failed without them may run with them."""
        path = self.env.get("CONTAINERS_CONF_OVERRIDE", "")
        return f"{path}:{self.view.read(path) or ''}" if path else "-"

    def _run_trivial(self, runtime: str, *options: str) -> run.Result:
        """``true`` in a scratch container, the host's programs mounted read-only, run by
        ``runtime`` with ``options``: what a RUN step needs, and nothing of the user's."""
        with self._scratch_store(Isolation("oci", runtime)) as engine:
            container = f"dockwright-probe-{os.getpid()}"
            made = engine.from_image("scratch", container)
            if not made.ok:
                return made
            mounts: list[str] = []
            for directory in ("/usr", "/lib", "/lib64", "/bin"):
                if os.path.isdir(directory):
                    mounts += ["--volume", f"{directory}:{directory}:ro"]
            tried = engine.run_in(container, [*options, *mounts], ["true"], timeout=120)
            engine.rm(container)
            return tried

    def buildah_version(self) -> ProbeResult:
        """``buildah --version``: its version line, or why it does not run."""
        key = self._fingerprint("buildah-version")
        cached = self._cached(key)
        if cached:
            return cached
        res = BuildahEngine(self.env).version()
        detail = res.stdout.strip() if res.ok else run.last_line(res.stderr)
        return self._store(key, ProbeResult(res.ok, detail.split(" (")[0]))

    def runtime(self, runtime: str) -> ProbeResult:
        """Does ``runtime`` run a trivial container here, the way a build would run it?"""
        key = self._fingerprint("runtime", _stat_key(runtime),
                                _fs_type("/sys/fs/cgroup"), self._conf_override())
        cached = self._cached(key)
        if cached:
            return cached
        tried = self._run_trivial(runtime, "--network", "host")
        if tried.ok:
            return self._store(key, ProbeResult(True, "ran a container"))
        return self._store(key, ProbeResult(False, _runtime_error(tried.stderr)))

    def private_network(self, runtime: str) -> ProbeResult:
        """Does a RUN step get a network of its own here (Buildah's default: netavark or CNI
        as root, slirp4netns or pasta rootless)? A trivial container, without --network."""
        helpers = [_stat_key(p) for p in ("/usr/lib/podman/netavark", "/usr/libexec/podman/"
                                           "netavark", "/usr/bin/slirp4netns", "/usr/bin/pasta",
                                           "/dev/net/tun")]
        key = self._fingerprint("private-network", _stat_key(runtime), *helpers,
                                self.env.get("PATH", ""),  # netavark runs iptables from PATH
                                self._conf_override())
        cached = self._cached(key)
        if cached:
            return cached
        tried = self._run_trivial(runtime)
        if tried.ok:
            return self._store(key, ProbeResult(True, "a container got its own network"))
        return self._store(key, ProbeResult(False, run.last_line(tried.stderr)
                                            .removeprefix("Error: ")))

    def userns_create(self) -> ProbeResult:
        """May this process create a user namespace at all (a container's seccomp filter or
        AppArmor profile, or the sysctls, may forbid it)?"""
        key = self._fingerprint("userns-create")
        cached = self._cached(key)
        if cached:
            return cached
        res = run.run(["unshare", "--user", "--map-root-user", "true"], env=self.env,
                      check=False)
        if res.ok:
            return self._store(key, ProbeResult(True, "unshare --user works"))
        return self._store(key, ProbeResult(False, run.last_line(res.stderr)
                                            or f"unshare exited {res.returncode}"))

    def userns_mapping(self) -> ProbeResult:
        """Does Buildah's user namespace get the full sub-id mapping (not a single id)?"""
        key = self._fingerprint("userns")
        cached = self._cached(key)
        if cached:
            return cached
        with self._scratch_store() as engine:
            res = engine.unshare("cat", "/proc/self/uid_map")
        lines = [line for line in res.stdout.splitlines() if line.strip()]
        if res.ok and len(lines) > 1:
            return self._store(key, ProbeResult(True, " | ".join(" ".join(x.split())
                                                                 for x in lines)))
        detail = run.last_line(res.stderr) if not res.ok else \
            "single mapping only: " + (_warning(res.stderr) or " ".join(lines[0].split())
                                       if lines else "no uid_map")
        return self._store(key, ProbeResult(False, detail))

    def native_overlay(self, storage_parent: Path) -> ProbeResult:
        """Can this user mount kernel overlay where the store lives?"""
        key = self._fingerprint("overlay", str(storage_parent), _fs_type(storage_parent),
                                self.view.read("/proc/filesystems") or "")
        cached = self._cached(key)
        if cached:
            return cached
        try:
            storage_parent.mkdir(parents=True, exist_ok=True)
            base = tempfile.mkdtemp(prefix=".dockwright-overlay-probe-", dir=storage_parent)
        except OSError as exc:
            return ProbeResult(False, f"cannot create a test directory in {storage_parent}: "
                               f"{exc.strerror}")
        try:
            for sub in ("lower", "upper", "work", "merged"):
                os.mkdir(os.path.join(base, sub))
            options = (f"lowerdir={base}/lower,upperdir={base}/upper,workdir={base}/work")
            mount = ["mount", "-t", "overlay", "overlay", "-o", options, f"{base}/merged"]
            if not container.needs_userns(self.view):  # root with CAP_SYS_ADMIN
                argv = ["unshare", "--mount", *mount]
            else:
                argv = ["unshare", "--user", "--map-root-user", "--mount", *mount]
            res = run.run(argv, env=self.env, check=False)
        finally:
            shutil.rmtree(base, ignore_errors=True)
        if res.ok:
            return self._store(key, ProbeResult(True, "test mount succeeded"))
        first = next((line.strip() for line in res.stderr.splitlines() if line.strip()), "")
        return self._store(key, ProbeResult(False, first.rsplit(": ", 1)[-1] or "mount failed"))


def _fs_type(path: str | Path) -> str:
    try:
        st = os.statvfs(path)
    except OSError:
        return "-"
    return f"{st.f_fsid}:{st.f_flag}"


def _warning(text: str) -> str:
    for line in text.splitlines():
        if "newuidmap" in line or "newgidmap" in line or "single mapping" in line.lower():
            return line.strip()
    return ""


def _runtime_error(text: str) -> str:
    for line in text.splitlines():
        if "creating container" in line or "cgroup" in line:
            if "creating container" in line:
                return line.split("]: ", 1)[-1] if "]: " in line \
                    else line.split(": ", 1)[-1].strip()
            return line.strip()
    return run.last_line(text)
