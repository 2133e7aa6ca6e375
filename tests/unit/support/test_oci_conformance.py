"""The OCI/BuildKit conformance checker of tests/support/oci_conformance.py on synthetic indexes held in memory: a
good one passes, and each way of breaking the image-spec or the attestation-storage rules is found and named."""
from __future__ import annotations

import copy
import hashlib
import json

import pytest

from ansible_collections.buildfarm.images.tests.support.oci_conformance import check_index_document

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Store:
    """Blobs and manifests by digest, and an index of `archs` images each followed by its attestation."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, bytes] = {}

    def blob(self, data: bytes | dict, media_type: str, **extra) -> dict:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        self.blobs[_digest(raw)] = raw
        return dict({"mediaType": media_type, "digest": _digest(raw), "size": len(raw)}, **extra)

    def manifest(self, doc: dict) -> dict:
        raw = json.dumps(doc).encode()
        self.manifests[_digest(raw)] = raw
        return {"mediaType": doc["mediaType"], "digest": _digest(raw), "size": len(raw)}

    def image(self, arch: str) -> dict:
        layer = self.blob(b"layer-" + arch.encode(), "application/vnd.oci.image.layer.v1.tar+gzip")
        cfg = self.blob({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}},
                        "application/vnd.oci.image.config.v1+json")
        desc = self.manifest({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": [layer],
                              "annotations": {"org.opencontainers.image.version": "1.0"}})
        return dict(desc, platform={"architecture": arch, "os": "linux"},
                    annotations={"com.docker.official-images.bashbrew.arch": arch})

    def attestation(self, subject: str, statement_subject: str = "", ptype: str = "https://spdx.dev/Document",
                    st_type: str = "https://in-toto.io/Statement/v0.1") -> dict:
        st = {"_type": st_type, "predicateType": ptype, "predicate": {},
              "subject": [{"name": "x", "digest": {"sha256": (statement_subject or subject).split(":")[1]}}]}
        layer = self.blob(st, "application/vnd.in-toto+json", annotations={"in-toto.io/predicate-type": ptype})
        cfg = self.blob({"architecture": "unknown", "os": "unknown", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}},
                        "application/vnd.oci.image.config.v1+json")
        desc = self.manifest({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": [layer]})
        return dict(desc, platform={"architecture": "unknown", "os": "unknown"},
                    annotations={"vnd.docker.reference.type": "attestation-manifest",
                                 "vnd.docker.reference.digest": subject})

    def index(self, archs=("amd64", "arm64")) -> dict:
        manifests = []
        for arch in archs:
            img = self.image(arch)
            manifests += [img, self.attestation(img["digest"])]
        return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}

    def check(self, index: dict, order: str = "adjacent", content_type: str = OCI_INDEX) -> list[str]:
        return check_index_document(json.dumps(index).encode(), content_type, self.manifests.__getitem__,
                                    self.blobs.__getitem__, order)


@pytest.fixture
def store() -> Store:
    return Store()


def test_a_good_index_with_attestations_conforms(store):
    assert store.check(store.index()) == []
    assert store.check(store.index(), order="any") == []


def test_a_one_image_index_meets_both_orders(store):
    assert store.check(store.index(("amd64",)), order="after-images") == []


def test_the_order_of_attestations_is_checked_both_ways(store):
    index = store.index()
    assert any("after all of them" in p for p in store.check(index, order="after-images"))
    m = index["manifests"]
    index["manifests"] = [m[0], m[2], m[1], m[3]]  # BuildKit's own order: images, then attestations
    assert store.check(index, order="after-images") == []
    assert any("not right after it" in p for p in store.check(index, order="adjacent"))


@pytest.mark.parametrize("breakage, finding", [
    (lambda s, i: i.update(schemaVersion=1), "schemaVersion 1 is not 2"),
    (lambda s, i: i.update(mediaType=OCI_MANIFEST), "is not application/vnd.oci.image.index.v1+json"),
    (lambda s, i: i["manifests"][0].update(size=str(i["manifests"][0]["size"])), "is not a non-negative integer"),
    (lambda s, i: i["manifests"][0].update(size=i["manifests"][0]["size"] + 1), "the descriptor says"),
    (lambda s, i: i["manifests"][0].update(digest="sha256:ABC"), "64 lower-case hex"),
    (lambda s, i: i["manifests"][0].update(mediaType="not a type"), "is not a media type"),
    (lambda s, i: i["manifests"][0]["platform"].pop("os"), "os is missing"),
    (lambda s, i: i["manifests"][0]["platform"].update(variant=8), "variant is not a string"),
    (lambda s, i: i["manifests"][0]["annotations"].update(n=1), "is not string to string"),
    (lambda s, i: i.update(annotations={"k": True}), "is not string to string"),
    (lambda s, i: i["manifests"][1].update(platform={"architecture": "amd64", "os": "linux"}),
     "is not unknown/unknown"),
    (lambda s, i: i["manifests"][1]["annotations"].update({"vnd.docker.reference.digest": "sha256:" + "0" * 64}),
     "is not a manifest of this index"),
    (lambda s, i: i["manifests"].__setitem__(1, s.attestation(i["manifests"][0]["digest"],
                                                              statement_subject=i["manifests"][2]["digest"])),
     "is not the attested manifest"),
    (lambda s, i: i["manifests"].__setitem__(1, s.attestation(i["manifests"][0]["digest"], st_type="x")),
     "is not an in-toto statement"),
    (lambda s, i: i["manifests"].insert(2, copy.deepcopy(i["manifests"][1])), "a second attestation manifest"),
    (lambda s, i: i["manifests"][2].update(platform={"architecture": "unknown", "os": "unknown"}),
     "without the attestation annotations"),
])
def test_each_breakage_is_found(store, breakage, finding):
    index = store.index()
    breakage(store, index)
    problems = store.check(index)
    assert any(finding in p for p in problems), problems


def test_tampered_blobs_and_missing_annotations_are_found(store):
    index = store.index()
    att = json.loads(store.manifests[index["manifests"][1]["digest"]])
    layer = att["layers"][0]["digest"]
    store.blobs[layer] = store.blobs[layer].replace(b"spdx", b"SPDX")  # the statement's bytes changed
    problems = store.check(index)
    assert any("does not match its digest" in p for p in problems), problems
    # a layer without its predicate-type annotation, in a re-written attestation manifest
    att["layers"][0].pop("annotations")
    index["manifests"][1].update(store.manifest(att))
    assert any("no in-toto.io/predicate-type annotation" in p for p in store.check(index))


def test_a_missing_blob_and_a_served_type_that_differs_are_found(store):
    index = store.index()
    cfg = json.loads(store.manifests[index["manifests"][0]["digest"]])["config"]["digest"]
    del store.blobs[cfg]
    assert any("cannot be fetched" in p for p in store.check(index))
    assert any("served as" in p for p in store.check(store.index(), content_type=OCI_MANIFEST))
