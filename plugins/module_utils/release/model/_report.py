# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The records of the release's last stages: the README batch (ReadmeResult, FamilyReadmes), the verify stage
(MemberVerification, TagVerification) and the release report's input and rows (HostResult, Unroutable, Cell,
Row).

A host's recorded result (the build role's `buildfarm_build_result`) is parsed once into a `HostResult`, whose
images, tests and pushes are the build stage's own records (model/_build.py): the report reads no raw dict of
another stage. The report itself (release/release_report.py `Report`) serializes its rows with these records'
`to_dict`; the JSON keeps the keys and values it always had.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from ansible_collections.buildfarm.images.plugins.module_utils.release.model._build import (
    BuildResult,
    ImagePushResult,
    ImageSmokeResult,
    PushStatus,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.model._list import ListAction
from ansible_collections.buildfarm.images.plugins.module_utils.release.model._record import (
    Fields,
    Record,
    Status,
)

# -- README ------------------------------------------------------------------------------------------------------


@dataclass
class ReadmeResult(Record):
    """One README of a batch (`readmes[]` of the readme module): written, or would be, when `changed`."""

    name: str
    arch: Union[str, None]  # None: the generic README
    path: str
    changed: bool = False

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "ReadmeResult":
        f = Fields(data, where)
        return cls(f.str("name"), f.str("arch", None) if f.data.get("arch") is not None else None, f.str("path"),
                   f.bool("changed", False))


@dataclass
class FamilyReadmes(Record):
    """The READMEs of one repository of a batch (`families[]` of the readme module)."""

    name: str
    changed: bool = False
    changed_files: list[str] = field(default_factory=list)
    readmes: list[ReadmeResult] = field(default_factory=list)

    def add(self, readme: ReadmeResult) -> None:
        self.readmes.append(readme)
        if readme.changed:
            self.changed_files.append(readme.path)
        self.changed = bool(self.changed_files)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "FamilyReadmes":
        f = Fields(data, where)
        return cls(f.str("name"), f.bool("changed", False), f.strs("changed_files"),
                   f.records(ReadmeResult, "readmes"))


# -- verify ------------------------------------------------------------------------------------------------------


class VerifyStatus(Status):
    """A verified member or tag: it checked out, or the failures say why not."""

    OK = "ok"
    FAILED = "failed"

    @classmethod
    def of(cls, failures: list[str]) -> "VerifyStatus":
        return cls.FAILED if failures else cls.OK


class _Verdict:
    """What a verified member and a verified tag share: ok when nothing failed."""

    failures: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def status(self) -> VerifyStatus:
        return VerifyStatus.of(self.failures)


@dataclass
class MemberVerification(_Verdict, Record):
    """One member (image) of a published list, read back: its image, attestation, provenance and SBOM."""

    architecture: str
    platform: str
    digest: str
    attestation: str = ""
    source: str = ""
    failures: list[str] = field(default_factory=list)
    sbom: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """`arch`, `ok`, `sbom`/`provenance` (the attestation holds one that checked out) and `message` are what
        release_report's `verified` reads; the details follow."""
        return {"arch": self.architecture, "platform": self.platform, "digest": self.digest,
                "attestation": self.attestation, "source": self.source, "ok": self.ok,
                "sbom": bool(self.sbom) and not any("SBOM" in f for f in self.failures),
                "provenance": bool(self.provenance) and not any("provenance" in f for f in self.failures),
                "message": "; ".join(self.failures), "failures": list(self.failures),
                "sbom_summary": dict(self.sbom), "provenance_summary": dict(self.provenance)}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "MemberVerification":
        """The member of `to_dict`; a summary of it (`arch`, `ok`, `sbom`, `provenance`, `message` only, as a
        report's `verified` shows it) is read too: its message is the failure, its flags the attestation's."""
        f = Fields(data, where)
        failures = f.strs("failures", None) if f.data.get("failures") is not None else (
            [f.str("message")] if f.str("message", "") else ["not verified"] if f.bool("ok", True) is False else [])
        sbom = f.mapping("sbom_summary", None) if f.data.get("sbom_summary") is not None else (
            {"present": True} if f.bool("sbom", False) else {})
        provenance = f.mapping("provenance_summary", None) if f.data.get("provenance_summary") is not None else (
            {"present": True} if f.bool("provenance", False) else {})
        return cls(f.str("arch"), f.str("platform", ""), f.str("digest", ""), f.str("attestation", ""),
                   f.str("source", ""), failures, sbom, provenance)


@dataclass
class TagVerification(_Verdict, Record):
    """One published tag, read back: the list's own failures, then each member's (prefixed)."""

    repository: str
    tag: str
    digest: str = ""
    members: list[MemberVerification] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return "%s:%s" % (self.repository, self.tag)

    def to_dict(self) -> dict:
        return {"repository": self.repository, "tag": self.tag, "reference": self.reference, "ok": self.ok,
                "digest": self.digest, "failures": list(self.failures), "message": "; ".join(self.failures),
                "members": [m.to_dict() for m in self.members]}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "TagVerification":
        f = Fields(data, where)
        return cls(f.str("repository"), f.str("tag"), f.str("digest", ""),
                   f.records(MemberVerification, "members"), f.strs("failures"))


# -- release report ----------------------------------------------------------------------------------------------


class CellStatus(Status):
    """A member's build in the report: the build stage's status, or why it has none."""

    BUILT = "built"
    UNCHANGED = "unchanged"
    PULLED = "pulled"  # unchanged, taken from the registry (the images' details only)
    WOULD_BUILD = "would-build"
    FAILED = "failed"
    SKIPPED = "skipped"
    SKIPPED_PARENT = "skipped: parent failed"  # not attempted: an image it is built FROM failed
    NOT_BUILT = "not-built"  # no builder result names it (a dry run, a builder that left it out)
    UNREACHABLE = "unreachable"  # its builder never reported
    UNROUTABLE = "unroutable"  # no builder of its architecture can build it


NOT_PUBLISHED = "not-published"  # a row's `published` when manifest_list said nothing of its tag


@dataclass
class Unroutable(Record):
    """An entry no builder of its architecture can build (a Windows builder's result names it)."""

    repo: str
    key: str
    arch: str = ""
    directory: str = ""
    tags: list[str] = field(default_factory=list)
    reason: str = ""

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "Unroutable":
        f = Fields(data, where)
        return cls(f.str("repo"), f.str("key"), f.str("arch", ""), f.str("directory", ""), f.strs("tags"),
                   f.str("reason", ""))


@dataclass
class HostResult(Record):
    """One builder's recorded result (the build role's `buildfarm_build_result`), the report's input."""

    arch: str = ""
    host: str = ""
    images: list[BuildResult] = field(default_factory=list)
    tests: list[ImageSmokeResult] = field(default_factory=list)
    pushed: list[ImagePushResult] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # pushed reference -> digest
    failed: list[str] = field(default_factory=list)  # entry keys
    unroutable: list[Unroutable] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "HostResult":
        f = Fields(data, where)
        return cls(f.str("arch", ""), f.str("host", ""), f.records(BuildResult, "images"),
                   f.records(ImageSmokeResult, "tests"), f.records(ImagePushResult, "pushed"),
                   f.str_map("digests"), f.strs("failed"), f.records(Unroutable, "unroutable"))


@dataclass
class Cell(Record):
    """One member of a report row: the build's status, the digest pushed and where, the tag's push."""

    status: Status  # a CellStatus, or the build stage's BuildStatus as image_build gave it
    digest: str = ""
    host: str = ""
    push: Union[PushStatus, str] = ""  # '' when the tag was not pushed at all


@dataclass
class Row(Record):
    """One tag of the report: a cell per architecture, and what publishing its list did."""

    repository: str
    tag: str
    shared: bool
    cells: dict[str, Cell] = field(default_factory=dict, metadata={"key": "architectures"})  # arch -> cell
    published: Union[ListAction, str] = NOT_PUBLISHED
    published_digest: str = ""
    message: str = ""
