"""Sessions and devices: the list with its current marker, signing devices out, device names,
the password change, through the real routes."""

from __future__ import annotations

import pytest

from messenger.errors import StoreUnavailable
from messenger.service.accounts import hash_token

from .client import PASSWORD, Api, User, error_of
from .conftest import DAY_MS

SESSION_KEYS = {"session_id", "device", "created_at", "last_seen_at", "expires_at", "address", "current"}
FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_ON_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
NEW_PASSWORD = "a quiet harbour at dusk"
MINUTE_MS = 60_000


def sign_in(api: Api, user, device: str | None = None, user_agent: str | None = None, address=None):
    """Sign ``user`` in on another device; return it with that device's token."""
    body = {"login": user.username, "password": user.password}
    if device is not None:
        body["device"] = device
    headers = {"User-Agent": user_agent} if user_agent is not None else {}
    environ = {"REMOTE_ADDR": address} if address else {}
    response = api.client.post("/auth/signin", json=body, headers=headers, environ_base=environ)
    assert response.status_code == 200, response.get_data(as_text=True)
    return user.with_token(response.get_json()["token"])


def devices(api: Api, who) -> list[str]:
    return [session["device"] for session in api.session_list(who)]


# Listing ---------------------------------------------------------------------------------
def test_each_device_is_listed_with_the_current_one_marked(api, clock):
    alice = api.signup("alice")
    clock.advance(1000)
    laptop = sign_in(api, alice, device="Work laptop")

    sessions = api.session_list(laptop)

    assert [set(s) for s in sessions] == [SESSION_KEYS, SESSION_KEYS]
    assert [(s["device"], s["current"]) for s in sessions] == [("Work laptop", True), ("unknown", False)]
    assert [s["current"] for s in api.session_list(alice)] == [False, True]
    newest, first = sessions
    assert newest["created_at"] > first["created_at"]
    assert newest["last_seen_at"] >= newest["created_at"]
    assert newest["expires_at"] >= newest["created_at"] + 30 * DAY_MS
    assert newest["address"] == "127.0.0.0/24"


def test_the_list_holds_neither_a_token_nor_its_hash(api):
    alice = api.signup("alice")
    other = sign_in(api, alice)

    text = api.sessions(alice).get_data(as_text=True)

    for token in (alice.token, other.token):
        assert token not in text and hash_token(token) not in text
    ids = [s["session_id"] for s in api.session_list(alice)]
    assert len(set(ids)) == 2 and all(len(i) == 32 for i in ids)
    assert ids == [s["session_id"] for s in api.session_list(alice)]  # stable


def test_only_your_own_sessions_are_listed(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    sign_in(api, bob)

    assert len(api.session_list(alice)) == 1
    assert len(api.session_list(bob)) == 2


# Device names ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        (FIREFOX_ON_LINUX, "Firefox on Linux"),
        (CHROME_ON_ANDROID, "Chrome Mobile on Android"),
        ("okhttp/4.12.0", "okhttp"),
        ("", "unknown"),
        ("Werkzeug/3.1.9", "unknown"),
        ("x" * 5000, "unknown"),
    ],
)
def test_a_device_is_named_from_its_user_agent_when_the_sign_in_names_none(api, user_agent, device):
    alice = api.signup("alice")

    signed_in = sign_in(api, alice, user_agent=user_agent)

    assert api.session_list(signed_in)[0]["device"] == device


def test_a_device_named_at_sign_in_or_sign_up_wins_over_the_user_agent(api):
    response = api.client.post(
        "/auth/signup",
        json={"email": "alice@example.com", "username": "alice", "password": PASSWORD, "device": "Pixel 8"},
        headers={"User-Agent": FIREFOX_ON_LINUX},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    alice = User(body["user_id"], body["username"], body["email"], body["token"])

    phone = sign_in(api, alice, device="Alice's iPad 🍎", user_agent=FIREFOX_ON_LINUX)

    assert devices(api, phone) == ["Alice's iPad 🍎", "Pixel 8"]


@pytest.mark.parametrize("device", ["", "   ", "\u200b", "x" * 65, "evil\u202egnp.exe", 5, None])
def test_a_device_name_must_show_something_fit_and_hold_no_bidi_control(api, device):
    alice = api.signup("alice")

    response = api.client.post(
        "/auth/signin", json={"login": "alice", "password": alice.password, "device": device}
    )

    assert list(error_of(response, 422, "validation_error")) == ["device"]


# Where and when it was last used ---------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
    ],
)
def test_a_session_keeps_only_the_network_it_was_used_from(api, address, network):
    alice = api.signup("alice")

    phone = sign_in(api, alice, address=address)

    assert api.session_list(phone)[0]["address"] == network


def test_last_use_and_address_are_written_at_most_once_a_minute(api, clock):
    alice = api.signup("alice")
    created = api.session_list(alice)[0]

    clock.advance(MINUTE_MS // 2)
    assert api.client.get("/me", headers=alice.headers, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert api.session_list(alice)[0]["last_seen_at"] == created["last_seen_at"]  # not yet written
    assert api.session_list(alice)[0]["address"] == "127.0.0.0/24"

    clock.advance(MINUTE_MS)
    assert api.client.get("/me", headers=alice.headers, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    seen = api.session_list(alice)[0]
    assert seen["last_seen_at"] > created["last_seen_at"] + MINUTE_MS
    assert seen["address"] == "203.0.113.0/24"
    assert seen["expires_at"] > created["expires_at"]  # and its use moved the expiry on


def test_a_use_the_store_cannot_write_does_not_fail_the_request(app, clock):
    api = Api(app.test_client())
    alice = api.signup("alice")
    store = app.extensions["messenger"].store

    def cannot_write(*args):
        raise StoreUnavailable()

    store.touch_session = cannot_write
    try:
        clock.advance(2 * MINUTE_MS)
        assert api.me(alice).status_code == 200
        assert api.thread_list(alice) == []
    finally:
        del store.touch_session


def test_a_phone_in_daily_use_is_never_signed_out_and_a_forgotten_one_is(api, clock):
    alice = api.signup("alice")
    forgotten = sign_in(api, alice, device="Old phone")

    for _ in range(100):  # a hundred days, used once a day
        clock.advance(DAY_MS)
        assert api.me(alice).status_code == 200

    error_of(api.me(forgotten), 401, "invalid_token")
    assert devices(api, alice) == ["unknown"]


# Signing one out, or every other one ------------------------------------------------------
def test_signing_a_session_out_ends_its_token_and_no_other(api):
    alice = api.signup("alice")
    phone, laptop = sign_in(api, alice, device="Phone"), sign_in(api, alice, device="Laptop")

    response = api.end_session(alice, api.current_session_id(phone))

    assert response.status_code == 204 and response.get_data() == b""
    error_of(api.me(phone), 401, "invalid_token")
    error_of(api.sessions(phone), 401, "invalid_token")
    assert api.me(laptop).status_code == 200
    assert sorted(devices(api, alice)) == ["Laptop", "unknown"]


def test_a_session_may_sign_itself_out_by_its_id(api):
    alice = api.signup("alice")
    other = sign_in(api, alice)

    assert api.end_session(alice, api.current_session_id(alice)).status_code == 204

    error_of(api.me(alice), 401, "invalid_token")
    assert api.me(other).status_code == 200


def test_another_users_session_or_an_unknown_one_is_not_found_and_nothing_is_signed_out(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    alices = api.current_session_id(alice)

    error_of(api.end_session(bob, alices), 404, "session_not_found")
    error_of(api.end_session(bob, "0" * 32), 404, "session_not_found")
    error_of(api.end_session(alice, "0" * 32), 404, "session_not_found")
    error_of(api.end_session(alice, hash_token(alice.token)), 404, "session_not_found")  # not by its hash

    assert api.me(alice).status_code == 200 and api.me(bob).status_code == 200


def test_a_session_signed_out_twice_is_not_found_the_second_time(api):
    alice = api.signup("alice")
    other = sign_in(api, alice)
    session_id = api.current_session_id(other)

    assert api.end_session(alice, session_id).status_code == 204
    error_of(api.end_session(alice, session_id), 404, "session_not_found")


def test_signing_out_everywhere_keeps_only_this_session(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    others = [sign_in(api, alice, device=f"Device {n}") for n in range(3)]
    laptop = sign_in(api, alice, device="Laptop")

    response = api.signout_everywhere(laptop)

    assert response.status_code == 204 and response.get_data() == b""
    for other in [alice, *others]:
        error_of(api.me(other), 401, "invalid_token")
    assert api.me(laptop).status_code == 200
    assert [(s["device"], s["current"]) for s in api.session_list(laptop)] == [("Laptop", True)]
    assert api.me(bob).status_code == 200
    assert api.signout_everywhere(laptop).status_code == 204  # nothing left to sign out


# Changing the password -------------------------------------------------------------------
def test_a_password_change_signs_out_every_other_session_and_keeps_this_one(api):
    alice = api.signup("alice")
    phone, laptop = sign_in(api, alice), sign_in(api, alice)

    response = api.change_password(phone, PASSWORD, NEW_PASSWORD)

    assert response.status_code == 204 and response.get_data() == b""
    assert api.me(phone).status_code == 200
    for other in (alice, laptop):
        error_of(api.me(other), 401, "invalid_token")
    error_of(api.signin("alice", PASSWORD), 401, "invalid_credentials")
    assert api.signin("alice", NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("new_password", "problem"),
    [
        ("short", "Length must be between 8 and 1024."),
        (" " * 8, "Must not be only spaces."),
        ("zzzzzzzzzz", "Must not be one character repeated."),
        (
            "iloveyou",
            "This is one of the most common passwords, the first that attackers try; choose another.",
        ),
        ("Alice_W at the seaside", "Must not contain your username."),
        ("wonder of the world", "Must not contain the part of your email address before the @."),
    ],
)
def test_a_new_password_follows_the_sign_up_policy(api, new_password, problem):
    alice = api.signup("alice_w", email="wonder@example.com")
    other = sign_in(api, alice)

    details = error_of(api.change_password(alice, PASSWORD, new_password), 422, "validation_error")

    assert details == {"new_password": [problem]}
    assert api.me(other).status_code == 200  # nobody signed out
    assert api.signin("alice_w", PASSWORD).status_code == 200  # the password is unchanged


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"current_password": PASSWORD},
        {"new_password": NEW_PASSWORD},
        {"current_password": "", "new_password": NEW_PASSWORD},
    ],
)
def test_both_passwords_are_needed(api, body):
    alice = api.signup("alice")

    response = api.client.post("/me/password", json=body, headers=alice.headers)

    error_of(response, 422, "validation_error")


def test_a_wrong_current_password_is_refused_and_changes_nothing(api):
    alice = api.signup("alice")
    other = sign_in(api, alice)

    details = error_of(api.change_password(alice, "not my password", NEW_PASSWORD), 403, "wrong_password")

    assert details == {}
    assert api.me(alice).status_code == 200 and api.me(other).status_code == 200
    assert api.signin("alice", PASSWORD).status_code == 200


def test_wrong_current_passwords_count_as_failed_sign_ins_of_the_account(make_app):
    app = make_app(rate_limits_enabled=True, rate_limit_signin_failures="3 per 15 minutes")
    api = Api(app.test_client())
    alice, bob = api.signup("alice"), api.signup("bob")
    error_of(api.signin("alice", "a guess"), 401, "invalid_credentials")  # one count for both
    for guess in ("guess two", "guess three"):
        error_of(api.change_password(alice, guess, NEW_PASSWORD), 403, "wrong_password")

    refused = api.change_password(alice, PASSWORD, NEW_PASSWORD)  # the right one too, now

    assert error_of(refused, 429, "rate_limited")["retry_after"] >= 1
    error_of(api.signin("alice", PASSWORD), 429, "rate_limited")
    assert api.me(alice).status_code == 200  # still signed in
    assert api.change_password(bob, PASSWORD, NEW_PASSWORD).status_code == 204
