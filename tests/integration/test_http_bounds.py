"""What one client's HTTP connections may cost a worker: unread answers, slow bodies, connection
slots; and idle connections that clients reuse (messenger/worker.py)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from .clients import Http, Stream, emoji_thread
from .live import LiveServer

UNREAD_PAGES = 50  # unread answers of a 100-message page each: 240 MiB held before
MEMORY_MARGIN_MIB = 60
ATTACKER = "127.0.0.2"  # another client address on the loopback network
FLOOD = 5100  # more connections than the worker's 5,000
PER_ADDRESS = 256  # the default MAX_CONNECTIONS_PER_ADDRESS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("http-bounds")
    env = {
        "MESSENGER_DB": str(tmp / "m.db"),
        "MAX_REQUESTS_IN_FLIGHT_PER_USER": "4",
        "READ_TIMEOUT_S": "2",
        "SOCKET_TIMEOUT_S": "2",
    }
    live = LiveServer(env, log_path=tmp / "gunicorn.log").start()
    yield live
    live.stop()


def raw_connection(server, source: str = "127.0.0.1", receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket()
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", server.port))
    return sock


def read_reply(sock: socket.socket, timeout: float = 10) -> tuple[int, dict, bytes]:
    """Status, headers and body of one response; b"" as body if the connection closed first."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return 0, {}, b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(65536)
    return int(status_line.split()[1]), headers, body


def closed_by_server(sock: socket.socket, timeout: float = 5) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_answers_nobody_reads_hold_at_most_the_users_requests_in_flight(server):
    http_client = Http(server.url)
    alice, thread_id = emoji_thread(http_client)
    request = (
        f"GET /threads/{thread_id}/messages?start_index=0&end_index=100 HTTP/1.1\r\n"
        f"Host: x\r\nAuthorization: Bearer {alice.token}\r\n\r\n"
    ).encode()
    before = server.worker_rss_mib()
    connections = [raw_connection(server, receive_buffer=16384) for _ in range(UNREAD_PAGES)]
    for sock in connections:
        sock.sendall(request)  # and never read the answer
    peak = before
    for _ in range(30):
        peak = max(peak, server.worker_rss_mib())
        time.sleep(0.1)
    assert peak - before < MEMORY_MARGIN_MIB
    for sock in connections:
        sock.close()


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous signin", "signed-in message"])
def test_a_body_that_trickles_in_is_answered_408_and_its_connection_closed(server, signed_in):
    auth = ""
    path = "/auth/signin"
    if signed_in:
        user = Http(server.url).signup()
        auth, path = f"Authorization: Bearer {user.token}\r\n", "/message"
    sock = raw_connection(server)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n"
        f"Content-Length: 1000\r\n\r\n{{".encode()
    )
    started = time.monotonic()

    def trickle() -> None:
        for _ in range(40):  # a byte every quarter second: 10 s, far past READ_TIMEOUT_S
            try:
                sock.send(b" ")
            except OSError:
                return
            time.sleep(0.25)

    threading.Thread(target=trickle, daemon=True).start()
    status, _, body = read_reply(sock)
    assert status == 408
    assert json.loads(body)["error"]["code"] == "request_timeout"
    assert time.monotonic() - started < 5  # READ_TIMEOUT_S is 2
    assert closed_by_server(sock)


def test_a_new_connection_whose_request_head_trickles_in_is_closed(server):
    sock = raw_connection(server)
    started = time.monotonic()
    sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # and the rest never comes
    assert closed_by_server(sock, timeout=10)
    assert time.monotonic() - started < 5  # READ_TIMEOUT_S is 2; KEEPALIVE_S (75) is for later


def test_a_body_sent_after_100_continue_is_read(server):
    user = Http(server.url).signup()
    payload = json.dumps({"login": user.username, "password": "correct horse battery"}).encode()
    sock = raw_connection(server)
    sock.sendall(
        b"POST /auth/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(payload)
    )
    sock.settimeout(5)
    assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")  # then the client sends the body
    sock.sendall(payload)
    status, _, reply = read_reply(sock)
    assert status == 200, reply


def test_a_chunked_body_over_max_content_length_is_413(server):
    sock = raw_connection(server)
    chunk = b"a" * 8192
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(10)) + b"0\r\n\r\n"  # 80 KiB
    sock.sendall(
        b"POST /auth/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + body
    )
    status, _, reply = read_reply(sock)
    assert status == 413
    assert json.loads(reply)["error"]["code"] == "payload_too_large"


def test_a_chunked_body_within_the_limit_is_read_whole(server):
    user = Http(server.url).signup()
    payload = json.dumps({"login": user.username, "password": "correct horse battery"}).encode()
    sock = raw_connection(server)
    sock.sendall(
        b"POST /auth/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload)
    )
    status, _, reply = read_reply(sock)
    assert status in (200, 401), reply  # the body reached the app: not a 400 for an empty body
    assert json.loads(reply).get("error", {}).get("code") != "validation_error"


def test_kept_alive_connections_reused_every_few_seconds_never_fail(server):
    """50 senders each post every 2.5 s on their kept-alive connection, as paced clients do:
    the server must not close an idle connection just as the client reuses it."""
    http_client = Http(server.url)
    bob = http_client.signup()

    def sender(n: int) -> list[object]:
        alice = http_client.signup()
        thread_id = http_client.open_thread(alice, [bob])
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        outcomes = []
        for round_ in range(3):
            time.sleep(2.5)
            message = {"user_id": alice.user_id, "contents": "hi", "timestamp": 1_700_000_000_000 + round_}
            payload = {"thread_id": thread_id, "message": message}
            try:
                connection.request("POST", "/message", json.dumps(payload), headers=_json(alice.token))
                reply = connection.getresponse()
                reply.read()
                outcomes.append(reply.status)
            except (http.client.HTTPException, OSError) as error:  # a reset or a closed connection
                outcomes.append(repr(error))
        connection.close()
        return outcomes

    with ThreadPoolExecutor(50) as pool:
        outcomes = [outcome for sender_outcomes in pool.map(sender, range(50)) for outcome in sender_outcomes]
    assert outcomes == [201] * 150


def test_one_address_cannot_take_every_connection_of_a_worker(server):
    flood: list[socket.socket] = []
    refused = 0
    try:
        for _ in range(FLOOD):  # connections that send nothing, from one address
            flood.append(raw_connection(server, source=ATTACKER))
        http_client = Http(server.url)  # another address meanwhile
        started = time.monotonic()
        alice, bob = http_client.signup(), http_client.signup()
        http_client.open_thread(alice, [bob])
        assert time.monotonic() - started < 5
        for sock in flood[PER_ADDRESS + 10 :][:50]:  # past the share: answered 429 and closed
            status, headers, body = read_reply(sock, timeout=5)
            refused += status == 429
            assert json.loads(body)["error"]["code"] == "too_many_connections"
            assert headers["retry-after"] == "1"
        assert refused == 50
    finally:
        for sock in flood:
            sock.close()


def test_a_flood_from_one_user_does_not_starve_another_users_send(server):
    http_client = Http(server.url)
    mallory, thread_id = emoji_thread(http_client, messages=20)
    sockets = [Stream(server.url, mallory.token) for _ in range(40)]  # 10 stay open
    page = (
        f"GET /threads/{thread_id}/messages?start_index=0&end_index=100 HTTP/1.1\r\n"
        f"Host: x\r\nAuthorization: Bearer {mallory.token}\r\n\r\n"
    ).encode()
    unread = [raw_connection(server, receive_buffer=16384) for _ in range(40)]
    for sock in unread:
        sock.sendall(page * 3)
    try:
        started = time.monotonic()
        alice, bob = http_client.signup(), http_client.signup()
        reply = http_client.send(alice, http_client.open_thread(alice, [bob]), "still served")
        assert reply.status_code == 201
        assert time.monotonic() - started < 5
    finally:
        for sock in unread:
            sock.close()
        for stream in sockets:
            stream.ws.close(timeout=0)


def _json(token: str) -> dict:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
