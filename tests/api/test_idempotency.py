"""client_msg_id: a retried send or create_thread never stores a second copy, even concurrently."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from .client import Api, error_of, message_body


def test_a_retried_send_returns_the_original_with_200_and_stores_one_copy(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")
    message = message_body(alice, "only once", client_msg_id="phone-42")

    first = api.send(alice, thread_id, message=message)
    retried = api.send(alice, thread_id, message=message)

    assert first.status_code == 201
    assert retried.status_code == 200
    assert retried.get_json() == first.get_json()
    assert first.get_json()["message"]["client_msg_id"] == "phone-42"
    assert api.seqs(bob, thread_id) == [2, 1]
    assert api.thread_view(bob, thread_id)["unread_count"] == 2
    assert api.send_ok(alice, thread_id, "next")["seq"] == 3


def test_a_retry_returns_the_original_even_if_the_resent_body_differs(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    original = api.send_ok(alice, thread_id, "original", client_msg_id="c1")

    retried = api.send(
        alice, thread_id, message=message_body(alice, "edited", client_msg_id="c1", timestamp=9)
    )

    assert retried.status_code == 200
    assert retried.get_json()["message"] == original
    assert [m["contents"] for m in api.message_list(bob, thread_id)] == ["original", "hello"]


def test_the_same_client_msg_id_in_another_thread_is_a_conflict(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    with_bob = api.open_thread(alice, [bob])
    with_carol = api.open_thread(alice, [carol])
    api.send_ok(alice, with_bob, "to bob", client_msg_id="c1")
    before = api.snapshot(alice, bob, carol)

    response = api.send(alice, with_carol, message=message_body(alice, "to carol", client_msg_id="c1"))

    error_of(response, 409, "client_msg_id_conflict")
    assert api.snapshot(alice, bob, carol) == before


def test_client_msg_ids_belong_to_their_sender(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])

    from_alice = api.send(alice, thread_id, message=message_body(alice, "a", client_msg_id="same"))
    from_bob = api.send(bob, thread_id, message=message_body(bob, "b", client_msg_id="same"))

    assert (from_alice.status_code, from_bob.status_code) == (201, 201)
    assert api.seqs(alice, thread_id) == [3, 2, 1]


def test_client_msg_id_may_be_64_characters_but_not_65(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])

    assert api.send_ok(alice, thread_id, client_msg_id="x" * 64)["client_msg_id"] == "x" * 64
    details = error_of(
        api.send(alice, thread_id, message=message_body(alice, client_msg_id="y" * 65)),
        422,
        "validation_error",
    )

    assert set(details["message"]) == {"client_msg_id"}
    assert api.seqs(alice, thread_id) == [2, 1]


def test_a_retried_create_thread_returns_the_same_direct_thread_without_a_new_message(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    message = message_body(alice, "hi", client_msg_id="open-1")

    first = api.create_thread(alice, [alice, bob], message=message)
    retried = api.create_thread(alice, [alice, bob], message=message)

    assert (first.status_code, retried.status_code) == (201, 200)
    assert retried.get_json()["thread"]["thread_id"] == first.get_json()["thread"]["thread_id"]
    assert retried.get_json()["message"] == first.get_json()["message"]
    assert len(api.thread_list(bob)) == 1
    assert api.seqs(bob, first.get_json()["thread"]["thread_id"]) == [1]


def test_a_retried_create_thread_does_not_open_a_second_group(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    message = message_body(alice, "hi all", client_msg_id="group-1")

    first = api.create_thread(alice, [alice, bob, carol], message=message, title="G")
    retried = api.create_thread(alice, [alice, bob, carol], message=message, title="G")

    assert (first.status_code, retried.status_code) == (201, 200)
    thread_id = first.get_json()["thread"]["thread_id"]
    assert retried.get_json()["thread"]["thread_id"] == thread_id
    assert retried.get_json()["message"] == first.get_json()["message"]
    assert [thread["thread_id"] for thread in api.thread_list(carol)] == [thread_id]
    assert api.seqs(carol, thread_id) == [1]


def test_a_retried_create_thread_after_more_messages_still_returns_the_first(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    message = message_body(alice, "hi", client_msg_id="open-1")
    first = api.create_thread(alice, [alice, bob], message=message).get_json()
    thread_id = first["thread"]["thread_id"]
    api.send_ok(bob, thread_id, "reply")

    retried = api.create_thread(alice, [alice, bob], message=message)

    assert retried.status_code == 200
    assert retried.get_json()["message"] == first["message"]
    assert retried.get_json()["thread"]["last_seq"] == 2
    assert api.seqs(alice, thread_id) == [2, 1]


def test_a_create_thread_reusing_an_id_from_another_pair_is_a_conflict(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    api.create_thread(alice, [alice, bob], message=message_body(alice, client_msg_id="reused"))
    before = api.snapshot(alice, bob, carol)

    response = api.create_thread(alice, [alice, carol], message=message_body(alice, client_msg_id="reused"))

    error_of(response, 409, "client_msg_id_conflict")
    assert api.snapshot(alice, bob, carol) == before


def test_a_non_member_reusing_a_client_msg_id_learns_nothing_about_the_thread(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    private = api.open_thread(alice, [bob])
    api.create_thread(carol, [carol, alice], message=message_body(carol, client_msg_id="c1"))
    message = message_body(carol, "sneak", client_msg_id="c1")

    refused = api.send(carol, private, message=message)
    unknown = api.send(carol, "no-such-thread", message=message)

    assert refused.status_code == unknown.status_code
    assert refused.get_data() == unknown.get_data()
    assert api.seqs(bob, private) == [1]


def test_concurrent_retries_store_exactly_one_message(app):
    api = Api(app.test_client())
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")
    payload = {"thread_id": thread_id, "message": message_body(alice, "racing", client_msg_id="race-1")}
    start = threading.Barrier(8)

    def send(_):
        client = app.test_client()
        start.wait()
        response = client.post("/message", json=payload, headers=alice.headers)
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, range(8)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 7 + [201], results
    assert len({body["message"]["message_id"] for _, body in results}) == 1
    assert {body["message"]["seq"] for _, body in results} == {2}
    assert api.seqs(bob, thread_id) == [2, 1]
    assert api.thread_view(bob, thread_id)["unread_count"] == 2


def test_concurrent_sends_without_ids_get_distinct_gapless_seqs(app):
    api = Api(app.test_client())
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")
    start = threading.Barrier(8)

    def send(number):
        client = app.test_client()
        start.wait()
        sender = alice if number % 2 else bob
        payload = {"thread_id": thread_id, "message": message_body(sender, f"n{number}")}
        return client.post("/message", json=payload, headers=sender.headers).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, range(8)))

    assert statuses == [201] * 8
    messages = api.message_list(bob, thread_id)
    assert [m["seq"] for m in messages] == list(range(9, 0, -1))
    assert sorted(m["contents"] for m in messages[:8]) == sorted(f"n{number}" for number in range(8))


def test_concurrent_opens_of_the_same_direct_thread_make_one_thread(app):
    api = Api(app.test_client())
    alice, bob = api.signup("alice"), api.signup("bob")
    start = threading.Barrier(8)

    def open_thread(number):
        client = app.test_client()
        start.wait()
        sender, other = (alice, bob) if number % 2 else (bob, alice)
        payload = {"user_ids": [sender.user_id, other.user_id], "message": message_body(sender, f"n{number}")}
        response = client.post("/threads", json=payload, headers=sender.headers)
        return response.status_code, response.get_json()["thread"]["thread_id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(open_thread, range(8)))

    assert sorted(status for status, _ in results) == [200] * 7 + [201]
    (thread_id,) = {thread_id for _, thread_id in results}
    assert [thread["thread_id"] for thread in api.thread_list(alice)] == [thread_id]
    assert api.seqs(alice, thread_id) == list(range(8, 0, -1))
