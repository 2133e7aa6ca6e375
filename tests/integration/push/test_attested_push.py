"""The attested push against a real registry (docker-registry) and this machine's dockerd: every tag an OCI index
with the image (upstream annotations, platform) and its attestation (SPDX SBOM by syft, SLSA provenance) as
BuildKit stores them - checked here by reading the registry's raw documents, not by the writer's own reader - read
by `docker buildx imagetools`, pulled and run by the engine; a second push reads only; a registry refusing the
in-toto media type and a scanner that fails each fail the image, naming it, with nothing claiming completeness."""
from __future__ import annotations

import hashlib
import json
import pathlib
import subprocess
import sys
import uuid

import docker
import pytest
import requests

from ansible_collections.buildfarm.images.plugins.module_utils.release.model import BuildResult
from ansible_collections.buildfarm.images.plugins.module_utils.attest import sbom
from ansible_collections.buildfarm.images.plugins.module_utils.build import engine_store
from ansible_collections.buildfarm.images.plugins.module_utils.build.image_pusher import Pusher
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient
from ansible_collections.buildfarm.images.tests.support.engine import engine
from ansible_collections.buildfarm.images.tests.support.fault_proxy import FaultProxy
from ansible_collections.buildfarm.images.tests.support.oci_conformance import check_registry_index
from ansible_collections.buildfarm.images.tests.support.ports import free_port
from ansible_collections.buildfarm.images.tests.support.registry import ThrowAwayRegistry
from ansible_collections.buildfarm.images.tests.support.run_module import run_module

pytestmark = pytest.mark.integration
REPO = pathlib.Path(__file__).resolve().parents[3]
PORTS = (5760, 5779)
PREFIX = "h3b-push"
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ACCEPT = ", ".join([INDEX, MANIFEST, "application/vnd.docker.distribution.manifest.v2+json"])
SPDX = "https://spdx.dev/Document"
SLSA = "https://slsa.dev/provenance/v0.2"
ENGINE = engine()  # Docker 20.10 or 26, its image store: what an engine image id is


class Attester:
    """The farm's SBOM (syft through attest/sbom.py, a real scan of the engine's image) and a small provenance of
    this test's own (the release bundle's provenance is attest/provenance.py's, tested there); counts its scans."""

    def __init__(self, syft: str = "") -> None:
        self.syft = syft
        self.scans: list[str] = []

    def scan(self, key, image_id, item, subject_name):
        self.scans.append(key)
        return sbom.run_syft(image_id, syft=self.syft)

    def statements(self, key, item, scan, subject_name, subject_digest, created):
        document = sbom.sbom_document(scan, subject_digest, [], created, item["image_id"])
        provenance = {"builder": {"id": "urn:buildfarm.images:test"}, "buildType": "urn:buildfarm.images:test",
                      "invocation": {"parameters": {"key": key}},
                      "materials": [{"uri": "pkg:docker/%s" % p["name"], "digest": {"sha256": p["digest"][7:]}}
                                    for p in item["parents"] if p.get("digest")]}
        return [sbom.statement(subject_name, subject_digest, SPDX, document),
                sbom.statement(subject_name, subject_digest, SLSA, provenance)]


@pytest.fixture(scope="module")
def busybox(tmp_path_factory):
    """Debian's static busybox for amd64 (the package cache is the release tests')."""
    dest = tmp_path_factory.mktemp("ctx")
    res = run_module("debian_package_files", {
        "package": "busybox-static", "arch": "amd64", "files": {"bin/busybox": "busybox"}, "dest": str(dest),
        "cache_dir": str(REPO / ".cache" / "release" / "cache" / "apt"), "expect_version": "1.35.0",
        "suite": "bookworm"})  # busybox's suite (families/busybox), whatever Debian this host runs (12 or 13)
    assert not res.get("failed"), res
    return dest


@pytest.fixture
def registry(tmp_path):
    reg = ThrowAwayRegistry(tmp_path / "registry", free_port(*PORTS))
    reg.start()
    yield reg
    reg.stop()
    reg.untag()


@pytest.fixture
def proxy(registry):
    """The registry behind a counting proxy: the farm's registry client goes through it (the engine's push goes
    straight to the registry), so its log is every request the farm makes."""
    p = FaultProxy(registry.port)
    yield p
    p.close()


def _build(busybox, registry, name: str, tags: list[str], parent: str = "", marker: str = "") -> dict:
    """A small runnable image (busybox from scratch, or FROM `parent`) tagged for the registry: its build item."""
    ctx = busybox.parent / ("%s-%s" % (name, uuid.uuid4().hex[:6]))
    ctx.mkdir()
    (ctx / "busybox").write_bytes((busybox / "busybox").read_bytes())
    (ctx / "busybox").chmod(0o755)
    (ctx / "marker").write_text(marker or uuid.uuid4().hex)
    base = "FROM %s\nCOPY marker /marker\n" % parent if parent else \
        'FROM scratch\nCOPY busybox /bin/busybox\nCOPY marker /marker\nCMD ["/bin/busybox", "echo", "hello h3b"]\n'
    (ctx / "Dockerfile").write_text(base + 'LABEL org.opencontainers.image.source="https://git.example/%s" '
                                    'org.opencontainers.image.revision="%s" '
                                    'org.opencontainers.image.created="2026-01-01T00:00:00Z"\n'
                                    % (name, "c" * 40))
    refs = ["%s/amd64/%s-%s:%s" % (registry.address, PREFIX, name, t) for t in tags]
    image, _log = docker.from_env().images.build(path=str(ctx), rm=True, pull=False)
    for ref in refs:
        repo, tag = ref.rsplit(":", 1)
        image.tag(repo, tag)
    return {"key": "%s:%s" % (name, tags[0]), "image_id": image.id, "tags": refs, "status": "built", "parents": []}


def _pusher(proxy, attester, items) -> Pusher:
    client = RegistryClient(proxy.address)
    return Pusher(client_factory=docker.from_env, registry_for=lambda _host: client, arch="amd64", retries=1,
                  attester=attester, build_items={i["key"]: BuildResult.from_dict(i, i["key"]) for i in items})


def _get(registry, path: str, accept: str = ACCEPT) -> requests.Response:
    r = requests.get("http://%s/v2/%s" % (registry.address, path), headers={"Accept": accept}, timeout=30)
    r.raise_for_status()
    return r


def _raw(registry, ref: str) -> tuple[str, dict]:
    repo, tag = ref.split("/", 1)[1].rsplit(":", 1)
    r = _get(registry, "%s/manifests/%s" % (repo, tag))
    return r.headers["Content-Type"], r.json()


def _imagetools(ref: str, what: str) -> dict:
    out = subprocess.run(["docker", "buildx", "imagetools", "inspect", ref, "--format", "{{ json .%s }}" % what],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_every_tag_is_an_attested_oci_index_that_the_tools_read(busybox, registry, proxy):
    base = _build(busybox, registry, "base", ["1.0", "latest"])
    child = _build(busybox, registry, "child", ["2.0"], parent=base["tags"][0])
    child["parents"] = [{"name": base["tags"][0], "key": base["key"], "image_id": base["image_id"], "digest": ""}]
    attester = Attester()
    # the child is listed first: it must still be pushed after its parent
    results = _pusher(proxy, attester, [base, child]).run(
        [(child["key"], child["image_id"], child["tags"]), (base["key"], base["image_id"], base["tags"])])
    by_key = {r.key: r for r in results}
    client = docker.from_env()
    assert all(r.ok for r in results), [r.to_dict() for r in results]
    assert by_key[child["key"]].started >= by_key[base["key"]].finished

    for item in (base, child):
        res = by_key[item["key"]]
        repo = item["tags"][0].split("/", 1)[1].rsplit(":", 1)[0]
        for tag in res.tags:
            # OCI image-spec v1.1 and BuildKit's attestation storage, by a checker sharing nothing with the writer
            assert check_registry_index(registry.address, repo, tag.ref.tag) == []
            media_type, index = _raw(registry, tag.text)
            assert media_type == INDEX and index["schemaVersion"] == 2 and index["mediaType"] == INDEX
            assert [m["mediaType"] for m in index["manifests"]] == [MANIFEST, MANIFEST]
            image, att = index["manifests"]
            assert tag.digest == "sha256:" + hashlib.sha256(
                _get(registry, "%s/manifests/%s" % (repo, tag.ref.tag)).content).hexdigest()
            assert (tag.image_digest, tag.attestation_digest) == (image["digest"], att["digest"])
            assert image["platform"] == {"architecture": "amd64", "os": "linux"}
            expected = {
                "org.opencontainers.image.source": "https://git.example/%s" % item["key"].split(":")[0],
                "org.opencontainers.image.revision": "c" * 40,
                "org.opencontainers.image.created": "2026-01-01T00:00:00Z",
                "org.opencontainers.image.version": item["tags"][0].rsplit(":", 1)[1],  # the first tag's
                "com.docker.official-images.bashbrew.arch": "amd64",
            }
            if item is child:
                expected["org.opencontainers.image.base.name"] = base["tags"][0]
                expected["org.opencontainers.image.base.digest"] = by_key[base["key"]].tags[0].image_digest
            assert image["annotations"] == expected
            # the image manifest: the engine's blobs under OCI media types, the same annotations
            manifest = _get(registry, "%s/manifests/%s" % (repo, image["digest"]), MANIFEST).json()
            assert manifest["mediaType"] == MANIFEST and manifest["annotations"] == expected
            assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
            if ENGINE.ids_are_config_digests:
                # overlay2 (Docker 20.10's and 26's default store): the engine id is the config digest
                assert manifest["config"]["digest"] == item["image_id"]
            else:
                # the containerd store: the id names the engine's manifest; the config is the one it shows
                config = _get(registry, "%s/blobs/%s" % (repo, manifest["config"]["digest"]), "*/*").json()
                assert config["rootfs"]["diff_ids"] == client.images.get(item["image_id"]).attrs["RootFS"]["Layers"]
            assert {la["mediaType"] for la in manifest["layers"]} == {"application/vnd.oci.image.layer.v1.tar+gzip"}
            # the attestation manifest, as BuildKit stores it
            assert att["platform"] == {"architecture": "unknown", "os": "unknown"}
            assert att["annotations"] == {"vnd.docker.reference.type": "attestation-manifest",
                                          "vnd.docker.reference.digest": image["digest"]}
            attm = _get(registry, "%s/manifests/%s" % (repo, att["digest"]), MANIFEST).json()
            assert attm["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
            assert [(la["mediaType"], la["annotations"]["in-toto.io/predicate-type"]) for la in attm["layers"]] == [
                ("application/vnd.in-toto+json", SPDX), ("application/vnd.in-toto+json", SLSA)]
            for layer in attm["layers"]:
                statement = _get(registry, "%s/blobs/%s" % (repo, layer["digest"]), "*/*").json()
                assert statement["_type"] == "https://in-toto.io/Statement/v0.1"
                assert statement["subject"][0]["digest"] == {"sha256": image["digest"][7:]}
        # what the publish lists from (the push record): on the first tag, the three manifests byte for byte as
        # the registry serves them; the other tags serve the same index and carry none
        first = res.tags[0]
        assert set(first.manifests) == {first.digest, first.image_digest, first.attestation_digest}
        for digest, text in first.manifests.items():
            assert _get(registry, "%s/manifests/%s" % (repo, digest), MANIFEST + "," + INDEX).content == text.encode()
        assert [t.manifests for t in res.tags[1:]] == [{}] * (len(res.tags) - 1)
    # the tags of one image share one index; one scan per image
    assert len({t.digest for t in by_key[base["key"]].tags}) == 1
    assert sorted(attester.scans) == sorted([base["key"], child["key"]])

    # buildx reads the attestations
    ref = child["tags"][0]
    spdx = _imagetools(ref, "SBOM")["SPDX"]
    assert spdx["spdxVersion"] == "SPDX-2.3"
    assert any("busybox" in (f.get("fileName") or "") for f in spdx.get("files") or []), spdx.get("files")
    slsa = _imagetools(ref, "Provenance")["SLSA"]
    assert slsa["builder"]["id"] == "urn:buildfarm.images:test"
    assert slsa["materials"][0]["digest"]["sha256"] == by_key[base["key"]].tags[0].image_digest[7:]

    # the engine pulls the tag (the platform's image out of the index) and runs it
    base_identity = engine_store.image_identity(client.images.get(base["image_id"]).attrs)
    pulled_ref = base["tags"][1]
    client.images.remove(pulled_ref)
    subprocess.run(["docker", "pull", "-q", pulled_ref], check=True, capture_output=True, timeout=120)
    if ENGINE.ids_are_config_digests:
        # overlay2: the index's image manifest carries the pushed config, so the pulled image has the built id
        assert client.images.get(pulled_ref).id == base["image_id"]
    else:
        # the containerd store names the pulled image by the index it was pulled from; its config is the built one's
        pulled = client.images.get(pulled_ref)
        assert pulled.id == by_key[base["key"]].tags[1].digest
        assert engine_store.image_identity(pulled.attrs) == base_identity
    run = subprocess.run(["docker", "run", "--rm", "--platform", "linux/amd64", pulled_ref], capture_output=True,
                         text=True, timeout=120, check=False)
    assert (run.returncode, run.stdout.strip()) == (0, "hello h3b"), run.stderr

    # a second push reads only: one GET per tag and one of each image manifest, no scan, no write
    proxy.log.clear()
    again = _pusher(proxy, attester, [base, child]).run(
        [(base["key"], base["image_id"], base["tags"]), (child["key"], child["image_id"], child["tags"])])
    assert {t.status for r in again for t in r.tags} == {"unchanged"}
    assert [t.digest for r in again for t in r.tags] == [t.digest for k in (base, child) for t in by_key[k["key"]].tags]
    assert len(attester.scans) == 2
    assert {m for m, _t, _a in proxy.log} == {"GET"} and len(proxy.log) == 3 + 2, proxy.log
    # an unchanged push records the index and image manifest it read (the attestation manifest was not read)
    for r in again:
        recorded = r.tags[0].manifests
        assert set(recorded) == {r.tags[0].digest, r.tags[0].image_digest}, recorded
        assert all(hashlib.sha256(t.encode()).hexdigest() == d[7:] for d, t in recorded.items())

    # a new tag of the unchanged image gets its index: one PUT (and the HEAD that proves it)
    new_ref = base["tags"][0].rsplit(":", 1)[0] + ":1"
    client.images.get(base["image_id"]).tag(new_ref.rsplit(":", 1)[0], "1")
    proxy.log.clear()
    [res] = _pusher(proxy, attester, [base]).run([(base["key"], base["image_id"], base["tags"] + [new_ref])])
    assert [t.status for t in res.tags] == ["unchanged", "unchanged", "pushed"], res.to_dict()
    assert res.tags[2].digest == res.tags[0].digest and len(attester.scans) == 2
    assert [m for m, _t, _a in proxy.log if m not in ("GET",)] == ["PUT", "HEAD"], proxy.log


def test_a_registry_refusing_in_toto_fails_the_image_and_claims_nothing(busybox, registry, proxy):
    item = _build(busybox, registry, "refused", ["1.0"])

    def refuse(request):
        if request.method == "PUT" and b"application/vnd.in-toto+json" in request.body:
            return "status:400"
        return "forward"

    proxy.decide = refuse
    [res] = _pusher(proxy, Attester(), [item]).run([(item["key"], item["image_id"], item["tags"])])
    tag = res.tags[0]
    assert not res.ok and tag.status == "failed"
    assert tag.error.startswith("refused:1.0: the attestation could not be published")
    assert "HTTP 400" in tag.error and "without its attestation" in tag.error
    # the tag serves the image alone: an incomplete member, never an index claiming an attestation
    media_type, index = _raw(registry, item["tags"][0])
    assert media_type == INDEX and len(index["manifests"]) == 1
    assert index["manifests"][0]["digest"] == tag.image_digest and tag.attestation_digest == ""

    # the registry fixed, the next push completes it (the incomplete index is not taken as unchanged)
    proxy.decide = lambda request: "forward"
    [again] = _pusher(proxy, Attester(), [item]).run([(item["key"], item["image_id"], item["tags"])])
    assert again.ok and again.tags[0].status == "pushed" and again.tags[0].attestation_digest
    assert again.tags[0].image_digest == tag.image_digest
    assert len(_raw(registry, item["tags"][0])[1]["manifests"]) == 2


def test_a_registry_refusing_oci_indexes_fails_the_image_naming_what_the_tag_holds(busybox, registry, proxy):
    item = _build(busybox, registry, "noindex", ["1.0"])
    proxy.decide = lambda request: "status:400" if request.method == "PUT" and \
        request.headers.get("content-type") == INDEX else "forward"
    [res] = _pusher(proxy, Attester(), [item]).run([(item["key"], item["image_id"], item["tags"])])
    tag = res.tags[0]
    assert not res.ok and tag.status == "failed" and tag.digest == ""
    assert tag.error.startswith("noindex:1.0: PushError: the attestation could not be published"), tag.error
    assert "the OCI index could not be published" in tag.error and "HTTP 400" in tag.error
    assert "%s serves the engine's image manifest" % item["tags"][0] in tag.error
    media_type, _doc = _raw(registry, item["tags"][0])
    assert media_type == "application/vnd.docker.distribution.manifest.v2+json"


def test_a_failing_scanner_fails_the_image_before_anything_is_pushed(busybox, registry, proxy, tmp_path):
    item = _build(busybox, registry, "unscanned", ["1.0"])
    scanner = tmp_path / "syft"
    scanner.write_text("#!/bin/sh\necho 'could not read the image' >&2\nexit 3\n")
    scanner.chmod(0o755)
    [res] = _pusher(proxy, Attester(str(scanner)), [item]).run([(item["key"], item["image_id"], item["tags"])])
    tag = res.tags[0]
    assert not res.ok and tag.status == "failed"
    assert tag.error.startswith("unscanned:1.0: PushError: the SBOM scan failed, nothing was pushed: ")
    assert "the scanner %s failed (rc=3)" % scanner in tag.error
    assert "could not read the image" in tag.error
    assert {m for m, _t, _a in proxy.log} == {"GET"}  # asked whether unchanged, wrote nothing
    repo, name = item["tags"][0].split("/", 1)[1].rsplit(":", 1)
    assert RegistryClient(registry.address).head_manifest(repo, name) is None


def test_the_module_without_attestations_publishes_annotated_indexes(busybox, registry):
    item = _build(busybox, registry, "plain", ["3.0"])
    args = {"images": [item], "attestations": False, "arch": "amd64"}
    check = run_module("image_push", args, check=True)
    assert check["images"][0]["tags"][0]["status"] == "would-push" and check["changed"] is True
    first = run_module("image_push", args)
    tag = first["images"][0]["tags"][0]
    assert (tag["status"], tag["attestation_digest"], first["changed"]) == ("pushed", "", True), first
    assert first["digests"] == {item["tags"][0]: tag["digest"]}
    assert first["images"][0]["started"] <= first["images"][0]["finished"]
    media_type, index = _raw(registry, item["tags"][0])
    assert media_type == INDEX and len(index["manifests"]) == 1
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.version"] == "3.0"
    again = run_module("image_push", args)
    assert again["changed"] is False and again["images"][0]["tags"][0]["status"] == "unchanged"
    # attestations turned on: the index without one is not this image's as it would now be written
    check = run_module("image_push", dict(args, attestations=True, release=str(sys.executable)), check=True)
    assert check["images"][0]["tags"][0]["status"] == "would-push", check
