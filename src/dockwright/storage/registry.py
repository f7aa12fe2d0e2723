"""Stages in a registry repository: ``<repo>:<digest>-<unix millis>``, as werf keeps them.

All traffic goes through skopeo and Buildah (the user's auth.json, registries.conf and TLS
settings apply). Tags are listed once per build; a missing repository is empty; with several
tags for one digest the oldest wins. Transient failures (refused or reset connections,
5xx answers, timeouts) are retried a bounded number of times with backoff.

Builders racing on one digest agree without a lock. A builder uploads the image first under
``<digest>-upload-<builder>`` (its own tag, not a stage tag: ``<builder>`` is random per
build), then stamps ``<digest>-<now millis>`` and writes only that tag, for its own manifest
(by the manifest digest its upload reported). The oldest stage tag of a digest wins; a
builder or reader takes a tag once no older one can still appear (``settled``), by one of
two rules:

- *Only one builder*: the listing holds one stage tag and one upload tag for the digest,
  and it was started at least ``CLOCK_SKEW_MS`` after that tag's stamp. A builder whose tag
  would be older stamped it after its upload had finished, so that upload would be in the
  listing: there is none. This is the usual case, and the wait is a fraction of a second.
- *Otherwise* (several builders, or tags from before upload tags had a builder): a tag
  stamped at ``m`` is written within ``SETTLE_MS``, which takes well under that, so a
  listing started at ``t`` holds every tag stamped before ``t - SETTLE_MS``; the oldest tag
  in a listing started at or after its stamp plus ``SETTLE_MS`` is the oldest there will
  ever be.

Both assume that every writer of the repository follows this protocol and that builders'
clocks agree to within ``CLOCK_SKEW_MS`` (NTP keeps them within milliseconds).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dockwright import run
from dockwright.engine import skopeo
from dockwright.engine.base import Engine
from dockwright.errors import RegistryError, StageVanished, UsageError
from dockwright.storage import local
from dockwright.storage.local import Stage, oldest_by_digest

if TYPE_CHECKING:
    from dockwright.engine.buildah import BuildahEngine

TRANSIENT = re.compile(
    r"connection refused|connection reset|broken pipe|EOF|i/o timeout|timeout|"
    r"use of closed network connection|"
    r"TLS handshake|no route to host|status code (?:from registry )?5\d\d|"
    r"\b5\d\d (?:Internal|Bad Gateway|Service Unavailable|Gateway Timeout)|"
    r"received unexpected HTTP status: 5\d\d|server gave HTTP response|too many requests|"
    r"\b429\b",  # \b: never the digits inside a quoted hex digest
    re.IGNORECASE,
)
MISSING_REPO = re.compile(r"\b404\b|NAME_UNKNOWN|name unknown|repository name not known",
                          re.IGNORECASE)
MANIFEST_GONE = re.compile(r"manifest unknown|MANIFEST_UNKNOWN", re.IGNORECASE)
# Writing a stage's tag right after its upload: a registry on a filesystem (docker-registry)
# rewrites a blob's link in the repository in place when another builder uploads the same
# layer at that moment, and a manifest written meanwhile is refused ("blob unknown to
# registry", seen here with two runners racing). The upload had succeeded: it passes.
STAMP_TRANSIENT = re.compile(TRANSIENT.pattern + r"|blob unknown", re.IGNORECASE)
SETTLE_MS = 2000  # a tag stamped at m is visible to every listing started after m + SETTLE_MS
CLOCK_SKEW_MS = 250  # builders' clocks agree to within this (module doc)
UPLOAD_SUFFIX = "-upload"  # <digest>-upload-<builder>: the vehicle of a stage's blobs
# an upload tag; without <builder>: written by dockwright before upload tags had one
UPLOAD_RE = re.compile(r"^(?P<digest>[0-9a-f]{56})-upload(?:-(?P<builder>[0-9a-f]{16}))?$")
CREDENTIALS = re.compile(r"(^|//|\s)([^/@\s:]+):[^/@\s]+@")


def redact(text: str) -> str:
    """Remove credentials that a URL in ``text`` may carry."""
    return CREDENTIALS.sub(r"\1\2:***@", text)


def registry_host(repo: str) -> str:
    return repo.split("/", 1)[0]


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]")[0]
    if name == "localhost":
        return True
    import ipaddress  # rarely needed: kept out of every build's start-up

    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def tls_verify_for(repo: str, insecure: Sequence[str]) -> bool:
    """TLS is verified except for registries marked insecure and loopback addresses.

    (Registries marked insecure in registries.conf are honoured by skopeo and Buildah too.)
    """
    host = registry_host(repo)
    return not (is_loopback(host) or host in insecure)


@dataclass(frozen=True)
class Retry:
    attempts: int = 4
    first_delay: float = 0.5
    sleep: Callable[[float], None] = time.sleep


def call(attempt_once: Callable[[], run.Result], what: str, retry: Retry,
         log: Callable[[str], None] | None = None,
         transient: re.Pattern[str] = TRANSIENT) -> run.Result:
    """Make a registry call (an engine's) with bounded retries on transient failures."""
    delay = retry.first_delay
    for attempt in range(1, retry.attempts + 1):
        result = attempt_once()
        if result.ok:
            return result
        if not transient.search(result.stderr) or attempt == retry.attempts:
            return result
        if log:
            log(f"{what}: {_last(result.stderr)}; retrying in {delay:.1f} s "
                f"({attempt}/{retry.attempts - 1})")
        retry.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")


def _last(text: str) -> str:
    """The error a failed skopeo or Buildah call ends with, as one line."""
    line = run.last_line(text, "no output")
    m = re.search(r'msg="((?:[^"\\]|\\.)*)"', line)  # logrus: time=... msg="..."
    if m:  # its escapes undone, and the lines of a multi-error joined
        line = " ".join(re.sub(r'\\([nt"\\])', lambda e: {"n": " ", "t": " "}.get(e[1], e[1]),
                               m[1]).split())
    return redact(line)


def now_millis() -> int:
    return int(time.time() * 1000)


def failure(what: str, result: run.Result, repo: str) -> RegistryError:
    detail = _last(result.stderr)
    if TRANSIENT.search(result.stderr):
        hint = (f"the registry {registry_host(repo)} did not answer after retries; check that "
                "it is up and reachable, then run the command again (finished work is kept)")
    elif re.search(r"(auth|config)\.json\W.*permission denied", result.stderr, re.I):
        hint = ("this user cannot read the auth file named above: fix its permissions or set "
                "REGISTRY_AUTH_FILE to a file of your own (dockwright doctor: registry-auth)")
    elif re.search(r"unauthorized|authentication required|denied", result.stderr, re.I):
        hint = (f"log in first: dockwright login {registry_host(repo)} (it writes the auth "
                "file every registry call of dockwright reads; dockwright doctor names it)")
    elif re.search(r"x509|certificate", result.stderr, re.I):
        hint = (f"the registry's certificate is not trusted: add its CA to "
                f"/etc/containers/certs.d/{registry_host(repo)}/ca.crt, or mark it insecure "
                "(--insecure-registry or registries.conf)")
    else:
        hint = "check the repository name and your access to it"
    return RegistryError(f"{what} failed: {detail}", hint)


@dataclass
class RegistryStages:
    repo: str
    engine: Engine
    tls_verify: bool = True
    retry: Retry = field(default_factory=Retry)
    log: Callable[[str], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    _tags: list[str] | None = None
    _listed_at: int = 0  # unix millis when the listing in _tags was requested
    # from _tags, made once per listing (``_digests``): digest -> its oldest stage tag, and
    # digest -> (stage tags, upload tags with a builder, upload tags without)
    _derived: tuple[dict[str, str], dict[str, tuple[int, int, int]]] | None = None
    builder: str = field(default_factory=lambda: secrets.token_hex(8))  # module doc
    _manifests: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def tags(self, refresh: bool = False) -> list[str]:
        with self._lock:
            if self._tags is not None and not refresh:
                return list(self._tags)
        listed_at = now_millis()
        result = call(lambda: self.engine.list_tags(self.repo, self.tls_verify),
                      f"listing tags of {self.repo}", self.retry, self.log)
        if result.ok:
            tags = skopeo.parse_tags(result.stdout)
        elif MISSING_REPO.search(result.stderr) and not TRANSIENT.search(result.stderr):
            tags = []  # a repository nobody pushed to yet: empty
        else:
            raise failure(f"listing the tags of {redact(self.repo)}", result, self.repo)
        with self._lock:
            self._tags = tags
            self._listed_at = listed_at
            self._derived = None
        return list(tags)

    def find(self, digest: str, refresh: bool = False) -> Stage | None:
        """The oldest stage for ``digest``; the tag index is built once per listing."""
        self.tags(refresh)
        tag = self._digests()[0].get(digest)
        return Stage(self.repo, tag, "") if tag else None

    def upload_tag(self, digest: str) -> str:
        """This build's upload tag for ``digest`` (module doc)."""
        return f"{digest}{UPLOAD_SUFFIX}-{self.builder}"

    def _digests(self) -> tuple[dict[str, str], dict[str, tuple[int, int, int]]]:
        with self._lock:
            if self._derived is None:
                tags = self._tags or []
                self._derived = (oldest_by_digest(tags), shapes(tags))
            return self._derived

    def settled(self, digest: str, refresh: bool = False) -> Stage | None:
        """The oldest stage for ``digest`` once no older tag can still appear (module doc).

        Waits only for a tag stamped less than ``CLOCK_SKEW_MS`` (one builder) or
        ``SETTLE_MS`` (several) before the listing, that is while another builder may be
        storing the same stage right now.
        """
        while True:
            stage = self.find(digest, refresh)
            if stage is None:
                return None
            alone = self._digests()[1].get(digest) == (1, 1, 0)
            settles_at = stage.millis + (CLOCK_SKEW_MS if alone else SETTLE_MS)
            with self._lock:
                if self._listed_at >= settles_at:
                    return stage
            self.sleep(max(0.0, (settles_at - now_millis()) / 1000))
            refresh = True

    def stamp(self, name: str, manifest_digest: str, digest: str) -> tuple[str, int]:
        """Tag the uploaded manifest ``manifest_digest`` as a stage of ``digest``: the tag is
        stamped just before it is written, which costs one manifest write (module doc).
        Returns the tag and its stamp. A failure leaves no tag."""
        stamps: list[int] = []

        def attempt() -> run.Result:  # each attempt stamped just before it writes
            stamps.append(now_millis())
            return self.engine.copy(f"docker://{self.repo}@{manifest_digest}",
                                    f"docker://{self.repo}:{digest}-{stamps[-1]}",
                                    self.tls_verify, self.tls_verify, preserve_digests=True)

        tagged = call(attempt, f"tagging {name} as {redact(self.repo)}:{digest}-<now>",
                      self.retry, self.log, STAMP_TRANSIENT)
        stamp = stamps[-1]
        tag = f"{digest}-{stamp}"
        if not tagged.ok:
            raise failure(f"tagging {name} as {redact(self.repo)}:{tag}", tagged, self.repo)
        took = now_millis() - stamp
        if took > SETTLE_MS and self.log:
            self.log(f"writing the tag {tag} took {took / 1000:.1f} s, longer than the "
                     f"{SETTLE_MS / 1000:.0f} s other builders wait for it: a builder racing "
                     "on the same stage may have picked another tag")
        self.added(tag)
        return tag, stamp

    def push(self, source: str, tag: str, what: str) -> str:
        """Push the local image ``source`` as ``<repo>:<tag>`` with Buildah; returns the
        manifest digest. Buildah writes the manifest after every blob, so a failed push
        leaves no tag; it raises ``RegistryError``."""
        with tempfile.TemporaryDirectory(prefix="dockwright-push-") as tmp:
            digest_file = Path(tmp) / "digest"
            result = call(lambda: self.engine.push(source, f"docker://{self.repo}:{tag}",
                                                   digest_file, self.tls_verify),
                          what, self.retry, self.log)
            if not result.ok:
                raise failure(what, result, self.repo)
            return digest_file.read_text().strip()

    def pull(self, ref: str) -> run.Result:
        """``buildah pull`` of ``ref`` (in this repository), retried like every call here."""
        return call(lambda: self.engine.pull(ref, self.tls_verify), f"pulling {ref}",
                    self.retry, self.log)

    def copy_to(self, source: RegistryStages, ref: str, tag: str, what: str,
                every_platform: bool = False) -> None:
        """Copy ``ref`` (in ``source``) to ``<repo>:<tag>``, registry to registry
        (``every_platform``: a manifest list, with every image it names)."""
        copied = call(lambda: self.engine.copy(f"docker://{ref}", f"docker://{self.repo}:{tag}",
                                               source.tls_verify, self.tls_verify,
                                               every_platform=every_platform),
                      what, self.retry, self.log)
        if not copied.ok:
            raise failure(f"copying {ref} to {self.repo}:{tag}", copied, self.repo)

    def push_list(self, source: str, tag: str, what: str) -> None:
        """Publish a manifest list kept locally (in Buildah's store, or ``oci:<layout>:<tag>``)
        as ``<repo>:<tag>``, with every image it names."""
        dest = f"docker://{self.repo}:{tag}"
        with tempfile.TemporaryDirectory(prefix="dockwright-push-") as tmp:
            def attempt() -> run.Result:
                if source.startswith("oci:"):
                    return self.engine.copy(source, dest, True, self.tls_verify,
                                            every_platform=True)
                return self.engine.manifest_push(source, dest, Path(tmp) / "digest",
                                                 self.tls_verify)

            pushed = call(attempt, what, self.retry, self.log)
        if not pushed.ok:
            raise failure(what, pushed, self.repo)

    def manifest(self, tag: str) -> str:
        """The raw manifest of ``tag``; read once per build (a tag never changes content)."""
        with self._lock:
            if tag in self._manifests:
                return self._manifests[tag]
        result = call(lambda: self.engine.inspect_raw(f"{self.repo}:{tag}", self.tls_verify),
                      f"reading {self.repo}:{tag}", self.retry, self.log)
        if not result.ok and MANIFEST_GONE.search(result.stderr):
            self.forget(tag)
            raise StageVanished(f"{redact(self.repo)}:{tag} is not in the registry any more",
                                "it was deleted after this build listed the tags (a cleanup?)")
        if not result.ok:
            raise failure(f"reading the manifest of {redact(self.repo)}:{tag}", result,
                          self.repo)
        with self._lock:
            self._manifests[tag] = result.stdout
        return result.stdout

    def size(self, tag: str) -> str:
        """Compressed size of the image in the registry, as Buildah prints sizes."""
        data = json.loads(self.manifest(tag))
        total = sum(int(x.get("size", 0)) for x in [data.get("config", {}),
                                                     *data.get("layers", [])])
        return f"{total / 1e6:.3g} MB"

    def image_id(self, tag: str) -> str:
        return skopeo.config_digest(self.manifest(tag))

    def manifest_digest(self, tag: str) -> str:
        return "sha256:" + hashlib.sha256(self.manifest(tag).encode()).hexdigest()

    def find_tag(self, tag: str) -> bool:
        """Is ``tag`` in the listing (a manifest list's, which never changes content)?"""
        return tag in self.tags()

    def forget(self, tag: str) -> None:
        """``tag`` was deleted since the listing."""
        with self._lock:
            if self._tags is not None and tag in self._tags:
                self._tags.remove(tag)
                self._derived = None

    def added(self, tag: str) -> None:
        with self._lock:
            if self._tags is not None and tag not in self._tags:
                self._tags.append(tag)
                self._derived = None


def shapes(tags: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    """Per digest: its stage tags, upload tags with a builder, upload tags without one."""
    out: dict[str, list[int]] = {}
    for tag in tags:
        stage = local.TAG_RE.match(tag)
        upload = None if stage else UPLOAD_RE.match(tag)
        if stage:
            out.setdefault(stage["digest"], [0, 0, 0])[0] += 1
        elif upload:
            out.setdefault(upload["digest"], [0, 0, 0])[1 if upload["builder"] else 2] += 1
    return {d: (n[0], n[1], n[2]) for d, n in out.items()}


REGISTRY_NAME = re.compile(r"^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:]+\])(?::[0-9]+)?$")


def login(engine: BuildahEngine, registry: str, username: str, password: str,
          authfile: str, tls_verify: bool) -> None:
    """Store a login for ``registry`` in ``authfile``, once the registry accepted it."""
    _check_name(registry)
    result = engine.login(registry, username, password, authfile, tls_verify)
    if result.ok:
        return
    if re.search(r"unauthorized|authentication required|invalid username|incorrect",
                 result.stderr, re.I) and not TRANSIENT.search(result.stderr):
        raise RegistryError(f"{registry} refused the login of {username!r}: "
                            f"{_last(result.stderr)}",
                            "check the username and password (or token); nothing was stored")
    raise failure(f"logging in to {registry}", result, registry)


def logout(engine: BuildahEngine, registry: str | None, authfile: str) -> bool:
    """Remove the login for ``registry`` (every login when None); False if there was none."""
    if registry is not None:
        _check_name(registry)
    result = engine.logout(registry, authfile)
    if result.ok:
        return True
    if re.search(r"not logged in", result.stderr, re.I):
        return False
    raise failure(f"logging out of {registry or 'every registry'}", result, registry or "")


def _check_name(registry: str) -> None:
    if not REGISTRY_NAME.match(registry):
        raise UsageError(f"{redact(registry)!r} is not a registry host",
                            "give HOST or HOST:PORT, for example registry.example.com or "
                            "127.0.0.1:5000, without a scheme or a path")
