"""A Windows image pushed bare (as push.ps1 pushes it) made a per-architecture OCI index with its attestation by the
controller (windows_attest's module_utils), against a real throw-away registry; read back by the independent
checker (tests/support/oci_conformance.py) and by `docker buildx imagetools inspect` when buildx is installed.

No Windows host runs here: the image is synthetic (tests/support/windows_image.py: a Docker v2 manifest, a config
with os windows and os.version, layers laid out as Windows layers), which is all the controller ever sees of one.
"""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build._windows_publish import attest_share
from ansible_collections.buildfarm.images.plugins.module_utils.registry.oci_index import (
    ATTESTATION_MANIFEST,
    REFERENCE_DIGEST,
    REFERENCE_TYPE,
)
from ansible_collections.buildfarm.images.tests.support import oci_conformance
from ansible_collections.buildfarm.images.tests.support.windows_image import (
    OS_VERSION,
    push_windows_image,
    throwaway_registry,
    windows_entry,
    write_bundle,
)

pytestmark = pytest.mark.integration

REPO = "winamd64/python"
KEY = "python:3.13-windowsservercore-ltsc2022"
BASE = "mcr.microsoft.com/windows/servercore:ltsc2022"
BASE_DIGEST = "sha256:" + "b" * 64
LABELS = {"org.opencontainers.image.source": "https://example.net/python.git",
          "org.opencontainers.image.revision": "a" * 40, "org.opencontainers.image.created": "2026-12-01T00:00:00Z"}


@pytest.fixture
def registry(tmp_path):
    with throwaway_registry(tmp_path / "registry") as reg:
        yield reg


@pytest.fixture
def bundle(tmp_path):
    return write_bundle(tmp_path / "release.tar", {"python": [windows_entry("3.13", "ltsc2022")]})


def _pushed(registry, image_id, status="pushed"):
    refs = ["%s/%s:%s" % (registry.address, REPO, t) for t in ("3.13-windowsservercore-ltsc2022", "3.13")]
    return [{"key": KEY, "image_id": image_id, "ok": True,
             "tags": [{"ref": r, "status": status, "digest": "", "error": ""} for r in refs]}]


def _builds():
    return [{"key": KEY, "status": "built", "started": "2026-12-07T01:00:00Z", "finished": "2026-12-07T01:30:00Z",
             "builder": "classic", "build_args": {},
             "parents": [{"name": BASE, "image_id": "sha256:" + "c" * 64, "digest": BASE_DIGEST, "key": ""}]}]


def _params(registry, bundle, pushed, **kw):
    return dict({"registry": registry.address, "images": pushed, "builds": _builds(), "bundle": str(bundle),
                 "host": "win2022", "arch": "windows-amd64", "attestations": True, "builder_id": "",
                 "scanner": "syft", "syft_path": "", "scan_timeout": 300, "retries": 2, "timeout": 30}, **kw)


def _index(registry, tag):
    manifest = registry.client().get_manifest(REPO, tag)
    assert manifest is not None
    return manifest, manifest.json()


def _statement(registry, index, predicate):
    client = registry.client()
    att = client.get_manifest(REPO, index["manifests"][1]["digest"]).json()
    layer = next(x for x in att["layers"] if x["annotations"]["in-toto.io/predicate-type"] == predicate)
    return json.loads(client.get_blob(REPO, layer["digest"]))


def test_a_bare_windows_image_becomes_an_attested_oci_index(registry, bundle):
    _digest, image_id = push_windows_image(registry.client(), REPO, ["3.13-windowsservercore-ltsc2022", "3.13"],
                                           LABELS)
    result = attest_share(_params(registry, bundle, _pushed(registry, image_id)), check_mode=False)
    assert result["changed"] and result["failed_entries"] == []
    tags = result["images"][0]["tags"]
    assert {t["status"] for t in tags} == {"pushed"}
    for tag in ("3.13-windowsservercore-ltsc2022", "3.13"):
        assert oci_conformance.check_registry_index(registry.address, REPO, tag) == []
    manifest, index = _index(registry, "3.13")
    assert manifest.digest == tags[0]["digest"] == tags[1]["digest"]
    image, att = index["manifests"]
    assert image["platform"] == {"architecture": "amd64", "os": "windows", "os.version": OS_VERSION}
    assert image["annotations"]["org.opencontainers.image.base.digest"] == BASE_DIGEST
    assert image["annotations"]["org.opencontainers.image.base.name"] == BASE
    assert image["annotations"]["org.opencontainers.image.version"] == "3.13-windowsservercore-ltsc2022"
    assert image["annotations"]["com.docker.official-images.bashbrew.arch"] == "windows-amd64"
    assert att["annotations"] == {REFERENCE_TYPE: ATTESTATION_MANIFEST, REFERENCE_DIGEST: image["digest"]}
    # the same config and layers as the engine pushed: the image runs as it was built
    inner = registry.client().get_manifest(REPO, image["digest"]).json()
    assert inner["config"]["digest"] == image_id
    sbom = _statement(registry, index, "https://spdx.dev/Document")
    assert sbom["subject"][0]["digest"]["sha256"] == image["digest"].split(":")[1]
    names = {(p["name"], p.get("versionInfo")) for p in sbom["predicate"]["packages"]}
    # syft read the Windows layers from the registry; the declared source and the base image are added
    assert ("pip", "24.0") in names and ("python", "3.13.5") in names
    assert ("mcr.microsoft.com/windows/servercore", "ltsc2022") in names
    prov = _statement(registry, index, "https://slsa.dev/provenance/v0.2")["predicate"]
    assert prov["builder"]["id"] == "https://github.com/buildfarm/images#win2022"
    assert prov["invocation"]["parameters"]["architecture"] == "windows-amd64"
    assert prov["invocation"]["parameters"]["builder"] == "classic"
    assert {"uri": "pkg:docker/mcr.microsoft.com/windows/servercore@ltsc2022?platform=windows%2Famd64",
            "digest": {"sha256": "b" * 64}} in prov["materials"]
    assert prov["metadata"]["buildStartedOn"] == "2026-12-07T01:00:00Z"


def test_an_unchanged_windows_image_writes_nothing(registry, bundle):
    _digest, image_id = push_windows_image(registry.client(), REPO, ["3.13-windowsservercore-ltsc2022", "3.13"],
                                           LABELS)
    first = attest_share(_params(registry, bundle, _pushed(registry, image_id)), check_mode=False)
    # the next release: push.ps1 finds the image there and pushes nothing
    again = attest_share(_params(registry, bundle, _pushed(registry, image_id, "unchanged"),
                                 scanner="no-scan-must-happen"), check_mode=False)
    assert not again["changed"]
    assert [t["status"] for t in again["images"][0]["tags"]] == ["unchanged", "unchanged"]
    assert again["digests"] == first["digests"]
    dry = attest_share(_params(registry, bundle, _pushed(registry, image_id, "unchanged")), check_mode=True)
    assert not dry["changed"] and [t["status"] for t in dry["images"][0]["tags"]] == ["unchanged", "unchanged"]


def test_a_tag_left_bare_by_a_failed_run_is_repaired_to_the_same_index(registry, bundle):
    _digest, image_id = push_windows_image(registry.client(), REPO, ["3.13-windowsservercore-ltsc2022", "3.13"],
                                           LABELS)
    first = attest_share(_params(registry, bundle, _pushed(registry, image_id)), check_mode=False)
    push_windows_image(registry.client(), REPO, ["3.13"], LABELS)  # the engine's push again under one tag
    dry = attest_share(_params(registry, bundle, _pushed(registry, image_id, "unchanged")), check_mode=True)
    assert [t["status"] for t in dry["images"][0]["tags"]] == ["unchanged", "would-push"]
    again = attest_share(_params(registry, bundle, _pushed(registry, image_id, "unchanged"),
                                 scanner="no-scan-must-happen"), check_mode=False)
    assert [t["status"] for t in again["images"][0]["tags"]] == ["unchanged", "pushed"]
    assert again["digests"] == first["digests"]


def test_a_scanner_that_fails_publishes_nothing_and_names_the_image(registry, bundle, tmp_path):
    _digest, image_id = push_windows_image(registry.client(), REPO, ["3.13-windowsservercore-ltsc2022", "3.13"],
                                           LABELS)
    broken = tmp_path / "syft"
    broken.write_text("#!/bin/sh\necho 'cannot read layer' >&2\nexit 3\n")
    broken.chmod(0o755)
    result = attest_share(_params(registry, bundle, _pushed(registry, image_id), syft_path=str(broken)),
                          check_mode=False)
    assert result["failed_entries"] == [KEY]
    tag = result["images"][0]["tags"][0]
    assert tag["status"] == "failed" and KEY in tag["error"] and "cannot read layer" in tag["error"]
    manifest, _doc = _index(registry, "3.13")
    assert manifest.media_type == "application/vnd.docker.distribution.manifest.v2+json"  # left as pushed


def test_declared_scanner_names_base_image_and_sources_without_reading_layers(registry, bundle):
    _digest, image_id = push_windows_image(registry.client(), REPO, ["3.13-windowsservercore-ltsc2022", "3.13"],
                                           LABELS)
    result = attest_share(_params(registry, bundle, _pushed(registry, image_id), scanner="declared",
                                  syft_path="/nonexistent/syft"), check_mode=False)
    assert result["failed_entries"] == []
    _manifest, index = _index(registry, "3.13")
    names = {p["name"] for p in _statement(registry, index, "https://spdx.dev/Document")["predicate"]["packages"]}
    assert names == {"%s/%s" % (registry.address, REPO), "python", "mcr.microsoft.com/windows/servercore"}
    assert oci_conformance.check_registry_index(registry.address, REPO, "3.13") == []


@pytest.mark.skipif(shutil.which("docker") is None or subprocess.run(
    ["docker", "buildx", "version"], capture_output=True, check=False).returncode != 0,
    reason="docker buildx is not installed")
def test_buildx_imagetools_reads_the_windows_provenance_and_sbom(registry, bundle):
    _digest, image_id = push_windows_image(registry.client(), REPO, ["3.13-windowsservercore-ltsc2022", "3.13"],
                                           LABELS)
    attest_share(_params(registry, bundle, _pushed(registry, image_id)), check_mode=False)
    ref = "%s/%s:3.13" % (registry.address, REPO)

    def inspect(what):
        out = subprocess.run(["docker", "buildx", "imagetools", "inspect", ref, "--format",
                              "{{ json %s }}" % what], capture_output=True, text=True, timeout=120, check=False)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    provenance = inspect(".Provenance")
    assert provenance["SLSA"]["invocation"]["parameters"]["architecture"] == "windows-amd64"
    sbom = inspect(".SBOM")
    assert "python" in {p["name"] for p in sbom["SPDX"]["packages"]}


def test_a_child_built_in_the_share_names_its_parent_as_written(registry, bundle):
    client = registry.client()
    _d, parent_id = push_windows_image(client, REPO, ["3.13-windowsservercore-ltsc2022", "3.13"], LABELS)
    _d, child_id = push_windows_image(client, "winamd64/app", ["1.0"], LABELS, marker=b"child")
    child_key = "python:3.13-app"
    pushed = _pushed(registry, parent_id) + [{"key": child_key, "image_id": child_id, "tags": [
        {"ref": "%s/winamd64/app:1.0" % registry.address, "status": "pushed"}]}]
    builds = _builds() + [{"key": child_key, "status": "built", "parents": [
        {"name": "%s/%s:3.13" % (registry.address, REPO), "key": KEY, "image_id": parent_id, "digest": ""}]}]
    # the child is not an entry of the bundle: its attestation cannot be made, so it goes without (opt-out)
    result = attest_share(_params(registry, bundle, pushed, builds=builds, attestations=False), check_mode=False)
    parent, child = result["images"]
    assert parent["ok"] and child["ok"]
    index = client.get_manifest("winamd64/app", "1.0").json()
    assert len(index["manifests"]) == 1  # no attestation asked for: the image alone, annotated
    annotations = index["manifests"][0]["annotations"]
    assert annotations["org.opencontainers.image.base.digest"] == parent["tags"][0]["image_digest"]
    assert oci_conformance.check_registry_index(registry.address, "winamd64/app", "1.0") == []


def test_failures_are_named_per_tag_and_the_rest_goes_on(registry, bundle):
    client = registry.client()
    _d, image_id = push_windows_image(client, REPO, ["3.13-windowsservercore-ltsc2022"], LABELS)
    _d, other_id = push_windows_image(client, REPO, ["3.13"], LABELS, marker=b"another image")
    pushed = _pushed(registry, image_id)
    pushed[0]["tags"].append({"ref": "elsewhere.example.net/%s:3.13" % REPO, "status": "pushed"})
    pushed[0]["tags"].append({"ref": "%s/%s:3.13-old" % (registry.address, REPO), "status": "failed",
                              "error": "docker push: denied"})
    result = attest_share(_params(registry, bundle, pushed, attestations=False), check_mode=False)
    tags = {t["ref"]: t for t in result["images"][0]["tags"]}
    mine = ["%s/%s:%s" % (registry.address, REPO, t) for t in ("3.13-windowsservercore-ltsc2022", "3.13")]
    # the image's tags in this registry serve its index, a tag another image had taken meanwhile included (push.ps1
    # pushed it there for this release), as image_push writes every tag of a repository
    assert [tags[r]["status"] for r in mine] == ["pushed", "pushed"]
    inner = client.get_manifest(REPO, client.get_manifest(REPO, "3.13").json()["manifests"][0]["digest"]).json()
    assert inner["config"]["digest"] == image_id != other_id
    # a tag of another registry and a tag push.ps1 failed are named, the others went on
    assert tags["elsewhere.example.net/%s:3.13" % REPO]["status"] == "failed"
    assert "is not in the registry %s" % registry.address in tags["elsewhere.example.net/%s:3.13" % REPO]["error"]
    old = tags["%s/%s:3.13-old" % (registry.address, REPO)]
    assert (old["status"], old["error"]) == ("failed", "docker push: denied")
    assert result["failed_entries"] == [KEY]


def test_a_tag_serving_nothing_of_the_image_fails_naming_it(registry, bundle):
    client = registry.client()
    _d, image_id = push_windows_image(client, REPO, ["3.13"], LABELS, marker=b"another image")
    result = attest_share(_params(registry, bundle, _pushed(registry, "sha256:" + "d" * 64)), check_mode=False)
    errors = {t["error"] for t in result["images"][0]["tags"]}
    assert len(errors) == 1 and "serves nothing for it" in errors.pop()
    only = _pushed(registry, "sha256:" + "d" * 64)
    only[0]["tags"] = only[0]["tags"][1:]
    result = attest_share(_params(registry, bundle, only), check_mode=False)
    assert "no tag of winamd64/python serves the image push.ps1 pushed (config sha256:ddd" in \
        result["images"][0]["tags"][0]["error"]
    assert image_id


def test_nothing_pushed_reads_nothing_and_keeps_the_failures(tmp_path):
    images = [{"key": KEY, "image_id": "", "tags": [
        {"ref": "unreachable.invalid/%s:3.13" % REPO, "status": "would-push"}]},
        {"key": "python:3.12", "image_id": "sha256:" + "e" * 64, "tags": [
            {"ref": "unreachable.invalid/%s:3.12" % REPO, "status": "failed", "error": "denied"}]}]
    result = attest_share({"registry": "unreachable.invalid", "images": images, "builds": [], "host": "win2022",
                           "attestations": True, "bundle": ""}, check_mode=True)
    assert [i["tags"][0]["status"] for i in result["images"]] == ["would-push", "failed"]
    assert result["failed_entries"] == ["python:3.12"] and not result["changed"]


def test_the_library_list_carries_the_windows_member_with_its_attestation(registry, bundle):
    from ansible_collections.buildfarm.images.tests.support.run_module import run_module
    _digest, image_id = push_windows_image(registry.client(), REPO, ["3.13-windowsservercore-ltsc2022", "3.13"],
                                           LABELS)
    result = attest_share(_params(registry, bundle, _pushed(registry, image_id), scanner="declared"),
                          check_mode=False)
    published = run_module("manifest_list", {"registry": registry.address, "repository": "python",
                                             "entries": [windows_entry("3.13", "ltsc2022")],
                                             "require_attestations": True})
    assert not published.get("failed"), published
    lst = published["lists"][0]
    assert lst["missing_attestations"] == [] and lst["members"][0]["os_version"] == OS_VERSION
    assert lst["members"][0]["attestation"] == result["images"][0]["tags"][0]["attestation_digest"]
    for tag in ("3.13", "3.13-windowsservercore-ltsc2022"):
        assert oci_conformance.check_registry_index(registry.address, "library/python", tag) == []
