#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: registry_image_info
short_description: Digest, media type and platforms of images and manifest lists in a registry
version_added: 0.1.0
description:
  - For each reference, asks the registry (OCI distribution API) for the manifest and returns its digest and
    media type; for a manifest list or OCI index the platforms of its members, for an image its
    os/architecture/variant (and os.version) from the image config.
  - Read-only; a reference that does not exist is returned with C(exists=false).
author: buildfarm.images contributors (@buildfarm)
extends_documentation_fragment:
  - buildfarm.images.attributes.info_module
  - buildfarm.images.registry
  - buildfarm.images.concurrency
options:
  references:
    description:
      - C(<repository>:<tag>) or C(<repository>@<digest>) on I(registry), for example C(library/busybox:latest).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: What the published busybox tags point at
  buildfarm.images.registry_image_info:
    registry: 127.0.0.1:5000
    references:
      - library/busybox:latest
      - arm64v8/busybox:1.35.0
  register: buildfarm_busybox_info

- name: Every published tag lists s390x
  ansible.builtin.assert:
    that: "'linux/s390x' in (buildfarm_busybox_info.images[0].platforms | map(attribute='platform'))"
"""

RETURN = r"""
images:
  description: One item per reference, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    reference:
      description: The reference asked for.
      type: str
    exists:
      description: Whether the registry has it.
      type: bool
    digest:
      description: Manifest digest.
      type: str
    media_type:
      description: Manifest media type.
      type: str
    size:
      description: Manifest size in bytes.
      type: int
    platforms:
      description:
        - For a list or index, its members (platform, os, architecture, variant, os_version, digest,
          attestation_for).
        - C(attestation_for) is the digest of the member an attestation manifest (SBOM, provenance; platform
          C(unknown/unknown)) attests, empty for a runnable member.
      type: list
      elements: dict
    os:
      description: For an image, the OS from its config.
      type: str
    architecture:
      description: For an image, the architecture from its config.
      type: str
    variant:
      description: For an image, the variant from its config.
      type: str
    os_version:
      description: For an image, C(os.version) from its config (Windows).
      type: str
  sample:
    - reference: library/busybox:latest
      exists: true
      digest: sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b
      media_type: application/vnd.docker.distribution.manifest.list.v2+json
      size: 743
      platforms:
        - platform: linux/amd64
          os: linux
          architecture: amd64
          variant: ""
          os_version: ""
          digest: sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7
          attestation_for: ""
retries:
  description: Requests retried after transient failures.
  returned: always
  type: int
"""

from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule
from ansible_collections.buildfarm.images.plugins.module_utils.registry._image_info import images_info
from ansible_collections.buildfarm.images.plugins.module_utils.registry._registry_args import registry_argument_spec

ARGUMENT_SPEC = registry_argument_spec(references={"type": "list", "elements": "str", "required": True})


def work(module: BuildfarmModule) -> dict:
    return images_info(module.params)


def main() -> None:
    BuildfarmModule(argument_spec=ARGUMENT_SPEC).run(work)


if __name__ == "__main__":
    main()
