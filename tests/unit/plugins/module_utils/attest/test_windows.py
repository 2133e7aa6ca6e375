"""attest/windows.py: the SPDX pieces the controller adds for a Windows image and syft's registry settings."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.attest import sbom
from ansible_collections.buildfarm.images.plugins.module_utils.attest.errors import AttestationError
from ansible_collections.buildfarm.images.plugins.module_utils.attest.windows import (
    WindowsAttester,
    base_image_package,
    declared_document,
    syft_registry_env,
    with_base_images,
)

BASE = {"name": "mcr.microsoft.com/windows/servercore:ltsc2022", "digest": "sha256:" + "b" * 64}
SUBJECT = "sha256:" + "a" * 64


def test_the_base_image_is_a_container_package_by_digest():
    pkg = base_image_package(BASE, "windows/amd64")
    assert pkg["name"] == "mcr.microsoft.com/windows/servercore" and pkg["versionInfo"] == "ltsc2022"
    assert pkg["checksums"] == [{"algorithm": "SHA256", "checksumValue": "b" * 64}]
    assert pkg["externalRefs"][0]["referenceLocator"] == (
        "pkg:docker/windows/servercore@sha256%3A" + "b" * 64
        + "?repository_url=mcr.microsoft.com&platform=windows%2Famd64")
    # without a digest (not pulled, scratch) there is nothing to name it by
    assert base_image_package(dict(BASE, digest=""), "") is None
    assert base_image_package({"name": "scratch", "digest": BASE["digest"]}, "") is None


def test_base_images_hang_off_the_documents_root_once():
    doc = declared_document("127.0.0.1:5000/winamd64/python", "3.13")
    out = with_base_images(doc, [BASE, BASE], "windows/amd64")
    assert doc["packages"] != out["packages"]  # the given document is not changed
    root = doc["packages"][0]["SPDXID"]
    assert [r for r in out["relationships"] if r["relationshipType"] == "DESCENDANT_OF"] == [
        {"spdxElementId": root, "relatedSpdxElement": out["packages"][1]["SPDXID"],
         "relationshipType": "DESCENDANT_OF"}]


def test_a_declared_document_is_spdx_and_stable():
    one = sbom.sbom_document(declared_document("winamd64/python", "3.13"), SUBJECT, [], "2026-12-01T00:00:00Z")
    two = sbom.sbom_document(declared_document("winamd64/python", "3.13"), SUBJECT, [], "2026-12-01T00:00:00Z")
    assert one == two and one["spdxVersion"] == "SPDX-2.3" and one["documentNamespace"].endswith(
        sbom.normalize(one, "a" * 64, "")["documentNamespace"][-36:])


def test_syft_reads_the_registry_as_the_client_does_credentials_in_the_environment(tmp_path):
    assert syft_registry_env() == {}
    env = syft_registry_env(username="farm", password="pw", plain_http=True, ca_path="/ca.crt",
                            validate_certs=False, authority="r:5000", docker_config=str(tmp_path / "config.json"))
    assert env == {"SYFT_REGISTRY_INSECURE_USE_HTTP": "true", "SYFT_REGISTRY_INSECURE_SKIP_TLS_VERIFY": "true",
                   "SYFT_REGISTRY_CA_CERT": "/ca.crt", "SYFT_REGISTRY_AUTH_AUTHORITY": "r:5000",
                   "SYFT_REGISTRY_AUTH_USERNAME": "farm", "SYFT_REGISTRY_AUTH_PASSWORD": "pw",
                   "DOCKER_CONFIG": str(tmp_path)}


def test_an_unknown_scanner_names_the_image():
    attester = WindowsAttester("release.tar", "/tmp", scanner="grype")
    with pytest.raises(AttestationError, match="image python:3.13: field scanner: unknown scanner"):
        attester.scan("python:3.13", "r/winamd64/python@" + SUBJECT, {}, "pkg:docker/winamd64/python@3.13")
    declared = WindowsAttester("release.tar", "/tmp", scanner="declared").scan(
        "python:3.13", "r/winamd64/python@" + SUBJECT, {}, "pkg:docker/winamd64/python@3.13?platform=windows")
    assert declared["packages"][0]["name"] == "winamd64/python"
    assert declared["packages"][0]["versionInfo"] == "3.13"
