# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine option shared by the modules that drive a builder's Docker engine."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The engine to talk to, for example C(unix:///var/run/docker.sock) or C(tcp://127.0.0.1:2376).
      - Default C(DOCKER_HOST) or the local socket.
    type: str
requirements:
  - docker (the Docker SDK for Python) on the builder
"""
