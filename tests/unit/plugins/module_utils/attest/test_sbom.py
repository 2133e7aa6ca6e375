"""The SBOM attestation's document (attest/sbom.py): syft's SPDX 2.3 JSON (here a small document of syft's shape;
tests/integration/attest runs the real syft on a real image) with the family's declared sources added,
normalized so the same image gives the same bytes, wrapped in an in-toto Statement about the image manifest."""
from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.attest.errors import AttestationError
from ansible_collections.buildfarm.images.plugins.module_utils.attest.sbom import (
    SPDX_PREDICATE,
    STATEMENT_TYPE,
    find_syft,
    sbom_document,
    sbom_statement,
    statement,
)

SUBJECT = "sha256:" + "ab" * 32
CPYTHON = {"name": "python", "version": "3.13.5",
           "url": "https://www.python.org/ftp/python/3.13.5/Python-3.13.5.tar.xz",
           "sha256": "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640",
           "signing_key": "7169605F62C751356D054A26A821E680E5FA6305",
           "purl": "pkg:generic/python@3.13.5?download_url=https://www.python.org/ftp/python/3.13.5/Python-3.13.5.tar.xz",
           "download_location": "http://172.17.0.1:8791/ftp/python/3.13.5/Python-3.13.5.tar.xz"}

# what syft 1.18 writes, cut down: two packages in scan order, a file, the root image package and relationships
SYFT_DOC = {
    "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT", "name": "amd64/python",
    "documentNamespace": "https://anchore.com/syft/image/amd64/python-465f9ecb-3774-407b-8930-3e61e3e3a807",
    "creationInfo": {"licenseListVersion": "3.25", "creators": ["Organization: Anchore, Inc", "Tool: syft-1.18.1"],
                     "created": "2026-12-07T01:16:38Z"},
    "packages": [
        {"name": "tzdata", "SPDXID": "SPDXRef-Package-deb-tzdata-1", "versionInfo": "2025b-4",
         "downloadLocation": "NOASSERTION", "externalRefs": [{
             "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
             "referenceLocator": "pkg:deb/debian/tzdata@2025b-4?arch=all&distro=debian-13"}]},
        {"name": "ca-certificates", "SPDXID": "SPDXRef-Package-deb-ca-certificates-2", "versionInfo": "20250419",
         "downloadLocation": "NOASSERTION"},
        {"name": "amd64/python", "SPDXID": "SPDXRef-DocumentRoot-Image-amd64-python", "versionInfo": "3.13",
         "downloadLocation": "NOASSERTION", "primaryPackagePurpose": "CONTAINER"},
    ],
    "files": [{"fileName": "/var/lib/dpkg/status", "SPDXID": "SPDXRef-File-status"},
              {"fileName": "/usr/share/doc/tzdata/copyright", "SPDXID": "SPDXRef-File-copyright"}],
    "relationships": [
        {"spdxElementId": "SPDXRef-DocumentRoot-Image-amd64-python",
         "relatedSpdxElement": "SPDXRef-Package-deb-tzdata-1", "relationshipType": "CONTAINS"},
        {"spdxElementId": "SPDXRef-DOCUMENT", "relatedSpdxElement": "SPDXRef-DocumentRoot-Image-amd64-python",
         "relationshipType": "DESCRIBES"},
        {"spdxElementId": "SPDXRef-DocumentRoot-Image-amd64-python",
         "relatedSpdxElement": "SPDXRef-Package-deb-ca-certificates-2", "relationshipType": "CONTAINS"},
    ],
}


def test_declared_sources_join_syfts_document():
    doc = sbom_document(SYFT_DOC, SUBJECT, [CPYTHON], created="2026-12-07T02:03:04.123456+01:00")
    assert doc["spdxVersion"] == "SPDX-2.3" and doc["dataLicense"] == "CC0-1.0"
    assert doc["SPDXID"] == "SPDXRef-DOCUMENT" and doc["name"] == "amd64/python"
    assert doc["creationInfo"]["created"] == "2026-12-07T01:03:04Z"  # the image's created time, in UTC
    assert doc["creationInfo"]["creators"][-1] == "Tool: buildfarm.images"
    cpython = [p for p in doc["packages"] if p["name"] == "python"]
    assert len(cpython) == 1
    pkg = cpython[0]
    assert pkg["versionInfo"] == "3.13.5" and pkg["downloadLocation"] == CPYTHON["url"]
    assert pkg["checksums"] == [{"algorithm": "SHA256", "checksumValue": CPYTHON["sha256"]}]
    assert pkg["externalRefs"] == [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                    "referenceLocator": CPYTHON["purl"]}]
    assert pkg["filesAnalyzed"] is False and pkg["SPDXID"].startswith("SPDXRef-Package-source-python-")
    notes = [a["comment"] for a in pkg["annotations"]]
    assert notes == ["signature verified with the OpenPGP key 7169605F62C751356D054A26A821E680E5FA6305",
                     "downloaded from " + CPYTHON["download_location"]]
    assert {"spdxElementId": "SPDXRef-DocumentRoot-Image-amd64-python", "relatedSpdxElement": pkg["SPDXID"],
            "relationshipType": "GENERATED_FROM"} in doc["relationships"]
    # every SPDX 2.3 package field a reader needs
    for p in doc["packages"]:
        assert {"name", "SPDXID", "downloadLocation"} <= set(p)
    assert SYFT_DOC["packages"][0]["name"] == "tzdata"  # syft's document is left as it was


def test_the_same_image_gives_the_same_bytes():
    shuffled = copy.deepcopy(SYFT_DOC)
    shuffled["packages"].reverse()
    shuffled["files"].reverse()
    shuffled["relationships"].reverse()
    shuffled["documentNamespace"] = "https://anchore.com/syft/image/amd64/python-00000000-1111-2222-3333-444444444444"
    one = sbom_document(SYFT_DOC, SUBJECT, [CPYTHON], created="2026-12-07T01:03:04Z")
    two = sbom_document(shuffled, SUBJECT, [CPYTHON], created="2026-12-07T01:03:04Z")
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    assert [p["name"] for p in one["packages"]] == ["amd64/python", "ca-certificates", "python", "tzdata"]
    assert one["documentNamespace"].startswith("https://anchore.com/syft/image/amd64/python-")
    other = sbom_document(SYFT_DOC, "sha256:" + "cd" * 32, [CPYTHON], created="2026-12-07T01:03:04Z")
    assert other["documentNamespace"] != one["documentNamespace"]  # one namespace per image


def test_statement_shape():
    st = statement("pkg:docker/amd64/python@3.13-slim-trixie", SUBJECT, SPDX_PREDICATE, {"spdxVersion": "SPDX-2.3"})
    assert st == {"_type": STATEMENT_TYPE, "predicateType": "https://spdx.dev/Document",
                  "subject": [{"name": "pkg:docker/amd64/python@3.13-slim-trixie", "digest": {"sha256": "ab" * 32}}],
                  "predicate": {"spdxVersion": "SPDX-2.3"}}
    assert statement("x", "ab" * 32, SPDX_PREDICATE, {})["subject"][0]["digest"] == {"sha256": "ab" * 32}


@pytest.mark.parametrize("sources, field", [
    ([{"url": "https://x.invalid/a"}], "declared_sources[0].name"),
    ([dict(CPYTHON, sha256="ABC")], "declared_sources[0].sha256"),
    ("python", "declared_sources"),
])
def test_bad_declared_sources_are_named(sources, field):
    with pytest.raises(AttestationError) as exc:
        sbom_document(SYFT_DOC, SUBJECT, sources, image="sha256:" + "ee" * 32)
    assert exc.value.field == field and str(exc.value).startswith("image sha256:" + "ee" * 32 + ": ")


def test_a_missing_scanner_names_the_image(tmp_path):
    missing = str(tmp_path / "no-syft")
    with pytest.raises(AttestationError, match=r"^image sha256:e+: cannot run the scanner .*no-syft"):
        sbom_statement("sha256:" + "ee" * 32, "python", SUBJECT, [], syft=missing)
    assert find_syft(missing) == missing
