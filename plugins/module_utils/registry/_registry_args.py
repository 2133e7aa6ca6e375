# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options shared by the registry modules (documented in doc_fragments/registry.py).

TLS option names follow community.docker (`validate_certs`, `ca_path` with its aliases); `plain_http` is what
`insecure` always meant without a scheme (plain HTTP), kept as its alias.
"""
from __future__ import annotations

from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    DEFAULT_DEADLINE,
    Credentials,
    RegistryClient,
    RegistrySettings,
    credentials_from_docker_config,
)

REGISTRY_ARGS: dict[str, dict[str, Any]] = {
    "registry": {"type": "str", "required": True},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "docker_config": {"type": "path"},
    "plain_http": {"type": "bool", "aliases": ["insecure"]},
    "validate_certs": {"type": "bool", "default": True, "aliases": ["tls_verify"]},
    "ca_path": {"type": "path", "aliases": ["ca_cert", "tls_ca_cert", "cacert_path"]},
    "plain_http_credentials": {"type": "bool", "default": False},
    "timeout": {"type": "float", "default": 30},
    "retries": {"type": "int", "default": 4},
    "deadline": {"type": "float", "default": DEFAULT_DEADLINE},
}

# The parallel-requests option (documented in doc_fragments/concurrency.py).
MAX_WORKERS_ARG: dict[str, dict[str, Any]] = {
    "max_workers": {"type": "int", "default": 8, "aliases": ["concurrency"]},
}


def registry_argument_spec(**options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The argument spec of a module that talks to a registry: the connection options, max_workers and its own."""
    return dict(REGISTRY_ARGS, **MAX_WORKERS_ARG, **options)


def credentials_from_params(params: Mapping[str, Any], registry: str, docker_config: str | None = None
                            ) -> Credentials | None:
    """Explicit username/password win over a Docker config.json (`docker_config`, or the module's own)."""
    if params.get("username"):
        return Credentials(params["username"], params.get("password") or "")
    config = docker_config or params.get("docker_config")
    return credentials_from_docker_config(config, registry) if config else None


def client_kwargs(params: Mapping[str, Any]) -> dict[str, Any]:
    """The RegistrySettings keywords of the shared options (old spellings too, for callers passing raw dicts)."""
    plain = params.get("plain_http")
    return {
        "insecure": params.get("insecure") if plain is None else plain,
        "validate_certs": params.get("validate_certs", True) is not False,
        "ca_path": params.get("ca_path") or params.get("ca_cert"),
        "plain_http_credentials": bool(params.get("plain_http_credentials")),
        "timeout": 30 if params.get("timeout") is None else params["timeout"],
    }


def settings_from_params(params: Mapping[str, Any]) -> RegistrySettings:
    """The client settings of a module's registry options (the deadline starts when a client is made)."""
    return RegistrySettings(retries=params["retries"], deadline=params.get("deadline"), **client_kwargs(params))


def client_from_params(params: Mapping[str, Any]) -> RegistryClient:
    """A client of the module's `registry` from its parameters; the deadline starts now (the module call)."""
    registry = params["registry"]
    # Credentials of a docker config are looked up by host: never with a user:password@ of the address, which
    # the client refuses (without repeating it).
    host = registry.split("://")[-1].rpartition("@")[2]
    return RegistryClient(registry, credentials_from_params(params, host), settings_from_params(params))
