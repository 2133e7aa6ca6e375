"""The EXAMPLES of the modules that need this machine's dockerd, a registry or the Debian mirror, run as documented
(tests/support/examples.py; the others: tests/functional/test_module_examples.py). They run in a project folder
holding families/ and the local default's python versions file; the documented registry 127.0.0.1:5000 is this
test's own throw-away registry, the documented builder folders (/var/cache/buildfarm, /var/lib/buildfarm) are
folders of the test, and registry.example.org is a throw-away registry with TLS and basic auth. What the tasks read
(a release bundle, busybox's rendered entries and per-architecture binaries, images built and pushed for amd64,
arm64v8 and s390x) is prepared by running the collection's modules in process."""
from __future__ import annotations

import pathlib
import secrets
import shutil
import subprocess
import sys
import uuid

import pytest

from conftest import REPO, Registry, _free_port

sys.path.insert(0, str(REPO / "tests" / "support"))
from examples import assert_all_ran, run_examples  # noqa: E402
from run_module import run_module  # noqa: E402

from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (  # noqa: E402
    Credentials,
    RegistryClient,
)

pytestmark = pytest.mark.integration
ARCHES = ["amd64", "arm64v8", "s390x"]
APT_CACHE = REPO / ".cache" / "release" / "cache" / "apt"  # the Debian package cache the other tests share


def _ok(res: dict) -> dict:
    assert not res.get("failed"), {k: res[k] for k in ("msg", "errors", "exception") if k in res}
    return res


class Farm:
    """One project folder and registry for the file: busybox rendered, planned, built and pushed for three
    architectures, as a release's builders leave it."""

    def __init__(self, root: pathlib.Path, registry: Registry) -> None:
        self.root = root
        self.registry = registry
        self.project = root / "project"
        self.builder = root / "builder"  # stands for /var/cache/buildfarm
        shutil.copytree(REPO / "families", self.project / "families")
        (self.project / "inventories" / "local-files").mkdir(parents=True)
        shutil.copy2(REPO / "inventories" / "local-files" / "python-versions.json",
                     self.project / "inventories" / "local-files")
        self.render = self.builder / "render" / "busybox"
        _ok(run_module("dockerfiles", {"family_dir": str(self.project / "families" / "busybox"),
                                       "dest_dir": str(self.render)}))
        self.plan = _ok(run_module("release_plan", {
            "family_dir": str(self.project / "families" / "busybox"), "architectures": ARCHES,
            "dest": str(self.project / "library" / "busybox")}))
        self.version = self.plan["plan"]["entries"][0]["tags"][0].split("-")[0]
        self.built: dict[str, dict] = {}
        self.pushed: dict[str, dict] = {}
        # pushed as a release's builders push: each per-architecture tag an index with its attestation (SBOM by
        # syft, provenance from the release bundle), which the lists require by default
        self.pusher = self.bundle(root / "pusher" / "release.tar", ARCHES).parent
        for arch in ARCHES:
            _ok(run_module("debian_package_files", {
                "package": "busybox-static", "arch": arch, "files": {"bin/busybox": "busybox"},
                "dest_dir": str(self.builder / "busybox" / arch), "cache_dir": str(APT_CACHE),
                "expect_version": self.version, "suite": "bookworm"}))  # the family's suite, on Debian 12 or 13
            self.built[arch] = self.build(arch)
            self.pushed[arch] = _ok(run_module("image_push", {
                "images": self.built[arch]["images"], "arch": arch, "release": str(self.pusher / "release.tar"),
                "work_dir": str(self.pusher), "builder_id": "https://ci.example.org/buildfarm"}))
            assert all(i["ok"] and all(t["attestation_digest"] for t in i["tags"])
                       for i in self.pushed[arch]["images"]), self.pushed[arch]

    def build(self, arch: str) -> dict:
        res = _ok(run_module("image_build", {
            "arch": arch, "registry": self.registry.address, "created": "2026-06-24T00:00:00Z",
            "families": [{"name": "busybox", "context_root": str(self.render),
                          "extra_context": str(self.builder / "busybox" / arch),
                          "entries": self.plan["plan"]["entries"]}]}))
        assert res["images"] and all(i["status"] in ("built", "unchanged") for i in res["images"]), res
        return res

    def bundle(self, dest: pathlib.Path, architectures: list[str]) -> pathlib.Path:
        """A busybox release bundle (release_prepare) at `dest`, as the build role sends it to a builder."""
        res = _ok(run_module("release_prepare", {
            "families_dir": str(self.project / "families"), "families": ["busybox"], "architectures": architectures,
            "work_dir": str(self.root / ("prepare-" + uuid.uuid4().hex[:8])),
            "artifacts_dir": str(self.root / "prepare-artifacts")}))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(res["bundle"], dest)
        return dest


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    root = tmp_path_factory.mktemp("examples")
    registry = Registry(root / "registry", _free_port())
    registry.start()
    try:
        yield Farm(root, registry)
    finally:
        registry.stop()
        registry.untag()


def _subs(farm: Farm, **more: str) -> dict:
    return dict({"127.0.0.1:5000": farm.registry.address}, **more)


def test_builder_arch_examples(farm):
    run = run_examples("builder_arch", farm.project)
    assert_all_ran(run, "builder_arch")
    res = run.result("This builder builds s390x under qemu")
    assert res["arch"] == "s390x" and res["emulated"] is True and res["platform"] == "linux/s390x", res


def test_debian_package_files_examples(farm):
    context = farm.root / "context"
    run = run_examples("debian_package_files", farm.project, subs={
        "/var/cache/buildfarm/apt": str(APT_CACHE), "/var/cache/buildfarm/context": str(context),
        "expect_version: 1.35.0": "expect_version: " + farm.version})
    assert_all_ran(run, "debian_package_files")
    elf = (context / "busybox" / "s390x" / "busybox").read_bytes()[:20]
    # an ELF file, big-endian (EI_DATA 2), e_machine 22: IBM S/390
    assert elf[:4] == b"\x7fELF" and elf[5] == 2 and int.from_bytes(elf[18:20], "big") == 22


def test_release_prepare_examples(farm):
    run = run_examples("release_prepare", farm.project)
    assert_all_ran(run, "release_prepare")
    busybox = run.result("Plan and render the release")
    assert [f["name"] for f in busybox["families"]] == ["busybox"]
    assert {a for e in busybox["families"][0]["entries"] for a in e["architectures"]} == set(ARCHES)
    chain = run.result("Release debian and python, python pinned to this farm's versions file, amd64 and slim-trixie"
                       " only")
    families = {f["name"]: f for f in chain["families"]}
    assert [f["name"] for f in chain["families"]] == ["debian", "python"]  # python after what it is built FROM
    python = families["python"]["entries"]
    assert python and all(e["architectures"] == ["amd64"] for e in python)
    assert all(e["directory"].endswith("slim-trixie") for e in python)
    assert pathlib.Path(chain["bundle"]).is_file()


def test_image_build_examples(farm):
    farm.bundle(farm.builder / "release.tar", ["amd64"])
    run = run_examples("image_build", farm.project, subs=_subs(farm, **{"/var/cache/buildfarm": str(farm.builder)}),
                       variables={"buildfarm_busybox_plan": farm.plan})
    assert_all_ran(run, "image_build")
    for name, arch in (("Build this builder's share of the whole release (every family, one call)", "amd64"),
                       ("Build this builder's share of the busybox release", "arm64v8")):
        images = run.result(name)["images"]
        assert images and all(i["status"] in ("built", "unchanged") for i in images), images
        for ref in images[0]["tags"]:
            assert ref.startswith("%s/%s/busybox:" % (farm.registry.address, arch))
            inspect = subprocess.run(["docker", "image", "inspect", "-f", "{{.Architecture}}", ref],
                                     capture_output=True, text=True, check=False)
            assert inspect.stdout.strip() == {"amd64": "amd64", "arm64v8": "arm64"}[arch], (ref, inspect.stderr)


def test_image_test_examples(farm):
    run = run_examples("image_test", farm.project,
                       subs={"/var/cache/buildfarm": str(farm.builder)},
                       variables={"buildfarm_built": farm.built["s390x"]})
    assert_all_ran(run, "image_test")
    res = run.result("Smoke-test the share before anything is pushed")
    keys = [i["key"] for i in farm.built["s390x"]["images"]]
    # busybox's tests ran on s390x (under qemu) and every image passed
    assert sorted(res["passed"]) == sorted(keys) and not res["failed_entries"], res


def test_image_push_examples(farm):
    built = farm.build("amd64")
    passed = [i["key"] for i in built["images"]][:1]
    builder = farm.root / "push-builder"  # stands for /var/cache/buildfarm/builders/builder-amd64
    farm.bundle(builder / "release.tar", ["amd64"])
    run = run_examples("image_push", farm.project, subs={"/var/cache/buildfarm/builders/builder-amd64": str(builder)},
                       variables={"buildfarm_built": built, "buildfarm_tested": {"passed": passed}})
    assert_all_ran(run, "image_push")
    res = run.result("Push what passed the smoke tests")
    # only what passed is pushed, attested, and the registry serves each of its tags with the index reported
    assert [i["key"] for i in res["images"]] == passed and res["images"][0]["ok"], res
    assert all(t["attestation_digest"] for t in res["images"][0]["tags"]), res
    client = farm.registry.client()
    for ref, digest in res["digests"].items():
        repo, tag = ref.split("/", 1)[1].rsplit(":", 1)
        head = client.head_manifest(repo, tag)
        assert head is not None and head.digest == digest, ref
    # the opt-out keeps the attestations already published: the attested image is unchanged
    plain = run.result("Push without attestations (explicit opt-out; the indexes carry the annotations only)")
    assert {t["status"] for i in plain["images"] if i["key"] in passed for t in i["tags"]} == {"unchanged"}


def test_job_status_examples(farm):
    jobs = farm.root / "jobs"  # stands for /var/lib/buildfarm
    farm.bundle(jobs / "release.tar", ["amd64"])
    run = run_examples("job_status", farm.project, subs=_subs(farm, **{"/var/lib/buildfarm": str(jobs)}))
    assert_all_ran(run, "job_status")
    follow = run.result("Follow the build")
    build = run.result("Get the build's result")
    # the build ended within the follow's 25 s (busybox, unchanged or built in seconds): the fact names the job
    assert build["finished"] == 1 and build["images"], build
    assert follow["ansible_facts"]["buildfarm_job_status_finished"] == build["ansible_job_id"]
    assert "busybox" in follow["msg"], follow


def _tls_registry(farm: Farm) -> tuple[Registry, str, pathlib.Path]:
    """registry.example.org: TLS with a certificate of this test's own CA and basic auth (user `farm`)."""
    folder = farm.root / "tls"
    folder.mkdir()
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True)
    password = secrets.token_hex(12)
    htpasswd = folder / "htpasswd"
    htpasswd.write_text(subprocess.run(["htpasswd", "-Bbn", "farm", password], check=True, capture_output=True,
                                       text=True).stdout)
    reg = Registry(folder / "registry", _free_port(), str(htpasswd), tls=(str(cert), str(key)))
    reg.start()
    return reg, password, cert


def _copy_images(src: RegistryClient, dst: RegistryClient, refs: list[tuple[str, str]]) -> None:
    """Copy images between registries, as the builders' pushes would have: a per-architecture index with its
    manifests (the image and its attestation), each manifest with its config and layers, children first."""
    def copy(repo: str, reference: str) -> None:
        manifest = src.get_manifest(repo, reference)
        assert manifest is not None, (repo, reference)
        body = manifest.json()
        for child in body.get("manifests") or []:
            copy(repo, child["digest"])
        for blob in ([body["config"]] + body["layers"]) if "config" in body else []:
            if not dst.head_blob(repo, blob["digest"]):
                assert dst.put_blob(repo, src.get_blob(repo, blob["digest"])) == blob["digest"]
        dst.put_manifest(repo, reference, manifest.data, manifest.media_type)

    for repo, tag in refs:
        copy(repo, tag)


def test_manifest_list_examples(farm):
    tls, password, cert = _tls_registry(farm)
    try:
        src = farm.registry.client()
        dst = tls.client(Credentials("farm", password))
        refs = [(ref.split("/", 1)[1].rsplit(":", 1)[0], ref.rsplit(":", 1)[1])
                for arch in ARCHES for i in farm.built[arch]["images"] for ref in i["tags"]]
        _copy_images(src, dst, refs)
        prepared = _ok(run_module("release_prepare", {
            "families_dir": str(farm.project / "families"), "families": ["busybox"], "architectures": ARCHES,
            "work_dir": str(farm.root / ("lists-" + uuid.uuid4().hex[:8])),
            "artifacts_dir": str(farm.root / "lists-artifacts")}))
        builders = {"builder-%s" % arch: {"buildfarm_build_result": {"pushed": farm.pushed[arch]["images"]}}
                    for arch in ARCHES}
        run = run_examples("manifest_list", farm.project, subs=_subs(farm, **{
            "registry: registry.example.org": "registry: https://" + tls.address,
            "/etc/docker/certs.d/registry.example.org/ca.crt": str(cert)}),
            variables={"buildfarm_registry_username": "farm", "buildfarm_registry_password": password,
                       "buildfarm_release": prepared},
            hosts=builders, groups={"builders": sorted(builders)})
        assert_all_ran(run, "manifest_list")
        # the release's form: every member listed from the builders' push records (the action plugin read them from
        # the hostvars), none read back from the registry
        released = run.result("Publish every family's lists from what the builders pushed, read back from nowhere "
                              "(the release's publish)")
        sources = {m["source"] for lst in released["lists"] for m in lst["members"]}
        pushed = {t["ref"].split("/", 1)[1] for arch in ARCHES for i in farm.pushed[arch]["images"] for t in i["tags"]}
        assert sources and sources <= pushed and released["members_from_push"] == len(sources), (sources, released)
        for name, client in (("Publish its lists from the pushed amd64/busybox:1.35.0-glibc, arm64v8/busybox:1.35.0"
                              "-glibc, ...", src),
                             ("Publish from a library file to a TLS registry with credentials", dst)):
            lists = run.result(name)["lists"]
            assert lists and {x["tag"] for x in lists} >= {"latest", farm.plan["plan"]["entries"][0]["tags"][0]}
            index = client.get_manifest("library/busybox", "latest")
            assert index is not None
            manifests = index.json()["manifests"]
            platforms = [m["platform"]["architecture"] for m in manifests]
            # each member (the image) right after followed by its attestation (platform unknown/unknown)
            assert set(platforms[0::2]) == {"amd64", "arm64", "s390x"} and set(platforms[1::2]) == {"unknown"}, (
                name, platforms)
            assert all(a["annotations"]["vnd.docker.reference.digest"] == m["digest"]
                       for m, a in zip(manifests[0::2], manifests[1::2])), (name, manifests)
        annotated = src.get_manifest("library/busybox", "latest").json()
        assert annotated["annotations"]["org.opencontainers.image.url"] == \
            "https://registry.example.org/library/busybox"
        assert password not in run.output  # the credentials never reach the output
    finally:
        tls.stop()


def test_registry_image_info_examples(farm):
    # what it reads is published: busybox's lists on this test's registry
    _ok(run_module("manifest_list", {"registry": farm.registry.address, "repository": "busybox",
                                     "entries": farm.plan["plan"]["entries"]}))
    run = run_examples("registry_image_info", farm.project, subs=_subs(farm, **{
        "arm64v8/busybox:1.35.0": "arm64v8/busybox:" + farm.plan["plan"]["entries"][0]["tags"][0]}))
    assert_all_ran(run, "registry_image_info")
    images = run.result("What the published busybox tags point at")["images"]
    platforms = [p["platform"] for p in images[0]["platforms"]]
    # the members, each followed by its attestation manifest (platform unknown/unknown)
    assert set(platforms[0::2]) == {"linux/amd64", "linux/arm64/v8", "linux/s390x"}, images
    assert platforms[1::2] == ["unknown/unknown"] * 3, images
    members = images[0]["platforms"]
    # each attestation names the member it attests; a runnable member names none
    assert [m["attestation_for"] for m in members[1::2]] == [m["digest"] for m in members[0::2]], members
    assert not any(m["attestation_for"] for m in members[0::2]), members


def test_release_verify_examples(farm):
    # what the examples verify: busybox's lists, published (manifest_list's `repositories` form, as the release's
    # publish stage calls it) from the attested per-architecture indexes the farm's builders pushed
    prepared = _ok(run_module("release_prepare", {
        "families_dir": str(farm.project / "families"), "families": ["busybox"], "architectures": ARCHES,
        "work_dir": str(farm.root / ("verify-" + uuid.uuid4().hex[:8])),
        "artifacts_dir": str(farm.root / "verify-artifacts")}))
    published = _ok(run_module("manifest_list", {"registry": farm.registry.address,
                                                 "repositories": prepared["publish"]}))
    tags = [lst["tag"] for r in published["repositories"] for lst in r["lists"]]
    assert tags and "latest" in tags, published
    builders = {"builder-%s" % arch: {"buildfarm_build_result": {"images": farm.built[arch]["images"],
                                                                 "pushed": farm.pushed[arch]["images"]}}
                for arch in ARCHES}
    run = run_examples("release_verify", farm.project, subs=_subs(farm),
                       variables={"buildfarm_published": published, "buildfarm_release": prepared},
                       hosts=builders, groups={"builders": sorted(builders)})
    assert_all_ran(run, "release_verify")
    pushed = {t["ref"].split("/", 1)[1]: t for arch in ARCHES for i in farm.pushed[arch]["images"]
              for t in i["tags"]}
    for name in ("Verify what the publish wrote, against what the builders pushed",
                 "Verify a release's lists stand-alone (members compared with the per-architecture tags)"):
        res = run.result(name)
        assert res["ok"] is True and res["failures"] == [], (name, res["failures"])
        assert sorted(t["tag"] for t in res["tags"]) == sorted(tags), name
        assert res["summary"] == "%d of %d tags verified" % (len(tags), len(tags))
        for tag in res["tags"]:
            assert tag["ok"] and tag["reference"] == "library/busybox:" + tag["tag"], tag
            # every architecture of the release, each the image pushed for it, with its SBOM and provenance
            assert sorted(m["arch"] for m in tag["members"]) == sorted(ARCHES), tag
            for m in tag["members"]:
                assert m["ok"] and m["sbom"] is True and m["provenance"] is True, m
                assert m["digest"] == pushed[m["source"]]["image_digest"], m
                assert m["attestation"] == pushed[m["source"]]["attestation_digest"], m
                assert m["provenance_summary"]["builder_id"] == "https://ci.example.org/buildfarm", m
