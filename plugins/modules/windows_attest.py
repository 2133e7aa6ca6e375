#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: windows_attest
short_description: Make a Windows builder's pushed tags OCI indexes of each image and its attestation
version_added: 0.1.0
description:
  - A Windows builder (role C(build_windows)) pushes its images bare with C(docker push); it runs no Python and
    its engine writes no OCI index. This module, run on the controller after the push (an action plugin, one call
    for the builder's whole share), makes every pushed per-architecture tag what a Linux builder's tag is
    (M(buildfarm.images.image_push)) - an OCI index holding the image manifest (the same config and layers, OCI
    media types, upstream's C(org.opencontainers.image.*) and C(com.docker.official-images.bashbrew.arch)
    annotations on it and on its descriptor, platform with C(os.version)) and, right after it, its attestation
    manifest (platform C(unknown/unknown), C(vnd.docker.reference.type=attestation-manifest)) holding an SPDX SBOM
    and SLSA v0.2 provenance as C(application/vnd.in-toto+json) layers, as BuildKit stores attestations.
  - Everything is read from the registry itself, never from the builder's engine. Each tag is read first; a tag
    serving the index the image would get now (its image manifest's config is the pushed image, same annotations,
    platform and attestation) is unchanged and nothing is scanned or written; another tag of the image gets that
    index. An unchanged release changes nothing.
  - The SBOM is made with I(scanner=syft) by syft reading the image from the registry by digest (no engine; its
    Windows layers are read as they are, for the Python distributions, .NET dependencies and binaries it
    recognises), plus
    the base image by its registry digest (an SPDX C(CONTAINER) package the image descends from) and the
    family's declared sources (with their verified SHA-256). I(scanner=declared) scans nothing and lists only the
    image, its base image and the declared sources.
  - The provenance names the farm as builder (I(builder_id)), the family or library file, variant, architecture,
    tags and build arguments, the base image by the digest it was pulled as (the build result's C(parents)), every
    declared source and the build's start and end.
  - The attestation is made before anything is written, so a scanner that fails or times out leaves the tags as
    the push left them (an incomplete member for the lists) and fails the image, naming it. A registry refusing
    C(application/vnd.in-toto+json) leaves the tags serving the index with the image alone, and fails the image.
author: buildfarm.images contributors (@buildfarm)
attributes:
  check_mode:
    support: full
    description: Reads the registry, writes nothing, lists the tags whose index would be written (C(would-push)).
  diff_mode:
    support: none
    description: The result lists every tag with its status and digests.
  platform:
    support: full
    platforms: windows
    description: Runs on the controller for a Windows builder's pushes.
extends_documentation_fragment:
  - buildfarm.images.registry
options:
  images:
    description:
      - The push script's result (role C(build_windows), C(push.ps1)), one item per image with C(key),
        C(image_id) (the engine's id, the config digest) and C(tags) (C(ref), C(status) C(pushed), C(unchanged),
        C(would-push) or C(failed), C(digest), C(error)), the items of M(buildfarm.images.image_push)'s C(images).
      - Tags pushed or unchanged are made indexes; the others are returned as they are.
    type: list
    elements: dict
    required: true
  builds:
    description:
      - The build script's result (C(build.ps1)), M(buildfarm.images.image_build)'s item shape; the provenance
        reads each image's C(started), C(finished), C(builder) and C(parents) (C(name), C(key) of a parent built in
        this share, C(digest) it was pulled as). A parent built in the share is named by the image manifest this
        call wrote for it (images come in build order).
    type: list
    elements: dict
    default: []
  bundle:
    description:
      - The release bundle on the controller (M(buildfarm.images.release_prepare)'s C(bundle)), which the
        provenance and the declared sources are read from. Required when I(attestations) is true.
      - A relative path is relative to the directory ansible-playbook runs in.
    type: path
  host:
    description: The Windows builder that built and pushed the images (its name is in the default builder id).
    type: str
    required: true
  arch:
    description: The Windows architecture of the images.
    type: str
    default: windows-amd64
  attestations:
    description:
      - Give every image its attestation. C(false) is the explicit opt-out, as for Linux images; the tags are
        OCI indexes with the annotations either way, and an attestation already there is kept.
    type: bool
    default: true
  builder_id:
    description: The builder id the provenance names (a URI); empty for the farm's default with C(#<host>).
    type: str
    default: ""
  scanner:
    description: What makes the SBOM, C(syft) (the registry image) or C(declared) (no scan).
    type: str
    default: syft
    choices: [syft, declared]
  syft_path:
    description: The syft binary; empty for C(syft) next to the controller's Python (a venv), else on PATH.
    type: path
    default: ""
  scan_timeout:
    description: Seconds a scan may take; a scan that takes longer fails the image, naming it.
    type: int
    default: 900
notes:
  - Windows images are attested by the farm although upstream's are not (issue 23's rule, every image the farm
    builds), so the lists' attestation rules (M(buildfarm.images.manifest_list) I(require_attestations)) hold for
    C(windows-amd64) members too.
"""

EXAMPLES = r"""
- name: Make each pushed tag the OCI index of its image and attestation (role build_windows does this)
  buildfarm.images.windows_attest:
    images: "{{ pushed.result }}"
    builds: "{{ built.result }}"
    bundle: "{{ hostvars['localhost']['buildfarm_release']['bundle'] }}"
    host: "{{ inventory_hostname }}"
    registry: registry.example.net
  register: attested

- name: Indexes with the annotations only, no attestation (the explicit opt-out; no bundle needed)
  buildfarm.images.windows_attest:
    images: "{{ pushed.result }}"
    host: win-ltsc2022-01
    registry: registry.example.net
    attestations: false
"""

RETURN = r"""
images:
  description:
    - Every image of I(images), as M(buildfarm.images.image_push) returns them - C(key), C(image_id), C(ok),
      C(started), C(finished) and C(tags), each with C(ref), C(status) (C(pushed) when this call wrote its index,
      C(unchanged), C(would-push), C(failed)), C(digest) (the index the tag serves), C(image_digest) (its
      C(manifests[0])), C(attestation_digest) (its C(manifests[1]), or empty), C(attempts) and C(error).
  returned: always
  type: list
  elements: dict
digests:
  description: Every tag that serves an index -> its digest.
  returned: always
  type: dict
failed_entries:
  description: The keys of the images with a failed tag.
  returned: always
  type: list
  elements: str
"""
