"""POST /actions: the four protocol actions verbatim, answered exactly like their own routes."""

from __future__ import annotations

from .client import MESSAGE_KEYS, THREAD_KEYS, error_of, message_body

ACTION_NAMES = ["send_message", "create_thread", "get_user_threads", "get_thread_messages"]


def test_send_message_action_stores_and_answers_like_post_message(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")
    payload = {
        "thread_id": thread_id,
        "message": {"user_id": bob.user_id, "contents": "via actions", "timestamp": 1700000000000},
        "action": "send_message",
    }

    response = api.action(bob, payload)

    assert response.status_code == 201
    message = response.get_json()["message"]
    assert set(response.get_json()) == {"message"}
    assert set(message) == MESSAGE_KEYS
    assert (message["seq"], message["contents"], message["client_timestamp"]) == (
        2,
        "via actions",
        1700000000000,
    )
    assert api.message_list(alice, thread_id)[0] == message
    by_route = api.send(bob, thread_id, message=payload["message"])
    assert by_route.status_code == 201
    assert set(by_route.get_json()["message"]) == MESSAGE_KEYS


def test_create_thread_action_answers_like_post_threads(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    payload = {
        "user_ids": [alice.user_id, bob.user_id],
        "message": {"user_id": alice.user_id, "contents": "hi", "timestamp": 1},
        "action": "create_thread",
    }

    created = api.action(alice, payload)
    existing = api.action(bob, {**payload, "message": {**payload["message"], "user_id": bob.user_id}})
    group = api.action(
        alice, {**payload, "user_ids": [alice.user_id, bob.user_id, carol.user_id], "title": "G"}
    )

    assert created.status_code == 201
    assert set(created.get_json()) == {"thread", "message"}
    assert set(created.get_json()["thread"]) == THREAD_KEYS
    thread_id = created.get_json()["thread"]["thread_id"]
    assert existing.status_code == 200
    assert existing.get_json()["thread"]["thread_id"] == thread_id
    assert existing.get_json()["message"]["seq"] == 2
    assert group.status_code == 201
    assert group.get_json()["thread"]["title"] == "G"
    assert len(api.thread_list(bob)) == 2
    assert api.seqs(alice, thread_id) == [2, 1]


def test_get_user_threads_action_answers_exactly_like_get_threads(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    api.open_thread(alice, [bob])
    api.open_thread(carol, [alice])
    api.open_thread(alice, [bob, carol])

    for start, end in [(0, 10), (1, 3), (2, 2), (0, 1)]:
        by_route = api.threads(alice, start_index=start, end_index=end)
        by_action = api.action(
            alice,
            {"user_id": alice.user_id, "start_index": start, "end_index": end, "action": "get_user_threads"},
        )
        assert by_action.status_code == by_route.status_code == 200
        assert by_action.get_json() == by_route.get_json(), (start, end)
    assert (
        len(api.action(alice, {"user_id": alice.user_id, "action": "get_user_threads"}).get_json()["threads"])
        == 3
    )


def test_get_thread_messages_action_answers_exactly_like_get_messages(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")
    for number in range(2, 6):
        api.send_ok(bob, thread_id, f"m{number}")

    for start, end in [(0, 2), (1, 4), (3, 3), (4, 50)]:
        by_route = api.messages(alice, thread_id, start_index=start, end_index=end)
        by_action = api.action(
            alice,
            {
                "user_id": alice.user_id,
                "thread_id": thread_id,
                "start_index": start,
                "end_index": end,
                "action": "get_thread_messages",
            },
        )
        assert by_action.status_code == by_route.status_code == 200
        assert by_action.get_json() == by_route.get_json(), (start, end)
    default = api.action(
        alice, {"user_id": alice.user_id, "thread_id": thread_id, "action": "get_thread_messages"}
    )
    assert [message["seq"] for message in default.get_json()["messages"]] == [5, 4, 3, 2, 1]


def test_a_retried_send_through_actions_returns_the_original_with_200(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    payload = {
        "thread_id": thread_id,
        "message": message_body(alice, client_msg_id="m-1"),
        "action": "send_message",
    }

    first = api.action(alice, payload)
    retried = api.action(alice, payload)
    by_route = api.send(alice, thread_id, message=payload["message"])

    assert (first.status_code, retried.status_code, by_route.status_code) == (201, 200, 200)
    assert retried.get_json() == first.get_json() == by_route.get_json()
    assert api.seqs(bob, thread_id) == [2, 1]


def test_an_unknown_or_missing_action_is_refused(api):
    alice = api.signup("alice")

    for payload in [{}, {"action": "delete_thread"}, {"action": None}, {"action": 3}, {"action": ""}]:
        details = error_of(api.action(alice, payload), 422, "validation_error")
        assert set(details) == {"action"}, payload
        assert all(name in details["action"][0] for name in ACTION_NAMES)


def test_a_body_that_is_not_an_object_is_refused(api):
    alice = api.signup("alice")

    for text in ["[]", "null", '"send_message"', "3", '[{"action": "send_message"}]', ""]:
        response = api.raw("POST", "/actions", alice, data=text, content_type="application/json")
        assert set(error_of(response, 422, "validation_error")) == {"action"}, text


def test_validation_errors_are_the_same_as_the_routes(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    before = api.snapshot(alice, bob)
    bad_message = {"user_id": alice.user_id, "contents": " ", "timestamp": "soon", "extra": 1}
    cases = [
        (
            {"thread_id": thread_id, "message": bad_message, "action": "send_message"},
            api.send(alice, thread_id, message=bad_message),
        ),
        (
            {"thread_id": thread_id, "message": {**bad_message, "timestamp": 1}, "action": "send_message"},
            api.send(alice, thread_id, message={**bad_message, "timestamp": 1}),
        ),
        (
            {"thread_id": thread_id, "message": message_body(alice, " "), "action": "send_message"},
            api.send(alice, thread_id, " "),
        ),
        (
            {"user_ids": [alice.user_id], "message": message_body(alice), "action": "create_thread"},
            api.create_thread(alice, [alice]),
        ),
        (
            {"user_ids": [alice.user_id, "ghost"], "message": message_body(alice), "action": "create_thread"},
            api.create_thread(alice, [alice, "ghost"]),
        ),
        (
            {"thread_id": "nope", "message": message_body(alice), "action": "send_message"},
            api.send(alice, "nope"),
        ),
    ]

    for payload, by_route in cases:
        by_action = api.action(alice, payload)
        assert by_action.status_code == by_route.status_code, payload
        assert by_action.get_json() == by_route.get_json(), payload
        assert by_action.status_code in (404, 422)
    assert api.snapshot(alice, bob) == before


def test_read_actions_validate_like_the_routes(api):
    alice = api.signup("alice")
    read = {"user_id": alice.user_id, "action": "get_user_threads"}

    for extra, field in [
        ({"start_index": -1}, "start_index"),
        ({"start_index": 2, "end_index": 1}, "end_index"),
        ({"start_index": 0, "end_index": 101}, "end_index"),
        ({"start_index": "0"}, "start_index"),
        ({"end_index": 1.0}, "end_index"),
        ({"end_index": True}, "end_index"),
        ({"start_index": 10**30}, "start_index"),
        ({"page": 1}, "page"),
    ]:
        details = error_of(api.action(alice, {**read, **extra}), 422, "validation_error")
        assert set(details) == {field}, extra
    assert set(error_of(api.action(alice, {"action": "get_user_threads"}), 422, "validation_error")) == {
        "user_id"
    }
    messages = {"user_id": alice.user_id, "action": "get_thread_messages"}
    assert set(error_of(api.action(alice, messages), 422, "validation_error")) == {"thread_id"}


def test_actions_need_a_token_before_anything_else(api):
    error_of(api.action(None, {"action": "get_user_threads", "user_id": "x"}), 401, "auth_required")
    error_of(api.action("bad", {"action": "nope"}), 401, "invalid_token")
