"""build/oci_layout.py on layouts made here: the platform's image found through (nested) indexes, every blob checked
against its digest, and the docker-archive `docker load` reads."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.oci_layout import OCILayoutError, oci_layout_image
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import (
    OCI_INDEX,
    OCI_MANIFEST,
)

AMD64 = architectures.get("amd64").platform
ARM64 = architectures.get("arm64v8").platform


def _blob(root, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = root / "blobs" / "sha256" / digest.split(":")[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def _image(root, arch: str) -> tuple[dict, str, str]:
    """(the manifest's descriptor, config digest, layer digest) of a one-layer image for ``arch``."""
    config = _blob(root, json.dumps({"architecture": arch, "os": "linux", "rootfs": {"diff_ids": []}}).encode())
    layer = _blob(root, b"layer of " + arch.encode())
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"digest": config, "size": 1}, "layers": [{"digest": layer, "size": 1}]})
    return {"mediaType": OCI_MANIFEST, "digest": _blob(root, manifest.encode()), "size": len(manifest)}, config, layer


def _layout(root, manifests: list[dict]) -> str:
    index = root / "index.json"
    index.write_text(json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}))
    return str(index)


def test_the_platforms_image_is_found_and_checked(tmp_path):
    amd, amd_config, amd_layer = _image(tmp_path, "amd64")
    arm, arm_config, _layer = _image(tmp_path, "arm64")
    index = _layout(tmp_path, [dict(amd, platform={"os": "linux", "architecture": "amd64"}),
                               dict(arm, platform={"os": "linux", "architecture": "arm64", "variant": "v8"})])
    image = oci_layout_image(index, AMD64)
    assert (image.config_digest, image.layers, image.root) == (amd_config, [amd_layer], str(tmp_path))
    assert oci_layout_image(index, ARM64).config_digest == arm_config


def test_nested_indexes_are_followed_and_a_lone_manifest_without_platform_is_taken(tmp_path):
    amd, config, _layer = _image(tmp_path, "amd64")
    inner = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                        "manifests": [dict(amd, platform={"os": "linux", "architecture": "amd64"})]}).encode()
    index = _layout(tmp_path, [{"mediaType": OCI_INDEX, "digest": _blob(tmp_path, inner), "size": len(inner)}])
    assert oci_layout_image(index, AMD64).config_digest == config
    lone = tmp_path / "lone"
    desc, lone_config, _layer = _image(lone, "amd64")
    assert oci_layout_image(_layout(lone, [desc]), ARM64).config_digest == lone_config


def test_the_docker_archive_names_the_config_and_layers(tmp_path):
    amd, config, layer = _image(tmp_path, "amd64")
    image = oci_layout_image(_layout(tmp_path, [dict(amd, platform={"os": "linux", "architecture": "amd64"})]),
                             AMD64)
    with tarfile.open(fileobj=io.BytesIO(image.docker_archive())) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert manifest == [{"Config": config.split(":")[1] + ".json", "RepoTags": None,
                             "Layers": [layer.split(":")[1] + "/layer.tar"]}]
        assert tar.extractfile(layer.split(":")[1] + "/layer.tar").read() == b"layer of amd64"


@pytest.mark.parametrize("spoil, problem", [
    ("platform", r"no manifest for platform linux/arm64/v8 \(platforms: linux/amd64\)"),
    ("layer", r"layer sha256:\w+ does not match its digest"),
    ("config", r"blob sha256:\w+ does not match its digest"),
    ("missing", r"blob sha256:\w+: No such file"),
    ("index", r"not an OCI layout's index.json"),
    ("empty", r"the index has no manifests"),
])
def test_a_broken_layout_names_the_file_and_the_fault(tmp_path, spoil, problem):
    amd, config, layer = _image(tmp_path, "amd64")
    index = _layout(tmp_path, [dict(amd, platform={"os": "linux", "architecture": "amd64"})])
    blobs = tmp_path / "blobs" / "sha256"
    platform = ARM64 if spoil == "platform" else AMD64
    if spoil in ("layer", "config"):
        (blobs / (layer if spoil == "layer" else config).split(":")[1]).write_bytes(b"changed")
    elif spoil == "missing":
        (blobs / amd["digest"].split(":")[1]).unlink()
    elif spoil == "index":
        (tmp_path / "index.json").write_text("{not json")
    elif spoil == "empty":
        _layout(tmp_path, [])
    with pytest.raises(OCILayoutError, match=problem) as exc:
        oci_layout_image(index, platform)
    assert str(exc.value).startswith(index)
