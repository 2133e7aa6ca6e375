"""Issue 10, registry side: published lists never lose an architecture, a second publisher waits or stops, and
every fault ends in a known state within a deadline. Real registries (scripts/registry.sh), faults made by the
fault-injecting proxy of tests/support/fault_proxy.py in front of them."""
from __future__ import annotations

import functools
import json
import shutil
import subprocess
import threading
import time

import pytest
from ansible_collections.buildfarm.images.tests.support.synthetic_images import push_image

from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import (
    PublishError,
    load_entries,
    plan_lists,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_publish import (
    Publisher as AttestedPublisher,
    publish_many,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    Credentials,
    RegistryClient,
    RegistryError,
)
from ansible_collections.buildfarm.images.tests.support.fault_proxy import FaultProxy, Request
from ansible_collections.buildfarm.images.tests.support.run_module import run_module

pytestmark = pytest.mark.integration

# These tests publish bare members (Docker v2 manifests pushed by the engine or synthetic_images.push_image, no
# attestation): the explicit opt-out of the attestation requirement (test_attested_publish.py has the rest).
Publisher = functools.partial(AttestedPublisher, require_attestations=False)
BARE = {"require_attestations": False}

ARCH = {"amd64": ("amd64", ""), "arm64v8": ("arm64", "v8"), "s390x": ("s390x", ""), "ppc64le": ("ppc64le", "")}


def _push(client, repo: str, tag: str, archs, salt: str = "") -> dict[str, str]:
    return {a: push_image(client, "%s/%s" % (a, repo), tag, architecture=ARCH[a][0], variant=ARCH[a][1],
                          content=("%s %s %s" % (a, tag, salt)).encode()) for a in archs}


def _archs(client, ref: str) -> list[str]:
    repo, tag = ref.rsplit(":", 1)
    doc = client.get_manifest(repo, tag).json()
    return [m["platform"]["architecture"] for m in doc["manifests"]]


def _warnings(res: dict) -> list[str]:
    """The warnings' texts (ansible-core 2.19+ reports each as a structured summary)."""
    return [w if isinstance(w, str) else (w.get("event") or {}).get("msg", "") for w in res.get("warnings") or []]


def _module(registry, tmp_path, **args) -> dict:
    base = {"registry": registry.address, "lock_timeout": 0, "retries": 1, **BARE}
    base.update(args)
    return run_module("manifest_list", base)


@pytest.fixture
def proxied(registry):
    proxies = []

    def make(decide=lambda request: "forward") -> FaultProxy:
        proxy = FaultProxy(registry.port, decide)
        proxies.append(proxy)
        return proxy
    yield make
    for proxy in proxies:
        proxy.close()


# -- 1. a list never silently loses an architecture ------------------------------------------------------------

def test_an_architecture_removed_from_the_entries_is_not_dropped_under_fail(registry, tmp_path):
    """As when a builder group leaves the inventory: the plan has fewer architectures than the published list."""
    client = registry.client()
    _push(client, "app", "1", ["amd64", "arm64v8", "s390x"])
    three = [{"tags": ["1", "latest"], "architectures": ["amd64", "arm64v8", "s390x"]}]
    two = [{"tags": ["1", "latest"], "architectures": ["amd64", "arm64v8"]}]
    assert not _module(registry, tmp_path, repository="app", entries=three).get("failed")
    before = client.head_manifest("library/app", "latest").digest

    res = _module(registry, tmp_path, repository="app", entries=two)
    assert res["failed"] and "the list would lose s390x (published with amd64, arm64v8, s390x)" in res["msg"]
    assert "drop_architectures" in res["msg"]
    assert [t["lost_architectures"] for t in res["lists"]] == [["s390x"], ["s390x"]]
    assert client.head_manifest("library/app", "latest").digest == before  # not written

    kept = _module(registry, tmp_path, repository="app", entries=two, missing_architectures="keep-previous")
    assert not kept.get("failed") and [t["action"] for t in kept["lists"]] == ["unchanged", "unchanged"]
    assert client.head_manifest("library/app", "latest").digest == before

    skipped = _module(registry, tmp_path, repository="app", entries=two, missing_architectures="skip")
    assert [t["dropped_architectures"] for t in skipped["lists"]] == [["s390x"], ["s390x"]]
    assert any("no longer lists s390x (missing_architectures: skip)" in w for w in _warnings(skipped))
    assert _archs(client, "library/app:latest") == ["amd64", "arm64"]

    # back to three, then dropped on purpose: the option names it
    assert not _module(registry, tmp_path, repository="app", entries=three).get("failed")
    dropped = _module(registry, tmp_path, repository="app", entries=two, drop_architectures=["s390x"])
    assert not dropped.get("failed") and dropped["lists"][0]["dropped_architectures"] == ["s390x"]
    assert _archs(client, "library/app:1") == ["amd64", "arm64"]


def test_missing_images_with_a_published_list_fail_naming_them(registry, tmp_path):
    client = registry.client()
    _push(client, "gone", "1", ["amd64", "s390x"])
    entries = [{"tags": ["1"], "architectures": ["amd64", "s390x"]}]
    assert not _module(registry, tmp_path, repository="gone", entries=entries).get("failed")
    shutil.rmtree(registry.storage / "registry" / "v2" / "repositories" / "s390x" / "gone" / "_manifests" / "tags")
    res = _module(registry, tmp_path, repository="gone", entries=entries)
    assert res["failed"] and "missing architecture images s390x (s390x/gone:1)" in res["msg"]
    assert _archs(client, "library/gone:1") == ["amd64", "s390x"]


def test_a_member_whose_config_is_another_platform_is_refused(registry, tmp_path):
    """arch_namespaces {amd64: s390x}: the amd64 member would be the s390x image."""
    client = registry.client()
    _push(client, "ns", "1", ["amd64", "s390x"])
    res = _module(registry, tmp_path, repository="ns", entries=[{"tags": ["1"], "architectures": ["amd64"]}],
                  arch_namespaces={"amd64": "s390x"})
    assert res["failed"]
    assert "member s390x/ns:1 (sha256:" in res["msg"] and "is linux/s390x by its image config, not linux/amd64" \
        in res["msg"]
    assert client.head_manifest("library/ns", "1") is None


def test_two_entries_of_one_architecture_under_a_shared_tag_are_refused_before_any_request(registry, tmp_path):
    entries = [{"tags": ["1.0"], "shared_tags": ["1"], "architectures": ["amd64"]},
               {"tags": ["1.1"], "shared_tags": ["1"], "architectures": ["amd64", "s390x"]}]
    res = _module(registry, tmp_path, repository="dup", entries=entries)
    assert res["failed"] and res["msg"] == ("shared tag '1': entries 1.0 and 1.1 both have architecture amd64 "
                                            "(a list has one member per platform)")
    assert "requests" not in res


def test_a_member_deleted_from_the_repository_is_detected_and_copied_back(registry, tmp_path):
    client = registry.client()
    digests = _push(client, "dl", "1", ["amd64", "s390x"])
    _push(client, "dl", "2", ["amd64", "s390x"])
    entries = [{"tags": ["1"], "architectures": ["amd64", "s390x"]},
               {"tags": ["2"], "architectures": ["amd64", "s390x"]}]
    assert not _module(registry, tmp_path, repository="dl", entries=entries).get("failed")
    # delete the member manifest from the target repository (storage delete is off: remove its link)
    revisions = registry.storage / "registry" / "v2" / "repositories" / "library" / "dl" / "_manifests" / "revisions"
    shutil.rmtree(revisions / "sha256" / digests["s390x"].split(":")[1])
    assert client.head_manifest("library/dl", digests["s390x"]) is None

    check = run_module("manifest_list", {**BARE, "registry": registry.address, "repository": "dl", "entries": entries},
                       check=True)
    assert [t["action"] for t in check["lists"]] == ["would-repair", "unchanged"]
    assert client.head_manifest("library/dl", digests["s390x"]) is None

    # one list repaired; in the same run another one changes a member (the old code failed it on every rerun)
    _push(client, "dl", "2", ["amd64"], salt="v2")
    res = _module(registry, tmp_path, repository="dl", entries=entries)
    assert not res.get("failed"), res["msg"]
    assert [t["action"] for t in res["lists"]] == ["repaired", "updated"]
    assert res["lists"][0]["repaired_members"] == [digests["s390x"]]
    assert client.head_manifest("library/dl", digests["s390x"]) is not None
    assert [t["action"] for t in _module(registry, tmp_path, repository="dl", entries=entries)["lists"]] == \
        ["unchanged", "unchanged"]


# -- 2. publishing is safe to run twice at once -----------------------------------------------------------------

def test_three_publishes_of_one_repository_at_once_never_mix(registry, tmp_path):
    client = registry.client()
    tags = ["t%02d" % i for i in range(8)]
    for t in tags:
        _push(client, "cc", t, ["amd64", "arm64v8", "s390x", "ppc64le"])
    four = [{"tags": [t], "architectures": ["amd64", "arm64v8", "s390x", "ppc64le"]} for t in tags]
    three = [{"tags": [t], "architectures": ["amd64", "arm64v8", "s390x"]} for t in tags]
    lock_dir = str(tmp_path / "locks")
    outcomes: list = [None] * 3

    def publish(i: int, entries, timeout: float) -> None:
        c = registry.client()
        try:
            outcomes[i] = Publisher(c, "library", "cc", "fail", 4, drop_architectures=["ppc64le"] if i == 2 else (),
                                    lock_timeout=timeout, lock_dir=lock_dir).publish(plan_lists(
                                        load_entries(entries), "cc"))
        except PublishError as exc:
            outcomes[i] = exc

    # The first holds the lock; the second waits for it; the third does not wait and stops at once.
    threads = [threading.Thread(target=publish, args=(0, four, 0)), threading.Thread(target=publish,
               args=(1, four, 60)), threading.Thread(target=publish, args=(2, three, 0))]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    stopped = [o for o in outcomes if isinstance(o, PublishError)]
    assert stopped and all("another publish of %s/library/cc is running (pid " % registry.address in str(o)
                           for o in stopped)
    assert "nothing was published" in str(stopped[0])
    finished = [o for o in outcomes if isinstance(o, list)]
    assert finished and all(r.action in ("created", "unchanged", "updated") for o in finished for r in o)
    assert {len(_archs(client, "library/cc:%s" % t)) for t in tags} == {4}  # never a mix of 4 and 3

    # the lock is released by a publisher that is done: the three-architecture one now runs (dropping on purpose)
    publish(2, three, 0)
    assert isinstance(outcomes[2], list) and {len(_archs(client, "library/cc:%s" % t)) for t in tags} == {3}


# -- 3. faults end in a known state within a deadline -----------------------------------------------------------

def test_a_registry_that_never_answers_ends_at_the_deadline(registry, proxied, tmp_path):
    client = registry.client()
    _push(client, "hang", "1", ["amd64"])
    proxy = proxied(lambda request: "hang:30")
    start = time.monotonic()
    res = run_module("manifest_list", {**BARE, "registry": proxy.address, "repository": "hang", "deadline": 3,
                                       "timeout": 30, "entries": [{"tags": ["1"], "architectures": ["amd64"]}]})
    assert time.monotonic() - start < 10
    assert res["failed"] and "deadline of 3 s exceeded" in res["msg"]


def test_429_retry_after_is_honoured(registry, proxied, tmp_path):
    client = registry.client()
    _push(client, "ra", "1", ["amd64", "s390x"])
    sent = {"n": 0}

    def decide(request: Request) -> str:
        sent["n"] += 1
        return "status:429:2" if sent["n"] <= 2 else "forward"
    proxy = proxied(decide)
    start = time.monotonic()
    res = run_module("manifest_list", {**BARE, "registry": proxy.address, "repository": "ra", "retries": 2,
                                       "entries": [{"tags": ["1", "latest"], "architectures": ["amd64", "s390x"]}]})
    assert not res.get("failed"), res.get("msg")
    assert time.monotonic() - start >= 4  # two waits of the asked 2 s, not the 0.5 s/1 s backoff
    assert res["retries"] == 2 and proxy.counts["status:429:2"] == 2


def test_a_dead_keep_alive_connection_counts_against_the_retries(registry, proxied):
    client = registry.client()
    _push(client, "ka", "1", ["amd64"])
    puts = []

    def decide(request: Request) -> str:
        if request.method == "PUT" and request.target.endswith("/manifests/1"):
            puts.append(1)
            return "drop"  # every try at the list's PUT dies with its connection
        return "forward"
    proxy = proxied(decide)
    c = RegistryClient(proxy.address, retries=4, backoff_base=0.01)
    results = Publisher(c, "library", "ka", lock_dir="").publish(plan_lists(load_entries(
        [{"tags": ["1"], "architectures": ["amd64"]}]), "ka"))
    assert results[0].action == "failed" and "giving up after 4 retries" in results[0].message
    assert len(puts) == 5  # retries + 1, connection re-sends included (was 6)


def test_tls_errors_bad_ports_and_bad_tags_fail_at_once(registry, tmp_path):
    # a TLS client at a plain-HTTP registry
    res = run_module("manifest_list", {**BARE, "registry": "https://" + registry.address, "repository": "x",
                                       "entries": [{"tags": ["1"], "architectures": ["amd64"]}]})
    assert res["failed"] and "is it an HTTPS port" in res["msg"] and res["retries"] == 0
    # a port nothing listens on
    with subprocess.Popen(["true"]):
        pass
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = run_module("manifest_list", {**BARE, "registry": "127.0.0.1:%d" % port, "repository": "x",
                                       "entries": [{"tags": ["1"], "architectures": ["amd64"]}]})
    assert res["failed"] and "refused (Connection refused): nothing listens there" in res["msg"] and res["retries"] == 0
    # a tag outside the grammar: refused before any request
    res = run_module("manifest_list", {**BARE, "registry": registry.address, "repository": "x",
                                       "entries": [{"tags": ["\u6f22\u5b57"], "architectures": ["amd64"]}]})
    assert res["failed"] and "entries[0]: field tags: not a valid tag" in res["msg"] and "requests" not in res


def test_a_registry_certificate_not_trusted_fails_at_once_naming_ca_path(tmp_path):
    from conftest import _free_port

    from ansible_collections.buildfarm.images.tests.support.registry import ThrowAwayRegistry

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True)
    reg = ThrowAwayRegistry(tmp_path / "reg", _free_port(), tls=(str(cert), str(key)))
    reg.start()
    try:
        res = run_module("registry_image_info", {"registry": "https://" + reg.address,
                                                 "references": ["library/x:1"]})
        assert res["failed"] and "TLS certificate of %s not trusted" % reg.address in res["msg"]
        assert "ca_path" in res["msg"] and res["retries"] == 0
        unverified = run_module("registry_image_info", {"registry": "https://" + reg.address, "validate_certs": False,
                                                        "references": ["library/x:1"]})
        assert unverified["images"][0]["exists"] is False
        assert any("not verified" in w for w in _warnings(unverified))
        trusted = run_module("registry_image_info", {"registry": reg.address, "ca_path": str(cert),
                                                     "references": ["library/x:1"]})
        assert trusted["images"][0]["exists"] is False
        missing = run_module("registry_image_info", {"registry": reg.address, "ca_cert": str(tmp_path / "nope.crt"),
                                                     "references": ["library/x:1"]})
        assert missing["failed"] and "field ca_path: no such file %s" % (tmp_path / "nope.crt") in missing["msg"]
    finally:
        reg.stop()


# -- 4. credentials only where they are safe --------------------------------------------------------------------

def test_credentials_in_the_registry_address_are_refused_without_repeating_them(auth_registry):
    res = run_module("manifest_list", {**BARE, "registry": "http://farm:%s@%s" % (auth_registry.password,
                                                                                  auth_registry.address),
                                       "repository": "x", "entries": [{"tags": ["1"], "architectures": ["amd64"]}]})
    assert res["failed"] and "carries credentials" in res["msg"]
    assert auth_registry.password not in json.dumps({k: v for k, v in res.items() if k != "invocation"})


def test_plain_http_credentials_off_loopback_need_the_opt_in(registry):
    # the registry is reached by a non-loopback name of this machine: plain HTTP, credentials given
    args = {"registry": "http://%s:%d" % (_non_loopback_ip(), registry.port), "username": "farm",
            "password": "pw", "references": ["library/x:1"]}
    res = run_module("registry_image_info", args)
    assert res["failed"] and "refusing to send the credentials of user farm" in res["msg"]
    assert "plain_http_credentials: true" in res["msg"]


def _non_loopback_ip() -> str:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            return s.getsockname()[0]
        except OSError:
            pytest.skip("no non-loopback address")


# -- the hostile inputs of the table (registry side) ----------------------------------------------------

HOSTILE = [
    ({"tags": ["../../../v2/_catalog"]}, "field tags: not a valid tag"),
    ({"tags": ["x" * 200]}, "field tags: not a valid tag"),
    ({"tags": ["\u6f22\u5b57"]}, "field tags: not a valid tag"),
    ({"tags": ["-dash"]}, "field tags: not a valid tag"),
    ({"tags": ["ok"], "shared_tags": ["bad tag"]}, "field shared_tags: not a valid tag"),
    ({"tags": ["ok"], "architectures": ["amd64", "amd64"]}, "field architectures: architecture listed twice"),
    ({"tags": ["ok"], "architectures": ["sparc"]}, "field architectures: unknown architecture"),
    ({"repository": "Upper"}, "field repository: not a valid repository path"),
    ({"repository": "a/../b"}, "field repository: not a valid repository path"),
    ({"namespace": "lib rary"}, "not a valid repository path"),
    ({"arch_namespaces": {"amd64": "../x"}}, "field arch_namespaces.amd64: not a valid repository path"),
    ({"arch_namespaces": {"sparc": "x"}}, "arch_namespaces: unknown architecture 'sparc'"),
    ({"drop_architectures": ["sparc"]}, "drop_architectures: unknown architecture 'sparc'"),
    ({"retries": -1}, "field retries: must be 0 or more (value: -1)"),
    ({"timeout": 0}, "field timeout: must be more than 0"),
    ({"deadline": -5}, "field deadline: must be more than 0"),
    ({"registry": "ftp://127.0.0.1:1"}, "unsupported scheme"),
    ({"registry": "127.0.0.1:1/v2"}, "without a path"),
    ({"registry": "https://127.0.0.1:1", "plain_http": True}, "contradicts the https://"),
    ({"ca_path": "/nonexistent/ca.pem"}, "field ca_path: no such file /nonexistent/ca.pem"),
    ({"annotations": {"a": 1}}, "annotations: value of a must be a string"),
]


@pytest.mark.parametrize("change, message", HOSTILE, ids=[m[:40] for _c, m in HOSTILE])
def test_hostile_inputs_get_their_own_error_before_any_request(change, message, proxied):
    proxy = proxied()
    entry = {"tags": ["1"], "architectures": ["amd64"]}
    entry.update({k: v for k, v in change.items() if k in ("tags", "shared_tags", "architectures")})
    args = {"registry": proxy.address, "repository": "app", "entries": [entry], **BARE}
    args.update({k: v for k, v in change.items() if k not in ("tags", "shared_tags", "architectures")})
    res = run_module("manifest_list", args)
    assert res.get("failed") and message in res["msg"], res.get("msg")
    assert "Traceback" not in res["msg"] and proxy.log == []  # nothing sent


def test_batch_form_publishes_every_repository_with_results_per_repository(registry, tmp_path):
    client = registry.client()
    _push(client, "one", "1", ["amd64"])
    _push(client, "two", "2", ["amd64", "s390x"])
    res = _module(registry, tmp_path, repositories=[
        {"repository": "one", "entries": [{"tags": ["1", "latest"], "architectures": ["amd64"]}]},
        {"repository": "two", "entries": [{"tags": ["2"], "architectures": ["amd64", "s390x"]}]}])
    assert not res.get("failed"), res.get("msg")
    assert [(r["repository"], r["published"]) for r in res["repositories"]] == [
        ("library/one", ["1", "latest"]), ("library/two", ["2"])]
    assert res["published"] == ["one:1", "one:latest", "two:2"] and len(res["lists"]) == 3
    again = _module(registry, tmp_path, repositories=[
        {"repository": "one", "entries": [{"tags": ["1", "latest"], "architectures": ["amd64"]}]},
        {"repository": "two", "entries": [{"tags": ["2"], "architectures": ["amd64"]}]}])
    assert again["failed"] and "library/two:2: not published: the list would lose s390x" in again["msg"]
    bad = _module(registry, tmp_path, repositories=[{"repository": "one"}])
    assert bad["failed"] and "repositories[0]: exactly one of entries and library_file is required" in bad["msg"]


def test_publish_many_shares_one_pool_across_repositories(registry):
    client = registry.client()
    for repo in ("r1", "r2", "r3"):
        _push(client, repo, "1", ["amd64"])
    jobs = [(Publisher(client, "library", repo), plan_lists(load_entries([{"tags": ["1"], "architectures": ["amd64"]}]),
                                                            repo)) for repo in ("r1", "r2", "r3")]
    results = publish_many(jobs, 4)
    assert [[r.action for r in rs] for rs in results] == [["created"]] * 3


def test_registry_error_is_a_buildfarm_error():
    from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
    assert issubclass(RegistryError, BuildfarmError) and issubclass(PublishError, BuildfarmError)
    assert Credentials("a", "b").username == "a"
