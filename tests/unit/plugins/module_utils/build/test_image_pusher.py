"""Push helpers: which engine errors are retried, reference splitting, the local digests of a repository."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.image_pusher import (
    is_transient,
    local_digests,
)
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef


@pytest.mark.parametrize("message, transient", [
    ("received unexpected HTTP status: 503 Service Unavailable", True),
    ("Get http://127.0.0.1:5000/v2/: dial tcp 127.0.0.1:5000: connect: connection refused", False),
    ("dial tcp: lookup registry.invalid: no such host", False),
    ("x509: certificate signed by unknown authority", False),
    ("net/http: TLS handshake timeout", True),
    ("unauthorized: authentication required", False),
    ("denied: requested access to the resource is denied", False),
    ("manifest invalid", False),
])
def test_transient_errors(message, transient):
    assert is_transient(message) is transient


def test_pushed_references_keep_the_registry_port():
    # the one reference type the pusher uses: the engine's repository name and the registry API host
    for ref in ("127.0.0.1:5000/s390x/busybox:latest", "127.0.0.1:5000/s390x/busybox"):
        image = ImageRef.parse(ref, default_tag="latest")
        assert (image.familiar_repository, image.tag, image.api_host, image.path) == (
            "127.0.0.1:5000/s390x/busybox", "latest", "127.0.0.1:5000", "s390x/busybox")


def test_local_digests_are_per_repository():
    attrs = {"RepoDigests": ["127.0.0.1:5000/amd64/busybox@sha256:a", "other/busybox@sha256:b",
                             "127.0.0.1:5000/amd64/busybox@sha256:c"]}
    assert local_digests(attrs, "127.0.0.1:5000/amd64/busybox") == ["sha256:a", "sha256:c"]
    assert local_digests(attrs, "127.0.0.1:5000/s390x/busybox") == []


# ---------------------------------------------------------------- bad input: named before anything is pushed

from ansible_collections.buildfarm.images.plugins.module_utils.build.image_pusher import (  # noqa: E402
    PushInputError,
    Pusher,
    push_items,
)

REF = "127.0.0.1:5000/amd64/busybox:1.36"


@pytest.mark.parametrize("images,field,problem", [
    ([{"image_id": "sha256:a", "tags": [REF], "status": "built"}], "images[0].key", "missing or not a string"),
    ([{"key": "", "status": "failed"}], "images[0].key", "missing or not a string"),
    ([{"key": "busybox:1.36", "status": "built"}, {"key": 3, "status": "built"}], "images[0].tags",
     "non-empty list"),
    (["busybox:1.36"], "images[0]", "must be a mapping"),
    ([{"key": "a", "image_id": "sha256:a", "tags": [REF], "status": "built"},
      {"key": "b", "tags": [REF], "status": "unchanged"}], "images[1].image_id", "missing or not a string"),
    ([{"key": "a", "image_id": "sha256:a", "tags": REF, "status": "built"}], "images[0].tags", "non-empty list"),
    ([{"key": "a", "image_id": "sha256:a", "tags": [REF + " x"], "status": "built"}], "images[0].tags",
     "non-empty list"),
])
def test_bad_items_are_named(images, field, problem):
    with pytest.raises(PushInputError) as e:
        push_items(images)
    assert e.value.field == field and problem in str(e.value) and "field %s" % field in str(e.value)


def test_items_not_to_push_only_need_a_key():
    images = [{"key": "a", "status": "failed"}, {"key": "b", "image_id": "sha256:b", "tags": [REF], "status": "built"},
              {"key": "c", "tags": [REF], "status": "would-build"}]
    assert push_items(images) == [("b", "sha256:b", [REF])]
    assert push_items(images, check_mode=True) == [("b", "sha256:b", [REF]), ("c", "", [REF])]


class _NotFound(Exception):
    status_code = 404


class _Engine:
    """The two engine calls the checks make; any other call would fail the test."""

    def __init__(self, known):
        self.api = self
        self.known = known

    def inspect_image(self, image_id):
        if image_id not in self.known:
            raise _NotFound("No such image: %s" % image_id)
        return {"Id": image_id, "RepoDigests": []}


def _pusher(known) -> Pusher:
    def registry_for(host):
        raise AssertionError("the registry must not be asked")
    return Pusher(client_factory=lambda: _Engine(known), registry_for=registry_for)


def test_unknown_image_ids_are_named_before_any_push():
    pusher = _pusher({"sha256:a"})
    with pytest.raises(PushInputError) as e:
        pusher.check_images([("a", "sha256:a", [REF]), ("b", "sha256:gone", [REF]), ("c", "sha256:old", [REF])])
    assert e.value.field == "image_id" and "sha256:gone (entry b), sha256:old (entry c)" in str(e.value)
    assert "Nothing was pushed" in str(e.value)


def test_an_image_gone_mid_run_fails_its_tags_not_the_module():
    res = _pusher(set()).push_image("b", "sha256:gone", [REF, REF + "-x"])
    assert not res.ok and [t.status for t in res.tags] == ["failed", "failed"]
    assert "image sha256:gone of entry b is not in the engine" in res.tags[0].error
