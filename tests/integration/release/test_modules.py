"""The builder modules against this machine's dockerd: a FROM chain built in dependency order and rebuilt only
when its inputs change, a failing smoke test, pushes retried against a registry that does not answer, a tag
counted as pushed only when the registry serves it."""
from __future__ import annotations

import sys
import uuid

import docker
import pytest

from conftest import REPO, Registry, _free_port
from ansible_collections.buildfarm.images.plugins.module_utils.build import engine_store
from ansible_collections.buildfarm.images.plugins.module_utils.build.image_pusher import Pusher
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient
from ansible_collections.buildfarm.images.tests.support.engine import engine

sys.path.insert(0, str(REPO / "tests" / "support"))
from run_module import run_module  # noqa: E402

pytestmark = pytest.mark.integration
PREFIX = "h4test"
ENGINE = engine()  # Docker 20.10 or 26, its image store: what an engine image id is


@pytest.fixture(scope="module")
def busybox_context(tmp_path_factory):
    """Debian's static busybox for amd64, fetched as the build role does (the package cache is shared)."""
    dest = tmp_path_factory.mktemp("ctx") / "busybox"
    res = run_module("debian_package_files", {
        "package": "busybox-static", "arch": "amd64", "files": {"bin/busybox": "busybox"}, "dest": str(dest),
        "cache_dir": str(REPO / ".cache" / "release" / "cache" / "apt"), "expect_version": "1.35.0",
        "suite": "bookworm"})  # busybox's suite (families/busybox), whatever Debian this host runs
    assert not res.get("failed"), res
    assert (dest / "busybox").stat().st_size > 500_000
    return dest


@pytest.fixture
def chain(tmp_path):
    """A family of two entries, `tools` built FROM `base` (listed first, so order matters)."""
    root = tmp_path / "render"
    (root / "tools").mkdir(parents=True)
    (root / "base").mkdir()
    (root / "tools" / "Dockerfile").write_text("FROM chain:base\nCOPY marker /marker\n")
    (root / "tools" / "marker").write_text("tools\n")
    # new inputs for every run: the engine's build cache would otherwise hand back an earlier run's images
    (root / "base" / "run-id").write_text(uuid.uuid4().hex)
    (root / "base" / "Dockerfile").write_text(
        'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n')
    entries = [{"tags": ["tools"], "architectures": ["amd64"], "directory": "tools"},
               {"tags": ["base"], "architectures": ["amd64"], "directory": "base"}]
    registry = "%s-%s.invalid" % (PREFIX, uuid.uuid4().hex[:8])
    yield root, entries, registry
    client = docker.from_env()
    for img in client.images.list():
        for tag in img.tags:
            if tag.startswith(registry):
                client.images.remove(tag)


def _build(root, entries, registry, extra, check=False):
    return run_module("image_build", {
        "arch": "amd64", "registry": registry, "created": "2026-01-01T00:00:00Z",
        "families": [{"repo": "chain", "context_root": str(root), "entries": entries, "extra_context": str(extra)}],
    }, check=check)


def test_chain_builds_parent_first_and_rebuilds_only_on_change(chain, busybox_context):
    root, entries, registry = chain
    check = _build(root, entries, registry, busybox_context, check=True)
    assert [i["status"] for i in check["images"]] == ["would-build", "would-build"]

    first = _build(root, entries, registry, busybox_context)
    assert not first.get("failed"), first
    tools, base = first["images"]
    assert (tools["status"], base["status"]) == ("built", "built")
    client = docker.from_env()
    tools_img = client.images.get(tools["image_id"])
    assert tools_img.labels["org.opencontainers.image.base.name"] == "chain:base"
    assert tools_img.labels["io.buildfarm.input-digest"] == tools["input_digest"]
    assert tools_img.labels["org.opencontainers.image.created"] == "2026-01-01T00:00:00Z"
    # tools was built on top of the base image built in this same call (its layers first; BuildKit's images
    # keep no parent ids in their history)
    base_layers = client.images.get(base["image_id"]).attrs["RootFS"]["Layers"]
    assert tools_img.attrs["RootFS"]["Layers"][:len(base_layers)] == base_layers
    assert tools["parents"] == [{"name": "chain:base", "key": "chain:base", "image_id": base["image_id"], "digest": ""}]
    assert registry + "/amd64/chain:tools" in tools_img.tags

    again = _build(root, entries, registry, busybox_context)
    assert [i["status"] for i in again["images"]] == ["unchanged", "unchanged"] and again["changed"] is False

    # a change in the parent's context rebuilds the parent and, through its new id, the child
    (root / "base" / "note").write_text("changed\n")
    changed = _build(root, entries, registry, busybox_context)
    assert [i["status"] for i in changed["images"]] == ["built", "built"]
    assert changed["images"][0]["image_id"] != tools["image_id"]


def test_failing_smoke_test_is_reported_and_fails_the_task(chain, busybox_context):
    root, entries, registry = chain
    built = _build(root, entries[1:], registry, busybox_context)
    tests = {"chain": {"linux": [
        {"name": "ok", "command": ["echo", "fine"], "stdout": "^fine"},
        {"name": "wrong-output", "command": ["uname", "-m"], "stdout": "^s390x$"},
        {"name": "wrong-exit", "command": "exit 3"},
    ]}}
    res = run_module("image_test", {"images": built["images"], "tests": tests, "arch": "amd64"})
    assert res["failed"] is True and res["failed_entries"] == ["chain:base"]
    reasons = {t["name"]: t["reason"] for t in res["results"][0]["tests"]}
    assert reasons == {"ok": "", "wrong-output": "output does not match '^s390x$'",
                       "wrong-exit": "exit code 3, expected 0"}
    assert "wrong-exit: exit code 3" in res["msg"]


def test_push_to_a_refused_port_fails_at_once_naming_it(chain, busybox_context):
    root, entries, _registry = chain
    dead = "127.0.0.1:1"  # nothing listens there: a refused port is a wrong address, not a transient fault
    built = _build(root, entries[1:], dead, busybox_context)
    res = run_module("image_push", {"images": built["images"], "retries": 3, "fail_on_error": False,
                                    "attestations": False})
    tag = res["images"][0]["tags"][0]
    assert tag["status"] == "failed" and tag["attempts"] == 1
    assert "connection refused" in tag["error"].lower()
    assert res["failed_entries"] == ["chain:base"] and res["digests"] == {}
    docker.from_env().images.remove(dead + "/amd64/chain:base")


def test_a_tag_counts_as_pushed_only_when_the_registry_serves_it(chain, busybox_context, registry):
    root, entries, _name = chain
    built = _build(root, entries[1:], registry.address, busybox_context)
    ref = registry.address + "/amd64/chain:base"
    api = RegistryClient(registry.address)

    first = run_module("image_push", {"images": built["images"], "attestations": False})
    tag = first["images"][0]["tags"][0]
    assert (tag["status"], first["changed"]) == ("pushed", True)
    assert api.head_manifest("amd64/chain", "base").digest == tag["digest"] == first["digests"][ref]

    # the tag serves this image's index: read (the tag, then its image manifest), not pushed
    again = run_module("image_push", {"images": built["images"], "attestations": False})
    assert (again["images"][0]["tags"][0]["status"], again["changed"]) == ("unchanged", False)
    assert again["images"][0]["tags"][0]["attempts"] == 1

    # A fresh registry at the same address: the engine still remembers the push (RepoDigests), the registry
    # does not have the tag, so it is pushed again.
    registry.stop()
    registry.wipe()
    registry.start()
    fresh = run_module("image_push", {"images": built["images"], "attestations": False})
    assert fresh["images"][0]["tags"][0]["status"] == "pushed"
    assert api.head_manifest("amd64/chain", "base").digest == tag["digest"]

    # The registry that is checked is not the one the engine's push reached (here another registry answering for
    # the same name, as a mirror, a proxy or a name resolved elsewhere would): the engine reports a digest, the
    # checked registry does not serve it, so the tag failed; it is not pushed.
    other = Registry(registry.folder.parent / "other-registry", _free_port())
    other.start()
    try:
        pusher = Pusher(client_factory=docker.from_env, registry_for=lambda _host: RegistryClient(other.address),
                        retries=1)
        (result,) = pusher.run([("chain:base", built["images"][0]["image_id"], [ref])])
    finally:
        other.stop()
    assert result.tags[0].status == "failed" and not result.ok
    assert "accepted the push" in result.tags[0].error and "serves nothing" in result.tags[0].error
    assert result.tags[0].digest == ""


def test_an_engine_without_the_images_pulls_them_instead_of_rebuilding(chain, busybox_context, registry):
    """A brand-new builder engine, seen as this engine after the images are removed: the registry has the chain
    with the same build inputs, so it is pulled (parent first, children pinned to the same ids), not rebuilt,
    and nothing is pushed again."""
    root, entries, _name = chain
    first = _build(root, entries, registry.address, busybox_context)
    assert [i["status"] for i in first["images"]] == ["built", "built"]
    pushed = run_module("image_push", {"images": first["images"], "attestations": False})
    assert not pushed.get("failed"), pushed
    client = docker.from_env()
    identities = [engine_store.image_identity(client.images.get(i["image_id"]).attrs) for i in first["images"]]
    for image in first["images"]:  # tools first: it is the child
        client.images.remove(image["image_id"], force=True)

    check = _build(root, entries, registry.address, busybox_context, check=True)
    assert [i["status"] for i in check["images"]] == ["would-build", "would-build"]  # a dry run pulls nothing

    again = _build(root, entries, registry.address, busybox_context)
    assert [i["status"] for i in again["images"]] == ["unchanged", "unchanged"], again
    if ENGINE.ids_are_config_digests:
        # overlay2 (Docker 20.10's and 26's default store): an image id is its config digest, and the registry
        # holds the configs the build made, so the pulled images have the built ids
        assert [i["image_id"] for i in again["images"]] == [i["image_id"] for i in first["images"]]
    else:
        # the containerd store names a pulled image by its index: other ids, the configs the build made
        assert [engine_store.image_identity(client.images.get(i["image_id"]).attrs)
                for i in again["images"]] == identities
    assert [i["pulled"].split("@")[0] for i in again["images"]] == [
        registry.address + "/amd64/chain", registry.address + "/amd64/chain"]
    assert again["changed"] is True  # the engine got the images and their tags
    repush = run_module("image_push", {"images": again["images"], "attestations": False})
    assert repush["changed"] is False
    assert {t["status"] for i in repush["images"] for t in i["tags"]} == {"unchanged"}

    # and a registry that has other inputs under the tag (a changed entry) means a build
    (root / "tools" / "marker").write_text("tools, changed\n")
    client.images.remove(again["images"][0]["image_id"], force=True)
    changed = _build(root, entries, registry.address, busybox_context)
    assert [(i["status"], i["pulled"]) for i in changed["images"]] == [("built", ""), ("unchanged", "")]
