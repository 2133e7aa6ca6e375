"""`Builder: oci-import` on the real engine: an OCI image layout (made here: one gzip layer, its config, a manifest
and an index naming the platform) is loaded as it is by ReleaseBuilder, its id the config's digest on the
graph-driver store (overlay2; the manifest's digest on the containerd store), tagged with the
entry's tags; the next run finds it unchanged; a layout without the builder's platform or with a tampered blob fails
that entry naming the file."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import pathlib
import tarfile

import docker
import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.image_builder import (
    BuildSettings,
    FamilyShare,
    ReleaseBuilder,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import Entry
from ansible_collections.buildfarm.images.tests.support.engine import engine

REPO_NAME = "buildfarm-test-oci"
ENGINE = engine()


def _blob(root: pathlib.Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return "sha256:" + digest


def make_layout(root: pathlib.Path, text: str, arch: str = "amd64") -> str:
    """An OCI layout of a one-file image; returns its config digest (the image id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        data = text.encode()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    layer = raw.getvalue()
    config = json.dumps({"architecture": arch, "os": "linux", "config": {"Cmd": ["/hello.txt"]},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}
                         }).encode()
    gz = gzip.compress(layer, mtime=0)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _blob(root, config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _blob(root, gz),
                    "size": len(gz)}]}).encode()
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": _blob(root, manifest),
         "size": len(manifest), "platform": {"os": "linux", "architecture": arch}}]}
    (root / "index.json").write_text(json.dumps(index))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return "sha256:" + hashlib.sha256(config).hexdigest()


def _build(layout: pathlib.Path) -> dict:
    entry = Entry(tags=["1.0"], architectures=["amd64"], directory=".", file="index.json",
                  builder="oci-import", repo=REPO_NAME)
    share = FamilyShare(repo=REPO_NAME, context_root="", entries=[entry], context_dirs={entry.key: str(layout)})
    settings = BuildSettings(arch="amd64", registry="", namespace="amd64")
    (res,) = ReleaseBuilder([share], settings, docker.from_env).run()
    return res.to_dict()


@pytest.fixture
def cleanup():
    yield
    client = docker.from_env()
    for image in client.images.list(name="amd64/" + REPO_NAME):
        client.images.remove(image.id, force=True)


def test_oci_import_loads_the_layout_once(tmp_path, cleanup):
    config_digest = make_layout(tmp_path / "layout", "hello %s\n" % tmp_path.name)
    first = _build(tmp_path / "layout")
    assert first["status"] == "built", first
    image_id = first["image_id"]
    if ENGINE.ids_are_config_digests:
        # the graph-driver store (overlay2: the default of Docker 20.10 and of 26) names an image by its config
        # digest, so the loaded layout's id is known before loading it
        assert image_id == config_digest, first
    else:
        # the containerd store names it by the manifest it was loaded with: the config digest is no engine id
        assert image_id.startswith("sha256:") and image_id != config_digest, first
    image = docker.from_env().images.get(image_id)
    # either way the engine holds the layout's one layer (its config's diff_ids)
    config = (tmp_path / "layout" / "blobs" / "sha256" / config_digest[7:]).read_text()
    assert image.attrs["RootFS"]["Layers"] == json.loads(config)["rootfs"]["diff_ids"]
    assert "amd64/%s:1.0" % REPO_NAME in image.tags
    assert image.attrs["Config"]["Cmd"] == ["/hello.txt"]
    second = _build(tmp_path / "layout")
    assert second["status"] == "unchanged" and second["image_id"] == image_id and not second["retagged"]


def test_oci_import_without_the_platform_or_with_a_tampered_blob_fails_the_entry(tmp_path, cleanup):
    make_layout(tmp_path / "arm", "arm\n", arch="arm64")
    res = _build(tmp_path / "arm")
    assert res["status"] == "failed" and "no manifest for platform linux/amd64" in res["error"], res
    make_layout(tmp_path / "bad", "tampered\n")
    blobs = sorted((tmp_path / "bad" / "blobs" / "sha256").iterdir(), key=lambda p: p.stat().st_size)
    for blob in blobs:
        if blob.read_bytes()[:2] == b"\x1f\x8b":  # the gzip layer
            blob.write_bytes(gzip.compress(b"something else", mtime=0))
    res = _build(tmp_path / "bad")
    assert res["status"] == "failed" and "does not match its digest" in res["error"], res
    assert str(tmp_path / "bad" / "index.json") in res["error"]
