"""The list stage's records (model/_list.py): one to_dict with the result keys manifest_list has always returned,
one validating from_dict, and the one spelling of check-mode actions."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    ListAction,
    ListMember,
    ListResult,
    ModelError,
    RepositoryLists,
)

MEMBER = {"architecture": "amd64", "platform": "linux/amd64", "os_version": "", "digest": "sha256:1",
          "source": "amd64/busybox:1", "annotations": {"k": "v"}, "attestation": "sha256:2"}


def test_result_keys_and_order_are_the_module_result():
    result = ListResult("1", ListAction.CREATED, True, "sha256:9", members=[ListMember.from_dict(MEMBER)],
                        missing=["s390x (s390x/busybox:1)"], previous_annotations={"not": "returned"})
    out = result.to_dict()
    assert list(out) == ["tag", "action", "changed", "digest", "previous_digest", "media_type", "members",
                         "previous_members", "annotations", "missing_architectures", "missing_attestations",
                         "carried_forward", "dropped_architectures", "lost_architectures", "repaired_members",
                         "message"]
    assert out["action"] == "created" and out["members"] == [MEMBER]
    assert out["missing_architectures"] == ["s390x (s390x/busybox:1)"]
    assert ListResult.from_dict(out) == ListResult.from_dict(ListResult.from_dict(out).to_dict())
    assert ListResult.from_dict(out).members[0].attestation == "sha256:2"


def test_check_mode_actions_have_one_spelling():
    assert [a.would().value for a in (ListAction.CREATED, ListAction.UPDATED, ListAction.REPAIRED)] == [
        "would-create", "would-update", "would-repair"]
    assert ListAction.FAILED.would() is ListAction.FAILED and ListAction.UNCHANGED.would() is ListAction.UNCHANGED
    assert ListAction.WOULD_CREATE.is_dry_run and not ListAction.CREATED.is_dry_run
    assert ListResult("1", ListAction.WOULD_UPDATE).written and not ListResult("1").written


@pytest.mark.parametrize("data, message", [
    ({"action": "created"}, r"list: field tag: missing"),
    ({"tag": "1", "action": "would_create"}, r"field action: must be one of .*would-create"),
    ({"tag": "1", "action": "created", "members": [{"platform": "linux/amd64"}]},
     r"list.members\[0\]: field architecture: missing"),
    ({"tag": "1", "action": "created", "annotations": {"k": 1}}, r"field annotations: must be a mapping of strings"),
])
def test_from_dict_names_record_field_and_value(data, message):
    with pytest.raises(ModelError, match=message):
        ListResult.from_dict(data)


def test_repository_lists():
    repo = RepositoryLists("library/busybox", [ListResult("1", ListAction.CREATED, True)], ["1"])
    assert RepositoryLists.from_dict(repo.to_dict()) == repo
    assert repo.to_dict()["lists"][0]["action"] == "created"
