# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The library entry: the one model of an image's tags and sources, from a library file or a plan to the builders,
the manifest lists and the READMEs (as bashbrew's manifest/rfc2822.go keeps parse, write and shared-tag grouping
on one entry type).

An entry has its tags, shared tags, architectures, where its Dockerfile is (GitRepo, GitFetch, GitCommit,
Directory, File), its Builder and Constraints, the per-architecture overrides of those, and, once planned, its
FROM images, version, variant and the repository (family) it belongs to. A library file's paragraphs become entries
through library_manifest's adapter (`entry_from_paragraph`, `paragraph_from_entry`), with their effective values
(the global paragraph's defaults applied). The plan makes entries directly; the bundle and every module pass them as
`to_dict()`, read back with `from_dict()`, which checks them and names the field at fault. Shared tags whose entry
sets are identical form one `SharedTagGroup` (`group_shared_tags`). Plain typed Python.

The records are defined here, in the release schema (whose record modules import only _record and common/, so
the schema and library/ import each other without a cycle); library/entry.py re-exports them for the library
code, and `release.model` for everyone.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures as _arches
from ansible_collections.buildfarm.images.plugins.module_utils.common.builders import BUILDERS
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import validate_tag
from ansible_collections.buildfarm.images.plugins.module_utils.release.model._record import (
    OMIT_EMPTY,
    Fields,
    ModelError,
    Record,
)

DOCKERFILE = "Dockerfile"
VERSION_RE = re.compile(r"^\d[\w.+~]*")
# The library file's fields an architecture may override (`<arch>-GitCommit: ...`) and the entry attribute of each
ARCH_FIELDS = {"GitRepo": "git_repo", "GitFetch": "git_fetch", "GitCommit": "git_commit",
               "Directory": "directory", "File": "file", "Builder": "builder"}
# Every library-file field of an entry and its attribute (the list fields are written comma-separated)
FIELDS = dict({"Tags": "tags", "SharedTags": "shared_tags", "Architectures": "architectures",
               "Constraints": "constraints"}, **ARCH_FIELDS)
# The library file's names of the list fields, accepted too (as are its comma-separated values), so a library
# entry's dict publishes as it is.
_ALIASES = {"tags": "Tags", "shared_tags": "SharedTags", "architectures": "Architectures",
            "constraints": "Constraints"}
# Why an entry is left out of a release (DroppedEntry.reason): a family's entry, a library file's entry
NO_BUILDER = "no builder for any of its architectures"
NO_BUILDER_IN_RELEASE = "no builder for its architectures in this release"


class EntryError(ModelError):
    """An entry given as data (a module option, the bundle) that is not a valid entry: names where, field, value."""


def version_of(tag: str) -> str:
    """The version a tag starts with (`1.35.0-glibc` -> `1.35.0`; "" when it starts with none)."""
    m = VERSION_RE.match(tag)
    return m.group(0) if m else ""


@dataclass
class Entry(Record):
    """One entry (field order = the order of `to_dict()`)."""

    tags: list[str]
    shared_tags: list[str] = field(default_factory=list)
    architectures: list[str] = field(default_factory=list)
    directory: str = ""
    file: str = DOCKERFILE
    git_commit: str = ""
    constraints: list[str] = field(default_factory=list)
    builder: str = ""  # the entry's Builder ("" when neither entry nor family/global paragraph names one)
    from_: list[str] = field(default_factory=list, metadata={"key": "from"})  # FROM images, first one first
    version: str = ""  # full version, e.g. 3.14.6
    variant: str = ""
    # An entry of a library file is built from Git (library/git_source.py): its repository and fetch ref; a
    # family's entries are rendered, not fetched, and leave these empty.
    git_repo: str = ""
    git_fetch: str = ""
    # Effective per-architecture values that differ from the entry's own: {arch: {"GitRepo"|"GitFetch"|
    # "GitCommit"|"Directory"|"File"|"Builder": value}}
    arch_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    repo: str = field(default="", metadata={"skip": True})  # the repository (family) it belongs to, e.g. busybox
    # Where it was read (the library file) and the line of its first field, for error messages; not data.
    where: str = field(default="", metadata={"skip": True}, compare=False)
    line: int = field(default=0, metadata={"skip": True}, compare=False)

    def __repr__(self) -> str:
        return "Entry(%s, tags=%r)" % ("%s:%d" % (self.where, self.line) if self.where else self.repo, self.tags)

    @property
    def key(self) -> str:
        """`<repository>:<first tag>`, the entry's name in every result of the release."""
        return "%s:%s" % (self.repo, self.tags[0])

    @property
    def all_tags(self) -> list[str]:
        return self.tags + self.shared_tags

    def has_architecture(self, arch: str) -> bool:
        return arch in self.architectures

    def value(self, name: str) -> str:
        """The entry's value of library-file field `name` (`Tags`, `GitCommit` ...), as the file writes it."""
        value = getattr(self, FIELDS[name])
        return ", ".join(value) if isinstance(value, list) else str(value)

    def arch_value(self, arch: str, name: str) -> str:
        """The value of field `name` (`GitCommit`, `Directory` ...) as `arch` builds: its override, else the
        entry's own."""
        return (self.arch_overrides.get(arch) or {}).get(name, self.value(name))

    def for_arch(self, arch: str) -> "Entry":
        """The entry as ``arch`` builds it: its `<arch>-` overrides applied (no overrides: the entry itself)."""
        over = self.arch_overrides.get(arch) or {}
        if not over:
            return self
        changes: dict[str, Any] = {ARCH_FIELDS[k]: v for k, v in over.items() if k in ARCH_FIELDS}
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: Any, where: str, repo: str = "", publish: bool = False) -> "Entry":
        """An entry from its dict form (`to_dict()`); `where` names it in errors (EntryError). A missing version is
        read from the first tag (`1.35.0-glibc` -> `1.35.0`).

        `publish`: the manifest lists' view of the entry: it needs no directory (a list names images, not
        sources) but at least one architecture (a list of no members), and the keys it does not use are ignored."""
        try:
            return _from_fields(cls, Fields(data, where), repo, publish)
        except EntryError:
            raise
        except ModelError as exc:  # the reader's errors, as the entry's own
            if exc.has_value:
                raise EntryError(exc.problem, exc.file, exc.field, exc.value) from None
            raise EntryError(exc.problem, exc.file, exc.field) from None


def _names(f: Fields, key: str) -> list[str]:
    """A list field, as a list or the library file's comma-separated text, under its name or the file's."""
    value = f.data.get(key, f.data.get(_ALIASES.get(key, key))) or []
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise EntryError("must be a list of non-empty strings", f.where, key, value)
    return list(value)


def _checked_tags(f: Fields) -> tuple[list[str], list[str]]:
    tags, shared_tags = _names(f, "tags"), _names(f, "shared_tags")
    if not tags:
        raise EntryError("entry has no tags", f.where, "tags", dict(f.data))
    for key, values in (("tags", tags), ("shared_tags", shared_tags)):
        for tag in values:
            # The distribution grammar, before any request: a traversal, an over-long or a non-ASCII tag
            # fails here instead of after images were built or list members copied.
            validate_tag(tag, f.where, key)
    return tags, shared_tags


def _checked_architectures(f: Fields, tag: str) -> list[str]:
    arches = _names(f, "architectures")
    for a in arches:
        if not _arches.is_known(a):
            raise EntryError("unknown architecture (entry %s; known: %s)"
                             % (tag, ", ".join(_arches.ARCHITECTURES)), f.where, "architectures", a)
    twice = sorted({a for a in arches if arches.count(a) > 1})
    if twice:
        raise EntryError("architecture listed twice (entry %s)" % tag, f.where, "architectures", ", ".join(twice))
    return arches


def _from_fields(cls: type[Entry], f: Fields, repo: str, publish: bool) -> Entry:
    tags, shared_tags = _checked_tags(f)
    arches = _checked_architectures(f, tags[0])
    constraints = _names(f, "constraints")
    directory = f.data.get("directory")
    if publish:
        if not arches:
            raise EntryError("entry %s has no architectures" % tags[0], f.where, "architectures", arches)
        return cls(tags=tags, shared_tags=shared_tags, architectures=arches, constraints=constraints,
                   directory=directory if isinstance(directory, str) else "", repo=repo, where=f.where)
    if not directory or not isinstance(directory, str):
        raise EntryError("missing (entry %s)" % tags[0], f.where, "directory", directory)
    builder = f.data.get("builder") or ""
    if builder not in ("",) + BUILDERS:
        # checked before anything is built: a bundle or a module option naming a builder no builder knows
        raise EntryError("unknown builder (entry %s; known: %s)" % (tags[0], ", ".join(BUILDERS)), f.where,
                         "builder", builder)
    # a version may come from YAML as a number (`version: 3.14`): taken as its text
    return cls(tags=tags, shared_tags=shared_tags, architectures=arches, directory=directory,
               version=str(f.data.get("version") or "") or version_of(tags[0]), variant=f.str("variant", ""),
               file=f.str("file", "") or DOCKERFILE, git_commit=f.str("git_commit", ""), constraints=constraints,
               builder=builder, from_=_names(f, "from"), repo=repo, where=f.where, git_repo=f.str("git_repo", ""),
               git_fetch=f.str("git_fetch", ""), arch_overrides=_arch_overrides(f, tags[0]))


def _arch_overrides(f: Fields, tag: str) -> dict[str, dict[str, str]]:
    value = f.data.get("arch_overrides")
    if not value:
        return {}
    if not isinstance(value, Mapping):
        raise EntryError("must be a mapping of architecture to fields (entry %s)" % tag, f.where, "arch_overrides",
                         value)
    out: dict[str, dict[str, str]] = {}
    for arch, fields in value.items():
        if not _arches.is_known(arch):
            raise EntryError("unknown architecture (entry %s)" % tag, f.where, "arch_overrides", arch)
        if not isinstance(fields, Mapping) or not all(
                k in ARCH_FIELDS and isinstance(v, str) for k, v in fields.items()):
            raise EntryError("fields of %s must be some of %s with text values (entry %s)" % (
                arch, ", ".join(ARCH_FIELDS), tag), f.where, "arch_overrides", fields)
        builder = fields.get("Builder", "")
        if builder and builder not in BUILDERS:
            raise EntryError("unknown builder (entry %s; known: %s)" % (tag, ", ".join(BUILDERS)), f.where,
                             "arch_overrides.%s.Builder" % arch, builder)
        out[arch] = dict(fields)
    return out


@dataclass
class SharedTagGroup(Record):
    """Shared tags whose entry sets are identical: the tags, the entries and their indexes in the list grouped."""

    tags: list[str]
    entries: list[Entry]
    indexes: list[int]

    def to_dict(self) -> dict[str, Any]:
        """The group as results show it: its tags and each entry by its first tag."""
        return {"tags": list(self.tags), "entries": [e.tags[0] if e.tags else "" for e in self.entries]}


def group_shared_tags(entries: Sequence[Entry]) -> list[SharedTagGroup]:
    """The one shared-tag grouping (READMEs, validation, manifest lists): shared tags whose entry sets are identical
    form one group, groups and tags in order of first appearance."""
    tag_entries: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        for t in e.shared_tags:
            lst = tag_entries.setdefault(t, [])
            if i not in lst:
                lst.append(i)
    groups: dict[tuple[int, ...], list[str]] = {}
    for t, idx in tag_entries.items():
        groups.setdefault(tuple(idx), []).append(t)
    return [SharedTagGroup(tags, [entries[i] for i in idx], list(idx)) for idx, tags in groups.items()]


@dataclass
class DroppedEntry(Record):
    """An entry the release leaves out: none of its architectures has a builder."""

    directory: str = field(default="", metadata=OMIT_EMPTY)  # a family's entry names its folder
    tags: list[str] = field(default_factory=list)
    architectures: list[str] = field(default_factory=list)  # what it would have had
    reason: str = NO_BUILDER

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "DroppedEntry":
        f = Fields(data, where)
        return cls(directory=f.str("directory", ""), tags=f.strs("tags"), architectures=f.strs("architectures"),
                   reason=f.str("reason", NO_BUILDER))
