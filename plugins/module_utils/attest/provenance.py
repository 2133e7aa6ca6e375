# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provenance attestation of an image: an in-toto Statement (v0.1) with a SLSA provenance v0.2 predicate, in
the shape BuildKit writes (`mode=max`), made by the farm for every image it builds (buildkit, classic, oci-import;
families and library files alike).

What it says, and where the builder finds it (``provenance_input``):

- builder.id: the farm's (``builder_id``; ``default_builder_id(host)`` = DEFAULT_BUILDER_ID + `#<host>`), buildType
  BUILD_TYPE (this collection's release pipeline: a family rendered from its templates or a library-file entry
  fetched from Git, built by the engine with the entry's builder);
- invocation.configSource: where the recipe is, `{uri: <git repository>, digest: {sha1: <commit>}, entryPoint:
  <folder/template or Directory/File>}` (a family: family.yml `git_repo`, the family folder's commit, the template
  the entry is rendered from; a library-file entry: its GitRepo, GitCommit, Directory and File);
- invocation.parameters: the family or library file, the variant, the architecture, the tags, the build arguments
  (credentials in URLs left out), the builder; invocation.environment: the platform;
- materials: the parent images (`pkg:docker/<repository>@<tag>?platform=...` with the registry manifest digest),
  every source the family declares (family.yml `sources:`, rendered per entry into the release bundle: the
  upstream URL, its SHA-256, the signing key's fingerprint and the download location actually used in
  `annotations`), the Debian Release file a root filesystem was made from (its URL on the mirror and SHA-256),
  and the Git commit of a library-file entry (`git+https://...@<commit>`);
- metadata: buildStartedOn/buildFinishedOn (the build result's `started`/`finished`), completeness (materials are
  complete only when every parent has its digest), reproducible false.

All of it comes from the release bundle the builder was given (release.json: the entry, the family's `source`,
`revision`, `family_folder`, `templates`, `sources`, `build_args`, `context.debian_rootfs.releases` and
`debian_releases`), from the builder's root filesystem records (build/debian_rootfs.py `rootfs_record`) and from
the image_build result of the image (`started`, `finished`, `parents`, `builder`). Plain typed Python, importable
without Ansible.
"""
from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.attest.errors import AttestationError
from ansible_collections.buildfarm.images.plugins.module_utils.attest.sbom import statement
from ansible_collections.buildfarm.images.plugins.module_utils.build.bundle import BundleError, open_bundle
from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_rootfs import (
    release_url,
    rootfs_dest,
    rootfs_record,
)
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef, ImageRefError
from ansible_collections.buildfarm.images.plugins.module_utils.registry.oci_index import SLSA_PREDICATE
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import Entry
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import BundleFamily, FamilyKind, ModelError

# The farm as a builder: this collection's project, `#<builder host>` added by default_builder_id. Configurable
# (image_push `builder_id`): a farm that publishes under its own name sets its own URI.
DEFAULT_BUILDER_ID = "https://github.com/buildfarm/images"
# What a build of the farm is: a release's entry (rendered family or library-file entry) built on one builder's
# engine; the parameters below are this build type's.
BUILD_TYPE = "https://github.com/buildfarm/images/release-entry@v1"
_USERINFO_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_SHA1_RE = re.compile(r"^[0-9a-f]{40}$")


def default_builder_id(host: str = "") -> str:
    """DEFAULT_BUILDER_ID, with `#<host>` (the builder's inventory name) when given."""
    return DEFAULT_BUILDER_ID + ("#" + host if host else "")


def without_credentials(value: str) -> str:
    """``value`` with any `user:password@` of a URL in it left out: provenance is published with the image."""
    return _USERINFO_RE.sub(r"\g<scheme>", value) if isinstance(value, str) else value


@dataclass
class ProvenanceInput:
    """Everything one image's provenance says, gathered on the builder (``provenance_input``).

    recipe: {kind: "family"|"library", name, source (Git URL), revision (commit), directory, file, and for a
    family `rendered` (the Dockerfile's path in the render), for a library file `library_file`};
    parents: [{name (FROM as written), digest (registry manifest digest or ""), image_id, key}];
    sources: [{name, version, url, sha256, signing_key, purl, download_location}] (also what sbom_statement
    takes as ``declared_sources``); rootfs: [{suite, version, release_sha256, mirror, url}];
    git_commits: [{repo, commit}]; started/finished: RFC 3339."""

    builder_id: str
    build_type: str = BUILD_TYPE
    arch: str = ""
    repo: str = ""
    key: str = ""
    tags: list[str] = field(default_factory=list)
    variant: str = ""
    recipe: dict[str, str] = field(default_factory=dict)
    build_args: dict[str, str] = field(default_factory=dict)
    parents: list[dict[str, str]] = field(default_factory=list)
    sources: list[dict[str, str]] = field(default_factory=list)
    rootfs: list[dict[str, str]] = field(default_factory=list)
    git_commits: list[dict[str, str]] = field(default_factory=list)
    started: str = ""
    finished: str = ""
    builder: str = ""  # the entry's builder as image_build used it (buildkit, classic, oci-import)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _download_location(src: Mapping[str, Any], build_args: Mapping[str, str]) -> str:
    """Where the build fetched the source: its URL, with the base the source's `url_arg` build argument names
    replaced by that argument's value when the build was given one (a mirror)."""
    url = str(src.get("url") or "")
    arg = src.get("url_arg") or {}
    name, default = arg.get("name"), arg.get("default")
    if name and default and name in build_args and url.startswith(default):
        return without_credentials(str(build_args[name]).rstrip("/") + url[len(default.rstrip("/")):])
    return url


def _sources(f: BundleFamily, entry: Entry, build_args: Mapping[str, str]) -> list[dict[str, str]]:
    out = []
    for src in f.sources.get(entry.directory) or []:
        out.append({"name": str(src.get("name") or ""), "version": str(src.get("version") or ""),
                    "url": str(src.get("url") or ""), "sha256": str(src.get("sha256") or ""),
                    "signing_key": str(src.get("signing_key") or ""), "purl": str(src.get("purl") or ""),
                    "download_location": _download_location(src, build_args)})
    return out


def _rootfs(f: BundleFamily, entry: Entry, arch: str, cache_dirs: list[str]) -> list[dict[str, str]]:
    """The Release file the entry's root filesystem was made from: the builder's record beside the root
    filesystems (build/debian_rootfs.py rootfs_record: what make_rootfs used), else the release's plan (the builder
    refuses to make a root filesystem from any other Release file than the planned one)."""
    spec = f.context.get("debian_rootfs")
    if spec is None:
        return []
    suite = entry.variant.split("/", 1)[0]
    planned = (spec.get("releases") or {}).get(suite) or {}
    debian_arch = architectures.get(arch).debian_arch if architectures.is_known(arch) else ""
    record: dict[str, Any] = {}
    for cache_dir in cache_dirs:
        record = rootfs_record(rootfs_dest(cache_dir, spec, arch), entry.variant) or {}
        if record:
            break
    controller = f.debian_releases.get(suite) or {}
    mirror = str(record.get("mirror") or controller.get("mirror") or "")
    sha = str(record.get("release_sha256") or planned.get("sha256") or "")
    return [{"suite": suite, "version": str(planned.get("version") or controller.get("version") or ""),
             "release_sha256": sha, "mirror": mirror, "url": release_url(mirror, suite) if mirror else "",
             "arch": debian_arch}]


def _bundle_entry(bundle_path: str, work_dir: str, key: str, arch: str) -> tuple[BundleFamily, Entry]:
    """(family, entry as ``arch`` builds it) of entry ``key`` in the release bundle, or an AttestationError."""
    try:
        found = open_bundle(bundle_path, work_dir).release.entry(key)
    except (BundleError, ModelError) as exc:
        raise AttestationError(key, "cannot read the release bundle: %s" % exc, file=bundle_path) from None
    if found is None:
        raise AttestationError(key, "no entry %s in the release bundle" % key, file=bundle_path, field="key",
                               value=key)
    f, entry = found
    if arch not in entry.architectures:
        raise AttestationError(key, "entry %s is not built for %s (architectures: %s)" % (
            key, arch, ", ".join(entry.architectures)), file=bundle_path, field="arch", value=arch)
    return f, entry.for_arch(arch)


def _recipe(f: BundleFamily, entry: Entry) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(the recipe the provenance names, the Git commits it was built from)."""
    if f.kind == FamilyKind.LIBRARY:
        recipe = {"kind": "library", "name": f.name, "library_file": f.library_file,
                  "source": without_credentials(entry.git_repo), "revision": entry.git_commit,
                  "directory": entry.directory, "file": entry.file}
        git_commits = [{"repo": without_credentials(entry.git_repo), "commit": entry.git_commit}] \
            if entry.git_repo and entry.git_commit else []
        return recipe, git_commits
    return {"kind": "family", "name": f.name, "source": without_credentials(f.source),
            "revision": entry.git_commit or f.revision, "directory": f.family_folder,
            "file": str(f.templates.get(entry.directory) or ""),
            "rendered": "%s/%s" % (entry.directory, entry.file)}, []


def provenance_input(bundle_path: str, work_dir: str, key: str, arch: str, build_item: Mapping[str, Any],
                     builder_id: str, cache_dir: str = "") -> ProvenanceInput:
    """What the provenance of entry ``key`` (`<repository>:<first tag>`) built for ``arch`` says, from the release
    bundle ``bundle_path`` (the release.tar the builder got; unpacked under ``work_dir`` as image_build does),
    ``build_item`` (the image's item of image_build's `images`: started, finished, parents, builder and, when
    there, build_args) and the builder's root filesystem records under ``cache_dir`` (image_build's cache_dir;
    default `<work_dir>/cache`, image_build's default). ``builder_id``: "" = default_builder_id()."""
    f, entry = _bundle_entry(bundle_path, work_dir, key, arch)
    item = build_item if isinstance(build_item, Mapping) else {}
    args_raw = item.get("build_args")
    if not isinstance(args_raw, Mapping):
        args_raw = f.build_args
    build_args = {str(k): without_credentials(str(v)) for k, v in sorted(args_raw.items())}
    recipe, git_commits = _recipe(f, entry)
    parents = [{"name": str(p.get("name")), "digest": str(p.get("digest") or ""),
                "image_id": str(p.get("image_id") or ""), "key": str(p.get("key") or "")}
               for p in item.get("parents") or [] if isinstance(p, Mapping) and p.get("name")]
    return ProvenanceInput(
        builder_id=builder_id or default_builder_id(), arch=arch, repo=f.name, key=key,
        tags=list(entry.tags) + list(entry.shared_tags), variant=entry.variant, recipe=recipe,
        build_args=build_args, parents=parents, sources=_sources(f, entry, build_args),
        rootfs=_rootfs(f, entry, arch, [d for d in (cache_dir, os.path.join(work_dir, "cache")) if d]),
        git_commits=git_commits, started=str(item.get("started") or ""), finished=str(item.get("finished") or ""),
        builder=str(item.get("builder") or entry.builder or ""),
    )


def parent_purl(name: str, platform: str) -> str:
    """`pkg:docker/<repository>@<tag>?platform=<os/arch>` of a FROM reference, as BuildKit names its materials
    (`debian:trixie-slim` -> `pkg:docker/debian@trixie-slim?platform=linux%2Famd64`)."""
    try:
        ref = ImageRef.parse(name, default_tag="latest")
        repo, version = ref.familiar_repository, ref.tag or ref.digest
    except ImageRefError:
        repo, _colon, version = name.partition(":")
    quals = "?platform=" + urllib.parse.quote(platform, safe="") if platform else ""
    return "pkg:docker/%s@%s%s" % (repo, version, quals)


def _git_uri(repo: str, commit: str) -> str:
    """`git+https://host/repo.git@<commit>` (SLSA's convention for a Git material)."""
    base = repo if repo.startswith("git+") else "git+" + repo
    return "%s@%s" % (base, commit)


def materials(inp: ProvenanceInput, platform: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in inp.parents:
        if p["name"] == "scratch":
            continue
        m: dict[str, Any] = {"uri": parent_purl(p["name"], platform), "digest": {}}
        if p.get("digest"):
            m["digest"] = {"sha256": p["digest"].split(":", 1)[-1]}
        elif p.get("image_id"):
            m["annotations"] = {"image_id": p["image_id"]}  # no registry digest known when it was built
        out.append(m)
    for src in inp.sources:
        m = {"uri": src["url"], "digest": {"sha256": src["sha256"]} if src.get("sha256") else {}}
        notes = {}
        if src.get("signing_key"):
            notes["signing_key"] = src["signing_key"]
        if src.get("download_location") and src["download_location"] != src["url"]:
            notes["download_location"] = src["download_location"]
        if src.get("purl"):
            notes["purl"] = src["purl"]
        if notes:
            m["annotations"] = notes
        out.append(m)
    for r in inp.rootfs:
        uri = r.get("url") or "pkg:generic/debian-release@%s?suite=%s" % (r.get("version") or "", r["suite"])
        out.append({"uri": uri, "digest": {"sha256": r["release_sha256"]} if r.get("release_sha256") else {},
                    "annotations": {"suite": r["suite"], "version": r.get("version") or ""}})
    for g in inp.git_commits:
        out.append({"uri": _git_uri(g["repo"], g["commit"]),
                    "digest": {"sha1": g["commit"]} if _SHA1_RE.match(g["commit"]) else {}})
    return out


def provenance_predicate(inp: ProvenanceInput) -> dict[str, Any]:
    """The SLSA provenance v0.2 predicate of ``inp``."""
    platform = str(architectures.get(inp.arch).platform) if architectures.is_known(inp.arch) else ""
    recipe = inp.recipe
    entry_point = "/".join(p for p in (recipe.get("directory"), recipe.get("file")) if p)
    config: dict[str, Any] = {"uri": recipe.get("source") or "", "digest": {}, "entryPoint": entry_point}
    if _SHA1_RE.match(recipe.get("revision") or ""):
        config["digest"] = {"sha1": recipe["revision"]}
    params: dict[str, Any] = {
        recipe.get("kind") or "family": recipe.get("library_file") or recipe.get("name") or inp.repo,
        "repository": inp.repo,
        "variant": inp.variant,
        "architecture": inp.arch,
        "tags": list(inp.tags),
        "args": dict(inp.build_args),
        "builder": inp.builder,
    }
    if recipe.get("rendered"):
        params["dockerfile"] = recipe["rendered"]
    mats = materials(inp, platform)
    complete = all(p.get("digest") for p in inp.parents if p["name"] != "scratch")
    metadata: dict[str, Any] = {}
    if inp.started:
        metadata["buildStartedOn"] = inp.started
    if inp.finished:
        metadata["buildFinishedOn"] = inp.finished
    metadata["completeness"] = {"parameters": True, "environment": True, "materials": complete}
    metadata["reproducible"] = False
    return {
        "builder": {"id": inp.builder_id},
        "buildType": inp.build_type,
        "invocation": {"configSource": config, "parameters": params, "environment": {"platform": platform}},
        "metadata": metadata,
        "materials": mats,
    }


def provenance_statement(subject_name: str, subject_digest: str, inp: ProvenanceInput) -> dict[str, Any]:
    """The provenance attestation: an in-toto Statement v0.1 about ``subject_name`` / ``subject_digest`` (the image
    manifest's digest, `sha256:<hex>` or `<hex>`) with the SLSA provenance v0.2 predicate of ``inp``."""
    return statement(subject_name, subject_digest, SLSA_PREDICATE, provenance_predicate(inp), inp.key)
