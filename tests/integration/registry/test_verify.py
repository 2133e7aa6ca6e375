"""The verify stage (release_verify) against a real registry: lists of attested members (the contract's
per-architecture indexes, written with the registry client) published by manifest_list, then read back. It passes
on a good release and fails, naming the tag and the mismatch, on a tampered attestation (statement bytes changed;
a statement about another image), a swapped member, a missing SBOM, an SBOM without the declared package or the
image's Debian packages."""
from __future__ import annotations

import pathlib

import pytest
from ansible_collections.buildfarm.images.tests.support.synthetic_images import push_attested, sbom_statement

from ansible_collections.buildfarm.images.tests.support.run_module import run_module

pytestmark = pytest.mark.integration

LINUX = {"amd64": ("amd64", ""), "arm64v8": ("arm64", "v8")}
DEBS = [("libc6", "2.41-12"), ("python3-minimal", "3.13.5-1")]
PARENT = ("debian:trixie-slim", "sha256:" + "ab" * 32)
SOURCE = ("https://www.python.org/ftp/python/3.13.5/Python-3.13.5.tar.xz", "cd" * 32, "pkg:generic/python@3.13.5")


def _release(registry, repo: str, archs=tuple(LINUX), tag: str = "3.13.5", salt: str = "", **kw) -> dict[str, dict]:
    """Push the per-architecture indexes of one entry (tags 3.13.5, 3.13), as image_push would report them."""
    client = registry.client()
    kw.setdefault("packages", [("python", "3.13.5")])
    kw.setdefault("debs", DEBS)
    kw.setdefault("parents", [PARENT])
    kw.setdefault("sources", [SOURCE])
    return {a: push_attested(client, "%s/%s" % (a, repo), tag, architecture=LINUX[a][0], variant=LINUX[a][1],
                             bashbrew_arch=a, content=("%s %s%s" % (a, repo, salt)).encode(),
                             tags=["%s/%s/%s:%s" % (registry.address, a, repo, t) for t in (tag, "3.13")], **kw)
            for a in archs}


def _push_results(registry, repo: str, pushed: dict[str, dict], tag: str = "3.13.5") -> tuple[list, list]:
    """image_push `images` items and image_build `images` items (parents) of the builders, all architectures."""
    images, builds = [], []
    for arch, p in pushed.items():
        image_id = "sha256:%064x" % len(images)
        images.append({"key": "%s:%s" % (repo, tag), "image_id": image_id, "ok": True, "tags": [
            {"ref": "%s/%s/%s:%s" % (registry.address, arch, repo, tag), "status": "pushed", "digest": p["digest"],
             "image_digest": p["image_digest"], "attestation_digest": p["attestation_digest"], "attempts": 1,
             "error": ""}]})
        builds.append({"key": "%s:%s" % (repo, tag), "image_id": image_id, "status": "built", "parents": [
            {"name": PARENT[0], "key": "", "digest": PARENT[1], "image_id": ""}]})
    return images, builds


def _publish(registry, repo: str, **kw) -> dict:
    res = run_module("manifest_list", dict({"registry": registry.address, "repositories": [
        {"repository": repo, "entries": [{"tags": ["3.13.5", "3.13"], "architectures": list(LINUX)}]}]}, **kw))
    assert not res.get("failed"), res.get("msg")
    return res


def _verify(registry, published: dict, pushed: list, built: list, **kw) -> dict:
    return run_module("release_verify", dict({"registry": registry.address, "repositories": published["repositories"],
                                              "pushed": pushed, "built": built,
                                              "expect_packages": {"vr": {"python": "3.13.5"}}}, **kw))


def test_a_good_release_verifies_and_gives_each_tag_and_member(registry):
    pushed = _release(registry, "vr")
    published = _publish(registry, "vr")
    images, builds = _push_results(registry, "vr", pushed)
    res = _verify(registry, published, images, builds)
    assert not res.get("failed"), res.get("msg")
    assert res["ok"] is True and res["summary"] == "2 of 2 tags verified" and res["failures"] == []
    assert [t["reference"] for t in res["tags"]] == ["library/vr:3.13.5", "library/vr:3.13"]
    member = res["tags"][0]["members"][0]
    assert member["arch"] == "amd64" and member["ok"] and member["sbom"] and member["provenance"]
    assert member["digest"] == pushed["amd64"]["image_digest"]
    assert member["attestation"] == pushed["amd64"]["attestation_digest"]
    assert member["sbom_summary"]["dpkg_database"] is True and member["sbom_summary"]["debian_packages"] == 2
    assert member["sbom_summary"]["expected"] == ["python 3.13.5"]
    # stand-alone: from what the release publishes, members compared with the per-architecture tags
    alone = run_module("release_verify", {"registry": registry.address, "repositories": [
        {"repository": "vr", "entries": [{"tags": ["3.13.5", "3.13"], "architectures": list(LINUX)}]}]})
    assert alone["ok"] is True, alone["failures"]


def test_a_tampered_statement_fails_naming_the_tag_and_the_mismatch(registry):
    pushed = _release(registry, "vt")
    published = _publish(registry, "vt")
    images, builds = _push_results(registry, "vt", pushed)
    # change the bytes of the arm64v8 SBOM statement where the registry stores them
    att = registry.client().get_manifest("library/vt", pushed["arm64v8"]["attestation_digest"]).json()
    sbom = next(x for x in att["layers"] if x["annotations"]["in-toto.io/predicate-type"] == "https://spdx.dev/Document")
    data = pathlib.Path(registry.storage, "registry", "v2", "blobs", "sha256", sbom["digest"][7:9], sbom["digest"][7:],
                        "data")
    data.write_bytes(data.read_bytes().replace(b"3.13.5", b"3.13.6"))
    res = _verify(registry, published, images, builds)
    assert res["failed"] and res["ok"] is False
    assert "library/vt:3.13.5: arm64v8 (arm64v8/vt:3.13.5): statement %s (https://spdx.dev/Document): content " \
           "does not match its digest (tampered)" % sbom["digest"] in res["failures"]
    assert all(m["ok"] for t in res["tags"] for m in t["members"] if m["arch"] == "amd64")


def test_a_statement_about_another_image_fails_as_a_subject_mismatch(registry):
    pushed = _release(registry, "vs", archs=["amd64"])
    other = "sha256:" + "ef" * 32
    statements = [sbom_statement("pkg:docker/vs", other, [("python", "3.13.5")], DEBS)]
    pushed.update(_release(registry, "vs", archs=["arm64v8"], statements=statements))
    published = _publish(registry, "vs")
    images, builds = _push_results(registry, "vs", pushed)
    res = _verify(registry, published, images, builds)
    lines = [x for x in res["failures"] if x.startswith("library/vs:3.13: arm64v8 (arm64v8/vs:3.13.5): ")]
    assert any("SBOM statement is about %s, not the member %s (subject mismatch)"
               % (other, pushed["arm64v8"]["image_digest"]) in x for x in lines), res["failures"]
    assert any("no provenance" in x for x in lines)


def test_a_swapped_member_fails_naming_the_pushed_digest(registry):
    pushed = _release(registry, "vw")
    images, builds = _push_results(registry, "vw", pushed)
    # another image lands under amd64/vw:3.13.5 and is published: not what the release pushed
    other = _release(registry, "vw", archs=["amd64"], salt=" other")
    published = _publish(registry, "vw")
    res = _verify(registry, published, images, builds)
    assert "library/vw:3.13.5: amd64 (amd64/vw:3.13.5): member is %s, but the release pushed %s as amd64/vw:3.13.5" \
        % (other["amd64"]["image_digest"], pushed["amd64"]["image_digest"]) in res["failures"]
    assert "library/vw:3.13.5: amd64 (amd64/vw:3.13.5): attestation is %s, but the release pushed %s" % (
        other["amd64"]["attestation_digest"], pushed["amd64"]["attestation_digest"]) in res["failures"]


def test_a_missing_sbom_and_missing_packages_fail_naming_them(registry):
    pushed = _release(registry, "vm", archs=["amd64"], sbom=False)
    pushed.update(_release(registry, "vm", archs=["arm64v8"], packages=[("python", "3.13.4")], debs=DEBS[:1]))
    published = _publish(registry, "vm")
    images, builds = _push_results(registry, "vm", pushed)
    res = _verify(registry, published, images, builds, expect_packages={"vm": {"python": "3.13.5"}})
    failed = res["failures"]
    assert "library/vm:3.13.5: amd64 (amd64/vm:3.13.5): no SBOM (https://spdx.dev/Document) in the attestation" \
        in failed
    assert "library/vm:3.13.5: arm64v8 (arm64v8/vm:3.13.5): SBOM does not name python 3.13.5 (it has 3.13.4)" \
        in failed
    # arm64v8's dpkg database and SBOM both hold libc6 only: the python version is its one mismatch
    assert [x for x in failed if "arm64v8" in x] == [
        "library/vm:%s: arm64v8 (arm64v8/vm:3.13.5): SBOM does not name python 3.13.5 (it has 3.13.4)" % t
        for t in ("3.13.5", "3.13")]
    members = {m["arch"]: m for m in res["tags"][0]["members"]}
    assert members["amd64"]["sbom"] is False and members["amd64"]["provenance"] is True


def test_an_sbom_without_the_images_debian_packages_fails(registry):
    client = registry.client()
    pushed = _release(registry, "vd", archs=["amd64", "arm64v8"])
    # arm64v8: the image has a dpkg database (2 packages), its SBOM names only one of them
    digest = push_attested(client, "arm64v8/vd", "tmp", architecture="arm64", variant="v8", bashbrew_arch="arm64v8",
                           content=b"arm64v8 vd", debs=DEBS, attest=False,
                           annotations={"org.opencontainers.image.version": "3.13.5"})["image_digest"]
    from ansible_collections.buildfarm.images.tests.support.synthetic_images import provenance_statement
    subject = "pkg:docker/arm64v8/vd:3.13.5"
    statements = [sbom_statement(subject, digest, [("python", "3.13.5")], DEBS[:1]),
                  provenance_statement(subject, digest, "arm64v8", ["3.13.5"], [PARENT], [SOURCE])]
    pushed["arm64v8"] = push_attested(client, "arm64v8/vd", "3.13.5", architecture="arm64", variant="v8",
                                      bashbrew_arch="arm64v8", content=b"arm64v8 vd", debs=DEBS,
                                      statements=statements)
    assert pushed["arm64v8"]["image_digest"] == digest
    published = _publish(registry, "vd")
    images, builds = _push_results(registry, "vd", pushed)
    res = _verify(registry, published, images, builds, expect_packages={})
    assert res["failures"] == [
        "library/vd:%s: arm64v8 (arm64v8/vd:3.13.5): SBOM misses Debian packages of the image: python3-minimal" % t
        for t in ("3.13.5", "3.13")], res["failures"]
    # a parent the build used and the provenance does not name is a mismatch too
    builds[0]["parents"][0]["digest"] = "sha256:" + "12" * 32
    res = _verify(registry, published, images, builds, expect_packages={})
    assert any("provenance does not name the parent debian:trixie-slim@sha256:%s" % ("12" * 32) in x
               for x in res["failures"]), res["failures"]


def test_bad_input_is_refused_before_any_request(registry):
    res = run_module("release_verify", {"registry": registry.address, "repositories": [{"repository": "x"}]})
    assert res["failed"] and "repositories[0]" in res["msg"] and "requests" not in res
    res = run_module("release_verify", {"registry": registry.address, "repositories": [],
                                        "expect_packages": {"python": 3}})
    assert res["failed"] and "expect_packages.python" in res["msg"]


def test_check_mode_reads_only_and_skips_what_a_dry_run_did_not_publish(registry):
    pushed = _release(registry, "vc")
    dry = run_module("manifest_list", {"registry": registry.address, "repositories": [
        {"repository": "vc", "entries": [{"tags": ["3.13.5"], "architectures": list(LINUX)}]}]}, check=True)
    assert dry["lists"][0]["action"] == "would-create"
    res = run_module("release_verify", {"registry": registry.address, "repositories": dry["repositories"]},
                     check=True)
    assert res["ok"] is True and res["tags"] == [] and res["requests"] == 0
    # the per-architecture indexes are there, the list is not: nothing was published
    assert registry.client().head_manifest("amd64/vc", "3.13.5").digest == pushed["amd64"]["digest"]
    assert registry.client().head_manifest("library/vc", "3.13.5") is None


def test_through_ansible_the_builders_results_come_from_their_hostvars(registry, run_playbook):
    pushed = _release(registry, "va")
    images, builds = _push_results(registry, "va", pushed)
    # what the push recorded for arm64v8 is not what is there: the action plugin must hand it to the module
    images[1]["tags"][0]["image_digest"] = pushed["amd64"]["image_digest"]
    tasks = [
        {"name": "Record the builder's result", "ansible.builtin.set_fact": {
            "buildfarm_build_result": {"host": "localhost", "arch": "amd64", "images": builds, "pushed": images}}},
        {"name": "Publish", "register": "published", "buildfarm.images.manifest_list": {
            "registry": registry.address, "repositories": [
                {"repository": "va", "entries": [{"tags": ["3.13.5", "3.13"], "architectures": list(LINUX)}]}]}},
        {"name": "Verify", "register": "verified", "ignore_errors": True, "buildfarm.images.release_verify": {
            "registry": registry.address, "repositories": "{{ published.repositories }}",
            "builders": ["localhost"]}},
    ]
    rc, out, res = run_playbook(tasks)
    assert rc == 0, out
    verified = res["verified"]
    assert verified["failed"] is True and verified["ok"] is False
    assert "verify: 0 of 2 tags verified; 2 failed: library/va:3.13.5: arm64v8 (arm64v8/va:3.13.5): member is %s, " \
           "but the release pushed %s as arm64v8/va:3.13.5" % (pushed["arm64v8"]["image_digest"],
                                                               pushed["amd64"]["image_digest"]) in verified["msg"]
    assert [m["ok"] for m in verified["tags"][0]["members"]] == [True, False]


def test_a_push_result_without_image_digest_is_resolved_through_the_tag(registry):
    pushed = _release(registry, "vo")
    published = _publish(registry, "vo")
    images, builds = _push_results(registry, "vo", pushed)
    for item in images:  # an older pusher: the tag's digest only (here the per-architecture index's)
        for t in item["tags"]:
            t.pop("image_digest")
            t.pop("attestation_digest")
    assert _verify(registry, published, images, builds)["ok"] is True
    images[0]["tags"][0]["digest"] = "sha256:" + "9" * 64  # the tag moved on since the push
    res = _verify(registry, published, images, builds)
    assert "library/vo:3.13.5: amd64 (amd64/vo:3.13.5): amd64/vo:3.13.5 now holds %s, the release pushed sha256:%s" \
        % (pushed["amd64"]["digest"], "9" * 64) in res["failures"]
