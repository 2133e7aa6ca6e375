"""A fault-injecting HTTP/1.1 proxy in front of a real registry, for tests of what a publish does when the
network or the registry misbehaves.

Each request the client sends is read whole, then `decide(request)` picks what happens to it:

- `forward`: sent to the registry, its answer sent back (keep-alive kept);
- `drop`: the connection is closed without forwarding (the request never reached the registry);
- `drop_after`: forwarded, then the connection closed without answering (it took effect; the client cannot
  know: the dangerous case for a publish);
- `status:<code>[:<retry-after>]`: answered with that status (503, 500, 429 ...) without forwarding, with a
  `Retry-After` when given;
- `hang:<seconds>`: nothing answered for that long, then the connection closed (a registry that never answers).

`decide` is a rule function, or `SeededFaults` (random but reproducible, bounded). The proxy counts what it did.
The Host header is passed through, so the registry's Location headers point back at the proxy.
"""
from __future__ import annotations

import random
import socket
import socketserver
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from ansible_collections.buildfarm.images.plugins.module_utils.registry._http_connection import Connection


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class SeededFaults:
    """A fault for a fraction of the requests, from a seeded generator: the same seed, the same faults.
    `limit` bounds the faults in all (None: unbounded); `kinds` weights what the faults are."""

    def __init__(self, seed: int, rate: float, limit: int | None = None,
                 kinds: dict[str, float] | None = None) -> None:
        self.random = random.Random(seed)
        self.rate = rate
        self.limit = limit
        self.kinds = kinds or {"drop": 1, "drop_after": 1, "status:503": 1, "status:500": 1, "status:429:0": 1}
        self.lock = threading.Lock()
        self.count = 0

    def __call__(self, request: Request) -> str:
        with self.lock:
            if (self.limit is not None and self.count >= self.limit) or self.random.random() >= self.rate:
                return "forward"
            self.count += 1
            return self.random.choices(list(self.kinds), weights=list(self.kinds.values()))[0]


@dataclass
class FaultProxy:
    upstream_port: int
    decide: Callable[[Request], str] = lambda request: "forward"
    upstream_host: str = "127.0.0.1"
    counts: Counter = field(default_factory=Counter)  # action -> times
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (method, target, action)

    def __post_init__(self) -> None:
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return "127.0.0.1:%d" % self.port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def faults(self) -> int:
        return sum(n for action, n in self.counts.items() if action != "forward")

    # -- one client connection ---------------------------------------------------------------------------

    def _serve(self, sock: socket.socket) -> None:
        rfile = sock.makefile("rb")
        upstream = Connection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            while True:
                request = self._read(rfile)
                if request is None:
                    return
                action = self.decide(request)
                with self._lock:
                    self.counts[action.split(":")[0] if not action.startswith("status") else action] += 1
                    self.log.append((request.method, request.target, action))
                if action == "drop":
                    return
                if action.startswith("hang:"):
                    time.sleep(float(action.split(":")[1]))
                    return
                if action.startswith("status:"):
                    parts = action.split(":")
                    extra = "Retry-After: %s\r\n" % parts[2] if len(parts) > 2 else ""
                    body = b'{"errors":[{"code":"UNAVAILABLE","message":"injected by the test proxy"}]}'
                    sock.sendall(("HTTP/1.1 %s Injected\r\nContent-Type: application/json\r\n%sContent-Length: %d"
                                  "\r\n\r\n" % (parts[1], extra, len(body))).encode() +
                                 (b"" if request.method == "HEAD" else body))  # a HEAD answer has no body
                    continue
                headers = {k: v for k, v in request.headers.items()
                           if k.lower() not in ("host", "content-length", "connection")}
                status, response_headers, data = upstream.request(
                    request.method, request.headers.get("host", self.address), request.target, headers,
                    request.body if request.body or request.method in ("POST", "PUT", "PATCH") else None)
                if action == "drop_after":
                    return
                lines = ["HTTP/1.1 %d Proxied" % status]
                for key, value in response_headers.items():
                    if key in ("content-length", "transfer-encoding", "connection"):
                        continue
                    lines.append("%s: %s" % (key, value))
                length = response_headers.get("content-length") if request.method == "HEAD" else str(len(data))
                lines.append("Content-Length: %s" % (length or "0"))
                sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") +
                             (b"" if request.method == "HEAD" else data))
        except OSError:
            return
        finally:
            upstream.close()
            rfile.close()
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @staticmethod
    def _read(rfile) -> Request | None:
        line = rfile.readline(65537)
        if not line.strip():
            return None
        method, target, _version = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            h = rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _sep, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        body = rfile.read(length) if length else b""
        return Request(method, target, headers, body)
