"""Bearer-token auth against a real registry: docker-registry 2.8 with `auth: token`, trusting the token
service of tests/support/token_server.py (JWTs signed RS256 with an x5c certificate), as Docker Hub, Harbor or
GitLab registries work.

Policy: `builder` pushes the architecture images (pull+push on */*); `farm`, the publisher, may only pull
them and push into library/*; anonymous may pull.
"""
from __future__ import annotations

import functools
import base64
import collections
import concurrent.futures
import json
import os
import ipaddress
import socket
import urllib.error
import urllib.request

import pytest
from ansible_collections.buildfarm.images.tests.support.synthetic_images import push_image

from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import (
    load_entries,
    plan_lists,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_publish import (
    Publisher as AttestedPublisher,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    Credentials,
    RegistryClient,
    RegistryError,
)
from conftest import _free_port
from ansible_collections.buildfarm.images.tests.support.registry import ThrowAwayRegistry
from ansible_collections.buildfarm.images.tests.support.token_server import Rule, TokenServer, registry_tls

pytestmark = pytest.mark.integration

# These tests publish bare members (Docker v2 manifests pushed by the engine or synthetic_images.push_image, no
# attestation): the explicit opt-out of the attestation requirement (test_attested_publish.py has the rest).
Publisher = functools.partial(AttestedPublisher, require_attestations=False)
BARE = {"require_attestations": False}

ARCHS = {"amd64": ("amd64", ""), "arm64v8": ("arm64", "v8"), "s390x": ("s390x", "")}
ENTRY = {"tags": ["1.0", "1", "latest"], "architectures": list(ARCHS)}


@pytest.fixture
def tokens(tmp_path):
    passwords = {"builder": "b-%s" % os.urandom(6).hex(), "farm": "f-%s" % os.urandom(6).hex()}
    pull, push = frozenset({"pull"}), frozenset({"pull", "push"})
    policy = {"builder": [Rule("*/*", push)], "farm": [Rule("*/*", pull), Rule("library/*", push)],
              "": [Rule("*/*", pull)]}
    with TokenServer(tmp_path / "token", passwords, policy) as server:
        yield server


@pytest.fixture
def token_registry(tmp_path, tokens):
    reg = ThrowAwayRegistry(tmp_path / "token-registry", _free_port(), env=tokens.registry_env())
    reg.start()
    yield reg
    reg.stop()


def _creds(tokens, user: str) -> Credentials:
    return Credentials(user, tokens.users[user])


def _push_members(client: RegistryClient, repo: str, tag: str) -> dict[str, str]:
    return {a: push_image(client, "%s/%s" % (a, repo), tag, architecture=arch, variant=variant,
                          content=("%s %s" % (a, tag)).encode()) for a, (arch, variant) in ARCHS.items()}


def _api_requests(client: RegistryClient, tokens: TokenServer, user: str) -> int:
    """The client counts every HTTP request it makes, its token requests included."""
    return client.request_count - len(tokens.token_requests(user))


def test_registry_wants_tokens_and_the_client_pings_pushes_and_pulls(token_registry, tokens):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen("http://%s/v2/amd64/tok/tags/list" % token_registry.address, timeout=10)
    assert refused.value.code == 401
    assert refused.value.headers["WWW-Authenticate"] == (
        'Bearer realm="%s",service="%s",scope="repository:amd64/tok:pull"' % (tokens.realm, tokens.service))

    builder = token_registry.client(_creds(tokens, "builder"))
    assert builder.ping() is True
    digest = _push_members(builder, "tok", "1")["amd64"]
    asked = [r.scopes for r in tokens.token_requests("builder")]
    # The ping's token has no scope; each repository's scope is asked once, then the token is reused.
    assert asked[0] == ()
    assert collections.Counter(asked).most_common(1)[0][1] == 1
    assert ("repository:amd64/tok:pull,push",) in asked
    assert len(asked) <= 2 * len(ARCHS) + 1 < _api_requests(builder, tokens, "builder") / 2

    # Threads asking for a new scope at once: one token request, shared.
    anonymous = token_registry.client()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda _i: anonymous.head_manifest("amd64/tok", "1"), range(16)))
    assert {d.digest for d in found} == {digest}
    assert [r.scopes for r in tokens.token_requests("")] == [("repository:amd64/tok:pull",)]


def test_a_refused_token_is_replaced(token_registry, tokens):
    """The registry stops trusting the cached token (the token service's key rotated, as when a token expired):
    the next request is refused once, and the client asks for a new token for that scope and goes on."""
    builder = token_registry.client(_creds(tokens, "builder"))
    digest = push_image(builder, "amd64/rot", "1")
    tokens.rotate_key()
    token_registry.stop()
    token_registry.start()
    before = len(tokens.requests)
    assert builder.head_manifest("amd64/rot", "1").digest == digest
    assert [r.scopes for r in tokens.requests[before:]] == [("repository:amd64/rot:pull",)]
    push_image(builder, "amd64/rot", "2", content=b"after the rotation")
    assert [r.scopes for r in tokens.requests[before + 1:]] == [("repository:amd64/rot:pull,push",)]


def _publish(registry, creds: Credentials | None, repo: str, concurrency: int = 8):
    client = registry.client(creds)
    specs = plan_lists(load_entries([ENTRY]), repo)
    return client, Publisher(client, "library", repo, concurrency=concurrency).publish(specs)


def test_publish_with_tokens_mounts_from_arch_repositories(token_registry, tokens, registry):
    """The publisher may only pull the arch repositories: the members' blobs are mounted into library/app with
    one token for (library/app push, arch repository pull), asked as two `scope` parameters."""
    members = _push_members(token_registry.client(_creds(tokens, "builder")), "app", "1.0")
    farm, results = _publish(token_registry, _creds(tokens, "farm"), "app")
    api_requests = _api_requests(farm, tokens, "farm")
    assert [(r.tag, r.action) for r in results] == [("1.0", "created"), ("1", "created"), ("latest", "created")], \
        [r.message for r in results]
    doc = farm.get_manifest("library/app", "latest").json()
    assert sorted(m["digest"] for m in doc["manifests"]) == sorted(members.values())
    for digest in members.values():  # the members and their blobs are in library/app now
        manifest = farm.get_manifest("library/app", digest).json()
        assert all(farm.head_blob("library/app", b["digest"]) for b in [manifest["config"], *manifest["layers"]])

    asked = [r.scopes for r in tokens.token_requests("farm")]
    mounts = {("repository:library/app:pull,push", "repository:%s/app:pull" % a) for a in ARCHS}
    pulls = {("repository:%s/app:pull" % a,) for a in ARCHS}
    # Once per scope; the target's pushes reuse a mount's token (it was asked for library/app push too).
    assert sorted(asked) == sorted({("repository:library/app:pull",)} | pulls | mounts)
    assert all(r.status == 200 for r in tokens.token_requests("farm"))

    # The same publish into an open registry: tokens cost one 401 for the first request, nothing per request.
    _push_members(registry.client(), "app", "1.0")
    open_client, open_results = _publish(registry, None, "app")
    assert [r.digest for r in open_results] == [r.digest for r in results]
    assert api_requests == open_client.request_count + 1

    before = len(tokens.requests)
    again, results = _publish(token_registry, _creds(tokens, "farm"), "app")
    assert {r.action for r in results} == {"unchanged"}
    # An unchanged re-publish only reads: HEADs of the tags and members, with pull tokens.
    asked = [r.scopes for r in tokens.requests[before:]]
    assert sorted(asked) == sorted({("repository:library/app:pull",)} | pulls)
    open_again = _publish(registry, None, "app")[0]
    assert again.request_count - len(asked) == open_again.request_count + 1


def test_anonymous_pulls_but_cannot_push(token_registry, tokens):
    members = _push_members(token_registry.client(_creds(tokens, "builder")), "anon", "1.0")
    anonymous = token_registry.client()
    assert anonymous.head_manifest("s390x/anon", "1.0").digest == members["s390x"]

    with pytest.raises(RegistryError) as exc:
        push_image(anonymous, "amd64/anon", "2.0", content=b"anonymous")
    assert exc.value.status == 401
    assert str(exc.value).startswith("registry %s, repository amd64/anon" % token_registry.address)
    assert "did not grant anonymous (no credentials given) repository:amd64/anon:pull,push" in str(exc.value)
    assert "insufficient_scope" in str(exc.value)

    anonymous, results = _publish(token_registry, None, "anon")
    assert {r.action for r in results} == {"failed"}
    assert "registry %s, repository library/anon" % token_registry.address in results[0].message
    assert anonymous.head_manifest("library/anon", "latest") is None

    # farm may read the arch repositories but not write them
    with pytest.raises(RegistryError, match="repository amd64/anon.*did not grant user farm "
                                            "repository:amd64/anon:pull,push"):
        push_image(token_registry.client(_creds(tokens, "farm")), "amd64/anon", "2.0", content=b"farm")


def test_wrong_password_is_a_clear_error(token_registry, tokens):
    client = token_registry.client(Credentials("farm", "wrong-password"))
    with pytest.raises(RegistryError) as exc:
        client.ping()
    assert str(exc.value) == ("registry %s: the token service %s refused the credentials of user farm: HTTP 401 "
                              "UNAUTHORIZED: invalid credentials" % (token_registry.address, tokens.realm))
    assert exc.value.status == 401 and client.retry_count == 0
    with pytest.raises(RegistryError, match="repository library/x, reference 1: the token service .* refused"):
        client.head_manifest("library/x", "1")


def test_module_with_tokens_keeps_the_password_out_of_verbose_output(token_registry, tokens, run_playbook,
                                                                     tmp_path, monkeypatch):
    _push_members(token_registry.client(_creds(tokens, "builder")), "mod", "1.0")
    password = tokens.users["farm"]
    base = {"registry": token_registry.address, "username": "farm", "password": password}
    tasks = [
        {"name": "Publish", "register": "publish", "buildfarm.images.manifest_list": dict(
            base, **BARE, repository="mod", entries=[ENTRY])},
        {"name": "Inspect", "register": "info", "buildfarm.images.registry_image_info": dict(
            base, references=["library/mod:latest"])},
    ]
    log = tmp_path / "ansible.log"
    monkeypatch.setenv("ANSIBLE_LOG_PATH", str(log))
    rc, out, res = run_playbook(tasks, "-vvv")
    assert rc == 0, out
    assert [t["action"] for t in res["publish"]["lists"]] == ["created"] * 3
    assert [p["platform"] for p in res["info"]["images"][0]["platforms"]] == [
        "linux/amd64", "linux/arm64/v8", "linux/s390x"]
    assert {r.status for r in tokens.token_requests("farm")} == {200}  # the module really used tokens
    assert "farm" in out  # verbose output is there: the user name shows, the password does not
    basic = base64.b64encode(("farm:" + password).encode()).decode()
    for text in (out, log.read_text(), json.dumps(res)):
        assert password not in text and basic not in text


def _outside_address() -> str:
    """An address of this machine that is not loopback (what a token realm on another host looks like)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = s.getsockname()[0]
        except OSError:
            address = ""
    if not address or ipaddress.ip_address(address).is_loopback:
        pytest.skip("no non-loopback IPv4 address here")
    return address


def test_credentials_never_go_to_a_plain_http_realm_of_a_tls_registry(tmp_path):
    """A TLS registry whose challenge names a plain-HTTP token service on another host: the password is not
    sent; anonymous pulls still work."""
    policy = {"farm": [Rule("*/*", frozenset({"pull", "push"}))], "": [Rule("*/*", frozenset({"pull"}))]}
    with TokenServer(tmp_path / "token", {"farm": "pw-%s" % os.urandom(6).hex()}, policy,
                     host=_outside_address()) as outside:
        reg = ThrowAwayRegistry(tmp_path / "tls-registry", _free_port(), env=outside.registry_env(),
                                tls=registry_tls(tmp_path / "tls"))
        reg.start()
        try:
            with pytest.raises(RegistryError) as exc:
                reg.client(_creds(outside, "farm")).head_manifest("library/x", "1")
            assert str(exc.value) == (
                "registry %s, repository library/x, reference 1: refusing to send the credentials of user farm to "
                "the token service %s over plain HTTP (the registry speaks HTTPS)"
                % (reg.address, outside.realm))
            assert outside.requests == []
            assert reg.client().head_manifest("library/x", "1") is None  # verified TLS, anonymous token
            assert [(r.user, r.scopes) for r in outside.requests] == [("", ("repository:library/x:pull",))]
        finally:
            reg.stop()


def test_a_plain_http_registry_sends_credentials_to_an_outside_realm_only_with_the_opt_in(tmp_path):
    """A loopback registry on plain HTTP whose token service is plain HTTP on another host: the realm is held
    to what the registry may have (loopback), so the password goes there only with plain_http_credentials."""
    policy = {"farm": [Rule("*/*", frozenset({"pull", "push"}))], "": [Rule("*/*", frozenset({"pull"}))]}
    with TokenServer(tmp_path / "token", {"farm": "pw-%s" % os.urandom(6).hex()}, policy,
                     host=_outside_address()) as outside:
        reg = ThrowAwayRegistry(tmp_path / "http-registry", _free_port(), env=outside.registry_env())
        reg.start()
        try:
            with pytest.raises(RegistryError, match="refusing to send the credentials of user farm to the token "
                                                    "service %s over plain HTTP" % outside.realm.split("/")[2]
                                                    .split(":")[0].replace(".", r"\.")):
                reg.client(_creds(outside, "farm")).head_manifest("library/x", "1")
            assert outside.requests == []
            opted = reg.client(_creds(outside, "farm"), plain_http_credentials=True)
            assert opted.head_manifest("library/x", "1") is None
            assert [r.user for r in outside.requests] == ["farm"]
            assert any("travel in clear (plain HTTP) to the token service" in w for w in opted.warnings)
        finally:
            reg.stop()
