# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a registry reference is: digest, media type, and its platforms (list) or os/architecture (image)."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.common.architectures import Platform
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef, ImageRefError
from ansible_collections.buildfarm.images.plugins.module_utils.registry._registry_args import client_from_params
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import LIST_TYPES
from ansible_collections.buildfarm.images.plugins.module_utils.registry.oci_index import (
    ATTESTATION_MANIFEST,
    REFERENCE_DIGEST,
    REFERENCE_TYPE,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient


def parse_reference(registry: str, text: str, field: str = "references") -> ImageRef:
    """`repo:tag` or `repo@sha256:...`, a path in `registry` (the module's), as an ImageRef: checked by the one
    reference parser, so a bad tag fails here, naming it, before any request."""
    if not isinstance(text, str) or ("@" not in text and ":" not in text.rpartition("/")[2]):
        raise ImageRefError("has neither a tag nor a digest (<repository>:<tag> or <repository>@<digest>)",
                            field=field, value=text)
    ref = ImageRef.parse_in(registry, text, field=field)
    if ref.tag and ref.digest:
        raise ImageRefError("has both a tag and a digest (<repository>:<tag> or <repository>@<digest>)",
                            field=field, value=text)
    return ref


def _platform_dict(p: Platform) -> dict:
    return {"platform": str(p), "os": p.os, "architecture": p.architecture, "variant": p.variant,
            "os_version": p.os_version}


def _attested(descriptor: dict) -> str:
    """The digest an attestation manifest's descriptor attests, '' for a runnable member."""
    ann = descriptor.get("annotations") or {}
    if ann.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST:
        return str(ann.get(REFERENCE_DIGEST, ""))
    return ""


def image_info(client: RegistryClient, ref: ImageRef) -> dict:
    """What `ref` (in the client's registry) is there."""
    reference, repo = ref.remote, ref.path
    manifest = client.get_manifest(repo, ref.reference)
    if manifest is None:
        return {"reference": reference, "exists": False}
    out: dict = {"reference": reference, "exists": True, "digest": manifest.digest,
                 "media_type": manifest.media_type, "size": manifest.size}
    doc = manifest.json()
    if manifest.media_type in LIST_TYPES:
        # an attestation manifest (BuildKit's storage: platform unknown/unknown) names the member it attests
        out["platforms"] = [dict(_platform_dict(Platform.from_oci(m.get("platform") or {})), digest=m["digest"],
                                 attestation_for=_attested(m))
                            for m in doc.get("manifests", [])]
    else:
        config = json.loads(client.get_blob(repo, doc["config"]["digest"]))
        out.update(_platform_dict(Platform.from_oci(config)))
        del out["platform"]
    return out


def images_info(params: Mapping[str, Any]) -> dict[str, Any]:
    """registry_image_info's result: every reference checked before any request, then asked for in parallel."""
    try:
        client = client_from_params(params)  # makes no request
        refs = [parse_reference(client.registry, text, "references[%d]" % i)
                for i, text in enumerate(params["references"])]
    except BuildfarmError as exc:
        exc.details.setdefault("retries", 0)  # as every result of the module says it
        raise
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(params["max_workers"], len(refs) or 1))) as pool:
            images = list(pool.map(lambda ref: image_info(client, ref), refs))
    except (BuildfarmError, ValueError) as exc:
        raise BuildfarmError(str(exc), details={"retries": client.retry_count}) from exc
    return {"changed": False, "images": images, "retries": client.retry_count, "warnings": client.warnings}
