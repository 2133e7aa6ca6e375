# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which image store an engine keeps its images in, and what an engine image id then means (issue 26).

The graph-driver store (overlay2; Docker 20.10's and 26's default) names an image by its config digest: the
engine's image id is the `config.digest` of the manifest the engine pushes. The containerd image store (daemon.json
`features: {"containerd-snapshotter": true}`, Docker >= 24, the default from 29 on; `docker info` says
`DriverStatus [["driver-type", "io.containerd.snapshotter.v1"]]`) names an image by its target: the digest of its
image manifest, or of its index. Docker 26's `docker image inspect` (API 1.45) then shows no config digest at all
(recorded in tests/unit/plugins/module_utils/build/fixtures/engine_store/), and buildx 0.13's `--iidfile` holds the
config digest, which that engine does not know (docker/buildx#3952).

So nothing may compare an engine image id with a config digest without asking which store it is: on the containerd
store the config digest is the config of the manifest the image id names, read back from the registry the engine
pushed that manifest to (content-addressed, so what it serves under that digest is that manifest). Plain typed
Python.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import IMAGE_TYPES, LIST_TYPES

CONTAINERD_SNAPSHOTTER = "io.containerd.snapshotter.v1"
# `<tag>: digest: sha256:<hex> size: <n>`: the engine's last push line (the containerd store sends no `aux` Digest)
_PUSHED_RE = re.compile(r"(?:^|\s)digest: (sha256:[0-9a-f]{64}) size: \d+")


def containerd_store(info: Mapping[str, Any]) -> bool:
    """Whether `docker info` (``info``: the SDK's client.info()) says the engine keeps images in the containerd
    image store."""
    for pair in info.get("DriverStatus") or ():
        if (isinstance(pair, (list, tuple)) and len(pair) == 2 and str(pair[0]).lower() == "driver-type"
                and str(pair[1]) == CONTAINERD_SNAPSHOTTER):
            return True
    return False


def engine_containerd_store(client: Any) -> bool:
    """containerd_store() of the engine of ``client`` (a docker SDK client); an engine that cannot say is taken
    as the graph-driver store (what every engine before 24 is)."""
    try:
        return containerd_store(client.info() or {})
    except Exception:  # docker.errors.APIError, a connection error: the caller's next call says it better
        return False


def pushed_digest(line: Mapping[str, Any]) -> str:
    """The manifest digest an engine push reports in one of its stream lines ("" when the line has none): the `aux`
    Digest (the graph-driver store) or the `<tag>: digest: <digest> size: <n>` status (what the containerd store
    reports only)."""
    aux = line.get("aux")
    if isinstance(aux, Mapping) and aux.get("Digest"):
        return str(aux["Digest"])
    m = _PUSHED_RE.search(str(line.get("status") or ""))
    return m.group(1) if m else ""


def _platform_matches(desc: Mapping[str, Any], platform: Mapping[str, Any]) -> bool:
    got = desc.get("platform") or {}
    for key in ("os", "architecture", "variant", "os.version"):
        if platform.get(key) and got.get(key) != platform.get(key):
            return False
    return True


def platform_manifest(index: Mapping[str, Any], platform: Mapping[str, Any]) -> str:
    """The digest of the image manifest for ``platform`` (OCI platform dict) in an image index or manifest list,
    its attestation entries (platform unknown/unknown, `vnd.docker.reference.type`) left out; "" when none fits."""
    for m in index.get("manifests") or ():
        if not isinstance(m, Mapping) or m.get("mediaType") not in IMAGE_TYPES or not m.get("digest"):
            continue
        p = m.get("platform") or {}
        if (p.get("os"), p.get("architecture")) == ("unknown", "unknown"):
            continue
        if "vnd.docker.reference.type" in (m.get("annotations") or {}):
            continue
        if _platform_matches(m, platform):
            return str(m["digest"])
    return ""


def config_digest(registry: Any, repository: str, image_id: str, platform: Mapping[str, Any]) -> str:
    """The config digest of the containerd-store image ``image_id`` (its manifest or index digest), read from
    ``registry`` (a RegistryClient) in ``repository``, where the engine pushed it or it was pulled from; "" when
    the registry does not serve it there (never pushed: not the image any tag serves)."""
    manifest = registry.get_manifest(repository, image_id)
    if manifest is not None and manifest.media_type in LIST_TYPES:
        digest = platform_manifest(json.loads(manifest.data), platform)
        manifest = registry.get_manifest(repository, digest) if digest else None
    if manifest is None or manifest.media_type not in IMAGE_TYPES:
        return ""
    return str((json.loads(manifest.data).get("config") or {}).get("digest") or "")


# what `docker image inspect` shows of an image's config (the rest - Id, names, Size, DockerVersion, Metadata - is
# the engine's bookkeeping, and differs between two manifests of one config on the containerd store)
_CONFIG_FIELDS = ("Architecture", "Os", "Variant", "OsVersion", "Created", "Author", "Comment", "Config", "RootFS")


def image_identity(attrs: Mapping[str, Any]) -> str:
    """What a parent image is, for a child's input digest, on the containerd store: the digest of its config as
    the engine shows it (``attrs``: `docker image inspect`). Its engine id is no such identity there: the image
    built here and the same image pulled back from the farm's index (another manifest of the same config and
    layers) have two ids, and a child built on either would count as another image."""
    doc = {k: attrs.get(k) for k in _CONFIG_FIELDS if attrs.get(k) not in (None, "")}
    data = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()
