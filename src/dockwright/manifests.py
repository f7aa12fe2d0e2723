"""Manifest lists: an image built for several platforms is one reference, as werf makes it.

Each platform's build is a stage of its own (its digest has the platform in it). The list
that joins them is tagged ``<repo>:<list digest>``, werf's: SHA3-224 over the platforms'
stage tags, in the order of their platforms, joined with ``:::``. The same stages give the
same list, so a list already there is reused. Without ``--repo`` the list is kept in local
storage as ``<project>:<list digest>``; with it, it is pushed there too.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from dockwright import run
from dockwright.config.model import Image
from dockwright.engine import buildah
from dockwright.errors import UsageError
from dockwright.publish import publish_final
from dockwright.report import Source
from dockwright.session import Result, Session
from dockwright.storage.registry import failure

# the first Buildah verified to keep a manifest list in local storage: with one there,
# Buildah 1.28 fails every `buildah images` ("fetching target platform image selected from
# image index"); Debian 13's 1.39 lists it
LOCAL_LISTS_BUILDAH = (1, 39)


def check_local(session: Session, images: list[Image]) -> None:
    """Before anything is built: a list kept in local storage needs a Buildah that can."""
    if not images or session.publish.repo is not None:
        return
    version = buildah.parse_version(session.setup.buildah)
    if version is not None and version < LOCAL_LISTS_BUILDAH:
        names = ", ".join(f"'{i.name}'" for i in images)
        raise UsageError(
            f"image {names} builds for several platforms, and without --repo its manifest "
            f"list would be kept in local storage, which {session.setup.buildah} cannot list "
            "afterwards ('fetching target platform image selected from image index')",
            "give --repo (each platform's stage and the list go there), or build one "
            "platform (--platform linux/arm64); Buildah 1.39 (Debian 13) keeps lists locally")


def list_tag(results: list[Result]) -> str:
    ordered = sorted(results, key=lambda r: r.platform)
    return hashlib.sha3_224(":::".join(r.tag for r in ordered).encode()).hexdigest()


def make(session: Session, image: Image, results: list[Result]) -> Result:
    """The manifest list of ``image``'s platform builds ``results``: reused when it exists,
    else made (and pushed to ``--repo``); then its final reference and custom tags."""
    started = time.monotonic()
    image = replace(image, variant="")  # the image itself, not one of its platforms' builds
    tag = list_tag(results)
    engine, pub = session.engine, session.publish
    name = f"{session.local_repo}:{tag}"
    registry = pub.repo
    reused = registry.find_tag(tag) if registry is not None else \
        engine.manifest_inspect(name).ok
    digest = ""
    ordered = sorted(results, key=lambda r: r.platform)
    if not reused and registry is not None:
        digest = _push(session, [f"docker://{r.reference}" for r in ordered], tag)
    elif not reused:  # LOCAL_LISTS_BUILDAH: checked before anything was built
        _check(engine.manifest_create(name))
        for r in ordered:
            _check(engine.manifest_add(name, r.reference))
    if not reused:
        where = registry.repo if registry is not None else session.local_repo
        platforms = ", ".join(sorted(r.platform for r in results))
        session.log(image.label, f"made the manifest list {where}:{tag} of {platforms}")
    # a list reused from the registry: its digest is read only for the report (with_digests)
    reference = f"{registry.repo}:{tag}" if registry is not None else name
    image_id = digest.removeprefix("sha256:") if registry is not None else \
        _local_id(session, name)
    result = Result(image.name, reference, tag, image_id, tag,
                    any(r.rebuilt for r in results), image.final,
                    time.monotonic() - started + sum(r.seconds for r in results if r.rebuilt),
                    "", Source.REPO if reused and registry else Source.LOCAL if reused
                    else Source.BUILT, digest, platforms=tuple(results))
    return publish_final(session, image, result)


def with_digests(session: Session, lists: list[Result]) -> list[Result]:
    """The lists reused from the registry with their digests (the report names them): one
    read each, only when a report is written."""
    registry = session.publish.repo
    out = []
    for r in lists:
        if registry is not None and not r.image_digest:
            digest = registry.manifest_digest(r.tag)
            r = replace(r, image_digest=digest, image_id=digest.removeprefix("sha256:"))
        out.append(r)
    return out


def _push(session: Session, instances: list[str], tag: str) -> str:
    registry = session.publish.repo
    assert registry is not None
    with tempfile.TemporaryDirectory(prefix="dockwright-list-") as tmp:
        digestfile = Path(tmp) / "digest"
        pushed = session.engine.publish_list(instances, f"docker://{registry.repo}:{tag}",
                                             digestfile, registry.tls_verify)
        if not pushed.ok:
            raise failure(f"pushing the manifest list {registry.repo}:{tag}", pushed,
                          registry.repo)
        registry.added(tag)
        return digestfile.read_text().strip()


def _local_id(session: Session, name: str) -> str:
    found = buildah.find_local(session.engine.images(), name)
    return found.id if found else ""


def _check(result: run.Result) -> None:
    if not result.ok:
        raise run.failure(result)
