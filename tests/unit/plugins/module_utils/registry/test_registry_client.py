"""Pure pieces of the registry client, and its retry policy against a real local HTTP server."""
from __future__ import annotations

import base64
import http.server
import json
import socket
import ssl
import threading
import urllib.parse

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    Credentials,
    RegistryClient,
    RegistryError,
    _scope_set,
    backoff_schedule,
    credentials_from_docker_config,
    parse_www_authenticate,
)


def test_parse_bearer_challenge():
    c = parse_www_authenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                               'scope="repository:library/busybox:pull,push"')
    assert c.scheme == "bearer"
    assert c.params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                        "scope": "repository:library/busybox:pull,push"}


def test_parse_basic_challenge_and_escapes():
    assert parse_www_authenticate('Basic realm="buildfarm"').params == {"realm": "buildfarm"}
    c = parse_www_authenticate('Bearer realm="a \\"quoted\\" realm", error=insufficient_scope')
    assert c.params == {"realm": 'a "quoted" realm', "error": "insufficient_scope"}


def test_scope_set_of_several_scopes():
    """What a token was asked for, comparable: a mount's token covers a pull of either repository."""
    mount = _scope_set("repository:library/a:pull,push repository:amd64/a:pull")
    assert mount == {("repository:library/a", "pull"), ("repository:library/a", "push"),
                     ("repository:amd64/a", "pull")}
    assert _scope_set("repository:amd64/a:pull") <= mount
    assert not _scope_set("repository:amd64/a:pull,push") <= mount
    assert _scope_set("") == frozenset()


def _auth(user: str, password: str) -> str:
    return base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def test_docker_config_auth_by_host_and_hub_alias(tmp_path):
    config = {"auths": {
        "https://index.docker.io/v1/": {"auth": _auth("hubuser", "hub:pw")},
        "registry.example.org:5000": {"auth": _auth("farm", "secret")},
        "https://other.example.org/v2/": {"username": "u", "password": "p"},
    }}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert credentials_from_docker_config(str(path), "registry.example.org:5000") == Credentials("farm", "secret")
    assert credentials_from_docker_config(config, "docker.io") == Credentials("hubuser", "hub:pw")
    assert credentials_from_docker_config(config, "other.example.org") == Credentials("u", "p")
    assert credentials_from_docker_config(config, "unknown.example.org") is None


def test_docker_config_bad_auth_is_named():
    with pytest.raises(ValueError, match="auths.r.example.auth"):
        credentials_from_docker_config({"auths": {"r.example": {"auth": _auth("nocolon", "")[:-4] + "AAAA"}}},
                                       "r.example")


def test_backoff_is_capped_exponential():
    assert backoff_schedule(6, base=0.5, cap=4.0) == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff_schedule(0) == []


@pytest.mark.parametrize("registry,insecure,ca,scheme", [
    ("127.0.0.1:5000", None, None, "http"),
    ("localhost:5000", None, None, "http"),
    ("registry.example.org", None, None, "https"),
    ("registry.example.org", True, None, "http"),
    ("127.0.0.1:5000", False, None, "https"),
    ("https://127.0.0.1:5000", None, None, "https"),
])
def test_scheme_selection(registry, insecure, ca, scheme):
    assert RegistryClient(registry, insecure=insecure, ca_cert=ca).scheme == scheme


class _Flaky(http.server.BaseHTTPRequestHandler):
    """Answers the statuses queued in `plan`, then 200."""

    protocol_version = "HTTP/1.1"
    plan: list[int] = []
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        self.seen.append(self.path)
        status = self.plan.pop(0) if self.plan else 200
        body = b"{}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def flaky():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Flaky.seen = []
    yield server
    server.shutdown()
    server.server_close()


def _client(server, retries=3):
    delays: list[float] = []
    client = RegistryClient("127.0.0.1:%d" % server.server_address[1], retries=retries, backoff_base=0.01,
                            sleep=delays.append)
    return client, delays


def test_retries_5xx_and_429_then_succeeds(flaky):
    _Flaky.plan = [503, 429]
    client, delays = _client(flaky)
    assert client.ping() is True
    assert client.retry_count == 2 and len(_Flaky.seen) == 3
    assert len(delays) == 2 and delays[1] > delays[0] * 0.9  # growing, with jitter


def test_never_retries_4xx(flaky):
    _Flaky.plan = [403]
    client = _client(flaky)[0]
    with pytest.raises(RegistryError, match="HTTP 403") as exc:
        client.ping()
    assert client.retry_count == 0 and exc.value.status == 403


def test_gives_up_after_retries_naming_registry(flaky):
    _Flaky.plan = [500] * 10
    client = _client(flaky, retries=2)[0]
    with pytest.raises(RegistryError, match=r"registry 127\.0\.0\.1:\d+: giving up after 2 retries"):
        client.ping()
    assert client.retry_count == 2


def test_connection_refused_is_not_transient_and_says_what_to_fix():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = RegistryClient("127.0.0.1:%d" % port, retries=3, backoff_base=0.0, timeout=2)
    with pytest.raises(RegistryError, match=r"registry 127\.0\.0\.1:%d, repository amd64/x, reference 1: "
                                            r"connection to 127\.0\.0\.1:%d refused \(Connection refused\): "
                                            r"nothing listens" % (port, port)):
        client.head_manifest("amd64/x", "1")
    assert client.retry_count == 0 and client.request_count == 1


def test_unresolvable_host_is_not_transient():
    client = RegistryClient("https://no-such-host.invalid", retries=3, backoff_base=0.0, timeout=5)
    with pytest.raises(RegistryError, match=r"cannot resolve no-such-host\.invalid .*check the registry's name"):
        client.ping()
    assert client.retry_count == 0


def test_tls_to_a_plain_http_port_is_not_transient(flaky):
    client = RegistryClient("https://127.0.0.1:%d" % flaky.server_address[1], retries=3, timeout=5)
    with pytest.raises(RegistryError, match=r"TLS with 127\.0\.0\.1:\d+ failed .*is it an HTTPS port"):
        client.ping()
    assert client.retry_count == 0


class _RetryAfter(_Flaky):
    """429 or 503 with a Retry-After header, then 200."""

    retry_after = "30"

    def send_response(self, code, message=None):
        super().send_response(code, message)
        if code != 200:
            self.send_header("Retry-After", self.retry_after)


@pytest.fixture
def retry_after():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RetryAfter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _RetryAfter.seen = []
    yield server
    server.shutdown()
    server.server_close()


def test_retry_after_is_honoured_up_to_the_cap(retry_after):
    _RetryAfter.plan, _RetryAfter.retry_after = [429, 503], "30"
    delays: list[float] = []
    client = RegistryClient("127.0.0.1:%d" % retry_after.server_address[1], retries=4, backoff_base=0.01,
                            sleep=delays.append, retry_after_cap=60)
    assert client.ping() and delays == [30.0, 30.0]
    _RetryAfter.plan, _RetryAfter.retry_after = [429], "600"
    delays.clear()
    capped = RegistryClient("127.0.0.1:%d" % retry_after.server_address[1], retries=4, sleep=delays.append,
                            retry_after_cap=45)
    assert capped.ping() and delays == [45.0]


def test_the_deadline_ends_retries_with_a_known_message(retry_after):
    _RetryAfter.plan, _RetryAfter.retry_after = [503] * 10, "30"
    client = RegistryClient("127.0.0.1:%d" % retry_after.server_address[1], retries=10, deadline=5,
                            sleep=lambda s: None)
    with pytest.raises(RegistryError, match=r"deadline of 5 s exceeded \(the next retry would wait 30\.0 s\): "
                                            r"GET .*HTTP 503"):
        client.ping()
    assert len(_RetryAfter.seen) == 1  # nothing sent that could not be waited for


def test_a_hung_registry_ends_at_the_deadline():
    with socket.socket() as listener:  # accepts (the kernel does) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        client = RegistryClient("127.0.0.1:%d" % listener.getsockname()[1], retries=4, timeout=30, deadline=1.5,
                                backoff_base=0.01)
        import time
        start = time.monotonic()
        with pytest.raises(RegistryError, match="deadline of 1.5 s exceeded"):
            client.ping()
        assert time.monotonic() - start < 4


def test_a_re_sent_request_counts_as_a_retry():
    """A keep-alive connection the server closed while idle: the connection re-sends, within the cap."""
    from ansible_collections.buildfarm.images.tests.unit.plugins.module_utils.registry.test_http_connection import (
        OK,
        ScriptedServer,
    )

    server = ScriptedServer([OK, None, None, OK, None, OK], close_idle=True)
    client = RegistryClient("127.0.0.1:%d" % server.port, retries=1, backoff_base=0.0, sleep=lambda s: None)
    client.head_manifest("amd64/x", "1")
    with pytest.raises(RegistryError, match="giving up after 1 retries"):
        client.head_manifest("amd64/x", "2")  # stale, re-sent once (the one retry), then nothing: given up
    assert client.retry_count == 1 and len(server.requests) == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"registry": "http://farm:hunter2@127.0.0.1:5000"}, "carries credentials"),
    ({"registry": "farm@127.0.0.1:5000"}, "carries credentials"),
    ({"registry": "https://registry.example.org", "insecure": True}, "contradicts the https://"),
    ({"registry": "registry.example.org", "ca_path": "/nonexistent/ca.crt"},
     "field ca_path: no such file /nonexistent/ca.crt"),
    ({"registry": "registry.example.org", "ca_cert": "/nonexistent/ca.crt"}, "field ca_path: no such file"),
    ({"registry": "registry.example.org", "retries": -1}, r"field retries: must be 0 or more \(value: -1\)"),
    ({"registry": "registry.example.org", "timeout": 0}, "field timeout: must be more than 0"),
    ({"registry": "ftp://registry.example.org"}, "unsupported scheme"),
    ({"registry": "registry.example.org/v2"}, "without a path"),
    ({"registry": "http://registry.example.org", "credentials": Credentials("farm", "hunter2")},
     "refusing to send the credentials of user farm to the registry registry.example.org over plain HTTP"),
    ({"registry": "registry.example.org", "insecure": True, "credentials": Credentials("farm", "hunter2")},
     "set plain_http_credentials: true"),
])
def test_unsafe_or_bad_settings_are_refused_without_echoing_secrets(kwargs, message):
    with pytest.raises(Exception, match=message) as info:
        RegistryClient(**kwargs)
    assert "hunter2" not in str(info.value)


def test_plain_http_credentials_and_unverified_tls_are_opt_in_and_warned():
    client = RegistryClient("registry.example.org", Credentials("farm", "pw"), insecure=True,
                            plain_http_credentials=True)
    assert client.scheme == "http" and "travel in clear" in client.warnings[0]
    loopback = RegistryClient("127.0.0.1:5000", Credentials("farm", "pw"))
    assert loopback.scheme == "http" and not loopback.warnings
    unverified = RegistryClient("registry.example.org", validate_certs=False)
    assert unverified.scheme == "https" and unverified._ssl.verify_mode == ssl.CERT_NONE
    assert "not verified" in unverified.warnings[0]
    assert RegistryClient("registry.example.org")._ssl.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize("repository, reference, message", [
    ("library/busybox", "../../../v2/_catalog", "not a valid tag"),
    ("library/busybox", "x" * 200, "not a valid tag"),
    ("library/busybox", "\u6f22\u5b57", "not a valid tag"),
    ("Library/busybox", "1", "not a valid repository path"),
    ("library/busybox", "sha256:zz", "64 lower-case hex"),
])
def test_names_are_checked_before_any_request(repository, reference, message):
    client = RegistryClient("127.0.0.1:1", retries=4)
    with pytest.raises(RegistryError, match=message):
        client.head_manifest(repository, reference)
    assert client.request_count == 0


class _PagedTags(http.server.BaseHTTPRequestHandler):
    """Tags two per page with a `Link` to the next page, as Docker Hub and distribution 3 answer (the local
    docker-registry 2.8 sends every tag at once, so paging cannot be seen with it)."""

    protocol_version = "HTTP/1.1"
    tags = ["1", "2", "3"]

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/v2/amd64/x/tags/list":
            body, status, link = b'{"errors": [{"code": "NAME_UNKNOWN"}]}', 404, ""
        else:
            last = urllib.parse.parse_qs(url.query).get("last", [""])[0]
            start = self.tags.index(last) + 1 if last else 0
            page = self.tags[start:start + 2]
            body, status = json.dumps({"name": "amd64/x", "tags": page}).encode(), 200
            link = '</v2/amd64/x/tags/list?n=2&last=%s>; rel="next"' % page[-1] if start + 2 < len(self.tags) else ""
        self.send_response(status)
        if link:
            self.send_header("Link", link)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_list_tags_follows_link_pages_and_knows_absent_repositories():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PagedTags)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = RegistryClient("127.0.0.1:%d" % server.server_address[1])
        assert client.list_tags("amd64/x") == ["1", "2", "3"]
        assert client.request_count == 2
        assert client.list_tags("amd64/none") is None
    finally:
        server.shutdown()
        server.server_close()


class _TokenRegistry(http.server.BaseHTTPRequestHandler):
    """A registry front that wants bearer tokens from its own token endpoint (the Docker Hub flow)."""

    protocol_version = "HTTP/1.1"
    token_requests: list[tuple[str, str]] = []  # (scope, Authorization header)

    def _reply(self, status: int, body: bytes = b"{}", headers: dict | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/token":
            scope = urllib.parse.parse_qs(url.query).get("scope", [""])[0]
            self.token_requests.append((scope, self.headers.get("Authorization", "")))
            return self._reply(200, json.dumps({"token": "tok:" + scope}).encode())
        repo = url.path[len("/v2/"):].rsplit("/manifests/", 1)[0] if "/manifests/" in url.path else ""
        scope = "repository:%s:pull" % repo if repo else ""
        if self.headers.get("Authorization", "") != "Bearer tok:" + scope:
            challenge = 'Bearer realm="http://%s/token",service="test"' % self.headers["Host"]
            if scope:
                challenge += ',scope="%s"' % scope
            return self._reply(401, headers={"WWW-Authenticate": challenge})
        return self._reply(200, headers={"Docker-Content-Digest": "sha256:" + "0" * 64,
                                         "Content-Type": "application/vnd.oci.image.manifest.v1+json"})

    do_GET = do_HEAD = _handle

    def log_message(self, *args):
        pass


@pytest.fixture
def token_registry():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TokenRegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _TokenRegistry.token_requests = []
    yield "127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_bearer_token_per_repository_scope_cached(token_registry):
    client = RegistryClient(token_registry, Credentials("farm", "pw"))
    for _round in range(2):
        assert client.head_manifest("library/a", "1").media_type.endswith("manifest.v1+json")
    client.head_manifest("library/b", "1")
    assert [s for s, _auth in _TokenRegistry.token_requests] == ["repository:library/a:pull",
                                                                 "repository:library/b:pull"]
    assert all(a == Credentials("farm", "pw").basic_header() for _s, a in _TokenRegistry.token_requests)


def test_anonymous_token_sends_no_credentials(token_registry):
    assert RegistryClient(token_registry).head_manifest("library/a", "1") is not None
    assert _TokenRegistry.token_requests == [("repository:library/a:pull", "")]


def test_settings_are_built_once_and_checked():
    from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
    from ansible_collections.buildfarm.images.plugins.module_utils.registry._registry_args import (
        settings_from_params,
    )
    from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistrySettings

    settings = settings_from_params({"registry": "r.example.org", "plain_http": True, "timeout": 5, "retries": 2,
                                     "deadline": 60, "validate_certs": True})
    assert settings == RegistrySettings(insecure=True, timeout=5, retries=2, deadline=60)
    client = RegistryClient("r.example.org", None, settings)
    assert (client.scheme, client.timeout, client.retries, client.deadline) == ("http", 5, 2, 60)
    assert RegistrySettings.of(ca_cert="/a.crt").ca_path == "/a.crt"
    with pytest.raises(BuildfarmError, match=r"field deadline: must be more than 0 \(value: 0\)"):
        RegistrySettings(deadline=0)
    with pytest.raises(TypeError, match="settings and keywords retries given together"):
        RegistryClient("r.example.org", None, settings, retries=1)
