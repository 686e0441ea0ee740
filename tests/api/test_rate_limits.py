"""Rate limits: 429 rate_limited with Retry-After, per address for accounts, per user for sends."""

from __future__ import annotations

import pytest
from limits import parse_many

from messenger.web.limits import LocalCounters

from .client import Api, error_of


@pytest.fixture
def limited(make_app):
    app = make_app(
        rate_limits_enabled=True,
        rate_limit_signup="3 per minute",
        rate_limit_signin="2 per minute",
        rate_limit_send="3 per minute",
        rate_limit_updates="2 per minute",
    )
    return Api(app.test_client())


def retry_after(response) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= 60
    return seconds


def test_sign_in_attempts_from_one_address_are_limited_whatever_the_login(limited):
    limited.signup("alice")
    for login in ("alice", "nobody"):
        assert (
            limited.client.post(
                "/auth/signin", json={"login": login, "password": "wrong-password"}
            ).status_code
            == 401
        )
    refused = limited.client.post(
        "/auth/signin", json={"login": "alice", "password": "correct horse battery"}
    )
    error_of(refused, 429, "rate_limited")
    retry_after(refused)
    other_address = limited.client.post(
        "/auth/signin",
        json={"login": "alice", "password": "correct horse battery"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert other_address.status_code != 429


def test_sign_ups_from_one_address_are_limited(limited):
    for name in ("ann", "ben", "cat"):
        limited.signup(name)
    body = {"email": "dan@example.com", "username": "dan", "password": "correct horse battery"}
    refused = limited.client.post("/auth/signup", json=body)
    error_of(refused, 429, "rate_limited")
    assert (
        limited.client.post(
            "/auth/signin", json={"login": "dan", "password": "correct horse battery"}
        ).status_code
        == 401
    )


def test_sends_are_limited_per_user_on_every_route_and_nothing_is_stored(limited):
    alice, bob = limited.signup("alice"), limited.signup("bob")
    thread_id = limited.open_thread(alice, [bob], "one")  # the 1st send
    assert limited.send(alice, thread_id, "two").status_code == 201
    by_action = limited.action(
        alice,
        {
            "action": "send_message",
            "thread_id": thread_id,
            "message": {"user_id": alice.user_id, "contents": "three", "timestamp": 1},
        },
    )
    assert by_action.status_code == 201
    refused = limited.send(alice, thread_id, "four")
    details = error_of(refused, 429, "rate_limited")
    assert details["retry_after"] == retry_after(refused)
    assert limited.send(bob, thread_id, "bob is not limited by alice").status_code == 201
    contents = [m["contents"] for m in limited.messages(bob, thread_id).get_json()["messages"]]
    assert "four" not in contents and len(contents) == 4


def test_long_polls_are_limited_per_user(limited):
    alice = limited.signup("alice")
    for _ in range(2):
        assert limited.client.get("/updates?since=0&timeout=0", headers=alice.headers).status_code == 200
    error_of(limited.client.get("/updates?since=0&timeout=0", headers=alice.headers), 429, "rate_limited")


def test_a_local_window_starts_at_the_first_hit_and_expired_ones_are_forgotten():
    now = [1000.0]
    counters = LocalCounters(clock=lambda: now[0])
    (per_minute,) = parse_many("2 per minute")
    assert [counters.hit(per_minute, "send", "alice") for _ in range(3)] == [True, True, False]
    assert counters.get_window_stats(per_minute, "send", "alice") == (1060.0, 0)
    now[0] = 1059.9
    assert not counters.hit(per_minute, "send", "alice")
    assert counters.hit(per_minute, "send", "bob")  # a count per key
    now[0] = 1060.0
    assert counters.hit(per_minute, "send", "alice")  # a new window
    now[0] = 2000.0
    counters.hit(per_minute, "send", "carol")
    assert counters.active_keys() == 1  # alice's and bob's windows were swept
