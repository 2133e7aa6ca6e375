# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine connection shared by the builder modules (documented in doc_fragments/docker_engine.py)."""
from __future__ import annotations

from typing import Any, Callable, Mapping

try:
    import docker
except ImportError:
    docker = None

ENGINE_ARGS: dict[str, dict[str, Any]] = {
    "docker_host": {"type": "str"},
}


def engine_factory(module) -> Callable[[], Any]:
    """A callable that opens a client of the engine named by the module's parameters.

    Fails the module with the standard missing-library message when the Docker SDK is absent. Worker threads
    call the factory for a client of their own: the SDK's clients are not meant to be shared across threads.
    """
    if docker is None:
        from ansible.module_utils.basic import missing_required_lib

        module.fail_json(msg=missing_required_lib("docker"))
    return client_factory(module.params)


def client_factory(params: Mapping[str, Any]) -> Callable[[], Any]:
    host = params.get("docker_host")
    if host:
        return lambda: docker.DockerClient(base_url=host)
    return docker.from_env
