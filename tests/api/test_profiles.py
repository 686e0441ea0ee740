"""PATCH /me: display names and renames, through the real routes; and the user shapes that carry them."""

from __future__ import annotations

from typing import Any

import pytest

from .client import ME_KEYS, PASSWORD, Api, User, error_of

PUBLIC_KEYS = {"user_id", "username", "display_name", "avatar", "avatar_url"}


def patch_me(api: Api, who: User, payload: Any):
    return api.client.patch("/me", json=payload, headers=who.headers)


def profile_ok(api: Api, who: User, **payload: Any) -> dict:
    reply = patch_me(api, who, payload)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()


def updates_of(api: Api, who: User, kind: str = "user.updated") -> list[dict]:
    reply = api.client.get("/updates", query_string={"since": 0, "timeout": 0}, headers=who.headers)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return [update for update in reply.get_json()["updates"] if update["type"] == kind]


# Display names --------------------------------------------------------------------------
def test_a_display_name_is_set_and_shown_on_me_users_sign_in_and_thread_members(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])

    body = profile_ok(api, alice, display_name="Alice Liddell 🐇")

    assert set(body) == ME_KEYS
    assert (body["username"], body["display_name"], body["avatar"]) == ("alice", "Alice Liddell 🐇", None)
    assert api.me(alice).get_json() == body
    found = api.users(bob, "ali").get_json()["users"]
    assert found == [
        {
            "user_id": alice.user_id,
            "username": "alice",
            "display_name": "Alice Liddell 🐇",
            "avatar": None,
            "avatar_url": None,
        }
    ]
    signed_in = api.signin("alice").get_json()
    assert (signed_in["display_name"], signed_in["avatar"]) == ("Alice Liddell 🐇", None)
    members = {m["user_id"]: m for m in api.thread_view(bob, thread_id)["members"]}
    assert members[alice.user_id] == {
        "user_id": alice.user_id,
        "username": "alice",
        "display_name": "Alice Liddell 🐇",
        "avatar": None,
        "avatar_url": None,
    }
    assert members[bob.user_id]["display_name"] is None
    listed = api.thread_list(bob)[0]["members"]
    assert {m["user_id"]: m["display_name"] for m in listed}[alice.user_id] == "Alice Liddell 🐇"


def test_null_clears_the_display_name(api):
    alice = api.signup("alice")
    profile_ok(api, alice, display_name="Al")

    body = profile_ok(api, alice, display_name=None)

    assert body["display_name"] is None
    assert api.me(alice).get_json()["display_name"] is None


def test_a_sign_up_starts_with_no_display_name(api):
    reply = api.signup_raw({"email": "z@example.com", "username": "zed", "password": PASSWORD})
    assert (reply.get_json()["display_name"], reply.get_json()["avatar"]) == (None, None)


def test_64_characters_are_a_display_name_and_65_are_not(api):
    alice = api.signup("alice")
    assert profile_ok(api, alice, display_name="x" * 64)["display_name"] == "x" * 64
    details = error_of(patch_me(api, alice, {"display_name": "x" * 65}), 422, "validation_error")
    assert set(details) == {"display_name"}


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "\u200b\u200b",  # zero-width spaces
        "\u3164",  # a Hangul filler: draws as blank
        "\u0301",  # a lone combining mark
        123,
        True,
        ["Al"],
        {"name": "Al"},
    ],
)
def test_a_display_name_that_shows_nothing_or_is_no_string_is_refused(api, value):
    alice = api.signup("alice")
    details = error_of(patch_me(api, alice, {"display_name": value}), 422, "validation_error")
    assert set(details) == {"display_name"}
    assert api.me(alice).get_json()["display_name"] is None


@pytest.mark.parametrize("control", ["\u202e", "\u2066", "\u200f", "\u061c"])
def test_a_display_name_with_a_bidi_control_is_refused_naming_it(api, control):
    alice = api.signup("alice")
    details = error_of(patch_me(api, alice, {"display_name": f"{control}gnp.exe"}), 422, "validation_error")
    assert f"U+{ord(control):04X}" in details["display_name"][0]


@pytest.mark.parametrize("name", ["Alice\nSmith", "Alice\tSmith", "Alice\x00", "\x1b[31mAlice"])
def test_a_display_name_is_one_line_without_control_characters(api, name):
    alice = api.signup("alice")
    details = error_of(patch_me(api, alice, {"display_name": name}), 422, "validation_error")
    assert details["display_name"] == ["Must be one line, without control characters."]


def test_a_lone_surrogate_in_a_display_name_is_refused(api):
    alice = api.signup("alice")
    reply = api.raw(
        "PATCH", "/me", alice, data='{"display_name": "a\\ud800b"}', content_type="application/json"
    )
    assert set(error_of(reply, 422, "validation_error")) == {"display_name"}


@pytest.mark.parametrize(
    "payload",
    [{}, {"email": "new@example.com"}, {"avatar": "https://example.com/a.png"}, {"user_id": "x"}, [], "Al"],
)
def test_an_empty_or_unknown_change_is_refused_and_changes_nothing(api, payload):
    alice = api.signup("alice")
    reply = patch_me(api, alice, payload)
    error_of(reply, 422, "validation_error")
    assert api.me(alice).get_json()["username"] == "alice"
    assert updates_of(api, alice) == []


def test_without_a_token_patch_me_is_401(api):
    error_of(api.client.patch("/me", json={"display_name": "Al"}), 401, "auth_required")


# Renames --------------------------------------------------------------------------------
def test_a_rename_signs_in_and_is_found_at_once_and_frees_the_old_name_at_once(api):
    alice, bob = api.signup("alice"), api.signup("bob")

    body = profile_ok(api, alice, username="Alicia")

    assert body["username"] == "Alicia"
    assert api.signin("Alicia").status_code == 200
    assert api.signin("alicia").status_code == 200
    error_of(api.signin("alice"), 401, "invalid_credentials")
    assert [u["username"] for u in api.users(bob, "ALI").get_json()["users"]] == ["Alicia"]
    newcomer = api.signup("Alice", email="other@example.com")  # the old name, someone else's now
    assert api.signin("alice").get_json()["user_id"] == newcomer.user_id


@pytest.mark.parametrize("taken", ["bob", "BOB", "Bob"])
def test_a_username_someone_else_holds_is_409_and_nothing_changes(api, taken):
    alice, bob = api.signup("alice"), api.signup("bob")
    api.open_thread(alice, [bob])

    reply = patch_me(api, alice, {"username": taken, "display_name": "Bob, really"})

    error_of(reply, 409, "username_taken")
    me = api.me(alice).get_json()
    assert (me["username"], me["display_name"]) == ("alice", None)
    assert updates_of(api, bob) == []


def test_ones_own_username_in_another_case_is_a_rename(api):
    alice = api.signup("alice")
    assert profile_ok(api, alice, username="ALICE")["username"] == "ALICE"


@pytest.mark.parametrize("username", ["ab", "a" * 33, "alice\n", "al ice", "ålice", "al\u202eice", 7, None])
def test_a_username_off_the_sign_up_pattern_is_refused(api, username):
    alice = api.signup("alice")
    details = error_of(patch_me(api, alice, {"username": username}), 422, "validation_error")
    assert set(details) == {"username"}
    assert api.me(alice).get_json()["username"] == "alice"


# Who is told ----------------------------------------------------------------------------
def test_user_updated_reaches_every_co_member_once_and_my_other_devices_but_no_stranger(api):
    alice, bob, carol, dave = api.signup("alice"), api.signup("bob"), api.signup("carol"), api.signup("dave")
    api.open_thread(alice, [bob, carol], title="Trip")
    api.open_thread(alice, [bob])
    api.open_thread(bob, [dave])  # dave shares nothing with alice
    other_device = api.signin_user(alice)

    profile_ok(api, alice, username="alice2", display_name="Alice")

    expected = {
        "user_id": alice.user_id,
        "username": "alice2",
        "display_name": "Alice",
        "avatar": None,
        "avatar_url": None,
    }
    for who in (alice, other_device, bob, carol):
        told = updates_of(api, who)
        assert [update["user"] for update in told] == [expected], who.username
        assert set(told[0]) == {"cursor", "type", "user"}
    assert updates_of(api, dave) == []


def test_asking_for_the_same_profile_again_tells_nobody(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    api.open_thread(alice, [bob])
    profile_ok(api, alice, display_name="Al")

    profile_ok(api, alice, display_name="Al", username="alice")

    assert len(updates_of(api, bob)) == 1


# Mentions -------------------------------------------------------------------------------
def test_mentions_use_the_current_username_and_a_rename_keeps_stored_mentions(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    before = api.send_ok(alice, thread_id, "hi @bob")
    assert before["mentions"] == [bob.user_id]

    profile_ok(api, bob, username="robert")

    assert api.send_ok(alice, thread_id, "hi @bob")["mentions"] == []
    assert api.send_ok(alice, thread_id, "hi @Robert")["mentions"] == [bob.user_id]
    stored = {m["seq"]: m for m in api.message_list(bob, thread_id)}
    assert stored[before["seq"]]["mentions"] == [bob.user_id]


# Rate limit -----------------------------------------------------------------------------
def test_profile_changes_are_limited_to_ten_an_hour_per_user_and_a_refused_one_changes_nothing(make_api):
    api = make_api(rate_limits_enabled=True)
    alice, bob = api.signup("alice"), api.signup("bob")
    api.open_thread(alice, [bob])

    for i in range(9):
        profile_ok(api, alice, display_name=f"Name {i}")
    error_of(patch_me(api, alice, {"display_name": 5}), 422, "validation_error")  # a bad one counts too
    refused = patch_me(api, alice, {"username": "renamed"})

    details = error_of(refused, 429, "rate_limited")
    assert 3000 < details["retry_after"] <= 3600
    assert int(refused.headers["Retry-After"]) == details["retry_after"]
    assert api.me(alice).get_json()["username"] == "alice"
    assert len(updates_of(api, bob)) == 9  # so one user's renames write at most 10 times an hour
    assert profile_ok(api, bob, display_name="Bob")["display_name"] == "Bob"  # per user


def test_the_profile_limit_is_its_own_setting(make_api):
    api = make_api(rate_limits_enabled=True, rate_limit_profile="1 per minute")
    alice = api.signup("alice")
    profile_ok(api, alice, display_name="Al")
    error_of(patch_me(api, alice, {"display_name": "Alice"}), 429, "rate_limited")
    assert api.me(alice).status_code == 200  # reads are another scope
