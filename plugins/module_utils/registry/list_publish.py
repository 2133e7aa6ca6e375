# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Publishing planned manifest lists: resolve their members, compare with what is published, and PUT only what
changed. Each tag is a single manifest PUT, so after any failure every tag is either its old or its new list.

A member without its attestation is incomplete (the completeness policy applies) unless attestations are not
required. Before a list is written its members (and attestations) are made present in the target repository.
"""
from __future__ import annotations

import contextlib
import enum
import functools
import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence, TypeVar

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.architectures import Platform
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import validate_repository
from ansible_collections.buildfarm.images.plugins.module_utils.registry._locks import repository_lock
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_members import (
    KnownManifests,
    Member,
    MemberReader,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import (
    POLICIES,
    ListSpec,
    MemberSource,
    PublishError,
    check_annotations,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    Descriptor,
    RegistryClient,
    RegistryError,
    sha256_digest,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import ListAction, ListResult


class Presence(enum.Enum):
    """What making a member present in the list's repository did."""

    PRESENT = "present"  # it was there
    COPIED = "copied"
    WOULD_COPY = "would-copy"  # check mode


@dataclass(frozen=True)
class _Outcome:
    """A member check's outcome (a worker never raises): ``problem``, why the member cannot be listed (its image
    config is another platform, the registry refused, the manifest is unreadable), else ``presence`` (what the
    presence check did; None for the platform check)."""

    problem: str = ""
    presence: Presence | None = None


def serialize(members: Sequence[Member], annotations: Mapping[str, str] | None = None) -> tuple[bytes, str]:
    """Deterministic bytes of the list and its media type: a Docker list iff all members are Docker v2 and
    nothing is annotated or attested (a Docker list has no annotations), otherwise an OCI index. Each member's
    attestation descriptor follows its image descriptor."""
    ordered = sorted(members, key=lambda m: architectures.platform_sort_key(m.platform))
    docker = not annotations and all(m.descriptor.media_type == DOCKER_MANIFEST and not m.annotations
                                     and m.attestation is None for m in ordered)
    media_type = DOCKER_LIST if docker else OCI_INDEX
    doc: dict = {"schemaVersion": 2, "mediaType": media_type,
                 "manifests": [d for m in ordered for d in m.to_index()]}
    if annotations:
        doc["annotations"] = dict(sorted(annotations.items()))
    return (json.dumps(doc, indent=3) + "\n").encode("utf-8"), media_type


@dataclass
class _Tag:
    """One tag's work: its result, and the members and bytes of the list it would PUT."""

    spec: ListSpec
    result: ListResult
    members: list[Member] = field(default_factory=list)
    data: bytes = b""


@dataclass
class Publisher:
    client: RegistryClient
    namespace: str
    repository: str
    policy: str = "fail"
    concurrency: int = 8
    check_mode: bool = False
    # Index-level annotations, and whether each member is annotated with its architecture and tag.
    annotations: Mapping[str, str] = field(default_factory=dict)
    member_annotations: bool = False
    warnings: list[str] = field(default_factory=list)
    # Architectures a list may lose on purpose (bashbrew names); any other loss follows the policy.
    drop_architectures: Sequence[str] = ()
    # Seconds a second publisher of the same repository waits for the first (0: stop at once); where locks live.
    lock_timeout: float = 600.0
    lock_dir: str = ""
    # A member without its attestation manifest is incomplete (the policy applies); False accepts bare
    # members (older releases, registries holding images pushed without attestations).
    require_attestations: bool = True
    # HEAD every member and attestation of an unchanged list in the target repository, copying back what is gone
    # (2 requests a member); False trusts that what a list points at stays (the verify stage reads back the members
    # of a list it has not passed before, not those of one it passed in an earlier run).
    check_unchanged_members: bool = True
    # What the release's push stage wrote (image_push's results): its members are listed and copied from these
    # bytes instead of being read back (a GET per member and per manifest copied spared).
    known: KnownManifests = field(default_factory=KnownManifests)

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise PublishError("missing_architectures: %r is not one of %s" % (self.policy, ", ".join(POLICIES)))
        for arch in self.drop_architectures:
            if not architectures.is_known(arch):
                raise PublishError("drop_architectures: unknown architecture %r (known: %s)"
                                   % (arch, ", ".join(architectures.ARCHITECTURES)))
        self.annotations = check_annotations(self.annotations)
        self.target = "%s/%s" % (self.namespace, self.repository) if self.namespace else self.repository
        validate_repository(self.target, field="namespace/repository")
        self.reader = MemberReader(self.client, self.member_annotations, self.known)
        self._lock = threading.Lock()
        self._mounts: dict[str, Future] = {}
        self._verified: dict[str, Future] = {}  # member digest -> its platform check's _Outcome
        self._present: dict[str, Future] = {}  # member digest -> its presence's _Outcome
        # The target repository did not exist when the publish started: nothing can be in it, so members are
        # copied without asking first (a HEAD per image and attestation spared).
        self._fresh = False

    # -- the publish -------------------------------------------------------------------------------

    def publish(self, specs: Sequence[ListSpec]) -> list[ListResult]:
        """Publish one repository's lists, holding its lock (a second publisher waits or stops)."""
        return publish_many([(self, specs)], self.concurrency)[0]

    def _start(self, pool: ThreadPoolExecutor, specs: Sequence[ListSpec]) -> tuple[list[ListResult], list[Future]]:
        """Start every tag's work in `pool`; returns the results (filled in as it goes) and the futures to wait
        for. Only the first HEADs run in the calling thread."""
        tags = [_Tag(spec, ListResult(spec.tag)) for spec in specs]
        existing = self._published(pool, specs)
        for tag, ex in zip(tags, existing):
            if isinstance(ex, str):
                tag.result.fail(ex)
        unique = sorted({s for spec in specs for s in spec.sources}, key=lambda s: (s.reference, s.architecture))
        resolving = {s: pool.submit(self.reader.resolve, s) for s in unique}
        # No barrier between resolving, copying and publishing: each tag goes on as soon as its own members
        # are resolved, so the registry never idles while the slowest member of the release is looked up.
        # partial binds this iteration's tag and ex (a closure would see the last ones)
        stages = [_after(pool, [resolving[s] for s in tag.spec.sources],
                         functools.partial(self._stage, pool, tag, ex, resolving))
                  for tag, ex in zip(tags, existing) if not isinstance(ex, str)]
        return [tag.result for tag in tags], stages

    def _stage(self, pool: ThreadPoolExecutor, tag: _Tag, existing: Descriptor | None,
               resolving: Mapping[MemberSource, Future]) -> Future | None:
        """Decide one tag once its members are resolved; returns the future of its PUT (or repair), if any."""
        result = tag.result
        try:
            self._prepare(tag, {s: resolving[s].result() for s in tag.spec.sources}, existing)
        except RegistryError as exc:
            result.fail("not published: %s" % exc)
            return None
        if result.failed or (result.action == ListAction.UNCHANGED and not self.check_unchanged_members):
            return None
        pieces = _pieces(tag.members)
        if result.action == ListAction.UNCHANGED:
            # The list is as wanted, but a member deleted from the repository would leave it dangling: HEAD each
            # member and attestation (once per digest for the whole publish) and copy back what is gone.
            needed = [self._presence(pool, m) for m in pieces]
            return _after(pool, needed, lambda: self._repaired(result, pieces, needed))
        if self.check_mode:
            result.action = result.action.would()
        # Before a list is written: each member's image config is its platform, and each member and its
        # attestation are in the target repository (copied there if not); then the list (never points at nothing).
        needed = [self._verify(pool, m) for m in tag.members if m.source is not None and not m.from_index]
        needed += [self._presence(pool, m) for m in pieces]
        return _after(pool, needed, lambda: self._put(tag, needed))

    def _published(self, pool: ThreadPoolExecutor, specs: Sequence[ListSpec]) -> list[Descriptor | None | str]:
        """What each tag is now: a HEAD per tag, or why it cannot be told (that tag fails, the others go on).
        When the first tag is absent (a new repository, new tags), one tags/list spares the HEADs of the tags
        not there. The first HEAD's failure is the whole publish's: a registry that cannot be reached fails once,
        saying why."""
        if not specs:
            return []
        first = self.client.head_manifest(self.target, specs[0].tag)
        rest = [spec.tag for spec in specs[1:]]
        if first is None:
            listed = self.client.list_tags(self.target)
            self._fresh = listed is None
            there = set(listed or ())
            rest = [tag for tag in rest if tag in there]

        def head(tag: str) -> Descriptor | None | str:
            try:
                return self.client.head_manifest(self.target, tag)
            except RegistryError as exc:
                return "not published: cannot tell what is published: %s" % exc
        now: dict[str, Descriptor | None | str] = dict(zip(rest, pool.map(head, rest)))
        now[specs[0].tag] = first
        return [now.get(spec.tag) for spec in specs]

    # -- deciding one tag --------------------------------------------------------------------------

    def _prepare(self, tag: _Tag, resolved: Mapping[MemberSource, Member | None], existing: Descriptor | None) -> None:
        """The list wanted under one tag, and its action: created, updated, unchanged or failed (saying why)."""
        result = tag.result
        members, missing = self._complete(tag.spec, resolved, result)
        if result.failed:
            return
        previous: list[Member] | None = None
        if existing is not None:
            result.previous_digest = existing.digest
        drop = set(self.drop_architectures)
        if missing and self.policy == "keep-previous" and existing is not None:
            previous, result.previous_annotations = self.reader.published(self.target, existing)
            self._carry(previous, members, {s.architecture for s in missing} - drop, result)
        lost = [s.architecture for s in missing if s.architecture not in result.carried]
        if lost:
            self._warn_lost(tag.spec.tag, lost, result)
        if not self._one_per_platform(members, result):
            return
        self._serialize(members, tag)
        if existing is None:
            result.action = ListAction.CREATED
            return
        if existing.digest == result.digest:
            return  # unchanged
        result.action = ListAction.UPDATED
        # Only a changing list costs a GET: the diff of members, and no architecture lost unnoticed.
        if previous is None:
            previous, result.previous_annotations = self.reader.published(self.target, existing)
        result.previous_members = [m.summary() for m in previous]
        self._shrunk(tag, previous, members, lost, existing)

    def _complete(self, spec: ListSpec, resolved: Mapping[MemberSource, Member | None], result: ListResult
                  ) -> tuple[list[Member], list[MemberSource]]:
        """The members found and the sources missing (absent, or without the attestation they need); under
        policy `fail` an incomplete list fails."""
        members = [m for m in (resolved[s] for s in spec.sources) if m is not None]
        missing = [s for s in spec.sources if resolved[s] is None]
        result.missing = ["%s (%s)" % (s.architecture, s.reference) for s in missing]
        # A member without its attestation is incomplete, as a missing one is (Windows images are attested too,
        # by windows_attest after their push).
        bare = [s for s in spec.sources if self.require_attestations and _unattested(resolved[s])]
        result.unattested = ["%s (%s)" % (s.architecture, s.reference) for s in bare]
        if (missing or bare) and self.policy == "fail":
            result.fail("not published: " + "; ".join(
                ([("missing architecture images %s" % ", ".join(result.missing))] if missing else [])
                + ([("members without their attestation %s (require_attestations: false publishes them bare)"
                     % ", ".join(result.unattested))] if bare else [])))
        elif bare:
            bare_refs = {s.reference for s in bare}
            members = [m for m in members if m.name not in bare_refs]
            missing = missing + bare
        return members, missing

    def _warn_lost(self, tag: str, lost: Sequence[str], result: ListResult) -> None:
        self.warnings.append("%s:%s published without %s (%s)" % (
            self.target, tag, ", ".join(lost), "; ".join(
                ([("images missing: %s" % ", ".join(result.missing))] if result.missing else [])
                + ([("without attestation: %s" % ", ".join(result.unattested))] if result.unattested else []))))

    @staticmethod
    def _one_per_platform(members: Sequence[Member], result: ListResult) -> bool:
        """False (the tag failed, saying why) for a list of no member or of two members of one platform."""
        if not members:
            result.fail("not published: no member image exists")
            return False
        platforms: dict[Platform, Member] = {}
        for m in members:
            if m.platform in platforms:
                result.fail("not published: %s and %s are both %s%s (a list has one member per platform)" % (
                    platforms[m.platform].name, m.name, m.platform,
                    " " + m.platform.os_version if m.platform.os_version else ""))
                return False
            platforms[m.platform] = m
        return True

    def _shrunk(self, tag: _Tag, previous: Sequence[Member], members: list[Member], lost: Sequence[str],
                existing: Descriptor) -> None:
        """An updated list that has fewer architectures than the published one: fails, carries them forward or
        drops them (said so), by policy; the ones drop_architectures names are dropped."""
        result, drop = tag.result, set(self.drop_architectures)
        had = {m.architecture for m in previous}
        shrunk = sorted(had - {m.architecture for m in members} - set(lost) - drop,
                        key=architectures.sort_names(list(had)).index)
        if shrunk and self.policy == "fail":
            # Whatever the reason (an entry's architectures shrunk, a builder group gone from the inventory), a
            # published list does not lose a platform unless drop_architectures names it.
            result.lost = shrunk
            result.fail("not published: the list would lose %s (published with %s); name them in "
                        "drop_architectures to drop them on purpose, or use missing_architectures keep-previous "
                        "or skip" % (", ".join(shrunk), ", ".join(architectures.sort_names(had))))
            return
        if shrunk and self.policy == "keep-previous":
            self._carry(previous, members, set(shrunk), result)
            self._serialize(members, tag)
            if existing.digest == result.digest:
                result.action, result.previous_members = ListAction.UNCHANGED, []
                return
        elif shrunk:
            result.dropped.extend(shrunk)
            self.warnings.append("%s:%s no longer lists %s (missing_architectures: skip)"
                                 % (self.target, tag.spec.tag, ", ".join(shrunk)))
        on_purpose = sorted((had - {m.architecture for m in members}) & drop)
        if on_purpose:
            result.dropped.extend(on_purpose)
            self.warnings.append("%s:%s no longer lists %s (drop_architectures)"
                                 % (self.target, tag.spec.tag, ", ".join(on_purpose)))

    def _carry(self, previous: Sequence[Member], members: list[Member], archs: set[str], result: ListResult) -> None:
        """Carry the published members of `archs` forward into `members` (keep-previous)."""
        have = {m.platform for m in members}
        for arch in architectures.sort_names(archs):
            kept = [m for m in previous if m.architecture == arch and m.platform not in have]
            members.extend(kept)
            if kept and arch not in result.carried:
                result.carried.append(arch)

    def _serialize(self, members: Sequence[Member], tag: _Tag) -> None:
        result = tag.result
        result.annotations = dict(self.annotations)
        tag.data, result.media_type = serialize(members, self.annotations)
        tag.members = sorted(members, key=lambda m: architectures.platform_sort_key(m.platform))
        result.members = [m.summary() for m in tag.members]
        result.digest = sha256_digest(tag.data)

    # -- members: platform check, presence, copy -----------------------------------------------------

    def _once(self, table: dict[str, Future], pool: ThreadPoolExecutor, member: Member,
              fn: Callable[[Member], _Outcome]) -> Future:
        with self._lock:
            future = table.get(member.descriptor.digest)
            if future is None:
                future = table[member.descriptor.digest] = pool.submit(_outcome_of, fn, member)
            return future

    def _verify(self, pool: ThreadPoolExecutor, member: Member) -> Future:
        return self._once(self._verified, pool, member, lambda m: _Outcome(problem=self._check_platform(m)))

    def _presence(self, pool: ThreadPoolExecutor, member: Member) -> Future:
        return self._once(self._present, pool, member, lambda m: _Outcome(presence=self._make_present(m)))

    def _check_platform(self, member: Member) -> str:
        """"" when the member's image config says the platform it is listed as (os, architecture, variant)."""
        manifest = member.manifest or self.reader.manifest(member.source_repository, member.descriptor.digest)
        config_ref = (manifest.json().get("config") or {}).get("digest")
        if not config_ref:
            return "member %s (%s) has no image config" % (member.name, member.descriptor.digest)
        config = json.loads(self.client.get_blob(member.source_repository, config_ref))
        actual = Platform(str(config.get("os", "")), str(config.get("architecture", "")),
                          str(config.get("variant", "") or ""))
        wanted = member.platform
        # A config may leave the variant out (arm64's v8 especially); when it names one it must be the same.
        variant_ok = not actual.variant or not wanted.variant or actual.variant == wanted.variant
        if (actual.os, actual.architecture) != (wanted.os, wanted.architecture) or not variant_ok:
            return ("member %s (%s) is %s by its image config, not %s (check arch_namespaces and what was "
                    "pushed there)" % (member.name, member.descriptor.digest, actual, Platform(
                        wanted.os, wanted.architecture, wanted.variant)))
        return ""

    def _make_present(self, member: Member) -> Presence:
        """Make the member manifest exist in the target repository: present, copied (or would-copy in check mode),
        else raises a RegistryError saying why not."""
        digest = member.descriptor.digest
        if not self._fresh and self.client.head_manifest(self.target, digest) is not None:
            return Presence.PRESENT
        if member.source is None:
            raise RegistryError("member %s (%s, carried forward) no longer exists and has no source to copy it "
                                "from" % (digest, member.platform), self.client.registry, self.target)
        if self.check_mode:
            return Presence.WOULD_COPY
        self._copy(member)
        return Presence.COPIED

    def _copy(self, member: Member) -> None:
        """Blobs mounted from the arch repository, then the manifest PUT by digest (registries check both)."""
        digest = member.descriptor.digest
        source_repo = member.source_repository
        manifest = member.manifest or self.reader.manifest(source_repo, digest)
        doc = manifest.json()
        for blob in [doc.get("config") or {}] + list(doc.get("layers") or []):
            # Foreign (Windows base) layers stay where they are.
            if blob.get("digest") and not blob.get("urls"):
                self._mount_once(blob["digest"], source_repo, digest)
        self.client.put_manifest(self.target, digest, manifest.data, manifest.media_type)

    def _mount_once(self, blob: str, source_repo: str, member_digest: str) -> None:
        """Mount a blob shared by several members once; the others wait for that mount to finish (or fail),
        since their manifest PUT is refused while the blob is not in the target repository yet."""
        with self._lock:
            mount = self._mounts.get(blob)
            first = mount is None
            if mount is None:
                mount = self._mounts[blob] = Future()
        if not first:
            mount.result()  # the first one is running it in its own thread: a short wait, never a deadlock
            return
        try:
            if not self.client.mount_blob(self.target, blob, source_repo):
                raise RegistryError("cross-repository mount of %s from %s refused" % (blob, source_repo),
                                    self.client.registry, self.target, member_digest)
        except BaseException as exc:
            mount.set_exception(exc)
            raise
        mount.set_result(None)

    def _repaired(self, result: ListResult, pieces: Sequence[Member], checks: Sequence[Future]) -> None:
        """An unchanged list whose members (or attestations) were gone: copied back (repaired), or failed naming
        them."""
        outcomes: list[_Outcome] = [f.result() for f in checks]
        errors = [o.problem for o in outcomes if o.problem]
        if errors:
            result.fail("published list has a dangling member: " + errors[0])
            return
        copied = [m.descriptor.digest for m, o in zip(pieces, outcomes)
                  if o.presence in (Presence.COPIED, Presence.WOULD_COPY)]
        if copied:
            result.repaired = copied
            result.action = ListAction.WOULD_REPAIR if self.check_mode else ListAction.REPAIRED
            result.changed = not self.check_mode
            self.warnings.append("%s:%s pointed at members no longer in the repository (%s): %s"
                                 % (self.target, result.tag, ", ".join(copied),
                                    "would be copied back" if self.check_mode else "copied back"))

    def _put(self, tag: _Tag, checks: Sequence[Future]) -> None:
        result = tag.result
        failed = [o.problem for o in (f.result() for f in checks) if o.problem]
        if failed:
            result.fail("not published: " + failed[0])
            return
        if self.check_mode:
            return
        try:
            self.client.put_manifest(self.target, result.tag, tag.data, result.media_type)
            result.changed = True
        except RegistryError as exc:
            result.fail(str(exc))


def _unattested(member: Member | None) -> bool:
    return member is not None and member.attestation is None


def _pieces(members: Sequence[Member]) -> list[Member]:
    """What must be in the target repository for a list: each member image, then its attestation manifest."""
    return [p for m in members for p in ([m, m.attestation_member()] if m.attestation is not None else [m])]


def _outcome_of(fn: Callable[[Member], _Outcome], member: Member) -> _Outcome:
    """``fn``'s outcome, or a RegistryError's or an unreadable manifest's as a problem: a worker never raises."""
    try:
        return fn(member)
    except RegistryError as exc:
        return _Outcome(problem=str(exc))
    except (ValueError, KeyError, TypeError) as exc:  # a manifest or config that is not what it claims
        return _Outcome(problem="member %s (%s): unreadable manifest or config: %s" % (
            member.name or "carried", member.descriptor.digest, exc))


def publish_many(jobs: Sequence[tuple[Publisher, Sequence[ListSpec]]], concurrency: int = 8
                 ) -> list[list[ListResult]]:
    """Publish several repositories in one pool (concurrency across repositories), each under its lock (taken
    in a fixed order, so two batch publishers never wait on each other crosswise). Check mode takes no lock."""
    with contextlib.ExitStack() as locks:
        for publisher in sorted({id(p): p for p, _specs in jobs}.values(), key=lambda p: p.target):
            if not publisher.check_mode:
                locks.enter_context(repository_lock(publisher.client.registry, publisher.target,
                                                    publisher.lock_timeout, publisher.lock_dir))
        # One pool for the whole publish: each worker keeps its keep-alive connection from phase to phase.
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            started = [publisher._start(pool, specs) for publisher, specs in jobs]
            for _results, stages in started:
                for stage in stages:
                    later = stage.result()  # a bug in a worker surfaces here instead of vanishing
                    if later is not None:
                        later.result()
        return [results for results, _stages in started]


_T = TypeVar("_T")


def _after(pool: ThreadPoolExecutor, futures: Sequence[Future], fn: Callable[[], _T]) -> Future[_T]:
    """`fn` run in the pool once all `futures` are done, its return value the result of the future returned;
    scheduled by callbacks, so no worker blocks waiting."""
    done: Future[_T] = Future()
    pending = [len(futures)]
    lock = threading.Lock()

    def run() -> None:
        try:
            done.set_result(fn())
        except BaseException as exc:  # handed to whoever waits on `done`
            done.set_exception(exc)

    def one_done(_future: Future) -> None:
        with lock:
            pending[0] -= 1
            last = pending[0] == 0
        if last:
            pool.submit(run)

    if not futures:
        pool.submit(run)
    for f in futures:
        f.add_done_callback(one_done)
    return done
