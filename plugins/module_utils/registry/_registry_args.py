# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options shared by the registry modules (documented in doc_fragments/registry.py)."""
from __future__ import annotations

from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    Credentials,
    RegistryClient,
    credentials_from_docker_config,
)

REGISTRY_ARGS: dict[str, dict[str, Any]] = {
    "registry": {"type": "str", "required": True},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "docker_config": {"type": "path"},
    "insecure": {"type": "bool"},
    "ca_cert": {"type": "path"},
    "timeout": {"type": "float", "default": 30},
    "retries": {"type": "int", "default": 4},
}


def credentials_from_params(params: Mapping[str, Any], registry: str, docker_config: str | None = None
                            ) -> Credentials | None:
    """Explicit username/password win over a Docker config.json (`docker_config`, or the module's own)."""
    if params.get("username"):
        return Credentials(params["username"], params.get("password") or "")
    config = docker_config or params.get("docker_config")
    return credentials_from_docker_config(config, registry) if config else None


def client_from_params(params: Mapping[str, Any]) -> RegistryClient:
    """A client of the module's `registry` from its parameters."""
    creds = credentials_from_params(params, params["registry"].split("://")[-1])
    return RegistryClient(params["registry"], creds, insecure=params.get("insecure"), ca_cert=params.get("ca_cert"),
                          timeout=params["timeout"], retries=params["retries"])
