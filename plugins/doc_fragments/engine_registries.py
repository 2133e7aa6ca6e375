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
  plain_http:
    description:
      - The registries speak plain HTTP (C(true)) or HTTPS even on loopback (C(false)). When not set,
        loopback registries get plain HTTP and all others HTTPS, as Docker does.
    type: bool
    aliases: [insecure]
  validate_certs:
    description:
      - Verify the registries' TLS certificates.
    type: bool
    default: true
    aliases: [tls_verify]
  ca_path:
    description:
      - CA certificate (PEM) of the registries. Default the engine's own trust of each registry,
        C(/etc/docker/certs.d/<registry>/ca.crt), when that file exists.
    type: path
    aliases: [ca_cert, tls_ca_cert, cacert_path]
  plain_http_credentials:
    description:
      - Allow credentials to travel over plain HTTP to a registry host other than loopback.
    type: bool
    default: false
  timeout:
    description:
      - Timeout in seconds of every registry request.
    type: float
    default: 30
"""
