# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registries a builder's engine pushes to, asked directly (documented in doc_fragments/engine_registries.py).

The builder modules ask the registry itself what it holds instead of trusting the engine's memory of earlier
pushes. Credentials and TLS trust default to the engine's own: the Docker config.json that
community.docker.docker_login writes and the engine's /etc/docker/certs.d/<registry>/ca.crt.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.registry._registry_args import (
    REGISTRY_ARGS,
    credentials_from_params,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import DOCKER_HUB, RegistryClient

# The registry modules' options, less `registry` (each image names its own) and `retries` (retried per tag).
ENGINE_REGISTRY_ARGS: dict[str, dict[str, Any]] = {
    name: spec for name, spec in REGISTRY_ARGS.items() if name not in ("registry", "retries")}

_DOCKER_CONFIG = "~/.docker/config.json"
_DOCKER_CERTS = "/etc/docker/certs.d"


def registry_path(repo: str) -> tuple[str, str]:
    """(registry host, repository path in it) of an engine repository name, as the engine resolves it."""
    first, sep, rest = repo.partition("/")
    if sep and first in ("docker.io", "index.docker.io"):
        repo = rest
    elif sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return DOCKER_HUB, repo if "/" in repo else "library/" + repo


def registry_clients(params: Mapping[str, Any], retries: int = 0) -> Callable[[str], RegistryClient]:
    """host -> its RegistryClient, made on first use and shared by the workers (the client is thread-safe).

    ``retries``: the client's own retries; 0 when the caller retries per tag so that retries show in its result.
    """
    clients: dict[str, RegistryClient] = {}
    lock = threading.Lock()
    config = params.get("docker_config")
    if not config and os.path.exists(os.path.expanduser(_DOCKER_CONFIG)):
        config = _DOCKER_CONFIG

    def get(host: str) -> RegistryClient:
        with lock:
            if host not in clients:
                creds = credentials_from_params(params, host, config)
                engine_ca = os.path.join(_DOCKER_CERTS, host, "ca.crt")
                ca = params.get("ca_cert") or (engine_ca if os.path.exists(engine_ca) else None)
                clients[host] = RegistryClient(host, creds, insecure=params.get("insecure"), ca_cert=ca,
                                               timeout=params.get("timeout") or 30, retries=retries)
            return clients[host]
    return get
