# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release plan of a family: every library entry (tags, shared tags, architectures, directory, builder ...)
from the family's versions, its rendered Dockerfiles and its parents' library files, and the library file
written from it.

The rules are docker-library/python's (generate-stackbrew-library.sh since 2022):
- versions newest first, variants in the versions file's order, Directory `<version>/<variant>`;
- aliases = [full version, versions key, family.yml aliases of the key];
- Tags = `<alias>-<variant>` for each alias, plus `<alias>-slim` for `slim-<default suite>` and `<alias>-alpine` for
  the default Alpine variant, with every `latest-` removed;
- default suite = first variant not starting with `alpine`, `slim-` or `windows/`; default Alpine variant = first
  starting with `alpine`; the default-suite entry gets SharedTags = the bare aliases;
- `windows/windowsservercore-<release>`: Tags `<alias>-windowsservercore-<release>`, SharedTags
  `<alias>-windowsservercore` then the bare aliases, Constraints `windowsservercore-<release>`, Architectures
  windows-amd64, Builder classic (only when family.yml sets a global `builder`);
- Linux Architectures = the parent's (first FROM, looked up in the parents' library files; `FROM scratch` takes
  family.yml `architectures`), restricted by family.yml `architectures`, minus `exclude_architectures`;
- GitCommit = last commit touching the entry's Dockerfile, where the rendered tree is committed in git.
A release may further be restricted to the architectures the farm has builders for: entries left with none are
dropped (and reported), so adding an architecture is an inventory change only.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures as _arches
from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest as lm
from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import from_lines
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef, ImageRefError
from ansible_collections.buildfarm.images.plugins.module_utils.family.family import Family, FamilyError, Version
from ansible_collections.buildfarm.images.plugins.module_utils.family.render import DOCKERFILE, render_family

WINDOWS_PREFIX = "windows/"
WINDOWS_BUILDER = "classic"


class PlanError(FamilyError):
    """The family cannot be planned: unknown parent, no architecture left, an invalid resulting library file."""


@dataclass
class PlanEntry:
    tags: list[str]
    shared_tags: list[str]
    architectures: list[str]
    directory: str
    version: str  # full version, e.g. 3.14.6
    variant: str
    file: str = DOCKERFILE
    git_commit: str = ""
    constraints: list[str] = field(default_factory=list)
    builder: str = ""  # effective builder ("" when neither family nor entry names one)
    from_: list[str] = field(default_factory=list)  # every FROM image, first one first (stages left out)

    def to_dict(self) -> dict:
        return {
            "tags": list(self.tags),
            "shared_tags": list(self.shared_tags),
            "architectures": list(self.architectures),
            "directory": self.directory,
            "file": self.file,
            "git_commit": self.git_commit,
            "constraints": list(self.constraints),
            "builder": self.builder,
            "from": list(self.from_),
            "version": self.version,
            "variant": self.variant,
        }


@dataclass
class DroppedEntry:
    """An entry the release leaves out: none of its architectures has a builder."""

    directory: str
    tags: list[str]
    architectures: list[str]  # what it would have had

    def to_dict(self) -> dict:
        return {"directory": self.directory, "tags": list(self.tags), "architectures": list(self.architectures),
                "reason": "no builder for any of its architectures"}


@dataclass
class Plan:
    name: str
    maintainers: list[str]
    git_repo: str
    builder: str
    entries: list[PlanEntry]
    dropped: list[DroppedEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source: str = ""  # where the family lives, for the header comment
    family_file: str = ""  # the family.yml errors in the resulting library file are reported against

    @property
    def repository(self) -> str:
        return "library/" + self.name

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "repository": self.repository,
            "entries": [e.to_dict() for e in self.entries],
            "dropped": [d.to_dict() for d in self.dropped],
        }

    def manifest(self) -> lm.LibraryManifest:
        """The library file of the release, built with the library-manifest model (and validated by it)."""
        global_fields = [("Maintainers", self.maintainers), ("GitRepo", self.git_repo), ("Builder", self.builder)]
        entries = []
        for e in self.entries:
            entries.append([
                ("Tags", e.tags),
                ("SharedTags", e.shared_tags),
                ("Architectures", e.architectures),
                ("GitCommit", e.git_commit),
                ("Directory", e.directory),
                ("File", e.file if e.file != DOCKERFILE else ""),
                ("Constraints", e.constraints),
                ("Builder", e.builder if e.builder != self.builder else ""),
            ])
        header = ["# this file is generated by buildfarm.images (release_plan) from %s" % (self.source or self.name)]
        m = lm.LibraryManifest.build(header_comments=header, global_fields=global_fields, entries=entries)
        # Validate the text as written, so errors point at lines of the generated file.
        errors = lm.parse(lm.dumps(m), "library/%s (as planned)" % self.name).errors()
        if errors:
            raise PlanError(self.family_file or self.source, errors[0].field or "(library file)", errors[0].value,
                            "the planned library file would be invalid: %s"
                            % "; ".join(str(e) for e in errors[:3]) + (" ..." if len(errors) > 3 else ""))
        return m

    def library_text(self) -> str:
        return lm.dumps(self.manifest())


class ParentLibrary:
    """The parent images' library files in one folder (library/debian, library/alpine ...), loaded on demand."""

    def __init__(self, folder: str | None):
        self.folder = folder
        self._cache: dict[str, lm.LibraryManifest] = {}

    def manifest(self, repo: str, where: str, ref: str) -> lm.LibraryManifest:
        if repo not in self._cache:
            if not self.folder:
                raise PlanError(where, "FROM", ref, "no parents library folder given to look the parent up in")
            path = os.path.join(self.folder, repo)
            if "/" in repo or not os.path.isfile(path):
                raise PlanError(where, "FROM", ref, "parent image not found: no library file %s" % path)
            try:
                self._cache[repo] = lm.load(path).validate()
            except (lm.LibraryManifestError, lm.InvalidLibraryManifest) as e:
                raise PlanError(path, "(library file)", repo, "parent library file is invalid: %s" % e) from None
        return self._cache[repo]

    def architectures(self, ref: str, where: str) -> list[str]:
        """The architectures of the image `ref` (repo:tag) according to its library file."""
        image = parse_from(ref, where)
        manifest = self.manifest(image.short_repo, where, ref)
        entry = manifest.entry_for_tag(image.tag)
        if entry is None:
            raise PlanError(where, "FROM", ref, "parent image not found: tag %r is not in %s"
                            % (image.tag, manifest.filename))
        return entry.architectures


def parse_from(ref: str, where: str) -> ImageRef:
    """A FROM reference (`busybox:1.35.0-glibc`, `docker.io/library/debian:trixie-slim`), `latest` when it names
    no tag; a reference outside the distribution grammar is a PlanError naming the Dockerfile."""
    try:
        return ImageRef.parse(ref, default_tag="latest")
    except ImageRefError as exc:
        raise PlanError(where, "FROM", ref, exc.problem) from None


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def default_suite(variants: Sequence[str]) -> str:
    for v in variants:
        if not v.startswith(("alpine", "slim-", WINDOWS_PREFIX)):
            return v
    return ""


def default_alpine(variants: Sequence[str]) -> str:
    for v in variants:
        if v.startswith("alpine"):
            return v
    return ""


def aliases_of(family: Family, version: Version) -> list[str]:
    return _dedupe([version.version, version.key] + list(family.aliases.get(version.key, ())))


def distribution_tags(family: Family, version: Version, variant: str) -> list[str]:
    """Tags of tag_policy `distribution` (docker-library/debian's): `<suite>`, `<suite>-<serial>`, the full
    version, the versions key, then family.yml aliases of the key (`latest`); a variant `<suite>/<name>` gives each
    `-<name>` (`trixie-slim`, `13.8-slim`), except `latest`, which only the plain variant carries. The suite and
    serial are the key's `data.release` (versions_source `debian_release`)."""
    release = version.data.get("release") if isinstance(version.data, dict) else None
    if not isinstance(release, dict) or not release.get("codename") or not release.get("serial"):
        raise PlanError(family.versions_file, version.key + ".release", release,
                        "tag_policy distribution needs the key's Release (versions_source: debian_release)")
    suite, _slash, name = variant.partition("/")
    suffix = "-" + name.replace("/", "-") if name else ""
    base = [suite, "%s-%s" % (suite, release["serial"]), version.version, version.key]
    names = ["%s%s" % (b, suffix) for b in base]
    names += [a + suffix for a in family.aliases.get(version.key, ()) if not (suffix and a == "latest")]
    return _dedupe(names)


def tags_for(family: Family, version: Version, variant: str) -> tuple[list[str], list[str], list[str]]:
    """(Tags, SharedTags, Constraints) of one entry."""
    if family.tag_policy == "distribution":
        return distribution_tags(family, version, variant), [], []
    aliases = aliases_of(family, version)
    variants = version.tag_variants or version.variants
    suite = default_suite(variants)
    if variant.startswith(WINDOWS_PREFIX):
        name = variant[len(WINDOWS_PREFIX):]  # windowsservercore-ltsc2025
        kind = name.split("-", 1)[0]  # windowsservercore
        tags = ["%s-%s" % (a, name) for a in aliases]
        shared = ["%s-%s" % (a, kind) for a in aliases] + aliases
        constraints = [name]
    else:
        tags = ["%s-%s" % (a, variant) for a in aliases]
        if suite and variant == "slim-" + suite:
            tags += ["%s-slim" % a for a in aliases]
        if variant == default_alpine(variants):
            tags += ["%s-alpine" % a for a in aliases]
        shared = list(aliases) if variant == suite else []
        constraints = []
    return _without_latest(tags), _without_latest(shared), constraints


def _without_latest(names: Sequence[str]) -> list[str]:
    """`latest-trixie` -> `trixie`, `latest-windowsservercore` -> `windowsservercore`."""
    return _dedupe(n.replace("latest-", "") for n in names)


def _linux_architectures(family: Family, parents: ParentLibrary, version: Version, variant: str,
                         froms: list[str], where: str) -> list[str]:
    own = family.architectures_for(variant)
    if froms[0] == "scratch":
        if own is None:
            raise PlanError(family.family_file, "architectures", None,
                            "%s/%s is FROM scratch: family.yml must list its architectures" % (version.key, variant))
        return list(own)
    archs = parents.architectures(froms[0], where)
    return [a for a in archs if own is None or a in own]


def git_commits(tree: str, paths: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """For each path (relative to `tree`), the last commit touching it, and the paths not committed as they are
    (modified or never committed: they get no GitCommit). Both empty when no path of the tree was ever committed
    (not a git work tree, or an ignored render folder)."""
    def git(*args: str) -> list[str]:
        # plain module_utils, usable without an AnsibleModule (tests, benchmarks), hence no run_command
        return subprocess.run(  # pylint: disable=ansible-bad-function
            ["git", "-C", tree] + list(args), check=True, capture_output=True, text=True).stdout.splitlines()

    try:
        # One `git log` for the whole tree: the first commit a path shows up under is its last one.
        log = git("log", "--format=format:%x00%H", "--name-only", "--relative", "--", ".")
        dirty = set(git("diff", "--name-only", "--relative", "HEAD", "--", "."))
    except (OSError, subprocess.CalledProcessError):
        return {}, []
    wanted = set(paths)
    found: dict[str, str] = {}
    commit = ""
    for line in log:
        if line.startswith("\x00"):
            commit = line[1:]
        elif line in wanted and line not in found:
            found[line] = commit
    if not found:
        return {}, []
    uncommitted = sorted(p for p in paths if p in dirty or p not in found)
    return {p: c for p, c in found.items() if p not in dirty}, uncommitted


def plan_family(family: Family, parents_dir: str | None, rendered: dict[str, str] | None = None,
                architectures: Sequence[str] | None = None, tree: str | None = None,
                parents: ParentLibrary | None = None) -> Plan:
    """Plan a family's release.

    `rendered` is the in-memory render (rendered here when not given); `tree` is where the rendered tree lives on
    disk (for GitCommit; it must hold exactly this render); `architectures` restricts the release to the
    architectures the farm can build."""
    if rendered is None:
        rendered = render_family(family)
    for a in architectures or ():
        if not _arches.is_known(a):
            raise PlanError("release_plan", "architectures", a, "unknown architecture")
    if parents_dir and not os.path.isdir(parents_dir):
        raise PlanError(parents_dir, "parents_library", parents_dir, "parents library folder not found")
    if parents is None:
        parents = ParentLibrary(parents_dir)
    plan = Plan(name=family.name, maintainers=list(family.maintainers), git_repo=family.git_repo,
                builder=family.builder, entries=[], source="families/" + os.path.basename(family.path),
                family_file=family.family_file)

    commits: dict[str, str] = {}
    if tree:
        for rel, text in rendered.items():
            path = os.path.join(tree, rel)
            try:
                with open(path, encoding="utf-8") as f:
                    on_disk = f.read()
            except OSError:
                on_disk = None
            if on_disk != text:
                raise PlanError(path, "(rendered tree)", rel, "not the current render of the family: render first")
        commits, uncommitted = git_commits(tree, list(rendered))
        plan.warnings += ["%s: not committed as rendered, so no GitCommit" % os.path.join(tree, p)
                          for p in uncommitted]

    for version in family.sorted_versions():
        for variant in version.variants:
            rel = "%s/%s/%s" % (version.key, variant, DOCKERFILE)
            where = (os.path.join(tree, rel) if tree else
                     "%s (rendered from %s)" % (rel, os.path.join(family.path, family.template_for(variant))))
            entry = _plan_entry(family, parents, version, variant, rendered[rel], where)
            entry.git_commit = commits.get(rel, "")
            if architectures is not None:
                kept = [a for a in entry.architectures if a in architectures]
                if not kept:
                    plan.dropped.append(DroppedEntry(entry.directory, entry.tags, entry.architectures))
                    continue
                entry.architectures = kept
            plan.entries.append(entry)
    return plan


def _plan_entry(family: Family, parents: ParentLibrary, version: Version, variant: str, dockerfile: str,
                where: str) -> PlanEntry:
    froms = [f.ref for f in from_lines(dockerfile) if not f.stage_parent or f.ref == "scratch"]
    if not froms:
        raise PlanError(where, "FROM", "", "the rendered Dockerfile has no FROM line")
    tags, shared, constraints = tags_for(family, version, variant)
    if variant.startswith(WINDOWS_PREFIX):
        # Windows entries name the classic builder only beside a global one (before 2023 upstream had neither)
        archs, builder = ["windows-amd64"], WINDOWS_BUILDER if family.builder else ""
    else:
        archs = _linux_architectures(family, parents, version, variant, froms, where)
        builder = family.builder
    excluded = {r.arch for r in family.exclude_architectures if r.matches(version, variant)}
    archs = sorted(a for a in archs if a not in excluded)
    if not archs:
        raise PlanError(family.family_file, "exclude_architectures", "%s/%s" % (version.key, variant),
                        "no architecture left for this entry")
    return PlanEntry(tags=tags, shared_tags=shared, architectures=archs, directory="%s/%s" % (version.key, variant),
                     version=version.version, variant=variant, constraints=constraints, builder=builder, from_=froms)
