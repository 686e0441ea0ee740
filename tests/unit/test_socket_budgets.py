"""A socket's outbox (bounded in bytes) and its frame budget (a token bucket)."""

from __future__ import annotations

import sys
import threading

from messenger.web.limits import TokenBucket
from messenger.web.socket_io import Outbox


def test_the_outbox_makes_a_producer_wait_once_it_holds_its_bound_in_bytes():
    frame = "x" * 1000
    outbox = Outbox(max_bytes=3 * sys.getsizeof(frame))
    for _ in range(3):
        assert outbox.wait_for_room(0)
        outbox.put(frame)
    assert not outbox.wait_for_room(0.01)  # full: the session waits, and reads no more frames
    assert outbox.get(0) == frame
    assert outbox.wait_for_room(0)


def test_one_frame_larger_than_the_bound_still_goes_out_whole():
    outbox = Outbox(max_bytes=100)
    big = "y" * 10_000
    assert outbox.wait_for_room(0)
    outbox.put(big)
    assert not outbox.wait_for_room(0)
    assert outbox.get(0) == big


def test_a_waiting_producer_is_released_when_the_writer_takes_a_frame_or_closes():
    outbox = Outbox(max_bytes=1)
    outbox.put("a")
    released = []
    waiter = threading.Thread(target=lambda: released.append(outbox.wait_for_room(5)))
    waiter.start()
    assert outbox.get(1) == "a"
    waiter.join(1)
    assert released == [True]

    outbox.put("b")
    waiter = threading.Thread(target=lambda: released.append(outbox.wait_for_room(5)))
    waiter.start()
    outbox.close()  # the writer is gone: nobody must wait for it
    waiter.join(1)
    assert released == [True, True]
    outbox.put("dropped")
    assert outbox.get(0) is None


def test_clearing_frees_the_bytes():
    outbox = Outbox(max_bytes=10)
    outbox.put("z" * 100)
    outbox.clear()
    assert outbox.held_bytes == 0 and outbox.empty()


def test_the_token_bucket_allows_its_burst_then_its_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=5, clock=lambda: now[0])
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    now[0] += 1.0  # two tokens back
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] += 100.0  # never more than the burst
    assert sum(bucket.take() for _ in range(10)) == 5


def test_ipv6_connections_share_their_64_and_ipv4_ones_their_address():
    from messenger.worker import _address_key

    assert _address_key("2001:db8:1:2:aaaa::1") == _address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::"
    assert _address_key("2001:db8:1:3::1") != _address_key("2001:db8:1:2::1")
    assert _address_key("203.0.113.7") == "203.0.113.7"


def test_a_response_is_written_in_pieces_each_with_its_own_deadline():
    """gevent gives one sendall a single deadline for all its bytes: a 1.6 MB page to a slow
    link would miss SOCKET_TIMEOUT_S. Written 64 KiB at a time, only a stalled client does."""
    from messenger.worker import WRITE_CHUNK, ChunkedWrites

    class Recording:
        def __init__(self) -> None:
            self.writes: list[bytes] = []

        def sendall(self, data, flags=0) -> None:
            self.writes.append(bytes(data))

    sock = Recording()
    page = bytes(range(256)) * (5 * WRITE_CHUNK // 256 + 3)
    ChunkedWrites(sock).sendall(page)
    assert b"".join(sock.writes) == page
    assert max(len(write) for write in sock.writes) == WRITE_CHUNK and len(sock.writes) == 6
