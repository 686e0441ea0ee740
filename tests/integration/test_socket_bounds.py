"""What one user's sockets may cost a worker: memory in bytes, sockets, and frames a second."""

from __future__ import annotations

import json
import socket
import time

import pytest

from .clients import Closed, Http, Stream, emoji_thread
from .live import LiveServer

PAGE_REQUESTS = 40  # unread answers of a 100-message page each: hundreds of MB held before
MEMORY_MARGIN_MIB = 60  # what the worker may grow by while they wait (25 MiB measured, with pages of 4.8 MB)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("socket-bounds")
    env = {
        "MESSENGER_DB": str(tmp / "m.db"),
        "WS_SEND_TIMEOUT_S": "2",
        "MAX_SOCKETS_PER_USER": "3",
        "WS_FRAMES_PER_S": "5",
        "WS_FRAME_BURST": "10",
    }
    live = LiveServer(env, log_path=tmp / "gunicorn.log").start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def big_thread(server):
    return emoji_thread(Http(server.url))


def test_a_socket_that_never_reads_holds_its_outbox_not_its_answers(server, big_thread):
    alice, thread_id = big_thread
    small_buffer = ((socket.SOL_SOCKET, socket.SO_RCVBUF, 16384),)
    before = server.worker_rss_mib()
    stream = Stream(server.url, alice.token, sockopt=small_buffer)
    page = {"action": "get_thread_messages", "user_id": alice.user_id, "thread_id": thread_id}
    for n in range(PAGE_REQUESTS):  # requests are small: the kernel takes them all
        stream.ws.send(json.dumps({**page, "start_index": 0, "end_index": 100, "request_id": n}))
    peak = before
    for _ in range(30):  # while the client reads nothing, for longer than WS_SEND_TIMEOUT_S
        peak = max(peak, server.worker_rss_mib())
        time.sleep(0.1)
    assert peak - before < MEMORY_MARGIN_MIB

    answered = 0
    with pytest.raises(Closed) as closed:
        while True:
            frame = stream.frame(timeout=10)
            answered += frame["type"] == "result"
    assert closed.value.code == 4429  # told to resume from its cursor
    assert answered < PAGE_REQUESTS  # the rest of its requests were never read, let alone answered


def test_past_the_socket_limit_the_oldest_socket_is_closed_with_4409(server):
    http = Http(server.url)
    carol = http.signup()
    streams = [Stream(server.url, carol.token) for _ in range(3)]
    newest = Stream(server.url, carol.token)
    with pytest.raises(Closed) as closed:
        streams[0].frame(timeout=5)
    assert closed.value.code == 4409
    for stream in [*streams[1:], newest]:  # the others are untouched
        reply = stream.request({"action": "get_user_threads", "user_id": carol.user_id})
        assert reply["status"] == 200
        stream.close()


def test_a_socket_that_floods_frames_is_closed_with_1008_and_others_go_on(server):
    http = Http(server.url)
    dave = http.signup()
    flooding, calm = Stream(server.url, dave.token), Stream(server.url, dave.token)
    threads = {"action": "get_user_threads", "user_id": dave.user_id}
    for n in range(60):  # far past the burst of 10 at 5 a second
        flooding.ws.send(json.dumps({**threads, "request_id": n}))
    results = 0
    with pytest.raises(Closed) as closed:
        while True:
            results += flooding.frame(timeout=5)["type"] == "result"
    assert closed.value.code == 1008
    assert 10 <= results < 20  # the burst, and what the rate refilled meanwhile
    assert calm.request(threads)["status"] == 200
    calm.close()
