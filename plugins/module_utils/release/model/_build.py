# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The build stage's records: what image_build gives (BuildResult), image_test (ImageSmokeResult) and image_push
(ImagePushResult, one PushedTag per tag).

A stage that reads another's output (image_test and image_push read image_build's items, the release report all
three) parses it with the record's `from_dict`, which names the item, the field and the value of anything
malformed. Image references are ImageRefs; they serialize as the engine names them (`ImageRef.familiar`: the
`127.0.0.1:5000/amd64/busybox:1.36` or `amd64/busybox:1.36` the builder tagged), so results read as before.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.release.model._record import (
    FAMILIAR_REF,
    OMIT_EMPTY,
    Fields,
    ModelError,
    Record,
    Status,
)


class BuildStatus(Status):
    BUILT = "built"
    UNCHANGED = "unchanged"
    WOULD_BUILD = "would-build"  # check mode
    FAILED = "failed"
    SKIPPED = "skipped"  # a parent failed: not attempted

    @property
    def has_image(self) -> bool:
        """The engine has the entry's image (tested, pushed)."""
        return self in (BuildStatus.BUILT, BuildStatus.UNCHANGED)

    @property
    def is_failure(self) -> bool:
        return self in (BuildStatus.FAILED, BuildStatus.SKIPPED)


class TestStatus(Status):
    """An image's smoke tests, as the progress file shows them (results keep `passed: true/false`)."""

    __test__ = False  # not a pytest class
    PASSED = "passed"
    FAILED = "failed"
    UNTESTED = "untested"  # its repository has no tests

    @classmethod
    def of(cls, passed: bool) -> "TestStatus":
        return cls.PASSED if passed else cls.FAILED


class PushStatus(Status):
    PUSHED = "pushed"
    UNCHANGED = "unchanged"
    WOULD_PUSH = "would-push"  # check mode
    FAILED = "failed"


def ref_text(ref: ImageRef) -> str:
    """A reference in a result: as the engine names it (what image_build tagged, what `docker images` shows)."""
    return ref.familiar()


def parse_refs(value: Any, where: str, key: str) -> list[ImageRef]:
    """A list of full image references (field `key` of `where`)."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, ImageRef)) for v in value):
        raise ModelError("must be a list of image references", where, key, value)
    return [v if isinstance(v, ImageRef) else ImageRef.parse(v, where=where, field="%s[%d]" % (key, i))
            for i, v in enumerate(value)]


@dataclass
class BuildParent(Record):
    """A FROM image of an entry (build stages left out)."""

    name: str  # the reference as written in the Dockerfile
    key: str = ""  # the entry of this release that provides it, else ""
    image_id: str = ""  # the engine's image it was built from
    digest: str = ""  # its registry manifest digest when known (an external parent), else ""

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "BuildParent":
        f = Fields(data, where)
        return cls(f.str("name"), f.str("key", ""), f.str("image_id", ""), f.str("digest", ""))


@dataclass
class BuildResult(Record):
    """One entry of a builder's share, as image_build returns it (`images[]`)."""

    key: str
    repo: str
    tags: list[ImageRef] = field(metadata=FAMILIAR_REF)  # full references, <registry>/<namespace>/<repo>:<tag>
    status: BuildStatus
    image_id: str = ""
    input_digest: str = ""
    retagged: list[ImageRef] = field(default_factory=list, metadata=FAMILIAR_REF)
    pulled: str = ""  # the registry reference (by digest) an unchanged image was pulled from, else ""
    error: str = ""
    log_tail: list[str] = field(default_factory=list)
    builder: str = ""  # the normalized builder: buildkit | classic | oci-import
    started: str = ""  # RFC 3339, UTC: when this entry's turn began and ended
    finished: str = ""
    size: int = 0  # the engine's Size of the image, in bytes
    parents: list[BuildParent] = field(default_factory=list)
    # how long the entry took on its builder (image_build gives it for every entry it handled, unchanged ones
    # too); None when the producer gave none (a Windows builder's build.ps1 item)
    seconds: Optional[float] = field(default=None, metadata=OMIT_EMPTY)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "BuildResult":
        f = Fields(data, where)
        key = f.str("key")
        if not key:
            raise ModelError("must be the entry's key (<repository>:<first tag>)", where, "key", key)
        return cls(
            key=key, repo=f.str("repo", key.partition(":")[0]), tags=parse_refs(f.data.get("tags") or [], where,
                                                                                "tags"),
            status=f.enum(BuildStatus, "status"), image_id=f.str("image_id", ""),
            input_digest=f.str("input_digest", ""),
            retagged=parse_refs(f.data.get("retagged") or [], where, "retagged"), pulled=f.str("pulled", ""),
            error=f.str("error", ""), log_tail=f.strs("log_tail"), builder=f.str("builder", ""),
            started=f.str("started", ""), finished=f.str("finished", ""), size=f.int("size", 0),
            parents=f.records(BuildParent, "parents"),
            seconds=f.float("seconds") if f.data.get("seconds") is not None else None)

    @property
    def touched(self) -> bool:
        """Built, or would be, or given tags or pulled: a change on the engine."""
        return self.status in (BuildStatus.BUILT, BuildStatus.WOULD_BUILD) or bool(self.retagged or self.pulled)


def build_results(items: Sequence[Any], where: str = "images") -> list[BuildResult]:
    """image_build's `images` result, each item parsed (`images[2]` names a bad one)."""
    if not isinstance(items, (list, tuple)):
        raise ModelError("must be a list of image_build items", where, None, items)
    return [item if isinstance(item, BuildResult) else BuildResult.from_dict(item, "%s[%d]" % (where, n))
            for n, item in enumerate(items)]


@dataclass
class SmokeResult(Record):
    """One smoke test of an image."""

    name: str
    passed: bool
    exit_code: int | None = None
    output: str = ""  # the tail of stdout and stderr
    reason: str = ""  # why it failed

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "SmokeResult":
        f = Fields(data, where)
        code = f.data.get("exit_code")
        return cls(f.str("name"), f.bool("passed"), None if code is None else f.int("exit_code"),
                   f.str("output", ""), f.str("reason", ""))


@dataclass
class ImageSmokeResult(Record):
    """An image's smoke tests, as image_test returns them (`results[]`)."""

    key: str
    image_id: str
    passed: bool
    cached: bool = False  # a pass marker of this image and test file made the run unnecessary
    tests: list[SmokeResult] = field(default_factory=list)
    # when this image's suite ran (RFC 3339 UTC) and how long, for the release report; a cached pass took no time
    started: str = ""
    finished: str = ""
    seconds: float = 0.0

    @property
    def failed_tests(self) -> list[str]:
        return [t.name for t in self.tests if not t.passed]

    @property
    def state(self) -> TestStatus:
        return TestStatus.of(self.passed)

    def to_dict(self) -> dict[str, Any]:
        items = list(super().to_dict().items())
        # a derived field the report and the play read: placed after the tests, as it always was
        items.insert([k for k, _v in items].index("tests") + 1, ("failed_tests", self.failed_tests))
        return dict(items)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "ImageSmokeResult":
        f = Fields(data, where)
        return cls(f.str("key"), f.str("image_id", ""), f.bool("passed"), f.bool("cached", False),
                   f.records(SmokeResult, "tests"), f.str("started", ""), f.str("finished", ""),
                   f.float("seconds", 0.0))


@dataclass
class PushedTag(Record):
    """One tag of an image push: the OCI index it serves (or would, or why not)."""

    ref: ImageRef = field(metadata=FAMILIAR_REF)
    status: PushStatus
    digest: str = ""  # the index the tag serves
    attempts: int = 0
    error: str = ""
    image_digest: str = ""  # the index's manifests[0]
    attestation_digest: str = ""  # its manifests[1], "" without one
    # digest -> JSON text of the index, image manifest and attestation manifest the push wrote (or read, for an
    # unchanged image), on the first tag of each repository: the publish lists and copies them without reading them
    # back from the registry. Not kept on the other tags, which serve the same index (a result stays small).
    manifests: dict[str, str] = field(default_factory=dict, metadata=OMIT_EMPTY)

    @property
    def text(self) -> str:
        """The reference as results name it (the `digests` result's keys)."""
        return ref_text(self.ref)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "PushedTag":
        f = Fields(data, where)
        return cls(f.ref("ref"), f.enum(PushStatus, "status"), f.str("digest", ""), f.int("attempts", 0),
                   f.str("error", ""), f.str("image_digest", ""), f.str("attestation_digest", ""),
                   f.str_map("manifests", {}))


@dataclass
class ImagePushResult(Record):
    """An image's push, as image_push returns it (`images[]`); `ok` (no tag failed) is derived."""

    key: str
    image_id: str
    tags: list[PushedTag] = field(default_factory=list)
    started: str = ""
    finished: str = ""

    @property
    def ok(self) -> bool:
        return all(t.status != PushStatus.FAILED for t in self.tags)

    @property
    def state(self) -> PushStatus:
        """One word for the image: failed when a tag failed, else pushed (or would-push) when a tag was, else
        unchanged."""
        statuses = {t.status for t in self.tags}
        for state in (PushStatus.FAILED, PushStatus.PUSHED, PushStatus.WOULD_PUSH):
            if state in statuses:
                return state
        return PushStatus.UNCHANGED

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        return dict(key=out.pop("key"), image_id=out.pop("image_id"), ok=self.ok, **out)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "ImagePushResult":
        f = Fields(data, where)
        return cls(f.str("key"), f.str("image_id", ""), f.records(PushedTag, "tags"), f.str("started", ""),
                   f.str("finished", ""))
