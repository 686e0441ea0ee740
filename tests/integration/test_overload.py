"""Slow consumers and too many long-polls: one client's behaviour never slows the others."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from .clients import Closed, Http, Stream
from .live import LiveServer

OUTBOX_BYTES = 200_000
BURST = 1500  # 6 MB: more than the kernel buffers (4 MB at most here) and the outbox hold
BIG = "x" * 3990  # with its number, just under the 4,000-character limit


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("overload")
    env = {
        "MESSENGER_DB": str(tmp / "m.db"),
        "WS_OUTBOX_BYTES": str(OUTBOX_BYTES),
        "WS_SEND_TIMEOUT_S": "1",  # a full outbox for 1 s means the client stopped reading
        "MAX_POLLS_PER_USER": "2",
    }
    live = LiveServer(env, log_path=tmp / "gunicorn.log").start()
    yield live
    live.stop()


def test_a_socket_that_stops_reading_is_told_to_resume_and_slows_no_one(server):
    http = Http(server.url)
    alice, slow, healthy = http.signup(), http.signup(), http.signup()
    thread_id = http.open_thread(alice, [slow, healthy])
    start = http.cursor(slow)
    small_buffer = ((socket.SOL_SOCKET, socket.SO_RCVBUF, 32768),)  # set before connecting, so it holds
    slow_stream = Stream(server.url, slow.token, since=start, sockopt=small_buffer)
    healthy_stream = Stream(server.url, healthy.token, since=http.cursor(healthy))

    healthy_got: list[dict] = []
    reading = threading.Thread(target=lambda: healthy_got.extend(healthy_stream.updates(BURST, timeout=60)))
    reading.start()
    with ThreadPoolExecutor(4) as pool:  # the burst, while `slow` reads nothing
        replies = list(
            pool.map(lambda i: http.send(alice, thread_id, f"{i} {BIG}").status_code, range(BURST))
        )
    burst_done = time.monotonic()
    assert replies == [201] * BURST
    reading.join(60)
    assert len(healthy_got) == BURST  # the reading client got everything, during the burst
    assert time.monotonic() - burst_done < 5

    received, cursor = [], start
    with pytest.raises(Closed) as closed:
        while True:
            (update,) = slow_stream.updates(1, timeout=10)
            received.append(update)
            cursor = update["cursor"]
    assert closed.value.code == 4429
    assert len(received) < BURST  # it was cut off, not served without bound

    resumed = Stream(server.url, slow.token, since=cursor)
    rest = resumed.updates(BURST - len(received), timeout=30)
    seqs = [u["message"]["seq"] for u in received + rest]
    assert seqs == list(range(2, BURST + 2))  # nothing lost, nothing twice
    resumed.close()
    healthy_stream.close()


def test_a_new_long_poll_beyond_the_limit_ends_the_oldest(server):
    http = Http(server.url)
    alice, bob = http.signup(), http.signup()
    http.open_thread(alice, [bob])
    cursor = http.cursor(bob)
    finished: dict[int, float] = {}

    def poll(n: int) -> None:
        Http(server.url).updates(bob, cursor, timeout=10)
        finished[n] = time.monotonic()

    polls = []
    for n in range(3):  # the limit is 2 per user
        polls.append(threading.Thread(target=poll, args=(n,)))
        polls[-1].start()
        time.sleep(0.3)
    polls[0].join(5)
    assert 0 in finished and 1 not in finished and 2 not in finished  # only the oldest ended
    http.send(alice, http.open_thread(alice, [bob]), "wakes the others")
    for thread in polls:
        thread.join(5)
    assert set(finished) == {0, 1, 2}


def test_typing_toward_a_long_polling_user_does_not_make_the_poll_spin(server):
    http = Http(server.url)
    alice, bob = http.signup(), http.signup()
    thread_id = http.open_thread(alice, [bob])
    cursor = http.cursor(bob)
    polled = {}
    poller = threading.Thread(target=lambda: polled.update(reply=http.updates(bob, cursor, timeout=3)))
    poller.start()
    time.sleep(0.3)
    typist = Stream(server.url, alice.token)
    assert typist.request({"action": "typing", "thread_id": thread_id})["status"] == 200
    started = time.monotonic()
    assert Http(server.url).send(alice, thread_id, "while bob polls").status_code == 201
    assert time.monotonic() - started < 1  # the worker is not busy spinning
    poller.join(5)
    assert [u["type"] for u in polled["reply"].json()["updates"]] == ["message.new"]
    typist.close()
