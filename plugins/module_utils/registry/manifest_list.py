# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Publishing multi-architecture manifest lists: plan the lists of a release, resolve their members,
compare with what is published, and PUT only what changed.

One list per entry under each of its Tags; one list per shared-tag group under each tag of the group.
Members are `<arch namespace>/<repo>:<first tag of the entry>`. Each tag is a single manifest PUT, so
after any failure every tag is either its old or its new list.
"""
from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.architectures import Platform
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    IMAGE_TYPES,
    LIST_TYPES,
    OCI_INDEX,
    Descriptor,
    Manifest,
    RegistryClient,
    RegistryError,
    sha256_digest,
)

POLICIES = ("fail", "skip", "keep-previous")
# What the official images put on each member of their indexes: its bashbrew architecture and the tag it is.
ARCH_ANNOTATION = "com.docker.official-images.bashbrew.arch"
VERSION_ANNOTATION = "org.opencontainers.image.version"

Annotations = tuple[tuple[str, str], ...]  # sorted (key, value) pairs: hashable, and deterministic bytes


class PublishError(ValueError):
    """Bad input: names the entry/field/value."""


@dataclass(frozen=True)
class Entry:
    tags: tuple[str, ...]
    shared_tags: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping, where: str) -> "Entry":
        def names(key: str, alt: str) -> tuple[str, ...]:
            value = data.get(key, data.get(alt, ()))
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
                raise PublishError("%s: field %s must be a list of names, got %r" % (where, key, value))
            return tuple(value)

        entry = cls(names("tags", "Tags"), names("shared_tags", "SharedTags"),
                    names("architectures", "Architectures"))
        if not entry.tags:
            raise PublishError("%s: field tags is empty" % where)
        if not entry.architectures:
            raise PublishError("%s: field architectures is empty (entry %s)" % (where, entry.tags[0]))
        for arch in entry.architectures:
            if not architectures.is_known(arch):
                raise PublishError("%s: field architectures: unknown architecture %r (known: %s)"
                                   % (where, arch, ", ".join(architectures.ARCHITECTURES)))
        return entry


@dataclass(frozen=True)
class MemberSource:
    """Where one member of a list comes from."""

    architecture: str
    repository: str  # e.g. arm64v8/python
    tag: str

    @property
    def reference(self) -> str:
        return "%s:%s" % (self.repository, self.tag)


@dataclass(frozen=True)
class ListSpec:
    """The desired list under one tag."""

    tag: str
    sources: tuple[MemberSource, ...]
    shared: bool


@dataclass(frozen=True)
class Member:
    architecture: str
    source: str  # the reference it was resolved from ("" when carried forward)
    descriptor: Descriptor
    platform: Platform
    # The member's manifest when resolving already fetched it: the copy into the target needs these bytes.
    manifest: Manifest | None = field(default=None, compare=False, repr=False)
    annotations: Annotations = ()

    def to_index(self) -> dict:
        out = {"mediaType": self.descriptor.media_type, "size": self.descriptor.size,
               "digest": self.descriptor.digest, "platform": self.platform.to_oci()}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def summary(self) -> dict:
        return {"architecture": self.architecture, "platform": str(self.platform),
                "os_version": self.platform.os_version, "digest": self.descriptor.digest, "source": self.source,
                "annotations": dict(self.annotations)}


@dataclass
class TagResult:
    tag: str
    action: str = "unchanged"  # unchanged | created | updated | failed (check mode: would_create/would_update)
    changed: bool = False
    digest: str = ""
    previous_digest: str = ""
    media_type: str = ""
    members: list[Member] = field(default_factory=list)
    previous_members: list[dict] = field(default_factory=list)
    annotations: dict = field(default_factory=dict)
    previous_annotations: dict = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    carried: list[str] = field(default_factory=list)
    message: str = ""
    data: bytes = b""

    def to_dict(self) -> dict:
        return {
            "tag": self.tag, "action": self.action, "changed": self.changed, "digest": self.digest,
            "previous_digest": self.previous_digest, "media_type": self.media_type,
            "members": [m.summary() for m in self.members], "previous_members": self.previous_members,
            "annotations": self.annotations,
            "missing_architectures": self.missing,
            "carried_forward": self.carried, "message": self.message,
        }

    @staticmethod
    def diff_lines(members: Iterable[dict], annotations: Mapping[str, str]) -> str:
        index = "".join("annotation %s=%s\n" % kv for kv in sorted(annotations.items()))
        return index + "".join("%s %s %s%s\n" % (
            m["platform"], m.get("os_version") or "-", m["digest"],
            "".join(" %s=%s" % kv for kv in sorted((m.get("annotations") or {}).items()))) for m in members)


def load_entries(entries: Sequence[Mapping], where: str = "entries") -> list[Entry]:
    return [Entry.from_dict(e, "%s[%d]" % (where, i)) for i, e in enumerate(entries)]


@dataclass(frozen=True)
class SharedGroup:
    """Shared tags and the entries (indexes) whose images each of them lists."""

    tags: tuple[str, ...]
    entries: tuple[int, ...]


def shared_groups(entries: Sequence[Entry]) -> list[SharedGroup]:
    """One group per shared tag, in order of first appearance (a library file brings its own groups)."""
    members: dict[str, list[int]] = {}
    for i, entry in enumerate(entries):
        for tag in entry.shared_tags:
            members.setdefault(tag, []).append(i)
    return [SharedGroup((tag,), tuple(idx)) for tag, idx in members.items()]


def plan_lists(entries: Sequence[Entry], repository: str, arch_namespaces: Mapping[str, str] | None = None,
               groups: Sequence[SharedGroup] | None = None) -> list[ListSpec]:
    """Per tag, the members wanted: each entry's own tags, then the tags of each shared-tag group."""
    specs: list[ListSpec] = []
    seen: dict[str, str] = {}

    def sources(entry: Entry) -> list[MemberSource]:
        return [MemberSource(a, "%s/%s" % (architectures.namespace_for(a, arch_namespaces), repository),
                             entry.tags[0]) for a in entry.architectures]

    def claim(tag: str, owner: str) -> None:
        if tag in seen:
            raise PublishError("tag %r is claimed twice (by %s and by %s)" % (tag, seen[tag], owner))
        seen[tag] = owner

    for entry in entries:
        for tag in entry.tags:
            claim(tag, "entry %s" % entry.tags[0])
            specs.append(ListSpec(tag, tuple(sources(entry)), False))
    for group in shared_groups(entries) if groups is None else groups:
        group_sources = tuple(s for i in group.entries for s in sources(entries[i]))
        for tag in group.tags:
            claim(tag, "shared tags %s" % ", ".join(group.tags))
            specs.append(ListSpec(tag, group_sources, True))
    return specs


def serialize(members: Sequence[Member], annotations: Mapping[str, str] | None = None) -> tuple[bytes, str]:
    """Deterministic bytes of the list and its media type: a Docker list iff all members are Docker v2 and
    nothing is annotated (a Docker list has no annotations), otherwise an OCI index."""
    ordered = sorted(members, key=lambda m: architectures.platform_sort_key(m.platform))
    docker = not annotations and all(m.descriptor.media_type == DOCKER_MANIFEST and not m.annotations
                                     for m in ordered)
    media_type = DOCKER_LIST if docker else OCI_INDEX
    doc: dict = {"schemaVersion": 2, "mediaType": media_type, "manifests": [m.to_index() for m in ordered]}
    if annotations:
        doc["annotations"] = dict(sorted(annotations.items()))
    return (json.dumps(doc, indent=3) + "\n").encode("utf-8"), media_type


def check_annotations(annotations: Mapping, where: str = "annotations") -> dict[str, str]:
    """Annotations are string to string (OCI image spec); a number from YAML would change the bytes silently."""
    for key, value in annotations.items():
        if not isinstance(key, str) or not key:
            raise PublishError("%s: key %r is not a non-empty string" % (where, key))
        if not isinstance(value, str):
            raise PublishError("%s: value of %s must be a string, got %r (quote it)" % (where, key, value))
    return dict(annotations)


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

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise PublishError("missing_architectures: %r is not one of %s" % (self.policy, ", ".join(POLICIES)))
        self.annotations = check_annotations(self.annotations)
        self.target = "%s/%s" % (self.namespace, self.repository) if self.namespace else self.repository
        self._lock = threading.Lock()
        self._mounts: dict[str, Future] = {}
        self._copies: dict[str, Future] = {}
        self._present: set[str] = set()

    # -- resolving members ---------------------------------------------------------------------------

    def _resolve(self, source: MemberSource, fetch: bool) -> Member | None:
        """The member image for one source reference (None if absent); picks the arch out of an index.

        `fetch`: GET instead of HEAD (the registry does the same work for both), keeping the bytes that
        copying the member into the target repository needs; an unchanged re-publish HEADs only.
        """
        arch = architectures.get(source.architecture)
        if fetch:
            manifest = self.client.get_manifest(source.repository, source.tag)
            desc = manifest.descriptor() if manifest else None
        else:
            manifest, desc = None, self.client.head_manifest(source.repository, source.tag)
        if desc is None:
            return None
        platform = arch.platform
        if desc.media_type in LIST_TYPES:
            index = manifest or self.client.get_manifest(source.repository, desc.digest)
            picked = None
            for m in (index.json() if index else {}).get("manifests", []):
                try:
                    found = architectures.from_platform(Platform.from_oci(m.get("platform") or {})).name
                except architectures.UnknownArchitecture:
                    continue  # e.g. attestation manifests (unknown/unknown)
                if found == arch.name:
                    picked = m
                    break
            if picked is None:
                raise RegistryError("index has no %s image" % arch.platform, self.client.registry,
                                    source.repository, source.tag)
            desc = Descriptor(picked["mediaType"], picked["digest"], int(picked["size"]))
            manifest = None
        elif desc.media_type not in IMAGE_TYPES:
            raise RegistryError("unsupported manifest media type %r" % desc.media_type, self.client.registry,
                                source.repository, source.tag)
        if arch.is_windows:
            manifest = manifest or self._member_manifest(source.repository, desc.digest)
            platform = self._windows_platform(source, manifest, platform)
        annotations = ((ARCH_ANNOTATION, arch.name), (VERSION_ANNOTATION, source.tag)) \
            if self.member_annotations else ()
        return Member(arch.name, source.reference, desc, platform, manifest, annotations)

    def _member_manifest(self, repository: str, digest: str) -> Manifest:
        manifest = self.client.get_manifest(repository, digest)
        if manifest is None:
            raise RegistryError("member vanished during the publish", self.client.registry, repository, digest)
        return manifest

    def _windows_platform(self, source: MemberSource, manifest: Manifest, base: Platform) -> Platform:
        config = json.loads(self.client.get_blob(source.repository, manifest.json()["config"]["digest"]))
        return Platform(base.os, base.architecture, base.variant, str(config.get("os.version", "")),
                        tuple(config.get("os.features") or ()))

    # -- the publish -------------------------------------------------------------------------------

    def publish(self, specs: Sequence[ListSpec]) -> list[TagResult]:
        results = [TagResult(spec.tag) for spec in specs]
        # One pool for the whole publish: each worker keeps its keep-alive connection from phase to phase.
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            existing = self._published(pool, specs)
            # Sources of a tag not published yet are fetched whole: their bytes are copied anyway.
            fetch = {s for spec, ex in zip(specs, existing) if ex is None for s in spec.sources}
            unique = sorted({s for spec in specs for s in spec.sources}, key=lambda s: (s.reference, s.architecture))
            resolving = {s: pool.submit(self._resolve, s, s in fetch) for s in unique}
            # No barrier between resolving, copying and publishing: each tag goes on as soon as its own members
            # are resolved, so the registry never idles while the slowest member of the release is looked up.
            stages = [_after(pool, [resolving[s] for s in spec.sources],
                             lambda job=(spec, ex, result): self._stage(pool, *job, resolving))
                      for spec, ex, result in zip(specs, existing, results)]
            for stage in stages:
                put = stage.result()  # a bug in a worker surfaces here instead of vanishing
                if put is not None:
                    put.result()
        return results

    def _stage(self, pool: ThreadPoolExecutor, spec: ListSpec, existing: Descriptor | None, result: TagResult,
               resolving: Mapping[MemberSource, Future]) -> Future | None:
        """Decide one tag once its members are resolved; returns the future of its PUT, if one is needed."""
        try:
            self._prepare(spec, {s: resolving[s].result() for s in spec.sources}, existing, result)
        except RegistryError as exc:
            result.action, result.message = "failed", "not published: %s" % exc
            return None
        if result.action not in ("created", "updated"):
            return None
        if self.check_mode:
            result.action = "would_" + result.action[:-1]
            return None
        needed = []
        with self._lock:
            # A member of a list published before is in the target repository already: no copy, not a HEAD.
            self._present.update(m["digest"] for m in result.previous_members)
            for m in result.members:
                if m.source and m.descriptor.digest not in self._present:
                    if m.descriptor.digest not in self._copies:
                        self._copies[m.descriptor.digest] = pool.submit(self._copy_member, m)
                    needed.append(self._copies[m.descriptor.digest])
        # Members first, then the list (a list never points at nothing).
        return _after(pool, needed, lambda: self._put(result, needed))

    def _published(self, pool: ThreadPoolExecutor, specs: Sequence[ListSpec]) -> list[Descriptor | None]:
        """What each tag is now: a HEAD per tag, so an unchanged re-publish asks nothing else. When the first
        tag is absent (a new repository, new tags), one tags/list spares the HEADs of the tags not there."""
        if not specs:
            return []
        first = self.client.head_manifest(self.target, specs[0].tag)
        rest = [spec.tag for spec in specs[1:]]
        if first is None:
            there = set(self.client.list_tags(self.target) or ())
            rest = [tag for tag in rest if tag in there]
        now = dict(zip(rest, pool.map(lambda tag: self.client.head_manifest(self.target, tag), rest)))
        now[specs[0].tag] = first
        return [now.get(spec.tag) for spec in specs]

    def _prepare(self, spec: ListSpec, resolved: Mapping[MemberSource, Member | None],
                 existing: Descriptor | None, result: TagResult) -> None:
        members = [m for m in (resolved[s] for s in spec.sources) if m is not None]
        missing = [s for s in spec.sources if resolved[s] is None]
        result.missing = ["%s (%s)" % (s.architecture, s.reference) for s in missing]
        if missing and self.policy == "fail":
            result.action = "failed"
            result.message = "not published: missing architecture images %s" % ", ".join(result.missing)
            return
        previous: list[Member] | None = None
        if existing is not None:
            result.previous_digest = existing.digest
        if missing and self.policy == "keep-previous" and existing is not None:
            previous, result.previous_annotations = self._previous(existing)
            have = {m.platform for m in members}
            for s in missing:
                kept = [m for m in previous if m.architecture == s.architecture and m.platform not in have]
                members.extend(kept)
                if kept:
                    result.carried.append(s.architecture)
        lost = [s.architecture for s in missing if s.architecture not in result.carried]
        if lost:
            self.warnings.append("%s:%s published without %s (images missing: %s)"
                                 % (self.target, spec.tag, ", ".join(lost), ", ".join(result.missing)))
        if not members:
            result.action = "failed"
            result.message = "not published: no member image exists"
            return
        result.annotations = dict(self.annotations)
        result.data, result.media_type = serialize(members, self.annotations)
        result.members = sorted(members, key=lambda m: architectures.platform_sort_key(m.platform))
        result.digest = sha256_digest(result.data)
        if existing is None:
            result.action = "created"
        elif existing.digest != result.digest:
            result.action = "updated"
            # Only a changing list costs a GET: the diff of members, and no architecture dropped unnoticed.
            if previous is None:
                previous, result.previous_annotations = self._previous(existing)
            result.previous_members = [m.summary() for m in previous]
            dropped = sorted({m.architecture for m in previous} - {m.architecture for m in members} - set(lost))
            if dropped:
                self.warnings.append("%s:%s no longer lists %s (not in the entry's architectures)"
                                     % (self.target, spec.tag, ", ".join(dropped)))

    def _previous(self, existing: Descriptor) -> tuple[list[Member], dict]:
        """The members and index annotations of the list published now (a carried member keeps its own)."""
        if existing.media_type not in LIST_TYPES:
            return [], {}
        manifest = self.client.get_manifest(self.target, existing.digest)
        doc = manifest.json() if manifest else {}
        out = []
        for m in doc.get("manifests", []):
            p = Platform.from_oci(m.get("platform") or {})
            try:
                arch = architectures.from_platform(p).name
            except architectures.UnknownArchitecture:
                continue  # e.g. attestation manifests (unknown/unknown)
            out.append(Member(arch, "", Descriptor(m["mediaType"], m["digest"], int(m["size"])), p,
                              annotations=tuple(sorted((m.get("annotations") or {}).items()))))
        return out, dict(doc.get("annotations") or {})

    def _copy_member(self, member: Member) -> str:
        """Make the member manifest exist in the target repository; returns an error message or ""."""
        try:
            self._copy(member)
        except RegistryError as exc:
            return str(exc)
        return ""

    def _copy(self, member: Member) -> None:
        """Blobs mounted from the arch repository, then the manifest PUT by digest (registries check both)."""
        digest = member.descriptor.digest
        source_repo = member.source.rsplit(":", 1)[0]
        manifest = member.manifest or self._member_manifest(source_repo, digest)
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
            if first:
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

    def _put(self, result: TagResult, copies: Sequence[Future]) -> None:
        failed = [f.result() for f in copies if f.result()]
        if failed:
            result.action, result.message = "failed", "not published: " + failed[0]
            return
        try:
            self.client.put_manifest(self.target, result.tag, result.data, result.media_type)
            result.changed = True
        except RegistryError as exc:
            result.action = "failed"
            result.message = str(exc)


def _after(pool: ThreadPoolExecutor, futures: Sequence[Future], fn: Callable[[], None]) -> Future:
    """`fn` run in the pool once all `futures` are done; scheduled by callbacks, so no worker blocks waiting."""
    done: Future = Future()
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


def diff_text(result: TagResult) -> dict:
    return {"before_header": "%s (%s)" % (result.tag, result.previous_digest or "absent"),
            "after_header": "%s (%s)" % (result.tag, result.digest),
            "before": result.diff_lines(result.previous_members, result.previous_annotations),
            "after": result.diff_lines([m.summary() for m in result.members], result.annotations)}


def load_library_file(path: str) -> tuple[list[Entry], list[SharedGroup]]:
    """Entries and shared-tag groups of a bashbrew library file, from the collection's library manifest parser."""
    # Imported here so publishing from a plan does not depend on the parser.
    from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest

    with open(path, encoding="utf-8") as f:
        manifest = library_manifest.parse(f.read(), path).validate()
    entries = [Entry.from_dict({"tags": e.tags, "shared_tags": e.shared_tags, "architectures": e.architectures},
                               "%s: entry %s" % (path, ", ".join(e.tags))) for e in manifest.entries]
    index = {id(e): i for i, e in enumerate(manifest.entries)}
    groups = [SharedGroup(tuple(g.tags), tuple(index[id(e)] for e in g.entries))
              for g in library_manifest.shared_tag_groups(manifest)]
    return entries, groups
