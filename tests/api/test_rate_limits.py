"""Rate limits: 429 rate_limited with Retry-After, per address for accounts, per user for sends."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from limits import parse_many

from messenger.errors import RateLimited
from messenger.service import threads
from messenger.web.actions import SOCKET_ACTIONS, dispatch
from messenger.web.context import deps
from messenger.web.limits import LIMITS_KEY, SCOPES, LocalCounters, RateLimits, rate_limits

from .client import Api, error_of, message_body


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


# Per-user limits on every costly action ------------------------------------------------
GENEROUS = {f"rate_limit_{scope}": "1000 per minute" for scope in SCOPES}


@pytest.fixture
def limit_one(make_app):
    """``limit_one("read")``: an app where that scope allows 2 per minute and the rest plenty;
    alice created a group with bob and carol; dave is in none of it."""

    def make(scope: str) -> tuple[Flask, Api, dict, str]:
        app = make_app(rate_limits_enabled=True, **{**GENEROUS, f"rate_limit_{scope}": "2 per minute"})
        api = Api(app.test_client())
        people = {name: api.signup(name) for name in ("alice", "bob", "carol", "dave", "erin")}
        group = [people[name].user_id for name in ("alice", "bob", "carol")]
        with app.app_context():  # not through the routes: this would count as alice's first
            thread, *_ = threads.create_thread(deps(), group[0], group, "hi", 1, title="G")
        return app, api, people, thread.thread_id

    return make


# Each makes one request of alice's in the scope; three in a row must meet the third with 429.
# The members case alternates adds and removals, the cycle that flooded a victim's update log.
COSTLY_REQUESTS: dict[str, tuple[str, Callable]] = {
    "POST /threads/<id>/members and DELETE": (
        "members",
        lambda api, p, t, i: (
            api.remove_member(p["alice"], t, p["dave"])
            if i == 1
            else api.add_members(p["alice"], t, [p["dave"] if i == 0 else p["erin"]])
        ),
    ),
    "POST /threads/<id>/read": ("mark_read", lambda api, p, t, i: api.mark_read(p["alice"], t, 1)),
    "POST /threads": (
        "create_thread",
        lambda api, p, t, i: api.create_thread(p["alice"], [p["alice"], p["bob"], p["dave"]], title=f"{i}"),
    ),
    "POST /actions create_thread": (
        "create_thread",
        lambda api, p, t, i: api.action(
            p["alice"],
            {
                "action": "create_thread",
                "user_ids": [p["alice"].user_id, p["bob"].user_id, p["dave"].user_id],
                "message": message_body(p["alice"]),
            },
        ),
    ),
    "PATCH /threads/<id>/messages/<seq>": (
        "send",
        lambda api, p, t, i: api.client.patch(
            f"/threads/{t}/messages/1", json={"contents": f"fixed {i}"}, headers=p["alice"].headers
        ),
    ),
    "DELETE /threads/<id>/messages/<seq>": (
        "send",
        lambda api, p, t, i: api.client.delete(f"/threads/{t}/messages/1", headers=p["alice"].headers),
    ),
    "PUT and DELETE /threads/<id>/messages/<seq>/reactions/<emoji>": (
        "send",
        lambda api, p, t, i: api.client.open(
            f"/threads/{t}/messages/1/reactions/👍",
            method="DELETE" if i == 1 else "PUT",
            headers=p["alice"].headers,
        ),
    ),
    "GET /threads": ("read", lambda api, p, t, i: api.threads(p["alice"])),
    "GET /threads/<id>": ("read", lambda api, p, t, i: api.thread(p["alice"], t)),
    "GET /threads/<id>/messages": ("read", lambda api, p, t, i: api.messages(p["alice"], t)),
    "GET /users?q=": ("read", lambda api, p, t, i: api.users(p["alice"], "b")),
    "GET /me": ("read", lambda api, p, t, i: api.me(p["alice"])),
    "PATCH /me": (
        "profile",
        lambda api, p, t, i: api.client.patch(
            "/me", json={"display_name": f"A {i}"}, headers=p["alice"].headers
        ),
    ),
    "GET /me/sessions": ("read", lambda api, p, t, i: api.sessions(p["alice"])),
    "POST /actions get_user_threads": (
        "read",
        lambda api, p, t, i: api.action(
            p["alice"], {"action": "get_user_threads", "user_id": p["alice"].user_id}
        ),
    ),
    "POST /actions get_thread_messages": (
        "read",
        lambda api, p, t, i: api.action(
            p["alice"], {"action": "get_thread_messages", "thread_id": t, "user_id": p["alice"].user_id}
        ),
    ),
}


@pytest.mark.parametrize("case", COSTLY_REQUESTS)
def test_every_costly_request_is_limited_per_user(limit_one, case):
    scope, request = COSTLY_REQUESTS[case]
    _, api, people, thread_id = limit_one(scope)

    allowed = [request(api, people, thread_id, i) for i in range(2)]
    refused = request(api, people, thread_id, 2)

    statuses = [r.status_code for r in allowed]
    assert statuses in ([200, 200], [201, 201], [200, 204], [204, 204]), [r.text for r in allowed]
    details = error_of(refused, 429, "rate_limited")
    assert details["retry_after"] == retry_after(refused)


# The socket's actions, run exactly as the socket runs them: through actions.dispatch.
SOCKET_REQUESTS: dict[str, tuple[str, Callable]] = {
    "edit_message": (
        "send",
        lambda p, t: {"action": "edit_message", "thread_id": t, "seq": 1, "contents": uuid.uuid4().hex},
    ),
    "delete_message": ("send", lambda p, t: {"action": "delete_message", "thread_id": t, "seq": 1}),
    "react": ("send", lambda p, t: {"action": "react", "thread_id": t, "seq": 1, "emoji": "🎉"}),
    "unreact": ("send", lambda p, t: {"action": "unreact", "thread_id": t, "seq": 1, "emoji": "🎉"}),
    "mark_read": ("mark_read", lambda p, t: {"action": "mark_read", "thread_id": t, "seq": 1}),
    "get_user_threads": ("read", lambda p, t: {"action": "get_user_threads", "user_id": p["alice"].user_id}),
    "get_thread_messages": (
        "read",
        lambda p, t: {"action": "get_thread_messages", "thread_id": t, "user_id": p["alice"].user_id},
    ),
    "create_thread": (
        "create_thread",
        lambda p, t: {
            "action": "create_thread",
            "user_ids": [p["alice"].user_id, p["bob"].user_id, p["dave"].user_id],
            "message": message_body(p["alice"]),
        },
    ),
}


@pytest.mark.parametrize("case", SOCKET_REQUESTS)
def test_socket_actions_count_against_the_same_limits(limit_one, case):
    scope, payload = SOCKET_REQUESTS[case]
    app, _, people, thread_id = limit_one(scope)
    alice = people["alice"].user_id

    with app.app_context():
        for _ in range(2):
            dispatch(deps(), rate_limits(), alice, payload(people, thread_id), SOCKET_ACTIONS)
        with pytest.raises(RateLimited) as refused:
            dispatch(deps(), rate_limits(), alice, payload(people, thread_id), SOCKET_ACTIONS)
    assert 1 <= refused.value.details["retry_after"] <= 60


def test_reads_share_one_count_across_routes_and_the_socket(limit_one):
    app, api, people, thread_id = limit_one("read")
    alice = people["alice"]

    assert api.threads(alice).status_code == 200
    with app.app_context():
        dispatch(
            deps(),
            rate_limits(),
            alice.user_id,
            {"action": "get_user_threads", "user_id": alice.user_id},
            SOCKET_ACTIONS,
        )

    error_of(api.messages(alice, thread_id), 429, "rate_limited")
    assert api.messages(people["bob"], thread_id).status_code == 200  # bob has his own count


def test_a_malformed_request_counts_too(limit_one):
    _, api, people, thread_id = limit_one("members")
    alice = people["alice"]
    for _ in range(2):
        error_of(api.add_members(alice, thread_id, ["ghost"]), 422, "unknown_users")
    error_of(api.add_members(alice, thread_id, [people["dave"]]), 429, "rate_limited")
    members = [member["user_id"] for member in api.thread_view(alice, thread_id)["members"]]
    assert people["dave"].user_id not in members


# Failed sign-ins per account ------------------------------------------------------------
@pytest.fixture
def guarded(make_app):
    """Plenty of sign-ins per address, but 3 failures per account in 15 minutes."""
    app = make_app(
        rate_limits_enabled=True,
        rate_limit_signin="1000 per minute",
        rate_limit_signin_failures="3 per 15 minutes",
    )
    return app, Api(app.test_client())


def sign_in_from(api: Api, address: str, login: str, password: str):
    return api.client.post(
        "/auth/signin", json={"login": login, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_failed_sign_ins_of_one_account_are_limited_whatever_the_address(guarded):
    _, api = guarded
    alice, bob = api.signup("alice"), api.signup("bob")
    for i, login in enumerate(["alice", "ALICE@example.com", "Alice"]):  # one account, one count
        assert sign_in_from(api, f"10.0.0.{i}", login, "a guess").status_code == 401

    refused = sign_in_from(api, "10.9.9.9", "alice", alice.password)  # even the right password

    details = error_of(refused, 429, "rate_limited")
    assert 1 <= details["retry_after"] == int(refused.headers["Retry-After"]) <= 15 * 60
    assert sign_in_from(api, "10.9.9.9", "bob", bob.password).status_code == 200
    assert api.me(alice).status_code == 200  # a signed-in device is not signed out


def test_an_unknown_login_is_refused_exactly_like_a_real_one(guarded):
    _, api = guarded
    api.signup("alice")
    for login in ("alice", "nobody"):
        for i in range(3):
            assert sign_in_from(api, f"10.0.1.{i}", login, "a guess").status_code == 401

    real, unknown = (sign_in_from(api, "10.0.2.1", login, "a guess") for login in ("alice", "nobody"))

    assert error_of(real, 429, "rate_limited") == error_of(unknown, 429, "rate_limited")
    assert real.get_json() == unknown.get_json()
    assert real.headers["Retry-After"] == unknown.headers["Retry-After"]


def test_failures_with_a_variant_spelling_tell_nothing_about_whether_an_account_exists(guarded):
    """Failing as "alice " (which matches no account) then trying "alice" must answer the same
    whether or not alice exists: each spelling is counted as the store matches it."""
    _, api = guarded
    api.signup("alice")
    answers = {}
    for login in ("alice", "nobody"):
        for i in range(3):
            assert sign_in_from(api, f"10.0.4.{i}", f"{login} ", "a guess").status_code == 401
        answers[login] = sign_in_from(api, "10.0.5.1", login, "a guess").status_code
    assert answers == {"alice": 401, "nobody": 401}


def test_successful_sign_ins_do_not_count_as_failures(guarded):
    _, api = guarded
    alice = api.signup("alice")
    for i in range(5):
        assert sign_in_from(api, f"10.0.3.{i}", "alice", alice.password).status_code == 200


def test_a_refused_account_may_sign_in_again_when_the_window_ends(guarded):
    app, api = guarded
    now = [1_000_000.0]
    app.extensions[LIMITS_KEY] = RateLimits(app.extensions["messenger"].settings, clock=lambda: now[0])
    alice = api.signup("alice")
    for i in range(3):
        sign_in_from(api, f"10.0.4.{i}", "alice", "a guess")
    error_of(sign_in_from(api, "10.0.4.9", "alice", alice.password), 429, "rate_limited")

    now[0] += 15 * 60

    assert sign_in_from(api, "10.0.4.9", "alice", alice.password).status_code == 200
