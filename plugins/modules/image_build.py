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
from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_rootfs import RootfsError, make_rootfs
from ansible_collections.buildfarm.images.plugins.module_utils.library.entry import EntryError, ReleaseEntry
from ansible_collections.buildfarm.images.plugins.module_utils.build.image_builder import (
    BuildResult,
    BuildSettings,
    FamilyShare,
    ReleaseBuilder,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.progress import Progress
from ansible_collections.buildfarm.images.plugins.module_utils.library.git_source import (
    GitCache,
    GitSource,
    GitSourceError,
)


class _TimedBuilder(ReleaseBuilder):
    """ReleaseBuilder that records each entry's state and build time in a Progress (the status file the build
    role prints while this module runs in the background)."""

    def __init__(self, *args, progress: Progress, **kwargs):
        super().__init__(*args, **kwargs)
        self.progress = progress
        self.seconds: dict[str, float] = {}

    def _build_one(self, key: str) -> BuildResult:
        self.progress.start(key)
        res = super()._build_one(key)
        self.seconds[key] = self.progress.finish(key, res.status)
        return res


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
        # `name` is the repository name everywhere else (release plan, bundle, readme); `repo` was its name here
        if f.get("name") and f.get("repo") and f["name"] != f["repo"]:
            raise BuildInputError("%s: fields name %r and repo %r differ (repo is the old name of name: give one)"
                                  % (where, f["name"], f["repo"]))
        name = f.get("name") or f.get("repo")
        if not name:
            raise BuildInputError("%s: field name is missing" % where)
        if not f.get("context_root"):
            raise BuildInputError("%s: field context_root is missing" % where)
        planned = _share([dict(e, repo=name) for e in f.get("entries") or []], arch, group_hosts, host)
        entries = [ReleaseEntry.from_dict(e, repo=name, where="%s (%s)" % (where, name)) for e in planned]
        out.append(FamilyShare(repo=name, context_root=f["context_root"], entries=entries,
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


def _rootfs_context(module: AnsibleModule, spec: dict, arch: str, variants: list, cache_dir: str,
                    made: list) -> str:
    """The folder of a family's root filesystems (`<variant>/rootfs.tar`) for this architecture, made with
    mmdebstrap unless the stamp beside it says they are those of the planned Release files. They live in the cache
    folder (shared by releases on this builder: minutes of qemu each), keyed by the spec and its Release files."""
    debian_arch = architectures.get(arch).debian_arch
    if not debian_arch:
        raise RootfsError("architecture %s has no Debian architecture" % arch)
    key = json.dumps(spec, sort_keys=True)
    dest = os.path.join(cache_dir, "rootfs", hashlib.sha256(key.encode()).hexdigest()[:16], arch)

    def run(argv, cwd):
        return module.run_command(list(argv), cwd=cwd)

    # scratch space: made in check mode too, the digest of what would be built needs the files
    got = make_rootfs(run, spec, sorted(set(variants)), debian_arch, dest)
    made.append({"kind": "debian_rootfs", "arch": arch, "changed": got.changed, "seconds": round(got.seconds, 1),
                 "files": got.files})
    return dest


def _library_share(module: AnsibleModule, f: dict, mine: list, arch: str, cache_dir: str,
                   release: str) -> FamilyShare:
    """A library file's share: each entry as this architecture builds it (its `<arch>-` overrides), its Directory
    fetched from GitRepo into this builder's git cache (one bare repository per GitRepo, shallow by commit) and
    exported once per commit and folder. An entry whose source cannot be had fails alone."""
    def run(argv, cwd):
        return module.run_command(list(argv), cwd=cwd, environ_update={"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})

    # scratch space: fetched in check mode too, the digest of what would be built needs the files
    cache = GitCache(os.path.join(cache_dir, "git"), run, trees=os.path.join(cache_dir, "git-trees"))
    share = FamilyShare(repo=f["name"], context_root="", entries=[], source=f.get("source") or "")
    for d in mine:
        e = ReleaseEntry.from_dict(d, repo=f["name"], where="%s (release %s)" % (f["name"], release)).for_arch(arch)
        share.entries.append(e)
        try:
            share.context_dirs[e.key] = cache.export(GitSource(e.git_repo, e.git_commit, e.directory, e.file,
                                                               e.git_fetch))
        except (GitSourceError, OSError) as exc:
            share.entry_errors[e.key] = "%s: %s" % (f.get("library_file") or f["name"], exc)
    return share


def _release_families(module: AnsibleModule, arch: str, made: list, progress: Progress) -> list[FamilyShare]:
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
        if f.get("kind") == "library":
            progress.set_stage("fetching the Git sources of %s" % f["name"])
            out.append(_library_share(module, f, mine, arch, cache_dir, p["release"]))
            continue
        extra, error = "", ""
        spec = (f.get("context") or {}).get("debian_package")
        rootfs = (f.get("context") or {}).get("debian_rootfs")
        if rootfs is not None:
            progress.set_stage("making the root filesystems of %s" % f["name"])
            try:
                extra = _rootfs_context(module, rootfs, arch, [str(e.get("variant") or "") for e in mine],
                                        cache_dir, made)
                made[-1]["family"] = f["name"]
            except (RootfsError, PackageError, OSError) as exc:
                error = "%s: build.context.debian_rootfs: %s" % (f["name"], exc)
        elif spec:
            try:
                extra = _context(module, spec, arch, {str(e.get("version") or "") for e in mine}, p["work_dir"],
                                 cache_dir, fetched)
            except (PackageError, OSError) as exc:
                error = "%s: build.context.debian_package %s: %s" % (f["name"], spec.get("package"), exc)
        out.append(FamilyShare(
            repo=f["name"], context_root=bundle.render_dir(f["name"]),
            entries=[ReleaseEntry.from_dict(e, repo=f["name"], where="%s (release %s)" % (f["name"], p["release"]))
                     for e in mine],
            extra_context=extra, source=f.get("source") or "", created=f.get("created") or "",
            revision=f.get("revision") or "", error=error,
            build_args={str(k): str(v) for k, v in (f.get("build_args") or {}).items()}))
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
            status_file=dict(type="path"),
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
            docker_host=p["docker_host"] or "",
        )
        made: list = []
        progress = Progress(p["status_file"] or "", p["host"] or "localhost", arch.name, interval=5.0)
        progress.tick()
        progress.set_stage("preparing the contexts")
        if p["release"]:
            families = _release_families(module, arch.name, made, progress)
        else:
            families = _families(p["families"], arch.name, p["group_hosts"], p["host"])
        builder = _TimedBuilder(families, settings, connect, registry_clients(p, retries=2), progress=progress)
    except (BuildInputError, BundleError, EntryError, architectures.UnknownArchitecture,
            scheduling.SchedulingError) as exc:
        module.fail_json(msg=str(exc))
    progress.waiting([e.key for _f, e in builder.jobs])
    progress.set_stage("building")
    try:
        results = [dict(r.as_dict(), seconds=builder.seconds.get(r.key, 0.0)) for r in builder.run()]
    finally:
        progress.done()
    failed = [r["key"] for r in results if r["status"] in ("failed", "skipped")]
    touched = [r for r in results if r["status"] in ("built", "would-build") or r["retagged"] or r["pulled"]]
    for r in results:  # the play's log says what took the time
        if r["status"] == "built":
            module.log("%s built in %.0f s" % (r["key"], r["seconds"]))
    out = dict(
        changed=bool(touched),
        images=results,
        failed_entries=failed,
        platform=settings.platform,
        context_sources=made,
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
