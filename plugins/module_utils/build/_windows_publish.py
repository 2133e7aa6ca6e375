# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Windows builder's pushes made what a Linux builder's are: every per-architecture tag an OCI index of the image
(upstream's annotations) and its attestation (SBOM and provenance), written by the controller from the registry.

The Windows builder (role build_windows, push.ps1) pushes each image bare with `docker push`: it has no Python and
its engine cannot write an OCI index. Afterwards, for the whole share in one call, the controller (Linux, Python)
does per image and repository what build/image_pusher.py does beside a Linux engine, with the registry as its only
source:

1. reads every tag (one GET each): a tag serving an index whose image manifest's config is the image push.ps1
   reported (its id: on Windows' graph-driver store, the config digest), with the annotations and platform it
   would be written with now and its attestation, is unchanged: nothing is scanned or written (another tag of the
   image gets that index, one PUT);
2. else the image manifest the engine pushed (a tag serving it bare, or the image manifest of an outdated index)
   and its config are read; the attestation is made (attest/windows.py: syft scans the registry image by digest,
   provenance from the release bundle and build.ps1's item) before anything is written, so a scanner that fails
   leaves the tags as push.ps1 left them (bare: an incomplete member for the lists); then the OCI image manifest
   with upstream's annotations, the attestation and the index are written by registry/oci_index.py `publish`,
   exactly as a Linux member's, and each tag is read back.

Parents come first (jobs are in build order): a child's base.digest and provenance name its parent's image
manifest as this step wrote it. Plain typed Python.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.attest.errors import AttestationError
from ansible_collections.buildfarm.images.plugins.module_utils.attest.provenance import default_builder_id
from ansible_collections.buildfarm.images.plugins.module_utils.attest.windows import (
    SYFT,
    WindowsAttester,
    syft_registry_env,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.image_pusher import (
    Attester,
    PushError,
    subject_name,
)
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.registry import oci_index
from ansible_collections.buildfarm.images.plugins.module_utils.registry._registry_args import client_from_params
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import IMAGE_TYPES, LIST_TYPES
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    Manifest,
    RegistryClient,
    RegistryError,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    BuildResult,
    ImagePushResult,
    PushedTag,
    PushStatus,
    build_results,
)

# push.ps1's statuses this step goes on from; the others (failed, would-push) are passed through as they are
_PUBLISHED = (PushStatus.PUSHED, PushStatus.UNCHANGED)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Served:
    """What a group's tags serve: the engine's image manifest (its digest and document), its config, and the
    indexes of the image already there (each with its image manifest)."""

    base_digest: str = ""
    base: dict[str, Any] = field(default_factory=dict)
    indexes: list[tuple[oci_index.Published, dict[str, Any]]] = field(default_factory=list)
    by_tag: dict[str, str] = field(default_factory=dict)  # ref -> the digest it serves


@dataclass
class WindowsPublisher:
    """``registry``: the client of the farm's registry (every ref must be in it); ``attester``: makes the
    attestations (None: the indexes hold the image alone, the explicit opt-out as on Linux)."""

    registry: RegistryClient
    attester: Attester | None = None
    arch: str = "windows-amd64"
    check_mode: bool = False
    _done: dict[str, ImagePushResult] = field(default_factory=dict, init=False, repr=False)

    def run(self, pushed: Sequence[ImagePushResult], builds: Mapping[str, BuildResult]) -> list[ImagePushResult]:
        """Every image in the order given (push.ps1's: the share's build order, parents first)."""
        return [self.publish_image(image, builds.get(image.key)) for image in pushed]

    def publish_image(self, image: ImagePushResult, build: BuildResult | None) -> ImagePushResult:
        """``image`` (push.ps1's) with each tag's status and digests as this step leaves the tag."""
        out = ImagePushResult(image.key, image.image_id, [dataclasses.replace(t) for t in image.tags],
                              image.started or _now())
        try:
            self._image(out, build)
        finally:
            out.finished = _now()
            self._done[image.key] = out
        return out

    def _image(self, image: ImagePushResult, build: BuildResult | None) -> None:
        todo = [t for t in image.tags if t.status in _PUBLISHED]
        if not todo:
            return
        parents, blocked = self._parents(build)
        groups: dict[str, list[PushedTag]] = {}
        for t in todo:
            elsewhere = t.ref.api_host != self.registry.registry
            if blocked or elsewhere:
                why = blocked or "%s is not in the registry %s" % (t.text, self.registry.registry)
                t.status, t.error = PushStatus.FAILED, "%s: %s" % (image.key, why)
                continue
            groups.setdefault(t.ref.path, []).append(t)
        item = {"key": image.key, "arch": self.arch, "image_id": image.image_id, "parents": parents,
                "started": build.started if build else "", "finished": build.finished if build else "",
                "builder": (build.builder if build else "") or "classic"}
        for path, tags in groups.items():
            try:
                self._group(path, tags, image.image_id, item)
            except BuildfarmError as exc:
                for t in tags:
                    t.status, t.error = PushStatus.FAILED, "%s: %s" % (image.key, exc)

    def _parents(self, build: BuildResult | None) -> tuple[list[dict[str, str]], str]:
        """build.ps1's parents, one built in this share pinned to the image manifest this step wrote for it; what
        keeps the image from being written ("" = nothing)."""
        out: list[dict[str, str]] = []
        for parent in build.parents if build else ():
            done = self._done.get(parent.key) if parent.key else None
            digest = parent.digest
            if done is not None:
                written = sorted({t.image_digest for t in done.tags if t.image_digest})
                if not done.ok or not written:
                    return out, "its parent %s was not published" % parent.key
                digest = written[0]
            out.append(dict(parent.to_dict(), digest=digest))
        return out, ""

    # -- one repository's tags of one image ----------------------------------------------------------------

    def _group(self, path: str, tags: Sequence[PushedTag], image_id: str, item: Mapping[str, Any]) -> None:
        served = self._served(path, tags, image_id)
        config = self.registry.get_blob(path, str(served.base["config"]["digest"]))
        platform, annotations = self._describe(config, item, tags[0].ref)
        attested = self.attester is not None
        for published, image_manifest in served.indexes:
            if not oci_index.index_matches(published, image_manifest, image_id, platform, annotations, attested):
                self._reuse(path, tags, published, served)
                return
        if self.check_mode:
            for t in tags:
                t.status, t.digest = PushStatus.WOULD_PUSH, ""
            return
        self._write(path, tags, served, item, platform, annotations)

    def _served(self, path: str, tags: Sequence[PushedTag], image_id: str) -> _Served:
        """Read every tag: the indexes of the image (by its config) and the engine's image manifest."""
        out = _Served()
        inner_of: dict[str, Manifest | None] = {}  # tags of one image serve one index: its manifest read once
        for t in tags:
            manifest = self.registry.get_manifest(path, t.ref.tag)
            if manifest is None:
                raise PushError("push.ps1 reported %s %s, but the registry serves nothing for it" % (t.text, t.status))
            out.by_tag[t.text] = manifest.digest
            if manifest.media_type in LIST_TYPES:
                published = oci_index.read_index(manifest.data, manifest.media_type, manifest.digest)
                if not published.problems and published.image_digest not in inner_of:
                    inner_of[published.image_digest] = self.registry.get_manifest(path, published.image_digest)
                inner = None if published.problems else inner_of[published.image_digest]
                if inner is not None and _config(inner.json()) == image_id:
                    out.indexes.append((published, inner.json()))
                    out.base_digest, out.base = out.base_digest or inner.digest, out.base or inner.json()
            elif manifest.media_type in IMAGE_TYPES and _config(manifest.json()) == image_id:
                # the engine's own push wins over an index's rewrite: it is what push.ps1 just pushed
                out.base_digest, out.base = manifest.digest, manifest.json()
        if not out.base:
            raise PushError("no tag of %s serves the image push.ps1 pushed (config %s)" % (path, image_id))
        return out

    def _describe(self, config_blob: bytes, item: Mapping[str, Any], ref: ImageRef) -> tuple[dict, dict[str, str]]:
        """(OCI platform, upstream annotations) of the image, from its config as the registry holds it."""
        try:
            config = json.loads(config_blob.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise PushError("the image config of %s is not JSON" % ref) from None
        arch = architectures.get(self.arch)
        platform = arch.platform.to_oci()
        if config.get("os.version"):
            platform["os.version"] = str(config["os.version"])
        labels = (config.get("config") or {}).get("Labels") or {}
        base = (item.get("parents") or [{}])[-1]
        label = {k: str(labels.get(oci_index.OCI + k, ""))
                 for k in ("source", "revision", "created", "url", "base.name")}
        annotations = oci_index.upstream_annotations(
            source=label["source"], revision=label["revision"], created=label["created"], version=ref.tag,
            url=label["url"], base_name=str(base.get("name") or label["base.name"]),
            base_digest=str(base.get("digest") or ""), arch=arch.name)
        return platform, annotations

    def _reuse(self, path: str, tags: Sequence[PushedTag], published: oci_index.Published, served: _Served) -> None:
        """The image's index as it would be written now is there: the tags serving it are unchanged, the others get
        it (nothing scanned)."""
        for t in tags:
            t.digest, t.image_digest, t.attestation_digest = (published.index_digest, published.image_digest,
                                                              published.attestation_digest)
            if served.by_tag.get(t.text) == published.index_digest:
                t.status = PushStatus.UNCHANGED
            elif self.check_mode:
                t.status = PushStatus.WOULD_PUSH
            else:
                oci_index.put_index(self.registry, path, published.index, [t.ref.tag])
                t.status = PushStatus.PUSHED

    def _write(self, path: str, tags: Sequence[PushedTag], served: _Served, item: Mapping[str, Any],
               platform: Mapping[str, Any], annotations: Mapping[str, str]) -> None:
        """The attestation made first (a scanner that fails writes nothing), then image manifest, attestation and
        index, as a Linux member's."""
        image_manifest = oci_index.oci_image_manifest(served.base, annotations)
        image_digest = oci_index.digest_of(image_manifest)
        att: oci_index.Attestation | None = None
        if self.attester is not None:
            subject = subject_name(str(tags[0].ref), platform)
            source = "%s/%s@%s" % (self.registry.registry, path, served.base_digest)
            scan = self.attester.scan(str(item["key"]), source, item, subject)
            made = self.attester.statements(str(item["key"]), item, scan, subject, image_digest,
                                            annotations.get(oci_index.OCI + "created", ""))
            att = oci_index.attestation([oci_index.Statement.of(s) for s in made])
        names = [t.ref.tag for t in tags]
        error = ""
        try:
            index = oci_index.image_index(image_manifest, platform, annotations, att.manifest if att else None)
            digest = oci_index.publish(self.registry, path, image_manifest, index, att, names)
        except RegistryError as exc:
            if att is None:
                raise
            # Nothing may claim completeness: the tags get the image alone (an incomplete member for the lists)
            error = "the attestation could not be published (%s); the tags serve the image without it" % exc
            att = None
            index = oci_index.image_index(image_manifest, platform, annotations)
            digest = oci_index.publish(self.registry, path, image_manifest, index, None, names)
        for t in tags:
            t.digest, t.image_digest, t.attestation_digest = digest, image_digest, att.digest if att else ""
            t.status, t.error = ((PushStatus.FAILED, "%s: %s" % (item["key"], error)) if error
                                 else (PushStatus.PUSHED, ""))


def _config(manifest: Mapping[str, Any]) -> str:
    return str((manifest.get("config") or {}).get("digest") or "")


def results(images: Sequence[ImagePushResult]) -> dict[str, Any]:
    """The module's result, as image_push's: `images`, `digests` (ref -> the index it serves), `failed_entries`,
    `changed` (a tag was written)."""
    return {"images": [i.to_dict() for i in images],
            "digests": {t.text: t.digest for i in images for t in i.tags if t.digest},
            "failed_entries": [i.key for i in images if not i.ok],
            "changed": any(t.status == PushStatus.PUSHED for i in images for t in i.tags)}


def attest_share(params: Mapping[str, Any], check_mode: bool) -> dict[str, Any]:
    """windows_attest's job (the module's options in ``params``): push.ps1's `images` and build.ps1's `builds`
    parsed, the registry client and the attester made, every image published; the module's result."""
    pushed = [ImagePushResult.from_dict(item, "images[%d]" % n) for n, item in enumerate(params["images"])]
    builds = {b.key: b for b in build_results(params.get("builds") or [], "builds")}
    if not any(t.status in _PUBLISHED for image in pushed for t in image.tags):
        return results(pushed)  # nothing reached the registry (failed, would-push): nothing is read
    registry = client_from_params(params)
    with tempfile.TemporaryDirectory(prefix="buildfarm-windows-attest-") as tmp:
        attester = None
        if params["attestations"]:
            if not params.get("bundle") or not os.path.isfile(params["bundle"]):
                raise AttestationError("", "the release bundle is required when attestations is true (set "
                                           "attestations: false to publish without them)", field="bundle",
                                       value=params.get("bundle") or "")
            attester = WindowsAttester(
                bundle=params["bundle"], work_dir=tmp,
                builder_id=params.get("builder_id") or default_builder_id(params["host"]),
                scanner=params.get("scanner") or SYFT, syft=params.get("syft_path") or "",
                timeout=float(params.get("scan_timeout") or 900),
                env=syft_registry_env(username=params.get("username") or "", password=params.get("password") or "",
                                      plain_http=registry.scheme == "http", ca_path=params.get("ca_path") or "",
                                      validate_certs=params.get("validate_certs", True) is not False,
                                      authority=registry.registry, docker_config=params.get("docker_config") or ""))
        publisher = WindowsPublisher(registry, attester, arch=params.get("arch") or "windows-amd64",
                                     check_mode=check_mode)
        return results(publisher.run(pushed, builds))
