"""Publish planning and serialization (pure parts; the publish itself is tested against a real registry in
tests/integration/registry)."""
from __future__ import annotations

import json

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common.architectures import Platform
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.library.entry import EntryError, ReleaseEntry
from ansible_collections.buildfarm.images.plugins.module_utils.registry.manifest_list import (
    ARCH_ANNOTATION,
    Member,
    PublishError,
    SharedGroup,
    TagResult,
    check_annotations,
    load_entries,
    load_library_file,
    plan_lists,
    serialize,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
)

ENTRIES = [
    {"tags": ["3.14.6-trixie", "3.14-trixie"], "shared_tags": ["3.14", "latest"],
     "architectures": ["amd64", "arm64v8"]},
    {"tags": ["3.14.6-windowsservercore-ltsc2022"], "shared_tags": ["3.14", "latest"],
     "architectures": ["windows-amd64"]},
    {"Tags": "3.13.9-slim", "Architectures": "amd64, s390x"},
]


def test_plan_entry_tags_then_shared_tags():
    specs = plan_lists(load_entries(ENTRIES), "python", {"arm64v8": "arm64"})
    assert [(s.tag, s.shared) for s in specs] == [
        ("3.14.6-trixie", False), ("3.14-trixie", False), ("3.14.6-windowsservercore-ltsc2022", False),
        ("3.13.9-slim", False), ("3.14", True), ("latest", True)]
    assert [s.reference for s in specs[1].sources] == ["amd64/python:3.14.6-trixie", "arm64/python:3.14.6-trixie"]
    assert [s.reference for s in specs[4].sources] == [
        "amd64/python:3.14.6-trixie", "arm64/python:3.14.6-trixie",
        "winamd64/python:3.14.6-windowsservercore-ltsc2022"]
    assert [s.reference for s in specs[3].sources] == ["amd64/python:3.13.9-slim", "s390x/python:3.13.9-slim"]


def test_plan_with_explicit_groups():
    specs = plan_lists(load_entries(ENTRIES), "python", groups=[SharedGroup(("3.14", "latest"), (0, 1))])
    assert [s.tag for s in specs][-2:] == ["3.14", "latest"]
    assert specs[-1].sources == specs[-2].sources


@pytest.mark.parametrize("entries,message", [
    ([{"tags": ["a"], "architectures": ["amd64", "sparc"]}],
     r"entries\[0\]: field architectures: unknown architecture \(entry a; known: amd64, .*\) \(value: 'sparc'\)"),
    ([{"tags": [], "architectures": ["amd64"]}], r"entries\[0\]: field tags: entry has no tags"),
    ([{"tags": ["a"]}], r"entries\[0\]: field architectures: entry a has no architectures"),
    ([{"tags": "a", "architectures": 5}], r"entries\[0\]: field architectures: must be a list .*\(value: 5\)"),
    ([{"tags": ["a"], "architectures": ["amd64", "amd64"]}],
     r"entries\[0\]: field architectures: architecture listed twice \(entry a\) \(value: 'amd64'\)"),
    ([{"tags": ["ok"], "architectures": ["amd64"]}, {"tags": ["../v2/_catalog"], "architectures": ["amd64"]}],
     r"entries\[1\]: field tags: not a valid tag .*\(value: '../v2/_catalog'\)"),
    ([{"tags": ["ok"], "shared_tags": ["bad tag"], "architectures": ["amd64"]}],
     r"entries\[0\]: field shared_tags: not a valid tag .*\(value: 'bad tag'\)"),
])
def test_bad_entries_named(entries, message):
    with pytest.raises(BuildfarmError, match=message):
        load_entries(entries)


def test_entries_are_the_library_model_entry():
    """The publish path reads the release's one entry model: its publishing view needs no directory, takes the
    library file's field names and comma-separated values, and ignores the keys a list does not use."""
    entry, = load_entries([{"Tags": "1.36-glibc, 1.36", "SharedTags": "latest", "Architectures": "amd64, s390x",
                            "Constraints": "b, a", "from": "not checked here", "builder": 5}])
    assert isinstance(entry, ReleaseEntry)
    assert (entry.tags, entry.shared_tags, entry.architectures, entry.constraints) == (
        ["1.36-glibc", "1.36"], ["latest"], ["amd64", "s390x"], ["b", "a"])
    # A plan's entry (to_dict) publishes as it is.
    planned = ReleaseEntry.from_dict({"tags": ["1.36"], "shared_tags": ["1"], "architectures": ["amd64"],
                                      "constraints": ["c"], "directory": "d"}, "p")
    published = load_entries([planned.to_dict()])[0]
    assert (published.tags, published.shared_tags, published.architectures, published.constraints,
            published.directory) == (["1.36"], ["1"], ["amd64"], ["c"], "d")
    # The build view still wants its directory.
    with pytest.raises(EntryError, match="field directory: missing"):
        ReleaseEntry.from_dict({"tags": ["1"], "architectures": ["amd64"]}, "p")


def test_constraints_order_does_not_make_another_platform():
    entries = load_entries([
        {"tags": ["a"], "shared_tags": ["s"], "architectures": ["windows-amd64"], "Constraints": "x, y"},
        {"tags": ["b"], "shared_tags": ["s"], "architectures": ["windows-amd64"], "constraints": ["y", "x"]}])
    with pytest.raises(PublishError, match="shared tag 's': entries a and b both have architecture windows-amd64"):
        plan_lists(entries, "w")


def test_duplicate_tag_rejected_before_anything():
    entries = load_entries([{"tags": ["a", "b"], "architectures": ["amd64"]},
                            {"tags": ["c"], "shared_tags": ["b"], "architectures": ["amd64"]}])
    with pytest.raises(PublishError, match="tag 'b' is claimed twice"):
        plan_lists(entries, "x")


def _member(arch, platform, media_type=DOCKER_MANIFEST, n=1):
    return Member(arch, "%s/x:1" % arch, Descriptor(media_type, "sha256:%064x" % n, 100 + n), platform)


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

    annotated = [Member("amd64", "amd64/x:1", Descriptor(DOCKER_MANIFEST, "sha256:%064x" % 1, 101),
                        Platform("linux", "amd64"), annotations=((ARCH_ANNOTATION, "amd64"),))]
    data, media_type = serialize(annotated)
    assert media_type == OCI_INDEX
    assert json.loads(data)["manifests"][0]["annotations"] == {ARCH_ANNOTATION: "amd64"}
    assert "annotations" not in json.loads(data)


@pytest.mark.parametrize("annotations, message", [
    ({"org.opencontainers.image.version": 3.14}, r"annotations: value of org.opencontainers.image.version must "
                                                 r"be a string, got 3.14 \(quote it\)"),
    ({"": "x"}, "annotations: key '' is not a non-empty string"),
])
def test_bad_annotations_named(annotations, message):
    with pytest.raises(PublishError, match=message):
        check_annotations(annotations)


def test_diff_lines_show_index_and_member_annotations():
    member = {"platform": "linux/amd64", "os_version": "", "digest": "sha256:1", "annotations": {"k": "v"}}
    assert TagResult.diff_lines([member], {"i": "j"}) == "annotation i=j\nlinux/amd64 - sha256:1 k=v\n"


LIBRARY = """Maintainers: Someone <someone@example.org> (@someone)
GitRepo: https://github.com/example/busybox.git

Tags: 1.36.1-glibc, 1.36-glibc
SharedTags: 1.36.1, 1.36, latest
Architectures: amd64, arm64v8
GitCommit: 0123456789abcdef0123456789abcdef01234567
Directory: latest/glibc

Tags: 1.36.1-musl, 1.36-musl
SharedTags: 1.36.1, 1.36, latest
Architectures: ppc64le, s390x
GitCommit: 0123456789abcdef0123456789abcdef01234567
Directory: latest/musl
"""


def test_library_file_input_uses_the_collection_parser(tmp_path):
    path = tmp_path / "busybox"
    path.write_text(LIBRARY)
    entries, groups = load_library_file(str(path))
    assert [e.tags for e in entries] == [["1.36.1-glibc", "1.36-glibc"], ["1.36.1-musl", "1.36-musl"]]
    assert [(g.tags, g.entries) for g in groups] == [(("1.36.1", "1.36", "latest"), (0, 1))]
    specs = plan_lists(entries, "busybox", groups=groups)
    latest = [s for s in specs if s.tag == "latest"][0]
    assert [s.reference for s in latest.sources] == [
        "amd64/busybox:1.36.1-glibc", "arm64v8/busybox:1.36.1-glibc", "ppc64le/busybox:1.36.1-musl",
        "s390x/busybox:1.36.1-musl"]


# -- members with attestations --------------------------------------------------------------------------------

def _attested(arch: str, platform: Platform, n: int) -> Member:
    image = Descriptor(OCI_MANIFEST, "sha256:" + ("%x" % n) * 64, 500 + n)
    att = Descriptor(OCI_MANIFEST, "sha256:" + ("%x" % (n + 8)) * 64, 800 + n)
    return Member(arch, "%s/python:3.13" % arch, image, platform, annotations=((ARCH_ANNOTATION, arch),),
                  attestation=att, attestation_annotations=(("vnd.docker.reference.digest", image.digest),
                                                            ("vnd.docker.reference.type", "attestation-manifest")))


def test_each_attestation_follows_its_member_in_platform_order():
    members = [_attested("s390x", Platform("linux", "s390x"), 3), _attested("amd64", Platform("linux", "amd64"), 1),
               Member("arm64v8", "arm64v8/python:3.13", Descriptor(OCI_MANIFEST, "sha256:" + "2" * 64, 502),
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
    assert members[1].summary()["attestation"] == "sha256:" + "9" * 64 and members[2].summary()["attestation"] == ""


def test_an_attested_docker_member_makes_an_oci_index():
    m = Member("amd64", "amd64/x:1", Descriptor(DOCKER_MANIFEST, "sha256:" + "1" * 64, 1), Platform("linux", "amd64"),
               attestation=Descriptor(OCI_MANIFEST, "sha256:" + "2" * 64, 2))
    assert serialize([m])[1] == OCI_INDEX
    assert serialize([Member("amd64", "amd64/x:1", m.descriptor, m.platform)])[1] == DOCKER_LIST


def test_the_attestation_of_the_picked_architecture_is_found_wherever_it_is():
    from ansible_collections.buildfarm.images.plugins.module_utils.registry.manifest_list import Publisher

    def d(arch, digest, ref=""):
        out = {"mediaType": OCI_MANIFEST, "digest": digest, "size": 1,
               "platform": {"architecture": arch, "os": "unknown" if ref else "linux"}}
        if ref:
            out["annotations"] = {"vnd.docker.reference.type": "attestation-manifest",
                                  "vnd.docker.reference.digest": ref}
        return out
    doc = {"manifests": [d("amd64", "a"), d("arm64", "b"), d("unknown", "c", "b"), d("unknown", "e", "a")]}
    picked, att = Publisher._pick(doc, "amd64")
    assert picked["digest"] == "a" and att["digest"] == "e"
    assert Publisher._pick(doc, "arm64v8")[1]["digest"] == "c"
    assert Publisher._pick(doc, "s390x") is None
    assert Publisher._pick({"manifests": [d("amd64", "a")]}, "amd64")[1] is None


def test_diff_lines_show_the_attestation():
    line = TagResult.diff_lines([{"platform": "linux/amd64", "digest": "sha256:1", "attestation": "sha256:2"}], {})
    assert line == "linux/amd64 - sha256:1 attestation=sha256:2\n"
