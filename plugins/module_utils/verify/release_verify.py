# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify stage: read every list of a release back from the registry and check, per tag, that each member is
the image the release pushed for its platform, that its attestation follows it, and that the attestation's
in-toto statements are about that image and say what the release built (provenance: architecture, tags, parents;
SBOM: SPDX naming the declared packages, and the Debian packages of an image that has a dpkg database).

Plain typed Python on the registry client; nothing is written to the registry. Each member (image + attestation)
is checked once per run, whatever number of tags lists it; each image layer is read once, only for the dpkg check.
With a cache of passes (verify_cache.py), a list the registry still serves by the digest that passed, checked
against the same expectations, is that pass: one read of the list instead of its members'.
"""
from __future__ import annotations

import dataclasses
import gzip
import io
import json
import queue
import tarfile
import threading
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Iterable, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.architectures import Platform
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_members import pick_member
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import load_entries, plan_lists
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import (
    IMAGE_TYPES,
    IN_TOTO,
    LIST_TYPES,
    OCI_MANIFEST,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.oci_index import (
    ATTESTATION_MANIFEST,
    PREDICATE_TYPE,
    REFERENCE_DIGEST,
    REFERENCE_TYPE,
    SPDX_PREDICATE,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    RegistryClient,
    RegistryError,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    BuildResult,
    ImagePushResult,
    ListResult,
    MemberVerification,
    PushStatus,
    TagVerification,
)
from ansible_collections.buildfarm.images.plugins.module_utils.verify.errors import VerifyInputError, VerifyTimeoutError
from ansible_collections.buildfarm.images.plugins.module_utils.verify.verify_cache import (
    VerifyCache,
    cache_key,
    expectations_hash,
)

# prefixes: a statement of another in-toto or SLSA version (BuildKit's provenance v1) is read as well
SLSA_PREFIX = "https://slsa.dev/provenance/"
STATEMENT_PREFIX = "https://in-toto.io/Statement/"
DPKG_STATUS = "var/lib/dpkg/status"


@dataclass(frozen=True)
class Pushed:
    """What the release pushed under one per-architecture reference (image_push's result of the tag)."""

    reference: str  # repository path and tag, e.g. amd64/python:3.13.5-slim-trixie
    digest: str = ""  # the per-architecture index (or image, from an older pusher)
    image_digest: str = ""
    attestation_digest: str = ""
    parents: tuple[tuple[str, str], ...] = ()  # (FROM as written, digest) of the build, when known


@dataclass
class ListCheck:
    """One published tag to read back: where, the digest the publish wrote, and where its members came from."""

    repository: str  # the list's repository path, e.g. library/python
    tag: str
    published_digest: str = ""
    sources: dict[str, str] = field(default_factory=dict)  # architecture -> per-architecture reference ("" carried)
    message: str = ""  # the publish failed this tag (it is reported as a failure)


# -- input ---------------------------------------------------------------------------------------------------

def _path_of(ref: ImageRef, where: str) -> str:
    """`amd64/python:tag` of a full reference (registry host left out)."""
    if not ref.tag:
        raise VerifyInputError("must name a tag", where, "ref", str(ref))
    return "%s:%s" % (ref.path, ref.tag)


def _parents_of(builds: Sequence[BuildResult]) -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    """(entry key, image id) -> the build's (FROM as written, digest); (key, "") -> the first build of the key.
    A build is the push's by entry key and image id (one key is built once per architecture)."""
    out: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
    for b in builds:
        parents = tuple((p.name, p.digest) for p in b.parents)
        out[b.key, b.image_id] = parents
        out.setdefault((b.key, ""), parents)
    return out


def _pushed_group(where: str, items: Any, built_where: str, builds: Any) -> dict[str, Pushed]:
    """Reference -> what was pushed there, of image_push `images` items and image_build's `images` (parsed)."""
    parents_of = _parents_of(_records(BuildResult, builds, built_where))
    out: dict[str, Pushed] = {}
    for i, item in enumerate(_records(ImagePushResult, items, where)):
        for j, t in enumerate(item.tags):
            if t.status == PushStatus.FAILED:
                continue
            path = _path_of(t.ref, "%s[%d].tags[%d]" % (where, i, j))
            out[path] = Pushed(path, t.digest, t.image_digest, t.attestation_digest,
                               parents_of.get((item.key, item.image_id)) or parents_of.get((item.key, ""), ()))
    return out


def _records(cls: Any, items: Any, where: str) -> list:
    """`items` parsed by the producing stage's record (`where[n]` names a bad one)."""
    if not isinstance(items, (list, tuple)):
        raise VerifyInputError("must be a list", field=where, value=type(items).__name__)
    return [cls.from_dict(item, "%s[%d]" % (where, n)) for n, item in enumerate(items)]


def pushed_from_results(pushed: Sequence[Mapping] = (), built: Sequence[Mapping] = (),
                        results: Mapping[str, Mapping] | None = None) -> dict[str, Pushed]:
    """Reference -> what was pushed there, from image_push `images` items (`pushed`, with image_build's `images`
    as `built` for the parents), or from the builders' recorded results (host -> {images, pushed}). Each item is
    parsed by its stage's record: a malformed one is a ModelError naming it (`pushed[0].tags[1]`)."""
    out = _pushed_group("pushed", pushed, "built", built)
    for host, res in sorted((results or {}).items()):
        if not isinstance(res, Mapping):
            raise VerifyInputError("must be a mapping with images and pushed", field="results.%s" % host,
                                   value=str(type(res).__name__))
        out.update(_pushed_group("results.%s.pushed" % host, res.get("pushed") or [], "results.%s.images" % host,
                                 res.get("images") or []))
    return out


def _checks_of_lists(repository: str, lists: Any, where: str) -> list[ListCheck]:
    """The tags manifest_list published (its `lists`, parsed by the record); a dry run's are left out."""
    out = []
    for lst in _records(ListResult, lists, where + ".lists"):
        if lst.action.is_dry_run:
            continue  # a dry run's publish wrote nothing to read back
        sources = {m.architecture: m.source for m in lst.members}
        out.append(ListCheck(repository, lst.tag, "" if lst.failed else lst.digest, sources,
                             (lst.message or "not published") if lst.failed else ""))
    return out


def _checks_of_entries(name: str, entries: Any, where: str, namespace: str,
                       arch_namespaces: Mapping[str, str] | None) -> list[ListCheck]:
    """The tags a release publishes (release_prepare's `publish`: a repository's entries)."""
    target = name if "/" in name or not namespace else "%s/%s" % (namespace, name)
    try:
        specs = plan_lists(load_entries(entries, where + ".entries"), name.rsplit("/", 1)[-1], arch_namespaces)
    except BuildfarmError as exc:
        raise VerifyInputError(str(exc)) from None
    return [ListCheck(target, spec.tag, "", {s.architecture: s.reference for s in spec.sources}) for spec in specs]


def checks_from_repositories(repositories: Sequence[Mapping], namespace: str = "library",
                             arch_namespaces: Mapping[str, str] | None = None) -> list[ListCheck]:
    """The tags to read back: from manifest_list's `repositories` result (items with `lists`), or from what a
    release publishes (release_prepare's `publish`: items with `repository` and `entries`)."""
    out: list[ListCheck] = []
    for i, item in enumerate(repositories):
        where = "repositories[%d]" % i
        if not isinstance(item, Mapping) or not isinstance(item.get("repository"), str) or not item["repository"]:
            raise VerifyInputError("needs repository (and lists or entries)", field=where)
        if isinstance(item.get("lists"), list):
            out.extend(_checks_of_lists(item["repository"], item["lists"], where))
        elif isinstance(item.get("entries"), list):
            out.extend(_checks_of_entries(item["repository"], item["entries"], where, namespace, arch_namespaces))
        else:
            raise VerifyInputError("needs lists (manifest_list's repositories result) or entries (a release's "
                                   "publish)", field=where)
    return out


def expected_packages(value: Any, where: str = "expect_packages") -> dict[str, list[tuple[str, str]]]:
    """Repository name -> (package, version) the SBOM must name: `{python: {python: 3.13.5}}` or
    `{python: [{name: python, version: 3.13.5}]}` (version "" = any)."""
    out: dict[str, list[tuple[str, str]]] = {}
    if not isinstance(value, Mapping):
        raise VerifyInputError("must be a mapping of repository name to packages", field=where, value=str(value))
    for repo, pkgs in value.items():
        items: list[tuple[str, str]] = []
        if isinstance(pkgs, Mapping):
            items = [(str(k), "" if v is None else str(v)) for k, v in pkgs.items()]
        elif isinstance(pkgs, list):
            for p in pkgs:
                if isinstance(p, str):
                    items.append((p, ""))
                elif isinstance(p, Mapping) and isinstance(p.get("name"), str):
                    items.append((p["name"], str(p.get("version") or "")))
                else:
                    raise VerifyInputError("a package is a name or {name, version}", field="%s.%s" % (where, repo),
                                           value=str(p))
        else:
            raise VerifyInputError("must be {package: version} or a list", field="%s.%s" % (where, repo),
                                   value=str(pkgs))
        out[str(repo).rsplit("/", 1)[-1]] = items
    return out


# -- the checks ----------------------------------------------------------------------------------------------

@dataclass
class Verifier:
    """Reads the lists, then checks their members: two flat rounds of bounded concurrency. A worker never waits
    for work it queued itself (a tag's thread waiting on its members' futures in the same pool deadlocked as soon
    as every worker held a tag), and the whole run is bounded: `deadline` seconds (default: what is left of the
    client's deadline, plus one request timeout so that a request's own timeout is what reports first)."""

    client: RegistryClient
    pushed: Mapping[str, Pushed] = field(default_factory=dict)
    expect: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    require_attestations: bool = True
    check_dpkg: bool = True
    concurrency: int = 8
    deadline: float | None = None
    cache: VerifyCache | None = None  # passes of earlier runs (None: every tag is verified in full)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._layers: dict[str, Any] = {}
        self._sources: dict[tuple[str, str], Pushed | None] = {}
        self.cached: set[str] = set()  # references of the tags taken from the cache

    def verify(self, checks: Sequence[ListCheck]) -> list[TagVerification]:
        if self.deadline is not None:
            budget = self.deadline
        else:
            budget = self.client.remaining() + float(getattr(self.client, "timeout", 0) or 0)
        started = time.monotonic()
        until = started + budget if budget != float("inf") else None
        workers = max(1, self.concurrency)
        # 1. every list, read once; a list that passed before, by the same digest and against the same
        # expectations, is that pass (its members are not read again)
        read = _bounded_map(self._read_list, list(checks), workers, until,
                            lambda c: "reading %s:%s" % (c.repository, c.tag), budget)
        hashes = self._expectations(checks, read, workers, until, budget)
        read = [self._from_cache(check, out, members, hashes) for check, (out, members) in zip(checks, read)]
        # 2. every member, checked once whatever number of tags lists it
        jobs: dict[tuple, tuple] = {}
        for _out, members in read:
            for job in members:
                jobs.setdefault(_member_key(*job), job)
        keys = list(jobs)
        checked = _bounded_map(lambda k: self._check_member(*jobs[k]), keys, workers, until,
                               lambda k: "checking %s@%s (%s)" % (k[0], k[1], k[3] or "no source"), budget)
        by_key = dict(zip(keys, checked))
        # 3. each tag with its members' results, in the list's order
        results = []
        for out, members in read:
            for job in members:
                member: MemberVerification = by_key[_member_key(*job)]
                out.members.append(member)
                out.failures.extend("%s (%s): %s" % (member.architecture, member.source or member.digest, why)
                                    for why in member.failures)
            results.append(out)
        if self.cache is not None:
            self.cache.record_all([(self._key(r.repository, r.tag), r, hashes[id(c)])
                                   for c, r in zip(checks, results)
                                   if id(c) in hashes and r.reference not in self.cached])
        return results

    # the cache of passes

    def _key(self, repository: str, tag: str) -> str:
        return cache_key(self.client.registry, repository, tag)

    def _expectations(self, checks: Sequence[ListCheck], read: Sequence[tuple[TagVerification, list]],
                      workers: int, until: float | None, budget: float) -> dict[int, str]:
        """id(check) -> the hash of what its tag is checked against, for each tag read without a failure (none
        without a cache). Sources without a push result (or without the image's digest in it) are checked
        against what their tag holds now, so what it holds now is part of it: read here, once per source, and
        the member checks use the same reading."""
        if self.cache is None:
            return {}
        readable = [c for c, (out, _m) in zip(checks, read) if out.digest and not out.failures]
        sources = sorted({(s, a) for c in readable for a, s in c.sources.items() if s and not (
            self.pushed.get(s) and self.pushed[s].image_digest)})
        now = dict(zip(sources, _bounded_map(lambda sa: self._source_or_error(*sa), sources, workers, until,
                                             lambda sa: "reading %s" % sa[0], budget)))
        out: dict[int, str] = {}
        for c in readable:
            held = {s: now.get((s, a)) for a, s in c.sources.items() if (s, a) in now}
            if any(isinstance(v, Exception) for v in held.values()):
                continue  # cannot say what it is checked against: verified in full
            pushed = {s: dataclasses.astuple(self.pushed[s]) for s in c.sources.values() if s in self.pushed}
            out[id(c)] = expectations_hash({
                "registry": self.client.registry, "repository": c.repository, "tag": c.tag,
                "sources": c.sources, "pushed": pushed,
                "now": {s: dataclasses.astuple(v) if isinstance(v, Pushed) else None for s, v in held.items()},
                "expect": list(self.expect.get(c.repository.rsplit("/", 1)[-1], ())),
                "require_attestations": self.require_attestations, "check_dpkg": self.check_dpkg})
        return out

    def _source_or_error(self, source: str, arch_name: str) -> Pushed | Exception | None:
        """What the tag holds now, or why it cannot be read (the member check reports it, as without a cache)."""
        try:
            return self._read_source(source, arch_name)
        except (RegistryError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return exc

    def _from_cache(self, check: ListCheck, out: TagVerification, members: list,
                    hashes: Mapping[int, str]) -> tuple[TagVerification, list]:
        """The recorded pass of the tag (no member to check) when its list and expectations are the same."""
        if self.cache is None or id(check) not in hashes or out.failures:
            return out, members
        passed = self.cache.hit(self._key(check.repository, check.tag), out.digest, hashes[id(check)])
        if passed is None or (passed.repository, passed.tag) != (check.repository, check.tag):
            return out, members
        with self._lock:
            self.cached.add(passed.reference)
        return passed, []

    # one tag

    def _read_list(self, check: ListCheck) -> tuple[TagVerification, list[tuple]]:
        """The tag's list and its own checks; the members to check (repository, arch, entry, next entry, source)."""
        out = TagVerification(check.repository, check.tag)
        jobs: list[tuple] = []
        if check.message:
            out.failures.append("not published: %s" % check.message)
            return out, jobs
        try:
            manifest = self.client.get_manifest(check.repository, check.tag)
        except RegistryError as exc:
            out.failures.append("cannot read the list: %s" % exc)
            return out, jobs
        if manifest is None:
            out.failures.append("not in the registry")
            return out, jobs
        out.digest = manifest.digest
        if check.published_digest and manifest.digest != check.published_digest:
            out.failures.append("the registry serves %s, the publish wrote %s" % (manifest.digest,
                                                                                  check.published_digest))
        if manifest.media_type not in LIST_TYPES:
            out.failures.append("is %s, not an index" % manifest.media_type)
            return out, jobs
        entries = [m for m in manifest.json().get("manifests") or [] if isinstance(m, Mapping)]
        seen: set[str] = set()
        for i, m in enumerate(entries):
            ann = m.get("annotations") or {}
            if ann.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST:
                if not any(e.get("digest") == ann.get(REFERENCE_DIGEST) for e in entries):
                    out.failures.append("attestation %s names %s, which the list does not hold"
                                        % (m.get("digest"), ann.get(REFERENCE_DIGEST)))
                continue
            platform = Platform.from_oci(m.get("platform") or {})
            try:
                arch = architectures.from_platform(platform)
            except architectures.UnknownArchitecture:
                out.failures.append("member %s has platform %s, which is no architecture of the farm"
                                    % (m.get("digest"), platform))
                continue
            seen.add(arch.name)
            nxt = entries[i + 1] if i + 1 < len(entries) else None
            jobs.append((check.repository, arch, m, nxt, check.sources.get(arch.name, "")))
        for arch_name, source in check.sources.items():
            if arch_name not in seen and source:
                out.failures.append("%s (%s): not in the list" % (arch_name, source))
        return out, jobs

    def _check_member(self, repository: str, arch: architectures.Architecture, entry: Mapping,
                      nxt: Mapping | None, source: str) -> MemberVerification:
        digest = str(entry.get("digest", ""))
        res = MemberVerification(arch.name, str(Platform.from_oci(entry.get("platform") or {})), digest, source=source)
        try:
            self._check_member_into(res, repository, arch, entry, nxt, source)
        except RegistryError as exc:
            res.failures.append(str(exc))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a document that is not what it claims
            res.failures.append("unreadable manifest or statement: %s" % exc)
        return res

    def _check_member_into(self, res: MemberVerification, repository: str, arch: architectures.Architecture,
                           entry: Mapping, nxt: Mapping | None, source: str) -> None:
        if entry.get("mediaType") not in IMAGE_TYPES:
            res.failures.append("is %s, not an image manifest" % entry.get("mediaType"))
            return
        # 1. the image the release pushed for this platform
        pushed = self._pushed_image(res, arch, source)
        doc = self._check_image(res, repository, arch)
        if doc is None:
            return
        # 2. its attestation, right after it (Windows images too: the controller attests them after their push)
        statements = self._read_attestation(res, repository, nxt, pushed)
        if statements is None:
            return
        provenance = next((st for t, st in statements.items() if t.startswith(SLSA_PREFIX)), None)
        sbom = statements.get(SPDX_PREDICATE)
        if provenance is None:
            res.failures.append("no provenance (%s*) in the attestation" % SLSA_PREFIX)
        else:
            self._check_provenance(res, provenance, arch, source, pushed)
        if sbom is None:
            res.failures.append("no SBOM (%s) in the attestation" % SPDX_PREDICATE)
        else:
            self._check_sbom(res, sbom, repository, provenance, doc)

    def _pushed_image(self, res: MemberVerification, arch: architectures.Architecture, source: str) -> Pushed | None:
        """What the release pushed as `source` (its push result, else what the tag holds now), checked against the
        member."""
        digest = res.digest
        pushed = self.pushed.get(source) if source else None
        if source and pushed is None:
            pushed = self._read_source(source, arch.name)
        if pushed is not None and not pushed.image_digest and pushed.digest:
            # a push result without the image's own digest: the tag's digest is the per-architecture index (or,
            # from an older pusher, the image); what the tag holds now says which image that is
            now = self._read_source(source, arch.name)
            if now is not None and pushed.digest not in (now.digest, now.image_digest):
                res.failures.append("%s now holds %s, the release pushed %s" % (source, now.digest, pushed.digest))
            elif now is not None:
                pushed = Pushed(source, pushed.digest, now.image_digest, pushed.attestation_digest or (
                    now.attestation_digest if now.digest == pushed.digest else ""), pushed.parents)
        if pushed is not None and pushed.image_digest and pushed.image_digest != digest:
            res.failures.append("member is %s, but the release pushed %s as %s" % (digest, pushed.image_digest,
                                                                                   source))
        return pushed

    def _check_image(self, res: MemberVerification, repository: str,
                     arch: architectures.Architecture) -> Mapping | None:
        """The member's image manifest (None when the repository lacks it), its config's platform checked."""
        image = self.client.get_manifest(repository, res.digest)
        if image is None:
            res.failures.append("image manifest %s is not in %s" % (res.digest, repository))
            return None
        doc = image.json()
        config = json.loads(self.client.get_blob(repository, doc["config"]["digest"]))
        actual = Platform(str(config.get("os", "")), str(config.get("architecture", "")),
                          str(config.get("variant", "") or ""))
        want = arch.platform
        if (actual.os, actual.architecture) != (want.os, want.architecture) or (
                actual.variant and want.variant and actual.variant != want.variant):
            res.failures.append("image config says %s, the list says %s" % (actual, res.platform))
        return doc

    def _read_attestation(self, res: MemberVerification, repository: str, nxt: Mapping | None,
                          pushed: Pushed | None) -> dict[str, dict] | None:
        """The in-toto statements (predicate type -> statement) of the attestation entry after the member; None
        when there is none to read."""
        digest = res.digest
        ann = (nxt or {}).get("annotations") or {}
        if not nxt or ann.get(REFERENCE_TYPE) != ATTESTATION_MANIFEST:
            if self.require_attestations:
                res.failures.append("no attestation manifest right after the image")
            return None
        res.attestation = str(nxt.get("digest", ""))
        if ann.get(REFERENCE_DIGEST) != digest:
            res.failures.append("the attestation after it names %s (vnd.docker.reference.digest), not %s"
                                % (ann.get(REFERENCE_DIGEST), digest))
        if (nxt.get("platform") or {}) != {"architecture": "unknown", "os": "unknown"}:
            res.failures.append("attestation platform is %s, not unknown/unknown" % nxt.get("platform"))
        if pushed is not None and pushed.attestation_digest and pushed.attestation_digest != res.attestation:
            res.failures.append("attestation is %s, but the release pushed %s" % (res.attestation,
                                                                                  pushed.attestation_digest))
        att = self.client.get_manifest(repository, res.attestation)
        if att is None:
            res.failures.append("attestation manifest %s is not in %s" % (res.attestation, repository))
            return None
        if att.media_type != OCI_MANIFEST:
            res.failures.append("attestation manifest is %s, not %s" % (att.media_type, OCI_MANIFEST))
        statements: dict[str, dict] = {}
        for layer in att.json().get("layers") or []:
            if layer.get("mediaType") != IN_TOTO:
                continue  # BuildKit: unknown media types are ignored
            st = self._read_statement(res, repository, layer)
            if st is not None:
                statements[(layer.get("annotations") or {}).get(PREDICATE_TYPE, "")] = st
        return statements

    def _read_statement(self, res: MemberVerification, repository: str, layer: Mapping) -> dict | None:
        """One in-toto statement of the attestation, checked to be about the member (None: unreadable)."""
        digest = res.digest
        ptype = (layer.get("annotations") or {}).get(PREDICATE_TYPE, "")
        if not ptype:
            res.failures.append("in-toto layer %s has no %s annotation" % (layer.get("digest"), PREDICATE_TYPE))
        try:
            data = self.client.get_blob(repository, layer["digest"])
        except RegistryError as exc:
            res.failures.append("statement %s (%s): %s" % (layer.get("digest"), ptype or "?",
                                                           "content does not match its digest (tampered)"
                                                           if "does not match" in str(exc) else exc))
            return None
        st = json.loads(data.decode("utf-8"))
        if not str(st.get("_type", "")).startswith(STATEMENT_PREFIX):
            res.failures.append("statement %s is not an in-toto statement (_type %r)" % (layer["digest"],
                                                                                         st.get("_type")))
        if st.get("predicateType") != ptype:
            res.failures.append("statement %s says predicateType %s, its layer says %s" % (
                layer["digest"], st.get("predicateType"), ptype))
        subjects = [s.get("digest", {}).get("sha256") for s in st.get("subject") or [] if isinstance(s, Mapping)]
        if digest.partition(":")[2] not in subjects:
            res.failures.append("%s statement is about %s, not the member %s (subject mismatch)" % (
                _kind(ptype), ", ".join("sha256:%s" % s for s in subjects) or "nothing", digest))
        return st

    def _source_ref(self, source: str) -> ImageRef:
        """A member's source, a reference inside the registry (`amd64/python:3.13.5`, as manifest_list names it)."""
        return ImageRef.parse_in(self.client.registry, source, "source", "source")

    def _read_source(self, source: str, arch_name: str) -> Pushed | None:
        """Without the push results: what the per-architecture tag holds now (read once per run, so that the
        expectations of the cache and the member checks see the same)."""
        with self._lock:
            if (source, arch_name) in self._sources:
                return self._sources[source, arch_name]
        ref = self._source_ref(source)
        m = self.client.get_manifest(ref.path, ref.tag)
        if m is None:
            held = Pushed(source)
        elif m.media_type in IMAGE_TYPES:
            held = Pushed(source, m.digest, m.digest)
        else:
            picked = pick_member(m.json(), arch_name)
            image, att = picked if picked is not None else ({}, None)
            held = Pushed(source, m.digest, str(image.get("digest", "")), str((att or {}).get("digest", "")))
        with self._lock:
            self._sources[source, arch_name] = held
        return held

    def _check_provenance(self, res: MemberVerification, st: Mapping, arch: architectures.Architecture, source: str,
                          pushed: Pushed | None) -> None:
        pred = st.get("predicate") or {}
        params = pred.get("invocation") or pred.get("buildDefinition") or {}
        res.provenance = {"predicate_type": st.get("predicateType"),
                          "builder_id": str(((pred.get("builder") or (pred.get("runDetails") or {}).get("builder")
                                             or {}).get("id", ""))),
                          "build_type": str(pred.get("buildType") or (pred.get("buildDefinition") or {}).get(
                              "buildType", ""))}
        archs = {str(v) for v in _values(params, ("arch", "architecture", "platform"))}
        accepted = {arch.name, str(arch.platform), arch.platform.architecture}
        if not archs:
            res.failures.append("provenance names no architecture")
        elif not archs & accepted:
            res.failures.append("provenance is for %s, not %s" % (", ".join(sorted(archs)), arch.name))
        tags = {str(t) for v in _values(params, ("tags",)) for t in (v if isinstance(v, list) else [v])}
        tag = self._source_ref(source).tag if source else ""
        if not tags:
            res.failures.append("provenance names no tags")
        elif tag and tag not in tags and not any(t.endswith(":" + tag) for t in tags):
            res.failures.append("provenance names tags %s, not %s" % (", ".join(sorted(tags)), tag))
        materials = _material_digests(pred)
        for name, digest in (pushed.parents if pushed else ()):
            if digest and digest.partition(":")[2] not in materials:
                res.failures.append("provenance does not name the parent %s@%s" % (name, digest))

    def _check_sbom(self, res: MemberVerification, st: Mapping, repository: str, provenance: Mapping | None,
                    image: Mapping) -> None:
        doc = st.get("predicate") or {}
        if not str(doc.get("spdxVersion", "")).startswith("SPDX-"):
            res.failures.append("SBOM is not an SPDX document (spdxVersion %r)" % doc.get("spdxVersion"))
        packages = [p for p in doc.get("packages") or [] if isinstance(p, Mapping)]
        purls = {str(r.get("referenceLocator", "")) for p in packages for r in p.get("externalRefs") or []
                 if isinstance(r, Mapping) and r.get("referenceType") == "purl"}
        debs = {p.get("name") for p in packages if any(
            str(r.get("referenceLocator", "")).startswith("pkg:deb/") for r in p.get("externalRefs") or []
            if isinstance(r, Mapping))}
        by_name: dict[str, set[str]] = {}
        for p in packages:
            by_name.setdefault(str(p.get("name", "")).lower(), set()).add(str(p.get("versionInfo", "")))
        want = list(self.expect.get(repository.rsplit("/", 1)[-1], ()))
        # the verified sources the provenance names (their purl) are what the family declares it builds from
        for purl in _declared_purls(provenance or {}):
            name, _sep, version = purl.split("?")[0].split("#")[0].rsplit("/", 1)[-1].partition("@")
            if purl not in purls and name:
                want.append((urllib.parse.unquote(name), urllib.parse.unquote(version)))
        want = list(dict.fromkeys(want))  # declared by the repository and by the provenance alike: named once
        missing = [(n, v) for n, v in want if not (by_name.get(n.lower()) and (not v or v in by_name[n.lower()]))]
        for n, v in missing:
            have = sorted(by_name.get(n.lower()) or ())
            res.failures.append("SBOM does not name %s%s%s" % (n, " " + v if v else "", " (it has %s)" % ", ".join(
                have) if have else ""))
        res.sbom = {"packages": len(packages), "debian_packages": len(debs),
                    "expected": ["%s %s" % (n, v) if v else n for n, v in want]}
        if self.check_dpkg:
            installed = self._dpkg_packages(repository, image)
            res.sbom["dpkg_database"] = installed is not None
            if installed:
                if not debs:
                    res.failures.append("the image has a dpkg database (%d packages) but the SBOM names no Debian "
                                        "package" % len(installed))
                else:
                    absent = sorted(installed - {str(d) for d in debs})
                    if absent:
                        res.failures.append("SBOM misses Debian packages of the image: %s%s" % (
                            ", ".join(absent[:5]), " ..." if len(absent) > 5 else ""))

    def _dpkg_packages(self, repository: str, image: Mapping) -> set[str] | None:
        """The packages of the image's dpkg database (the last layer writing it wins), None without one."""
        found: set[str] | None = None
        for layer in image.get("layers") or []:
            if layer.get("urls"):
                continue  # foreign layers (Windows) are not in the registry
            got = self._layer_status(repository, layer["digest"])
            if got is not None:
                found = got
        return found

    def _layer_status(self, repository: str, digest: str) -> set[str] | None:
        with self._lock:
            if digest in self._layers:
                return self._layers[digest]
        data = self.client.get_blob(repository, digest)
        status = None
        try:
            raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
                for member in tar:
                    if member.name.lstrip("./") == DPKG_STATUS and member.isfile():
                        f = tar.extractfile(member)
                        status = _dpkg_installed(f.read().decode("utf-8", "replace")) if f else set()
        except (tarfile.TarError, OSError, EOFError, zlib.error):
            status = None  # not a tar layer (zstd, foreign): nothing to say about dpkg
        with self._lock:
            self._layers[digest] = status
        return status


def _member_key(repository: str, _arch: Any, entry: Mapping, nxt: Mapping | None, source: str) -> tuple:
    """One member check per (repository, image, attestation entry, source)."""
    return (repository, str(entry.get("digest")), json.dumps(nxt, sort_keys=True), source)


def _bounded_map(fn: Callable[[Any], Any], items: Sequence[Any], workers: int, until: float | None,
                 label: Callable[[Any], str], budget: float) -> list:
    """`[fn(item) ...]` on up to `workers` threads, in order; past `until` (monotonic) a VerifyTimeoutError naming
    what was under way. The threads are daemons: one stuck in a socket read cannot keep the process alive after
    the error (a ThreadPoolExecutor's workers are joined at exit). An exception of `fn` is raised here."""
    if not items:
        return []
    todo: queue.Queue = queue.Queue()
    for i, item in enumerate(items):
        todo.put((i, item))
    done: queue.Queue = queue.Queue()
    running: dict[int, Any] = {}
    lock = threading.Lock()

    def work() -> None:
        while True:
            try:
                i, item = todo.get_nowait()
            except queue.Empty:
                return
            with lock:
                running[i] = item
            try:
                done.put((i, True, fn(item)))
            except BaseException as exc:  # handed to the caller, which raises it
                done.put((i, False, exc))
            finally:
                with lock:
                    running.pop(i, None)

    for n in range(min(workers, len(items))):
        threading.Thread(target=work, name="buildfarm-verify-%d" % n, daemon=True).start()
    results: list = [None] * len(items)
    for _count in range(len(items)):
        wait = None if until is None else max(0.0, until - time.monotonic())
        try:
            i, ok, value = done.get(timeout=wait)
        except queue.Empty:
            _drain(todo)  # nothing more is started
            with lock:
                busy = [label(item) for item in running.values()]
            raise VerifyTimeoutError("the verify stage did not finish within %.0f s (deadline); still under way: %s"
                                     % (budget, "; ".join(busy[:10]) + (" ..." if len(busy) > 10 else "")
                                        or "nothing")) from None
        if not ok:
            _drain(todo)
            raise value
        results[i] = value
    return results


def _drain(todo: queue.Queue) -> None:
    while True:
        try:
            todo.get_nowait()
        except queue.Empty:
            return


def _dpkg_installed(text: str) -> set[str]:
    out = set()
    for stanza in text.split("\n\n"):
        fields = dict(line.split(":", 1) for line in stanza.splitlines() if ":" in line and not line[:1].isspace())
        if "install ok installed" in fields.get("Status", "") and fields.get("Package"):
            out.add(fields["Package"].strip())
    return out


def _kind(ptype: str) -> str:
    return "SBOM" if ptype == SPDX_PREDICATE else "provenance" if ptype.startswith(SLSA_PREFIX) else ptype or "a"


def _values(doc: Any, keys: Iterable[str]) -> list:
    """Every value under one of `keys`, anywhere in `doc`."""
    keys = tuple(keys)
    out: list = []
    if isinstance(doc, Mapping):
        for k, v in doc.items():
            if k in keys and isinstance(v, (str, list)):
                out.append(v)
            out.extend(_values(v, keys))
    elif isinstance(doc, list):
        for v in doc:
            out.extend(_values(v, keys))
    return out


def _materials(pred: Mapping) -> list[Mapping]:
    """SLSA v0.2 `materials`, v1 `buildDefinition.resolvedDependencies`."""
    items = list(pred.get("materials") or []) + list((pred.get("buildDefinition") or {}).get(
        "resolvedDependencies") or [])
    return [m for m in items if isinstance(m, Mapping)]


def _material_digests(pred: Mapping) -> set[str]:
    return {str(d) for m in _materials(pred) for d in (m.get("digest") or {}).values()}


def _declared_purls(statement: Mapping) -> list[str]:
    """The purls of the sources a provenance names (a material's `annotations.purl`, as the farm writes them)."""
    return [str((m.get("annotations") or {}).get("purl")) for m in _materials(statement.get("predicate") or {})
            if isinstance(m.get("annotations"), Mapping) and (m.get("annotations") or {}).get("purl")]


def summary(results: Sequence[TagVerification], cached: Collection[str] = ()) -> dict:
    """The module's result: ok, the tags (`cached`: its pass of an earlier run, by the same list digest and
    expectations), and the failures named `<repository>:<tag>: <member>: <why>` (not `failed`: Ansible's own key
    of a failed task)."""
    failed = ["%s: %s" % (r.reference, why) for r in results for why in r.failures]
    bad = sum(1 for r in results if not r.ok)
    return {"ok": bad == 0, "tags": [dict(r.to_dict(), cached=r.reference in cached) for r in results],
            "failures": failed, "summary": "%d of %d tags verified%s" % (len(results) - bad, len(results),
                                                                         "; %d failed" % bad if bad else "")}


def run_verify(p: Mapping[str, Any], make_client: Callable[[Mapping[str, Any]], RegistryClient],
               check_mode: bool = False) -> dict:
    """The release_verify module's job: its options (`p`) -> its result. Every input is checked before the first
    request; a failure after it carries the number of requests made (`requests`). With `cache_file`, earlier
    passes are reused and this run's recorded (not in check mode)."""
    checks = checks_from_repositories(p["repositories"], p["namespace"], p["arch_namespaces"])
    pushed = pushed_from_results(p["pushed"], p["built"], p["results"])
    expect = expected_packages(p["expect_packages"])
    cache = VerifyCache.load(p["cache_file"]) if p.get("cache_file") else None
    try:
        client = make_client(p)
    except BuildfarmError:
        raise
    except ValueError as exc:  # a setting the client refuses, not one of ours
        raise VerifyInputError(str(exc)) from exc
    verifier = Verifier(client, pushed, expect, p["require_attestations"], p["check_dpkg"],
                        max(1, p["max_workers"]), cache=cache)
    try:
        results = verifier.verify(checks)
    except BuildfarmError as exc:
        exc.details.setdefault("requests", client.request_count)
        raise
    except (OSError, ValueError) as exc:
        raise VerifyInputError(str(exc), details={"requests": client.request_count}) from exc
    out = dict(summary(results, verifier.cached), changed=False, requests=client.request_count,
               cached=len(verifier.cached), warnings=list(client.warnings))
    if cache is not None and not check_mode:
        _save_cache(cache, out["warnings"])
    if not out["ok"] and p["fail_on_error"]:
        out.update(failed=True, msg="verify: %s: %s" % (out["summary"], "; ".join(out["failures"][:20])
                                                        + (" ..." if len(out["failures"]) > 20 else "")))
    return out


def _save_cache(cache: VerifyCache, warnings: list[str]) -> None:
    """Write the passes; a cache that cannot be written costs the next run a full verification, not this one."""
    try:
        cache.save()
    except OSError as exc:
        warnings.append("cannot write the verify cache %s: %s" % (cache.path, exc))
