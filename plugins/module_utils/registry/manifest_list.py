# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Publishing multi-architecture manifest lists: plan the lists of a release, resolve their members,
compare with what is published, and PUT only what changed.

One list per entry under each of its Tags; one list per shared-tag group under each tag of the group.
Members are `<arch namespace>/<repo>:<first tag of the entry>`. Each tag is a single manifest PUT, so
after any failure every tag is either its old or its new list.

A member source is the farm's per-architecture OCI index (its image manifest, then the image's attestation
manifest as BuildKit stores them); an older plain image manifest or a multi-platform list is read too. The list
keeps each member's image descriptor immediately followed by its attestation descriptor; a member without one is
incomplete (the completeness policy applies) unless attestations are not required.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import json
import os
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest
from ansible_collections.buildfarm.images.plugins.module_utils.library.entry import ReleaseEntry
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.architectures import Platform
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import (
    validate_repository,
    validate_tag,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    IMAGE_TYPES,
    LIST_TYPES,
    OCI_INDEX,
    Descriptor,
    Manifest,
    RegistryClient,
    RegistryError,
    sha256_digest,
)

from ansible_collections.buildfarm.images.plugins.module_utils.registry.oci_index import (
    ATTESTATION_MANIFEST,
    BASHBREW_ARCH,
    OCI,
    REFERENCE_DIGEST,
    REFERENCE_TYPE,
    UNKNOWN_PLATFORM,
)

POLICIES = ("fail", "skip", "keep-previous")
# BuildKit's attestation storage (an attestation manifest is an image manifest of platform unknown/unknown whose
# descriptor names the image it is about) and the official images' member annotations: oci_index.py writes them,
# this file reads them; one set of names.
ARCH_ANNOTATION = BASHBREW_ARCH
VERSION_ANNOTATION = OCI + "version"

Annotations = tuple[tuple[str, str], ...]  # sorted (key, value) pairs: hashable, and deterministic bytes


class PublishError(BuildfarmError, ValueError):
    """Bad input (names the entry, field and value), or a publish that cannot start (the lock)."""


@dataclass(frozen=True)
class MemberSource:
    """Where one member of a list comes from."""

    architecture: str
    repository: str  # e.g. arm64v8/python
    tag: str

    @property
    def reference(self) -> str:
        return "%s:%s" % (self.repository, self.tag)


@dataclass(frozen=True)
class ListSpec:
    """The desired list under one tag."""

    tag: str
    sources: tuple[MemberSource, ...]
    shared: bool


@dataclass(frozen=True)
class Member:
    architecture: str
    source: str  # the reference it was resolved from ("" when carried forward)
    descriptor: Descriptor
    platform: Platform
    # The member's manifest when resolving already fetched it: the copy into the target needs these bytes.
    manifest: Manifest | None = field(default=None, compare=False, repr=False)
    annotations: Annotations = ()
    # The image's attestation manifest (None: the member has none) and its descriptor's annotations.
    attestation: Descriptor | None = None
    attestation_annotations: Annotations = ()
    # Picked out of an index by its descriptor's platform: the index says what it is, so the publish does not
    # read the image config to check it (the verify stage does).
    from_index: bool = field(default=False, compare=False)

    def to_index(self) -> list[dict]:
        """The member's descriptors in the list: the image, then its attestation right after it."""
        out: dict = {"mediaType": self.descriptor.media_type, "size": self.descriptor.size,
                     "digest": self.descriptor.digest, "platform": self.platform.to_oci()}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.attestation is None:
            return [out]
        return [out, {"mediaType": self.attestation.media_type, "size": self.attestation.size,
                      "digest": self.attestation.digest, "platform": dict(UNKNOWN_PLATFORM),
                      "annotations": dict(self.attestation_annotations)}]

    def attestation_member(self) -> "Member":
        """The attestation manifest as a piece to make present in the target (copied like an image)."""
        if self.attestation is None:
            raise ValueError("member %s has no attestation" % self.descriptor.digest)
        return Member(self.architecture, self.source, self.attestation, Platform("unknown", "unknown"))

    def summary(self) -> dict:
        return {"architecture": self.architecture, "platform": str(self.platform),
                "os_version": self.platform.os_version, "digest": self.descriptor.digest, "source": self.source,
                "annotations": dict(self.annotations),
                "attestation": self.attestation.digest if self.attestation else ""}


@dataclass
class TagResult:
    tag: str
    # unchanged | created | updated | repaired | failed (check mode: would_create/would_update/would_repair)
    action: str = "unchanged"
    changed: bool = False
    digest: str = ""
    previous_digest: str = ""
    media_type: str = ""
    members: list[Member] = field(default_factory=list)
    previous_members: list[dict] = field(default_factory=list)
    annotations: dict = field(default_factory=dict)
    previous_annotations: dict = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unattested: list[str] = field(default_factory=list)  # members without an attestation (`<arch> (<ref>)`)
    carried: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # architectures the new list no longer has (said so)
    lost: list[str] = field(default_factory=list)  # architectures it would have lost (not published: fail)
    repaired: list[str] = field(default_factory=list)  # member digests copied back into the repository
    message: str = ""
    data: bytes = b""

    def to_dict(self) -> dict:
        return {
            "tag": self.tag, "action": self.action, "changed": self.changed, "digest": self.digest,
            "previous_digest": self.previous_digest, "media_type": self.media_type,
            "members": [m.summary() for m in self.members], "previous_members": self.previous_members,
            "annotations": self.annotations,
            "missing_architectures": self.missing, "missing_attestations": self.unattested,
            "carried_forward": self.carried, "dropped_architectures": self.dropped,
            "lost_architectures": self.lost, "repaired_members": self.repaired, "message": self.message,
        }

    @staticmethod
    def diff_lines(members: Iterable[dict], annotations: Mapping[str, str]) -> str:
        index = "".join("annotation %s=%s\n" % kv for kv in sorted(annotations.items()))
        return index + "".join("%s %s %s%s%s\n" % (
            m["platform"], m.get("os_version") or "-", m["digest"],
            "".join(" %s=%s" % kv for kv in sorted((m.get("annotations") or {}).items())),
            " attestation=%s" % m["attestation"] if m.get("attestation") else "") for m in members)


def load_entries(entries: Sequence[Mapping], where: str = "entries") -> list[ReleaseEntry]:
    """The entries to publish (the library model's one entry, its publishing view); bad ones name their field."""
    return [ReleaseEntry.from_dict(e, "%s[%d]" % (where, i), publish=True) for i, e in enumerate(entries)]


@dataclass(frozen=True)
class SharedGroup:
    """Shared tags and the entries (indexes) whose images each of them lists."""

    tags: tuple[str, ...]
    entries: tuple[int, ...]


def shared_groups(entries: Sequence[ReleaseEntry]) -> list[SharedGroup]:
    """The shared-tag groups of planned entries: the library model's one grouping (a library file's are the same)."""
    return [SharedGroup(tuple(tags), tuple(idx)) for tags, idx in library_manifest.group_shared_tags(entries)]


def plan_lists(entries: Sequence[ReleaseEntry], repository: str, arch_namespaces: Mapping[str, str] | None = None,
               groups: Sequence[SharedGroup] | None = None) -> list[ListSpec]:
    """Per tag, the members wanted: each entry's own tags, then the tags of each shared-tag group."""
    specs: list[ListSpec] = []
    seen: dict[str, str] = {}
    validate_repository(repository, field="repository")
    for arch, namespace in (arch_namespaces or {}).items():
        if not architectures.is_known(arch):
            raise PublishError("arch_namespaces: unknown architecture %r (known: %s)"
                               % (arch, ", ".join(architectures.ARCHITECTURES)))
        if not isinstance(namespace, str):
            raise PublishError("arch_namespaces: value of %s must be a string, got %r" % (arch, namespace))
        validate_repository("%s/%s" % (namespace, repository), field="arch_namespaces.%s" % arch)

    def sources(entry: ReleaseEntry) -> list[MemberSource]:
        return [MemberSource(a, "%s/%s" % (architectures.namespace_for(a, arch_namespaces), repository),
                             entry.tags[0]) for a in entry.architectures]

    def one_per_platform(tag: str, owners: Sequence[ReleaseEntry]) -> None:
        """A list has one member per platform: two entries of one architecture under a shared tag would make
        the list's member for it a matter of chance (checked for entries as the library parser does)."""
        first: dict[tuple, ReleaseEntry] = {}
        for entry in owners:
            for arch in entry.architectures:
                # Windows entries of one architecture differ by os.version, named by their Constraints (or
                # known only once resolved: _prepare checks the platforms again).
                if architectures.get(arch).is_windows and not entry.constraints:
                    continue
                key = (arch, tuple(sorted(entry.constraints)))  # their order does not make another platform
                if key in first:
                    raise PublishError("shared tag %r: entries %s and %s both have architecture %s (a list has "
                                       "one member per platform)" % (tag, first[key].tags[0], entry.tags[0], arch))
                first[key] = entry

    def claim(tag: str, owner: str) -> None:
        if tag in seen:
            raise PublishError("tag %r is claimed twice (by %s and by %s)" % (tag, seen[tag], owner))
        seen[tag] = owner

    for entry in entries:
        for tag in entry.tags:
            claim(tag, "entry %s" % entry.tags[0])
            specs.append(ListSpec(tag, tuple(sources(entry)), False))
    for group in shared_groups(entries) if groups is None else groups:
        group_sources = tuple(s for i in group.entries for s in sources(entries[i]))
        for tag in group.tags:
            validate_tag(tag, field="shared_tags")
            one_per_platform(tag, [entries[i] for i in group.entries])
            claim(tag, "shared tags %s" % ", ".join(group.tags))
            specs.append(ListSpec(tag, group_sources, True))
    return specs


def serialize(members: Sequence[Member], annotations: Mapping[str, str] | None = None) -> tuple[bytes, str]:
    """Deterministic bytes of the list and its media type: a Docker list iff all members are Docker v2 and
    nothing is annotated or attested (a Docker list has no annotations), otherwise an OCI index. Each member's
    attestation descriptor follows its image descriptor."""
    ordered = sorted(members, key=lambda m: architectures.platform_sort_key(m.platform))
    docker = not annotations and all(m.descriptor.media_type == DOCKER_MANIFEST and not m.annotations
                                     and m.attestation is None for m in ordered)
    media_type = DOCKER_LIST if docker else OCI_INDEX
    doc: dict = {"schemaVersion": 2, "mediaType": media_type,
                 "manifests": [d for m in ordered for d in m.to_index()]}
    if annotations:
        doc["annotations"] = dict(sorted(annotations.items()))
    return (json.dumps(doc, indent=3) + "\n").encode("utf-8"), media_type


def check_annotations(annotations: Mapping, where: str = "annotations") -> dict[str, str]:
    """Annotations are string to string (OCI image spec); a number from YAML would change the bytes silently."""
    for key, value in annotations.items():
        if not isinstance(key, str) or not key:
            raise PublishError("%s: key %r is not a non-empty string" % (where, key))
        if not isinstance(value, str):
            raise PublishError("%s: value of %s must be a string, got %r (quote it)" % (where, key, value))
    return dict(annotations)


@dataclass
class Publisher:
    client: RegistryClient
    namespace: str
    repository: str
    policy: str = "fail"
    concurrency: int = 8
    check_mode: bool = False
    # Index-level annotations, and whether each member is annotated with its architecture and tag.
    annotations: Mapping[str, str] = field(default_factory=dict)
    member_annotations: bool = False
    warnings: list[str] = field(default_factory=list)
    # Architectures a list may lose on purpose (bashbrew names); any other loss follows the policy.
    drop_architectures: Sequence[str] = ()
    # Seconds a second publisher of the same repository waits for the first (0: stop at once); where locks live.
    lock_timeout: float = 600.0
    lock_dir: str = ""
    # A Linux member without its attestation manifest is incomplete (the policy applies); False accepts bare
    # members (older releases, registries holding images pushed without attestations).
    require_attestations: bool = True
    # HEAD every member and attestation of an unchanged list in the target repository, copying back what is gone
    # (2 requests a member); False trusts that what a list points at stays (the verify stage reads it back).
    check_unchanged_members: bool = True

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise PublishError("missing_architectures: %r is not one of %s" % (self.policy, ", ".join(POLICIES)))
        for arch in self.drop_architectures:
            if not architectures.is_known(arch):
                raise PublishError("drop_architectures: unknown architecture %r (known: %s)"
                                   % (arch, ", ".join(architectures.ARCHITECTURES)))
        self.annotations = check_annotations(self.annotations)
        self.target = "%s/%s" % (self.namespace, self.repository) if self.namespace else self.repository
        validate_repository(self.target, field="namespace/repository")
        self._lock = threading.Lock()
        self._mounts: dict[str, Future] = {}
        self._verified: dict[str, Future] = {}  # member digest -> "" or why its image config is not its platform
        self._present: dict[str, Future] = {}  # member digest -> "present" | "copied" | "would copy" | error
        # Manifests read from the sources by digest: the platform check and the copy share one GET.
        self._manifests: dict[str, Manifest] = {}
        # The target repository did not exist when the publish started: nothing can be in it, so members are
        # copied without asking first (a HEAD per image and attestation spared).
        self._fresh = False

    # -- resolving members ---------------------------------------------------------------------------

    def _resolve(self, source: MemberSource, fetch: bool = True) -> Member | None:
        """The member image for one source reference (None if absent), with its attestation when it has one.

        One GET of the source: the farm's per-architecture index gives the image and attestation descriptors
        (platform, annotations) at once; a multi-platform list gives the architecture's image and the attestation
        that names it; a plain image manifest is a member without attestation. (`fetch` is kept for callers: a
        GET costs the registry what a HEAD does, and an index's content is needed anyway.)
        """
        arch = architectures.get(source.architecture)
        manifest = self.client.get_manifest(source.repository, source.tag)
        if manifest is None:
            return None
        platform = arch.platform
        desc = manifest.descriptor()
        picked: Mapping = {}
        attestation: Descriptor | None = None
        attestation_annotations: Annotations = ()
        if desc.media_type in LIST_TYPES:
            found_arch = self._pick(manifest.json(), arch.name)
            if found_arch is None:
                raise RegistryError("index has no %s image" % arch.platform, self.client.registry,
                                    source.repository, source.tag)
            picked, att = found_arch
            desc = Descriptor(str(picked["mediaType"]), str(picked["digest"]), int(picked["size"]))
            if desc.media_type not in IMAGE_TYPES:
                raise RegistryError("the %s entry of the index is %r, not an image manifest" % (
                    arch.platform, desc.media_type), self.client.registry, source.repository, source.tag)
            if att is not None:
                attestation = Descriptor(str(att["mediaType"]), str(att["digest"]), int(att["size"]))
                attestation_annotations = tuple(sorted((att.get("annotations") or {}).items()))
            manifest = self._manifests.get(desc.digest)
        elif desc.media_type not in IMAGE_TYPES:
            raise RegistryError("unsupported manifest media type %r" % desc.media_type, self.client.registry,
                                source.repository, source.tag)
        else:
            with self._lock:
                self._manifests[desc.digest] = manifest
        if arch.is_windows:
            manifest = manifest or self._member_manifest(source.repository, desc.digest)
            platform = self._windows_platform(source, manifest, platform)
        # The image descriptor's own annotations (the farm's upstream set) stay; member_annotations adds the
        # architecture and the tag as the official images have them.
        annotations = dict(picked.get("annotations") or {})
        if self.member_annotations:
            annotations.update({ARCH_ANNOTATION: arch.name, VERSION_ANNOTATION: source.tag})
        return Member(arch.name, source.reference, desc, platform, manifest, tuple(sorted(annotations.items())),
                      attestation, attestation_annotations, from_index=bool(picked))

    @staticmethod
    def _pick(doc: Mapping, arch_name: str) -> tuple[Mapping, Mapping | None] | None:
        """The index entry of `arch_name` and the attestation entry that names it (None: none); None when the
        index has no such architecture. Attestations are found by their reference digest wherever they are."""
        picked = None
        entries = [m for m in doc.get("manifests") or [] if isinstance(m, Mapping)]
        for m in entries:
            if (m.get("annotations") or {}).get(REFERENCE_TYPE) == ATTESTATION_MANIFEST:
                continue
            try:
                found = architectures.from_platform(Platform.from_oci(m.get("platform") or {})).name
            except architectures.UnknownArchitecture:
                continue  # unknown/unknown and platforms the farm does not build
            if found == arch_name:
                picked = m
                break
        if picked is None:
            return None
        for m in entries:
            ann = m.get("annotations") or {}
            if ann.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST and ann.get(REFERENCE_DIGEST) == picked.get("digest"):
                return picked, m
        return picked, None

    def _member_manifest(self, repository: str, digest: str) -> Manifest:
        with self._lock:
            known = self._manifests.get(digest)
        if known is not None:
            return known
        manifest = self.client.get_manifest(repository, digest)
        if manifest is None:
            raise RegistryError("member vanished during the publish", self.client.registry, repository, digest)
        with self._lock:
            self._manifests[digest] = manifest
        return manifest

    def _windows_platform(self, source: MemberSource, manifest: Manifest, base: Platform) -> Platform:
        config = json.loads(self.client.get_blob(source.repository, manifest.json()["config"]["digest"]))
        return Platform(base.os, base.architecture, base.variant, str(config.get("os.version", "")),
                        tuple(config.get("os.features") or ()))

    # -- the publish -------------------------------------------------------------------------------

    def publish(self, specs: Sequence[ListSpec]) -> list[TagResult]:
        """Publish one repository's lists, holding its lock (a second publisher waits or stops)."""
        return publish_many([(self, specs)], self.concurrency)[0]

    def _start(self, pool: ThreadPoolExecutor, specs: Sequence[ListSpec]) -> tuple[list[TagResult], list[Future]]:
        """Start every tag's work in `pool`; returns the results (filled in as it goes) and the futures to wait
        for. Only the first HEADs run in the calling thread."""
        results = [TagResult(spec.tag) for spec in specs]
        existing = self._published(pool, specs)
        for result, ex in zip(results, existing):
            if isinstance(ex, str):
                result.action, result.message = "failed", ex
        # Sources of a tag not published yet are fetched whole: their bytes are copied anyway.
        fetch = {s for spec, ex in zip(specs, existing) if ex is None for s in spec.sources}
        unique = sorted({s for spec in specs for s in spec.sources}, key=lambda s: (s.reference, s.architecture))
        resolving = {s: pool.submit(self._resolve, s, s in fetch) for s in unique}
        # No barrier between resolving, copying and publishing: each tag goes on as soon as its own members
        # are resolved, so the registry never idles while the slowest member of the release is looked up.
        # partial binds this iteration's spec, ex and result (a closure would see the last ones)
        stages = [_after(pool, [resolving[s] for s in spec.sources],
                         functools.partial(self._stage, pool, spec, ex, result, resolving))
                  for spec, ex, result in zip(specs, existing, results) if not isinstance(ex, str)]
        return results, stages

    def _stage(self, pool: ThreadPoolExecutor, spec: ListSpec, existing: Descriptor | None, result: TagResult,
               resolving: Mapping[MemberSource, Future]) -> Future | None:
        """Decide one tag once its members are resolved; returns the future of its PUT (or repair), if any."""
        try:
            self._prepare(spec, {s: resolving[s].result() for s in spec.sources}, existing, result)
        except RegistryError as exc:
            result.action, result.message = "failed", "not published: %s" % exc
            return None
        if result.action == "failed":
            return None
        pieces = _pieces(result.members)
        if result.action == "unchanged" and not self.check_unchanged_members:
            return None
        if result.action == "unchanged":
            # The list is as wanted, but a member deleted from the repository would leave it dangling: HEAD each
            # member and attestation (once per digest for the whole publish) and copy back what is gone.
            needed = [self._presence(pool, m) for m in pieces]
            return _after(pool, needed, lambda: self._repaired(result, pieces, needed))
        if self.check_mode:
            result.action = "would_" + result.action[:-1]
        # Before a list is written: each member's image config is its platform, and each member and its
        # attestation are in the target repository (copied there if not); then the list (never points at nothing).
        needed = [self._verify(pool, m) for m in result.members if m.source and not m.from_index]
        needed += [self._presence(pool, m) for m in pieces]
        return _after(pool, needed, lambda: self._put(result, needed))

    def _published(self, pool: ThreadPoolExecutor, specs: Sequence[ListSpec]) -> list[Descriptor | None | str]:
        """What each tag is now: a HEAD per tag, or why it cannot be told (that tag fails, the others go on).
        When the first tag is absent (a new repository, new tags), one tags/list spares the HEADs of the tags
        not there. The first HEAD's failure is the whole publish's: a registry that cannot be reached fails once,
        saying why."""
        if not specs:
            return []
        first = self.client.head_manifest(self.target, specs[0].tag)
        rest = [spec.tag for spec in specs[1:]]
        if first is None:
            listed = self.client.list_tags(self.target)
            self._fresh = listed is None
            there = set(listed or ())
            rest = [tag for tag in rest if tag in there]

        def head(tag: str) -> Descriptor | None | str:
            try:
                return self.client.head_manifest(self.target, tag)
            except RegistryError as exc:
                return "not published: cannot tell what is published: %s" % exc
        now: dict[str, Descriptor | None | str] = dict(zip(rest, pool.map(head, rest)))
        now[specs[0].tag] = first
        return [now.get(spec.tag) for spec in specs]

    def _prepare(self, spec: ListSpec, resolved: Mapping[MemberSource, Member | None],
                 existing: Descriptor | None, result: TagResult) -> None:
        members = [m for m in (resolved[s] for s in spec.sources) if m is not None]
        missing = [s for s in spec.sources if resolved[s] is None]
        result.missing = ["%s (%s)" % (s.architecture, s.reference) for s in missing]
        # A Linux member without its attestation is incomplete, as a missing one is (Windows images have none).
        bare = [s for s in spec.sources if self.require_attestations
                and not architectures.get(s.architecture).is_windows and _unattested(resolved[s])]
        result.unattested = ["%s (%s)" % (s.architecture, s.reference) for s in bare]
        if (missing or bare) and self.policy == "fail":
            result.action = "failed"
            result.message = "not published: " + "; ".join(
                ([("missing architecture images %s" % ", ".join(result.missing))] if missing else [])
                + ([("members without their attestation %s (require_attestations: false publishes them bare)"
                     % ", ".join(result.unattested))] if bare else []))
            return
        if bare:
            members = [m for m in members if m.source not in {s.reference for s in bare}]
            missing = missing + bare
        previous: list[Member] | None = None
        if existing is not None:
            result.previous_digest = existing.digest
        drop = set(self.drop_architectures)
        if missing and self.policy == "keep-previous" and existing is not None:
            previous, result.previous_annotations = self._previous(existing)
            self._carry(previous, members, {s.architecture for s in missing} - drop, result)
        lost = [s.architecture for s in missing if s.architecture not in result.carried]
        if lost:
            self.warnings.append("%s:%s published without %s (%s)" % (
                self.target, spec.tag, ", ".join(lost), "; ".join(
                    ([("images missing: %s" % ", ".join(result.missing))] if result.missing else [])
                    + ([("without attestation: %s" % ", ".join(result.unattested))] if result.unattested else []))))
        if not members:
            result.action = "failed"
            result.message = "not published: no member image exists"
            return
        platforms: dict[Platform, Member] = {}
        for m in members:
            if m.platform in platforms:
                result.action = "failed"
                result.message = "not published: %s and %s are both %s%s (a list has one member per platform)" % (
                    platforms[m.platform].source, m.source, m.platform,
                    " " + m.platform.os_version if m.platform.os_version else "")
                return
            platforms[m.platform] = m
        self._serialize(members, result)
        if existing is None:
            result.action = "created"
            return
        if existing.digest == result.digest:
            return  # unchanged
        result.action = "updated"
        # Only a changing list costs a GET: the diff of members, and no architecture lost unnoticed.
        if previous is None:
            previous, result.previous_annotations = self._previous(existing)
        result.previous_members = [m.summary() for m in previous]
        shrunk = sorted({m.architecture for m in previous} - {m.architecture for m in members} - set(lost) - drop,
                        key=architectures.sort_names([m.architecture for m in previous]).index)
        if shrunk and self.policy == "fail":
            # Whatever the reason (an entry's architectures shrunk, a builder group gone from the inventory), a
            # published list does not lose a platform unless drop_architectures names it.
            result.action = "failed"
            result.lost = shrunk
            result.message = ("not published: the list would lose %s (published with %s); name them in "
                              "drop_architectures to drop them on purpose, or use missing_architectures "
                              "keep-previous or skip" % (", ".join(shrunk), ", ".join(
                                  architectures.sort_names({m.architecture for m in previous}))))
            return
        if shrunk and self.policy == "keep-previous":
            self._carry(previous, members, set(shrunk), result)
            self._serialize(members, result)
            if existing.digest == result.digest:
                result.action, result.previous_members = "unchanged", []
                return
        elif shrunk:
            result.dropped.extend(shrunk)
            self.warnings.append("%s:%s no longer lists %s (missing_architectures: skip)"
                                 % (self.target, spec.tag, ", ".join(shrunk)))
        on_purpose = sorted(({m.architecture for m in previous} - {m.architecture for m in members}) & drop)
        if on_purpose:
            result.dropped.extend(on_purpose)
            self.warnings.append("%s:%s no longer lists %s (drop_architectures)"
                                 % (self.target, spec.tag, ", ".join(on_purpose)))

    def _carry(self, previous: Sequence[Member], members: list[Member], archs: set[str], result: TagResult) -> None:
        """Carry the published members of `archs` forward into `members` (keep-previous)."""
        have = {m.platform for m in members}
        for arch in architectures.sort_names(archs):
            kept = [m for m in previous if m.architecture == arch and m.platform not in have]
            members.extend(kept)
            if kept and arch not in result.carried:
                result.carried.append(arch)

    def _serialize(self, members: Sequence[Member], result: TagResult) -> None:
        result.annotations = dict(self.annotations)
        result.data, result.media_type = serialize(members, self.annotations)
        result.members = sorted(members, key=lambda m: architectures.platform_sort_key(m.platform))
        result.digest = sha256_digest(result.data)

    def _previous(self, existing: Descriptor) -> tuple[list[Member], dict]:
        """The members and index annotations of the list published now (a carried member keeps its own)."""
        if existing.media_type not in LIST_TYPES:
            return [], {}
        manifest = self.client.get_manifest(self.target, existing.digest)
        doc = manifest.json() if manifest else {}
        out = []
        entries = doc.get("manifests", [])
        for m in entries:
            if (m.get("annotations") or {}).get(REFERENCE_TYPE) == ATTESTATION_MANIFEST:
                continue
            p = Platform.from_oci(m.get("platform") or {})
            try:
                arch = architectures.from_platform(p).name
            except architectures.UnknownArchitecture:
                continue  # a platform the farm does not build
            att = next((a for a in entries if (a.get("annotations") or {}).get(REFERENCE_TYPE) == ATTESTATION_MANIFEST
                        and (a.get("annotations") or {}).get(REFERENCE_DIGEST) == m["digest"]), None)
            out.append(Member(arch, "", Descriptor(m["mediaType"], m["digest"], int(m["size"])), p,
                              annotations=tuple(sorted((m.get("annotations") or {}).items())),
                              attestation=Descriptor(att["mediaType"], att["digest"], int(att["size"]))
                              if att else None,
                              attestation_annotations=tuple(sorted((att.get("annotations") or {}).items()))
                              if att else ()))
        return out, dict(doc.get("annotations") or {})

    # -- members: platform check, presence, copy -----------------------------------------------------

    def _once(self, table: dict[str, Future], pool: ThreadPoolExecutor, member: Member,
              fn: Callable[[Member], str]) -> Future:
        with self._lock:
            future = table.get(member.descriptor.digest)
            if future is None:
                future = table[member.descriptor.digest] = pool.submit(_message_of, fn, member)
            return future

    def _verify(self, pool: ThreadPoolExecutor, member: Member) -> Future:
        return self._once(self._verified, pool, member, self._check_platform)

    def _presence(self, pool: ThreadPoolExecutor, member: Member) -> Future:
        return self._once(self._present, pool, member, self._make_present)

    def _check_platform(self, member: Member) -> str:
        """"" when the member's image config says the platform it is listed as (os, architecture, variant)."""
        source_repo = member.source.rsplit(":", 1)[0]
        manifest = member.manifest or self._member_manifest(source_repo, member.descriptor.digest)
        config_ref = (manifest.json().get("config") or {}).get("digest")
        if not config_ref:
            return "member %s (%s) has no image config" % (member.source, member.descriptor.digest)
        config = json.loads(self.client.get_blob(source_repo, config_ref))
        actual = Platform(str(config.get("os", "")), str(config.get("architecture", "")),
                          str(config.get("variant", "") or ""))
        wanted = member.platform
        # A config may leave the variant out (arm64's v8 especially); when it names one it must be the same.
        variant_ok = not actual.variant or not wanted.variant or actual.variant == wanted.variant
        if (actual.os, actual.architecture) != (wanted.os, wanted.architecture) or not variant_ok:
            return ("member %s (%s) is %s by its image config, not %s (check arch_namespaces and what was "
                    "pushed there)" % (member.source, member.descriptor.digest, actual, Platform(
                        wanted.os, wanted.architecture, wanted.variant)))
        return ""

    def _make_present(self, member: Member) -> str:
        """Make the member manifest exist in the target repository: "present", "copied" (or "would copy" in
        check mode), else raises a RegistryError saying why not."""
        digest = member.descriptor.digest
        if not self._fresh and self.client.head_manifest(self.target, digest) is not None:
            return "present"
        if not member.source:
            raise RegistryError("member %s (%s, carried forward) no longer exists and has no source to copy it "
                                "from" % (digest, member.platform), self.client.registry, self.target)
        if self.check_mode:
            return "would copy"
        self._copy(member)
        return "copied"

    def _copy(self, member: Member) -> None:
        """Blobs mounted from the arch repository, then the manifest PUT by digest (registries check both)."""
        digest = member.descriptor.digest
        source_repo = member.source.rsplit(":", 1)[0]
        manifest = member.manifest or self._member_manifest(source_repo, digest)
        doc = manifest.json()
        for blob in [doc.get("config") or {}] + list(doc.get("layers") or []):
            # Foreign (Windows base) layers stay where they are.
            if blob.get("digest") and not blob.get("urls"):
                self._mount_once(blob["digest"], source_repo, digest)
        self.client.put_manifest(self.target, digest, manifest.data, manifest.media_type)

    def _mount_once(self, blob: str, source_repo: str, member_digest: str) -> None:
        """Mount a blob shared by several members once; the others wait for that mount to finish (or fail),
        since their manifest PUT is refused while the blob is not in the target repository yet."""
        with self._lock:
            mount = self._mounts.get(blob)
            first = mount is None
            if mount is None:
                mount = self._mounts[blob] = Future()
        if not first:
            mount.result()  # the first one is running it in its own thread: a short wait, never a deadlock
            return
        try:
            if not self.client.mount_blob(self.target, blob, source_repo):
                raise RegistryError("cross-repository mount of %s from %s refused" % (blob, source_repo),
                                    self.client.registry, self.target, member_digest)
        except BaseException as exc:
            mount.set_exception(exc)
            raise
        mount.set_result(None)

    def _repaired(self, result: TagResult, pieces: Sequence[Member], checks: Sequence[Future]) -> None:
        """An unchanged list whose members (or attestations) were gone: copied back (repaired), or failed naming
        them."""
        outcomes = [f.result() for f in checks]
        errors = [o[1] for o in outcomes if o[0] == "error"]
        if errors:
            result.action, result.message = "failed", "published list has a dangling member: " + errors[0]
            return
        copied = [m.descriptor.digest for m, o in zip(pieces, outcomes) if o[1] in ("copied", "would copy")]
        if copied:
            result.repaired = copied
            result.action = "would_repair" if self.check_mode else "repaired"
            result.changed = not self.check_mode
            self.warnings.append("%s:%s pointed at members no longer in the repository (%s): %s"
                                 % (self.target, result.tag, ", ".join(copied),
                                    "would be copied back" if self.check_mode else "copied back"))

    def _put(self, result: TagResult, checks: Sequence[Future]) -> None:
        failed = [o[1] for o in (f.result() for f in checks)
                  if o[0] == "error" or (o[0] == "ok" and o[1] and o[1] not in _PRESENCE)]
        if failed:
            result.action, result.message = "failed", "not published: " + failed[0]
            return
        if self.check_mode:
            return
        try:
            self.client.put_manifest(self.target, result.tag, result.data, result.media_type)
            result.changed = True
        except RegistryError as exc:
            result.action = "failed"
            result.message = str(exc)


_PRESENCE = ("present", "copied", "would copy")


def _unattested(member: Member | None) -> bool:
    return member is not None and member.attestation is None


def _pieces(members: Sequence[Member]) -> list[Member]:
    """What must be in the target repository for a list: each member image, then its attestation manifest."""
    return [p for m in members for p in ([m, m.attestation_member()] if m.attestation is not None else [m])]


def _message_of(fn: Callable[[Member], str], member: Member) -> tuple[str, str]:
    """("ok", what fn returned) or ("error", the RegistryError's message): a worker never raises."""
    try:
        return "ok", fn(member)
    except RegistryError as exc:
        return "error", str(exc)
    except (ValueError, KeyError, TypeError) as exc:  # a manifest or config that is not what it claims
        return "error", "member %s (%s): unreadable manifest or config: %s" % (
            member.source or "carried", member.descriptor.digest, exc)


# -- one publisher per repository at a time --------------------------------------------------------------

def default_lock_dir() -> str:
    """Per user, so that another user's folder never decides whether this one's publish may run."""
    return os.path.join(tempfile.gettempdir(), "buildfarm-publish-locks-%d" % os.getuid())


@contextlib.contextmanager
def repository_lock(registry: str, target: str, timeout: float, lock_dir: str = "",
                    sleep: Callable[[float], None] = time.sleep) -> Iterator[str]:
    """Hold the controller's lock of `<registry>/<target>` while publishing: a second publisher of the same
    repository waits up to `timeout` seconds, then stops with a message naming the holder. The registry API has
    no compare-and-swap, so the lock is the controller's (an flock: released by the kernel if the holder dies)."""
    folder = lock_dir or default_lock_dir()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    name = "%s/%s" % (registry, target)
    path = os.path.join(folder, hashlib.sha256(name.encode("utf-8")).hexdigest()[:32] + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        waited = 0.0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if waited >= timeout:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
                raise PublishError("another publish of %s is running (%s; lock %s): waited %g s (lock_timeout); "
                                   "nothing was published, run again when it has finished" % (
                                       name, holder, path, waited))
            step = min(0.5, timeout - waited)
            sleep(step)
            waited += step
        os.ftruncate(fd, 0)
        os.pwrite(fd, ("pid %d since %s" % (os.getpid(), time.strftime("%Y-%m-%dT%H:%M:%S%z"))).encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing releases the flock


def publish_many(jobs: Sequence[tuple[Publisher, Sequence[ListSpec]]], concurrency: int = 8
                 ) -> list[list[TagResult]]:
    """Publish several repositories in one pool (concurrency across repositories), each under its lock (taken
    in a fixed order, so two batch publishers never wait on each other crosswise). Check mode takes no lock."""
    with contextlib.ExitStack() as locks:
        for publisher in sorted({id(p): p for p, _specs in jobs}.values(), key=lambda p: p.target):
            if not publisher.check_mode:
                locks.enter_context(repository_lock(publisher.client.registry, publisher.target,
                                                    publisher.lock_timeout, publisher.lock_dir))
        # One pool for the whole publish: each worker keeps its keep-alive connection from phase to phase.
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            started = [publisher._start(pool, specs) for publisher, specs in jobs]
            for _results, stages in started:
                for stage in stages:
                    later = stage.result()  # a bug in a worker surfaces here instead of vanishing
                    if later is not None:
                        later.result()
        return [results for results, _stages in started]


_T = TypeVar("_T")


def _after(pool: ThreadPoolExecutor, futures: Sequence[Future], fn: Callable[[], _T]) -> Future[_T]:
    """`fn` run in the pool once all `futures` are done, its return value the result of the future returned;
    scheduled by callbacks, so no worker blocks waiting."""
    done: Future[_T] = Future()
    pending = [len(futures)]
    lock = threading.Lock()

    def run() -> None:
        try:
            done.set_result(fn())
        except BaseException as exc:  # handed to whoever waits on `done`
            done.set_exception(exc)

    def one_done(_future: Future) -> None:
        with lock:
            pending[0] -= 1
            last = pending[0] == 0
        if last:
            pool.submit(run)

    if not futures:
        pool.submit(run)
    for f in futures:
        f.add_done_callback(one_done)
    return done


def diff_text(result: TagResult) -> dict:
    return {"before_header": "%s (%s)" % (result.tag, result.previous_digest or "absent"),
            "after_header": "%s (%s)" % (result.tag, result.digest),
            "before": result.diff_lines(result.previous_members, result.previous_annotations),
            "after": result.diff_lines([m.summary() for m in result.members], result.annotations)}


def load_library_file(path: str) -> tuple[list[ReleaseEntry], list[SharedGroup]]:
    """Entries and shared-tag groups of a bashbrew library file, from the collection's library manifest parser."""
    with open(path, encoding="utf-8") as f:
        manifest = library_manifest.parse(f.read(), path).validate()
    entries = [ReleaseEntry.from_dict({"tags": e.tags, "shared_tags": e.shared_tags, "architectures": e.architectures},
                                      "%s: entry %s" % (path, ", ".join(e.tags)), publish=True)
               for e in manifest.entries]
    index = {id(e): i for i, e in enumerate(manifest.entries)}
    groups = [SharedGroup(tuple(g.tags), tuple(index[id(e)] for e in g.entries))
              for g in library_manifest.shared_tag_groups(manifest)]
    return entries, groups
