#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: image_build
short_description: Build one builder's share of a release for its architecture
version_added: 0.1.0
description:
  - For every release-plan entry that lists I(arch), builds the rendered Dockerfile on the builder's Docker
    engine (C(platform) set so emulated builders produce the right architecture) and tags it with all its tags and
    shared tags as C(<registry>/<namespace>/<repository>:<tag>).
  - Each entry is built with its builder, normalized as upstream does it - the entry's C(builder) (a library file's
    C(Builder) or C(<arch>-Builder), else its family's), else C(buildkit) on Linux and C(classic) on Windows.
    C(buildkit) runs C(docker buildx build) (the docker CLI with the buildx plugin, driver C(docker), that is the
    engine's own BuildKit, nothing pulled) with C(--load); a Dockerfile's C(# syntax=) line is taken out (the engine's
    built-in frontend builds it), and a feature the engine's BuildKit lacks (heredocs, C(COPY --link), ...) fails
    the entry naming the feature and the engine's version. Parents are given as
    C(--build-context <FROM>=docker-image://buildfarm-pin/<repository>:<image id>) where the engine's BuildKit has
    named contexts (Docker 23 and later), else the FROM line names that local pin tag (Docker 20.10's BuildKit
    resolves a local tag without pulling, an image id it does not); the pin tags this call made are taken off at
    its end. C(classic) builds through the engine's API (docker SDK), C(oci-import) loads the entry's OCI layout.
    An unknown builder fails before anything is built.
  - Labels every image with C(org.opencontainers.image.source), C(.revision), C(.version), C(.created),
    C(.base.name) and C(io.buildfarm.input-digest), a digest of the build inputs (Dockerfile, context files
    with their modes, parent image ids, platform, build args, the builder unless C(classic)).
  - An image whose input digest already exists on the engine is not rebuilt (status C(unchanged)); missing tags
    are added to it.
  - An image the engine does not have (a new builder, a pruned engine) is not rebuilt either when the registry's
    image under the entry's first tag carries the same input digest (the manifest, or the OCI index and its first
    non-attestation manifest, then the config); it is pulled by its image manifest digest instead (status
    C(unchanged), C(pulled) names it), so an unchanged release re-pushes nothing. A registry that cannot answer
    means a build.
  - Entries built FROM another entry of the release come after it; FROM lines are pinned to the parents' image
    ids so several architectures can build on one engine at once. Independent entries build concurrently.
  - A failing entry does not stop the others; entries FROM it are C(skipped).
author: buildfarm.images contributors (@buildfarm)
attributes:
  check_mode:
    support: full
    description: Lists what would be built (status C(would-build)) and which tags would be added; builds and pulls
      nothing, so an image only the registry has counts as one to build.
  diff_mode:
    support: full
    description: The entries built or retagged.
extends_documentation_fragment:
  - buildfarm.images.docker_engine
  - buildfarm.images.engine_registries
  - buildfarm.images.progress
options:
  release:
    description:
      - The release bundle on this builder (C(release.tar), made by M(buildfarm.images.release_prepare) and copied
        here), holding every family of the release with its rendered tree, entries, context sources and labels. It is
        unpacked once per content under I(work_dir). This builder builds every entry listing I(arch) (its share
        when its architecture group has several hosts), all families in one call, a family after the families it is
        built FROM, with the family's own build arguments (release_prepare C(overrides)) over I(build_args).
        Per-architecture context sources (a family's C(build.context.debian_package)) are fetched here
        for I(arch) into I(work_dir), cached in I(cache_dir); root filesystems (C(build.context.debian_rootfs))
        are made here with mmdebstrap from the planned Release files, cached in I(cache_dir) by their checksums.
      - Exactly one of I(release) and I(families) is given.
    type: path
  work_dir:
    description:
      - This builder's folder for the unpacked bundle and the context files. Required with I(release).
    type: path
  cache_dir:
    description:
      - Cache of the context sources (Debian package lists and packages, root filesystems). Default
        C(<work_dir>/cache).
    type: path
  families:
    description:
      - "The release's families, each with C(name) (repository name, for example C(busybox); C(repo), its old
        name, is accepted too), C(context_root)
        (the rendered tree the entries' C(directory) is relative to), C(entries) (the release plan's
        C(plan.entries) - C(tags), C(shared_tags), C(architectures), C(directory), C(file), optional
        C(version), C(git_commit) and C(builder)), optional C(extra_context) (a folder of files prepared on this builder
        for this architecture, overlaid on every entry's context), optional C(source) (the
        C(org.opencontainers.image.source) label), C(created) and C(revision) (per-family values of the
        options of those names)."
      - Exactly one of I(release) and I(families) is given.
    type: list
    elements: dict
  arch:
    description:
      - The bashbrew architecture this builder builds (the inventory's C(buildfarm_arch)).
    type: str
    required: true
  registry:
    description:
      - Registry host the images are tagged for, for example C(127.0.0.1:5000). Empty for none.
    type: str
    default: ""
  namespace:
    description:
      - Namespace of the architecture's images. Default the bashbrew namespace of I(arch).
    type: str
  created:
    description:
      - Value of the C(org.opencontainers.image.created) label, derived from the input (for example the git
        commit time or C(SOURCE_DATE_EPOCH)) so that it never changes an unchanged image.
    type: str
    default: ""
  revision:
    description:
      - Default C(org.opencontainers.image.revision) for entries without C(git_commit).
    type: str
    default: ""
  build_args:
    description:
      - Build arguments passed to every build (part of the input digest).
    type: dict
    default: {}
  pull_parents:
    description:
      - Pull external parent images for the platform before building. When false they must be on the engine.
    type: bool
    default: true
  max_workers:
    description:
      - How many entries build at once.
    type: int
    default: 2
  fail_on_error:
    description:
      - Fail the task when an entry failed. The build role sets it to false, pushes what passed, then fails.
    type: bool
    default: true
  group_hosts:
    description:
      - All hosts of this builder's architecture group. When there are several, the entries are shared among
        them deterministically (a FROM chain stays on one host) and this call builds only I(host)'s share.
    type: list
    elements: str
    default: []
  host:
    description:
      - This builder's inventory hostname, one of I(group_hosts).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Build this builder's share of the whole release (every family, one call)
  buildfarm.images.image_build:
    release: /var/cache/buildfarm/release.tar
    work_dir: /var/cache/buildfarm
    arch: amd64
    registry: 127.0.0.1:5000
  register: buildfarm_built

- name: Build this builder's share of the busybox release
  buildfarm.images.image_build:
    arch: arm64v8
    registry: 127.0.0.1:5000
    created: "2026-06-24T00:00:00Z"
    families:
      - name: busybox
        context_root: /var/cache/buildfarm/render/busybox
        extra_context: /var/cache/buildfarm/busybox/arm64v8
        entries: "{{ buildfarm_busybox_plan.plan.entries }}"
  register: buildfarm_built
"""

RETURN = r"""
images:
  description: One item per entry of the share, in plan order.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: C(<repository>:<first tag>), the entry's name in every result of the release.
      type: str
      sample: busybox:1.35.0-glibc
    repo:
      description: Repository name.
      type: str
    tags:
      description: Full references the image is tagged with.
      type: list
      elements: str
      sample: [127.0.0.1:5000/arm64v8/busybox:1.35.0-glibc]
    status:
      description: C(built), C(unchanged), C(would-build) (check mode), C(failed) or C(skipped) (a parent failed).
      type: str
    image_id:
      description: Local image id (empty when not built).
      type: str
    input_digest:
      description: Digest of the build inputs (the C(io.buildfarm.input-digest) label).
      type: str
    retagged:
      description: Tags that were (or in check mode would be) added to an existing image.
      type: list
      elements: str
    pulled:
      description: The registry reference (by digest) an unchanged image was pulled from because the engine did
        not have it; empty otherwise.
      type: str
    error:
      description: Why the entry failed or was skipped.
      type: str
    seconds:
      description: How long the entry took on this builder (its build, or finding it unchanged), in seconds.
      type: float
    builder:
      description: The builder the entry is built with, normalized (C(buildkit), C(classic) or C(oci-import)).
      type: str
      sample: buildkit
    started:
      description: When the entry's build (or finding it unchanged) began, RFC 3339 in UTC.
      type: str
      sample: "2026-06-24T10:00:00Z"
    finished:
      description: When it ended, RFC 3339 in UTC.
      type: str
      sample: "2026-06-24T10:03:12Z"
    size:
      description: The image's size on the engine in bytes (the engine's C(Size)); 0 when there is no image.
      type: int
    parents:
      description: Every FROM image of the Dockerfile (build stages left out), first one first, each with
        C(name) (the reference as written), C(key) (the entry of this release that provides it, else empty),
        C(image_id) (the engine's image id it was built from) and C(digest) (the registry manifest digest of an
        external parent from the engine's RepoDigests when known, else empty).
      type: list
      elements: dict
    log_tail:
      description: Last lines of the build output (for C(buildkit), of C(docker buildx build --progress=plain)).
      type: list
      elements: str
failed_entries:
  description: Keys of the entries that failed or were skipped.
  returned: always
  type: list
  elements: str
context_sources:
  description: The root filesystems made or reused for this architecture (C(build.context.debian_rootfs)), each
    with C(family), C(kind), C(arch), C(changed), C(seconds) (time spent making them) and C(files) (context path to
    SHA-256).
  returned: always
  type: list
  elements: dict
platform:
  description: The platform built for.
  returned: always
  type: str
  sample: linux/arm64/v8
"""

from ansible_collections.buildfarm.images.plugins.module_utils.build._docker_engine import ENGINE_ARGS, engine_factory
from ansible_collections.buildfarm.images.plugins.module_utils.build._engine_registries import (
    ENGINE_REGISTRY_ARGS,
    registry_clients,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.build_share import build_share
from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule

ARGUMENT_SPEC = dict(
    families=dict(type="list", elements="dict"),
    release=dict(type="path"),
    work_dir=dict(type="path"),
    cache_dir=dict(type="path"),
    arch=dict(type="str", required=True),
    registry=dict(type="str", default=""),
    namespace=dict(type="str"),
    created=dict(type="str", default=""),
    revision=dict(type="str", default=""),
    build_args=dict(type="dict", default={}),
    pull_parents=dict(type="bool", default=True),
    max_workers=dict(type="int", default=2),
    fail_on_error=dict(type="bool", default=True),
    group_hosts=dict(type="list", elements="str", default=[]),
    host=dict(type="str", default=""),
    status_file=dict(type="path"),
    **ENGINE_ARGS,
    **ENGINE_REGISTRY_ARGS
)


def work(module: BuildfarmModule) -> dict:
    def run(argv, cwd, environ_update):
        return module.run_command(list(argv), cwd=cwd, environ_update=environ_update or None)

    return build_share(module.params, module.check_mode, run, engine_factory(module),
                       registry_clients(module.params, retries=2), module.log)


def main() -> None:
    BuildfarmModule(argument_spec=ARGUMENT_SPEC, required_one_of=[("families", "release")],
                    mutually_exclusive=[("families", "release")]).run(work)


if __name__ == "__main__":
    main()
