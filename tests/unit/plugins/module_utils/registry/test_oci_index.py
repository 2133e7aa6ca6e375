"""The per-architecture index the farm writes: OCI media types over the engine's blobs, upstream's annotations, the
attestation manifest as BuildKit stores it, one canonical serialization (same image, same digests)."""
from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.registry.oci_index import (
    OciIndexError,
    Statement,
    attestation,
    canonical,
    digest_of,
    image_index,
    index_matches,
    oci_image_manifest,
    read_index,
    upstream_annotations,
)

CONFIG = "sha256:" + "c" * 64
ENGINE = {  # what Docker 20.10 pushes
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469, "digest": CONFIG},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1000,
                "digest": "sha256:" + "1" * 64},
               {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2000,
                "digest": "sha256:" + "2" * 64}],
}
ANN = upstream_annotations(source="https://git.example/python", revision="abc", created="2026-01-01T00:00:00Z",
                           version="3.13-slim", base_name="debian:trixie-slim", base_digest="sha256:" + "d" * 64,
                           arch="amd64", url="")
PLATFORM = {"architecture": "amd64", "os": "linux"}


def _statement(predicate_type: str) -> dict:
    return {"_type": "https://in-toto.io/Statement/v0.1", "predicateType": predicate_type,
            "subject": [{"name": "x", "digest": {"sha256": "0" * 64}}], "predicate": {"k": [3, 1]}}


def test_empty_annotations_are_left_out_and_keys_are_upstreams():
    assert ANN == {
        "org.opencontainers.image.source": "https://git.example/python",
        "org.opencontainers.image.revision": "abc",
        "org.opencontainers.image.created": "2026-01-01T00:00:00Z",
        "org.opencontainers.image.version": "3.13-slim",
        "org.opencontainers.image.base.name": "debian:trixie-slim",
        "org.opencontainers.image.base.digest": "sha256:" + "d" * 64,
        "com.docker.official-images.bashbrew.arch": "amd64",
    }
    assert upstream_annotations() == {}


def test_the_image_manifest_keeps_the_engines_blobs_under_oci_media_types():
    data = oci_image_manifest(ENGINE, ANN)
    doc = json.loads(data)
    assert doc["mediaType"] == "application/vnd.oci.image.manifest.v1+json" and doc["schemaVersion"] == 2
    assert doc["config"] == {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 1469, "digest": CONFIG}
    assert [(la["mediaType"], la["digest"], la["size"]) for la in doc["layers"]] == [
        ("application/vnd.oci.image.layer.v1.tar+gzip", "sha256:" + "1" * 64, 1000),
        ("application/vnd.oci.image.layer.v1.tar+gzip", "sha256:" + "2" * 64, 2000)]
    assert doc["annotations"] == ANN
    # canonical: sorted keys, no spaces; an OCI manifest pushed by the engine gives the same bytes
    assert data == canonical(doc) and b" " not in data.replace(b"2026-01-01", b"")
    assert oci_image_manifest(json.loads(data), ANN) == data
    assert "annotations" not in json.loads(oci_image_manifest(ENGINE, {}))


def test_windows_foreign_layers_keep_their_urls():
    engine = dict(ENGINE, layers=[{"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                                   "size": 5, "digest": "sha256:" + "f" * 64, "urls": ["https://mcr/x"]}])
    [layer] = json.loads(oci_image_manifest(engine, {}))["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    assert layer["urls"] == ["https://mcr/x"]


@pytest.mark.parametrize("manifest", [
    {"schemaVersion": 1, "name": "x", "fsLayers": []},
    {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []},
])
def test_other_manifests_are_refused_naming_their_type(manifest):
    with pytest.raises(OciIndexError) as e:
        oci_image_manifest(manifest, ANN)
    assert "only docker schema 2 and OCI image manifests" in str(e.value)


def test_the_attestation_manifest_is_buildkits():
    sbom, prov = (Statement.of(_statement("https://spdx.dev/Document")),
                  Statement.of(_statement("https://slsa.dev/provenance/v0.2")))
    att = attestation([sbom, prov])
    doc = json.loads(att.manifest)
    config = json.loads(att.blobs[0])
    assert config == {"architecture": "unknown", "os": "unknown", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": [digest_of(sbom.data), digest_of(prov.data)]}}
    assert doc["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert doc["config"]["digest"] == "sha256:" + hashlib.sha256(att.blobs[0]).hexdigest()
    assert [(la["mediaType"], la["annotations"]) for la in doc["layers"]] == [
        ("application/vnd.in-toto+json", {"in-toto.io/predicate-type": "https://spdx.dev/Document"}),
        ("application/vnd.in-toto+json", {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"})]
    assert [la["size"] for la in doc["layers"]] == [len(sbom.data), len(prov.data)]
    assert att.blobs[1:] == (sbom.data, prov.data)
    assert attestation([sbom, prov]) == att  # deterministic


def test_the_index_holds_the_image_then_its_attestation():
    image = oci_image_manifest(ENGINE, ANN)
    att = attestation([Statement.of(_statement("https://spdx.dev/Document"))])
    data = image_index(image, PLATFORM, ANN, att.manifest)
    doc = json.loads(data)
    assert doc["mediaType"] == "application/vnd.oci.image.index.v1+json" and doc["schemaVersion"] == 2
    first, second = doc["manifests"]
    assert first == {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest_of(image),
                     "size": len(image), "platform": PLATFORM, "annotations": ANN}
    assert second == {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": att.digest,
                      "size": len(att.manifest), "platform": {"architecture": "unknown", "os": "unknown"},
                      "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                      "vnd.docker.reference.digest": digest_of(image)}}
    assert image_index(image, PLATFORM, ANN, att.manifest) == data
    assert len(json.loads(image_index(image, PLATFORM, ANN))["manifests"]) == 1


def test_a_published_index_is_unchanged_only_when_everything_matches():
    image = oci_image_manifest(ENGINE, ANN)
    att = attestation([Statement.of(_statement("https://spdx.dev/Document"))])
    data = image_index(image, PLATFORM, ANN, att.manifest)
    published = read_index(data, "application/vnd.oci.image.index.v1+json", digest_of(data))
    assert (published.image_digest, published.attestation_digest) == (digest_of(image), att.digest)
    manifest = json.loads(image)
    assert index_matches(published, manifest, CONFIG, PLATFORM, ANN, attested=True) == []
    assert index_matches(published, manifest, "sha256:" + "9" * 64, PLATFORM, ANN, True) == [
        "another image (config %s)" % CONFIG]
    assert index_matches(published, manifest, CONFIG, PLATFORM, dict(ANN, x="y"), True) == [
        "other annotations on the image descriptor", "other annotations on the image manifest"]
    assert index_matches(published, manifest, CONFIG, {"architecture": "arm64", "os": "linux"}, ANN, True)
    # the opt-out keeps what was published
    assert index_matches(published, manifest, CONFIG, PLATFORM, ANN, attested=False) == []
    bare = image_index(image, PLATFORM, ANN)
    unattested = read_index(bare, "application/vnd.oci.image.index.v1+json", digest_of(bare))
    assert index_matches(unattested, manifest, CONFIG, PLATFORM, ANN, attested=True) == ["no attestation"]
    engine = read_index(canonical(ENGINE), "application/vnd.docker.distribution.manifest.v2+json", "sha256:x")
    assert index_matches(engine, None, CONFIG, PLATFORM, ANN, True) == [
        "the tag is a application/vnd.docker.distribution.manifest.v2+json, not an OCI index"]
