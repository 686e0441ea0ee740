"""gunicorn's own log lines (a request it cannot parse, its access log) never hold a query string."""

from __future__ import annotations

import socket

import requests

from .live import LiveServer


def send_raw(server: LiveServer, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(raw)
        return conn.recv(65536)


def test_a_malformed_request_line_is_logged_without_its_query_string(tmp_path):
    log_path = tmp_path / "gunicorn.log"
    # gunicorn's access log on, with %(r)s: the whole request line, query string included.
    env = {
        "MESSENGER_DB": str(tmp_path / "m.db"),
        "GUNICORN_CMD_ARGS": "--access-logfile=- --access-logformat='%(r)s %(s)s %(q)s'",
    }
    server = LiveServer(env, log_path=log_path).start()
    try:
        line_refused = send_raw(server, b"GET /stream?token=secret-in-a-bad-line\r\n\r\n")
        version_refused = send_raw(server, b"GET /stream?since=1&token=secret-two HTTP/9 x\r\n\r\n")
        mangled = send_raw(server, b"GET /stream token=secret-three\r\n\r\n")
        served = requests.get(server.url + "/healthz?token=secret-in-the-access-log", timeout=10)
    finally:
        server.stop()

    assert line_refused.startswith(b"HTTP/1.1 400 ") and version_refused.startswith(b"HTTP/1.1 400 ")
    assert mangled.startswith(b"HTTP/1.1 400 ") and served.status_code == 200
    log = log_path.read_text()
    assert "Invalid HTTP request line: 'GET /stream?[redacted]'" in log  # still logged...
    assert "GET /healthz?[redacted] HTTP/1.1 200" in log
    for secret in ("secret-in-a-bad-line", "secret-two", "secret-three", "secret-in-the-access-log"):
        assert secret not in log  # ...without the secret
