# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One library entry as the release carries it from the plan to the builders and the report.

A library file's entry (library_manifest.Entry) is the text model of bashbrew's manifest/rfc2822.go: fields with
lines and per-architecture overrides. Once planned, an entry is this: its tags, shared tags, architectures, where its
Dockerfile is, the commit, constraints, builder, its FROM images, version and variant, and the repository (family)
it belongs to. The plan makes it, the bundle and every module pass it as `to_dict()`, and the builder reads it back
with `from_dict()`, which checks it and names the field at fault. The publishing of the manifest lists reads the
same dicts with `from_dict(..., publish=True)`: only what a list needs (no directory), at least one architecture.
Plain typed Python.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures as _arches
from ansible_collections.buildfarm.images.plugins.module_utils.common.builders import BUILDERS
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import validate_tag

DOCKERFILE = "Dockerfile"
_VERSION_RE = re.compile(r"^\d[\w.+~]*")
# The library file's names of the list fields, accepted too (as are its comma-separated values), so a library
# entry's dict publishes as it is.
_ALIASES = {"tags": "Tags", "shared_tags": "SharedTags", "architectures": "Architectures",
            "constraints": "Constraints"}


class EntryError(BuildfarmError, ValueError):
    """An entry given as data (a module option, the bundle) that is not a valid planned entry."""


@dataclass
class ReleaseEntry:
    tags: list[str]
    shared_tags: list[str] = field(default_factory=list)
    architectures: list[str] = field(default_factory=list)
    directory: str = ""
    version: str = ""  # full version, e.g. 3.14.6
    variant: str = ""
    file: str = DOCKERFILE
    git_commit: str = ""
    constraints: list[str] = field(default_factory=list)
    builder: str = ""  # effective builder ("" when neither family nor entry names one)
    from_: list[str] = field(default_factory=list)  # every FROM image, first one first (stages left out)
    repo: str = ""  # the repository (family) it belongs to, e.g. busybox
    # An entry of a library file is built from Git (library/git_source.py): its repository and fetch ref, and the
    # library file's per-architecture overrides, {arch: {"GitRepo"|"GitFetch"|"GitCommit"|"Directory"|"File"|
    # "Builder": value}}. A family's entries are rendered, not fetched: these stay empty.
    git_repo: str = ""
    git_fetch: str = ""
    arch_overrides: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """`<repository>:<first tag>`, the entry's name in every result of the release."""
        return "%s:%s" % (self.repo, self.tags[0])

    @property
    def all_tags(self) -> list[str]:
        return self.tags + self.shared_tags

    def to_dict(self) -> dict:
        return {
            "tags": list(self.tags),
            "shared_tags": list(self.shared_tags),
            "architectures": list(self.architectures),
            "directory": self.directory,
            "file": self.file,
            "git_commit": self.git_commit,
            "constraints": list(self.constraints),
            "builder": self.builder,
            "from": list(self.from_),
            "version": self.version,
            "variant": self.variant,
            "git_repo": self.git_repo,
            "git_fetch": self.git_fetch,
            "arch_overrides": {a: dict(v) for a, v in self.arch_overrides.items()},
        }

    _ARCH_FIELDS = {"GitRepo": "git_repo", "GitFetch": "git_fetch", "GitCommit": "git_commit",
                    "Directory": "directory", "File": "file", "Builder": "builder"}

    def for_arch(self, arch: str) -> "ReleaseEntry":
        """The entry as ``arch`` builds it: its `<arch>-` overrides applied (no overrides: the entry itself)."""
        over = self.arch_overrides.get(arch) or {}
        if not over:
            return self
        changes: dict[str, Any] = {self._ARCH_FIELDS[k]: v for k, v in over.items() if k in self._ARCH_FIELDS}
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str, repo: str = "", publish: bool = False) -> "ReleaseEntry":
        """An entry from its dict form (`to_dict()`); `where` names it in errors. A missing version is read from
        the first tag (`1.35.0-glibc` -> `1.35.0`).

        `publish`: the manifest lists' view of the entry: it needs no directory (a list names images, not
        sources) but at least one architecture (a list of no members), and the keys it does not use are ignored."""
        if not isinstance(data, Mapping):
            raise EntryError("an entry is a mapping", where, "entry", data)

        def names(key: str) -> list[str]:
            value = data.get(key, data.get(_ALIASES.get(key, key))) or []
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
                raise EntryError("must be a list of non-empty strings", where, key, value)
            return list(value)

        tags, shared_tags = names("tags"), names("shared_tags")
        if not tags:
            raise EntryError("entry has no tags", where, "tags", dict(data))
        for key, values in (("tags", tags), ("shared_tags", shared_tags)):
            for tag in values:
                # The distribution grammar, before any request: a traversal, an over-long or a non-ASCII tag
                # fails here instead of after images were built or list members copied.
                validate_tag(tag, where, key)
        arches = names("architectures")
        for a in arches:
            if not _arches.is_known(a):
                raise EntryError("unknown architecture (entry %s; known: %s)"
                                 % (tags[0], ", ".join(_arches.ARCHITECTURES)), where, "architectures", a)
        twice = sorted({a for a in arches if arches.count(a) > 1})
        if twice:
            raise EntryError("architecture listed twice (entry %s)" % tags[0], where, "architectures",
                             ", ".join(twice))
        constraints = names("constraints")
        if publish:
            if not arches:
                raise EntryError("entry %s has no architectures" % tags[0], where, "architectures", arches)
            directory = data.get("directory")
            return cls(tags=tags, shared_tags=shared_tags, architectures=arches, constraints=constraints,
                       directory=directory if isinstance(directory, str) else "", repo=repo)
        directory = data.get("directory")
        if not directory or not isinstance(directory, str):
            raise EntryError("missing (entry %s)" % tags[0], where, "directory", directory)
        version = str(data.get("version") or "")
        if not version:
            m = _VERSION_RE.match(tags[0])
            version = m.group(0) if m else ""
        builder = data.get("builder") or ""
        if builder not in ("",) + BUILDERS:
            # checked before anything is built: a bundle or a module option naming a builder no builder knows
            raise EntryError("unknown builder (entry %s; known: %s)" % (tags[0], ", ".join(BUILDERS)), where,
                             "builder", builder)
        return cls(tags=tags, shared_tags=shared_tags, architectures=arches, directory=directory,
                   version=version, variant=str(data.get("variant") or ""),
                   file=str(data.get("file") or DOCKERFILE), git_commit=str(data.get("git_commit") or ""),
                   constraints=constraints, builder=builder,
                   from_=names("from"), repo=repo, git_repo=str(data.get("git_repo") or ""),
                   git_fetch=str(data.get("git_fetch") or ""),
                   arch_overrides=_arch_overrides(data.get("arch_overrides"), where, tags[0]))


def _arch_overrides(value: Any, where: str, tag: str) -> dict[str, dict[str, str]]:
    if not value:
        return {}
    if not isinstance(value, Mapping):
        raise EntryError("must be a mapping of architecture to fields (entry %s)" % tag, where, "arch_overrides",
                         value)
    out: dict[str, dict[str, str]] = {}
    for arch, fields in value.items():
        if not _arches.is_known(arch):
            raise EntryError("unknown architecture (entry %s)" % tag, where, "arch_overrides", arch)
        if not isinstance(fields, Mapping) or not all(
                k in ReleaseEntry._ARCH_FIELDS and isinstance(v, str) for k, v in fields.items()):
            raise EntryError("fields of %s must be some of %s with text values (entry %s)" % (
                arch, ", ".join(ReleaseEntry._ARCH_FIELDS), tag), where, "arch_overrides", fields)
        builder = fields.get("Builder", "")
        if builder and builder not in BUILDERS:
            raise EntryError("unknown builder (entry %s; known: %s)" % (tag, ", ".join(BUILDERS)), where,
                             "arch_overrides.%s.Builder" % arch, builder)
        out[arch] = dict(fields)
    return out
