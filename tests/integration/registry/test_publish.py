"""Publishing manifest lists into a real registry (docker-registry started by scripts/registry.sh)."""
from __future__ import annotations

import functools
import base64
import json
import subprocess

import pytest
from ansible_collections.buildfarm.images.tests.support.synthetic_images import push_image

from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_members import (
    ARCH_ANNOTATION,
    VERSION_ANNOTATION,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import (
    load_entries,
    plan_lists,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_publish import (
    Publisher as AttestedPublisher,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    Credentials,
    RegistryError,
)

pytestmark = pytest.mark.integration

# These tests publish bare members (Docker v2 manifests pushed by the engine or synthetic_images.push_image, no
# attestation): the explicit opt-out of the attestation requirement (test_attested_publish.py has the rest).
Publisher = functools.partial(AttestedPublisher, require_attestations=False)
BARE = {"require_attestations": False}

LINUX = {"amd64": ("amd64", ""), "arm64v8": ("arm64", "v8"), "s390x": ("s390x", ""), "ppc64le": ("ppc64le", "")}


def _push_linux(client, repo: str, tag: str, archs, salt: str = "") -> dict[str, str]:
    return {a: push_image(client, "%s/%s" % (a, repo), tag, architecture=LINUX[a][0], variant=LINUX[a][1],
                          content=("%s %s %s" % (a, tag, salt)).encode()) for a in archs}


def _platforms(client, ref: str) -> list[str]:
    repo, tag = ref.rsplit(":", 1)
    doc = client.get_manifest(repo, tag).json()
    return ["/".join(x for x in (m["platform"]["os"], m["platform"]["architecture"], m["platform"].get("variant", ""))
                     if x) for m in doc["manifests"]]


def test_busybox_release_published_and_runs_under_qemu(registry, busybox_images, run_playbook):
    """Real per-architecture images, lists published by the module through ansible-playbook, run on arm64."""
    repo = "h3busybox"
    busybox_images.push(registry, repo, {a: "1.35.0" for a in busybox_images.architectures})
    task = {"name": "Publish", "register": "publish", "buildfarm.images.manifest_list": {
        **BARE, "registry": registry.address, "repository": repo,
        "entries": [{"tags": ["1.35.0", "1.35", "1", "latest"], "shared_tags": ["stable"],
                     "architectures": ["s390x", "arm64v8", "amd64"]}]}}
    info = {"name": "Inspect", "register": "info", "buildfarm.images.registry_image_info": {
        "registry": registry.address, "references": ["library/%s:latest" % repo, "s390x/%s:1.35.0" % repo,
                                                     "library/%s:nope" % repo]}}
    rc, out, res = run_playbook([task, info])
    assert rc == 0, out
    assert res["publish"]["changed"] is True
    assert [t["tag"] for t in res["publish"]["lists"]] == ["1.35.0", "1.35", "1", "latest", "stable"]
    assert {t["action"] for t in res["publish"]["lists"]} == {"created"}
    client = registry.client()
    assert _platforms(client, "library/%s:latest" % repo) == ["linux/amd64", "linux/arm64/v8", "linux/s390x"]
    assert client.get_manifest("library/" + repo, "stable").media_type == DOCKER_LIST
    latest, s390x, nope = res["info"]["images"]
    assert [p["platform"] for p in latest["platforms"]] == ["linux/amd64", "linux/arm64/v8", "linux/s390x"]
    assert (s390x["os"], s390x["architecture"]) == ("linux", "s390x")
    assert nope["exists"] is False

    ref = "%s/library/%s:latest" % (registry.address, repo)
    try:
        run = subprocess.run(["docker", "run", "--rm", "--pull", "always", "--platform", "linux/arm64", ref,
                              "uname", "-m"], capture_output=True, text=True, timeout=300, check=False)
        assert run.stdout.strip() == "aarch64", run.stderr
    finally:
        subprocess.run(["docker", "rmi", "-f", ref], capture_output=True, check=False)

    rc, out, res = run_playbook([task])
    assert rc == 0, out
    assert res["publish"]["changed"] is False
    assert {t["action"] for t in res["publish"]["lists"]} == {"unchanged"}


def test_check_mode_and_diff_report_member_changes_without_writing(registry, run_playbook):
    client = registry.client()
    _push_linux(client, "tool", "1.0", ["amd64", "arm64v8"])
    entries = [{"tags": ["1.0", "latest"], "architectures": ["amd64", "arm64v8"]}]
    Publisher(client, "library", "tool").publish(plan_lists(load_entries(entries), "tool"))
    before = client.head_manifest("library/tool", "latest").digest
    new = _push_linux(client, "tool", "1.0", ["arm64v8"], salt="rebuilt")

    task = {"name": "Publish", "register": "publish", "buildfarm.images.manifest_list": {
        **BARE, "registry": registry.address, "repository": "tool", "entries": entries}}
    rc, out, res = run_playbook([task], "--diff", check=True)
    assert rc == 0, out
    assert res["publish"]["changed"] is True
    assert [(t["tag"], t["action"]) for t in res["publish"]["lists"]] == [("1.0", "would-update"),
                                                                          ("latest", "would-update")]
    assert new["arm64v8"] in out and "+linux/arm64/v8" in out.replace(" ", "").replace("-\n", "")
    assert client.head_manifest("library/tool", "latest").digest == before  # nothing written
    latest = res["publish"]["lists"][1]
    before_arm = [m["digest"] for m in latest["previous_members"] if m["architecture"] == "arm64v8"]
    after_arm = [m["digest"] for m in latest["members"] if m["architecture"] == "arm64v8"]
    assert before_arm != after_arm == [new["arm64v8"]]

    rc, out, res = run_playbook([task])
    assert rc == 0 and res["publish"]["changed"] is True
    assert [(t["action"], t["previous_digest"]) for t in res["publish"]["lists"]][1] == ("updated", before)


def test_windows_members_carry_os_version_newest_first(registry):
    """No Windows host here: the Windows images are pushed through the registry API with a Windows config."""
    client = registry.client()
    _push_linux(client, "app", "1-linux", ["amd64"])
    push_image(client, "winamd64/app", "1-ltsc2019", os="windows", os_version="10.0.17763.6189", content=b"2019")
    push_image(client, "winamd64/app", "1-ltsc2022", os="windows", os_version="10.0.20348.2655",
               os_features=("win32k",), content=b"2022")
    entries = load_entries([
        {"tags": ["1-ltsc2019"], "shared_tags": ["1"], "architectures": ["windows-amd64"]},
        {"tags": ["1-linux"], "shared_tags": ["1"], "architectures": ["amd64"]},
        {"tags": ["1-ltsc2022"], "shared_tags": ["1"], "architectures": ["windows-amd64"]},
    ])
    results = Publisher(client, "library", "app").publish(plan_lists(entries, "app"))
    assert {r.tag: r.action for r in results} == dict.fromkeys(
        ["1-ltsc2019", "1-linux", "1-ltsc2022", "1"], "created")
    manifests = client.get_manifest("library/app", "1").json()["manifests"]
    assert [(m["platform"]["os"], m["platform"].get("os.version")) for m in manifests] == [
        ("linux", None), ("windows", "10.0.20348.2655"), ("windows", "10.0.17763.6189")]
    assert manifests[1]["platform"]["os.features"] == ["win32k"]


def _missing_setup(client):
    """`latest` published with amd64+arm64v8; the next release (2.0) has a new amd64 image, no arm64v8."""
    old = _push_linux(client, "svc", "1.0", ["amd64", "arm64v8"])
    Publisher(client, "library", "svc").publish(
        plan_lists(load_entries([{"tags": ["1.0", "latest"], "architectures": ["amd64", "arm64v8"]}]), "svc"))
    new = _push_linux(client, "svc", "2.0", ["amd64"])
    entries = load_entries([{"tags": ["2.0", "latest"], "architectures": ["amd64", "arm64v8"]}])
    return old, new, plan_lists(entries, "svc")


def _members(client, tag):
    return [(m["platform"]["architecture"], m["digest"]) for m in client.get_manifest("library/svc", tag).json()[
        "manifests"]]


def test_missing_member_fail_policy_publishes_nothing_for_the_tag(registry, run_playbook):
    client = registry.client()
    _missing_setup(client)
    before = client.head_manifest("library/svc", "latest").digest
    task = {"name": "Publish", "register": "publish", "ignore_errors": True, "buildfarm.images.manifest_list": {
        **BARE, "registry": registry.address, "repository": "svc",
        "entries": [{"tags": ["2.0", "latest"], "architectures": ["amd64", "arm64v8"]}]}}
    rc, out, res = run_playbook([task])
    assert res["publish"]["failed"] is True
    assert "arm64v8 (arm64v8/svc:2.0)" in res["publish"]["msg"]
    assert {t["action"] for t in res["publish"]["lists"]} == {"failed"}
    assert client.head_manifest("library/svc", "latest").digest == before
    assert client.head_manifest("library/svc", "2.0") is None


def test_missing_member_skip_policy_publishes_without_and_warns(registry):
    client = registry.client()
    new, specs = _missing_setup(client)[1:]
    publisher = Publisher(client, "library", "svc", policy="skip")
    results = publisher.publish(specs)
    assert [r.action for r in results] == ["created", "updated"]
    assert _members(client, "latest") == [("amd64", new["amd64"])]
    assert any("latest published without arm64v8" in w for w in publisher.warnings)


def test_missing_member_keep_previous_carries_the_published_digest(registry):
    client = registry.client()
    old, new, specs = _missing_setup(client)
    publisher = Publisher(client, "library", "svc", policy="keep-previous")
    results = {r.tag: r for r in publisher.publish(specs)}
    assert results["latest"].carried == ["arm64v8"]
    assert _members(client, "latest") == [("amd64", new["amd64"]), ("arm64", old["arm64v8"])]
    # 2.0 never had arm64v8: nothing to carry, published without it, loudly
    assert _members(client, "2.0") == [("amd64", new["amd64"])]
    assert any("2.0 published without arm64v8" in w for w in publisher.warnings)


def test_registry_stopped_mid_publish_leaves_each_tag_old_or_new(registry):
    client = registry.client(retries=2, backoff_base=0.05)
    tags = ["t%02d" % i for i in range(12)]
    entries = [{"tags": [t], "architectures": ["amd64", "s390x"]} for t in tags]
    for t in tags:
        _push_linux(client, "db", t, ["amd64", "s390x"])
    specs = plan_lists(load_entries(entries), "db")
    Publisher(client, "library", "db").publish(specs)
    old = {t: client.head_manifest("library/db", t).digest for t in tags}
    for t in tags:
        _push_linux(client, "db", t, ["amd64"], salt="v2")

    puts = []
    real_put = client.put_manifest

    def put_then_stop(repository, reference, data, media_type):
        digest = real_put(repository, reference, data, media_type)
        if reference in tags:
            puts.append(reference)
            if len(puts) == 5:
                registry.stop()  # the registry really goes away in the middle of the publish
        return digest

    client.put_manifest = put_then_stop
    results = Publisher(client, "library", "db", concurrency=1).publish(specs)
    failed = [r for r in results if r.action == "failed"]
    assert len(puts) == 5 and len(failed) == len(tags) - 5
    assert "registry %s, repository library/db, reference %s" % (registry.address, failed[0].tag) in failed[0].message
    # A refused connection is not transient: each tag fails at once, saying what to fix, without retries.
    assert "refused (Connection refused): nothing listens there" in failed[0].message
    assert client.retry_count == 0

    registry.start()
    fresh = registry.client()
    now = {t: fresh.head_manifest("library/db", t).digest for t in tags}
    desired = {r.tag: r.digest for r in results}
    assert all(now[t] in (old[t], desired[t]) for t in tags)
    assert sum(now[t] == desired[t] for t in tags) == 5

    rerun = Publisher(fresh, "library", "db").publish(specs)
    assert sorted(r.action for r in rerun) == ["unchanged"] * 5 + ["updated"] * (len(tags) - 5)
    assert {t: fresh.head_manifest("library/db", t).digest for t in tags} == desired


def test_members_sharing_a_layer_mount_it_once_and_every_list_publishes(registry):
    """Members with a common layer (a shared base image): the layer is mounted once, and the member that did
    not mount it waits for that mount before its manifest PUT, which the registry refuses until then."""
    client = registry.client()
    for a in ("amd64", "s390x"):
        push_image(client, "%s/base" % a, "1", architecture=LINUX[a][0], content=b"the same layer\n")
    fresh = registry.client()
    specs = plan_lists(load_entries([{"tags": ["1", "latest"], "architectures": ["amd64", "s390x"]}]), "base")
    assert [r.action for r in Publisher(fresh, "library", "base", concurrency=8).publish(specs)] == ["created"] * 2
    # HEAD of the first tag + tags/list (a new repository: no HEAD of the other tag), 2 member GETs (no HEAD
    # first), 2 config GETs (each member's platform checked), no member HEAD in the target (a repository that
    # did not exist holds nothing: copied at once), 3 mounts (2 configs, the shared layer once), 2 member PUTs,
    # 2 list PUTs
    assert fresh.request_count == 13
    assert _platforms(fresh, "library/base:latest") == ["linux/amd64", "linux/s390x"]


def test_list_tags_and_absent_repositories(registry):
    client = registry.client()
    _push_linux(client, "listed", "1", ["amd64"])
    client.put_manifest("amd64/listed", "2", client.get_manifest("amd64/listed", "1").data, DOCKER_MANIFEST)
    assert sorted(client.list_tags("amd64/listed")) == ["1", "2"]
    assert client.list_tags("amd64/nothing-here") is None


def test_401_without_credentials_names_registry_and_repository(auth_registry, run_playbook, tmp_path):
    creds = Credentials("farm", auth_registry.password)
    _push_linux(auth_registry.client(creds), "sec", "1", ["amd64"])
    publish = {"tags": ["1"], "architectures": ["amd64"]}
    anonymous = {"name": "Publish without credentials", "register": "anon", "ignore_errors": True,
                 "buildfarm.images.manifest_list": {**BARE, "registry": auth_registry.address, "repository": "sec",
                                                    "entries": [publish]}}
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {auth_registry.address: {
        "auth": base64.b64encode(("farm:" + auth_registry.password).encode()).decode()}}}))
    from_config = {"name": "Publish with a docker config", "register": "cfg", "buildfarm.images.manifest_list": {
        **BARE, "registry": auth_registry.address, "repository": "sec", "entries": [publish],
        "docker_config": str(config)}}
    rc, out, res = run_playbook([anonymous, from_config])
    assert res["anon"]["failed"] is True
    msg = res["anon"]["msg"]
    # The publish first asks whether the target tag exists, so the refused request is on library/sec.
    assert "registry %s" % auth_registry.address in msg and "repository library/sec" in msg and "401" in msg
    assert res["cfg"]["changed"] is True, out

    with pytest.raises(RegistryError, match="credentials were refused"):
        auth_registry.client(Credentials("farm", "wrong")).ping()


def test_password_never_in_verbose_output(auth_registry, run_playbook, tmp_path):
    creds = Credentials("farm", auth_registry.password)
    _push_linux(auth_registry.client(creds), "pw", "1", ["amd64", "s390x"])
    log = tmp_path / "ansible.log"
    base = {"registry": auth_registry.address, "repository": "pw", "username": "farm",
            "password": auth_registry.password}
    tasks = [
        {"name": "Publish", "register": "ok", "buildfarm.images.manifest_list": dict(
            base, **BARE, entries=[{"tags": ["1"], "architectures": ["amd64", "s390x"]}])},
        {"name": "Publish with a missing member", "register": "bad", "ignore_errors": True,
         "buildfarm.images.manifest_list": dict(base, **BARE, entries=[{"tags": ["1"], "architectures": ["arm64v8"]}])},
        {"name": "Inspect", "register": "info", "buildfarm.images.registry_image_info": {
            "registry": auth_registry.address, "username": "farm", "password": auth_registry.password,
            "references": ["library/pw:1"]}},
    ]
    import os
    os.environ["ANSIBLE_LOG_PATH"] = str(log)
    try:
        rc, out, res = run_playbook(tasks, "-vvv")
    finally:
        del os.environ["ANSIBLE_LOG_PATH"]
    assert res["ok"]["changed"] is True and res["bad"]["failed"] is True, out
    assert res["info"]["images"][0]["exists"] is True
    assert "farm" in out  # the output is there and verbose: the user name shows, the password does not
    assert auth_registry.password not in out
    assert auth_registry.password not in log.read_text()
    assert auth_registry.password not in json.dumps(res)


LIBRARY = """Maintainers: Someone <someone@example.org> (@someone)
GitRepo: https://github.com/example/lib.git

Tags: 2.1.0-glibc, 2.1-glibc
SharedTags: 2.1.0, 2.1, latest
Architectures: amd64, arm64v8
GitCommit: 0123456789abcdef0123456789abcdef01234567
Directory: 2.1/glibc

Tags: 2.1.0-musl, 2.1-musl
Architectures: s390x
SharedTags: 2.1.0, 2.1, latest
GitCommit: 0123456789abcdef0123456789abcdef01234567
Directory: 2.1/musl
"""


def test_publish_from_a_library_file(registry, run_playbook, tmp_path):
    client = registry.client()
    _push_linux(client, "lib", "2.1.0-glibc", ["amd64", "arm64v8"])
    _push_linux(client, "lib", "2.1.0-musl", ["s390x"])
    library = tmp_path / "lib"
    library.write_text(LIBRARY)
    task = {"name": "Publish", "register": "publish", "buildfarm.images.manifest_list": {
        **BARE, "registry": registry.address, "repository": "lib", "library_file": str(library)}}
    rc, out, res = run_playbook([task])
    assert rc == 0, out
    assert [t["tag"] for t in res["publish"]["lists"]] == [
        "2.1.0-glibc", "2.1-glibc", "2.1.0-musl", "2.1-musl", "2.1.0", "2.1", "latest"]
    assert _platforms(client, "library/lib:latest") == ["linux/amd64", "linux/arm64/v8", "linux/s390x"]
    assert _platforms(client, "library/lib:2.1-musl") == ["linux/s390x"]


def test_member_pushed_as_an_index_contributes_its_architecture_image(registry):
    """BuildKit pushes an index (image + attestation) per architecture: the list takes the image out of it."""
    client = registry.client()
    amd = _push_linux(client, "kit", "1", ["amd64"])["amd64"]
    arm = push_image(client, "arm64v8/kit", "1-image", architecture="arm64", variant="v8", content=b"arm")
    att = push_image(client, "arm64v8/kit", "1-att", os="unknown", architecture="unknown", content=b"att")
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": d.media_type, "digest": d.digest, "size": d.size, "platform": p} for d, p in (
            (client.head_manifest("arm64v8/kit", arm), {"os": "linux", "architecture": "arm64", "variant": "v8"}),
            (client.head_manifest("arm64v8/kit", att), {"os": "unknown", "architecture": "unknown"}))]}).encode()
    client.put_manifest("arm64v8/kit", "1", index, OCI_INDEX)
    entries = load_entries([{"tags": ["1"], "architectures": ["amd64", "arm64v8"]}])
    assert [r.action for r in Publisher(client, "library", "kit").publish(plan_lists(entries, "kit"))] == ["created"]
    assert [m["digest"] for m in client.get_manifest("library/kit", "1").json()["manifests"]] == [amd, arm]


def test_annotated_oci_index_published_idempotent_and_diffed(registry, run_playbook):
    client = registry.client()
    digests = _push_linux(client, "notes", "2.1", ["amd64", "s390x"])
    entries = [{"tags": ["2.1", "2"], "architectures": ["amd64", "s390x"]}]
    source = "org.opencontainers.image.source"
    task = {"name": "Publish", "register": "publish", "buildfarm.images.manifest_list": {
        **BARE, "registry": registry.address, "repository": "notes", "entries": entries, "member_annotations": True,
        "annotations": {source: "https://example.org/notes.git"}}}
    rc, out, res = run_playbook([task])
    assert rc == 0, out
    assert [t["action"] for t in res["publish"]["lists"]] == ["created", "created"]
    index = client.get_manifest("library/notes", "2")
    assert index.media_type == OCI_INDEX
    doc = index.json()
    assert doc["annotations"] == {source: "https://example.org/notes.git"}
    assert [(m["digest"], m["annotations"]) for m in doc["manifests"]] == [
        (digests[a], {ARCH_ANNOTATION: a, VERSION_ANNOTATION: "2.1"}) for a in ("amd64", "s390x")]

    rc, out, res = run_playbook([task])
    assert rc == 0 and res["publish"]["changed"] is False, out

    task["buildfarm.images.manifest_list"]["annotations"] = {source: "https://example.org/moved.git"}
    rc, out, res = run_playbook([task], "--diff", check=True)
    assert rc == 0 and [t["action"] for t in res["publish"]["lists"]] == ["would-update"] * 2, out
    assert "annotation %s=https://example.org/moved.git" % source in out
    assert client.get_manifest("library/notes", "2").json()["annotations"][source].endswith("/notes.git")

    task["buildfarm.images.manifest_list"]["annotations"] = {source: 1}
    rc, out, res = run_playbook([dict(task, ignore_errors=True)])
    assert res["publish"]["failed"] is True
    assert "annotations: value of %s must be a string, got 1" % source in res["publish"]["msg"]


def test_a_member_that_cannot_be_resolved_fails_its_tags_only(registry):
    """An arch image that is an index without that architecture fails the tags that list it, with the
    reason; the other tags of the same publish are published."""
    client = registry.client()
    _push_linux(client, "part", "ok", ["amd64"])
    _push_linux(client, "part", "bad", ["amd64"])
    s390x = push_image(client, "s390x/part", "bad-image", architecture="s390x", content=b"s390x")
    wrong = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{
        "mediaType": DOCKER_MANIFEST, "digest": s390x, "size": client.head_manifest("s390x/part", s390x).size,
        "platform": {"os": "linux", "architecture": "ppc64le"}}]}).encode()
    client.put_manifest("s390x/part", "bad", wrong, OCI_INDEX)
    entries = [{"tags": ["ok"], "architectures": ["amd64"]}, {"tags": ["bad"], "architectures": ["amd64", "s390x"]}]
    specs = plan_lists(load_entries(entries), "part")
    results = {r.tag: r for r in Publisher(client, "library", "part").publish(specs)}
    assert results["ok"].action == "created" and client.head_manifest("library/part", "ok") is not None
    assert results["bad"].action == "failed"
    assert "index has no linux/s390x image" in results["bad"].message
    assert "repository s390x/part, reference bad" in results["bad"].message
    assert client.head_manifest("library/part", "bad") is None
