# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attestations of a Windows image, made on the controller from what the registry holds.

A Windows builder has no Python and no syft; its push.ps1 pushes the image bare. The controller then makes what
a Linux builder makes beside its engine (build/image_pusher.py FarmAttester), with the same two steps (the
image_pusher `Attester` protocol):

- ``scan``: syft reads the image from the registry itself, by digest (`syft scan registry:<host>/<repo>@<digest>`,
  no engine: the controller's Docker cannot hold a Windows image). Windows layers are plain tars (`Files/`,
  `Hives/`), and syft's catalogers find what they find under `Files/` (Python distributions, .NET dependencies,
  binaries it recognises); it has no cataloger for Windows' own components, so the base image is named as a
  package of its own (below). A layer the registry does not hold (a foreign, non-distributable layer with
  `urls`) is fetched by syft from its URL: a controller that cannot reach it makes the scan fail, naming the image.
  Scanner ``declared`` makes no scan: the SPDX document then holds the image, its base image and the family's
  declared sources only (for a controller that must not download Windows base layers); the docs say which.
- ``statements``: the SPDX SBOM (syft's document, plus the base image by digest as a `CONTAINER` package the image
  descends from, plus the declared sources, normalized by sbom.py) and the SLSA provenance (provenance.py, from
  the release bundle and build.ps1's item: started, finished, parents with their registry digests, builder).

Plain typed Python, importable without Ansible.
"""
from __future__ import annotations

import hashlib
import os
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.attest import provenance, sbom
from ansible_collections.buildfarm.images.plugins.module_utils.attest.errors import AttestationError
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef, ImageRefError

SYFT = "syft"
DECLARED = "declared"
SCANNERS = (SYFT, DECLARED)


def syft_registry_env(*, username: str = "", password: str = "", plain_http: bool = False, ca_path: str = "",
                      validate_certs: bool = True, authority: str = "", docker_config: str = "") -> dict[str, str]:
    """syft's environment for reading the farm's registry as the controller's registry client does (credentials
    in the environment, never on the command line; a Docker config.json is read from its folder)."""
    env = {"DOCKER_CONFIG": os.path.dirname(os.path.abspath(docker_config))} if docker_config else {}
    if plain_http:
        env["SYFT_REGISTRY_INSECURE_USE_HTTP"] = "true"
    if not validate_certs:
        env["SYFT_REGISTRY_INSECURE_SKIP_TLS_VERIFY"] = "true"
    if ca_path:
        env["SYFT_REGISTRY_CA_CERT"] = ca_path
    if username:
        env.update(SYFT_REGISTRY_AUTH_AUTHORITY=authority, SYFT_REGISTRY_AUTH_USERNAME=username,
                   SYFT_REGISTRY_AUTH_PASSWORD=password)
    return env


def declared_document(name: str, version: str) -> dict[str, Any]:
    """The SPDX 2.3 document of an image nobody scanned: the image as its root package only (the base image and
    the declared sources are added as for a scan). The namespace's UUID is replaced by sbom.normalize."""
    root = {"name": name, "SPDXID": "SPDXRef-DocumentRoot-Image-" + sbom_id(name), "versionInfo": version or
            "NOASSERTION", "supplier": "NOASSERTION", "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
            "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "CONTAINER",
            "comment": "not scanned (scanner: declared): the base image and the declared sources are listed"}
    return {"spdxVersion": sbom.SPDX_VERSION, "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT", "name": name,
            "documentNamespace": "https://github.com/buildfarm/images/spdx/%s-00000000-0000-0000-0000-000000000000"
                                 % urllib.parse.quote(name, safe=""),
            "creationInfo": {"creators": [sbom.TOOL]}, "packages": [root],
            "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relatedSpdxElement": root["SPDXID"],
                               "relationshipType": "DESCRIBES"}]}


def sbom_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def base_image_package(parent: Mapping[str, str], platform: str) -> dict[str, Any] | None:
    """The SPDX package of a parent image pinned by its registry digest (None without one: nothing to name it by):
    `pkg:docker/<repository>@<digest>?repository_url=<registry>&platform=<os/arch>`."""
    digest = str(parent.get("digest") or "")
    name = str(parent.get("name") or "")
    if not digest or not name or name == "scratch":
        return None
    try:
        ref = ImageRef.parse(name, default_tag="latest")
    except ImageRefError:
        return None
    quals = {"platform": platform} if platform else {}
    if not ref.is_docker_hub:
        quals = dict(repository_url=ref.registry, **quals)
    purl = "pkg:docker/%s@%s%s" % (ref.familiar_repository if ref.is_docker_hub else ref.path,
                                   urllib.parse.quote(digest, safe=""),
                                   "?" + urllib.parse.urlencode(quals) if quals else "")
    return {"name": ref.familiar_repository if ref.is_docker_hub else "%s/%s" % (ref.registry, ref.path),
            "SPDXID": "SPDXRef-Package-base-image-" + sbom_id(name + digest), "versionInfo": ref.tag or digest,
            "supplier": "NOASSERTION", "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
            "checksums": [{"algorithm": "SHA256", "checksumValue": digest.split(":", 1)[-1]}],
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                              "referenceLocator": purl}],
            "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "CONTAINER", "comment": "the base image (FROM %s), by its registry digest" % name}


def with_base_images(doc: Mapping[str, Any], parents: Sequence[Mapping[str, str]], platform: str) -> dict:
    """``doc`` (not changed) with each parent pinned by digest as a package the image's root `DESCENDANT_OF`."""
    packages = [pkg for pkg in (base_image_package(p, platform) for p in parents) if pkg is not None]
    return sbom.add_packages(dict(doc), packages, "DESCENDANT_OF")


def _subject_source(subject_name: str) -> tuple[str, str]:
    """(name, version) of the image's own SPDX package: the subject's repository and tag, as on Linux."""
    name, _sep, version = subject_name.partition("?")[0][len("pkg:docker/"):].rpartition("@")
    return name, version


@dataclass
class WindowsAttester:
    """The Windows images' attestations (the image_pusher Attester protocol): ``bundle`` the release bundle on the
    controller, unpacked under ``work_dir``; ``scanner`` syft (the registry image) or declared (no scan);
    ``env``: syft's registry settings (syft_registry_env)."""

    bundle: str
    work_dir: str
    builder_id: str = ""
    scanner: str = SYFT
    syft: str = ""
    timeout: float = sbom.DEFAULT_TIMEOUT
    env: dict[str, str] = field(default_factory=dict)

    def scan(self, key: str, image_id: str, item: Mapping[str, Any], subject_name: str) -> dict:
        """``image_id`` here is the image in the registry by digest (`<host>/<repo>@sha256:...`)."""
        name, version = _subject_source(subject_name)
        if self.scanner == DECLARED:
            return declared_document(name, version)
        if self.scanner != SYFT:
            raise AttestationError(key, "unknown scanner (one of %s)" % ", ".join(SCANNERS), field="scanner",
                                   value=self.scanner)
        return sbom.run_syft(image_id, syft=self.syft, timeout=self.timeout, source_name=name,
                             source_version=version, scheme="registry", env=self.env)

    def statements(self, key: str, item: Mapping[str, Any], scan: Any, subject_name: str, subject_digest: str,
                   created: str) -> list[dict]:
        arch = str(item.get("arch") or "")
        inp = provenance.provenance_input(self.bundle, self.work_dir, key, arch, dict(item), self.builder_id)
        platform = str(architectures.get(arch).platform) if architectures.is_known(arch) else ""
        doc = with_base_images(scan, inp.parents, platform)
        document = sbom.sbom_document(doc, subject_digest, inp.sources, created, key)
        return [sbom.statement(subject_name, subject_digest, sbom.SPDX_PREDICATE, document, key),
                provenance.provenance_statement(subject_name, subject_digest, inp)]
