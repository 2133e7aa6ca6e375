# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a registry reference is: digest, media type, and its platforms (list) or os/architecture (image)."""
from __future__ import annotations

import json

from ansible_collections.buildfarm.images.plugins.module_utils.common.architectures import Platform
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import (
    ImageRefError,
    validate_digest,
    validate_repository,
    validate_tag,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    LIST_TYPES,
    RegistryClient,
)


def split_reference(reference: str) -> tuple[str, str]:
    """`repo:tag` or `repo@sha256:...` (a path in the client's registry) -> (repository, tag or digest).

    Checked against the distribution grammar first: a bad tag fails here, naming it, before any request."""
    if not isinstance(reference, str) or ("@" not in reference and ":" not in reference.rpartition("/")[2]):
        raise ImageRefError("has neither a tag nor a digest (<repository>:<tag> or <repository>@<digest>)",
                            field="references", value=reference)
    repo, _sep, rest = reference.partition("@")
    if not rest:
        repo, _sep, rest = reference.rpartition(":")
    validate_repository(repo, field="references")
    if "@" in reference:
        validate_digest(rest, field="references")
    else:
        validate_tag(rest, field="references")
    return repo, rest


def _platform_dict(p: Platform) -> dict:
    return {"platform": str(p), "os": p.os, "architecture": p.architecture, "variant": p.variant,
            "os_version": p.os_version}


def _attested(descriptor: dict) -> str:
    """The digest an attestation manifest's descriptor attests, '' for a runnable member."""
    ann = descriptor.get("annotations") or {}
    if ann.get("vnd.docker.reference.type") == "attestation-manifest":
        return str(ann.get("vnd.docker.reference.digest", ""))
    return ""


def image_info(client: RegistryClient, reference: str) -> dict:
    repo, ref = split_reference(reference)
    manifest = client.get_manifest(repo, ref)
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
