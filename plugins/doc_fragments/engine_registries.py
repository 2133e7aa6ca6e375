# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of the builder modules that ask the registries their engine pushes to directly."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  username:
    description:
      - User name at the registries of the images, for asking them what they hold (the engine's own pushes and
        pulls use its login, M(community.docker.docker_login)). Overrides I(docker_config).
    type: str
  password:
    description:
      - Password or token of I(username). Never logged.
    type: str
  docker_config:
    description:
      - A Docker C(config.json) whose C(auths) entries give the credentials (credential helpers are not run).
      - Default C(~/.docker/config.json) when it exists, where M(community.docker.docker_login) writes.
    type: path
  insecure:
    description:
      - The registries are explicitly insecure (plain HTTP, or HTTPS without verification).
      - When not set, TLS is verified and loopback registries default to plain HTTP, as Docker does.
    type: bool
  ca_cert:
    description:
      - CA certificate (PEM) of the registries. Default the engine's own trust of each registry,
        C(/etc/docker/certs.d/<registry>/ca.crt), when that file exists.
    type: path
  timeout:
    description:
      - Timeout in seconds of every registry request.
    type: float
    default: 30
"""
