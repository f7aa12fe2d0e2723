"""skopeo: argv builders for the registry reads dockwright makes (tags, manifests, copies).

skopeo and Buildah share the user's auth.json, registries.conf and certificates.
"""

from __future__ import annotations

import json


def _tls(verify: bool) -> list[str]:
    return [] if verify else ["--tls-verify=false"]


def list_tags_argv(repo: str, tls_verify: bool) -> list[str]:
    return ["skopeo", "list-tags", "--retry-times", "0", *_tls(tls_verify), f"docker://{repo}"]


def inspect_raw_argv(ref: str, tls_verify: bool) -> list[str]:
    return ["skopeo", "inspect", "--raw", "--retry-times", "0", *_tls(tls_verify),
            f"docker://{ref}"]


def inspect_argv(ref: str, tls_verify: bool) -> list[str]:
    """The image's digest, labels, creation time and layers, as one JSON document."""
    return ["skopeo", "inspect", "--retry-times", "0", *_tls(tls_verify), f"docker://{ref}"]


def delete_argv(ref: str, tls_verify: bool) -> list[str]:
    """Delete a manifest (``repo@sha256:...``): every tag pointing at it goes with it."""
    return ["skopeo", "delete", "--retry-times", "0", *_tls(tls_verify), f"docker://{ref}"]


def copy_argv(src: str, dest: str, src_tls_verify: bool, dest_tls_verify: bool,
              preserve_digests: bool = False, every_platform: bool = False) -> list[str]:
    """Copy between two image references given with their transports (``docker://...``,
    ``dir:...``); ``preserve_digests`` refuses any change to the manifest;
    ``every_platform``: a manifest list with all its images (else skopeo copies one)."""
    argv = ["skopeo", "copy", "--quiet", "--retry-times", "0"]
    if every_platform:
        argv.append("--all")
    if preserve_digests:
        argv.append("--preserve-digests")
    if not src_tls_verify:
        argv.append("--src-tls-verify=false")
    if not dest_tls_verify:
        argv.append("--dest-tls-verify=false")
    return [*argv, src, dest]


def parse_tags(output: str) -> list[str]:
    data = json.loads(output or "{}")
    return [str(t) for t in data.get("Tags") or []]


def config_digest(manifest: str) -> str:
    """The image ID (config digest, without "sha256:") from a raw image manifest."""
    data = json.loads(manifest)
    return str(data.get("config", {}).get("digest", "")).removeprefix("sha256:")


def login_argv(registry: str, username: str, authfile: str, tls_verify: bool) -> list[str]:
    """Log in with the password on stdin (never in argv, where ps shows it)."""
    return ["skopeo", "login", "--authfile", authfile, "--username", username,
            "--password-stdin", *_tls(tls_verify), registry]


def logout_argv(registry: str | None, authfile: str) -> list[str]:
    """Log out of ``registry``, or of every registry when it is None."""
    return ["skopeo", "logout", "--authfile", authfile,
            *(["--all"] if registry is None else [registry])]
