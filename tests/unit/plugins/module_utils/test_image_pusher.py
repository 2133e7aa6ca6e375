"""Push helpers: which engine errors are retried, reference splitting, the registry and path of a repository,
the local digest of a repository."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.image_pusher import (
    is_transient,
    local_digests,
    registry_path,
    split_ref,
)


@pytest.mark.parametrize("message, transient", [
    ("received unexpected HTTP status: 503 Service Unavailable", True),
    ("Get http://127.0.0.1:5000/v2/: dial tcp 127.0.0.1:5000: connect: connection refused", True),
    ("net/http: TLS handshake timeout", True),
    ("unauthorized: authentication required", False),
    ("denied: requested access to the resource is denied", False),
    ("manifest invalid", False),
])
def test_transient_errors(message, transient):
    assert is_transient(message) is transient


def test_split_ref_handles_registry_ports():
    assert split_ref("127.0.0.1:5000/s390x/busybox:latest") == ("127.0.0.1:5000/s390x/busybox", "latest")
    assert split_ref("127.0.0.1:5000/s390x/busybox") == ("127.0.0.1:5000/s390x/busybox", "latest")


def test_local_digests_are_per_repository():
    attrs = {"RepoDigests": ["127.0.0.1:5000/amd64/busybox@sha256:a", "other/busybox@sha256:b",
                             "127.0.0.1:5000/amd64/busybox@sha256:c"]}
    assert local_digests(attrs, "127.0.0.1:5000/amd64/busybox") == ["sha256:a", "sha256:c"]
    assert local_digests(attrs, "127.0.0.1:5000/s390x/busybox") == []


@pytest.mark.parametrize("repo, expected", [
    ("127.0.0.1:5000/s390x/busybox", ("127.0.0.1:5000", "s390x/busybox")),
    ("registry.example.net/arm64v8/python", ("registry.example.net", "arm64v8/python")),
    ("localhost/amd64/busybox", ("localhost", "amd64/busybox")),
    # no registry host: Docker Hub, as the engine resolves it
    ("amd64/busybox", ("registry-1.docker.io", "amd64/busybox")),
    ("busybox", ("registry-1.docker.io", "library/busybox")),
])
def test_registry_path_resolves_like_the_engine(repo, expected):
    assert registry_path(repo) == expected
