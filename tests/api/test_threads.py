"""Opening 1:1 and group threads with a first message, and reading one thread back."""

from __future__ import annotations

from .client import CLIENT_TIMESTAMP, MESSAGE_KEYS, THREAD_KEYS, error_of, message_body


def test_opening_a_direct_thread_returns_and_stores_it_with_its_first_message(api, clock):
    alice, bob = api.signup("alice"), api.signup("bob")
    before = clock.now

    response = api.create_thread(alice, [alice, bob], "hi bob", action="create_thread")

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"thread", "message"}
    thread, message = body["thread"], body["message"]
    assert set(thread) == THREAD_KEYS
    assert thread["kind"] == "direct"
    assert thread["title"] is None
    assert thread["created_by"] == alice.user_id
    assert before < thread["created_at"] <= clock.now
    assert thread["members"] == [
        {
            "user_id": alice.user_id,
            "username": "alice",
            "display_name": None,
            "avatar": None,
            "avatar_url": None,
        },
        {"user_id": bob.user_id, "username": "bob", "display_name": None, "avatar": None, "avatar_url": None},
    ]
    assert (thread["last_seq"], thread["last_read_seq"], thread["unread_count"]) == (1, 1, 0)
    assert thread["last_message"] == {
        "seq": 1,
        "user_id": alice.user_id,
        "contents": "hi bob",
        "timestamp": message["timestamp"],
        "deleted": False,
    }
    assert set(message) == MESSAGE_KEYS
    assert message["thread_id"] == thread["thread_id"]
    assert message["seq"] == 1
    assert message["user_id"] == alice.user_id
    assert message["contents"] == "hi bob"
    assert before < message["timestamp"] <= clock.now
    assert message["client_timestamp"] == CLIENT_TIMESTAMP
    assert message["client_msg_id"] is None
    # Stored for both members, each with their own read state.
    assert api.thread_view(alice, thread["thread_id"]) == thread
    seen_by_bob = api.thread_view(bob, thread["thread_id"])
    assert seen_by_bob["members"] == thread["members"]
    assert (seen_by_bob["last_seq"], seen_by_bob["last_read_seq"], seen_by_bob["unread_count"]) == (1, 0, 1)
    assert api.message_list(bob, thread["thread_id"]) == [message]
    assert [listed["thread_id"] for listed in api.thread_list(bob)] == [thread["thread_id"]]


def test_a_direct_thread_is_unique_per_pair_from_either_side(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    first = api.create_thread(alice, [alice, bob], "one").get_json()
    thread_id = first["thread"]["thread_id"]

    again = api.create_thread(alice, [bob, alice], "two")
    reverse = api.create_thread(bob, [bob, alice], "three")

    assert again.status_code == 200
    assert reverse.status_code == 200
    assert again.get_json()["thread"]["thread_id"] == thread_id
    assert reverse.get_json()["thread"]["thread_id"] == thread_id
    assert again.get_json()["message"]["seq"] == 2
    assert reverse.get_json()["message"]["seq"] == 3
    assert reverse.get_json()["thread"]["last_seq"] == 3
    assert [thread["thread_id"] for thread in api.thread_list(alice)] == [thread_id]
    assert [(m["seq"], m["user_id"], m["contents"]) for m in api.message_list(alice, thread_id)] == [
        (3, bob.user_id, "three"),
        (2, alice.user_id, "two"),
        (1, alice.user_id, "one"),
    ]


def test_direct_threads_with_different_people_are_different(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")

    with_bob = api.open_thread(alice, [bob])
    with_carol = api.open_thread(alice, [carol])
    bob_carol = api.open_thread(bob, [carol])

    assert len({with_bob, with_carol, bob_carol}) == 3
    assert len(api.thread_list(alice)) == 2


def test_duplicate_user_ids_are_removed_and_a_direct_thread_ignores_a_title(api):
    alice, bob = api.signup("alice"), api.signup("bob")

    response = api.create_thread(alice, [alice, bob, bob, alice], title="Ignored")

    assert response.status_code == 201
    thread = response.get_json()["thread"]
    assert thread["kind"] == "direct"
    assert thread["title"] is None
    assert [member["user_id"] for member in thread["members"]] == [alice.user_id, bob.user_id]


def test_a_group_of_three_is_new_every_time_and_keeps_its_title(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")

    first = api.create_thread(alice, [alice, bob, carol], "hi all", title="Lunch")
    second = api.create_thread(alice, [alice, bob, carol], "hi again")

    assert first.status_code == 201
    assert second.status_code == 201
    one, two = first.get_json(), second.get_json()
    assert one["thread"]["thread_id"] != two["thread"]["thread_id"]
    assert one["thread"]["kind"] == "group"
    assert one["thread"]["title"] == "Lunch"
    assert two["thread"]["title"] is None
    assert one["message"]["seq"] == 1
    assert two["message"]["seq"] == 1
    assert {member["username"] for member in one["thread"]["members"]} == {"alice", "bob", "carol"}
    listed = {thread["thread_id"]: thread["title"] for thread in api.thread_list(carol)}
    assert listed == {one["thread"]["thread_id"]: "Lunch", two["thread"]["thread_id"]: None}


def test_user_ids_that_leave_out_the_sender_get_the_sender_added(api):
    alice, bob = api.signup("alice"), api.signup("bob")

    response = api.create_thread(alice, [bob])

    assert response.status_code == 201
    thread_id = response.get_json()["thread"]["thread_id"]
    assert [thread["thread_id"] for thread in api.thread_list(bob)] == [thread_id]
    assert api.open_thread(alice, [bob]) == thread_id  # the same 1:1 thread as when named


def test_every_user_must_exist(api):
    alice, bob = api.signup("alice"), api.signup("bob")

    details = error_of(api.create_thread(alice, [alice, "ghost1", bob, "ghost2"]), 422, "unknown_users")

    assert details == {"user_ids": ["ghost1", "ghost2"]}
    assert api.thread_list(alice) == []
    assert api.thread_list(bob) == []


def test_a_thread_needs_two_distinct_users(api):
    alice = api.signup("alice")

    for repeat in (1, 3):
        details = error_of(api.create_thread(alice, [alice] * repeat), 422, "validation_error")
        assert set(details) == {"user_ids"}

    assert api.thread_list(alice) == []


def test_an_empty_user_list_is_refused(api):
    alice = api.signup("alice")

    assert set(error_of(api.create_thread(alice, []), 422, "validation_error")) == {"user_ids"}


def test_a_thread_holds_at_most_100_members_by_default(api):
    alice = api.signup("alice")
    strangers = [f"ghost{number}" for number in range(100)]

    at_limit = api.create_thread(alice, [alice, *strangers[:99]])
    over_limit = api.create_thread(alice, [alice, *strangers])

    error_of(at_limit, 422, "unknown_users")  # 100 members passes the size check
    details = error_of(over_limit, 422, "too_many_members")
    assert details == {"max_members": 100}
    assert api.thread_list(alice) == []


def test_the_member_limit_is_configurable(make_api):
    api = make_api(max_thread_members=3)
    alice, bob, carol, dave = (api.signup(name) for name in ("alice", "bob", "carol", "dave"))

    error_of(api.create_thread(alice, [alice, bob, carol, dave]), 422, "too_many_members")
    assert api.create_thread(alice, [alice, bob, carol]).status_code == 201
    assert len(api.thread_list(alice)) == 1


def test_the_message_user_id_must_be_the_signed_in_user(api):
    alice, bob = api.signup("alice"), api.signup("bob")

    response = api.create_thread(alice, [alice, bob], message=message_body(bob, "as bob"))

    error_of(response, 403, "user_mismatch")
    assert api.thread_list(alice) == []
    assert api.thread_list(bob) == []


def test_the_first_message_must_not_be_blank(api):
    alice, bob = api.signup("alice"), api.signup("bob")

    for contents in ["", "   ", "\n\t"]:
        details = error_of(api.create_thread(alice, [alice, bob], contents), 422, "validation_error")
        assert set(details) == {"message"} and set(details["message"]) == {"contents"}, contents

    assert api.thread_list(alice) == []
    assert api.thread_list(bob) == []


def test_a_blank_first_message_does_not_touch_an_existing_direct_thread(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    api.open_thread(alice, [bob])
    before = api.snapshot(alice, bob)

    error_of(api.create_thread(bob, [bob, alice], " "), 422, "validation_error")

    assert api.snapshot(alice, bob) == before


MALFORMED_CREATES = [
    ({"message": message_body("x")}, "user_ids"),
    ({"user_ids": "abc", "message": message_body("x")}, "user_ids"),
    ({"user_ids": [1, 2], "message": message_body("x")}, "user_ids"),
    ({"user_ids": ["x", "y"]}, "message"),
    ({"user_ids": ["x", "y"], "message": "hello"}, "message"),
    ({"user_ids": ["x", "y"], "message": message_body("x"), "title": ""}, "title"),
    ({"user_ids": ["x", "y"], "message": message_body("x"), "title": "t" * 101}, "title"),
    ({"user_ids": ["x", "y"], "message": message_body("x"), "action": "send_message"}, "action"),
    ({"user_ids": ["x", "y"], "message": message_body("x"), "color": "red"}, "color"),
]


def test_a_malformed_create_thread_names_the_field(api):
    alice = api.signup("alice")

    for payload, field in MALFORMED_CREATES:
        response = api.client.post("/threads", json=payload, headers=alice.headers)
        assert field in error_of(response, 422, "validation_error"), payload

    assert api.thread_list(alice) == []


def test_getting_an_unknown_thread_is_404(api):
    alice = api.signup("alice")

    error_of(api.thread(alice, "no-such-thread"), 404, "thread_not_found")


def test_getting_a_thread_shows_the_reader_s_own_read_state(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "one")
    api.send_ok(alice, thread_id, "two")

    response = api.thread(bob, thread_id)

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"thread"}
    thread = body["thread"]
    assert (thread["last_seq"], thread["last_read_seq"], thread["unread_count"]) == (2, 0, 2)
    assert thread["last_message"]["contents"] == "two"
    assert api.thread_view(alice, thread_id)["unread_count"] == 0
