"""The base image a build for one platform starts from: that platform's image of it.

The local image of that name when it is that platform's; else the image the registry's
manifest list names for the platform, pulled by its digest, so that no tag moves under a
parallel build of another platform (Buildah gets it by ID in the derived Dockerfile, see
``build._step_plan``). A base without the platform is bad input, before anything is built.

What a build asks again and again costs no process: an image's platform is a fact of its ID,
kept per store (``image-platforms.json`` beside the projects' records); the registry is asked
once per base and platform (its list may have moved), and a digest already in the store is
not pulled again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dockwright import cachefile, platforms, run
from dockwright.engine import buildah
from dockwright.engine.base import LocalImage
from dockwright.errors import ConfigError, RegistryError
from dockwright.session import Session


def pinned(session: Session, ref: str, platform: str, found: LocalImage | None,
           pull: bool) -> str | None:
    """The ID of ``ref``'s image for ``platform`` (``found``: the local image of that name);
    None when it is not here and ``pull`` is off."""
    key = (ref, platform)
    with session._lock:
        if key in session.pinned:
            return session.pinned[key]
    # the host's own: Buildah pulls it (registries.conf's mirrors too); if it cannot, the
    # registry is asked below, and its answer is the error
    if found is None and pull and platform == str(platforms.host()) and \
            session.engine.pull(ref, _tls(ref)).ok:
        session.refresh()
        found = buildah.find_local(session.images, ref)
    if found is not None and platform_of(session, found.id) in (platform, None):
        image_id: str | None = found.id
    else:
        image_id = _from_registry(session, ref, platform, found) if pull else None
    if image_id is not None:
        with session._lock:
            session.pinned[key] = image_id
    return image_id


def platform_of(session: Session, image_id: str) -> str | None:
    """The platform a local image was built for (None when its configuration does not
    say): asked of Buildah once per image ID, ever."""
    path = _known_path(session)
    known = cachefile.read_json(path)
    if image_id in known:
        return known[image_id] or None
    inspected = session.engine.inspect(image_id)
    try:
        oci = json.loads(inspected.stdout).get("OCIv1") or {}
    except ValueError:
        return None
    if not inspected.ok:
        return None
    found = platforms.from_parts(oci.get("os"), oci["architecture"], oci.get("variant")) \
        if oci.get("architecture") else None
    cachefile.write(path, json.dumps({**known, image_id: found or ""}).encode())
    return found


def _known_path(session: Session) -> Path:
    return session.state_dir.parent / "image-platforms.json"


def _from_registry(session: Session, ref: str, platform: str,
                   found: LocalImage | None) -> str:
    tls = _tls(ref)
    raw = session.engine.inspect_raw(ref, tls)
    if not raw.ok:
        here = f" (the local {ref} is {platform_of(session, found.id)})" if found else ""
        raise RegistryError(f"base image '{ref}' has no {platform} image here{here}, and no "
                            f"registry answers for it: {run.last_line(raw.stderr, '')}",
                            "pull or build the base image for that platform, or fix FROM")
    document = json.loads(raw.stdout)
    offered: list[str] = []
    digest = ""
    for entry in document.get("manifests") or []:  # a manifest list, an OCI index
        p = entry.get("platform") or {}
        if not p.get("architecture") or p.get("architecture") == "unknown":
            continue  # attestations
        offered.append(platforms.from_parts(p.get("os"), p["architecture"], p.get("variant")))
        if offered[-1] == platform and not digest:
            digest = entry["digest"]
    named: dict[str, object] | None = None
    if not document.get("manifests"):  # one image: it must be the platform's
        named = _inspect(session, ref, tls)
        offered = [platforms.from_parts(str(named.get("Os") or ""),
                                        str(named.get("Architecture")))]
        if offered[0] == platform:
            digest = "sha256:" + hashlib.sha256(raw.stdout.encode()).hexdigest()
    if not digest:
        raise ConfigError(f"base image '{ref}' has no {platform} image (it has: "
                          f"{', '.join(offered) or 'none'})",
                          f"build for {', '.join(offered)} only, or use a base image that "
                          f"has {platform}")
    pulled_before = next((i for i in session.images if i.digest == digest
                          or any(n.endswith(f"@{digest}") for n in i.names)), None)
    if pulled_before is not None:  # by an earlier build
        return pulled_before.id
    name = str((named or _inspect(session, ref, tls)).get("Name") or "")
    pulled = session.engine.pull(f"{name}@{digest}", tls)
    if not pulled.ok:
        raise RegistryError(f"pulling {name}@{digest} ({ref} for {platform}) failed: "
                            f"{run.last_line(pulled.stderr, 'no output')}",
                            "check the registry, then run the build again")
    session.log("", f"pulled {ref} for {platform} ({digest[:19]})")
    session.refresh()
    return pulled.stdout.split()[-1]


def _inspect(session: Session, ref: str, tls: bool) -> dict[str, object]:
    """skopeo inspect: the image's full name, and a single image's platform."""
    named = session.engine.inspect_remote(ref, tls)
    try:
        data = json.loads(named.stdout) if named.ok else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict) or not data.get("Name"):
        raise RegistryError(f"base image '{ref}' could not be inspected: "
                            f"{run.last_line(named.stderr, 'no output')}",
                            "check the registry, or fix the FROM reference")
    return data


def _tls(ref: str) -> bool:
    """Whether TLS is verified for the registry of a base image (only a pull needs it, so
    the registry module stays out of a build that pulls nothing)."""
    from dockwright.storage.registry import tls_verify_for

    return tls_verify_for(ref, ())
