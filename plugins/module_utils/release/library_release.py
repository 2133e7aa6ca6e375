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

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common.dockerfile import from_lines
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import LineError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef, ImageRefError
from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import load_tests_data
from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest as lm
from ansible_collections.buildfarm.images.plugins.module_utils.library.entry import (
    ARCH_FIELDS,
    NO_BUILDER_IN_RELEASE,
    DroppedEntry,
    Entry,
)
from ansible_collections.buildfarm.images.plugins.module_utils.library.git_source import (
    GitCache,
    GitSource,
    GitSourceError,
)

# "a generic run test": the image runs its own CMD and exits 0 (a library file has no smoke tests of its own)
GENERIC_TESTS = {"linux": [{"name": "runs", "timeout": 300}], "windows": [{"name": "runs", "timeout": 600}]}


class LibraryReleaseError(LineError, ValueError):
    """A library file of the release cannot be built: file, line, field and value."""


@dataclass
class ReleaseLibrary:
    """One library file of the release: a repository whose entries build from Git."""

    name: str  # the repository, the file's name (library/<name>)
    path: str
    entries: list[Entry]
    dropped: list[DroppedEntry] = field(default_factory=list)  # entries with no architecture of this release
    depends_on: list[str] = field(default_factory=list)
    tests: Any = None
    rendered: dict[str, str] = field(default_factory=dict)  # nothing is rendered: the builders fetch from Git

    @property
    def family_dir(self) -> str:
        return ""  # no docs/ folder: the README gets the default content


def library_name(path: str) -> str:
    return os.path.basename(path.rstrip("/"))


def _line(m: lm.LibraryManifest, p: lm.Paragraph, arch: str, name: str) -> int:
    """The line the value of `name` for `arch` comes from: the entry's override or field, else the global ones."""
    for source in (p, m.globals):
        for key in ("%s-%s" % (arch, name), name):
            f = source.field(key)
            if f is not None:
                return f.line
    return p.line


def _source(e: Entry, arch: str, base_dir: str) -> GitSource:
    repo = e.arch_value(arch, "GitRepo")
    # a local repository may be named relative to the library file (a project's own checkouts)
    if repo and "://" not in repo and ":" not in repo.split("/")[0] and not os.path.isabs(repo):
        repo = os.path.normpath(os.path.join(base_dir, repo))
    return GitSource(repo=repo, commit=e.arch_value(arch, "GitCommit"), directory=e.arch_value(arch, "Directory"),
                     file=e.arch_value(arch, "File"), fetch=e.arch_value(arch, "GitFetch"))


def _spec(spec: Any, where: str) -> tuple[str, str]:
    """(library file, tests file or "") of one item of ``library_files`` (a path, or ``{file, tests}``)."""
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
    return path, tests_path


def _load_manifest(path: str) -> lm.LibraryManifest:
    """The library file, parsed and validated; its first error as a LibraryReleaseError naming its line."""
    try:
        return lm.load(path).validate()
    except lm.LibraryManifestError as exc:
        raise LibraryReleaseError(path, str(exc.field or "(syntax)"), exc.value, exc.message,
                                  line=exc.line) from None
    except lm.InvalidLibraryManifest as exc:
        first = exc.errors[0]
        more = " (and %d more)" % (len(exc.errors) - 1) if len(exc.errors) > 1 else ""
        raise LibraryReleaseError(path, str(first.field or "(syntax)"), first.value, first.message + more,
                                  line=first.line) from None


class _SourceChecker:
    """Checks every architecture's Git source of a library file once per (source, builder) and reads the FROM
    images of its Dockerfile, collecting the repositories of the release it is built FROM (`depends`)."""

    def __init__(self, manifest: lm.LibraryManifest, name: str, cache: GitCache, release_names: set[str]) -> None:
        self.manifest, self.name, self.cache, self.release_names = manifest, name, cache, release_names
        self.path = manifest.filename
        self.base_dir = os.path.dirname(manifest.filename)
        self.depends: list[str] = []
        self.checked: dict[tuple[GitSource, str], list[str]] = {}  # (source, builder) -> its FROM images

    def froms(self, p: lm.Paragraph, e: Entry, archs: Sequence[str]) -> list[str]:
        """Every FROM image of the entry's Dockerfiles on ``archs``, first one first (stages left out)."""
        froms: list[str] = []
        for arch in archs:
            # an unknown Builder never gets here: the library file's validation refused it, naming its line
            builder = e.arch_value(arch, "Builder")
            src = _source(e, arch, self.base_dir)
            key = (src, builder)
            if key not in self.checked:
                self.checked[key] = self._check(p, e, arch, src, builder)
            for ref in self.checked[key]:
                if ref not in froms:
                    froms.append(ref)
        return froms

    def _check(self, p: lm.Paragraph, e: Entry, arch: str, src: GitSource, builder: str) -> list[str]:
        try:
            self.cache.check(src, builder)
            text = "" if builder == "oci-import" else self.cache.read(src)
        except GitSourceError as exc:
            fld = exc.field or "GitCommit"
            value = {"GitRepo": src.repo, "GitCommit": src.commit, "Directory": src.directory,
                     "File": src.file}.get(fld, src.commit)
            over = fld in ARCH_FIELDS and e.arch_value(arch, fld) != e.value(fld)
            raise LibraryReleaseError(self.path, ("%s-%s" % (arch, fld)) if over else fld, value,
                                      "entry %s (%s): %s" % (e.tags[0] if e.tags else "?", arch, exc.problem),
                                      line=_line(self.manifest, p, arch, fld)) from None
        refs = []
        for fl in from_lines(text):
            if fl.stage_parent:
                continue
            refs.append(fl.ref)
            try:
                repo = ImageRef.parse(fl.ref, default_tag="latest").short_repo
            except ImageRefError as exc:
                raise LibraryReleaseError(self.path, "File", src.file_path, "FROM %s: %s" % (fl.ref, exc.problem),
                                          line=_line(self.manifest, p, arch, "File")) from None
            if repo in self.release_names and repo not in self.depends and repo != self.name:
                self.depends.append(repo)
        return refs


def _planned(e: Entry, archs: list[str], froms: list[str], name: str, base_dir: str) -> Entry:
    """The entry as the release builds it: its architectures of the release, FROM images and repository; a
    relative local GitRepo resolved against the library file on the controller, as the builders get it."""
    overrides = {a: v for a, v in e.arch_overrides.items() if a in archs}
    return dataclasses.replace(
        e, architectures=archs, from_=froms, repo=name, git_repo=_source(e, archs[0], base_dir).repo,
        arch_overrides={a: dict(v, GitRepo=_source(e, a, base_dir).repo) if "GitRepo" in v else v
                        for a, v in overrides.items()})


def load_library(spec: Any, where: str, cache: GitCache, architectures: Sequence[str] | None,
                 release_names: set[str]) -> ReleaseLibrary:
    """One item of ``library_files`` (a path, or ``{file, tests}``) checked and planned; ``release_names`` are
    the repositories of the whole release (families and library files), for the FROM dependencies."""
    path, tests_path = _spec(spec, where)
    name = library_name(path)
    manifest = _load_manifest(path)
    checker = _SourceChecker(manifest, name, cache, release_names)
    entries: list[Entry] = []
    dropped: list[DroppedEntry] = []
    for p in manifest.paragraphs:
        e = lm.entry_from_paragraph(p, manifest.globals, path)
        archs = [a for a in e.architectures if architectures is None or a in architectures]
        if not archs:
            dropped.append(DroppedEntry(tags=e.tags, architectures=e.architectures, reason=NO_BUILDER_IN_RELEASE))
            continue
        froms = checker.froms(p, e, archs)
        entries.append(_planned(e, archs, froms, name, checker.base_dir))
    tests = load_tests_data(tests_path) if tests_path else GENERIC_TESTS
    return ReleaseLibrary(name, path, entries, dropped, checker.depends, tests)


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
