# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning the manifest lists of a release: which tags get a list, and which images are its members.

One list per entry under each of its Tags; one list per shared-tag group under each tag of the group. Members are
`<arch namespace>/<repo>:<first tag of the entry>`. Everything here is checked before any request.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import (
    ImageRef,
    validate_repository,
    validate_tag,
)
from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    Entry,
    SharedTagGroup,
    group_shared_tags,
)

POLICIES = ("fail", "skip", "keep-previous")


class PublishError(BuildfarmError, ValueError):
    """Bad input (names the entry, field and value), or a publish that cannot start (the lock)."""


@dataclass(frozen=True)
class MemberSource:
    """Where one member of a list comes from: an architecture's image in the publishing registry."""

    architecture: str
    repository: str  # e.g. arm64v8/python
    tag: str

    @property
    def reference(self) -> str:
        """The registry-relative reference (`arm64v8/python:3.13`), as results name the member."""
        return "%s:%s" % (self.repository, self.tag)

    def ref(self, registry: str) -> ImageRef:
        """The image reference in `registry` (the values are checked by plan_lists already)."""
        return ImageRef(registry, self.repository, self.tag)


@dataclass(frozen=True)
class ListSpec:
    """The desired list under one tag."""

    tag: str
    sources: tuple[MemberSource, ...]
    shared: bool


def load_entries(entries: Sequence[Mapping], where: str = "entries") -> list[Entry]:
    """The entries to publish (the library model's one entry, its publishing view); bad ones name their field."""
    return [Entry.from_dict(e, "%s[%d]" % (where, i), publish=True) for i, e in enumerate(entries)]


def load_library_file(path: str) -> list[Entry]:
    """The entries of a bashbrew library file (the collection's library manifest parser, validated)."""
    return list(library_manifest.load(path).validate().entries)


def check_arch_namespaces(arch_namespaces: Mapping[str, str], repository: str) -> None:
    for arch, namespace in arch_namespaces.items():
        if not architectures.is_known(arch):
            raise PublishError("arch_namespaces: unknown architecture %r (known: %s)"
                               % (arch, ", ".join(architectures.ARCHITECTURES)))
        if not isinstance(namespace, str):
            raise PublishError("arch_namespaces: value of %s must be a string, got %r" % (arch, namespace))
        validate_repository("%s/%s" % (namespace, repository), field="arch_namespaces.%s" % arch)


def _one_per_platform(tag: str, owners: Sequence[Entry]) -> None:
    """A list has one member per platform: two entries of one architecture under a shared tag would make the list's
    member for it a matter of chance (checked for entries as the library parser does)."""
    first: dict[tuple, Entry] = {}
    for entry in owners:
        for arch in entry.architectures:
            # Windows entries of one architecture differ by os.version, named by their Constraints (or known only
            # once resolved: the publisher checks the platforms again).
            if architectures.get(arch).is_windows and not entry.constraints:
                continue
            key = (arch, tuple(sorted(entry.constraints)))  # their order does not make another platform
            if key in first:
                raise PublishError("shared tag %r: entries %s and %s both have architecture %s (a list has one "
                                   "member per platform)" % (tag, first[key].tags[0], entry.tags[0], arch))
            first[key] = entry


class _Claims:
    """Each tag is one list: a tag claimed by two entries (or groups) is refused, naming both."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}

    def claim(self, tag: str, owner: str) -> None:
        if tag in self.owners:
            raise PublishError("tag %r is claimed twice (by %s and by %s)" % (tag, self.owners[tag], owner))
        self.owners[tag] = owner


def plan_lists(entries: Sequence[Entry], repository: str, arch_namespaces: Mapping[str, str] | None = None,
               groups: Sequence[SharedTagGroup] | None = None) -> list[ListSpec]:
    """Per tag, the members wanted: each entry's own tags, then the tags of each shared-tag group (`groups`:
    the entries' own grouping when not given)."""
    validate_repository(repository, field="repository")
    check_arch_namespaces(arch_namespaces or {}, repository)

    def sources(entry: Entry) -> tuple[MemberSource, ...]:
        return tuple(MemberSource(a, "%s/%s" % (architectures.namespace_for(a, arch_namespaces), repository),
                                  entry.tags[0]) for a in entry.architectures)

    specs: list[ListSpec] = []
    claims = _Claims()
    for entry in entries:
        for tag in entry.tags:
            claims.claim(tag, "entry %s" % entry.tags[0])
            specs.append(ListSpec(tag, sources(entry), False))
    for group in group_shared_tags(entries) if groups is None else groups:
        owners = [entries[i] for i in group.indexes]
        group_sources = tuple(s for entry in owners for s in sources(entry))
        for tag in group.tags:
            validate_tag(tag, field="shared_tags")
            _one_per_platform(tag, owners)
            claims.claim(tag, "shared tags %s" % ", ".join(group.tags))
            specs.append(ListSpec(tag, group_sources, True))
    return specs


def check_annotations(annotations: Mapping, where: str = "annotations") -> dict[str, str]:
    """Annotations are string to string (OCI image spec); a number from YAML would change the bytes silently."""
    for key, value in annotations.items():
        if not isinstance(key, str) or not key:
            raise PublishError("%s: key %r is not a non-empty string" % (where, key))
        if not isinstance(value, str):
            raise PublishError("%s: value of %s must be a string, got %r (quote it)" % (where, key, value))
    return dict(annotations)
