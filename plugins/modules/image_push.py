#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: image_push
short_description: Publish a builder's images, each tag an OCI index of the image and its attestation
version_added: 0.1.0
description:
  - Publishes every tag of every image in I(images) (the C(images) result of M(buildfarm.images.image_build),
    usually only those that passed M(buildfarm.images.image_test)) as upstream's architecture namespaces hold
    them - an OCI image index (C(application/vnd.oci.image.index.v1+json)) with the image manifest first (OCI
    media types, the same config and layer blobs the engine pushed, the platform, and upstream's annotations
    C(org.opencontainers.image.source), C(.revision), C(.created), C(.version) (the first tag), C(.url),
    C(.base.name), C(.base.digest) and C(com.docker.official-images.bashbrew.arch) on the manifest and its
    descriptor, empty ones left out) and its attestation manifest second (platform C(unknown/unknown),
    C(vnd.docker.reference.type=attestation-manifest), an SPDX SBOM made by syft and SLSA v0.2 provenance as
    C(application/vnd.in-toto+json) layers), as BuildKit stores attestations; C(docker buildx imagetools
    inspect --format '{{ json .SBOM }}') reads them and C(docker pull)/C(docker run --platform) work as before.
  - Images are published parents first - an image whose build item names another image of this call as a parent
    (C(parents[].key)) waits for it, and its C(.base.digest) and provenance name the parent's pushed image
    manifest (an external parent's C(parents[].digest) as the build found it).
  - An image is unchanged, and nothing is scanned or pushed, when a tag already serves the index this image
    would get (image manifest whose config is the local image, same annotations and platform, attestation
    present), found with one C(GET) per tag and one of the image manifest; another tag of an unchanged image gets that
    index (one C(PUT)). Otherwise the SBOM is made first (a scanner that fails publishes nothing), the engine
    pushes the image under the first tag of each repository (its layers), and the manifests and the index are
    written; every serialization is canonical, so an unchanged image always yields the same digests.
  - A tag counts as pushed only when the registry serves the index written (a C(HEAD) after the C(PUT)) and
    serves the manifest the engine reported pushing. The engine's memory of earlier pushes is never taken as
    proof, so a registry whose storage was wiped or replaced gets the images again, and one that accepts a push
    it then does not serve makes the tag fail with a message saying so.
  - An image whose attestation cannot be written (a registry refusing C(application/vnd.in-toto+json), the
    provenance failing) fails, naming the image and the cause; its tags then serve the index with the image
    alone, which the lists treat as an incomplete member and the next run completes. A registry refusing the
    OCI index fails the image too, and the message says the first tag serves the engine's manifest.
  - Transient failures (timeouts, connection resets, 5xx, 429) are retried with exponential backoff; an
    authorization error is not.
  - Returns the digest of every tag, which the publish step (manifest lists) and the release report consume.
author: buildfarm.images contributors (@buildfarm)
attributes:
  check_mode:
    support: full
    description: Asks the registry, pushes nothing (no I(status_file) either), lists the tags that would be pushed.
  diff_mode:
    support: full
    description: The tags pushed (or that would be) with their digest.
extends_documentation_fragment:
  - buildfarm.images.docker_engine
  - buildfarm.images.engine_registries
  - buildfarm.images.progress
options:
  images:
    description:
      - Items with C(key), C(image_id), C(tags) (full references) and C(status); items whose status is not
        C(built) or C(unchanged) are ignored, except C(would-build) in check mode (all its tags would be pushed).
      - Every item needs a C(key); those to push need an C(image_id) the engine knows and a non-empty list of
        C(tags). A bad item or an unknown image fails the task, naming it, before anything is pushed.
    type: list
    elements: dict
    required: true
  retries:
    description: Attempts per registry request or push, transient failures only (C(0) is one attempt, as C(1);
      a negative value fails the task).
    type: int
    default: 3
  max_workers:
    description: How many images push at once (tags of one image push one after the other, so its layers go up
      once); at least C(1).
    type: int
    default: 2
  fail_on_error:
    description: Fail the task when a tag could not be pushed.
    type: bool
    default: true
  arch:
    description:
      - The bashbrew architecture of the images (C(amd64), C(arm64v8), ...) - the index's platform and the
        C(com.docker.official-images.bashbrew.arch) annotation. Empty for the architecture of each image's
        platform.
    type: str
    default: ""
  attestations:
    description:
      - Attach the SBOM and provenance attestation to every Linux image (Windows images get none, as upstream's).
      - C(false) is an explicit opt-out; the tags are OCI indexes with the image and its annotations only, and
        the lists count such a member as incomplete.
    type: bool
    default: true
  release:
    description:
      - The release bundle the images were built from (the builder's C(release.tar)); the provenance is made
        from it. Required when I(attestations) is true.
    type: path
  work_dir:
    description:
      - The builder's folder M(buildfarm.images.image_build) used (its context files are the provenance's
        materials). Default the folder of I(release).
    type: path
  syft_path:
    description:
      - The syft binary that makes the SBOM. Empty for C(syft) next to the Python running the module (a
        virtualenv's), else on C(PATH).
    type: path
    default: ""
  builder_id:
    description:
      - The builder id the provenance names (SLSA C(builder.id)), a URI. Empty for the farm's default with
        C(#<host>) appended.
    type: str
    default: ""
  cache_dir:
    description:
      - The I(cache_dir) M(buildfarm.images.image_build) used (its root filesystem records are the provenance's
        materials). Default C(<work_dir>/cache), image_build's default.
    type: path
  scan_timeout:
    description: Seconds one image's SBOM scan may take before the image fails.
    type: int
    default: 900
"""

EXAMPLES = r"""
- name: Push what passed the smoke tests
  buildfarm.images.image_push:
    images: "{{ buildfarm_built.images | selectattr('key', 'in', buildfarm_tested.passed) }}"
    arch: amd64
    release: /var/cache/buildfarm/builders/builder-amd64/release.tar
    work_dir: /var/cache/buildfarm/builders/builder-amd64
    builder_id: https://ci.example.org/buildfarm
  register: buildfarm_pushed

- name: Push without attestations (explicit opt-out; the indexes carry the annotations only)
  buildfarm.images.image_push:
    images: "{{ buildfarm_built.images }}"
    attestations: false
"""

RETURN = r"""
images:
  description: One item per image pushed or checked.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The entry key.
      type: str
    image_id:
      description: Local image id.
      type: str
    ok:
      description: Whether the registry serves every tag with the image's index now (or the tag would be
        pushed, in check mode).
      type: bool
    started:
      description: When the image's push began (RFC 3339, UTC).
      type: str
    finished:
      description: When it ended (RFC 3339, UTC).
      type: str
    tags:
      description:
        - Per tag C(ref), C(status) (C(pushed), C(unchanged), C(would-push), C(failed)), C(digest) (the OCI
          index the tag serves), C(image_digest) (its C(manifests[0]), the image manifest),
          C(attestation_digest) (its C(manifests[1]), or empty), C(attempts) and C(error).
      type: list
      elements: dict
digests:
  description: Full reference -> the index digest in the registry, for every tag pushed or already there.
  returned: always
  type: dict
  sample: {"127.0.0.1:5000/s390x/busybox:1.35.0-glibc": "sha256:0f3e..."}
failed_entries:
  description: Keys of the images with a tag that could not be pushed.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.buildfarm.images.plugins.module_utils.build._docker_engine import ENGINE_ARGS, engine_factory
from ansible_collections.buildfarm.images.plugins.module_utils.build._engine_registries import (
    ENGINE_REGISTRY_ARGS,
    registry_clients,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.push_job import push_share
from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule

ARGUMENT_SPEC = dict(
    images=dict(type="list", elements="dict", required=True),
    retries=dict(type="int", default=3),
    max_workers=dict(type="int", default=2),
    fail_on_error=dict(type="bool", default=True),
    host=dict(type="str", default=""),
    status_file=dict(type="path"),
    arch=dict(type="str", default=""),
    attestations=dict(type="bool", default=True),
    release=dict(type="path"),
    work_dir=dict(type="path"),
    syft_path=dict(type="path", default=""),
    builder_id=dict(type="str", default=""),
    cache_dir=dict(type="path"),
    scan_timeout=dict(type="int", default=900),
    **ENGINE_ARGS,
    **ENGINE_REGISTRY_ARGS
)


def work(module: BuildfarmModule) -> dict:
    # registry retries are the pusher's, per tag, so that they show in the result
    return push_share(module.params, module.check_mode, engine_factory(module),
                      registry_clients(module.params, retries=0))


def main() -> None:
    BuildfarmModule(argument_spec=ARGUMENT_SPEC).run(work)


if __name__ == "__main__":
    main()
