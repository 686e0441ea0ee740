"""Two gunicorn servers sharing one SQLite file and one real Redis: delivery across processes."""

from __future__ import annotations

from .clients import Http, Stream, check_delivery_across, contents_of
from .live import LiveServer


def test_a_message_sent_through_one_server_reaches_sockets_and_polls_on_the_other(two_servers):
    check_delivery_across(*two_servers, "across servers")


def test_with_redis_down_sends_are_stored_and_delivery_catches_up_when_it_returns(two_servers, redis_server):
    server_a, server_b = two_servers
    http_a, http_b = Http(server_a.url), Http(server_b.url)
    alice, bob = http_a.signup(), http_a.signup()
    thread_id = http_a.open_thread(alice, [bob])
    stream = Stream(server_b.url, bob.token, since=http_b.cursor(bob))

    redis_server.stop()
    during = [f"during outage {i}" for i in range(5)]
    for text in during:
        reply = http_a.send(alice, thread_id, text)
        assert reply.status_code == 201, reply.text
    missed, _ = http_b.all_updates(bob, 0)
    assert contents_of(missed)[-5:] == during  # stored, and readable on the other server

    redis_server.start()  # same port: the listeners reconnect and tell their waiters to re-read
    assert contents_of(stream.updates(5, timeout=15)) == during
    http_a.send(alice, thread_id, "after")
    assert contents_of(stream.updates(1, timeout=5)) == ["after"]
    stream.close()


def test_rate_limits_are_counted_in_redis_so_every_server_shares_them(tmp_path, redis_server):
    env = {
        "MESSENGER_DB": str(tmp_path / "limited.db"),
        "REDIS_URL": redis_server.url,
        "RATE_LIMIT_SEND": "3 per minute",
    }
    servers = [LiveServer(env, log_path=tmp_path / f"limited-{name}.log").start() for name in "ab"]
    try:
        http_a, http_b = Http(servers[0].url), Http(servers[1].url)
        alice, bob = http_a.signup(), http_a.signup()
        thread_id = http_a.open_thread(alice, [bob], "one")  # the 1st send
        assert http_b.send(alice, thread_id, "two").status_code == 201
        assert http_a.send(alice, thread_id, "three").status_code == 201
        refused = http_b.send(alice, thread_id, "four")
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert http_b.send(bob, thread_id, "bob has his own count").status_code == 201
    finally:
        for server in servers:
            server.stop()
