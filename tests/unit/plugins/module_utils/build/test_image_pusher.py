"""Push helpers: which engine errors are retried, reference splitting, the order parents first."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.image_pusher import (
    is_transient,
    push_order,
    subject_name,
)
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import BuildParent, BuildResult


def _items(parents: dict) -> dict:
    """Build items (image_build's results) by key, with these parents."""
    return {key: BuildResult.from_dict({"key": key, "status": "built", "parents": p}, key)
            for key, p in parents.items()}


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


def test_parents_of_this_push_come_first():
    images = [("tools", "sha256:t", ["r/tools"]), ("base", "sha256:b", ["r/base"]), ("solo", "sha256:s", ["r/s"]),
              ("app", "sha256:a", ["r/app"])]
    items = _items({"tools": [{"name": "chain:base", "key": "base"}],
                    "app": [{"name": "x", "key": ""}, {"name": "chain:tools", "key": "tools"}],
                    "base": [{"name": "debian:trixie", "key": "", "digest": "sha256:d"}]})
    rounds = [[i[0] for i in r] for r in push_order(images, items)]
    assert rounds == [["base", "solo"], ["tools"], ["app"]]
    # a parent outside the push (or a cycle in bad input) does not hold anything back
    assert [[i[0] for i in r] for r in push_order(images[:1], items)] == [["tools"]]
    loop = _items({"a": [{"name": "b:1", "key": "b"}], "b": [{"name": "a:1", "key": "a"}]})
    assert sum(len(r) for r in push_order([("a", "", []), ("b", "", [])], loop)) == 2


def test_the_subject_is_named_as_buildkit_names_it():
    assert subject_name("127.0.0.1:5000/arm32v7/busybox:1.36", {"os": "linux", "architecture": "arm",
                                                                "variant": "v7"}) == (
        "pkg:docker/127.0.0.1:5000/arm32v7/busybox@1.36?platform=linux%2Farm%2Fv7")


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
    ref = ImageRef.parse(REF)
    assert push_items(images) == [("b", "sha256:b", [ref])]
    assert push_items(images, check_mode=True) == [("b", "sha256:b", [ref]), ("c", "", [ref])]


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


class _Image(_Engine):
    """An engine whose images are amd64 Linux images with the farm's labels."""

    def inspect_image(self, image_id):
        return dict(super().inspect_image(image_id), Os="linux", Architecture="amd64",
                    Config={"Labels": {"org.opencontainers.image.source": "https://git.example/x"}})


def test_a_child_of_a_failed_parent_fails_naming_it_and_asks_no_registry():
    asked = []

    def registry_for(host):
        asked.append(host)
        raise ConnectionRefusedError("the registry is down")

    items = _items({"base": [], "tools": [{"name": "chain:base", "key": "base"}]})
    pusher = Pusher(client_factory=lambda: _Image({"sha256:b", "sha256:t"}), registry_for=registry_for,
                    build_items=items, arch="amd64", retries=1)
    tools, base = pusher.run([("tools", "sha256:t", [REF + "-tools"]), ("base", "sha256:b", [REF])])
    assert base.tags[0].status == "failed" and "the registry is down" in base.tags[0].error
    assert tools.tags[0].status == "failed"
    assert tools.tags[0].error == "tools: its parent base was not pushed"
    assert asked == ["127.0.0.1:5000"]  # the parent's only
    assert base.started and base.finished and base.started <= base.finished


def test_the_annotations_are_upstreams_from_the_labels_tags_and_parents():
    pusher = _pusher(set())
    attrs = {"Config": {"Labels": {"org.opencontainers.image.source": "https://git.example/x",
                                   "org.opencontainers.image.revision": "abc",
                                   "org.opencontainers.image.base.name": "first:stage",
                                   "org.opencontainers.image.version": "1.36.1"}}}
    parents = [BuildParent("first:stage", digest="sha256:1"), BuildParent("debian:trixie", digest="sha256:d")]
    assert pusher._annotations(ImageRef.parse(REF), attrs, parents, "arm64v8") == {
        "org.opencontainers.image.source": "https://git.example/x",
        "org.opencontainers.image.revision": "abc",
        "org.opencontainers.image.version": "1.36",  # the first tag's, not the label's
        "org.opencontainers.image.base.name": "debian:trixie",  # the last stage's parent
        "org.opencontainers.image.base.digest": "sha256:d",
        "com.docker.official-images.bashbrew.arch": "arm64v8",
    }
