"""The records of the README, verify and report stages: one from_dict naming what is malformed, one to_dict."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    BuildStatus,
    FamilyReadmes,
    HostResult,
    MemberVerification,
    ModelError,
    PushStatus,
    ReadmeResult,
    TagVerification,
    VerifyStatus,
)

HOST = {"host": "b1", "arch": "amd64", "failed": [], "digests": {"r/amd64/x:1": "sha256:i"},
        "images": [{"key": "x:1", "repo": "x", "status": "built", "tags": ["r.example/amd64/x:1"], "seconds": 2.0}],
        "tests": [{"key": "x:1", "image_id": "sha256:x", "passed": True}],
        "pushed": [{"key": "x:1", "image_id": "sha256:x", "tags": [
            {"ref": "r.example/amd64/x:1", "status": "pushed", "digest": "sha256:i"}]}],
        "unroutable": [{"repo": "x", "key": "x:2", "directory": "2", "tags": ["2"], "reason": "no builder"}]}


def test_a_hosts_result_is_parsed_into_the_build_stages_records():
    res = HostResult.from_dict(HOST, "results.b1")
    assert res.images[0].status is BuildStatus.BUILT and res.pushed[0].tags[0].status is PushStatus.PUSHED
    assert res.pushed[0].tags[0].ref.tag == "1" and res.tests[0].passed is True
    assert res.unroutable[0].to_dict() == {"repo": "x", "key": "x:2", "arch": "", "directory": "2", "tags": ["2"],
                                           "reason": "no builder"}


@pytest.mark.parametrize("change, where", [
    (lambda h: h["images"][0].pop("status"), "results.b1.images[0]: field status: missing"),
    (lambda h: h["pushed"][0]["tags"][0].update(status="sent"), "results.b1.pushed[0].tags[0]: field status"),
    (lambda h: h.update(failed="x:1"), "results.b1: field failed: must be a list of strings"),
])
def test_a_malformed_result_names_host_item_and_field(change, where):
    bad = copy.deepcopy(HOST)
    change(bad)
    with pytest.raises(ModelError) as err:
        HostResult.from_dict(bad, "results.b1")
    assert where in str(err.value)


def test_verify_records_round_trip_and_keep_the_result_shape():
    member = MemberVerification("amd64", "linux/amd64", "sha256:m", failures=["no SBOM (x) in the attestation"])
    tag = TagVerification("library/x", "1", "sha256:l", [member], ["amd64 (sha256:m): no SBOM"])
    data = tag.to_dict()
    assert data["reference"] == "library/x:1" and data["ok"] is False and data["members"][0]["sbom"] is False
    assert tag.status is VerifyStatus.FAILED and TagVerification.from_dict(data, "tags[0]") == tag


def test_a_familys_readmes_count_what_changed():
    fam = FamilyReadmes("x")
    fam.add(ReadmeResult("x", None, "d/README.md", changed=False))
    fam.add(ReadmeResult("x", "amd64", "d/README.amd64.md", changed=True))
    assert fam.to_dict() == {"name": "x", "changed": True, "changed_files": ["d/README.amd64.md"], "readmes": [
        {"name": "x", "arch": None, "path": "d/README.md", "changed": False},
        {"name": "x", "arch": "amd64", "path": "d/README.amd64.md", "changed": True}]}
    assert FamilyReadmes.from_dict(fam.to_dict(), "families[0]") == fam
