# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Publishing a builder's images: every tag an OCI index of the image and its attestation (registry/oci_index.py).

Per image, parents first (an image whose build item names another image of this push as a parent waits for it:
its base.digest annotation and its provenance name the parent's pushed manifest):

1. unchanged? One GET per tag and one of the image manifest: a tag serving the index whose image manifest's config
   is the local image (its id; on the containerd image store, where the id is the engine's manifest or index
   digest, the config of that manifest as the registry serves it: build/engine_store.py), with the annotations and
   the platform it would be written with and its attestation, is unchanged: nothing is scanned or pushed; another
   tag of the image gets that index (one PUT);
2. else the SBOM is made (the scan: before anything is pushed, so a scanner that fails publishes nothing), the
   engine pushes the image under the first tag of each repository (its blobs, as before), its manifest is read
   back (the platform's image manifest, where the containerd store pushed an index), rewritten as the OCI image
   manifest with the upstream annotations, the provenance made for its digest, and the attestation blobs, the two
   manifests (by digest) and the index (under every tag) written.

What the registry holds is asked of the registry itself: a tag counts as pushed only once it serves the index
written (a HEAD after the PUT), and the manifest the engine reports pushing must be served. The engine's memory
(RepoDigests, the layers it believes a registry has) is never taken as proof. An image whose attestation could not
be written fails; its tags then serve the index with the image alone (an incomplete member for the lists, retried
by the next run), never one claiming an attestation.
"""
from __future__ import annotations

import dataclasses
import datetime
import functools
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, Sequence, Tuple, TypeVar, Union

from ansible_collections.buildfarm.images.plugins.module_utils.build import engine_store
from ansible_collections.buildfarm.images.plugins.module_utils.build.progress import Progress
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.architectures import Platform
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.registry.oci_index import (
    OCI,
    Attestation,
    Published,
    Statement,
    attestation,
    digest_of,
    image_index,
    index_matches,
    oci_image_manifest,
    publish,
    put_index,
    read_index,
    upstream_annotations,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import LIST_TYPES
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    BuildParent,
    BuildResult,
    BuildStatus,
    ImagePushResult,
    PushedTag,
    PushStatus,
)

T = TypeVar("T")
# (entry key, image id, its tags): an image to push ("" image id: a dry run's image that would be built)
PushItem = Tuple[str, str, Sequence[Union[ImageRef, str]]]

# Words in an engine error that mean the registry or the network hiccupped, not that the push is wrong.
_TRANSIENT = ("timeout", "timed out", "connection reset", "eof", "broken pipe",
              "502", "503", "504", "500", "429", "too many requests", "temporary", "i/o timeout", "unavailable")
# A refused port, a name that does not resolve or a TLS failure is a wrong address or trust setting, not a passing
# fault: retrying only delays the error (as the registry client does, these fail at once).
_PERMANENT = ("unauthorized", "denied", "authentication required", "manifest invalid", "name unknown",
              "connection refused", "no such host", "certificate", "x509", "tls:")


class PushError(BuildfarmError, RuntimeError):
    pass


class PushInputError(BuildfarmError, ValueError):
    """Bad `images` input, found before anything is pushed: `field` (e.g. images[2].key) and `value` say which."""

    def __init__(self, field: str, value: Any, problem: str) -> None:
        # the option is the file: the modules report every bad input as file, field and value
        super().__init__(problem, "images", field, value)


def _not_found(exc: Exception) -> bool:
    """Whether an engine error means the image does not exist (docker.errors.ImageNotFound / NotFound: 404)."""
    return getattr(exc, "status_code", None) == 404 or type(exc).__name__ in ("ImageNotFound", "NotFound")


# what a malformed item's field lacks, in the words image_push has always used
_ITEM_PROBLEMS = {
    "": "must be a mapping with key, image_id, tags and status",
    "key": "missing or not a string: every item needs the key of its entry (items are the images result of"
           " image_build)",
    "tags": "must be a non-empty list of full image references",
    "image_id": "missing or not a string",
}


def _item(item: Any, where: str) -> BuildResult:
    """One image_build item, parsed; a PushInputError names its field."""
    try:
        return BuildResult.from_dict(item, where)
    except BuildfarmError as exc:
        name = (exc.field or "").partition("[")[0]  # tags[1] is a fault of tags
        value = item.get(name) if name and isinstance(item, dict) else item
        raise PushInputError(where + ("." + name if name else ""), value,
                             _ITEM_PROBLEMS.get(name, exc.problem)) from None


def build_items(images: Sequence[Any]) -> list[BuildResult]:
    """image_build's items, each parsed (a PushInputError names the first bad one, so nothing is half-pushed)."""
    return [_item(raw, "images[%d]" % n) for n, raw in enumerate(images)]


def push_items(images: Sequence[Any], check_mode: bool = False) -> list[tuple[str, str, list[ImageRef]]]:
    """The (key, image_id, tags) to push from `images` (the image_build result's items, each parsed as a
    BuildResult): those to push (status built or unchanged) need an `image_id` and tags. A PushInputError names
    the first bad item, so a malformed list never half-pushes."""
    todo: list[tuple[str, str, list[ImageRef]]] = []
    for n, raw in enumerate(images):
        where = "images[%d]" % n
        item = _item(raw, where)
        if not item.status.has_image and not (check_mode and item.status == BuildStatus.WOULD_BUILD):
            continue
        if not item.tags:
            raise PushInputError(where + ".tags", raw.get("tags"), _ITEM_PROBLEMS["tags"] + " (entry %s)" % item.key)
        if item.status != BuildStatus.WOULD_BUILD and not item.image_id.strip():
            raise PushInputError(where + ".image_id", raw.get("image_id"), "missing or not a string (entry %s, status"
                                 " %s)" % (item.key, item.status))
        # a dry run's would-build item has no image yet: "" marks it, whatever image_id it carries
        todo.append((item.key, "" if item.status == BuildStatus.WOULD_BUILD else item.image_id, item.tags))
    return todo


def is_transient(message: str) -> bool:
    low = message.lower()
    return not any(w in low for w in _PERMANENT) and any(w in low for w in _TRANSIENT)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Attester(Protocol):
    """Makes an image's in-toto statements in two steps. `scan` runs before anything is pushed: it is the slow,
    fallible part (syft), so a scanner that fails leaves the registry untouched. `statements` runs once the image
    manifest digest (the subject) is known: the SBOM statement from the scan and the provenance, in this order.
    Both raise a BuildfarmError naming the image."""

    def scan(self, key: str, image_id: str, item: Mapping[str, Any], subject_name: str) -> Any: ...

    def statements(self, key: str, item: Mapping[str, Any], scan: Any, subject_name: str, subject_digest: str,
                   created: str) -> list[dict]: ...


@dataclass
class FarmAttester:
    """The farm's attestations (plugins/module_utils/attest): an SPDX SBOM made by syft plus the family's declared
    sources, and SLSA provenance from the release bundle (`release`) and the builder's folder (`work_dir`)
    image_build used."""

    release: str
    work_dir: str
    builder_id: str = ""  # "" = the farm's default (attest/provenance.py default_builder_id)
    cache_dir: str = ""  # image_build's cache_dir (root filesystem records); "" = its default under work_dir
    syft: str = ""
    docker_host: str = ""
    timeout: float = 900.0

    def _input(self, key: str, item: Mapping[str, Any]) -> Any:
        from ansible_collections.buildfarm.images.plugins.module_utils.attest import provenance
        return provenance.provenance_input(self.release, self.work_dir, key, str(item.get("arch") or ""), dict(item),
                                           self.builder_id, cache_dir=self.cache_dir)

    def scan(self, key: str, image_id: str, item: Mapping[str, Any], subject_name: str) -> Any:
        from ansible_collections.buildfarm.images.plugins.module_utils.attest import sbom
        name, _sep, version = subject_name.partition("?")[0][len("pkg:docker/"):].rpartition("@")
        return sbom.run_syft(image_id, syft=self.syft, docker_host=self.docker_host, timeout=self.timeout,
                             source_name=name, source_version=version)

    def statements(self, key: str, item: Mapping[str, Any], scan: Any, subject_name: str, subject_digest: str,
                   created: str) -> list[dict]:
        from ansible_collections.buildfarm.images.plugins.module_utils.attest import provenance, sbom
        inp = self._input(key, item)
        image = str(item.get("image_id") or key)
        document = sbom.sbom_document(scan, subject_digest, getattr(inp, "sources", None) or [], created, image)
        return [sbom.statement(subject_name, subject_digest, sbom.SPDX_PREDICATE, document, image),
                provenance.provenance_statement(subject_name, subject_digest, inp)]


def subject_name(ref: ImageRef | str, platform: Mapping[str, Any]) -> str:
    """The statements' subject name as BuildKit writes it: pkg:docker/<repository>@<tag>?platform=<os/arch/variant>."""
    image = ref if isinstance(ref, ImageRef) else ImageRef.parse(ref, default_tag="latest")
    where = "/".join(str(platform[k]) for k in ("os", "architecture", "variant") if platform.get(k))
    return "pkg:docker/%s@%s?platform=%s" % (image.familiar_repository, image.tag, urllib.parse.quote(where, safe=""))


def _record(tags: Sequence[PushedTag], digest: str, index: bytes, image_manifest: bytes, attestation_digest: str,
            attestation_manifest: bytes = b"") -> None:
    """What each tag of a push serves, and on the first the manifests it wrote or read (the publish lists them from
    here; an attestation manifest not read is left for the publish to read if it must copy it)."""
    image_digest = digest_of(image_manifest)
    tags[0].manifests = {digest_of(index): index.decode("utf-8"), image_digest: image_manifest.decode("utf-8")}
    if attestation_manifest:
        tags[0].manifests[attestation_digest] = attestation_manifest.decode("utf-8")
    for t in tags:
        t.digest, t.image_digest, t.attestation_digest = digest, image_digest, attestation_digest


def push_order(images: Sequence[PushItem], build_items: Mapping[str, BuildResult]) -> list[list[PushItem]]:
    """`images` in rounds: an image whose build item names (parents[].key) another image of this push comes in a
    later round than it, so that its base.digest is its parent's pushed manifest."""
    keys = {i[0] for i in images}
    depth: dict[str, int] = {}

    def level(key: str, seen: tuple[str, ...] = ()) -> int:
        if key not in depth:
            item = build_items.get(key)
            parents = [p.key for p in item.parents] if item is not None else []
            inner = [p for p in parents if p in keys and p != key and p not in seen]
            depth[key] = 1 + max((level(p, seen + (key,)) for p in inner), default=-1)
        return depth[key]

    rounds: dict[int, list[PushItem]] = {}
    for item in images:
        rounds.setdefault(level(item[0]), []).append(item)
    return [rounds[n] for n in sorted(rounds)]


@dataclass
class Pusher:
    """``client_factory``: a new engine client (one per worker); ``registry_for``: the registry client of a
    registry host (shared by the workers); ``progress`` (job ``push``): every image's state while run() works.
    ``build_items``: image_build's items by key (parents, for the order and the base annotations); ``arch``: the
    bashbrew architecture ("" = the image's platform's); ``attester``: makes the attestations (None: the index
    holds the image only, annotations and all)."""

    client_factory: Callable[[], Any]
    registry_for: Callable[[str], RegistryClient]
    retries: int = 3
    backoff: float = 2.0
    check_mode: bool = False
    max_workers: int = 2
    sleep: Callable[[float], None] = time.sleep
    progress: Progress | None = None
    build_items: Mapping[str, BuildResult] = field(default_factory=dict)
    arch: str = ""
    attester: Attester | None = None
    # the engine keeps images in the containerd image store (its image ids are manifest or index digests, not
    # config digests): None = ask the engine (`docker info`) once
    containerd_store: bool | None = None
    _done: dict[str, ImagePushResult] = field(default_factory=dict, init=False, repr=False)

    def _store(self, client: Any) -> bool:
        if self.containerd_store is None:
            self.containerd_store = engine_store.engine_containerd_store(client)
        return self.containerd_store

    def _config_digest(self, registry: RegistryClient, path: str, image_id: str, platform: Mapping[str, Any],
                       res: PushedTag) -> str:
        """The config digest of the engine's image ``image_id``: the id itself on the graph-driver store; on the
        containerd store the config of the manifest the id names, as the registry serves it in ``path`` ("" when it
        does not: the engine never pushed it there, so no tag serves it)."""
        if not self.containerd_store:
            return image_id
        return self._with_retries(res, functools.partial(engine_store.config_digest, registry, path, image_id,
                                                         platform))

    def _push_tag(self, client: Any, image: ImageRef) -> str:
        digest = ""
        for line in client.api.push(image.familiar_repository, image.tag, stream=True, decode=True):
            if "error" in line or "errorDetail" in line:
                raise PushError(str(line.get("error") or line.get("errorDetail")))
            # the graph-driver store reports it in `aux`, the containerd store in its last status line only
            digest = engine_store.pushed_digest(line) or digest
        if not digest:
            raise PushError("the engine reported no digest for %s" % image.familiar())
        return digest

    def _with_retries(self, res: PushedTag, fn: Callable[[], T]) -> T:
        while True:
            res.attempts += 1
            try:
                return fn()
            except Exception as exc:
                if res.attempts >= self.retries or not is_transient(str(exc)):
                    raise
                self.sleep(min(30.0, self.backoff ** res.attempts))

    def check_images(self, images: Sequence[PushItem]) -> None:
        """Every image id is known to the engine, or a PushInputError naming each unknown one, before anything is
        pushed (an engine that cannot be asked is left to push_image, which fails the tags with its error)."""
        if not images:
            return
        try:
            client = self.client_factory()
        except Exception:
            return
        unknown = []
        for key, image_id, _refs in images:
            try:
                client.api.inspect_image(image_id)
            except Exception as exc:
                if not _not_found(exc):
                    return
                unknown.append("%s (entry %s)" % (image_id, key))
        if unknown:
            raise PushInputError("image_id", ", ".join(unknown), "no such image in the engine: was it built on this"
                                 " host, or removed since? Nothing was pushed")

    # -- what the index says about the image ---------------------------------------------------------------

    def _platform(self, attrs: Mapping[str, Any]) -> tuple[str, dict]:
        """(bashbrew arch, OCI platform) of the image: the pusher's architecture, else the image config's."""
        own = Platform(str(attrs.get("Os") or "linux"), str(attrs.get("Architecture") or ""),
                       str(attrs.get("Variant") or ""))
        arch = architectures.get(self.arch) if self.arch else architectures.from_platform(own)
        platform = arch.platform.to_oci()
        if arch.is_windows and attrs.get("OsVersion"):
            platform["os.version"] = str(attrs["OsVersion"])
        return arch.name, platform

    def _parents(self, key: str) -> tuple[list[BuildParent], str]:
        """The build item's parents with each digest resolved (an image of this push: its pushed image manifest),
        and what keeps the image from being published ("" = nothing)."""
        out: list[BuildParent] = []
        item = self.build_items.get(key)
        for parent in item.parents if item is not None else ():
            done = self._done.get(parent.key)
            if done is not None:
                digests = {t.image_digest for t in done.tags if t.image_digest}
                if not done.ok or not digests:
                    would = any(t.status == PushStatus.WOULD_PUSH for t in done.tags)
                    return out, ("its parent %s would be pushed first" % parent.key if would
                                 else "its parent %s was not pushed" % parent.key)
                parent = dataclasses.replace(parent, digest=sorted(digests)[0])
            out.append(parent)
        return out, ""

    def _annotations(self, ref: ImageRef, attrs: Mapping[str, Any], parents: Sequence[BuildParent],
                     arch: str) -> dict[str, str]:
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        base = parents[-1] if parents else BuildParent("")
        return upstream_annotations(
            source=labels.get(OCI + "source", ""), revision=labels.get(OCI + "revision", ""),
            created=labels.get(OCI + "created", ""), version=ref.tag,
            url=labels.get(OCI + "url", ""), base_name=base.name or labels.get(OCI + "base.name", ""),
            base_digest=base.digest, arch=arch)

    # -- one image -------------------------------------------------------------------------------------------

    def push_image(self, key: str, image_id: str, refs: Sequence[ImageRef | str]) -> ImagePushResult:
        out = ImagePushResult(key, image_id, started=_now())
        try:
            out.tags = self._push_image(key, image_id, [r if isinstance(r, ImageRef) else ImageRef.parse(
                r, where="entry %s" % key, field="tags", default_tag="latest") for r in refs])
        finally:
            out.finished = _now()
            self._done[key] = out
        return out

    def _push_image(self, key: str, image_id: str, refs: Sequence[ImageRef]) -> list[PushedTag]:
        try:
            client = self.client_factory()
            attrs = client.api.inspect_image(image_id)
            self._store(client)
        except Exception as exc:  # the engine or the image is gone: every tag fails, saying why; the others go on
            error = "%s: %s" % (type(exc).__name__, exc)
            if _not_found(exc):
                error = "image %s of entry %s is not in the engine (%s)" % (image_id, key, error)
            return [PushedTag(ref, PushStatus.FAILED, error=error) for ref in refs]
        parents, blocked = self._parents(key)
        if blocked:
            status = PushStatus.WOULD_PUSH if self.check_mode and "would be pushed" in blocked else PushStatus.FAILED
            return [PushedTag(ref, status, error="" if status == PushStatus.WOULD_PUSH else "%s: %s" % (key, blocked))
                    for ref in refs]
        try:
            arch, platform = self._platform(attrs)
        except BuildfarmError as exc:
            return [PushedTag(ref, PushStatus.FAILED, error="%s: %s" % (key, exc)) for ref in refs]
        annotations = self._annotations(refs[0], attrs, parents, arch)
        # Windows images are attested on the controller after their push (attest/windows.py), not here
        attested = self.attester is not None and platform["os"] != "windows"
        # what the attester reads: the build item, its parents resolved, the image and its architecture
        built = self.build_items.get(key)
        item = dict(built.to_dict() if built is not None else {}, parents=[p.to_dict() for p in parents],
                    image_id=image_id, arch=arch)
        # tags of one repository share the engine's push (its blobs) and the index
        groups: dict[tuple[str, str], list[ImageRef]] = {}
        for ref in refs:
            groups.setdefault((ref.api_host, ref.path), []).append(ref)
        results: dict[ImageRef, PushedTag] = {}
        scans: list[Any] = []  # the SBOM scan: once per image, before its first push
        for (host, path), group in groups.items():
            tags = [PushedTag(ref, PushStatus.FAILED) for ref in group]
            results.update((t.ref, t) for t in tags)
            try:
                registry = self.registry_for(host)
                if self._unchanged(registry, path, tags, image_id, platform, annotations, attested):
                    continue
                if self.check_mode:
                    for t in tags:
                        t.status = PushStatus.WOULD_PUSH
                    continue
                subject = subject_name(group[0], platform)
                if attested and not scans and self.attester is not None:
                    try:
                        scans.append(self.attester.scan(key, image_id, item, subject))
                    except Exception as exc:
                        raise PushError("the SBOM scan failed, nothing was pushed: %s" % exc) from None
                self._publish(client, registry, path, tags, key, item, subject, platform, annotations,
                              scans[0] if attested else None)
            except Exception as exc:
                for t in tags:
                    if t.status == PushStatus.FAILED and not t.error:
                        t.error = "%s: %s: %s" % (key, type(exc).__name__, exc)
        return [results[ref] for ref in refs]

    def _unchanged(self, registry: RegistryClient, path: str, tags: Sequence[PushedTag], image_id: str,
                   platform: Mapping[str, Any], annotations: Mapping[str, str], attested: bool) -> bool:
        """Whether a tag of the group already serves this image's index as it would be written now (read: one GET
        per tag, one GET of the image manifest); the other tags of the group then get that index (a PUT each)
        unless they serve it already. Nothing is scanned or pushed for an unchanged image."""
        found: Published | None = None
        found_image = b""  # the image manifest of `found`, as the registry serves it
        served: dict[ImageRef, str] = {}
        config: str | None = None  # the local image's config digest, read when a tag's index is a candidate
        for t in tags:
            manifest = self._with_retries(t, functools.partial(registry.get_manifest, path, t.ref.tag))
            if manifest is None:
                continue
            served[t.ref] = manifest.digest
            if found is not None:
                continue
            published = read_index(manifest.data, manifest.media_type, manifest.digest)
            if index_matches(published, None, image_id, platform, annotations, attested):
                continue
            if config is None:
                config = self._config_digest(registry, path, image_id, platform, PushedTag(t.ref, PushStatus.UNCHANGED))
            if not config:
                continue
            image = self._with_retries(PushedTag(t.ref, PushStatus.UNCHANGED),
                                       functools.partial(registry.get_manifest, path, published.image_digest))
            if image is not None and not index_matches(published, image.json(), config, platform, annotations,
                                                       attested):
                found, found_image = published, image.data
        if found is None:
            return False
        _record(tags, found.index_digest, found.index, found_image, found.attestation_digest)
        for t in tags:
            if served.get(t.ref) == found.index_digest:
                t.status = PushStatus.UNCHANGED
            elif self.check_mode:
                t.status = PushStatus.WOULD_PUSH
            else:
                self._with_retries(t, functools.partial(put_index, registry, path, found.index, [t.ref.tag]))
                t.status = PushStatus.PUSHED
        return True

    def _publish(self, client: Any, registry: RegistryClient, path: str, tags: Sequence[PushedTag], key: str,
                 item: Mapping[str, Any], subject: str, platform: Mapping[str, Any], annotations: Mapping[str, str],
                 scan: Any) -> None:
        """The engine pushes the image under the group's first tag; its manifest, read back from the registry, becomes
        the OCI image manifest; then the attestation and the index under every tag of the group."""
        first = tags[0]
        first.attempts = 0
        pushed = self._with_retries(first, functools.partial(self._push_tag, client, first.ref))
        engine_manifest = self._with_retries(PushedTag(first.ref, PushStatus.PUSHED),
                                             functools.partial(registry.get_manifest, path, pushed))
        if engine_manifest is None:
            raise PushError(
                "the registry accepted the push of %s (%s) but serves nothing for it: the engine pushed elsewhere "
                "(a mirror, a proxy, another address), or the registry lost what it accepted (storage wiped or "
                "replaced while it runs: restart it)" % (first.text, pushed))
        if engine_manifest.media_type in LIST_TYPES:
            # the containerd store pushes an image's index as it holds it (an image pulled by a list's tag, one
            # built with attestations): the farm writes its own, from the platform's image manifest in it
            digest = engine_store.platform_manifest(engine_manifest.json(), platform)
            if not digest:
                raise PushError("the engine pushed an index for %s (%s) without an image manifest for %s"
                                % (first.text, pushed, "/".join(str(v) for v in platform.values())))
            engine_manifest = self._with_retries(PushedTag(first.ref, PushStatus.PUSHED),
                                                 functools.partial(registry.get_manifest, path, digest))
            if engine_manifest is None:
                raise PushError("the registry serves the index %s the engine pushed for %s but not its image "
                                "manifest %s" % (pushed, first.text, digest))
        image_manifest = oci_image_manifest(engine_manifest.json(), annotations)
        image_digest = digest_of(image_manifest)
        tag_names = [t.ref.tag for t in tags]
        att: Attestation | None = None
        error = ""
        if scan is not None and self.attester is not None:
            try:
                made = self.attester.statements(key, item, scan, subject, image_digest,
                                                annotations.get(OCI + "created", ""))
                att = attestation([Statement.of(s) for s in made])
                index = image_index(image_manifest, platform, annotations, att.manifest)
                digest = self._with_retries(PushedTag(first.ref, PushStatus.PUSHED), functools.partial(
                    publish, registry, path, image_manifest, index, att, tag_names))
            except Exception as exc:
                # Nothing may claim completeness: the tags get the image alone (an incomplete member, as the lists
                # see one), so that the engine's bare manifest is not what they serve, and the image fails.
                error = "the attestation could not be published (%s: %s)" % (type(exc).__name__, exc)
                att = None
        if att is None:
            index = image_index(image_manifest, platform, annotations)
            try:
                digest = self._with_retries(PushedTag(first.ref, PushStatus.PUSHED), functools.partial(
                    publish, registry, path, image_manifest, index, None, tag_names))
            except Exception as exc:
                raise PushError("%sthe OCI index could not be published (%s: %s); %s serves the engine's image "
                                "manifest %s without annotations" % (error + "; " if error else "",
                                                                     type(exc).__name__, exc, first.text,
                                                                     pushed)) from None
            if error:
                error += "; the tags serve the image without its attestation (incomplete: not published as complete)"
        _record(tags, digest, index, image_manifest, att.digest if att else "", att.manifest if att else b"")
        for t in tags:
            t.status, t.error = (PushStatus.FAILED, "%s: %s" % (key, error)) if error else (PushStatus.PUSHED, "")

    def run(self, images: Sequence[PushItem]) -> list[ImagePushResult]:
        progress = self.progress or Progress("", "", "", job="push")

        def tracked(item: PushItem) -> ImagePushResult:
            progress.start(item[0])
            res = self.push_image(*item)
            progress.finish(item[0], res.state)
            return res

        progress.waiting([i[0] for i in images])
        progress.set_stage("pushing")
        done: dict[str, ImagePushResult] = {}
        with ThreadPoolExecutor(max_workers=max(1, self.max_workers)) as pool:
            # parents before their children: a child's base.digest is its parent's pushed manifest
            for batch in push_order(images, self.build_items):
                for item, res in zip(batch, pool.map(tracked, batch)):
                    done[item[0]] = res
        return [done[i[0]] for i in images]
