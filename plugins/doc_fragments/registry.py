# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the modules that talk to a registry (manifest_list, registry_image_info)."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  registry:
    description:
      - The registry, as C(host[:port]), optionally with an C(http://) or C(https://) scheme.
      - Without a scheme, HTTPS is used, except plain HTTP for an I(insecure) registry or, when I(insecure)
        is not set, for a loopback host (C(127.0.0.1), C(localhost)), as Docker does.
    type: str
    required: true
  username:
    description:
      - User name for basic or token authentication. Overrides I(docker_config).
    type: str
  password:
    description:
      - Password or token for I(username). Never logged.
    type: str
  docker_config:
    description:
      - Path of a Docker C(config.json) whose C(auths) entry for I(registry) gives the credentials
        (C(auth) base64 or C(username)/C(password); credential helpers are not run).
    type: path
  insecure:
    description:
      - Mark the registry explicitly insecure. Plain HTTP without a scheme; with C(https://), TLS
        certificates are not verified.
      - When not set, TLS is verified, and loopback registries default to plain HTTP.
    type: bool
  ca_cert:
    description:
      - CA certificate (PEM file) that signed the registry's certificate; implies HTTPS.
    type: path
  timeout:
    description:
      - Timeout in seconds of every connection and request.
    type: float
    default: 30
  retries:
    description:
      - Retries of a request after a connection error, HTTP 429 or 5xx (never after other 4xx), with capped
        exponential backoff.
    type: int
    default: 4
"""
