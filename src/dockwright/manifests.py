"""Manifest lists: an image built for several platforms is one reference, as werf makes it.

Each platform's build is a stage of its own (its digest has the platform in it). The list
that joins them is tagged ``<repo>:<list digest>``, werf's: SHA3-224 over the platforms'
stage tags, in the order of their platforms, joined with ``:::``. The same stages give the
same list, so a list already there is reused. With ``--repo`` the list is pushed there.
Without it, it is kept locally: in Buildah's store as ``<project>:<list digest>`` where
Buildah can list a store holding one (``LOCAL_LISTS_BUILDAH``), else in an OCI layout beside
the build records (``storage/layout.py``), ``oci:<directory>:<list digest>``.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from dockwright import platforms, run
from dockwright.config.model import Image
from dockwright.engine import buildah
from dockwright.publish import publish_final
from dockwright.report import Source
from dockwright.session import Result, Session
from dockwright.storage import layout

# the first Buildah verified to keep a manifest list in local storage: with one there and an
# image without layers (Buildah's --layers makes one for an ARG right after FROM scratch),
# Buildah 1.28 fails every `buildah images` ("fetching target platform image selected from
# image index"); Debian 13's 1.39 lists it
LOCAL_LISTS_BUILDAH = (1, 39)


def in_store(session: Session) -> bool:
    """Can Buildah keep a manifest list in this build's store?"""
    version = buildah.parse_version(session.setup.buildah)
    return version is None or version >= LOCAL_LISTS_BUILDAH


def list_tag(results: list[Result]) -> str:
    ordered = sorted(results, key=lambda r: r.platform)
    return hashlib.sha3_224(":::".join(r.tag for r in ordered).encode()).hexdigest()


def make(session: Session, image: Image, results: list[Result]) -> Result:
    """The manifest list of ``image``'s platform builds ``results``: reused when it exists,
    else made (pushed to ``--repo``, or kept locally); then its final reference and custom
    tags."""
    started = time.monotonic()
    image = replace(image, variant="")  # the image itself, not one of its platforms' builds
    tag = list_tag(results)
    ordered = sorted(results, key=lambda r: r.platform)
    registry = session.publish.repo
    if registry is not None:  # the list's digest: read for a report only (complete)
        reference, reused = f"{registry.repo}:{tag}", registry.find_tag(tag)
        digest = "" if reused else _push(session, [f"docker://{r.reference}"
                                                   for r in ordered], tag)
        image_id = digest.removeprefix("sha256:")
    elif in_store(session):
        reference, digest = f"{session.local_repo}:{tag}", ""
        found = buildah.find_local(session.images, reference)  # listed with the store
        reused = found is not None
        image_id = found.id if found else _to_store(session, reference, ordered)
    else:
        directory = lists_layout(session)
        reference, digest = layout.reference(directory, tag), layout.find(directory, tag)
        reused = bool(digest)
        digest = digest or _to_layout(session, directory, tag, ordered)
        image_id = digest.removeprefix("sha256:")
    if not reused:
        platforms = ", ".join(r.platform for r in ordered)
        session.log(image.label, f"made the manifest list {reference} of {platforms}")
    result = Result(image.name, reference, tag, image_id, tag,
                    any(r.rebuilt for r in results), image.final,
                    time.monotonic() - started + sum(r.seconds for r in results if r.rebuilt),
                    "", Source.REPO if reused and registry else Source.LOCAL if reused
                    else Source.BUILT, digest, platforms=tuple(results))
    return publish_final(session, image, result)


def lists_layout(session: Session) -> Path:
    """The OCI layout that keeps this project's lists where the store cannot."""
    return session.state_dir / "manifest-lists"


def _to_store(session: Session, reference: str, ordered: list[Result]) -> str:
    """The list made in the store, each platform's image added; its ID."""
    created = session.engine.manifest_create(reference)
    _check(created)
    for r in ordered:
        _check(session.engine.manifest_add(reference, r.reference))
    return created.stdout.split()[-1]


def _to_layout(session: Session, directory: Path, tag: str, ordered: list[Result]) -> str:
    """Each platform's image pushed into the layout, then the index naming them."""
    entries, pushed = [], []
    with layout.locked(directory), tempfile.TemporaryDirectory(prefix="dockwright-") as tmp:
        aside = layout.set_aside(directory)
        if aside:
            session.log("", f"warning: {directory}/index.json could not be read: set aside "
                        f"as {aside}; the lists it named are made again as they are needed")
        for n, r in enumerate(ordered):
            name, digestfile = f"{tag}-{n}", Path(tmp) / f"digest-{n}"
            _check(session.engine.push(r.reference, layout.reference(directory, name),
                                       digestfile))
            pushed.append(name)
            p = platforms.parse(r.platform)
            entries.append(layout.Entry(digestfile.read_text().strip(),
                                        (p.os, p.arch, p.variant)))
        return layout.add_list(directory, tag, entries, drop=pushed)


def _push(session: Session, instances: list[str], tag: str) -> str:
    registry = session.publish.repo
    assert registry is not None
    with tempfile.TemporaryDirectory(prefix="dockwright-list-") as tmp:
        digestfile = Path(tmp) / "digest"
        pushed = session.engine.publish_list(instances, f"docker://{registry.repo}:{tag}",
                                             digestfile, registry.tls_verify)
        if not pushed.ok:
            from dockwright.storage.registry import failure

            raise failure(f"pushing the manifest list {registry.repo}:{tag}", pushed,
                          registry.repo)
        registry.added(tag)
        return digestfile.read_text().strip()


def _check(result: run.Result) -> None:
    if not result.ok:
        raise run.failure(result)
