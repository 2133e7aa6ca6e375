# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release bundle's records: the bundle (release.json) and each family of it, as release_prepare writes them and
the builders, the Windows hosts and the report read them back.

One family record carries its entries once; the views a module returns (what is published, what gets a README)
are derived from it by functions (release/batch.py), never stored beside it. A family of the release is either a
family folder rendered on the controller (`kind: family`) or a library file built from Git (`kind: library`); each
kind has a few keys of its own, and release.json has exactly those of its kind.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.release.model._entry import DroppedEntry, Entry
from ansible_collections.buildfarm.images.plugins.module_utils.release.model._record import (
    Fields,
    ModelError,
    Record,
    Status,
)

BUNDLE_FORMAT = "buildfarm-release/1"


class FamilyKind(Status):
    FAMILY = "family"  # a family folder, rendered on the controller
    LIBRARY = "library"  # a library file's repository, built from Git


# the keys only one kind has in release.json (and in release_prepare's result)
_ONLY = {FamilyKind.FAMILY: ("family_folder", "templates", "sources", "debian_releases"),
         FamilyKind.LIBRARY: ("library_file",)}


def _entries(value: Any, where: str, repo: str) -> list[Entry]:
    """The family's entries, each knowing its repository (an entry's key is `<repository>:<first tag>`)."""
    if not isinstance(value, (list, tuple)):
        raise ModelError("must be a list", where, "entries", value)
    return [e if isinstance(e, Entry) else Entry.from_dict(e, "%s.entries[%d]" % (where, i), repo=repo)
            for i, e in enumerate(value)]


@dataclass
class BundleFamily(Record):
    """One family (or library file's repository) of the release, as release.json holds it."""

    name: str
    kind: FamilyKind
    repository: str
    entries: list[Entry]
    dropped: list[DroppedEntry] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)  # the families of the release it is built FROM
    scratch: bool = False  # every entry FROM scratch
    context: dict[str, Any] = field(default_factory=dict)  # family.yml build.context, as the builders get it
    build_args: dict[str, str] = field(default_factory=dict)
    tests: Any = None  # the smoke tests file's data (validated when loaded), None without one
    source: str = ""  # org.opencontainers.image.source
    revision: str = ""
    created: str = ""
    # kind family: what the attestations say of the recipe (attest/provenance.py): the family folder in its
    # repository, each entry directory's template and declared sources, the Debian Release files planned from
    family_folder: str = ""
    templates: dict[str, str] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)
    debian_releases: dict[str, Any] = field(default_factory=dict)
    library_file: str = ""  # kind library: the library file

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        for kind, keys in _ONLY.items():
            if kind != self.kind:
                for key in keys:
                    out.pop(key, None)
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "BundleFamily":
        """A family of release.json, or of release_prepare's `families` result (which has no `context`,
        `build_args` and attestation keys, and a `render_dir`: missing keys get their defaults, others are
        ignored)."""
        f = Fields(data, where)
        name = f.str("name")
        where = "%s (%s)" % (where, name)
        f = Fields(data, where)
        tests = f.data.get("tests")
        if tests is not None and not isinstance(tests, (Mapping, list)):
            raise ModelError("must be the smoke tests' data (a mapping) or null", where, "tests", tests)
        return cls(
            name=name, kind=f.enum(FamilyKind, "kind", FamilyKind.FAMILY),
            repository=f.str("repository", "library/" + name),
            entries=_entries(f.data.get("entries") or [], where, name),
            dropped=f.records(DroppedEntry, "dropped"), depends_on=f.strs("depends_on"),
            scratch=f.bool("scratch", False), context=f.mapping("context"),
            build_args={k: str(v) for k, v in f.mapping("build_args").items()}, tests=tests,
            source=f.str("source", ""), revision=f.str("revision", ""), created=f.str("created", ""),
            family_folder=f.str("family_folder", ""), templates=f.str_map("templates"),
            sources=f.mapping("sources"), debian_releases=f.mapping("debian_releases"),
            library_file=f.str("library_file", ""))

    def entry(self, key: str) -> Entry | None:
        """Entry ``key`` (`<repository>:<first tag>`) of this family, None when it has none such."""
        return next((e for e in self.entries if e.key == key), None)


@dataclass
class ReleaseBundle(Record):
    """release.json: the release's families in dependency order (a family after those it is built FROM)."""

    architectures: list[str]
    families: list[BundleFamily]
    format: str = BUNDLE_FORMAT

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "ReleaseBundle":
        f = Fields(data, where)
        fmt = f.data.get("format")
        if fmt != BUNDLE_FORMAT:
            raise ModelError("not a %s bundle" % BUNDLE_FORMAT, where, "format", fmt)
        return cls(architectures=f.strs("architectures"), families=f.records(BundleFamily, "families"),
                   format=fmt)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.families]

    def family(self, name: str) -> BundleFamily | None:
        return next((f for f in self.families if f.name == name), None)

    def entry(self, key: str) -> tuple[BundleFamily, Entry] | None:
        """(family, entry) of entry ``key`` (`<repository>:<first tag>`), None when the release has no such entry."""
        for fam in self.families:
            e = fam.entry(key)
            if e is not None:
                return fam, e
        return None

    def tests(self) -> dict[str, Any]:
        """Family name -> its smoke tests data, for the families that have tests."""
        return {f.name: f.tests for f in self.families if f.tests}
