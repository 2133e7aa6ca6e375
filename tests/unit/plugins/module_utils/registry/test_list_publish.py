"""Serializing a list and its members (registry/list_publish.py, registry/list_members.py); the publish itself is
tested against a real registry in tests/integration/registry."""
from __future__ import annotations

import json

from ansible_collections.buildfarm.images.plugins.module_utils.common.architectures import Platform
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_members import (
    ARCH_ANNOTATION,
    Member,
    pick_member,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_publish import serialize
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import Descriptor
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import ListMember, ListResult


def _ref(text: str) -> ImageRef:
    return ImageRef.parse("127.0.0.1:5000/" + text)


def _member(arch, platform, media_type=DOCKER_MANIFEST, n=1):
    return Member(arch, _ref("%s/x:1" % arch), Descriptor(media_type, "sha256:%064x" % n, 100 + n), platform)


def test_serialize_canonical_order_and_media_type():
    members = [
        _member("windows-amd64", Platform("windows", "amd64", os_version="10.0.17763.1"), n=5),
        _member("s390x", Platform("linux", "s390x"), n=3),
        _member("windows-amd64", Platform("windows", "amd64", os_version="10.0.20348.1"), n=4),
        _member("arm64v8", Platform("linux", "arm64", "v8"), n=2),
        _member("amd64", Platform("linux", "amd64"), n=1),
    ]
    data, media_type = serialize(members)
    doc = json.loads(data)
    assert media_type == DOCKER_LIST == doc["mediaType"]
    assert [m["digest"][-1] for m in doc["manifests"]] == ["1", "2", "3", "4", "5"]
    assert doc["manifests"][3]["platform"] == {"architecture": "amd64", "os": "windows", "os.version": "10.0.20348.1"}
    # deterministic: the same members in any order give the same bytes
    assert serialize(list(reversed(members)))[0] == data


def test_serialize_oci_index_when_any_member_is_oci():
    members = [_member("amd64", Platform("linux", "amd64")),
               _member("s390x", Platform("linux", "s390x"), media_type=OCI_MANIFEST, n=2)]
    assert serialize(members)[1] == OCI_INDEX


def test_annotations_make_an_oci_index_with_deterministic_bytes():
    plain = [_member("amd64", Platform("linux", "amd64")), _member("s390x", Platform("linux", "s390x"), n=2)]
    data, media_type = serialize(plain, {"b.key": "2", "a.key": "1"})
    doc = json.loads(data)
    assert media_type == OCI_INDEX == doc["mediaType"]
    assert list(doc["annotations"].items()) == [("a.key", "1"), ("b.key", "2")]
    assert "annotations" not in doc["manifests"][0]
    assert serialize(plain, {"a.key": "1", "b.key": "2"})[0] == data

    annotated = [Member("amd64", _ref("amd64/x:1"), Descriptor(DOCKER_MANIFEST, "sha256:%064x" % 1, 101),
                        Platform("linux", "amd64"), annotations=((ARCH_ANNOTATION, "amd64"),))]
    data, media_type = serialize(annotated)
    assert media_type == OCI_INDEX
    assert json.loads(data)["manifests"][0]["annotations"] == {ARCH_ANNOTATION: "amd64"}
    assert "annotations" not in json.loads(data)


# -- members with attestations --------------------------------------------------------------------------------

def _attested(arch: str, platform: Platform, n: int) -> Member:
    image = Descriptor(OCI_MANIFEST, "sha256:" + ("%x" % n) * 64, 500 + n)
    att = Descriptor(OCI_MANIFEST, "sha256:" + ("%x" % (n + 8)) * 64, 800 + n)
    return Member(arch, _ref("%s/python:3.13" % arch), image, platform, annotations=((ARCH_ANNOTATION, arch),),
                  attestation=att, attestation_annotations=(("vnd.docker.reference.digest", image.digest),
                                                            ("vnd.docker.reference.type", "attestation-manifest")))


def test_each_attestation_follows_its_member_in_platform_order():
    members = [_attested("s390x", Platform("linux", "s390x"), 3), _attested("amd64", Platform("linux", "amd64"), 1),
               Member("arm64v8", _ref("arm64v8/python:3.13"), Descriptor(OCI_MANIFEST, "sha256:" + "2" * 64, 502),
                      Platform("linux", "arm64", "v8"))]
    data, media_type = serialize(members)
    assert media_type == OCI_INDEX
    doc = json.loads(data)
    assert [(m["platform"]["architecture"], m["digest"][7]) for m in doc["manifests"]] == [
        ("amd64", "1"), ("unknown", "9"), ("arm64", "2"), ("s390x", "3"), ("unknown", "b")]
    att = doc["manifests"][1]
    assert att == {"mediaType": OCI_MANIFEST, "size": 801, "digest": "sha256:" + "9" * 64,
                   "platform": {"architecture": "unknown", "os": "unknown"},
                   "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                   "vnd.docker.reference.digest": "sha256:" + "1" * 64}}
    assert members[1].summary().attestation == "sha256:" + "9" * 64 and members[2].summary().attestation == ""


def test_an_attested_docker_member_makes_an_oci_index():
    m = Member("amd64", _ref("amd64/x:1"), Descriptor(DOCKER_MANIFEST, "sha256:" + "1" * 64, 1),
               Platform("linux", "amd64"), attestation=Descriptor(OCI_MANIFEST, "sha256:" + "2" * 64, 2))
    assert serialize([m])[1] == OCI_INDEX
    assert serialize([Member("amd64", _ref("amd64/x:1"), m.descriptor, m.platform)])[1] == DOCKER_LIST


def test_the_attestation_of_the_picked_architecture_is_found_wherever_it_is():
    def d(arch, digest, ref=""):
        out = {"mediaType": OCI_MANIFEST, "digest": digest, "size": 1,
               "platform": {"architecture": arch, "os": "unknown" if ref else "linux"}}
        if ref:
            out["annotations"] = {"vnd.docker.reference.type": "attestation-manifest",
                                  "vnd.docker.reference.digest": ref}
        return out
    doc = {"manifests": [d("amd64", "a"), d("arm64", "b"), d("unknown", "c", "b"), d("unknown", "e", "a")]}
    picked, att = pick_member(doc, "amd64")
    assert picked["digest"] == "a" and att["digest"] == "e"
    assert pick_member(doc, "arm64v8")[1]["digest"] == "c"
    assert pick_member(doc, "s390x") is None
    assert pick_member({"manifests": [d("amd64", "a")]}, "amd64")[1] is None


def test_diff_lines_show_the_attestation():
    result = ListResult("1", members=[ListMember("amd64", "linux/amd64", "", "sha256:1", attestation="sha256:2")])
    assert result.diff()["after"] == "linux/amd64 - sha256:1 attestation=sha256:2\n"


def test_diff_lines_show_index_and_member_annotations():
    member = ListMember("amd64", "linux/amd64", "", "sha256:1", annotations={"k": "v"})
    result = ListResult("1", members=[member], annotations={"i": "j"})
    assert result.diff()["after"] == "annotation i=j\nlinux/amd64 - sha256:1 k=v\n"
