"""The registry client's HTTP/1.1 connection against a real socket server that answers scripted bytes: body
framings, keep-alive, a connection the server closed while idle, and broken answers."""
from __future__ import annotations

import socket
import threading

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.registry._http_connection import (
    Connection,
    HTTPProtocolError,
)


class ScriptedServer:
    """Answers the n-th request with the n-th scripted response; `None` closes the connection instead of
    answering (before reading the request when `close_idle` is set: a keep-alive timeout); `close_after`
    closes the connection after each answer."""

    def __init__(self, responses: list[bytes | None], close_idle: bool = False, close_after: bool = False) -> None:
        self.responses = list(responses)
        self.close_idle = close_idle
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while self.responses:
            conn, _addr = self.sock.accept()
            self.connections += 1
            with conn:
                while self.responses:
                    if self.close_idle and self.responses[0] is None:
                        self.responses.pop(0)
                        break
                    request = self._read_request(conn)
                    if not request:
                        break
                    self.requests.append(request)
                    response = self.responses.pop(0)
                    if response is None:
                        break
                    conn.sendall(response)
                    if self.close_after:
                        break

    @staticmethod
    def _read_request(conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _sep, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(body) < length:
            body += conn.recv(65536)
        return data


def _connection(server: ScriptedServer) -> Connection:
    return Connection("127.0.0.1", server.port, timeout=5)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDocker-Content-Digest: sha256:1\r\n\r\nhello"


def test_content_length_and_keep_alive_reuse_one_connection():
    server = ScriptedServer([OK, OK])
    conn = _connection(server)
    status, headers, body = conn.request("GET", "r.example:5000", "/v2/a/manifests/1", {"Accept": "x"}, None)
    assert (status, body) == (200, b"hello")
    assert headers.get("Docker-Content-Digest") == "sha256:1"  # any case
    assert conn.request("GET", "r.example:5000", "/v2/", {}, None)[2] == b"hello"
    assert server.connections == 1
    first = server.requests[0].decode()
    assert first.startswith("GET /v2/a/manifests/1 HTTP/1.1\r\nHost: r.example:5000\r\nAccept: x\r\n")


def test_put_sends_the_body_with_its_length_and_head_reads_no_body():
    server = ScriptedServer([b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
                             b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", OK])
    conn = _connection(server)
    assert conn.request("PUT", "h", "/v2/a/manifests/1", {}, b'{"x": 1}')[0] == 201
    assert server.requests[0].endswith(b"Content-Length: 8\r\n\r\n{\"x\": 1}")
    status, headers, body = conn.request("HEAD", "h", "/v2/a/manifests/1", {}, None)
    assert (status, headers.get("content-length"), body) == (200, "1234", b"")
    assert conn.request("GET", "h", "/", {}, None)[2] == b"hello"  # the HEAD left nothing unread


def test_chunked_body_interim_answer_and_repeated_headers():
    server = ScriptedServer([b"HTTP/1.1 100 Continue\r\n\r\n"
                             b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nLink: <a>\r\nLink: <b>\r\n\r\n"
                             b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n", OK])
    conn = _connection(server)
    status, headers, body = conn.request("GET", "h", "/", {}, None)
    assert (status, body, headers.get("link")) == (200, b"hello world", "<a>, <b>")
    assert conn.request("GET", "h", "/", {}, None)[2] == b"hello"


def test_connection_close_and_body_to_the_end_of_the_connection():
    server = ScriptedServer([b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", OK])
    conn = _connection(server)
    assert conn.request("GET", "h", "/", {}, None)[2] == b"hi"
    assert conn.request("GET", "h", "/", {}, None)[2] == b"hello"
    assert server.connections == 2
    server = ScriptedServer([b"HTTP/1.0 200 OK\r\n\r\nuntil the end"], close_after=True)
    assert _connection(server).request("GET", "h", "/", {}, None)[2] == b"until the end"


def test_a_connection_the_server_closed_while_idle_is_reopened_once():
    server = ScriptedServer([OK, None, OK], close_idle=True)
    conn = _connection(server)
    assert conn.request("GET", "h", "/", {}, None)[2] == b"hello"
    assert conn.request("PUT", "h", "/", {}, b"again")[2] == b"hello"
    assert server.connections == 2
    assert server.requests[1].endswith(b"again")


def test_a_fresh_connection_closed_without_an_answer_is_an_error():
    server = ScriptedServer([None])
    with pytest.raises(HTTPProtocolError, match="closed the connection"):
        _connection(server).request("GET", "h", "/", {}, None)


@pytest.mark.parametrize("response, message", [
    (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x status line"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed response header"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "5 bytes into a 10-byte body"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "malformed Content-Length"),
])
def test_broken_answers_are_named(response, message):
    server = ScriptedServer([response], close_after=True)
    with pytest.raises(HTTPProtocolError, match=message):
        _connection(server).request("GET", "h", "/", {}, None)


def test_refused_connection_is_an_os_error():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(ConnectionRefusedError):
        Connection("127.0.0.1", port, timeout=2).request("GET", "h", "/", {}, None)


def test_protocol_errors_are_buildfarm_errors_and_oserrors():
    from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError

    assert issubclass(HTTPProtocolError, BuildfarmError) and issubclass(HTTPProtocolError, OSError)
    assert str(HTTPProtocolError("malformed response header")) == "malformed response header"
