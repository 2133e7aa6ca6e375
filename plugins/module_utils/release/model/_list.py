# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The list stage's records: what manifest_list did with each tag (`ListResult`) and the members of a list.

A list's member is shown as the registry-relative reference it was resolved from (`arm64v8/python:3.13`, "" for a
member carried forward), its platform and digest; the registry module's working `Member` (descriptors, manifest
bytes) stays in registry/list_members.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.buildfarm.images.plugins.module_utils.release.model._record import Fields, Record, Status


class ListAction(Status):
    """What happened to one tag. Check mode says what would happen (`would-<verb>`: was `would_<verb>`)."""

    UNCHANGED = "unchanged"
    CREATED = "created"
    UPDATED = "updated"
    REPAIRED = "repaired"
    FAILED = "failed"
    WOULD_CREATE = "would-create"
    WOULD_UPDATE = "would-update"
    WOULD_REPAIR = "would-repair"

    @property
    def is_dry_run(self) -> bool:
        return self.value.startswith("would-")

    def would(self) -> "ListAction":
        """The check-mode spelling of a write (created -> would-create); others stay as they are."""
        return _WOULD.get(self, self)


_WOULD = {ListAction.CREATED: ListAction.WOULD_CREATE, ListAction.UPDATED: ListAction.WOULD_UPDATE,
          ListAction.REPAIRED: ListAction.WOULD_REPAIR}


@dataclass
class ListMember(Record):
    """One member of a list as results and diffs show it."""

    architecture: str
    platform: str
    os_version: str
    digest: str
    source: str = ""  # the registry-relative reference it was resolved from; "" when carried forward
    annotations: dict[str, str] = field(default_factory=dict)
    attestation: str = ""  # the digest of its attestation manifest, "" when it has none

    @classmethod
    def from_dict(cls, data: Any, where: str = "member") -> "ListMember":
        f = Fields(data, where)
        return cls(f.str("architecture"), f.str("platform"), f.str("os_version", ""), f.str("digest"),
                   f.str("source", ""), f.str_map("annotations"), f.str("attestation", ""))

    def diff_line(self) -> str:
        return "%s %s %s%s%s\n" % (
            self.platform, self.os_version or "-", self.digest,
            "".join(" %s=%s" % kv for kv in sorted(self.annotations.items())),
            " attestation=%s" % self.attestation if self.attestation else "")


_SKIP = {"skip": True}


@dataclass
class ListResult(Record):
    """The outcome of one tag of a manifest_list call (`lists[]` of its result)."""

    tag: str
    action: ListAction = ListAction.UNCHANGED
    changed: bool = False
    digest: str = ""
    previous_digest: str = ""
    media_type: str = ""
    members: list[ListMember] = field(default_factory=list)
    previous_members: list[ListMember] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list, metadata={"key": "missing_architectures"})
    # members without an attestation (`<arch> (<ref>)`)
    unattested: list[str] = field(default_factory=list, metadata={"key": "missing_attestations"})
    carried: list[str] = field(default_factory=list, metadata={"key": "carried_forward"})
    # architectures the new list no longer has (said so)
    dropped: list[str] = field(default_factory=list, metadata={"key": "dropped_architectures"})
    # architectures it would have lost (not published: fail)
    lost: list[str] = field(default_factory=list, metadata={"key": "lost_architectures"})
    # member digests copied back into the repository
    repaired: list[str] = field(default_factory=list, metadata={"key": "repaired_members"})
    message: str = ""
    # For the diff only (not part of the result): the index annotations of the list published before.
    previous_annotations: dict[str, str] = field(default_factory=dict, metadata=_SKIP)

    @property
    def written(self) -> bool:
        """Written, or would be in check mode."""
        return self.changed or self.action.is_dry_run

    @property
    def failed(self) -> bool:
        return self.action == ListAction.FAILED

    def fail(self, message: str) -> None:
        self.action, self.message = ListAction.FAILED, message

    @classmethod
    def from_dict(cls, data: Any, where: str = "list") -> "ListResult":
        f = Fields(data, where)
        return cls(
            f.str("tag"), f.enum(ListAction, "action"), f.bool("changed", False), f.str("digest", ""),
            f.str("previous_digest", ""), f.str("media_type", ""), f.records(ListMember, "members"),
            f.records(ListMember, "previous_members"), f.str_map("annotations"), f.strs("missing_architectures"),
            f.strs("missing_attestations"), f.strs("carried_forward"), f.strs("dropped_architectures"),
            f.strs("lost_architectures"), f.strs("repaired_members"), f.str("message", ""))

    def diff(self) -> dict[str, str]:
        """Ansible's diff of this tag: index annotations and members before and after."""
        return {"before_header": "%s (%s)" % (self.tag, self.previous_digest or "absent"),
                "after_header": "%s (%s)" % (self.tag, self.digest),
                "before": diff_lines(self.previous_members, self.previous_annotations),
                "after": diff_lines(self.members, self.annotations)}


def diff_lines(members: list[ListMember], annotations: dict[str, str]) -> str:
    index = "".join("annotation %s=%s\n" % kv for kv in sorted(annotations.items()))
    return index + "".join(m.diff_line() for m in members)


@dataclass
class RepositoryLists(Record):
    """One repository of a batch call (`repositories[]` of manifest_list's result)."""

    repository: str
    lists: list[ListResult] = field(default_factory=list)
    published: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any, where: str = "repository") -> "RepositoryLists":
        f = Fields(data, where)
        return cls(f.str("repository"), f.records(ListResult, "lists"), f.strs("published"))
