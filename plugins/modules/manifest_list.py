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
  - The media type is a Docker manifest list when every member is a Docker v2 manifest and nothing is
    annotated, otherwise an OCI index (a Docker manifest list cannot carry annotations).
  - Idempotent; the published list is compared by digest with the exact bytes that would be PUT, and
    unchanged lists are not written. Each tag is one PUT, so after a failure every tag is either its old or
    its new list.
  - One call publishes a whole release, with bounded concurrency inside.
author: buildfarm.images contributors (@buildfarm)
extends_documentation_fragment:
  - buildfarm.images.registry
attributes:
  check_mode:
    support: full
    description: Reports which tags would be created or updated, with their member diff.
  diff_mode:
    support: full
    description: The index annotations and the members (platform, os.version, digest, annotations) before and after, per changed tag.
options:
  namespace:
    description:
      - Namespace of the published lists (C(library) like the official images). Empty for none.
    type: str
    default: library
  repository:
    description:
      - Repository name without namespace, for example C(python).
    type: str
    required: true
  entries:
    description:
      - The entries of the release, for example the C(plan.entries) of the release plan. Each has C(tags),
        C(shared_tags) and C(architectures) (bashbrew names; C(Tags)/C(SharedTags)/C(Architectures) and
        comma-separated strings are accepted too). Other keys are ignored.
      - Exactly one of I(entries) and I(library_file) is required.
    type: list
    elements: dict
  library_file:
    description:
      - A bashbrew library file (parsed with the collection's library manifest parser) whose entries to publish.
    type: path
  arch_namespaces:
    description:
      - "Overrides of where an architecture's images live, for example C({arm64v8: arm64}).
        Default the bashbrew namespaces (C(windows-amd64) -> C(winamd64))."
    type: dict
    default: {}
  missing_architectures:
    description:
      - What to do with a tag when member images are missing.
      - C(fail) publishes nothing for that tag and fails naming the missing images.
      - C(skip) publishes without them and warns.
      - C(keep-previous) carries forward the member already published for a missing architecture (and warns
        when there is none).
    type: str
    choices: [fail, skip, keep-previous]
    default: fail
  concurrency:
    description:
      - Parallel requests to the registry.
    type: int
    default: 8
  annotations:
    description:
      - Annotations of each published index (string keys and string values), for example
        C(org.opencontainers.image.source) and C(org.opencontainers.image.url). Makes the lists OCI indexes.
      - They are part of the bytes compared for idempotence, so a value that differs on every run (a build
        time) republishes every tag on every run.
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
- name: Publish the lists of the python release
  buildfarm.images.manifest_list:
    registry: 127.0.0.1:5000
    repository: python
    entries: "{{ buildfarm_plan.entries }}"
    missing_architectures: "{{ buildfarm_missing_architectures | default('fail') }}"

- name: Publish annotated OCI indexes
  buildfarm.images.manifest_list:
    registry: 127.0.0.1:5000
    repository: python
    entries: "{{ buildfarm_plan.entries }}"
    member_annotations: true
    annotations:
      org.opencontainers.image.source: https://github.com/example/python-images
      org.opencontainers.image.url: https://registry.example.org/library/python

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
        C(created), C(updated), C(unchanged) or C(failed); in check mode C(would_create)/C(would_update).
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
      description: Members in index order (architecture, platform, os_version, digest, source, annotations).
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
    carried_forward:
      description: Architectures whose previously published member was kept (C(keep-previous)).
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
      previous_members: []
      annotations: {}
      missing_architectures: []
      carried_forward: []
      message: ""
published:
  description: Tags that were written (would be written in check mode).
  returned: always
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
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.buildfarm.images.plugins.module_utils.registry._registry_args import REGISTRY_ARGS, client_from_params
from ansible_collections.buildfarm.images.plugins.module_utils.registry.manifest_list import (
    POLICIES,
    Publisher,
    PublishError,
    diff_text,
    load_entries,
    load_library_file,
    plan_lists,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryError


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            REGISTRY_ARGS,
            namespace={"type": "str", "default": "library"},
            repository={"type": "str", "required": True},
            entries={"type": "list", "elements": "dict"},
            library_file={"type": "path"},
            arch_namespaces={"type": "dict", "default": {}},
            missing_architectures={"type": "str", "choices": list(POLICIES), "default": "fail"},
            concurrency={"type": "int", "default": 8},
            annotations={"type": "dict", "default": {}},
            member_annotations={"type": "bool", "default": False},
        ),
        mutually_exclusive=[("entries", "library_file")],
        required_one_of=[("entries", "library_file")],
        supports_check_mode=True,
    )
    p = module.params
    try:
        if p["library_file"]:
            entries, groups = load_library_file(p["library_file"])
        else:
            entries, groups = load_entries(p["entries"]), None
        specs = plan_lists(entries, p["repository"], p["arch_namespaces"], groups)
        client = client_from_params(p)
        publisher = Publisher(client, p["namespace"], p["repository"], p["missing_architectures"],
                              max(1, p["concurrency"]), module.check_mode, p["annotations"], p["member_annotations"])
        results = publisher.publish(specs)
    except (PublishError, RegistryError, OSError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    for warning in publisher.warnings:
        module.warn(warning)
    out = {
        "changed": any(r.changed for r in results) or (module.check_mode and any(
            r.action.startswith("would_") for r in results)),
        "lists": [r.to_dict() for r in results],
        "published": [r.tag for r in results if r.changed or r.action.startswith("would_")],
        "retries": client.retry_count,
        "requests": client.request_count,
    }
    if module._diff:
        out["diff"] = [diff_text(r) for r in results if r.changed or r.action.startswith("would_")]
    failed = [r for r in results if r.action == "failed"]
    if failed:
        module.fail_json(msg="%d of %d tags of %s not published: %s" % (
            len(failed), len(results), publisher.target,
            "; ".join("%s: %s" % (r.tag, r.message) for r in failed)), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
