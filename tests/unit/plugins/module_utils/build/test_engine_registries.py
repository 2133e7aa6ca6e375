"""The registries a builder's engine pushes to: repository names resolved as the engine does, and clients with
the credentials of the options or of a Docker config.json."""
from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build._engine_registries import (
    registry_clients,
    registry_path,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import Credentials


@pytest.mark.parametrize("repo, expected", [
    ("127.0.0.1:5000/s390x/busybox", ("127.0.0.1:5000", "s390x/busybox")),
    ("registry.example.net/arm64v8/python", ("registry.example.net", "arm64v8/python")),
    ("localhost/amd64/busybox", ("localhost", "amd64/busybox")),
    # no registry host: Docker Hub, as the engine resolves it
    ("amd64/busybox", ("registry-1.docker.io", "amd64/busybox")),
    ("busybox", ("registry-1.docker.io", "library/busybox")),
    ("docker.io/busybox", ("registry-1.docker.io", "library/busybox")),
    ("docker.io/arm64v8/busybox", ("registry-1.docker.io", "arm64v8/busybox")),
])
def test_registry_path_resolves_like_the_engine(repo, expected):
    assert registry_path(repo) == expected


def test_clients_take_credentials_from_options_then_the_docker_config(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {"registry.example.net": {
        "auth": base64.b64encode(b"farm:secret").decode()}}}))
    from_config = registry_clients({"docker_config": str(config)})
    client = from_config("registry.example.net")
    assert client.credentials == Credentials("farm", "secret")
    assert client.scheme == "https" and from_config("registry.example.net") is client  # one per host
    assert from_config("127.0.0.1:5000").credentials is None
    explicit = registry_clients({"docker_config": str(config), "username": "ci", "password": "token"})
    assert explicit("registry.example.net").credentials == Credentials("ci", "token")
