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
    engine (docker SDK, classic builder, C(platform) set so emulated builders produce the right architecture)
    and tags it with all its tags and shared tags as C(<registry>/<namespace>/<repository>:<tag>).
  - Labels every image with C(org.opencontainers.image.source), C(.revision), C(.version), C(.created),
    C(.base.name) and C(io.buildfarm.input-digest), a digest of the build inputs (Dockerfile, context files
    with their modes, parent image ids, platform, build args).
  - An image whose input digest already exists on the engine is not rebuilt (status C(unchanged)); missing tags
    are added to it.
  - An image the engine does not have (a new builder, a pruned engine) is not rebuilt either when the registry's
    image under the entry's first tag carries the same input digest (two requests, the manifest and its config);
    it is pulled by digest instead (status C(unchanged), C(pulled) names it), so an unchanged release re-pushes
    nothing. A registry that cannot answer means a build.
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
options:
  release:
    description:
      - The release bundle on this builder (C(release.tar), made by M(buildfarm.images.release_prepare) and copied
        here): every family of the release with its rendered tree, entries, context sources and labels. It is
        unpacked once per content under I(work_dir). This builder builds every entry listing I(arch) (its share
        when its architecture group has several hosts), all families in one call, a family after the families it is
        built FROM. Per-architecture context sources (a family's C(build.context.debian_package)) are fetched here
        for I(arch) into I(work_dir), cached in I(cache_dir).
      - Exactly one of I(release) and I(families) is given.
    type: path
  work_dir:
    description:
      - This builder's folder for the unpacked bundle and the context files. Required with I(release).
    type: path
  cache_dir:
    description:
      - Cache of the context sources (Debian package lists and packages). Default C(<work_dir>/cache).
    type: path
  families:
    description:
      - "The release's families, each with C(repo) (repository name, for example C(busybox)), C(context_root)
        (the rendered tree the entries' C(directory) is relative to), C(entries) (the release plan's
        C(plan.entries) - C(tags), C(shared_tags), C(architectures), C(directory), C(file), optional
        C(version) and C(git_commit)), optional C(extra_context) (a folder of files prepared on this builder
        for this architecture, overlaid on every entry's context), optional C(source) (the
        C(org.opencontainers.image.source) label), C(created) and C(revision) (per-family values of the
        options of those names)."
    type: list
    elements: dict
    required: true
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
      - repo: busybox
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
    log_tail:
      description: Last lines of the build output.
      type: list
      elements: str
failed_entries:
  description: Keys of the entries that failed or were skipped.
  returned: always
  type: list
  elements: str
platform:
  description: The platform built for.
  returned: always
  type: str
  sample: linux/arm64/v8
"""

import hashlib
import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.buildfarm.images.plugins.module_utils.build._docker_engine import ENGINE_ARGS, engine_factory
from ansible_collections.buildfarm.images.plugins.module_utils.build._engine_registries import (
    ENGINE_REGISTRY_ARGS,
    registry_clients,
)
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.build import scheduling
from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import BuildInputError
from ansible_collections.buildfarm.images.plugins.module_utils.build.bundle import BundleError, open_bundle
from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_packages import (
    PackageError,
    fetch_package_files,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.image_builder import (
    BuildSettings,
    EntrySpec,
    FamilyShare,
    ReleaseBuilder,
)


def _share(entries: list, arch: str, group_hosts: list, host: str) -> list:
    """The entries (dicts, each with its `repo`) this host builds: all of them on a one-host architecture group, its
    deterministic share otherwise (a FROM chain, across families too, stays on one host)."""
    mine = [e for e in entries if arch in (e.get("architectures") or [])]
    if len(group_hosts) <= 1:
        return mine
    if host not in group_hosts:
        raise BuildInputError("host %r is not one of group_hosts %s" % (host, ", ".join(group_hosts)))
    return scheduling.assign(mine, group_hosts, arch).shares[host]


def _families(raw: list, arch: str, group_hosts: list, host: str) -> list[FamilyShare]:
    out = []
    for i, f in enumerate(raw):
        where = "families[%d]" % i
        for k in ("repo", "context_root"):
            if not f.get(k):
                raise BuildInputError("%s: field %s is missing" % (where, k))
        planned = _share([dict(e, repo=f["repo"]) for e in f.get("entries") or []], arch, group_hosts, host)
        entries = [EntrySpec.from_plan(f["repo"], e, "%s (%s)" % (where, f["repo"])) for e in planned]
        out.append(FamilyShare(repo=f["repo"], context_root=f["context_root"], entries=entries,
                               extra_context=f.get("extra_context") or "", source=f.get("source") or "",
                               created=f.get("created") or "", revision=f.get("revision") or ""))
    return out


def _context(module: AnsibleModule, spec: dict, arch: str, versions: set, work_dir: str, cache_dir: str,
             fetched: dict) -> str:
    """The folder of a family's per-architecture context files (fetched once per source in this call)."""
    key = json.dumps(spec, sort_keys=True)
    if key not in fetched:
        debian_arch = architectures.get(arch).debian_arch
        if not debian_arch:
            raise PackageError("architecture %s has no Debian architecture" % arch)
        if spec.get("match_version", True) and len(versions) > 1:
            raise PackageError("entries of versions %s share one Debian package: set match_version: false"
                               % ", ".join(sorted(versions)))
        dest = os.path.join(work_dir, "context", hashlib.sha256(key.encode()).hexdigest()[:16], arch)

        def run(argv, cwd):
            return module.run_command(list(argv), cwd=cwd)

        # scratch space: fetched in check mode too, the digest of what would be built needs the files
        got = fetch_package_files(run, os.path.join(cache_dir, "apt"), debian_arch, spec["package"], spec["files"],
                                  dest, spec.get("suite") or "",
                                  next(iter(versions)) if spec.get("match_version", True) and versions else "")
        for warning in got.warnings:
            module.warn("package lists of %s partly refreshed: %s" % (debian_arch, warning))
        fetched[key] = dest
    return fetched[key]


def _release_families(module: AnsibleModule, arch: str) -> list[FamilyShare]:
    p = module.params
    if not p["work_dir"]:
        raise BuildInputError("work_dir is required with release")
    bundle = open_bundle(p["release"], p["work_dir"])
    cache_dir = p["cache_dir"] or os.path.join(p["work_dir"], "cache")
    flat = [dict(e, repo=f["name"]) for f in bundle.families for e in f.get("entries") or []]
    share = _share(flat, arch, p["group_hosts"], p["host"])
    fetched: dict = {}
    out = []
    for f in bundle.families:
        mine = [e for e in share if e["repo"] == f["name"]]
        if not mine:
            continue
        extra, error = "", ""
        spec = (f.get("context") or {}).get("debian_package")
        if spec:
            try:
                extra = _context(module, spec, arch, {str(e.get("version") or "") for e in mine}, p["work_dir"],
                                 cache_dir, fetched)
            except (PackageError, OSError) as exc:
                error = "%s: build.context.debian_package %s: %s" % (f["name"], spec.get("package"), exc)
        out.append(FamilyShare(
            repo=f["name"], context_root=bundle.render_dir(f["name"]),
            entries=[EntrySpec.from_plan(f["name"], e, "%s (release %s)" % (f["name"], p["release"])) for e in mine],
            extra_context=extra, source=f.get("source") or "", created=f.get("created") or "",
            revision=f.get("revision") or "", error=error))
    return out


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
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
            **ENGINE_ARGS,
            **ENGINE_REGISTRY_ARGS
        ),
        required_one_of=[("families", "release")],
        mutually_exclusive=[("families", "release")],
        supports_check_mode=True,
    )
    connect = engine_factory(module)
    p = module.params
    try:
        arch = architectures.get(p["arch"])
        settings = BuildSettings(
            arch=arch.name,
            registry=p["registry"],
            namespace=p["namespace"] or arch.namespace,
            created=p["created"],
            revision=p["revision"],
            build_args={k: str(v) for k, v in p["build_args"].items()},
            pull_parents=p["pull_parents"],
            max_workers=p["max_workers"],
            check_mode=module.check_mode,
        )
        if p["release"]:
            families = _release_families(module, arch.name)
        else:
            families = _families(p["families"], arch.name, p["group_hosts"], p["host"])
        builder = ReleaseBuilder(families, settings, connect, registry_clients(p, retries=2))
    except (BuildInputError, BundleError, architectures.UnknownArchitecture, scheduling.SchedulingError) as exc:
        module.fail_json(msg=str(exc))
    results = [r.as_dict() for r in builder.run()]
    failed = [r["key"] for r in results if r["status"] in ("failed", "skipped")]
    touched = [r for r in results if r["status"] in ("built", "would-build") or r["retagged"] or r["pulled"]]
    out = dict(
        changed=bool(touched),
        images=results,
        failed_entries=failed,
        platform=settings.platform,
        diff=dict(before="", after="".join("%s: %s%s %s\n" % (
            r["key"], r["status"], " (pulled %s)" % r["pulled"] if r["pulled"] else "", " ".join(r["retagged"]))
            for r in touched)),
    )
    if failed and p["fail_on_error"]:
        module.fail_json(msg="%s: %d entries failed: %s" % (settings.platform, len(failed), "; ".join(
            "%s: %s" % (r["key"], r["error"]) for r in results if r["key"] in failed)), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
