# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`Builder: oci-import` (bashbrew): an entry whose image is an OCI image layout in its Git folder (``File``
names the layout's ``index.json``), imported as it is rather than built.

The platform's image manifest is found through the index (nested indexes followed; a single manifest without a
platform is taken as it is), every blob is checked against its digest, and the image is handed to the engine as a
docker-archive (``manifest.json`` naming the config and the layers: what ``docker load`` reads on every engine
version, compressed layers included). The image's id is its config's digest, so an engine that has it already is
not given it again. Plain typed Python.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from typing import Any

from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import BuildInputError
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import IMAGE_TYPES, LIST_TYPES


class OCILayoutError(BuildInputError):
    """The OCI layout of an oci-import entry is not usable: names the file and what is wrong."""


@dataclass
class LayoutImage:
    root: str  # the layout's folder
    config_digest: str
    layers: list[str]  # layer digests, base first

    def blob(self, digest: str) -> str:
        alg, _sep, hexpart = digest.partition(":")
        return os.path.join(self.root, "blobs", alg, hexpart)

    def docker_archive(self) -> bytes:
        """The image as a docker-archive tar (``docker load``'s input)."""
        members: list[tuple[str, str]] = [(_name(self.config_digest) + ".json", self.blob(self.config_digest))]
        members += [(_name(d) + "/layer.tar", self.blob(d)) for d in self.layers]
        manifest = [{"Config": members[0][0], "RepoTags": None, "Layers": [m[0] for m in members[1:]]}]
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, path in members:
                tar.add(path, arcname=name, recursive=False)
            data = json.dumps(manifest).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()


def _name(digest: str) -> str:
    return digest.split(":", 1)[-1]


def _read_blob(root: str, desc: Any, where: str) -> bytes:
    digest = desc.get("digest") if isinstance(desc, dict) else None
    if not isinstance(digest, str) or ":" not in digest:
        raise OCILayoutError("%s: a descriptor without a digest: %r" % (where, desc))
    alg, _sep, hexpart = digest.partition(":")
    if alg != "sha256" or not hexpart.isalnum() or len(hexpart) != 64:
        raise OCILayoutError("%s: digest %s: only sha256 digests are read" % (where, digest))
    path = os.path.join(root, "blobs", alg, hexpart)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise OCILayoutError("%s: blob %s: %s" % (where, digest, exc.strerror)) from None
    if hashlib.sha256(data).hexdigest() != hexpart:
        raise OCILayoutError("%s: blob %s does not match its digest" % (where, digest))
    return data


def _matches(platform: Any, want: Any) -> bool:
    return (isinstance(platform, dict) and platform.get("os") == want.os
            and platform.get("architecture") == want.architecture
            and (platform.get("variant") or "") == (want.variant or ""))


def _verify_layers(root: str, layers: list[str], where: str) -> None:
    for d in layers:
        h = hashlib.sha256()
        path = os.path.join(root, "blobs", "sha256", _name(d))
        try:
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        except OSError as exc:
            raise OCILayoutError("%s: layer %s: %s" % (where, d, exc.strerror)) from None
        if "sha256:" + h.hexdigest() != d:
            raise OCILayoutError("%s: layer %s does not match its digest" % (where, d))


def oci_layout_image(index_path: str, platform: Any) -> LayoutImage:
    """The image of ``platform`` (an architectures.Platform) in the OCI layout whose index is ``index_path``."""
    root = os.path.dirname(index_path)
    where = index_path
    try:
        with open(index_path, "rb") as fh:
            index = json.loads(fh.read())
    except (OSError, ValueError) as exc:
        raise OCILayoutError("%s: not an OCI layout's index.json: %s" % (where, exc)) from None
    for _depth in range(4):
        manifests = index.get("manifests") if isinstance(index, dict) else None
        if not isinstance(manifests, list) or not manifests:
            raise OCILayoutError("%s: the index has no manifests" % where)
        chosen = [m for m in manifests if isinstance(m, dict) and _matches(m.get("platform"), platform)]
        if not chosen and len(manifests) == 1 and not manifests[0].get("platform"):
            chosen = manifests
        if not chosen:
            found = ["%s/%s" % ((m.get("platform") or {}).get("os"), (m.get("platform") or {}).get("architecture"))
                     for m in manifests if isinstance(m, dict)]
            raise OCILayoutError("%s: no manifest for platform %s (platforms: %s)"
                                 % (where, platform, ", ".join(found)))
        desc = chosen[0]
        data = json.loads(_read_blob(root, desc, where))
        media_type = desc.get("mediaType") or data.get("mediaType")
        if media_type in LIST_TYPES or "manifests" in data:
            index = data  # a nested index: look again
            continue
        if media_type not in IMAGE_TYPES and "config" not in data:
            raise OCILayoutError("%s: %s is not an image manifest (%s)" % (where, desc.get("digest"), media_type))
        config = data.get("config") or {}
        _read_blob(root, config, where)  # checked against its digest
        layers = [str(layer.get("digest")) for layer in data.get("layers") or []]
        _verify_layers(root, layers, where)
        return LayoutImage(root, str(config["digest"]), layers)
    raise OCILayoutError("%s: indexes nested too deep" % where)
