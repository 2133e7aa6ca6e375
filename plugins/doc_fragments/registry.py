# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the modules that talk to a registry (manifest_list, registry_image_info)."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  registry:
    description:
      - The registry, as C(host[:port]), optionally with an C(http://) or C(https://) scheme; no path and no
        C(user:password@) (refused without repeating them; use I(username) and I(password)).
      - Without a scheme, HTTPS is used, except plain HTTP with I(plain_http) or, when I(plain_http) is not
        set, for a loopback host (C(127.0.0.1), C(localhost)), as Docker does.
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
  plain_http:
    description:
      - Speak plain HTTP to a registry given without a scheme (C(true)), or HTTPS even to a loopback one
        (C(false)). When not set, loopback registries get plain HTTP and all others HTTPS.
      - For HTTPS without certificate verification, use I(validate_certs=false) instead.
    type: bool
    aliases: [insecure]
  validate_certs:
    description:
      - Verify the registry's TLS certificate (and its token service's). C(false) warns on every run.
    type: bool
    default: true
    aliases: [tls_verify]
  ca_path:
    description:
      - CA certificate (PEM file) that signed the registry's certificate; implies HTTPS. A path that does
        not exist is an error naming it.
    type: path
    aliases: [ca_cert, tls_ca_cert, cacert_path]
  plain_http_credentials:
    description:
      - Allow credentials to travel over plain HTTP to a host other than loopback (the registry or its token
        service). Without it such a registry with credentials is refused before any request; with it, a
        warning says so. A token service of an HTTPS registry must be HTTPS in any case.
    type: bool
    default: false
  timeout:
    description:
      - Timeout in seconds of every connection and request (shortened to what is left of I(deadline)).
    type: float
    default: 30
  retries:
    description:
      - Retries of a request after a connection error, HTTP 429 or 5xx (never after other 4xx), with capped
        exponential backoff; a C(Retry-After) of a 429 or 503 is honoured up to 60 seconds. A request that a
        dropped keep-alive connection made the client send again counts as a retry.
      - TLS, name resolution, refused connections and requests that cannot be encoded are not retried; they
        fail at once, saying what to fix.
    type: int
    default: 4
  deadline:
    description:
      - Overall deadline in seconds of the module call's registry work, waits and timeouts included. Past
        it, what is under way fails with a message saying so, and every tag is either its old or its new
        state.
    type: float
    default: 1800
"""
