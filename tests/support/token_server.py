"""A real token service for registry tests, as the distribution token authentication spec describes it
(https://distribution.github.io/distribution/spec/auth/token/): `GET /token?service=S&scope=A&scope=B` with
optional basic auth answers `{"token": <JWT>, ...}`. The JWT is signed RS256 and carries its certificate in
`x5c`, so a docker-registry configured with `auth: token: {realm, service, issuer, rootcertbundle}` and the
bundle written here verifies it as it verifies Docker Hub's or Harbor's.

A policy grants each user (and anonymous, user "") actions per repository pattern; every request is recorded
so tests can count token requests and see the scopes asked for. Like distribution's own token server, each
`scope` parameter is ONE scope (`type:name:actions`); a space-joined list in one parameter is refused (400).
"""
from __future__ import annotations

import base64
import datetime
import fnmatch
import hmac
import http.server
import ipaddress
import json
import os
import pathlib
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Mapping, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

# Repository names of the distribution spec (path components of lower-case alphanumerics and separators).
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


@dataclass(frozen=True)
class TokenRequest:
    """One request to the token endpoint, as the service saw it."""

    user: str  # "" for anonymous
    service: str
    scopes: tuple[str, ...]
    status: int
    granted: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Rule:
    """`actions` on repositories matching `pattern` (fnmatch: `library/*`, `*/*`)."""

    pattern: str
    actions: frozenset[str]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _self_signed(common_name: str, extension: x509.ExtensionType) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(extension, critical=isinstance(extension, x509.BasicConstraints))
            .sign(key, hashes.SHA256()))
    return key, cert


def _write_cert(cert: x509.Certificate, path: pathlib.Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def registry_tls(folder: pathlib.Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files): the registry's TLS, the client's CA."""
    key, cert = _self_signed("127.0.0.1", x509.SubjectAlternativeName([x509.IPAddress(
        ipaddress.ip_address("127.0.0.1"))]))
    key_path = folder / "registry.key"
    cert_path = _write_cert(cert, folder / "registry.crt")
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, str(key_path)


class TokenServer:
    """The service on `host` (a free port), plain HTTP, in a daemon thread: `start()`, `stop()`, or `with`."""

    def __init__(self, folder: pathlib.Path, users: Mapping[str, str], policy: Mapping[str, Sequence[Rule]],
                 service: str = "buildfarm-test-registry", issuer: str = "buildfarm-test-token-service",
                 lifetime: int = 300, host: str = "127.0.0.1") -> None:
        self.users = dict(users)
        self.policy = {user: tuple(rules) for user, rules in policy.items()}
        self.service = service
        self.issuer = issuer
        self.lifetime = lifetime
        self.rootcertbundle = str(folder / "token-signer.crt")
        self._key, self._cert = self._new_signer()
        self.requests: list[TokenRequest] = []
        self._lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer((host, 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="token-server", daemon=True)

    @property
    def realm(self) -> str:
        return "http://%s:%d/token" % self._httpd.server_address[:2]

    def registry_env(self) -> dict[str, str]:
        """docker-registry's environment overrides of its configuration for `auth: token` with this service."""
        return {"REGISTRY_AUTH": "token", "REGISTRY_AUTH_TOKEN_REALM": self.realm,
                "REGISTRY_AUTH_TOKEN_SERVICE": self.service, "REGISTRY_AUTH_TOKEN_ISSUER": self.issuer,
                "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE": self.rootcertbundle}

    def start(self) -> "TokenServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> "TokenServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def rotate_key(self) -> None:
        """A new signing key: tokens issued before are no longer trusted by a registry restarted after this."""
        self._key, self._cert = self._new_signer()

    def _new_signer(self) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        """A signing key and its certificate, the certificate written to `rootcertbundle` for the registry."""
        key, cert = _self_signed(self.issuer, x509.BasicConstraints(ca=True, path_length=None))
        _write_cert(cert, pathlib.Path(self.rootcertbundle))
        return key, cert

    # -- policy and tokens ---------------------------------------------------------------------------------

    def grant(self, user: str, scope: str) -> dict | None:
        """The access entry for one requested scope (actions possibly fewer than asked), None when unparsable."""
        parts = scope.split(":")
        if len(parts) != 3 or parts[0] != "repository" or not _REPOSITORY.match(parts[1]):
            return None
        kind, name, actions = parts
        wanted = [a for a in actions.split(",") if a]
        allowed = set().union(*(r.actions for r in self.policy.get(user, ()) if fnmatch.fnmatchcase(name, r.pattern)))
        return {"type": kind, "name": name, "actions": [a for a in wanted if a in allowed]}

    def issue(self, user: str, access: Sequence[dict]) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256",
                  "x5c": [base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode("ascii")]}
        claims = {"iss": self.issuer, "sub": user, "aud": self.service, "exp": now + self.lifetime,
                  "nbf": now - 1, "iat": now, "jti": os.urandom(12).hex(), "access": list(access)}
        signing_input = "%s.%s" % (_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode()))
        signature = self._key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return "%s.%s" % (signing_input, _b64url(signature))

    def authenticate(self, authorization: str) -> str | None:
        """The user of a basic Authorization header ("" without one), None when the credentials are wrong."""
        if not authorization:
            return ""
        scheme, _sep, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        known = self.users.get(user)
        if not sep or known is None or not hmac.compare_digest(known.encode(), password.encode()):
            return None
        return user

    def token_requests(self, user: str | None = None) -> list[TokenRequest]:
        with self._lock:
            return [r for r in self.requests if user is None or r.user == user]

    def record(self, request: TokenRequest) -> None:
        with self._lock:
            self.requests.append(request)


def _handler(server: TokenServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status: int, doc: dict, headers: Mapping[str, str] | None = None) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/token":
                return self._reply(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
            query = urllib.parse.parse_qs(url.query)
            service = query.get("service", [""])[0]
            scopes = tuple(query.get("scope", []))
            user = server.authenticate(self.headers.get("Authorization", ""))
            if user is None:
                server.record(TokenRequest("?", service, scopes, 401))
                return self._reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid credentials"}]},
                                   {"WWW-Authenticate": 'Basic realm="%s"' % server.realm})
            if service != server.service:
                server.record(TokenRequest(user, service, scopes, 400))
                return self._reply(400, {"errors": [{"code": "UNSUPPORTED",
                                                     "message": "unknown service %r" % service}]})
            access = [server.grant(user, s) for s in scopes]
            if None in access:
                server.record(TokenRequest(user, service, scopes, 400))
                bad = scopes[access.index(None)]
                return self._reply(400, {"errors": [{"code": "INVALID_SCOPE", "message": "invalid scope %r" % bad}]})
            server.record(TokenRequest(user, service, scopes, 200, tuple(access)))
            token = server.issue(user, access)
            issued = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._reply(200, {"token": token, "access_token": token, "expires_in": server.lifetime,
                              "issued_at": issued})

        def log_message(self, *args: object) -> None:
            pass

    return Handler
