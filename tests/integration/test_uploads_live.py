"""Uploads through the real worker (messenger/worker.py): streamed to the store as they arrive,
never held whole by the worker; refused by their declared length before a byte of the body is
read; cut off when they stall or pass their bound; and downloaded whole or by range."""

from __future__ import annotations

import hashlib
import os
import socket
import time

import pytest
import requests

from .clients import Http
from .live import LiveServer
from .test_http_bounds import read_reply

MIB = 1024 * 1024
UPLOAD_MIB = 30
MAX_UPLOAD_MIB = 40
GROWTH_MARGIN_MIB = 15  # a worker that held the upload whole would grow by 30 MiB


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("uploads")
    env = {
        "MESSENGER_DB": str(tmp / "m.db"),
        "MAX_ATTACHMENT_BYTES": str(MAX_UPLOAD_MIB * MIB),
        "UPLOAD_TIMEOUT_S": "20",
        "SOCKET_TIMEOUT_S": "2",
    }
    live = LiveServer(env, log_path=tmp / "gunicorn.log").start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def alice(server):
    return Http(server.url).signup()


def chunks(total: int, size: int = MIB):
    block = os.urandom(size)
    sent = 0
    while sent < total:
        yield block[: min(size, total - sent)]
        sent += size


def test_a_large_upload_streams_through_a_worker_that_never_holds_it(server, alice):
    before = server.worker_rss_mib()
    digest = hashlib.sha256()
    samples = []

    def body():
        for index, chunk in enumerate(chunks(UPLOAD_MIB * MIB)):
            if index == UPLOAD_MIB * 9 // 10:  # nearly all sent: a worker holding it would show it now
                time.sleep(0.5)
                samples.append(server.worker_rss_mib())
            digest.update(chunk)
            yield chunk

    reply = requests.post(
        f"{server.url}/attachments",
        params={"filename": "big.bin"},
        data=body(),
        headers=alice.headers,
        timeout=60,
    )
    assert reply.status_code == 201, reply.text
    grown = max(samples) - before
    attachment = reply.json()["attachment"]
    assert (attachment["size"], attachment["sha256"]) == (UPLOAD_MIB * MIB, digest.hexdigest())
    assert grown < GROWTH_MARGIN_MIB, f"the worker grew by {grown:.1f} MiB during a {UPLOAD_MIB} MiB upload"

    downloaded = hashlib.sha256()
    with requests.get(server.url + attachment["url"], stream=True, timeout=60) as served:
        assert served.status_code == 200
        for chunk in served.iter_content(MIB):
            downloaded.update(chunk)
    assert downloaded.hexdigest() == attachment["sha256"]
    part = requests.get(server.url + attachment["url"], headers={"Range": "bytes=100-199"}, timeout=10)
    assert (part.status_code, len(part.content)) == (206, 100)


def upload_head(alice, length: int | None) -> bytes:
    size = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST /attachments?filename=x.bin HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {alice.token}\r\n"
        f"Content-Type: application/octet-stream\r\n{size}\r\n\r\n"
    ).encode()


def test_a_declared_length_over_the_bound_is_refused_before_the_body_is_sent(server, alice):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(upload_head(alice, (MAX_UPLOAD_MIB + 1) * MIB))  # and not a byte more
        status, headers, body = read_reply(sock)
    assert status == 413 and b"payload_too_large" in body


def test_a_chunked_upload_past_the_bound_is_cut_off(server, alice):
    reply = requests.post(
        f"{server.url}/attachments",
        params={"filename": "endless.bin"},
        data=chunks((MAX_UPLOAD_MIB + 5) * MIB),
        headers=alice.headers,
        timeout=60,
    )
    assert reply.status_code == 413 and reply.json()["error"]["code"] == "payload_too_large"


def test_an_upload_that_stalls_is_answered_408_and_its_connection_closed(server, alice):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(upload_head(alice, 1 * MIB) + b"only the first few bytes")
        started = time.monotonic()
        status, _, body = read_reply(sock, timeout=15)
        waited = time.monotonic() - started
        assert status == 408 and b"request_timeout" in body
        assert waited < 10  # SOCKET_TIMEOUT_S (2 s), not the whole UPLOAD_TIMEOUT_S
        sock.settimeout(5)
        assert sock.recv(1) == b""  # closed: the rest of that body is never read


def test_a_file_of_exactly_the_bound_is_taken_and_one_byte_more_is_not(server, alice):
    def send(size: int):
        return requests.post(
            f"{server.url}/attachments",
            params={"filename": "edge.bin"},
            data=b"\0" * size,
            headers=alice.headers,
            timeout=60,
        )

    assert send(MAX_UPLOAD_MIB * MIB).status_code == 201
    too_big = send(MAX_UPLOAD_MIB * MIB + 1)
    assert (too_big.status_code, too_big.json()["error"]["code"]) == (413, "payload_too_large")


def test_an_upload_cut_short_is_refused_and_keeps_nothing(server, alice):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(upload_head(alice, 1000) + b"x" * 500)
        sock.shutdown(socket.SHUT_WR)  # the client gave up half-way
        status, _, body = read_reply(sock)
    assert status == 400 and b"incomplete_body" in body


def test_a_refused_upload_is_answered_before_the_client_sends_its_body(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /attachments?filename=x.bin HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        status, _, body = read_reply(sock)  # no token: no "100 Continue", just the answer
    assert status == 401 and b"auth_required" in body


@pytest.fixture(scope="module")
def impatient_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("uploads-impatient")
    env = {"MESSENGER_DB": str(tmp / "m.db"), "UPLOAD_TIMEOUT_S": "3", "SOCKET_TIMEOUT_S": "2"}
    live = LiveServer(env, log_path=tmp / "gunicorn.log").start()
    yield live
    live.stop()


def test_an_upload_that_trickles_in_is_cut_off_at_its_deadline(impatient_server):
    alice = Http(impatient_server.url).signup()
    with socket.create_connection(("127.0.0.1", impatient_server.port)) as sock:
        sock.sendall(upload_head(alice, 1 * MIB))
        started = time.monotonic()
        sock.settimeout(1.0)
        answer = b""
        while time.monotonic() - started < 15 and not answer:
            try:
                sock.sendall(b"x")  # a byte a second: never a stall of SOCKET_TIMEOUT_S
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert waited < 8  # UPLOAD_TIMEOUT_S (3 s), not minutes
