"""Registry cleanup: delete the stages of a ``--repo`` that keep policies do not keep.

What is in the repository, by tag (``storage/registry.py``, ``storage/stepcache.py``):

- ``<digest>-<millis>``: a stage, stored at ``millis``, of the image its
  ``dockwright-image`` label names;
- ``cache-<key>``: a cached step of a ``staged: true`` image;
- ``<digest>-upload-<builder>`` (``<digest>-upload`` from older builds): the vehicle of a
  stage's upload (the same manifest as its stage, or a build's that lost a race);
- anything else: a tag a user or a build's ``--add-custom-tag`` gave, never deleted.

Kept, with the reason printed: per image the ``keep_stages`` newest stages; stages stored
within the grace period; stages whose manifest the final repository, a custom tag or a
``--keep-tag`` pattern names; cached steps younger than the grace period or under a kept
stage (its layers start with theirs). A registry deletes by manifest, which takes every tag
of that manifest with it: a manifest that a kept tag names is never deleted.

``decide`` is pure; ``cleanup`` lists, inspects, decides and deletes through the engine.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockwright import run
from dockwright.errors import RegistryError
from dockwright.storage import local
from dockwright.storage.registry import (
    UPLOAD_RE,
    RegistryStages,
    Retry,
    call,
    failure,
    redact,
)

if TYPE_CHECKING:
    from dockwright.engine.buildah import BuildahEngine
    from dockwright.options import RepoCleanupOptions

HOUR_MS = 3_600_000
CACHE = re.compile(r"^cache-[0-9a-f]{64}$")
GONE = re.compile(r"manifest unknown|MANIFEST_UNKNOWN|not found|\b404\b|(?:does|may) not exist",
                  re.IGNORECASE)
NO_DELETES = re.compile(r"\b405\b|UNSUPPORTED|method not allowed|not supported|"
                        r"unsupported operation", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    """One tag of the repository, as inspected."""

    tag: str
    digest: str  # the manifest's, "sha256:..."
    stored: int  # unix millis: a stage's stamp, else the image's creation
    image: str = ""  # the dockwright-image label
    layers: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        if local.TAG_RE.match(self.tag):
            return "stage"
        if CACHE.match(self.tag):
            return "cache"
        if UPLOAD_RE.match(self.tag):
            return "upload"
        return "other"


@dataclass(frozen=True)
class Policy:
    keep_stages: int
    keep_ms: int
    keep_tags: tuple[re.Pattern[str], ...] = ()


def decide(entries: Sequence[Entry], policy: Policy, now: int,
           final: frozenset[str] = frozenset()) -> tuple[list[Entry], dict[str, str]]:
    """The tags to delete (one per manifest) and, for every other tag, why it stays.
    ``final``: the tags and manifest digests the final repository holds."""
    kept: dict[str, str] = {}
    others = {e.digest: e.tag for e in entries if e.kind == "other"}
    recent = now - policy.keep_ms
    by_image: dict[str, list[Entry]] = {}
    for e in entries:
        if e.kind == "stage":
            by_image.setdefault(e.image, []).append(e)
    newest = {e.tag for stages in by_image.values()
              for e in sorted(stages, key=lambda s: -s.stored)[:policy.keep_stages]}
    for e in entries:
        matched = next((p.pattern for p in policy.keep_tags if p.search(e.tag)), None)
        if e.kind == "other":
            kept[e.tag] = "not a stage or cache tag (a user's or a custom tag)"
        elif matched is not None:
            kept[e.tag] = f"matches --keep-tag {matched}"
        elif e.kind != "stage":
            continue  # cached steps and uploads: below, once the kept stages are known
        elif e.tag in final or e.digest in final:
            kept[e.tag] = "in the final repository"
        elif e.digest in others:
            kept[e.tag] = f"tagged {others[e.digest]}"
        elif e.tag in newest:
            kept[e.tag] = f"one of the {policy.keep_stages} newest stages of image " \
                          f"{e.image or '(unnamed)'}"
        elif e.stored > recent:
            kept[e.tag] = f"stored {(now - e.stored) / HOUR_MS:.1f} h ago, within the grace " \
                          "period"
    kept_layers = [e.layers for e in entries if e.kind == "stage" and e.tag in kept]
    for e in entries:
        if e.kind not in ("cache", "upload") or e.tag in kept:
            continue
        if e.stored > recent:
            kept[e.tag] = "younger than the grace period"
        elif e.kind == "cache" and e.layers and any(
                layers[:len(e.layers)] == e.layers for layers in kept_layers):
            kept[e.tag] = "a step of a kept stage"
    kept_digests = {e.digest: e.tag for e in entries if e.tag in kept}
    going: dict[str, Entry] = {}  # manifest digest -> the tag that names it in the output
    for e in sorted(entries, key=lambda x: (x.kind != "stage", x.stored, x.tag)):
        if e.tag in kept:
            continue
        if e.digest in kept_digests:
            kept[e.tag] = f"the same manifest as {kept_digests[e.digest]}, which stays"
        else:
            going.setdefault(e.digest, e)
    return sorted(going.values(), key=lambda x: (x.stored, x.tag)), kept


def kind_of_reason(why: str) -> str:
    """A reason without its particulars (for the summary's counts)."""
    return re.sub(r"(tagged |image |--keep-tag | as )[^\s,]+|\d+(\.\d+)? h ago",
                  lambda m: (m[1] or "") + "…", why)


def _millis(created: str) -> int:
    """Unix millis of an RFC 3339 time as registries give it (nanoseconds, 'Z')."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", created.strip()).replace("Z", "+00:00")
    try:
        return int(datetime.datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        return 0


def parse_inspect(tag: str, output: str) -> Entry:
    data = json.loads(output or "{}")
    stage = local.TAG_RE.match(tag)
    labels = data.get("Labels") or {}
    return Entry(tag, str(data.get("Digest", "")),
                 int(stage["millis"]) if stage else _millis(str(data.get("Created", ""))),
                 str(labels.get(local.IMAGE_LABEL, "")),
                 tuple(str(x) for x in data.get("Layers") or ()))


def inspect_all(engine: BuildahEngine, repo: str, tags: Sequence[str], tls_verify: bool,
                retry: Retry) -> list[Entry]:
    """Every tag inspected (eight at a time); a tag deleted meanwhile is left out."""
    def one(tag: str) -> Entry | None:
        result = call(lambda: engine.inspect_remote(f"{repo}:{tag}", tls_verify),
                      f"inspecting {repo}:{tag}", retry)
        if result.ok:
            return parse_inspect(tag, result.stdout)
        if GONE.search(result.stderr):
            return None
        raise failure(f"inspecting {redact(repo)}:{tag}", result, repo)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [e for e in pool.map(one, tags) if e is not None]


def _delete(engine: BuildahEngine, ref: str, verify: bool, retry: Retry) -> run.Result:
    return call(lambda: engine.delete_remote(ref, verify), f"deleting {ref}", retry)


@dataclass
class Outcome:
    deleted: list[Entry]
    kept: dict[str, str]
    gone: int = 0  # deleted by someone else meanwhile


def cleanup(engine: BuildahEngine, opts: RepoCleanupOptions, tls_verify: Callable[[str], bool],
            now: int, say: Callable[[str], None], retry: Retry | None = None) -> Outcome:
    retry = retry or Retry()
    verify = tls_verify(opts.repo)
    stages = RegistryStages(opts.repo, engine, verify, retry)
    tags = stages.tags()
    entries = inspect_all(engine, opts.repo, tags, verify, retry)
    final: set[str] = set()
    if opts.final_repo:
        final_verify = tls_verify(opts.final_repo)
        final_tags = RegistryStages(opts.final_repo, engine, final_verify, retry).tags()
        final |= set(final_tags)
        customs = [t for t in final_tags if not local.TAG_RE.match(t)]
        final |= {e.digest for e in inspect_all(engine, opts.final_repo, customs, final_verify,
                                                retry)}
    remove, kept = decide(entries, Policy(opts.keep_stages, int(opts.keep_hours * HOUR_MS),
                                          opts.keep_tags), now, frozenset(final))
    out = Outcome([], kept)
    for e in remove:
        what = f"{opts.repo}:{e.tag} ({e.kind}" + (f" of image {e.image}" if e.image else "") \
            + f", stored {(now - e.stored) / HOUR_MS:.1f} h ago)"
        if opts.dry_run:
            say(f"would delete {what}")
            out.deleted.append(e)
            continue
        result = _delete(engine, f"{opts.repo}@{e.digest}", verify, retry)
        if result.ok:
            say(f"deleted {what}")
            out.deleted.append(e)
        elif NO_DELETES.search(result.stderr):
            done = f" ({len(out.deleted)} deleted before it)" if out.deleted else \
                ": nothing was deleted"
            raise RegistryError(
                f"the registry {opts.repo.split('/', 1)[0]} refuses to delete manifests"
                f"{done}",
                "enable deletes in the registry (docker-registry/distribution: "
                "storage.delete.enabled: true, or REGISTRY_STORAGE_DELETE_ENABLED=true; "
                "Harbor, GitLab and cloud registries: a role that may delete), then run "
                "the cleanup again")
        elif GONE.search(result.stderr):  # (skopeo says so of a refused delete too)
            out.gone += 1  # another cleanup was first
        else:
            raise failure(f"deleting {redact(opts.repo)}:{e.tag}", result, opts.repo)
    return out
