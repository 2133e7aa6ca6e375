# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images from library files, the bashbrew way: a release's ``library_files`` (official-images format), each
entry built from its Git source (GitRepo, GitFetch, GitCommit, Directory, File and their ``<arch>-`` overrides,
Builder, Constraints).

Everything is checked here, on the controller, before anything is built: the file's syntax and fields (the library
model's validation), the Builder, and every architecture's Git source, fetched into the controller's cache (the
commit exists, Directory is a folder, File a file). An error names the library file, the line, the field and the
value. The Dockerfiles' FROM lines, read from Git, order the release: an entry FROM another entry's tag (of this
file, another library file or a family of the release) is built after it, FROM the image just built. The builders
fetch for themselves (library/git_source.py), so a library repository goes into the bundle as its entries only.
Plain typed Python, importable without Ansible.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import from_lines
from ansible_collections.buildfarm.images.plugins.module_utils.common.builders import BUILDERS
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef, ImageRefError
from ansible_collections.buildfarm.images.plugins.module_utils.family.family import FamilyError, load_tests_data
from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest as lm
from ansible_collections.buildfarm.images.plugins.module_utils.library.entry import ReleaseEntry
from ansible_collections.buildfarm.images.plugins.module_utils.library.git_source import (
    GitCache,
    GitSource,
    GitSourceError,
)

_VERSION_RE = re.compile(r"^\d[\w.+~]*")
# "a generic run test": the image runs its own CMD and exits 0 (a library file has no smoke tests of its own)
GENERIC_TESTS = {"linux": [{"name": "runs", "timeout": 300}], "windows": [{"name": "runs", "timeout": 600}]}


class LibraryReleaseError(FamilyError):
    """A library file of the release cannot be built: file, line, field and value."""


@dataclass
class ReleaseLibrary:
    """One library file of the release: a repository whose entries build from Git."""

    name: str  # the repository, the file's name (library/<name>)
    path: str
    entries: list[ReleaseEntry]
    dropped: list[dict] = field(default_factory=list)  # entries with no architecture of this release
    depends_on: list[str] = field(default_factory=list)
    tests: Any = None
    rendered: dict[str, str] = field(default_factory=dict)  # nothing is rendered: the builders fetch from Git

    @property
    def family_dir(self) -> str:
        return ""  # no docs/ folder: the README gets the default content

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": "library",
            "library_file": self.path,
            "repository": "library/" + self.name,
            "entries": [e.to_dict() for e in self.entries],
            "dropped": list(self.dropped),
            "depends_on": list(self.depends_on),
            "scratch": all(e.from_[:1] == ["scratch"] for e in self.entries),
            "context": {},
            "build_args": {},
            "tests": self.tests,
            "source": next((e.git_repo for e in self.entries if e.git_repo), ""),
            "revision": "",  # each entry's GitCommit is its revision
            "created": "",
        }


def library_name(path: str) -> str:
    return os.path.basename(path.rstrip("/"))


def _line(m: lm.LibraryManifest, e: lm.Entry, arch: str, name: str) -> int:
    for p in (e, m.globals):
        for key in ("%s-%s" % (arch, name), name):
            f = p.field(key)
            if f is not None:
                return f.line
    return e.line


def _source(e: lm.Entry, arch: str, base_dir: str) -> GitSource:
    repo = e.arch_value(arch, "GitRepo")
    # a local repository may be named relative to the library file (a project's own checkouts)
    if repo and "://" not in repo and ":" not in repo.split("/")[0] and not os.path.isabs(repo):
        repo = os.path.normpath(os.path.join(base_dir, repo))
    return GitSource(repo=repo, commit=e.arch_value(arch, "GitCommit"), directory=e.arch_value(arch, "Directory"),
                     file=e.arch_value(arch, "File"), fetch=e.arch_value(arch, "GitFetch"))


def load_library(spec: Any, where: str, cache: GitCache, architectures: Sequence[str] | None,
                 release_names: set[str]) -> ReleaseLibrary:
    """One item of ``library_files`` (a path, or ``{file, tests}``) checked and planned; ``release_names`` are
    the repositories of the whole release (families and library files), for the FROM dependencies."""
    if isinstance(spec, str):
        path, tests_path = spec, ""
    elif isinstance(spec, dict) and isinstance(spec.get("file"), str):
        unknown = sorted(set(spec) - {"file", "tests"})
        if unknown:
            raise LibraryReleaseError(where, unknown[0], spec[unknown[0]], "unknown key (known: file, tests)")
        path, tests_path = spec["file"], str(spec.get("tests") or "")
    else:
        raise LibraryReleaseError(where, "library_files", spec, "an item is a path or a mapping with file (and tests)")
    if not os.path.isabs(path):
        raise LibraryReleaseError(where, "file", path, "must be an absolute path (the module resolves relative ones "
                                  "against the directory ansible-playbook runs in)")
    if not os.path.isfile(path):
        raise LibraryReleaseError(path, "library_files", path, "library file not found")
    name = library_name(path)
    try:
        manifest = lm.load(path).validate()
    except lm.LibraryManifestError as exc:
        raise LibraryReleaseError(path, str(exc.field or "(syntax)"), exc.value, exc.message,
                                  line=exc.line) from None
    except lm.InvalidLibraryManifest as exc:
        first = exc.errors[0]
        more = " (and %d more)" % (len(exc.errors) - 1) if len(exc.errors) > 1 else ""
        raise LibraryReleaseError(path, str(first.field or "(syntax)"), first.value, first.message + more,
                                  line=first.line) from None
    base_dir = os.path.dirname(path)
    entries: list[ReleaseEntry] = []
    dropped: list[dict] = []
    depends: list[str] = []
    checked: dict[tuple[GitSource, str], list[str]] = {}  # (source, builder) -> its FROM images
    for e in manifest.entries:
        archs = [a for a in e.architectures if architectures is None or a in architectures]
        if not archs:
            dropped.append({"tags": e.tags, "architectures": e.architectures,
                            "reason": "no builder for its architectures in this release"})
            continue
        froms: list[str] = []
        for arch in archs:
            builder = e.arch_value(arch, "Builder")
            if builder and builder not in BUILDERS:  # none given: normalized on the builder (common/builders.py)
                raise LibraryReleaseError(path, "Builder" if e.arch_value(arch, "Builder") == e.builder
                                          else "%s-Builder" % arch, builder,
                                          "unknown Builder (known: %s)" % ", ".join(BUILDERS),
                                          line=_line(manifest, e, arch, "Builder"))
            src = _source(e, arch, base_dir)
            key = (src, builder)
            if key not in checked:
                try:
                    cache.check(src, builder)
                    text = "" if builder == "oci-import" else cache.read(src)
                except GitSourceError as exc:
                    fld = exc.field or "GitCommit"
                    value = {"GitRepo": src.repo, "GitCommit": src.commit, "Directory": src.directory,
                             "File": src.file}.get(fld, src.commit)
                    over = e.arch_value(arch, fld) != e.value(fld)
                    raise LibraryReleaseError(path, ("%s-%s" % (arch, fld)) if over else fld, value,
                                              "entry %s (%s): %s" % (e.tags[0] if e.tags else "?", arch, exc.problem),
                                              line=_line(manifest, e, arch, fld)) from None
                refs = []
                for fl in from_lines(text):
                    if fl.stage_parent:
                        continue
                    refs.append(fl.ref)
                    try:
                        repo = ImageRef.parse(fl.ref, default_tag="latest").short_repo
                    except ImageRefError as exc:
                        raise LibraryReleaseError(path, "File", src.file_path, "FROM %s: %s" % (fl.ref, exc.problem),
                                                  line=_line(manifest, e, arch, "File")) from None
                    if repo in release_names and repo not in depends and repo != name:
                        depends.append(repo)
                checked[key] = refs
            for ref in checked[key]:
                if ref not in froms:
                    froms.append(ref)
        m = _VERSION_RE.match(e.tags[0])
        overrides = {a: v for a, v in e.arch_overrides().items() if a in archs}
        entries.append(ReleaseEntry(
            tags=e.tags, shared_tags=e.shared_tags, architectures=archs, directory=e.directory,
            version=m.group(0) if m else "", file=e.file, git_commit=e.git_commit, constraints=e.constraints,
            builder=e.builder, from_=froms, repo=name, git_repo=_source(e, archs[0], base_dir).repo,
            git_fetch=e.git_fetch,
            # a relative local GitRepo resolves against the library file on the controller; builders get it so
            arch_overrides={a: dict(v, GitRepo=_source(e, a, base_dir).repo) if "GitRepo" in v else v
                            for a, v in overrides.items()}))
    tests = load_tests_data(tests_path) if tests_path else GENERIC_TESTS
    return ReleaseLibrary(name, path, entries, dropped, depends, tests)


def library_order(libraries: list[ReleaseLibrary], where: str) -> list[ReleaseLibrary]:
    """Library repositories after the library repositories they are built FROM (families come before all)."""
    by_name = {lib.name: lib for lib in libraries}
    done: list[str] = []
    pending = [lib.name for lib in libraries]
    while pending:
        ready = [n for n in pending if all(d in done or d not in by_name for d in by_name[n].depends_on)]
        if not ready:
            raise LibraryReleaseError(where, "FROM", ", ".join(pending),
                                      "these library files' images are built FROM each other (a cycle)")
        done.extend(ready)
        pending = [n for n in pending if n not in ready]
    return [by_name[n] for n in done]
