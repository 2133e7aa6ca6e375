"""Tiny synthetic images pushed through the registry API (no docker build): a config blob and one layer.

Used where an image cannot be built here (a Windows image) and by the publish benchmark (hundreds of members).
"""
from __future__ import annotations

import gzip
import io
import json
import tarfile

from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    DOCKER_MANIFEST,
    RegistryClient,
    sha256_digest,
)


def _layer(content: bytes) -> tuple[bytes, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), sha256_digest(tar_bytes)


def push_image(client: RegistryClient, repository: str, tag: str, os: str = "linux", architecture: str = "amd64",
               variant: str = "", os_version: str = "", os_features: tuple[str, ...] = (),
               content: bytes = b"hello\n") -> str:
    """Push a one-layer Docker v2 image whose config says os/architecture; returns the manifest digest."""
    layer, diff_id = _layer(content)
    config: dict = {"architecture": architecture, "os": os, "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                    "config": {"Cmd": ["/hello.txt"]}}
    if variant:
        config["variant"] = variant
    if os_version:
        config["os.version"] = os_version
    if os_features:
        config["os.features"] = list(os_features)
    config_bytes = json.dumps(config, sort_keys=True).encode()
    client.put_blob(repository, layer)
    client.put_blob(repository, config_bytes)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config_bytes),
                   "digest": sha256_digest(config_bytes)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                    "digest": sha256_digest(layer)}],
    }, indent=3).encode()
    return client.put_manifest(repository, tag, manifest, DOCKER_MANIFEST)
