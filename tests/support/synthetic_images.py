"""Tiny synthetic images pushed through the registry API (no docker build): a config blob and one layer.

Used by the registry, release and farm tests where an image cannot be built here (a Windows image) and by the publish
benchmark (hundreds of members); push_attested writes the per-architecture OCI index with its attestation exactly
as the farm pushes it.
"""
from __future__ import annotations

import gzip
import io
import json
import tarfile

from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import DOCKER_MANIFEST
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    RegistryClient,
    sha256_digest,
)


def _layer(content: bytes) -> tuple[bytes, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), sha256_digest(tar_bytes)


def push_image(client: RegistryClient, repository: str, tag: str, os: str = "linux", architecture: str = "amd64",
               variant: str = "", os_version: str = "", os_features: tuple[str, ...] = (),
               content: bytes = b"hello\n") -> str:
    """Push a one-layer Docker v2 image whose config says os/architecture; returns the manifest digest."""
    layer, diff_id = _layer(content)
    config: dict = {"architecture": architecture, "os": os, "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                    "config": {"Cmd": ["/hello.txt"]}}
    if variant:
        config["variant"] = variant
    if os_version:
        config["os.version"] = os_version
    if os_features:
        config["os.features"] = list(os_features)
    config_bytes = json.dumps(config, sort_keys=True).encode()
    client.put_blob(repository, layer)
    client.put_blob(repository, config_bytes)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config_bytes),
                   "digest": sha256_digest(config_bytes)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                    "digest": sha256_digest(layer)}],
    }, indent=3).encode()
    return client.put_manifest(repository, tag, manifest, DOCKER_MANIFEST)


# -- per-architecture OCI indexes with attestations, exactly as the farm pushes them (COMMON.md contract) --------

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
IN_TOTO = "application/vnd.in-toto+json"
SPDX = "https://spdx.dev/Document"
SLSA = "https://slsa.dev/provenance/v0.2"
STATEMENT = "https://in-toto.io/Statement/v0.1"


def _put_json_blob(client: RegistryClient, repository: str, doc: dict | bytes) -> tuple[bytes, dict]:
    data = doc if isinstance(doc, bytes) else json.dumps(doc, sort_keys=True).encode()
    client.put_blob(repository, data)
    return data, {"size": len(data), "digest": sha256_digest(data)}


def sbom_statement(subject: str, digest: str, packages: list[tuple[str, str]] = (), debs: list[tuple[str, str]] = ()
                   ) -> dict:
    """An in-toto statement of an SPDX 2.3 document naming `packages` (name, version) and Debian packages."""
    pkgs = [{"SPDXID": "SPDXRef-Package-%d" % i, "name": n, "versionInfo": v, "downloadLocation": "NOASSERTION",
             "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                               "referenceLocator": "pkg:generic/%s@%s" % (n, v)}]}
            for i, (n, v) in enumerate(packages)]
    pkgs += [{"SPDXID": "SPDXRef-Deb-%d" % i, "name": n, "versionInfo": v, "downloadLocation": "NOASSERTION",
              "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                "referenceLocator": "pkg:deb/debian/%s@%s" % (n, v)}]}
             for i, (n, v) in enumerate(debs)]
    return {"_type": STATEMENT, "predicateType": SPDX,
            "subject": [{"name": subject, "digest": {"sha256": digest.split(":", 1)[1]}}],
            "predicate": {"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
                          "name": subject, "documentNamespace": "https://buildfarm.invalid/spdx/" + digest,
                          "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: synthetic"]},
                          "packages": pkgs}}


def provenance_statement(subject: str, digest: str, arch: str, tags: list[str], parents: list[tuple[str, str]] = (),
                         sources: list[tuple[str, str, str]] = (), platform: str = "") -> dict:
    """An in-toto statement of SLSA v0.2 provenance naming the architecture, tags, parents (name, digest) and verified
    sources (url, sha256, purl), shaped as plugins/module_utils/attest/provenance.py writes it."""
    materials = [{"uri": "pkg:docker/%s" % name, "digest": {"sha256": d.split(":", 1)[1]}} for name, d in parents]
    materials += [{"uri": url, "digest": {"sha256": sha}, "annotations": {"purl": purl}} for url, sha, purl in sources]
    return {"_type": STATEMENT, "predicateType": SLSA,
            "subject": [{"name": subject, "digest": {"sha256": digest.split(":", 1)[1]}}],
            "predicate": {"builder": {"id": "https://buildfarm.invalid/builder"},
                          "buildType": "https://buildfarm.invalid/family@v1",
                          "invocation": {"parameters": {"architecture": arch, "tags": list(tags)},
                                         "environment": {"platform": platform or arch}},
                          "metadata": {"buildStartedOn": "2026-01-01T00:00:00Z",
                                       "buildFinishedOn": "2026-01-01T00:01:00Z"},
                          "materials": materials}}


def push_attested(client: RegistryClient, repository: str, tag: str, architecture: str = "amd64", variant: str = "",
                  content: bytes = b"hello\n", bashbrew_arch: str = "", tags: list[str] | None = None,
                  annotations: dict | None = None, attest: bool = True, packages: list[tuple[str, str]] = (),
                  debs: list[tuple[str, str]] = (), parents: list[tuple[str, str]] = (), sbom: bool = True,
                  statements: list[dict] | None = None, sources: list[tuple[str, str, str]] = ()) -> dict:
    """Push a one-layer OCI image and (with `attest`) its attestation manifest (SPDX SBOM + SLSA provenance), and
    tag an OCI index of the two as `repository:tag`. Returns the digests: index, image, attestation.

    `statements` replaces the generated in-toto statements (a test's own, e.g. tampered); `sbom=False` leaves
    the SBOM out. With `debs`, the layer carries a dpkg database listing them."""
    files = {"hello.txt": content}
    if debs:
        files["var/lib/dpkg/status"] = "".join("Package: %s\nStatus: install ok installed\nVersion: %s\n\n" % d
                                               for d in debs).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    diff_id = sha256_digest(raw.getvalue())
    config: dict = {"architecture": architecture, "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                    "config": {"Cmd": ["/hello.txt"]}}
    if variant:
        config["variant"] = variant
    client.put_blob(repository, layer)
    _cfg, cfg_desc = _put_json_blob(client, repository, config)
    bashbrew_arch = bashbrew_arch or architecture
    ann = {"org.opencontainers.image.version": tag, "com.docker.official-images.bashbrew.arch": bashbrew_arch,
           "org.opencontainers.image.source": "https://example.invalid/%s" % repository.rsplit("/", 1)[-1]}
    ann.update(annotations or {})
    image = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                        "config": dict(cfg_desc, mediaType=OCI_CONFIG),
                        "layers": [{"mediaType": OCI_LAYER, "size": len(layer), "digest": sha256_digest(layer)}],
                        "annotations": ann}, indent=3).encode()
    image_digest = client.put_manifest(repository, sha256_digest(image), image, OCI_MANIFEST)
    platform = {"architecture": architecture, "os": "linux"}
    if variant:
        platform["variant"] = variant
    manifests = [{"mediaType": OCI_MANIFEST, "size": len(image), "digest": image_digest, "platform": platform,
                  "annotations": ann}]
    attestation_digest, att = "", b""
    if attest:
        subject = "pkg:docker/%s:%s?platform=%s" % (repository, tag, "linux%%2F%s" % architecture)
        if statements is None:
            statements = [provenance_statement(subject, image_digest, bashbrew_arch, tags or [tag], parents, sources,
                                               "/".join(x for x in ("linux", architecture, variant) if x))]
            if sbom:
                statements.insert(0, sbom_statement(subject, image_digest, packages, debs))
        layers, diff_ids = [], []
        for st in statements:
            data, desc = _put_json_blob(client, repository, st)
            layers.append(dict(desc, mediaType=IN_TOTO, annotations={"in-toto.io/predicate-type": st["predicateType"]}))
            diff_ids.append(desc["digest"])
        _acfg, acfg_desc = _put_json_blob(client, repository, {"architecture": "unknown", "os": "unknown",
                                                               "config": {}, "rootfs": {"type": "layers",
                                                                                        "diff_ids": diff_ids}})
        att = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                          "config": dict(acfg_desc, mediaType=OCI_CONFIG), "layers": layers}, indent=3).encode()
        attestation_digest = client.put_manifest(repository, sha256_digest(att), att, OCI_MANIFEST)
        manifests.append({"mediaType": OCI_MANIFEST, "size": len(att), "digest": attestation_digest,
                          "platform": {"architecture": "unknown", "os": "unknown"},
                          "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                          "vnd.docker.reference.digest": image_digest}})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}, indent=3).encode()
    digest = client.put_manifest(repository, tag, index, OCI_INDEX)
    # what the farm's push record keeps of it (image_push's `manifests` on the tag): the manifests by digest
    written = {digest: index.decode(), image_digest: image.decode()}
    if attest:
        written[attestation_digest] = att.decode()
    return {"digest": digest, "image_digest": image_digest, "attestation_digest": attestation_digest,
            "manifests": written}


def push_record(registry: str, repository: str, tag: str, pushed: dict, key: str = "") -> dict:
    """image_push's `images` item for one push_attested call: what the farm's push stage records of it."""
    return {"key": key or "%s:%s" % (repository, tag), "image_id": "sha256:" + "0" * 64, "tags": [{
        "ref": "%s/%s:%s" % (registry, repository, tag), "status": "pushed", "digest": pushed["digest"],
        "image_digest": pushed["image_digest"], "attestation_digest": pushed["attestation_digest"],
        "manifests": pushed["manifests"]}]}
