# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One library entry as the release carries it from the plan to the builders and the report.

A library file's entry (library_manifest.Entry) is the text model of bashbrew's manifest/rfc2822.go: fields with
lines and per-architecture overrides. Once planned, an entry is this: its tags, shared tags, architectures, where its
Dockerfile is, the commit, constraints, builder, its FROM images, version and variant, and the repository (family)
it belongs to. The plan makes it, the bundle and every module pass it as `to_dict()`, and the builder reads it back
with `from_dict()`, which checks it and names the field at fault. Plain typed Python.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures as _arches
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError

DOCKERFILE = "Dockerfile"
_VERSION_RE = re.compile(r"^\d[\w.+~]*")


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
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str, repo: str = "") -> "ReleaseEntry":
        """An entry from its dict form (`to_dict()`); `where` names it in errors. A missing version is read from
        the first tag (`1.35.0-glibc` -> `1.35.0`)."""
        if not isinstance(data, Mapping):
            raise EntryError("an entry is a mapping", where, "entry", data)

        def names(key: str) -> list[str]:
            value = data.get(key) or []
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
                raise EntryError("must be a list of non-empty strings", where, key, value)
            return list(value)

        tags = names("tags")
        if not tags:
            raise EntryError("entry has no tags", where, "tags", dict(data))
        arches = names("architectures")
        for a in arches:
            if not _arches.is_known(a):
                raise EntryError("unknown architecture (entry %s)" % tags[0], where, "architectures", a)
        directory = data.get("directory")
        if not directory or not isinstance(directory, str):
            raise EntryError("missing (entry %s)" % tags[0], where, "directory", directory)
        version = str(data.get("version") or "")
        if not version:
            m = _VERSION_RE.match(tags[0])
            version = m.group(0) if m else ""
        return cls(tags=tags, shared_tags=names("shared_tags"), architectures=arches, directory=directory,
                   version=version, variant=str(data.get("variant") or ""),
                   file=str(data.get("file") or DOCKERFILE), git_commit=str(data.get("git_commit") or ""),
                   constraints=names("constraints"), builder=str(data.get("builder") or ""),
                   from_=names("from"), repo=repo)
