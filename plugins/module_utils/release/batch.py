# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release as one batch: every family of the release loaded, rendered once and planned together, then written
as the library files, the rendered trees and one bundle the builders build from.

Families depend on families: a family whose FROM names an image of another family of the release is planned after
it and takes its architectures from that family's plan (no parents' library file needed), so the builders build it
after its parent, FROM the image they just built. A family's folder is its whole recipe (family.yml, versions,
templates, `build:` context sources and smoke tests): nothing outside it names the family, and a folder copied
under another name is another image.

The bundle (`release.tar`, deterministic: sorted, owner 0, mtime 0) holds `release.json` and `render/<family>/...`;
it is rewritten only when its bytes change, so the one copy to each builder is a no-op in an unchanged release.
Plain typed Python, importable without Ansible.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import glob
import io
import json
import os
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.build.bundle import RELEASE_JSON
from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_rootfs import (
    RootfsError,
    resolve_release_versions,
)
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures as _arches
from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import write_text
from ansible_collections.buildfarm.images.plugins.module_utils.common.dockerfile import from_lines
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import LineError
from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import (
    FAMILY_FILE,
    Family,
    FamilyError,
    load_family,
    load_tests_data,
    load_versions,
)
from ansible_collections.buildfarm.images.plugins.module_utils.family.plan import (
    ParentLibrary,
    Plan,
    PlanError,
    parse_from,
    plan_family,
)
from ansible_collections.buildfarm.images.plugins.module_utils.family.render import (
    render_family,
    render_sources,
    sync,
)
from ansible_collections.buildfarm.images.plugins.module_utils.library.git_source import GitCache, subprocess_runner
from ansible_collections.buildfarm.images.plugins.module_utils.release.library_release import (
    ReleaseLibrary,
    library_name,
    library_order,
    load_library,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    BundleFamily,
    DroppedEntry,
    FamilyKind,
    ReleaseBundle,
)

BUNDLE_FILE = "release.tar"


class ReleaseError(LineError, ValueError):
    """The release as a whole cannot be prepared: unknown family, a FROM cycle between families, bad overrides."""


class ReleaseParents(ParentLibrary):
    """Parents looked up in the families of this release first (their plans), then in the parents' library files."""

    def __init__(self, folder: str | None, release_names: set[str]):
        super().__init__(folder)
        self.release_names = release_names
        self.planned: dict[str, Plan] = {}

    def architectures(self, ref: str, where: str) -> list[str]:
        image = parse_from(ref, where)
        if image.short_repo not in self.release_names:
            return super().architectures(ref, where)
        plan = self.planned[image.short_repo]  # planned before its children (dependency order)
        tag = image.tag
        for e in plan.entries:
            if tag in e.tags or tag in e.shared_tags:
                return list(e.architectures)
        for d in plan.dropped:  # no builder for the parent: its children drop out the same way
            if tag in d.tags:
                return list(d.architectures)
        raise PlanError(where, "FROM", ref, "parent image not found: tag %r is not planned in family %s of this "
                        "release" % (tag, image.short_repo))


@dataclass
class ReleaseFamily:
    family: Family
    rendered: dict[str, str]
    plan: Plan
    depends_on: list[str]
    revision: str = ""
    created: str = ""
    tests: Any = None  # the smoke tests file's data (validated), None without one
    build_args: dict = field(default_factory=dict)  # release_prepare overrides.<family>.build_args
    # family.yml `sources:` rendered per entry ("<key>/<variant>" -> [source]): the SBOM's and provenance's
    sources: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.family.name

    @property
    def entries(self) -> list:
        return list(self.plan.entries)

    @property
    def family_dir(self) -> str:
        return self.family.path

    def context(self) -> dict:
        """The family's context sources as the builders get them: `debian_rootfs` with the Release files the
        release was planned from (suite -> sha256, epoch), which the builder checks and caches by."""
        out = dict(self.family.build.context)
        if "debian_rootfs" in out:
            releases = {}
            for v in self.family.versions:
                rel = v.data.get("release") or {}
                releases[rel.get("suite", "")] = {"sha256": rel.get("sha256"), "epoch": rel.get("epoch"),
                                                  "version": rel.get("version")}
            out["debian_rootfs"] = dict(out["debian_rootfs"], releases=releases)
        return out

    def record(self) -> BundleFamily:
        """What the builders, the publisher and the report need of the family (its part of release.json)."""
        entries = self.plan.entries
        return BundleFamily(
            name=self.name, kind=FamilyKind.FAMILY, repository=self.plan.repository, entries=list(entries),
            dropped=_dropped(self.plan.dropped, self.name), depends_on=list(self.depends_on),
            scratch=all(e.from_[:1] == ["scratch"] for e in entries), context=self.context(),
            build_args={str(k): str(v) for k, v in self.build_args.items()}, tests=self.tests,
            source=self.plan.git_repo, revision=self.revision, created=self.created,
            # what the attestations of the images say about their recipe and inputs (attest/provenance.py):
            # the family folder in its repository, each entry's template, its declared sources and, for root
            # filesystems, the Release files as the controller read them
            family_folder=self.plan.source,
            templates={e.directory: self.family.template_for(e.variant) for e in entries},
            sources={e.directory: self.sources[e.directory] for e in entries if self.sources.get(e.directory)},
            debian_releases=self.debian_releases())

    def debian_releases(self) -> dict:
        """suite -> {version, sha256, mirror} of the Release files the release was planned from
        (versions_source debian_release), {} for other families."""
        out = {}
        for v in self.family.versions:
            rel = v.data.get("release") if isinstance(v.data, dict) else None
            if isinstance(rel, dict) and rel.get("suite"):
                out[rel["suite"]] = {"version": rel.get("version"), "sha256": rel.get("sha256"),
                                     "mirror": rel.get("mirror") or ""}
        return out


@dataclass
class Release:
    # dependency order: a family after the families it is built FROM; the library files' repositories last
    families: list[ReleaseFamily | ReleaseLibrary]
    architectures: list[str]
    families_dir: str
    warnings: list[str] = field(default_factory=list)

    def record(self) -> ReleaseBundle:
        """release.json: every family of the release, once."""
        return ReleaseBundle(list(self.architectures), [family_record(f) for f in self.families])


def _dropped(items: Sequence[Any], where: str) -> list[DroppedEntry]:
    """A plan's (or a library file's) dropped entries as the bundle's records."""
    return [d if isinstance(d, DroppedEntry) else
            DroppedEntry.from_dict(d if isinstance(d, dict) else d.to_dict(), "%s.dropped[%d]" % (where, i))
            for i, d in enumerate(items)]


def family_record(f: ReleaseFamily | ReleaseLibrary) -> BundleFamily:
    """The bundle's record of one family of the release (a family folder, or a library file's repository)."""
    if isinstance(f, ReleaseFamily):
        return f.record()
    return BundleFamily(
        name=f.name, kind=FamilyKind.LIBRARY, repository="library/" + f.name, entries=list(f.entries),
        dropped=_dropped(f.dropped, f.name), depends_on=list(f.depends_on),
        scratch=all(e.from_[:1] == ["scratch"] for e in f.entries), tests=f.tests,
        source=next((e.git_repo for e in f.entries if e.git_repo), ""),
        revision="",  # each entry's GitCommit is its revision
        library_file=f.path)


def discover(families_dir: str) -> list[str]:
    """Every folder of ``families_dir`` holding a family.yml, by name."""
    return sorted(n for n in os.listdir(families_dir)
                  if not n.startswith(".") and os.path.isfile(os.path.join(families_dir, n, FAMILY_FILE)))


def family_parents(rendered: dict[str, str], names: set[str], own: str) -> list[str]:
    """The families of the release (``names``) whose images the rendered Dockerfiles are built FROM."""
    found: list[str] = []
    for rel, text in rendered.items():
        for fl in from_lines(text):
            if fl.stage_parent:
                continue
            repo = parse_from(fl.ref, "%s (rendered for family %s)" % (rel, own)).short_repo
            if repo in names and repo != own and repo not in found:
                found.append(repo)
    return found


def _dependency_order(deps: dict[str, list[str]], families_dir: str) -> list[str]:
    done: list[str] = []
    pending = list(deps)
    while pending:
        ready = [n for n in pending if all(d in done for d in deps[n])]
        if not ready:
            raise ReleaseError(families_dir, "FROM", ", ".join(pending),
                               "these families are built FROM each other (a cycle)")
        done.extend(ready)
        pending = [n for n in pending if n not in ready]
    return done


def _git_revision(folder: str) -> tuple[str, str]:
    """(last commit touching ``folder``, its commit time) or empty strings outside git."""
    try:
        out = subprocess.run(  # pylint: disable=ansible-bad-function
            ["git", "-C", folder, "log", "-1", "--format=%H%n%cI", "--", "."],
            check=True, capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return "", ""
    return (out[0], out[1]) if len(out) == 2 else ("", "")


def _load_tests(family: Family) -> Any:
    return load_tests_data(family.build.tests_file) if family.build.tests_file else None


def resolve_versions(family: Family, debian_mirror: str = "") -> Family:
    """The family with its versions_source resolved (family.yml `versions_source`): for `debian_release`, each
    key's full version and `data.release` from its suite's Release file on the Debian mirror (default: the host's
    apt sources). Errors name the versions file, the key and the value."""
    if family.versions_source != "debian_release":
        return family
    try:
        resolved = resolve_release_versions(family.versions, family.versions_file, debian_mirror)
    except RootfsError as exc:
        raise FamilyError(family.versions_file, "versions_source", family.versions_source, str(exc)) from None
    return dataclasses.replace(family, versions=tuple(
        dataclasses.replace(v, version=full, data=data) for v, full, data in resolved))


OVERRIDE_KEYS = ("versions_file", "architectures", "variants", "build_args")


def apply_overrides(family: Family, override: Any, where: str) -> Family:
    """A release's per-family overrides (release_prepare `overrides`), applied without editing the family:
    `versions_file` (another versions file, e.g. an inventory's pinned versions), `architectures` (the family is
    restricted to these, as family.yml `architectures` would: a list, or a mapping of variant glob to a list),
    `variants` (only these variants are rendered, planned and built; the tags stay those of the versions file's
    variants) and `build_args` (this family's build arguments on the builders, over the release's: where its builds
    fetch from). Errors name `where`, field, value."""
    if override is None:
        return family
    if not isinstance(override, dict):
        raise ReleaseError(where, "(override)", override, "must be a mapping (keys: %s)" % ", ".join(OVERRIDE_KEYS))
    unknown = sorted(set(override) - set(OVERRIDE_KEYS))
    if unknown:
        raise ReleaseError(where, unknown[0], override[unknown[0]], "unknown key (known: %s)"
                           % ", ".join(OVERRIDE_KEYS))
    changes: dict[str, Any] = {}
    versions = family.versions
    if override.get("versions_file"):
        path = override["versions_file"]
        if not isinstance(path, str) or not os.path.isabs(path):
            raise ReleaseError(where, "versions_file", path, "must be an absolute path (the module resolves "
                               "relative ones against the directory ansible-playbook runs in)")
        versions = load_versions(path)
        changes["versions_file"] = path
    if override.get("variants") is not None:
        wanted = override["variants"]
        if not isinstance(wanted, list) or not all(isinstance(v, str) and v for v in wanted):
            raise ReleaseError(where, "variants", wanted, "must be a list of variant names")
        kept = []
        for v in versions:
            mine = tuple(x for x in v.variants if x in wanted)
            if mine:
                kept.append(dataclasses.replace(v, variants=mine, tag_variants=v.variants))
        known = {x for v in versions for x in v.variants}
        missing = [x for x in wanted if x not in known]
        if missing or not kept:
            raise ReleaseError(where, "variants", (missing or wanted)[0], "no such variant in %s (variants: %s)"
                               % (changes.get("versions_file", family.versions_file), ", ".join(sorted(known))))
        versions = tuple(kept)
    changes["versions"] = versions
    if override.get("architectures") is not None:
        changes["architectures"] = _restrict_architectures(family, versions, override["architectures"], where)
    if override.get("build_args") is not None:
        args = override["build_args"]
        if not isinstance(args, dict) or not all(isinstance(k, str) and k and isinstance(v, (str, int, float))
                                                 for k, v in args.items()):
            raise ReleaseError(where, "build_args", args, "must be a mapping of build argument names to values")
    return dataclasses.replace(family, **changes)


def _restrict_architectures(family: Family, versions: Sequence[Any], value: Any,
                            where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """family.yml `architectures` restricted by an override's: a list (every variant) or, as family.yml's, a mapping
    variant glob -> list (the first glob that matches a variant; a variant no glob matches keeps the family's
    architectures). The result names each variant exactly: the family's and the override's globs need not line up."""
    def arch_list(archs: Any, fld: str) -> tuple[str, ...]:
        if not isinstance(archs, list) or not archs or not all(isinstance(a, str) and _arches.is_known(a)
                                                               for a in archs):
            raise ReleaseError(where, fld, archs, "must be a non-empty list of known architectures")
        return tuple(archs)

    if isinstance(value, list):
        rules: tuple[tuple[str, tuple[str, ...]], ...] = (("*", arch_list(value, "architectures")),)
    elif isinstance(value, dict) and value:
        rules = tuple((str(g), arch_list(archs, "architectures.%s" % g)) for g, archs in value.items())
    else:
        raise ReleaseError(where, "architectures", value,
                           "must be a list of architectures or a mapping of variant glob to a list")
    names = sorted({x for v in versions for x in v.variants})
    # a glob that matches nothing is a typo that would silently restrict nothing
    unmatched = [g for g, archs in rules if not any(fnmatch.fnmatchcase(n, g) for n in names)]
    if unmatched:
        raise ReleaseError(where, "architectures", unmatched[0], "matches no variant (variants: %s)" % ", ".join(names))
    restricted = []
    for name in names:
        allowed = next((archs for g, archs in rules if fnmatch.fnmatchcase(name, g)), None)
        own = family.architectures_for(name)
        if allowed is not None:
            own = tuple(a for a in (allowed if own is None else own) if a in allowed)
        if own is not None:
            restricted.append((glob.escape(name), own))
    return tuple(restricted)


def prepare(families_dir: str, names: Sequence[str] | None = None, architectures: Sequence[str] | None = None,
            parents_dir: str | None = None, source_date_epoch: str | None = None,
            debian_mirror: str = "", overrides: dict[str, Any] | None = None,
            library_files: Sequence[Any] = (), git_cache_dir: str = "") -> Release:
    """Load, render and plan the release's families (``names``, default every family of ``families_dir``) for
    ``architectures`` (default all), then the repositories of ``library_files`` (built from Git: each entry's source
    fetched into ``git_cache_dir`` and checked). Any bad input raises a LineError (FamilyError, ReleaseError ...)
    naming file, field and value."""
    families_dir = os.path.abspath(families_dir)
    if not os.path.isdir(families_dir):
        raise ReleaseError(families_dir, "families_dir", families_dir, "families folder not found")
    names = list(names) if names is not None else discover(families_dir)
    if not names and not library_files:
        raise ReleaseError(families_dir, "families", [], "no family to release (no folder with a family.yml)")
    for a in architectures or ():
        if not _arches.is_known(a):
            raise ReleaseError("release", "architectures", a, "unknown architecture")
    loaded = _load_families(families_dir, names, overrides or {}, debian_mirror)
    seen = set(loaded)
    deps = {n: family_parents(rendered, seen, n) for n, (_f, rendered, _s) in loaded.items()}
    parents = ReleaseParents(parents_dir, seen)
    if parents_dir and not os.path.isdir(parents_dir):
        raise ReleaseError(parents_dir, "parents_library", parents_dir, "parents library folder not found")
    release = Release([], list(architectures) if architectures is not None else [], families_dir)
    for n in _dependency_order(deps, families_dir):
        family, rendered, sources = loaded[n]
        plan = plan_family(family, parents_dir, rendered=rendered, architectures=architectures, parents=parents)
        plan.source = os.path.relpath(family.path, os.path.dirname(families_dir))
        parents.planned[n] = plan
        revision, created = _git_revision(family.path)
        if source_date_epoch:
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(source_date_epoch)))
        release.warnings += plan.warnings
        release.families.append(ReleaseFamily(family, rendered, plan, deps[n], revision, created,
                                              _load_tests(family),
                                              dict(((overrides or {}).get(n) or {}).get("build_args") or {}),
                                              sources))
    if library_files:
        release.families += _libraries(library_files, seen, architectures, git_cache_dir)
    return release


def _load_families(families_dir: str, names: Sequence[Any], overrides: dict[str, Any],
                   debian_mirror: str) -> dict[str, tuple[Family, dict[str, str], dict[str, list[dict]]]]:
    """name -> (the family with its overrides and versions source applied, its rendered tree, its rendered
    `sources:`), in the order named; a name that is no family folder of ``families_dir`` is a ReleaseError."""
    loaded: dict[str, tuple[Family, dict[str, str], dict[str, list[dict]]]] = {}
    for n in names:
        if not isinstance(n, str) or n in (".", "..") or "/" in n or n.startswith("."):
            raise ReleaseError(families_dir, "families", n, "not a family folder name")
        if n in loaded:
            raise ReleaseError(families_dir, "families", n, "family named twice")
        path = os.path.join(families_dir, n)
        if not os.path.isdir(path):
            raise ReleaseError(families_dir, "families", n, "no such family folder in %s (families there: %s)"
                               % (families_dir, ", ".join(discover(families_dir)) or "none"))
        family = apply_overrides(load_family(path, name=n), overrides.get(n), "overrides.%s" % n)
        family = resolve_versions(family, debian_mirror)
        loaded[n] = (family, render_family(family), render_sources(family))
    return loaded


def _libraries(specs: Sequence[Any], families: set[str], architectures: Sequence[str] | None,
               git_cache_dir: str) -> list[ReleaseLibrary]:
    if not git_cache_dir:
        raise ReleaseError("release", "git_cache_dir", git_cache_dir, "library files need a git cache folder")
    names: dict[str, int] = {}
    for i, spec in enumerate(specs):
        path = spec.get("file") if isinstance(spec, dict) else spec
        if not isinstance(path, str) or not path:
            raise ReleaseError("library_files[%d]" % i, "library_files", spec, "a library file's path is missing")
        n = library_name(path)
        if n in families:
            raise ReleaseError(path, "library_files", n, "a family of the release has this repository name")
        if n in names:
            raise ReleaseError(path, "library_files", n, "library_files[%d] has this repository name too" % names[n])
        names[n] = i
    cache = GitCache(git_cache_dir, subprocess_runner)
    every = families | set(names)
    loaded = [load_library(spec, "library_files[%d]" % i, cache, architectures, every) for i, spec in enumerate(specs)]
    return library_order(loaded, "library_files")


def bundle_bytes(release: Release, data: dict[str, Any] | None = None) -> bytes:
    """The release bundle: release.json and every rendered tree, as a deterministic tar. ``data``: release.json's
    data when the caller has it already (`release.record().to_dict()`), so the release is serialized once."""
    if data is None:
        data = release.record().to_dict()
    files: dict[str, bytes] = {RELEASE_JSON: json.dumps(data, indent=1, sort_keys=True).encode()}
    for f in release.families:
        for rel, text in f.rendered.items():
            files["render/%s/%s" % (f.name, rel)] = text.encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(files[name]), 0o644, 0
            tar.addfile(info, io.BytesIO(files[name]))
    return buf.getvalue()


@dataclass
class WriteResult:
    changed: bool
    bundle: str
    library_files: dict[str, str]  # family -> path
    changed_files: list[str] = field(default_factory=list)
    diff: list[dict] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # release.json's data, as written into the bundle


def write(release: Release, work_dir: str, artifacts_dir: str, check: bool = False,
          want_diff: bool = False) -> WriteResult:
    """Write the rendered trees (``work_dir/render/<family>``) and the bundle (``work_dir/release.tar``) - scratch
    space, written in check mode too so a dry run knows what would be built - and the library files
    (``artifacts_dir/library/<family>``, not in check mode). Each is replaced whole, and only when it changed."""
    work_dir, artifacts_dir = os.path.abspath(work_dir), os.path.abspath(artifacts_dir)
    res = WriteResult(False, os.path.join(work_dir, BUNDLE_FILE), {}, data=release.record().to_dict())
    for f in release.families:
        if isinstance(f, ReleaseLibrary):
            continue  # built from Git: nothing rendered, and its library file is the user's own
        sync(f.family, os.path.join(work_dir, "render", f.name), files=f.rendered)
        path = os.path.join(artifacts_dir, "library", f.name)
        res.library_files[f.name] = path
        written = write_text(path, f.plan.library_text(), 0o644, check_mode=check)
        if written.changed:
            res.changed = True
            res.changed_files.append(path)
            if want_diff and written.content_changed:
                res.diff.append(written.diff())
    _replace_if_changed(res.bundle, bundle_bytes(release, res.data))
    return res


def _replace_if_changed(path: str, data: bytes) -> None:
    """``path`` holds ``data`` afterwards; rewritten (atomically) only when its bytes differ, so the one copy of
    the bundle to each builder is a no-op in an unchanged release."""
    try:
        with open(path, "rb") as fh:
            if fh.read() == data:
                return
    except OSError:
        pass  # not there yet (or unreadable): written below
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


# The views release_prepare returns beside the bundle, derived from release.json's one serialization (the playbooks
# pass them on: `families` to the report, `publish` to manifest_list and release_verify, `docs` to readme).
_RESULT_KEYS = ("name", "kind", "repository", "entries", "dropped", "depends_on", "scratch", "tests", "source",
                "revision", "created")


def result_families(data: dict[str, Any], work_dir: str) -> list[dict[str, Any]]:
    """release_prepare's `families`: each family of release.json's ``data`` with its rendered tree's folder."""
    # a family folder's declared sources too (the report names them per image); a library file has none
    render = os.path.join(os.path.abspath(work_dir), "render")
    return [dict({k: f[k] for k in _RESULT_KEYS}, sources=f.get("sources") or {},
                 render_dir=os.path.join(render, f["name"]))
            for f in data["families"]]


def publish_view(data: dict[str, Any]) -> list[dict[str, Any]]:
    """release_prepare's `publish`: what manifest_list publishes, per family its repository name and entries."""
    return [{"repository": f["name"], "entries": f["entries"]} for f in data["families"]]


def docs_view(release: Release, data: dict[str, Any], artifacts_dir: str) -> list[dict[str, Any]]:
    """release_prepare's `docs`: what readme writes, per family its entries, its folder (the docs/ of a family
    folder; a library file has none, its READMEs get the default content) and the README's folder."""
    docs_dir = os.path.join(os.path.abspath(artifacts_dir), "docs")
    return [dict({"name": f["name"], "entries": f["entries"], "dest_dir": os.path.join(docs_dir, f["name"])},
                 **({"family_dir": rf.family_dir} if rf.family_dir else {}))
            for rf, f in zip(release.families, data["families"])]
