"""Synthetic Windows images and release bundles for tests that cannot run Windows (none runs here).

`push_windows_image` pushes through the registry API what `docker push` of a Windows image pushes: a Docker v2
manifest whose config says os windows, amd64 and an os.version, and layers laid out as Windows layers are
(`Files/...`, `Hives/...`), one of them holding a Python distribution syft recognises. `write_bundle` writes a
release bundle as release_prepare does (release.json and the rendered tree), with Windows entries and the
family's declared sources.
"""
from __future__ import annotations

import contextlib
import gzip
import io
import json
import pathlib
import tarfile
from typing import Iterator

from ansible_collections.buildfarm.images.plugins.module_utils.build.bundle import RELEASE_JSON
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import DOCKER_MANIFEST
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import BUNDLE_FORMAT
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    RegistryClient,
    sha256_digest,
)
from ansible_collections.buildfarm.images.tests.support.ports import free_port
from ansible_collections.buildfarm.images.tests.support.registry import ThrowAwayRegistry

OS_VERSION = "10.0.20348.2700"
PORTS = (5750, 5799)  # the Windows tests' throw-away registries (tests/support/ports.py's ranges)
PYTHON_SHA256 = "9cf9427bee9e2242e3877dd0f6b641c1853ca461f39d6503ce260a59c80bf0d9"


def _tar(files: dict[str, bytes]) -> tuple[bytes, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mtime = 0
            tar.addfile(info, io.BytesIO(files[name]))
    data = raw.getvalue()
    return gzip.compress(data, mtime=0), sha256_digest(data)


def windows_image(labels: dict | None = None, marker: bytes = b"") -> tuple[list[bytes], bytes, str]:
    """(blobs, Docker v2 manifest, config digest: the image id on a Windows engine) of one synthetic Windows image;
    ``marker`` makes images differ."""
    base, base_id = _tar({"Files/Windows/System32/cmd.exe": b"MZ cmd", "Hives/Software_Delta": b"regf"})
    app, app_id = _tar({
        "Files/Python/python.exe": b"MZ python" + marker,
        "Files/Python/Lib/site-packages/pip-24.0.dist-info/METADATA":
            b"Metadata-Version: 2.1\nName: pip\nVersion: 24.0\n",
        "Files/Python/Lib/site-packages/pip-24.0.dist-info/RECORD": b""})
    config = json.dumps({"architecture": "amd64", "os": "windows", "os.version": OS_VERSION,
                         "rootfs": {"type": "layers", "diff_ids": [base_id, app_id]},
                         "config": {"Cmd": ["python"], "Labels": dict(labels or {})}}, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                   "digest": sha256_digest(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                    "digest": sha256_digest(layer)} for layer in (base, app)]}, indent=3).encode()
    return [base, app, config], manifest, sha256_digest(config)


def push_windows_image(client: RegistryClient, repository: str, tags: list[str], labels: dict | None = None,
                       marker: bytes = b"") -> tuple[str, str]:
    """Push one Windows image under `tags` (bare, as docker push does); returns (manifest digest, config digest:
    the image id on a Windows engine)."""
    blobs, manifest, image_id = windows_image(labels, marker)
    for blob in blobs:
        client.put_blob(repository, blob)
    digest = ""
    for tag in tags:
        digest = client.put_manifest(repository, tag, manifest, DOCKER_MANIFEST)
    return digest, image_id


def windows_entry(version: str, release: str) -> dict:
    variant = "windowsservercore-" + release
    return {"tags": ["%s-%s" % (version, variant)], "shared_tags": [version], "architectures": ["windows-amd64"],
            "directory": "%s/%s" % (version, variant), "constraints": [variant], "file": "Dockerfile",
            "from": ["mcr.microsoft.com/windows/servercore:" + release], "version": version + ".5"}


def write_bundle(path: pathlib.Path, families: dict[str, list[dict]]) -> pathlib.Path:
    """A release bundle as release_prepare writes it, each entry with python's declared source."""
    def sources(entries: list[dict]) -> dict:
        return {e["directory"]: [{"name": "python", "version": e["version"], "sha256": PYTHON_SHA256,
                                  "url": "https://www.python.org/ftp/python/%s/python-%s-amd64.exe"
                                         % (e["version"], e["version"]),
                                  "purl": "pkg:generic/python@%s" % e["version"]}] for e in entries}

    files = {RELEASE_JSON: json.dumps({"format": BUNDLE_FORMAT, "architectures": ["windows-amd64"], "families": [
        {"name": name, "repository": "library/" + name, "entries": entries, "depends_on": [], "context": {},
         "build_args": {}, "source": "https://example.net/%s.git" % name, "revision": "a" * 40,
         "created": "2026-12-01T00:00:00Z", "family_folder": name, "sources": sources(entries),
         "templates": {e["directory"]: "Dockerfile-windows.template" for e in entries},
         "tests": {"windows": [{"name": "version", "command": "%s --version" % name}]}}
        for name, entries in families.items()]}).encode()}
    for name, entries in families.items():
        for e in entries:
            files["render/%s/%s/Dockerfile" % (name, e["directory"])] = ("FROM %s\n" % e["from"][0]).encode()
    with tarfile.open(path, "w") as tar:
        for member in sorted(files):
            info = tarfile.TarInfo(member)
            info.size = len(files[member])
            tar.addfile(info, io.BytesIO(files[member]))
    return path


@contextlib.contextmanager
def throwaway_registry(folder: pathlib.Path) -> Iterator[ThrowAwayRegistry]:
    """A registry of the Windows tests' port range, stopped afterwards."""
    reg = ThrowAwayRegistry(folder, free_port(*PORTS))
    reg.start()
    try:
        yield reg
    finally:
        reg.stop()
