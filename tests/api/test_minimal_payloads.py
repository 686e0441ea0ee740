"""What a curl user types: no user_id or timestamp in the message, members named by username,
the sender left out of user_ids. The seed protocol's full payloads keep working as well."""

from __future__ import annotations

import pytest

from .client import MESSAGE_KEYS, error_of

ROUTES = {"send_message": "/message", "create_thread": "/threads"}


def post(api, who, action: str, via: str, payload: dict):
    """A protocol action on its own route, or on /actions with its name."""
    if via == "actions":
        return api.action(who, {**payload, "action": action})
    return api.client.post(ROUTES[action], json=payload, headers=who.headers)


@pytest.mark.parametrize("via", ["route", "actions"])
def test_a_message_needs_only_its_contents_and_gets_the_server_time_as_client_timestamp(api, clock, via):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    before = clock.now

    response = post(api, alice, "send_message", via, {"thread_id": thread_id, "message": {"contents": "hi"}})

    assert response.status_code == 201, response.get_data(as_text=True)
    message = response.get_json()["message"]
    assert set(message) == MESSAGE_KEYS
    assert (message["seq"], message["user_id"], message["contents"]) == (2, alice.user_id, "hi")
    assert before < message["timestamp"] <= clock.now
    assert message["client_timestamp"] == message["timestamp"]
    assert api.message_list(bob, thread_id)[0] == message


@pytest.mark.parametrize("via", ["route", "actions"])
def test_a_thread_is_opened_with_only_the_others_named_and_the_sender_added(api, via):
    alice, bob = api.signup("alice"), api.signup("bob")

    response = post(
        api, alice, "create_thread", via, {"user_ids": [bob.user_id], "message": {"contents": "hi"}}
    )

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert [member["user_id"] for member in body["thread"]["members"]] == [alice.user_id, bob.user_id]
    assert body["message"]["client_timestamp"] == body["message"]["timestamp"]
    assert [thread["thread_id"] for thread in api.thread_list(bob)] == [body["thread"]["thread_id"]]


@pytest.mark.parametrize("via", ["route", "actions"])
def test_members_may_be_named_by_username_in_any_case_beside_ids_and_duplicates_collapse(api, via):
    alice, bob, carol = api.signup("alice"), api.signup("Bob"), api.signup("carol")
    payload = {
        "user_ids": [carol.user_id],
        "usernames": ["bob", "BOB", "Carol", "alice"],
        "message": {"contents": "hi"},
    }

    response = post(api, alice, "create_thread", via, payload)

    assert response.status_code == 201, response.get_data(as_text=True)
    thread = response.get_json()["thread"]
    assert thread["kind"] == "group"
    members = [member["user_id"] for member in thread["members"]]
    assert sorted(members) == sorted([alice.user_id, bob.user_id, carol.user_id])


def test_a_direct_thread_named_by_username_is_the_same_one_as_by_id(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])

    again = api.client.post(
        "/threads", json={"usernames": ["ALICE"], "message": {"contents": "by name"}}, headers=bob.headers
    )

    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json()["thread"]["thread_id"] == thread_id
    assert again.get_json()["message"]["seq"] == 2


def test_unknown_usernames_and_ids_are_refused_together_naming_each_and_nothing_is_stored(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    payload = {
        "user_ids": ["ghost-id"],
        "usernames": ["bob", "nobody", "NOBODY", "alice@example.com"],
        "message": {"contents": "hi"},
    }

    for via in ("route", "actions"):
        details = error_of(post(api, alice, "create_thread", via, payload), 422, "unknown_users")
        assert details == {"user_ids": ["ghost-id"], "usernames": ["nobody", "alice@example.com"]}, via
    only_names = {"usernames": ["zed"], "message": {"contents": "hi"}}
    assert error_of(post(api, alice, "create_thread", "route", only_names), 422, "unknown_users") == {
        "usernames": ["zed"]
    }
    assert api.thread_list(alice) == [] and api.thread_list(bob) == []


def test_a_thread_needs_someone_besides_the_sender(api):
    alice = api.signup("alice")

    for members in ({}, {"usernames": ["Alice"]}, {"user_ids": [alice.user_id]}, {"usernames": []}):
        response = post(api, alice, "create_thread", "route", {**members, "message": {"contents": "hi"}})
        details = error_of(response, 422, "validation_error")
        assert set(details) <= {"user_ids", "usernames"} and details, members

    assert api.thread_list(alice) == []


@pytest.mark.parametrize("via", ["route", "actions"])
def test_a_user_id_naming_someone_else_is_still_refused_when_the_rest_is_minimal(api, via):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])

    sent = post(
        api,
        alice,
        "send_message",
        via,
        {"thread_id": thread_id, "message": {"user_id": bob.user_id, "contents": "x"}},
    )
    created = post(
        api,
        alice,
        "create_thread",
        via,
        {"usernames": ["bob"], "message": {"user_id": bob.user_id, "contents": "x"}},
    )

    error_of(sent, 403, "user_mismatch")
    error_of(created, 403, "user_mismatch")
    assert api.seqs(bob, thread_id) == [1]


def test_the_openapi_document_shows_the_short_forms(api):
    schemas = api.client.get("/openapi.json").get_json()["components"]["schemas"]

    assert schemas["MessageIn"]["required"] == ["contents"]
    assert set(schemas["MessageIn"]["properties"]) >= {"user_id", "timestamp"}
    assert schemas["CreateThreadRequest"]["required"] == ["message"]
    assert schemas["CreateThreadRequest"]["properties"]["usernames"]["items"]["type"] == "string"
