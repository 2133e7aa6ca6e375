# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal HTTP/1.1 keep-alive connection: what the registry client needs of HTTP, and no more.

Why not http.client: it parses the headers of every response with the email package, which was a third of
the client's CPU in a publish (502 requests: 0.27 s with http.client, 0.16 s with this), and on a small
builder the client competes with the registry for the same cores (the publish got 12 % faster). The
distribution API needs one request at a time per connection, bodies sized by Content-Length or chunked,
and keep-alive.
"""
from __future__ import annotations

import io
import socket
import ssl
from typing import Mapping, overload

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError

MAX_LINE = 65536
MAX_HEADERS = 100


class HTTPProtocolError(BuildfarmError, OSError):
    """The server closed the connection early or answered something that is not HTTP/1.x (an OSError too: the
    client retries it as the connection fault it is)."""


class _Stale(HTTPProtocolError):
    """Nothing came back on a reused connection: the server had closed it while it was idle."""


class Headers(dict):
    """Response headers by lower-case name; a repeated header's values joined with ", "."""

    # A default given means a str back (`.get("connection", "").lower()`); without one, None for a missing header.
    @overload  # type: ignore[override]
    def get(self, name: str) -> str | None: ...

    @overload
    def get(self, name: str, default: str) -> str: ...

    @overload
    def get(self, name: str, default: None) -> str | None: ...

    # dict.get takes any key and any default type; this narrower signature (names are str, values str) is the
    # point, so the override is deliberately incompatible with dict's.
    def get(self, name: str, default: str | None = None) -> str | None:
        return super().get(name.lower(), default)


class Connection:
    """One keep-alive connection to `host:port`, TLS when an SSL context is given (SNI and hostname check
    by the context's rules). Not thread-safe: the registry client keeps one per thread."""

    def __init__(self, host: str, port: int, timeout: float, context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.context = context
        self._sock: socket.socket | None = None
        self._rfile: io.BufferedReader | None = None  # set and cleared together with _sock
        self.resent = False  # the last request was sent a second time on a new connection

    def close(self) -> None:
        if self._sock is not None:
            if self._rfile is None:  # _connect and close set both or neither
                raise AssertionError("a connection without its reader")
            self._rfile.close()
            self._sock.close()
        self._sock = self._rfile = None

    def _connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        # Requests are small and each waits for its answer: no Nagle delay.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.context is not None:
            try:
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        self._sock, self._rfile = sock, sock.makefile("rb")

    def request(self, method: str, host_header: str, target: str, headers: Mapping[str, str],
                body: bytes | None, timeout: float | None = None, resend: bool = True) -> tuple[int, Headers, bytes]:
        """(status, headers, body) of one exchange. A reused connection the server had closed meanwhile is
        reopened and the request sent again once when `resend` allows it (`self.resent` tells the caller, who
        counts it as a retry); any other failure closes the connection and raises an OSError.

        `timeout`: this request's socket timeout (the caller's remaining deadline), default the connection's."""
        self.resent = False
        if timeout is not None:
            self.timeout = timeout
            if self._sock is not None:
                self._sock.settimeout(timeout)
        reused = self._sock is not None
        try:
            if not reused:
                self._connect()
            return self._exchange(method, host_header, target, headers, body)
        except _Stale:
            self.close()
            if not reused or not resend:
                raise
        except BaseException:
            self.close()
            raise
        self.resent = True
        try:
            self._connect()
            return self._exchange(method, host_header, target, headers, body)
        except BaseException:
            self.close()
            raise

    def _exchange(self, method: str, host_header: str, target: str, headers: Mapping[str, str],
                  body: bytes | None) -> tuple[int, Headers, bytes]:
        lines = ["%s %s HTTP/1.1" % (method, target), "Host: " + host_header]
        lines.extend("%s: %s" % item for item in headers.items())
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Length: %d" % len(body or b""))
        # request() connects before every exchange, and close() is only called after the exchange's last read.
        if self._sock is None:
            raise AssertionError("no connection for the request")
        # Head and body in one write: one segment for a small manifest.
        try:
            self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _Stale(str(exc)) from exc
        first = True
        while True:
            try:
                status_line = self._readline()
            except ConnectionResetError as exc:
                if first:
                    raise _Stale(str(exc)) from exc
                raise
            if not status_line:
                raise _Stale("the server closed the connection") if first else HTTPProtocolError(
                    "the server closed the connection after an interim response")
            first = False
            version, status = self._status(status_line)
            response_headers = self._headers()
            if status >= 200:
                break  # 1xx interim answers (100 Continue) come before the real one
        data = self._body(method, status, response_headers)
        if response_headers.get("connection", "").lower() == "close" or version == "HTTP/1.0":
            self.close()
        return status, response_headers, data

    def _reader(self) -> io.BufferedReader:
        # Reads happen only inside an exchange: request() connected first, and nothing closes before the last read.
        if self._rfile is None:
            raise AssertionError("a read outside an exchange")
        return self._rfile

    def _readline(self) -> bytes:
        line = self._reader().readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise HTTPProtocolError("response line longer than %d bytes" % MAX_LINE)
        return line

    @staticmethod
    def _status(line: bytes) -> tuple[str, int]:
        parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise HTTPProtocolError("not an HTTP/1.x status line: %r" % line[:80])
        return parts[0], int(parts[1])

    def _headers(self) -> Headers:
        headers = Headers()
        for _number in range(MAX_HEADERS + 1):
            line = self._readline()
            if line in (b"\r\n", b"\n", b""):
                return headers
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise HTTPProtocolError("malformed response header: %r" % line[:80])
            key, value = name.strip().lower(), value.strip()
            headers[key] = headers[key] + ", " + value if key in headers else value
        raise HTTPProtocolError("more than %d response headers" % MAX_HEADERS)

    def _body(self, method: str, status: int, headers: Headers) -> bytes:
        if method == "HEAD" or status in (204, 304):
            return b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self._readline().split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise HTTPProtocolError("malformed chunk size: %r" % size_line[:80]) from None
                if size == 0:
                    while self._readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self._read_exactly(size))
                self._readline()
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise HTTPProtocolError("malformed Content-Length: %r" % length)
            return self._read_exactly(int(length))
        headers["connection"] = "close"  # the body ends where the connection does
        return self._reader().read()

    def _read_exactly(self, size: int) -> bytes:
        data = self._reader().read(size)
        if len(data) != size:
            raise HTTPProtocolError("the server closed the connection %d bytes into a %d-byte body"
                                    % (len(data), size))
        return data
