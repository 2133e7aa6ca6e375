# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-architecture tag as the farm publishes it: an OCI image index holding the image and its attestation.

Shape (the shared contract of issue 23, as BuildKit stores attestations and as upstream's architecture namespaces
are):

- manifests[0]: the image manifest, OCI media types, the same config and layer blobs (same bytes) as the manifest
  the engine pushed, the upstream annotations on the manifest and on its descriptor, the descriptor's platform;
- manifests[1] (when attested): the attestation manifest, platform unknown/unknown, descriptor annotations
  `vnd.docker.reference.type: attestation-manifest` and `vnd.docker.reference.digest: <manifests[0].digest>`,
  whose layers are in-toto statements (`application/vnd.in-toto+json`) annotated `in-toto.io/predicate-type`.

Every document is serialized with sorted keys and no spaces, so an unchanged image yields the same digests on every
run (a second release writes nothing). Plain typed Python on the standard library and registry_client.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import (
    DOCKER_MANIFEST,
    IN_TOTO,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    OCI_OF_DOCKER,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    RegistryClient,
    RegistryError,
)

PREDICATE_TYPE = "in-toto.io/predicate-type"
REFERENCE_TYPE = "vnd.docker.reference.type"
REFERENCE_DIGEST = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"
UNKNOWN_PLATFORM = {"architecture": "unknown", "os": "unknown"}
SPDX_PREDICATE = "https://spdx.dev/Document"
SLSA_PREDICATE = "https://slsa.dev/provenance/v0.2"

OCI = "org.opencontainers.image."
BASHBREW_ARCH = "com.docker.official-images.bashbrew.arch"
# the upstream set, in the order upstream lists them (serialization sorts them anyway)
ANNOTATION_KEYS = (OCI + "source", OCI + "revision", OCI + "created", OCI + "version", OCI + "url",
                   OCI + "base.name", OCI + "base.digest", BASHBREW_ARCH)


class OciIndexError(BuildfarmError):
    """A manifest the farm cannot turn into its index (an unknown media type, a schema1 manifest)."""


def canonical(doc: Any) -> bytes:
    """The one serialization of every document the farm writes: sorted keys, compact, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def upstream_annotations(*, source: str = "", revision: str = "", created: str = "", version: str = "",
                         url: str = "", base_name: str = "", base_digest: str = "", arch: str = "") -> dict[str, str]:
    """Upstream's annotation set of an image; empty values are left out."""
    values = (source, revision, created, version, url, base_name, base_digest, arch)
    return {k: v for k, v in zip(ANNOTATION_KEYS, values) if v}


def descriptor(media_type: str, data: bytes, annotations: Mapping[str, str] | None = None,
               platform: Mapping[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"mediaType": media_type, "digest": digest_of(data), "size": len(data)}
    if annotations:
        out["annotations"] = dict(annotations)
    if platform:
        out["platform"] = dict(platform)
    return out


def oci_image_manifest(pushed: Mapping[str, Any], annotations: Mapping[str, str]) -> bytes:
    """The OCI image manifest of what the engine pushed (docker schema2 or OCI): the same config and layer blobs
    under their OCI media types, with `annotations`."""
    media_type = pushed.get("mediaType") or (OCI_MANIFEST if pushed.get("schemaVersion") == 2 else "")
    if media_type not in (DOCKER_MANIFEST, OCI_MANIFEST) or not isinstance(pushed.get("config"), Mapping):
        raise OciIndexError("the engine pushed a manifest of type %r: only docker schema 2 and OCI image manifests "
                            "can be published as an OCI index" % (media_type or pushed.get("schemaVersion")))

    def blob(desc: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in desc.items() if k in ("digest", "size", "urls", "annotations")}
        out["mediaType"] = OCI_OF_DOCKER.get(str(desc.get("mediaType", "")), str(desc.get("mediaType", "")))
        return out

    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": blob(pushed["config"]),
                           "layers": [blob(layer) for layer in pushed.get("layers") or ()]}
    if annotations:
        doc["annotations"] = dict(annotations)
    return canonical(doc)


@dataclass(frozen=True)
class Statement:
    """One in-toto statement as a layer of the attestation manifest."""

    predicate_type: str
    data: bytes

    @classmethod
    def of(cls, statement: Mapping[str, Any]) -> "Statement":
        return cls(str(statement.get("predicateType", "")), canonical(statement))


@dataclass(frozen=True)
class Attestation:
    """The attestation manifest of an image and the blobs it needs uploaded (config first, then the layers)."""

    manifest: bytes
    blobs: tuple[bytes, ...]

    @property
    def digest(self) -> str:
        return digest_of(self.manifest)


def attestation(statements: Sequence[Statement]) -> Attestation:
    """The attestation manifest of `statements`, with the small config BuildKit writes for it."""
    config = canonical({"architecture": "unknown", "os": "unknown", "config": {},
                        "rootfs": {"type": "layers", "diff_ids": [digest_of(s.data) for s in statements]}})
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, config),
           "layers": [descriptor(IN_TOTO, s.data, {PREDICATE_TYPE: s.predicate_type}) for s in statements]}
    return Attestation(canonical(doc), (config,) + tuple(s.data for s in statements))


def image_index(image_manifest: bytes, platform: Mapping[str, Any], annotations: Mapping[str, str],
                attestation_manifest: bytes | None = None) -> bytes:
    """The per-architecture index: the image (platform, annotations) first, its attestation second."""
    image = descriptor(OCI_MANIFEST, image_manifest, annotations, platform)
    manifests = [image]
    if attestation_manifest is not None:
        manifests.append(descriptor(OCI_MANIFEST, attestation_manifest,
                                    {REFERENCE_DIGEST: image["digest"], REFERENCE_TYPE: ATTESTATION_MANIFEST},
                                    UNKNOWN_PLATFORM))
    return canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})


@dataclass
class Published:
    """What a tag holds: the index, its image manifest and (or "") its attestation manifest."""

    index_digest: str
    image_digest: str
    attestation_digest: str = ""
    index: bytes = b""
    problems: list[str] = field(default_factory=list)


def read_index(data: bytes, media_type: str, digest: str) -> Published:
    """The index of a tag as the contract lays it out; `problems` says what differs (empty when it follows it)."""
    out = Published(digest, "", "", data)
    if media_type != OCI_INDEX:
        out.problems.append("the tag is a %s, not an OCI index" % (media_type or "manifest of no type"))
        return out
    try:
        doc = json.loads(data.decode("utf-8"))
        manifests = list(doc.get("manifests") or [])
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError):
        out.problems.append("the index is not JSON with a manifests list")
        return out
    if not manifests or not isinstance(manifests[0], dict) or manifests[0].get("mediaType") != OCI_MANIFEST:
        out.problems.append("manifests[0] is not an OCI image manifest")
        return out
    out.image_digest = str(manifests[0].get("digest", ""))
    if len(manifests) > 1 and isinstance(manifests[1], dict):
        ann = manifests[1].get("annotations") or {}
        if (ann.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST and ann.get(REFERENCE_DIGEST) == out.image_digest
                and manifests[1].get("platform") == UNKNOWN_PLATFORM):
            out.attestation_digest = str(manifests[1].get("digest", ""))
    return out


def index_matches(published: Published, image_manifest: Mapping[str, Any] | None, image_id: str,
                  platform: Mapping[str, Any], annotations: Mapping[str, str], attested: bool) -> list[str]:
    """What keeps a published index from being this image's as the farm would write it now ([] = unchanged):
    the image manifest's config is the local image (its id), the manifest's and the descriptor's annotations are
    `annotations`, the platform is the architecture's, and the attestation is there when `attested` (and, when
    not, an attestation there is no difference)."""
    problems = list(published.problems)
    if problems:
        return problems
    doc = json.loads(published.index.decode("utf-8"))
    image = doc["manifests"][0]
    if image.get("platform") != dict(platform):
        problems.append("platform %s, not %s" % (image.get("platform"), dict(platform)))
    if (image.get("annotations") or {}) != dict(annotations):
        problems.append("other annotations on the image descriptor")
    # without attestations (the opt-out) an index that has one is kept: rewriting it would drop what was published
    if attested and not published.attestation_digest:
        problems.append("no attestation")
    if len(doc["manifests"]) != (2 if published.attestation_digest else 1):
        problems.append("%d manifests" % len(doc["manifests"]))
    if image_manifest is not None:
        if (image_manifest.get("config") or {}).get("digest") != image_id:
            problems.append("another image (config %s)" % (image_manifest.get("config") or {}).get("digest"))
        if (image_manifest.get("annotations") or {}) != dict(annotations):
            problems.append("other annotations on the image manifest")
    return problems


def publish(registry: RegistryClient, repository: str, image_manifest: bytes, index: bytes,
            attestation_: Attestation | None, tags: Sequence[str]) -> str:
    """Write the image manifest and the attestation (its blobs first) by digest, then the index under every tag;
    the registry is the proof: each tag is read back (HEAD) and must serve the index written. Returns the index
    digest. The image's own blobs are the engine's push (same repository)."""
    if attestation_ is not None:
        for blob in attestation_.blobs:
            registry.put_blob(repository, blob)
    registry.put_manifest(repository, digest_of(image_manifest), image_manifest, OCI_MANIFEST)
    if attestation_ is not None:
        registry.put_manifest(repository, attestation_.digest, attestation_.manifest, OCI_MANIFEST)
    return put_index(registry, repository, index, tags)


def put_index(registry: RegistryClient, repository: str, index: bytes, tags: Sequence[str]) -> str:
    """PUT the index under every tag, then read each back (HEAD): a tag counts only when it serves the index."""
    digest = digest_of(index)
    for tag in tags:
        registry.put_manifest(repository, tag, index, OCI_INDEX)
    for tag in tags:
        served = registry.head_manifest(repository, tag)
        if served is None or served.digest != digest:
            raise RegistryError("the registry accepted the index %s but serves %s for the tag" % (
                digest, served.digest if served else "nothing"), registry.registry, repository, tag)
    return digest
