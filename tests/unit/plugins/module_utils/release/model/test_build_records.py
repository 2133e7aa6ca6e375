"""The build stage's records (release/model/_build.py): to_dict is the modules' result as it always was, from_dict
reads it back, and a malformed item names the item, the field and the value."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef, ImageRefError
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    BuildResult,
    BuildStatus,
    ImagePushResult,
    ImageSmokeResult,
    ModelError,
    PushedTag,
    PushStatus,
    SmokeResult,
    build_results,
)

REF = "127.0.0.1:5000/amd64/busybox:1.36"
BUILT = {
    "key": "busybox:1.36", "repo": "busybox", "tags": [REF, "amd64/busybox:1.36"], "status": "built",
    "image_id": "sha256:" + "a" * 64, "input_digest": "sha256:" + "b" * 64, "retagged": [], "pulled": "",
    "error": "", "log_tail": ["#1 done"], "builder": "buildkit", "started": "2026-12-07T01:00:00Z",
    "finished": "2026-12-07T01:00:09Z", "size": 4096,
    "parents": [{"name": "debian:trixie", "key": "", "image_id": "sha256:" + "c" * 64, "digest": ""}],
    "seconds": 9.0,
}


def test_a_build_item_round_trips_with_its_keys_in_order():
    res = BuildResult.from_dict(BUILT, "images[0]")
    assert res.status is BuildStatus.BUILT and res.tags[0] == ImageRef.parse(REF)
    assert res.parents[0].name == "debian:trixie"
    assert res.to_dict() == BUILT and list(res.to_dict()) == list(BUILT)
    assert res.status == "built" and str(res.status) == "built"  # the Enum reads as today's string


def test_a_minimal_item_gets_the_defaults():
    res = BuildResult.from_dict({"key": "busybox:1.36", "status": "failed"}, "images[3]")
    # no seconds given is no time (not 0 s): the report lists the build times image_build gave, unchanged ones too
    assert (res.repo, res.tags, res.image_id, res.parents, res.seconds) == ("busybox", [], "", [], None)
    assert "seconds" not in res.to_dict()
    assert BuildResult.from_dict({"key": "busybox:1.36", "status": "unchanged", "seconds": 0.0}, "i").seconds == 0.0
    assert res.status.is_failure and not res.status.has_image


@pytest.mark.parametrize("change, where, field, value", [
    ({"key": None}, "images[0]", "key", None),
    ({"key": ""}, "images[0]", "key", ""),
    ({"key": 3}, "images[0]", "key", 3),
    ({"status": "done"}, "images[0]", "status", "done"),
    ({"tags": REF}, "images[0]", "tags", REF),
    ({"size": "big"}, "images[0]", "size", "big"),
    ({"log_tail": "x"}, "images[0]", "log_tail", "x"),
    ({"parents": [{"key": "a"}]}, "images[0].parents[0]", "name", None),
])
def test_a_malformed_build_item_names_item_field_and_value(change, where, field, value):
    with pytest.raises(ModelError) as exc:
        BuildResult.from_dict(dict(BUILT, **change), "images[0]")
    assert (exc.value.file, exc.value.field, exc.value.value) == (where, field, value)


def test_a_bad_reference_is_named_by_its_place():
    with pytest.raises(ImageRefError) as exc:
        BuildResult.from_dict(dict(BUILT, tags=[REF, "UPPER CASE"]), "images[0]")
    assert (exc.value.file, exc.value.field, exc.value.value) == ("images[0]", "tags[1]", "UPPER CASE")


def test_build_results_parses_a_list_and_keeps_records():
    parsed = build_results([BUILT])
    assert build_results(parsed) == parsed and parsed[0].key == "busybox:1.36"
    with pytest.raises(ModelError, match="images: must be a list"):
        build_results({"key": "x"})
    with pytest.raises(ModelError) as exc:
        build_results([BUILT, "busybox"])
    assert exc.value.file == "images[1]" and "not a mapping" in str(exc.value)


def test_smoke_results_round_trip_with_failed_tests():
    data = {"key": "busybox:1.36", "image_id": "sha256:a", "passed": False, "cached": False,
            "tests": [{"name": "version", "passed": False, "exit_code": 1, "output": "x", "reason": "exit code 1"},
                      {"name": "timeout", "passed": False, "exit_code": None, "output": "", "reason": "timed out"}],
            "failed_tests": ["version", "timeout"], "started": "s", "finished": "f", "seconds": 1.5}
    res = ImageSmokeResult.from_dict(data, "results[0]")
    assert res.to_dict() == data and list(res.to_dict()) == list(data) and res.state == "failed"
    with pytest.raises(ModelError) as exc:
        ImageSmokeResult.from_dict(dict(data, tests=[{"name": "v", "passed": "yes"}]), "results[0]")
    assert (exc.value.file, exc.value.field, exc.value.value) == ("results[0].tests[0]", "passed", "yes")
    with pytest.raises(ModelError):
        SmokeResult.from_dict({"name": "v", "passed": True, "exit_code": "0"}, "t")


def test_push_results_round_trip_and_ok_is_derived():
    data = {"key": "busybox:1.36", "image_id": "sha256:a", "ok": False,
            "tags": [{"ref": REF, "status": "pushed", "digest": "sha256:i", "attempts": 1, "error": "",
                      "image_digest": "sha256:m", "attestation_digest": "sha256:t"},
                     {"ref": "amd64/busybox:latest", "status": "failed", "digest": "", "attempts": 3,
                      "error": "503", "image_digest": "", "attestation_digest": ""}],
            "started": "s", "finished": "f"}
    res = ImagePushResult.from_dict(data, "images[0]")
    assert res.to_dict() == data and list(res.to_dict()) == list(data)
    assert not res.ok and res.state is PushStatus.FAILED and res.tags[1].text == "amd64/busybox:latest"
    assert ImagePushResult("k", "i", [PushedTag(ImageRef.parse(REF), PushStatus.UNCHANGED)]).state == "unchanged"
    with pytest.raises(ModelError) as exc:
        ImagePushResult.from_dict(dict(data, tags=[{"ref": REF, "status": "would_push"}]), "images[0]")
    assert (exc.value.file, exc.value.field, exc.value.value) == ("images[0].tags[0]", "status", "would_push")
