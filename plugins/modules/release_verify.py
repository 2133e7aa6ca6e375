#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: release_verify
short_description: Read every list of a release back from the registry and check its members and attestations
version_added: 0.2.0
description:
  - Reads each published tag of the release from the registry and checks, per tag and member, that
  - the member is the image the release pushed for that platform (its digest is the push result's
    C(image_digest), or what the per-architecture tag holds when no push result is given), and its image config
    is that platform;
  - its attestation manifest follows it right after in the list (platform C(unknown/unknown),
    C(vnd.docker.reference.type=attestation-manifest), C(vnd.docker.reference.digest) the member's digest), and is
    the one pushed (C(attestation_digest));
  - each in-toto statement's bytes match their digest, its C(_type) is an in-toto statement, its predicate type is
    its layer's C(in-toto.io/predicate-type) and its subject is the member's digest;
  - the SLSA provenance names the member's architecture and tag, and the parents the build used (by digest);
  - the SPDX SBOM names what the repository declares (I(expect_packages), and the verified sources the provenance
    names by purl), and, when the image has a dpkg database, its Debian packages.
  - One call verifies the whole release, with bounded concurrency; each member is checked once whatever number of
    tags lists it. Windows members are checked as Linux ones (their foreign layers are not read).
  - The call cannot hang. Every request has its I(timeout), and the whole call is bounded by I(deadline) (plus one
    I(timeout)); past it, the task fails naming the lists and members still being read.
  - Fails (unless I(fail_on_error=false)) naming each tag and what does not match.
author: buildfarm.images contributors (@buildfarm)
attributes:
  check_mode:
    support: full
    description: Verifies as usual; I(cache_file) is read, never written.
  diff_mode:
    support: none
    description: >-
      The registry is only read. I(cache_file) is the stage's own working state (recorded passes), so writing it
      counts as no change and shows no diff.
extends_documentation_fragment:
  - buildfarm.images.registry
  - buildfarm.images.concurrency
options:
  repositories:
    description:
      - "The lists to verify. Either M(buildfarm.images.manifest_list)'s C(repositories) result (items with
        C(repository) and C(lists); a list the publish failed is reported failed), or what a release publishes
        (M(buildfarm.images.release_prepare)'s C(publish), items with C(repository) and C(entries); every tag of
        the plan is read)."
    type: list
    elements: dict
    required: true
  namespace:
    description:
      - Namespace of the lists for items given with C(entries).
    type: str
    default: library
  arch_namespaces:
    description:
      - Overrides of where an architecture's images live, as M(buildfarm.images.manifest_list)'s.
    type: dict
    default: {}
  pushed:
    description:
      - M(buildfarm.images.image_push)'s C(images) items (of every builder), whose tags give each
        per-architecture reference's C(image_digest) and C(attestation_digest).
    type: list
    elements: dict
    default: []
  built:
    description:
      - M(buildfarm.images.image_build)'s C(images) items matching I(pushed) (by C(key)), for the parents the
        provenance must name.
    type: list
    elements: dict
    default: []
  results:
    description:
      - The builders' recorded results, host -> C({images, pushed}) (C(buildfarm_build_result)), as
        I(built) and I(pushed) per builder. The action plugin fills it from the hostvars of I(builders).
    type: dict
    default: {}
  builders:
    description:
      - The builder hosts (C(groups['builders'])) whose C(buildfarm_build_result) the action plugin reads into
        I(results).
    type: list
    elements: str
    default: []
  expect_packages:
    description:
      - "Per repository name, the packages its SBOMs must name, C({python: {python: 3.13.5}}) or
        C({python: [{name: python, version: 3.13.5}]}) (an empty version accepts any)."
    type: dict
    default: {}
  require_attestations:
    description:
      - A Linux member without its attestation fails. C(false) accepts bare members (lists published with
        C(require_attestations=false)).
    type: bool
    default: true
  check_dpkg:
    description:
      - Read each member's layers (each layer once) for a dpkg database; when one is there, the SBOM must name
        its installed Debian packages.
    type: bool
    default: true
  fail_on_error:
    description:
      - Fail the task when a tag does not verify (the result is returned either way).
    type: bool
    default: true
  cache_file:
    description:
      - A JSON file of earlier passes. Per registry and C(repository:tag) it holds the list's digest, a hash of what
        the tag was checked against (the push results of its members, or what their per-architecture tags held,
        I(expect_packages), I(require_attestations), I(check_dpkg)), when it passed, and its result.
      - A tag whose list the registry still serves by that digest, checked against the same, is that pass (a
        registry is content-addressed, so the list, its members and their attestations are byte for byte what
        passed). It costs one read of the list (and of each per-architecture tag without a push result), no member
        is read, and the tag says C(cached=true).
      - Only passes are recorded; a changed digest or expectation verifies in full again. A missing or unreadable
        file is an empty cache. The file is replaced atomically after the run; in check mode it is read, never
        written.
      - The cache trusts the registry's content addressing. Bytes changed behind the registry's back in its
        storage (a blob edited in place) are not read again while the list's digest stays the same; remove the
        file for a full verification.
      - Unset (the default), every tag is verified in full and nothing is written.
    type: path
"""

EXAMPLES = r"""
- name: Verify what the publish wrote, against what the builders pushed
  buildfarm.images.release_verify:
    registry: 127.0.0.1:5000
    repositories: "{{ buildfarm_published.repositories }}"
    builders: "{{ groups['builders'] }}"
    expect_packages:
      python: {python: 3.13.5}
  register: buildfarm_verified

- name: Verify a release's lists stand-alone (members compared with the per-architecture tags)
  buildfarm.images.release_verify:
    registry: 127.0.0.1:5000
    repositories: "{{ buildfarm_release.publish }}"
    fail_on_error: false
  register: buildfarm_verified
"""

RETURN = r"""
ok:
  description: Whether every tag verified.
  returned: always
  type: bool
summary:
  description: C(<n> of <m> tags verified), with the number that failed.
  returned: always
  type: str
failures:
  description: "One line per failure, C(<repository>:<tag>: <arch> (<source>): <what does not match>)."
  returned: always
  type: list
  elements: str
tags:
  description: One item per tag, in input order.
  returned: always
  type: list
  elements: dict
  contains:
    repository:
      description: The list's repository, for example C(library/python).
      type: str
    tag:
      description: The tag.
      type: str
    reference:
      description: C(<repository>:<tag>).
      type: str
    ok:
      description: Whether the tag verified.
      type: bool
    digest:
      description: The list's digest in the registry.
      type: str
    failures:
      description: What does not match (the list's own, then each member's, prefixed C(<arch> (<source>))).
      type: list
      elements: str
    cached:
      description: >-
        The tag is its pass recorded in I(cache_file) (same list digest, same expectations); its members are
        those of that pass.
      type: bool
    message:
      description: The failures joined with C(; ).
      type: str
    members:
      description: >-
        Per member C(arch), C(platform), C(digest), C(attestation), C(source), C(ok), C(sbom) and C(provenance)
        (bool: the attestation holds one that checked out), C(message), C(failures), C(sbom_summary) (C(packages),
        C(debian_packages), C(expected), C(dpkg_database)) and C(provenance_summary) (C(predicate_type),
        C(builder_id), C(build_type)).
      type: list
      elements: dict
  sample:
    - repository: library/python
      tag: "3.13"
      reference: library/python:3.13
      ok: false
      digest: sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b
      failures: ["arm64v8 (arm64v8/python:3.13.5): no SBOM (https://spdx.dev/Document) in the attestation"]
      message: "arm64v8 (arm64v8/python:3.13.5): no SBOM (https://spdx.dev/Document) in the attestation"
      members: []
      cached: false
requests:
  description: HTTP requests made.
  returned: always
  type: int
cached:
  description: The number of tags taken from I(cache_file) (their pass of an earlier run).
  returned: always
  type: int
"""

from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule
from ansible_collections.buildfarm.images.plugins.module_utils.registry._registry_args import (
    MAX_WORKERS_ARG,
    REGISTRY_ARGS,
    client_from_params,
)
from ansible_collections.buildfarm.images.plugins.module_utils.verify.release_verify import run_verify


def main() -> None:
    module = BuildfarmModule(
        argument_spec=dict(
            REGISTRY_ARGS,
            repositories={"type": "list", "elements": "dict", "required": True},
            namespace={"type": "str", "default": "library"},
            arch_namespaces={"type": "dict", "default": {}},
            pushed={"type": "list", "elements": "dict", "default": []},
            built={"type": "list", "elements": "dict", "default": []},
            results={"type": "dict", "default": {}},
            builders={"type": "list", "elements": "str", "default": []},
            expect_packages={"type": "dict", "default": {}},
            require_attestations={"type": "bool", "default": True},
            check_dpkg={"type": "bool", "default": True},
            fail_on_error={"type": "bool", "default": True},
            cache_file={"type": "path"},
            **MAX_WORKERS_ARG,
        ),
    )
    # every input checked before the first request, then every list and member read back: verify/release_verify.py
    module.run(lambda m: run_verify(m.params, client_from_params, check_mode=m.check_mode))


if __name__ == "__main__":
    main()
