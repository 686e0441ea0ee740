"""Malformed WebSocket handshakes against /stream of a live gunicorn: never a 5xx, never a traceback.

A handshake is an anonymous request: if a malformed one cost a traceback, anybody could fill the
logs at ~2 KB a request. Each is answered in the JSON error shape (400 ``bad_handshake``, 426
``upgrade_required`` for another WebSocket version, 400/405 for a request that is no upgrade at
all) with only its access line logged, and the worker goes on serving.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import given, seed

from ..integration.live import LiveServer
from .conftest import CASES_RUN, SEED, WS_EXAMPLES, hypothesis_settings

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's sample key
GOOD = {
    "Host": "localhost",
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": KEY,
    "Sec-WebSocket-Version": "13",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("handshake-fuzz")
    live = LiveServer({"MESSENGER_DB": str(tmp / "messenger.db")}, log_path=tmp / "gunicorn.log").start()
    yield live
    live.stop()


def worker_pids(server: LiveServer) -> set[int]:
    pid = server.process.pid
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def exchange(server: LiveServer, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """Send one raw request; return the status and the body (none read for a 101 or a HEAD)."""
    lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers.items())]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(raw)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = conn.recv(65536)
            assert chunk, f"connection closed without an answer to {raw!r}"
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while status != 101 and method != "HEAD" and len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
    return status, body


def without(name: str) -> dict[str, str]:
    return {key: value for key, value in GOOD.items() if key != name}


@pytest.mark.parametrize(
    ("method", "headers", "status", "code"),
    [
        ("GET", without("Sec-WebSocket-Key"), 400, "bad_handshake"),
        ("GET", without("Sec-WebSocket-Version"), 400, "bad_handshake"),
        ("GET", {**GOOD, "Sec-WebSocket-Version": "8"}, 426, "upgrade_required"),
        ("GET", {**GOOD, "Host": "xn--"}, 400, "bad_handshake"),  # not IDNA
        ("GET", {**GOOD, "Sec-WebSocket-Protocol": "\x80"}, 400, "bad_handshake"),  # not ASCII
        ("GET", without("Connection"), 400, "bad_request"),
        ("GET", {**GOOD, "Connection": "keep-alive"}, 400, "bad_request"),
        ("GET", {"Host": "localhost"}, 400, "bad_request"),
        ("POST", {"Host": "localhost", "Content-Length": "0"}, 405, "method_not_allowed"),
        ("POST", {**GOOD, "Content-Length": "0"}, 405, "method_not_allowed"),
    ],
)
def test_a_malformed_handshake_is_refused_in_the_json_error_shape(server, method, headers, status, code):
    got, body = exchange(server, method, "/stream", headers)

    assert got == status, body
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"] and error["details"] == {}


def test_another_websocket_version_is_told_the_one_spoken(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        request = "\r\n".join(f"{k}: {v}" for k, v in {**GOOD, "Sec-WebSocket-Version": "7"}.items())
        conn.sendall(f"GET /stream HTTP/1.1\r\n{request}\r\n\r\n".encode())
        head = conn.recv(65536).partition(b"\r\n\r\n")[0].decode()

    assert head.startswith("HTTP/1.1 426 ")
    assert "\r\nSec-WebSocket-Version: 13\r\n" in head


# Strategies -----------------------------------------------------------------------------
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=40,
)
choices = {
    "Host": st.sampled_from(["localhost", "127.0.0.1:1", "", "xn--", "a..b", "\xe9t\xe9"]) | header_text,
    "Upgrade": st.sampled_from(["websocket", "WebSocket", "h2c", "websocket, h2c", ""]) | header_text,
    "Connection": st.sampled_from(["Upgrade", "keep-alive, Upgrade", "close", "upgrade,upgrade", ""])
    | header_text,
    "Sec-WebSocket-Key": st.sampled_from([KEY, "", "short", "=" * 24, KEY * 4]) | header_text,
    "Sec-WebSocket-Version": st.sampled_from(["13", "8", "", "13, 8", "0013", "-1", "99999999999999999999"])
    | header_text,
    "Sec-WebSocket-Extensions": st.sampled_from(
        ["permessage-deflate", "permessage-deflate; client_max_window_bits=99", "x;;;=", ";"]
    )
    | header_text,
    "Sec-WebSocket-Protocol": st.sampled_from(["chat", ",", ", ,", "a b"]) | header_text,
    "Origin": st.sampled_from(["http://evil.example", "null", ""]) | header_text,
}
handshakes = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "GET", "GET", "POST", "HEAD", "PUT", "OPTIONS"]),
        "path": st.sampled_from(
            ["/stream", "/stream?token=", "/stream?since=x", "/stream?since=1&token=abc"]
        ),
        "headers": st.fixed_dictionaries({}, optional=choices),
    }
)


def test_no_handshake_is_a_server_error_and_the_worker_keeps_serving(server):
    workers = worker_pids(server)
    statuses: set[int] = set()

    @hypothesis_settings(WS_EXAMPLES)
    @given(handshake=handshakes)
    def run(handshake: dict) -> None:
        CASES_RUN["ws handshakes"] += 1
        status, body = exchange(server, handshake["method"], handshake["path"], handshake["headers"])
        statuses.add(status)
        assert status < 500, (handshake, status, body)
        if status >= 400 and handshake["method"] != "HEAD" and body.startswith(b"{"):
            assert set(json.loads(body)["error"]) == {"code", "message", "details"}

    if SEED:
        run = seed(int(SEED))(run)
    run()

    assert worker_pids(server) == workers  # no crash, no restart
    assert exchange(server, "GET", "/healthz", {"Host": "localhost"})[0] == 200
    log = server.log_path.read_text()
    assert "Traceback" not in log and "unhandled error" not in log
    assert 400 in statuses
