"""Push helpers: which engine errors are retried, reference splitting, the local digests of a repository."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.image_pusher import (
    is_transient,
    local_digests,
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
