"""send_message (POST /message) and get_thread_messages (GET /threads/<id>/messages)."""

from __future__ import annotations

import json

import pytest

from .client import CLIENT_TIMESTAMP, MESSAGE_KEYS, error_of, message_body


@pytest.fixture
def pair(api):
    """alice and bob with a 1:1 thread holding alice's first message (seq 1)."""
    alice, bob = api.signup("alice"), api.signup("bob")
    return alice, bob, api.open_thread(alice, [bob], "first")


def send_raw(api, sender, text):
    """POST /message with a body given as JSON text, exactly as a client would send it."""
    return api.raw("POST", "/message", sender, data=text, content_type="application/json")


def test_sending_returns_the_stored_message_with_server_time(api, pair, clock):
    alice, bob, thread_id = pair
    before = clock.now

    response = api.send(
        bob,
        thread_id,
        message=message_body(bob, "hi alice", timestamp=123),
        action="send_message",
    )

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"message"}
    message = body["message"]
    assert set(message) == MESSAGE_KEYS
    assert message["thread_id"] == thread_id
    assert message["seq"] == 2
    assert message["user_id"] == bob.user_id
    assert message["contents"] == "hi alice"
    assert isinstance(message["timestamp"], int)
    assert before < message["timestamp"] <= clock.now
    assert message["client_timestamp"] == 123
    assert message["client_msg_id"] is None
    assert message["message_id"]
    assert api.message_list(alice, thread_id)[0] == message


def test_seq_counts_1_2_3_across_senders_with_or_without_the_action_field(api, pair):
    alice, bob, thread_id = pair
    with_action = api.send(bob, thread_id, "explicit", action="send_message")

    seqs = [api.send_ok(sender, thread_id)["seq"] for sender in (alice, alice, bob)]

    assert with_action.get_json()["message"]["seq"] == 2
    assert seqs == [3, 4, 5]
    assert api.seqs(bob, thread_id) == [5, 4, 3, 2, 1]


def test_text_is_stored_exactly_including_non_ascii_and_escaped_emoji(api, pair):
    alice, bob, thread_id = pair
    text = '  héllo 👋\nnew line\t"quoted" \\ 中文  '
    escaped = json.dumps({"thread_id": thread_id, "message": message_body(alice, "\U0001f44b")})
    assert "\\ud83d\\udc4b" in escaped  # a surrogate pair escape: one real character

    sent = api.send_ok(alice, thread_id, text)
    by_escape = send_raw(api, alice, escaped)
    long_accents = api.send_ok(alice, thread_id, "é" * 4000)  # the limit counts characters, not bytes

    assert sent["contents"] == text
    assert by_escape.status_code == 201
    assert long_accents["seq"] == 4
    assert [m["contents"] for m in api.message_list(bob, thread_id)][:3] == ["é" * 4000, "\U0001f44b", text]


def test_messages_are_listed_newest_first_with_every_field(api, pair):
    alice, bob, thread_id = pair
    second = api.send_ok(bob, thread_id, "second")

    response = api.messages(alice, thread_id)

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"messages"}
    assert body["messages"][0] == second
    assert [(m["seq"], m["contents"]) for m in body["messages"]] == [(2, "second"), (1, "first")]
    assert all(set(m) == MESSAGE_KEYS for m in body["messages"])


def test_sending_to_an_unknown_thread_or_one_you_are_not_in_is_the_same_404(api, pair):
    alice, bob, thread_id = pair
    carol = api.signup("carol")
    before = api.snapshot(alice, bob)

    refused = api.send(carol, thread_id, "let me in")
    unknown = api.send(carol, "no-such-thread", "let me in")

    error_of(refused, 404, "thread_not_found")
    assert refused.get_data() == unknown.get_data()
    assert api.snapshot(alice, bob) == before


def test_the_message_user_id_must_be_the_sender(api, pair):
    alice, bob, thread_id = pair
    before = api.snapshot(alice, bob)

    response = api.send(alice, thread_id, message=message_body(bob, "spoofed"))

    error_of(response, 403, "user_mismatch")
    assert api.snapshot(alice, bob) == before


def test_blank_contents_are_refused(api, pair):
    alice, bob, thread_id = pair
    before = api.snapshot(alice, bob)

    for contents in ["", " ", "\n\t  \r\n", "\u3000"]:
        details = error_of(api.send(alice, thread_id, contents), 422, "validation_error")
        assert set(details) == {"message"} and set(details["message"]) == {"contents"}, contents

    assert api.snapshot(alice, bob) == before


def test_contents_may_be_4000_characters_but_not_more(api, pair):
    alice, bob, thread_id = pair

    assert api.send_ok(alice, thread_id, "a" * 4000)["seq"] == 2
    before = api.snapshot(alice, bob)
    details = error_of(api.send(alice, thread_id, "a" * 4001), 422, "validation_error")

    assert "4000" in details["message"]["contents"][0]
    assert api.snapshot(alice, bob) == before


def test_the_message_length_limit_is_configurable(make_api):
    api = make_api(max_message_length=10)
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "0123456789")

    details = error_of(api.send(alice, thread_id, "0123456789x"), 422, "validation_error")

    assert "10" in details["message"]["contents"][0]
    error_of(api.create_thread(alice, [alice, bob], "0123456789x"), 422, "validation_error")
    assert api.seqs(alice, thread_id) == [1]


MALFORMED_MESSAGES = [
    ({"user_id": "me", "timestamp": 1}, "contents"),
    ({"user_id": "me", "contents": "hi", "timestamp": "1700000000000"}, "timestamp"),
    ({"user_id": "me", "contents": "hi", "timestamp": True}, "timestamp"),
    ({"user_id": "me", "contents": "hi", "timestamp": 1.5}, "timestamp"),
    ({"user_id": "me", "contents": "hi", "timestamp": 1.0}, "timestamp"),
    ({"user_id": "me", "contents": "hi", "timestamp": None}, "timestamp"),
    ({"user_id": "me", "contents": "hi", "timestamp": -1}, "timestamp"),
    ({"user_id": "me", "contents": "hi", "timestamp": 10**30}, "timestamp"),
    ({"user_id": "me", "contents": "hi", "timestamp": 2**53}, "timestamp"),
    ({"user_id": "me", "contents": 42, "timestamp": 1}, "contents"),
    ({"user_id": "me", "contents": ["hi"], "timestamp": 1}, "contents"),
    ({"user_id": 7, "contents": "hi", "timestamp": 1}, "user_id"),
    ({"user_id": "me", "contents": "hi", "timestamp": 1, "client_msg_id": ""}, "client_msg_id"),
    ({"user_id": "me", "contents": "hi", "timestamp": 1, "client_msg_id": "x" * 65}, "client_msg_id"),
    ({"user_id": "me", "contents": "hi", "timestamp": 1, "client_msg_id": 5}, "client_msg_id"),
    ({"user_id": "me", "contents": "hi", "timestamp": 1, "sent_at": 1}, "sent_at"),
]


def test_a_malformed_message_names_the_field(api, pair):
    alice, bob, thread_id = pair

    for message, field in MALFORMED_MESSAGES:
        message = {key: (alice.user_id if value == "me" else value) for key, value in message.items()}
        details = error_of(api.send(alice, thread_id, message=message), 422, "validation_error")
        assert set(details) == {"message"}, message
        assert set(details["message"]) == {field}, message
        assert all(isinstance(text, str) for text in details["message"][field]), message

    assert api.seqs(bob, thread_id) == [1]


MALFORMED_SENDS = [
    ({"message": "MESSAGE"}, "thread_id"),
    ({"thread_id": "THREAD"}, "message"),
    ({"thread_id": 12, "message": "MESSAGE"}, "thread_id"),
    ({"thread_id": "", "message": "MESSAGE"}, "thread_id"),
    ({"thread_id": "THREAD", "message": "hello"}, "message"),
    ({"thread_id": "THREAD", "message": "MESSAGE", "action": "create_thread"}, "action"),
    ({"thread_id": "THREAD", "message": "MESSAGE", "priority": "high"}, "priority"),
]


def test_a_malformed_send_names_the_field(api, pair):
    alice, bob, thread_id = pair
    fill = {"THREAD": thread_id, "MESSAGE": message_body(alice)}

    for template, field in MALFORMED_SENDS:
        payload = {
            key: fill.get(value, value) if isinstance(value, str) else value
            for key, value in template.items()
        }
        response = api.client.post("/message", json=payload, headers=alice.headers)
        assert set(error_of(response, 422, "validation_error")) == {field}, template

    assert api.seqs(bob, thread_id) == [1]


def test_huge_and_non_integer_json_numbers_are_a_422_not_a_500(api, pair):
    alice, bob, thread_id = pair
    text = '{"thread_id": "%s", "message": {"user_id": "%s", "contents": "hi", "timestamp": %s}}'

    for number in [str(10**30), str(-(10**30)), "NaN", "Infinity", "-Infinity", "1e400", "1e3", "-0.0"]:
        response = send_raw(api, alice, text % (thread_id, alice.user_id, number))
        assert set(error_of(response, 422, "validation_error")["message"]) == {"timestamp"}, number

    assert api.seqs(bob, thread_id) == [1]


def test_a_lone_surrogate_is_a_422_not_a_500(api, pair):
    alice, bob, thread_id = pair
    text = '{"thread_id": "%s", "message": {"user_id": "%s", "contents": "%s", "timestamp": 1}}'

    for escape in ["\\ud800", "a\\udfffb", "\\udc00\\ud800"]:
        response = send_raw(api, alice, text % (thread_id, alice.user_id, escape))
        assert set(error_of(response, 422, "validation_error")["message"]) == {"contents"}, escape
    error_of(send_raw(api, alice, '{"\\ud800": 1}'), 422, "validation_error")
    in_id = '{"thread_id": "\\ud800", "message": {"user_id": "%s", "contents": "hi", "timestamp": 1}}'
    assert set(error_of(send_raw(api, alice, in_id % alice.user_id), 422, "validation_error")) == {
        "thread_id"
    }

    assert api.seqs(bob, thread_id) == [1]


def test_the_client_timestamp_is_kept_as_sent_even_from_a_wrong_clock(api, pair):
    alice, _, thread_id = pair

    zero = api.send_ok(alice, thread_id, timestamp=0)
    usual = api.send_ok(alice, thread_id)

    assert zero["client_timestamp"] == 0
    assert zero["timestamp"] != 0
    assert usual["client_timestamp"] == CLIENT_TIMESTAMP
    assert [m["client_timestamp"] for m in api.message_list(alice, thread_id, end_index=2)] == [
        CLIENT_TIMESTAMP,
        0,
    ]
