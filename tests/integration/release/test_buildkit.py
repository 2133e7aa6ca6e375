"""`Builder: buildkit` (the default on Linux) on this machine's dockerd through `docker buildx build`: a family and a
library-file entry whose Dockerfiles use `RUN --mount=type=cache` and `COPY --chmod` build (the classic builder
refuses both), a library entry FROM the family's entry is built FROM the image just built (pinned, nothing pulled:
no registry is reachable here), a second run finds everything unchanged by its input-digest label, a `Builder:
classic` entry still builds through the engine's API, a heredoc fails naming the entry, the feature and the
engine's version where the engine's BuildKit lacks it (Docker 20.10) and builds where it has it (Docker >= 23: 26 on
Debian 13), and an engine without the image takes it from the registry's
per-architecture OCI index (its attestation beside it ignored) instead of rebuilding.

The base image is made here with `docker import` from this host's dash, cat and ls (and their libraries): no
registry can be pulled from."""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import uuid

import docker
import pytest

from conftest import REPO, Registry
from ansible_collections.buildfarm.images.plugins.module_utils.build import _buildx, engine_store
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient
from ansible_collections.buildfarm.images.tests.support.engine import engine
from ansible_collections.buildfarm.images.tests.support.ports import free_port

sys.path.insert(0, str(REPO / "tests" / "support"))
from run_module import run_module  # noqa: E402

pytestmark = pytest.mark.integration
BASE = "h2test-kitbase"
KIT = "h2kit:1.0.0-kit"  # the family's entry (its tags: 1.0.0-kit, 1.0-kit, 1.0.0, 1.0)
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ENGINE = engine()  # Docker 20.10 (Debian 12) or 26 (Debian 13): what it builds and how it names images differ


def _ok(res: dict) -> dict:
    assert not res.get("failed"), {k: res[k] for k in ("msg", "exception") if k in res}
    return res


def _host_files() -> dict[str, str]:
    """dash as /bin/sh, cat and ls, and the shared libraries they load (ldd), path in the image -> host path."""
    files = {"bin/sh": "/bin/dash", "bin/cat": "/bin/cat", "bin/ls": "/bin/ls"}
    for binary in list(files.values()):
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
        for word in out.split():
            if word.startswith("/"):
                files[word.lstrip("/")] = word
    return files


@pytest.fixture(scope="module")
def base_image(tmp_path_factory):
    """`h2test-kitbase:1`, a shell and two tools in an image imported from a tar (the engine has it, no registry
    does)."""
    tar_path = tmp_path_factory.mktemp("base") / "base.tar"
    with tarfile.open(tar_path, "w") as tar:
        for inside, host in sorted(_host_files().items()):
            info = tar.gettarinfo(os.path.realpath(host), inside)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            with open(os.path.realpath(host), "rb") as fh:
                tar.addfile(info, fh)
        tmp = tarfile.TarInfo("tmp")
        tmp.type, tmp.mode = tarfile.DIRTYPE, 0o1777
        tar.addfile(tmp)
    subprocess.run(["docker", "import", str(tar_path), BASE + ":1"], check=True, capture_output=True)
    yield BASE + ":1"
    subprocess.run(["docker", "rmi", BASE + ":1"], capture_output=True, check=False)


def _git(cwd: pathlib.Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args], cwd=cwd,
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def project(tmp_path, base_image):
    """A family `h2kit` FROM the base, a library file `h2lib` built from a Git repository made here (an entry FROM
    the family's image, a classic one, a heredoc one), a parents library naming the base, and a release bundle of
    both (release_prepare), as the build role sends it to a builder."""
    run_id = uuid.uuid4().hex  # new inputs each run: the engine's BuildKit cache would hand back earlier layers
    fam = tmp_path / "families" / "h2kit"
    fam.mkdir(parents=True)
    (fam / "family.yml").write_text(
        "name: h2kit\nmaintainers: ['Jane Doe <jane@example.invalid> (@jane)']\nversions: versions.json\n"
        "templates: {'*': Dockerfile.j2}\n")
    (fam / "versions.json").write_text(json.dumps({"1.0": {"version": "1.0.0", "variants": ["kit"]}}))
    (fam / "Dockerfile.j2").write_text(
        "# syntax=docker/dockerfile:1\n"  # taken out: the engine's own frontend builds it, none is pulled
        "FROM %s\n"
        "COPY --chmod=0700 Dockerfile /recipe\n"
        "RUN --mount=type=cache,target=/cache echo {{ version }} %s > /cache/v && cat /cache/v > /version\n"
        "CMD [\"cat\", \"/version\"]\n" % (base_image, run_id))
    parents = tmp_path / "parents"
    parents.mkdir()
    (parents / BASE).write_text("Maintainers: K <k@example.invalid> (@k)\nGitRepo: https://example.invalid/b.git\n\n"
                                "Tags: 1\nArchitectures: amd64\nGitCommit: " + "1" * 40 + "\n")

    src = tmp_path / "src"
    (src / "app").mkdir(parents=True)
    (src / "old").mkdir()
    (src / "heredoc").mkdir()
    (src / "app" / "Dockerfile.app").write_text(
        "FROM h2kit:1.0\n"
        "COPY --chmod=0755 hello.sh /usr/local/bin/hello\n"
        "RUN --mount=type=cache,target=/cache ls /usr/local/bin > /cache/l && cat /cache/l > /listing\n"
        "CMD [\"/usr/local/bin/hello\"]\n")
    (src / "app" / "hello.sh").write_text("#!/bin/sh\necho hello %s\n" % run_id)
    (src / "old" / "Dockerfile").write_text("FROM h2kit:1.0\nRUN echo classic > /built-by\n")
    (src / "heredoc" / "Dockerfile").write_text("FROM h2kit:1.0\nRUN <<EOF\necho %s > /heredoc\nEOF\n" % run_id)
    _git(src, "init", "-q")
    _git(src, "add", "-A")
    _git(src, "commit", "-q", "-m", "images")
    commit = _git(src, "rev-parse", "HEAD")
    lib = tmp_path / "library" / "h2lib"
    lib.parent.mkdir()
    lib.write_text("Maintainers: Team <team@example.org> (@team)\nGitRepo: %s\nGitCommit: %s\n\n"
                   "Tags: 2.0, latest\nArchitectures: amd64\nDirectory: app\nFile: Dockerfile.app\n\n"
                   "Tags: 2.0-classic\nArchitectures: amd64\nDirectory: old\nBuilder: classic\n\n"
                   "Tags: 2.0-heredoc\nArchitectures: amd64\nDirectory: heredoc\n" % (src, commit))
    prepared = _ok(run_module("release_prepare", {
        "families_dir": str(tmp_path / "families"), "families": ["h2kit"], "architectures": ["amd64"],
        "parents_library": str(parents), "library_files": [str(lib)],
        "work_dir": str(tmp_path / "prepare"), "artifacts_dir": str(tmp_path / "artifacts")}))
    registry = "h2test-%s.invalid" % run_id[:8]
    yield {"bundle": prepared["bundle"], "work": tmp_path / "builder", "registry": registry, "root": tmp_path,
           "run_id": run_id}
    client = docker.from_env()
    for img in client.images.list():
        for tag in img.tags:
            if tag.startswith(registry + "/"):
                client.images.remove(tag)


def _build(project: dict, registry: str = "", **more) -> dict:
    return run_module("image_build", dict({
        "release": project["bundle"], "work_dir": str(project["work"]), "arch": "amd64",
        "registry": registry or project["registry"], "created": "2026-06-24T00:00:00Z", "pull_parents": False,
        "fail_on_error": False}, **more))


def _run(image: str, *cmd: str) -> str:
    return subprocess.run(["docker", "run", "--rm", image, *cmd], capture_output=True, text=True,
                          check=True).stdout


def test_buildkit_family_and_library_entries_then_unchanged(project):
    first = _build(project)
    images = {i["key"]: i for i in first["images"]}
    assert set(images) == {KIT, "h2lib:2.0", "h2lib:2.0-classic", "h2lib:2.0-heredoc"}, first
    kit, app, old, heredoc = (images[k] for k in (KIT, "h2lib:2.0", "h2lib:2.0-classic", "h2lib:2.0-heredoc"))
    assert (kit["status"], kit["builder"]) == ("built", "buildkit"), kit
    assert (app["status"], app["builder"]) == ("built", "buildkit"), app
    assert (old["status"], old["builder"]) == ("built", "classic"), old
    client = docker.from_env()
    base_id = client.images.get(BASE + ":1").id

    # the family: COPY --chmod and the cache mount did what they say
    kit_tag = project["registry"] + "/amd64/h2kit:1.0.0-kit"
    assert kit_tag in kit["tags"] and client.images.get(kit_tag).id == kit["image_id"]
    assert _run(kit_tag, "ls", "-l", "/recipe").startswith("-rwx------")
    assert _run(kit_tag).startswith("1.0.0 ")
    assert kit["parents"] == [{"name": BASE + ":1", "key": "", "image_id": base_id, "digest": ""}]
    labels = client.images.get(kit["image_id"]).labels
    assert labels["io.buildfarm.input-digest"] == kit["input_digest"]
    assert labels["org.opencontainers.image.base.name"] == BASE + ":1"
    assert kit["size"] == client.images.get(kit["image_id"]).attrs["Size"] > 0
    assert kit["started"] <= kit["finished"] and kit["finished"].endswith("Z")
    # buildx's plain progress, its last lines
    assert any(line.startswith("#") and "naming to " + kit_tag in line for line in kit["log_tail"]), kit

    # the library entry, built FROM the family's image just built (pinned to its id, not pulled by name)
    app_tag = project["registry"] + "/amd64/h2lib:2.0"
    assert _run(app_tag).startswith("hello ")
    assert "hello" in _run(app_tag, "cat", "/listing")
    assert _run(app_tag, "ls", "-l", "/usr/local/bin/hello").startswith("-rwxr-xr-x")
    assert app["parents"] == [{"name": "h2kit:1.0", "key": KIT, "image_id": kit["image_id"], "digest": ""}]
    assert old["parents"][0]["image_id"] == kit["image_id"]
    assert _run(project["registry"] + "/amd64/h2lib:2.0-classic", "cat", "/built-by") == "classic\n"
    # the pin tags this run made are gone; the images they pinned are not
    assert not [t for i in client.images.list(name=_buildx.PIN_REPOSITORY + "/h2kit") for t in i.tags]
    assert client.images.get(kit["image_id"]).id == kit["image_id"]

    # a heredoc: the engine's BuildKit has it from Docker 23 on (read from the engine here, not the product's probe)
    if ENGINE.frontend_1_4:
        assert (heredoc["status"], heredoc["builder"]) == ("built", "buildkit"), heredoc
        assert first["failed_entries"] == []
        assert _run(project["registry"] + "/amd64/h2lib:2.0-heredoc", "cat", "/heredoc") == project["run_id"] + "\n"
    else:
        assert heredoc["status"] == "failed" and first["failed_entries"] == ["h2lib:2.0-heredoc"]
        assert heredoc["error"].startswith("h2lib:2.0-heredoc: the Dockerfile uses heredocs (`RUN <<EOF`) (line 2)")
        assert "(Docker %s)" % ENGINE.version in heredoc["error"]

    again = _build(project)
    statuses = {i["key"]: (i["status"], i["builder"]) for i in again["images"]}
    assert statuses[KIT] == ("unchanged", "buildkit") and statuses["h2lib:2.0"] == ("unchanged", "buildkit")
    assert statuses["h2lib:2.0-classic"] == ("unchanged", "classic")
    assert [i["image_id"] for i in again["images"] if i["status"] == "unchanged"] == [
        i["image_id"] for i in first["images"] if i["status"] == "built"]
    assert again["changed"] is False


def _as_oci_index(api: RegistryClient, path: str, tag: str, arch: str) -> str:
    """Rewrite the engine's push of ``path:tag`` as the farm publishes it (COMMON contract): an OCI image manifest
    with the same config and layers, in an OCI index beside an attestation manifest (`unknown/unknown`), PUT under
    the tag. Returns the image manifest's digest."""
    pushed = api.get_manifest(path, tag)
    assert pushed is not None
    doc = pushed.json()
    doc["mediaType"] = OCI_MANIFEST
    doc["config"]["mediaType"] = "application/vnd.oci.image.config.v1+json"
    for layer in doc["layers"]:
        layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    image = json.dumps(doc).encode()
    image_digest = api.put_manifest(path, "sha256:" + hashlib.sha256(image).hexdigest(), image,
                                    OCI_MANIFEST)
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1"}).encode()
    config = json.dumps({"architecture": "unknown", "os": "unknown", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    att = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": api.put_blob(path, config), "size": len(config)},
                      "layers": [{"mediaType": "application/vnd.in-toto+json",
                                  "digest": api.put_blob(path, statement), "size": len(statement)}]}).encode()
    att_digest = api.put_manifest(path, "sha256:" + hashlib.sha256(att).hexdigest(), att,
                                  OCI_MANIFEST)
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": image_digest, "size": len(image),
         "platform": {"os": "linux", "architecture": arch}},
        {"mediaType": OCI_MANIFEST, "digest": att_digest, "size": len(att),
         "platform": {"os": "unknown", "architecture": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                         "vnd.docker.reference.digest": image_digest}}]}).encode()
    api.put_manifest(path, tag, index, OCI_INDEX)
    return image_digest


@pytest.fixture
def h2_registry(tmp_path):
    reg = Registry(tmp_path / "registry", free_port(5720, 5739))
    reg.start()
    yield reg
    reg.stop()
    reg.untag()


def test_an_engine_without_the_image_pulls_it_from_the_per_architecture_index(project, h2_registry):
    registry = h2_registry
    first = _build(project, registry.address)
    kit = next(i for i in first["images"] if i["key"] == KIT)
    assert kit["status"] == "built", kit
    client = docker.from_env()
    kit_identity = engine_store.image_identity(client.images.get(kit["image_id"]).attrs)
    for line in client.images.push(registry.address + "/amd64/h2kit", tag="1.0.0-kit", stream=True, decode=True):
        assert "error" not in line, line
    api = RegistryClient(registry.address)
    image_digest = _as_oci_index(api, "amd64/h2kit", "1.0.0-kit", "amd64")
    # the engine loses the image (a new builder): its children first
    for image in first["images"]:
        if image["status"] == "built" and image["key"] != KIT:
            client.images.remove(image["image_id"], force=True)
    client.images.remove(kit["image_id"], force=True)

    again = _build(project, registry.address)
    kit2 = next(i for i in again["images"] if i["key"] == KIT)
    assert (kit2["status"], kit2["pulled"]) == ("unchanged", "%s/amd64/h2kit@%s" % (registry.address, image_digest))
    if ENGINE.ids_are_config_digests:
        # overlay2 (20.10's and 26's default store): the id is the config digest, and the index's image manifest
        # carries the config the build made, so the image pulled back has the built image's id
        assert kit2["image_id"] == kit["image_id"]
    else:
        # the containerd store names an image by its manifest: the pulled one (another manifest, OCI media types)
        # has another id; the config it shows is the built one's
        assert kit2["image_id"] != kit["image_id"]
        assert engine_store.image_identity(client.images.get(kit2["image_id"]).attrs) == kit_identity
    # its child is rebuilt on the same parent id: same inputs, so the same input digest
    app = next(i for i in again["images"] if i["key"] == "h2lib:2.0")
    assert app["input_digest"] == next(i for i in first["images"] if i["key"] == "h2lib:2.0")["input_digest"]


def test_a_family_switching_to_classic_is_rebuilt(project):
    first = _build(project)
    kit = next(i for i in first["images"] if i["key"] == KIT)
    assert kit["status"] == "built"
    fam = project["root"] / "families" / "h2kit" / "family.yml"
    fam.write_text(fam.read_text() + "builder: classic\n")
    # the classic builder cannot build `COPY --chmod`: the switch is a new input digest and a build (that fails)
    prepared = _ok(run_module("release_prepare", {
        "families_dir": str(project["root"] / "families"), "families": ["h2kit"], "architectures": ["amd64"],
        "parents_library": str(project["root"] / "parents"),
        "work_dir": str(project["root"] / "prepare"), "artifacts_dir": str(project["root"] / "artifacts")}))
    switched = _build(dict(project, bundle=prepared["bundle"]))
    (kit2,) = switched["images"]
    assert kit2["builder"] == "classic" and kit2["input_digest"] != kit["input_digest"]
    assert kit2["status"] == "failed" and "the --chmod option requires BuildKit" in kit2["error"], kit2
    shutil.rmtree(project["work"], ignore_errors=True)
