# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builds one builder's share of a release on its Docker engine: dependency order, concurrency inside a
wave, parents pinned to image ids, images reused when their build inputs are unchanged - found on the engine
by their input-digest label or, on an engine that does not have them (a new builder), pulled from the registry
where they were published.

Each entry is built with its normalized builder (common/builders.py): `buildkit` through `docker buildx build`
(build/_buildx.py), `classic` through the engine's API (the Docker SDK), `oci-import` loaded from its OCI layout.
Used by the image_build module; the Docker SDK (`docker` package) is imported lazily by the caller and
passed in as a client factory so this file stays importable without it.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.builders import (
    BUILDKIT,
    OCI_IMPORT,
    UnknownBuilder,
    normalized_builder,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build import _buildx, engine_store
from ansible_collections.buildfarm.images.plugins.module_utils.build.labels import image_labels
from ansible_collections.buildfarm.images.plugins.module_utils.build.oci_layout import oci_layout_image
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import Entry
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef, ImageRefError
from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import (
    INPUT_DIGEST_LABEL,
    BuildInputError,
    BuildInputs,
    build_order,
    scan_context,
)
from ansible_collections.buildfarm.images.plugins.module_utils.common.dockerfile import from_lines, pin_from
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    BuildParent,
    BuildResult,
    BuildStatus,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.model._build import ref_text
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import IMAGE_TYPES, LIST_TYPES
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    RegistryClient,
    RegistryError,
)


@dataclass
class FamilyShare:
    repo: str
    context_root: str
    entries: list[Entry]
    extra_context: str = ""  # files prepared on the builder for this architecture (overlaid on every entry)
    source: str = ""
    created: str = ""  # overrides BuildSettings.created for this family
    revision: str = ""  # overrides BuildSettings.revision for this family's entries without git_commit
    error: str = ""  # the family cannot be built here (e.g. its context source failed): its entries fail with it
    build_args: dict[str, str] = field(default_factory=dict)  # this family's own, over BuildSettings.build_args
    # entries built from Git (a library file's): entry key -> its exported Directory on this builder, or the
    # reason it could not be fetched (that entry fails, the others go on)
    context_dirs: dict[str, str] = field(default_factory=dict)
    entry_errors: dict[str, str] = field(default_factory=dict)

    def context_dir(self, e: Entry) -> str:
        return self.context_dirs.get(e.key) or os.path.join(self.context_root, e.directory)


@dataclass
class BuildSettings:
    arch: str
    registry: str
    namespace: str
    created: str = ""
    revision: str = ""
    build_args: dict[str, str] = field(default_factory=dict)
    pull_parents: bool = True
    max_workers: int = 2
    check_mode: bool = False
    docker_host: str = ""  # the engine buildx builds on: the one the SDK's clients talk to (else the environment's)

    @property
    def platform(self) -> str:
        return str(architectures.get(self.arch).platform)

    @property
    def platform_obj(self) -> architectures.Platform:
        return architectures.get(self.arch).platform


def rfc3339_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _provided_key(ref: str, where: str) -> tuple[str, str]:
    """(repository, tag) of a FROM reference as the release's entries provide them (`busybox`, `1.35.0-glibc`)."""
    try:
        image = ImageRef.parse(ref, default_tag="latest")
    except ImageRefError as exc:
        raise BuildInputError("%s: FROM %s: %s" % (where, ref, exc.problem)) from None
    return image.short_repo, image.tag


def local_repository(settings: BuildSettings, repo: str) -> str:
    prefix = settings.registry.rstrip("/") + "/" if settings.registry else ""
    return "%s%s/%s" % (prefix, settings.namespace, repo)


def share_for_arch(families: Sequence[FamilyShare], arch: str) -> list[tuple[FamilyShare, Entry]]:
    return [(f, e) for f in families for e in f.entries if arch in e.architectures]


class ReleaseBuilder:
    """Builds the entries of ``families`` that list ``settings.arch``. ``registry_for`` (registry host -> client)
    lets an image the engine does not have be pulled from the registry when it was published with the same
    build inputs, instead of rebuilt; without it every such image is built."""

    def __init__(self, families: Sequence[FamilyShare], settings: BuildSettings, client_factory: Callable[[], Any],
                 registry_for: Callable[[str], RegistryClient] | None = None):
        self.settings = settings
        self.client_factory = client_factory
        self.registry_for = registry_for
        self.jobs = share_for_arch(families, settings.arch)
        self.by_key = {e.key: (f, e) for f, e in self.jobs}
        # (repo, tag) -> key, for FROM lines naming another entry of this release on this architecture
        self.provides: dict[tuple[str, str], str] = {}
        for _f, e in self.jobs:
            for t in e.tags + e.shared_tags:
                self.provides[(e.repo, t)] = e.key
        self.dockerfiles: dict[str, str] = {}
        self.parent_keys: dict[str, list[str]] = {}
        # each entry's builder, checked before anything is built (an unknown one names the entry and its value)
        self.builders: dict[str, str] = {}
        for f, e in self.jobs:
            try:
                self.builders[e.key] = normalized_builder(settings.arch, e.builder)
            except UnknownBuilder as exc:
                raise BuildInputError("%s: entry %s: field builder: %s" % (f.repo, e.key, exc.problem),
                                      value=e.builder) from None
            if e.key in f.entry_errors:
                self.dockerfiles[e.key], self.parent_keys[e.key] = "", []
                continue
            path = os.path.join(f.context_dir(e), e.file)
            try:
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
            except OSError as exc:
                raise BuildInputError("%s: entry %s: field directory/file: cannot read %s: %s"
                                      % (f.repo, e.key, path, exc.strerror)) from None
            self.dockerfiles[e.key] = text
            self.parent_keys[e.key] = [
                self.provides[k]
                for k in (_provided_key(fl.ref, path) for fl in from_lines(text) if not fl.stage_parent)
                if k in self.provides
            ]
        self.waves = build_order([e.key for _f, e in self.jobs], self.parent_keys)
        self.results: dict[str, BuildResult] = {}
        # Entries with the same build inputs (a family copied under another name, one Dockerfile for two
        # repositories) are built once: the second waits for the first and reuses its image.
        self._digest_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._engine: _buildx.EngineInfo | None = None
        self._pins_made: set[str] = set()  # pin tags this run put on the engine (taken off when it ends)
        self._pins_lock = threading.Lock()

    # -- one entry ----------------------------------------------------------------------------------
    def _full_tags(self, e: Entry) -> list[ImageRef]:
        repo = ImageRef.parse(local_repository(self.settings, e.repo), where=e.key, field="repo")
        return [repo.with_tag(t) for t in e.tags + e.shared_tags]

    def _resolve_external(self, client: Any, ref: str) -> tuple[str, str]:
        """(image id, registry manifest digest or "") of an external parent for this platform, pulling it unless it
        is local or pulls are off."""
        platform = self.settings.platform
        if self.settings.pull_parents and not self.settings.check_mode:
            img = client.images.pull(ref, platform=platform)
            return img.id, _repo_digest(img, ref)
        try:
            img = client.images.get(ref)
        except Exception:  # docker.errors.ImageNotFound; the SDK is imported by the caller
            if self.settings.check_mode:
                return "unresolved:" + ref, ""  # check mode never pulls: the plan still lists the entry
            raise BuildInputError("parent image %s is not on this builder and pull_parents is off" % ref) from None
        # the containerd store lists every image's own manifest digest in RepoDigests, pulled or made here: an image
        # not pulled now has no registry digest it is known by (the graph-driver store lists only pulled ones)
        return img.id, _repo_digest(img, ref, self._engine_info(client).containerd_store)

    def _identities(self, client: Any, pins: dict[str, str]) -> dict[str, str]:
        """The parents' identities for the input digest where an engine id is none (the containerd store:
        engine_store.image_identity); {} on the graph-driver store, whose ids are config digests."""
        if not pins or not self._engine_info(client).containerd_store:
            return {}
        out = {}
        for ref, image_id in pins.items():
            if image_id.startswith("sha256:"):
                out[ref] = engine_store.image_identity(client.api.inspect_image(image_id))
        return out

    def _labels(self, f: FamilyShare, e: Entry, base: str, digest: str) -> dict[str, str]:
        return image_labels(source=f.source, revision=e.git_commit or f.revision or self.settings.revision,
                            version=e.version, created=f.created or self.settings.created, base=base,
                            input_digest=digest)

    def _build_one(self, key: str) -> BuildResult:
        f, e = self.by_key[key]
        res = BuildResult(key, e.repo, self._full_tags(e), BuildStatus.FAILED, builder=self.builders[key],
                          started=rfc3339_now())
        try:
            return self._build_entry(f, e, res)
        finally:
            res.finished = rfc3339_now()

    def _build_entry(self, f: FamilyShare, e: Entry, res: BuildResult) -> BuildResult:
        """Build (or find unchanged) one entry into ``res``; any error is the entry's failure, not the share's."""
        key = e.key
        client = self.client_factory()
        try:
            failed_parents = [p for p in self.parent_keys[key] if self.results[p].status.is_failure]
            if failed_parents:
                # not attempted: the report shows `skipped: parent failed`
                res.status, res.error = BuildStatus.SKIPPED, "parent failed: %s" % ", ".join(failed_parents)
                return res
            if f.error or e.key in f.entry_errors:
                res.status, res.error = BuildStatus.FAILED, f.error or f.entry_errors[e.key]
                return res
            if res.builder == OCI_IMPORT:
                return self._oci_import(client, f, e, res)
            text = self.dockerfiles[key]
            if res.builder == BUILDKIT:
                # the engine's own Dockerfile frontend builds it: a `# syntax=` frontend would be pulled
                text, _frontend = _buildx.strip_syntax(text)
            pins, base = self._pin_parents(client, e, text, res)
            inputs = BuildInputs(
                platform=self.settings.platform,
                dockerfile_name=e.file,
                # pinned to image ids whatever the builder (BuildKit gets them as pin tags): what the digest covers
                dockerfile=pin_from(text, pins),
                files=scan_context([f.context_dir(e)] + ([f.extra_context] if f.extra_context else [])),
                parents=pins,
                build_args=dict(self.settings.build_args, **f.build_args),
                builder=res.builder,
                identities=self._identities(client, pins),
            )
            res.input_digest = inputs.digest()
            image = self._image(client, f, e, inputs, text, base, res)
            if image is None:
                return res
            res.image_id = image.id
            res.size = int((image.attrs or {}).get("Size") or 0)
            self._tag(image, res)
        except BuildInputError as exc:
            res.status, res.error = BuildStatus.FAILED, str(exc)
        except _buildx.BuildkitError as exc:
            res.status, res.error = BuildStatus.FAILED, str(exc)
            res.log_tail = exc.log_tail or res.log_tail
        except Exception as exc:  # a build error must not stop the other entries of the share
            res.status, res.error = BuildStatus.FAILED, "%s: %s" % (type(exc).__name__, exc)
            log = getattr(exc, "build_log", None)
            if log:
                res.log_tail = [str(x.get("stream", x.get("error", ""))).rstrip() for x in log][-20:]
        return res

    def _pin_parents(self, client: Any, e: Entry, text: str, res: BuildResult) -> tuple[dict[str, str], str]:
        """(FROM reference -> image id, the first FROM reference) of the Dockerfile ``text``: a parent of this
        release is its result's image, an external one is resolved on the engine; each goes into ``res.parents``."""
        pins: dict[str, str] = {}
        base = ""
        for fl in from_lines(text):
            if fl.stage_parent or fl.ref in pins:
                continue
            k = _provided_key(fl.ref, e.key)
            if k in self.provides:
                parent_key, digest = self.provides[k], ""
                pins[fl.ref] = self.results[parent_key].image_id or "would-build:" + fl.ref
            else:
                parent_key = ""
                pins[fl.ref], digest = self._resolve_external(client, fl.ref)
            res.parents.append(BuildParent(fl.ref, parent_key, pins[fl.ref], digest))
            base = base or fl.ref
        return pins, base

    def _image(self, client: Any, f: FamilyShare, e: Entry, inputs: BuildInputs, text: str, base: str,
               res: BuildResult) -> Any:
        """The entry's image: the engine's with these inputs, else the registry's (pulled), else built; None in a
        dry run that would build it (``res.status`` says which)."""
        with self._locks_lock:
            digest_lock = self._digest_locks.setdefault(res.input_digest, threading.Lock())
        with digest_lock:
            existing = client.images.list(filters={"label": "%s=%s" % (INPUT_DIGEST_LABEL, res.input_digest)})
            if existing:
                # the image already carrying this entry's tags, when several have these inputs (an earlier
                # engine state): retagging another one would move the tags, and re-push, every run
                first = ref_text(res.tags[0])
                res.status = BuildStatus.UNCHANGED
                return next((i for i in existing if first in (i.tags or [])), existing[0])
            if self.settings.check_mode:
                # a dry run pulls nothing: an image only the registry has counts as one to build
                res.status = BuildStatus.WOULD_BUILD
                return None
            if self._published(res):
                res.status = BuildStatus.UNCHANGED
                return client.images.pull(res.pulled, platform=self.settings.platform)
            labels = self._labels(f, e, base, res.input_digest)
            res.status = BuildStatus.BUILT
            if res.builder == BUILDKIT:
                return self._buildx_build(client, e, inputs, text, labels, res)
            return self._docker_build(client, inputs, labels, res)

    def _oci_import(self, client: Any, f: FamilyShare, e: Entry, res: BuildResult) -> BuildResult:
        """`Builder: oci-import`, as bashbrew does it: the image is the OCI layout's (File names its index.json),
        loaded as it is (no build, no labels: its id is the config's digest, which is how an unchanged one is
        found)."""
        layout = oci_layout_image(os.path.join(f.context_dir(e), e.file), self.settings.platform_obj)
        res.input_digest = layout.config_digest
        if self._engine_info(client).containerd_store:
            image = self._oci_import_containerd(client, layout, res)
            if image is None:
                return res
            res.image_id = image.id
            res.size = int((image.attrs or {}).get("Size") or 0)
            self._tag(image, res)
            return res
        try:
            image = client.images.get(layout.config_digest)
            res.status = BuildStatus.UNCHANGED
        except Exception:  # docker.errors.ImageNotFound (the SDK is the caller's)
            if self.settings.check_mode:
                res.status = BuildStatus.WOULD_BUILD
                return res
            loaded = client.images.load(layout.docker_archive())
            image = next((i for i in loaded if i.id == layout.config_digest), None) or client.images.get(
                layout.config_digest)
            res.status = BuildStatus.BUILT
        res.image_id = image.id
        res.size = int((image.attrs or {}).get("Size") or 0)
        self._tag(image, res)
        return res

    def _oci_import_containerd(self, client: Any, layout: Any, res: BuildResult) -> Any:
        """oci-import on the containerd image store, where an image id is the digest of the manifest the engine
        made on loading, not the config digest (which no lookup of that engine knows): the layout is loaded (its
        blobs the engine has already cost no space) and the image is unchanged when the entry's first tag already
        names what was loaded; a dry run loads nothing and compares the tag's layers with the layout's. None when
        ``res`` is final (would-build)."""
        try:
            current = client.images.get(ref_text(res.tags[0]))
        except Exception:  # docker.errors.ImageNotFound
            current = None
        if self.settings.check_mode:
            with open(layout.blob(layout.config_digest), "rb") as fh:
                diff_ids = (json.loads(fh.read()).get("rootfs") or {}).get("diff_ids") or []
            if current is not None and ((current.attrs or {}).get("RootFS") or {}).get("Layers") == diff_ids:
                res.status = BuildStatus.UNCHANGED
                return current
            res.status = BuildStatus.WOULD_BUILD
            return None
        loaded = [i for i in client.images.load(layout.docker_archive()) if getattr(i, "id", "")]
        if len(loaded) != 1:
            raise BuildInputError("oci-import of %s: the engine loaded %d images from the layout, not one"
                                  % (layout.root, len(loaded)))
        image = loaded[0]
        res.status = (BuildStatus.UNCHANGED if current is not None and current.id == image.id
                      else BuildStatus.BUILT)
        return image

    def _tag(self, image: Any, res: BuildResult) -> None:
        """Give ``image`` the entry's tags it lacks (an unchanged image retagged is a change to report)."""
        for full in res.tags:
            if ref_text(full) not in (image.tags or []):
                if res.status == BuildStatus.UNCHANGED:
                    res.retagged.append(full)
                if not self.settings.check_mode:
                    image.tag(full.familiar_repository, full.tag)

    def _published(self, res: BuildResult) -> bool:
        """Whether the registry's image under the entry's first tag has these build inputs; sets ``res.pulled``
        to its image manifest by digest. The tag is an image manifest (two requests: it, the config) or, as the
        farm publishes it, an OCI index whose first manifest is the image and whose `unknown/unknown` entries
        are attestations (three: the index, the image manifest, the config); a registry that cannot answer
        means a build."""
        if self.registry_for is None or not self.settings.registry:
            return False
        first = res.tags[0]
        try:
            registry = self.registry_for(first.api_host)
            manifest = registry.get_manifest(first.path, first.tag)
            if manifest is not None and manifest.media_type in LIST_TYPES:
                image = _index_image(manifest.json())
                manifest = registry.get_manifest(first.path, image) if image else None
            if manifest is None or manifest.media_type not in IMAGE_TYPES:
                return False
            config = json.loads(registry.get_blob(first.path, manifest.json()["config"]["digest"]))
        except (RegistryError, ValueError, KeyError, TypeError, AttributeError):
            return False
        if ((config.get("config") or {}).get("Labels") or {}).get(INPUT_DIGEST_LABEL) != res.input_digest:
            return False
        res.pulled = "%s@%s" % (first.familiar_repository, manifest.digest)
        return True

    # -- BuildKit --------------------------------------------------------------------------------------
    def _engine_info(self, client: Any) -> _buildx.EngineInfo:
        with self._pins_lock:
            if self._engine is None:
                self._engine = _buildx.engine_info(client)
            return self._engine

    def _pin(self, client: Any, ref: str, image_id: str) -> str:
        """The local pin tag of ``image_id`` (made when missing; remembered to be taken off at the end)."""
        tag = _buildx.pin_tag(ref, image_id)
        with self._pins_lock:
            image = client.images.get(image_id)
            if tag not in (image.tags or []):
                pin = ImageRef.parse(tag, field="pin tag")
                image.tag(pin.familiar_repository, pin.tag)
                self._pins_made.add(tag)
        return tag

    def _unpin(self) -> None:
        """Take off the pin tags this run made - only where the image keeps another tag, so no image is lost."""
        if not self._pins_made:
            return
        client = self.client_factory()
        for tag in sorted(self._pins_made):
            try:
                if len(client.images.get(tag).tags or []) > 1:
                    client.images.remove(tag, noprune=True)
            except Exception:  # docker.errors.*: a tag left behind costs nothing but a line in `docker images`
                pass
        self._pins_made.clear()

    def _buildx_build(self, client: Any, e: Entry, inputs: BuildInputs, dockerfile: str,
                      labels: dict[str, str], res: BuildResult) -> Any:
        """Build with `docker buildx build` on the engine's BuildKit; ``dockerfile`` is the entry's text (without a
        `# syntax=` line), its parents pinned here as the engine allows."""
        engine = self._engine_info(client)
        _buildx.check_features(e.key, dockerfile, engine)
        docker = _buildx.find_docker()
        pinned = {ref: self._pin(client, ref, image_id) for ref, image_id in inputs.parents.items()}
        if engine.named_contexts:
            contexts = {ref: "docker-image://" + tag for ref, tag in pinned.items()}
            text = dockerfile
        else:
            contexts, text = {}, pin_from(dockerfile, pinned)
        with tempfile.TemporaryDirectory(prefix="buildfarm-buildx-") as tmp:
            iidfile = os.path.join(tmp, "iid")
            argv = _buildx.buildx_argv(docker=docker, platform=self.settings.platform,
                                       dockerfile_name=inputs.dockerfile_name, tags=[ref_text(t) for t in res.tags],
                                       labels=labels,
                                       build_args=inputs.build_args, contexts=contexts, iidfile=iidfile)
            rc, tail, failed = _buildx.run_buildx(argv, lambda fh: inputs.write_tar(fh, text),
                                                  _buildx.buildx_env(self.settings.docker_host), cwd=tmp)
            image_id = _buildx.read_iidfile(iidfile)
        res.log_tail = tail
        if rc != 0 or not image_id:
            raise _buildx.BuildkitError(_buildx.explain_failure(e.key, tail, engine, failed), log_tail=tail)
        if not engine.containerd_store:
            return client.images.get(image_id)
        # the containerd store's image id is the manifest's digest, the iidfile's the config's (docker/buildx#3952):
        # the image is the one the build just tagged, checked by its input digest
        image = client.images.get(ref_text(res.tags[0]))
        got = ((image.attrs or {}).get("Config") or {}).get("Labels") or {}
        if got.get(INPUT_DIGEST_LABEL) != labels.get(INPUT_DIGEST_LABEL):
            raise _buildx.BuildkitError("%s: after the build %s is another image (%s, its %s is %r)"
                                        % (e.key, ref_text(res.tags[0]), image.id, INPUT_DIGEST_LABEL,
                                           got.get(INPUT_DIGEST_LABEL)), log_tail=tail)
        return image

    def _docker_build(self, client: Any, inputs: BuildInputs, labels: dict[str, str], res: BuildResult) -> Any:
        image, log = client.images.build(
            fileobj=inputs.tar(),
            custom_context=True,
            dockerfile=inputs.dockerfile_name,
            platform=self.settings.platform,
            labels=labels,
            buildargs=inputs.build_args or None,
            rm=True,
            forcerm=True,
            pull=False,  # parents are pinned to image ids resolved above
        )
        res.log_tail = [str(x.get("stream", "")).rstrip() for x in log if x.get("stream", "").strip()][-5:]
        return image

    # -- the share ----------------------------------------------------------------------------------
    def run(self) -> list[BuildResult]:
        try:
            with ThreadPoolExecutor(max_workers=max(1, self.settings.max_workers)) as pool:
                for wave in self.waves:
                    for key, res in zip(wave, pool.map(self._build_one, wave)):
                        self.results[key] = res
        finally:
            self._unpin()
        return [self.results[e.key] for _f, e in self.jobs]


def _repo_digest(image: Any, ref: str, own_only: bool = False) -> str:
    """The registry manifest digest of ``ref`` on the engine's ``image``: the reference's own digest, else (unless
    ``own_only``) the engine's RepoDigests entry of its repository (what it was pulled as), else ""."""
    try:
        want = ImageRef.parse(ref, default_tag="latest")
    except ImageRefError:
        return ""
    if want.digest or own_only:
        return want.digest
    for known in (getattr(image, "attrs", None) or {}).get("RepoDigests") or []:
        try:
            got = ImageRef.parse(known)
        except ImageRefError:
            continue
        if got.repository == want.repository and got.digest:
            return got.digest
    return ""


def _index_image(index: dict) -> str:
    """The image manifest digest of a per-architecture OCI index as the farm publishes it: its first manifest that
    is not an attestation (platform `unknown/unknown`); "" when it has none."""
    for m in index.get("manifests") or []:
        platform = m.get("platform") or {}
        if (platform.get("os"), platform.get("architecture")) == ("unknown", "unknown"):
            continue
        if m.get("mediaType") in IMAGE_TYPES and m.get("digest"):
            return str(m["digest"])
        return ""
    return ""
