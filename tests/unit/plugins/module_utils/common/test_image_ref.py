"""ImageRef: one parser of image references, normalised as the engine does and held to the distribution grammar."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import (
    ImageRef,
    ImageRefError,
    validate_repository,
    validate_tag,
)

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("text, registry, path, tag, digest", [
    ("busybox", "docker.io", "library/busybox", "", ""),
    ("library/busybox:1.35", "docker.io", "library/busybox", "1.35", ""),
    ("docker.io/busybox", "docker.io", "library/busybox", "", ""),
    ("index.docker.io/arm64v8/busybox:latest", "docker.io", "arm64v8/busybox", "latest", ""),
    ("127.0.0.1:5000/arm64v8/python:3.14-slim@" + DIGEST, "127.0.0.1:5000", "arm64v8/python", "3.14-slim", DIGEST),
    ("localhost/amd64/busybox", "localhost", "amd64/busybox", "", ""),
    ("registry.example.net/a/b/c@" + DIGEST, "registry.example.net", "a/b/c", "", DIGEST),
    ("[::1]:5000/s390x/busybox:1", "[::1]:5000", "s390x/busybox", "1", ""),
    ("foo__bar/x-y.z--w:T_1.0-rc", "docker.io", "foo__bar/x-y.z--w", "T_1.0-rc", ""),
])
def test_parse_normalises(text, registry, path, tag, digest):
    ref = ImageRef.parse(text)
    assert (ref.registry, ref.path, ref.tag, ref.digest) == (registry, path, tag, digest)
    # str() is canonical and parses back to the same reference
    assert ImageRef.parse(str(ref)) == ref


def test_parts_and_forms():
    hub = ImageRef.parse("busybox:1.35")
    assert hub.short_repo == "busybox" and hub.namespace == "library" and hub.name == "busybox"
    assert hub.api_host == "registry-1.docker.io"
    assert str(hub) == "docker.io/library/busybox:1.35" and hub.familiar() == "busybox:1.35"
    local = ImageRef.parse("127.0.0.1:5000/arm64v8/python:3.14")
    assert local.short_repo == "arm64v8/python" and local.api_host == "127.0.0.1:5000"
    assert local.familiar_repository == "127.0.0.1:5000/arm64v8/python"
    assert str(local.with_digest(DIGEST)) == "127.0.0.1:5000/arm64v8/python:3.14@" + DIGEST
    assert local.with_digest(DIGEST).reference == DIGEST
    assert local.with_tag("latest").tag == "latest" and local.with_tag("latest").digest == ""
    assert ImageRef.parse("127.0.0.1:5000/s390x/busybox", default_tag="latest").tag == "latest"
    assert ImageRef.parse("busybox@" + DIGEST, default_tag="latest").tag == ""
    # a non-library Hub path keeps its namespace in every form
    assert ImageRef.parse("arm64v8/busybox").short_repo == "arm64v8/busybox"


@pytest.mark.parametrize("text, problem", [
    ("", "empty"),
    ("Busybox", "repository path"),  # upper case in a Hub path (no '.', ':' so it is not a host)
    ("library/Busybox:1", "repository path"),
    ("busybox:" + "x" * 129, "tag"),
    ("busybox:.hidden", "tag"),
    ("busybox:\u6f22\u5b57", "tag"),
    ("busybox:../../etc", "registry host"),  # a first component with "." and ":" is a host
    ("busybox@sha256:abc", "64"),
    ("busybox@md5", "digest"),
    ("127.0.0.1:5000/", "no repository"),
    ("https://registry.example.org/busybox", "no scheme"),
    (" busybox", "no scheme or blanks"),
    ("a//b", "repository path"),
    ("amd64/busybox:1/x", "repository path"),  # a "tag" with "/" is part of the path
    ("host:port/busybox", "registry host"),
    ("registry.example.net/" + "a" * 250, "longer"),
])
def test_bad_references_name_the_value(text, problem):
    with pytest.raises(ImageRefError) as info:
        ImageRef.parse(text, where="library/busybox", field="entries[0].image")
    msg = str(info.value)
    assert problem in msg
    assert msg.startswith("library/busybox: field entries[0].image: ")
    assert repr(text) in msg  # the value, quoted, as given
    assert isinstance(info.value, BuildfarmError) and isinstance(info.value, ValueError)
    assert info.value.value == text


def test_validators():
    assert validate_tag("3.14-slim") == "3.14-slim"
    assert validate_repository("library/python") == "library/python"
    for bad in ("", "-x", "a" * 129, "a/b", "a b"):
        with pytest.raises(ImageRefError):
            validate_tag(bad)
    for bad in ("", "Python", "a/", "/a", "a..b", "a/../b", "-a", "a_-b"):
        with pytest.raises(ImageRefError):
            validate_repository(bad)
    with pytest.raises(ImageRefError, match=r"field tag: .*\(value: '-x'\)"):
        validate_tag("-x")


def test_error_message_shape():
    assert str(BuildfarmError("is not a list", "family.yml", "tags", 3)) == \
        "family.yml: field tags: is not a list (value: 3)"
    assert str(BuildfarmError("no such file")) == "no such file"
    assert str(BuildfarmError("bad", field="x")) == "field x: bad"
    assert str(BuildfarmError("bad", value=None)) == "bad (value: None)"


def test_parse_in_a_registry_takes_the_path_as_the_registry_names_it():
    ref = ImageRef.parse_in("127.0.0.1:5000", "arm64v8/busybox:1.36@sha256:" + "a" * 64)
    assert (ref.registry, ref.path, ref.tag, ref.remote) == (
        "127.0.0.1:5000", "arm64v8/busybox", "1.36", "arm64v8/busybox:1.36@sha256:" + "a" * 64)
    # no library/ added, and a first component with a dot is a path component, not a registry
    assert ImageRef.parse_in("docker.io", "busybox:1").path == "busybox"
    assert ImageRef.parse_in("reg.example", "my.team/app").path == "my.team/app"
    assert ImageRef.parse_in("reg.example", "app", default_tag="latest").tag == "latest"


@pytest.mark.parametrize("registry, text, message", [
    ("reg.example", "Busybox:1", "not a valid repository path"),
    ("reg.example", "busybox:1 ", "not a repository reference"),
    ("reg.example", "busybox@sha256:xyz", "a sha256 digest is 64"),
    ("bad host/", "busybox", "not a valid registry"),
])
def test_parse_in_names_bad_values(registry, text, message):
    with pytest.raises(ImageRefError, match=message):
        ImageRef.parse_in(registry, text, where="refs.txt", field="references")
