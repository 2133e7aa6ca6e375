# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small OCI distribution API client: manifests, blobs, mounts, auth, retries.

Plain typed Python on the standard library (HTTP/1.1 by module_utils._http_connection), importable without
Ansible. One keep-alive connection per thread, so a ThreadPoolExecutor gets connection reuse without sharing
sockets.
"""
from __future__ import annotations

import base64
import email.utils
import hashlib
import ipaddress
import json
import os
import random
import re
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import (
    validate_digest,
    validate_repository,
    validate_tag,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry._http_connection import Connection, Headers
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import MANIFEST_ACCEPT


DOCKER_HUB = "registry-1.docker.io"
_DOCKER_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/")


# Defaults of the overall deadline of one module call and of the longest Retry-After honoured.
DEFAULT_DEADLINE = 1800.0
DEFAULT_RETRY_AFTER_CAP = 60.0


class RegistryError(BuildfarmError):
    """A registry request failed; the message names registry, repository and reference."""

    def __init__(self, message: str, registry: str = "", repository: str = "", reference: str = "",
                 status: int = 0) -> None:
        where = ["registry %s" % registry] if registry else []
        if repository:
            where.append("repository %s" % repository)
        if reference:
            where.append("reference %s" % reference)
        super().__init__("%s: %s" % (", ".join(where), message) if where else message)
        self.registry = registry
        self.repository = repository
        self.reference = reference
        self.status = status


class DockerConfigError(BuildfarmError, ValueError):
    """A Docker config.json whose credentials cannot be read (never echoing them)."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def basic_header(self) -> str:
        raw = ("%s:%s" % (self.username, self.password)).encode("utf-8")
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: basic or bearer
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Descriptor:
    """What a HEAD tells about a manifest: enough for an index entry."""

    media_type: str
    digest: str
    size: int


@dataclass(frozen=True)
class Manifest:
    media_type: str
    digest: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def json(self) -> dict:
        return json.loads(self.data.decode("utf-8"))

    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size)


_CHALLENGE_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_www_authenticate(header: str) -> Challenge:
    """Parse one `WWW-Authenticate` challenge: `Bearer realm="...",service="...",scope="..."`."""
    header = header.strip()
    scheme, _sep, rest = header.partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _CHALLENGE_PARAM.match(rest, pos)
        if not m or m.end() == pos:
            break
        quoted, bare = m.group(2), m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        pos = m.end()
    return Challenge(scheme.lower(), params)


def _config_key_host(key: str) -> str:
    """The registry host of a config.json `auths` key (`https://host/v1/`, `host:port`)."""
    if key in _DOCKER_HUB_ALIASES:
        return DOCKER_HUB
    if "://" in key:
        key = urllib.parse.urlsplit(key).netloc
    return key.split("/", 1)[0]


def credentials_from_docker_config(config: Mapping | str, registry: str) -> Credentials | None:
    """Credentials for `registry` from a Docker config.json (a path or its parsed content).

    Reads `auths.<registry>.auth` (base64 user:password) or `username`/`password`; credential helpers
    are not run (the farm passes secrets as variables).
    """
    if isinstance(config, str):
        with open(os.path.expanduser(config), encoding="utf-8") as f:
            try:
                content: Mapping = json.load(f)
            except ValueError as exc:
                raise DockerConfigError("not JSON: %s" % exc, config) from None
    else:
        content = config
    wanted = _config_key_host(registry)
    for key, entry in (content.get("auths") or {}).items():
        if _config_key_host(key) != wanted or not isinstance(entry, Mapping):
            continue
        if entry.get("auth"):
            try:
                user, sep, password = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                raise DockerConfigError("docker config: auths.%s.auth is not base64 of user:password" % key) from None
            if not sep:
                raise DockerConfigError("docker config: auths.%s.auth has no ':' between user and password" % key)
            return Credentials(user, password)
        if entry.get("username") and entry.get("password"):
            return Credentials(str(entry["username"]), str(entry["password"]))
    return None


def backoff_schedule(retries: int, base: float = 0.5, cap: float = 8.0) -> list[float]:
    """Delays before each retry: capped exponential (base, 2*base, 4*base, ... <= cap)."""
    return [min(cap, base * (2 ** n)) for n in range(max(0, retries))]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Retryable(Exception):
    """A transient failure (connection error, 429, 5xx) worth another try; `resent`: the connection had sent
    the request twice already."""

    def __init__(self, message: str, resent: bool = False) -> None:
        super().__init__(message)
        self.resent = resent


def _retry_after(value: str) -> float:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date); 0 when absent or unreadable."""
    value = value.strip()
    if not value:
        return 0.0
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return 0.0
    return max(0.0, when.timestamp() - time.time()) if when else 0.0


@dataclass
class _Response:
    status: int
    headers: Headers
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name, "") or ""


@dataclass(frozen=True)
class RegistrySettings:
    """How a client talks to its registry (see RegistryClient), built once from a module's options
    (`_registry_args.settings_from_params`); checked when built."""

    insecure: bool | None = None  # plain HTTP without a scheme; None: for a loopback host only
    validate_certs: bool = True
    ca_path: str | None = None
    plain_http_credentials: bool = False
    timeout: float = 30.0
    retries: int = 4
    deadline: float | None = None  # seconds from the client's creation
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("retries", "retry_after_cap"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise BuildfarmError("must be 0 or more", field=name, value=getattr(self, name))
        for name in ("timeout", "deadline"):
            value = getattr(self, name)
            if value is not None and value < 1e-9:
                raise BuildfarmError("must be more than 0", field=name, value=value)

    @classmethod
    def of(cls, ca_cert: str | None = None, **fields: Any) -> "RegistrySettings":
        """The settings of keywords, `ca_cert` being the old name of `ca_path`."""
        if ca_cert and not fields.get("ca_path"):
            fields["ca_path"] = ca_cert
        return cls(**fields)


def _split_address(address: str) -> tuple[str, str]:
    """(explicit scheme or "", host[:port]) of a registry address, refusing what is not one."""
    scheme = ""
    if "://" in address:
        scheme, _sep, address = address.partition("://")
        scheme = scheme.lower()
    registry = address.rstrip("/")
    if "@" in registry:
        # The address is printed in every message and sent as the Host header: say what is wrong, never echo it.
        raise RegistryError("the registry address carries credentials (user:password@host); give them as "
                            "username and password instead", registry.rpartition("@")[2])
    if scheme not in ("", "http", "https"):
        raise RegistryError("unsupported scheme %r (http:// or https://)" % scheme, registry)
    if "/" in registry or not registry:
        raise RegistryError("the registry is host[:port] with an optional scheme, without a path", registry)
    return scheme, registry


def _host_of(registry: str) -> str:
    parsed = urllib.parse.urlsplit("//" + registry)
    try:
        _port = parsed.port
    except ValueError:
        raise RegistryError("not host[:port]: bad port", registry) from None
    return parsed.hostname or registry


def _choose_scheme(explicit: str, registry: str, host: str, settings: RegistrySettings) -> str:
    """An explicit scheme wins; else HTTPS with a CA, plain HTTP when asked (or for loopback), HTTPS otherwise."""
    if settings.ca_path and not os.path.isfile(os.path.expanduser(settings.ca_path)):
        raise RegistryError("field ca_path: no such file %s (the CA certificate, PEM, that signed the "
                            "registry's certificate)" % settings.ca_path, registry)
    insecure = settings.insecure
    if explicit == "https" and insecure:
        raise RegistryError("plain_http (insecure) contradicts the https:// of the address; for TLS without "
                            "certificate verification set validate_certs: false", registry)
    if explicit:
        return explicit
    if settings.ca_path:
        return "https"
    return "http" if insecure or (insecure is None and _is_loopback(host)) else "https"


class RegistryClient:
    """One registry (`host[:port]`, optionally with an `http://`/`https://` scheme).

    Transport: an explicit scheme wins; otherwise HTTPS, except plain HTTP for `insecure=True` (the plain-HTTP
    switch; its option is `plain_http`) or, when `insecure` is None, for a loopback host (Docker treats
    127.0.0.0/8 as insecure too). TLS is verified (against `ca_path` when given) unless `validate_certs` is
    False. Credentials travel over plain HTTP only to loopback, or with `plain_http_credentials` (warned).

    Faults: `retries` bounds the sends of one request (connection re-sends included); `deadline` (seconds from
    the client's creation) bounds everything, waits and socket timeouts included; `Retry-After` is honoured up to
    `retry_after_cap`. TLS, DNS, refused-connection and encoding errors are not transient: they fail at once.
    """

    def __init__(self, registry: str, credentials: Credentials | None = None,
                 settings: RegistrySettings | None = None, **options: Any) -> None:
        """`settings`, or the same as keywords (`RegistrySettings` fields; `ca_cert` is `ca_path`)."""
        if settings is None:
            settings = RegistrySettings.of(**options)
        elif options:
            raise TypeError("RegistryClient: settings and keywords %s given together" % ", ".join(sorted(options)))
        self.settings = settings
        explicit, self.registry = _split_address(registry)
        self.host = _host_of(self.registry)
        self.scheme = _choose_scheme(explicit, self.registry, self.host, settings)
        self.validate_certs = settings.validate_certs
        self.plain_http_credentials = settings.plain_http_credentials
        self.warnings: list[str] = []
        self.credentials = credentials
        self._check_transport(self.scheme, self.host, "the registry")
        self.timeout = settings.timeout
        self.retries = settings.retries
        self.backoff = backoff_schedule(settings.retries, settings.backoff_base, settings.backoff_cap)
        self.retry_after_cap = settings.retry_after_cap
        self.deadline = settings.deadline
        self._deadline_at = time.monotonic() + settings.deadline if settings.deadline else None
        self._sleep = settings.sleep
        self._ssl = self._tls_context() if self.scheme == "https" else None
        self._local = threading.local()
        self._lock = threading.Lock()
        # Bearer tokens by the set of (resource, action) they were asked for, and one lock per such set so that
        # threads needing the same scope at once make one token request.
        self._tokens: dict[frozenset[tuple[str, str]], str] = {}
        self._token_locks: dict[frozenset[tuple[str, str]], threading.Lock] = {}
        self._token_service: dict[str, str] = {}  # realm and service of the registry's bearer challenge
        self._basic = False  # the registry asked for basic auth once: send it up front from then on
        self.retry_count = 0
        self.request_count = 0

    def _tls_context(self) -> ssl.SSLContext:
        ca_path = self.settings.ca_path
        context = ssl.create_default_context(cafile=os.path.expanduser(ca_path)) if ca_path \
            else ssl.create_default_context()
        if not self.settings.validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self.warnings.append("registry %s: TLS certificates are not verified (validate_certs: false)"
                                 % self.registry)
        return context

    @property
    def insecure(self) -> bool:
        """Plain HTTP (kept for callers of the old attribute)."""
        return self.scheme == "http"

    def _check_transport(self, scheme: str, host: str, whom: str) -> None:
        """Credentials over plain HTTP only to this machine, or with the explicit opt-in (warned)."""
        if not self.credentials or scheme != "http" or _is_loopback(host):
            return
        if not self.plain_http_credentials:
            raise RegistryError("refusing to send the credentials of %s to %s %s over plain HTTP: use HTTPS, or "
                                "set plain_http_credentials: true to accept that they travel in clear"
                                % (self._who(), whom, host), self.registry)
        warning = "registry %s: the credentials of %s travel in clear (plain HTTP) to %s %s" % (
            self.registry, self._who(), whom, host)
        if warning not in self.warnings:
            self.warnings.append(warning)

    def remaining(self, what: tuple[str, str] = ("", ""), last: str = "") -> float:
        """Seconds left before the deadline (inf without one); past it, a RegistryError."""
        if self._deadline_at is None:
            return float("inf")
        left = self._deadline_at - time.monotonic()
        if left <= 0:
            # _deadline_at is only set from a deadline, and neither changes after
            if self.deadline is None:
                raise AssertionError("a deadline time without a deadline")
            raise RegistryError("deadline of %g s exceeded%s" % (self.deadline, ": " + last if last else ""),
                                self.registry, *what)
        return left

    # -- transport ---------------------------------------------------------------------------------

    def _connection(self, parts: urllib.parse.SplitResult) -> Connection:
        """This thread's keep-alive connection to the URL's host (the registry, or where it redirects)."""
        conns = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        key = (parts.scheme, parts.netloc)
        conn = conns.get(key)
        if conn is None:
            https = parts.scheme == "https"
            conn = conns[key] = Connection(parts.hostname or "", parts.port or (443 if https else 80), self.timeout,
                                           (self._ssl or ssl.create_default_context()) if https else None)
        return conn

    def close(self) -> None:
        for conn in getattr(self._local, "conns", {}).values():
            conn.close()
        self._local.conns = {}

    def _raw(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float,
             resend: bool, what: tuple[str, str]) -> tuple[_Response, bool]:
        """One exchange: (response, whether the connection re-sent it). Transient failures raise _Retryable,
        the others a RegistryError saying what to fix."""
        parts = urllib.parse.urlsplit(url)
        target = parts.path + ("?" + parts.query if parts.query else "")
        with self._lock:
            self.request_count += 1
        conn = None
        try:
            conn = self._connection(parts)
            status, response_headers, data = conn.request(method, parts.netloc, target, headers, body,
                                                          timeout=timeout, resend=resend)
        except ssl.SSLCertVerificationError as exc:
            raise RegistryError("TLS certificate of %s not trusted (%s): give the CA that signed it as ca_path, or "
                                "set validate_certs: false" % (parts.netloc, exc.verify_message or exc),
                                self.registry, *what) from None
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as exc:  # a connection cut during the handshake
            raise _Retryable("%s %s: %s" % (method, url, exc), bool(conn and conn.resent)) from exc
        except ssl.SSLError as exc:
            raise RegistryError("TLS with %s failed (%s): is it an HTTPS port? A plain-HTTP registry is given as "
                                "http://host:port" % (parts.netloc, exc.reason or exc), self.registry,
                                *what) from None
        except socket.gaierror as exc:
            raise RegistryError("cannot resolve %s (%s): check the registry's name and DNS"
                                % (parts.hostname, exc.strerror or exc), self.registry, *what) from None
        except ConnectionRefusedError as exc:
            raise RegistryError("connection to %s refused (%s): nothing listens there; check the address and port, "
                                "and that the registry runs" % (parts.netloc, exc.strerror or "Connection refused"),
                                self.registry, *what) from None
        except UnicodeError as exc:
            raise RegistryError("the request cannot be encoded (%s): a tag or repository with characters HTTP "
                                "does not carry" % exc, self.registry, *what) from None
        except (OSError, ValueError) as exc:  # the connection is closed already; the next request opens another
            raise _Retryable("%s %s: %s" % (method, url, exc or type(exc).__name__),
                             bool(conn and conn.resent)) from exc
        return _Response(status, response_headers, data), conn.resent

    def _with_retries(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                      what: tuple[str, str]) -> _Response:
        last = ""
        sends = 0  # every send counts, a connection's transparent re-send too: at most retries + 1
        retry_after = 0.0
        while True:
            if sends:
                with self._lock:
                    self.retry_count += 1
                # Jitter spreads the retries of concurrent threads; a Retry-After is honoured up to the cap.
                delay = self.backoff[min(sends, len(self.backoff)) - 1] * (0.75 + random.random() / 2)
                delay = max(delay, min(retry_after, self.retry_after_cap))
                left = self.remaining(what, last)
                if delay >= left:
                    # remaining() is inf without a deadline, and a delay is finite (unless retry_after_cap is set to
                    # inf and a Retry-After overflows a float): reaching here means there is a deadline
                    if self.deadline is None:
                        raise AssertionError("a deadline exceeded without a deadline")
                    raise RegistryError("deadline of %g s exceeded (the next retry would wait %.1f s): %s"
                                        % (self.deadline, delay, last), self.registry, *what)
                self._sleep(delay)
            timeout = min(self.timeout, self.remaining(what, last))
            allowed = self.retries + 1 - sends
            try:
                resp, resent = self._raw(method, url, headers, body, timeout, allowed > 1, what)
            except _Retryable as exc:
                if exc.resent:
                    sends += 1
                    with self._lock:
                        self.retry_count += 1
                sends += 1
                last, retry_after = str(exc), 0.0
                if sends > self.retries:
                    break
                continue
            if resent:
                sends += 1
                with self._lock:
                    self.retry_count += 1
            sends += 1
            if resp.status == 429 or resp.status >= 500:
                last = "%s %s: HTTP %d %s" % (method, url, resp.status, _error_text(resp))
                retry_after = _retry_after(resp.header("Retry-After"))
                if retry_after > self.retry_after_cap:
                    last += " (Retry-After %g s, more than the %g s honoured)" % (retry_after, self.retry_after_cap)
                if sends > self.retries:
                    break
                continue
            return resp
        raise RegistryError("giving up after %d retries: %s" % (self.retries, last), self.registry, *what)

    # -- auth --------------------------------------------------------------------------------------

    def _auth_header(self, scope: str) -> str:
        if self._basic and self.credentials:
            return self.credentials.basic_header()
        return self._cached_token(_scope_set(scope))

    def _cached_token(self, wanted: frozenset[tuple[str, str]]) -> str:
        with self._lock:
            if wanted in self._tokens:
                return self._tokens[wanted]
            # A token asked for more serves a request for less: a mount's token (target push, source pull) covers
            # the target's manifest PUTs. Should it have been granted less than asked, the registry answers 401 and
            # a token for exactly this scope is requested.
            return next((header for asked, header in self._tokens.items() if wanted <= asked), "")

    def _who(self) -> str:
        return "user %s" % self.credentials.username if self.credentials else "anonymous (no credentials given)"

    def _authenticate(self, challenge_header: str, scope: str, refused: str, what: tuple[str, str]) -> str:
        """The Authorization header answering a 401's challenge; `refused` is the header that was just sent."""
        challenge = parse_www_authenticate(challenge_header)
        if challenge.scheme == "basic":
            if not self.credentials:
                raise RegistryError("401 Unauthorized: the registry requires credentials and none were given",
                                    self.registry, *what, status=401)
            self._basic = True
            return self.credentials.basic_header()
        if challenge.scheme != "bearer" or "realm" not in challenge.params:
            raise RegistryError("401 Unauthorized: unsupported challenge %r" % challenge_header,
                                self.registry, *what, status=401)
        with self._lock:
            self._token_service = {"realm": challenge.params["realm"],
                                   "service": challenge.params.get("service", "")}
        return self._token(scope or challenge.params.get("scope", ""), refused, what)

    def _token(self, scope: str, refused: str, what: tuple[str, str]) -> str:
        """A bearer token for `scope` (space-separated scopes): the cached one unless it is the one refused."""
        wanted = _scope_set(scope)
        with self._lock:
            lock = self._token_locks.setdefault(wanted, threading.Lock())
        with lock:
            current = self._cached_token(wanted)
            if current and current != refused:
                return current  # another thread fetched it while this one waited
            header = "Bearer " + self._fetch_token(scope, what)
            with self._lock:
                self._tokens[wanted] = header
            return header

    def _fetch_token(self, scope: str, what: tuple[str, str]) -> str:
        realm, service = self._token_service["realm"], self._token_service["service"]
        query = [("service", service)] if service else []
        # One `scope` parameter per scope, as Docker's clients send them and token services expect.
        query += [("scope", s) for s in scope.split()]
        url = realm
        if query:
            url += ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json"}
        realm_url = urllib.parse.urlsplit(realm)
        if realm_url.scheme not in ("http", "https"):
            raise RegistryError("the token service %r is not an http(s) URL" % realm, self.registry, *what)
        if self.credentials:
            # The token realm is held to the registry's transport: a TLS registry's challenge must not lure the
            # password onto plain HTTP, and a plain-HTTP one only to where the registry itself may have it.
            if realm_url.scheme != "https" and self.scheme == "https":
                raise RegistryError("refusing to send the credentials of %s to the token service %s over plain "
                                    "HTTP (the registry speaks HTTPS)" % (self._who(), realm), self.registry, *what)
            self._check_transport(realm_url.scheme, realm_url.hostname or "", "the token service")
            headers["Authorization"] = self.credentials.basic_header()
        resp = self._with_retries("GET", url, headers, None, what)
        if resp.status in (401, 403):
            raise RegistryError("the token service %s refused %s: HTTP %d %s" % (
                realm, "the credentials of " + self._who() if self.credentials else "anonymous access",
                resp.status, _error_text(resp)), self.registry, *what, status=resp.status)
        if resp.status != 200:
            raise RegistryError("token request to %s for %s failed: HTTP %d %s" % (
                realm, scope or "no scope", resp.status, _error_text(resp)), self.registry, *what,
                status=resp.status)
        try:
            data = json.loads(resp.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            data = None
        token = (data.get("token") or data.get("access_token")) if isinstance(data, dict) else ""
        if not token:
            raise RegistryError("the token service %s answered without a token" % realm, self.registry, *what)
        return token

    def request(self, method: str, path: str, repository: str = "", reference: str = "",
                headers: Mapping[str, str] | None = None, body: bytes | None = None,
                scope: str = "", ok: tuple[int, ...] = (200,)) -> _Response:
        """One API call with auth and retries; a status outside `ok` raises a RegistryError."""
        url = "%s://%s%s" % (self.scheme, self.registry, path)
        what = (repository, reference)
        hdrs = dict(headers or {})
        auth = self._auth_header(scope)
        if not auth and self._token_service and not self._basic:
            auth = self._token(scope, "", what)  # the token service is known: no 401 round trip for a new scope
        if auth:
            hdrs["Authorization"] = auth
        resp = self._with_retries(method, url, hdrs, body, what)
        if resp.status == 401:
            hdrs["Authorization"] = self._authenticate(resp.header("WWW-Authenticate"), scope, auth, what)
            resp = self._with_retries(method, url, hdrs, body, what)
            if resp.status == 401:
                raise RegistryError(self._refusal(resp, scope), self.registry, *what, status=401)
        if resp.status not in ok:
            raise RegistryError("%s %s: HTTP %d %s" % (method, path, resp.status, _error_text(resp)),
                                self.registry, *what, status=resp.status)
        return resp

    def _refusal(self, resp: _Response, scope: str) -> str:
        if self._basic:
            return "401 Unauthorized: the credentials were refused"
        error = parse_www_authenticate(resp.header("WWW-Authenticate")).params.get("error", "")
        return "401 Unauthorized: the token service did not grant %s %s%s" % (
            self._who(), scope or "access", " (%s)" % error if error else "")

    # -- API ---------------------------------------------------------------------------------------

    def ping(self) -> bool:
        """True when `GET /v2/` answers 200 (or 401: alive, wants auth and credentials were accepted)."""
        self.request("GET", "/v2/", ok=(200,))
        return True

    def _check(self, repository: str, reference: str = "", digest_only: bool = False) -> None:
        """The distribution grammar, before any request: a bad name fails here, named, not as a redirect, a
        400 or a retried encoding error."""
        try:
            validate_repository(repository)
            if reference and (digest_only or ":" in reference):
                validate_digest(reference, field="digest")
            elif reference:
                validate_tag(reference)
        except BuildfarmError as exc:
            raise RegistryError(str(exc), self.registry, repository) from None

    def _manifest_request(self, method: str, repository: str, reference: str) -> _Response | None:
        """A HEAD or GET of a manifest in any of the media types the collection reads; None on 404."""
        self._check(repository, reference)
        resp = self.request(method, "/v2/%s/manifests/%s" % (repository, reference), repository, reference,
                            headers={"Accept": ", ".join(MANIFEST_ACCEPT)}, scope=_scope(repository, "pull"),
                            ok=(200, 404))
        return None if resp.status == 404 else resp

    def head_manifest(self, repository: str, reference: str) -> Descriptor | None:
        """The manifest's descriptor, or None when the registry has no such manifest."""
        resp = self._manifest_request("HEAD", repository, reference)
        if resp is None:
            return None
        digest = resp.header("Docker-Content-Digest")
        if not digest and reference.startswith("sha256:"):
            digest = reference
        if not digest:
            raise RegistryError("HEAD answered without Docker-Content-Digest", self.registry, repository, reference)
        return Descriptor(resp.header("Content-Type"), digest, int(resp.header("Content-Length") or 0))

    def get_manifest(self, repository: str, reference: str) -> Manifest | None:
        """The manifest's exact bytes, media type and digest (checked against the bytes); None on 404."""
        resp = self._manifest_request("GET", repository, reference)
        if resp is None:
            return None
        actual = sha256_digest(resp.body)
        for claimed in (resp.header("Docker-Content-Digest"), reference if reference.startswith("sha256:") else ""):
            if claimed and claimed != actual:
                raise RegistryError("manifest digest mismatch: registry says %s, content is %s" % (claimed, actual),
                                    self.registry, repository, reference)
        media_type = resp.header("Content-Type").split(";")[0].strip()
        if media_type not in MANIFEST_ACCEPT:
            media_type = json.loads(resp.body.decode("utf-8")).get("mediaType", media_type)
        return Manifest(media_type, actual, resp.body)

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        """PUT the exact bytes; returns the digest the registry stored (must equal the bytes' digest)."""
        self._check(repository, reference)
        resp = self.request("PUT", "/v2/%s/manifests/%s" % (repository, reference), repository, reference,
                            headers={"Content-Type": media_type}, body=data, scope=_scope(repository, "push"),
                            ok=(201,))
        expected = sha256_digest(data)
        stored = resp.header("Docker-Content-Digest") or expected
        if stored != expected:
            raise RegistryError("registry stored %s for content %s" % (stored, expected), self.registry,
                                repository, reference)
        return stored

    def list_tags(self, repository: str) -> list[str] | None:
        """The repository's tags, following `Link` pagination; None when the repository does not exist."""
        self._check(repository)
        path = "/v2/%s/tags/list" % repository
        tags: list[str] = []
        ok: tuple[int, ...] = (200, 404)  # 404 (NAME_UNKNOWN) means no repository only on the first page
        while path:
            resp = self.request("GET", path, repository, headers={"Accept": "application/json"},
                                scope=_scope(repository, "pull"), ok=ok)
            if resp.status == 404:
                return None
            tags.extend(json.loads(resp.body.decode("utf-8")).get("tags") or ())
            ok = (200,)
            match = _NEXT_LINK.search(resp.header("Link"))
            path = _location_path(match.group(1)) if match else ""
        return tags

    def head_blob(self, repository: str, digest: str) -> bool:
        self._check(repository, digest, digest_only=True)
        resp = self.request("HEAD", "/v2/%s/blobs/%s" % (repository, digest), repository, digest,
                            scope=_scope(repository, "pull"), ok=(200, 307, 404))
        return resp.status != 404

    def get_blob(self, repository: str, digest: str) -> bytes:
        """A (small) blob such as an image config, checked against its digest."""
        self._check(repository, digest, digest_only=True)
        resp = self.request("GET", "/v2/%s/blobs/%s" % (repository, digest), repository, digest,
                            scope=_scope(repository, "pull"), ok=(200, 307))
        if resp.status == 307:
            # Storage backends redirect to another host: fetch without the registry's credentials.
            resp = self._with_retries("GET", resp.header("Location"), {}, None, (repository, digest))
            if resp.status != 200:
                raise RegistryError("blob redirect: HTTP %d" % resp.status, self.registry, repository, digest,
                                    status=resp.status)
        if sha256_digest(resp.body) != digest:
            raise RegistryError("blob content does not match its digest", self.registry, repository, digest)
        return resp.body

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Cross-repository mount; True when mounted (201), False when the registry started an upload instead."""
        self._check(repository, digest, digest_only=True)
        self._check(from_repository)
        query = urllib.parse.urlencode({"mount": digest, "from": from_repository})
        scope = "%s %s" % (_scope(repository, "push"), _scope(from_repository, "pull"))
        resp = self.request("POST", "/v2/%s/blobs/uploads/?%s" % (repository, query), repository, digest,
                            scope=scope, ok=(201, 202))
        if resp.status == 202:
            self._cancel_upload(repository, resp.header("Location"))
        return resp.status == 201

    def _cancel_upload(self, repository: str, location: str) -> None:
        if location:
            path = _location_path(location)
            self.request("DELETE", path, repository, scope=_scope(repository, "push"), ok=(204, 404))

    def put_blob(self, repository: str, data: bytes) -> str:
        """Monolithic upload (POST then PUT with the digest); skipped when the blob is already there."""
        digest = sha256_digest(data)
        if self.head_blob(repository, digest):
            return digest
        scope = _scope(repository, "push")
        resp = self.request("POST", "/v2/%s/blobs/uploads/" % repository, repository, digest, scope=scope,
                            ok=(202,))
        path = _location_path(resp.header("Location"))
        sep = "&" if "?" in path else "?"
        self.request("PUT", "%s%sdigest=%s" % (path, sep, urllib.parse.quote(digest)), repository, digest,
                     headers={"Content-Type": "application/octet-stream"}, body=data, scope=scope, ok=(201,))
        return digest


_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def _scope(repository: str, actions: str) -> str:
    return "repository:%s:%s" % (repository, "pull,push" if actions == "push" else "pull")


def _scope_set(scope: str) -> frozenset[tuple[str, str]]:
    """`repository:a:pull,push repository:b:pull` as {(repository:a, pull), (repository:a, push), ...}."""
    out: set[tuple[str, str]] = set()
    for item in scope.split():
        resource, _sep, actions = item.rpartition(":")
        out.update((resource, action) for action in actions.split(","))
    return frozenset(out)


def _location_path(location: str) -> str:
    parts = urllib.parse.urlsplit(location)
    return parts.path + ("?" + parts.query if parts.query else "")


def _error_text(resp: _Response) -> str:
    """The registry's error codes/messages, short."""
    try:
        errors = json.loads(resp.body.decode("utf-8")).get("errors") or []
        return "; ".join("%s: %s" % (e.get("code", ""), e.get("message", "")) for e in errors)[:300]
    except (ValueError, AttributeError, UnicodeDecodeError):
        return resp.body[:200].decode("utf-8", "replace")
