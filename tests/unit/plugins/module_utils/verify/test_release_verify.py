"""The verify stage's input handling and its pure checks (the reading back is tested against a real registry in
tests/integration/registry/test_verify.py)."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.verify.errors import VerifyInputError
from ansible_collections.buildfarm.images.plugins.module_utils.verify.release_verify import (
    TagVerification,
    MemberVerification,
    _declared_purls,
    _dpkg_installed,
    checks_from_repositories,
    expected_packages,
    pushed_from_results,
    summary,
)


def test_checks_from_the_publish_result_keep_digests_sources_and_failures():
    checks = checks_from_repositories([{"repository": "library/python", "lists": [
        {"tag": "3.13", "action": "created", "digest": "sha256:1",
         "members": [{"architecture": "amd64", "platform": "linux/amd64", "digest": "sha256:m",
                      "source": "amd64/python:3.13.5"}]},
        {"tag": "3.12", "action": "failed", "digest": "sha256:2", "message": "missing s390x", "members": []},
        {"tag": "3.11", "action": "would-update", "digest": "sha256:3", "members": []}]}])
    assert [(c.tag, c.published_digest, c.sources, c.message) for c in checks] == [
        ("3.13", "sha256:1", {"amd64": "amd64/python:3.13.5"}, ""), ("3.12", "", {}, "missing s390x")]


def test_checks_from_a_release_plan_list_every_tag_with_its_sources():
    checks = checks_from_repositories([{"repository": "python", "entries": [
        {"tags": ["3.13.5", "3.13"], "shared_tags": ["latest"], "architectures": ["amd64", "arm64v8"]}]}],
        arch_namespaces={"arm64v8": "arm64"})
    assert [(c.repository, c.tag) for c in checks] == [("library/python", t) for t in ("3.13.5", "3.13", "latest")]
    assert checks[2].sources == {"amd64": "amd64/python:3.13.5", "arm64v8": "arm64/python:3.13.5"}


@pytest.mark.parametrize("item, field", [
    ({"repository": ""}, "repositories[0]"), ({"repository": "x"}, "repositories[0]"),
    ({"repository": "x", "entries": [{"tags": ["BAD TAG"], "architectures": ["amd64"]}]}, "tags"),
])
def test_bad_repositories_are_named(item, field):
    with pytest.raises(VerifyInputError) as err:
        checks_from_repositories([item])
    assert field in str(err.value) and isinstance(err.value, BuildfarmError)


def test_push_results_give_digests_per_reference_and_parents_per_build():
    tag = {"ref": "127.0.0.1:5000/amd64/python:3.13.5", "status": "pushed", "digest": "sha256:i",
           "image_digest": "sha256:m", "attestation_digest": "sha256:a"}
    failed = {"ref": "127.0.0.1:5000/amd64/python:3.13", "status": "failed"}
    results = {"b-arm": {"images": [{"key": "python:3.13.5", "image_id": "sha256:y", "status": "built",
                                     "parents": [{"name": "debian:trixie-slim", "digest": "sha256:p2"}]}],
                         "pushed": [{"key": "python:3.13.5", "image_id": "sha256:y", "tags": [
                             dict(tag, ref="127.0.0.1:5000/arm64v8/python:3.13.5")]}]}}
    out = pushed_from_results([{"key": "python:3.13.5", "image_id": "sha256:x", "tags": [tag, failed]}],
                              [{"key": "python:3.13.5", "image_id": "sha256:x", "status": "built",
                                "parents": [{"name": "debian:trixie-slim", "digest": "sha256:p1"}]}], results)
    assert sorted(out) == ["amd64/python:3.13.5", "arm64v8/python:3.13.5"]
    amd = out["amd64/python:3.13.5"]
    assert (amd.digest, amd.image_digest, amd.attestation_digest) == ("sha256:i", "sha256:m", "sha256:a")
    assert amd.parents == (("debian:trixie-slim", "sha256:p1"),)
    assert out["arm64v8/python:3.13.5"].parents == (("debian:trixie-slim", "sha256:p2"),)
    # each item is parsed by image_push's record: a malformed one is named by its place
    with pytest.raises(BuildfarmError, match=r"pushed\[0\].tags\[0\]: field ref: missing"):
        pushed_from_results([{"key": "python:3.13.5", "tags": [{"no": "ref"}]}])


def test_expected_packages_forms():
    assert expected_packages({"python": {"python": "3.13.5", "pip": None},
                              "library/debian": ["bash", {"name": "dash", "version": "0.5"}]}) == {
        "python": [("python", "3.13.5"), ("pip", "")], "debian": [("bash", ""), ("dash", "0.5")]}
    with pytest.raises(VerifyInputError, match="expect_packages.python"):
        expected_packages({"python": 3})


def test_dpkg_status_installed_packages_only():
    status = ("Package: libc6\nStatus: install ok installed\nVersion: 2.41\n\n"
              "Package: gone\nStatus: deinstall ok config-files\n\n"
              "Package: bash\nStatus: install ok installed\nDescription: x\n more: y\n")
    assert _dpkg_installed(status) == {"libc6", "bash"}


def test_declared_purls_come_from_the_sources_of_the_provenance():
    st = {"predicate": {"materials": [
        {"uri": "pkg:docker/debian@trixie", "digest": {"sha256": "1"}},
        {"uri": "https://www.python.org/ftp/python/3.13.5/Python-3.13.5.tar.xz", "digest": {"sha256": "2"},
         "annotations": {"purl": "pkg:generic/python@3.13.5", "signing_key": "ABC"}}]}}
    assert _declared_purls(st) == ["pkg:generic/python@3.13.5"]


def test_summary_names_each_failure_by_tag():
    good = TagVerification("library/python", "3.13", "sha256:1",
                           [MemberVerification("amd64", "linux/amd64", "sha256:m")])
    bad = TagVerification("library/python", "3.12", failures=["amd64 (amd64/python:3.12.1): no SBOM"])
    out = summary([good, bad])
    assert out["ok"] is False and out["summary"] == "1 of 2 tags verified; 1 failed"
    assert out["failures"] == ["library/python:3.12: amd64 (amd64/python:3.12.1): no SBOM"]
    member = out["tags"][0]["members"][0]
    assert member["arch"] == "amd64" and member["ok"] is True and member["message"] == ""
