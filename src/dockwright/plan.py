"""The build plan: which images, in which order, and what each one's digest is made of."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockwright import context, dockerfile, platforms
from dockwright.config.model import Image, Project
from dockwright.digest import CONTEXT, Details, Manifest, ManifestBuilder
from dockwright.engine.buildah import parse_version

if TYPE_CHECKING:
    from dockwright.source.commit import GitSource, Need
from dockwright.errors import ConfigError, HostError


def order(project: Project, only: tuple[str, ...] = ()) -> list[Image]:
    """Images in dependency order (dependencies first); ``only`` with what they need."""
    # "~" names the nameless image, as werf shows it
    wanted = [("" if n == "~" else n) for n in only] or [i.name for i in project.images]
    for name in wanted:
        if project.image(name) is None:
            names = ", ".join(i.label for i in project.images) or "none"
            raise ConfigError(f"no image '{name}' in werf.yaml", f"images: {names}")
    out: list[Image] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        image = project.image(name)
        assert image is not None
        for dep in image.dependencies:
            visit(dep.image)
        out.append(image)

    for name in wanted:
        visit(name)
    return out


def with_platforms(project: Project, forced: tuple[str, ...]) -> Project:
    """``--platform``/``WERF_PLATFORM`` over every image's and the meta section's own."""
    if not forced:
        return project
    return replace(project, platform=forced,
                   images=tuple(replace(i, platform=forced) for i in project.images))


def targets(project: Project, images: list[Image]) -> list[Image]:
    """What is built: each image, and an image with several platforms once per platform
    (``Image.variant``), in the same order. A platform's build depends on the same
    platform's build of each image it needs (or on that image, when it has one platform)."""
    variants = {i.name: image_platforms(project, i) for i in images}
    out: list[Image] = []
    for image in images:
        wanted = variants[image.name]
        if len(wanted) < 2:  # the one platform (build.platform's too) is the image's
            out.append(replace(image, platform=wanted))
            continue
        for p in wanted:
            deps = []
            for dep in image.dependencies:
                theirs = variants.get(dep.image, ())
                if len(theirs) > 1 and p not in theirs:
                    raise ConfigError(f"image '{image.name}' builds for {p}, and the image "
                                      f"'{dep.image}' it depends on does not "
                                      f"({', '.join(theirs)})",
                                      "give both images the same platforms",
                                      where=image.where)
                deps.append(replace(dep, image=f"{dep.image}@{p}") if len(theirs) > 1
                            else dep)
            out.append(replace(image, platform=(p,), variant=p, dependencies=tuple(deps)))
    return out


def image_platforms(project: Project, image: Image) -> tuple[str, ...]:
    """The image's own ``platform``, else ``build.platform`` (empty: the host's)."""
    return image.platform or project.platform


def image_platform(project: Project, image: Image) -> str | None:
    """The one platform to build for (an image with several is built once for each:
    ``targets``)."""
    platforms = image_platforms(project, image)
    return platforms[0] if platforms else None


@dataclass(frozen=True)
class Inputs:
    """Everything an image's digest depends on, once its dependencies are known."""

    image: Image
    build_args: tuple[tuple[str, str], ...]  # args and imports, as passed to Buildah
    analysis: dockerfile.Analysis
    manifest: Manifest

    @property
    def digest(self) -> str:
        return self.manifest.digest


PLACEHOLDER_IMPORTS = {
    "ImageName": "localhost/dockwright-placeholder:latest",
    "ImageTag": "latest",
    "ImageRepo": "localhost/dockwright-placeholder",
    "ImageID": "sha256:" + "0" * 64,
    "ImageDigest": "sha256:" + "0" * 64,
}


class Walks(dict[tuple[Path, context.Ignore], context.Listing]):
    """The context listings of one build, each made once: walked, or from ``lister`` (the
    git tree the build reads, ``source.commit``) when it is set."""

    lister: Callable[[Image, context.Ignore], context.Listing] | None = None


def context_listing(image: Image, ignore: context.Ignore, walks: Walks | None,
                    hashes: context.HashCache | None = None) -> context.Listing:
    """The context listing, walked once per build when ``walks`` is given (with a second
    process when the cache says the context is large)."""
    key = (image.context_dir, ignore)
    if walks is not None and key in walks:
        return walks[key]
    if walks is not None and walks.lister is not None:
        walks[key] = walks.lister(image, ignore)
        return walks[key]
    expected = max((paths for _, paths in hashes.sets.values()), default=0) if hashes else 0
    listing = context.Listing(context.walk_parts(image.context_dir, ignore, expected))
    if walks is not None:
        walks[key] = listing
    return listing


def source_patterns(project: Project, image: Image,
                    analysis: dockerfile.Analysis) -> list[tuple[str, str, str]]:
    """Each context source with the Dockerfile line that names it and what reads it, for
    error messages."""
    display = os.path.relpath(image.dockerfile_path, project.dir)
    return [(s.pattern, f"{display}:{s.line}", context.MOUNT if s.mount else context.COPY)
            for s in analysis.sources]


def source_needs(project: Project, image: Image, parsed: dockerfile.Dockerfile,
                 source: GitSource) -> list[Need]:
    """What ``image`` reads from the project: its Dockerfile, ignore files, and the context
    files its COPY/ADD sources match (for the giterminism check, ``GitSource.check``)."""
    from dockwright.source.commit import Need

    needs = [Need(source.project_rel(image.dockerfile_path), "dockerfile")]
    needs += [Need(source.project_rel(p), "ignore")
              for p in context.ignore_files(image.context_dir, image.dockerfile_path)]
    analysis = _analysis_before_build(image, parsed)
    if analysis.sources:
        ignore = context.load_ignore(image.context_dir, image.dockerfile_path)
        needs += source.context_needs(image.context_dir,
                                      source_patterns(project, image, analysis), ignore)
    return needs


def _analysis_before_build(image: Image, parsed: dockerfile.Dockerfile) -> dockerfile.Analysis:
    """``parsed`` analysed before its dependencies are built: their imports are stand-ins
    (``PLACEHOLDER_IMPORTS``), which change no source, stage or instruction count."""
    imports = {imp.target_build_arg: PLACEHOLDER_IMPORTS[imp.type]
               for dep in image.dependencies for imp in dep.imports}
    return dockerfile.analyze(parsed, image.target, analysis_args(image, imports))


def analysis_args(image: Image, imports: Mapping[str, str]) -> dict[str, str]:
    """The ARG values a stage of ``image`` sees: the platform's (Buildah sets them itself,
    so they are not passed), then werf.yaml's ``args``, then the dependencies' imports."""
    return {**platforms.build_args(image.target_platform), **image.args_dict, **imports}


HEREDOC_BUILDAH = (1, 35)  # the first Buildah release that builds heredocs


def validate(project: Project, image: Image, parsed: dockerfile.Dockerfile,
             walks: Walks | None = None, hashes: context.HashCache | None = None,
             buildah: str = "") -> None:
    """Everything about ``image`` that can be wrong without building its dependencies first:
    checked for every image before any is built, so bad input builds nothing. ``buildah``
    is the Buildah that will build ("buildah version 1.28.2"), for what it cannot build."""
    analysis = _analysis_before_build(image, parsed)
    if analysis.heredoc_lines and buildah:
        _check_heredocs(project, image, analysis.heredoc_lines, buildah)
    if analysis.sources:
        ignore = context.load_ignore(image.context_dir, image.dockerfile_path)
        listing = context_listing(image, ignore, walks, hashes)
        patterns = source_patterns(project, image, analysis)
        if context.known_set(listing, patterns, ignore, hashes) is None:
            context.match_sources(listing.entries, patterns, ignore)


def _check_heredocs(project: Project, image: Image, lines: tuple[int, ...],
                    buildah: str) -> None:
    """Buildah before 1.35 reads a heredoc's body as instructions and fails late, at
    'Unknown instruction: "SET"': stop before building, naming the line."""
    version = parse_version(buildah)
    if version is None or version >= HEREDOC_BUILDAH:
        return
    display = os.path.relpath(image.dockerfile_path, project.dir)
    need = ".".join(map(str, HEREDOC_BUILDAH))
    raise HostError(f"{display}:{lines[0]}: a heredoc (<<EOF) needs Buildah {need} or newer "
                    f"to build; this host has {buildah.removeprefix('buildah ')}",
                    "write the lines as one RUN joined with &&, or COPY a script, or build on a "
                    f"host with Buildah {need} or newer (Debian 13 has 1.39)")


def inputs(project: Project, image: Image, imports: Mapping[str, str],
           base_ids: Mapping[str, str | None], parsed: dockerfile.Dockerfile,
           walks: Walks | None = None, hashes: context.HashCache | None = None,
           analysis: dockerfile.Analysis | None = None, details: bool = True) -> Inputs:
    """The manifest of ``image``: see README "What the digest is made of".

    ``analysis`` is ``parsed`` analysed with these args, when the caller has it already.
    Without ``details`` the context paths are not listed when a cached result stands for
    them (the digest is the same either way).
    """
    build_args = {**image.args_dict, **imports}
    if analysis is None:
        analysis = dockerfile.analyze(parsed, image.target, analysis_args(image, imports))
    ignore = context.load_ignore(image.context_dir, image.dockerfile_path)
    m = ManifestBuilder()
    cache_version = image.cache_version or project.cache_version
    m.add("cacheVersion", cache_version or "")
    platform = image_platform(project, image)
    if platform:
        m.add("platform", platform)
    m.add("target", image.target or "")
    for n, line in enumerate(analysis.instructions, 1):
        m.add(f"instruction {n:03d}", line)
    for ref in analysis.bases:
        base_id = base_ids.get(ref)
        m.add(f"base {ref}", f"sha256:{base_id}" if base_id else "(not present locally)")
    for name, value in sorted(imports.items()):
        m.add(f"import {name}", value)
    for host in dict.fromkeys(image.add_host):  # the same entry twice adds nothing
        m.add(f"addHost {host}", host)
    for url in analysis.remote_sources:
        m.add(f"remote {url}", url)
    found: Details | None = None
    if analysis.sources:
        listing = context_listing(image, ignore, walks, hashes)
        sources = context.sources(image.context_dir, listing,
                                  source_patterns(project, image, analysis), ignore, hashes,
                                  details)
        m.add(CONTEXT, sources.value)
        found = sources.details
    for key, value in sorted(_context_add_files(image).items()):
        m.add(f"contextAddFiles {key}", value)
    for key, value in image.image_spec.entries(project.name, image.name) \
            if image.image_spec else ():
        m.add(f"imageSpec {key}", value)
    return Inputs(image, tuple(sorted(build_args.items())), analysis, m.build(found))


def _context_add_files(image: Image) -> dict[str, str]:
    """Checksums of ``contextAddFiles`` by path in the context; overlapping entries (a
    directory and a file in it, or one path twice) count once."""
    out: dict[str, str] = {}
    for rel in image.context_add_files:
        path = image.context_dir / rel
        top = context.clean(rel)
        if path.is_dir() and not path.is_symlink():
            for e in context.walk(path, context.Ignore("", ())):
                key = f"{top}/{e.rel}" if top else e.rel
                out[key] = f"{e.mode:04o} {context.checksum(path, e)}"
        else:
            st = path.lstat()
            kind = "link" if stat.S_ISLNK(st.st_mode) else "file"
            entry = context.Entry(path.name, kind, stat.S_IMODE(st.st_mode), 0, 0, 0)
            out[top] = f"{entry.mode:04o} {context.checksum(path.parent, entry)}"
    return out
