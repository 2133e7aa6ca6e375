"""Lists of attested members (the farm's per-architecture OCI indexes of image + attestation, written with the
registry client exactly per the contract) published into a real registry: each member's attestation right after
it, copied with its blobs into the target repository; a member without one is incomplete under `fail`, published
bare only with `require_attestations: false`; the published index passes the conformance check of its own
(tests/support/oci_conformance.py) and `docker buildx imagetools inspect` reads its SBOM."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from ansible_collections.buildfarm.images.tests.support.synthetic_images import push_attested, push_image, push_record

from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_jobs import known_manifests
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import (
    load_entries,
    plan_lists,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_publish import (
    Publisher,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import OCI_INDEX
from ansible_collections.buildfarm.images.tests.support.oci_conformance import check_registry_index
from ansible_collections.buildfarm.images.tests.support.run_module import run_module

pytestmark = pytest.mark.integration

LINUX = {"amd64": ("amd64", ""), "arm64v8": ("arm64", "v8"), "s390x": ("s390x", "")}


def _attested(client, repo: str, tag: str, archs, salt: str = "", **kw) -> dict[str, dict]:
    return {a: push_attested(client, "%s/%s" % (a, repo), tag, architecture=LINUX[a][0], variant=LINUX[a][1],
                             content=("%s %s %s" % (a, tag, salt)).encode(), bashbrew_arch=a, **kw) for a in archs}


def _publish(registry, repo: str, entries, **kw):
    return Publisher(registry.client(), "library", repo, **kw).publish(plan_lists(load_entries(entries), repo))


def test_lists_keep_each_attestation_right_after_its_member_and_copy_it(registry):
    client = registry.client()
    pushed = _attested(client, "att", "1.0", LINUX, packages=[("att", "1.0")])
    entries = [{"tags": ["1.0", "1"], "shared_tags": ["latest"], "architectures": list(LINUX)}]
    results = _publish(registry, "att", entries)
    assert [r.action for r in results] == ["created", "created", "created"], [r.message for r in results]
    doc = client.get_manifest("library/att", "latest").json()
    assert doc["mediaType"] == OCI_INDEX
    manifests = doc["manifests"]
    assert len(manifests) == 6
    for i, arch in enumerate(LINUX):
        image, att = manifests[2 * i], manifests[2 * i + 1]
        assert image["digest"] == pushed[arch]["image_digest"]
        # the arch index's descriptor annotations travel with the member
        assert image["annotations"]["com.docker.official-images.bashbrew.arch"] == arch
        assert att["digest"] == pushed[arch]["attestation_digest"]
        assert att["platform"] == {"architecture": "unknown", "os": "unknown"}
        assert att["annotations"] == {"vnd.docker.reference.type": "attestation-manifest",
                                      "vnd.docker.reference.digest": image["digest"]}
        # image and attestation (and their blobs) were copied into the target repository
        for digest in (image["digest"], att["digest"]):
            m = client.get_manifest("library/att", digest)
            assert m is not None
            for blob in [m.json()["config"]] + m.json()["layers"]:
                assert client.head_blob("library/att", blob["digest"])
    assert [m["attestation"] for m in results[0].to_dict()["members"]] == [
        pushed[a]["attestation_digest"] for a in LINUX]
    # its own conformance check: OCI image-spec v1.1 and BuildKit's attestation storage (contract order)
    assert check_registry_index(registry.address, "library/att", "latest") == []
    # a second publish changes nothing and writes nothing
    client2 = registry.client()
    again = Publisher(client2, "library", "att").publish(plan_lists(load_entries(entries), "att"))
    assert {r.action for r in again} == {"unchanged"}


def test_a_member_without_its_attestation_fails_unless_opted_out(registry):
    client = registry.client()
    _attested(client, "bare", "1", ["amd64", "arm64v8"])
    _attested(client, "bare", "1", ["s390x"], attest=False)
    entries = [{"tags": ["1"], "architectures": list(LINUX)}]
    failed = _publish(registry, "bare", entries)
    assert failed[0].action == "failed"
    assert "members without their attestation s390x (s390x/bare:1)" in failed[0].message
    assert failed[0].unattested == ["s390x (s390x/bare:1)"]
    assert client.head_manifest("library/bare", "1") is None  # nothing published for the tag

    skipped = _publish(registry, "bare", entries, policy="skip")
    assert skipped[0].action == "created"
    assert [m.architecture for m in skipped[0].members] == ["amd64", "arm64v8"]

    # the explicit opt-out publishes the bare member, next to the attested ones
    bare = _publish(registry, "bare", entries, policy="skip", require_attestations=False)
    assert bare[0].action == "updated"
    doc = client.get_manifest("library/bare", "1").json()
    types = [(m["platform"]["architecture"], (m.get("annotations") or {}).get("vnd.docker.reference.type", ""))
             for m in doc["manifests"]]
    assert types == [("amd64", ""), ("unknown", "attestation-manifest"), ("arm64", ""),
                     ("unknown", "attestation-manifest"), ("s390x", "")]


def test_module_option_require_attestations_and_keep_previous(registry):
    client = registry.client()
    _attested(client, "kp", "1", ["amd64", "s390x"])
    entries = [{"tags": ["1"], "architectures": ["amd64", "s390x"]}]
    args = {"registry": registry.address, "repository": "kp", "entries": entries}
    assert run_module("manifest_list", args)["lists"][0]["action"] == "created"
    published = client.get_manifest("library/kp", "1").json()
    # s390x is re-pushed without attestation: keep-previous keeps the attested member published before
    _attested(client, "kp", "1", ["s390x"], salt="new", attest=False)
    res = run_module("manifest_list", dict(args, missing_architectures="keep-previous"))
    assert not res.get("failed"), res
    assert res["lists"][0]["action"] == "unchanged"
    assert res["lists"][0]["missing_attestations"] == ["s390x (s390x/kp:1)"]
    assert client.get_manifest("library/kp", "1").json() == published
    res = run_module("manifest_list", args)
    assert res["failed"] and "members without their attestation s390x (s390x/kp:1)" in res["msg"]
    res = run_module("manifest_list", dict(args, require_attestations=False))
    assert res["lists"][0]["action"] == "updated"
    assert [m["attestation"] != "" for m in res["lists"][0]["members"]] == [True, False]


def test_older_members_plain_manifests_and_multi_platform_lists_are_still_read(registry):
    client = registry.client()
    push_image(client, "amd64/old", "1", content=b"old amd64")
    entries = [{"tags": ["1"], "architectures": ["amd64"]}]
    res = _publish(registry, "old", entries, require_attestations=False)
    assert res[0].action == "created" and res[0].members[0].attestation == ""
    # a BuildKit-style multi-platform index (images first, attestations after all of them) as a member source
    amd = push_attested(client, "multi-src", "a", content=b"m amd64")
    arm = push_attested(client, "multi-src", "b", architecture="arm64", variant="v8", bashbrew_arch="arm64v8",
                        content=b"m arm64")
    parts = {t: client.get_manifest("multi-src", t).json()["manifests"] for t in ("a", "b")}
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [parts["a"][0], parts["b"][0], parts["a"][1], parts["b"][1]]}
    for arch in ("amd64", "arm64v8"):
        ns = "%s/multi" % arch
        for part in ("a", "b"):  # the index's manifests must be in each repository it is tagged in
            for d in parts[part]:
                m = client.get_manifest("multi-src", d["digest"])
                for blob in [m.json()["config"]] + m.json()["layers"]:
                    assert client.mount_blob(ns, blob["digest"], "multi-src")
                client.put_manifest(ns, d["digest"], m.data, m.media_type)
        client.put_manifest(ns, "1", json.dumps(index).encode(), OCI_INDEX)
    res = _publish(registry, "multi", [{"tags": ["1"], "architectures": ["amd64", "arm64v8"]}])
    assert res[0].action == "created", res[0].message
    assert [(m.digest, m.attestation) for m in res[0].members] == [
        (amd["image_digest"], amd["attestation_digest"]), (arm["image_digest"], arm["attestation_digest"])]


def test_an_attestation_deleted_from_the_repository_is_copied_back(registry):
    client = registry.client()
    pushed = _attested(client, "rep", "1", ["amd64"])
    entries = [{"tags": ["1"], "architectures": ["amd64"]}]
    assert _publish(registry, "rep", entries)[0].action == "created"
    revisions = registry.storage / "registry" / "v2" / "repositories" / "library" / "rep" / "_manifests" / "revisions"
    shutil.rmtree(revisions / "sha256" / pushed["amd64"]["attestation_digest"].split(":")[1])
    assert client.head_manifest("library/rep", pushed["amd64"]["attestation_digest"]) is None
    res = _publish(registry, "rep", entries)
    assert res[0].action == "repaired" and res[0].repaired == [pushed["amd64"]["attestation_digest"]]
    assert client.head_manifest("library/rep", pushed["amd64"]["attestation_digest"]) is not None
    # without the presence check an unchanged list costs one read per member and one HEAD per tag
    trusting = registry.client()
    res = Publisher(trusting, "library", "rep", check_unchanged_members=False).publish(
        plan_lists(load_entries(entries), "rep"))
    assert res[0].action == "unchanged" and trusting.request_count == 2


@pytest.mark.skipif(not shutil.which("docker"), reason="no docker CLI")
def test_buildx_imagetools_reads_the_published_list_and_its_sbom(registry, tmp_path):
    if subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False).returncode:
        pytest.skip("docker buildx is not installed")
    client = registry.client()
    _attested(client, "bx", "3.13.5", ["amd64", "arm64v8"], packages=[("python", "3.13.5")])
    assert _publish(registry, "bx", [{"tags": ["3.13.5"], "architectures": ["amd64", "arm64v8"]}])[0].action == \
        "created"
    ref = "%s/library/bx:3.13.5" % registry.address
    raw = subprocess.run(["docker", "buildx", "imagetools", "inspect", "--raw", ref], capture_output=True, text=True,
                         check=False)
    assert raw.returncode == 0, raw.stderr
    assert json.loads(raw.stdout) == client.get_manifest("library/bx", "3.13.5").json()
    sbom = subprocess.run(["docker", "buildx", "imagetools", "inspect", ref, "--format",
                           '{{ json (index .SBOM "linux/amd64") }}'], capture_output=True, text=True, check=False)
    assert sbom.returncode == 0, sbom.stderr
    doc = json.loads(sbom.stdout)
    packages = doc["SPDX"]["packages"]
    assert {(p["name"], p["versionInfo"]) for p in packages} >= {("python", "3.13.5")}
    prov = subprocess.run(["docker", "buildx", "imagetools", "inspect", ref, "--format",
                           '{{ json .Provenance }}'], capture_output=True, text=True,
                          check=False)
    assert prov.returncode == 0, prov.stderr
    # buildx names an arm64/v8 image linux/arm64 in its map
    slsa = json.loads(prov.stdout)["linux/arm64"]["SLSA"]
    assert slsa["invocation"]["parameters"]["architecture"] == "arm64v8"
    assert slsa["invocation"]["environment"]["platform"] == "linux/arm64/v8"


@pytest.mark.skipif(not shutil.which("docker"), reason="no docker CLI")
def test_buildx_reads_the_sbom_and_provenance_of_a_list_of_one_platform(registry):
    """The README's commands for python of the local default (amd64 only): buildx gives a one-platform list's
    attestations as that image's, not as a map by platform."""
    if subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False).returncode:
        pytest.skip("docker buildx is not installed")
    client = registry.client()
    _attested(client, "one", "3.13.5", ["amd64"], packages=[("python", "3.13.5")])
    assert _publish(registry, "one", [{"tags": ["3.13.5"], "architectures": ["amd64"]}])[0].action == "created"
    ref = "%s/library/one:3.13.5" % registry.address

    def inspect(what: str) -> dict:
        out = subprocess.run(["docker", "buildx", "imagetools", "inspect", ref, "--format", "{{ json %s }}" % what],
                             capture_output=True, text=True, check=False)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)
    packages = inspect(".SBOM")["SPDX"]["packages"]
    assert ("python", "3.13.5") in {(p["name"], p["versionInfo"]) for p in packages}
    assert inspect(".Provenance")["SLSA"]["invocation"]["parameters"]["architecture"] == "amd64"


def _requests(client) -> list[tuple[str, str]]:
    """(method, path) of every request `client` makes from now on."""
    made: list[tuple[str, str]] = []
    request = client.request

    def recorded(method, path, *args, **kw):
        made.append((method, path))
        return request(method, path, *args, **kw)
    client.request = recorded
    return made


def test_a_publish_from_the_push_record_reads_nothing_back_and_lists_the_same(registry):
    """What the push stage recorded (image_push's `manifests`) is listed and copied without a GET of any manifest
    it wrote; the lists are byte for byte those of a publish that reads the members from the registry."""
    client = registry.client()
    pushed = _attested(client, "rec", "1.0", LINUX, packages=[("rec", "1.0")])
    entries = [{"tags": ["1.0", "1"], "architectures": list(LINUX)}]
    specs = plan_lists(load_entries(entries), "rec")
    records = [push_record(registry.address, "%s/rec" % a, "1.0", pushed[a]) for a in LINUX]
    known = known_manifests(records, registry.address)

    reading = Publisher(registry.client(), "read", "rec").publish(specs)
    recorded_client = registry.client()
    made = _requests(recorded_client)
    publisher = Publisher(recorded_client, "record", "rec", known=known)
    results = publisher.publish(specs)
    assert [r.action for r in results] == ["created", "created"], [r.message for r in results]
    assert [r.digest for r in results] == [r.digest for r in reading]
    assert publisher.reader.from_record == len(LINUX)
    manifest_reads = [(m, p) for m, p in made if m == "GET" and "/manifests/" in p]
    assert manifest_reads == []
    # the writes a copy cannot do without, and nothing else but the one tags/list of a new repository
    assert sorted({m for m, _p in made}) == ["GET", "HEAD", "POST", "PUT"]
    assert [p for m, p in made if m == "GET"] == ["/v2/record/rec/tags/list"]
    assert check_registry_index(registry.address, "record/rec", "1") == []


def test_a_push_record_is_used_only_where_it_is_provably_what_the_registry_has(registry):
    """A recorded manifest whose bytes are not its digest (a damaged or forged record), a tag pushed to another
    registry or one that failed: each is read from the registry instead, and the list is the true one."""
    client = registry.client()
    pushed = _attested(client, "proof", "1", ["amd64", "arm64v8", "s390x"])
    entries = [{"tags": ["1"], "architectures": list(LINUX)}]
    specs = plan_lists(load_entries(entries), "proof")
    forged = dict(pushed["amd64"], manifests={
        d: t.replace('"schemaVersion"', '"forged": true, "schemaVersion"', 1)
        for d, t in pushed["amd64"]["manifests"].items()})
    failed = push_record(registry.address, "arm64v8/proof", "1", pushed["arm64v8"])
    failed["tags"][0]["status"] = "failed"
    records = [push_record(registry.address, "amd64/proof", "1", forged), failed,
               push_record("elsewhere.example:5000", "s390x/proof", "1", pushed["s390x"])]
    known = known_manifests(records, registry.address)
    assert known.tags == {}  # nothing of it is taken

    truth = Publisher(registry.client(), "truth", "proof").publish(specs)
    publisher = Publisher(registry.client(), "guarded", "proof", known=known)
    results = publisher.publish(specs)
    assert publisher.reader.from_record == 0
    assert [r.digest for r in results] == [r.digest for r in truth] and results[0].action == "created"


def test_a_malformed_push_record_names_its_item_and_field(registry):
    malformed = {"digest": "sha256:" + "1" * 64, "image_digest": "", "attestation_digest": "", "manifests": {"x": 1}}
    record = push_record(registry.address, "amd64/bad", "1", malformed)
    with pytest.raises(ValueError, match=r"pushed\[0\].*manifests"):
        known_manifests([record], registry.address)
