# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The architecture table: bashbrew names, OCI platforms, arch namespaces and the canonical index order.

Plain typed Python, importable without Ansible.
"""
from __future__ import annotations

import platform as _platform
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError


@dataclass(frozen=True)
class Platform:
    """An OCI platform (an image index's `platform` object). `str()` is the `os/architecture[/variant]` form the
    engine's `--platform` takes; `os_version` matters for Windows members (a host pulls the one of its build)."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = field(default_factory=tuple)

    def to_oci(self) -> dict:
        out: dict = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        return out

    @classmethod
    def from_oci(cls, data: Mapping) -> "Platform":
        return cls(
            os=str(data.get("os", "")),
            architecture=str(data.get("architecture", "")),
            variant=str(data.get("variant", "") or ""),
            os_version=str(data.get("os.version", "") or ""),
            os_features=tuple(data.get("os.features") or ()),
        )

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True)
class Architecture:
    """One bashbrew architecture."""

    name: str  # bashbrew name, e.g. arm64v8
    platform: Platform  # without os.version: that comes from the image config
    namespace: str  # where per-architecture images live on the Hub (winamd64 for windows-amd64)
    uname_m: tuple[str, ...]  # what `uname -m` prints on a native host
    debian_arch: str = ""  # dpkg architecture, for packages such as busybox-static
    qemu: str = ""  # qemu-user-static binary suffix used for emulation

    @property
    def is_windows(self) -> bool:
        return self.platform.os == "windows"


def _a(name, os_, arch, variant, namespace, uname_m, debian_arch="", qemu=""):
    return Architecture(name, Platform(os_, arch, variant), namespace, tuple(uname_m), debian_arch, qemu)


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        _a("amd64", "linux", "amd64", "", "amd64", ["x86_64"], "amd64", "x86_64"),
        _a("arm32v5", "linux", "arm", "v5", "arm32v5", ["armv5tel", "armv5tejl"], "armel", "arm"),
        _a("arm32v6", "linux", "arm", "v6", "arm32v6", ["armv6l"], "", "arm"),
        _a("arm32v7", "linux", "arm", "v7", "arm32v7", ["armv7l"], "armhf", "arm"),
        _a("arm64v8", "linux", "arm64", "v8", "arm64v8", ["aarch64", "arm64"], "arm64", "aarch64"),
        _a("i386", "linux", "386", "", "i386", ["i386", "i686"], "i386", "i386"),
        _a("mips64le", "linux", "mips64le", "", "mips64le", ["mips64"], "mips64el", "mips64el"),
        _a("ppc64le", "linux", "ppc64le", "", "ppc64le", ["ppc64le"], "ppc64el", "ppc64le"),
        _a("riscv64", "linux", "riscv64", "", "riscv64", ["riscv64"], "riscv64", "riscv64"),
        _a("s390x", "linux", "s390x", "", "s390x", ["s390x"], "s390x", "s390x"),
        _a("windows-amd64", "windows", "amd64", "", "winamd64", [], "", ""),
    )
}


class UnknownArchitecture(BuildfarmError, ValueError):
    pass


def get(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise UnknownArchitecture(
            "unknown architecture %r (known: %s)" % (name, ", ".join(ARCHITECTURES))
        ) from None


def is_known(name: str) -> bool:
    return name in ARCHITECTURES


def namespace_for(name: str, overrides: Mapping[str, str] | None = None) -> str:
    """The namespace an architecture's images are pushed to (overridable per deployment)."""
    if overrides and name in overrides:
        return overrides[name]
    return get(name).namespace


def from_platform(p: Platform) -> Architecture:
    """The bashbrew architecture for an OCI platform (arm64 without variant counts as v8)."""
    for a in ARCHITECTURES.values():
        ap = a.platform
        if (ap.os, ap.architecture) != (p.os, p.architecture):
            continue
        if ap.variant == p.variant or (ap.architecture == "arm64" and p.variant in ("", "v8")):
            return a
    raise UnknownArchitecture("no bashbrew architecture for platform %s" % p)


def from_uname(machine: str) -> Architecture:
    """The architecture a Linux host runs natively, from `uname -m`."""
    for a in ARCHITECTURES.values():
        if machine in a.uname_m:
            return a
    raise UnknownArchitecture("no bashbrew architecture for uname -m %r" % machine)


def native() -> Architecture:
    return from_uname(_platform.machine())


def _version_key(v: str) -> tuple:
    parts = []
    for p in v.split("."):
        parts.append(int(p) if p.isdigit() else -1)
    return tuple(parts)


def platform_sort_key(p: Platform) -> tuple:
    """Canonical index order: linux first; amd64, arm64, then the rest alphabetically;
    variants newest first; Windows os.version newest first."""
    os_rank = 0 if p.os == "linux" else 1
    arch_rank = {"amd64": 0, "arm64": 1}.get(p.architecture, 2)
    variant_num = int(p.variant[1:]) if p.variant[1:].isdigit() else 0
    version = tuple(-x for x in _version_key(p.os_version)) if p.os_version else ()
    return (os_rank, p.os, arch_rank, p.architecture, -variant_num, p.variant, version)


def sort_platforms(platforms: Iterable[Platform]) -> list[Platform]:
    return sorted(platforms, key=platform_sort_key)


def sort_names(names: Iterable[str]) -> list[str]:
    """Bashbrew names in canonical platform order."""
    return sorted(names, key=lambda n: platform_sort_key(get(n).platform))
