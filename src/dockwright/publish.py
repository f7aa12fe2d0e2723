"""Publishing: stages into ``--repo`` (racing builders agree, see storage/registry.py),
final images into ``--final-repo``, custom tags, and the build report's records.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

from dockwright import run
from dockwright.config.model import Image
from dockwright.engine import buildah
from dockwright.errors import RegistryError, UsageError
from dockwright.report import ImageRecord, Source
from dockwright.session import Result, Session, Unsettled
from dockwright.storage import layout, local


def push_stage(session: Session, image: Image, source: str, image_id: str, digest: str,
                rebuilt: bool, started: float, size: str) -> Result:
    """Store a local stage in the registry unless another builder stored the same digest
    meanwhile: as in werf, the stage already there wins and this one is discarded. The
    stored stage is settled later (``settle``): nothing waits for that but what needs it."""
    registry = session.publish.repo
    assert registry is not None
    publishing = time.monotonic()
    winner = registry.settled(digest, refresh=True)
    if winner is not None:
        session.log(image.label, f"{winner.reference} was stored by another builder first: "
                                f"discarding own {source}")
        return _winner(session, image, winner, digest, rebuilt, started, size)
    manifest_digest = registry.push(source, registry.upload_tag(digest),
                                    f"pushing {image.name} to {registry.repo}")
    own, stamp = registry.stamp(image.name, manifest_digest, digest)
    session.log(image.label, f"published the stage in {time.monotonic() - publishing:.3f} s "
                            f"as {registry.repo}:{own} (it settles by the end of the build)")
    result = Result(image.name, f"{registry.repo}:{own}", own, image_id, digest, rebuilt,
                    image.final, time.monotonic() - started, size,
                    Source.BUILT if rebuilt else Source.LOCAL, manifest_digest,
                    platform=image.variant)
    with session._lock:
        session.unsettled[image.key] = Unsettled(result, stamp)
    return result


def _winner(session: Session, image: Image, winner: local.Stage, digest: str, rebuilt: bool,
            started: float, size: str) -> Result:
    registry = session.publish.repo
    assert registry is not None
    return Result(image.name, winner.reference, winner.tag, registry.image_id(winner.tag),
                  digest, rebuilt, image.final, time.monotonic() - started, size, Source.REPO,
                  registry.manifest_digest(winner.tag), platform=image.variant)


def settle(session: Session, names: list[str]) -> dict[str, Result]:
    """The results of the builds ``names`` (``Image.key``) once the stages they stored are
    settled (see storage/registry.py): one wait for all of them, the latest first, then one
    listing answers for the rest. Where another builder's older tag won, its stage replaces
    ours."""
    registry = session.publish.repo
    with session._lock:
        wanted = {n: u for n, u in session.unsettled.items() if n in names}
        mine = {n: u for n, u in wanted.items() if not u.claimed}
        for u in mine.values():
            u.claimed = True
    try:
        first = True
        for u in sorted(mine.values(), key=lambda x: -x.stamp):
            assert registry is not None
            own = u.result
            winner = registry.settled(own.digest, refresh=first)
            first = False
            if winner is None:
                raise RegistryError(f"{own.reference} disappeared right after it was pushed",
                                    "check the registry's storage and any cleanup job on it")
            if winner.tag != own.tag:
                session.log(own.name or "~", f"{winner.reference} was stored by another "
                                             f"builder first: discarding own {own.reference}")
                u.result = replace(
                    own, reference=winner.reference, tag=winner.tag,
                    image_id=registry.image_id(winner.tag), source=Source.REPO,
                    image_digest=registry.manifest_digest(winner.tag))
            else:
                session.log(own.name or "~", f"pushed {own.reference}")
    finally:
        with session._lock:
            for name, u in mine.items():
                session.unsettled.pop(name, None)
                if name in session.results:
                    session.results[name] = u.result
                u.done.set()
    for u in wanted.values():
        u.done.wait()
    return {n: u.result for n, u in wanted.items()}


def vanished(session: Session, results: list[Result]) -> list[Result]:
    """The stages reused from ``--repo`` without a read of their manifests (see
    ``build._from_registry``) that a listing made now no longer holds: deleted (by a
    cleanup?) after this build decided to reuse them. One listing for the whole build."""
    registry = session.publish.repo
    unread = [r for r in results if r.source == Source.REPO and not r.image_digest]
    if registry is None or not unread:
        return []
    there = set(registry.tags(refresh=True))
    return [r for r in unread if r.tag not in there]


def complete(session: Session, results: list[Result]) -> list[Result]:
    """``results`` with what the summary and the report show of what this build reused
    from ``--repo`` without reading it (``build._from_registry``, ``manifests.make``): a
    stage's image ID, size and manifest digest; a manifest list's digest (its ID, as werf
    reports it). One manifest read each, side by side."""
    registry = session.publish.repo
    unread = {r.tag for r in results if r.source == Source.REPO and not r.image_digest}
    if registry is None or not unread:
        return results
    from concurrent.futures import ThreadPoolExecutor  # only a summary or a report needs it

    with ThreadPoolExecutor(max_workers=min(8, len(unread))) as pool:
        list(pool.map(registry.manifest, sorted(unread)))  # each read once, then cached
    out = []
    for r in results:
        if r.tag in unread:
            digest = registry.manifest_digest(r.tag)
            r = replace(r, image_id=digest.removeprefix("sha256:"), image_digest=digest) \
                if r.platforms else \
                replace(r, image_id=r.image_id or registry.image_id(r.tag),
                        size=r.size or registry.size(r.tag), image_digest=digest)
        out.append(r)
    return out


SLUG_RE = re.compile(r"[^a-z0-9]+")


def custom_tag(template: str, image: str, content_tag: str) -> str:
    slug = SLUG_RE.sub("-", image.lower()).strip("-")
    return (template.replace("%image_content_based_tag%", content_tag)
            .replace("%image_slug%", slug).replace("%image%", image))


def copies_final(session: Session, image: Image) -> bool:
    """Does publishing ``image`` copy it anywhere: a final image, with --final-repo or
    custom tags? One platform's build of an image with several is not copied: its
    manifest list is (``manifests``), with every image it names."""
    pub = session.publish
    return image.final and not image.variant and bool(pub.final_repo or pub.custom_tags)


def publish_final(session: Session, image: Image, result: Result) -> Result:
    """Final images: into --final-repo, and the custom tags (locally without a registry);
    ``result`` is a stage, or a manifest list (a result with ``platforms``)."""
    if not copies_final(session, image):
        return result
    pub = session.publish
    listed = bool(result.platforms)
    if not listed:
        result = settle(session, [image.key]).get(image.key, result)
    target = pub.final_repo or pub.repo
    tags = [custom_tag(t, image.name, result.tag) for t in pub.custom_tags]
    final_reference = ""
    if pub.final_repo is not None:
        final_reference = f"{pub.final_repo.repo}:{result.tag}"
        tags.insert(0, result.tag)
    if target is None and result.reference.startswith("oci:"):  # a list in an OCI layout
        directory = Path(result.repo.removeprefix("oci:"))
        with layout.locked(directory):
            layout.tag(directory, result.tag, tags)
        for t in tags:
            session.log(image.label, f"tagged {layout.reference(directory, t)}")
        return result
    if target is None:
        for t in tags:
            tagged = session.engine.tag(result.reference, f"{session.local_repo}:{t}")
            if not tagged.ok:
                raise run.failure(tagged)
            session.log(image.label, f"tagged {session.local_repo}:{t}")
        return result
    have_local = not listed and buildah.find_local(session.images, result.reference) is not None
    existing = set(target.tags())
    for t in tags:
        dest = f"{target.repo}:{t}"
        if t == result.tag and t in existing:
            continue
        if have_local:
            target.push(result.reference, t, f"pushing {dest}")
        elif listed and pub.repo is None:  # a list kept locally
            target.push_list(result.reference, t, f"pushing {dest}")
        else:
            source = pub.repo if pub.repo is not None else target
            target.copy_to(source, result.reference, t, f"copying to {dest}",
                           every_platform=listed)
        target.added(t)
        session.log(image.label, f"published {dest}")
    if final_reference:
        return Result(**{**result.__dict__, "final_reference": final_reference})
    return result


def check_custom_tags(images: list[Image], templates: tuple[str, ...]) -> None:
    finals = [i for i in images if i.final]
    for t in templates:
        if len(finals) > 1 and "%image" not in t.replace("%image_content_based_tag%", ""):
            raise UsageError(f"custom tag '{t}' would name every final image the same",
                             "put %image% or %image_slug% in it, or build one image")
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
                            custom_tag(t, "image", "0" * 56 + "-" + "0" * 13)):
            raise UsageError(f"custom tag '{t}' is not a valid tag",
                             "tags use letters, digits, '_', '.', '-' (at most 128)")


def records(session: Session, results: list[Result]) -> list[ImageRecord]:
    """The report's records: a manifest list's with its platforms' builds in it."""
    out = []
    for r in results:
        reference = r.final_reference or r.reference
        repo, tag = reference.rsplit(":", 1)
        out.append(ImageRecord(r.name, repo, tag, f"sha256:{r.image_id}", r.image_digest,
                               r.rebuilt, r.final, _bytes(r.size), r.seconds,
                               int(tag.rsplit("-", 1)[-1]) * 1_000_000 if "-" in tag else 0,
                               r.source, r.platform,
                               tuple(records(session, list(r.platforms)))))
    return out


def _bytes(size: str) -> int:
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kKMGT]?B)\s*", size or "")
    if not m:
        return 0
    factor = {"B": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
    return int(float(m[1]) * factor.get(m[2], 1))
