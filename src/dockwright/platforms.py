"""Target platforms (``os/arch[/variant]``), as werf reads them and Docker spells them.

werf takes them from ``--platform``/``WERF_PLATFORM`` (each value may list several, comma
separated), else the image's ``platform``, else the meta section's ``build.platform``, else
the host's. Values are normalised as containerd does (``aarch64`` is ``arm64``, ``arm`` is
``arm/v7``, ``arm64/v8`` is ``arm64``); an architecture nobody builds for is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dockwright.errors import ConfigError

OSES = ("linux", "windows", "darwin", "freebsd")
ARCHES = {  # alias -> (arch, default variant)
    "amd64": ("amd64", ""), "x86_64": ("amd64", ""), "x86-64": ("amd64", ""),
    "arm64": ("arm64", ""), "aarch64": ("arm64", ""),
    "arm": ("arm", "v7"), "armhf": ("arm", "v7"), "armel": ("arm", "v6"),
    "386": ("386", ""), "i386": ("386", ""), "i686": ("386", ""),
    "ppc64le": ("ppc64le", ""), "s390x": ("s390x", ""), "riscv64": ("riscv64", ""),
    "mips64le": ("mips64le", ""), "loong64": ("loong64", ""),
}
VARIANTS = {"arm": ("v5", "v6", "v7", "v8"), "arm64": ("v8", "v9"), "amd64": ("v1", "v2", "v3",
                                                                               "v4")}
# the QEMU name of each architecture (its binfmt_misc handler: qemu-<name>)
QEMU = {"arm64": "aarch64", "arm": "arm", "386": "i386", "ppc64le": "ppc64le",
        "s390x": "s390x", "riscv64": "riscv64", "mips64le": "mips64el", "amd64": "x86_64",
        "loong64": "loongarch64"}


@dataclass(frozen=True, order=True)
class Platform:
    os: str
    arch: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.arch, self.variant) if p)


def parse(text: str, where: str = "") -> Platform:
    """One platform, normalised; a ``ConfigError`` names what is wrong with it."""
    value = text.strip().lower()
    parts = value.split("/")
    hint = ("write OS/ARCH[/VARIANT], as Docker does: linux/amd64, linux/arm64, linux/arm/v7 "
            f"(architectures: {', '.join(sorted({a for a, _ in ARCHES.values()}))})")
    if not value or len(parts) > 3 or not all(parts):
        raise ConfigError(f"invalid platform {text!r}", hint, where=where)
    if len(parts) == 1:  # an architecture alone means linux (Docker's reading)
        parts = ["linux", *parts]
    os_name, arch, *rest = parts
    if os_name not in OSES:
        raise ConfigError(f"unknown operating system {os_name!r} in platform {text!r}", hint,
                          where=where)
    if os_name != "linux":  # Buildah would label Linux binaries as another system's image
        raise ConfigError(f"platform {text!r}: Buildah builds Linux images only",
                          hint, where=where)
    if arch not in ARCHES:
        raise ConfigError(f"unknown architecture {arch!r} in platform {text!r}", hint,
                          where=where)
    if rest and rest[0] not in VARIANTS.get(ARCHES[arch][0], ()):
        raise ConfigError(f"unknown variant {rest[0]!r} of {ARCHES[arch][0]} in platform "
                          f"{text!r}", hint, where=where)
    return _normal(os_name, arch, rest[0] if rest else "")


def _normal(os_name: str, arch: str, variant: str) -> Platform:
    """containerd's normal form: aliases resolved, the default variant filled in (arm's
    v7), arm64's v8 left out; an architecture it does not know is kept as it is."""
    arch, default = ARCHES.get(arch, (arch, ""))
    variant = variant or default
    if (arch, variant) == ("arm64", "v8"):
        variant = ""
    return Platform(os_name, arch, variant)


def from_parts(os_name: str | None, arch: str, variant: str | None = None) -> str:
    """A platform as an image configuration or a manifest list spells it (os defaults to
    linux), normalised. What an image offers is described, not judged: another system's
    (a windows/amd64 entry of a base's list) or an architecture not built for here is
    spelled as it is."""
    return str(_normal((os_name or "linux").lower(), arch.lower(), (variant or "").lower()))


def parse_list(values: tuple[str, ...] | list[str], where: str = "",
               commas: bool = True) -> tuple[str, ...]:
    """Platforms, normalised, each once, in the order given. ``commas``: a value may list
    several (the command line, WERF_PLATFORM); werf.yaml wants a YAML list instead."""
    out: list[str] = []
    for value in values:
        if "," in value and not commas:
            raise ConfigError(f"invalid platform specified {value!r}: specify multiple "
                              "platforms using yaml array", "platform: [linux/amd64, "
                              "linux/arm64]", where=where)
        for part in value.split(",") if commas else [value]:
            if not part.strip():
                continue
            name = str(parse(part, where))
            if name not in out:
                out.append(name)
    return tuple(out)


def host() -> Platform:
    """The platform this machine runs natively."""
    machine = os.uname().machine.lower()
    arch, variant = ARCHES.get(machine, (machine, ""))
    if machine.startswith("armv"):
        arch, variant = "arm", f"v{machine[4]}"
    return Platform("linux", arch, variant)


def build_args(target: str | None) -> dict[str, str]:
    """The platform ARGs Docker and Buildah give every stage: the target's (``target``, or
    the host's) and the build machine's."""
    out: dict[str, str] = {}
    for prefix, p in (("TARGET", parse(target) if target else host()), ("BUILD", host())):
        out |= {f"{prefix}PLATFORM": str(p), f"{prefix}OS": p.os, f"{prefix}ARCH": p.arch,
                f"{prefix}VARIANT": p.variant}
    return out
