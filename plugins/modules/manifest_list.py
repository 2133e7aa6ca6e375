#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: manifest_list
short_description: Publish the multi-architecture manifest lists of a release
version_added: 0.1.0
description:
  - Publishes one manifest list per entry under each of its tags, and one per shared-tag group under each tag
    of the group, into C(<registry>/<namespace>/<repository>).
  - Members are C(<arch namespace>/<repository>:<first tag of the entry>) on the same registry, resolved to
    digests, in the canonical platform order; Windows members carry C(os.version) and C(os.features) from
    their image config.
  - A member source is the per-architecture OCI index the farm pushes (the image manifest, then its attestation
    manifest as BuildKit stores attestations); one GET of it gives both. An older plain image manifest or a
    multi-platform list is read too (the attestation naming the architecture's image, wherever it is).
  - The list keeps each member's image descriptor (platform, annotations of the per-architecture index's
    descriptor) immediately followed by its attestation descriptor (platform C(unknown/unknown),
    C(vnd.docker.reference.type=attestation-manifest), C(vnd.docker.reference.digest=<image digest>)).
  - A member without its attestation is incomplete and follows I(missing_architectures), as a missing
    image does, unless I(require_attestations=false). Windows images are attested too (by the C(build_windows)
    role, after their push).
  - The media type is a Docker manifest list when every member is a Docker v2 manifest and nothing is
    annotated or attested, otherwise an OCI index (a Docker manifest list cannot carry annotations).
  - Idempotent; the published list is compared by digest with the exact bytes that would be PUT, and
    unchanged lists are not written. Each tag is one PUT, so after a failure every tag is either its old or
    its new list.
  - One call publishes a whole release, with bounded concurrency inside; with I(repositories), every family
    of a release at once (concurrency across repositories too).
  - "A published list never silently loses an architecture: under I(missing_architectures=fail) a tag whose
    new list would have fewer platforms than the published one is not written, whatever the reason (missing
    images, an entry's architectures shrunk, a builder group removed); I(drop_architectures) names the ones to
    drop on purpose."
  - Before a list is written, each member is made present in the target repository, and the image config of a
    member that is a plain image manifest is checked against its platform (os, architecture, variant); a member
    picked out of an index by its platform is taken as the index describes it. For a list that is unchanged, each
    member is HEADed in the target repository (unless I(check_unchanged_members=false)); one that is gone is
    copied back (C(repaired)) or reported.
    Attestation manifests and their blobs are copied (mounted) with their images. Into a repository that does
    not exist yet, members are copied without a HEAD first.
  - Tags, repositories and namespaces are checked against the distribution grammar before any request.
  - A second publisher of the same repository (on this controller) waits up to I(lock_timeout) seconds for the
    first, then stops naming it; nothing is published by the one that stopped.
author: buildfarm.images contributors (@buildfarm)
attributes:
  check_mode:
    support: full
    description: Reports which tags would be created, updated or repaired, with their member diff; takes no lock.
  diff_mode:
    support: full
    description: >-
      The index annotations and the members (platform, os.version, digest, annotations) before and after,
      per changed tag.
extends_documentation_fragment:
  - buildfarm.images.registry
  - buildfarm.images.concurrency
options:
  namespace:
    description:
      - Namespace of the published lists (C(library) like the official images). Empty for none.
    type: str
    default: library
  repository:
    description:
      - Repository name without namespace, for example C(python).
      - Exactly one of I(repository) and I(repositories) is required.
    type: str
  entries:
    description:
      - The entries of the release, for example the C(plan.entries) of the release plan. Each has C(tags),
        C(shared_tags) and C(architectures) (bashbrew names; C(Tags)/C(SharedTags)/C(Architectures) and
        comma-separated strings are accepted too). Other keys are ignored.
      - Two entries of one architecture under one shared tag are refused (a list has one member per platform).
      - With I(repository), exactly one of I(entries) and I(library_file) is required.
    type: list
    elements: dict
  library_file:
    description:
      - A bashbrew library file (parsed with the collection's library manifest parser) whose entries to publish.
    type: path
  repositories:
    description:
      - The batch form, publishing several repositories in one call (a release's families) with the shared
        options (registry, credentials, policy, annotations ...). Each item has C(repository) and one of
        C(entries) and C(library_file), as the single-repository options. Every item is checked before any
        request.
      - The result has one item per repository under RV(repositories), and the flat RV(lists) and
        RV(published) of all of them (tags prefixed with C(<repository>:) in RV(published)).
    type: list
    elements: dict
    suboptions:
      repository:
        description: Repository name without namespace, as I(repository).
        type: str
        required: true
      entries:
        description: The entries of this repository, as I(entries).
        type: list
        elements: dict
      library_file:
        description: A bashbrew library file whose entries to publish, as I(library_file).
        type: path
  drop_architectures:
    description:
      - Architectures (bashbrew names) the published lists may lose on purpose. A list that loses any other
        architecture follows I(missing_architectures).
    type: list
    elements: str
    default: []
  lock_timeout:
    description:
      - Seconds a publish waits for another publish of the same repository, from the same controller, to
        finish; C(0) stops at once. Past it, the module fails naming the other one, having published nothing.
    type: float
    default: 600
  arch_namespaces:
    description:
      - "Overrides of where an architecture's images live, for example C({arm64v8: arm64}).
        Default the bashbrew namespaces (C(windows-amd64) -> C(winamd64))."
    type: dict
    default: {}
  require_attestations:
    description:
      - Whether a member must have its attestation manifest (SBOM and provenance). C(true) counts a member
        without one as incomplete (I(missing_architectures) applies, C(fail) names it, C(skip) leaves it out,
        C(keep-previous) keeps the member published before); C(false) publishes such members bare.
    type: bool
    default: true
  check_unchanged_members:
    description:
      - For a list that is unchanged, HEAD each member and attestation in the target repository and copy back
        what is gone (C(repaired)). C(false) spares those requests (two a member) and trusts that what a
        published list points at stays (M(buildfarm.images.release_verify) reads back the members of every list
        it has not verified before, not those of a list it passed in an earlier run).
    type: bool
    default: true
  pushed:
    description:
      - M(buildfarm.images.image_push)'s C(images) items (of every builder). The index each pushed tag serves,
        and the image and attestation manifests in it, are taken from there (their C(manifests)) instead of
        being read back from the registry; a tag or manifest not there, or whose bytes do not hash to its
        digest, is read from the registry as without I(pushed).
      - Only tags pushed to I(registry) count; a member's reference is still C(<arch namespace>/<repository>:<first
        tag>), so the lists are what the registry serves when the release pushed nothing new there.
    type: list
    elements: dict
    default: []
  builders:
    description:
      - The builder hosts (C(groups['builders'])) whose C(buildfarm_build_result.pushed) the action plugin reads
        into I(pushed) (in Python, on the controller), when I(pushed) is not given.
    type: list
    elements: str
    default: []
  missing_architectures:
    description:
      - What to do with a tag when member images are missing (or, with I(require_attestations), have no
        attestation), or when its new list would have fewer architectures than the one published (not counting
        I(drop_architectures)).
      - C(fail) publishes nothing for that tag and fails naming the missing images or the lost architectures.
      - C(skip) publishes without them, warns, and says so in RV(lists[].dropped_architectures).
      - C(keep-previous) carries forward the member already published for a missing or lost architecture
        (RV(lists[].carried_forward); warns when there is none).
    type: str
    choices: [fail, skip, keep-previous]
    default: fail
  annotations:
    description:
      - Annotations of each published index (string keys and string values), for example
        C(org.opencontainers.image.source) and C(org.opencontainers.image.url). Makes the lists OCI indexes.
      - They are part of the bytes compared for idempotence, so a value that differs on every run (a build
        time) republishes every tag on every run.
      - C(${name}) in a value is the repository's name (C(busybox)) and C(${repository}) its path
        (C(library/busybox)), so one batch call annotates every repository with its own URL; the release playbook
        turns an inventory's C({{ item.name }}) into C(${name}).
    type: dict
    default: {}
  member_annotations:
    description:
      - Annotate each member with its architecture (C(com.docker.official-images.bashbrew.arch)) and the tag it
        was published as (C(org.opencontainers.image.version)), as the official images do. Makes the lists OCI
        indexes. A member carried forward by C(keep-previous) keeps the annotations it was published with.
    type: bool
    default: false
notes:
  - The release playbook passes C(buildfarm_missing_architectures) as I(missing_architectures).
"""

EXAMPLES = r"""
- name: Plan the busybox family for the farm's architectures
  buildfarm.images.release_plan:
    family: families/busybox
    architectures: [amd64, arm64v8, s390x]
  register: buildfarm_plan

- name: Publish its lists from the pushed amd64/busybox:1.35.0-glibc, arm64v8/busybox:1.35.0-glibc, ...
  buildfarm.images.manifest_list:
    registry: 127.0.0.1:5000
    repository: busybox
    entries: "{{ buildfarm_plan.plan.entries }}"
    missing_architectures: "{{ buildfarm_missing_architectures | default('fail') }}"

- name: Publish every family's lists from what the builders pushed, read back from nowhere (the release's publish)
  buildfarm.images.manifest_list:
    registry: 127.0.0.1:5000
    repositories: "{{ buildfarm_release.publish }}"
    builders: "{{ groups['builders'] }}"
  register: buildfarm_published

- name: Publish images pushed without attestations (older releases)
  buildfarm.images.manifest_list:
    registry: 127.0.0.1:5000
    repository: busybox
    entries: "{{ buildfarm_plan.plan.entries }}"
    require_attestations: false

- name: Publish annotated OCI indexes
  buildfarm.images.manifest_list:
    registry: 127.0.0.1:5000
    repository: busybox
    entries: "{{ buildfarm_plan.plan.entries }}"
    member_annotations: true
    annotations:
      org.opencontainers.image.source: https://github.com/example/busybox-images
      org.opencontainers.image.url: https://registry.example.org/library/busybox

- name: Publish from a library file to a TLS registry with credentials
  buildfarm.images.manifest_list:
    registry: registry.example.org
    repository: busybox
    library_file: library/busybox
    username: "{{ buildfarm_registry_username }}"
    password: "{{ buildfarm_registry_password }}"
    ca_cert: /etc/docker/certs.d/registry.example.org/ca.crt
    arch_namespaces:
      windows-amd64: winamd64
"""

RETURN = r"""
lists:
  description: One item per tag, in plan order.
  returned: always
  type: list
  elements: dict
  contains:
    tag:
      description: The tag.
      type: str
    action:
      description: >-
        C(created), C(updated), C(unchanged), C(repaired) (an unchanged list whose members were copied back) or
        C(failed); in check mode C(would-create)/C(would-update)/C(would-repair) (spelt C(would_create) ...
        before: one spelling, as C(would-build) and C(would-push)).
      type: str
    changed:
      description: Whether a PUT happened for this tag.
      type: bool
    digest:
      description: Digest of the (desired) list.
      type: str
    previous_digest:
      description: Digest published before, empty when the tag did not exist.
      type: str
    media_type:
      description: Media type of the list.
      type: str
    members:
      description: >-
        Members in index order (architecture, platform, os_version, digest, source, annotations, attestation:
        the digest of its attestation manifest or empty).
      type: list
      elements: dict
    annotations:
      description: Annotations of the (desired) index.
      type: dict
    previous_members:
      description: >-
        For a tag that changes, the members of the list published before (same keys as I(members)), so a check
        run shows the member diff.
      type: list
      elements: dict
    missing_architectures:
      description: Member images that do not exist (C(<arch> (<reference>))).
      type: list
      elements: str
    missing_attestations:
      description: Members without their attestation (C(<arch> (<reference>))), with I(require_attestations).
      type: list
      elements: str
    carried_forward:
      description: Architectures whose previously published member was kept (C(keep-previous)).
      type: list
      elements: str
    dropped_architectures:
      description: Architectures the published list had and the new one has not (C(skip), I(drop_architectures)).
      type: list
      elements: str
    lost_architectures:
      description: Architectures the new list would have lost; the tag failed (C(fail)).
      type: list
      elements: str
    repaired_members:
      description: Member digests that were gone from the repository and were copied back.
      type: list
      elements: str
    message:
      description: Why the tag failed, if it did.
      type: str
  sample:
    - tag: latest
      action: created
      changed: true
      digest: sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b
      previous_digest: ""
      media_type: application/vnd.docker.distribution.manifest.list.v2+json
      members:
        - architecture: amd64
          platform: linux/amd64
          os_version: ""
          digest: sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7
          source: amd64/busybox:1.35.0
          annotations: {}
          attestation: ""
      previous_members: []
      annotations: {}
      missing_architectures: []
      missing_attestations: []
      carried_forward: []
      dropped_architectures: []
      lost_architectures: []
      repaired_members: []
      message: ""
published:
  description: Tags that were written or repaired (would be, in check mode); C(<repository>:<tag>) in the batch form.
  returned: always
  type: list
  elements: str
repositories:
  description: The batch form's result, one item per item of I(repositories).
  returned: when I(repositories) is given
  type: list
  elements: dict
  contains:
    repository:
      description: The published repository, C(<namespace>/<repository>).
      type: str
    lists:
      description: As RV(lists), for this repository.
      type: list
      elements: dict
    published:
      description: As RV(published), for this repository.
      type: list
      elements: str
retries:
  description: Requests retried after transient failures (connection errors, 429, 5xx).
  returned: always
  type: int
requests:
  description: HTTP requests made.
  returned: always
  type: int
members_from_push:
  description:
    - Members taken from I(pushed) (the index their tag serves, as the push stage wrote it) instead of being read
      from the registry; each distinct member source counts once per repository.
  returned: when the publish ran (also when some tags failed)
  type: int
  sample: 6
"""

from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule
from ansible_collections.buildfarm.images.plugins.module_utils.registry._registry_args import registry_argument_spec
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_jobs import JOB_OPTIONS, publish_lists
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import POLICIES

ARGUMENT_SPEC = registry_argument_spec(
    namespace={"type": "str", "default": "library"},
    repository={"type": "str"},
    entries={"type": "list", "elements": "dict"},
    library_file={"type": "path"},
    repositories={"type": "list", "elements": "dict", "options": JOB_OPTIONS,
                  "mutually_exclusive": [("entries", "library_file")]},
    arch_namespaces={"type": "dict", "default": {}},
    missing_architectures={"type": "str", "choices": list(POLICIES), "default": "fail"},
    drop_architectures={"type": "list", "elements": "str", "default": []},
    lock_timeout={"type": "float", "default": 600},
    annotations={"type": "dict", "default": {}},
    member_annotations={"type": "bool", "default": False},
    require_attestations={"type": "bool", "default": True},
    check_unchanged_members={"type": "bool", "default": True},
    pushed={"type": "list", "elements": "dict", "default": []},
    builders={"type": "list", "elements": "str", "default": []},
)


def work(module: BuildfarmModule) -> dict:
    return publish_lists(module.params, module.check_mode, module._diff)


def main() -> None:
    BuildfarmModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("entries", "library_file"), ("repository", "repositories"),
                            ("repositories", "entries"), ("repositories", "library_file")],
        required_one_of=[("repository", "repositories")],
    ).run(work)


if __name__ == "__main__":
    main()
