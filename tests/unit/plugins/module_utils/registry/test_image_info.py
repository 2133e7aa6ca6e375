"""registry_image_info's references (registry/_image_info.py): paths in the module's registry, parsed by ImageRef."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRefError
from ansible_collections.buildfarm.images.plugins.module_utils.registry._image_info import parse_reference


@pytest.mark.parametrize("text, path, reference", [
    ("library/busybox:latest", "library/busybox", "latest"),
    ("busybox:1", "busybox", "1"),  # a path in the registry: no library/ added
    ("localhost/x:1", "localhost/x", "1"),  # nor a registry taken from its first component
    ("arm64v8/busybox@sha256:" + "a" * 64, "arm64v8/busybox", "sha256:" + "a" * 64),
])
def test_references_are_paths_in_the_registry(text, path, reference):
    ref = parse_reference("127.0.0.1:5000", text)
    assert (ref.path, ref.reference) == (path, reference)


@pytest.mark.parametrize("text, message", [
    ("library/busybox", "has neither a tag nor a digest"),
    ("library/busybox:la test", "not a valid tag"),
    ("Library/busybox:1", "not a valid repository path"),
    ("busybox:1@sha256:" + "a" * 64, "has both a tag and a digest"),
    ("127.0.0.1:5000/busybox:1", "not a valid repository path"),
])
def test_bad_references_are_named(text, message):
    with pytest.raises(ImageRefError, match=message) as info:
        parse_reference("127.0.0.1:5000", text, "references[2]")
    assert info.value.field == "references[2]" and info.value.value == text
