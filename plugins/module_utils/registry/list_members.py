# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The members of a manifest list: what each one is (`Member`) and reading them from the registry.

A member source is the farm's per-architecture OCI index (its image manifest, then the image's attestation manifest
as BuildKit stores them); an older plain image manifest or a multi-platform list is read too. The list keeps each
member's image descriptor immediately followed by its attestation descriptor.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.architectures import Platform
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import MemberSource
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import IMAGE_TYPES, LIST_TYPES
from ansible_collections.buildfarm.images.plugins.module_utils.registry.oci_index import (
    ATTESTATION_MANIFEST,
    BASHBREW_ARCH,
    OCI,
    REFERENCE_DIGEST,
    REFERENCE_TYPE,
    UNKNOWN_PLATFORM,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    Descriptor,
    Manifest,
    RegistryClient,
    RegistryError,
    sha256_digest,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    ImagePushResult,
    ListMember,
    PushStatus,
)

# The official images' member annotations (oci_index.py writes the same names).
ARCH_ANNOTATION = BASHBREW_ARCH
VERSION_ANNOTATION = OCI + "version"

Annotations = tuple[tuple[str, str], ...]  # sorted (key, value) pairs: hashable, and deterministic bytes


def _sorted(annotations: Mapping[str, str] | None) -> Annotations:
    return tuple(sorted((annotations or {}).items()))


def _descriptor(entry: Mapping[str, Any]) -> Descriptor:
    return Descriptor(str(entry["mediaType"]), str(entry["digest"]), int(entry["size"]))


@dataclass(frozen=True)
class Member:
    architecture: str
    source: ImageRef | None  # the image it was resolved from (None when carried forward)
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

    @property
    def name(self) -> str:
        """How messages name the member: its source reference, "" when carried forward."""
        return self.source.remote if self.source is not None else ""

    @property
    def source_repository(self) -> str:
        return self.source.path if self.source is not None else ""

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

    def summary(self) -> ListMember:
        return ListMember(self.architecture, str(self.platform), self.platform.os_version, self.descriptor.digest,
                          self.name, dict(self.annotations), self.attestation.digest if self.attestation else "")


def _is_attestation(entry: Mapping) -> bool:
    return (entry.get("annotations") or {}).get(REFERENCE_TYPE) == ATTESTATION_MANIFEST


def _attestation_of(entries: list[Mapping], digest: Any) -> Mapping | None:
    """The attestation entry naming the image `digest`, wherever it is in the index (None: none)."""
    return next((m for m in entries if _is_attestation(m)
                 and (m.get("annotations") or {}).get(REFERENCE_DIGEST) == digest), None)


def _arch_of(entry: Mapping) -> str:
    """The bashbrew architecture of an index entry's platform; "" for unknown/unknown and platforms the farm does
    not build."""
    try:
        return architectures.from_platform(Platform.from_oci(entry.get("platform") or {})).name
    except architectures.UnknownArchitecture:
        return ""


def pick_member(doc: Mapping, arch_name: str) -> tuple[Mapping, Mapping | None] | None:
    """The index entry of `arch_name` and the attestation entry that names it (None: none); None when the index has
    no such architecture. Attestations are found by their reference digest wherever they are."""
    entries = [m for m in doc.get("manifests") or [] if isinstance(m, Mapping)]
    picked = next((m for m in entries if not _is_attestation(m) and _arch_of(m) == arch_name), None)
    if picked is None:
        return None
    return picked, _attestation_of(entries, picked.get("digest"))


@dataclass(frozen=True)
class KnownManifests:
    """What the release's push stage wrote (or found unchanged), so that the publish lists and copies it without
    reading it back: each pushed tag's index digest (`arm64v8/python:3.13` -> digest) and the manifests by digest.

    Only what is provably what it says is kept: a manifest whose bytes do not hash to its digest, or whose media type
    is not one the farm writes, is left out (the publish then reads it from the registry, as without a record)."""

    tags: Mapping[str, str] = field(default_factory=dict)
    manifests: Mapping[str, Manifest] = field(default_factory=dict)

    @classmethod
    def from_pushes(cls, pushes: Sequence[ImagePushResult], registry: str) -> "KnownManifests":
        """From image_push's results (every builder's), the tags pushed to `registry` that serve a known index."""
        manifests: dict[str, Manifest] = {}
        for push in pushes:
            for t in push.tags:
                for digest, text in t.manifests.items():
                    manifest = _known_manifest(digest, text)
                    if manifest is not None:
                        manifests[digest] = manifest
        # a tag's registry as the pusher chose it: where its API answers (registry-1.docker.io for docker.io)
        tags = {"%s:%s" % (t.ref.path, t.ref.tag): t.digest for push in pushes for t in push.tags
                if t.status in (PushStatus.PUSHED, PushStatus.UNCHANGED) and t.ref.api_host == registry
                and t.digest in manifests and manifests[t.digest].media_type in LIST_TYPES}
        return cls(tags, manifests)

    def index(self, source: MemberSource) -> Manifest | None:
        """The index the release pushed under `source`'s tag (None: not known, read it from the registry)."""
        digest = self.tags.get(source.reference)
        return self.manifests.get(digest) if digest else None


def _known_manifest(digest: str, text: str) -> Manifest | None:
    data = text.encode("utf-8")
    try:
        media_type = json.loads(data).get("mediaType")
    except (ValueError, AttributeError):
        return None
    if sha256_digest(data) != digest or media_type not in LIST_TYPES + IMAGE_TYPES:
        return None
    return Manifest(str(media_type), digest, data)


class MemberReader:
    """Reads members from one registry, keeping each manifest fetched by digest (the platform check and the copy
    share one GET). Thread-safe: the publisher's workers share it."""

    def __init__(self, client: RegistryClient, member_annotations: bool = False,
                 known: KnownManifests | None = None) -> None:
        self.client = client
        # Whether each member is annotated with its architecture and tag (as the official images are).
        self.member_annotations = member_annotations
        self.known = known or KnownManifests()
        self._lock = threading.Lock()
        self._manifests: dict[str, Manifest] = dict(self.known.manifests)
        self.from_record = 0  # members resolved from `known` (not read from the registry)

    def resolve(self, source: MemberSource) -> Member | None:
        """The member image for one source reference (None if absent), with its attestation when it has one.

        One GET of the source, none when the release's push stage says what it pushed there: the farm's
        per-architecture index gives the image and attestation descriptors (platform, annotations) at once; a
        multi-platform list gives the architecture's image and the attestation that names it; a plain image
        manifest is a member without attestation."""
        arch = architectures.get(source.architecture)
        manifest = self.known.index(source)
        if manifest is not None:
            with self._lock:
                self.from_record += 1
        else:
            manifest = self.client.get_manifest(source.repository, source.tag)
        if manifest is None:
            return None
        picked: Mapping = {}
        att: Mapping | None = None
        desc = manifest.descriptor()
        if desc.media_type in LIST_TYPES:
            picked, att = self._picked(source, manifest, arch)
            desc = _descriptor(picked)
            manifest = self._known(desc.digest)
        elif desc.media_type not in IMAGE_TYPES:
            raise RegistryError("unsupported manifest media type %r" % desc.media_type, self.client.registry,
                                source.repository, source.tag)
        else:
            with self._lock:
                self._manifests[desc.digest] = manifest
        platform = arch.platform
        if arch.is_windows:
            manifest = manifest or self.manifest(source.repository, desc.digest)
            platform = self._windows_platform(source, manifest, platform)
        # The image descriptor's own annotations (the farm's upstream set) stay; member_annotations adds the
        # architecture and the tag as the official images have them.
        annotations = dict(picked.get("annotations") or {})
        if self.member_annotations:
            annotations.update({ARCH_ANNOTATION: arch.name, VERSION_ANNOTATION: source.tag})
        return Member(arch.name, source.ref(self.client.registry), desc, platform, manifest, _sorted(annotations),
                      _descriptor(att) if att is not None else None,
                      _sorted(att.get("annotations")) if att is not None else (), from_index=bool(picked))

    def _picked(self, source: MemberSource, manifest: Manifest, arch: Any) -> tuple[Mapping, Mapping | None]:
        """The architecture's image entry of an index (and its attestation's), which must be an image manifest."""
        found = pick_member(manifest.json(), arch.name)
        if found is None:
            raise RegistryError("index has no %s image" % arch.platform, self.client.registry, source.repository,
                                source.tag)
        media_type = str(found[0]["mediaType"])
        if media_type not in IMAGE_TYPES:
            raise RegistryError("the %s entry of the index is %r, not an image manifest" % (
                arch.platform, media_type), self.client.registry, source.repository, source.tag)
        return found

    def _known(self, digest: str) -> Manifest | None:
        with self._lock:
            return self._manifests.get(digest)

    def manifest(self, repository: str, digest: str) -> Manifest:
        """The manifest `digest` (from the ones read already, else one GET of `repository`)."""
        known = self._known(digest)
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

    def published(self, repository: str, existing: Descriptor) -> tuple[list[Member], dict]:
        """The members and index annotations of the list published now (a carried member keeps its own)."""
        if existing.media_type not in LIST_TYPES:
            return [], {}
        manifest = self.client.get_manifest(repository, existing.digest)
        doc = manifest.json() if manifest else {}
        entries = doc.get("manifests", [])
        out = []
        for m in entries:
            arch = "" if _is_attestation(m) else _arch_of(m)
            if not arch:
                continue  # attestations (they go with their image) and platforms the farm does not build
            att = _attestation_of(entries, m["digest"])
            out.append(Member(arch, None, _descriptor(m), Platform.from_oci(m.get("platform") or {}),
                              annotations=_sorted(m.get("annotations")),
                              attestation=_descriptor(att) if att is not None else None,
                              attestation_annotations=_sorted(att.get("annotations")) if att is not None else ()))
        return out, dict(doc.get("annotations") or {})
