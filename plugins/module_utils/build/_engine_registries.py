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

from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.registry._registry_args import (
    REGISTRY_ARGS,
    client_kwargs,
    credentials_from_params,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient

# The registry modules' options, less `registry` (each image names its own), `retries` (retried per tag) and
# `deadline` (a build runs for hours between two registry questions; each question has its timeout).
ENGINE_REGISTRY_ARGS: dict[str, dict[str, Any]] = {
    name: spec for name, spec in REGISTRY_ARGS.items() if name not in ("registry", "retries", "deadline")}

_DOCKER_CONFIG = "~/.docker/config.json"
_DOCKER_CERTS = "/etc/docker/certs.d"


def registry_path(repo: str) -> tuple[str, str]:
    """(registry API host, repository path in it) of an engine repository name, as the engine resolves it."""
    ref = ImageRef.parse(repo, field="repository")
    return ref.api_host, ref.path


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
                kwargs = client_kwargs(params)
                kwargs["ca_path"] = kwargs["ca_path"] or (engine_ca if os.path.exists(engine_ca) else None)
                clients[host] = RegistryClient(host, creds, retries=retries, **kwargs)
            return clients[host]
    return get
