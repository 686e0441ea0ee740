"""get_user_threads: GET /threads, newest activity first, paged by index from the newest."""

from __future__ import annotations

import pytest

from .client import THREAD_KEYS, error_of
from .conftest import DAY_MS


@pytest.fixture
def three_threads(api):
    """alice in three threads, opened in order: with bob, with carol, then a group."""
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    ids = [
        api.open_thread(alice, [bob], "to bob"),
        api.open_thread(carol, [alice], "to alice"),
        api.open_thread(alice, [bob, carol], "to all", title="All"),
    ]
    return alice, bob, carol, ids


def ids(threads):
    return [thread["thread_id"] for thread in threads]


def test_threads_are_listed_newest_activity_first(api, three_threads):
    alice, bob, _, (with_bob, with_carol, group) = three_threads
    assert ids(api.thread_list(alice)) == [group, with_carol, with_bob]

    api.send_ok(bob, with_bob, "bump")

    assert ids(api.thread_list(alice)) == [with_bob, group, with_carol]
    assert ids(api.thread_list(bob)) == [with_bob, group]


def test_each_listed_thread_carries_members_preview_and_read_state(api, three_threads):
    alice, bob, carol, (with_bob, with_carol, group) = three_threads
    api.send_ok(bob, group, "from bob")

    listed = {thread["thread_id"]: thread for thread in api.thread_list(alice)}

    for thread in listed.values():
        assert set(thread) == THREAD_KEYS
    assert listed[group]["title"] == "All"
    assert listed[group]["members"] == [
        {
            "user_id": alice.user_id,
            "username": "alice",
            "display_name": None,
            "avatar": None,
            "avatar_url": None,
        },
        {"user_id": bob.user_id, "username": "bob", "display_name": None, "avatar": None, "avatar_url": None},
        {
            "user_id": carol.user_id,
            "username": "carol",
            "display_name": None,
            "avatar": None,
            "avatar_url": None,
        },
    ]
    assert listed[group]["last_message"]["contents"] == "from bob"
    assert listed[group]["last_message"]["user_id"] == bob.user_id
    assert (listed[group]["last_seq"], listed[group]["last_read_seq"], listed[group]["unread_count"]) == (
        2,
        1,
        1,
    )
    assert (listed[with_carol]["last_read_seq"], listed[with_carol]["unread_count"]) == (0, 1)
    assert (listed[with_bob]["last_read_seq"], listed[with_bob]["unread_count"]) == (1, 0)
    assert listed[with_carol]["last_message"]["contents"] == "to alice"
    assert listed == {
        thread["thread_id"]: api.thread_view(alice, thread["thread_id"]) for thread in listed.values()
    }


def test_the_preview_is_cut_to_140_characters(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    long_text = "x" * 139 + "yz" + "w" * 100
    api.open_thread(alice, [bob], long_text)

    (thread,) = api.thread_list(bob)

    assert thread["last_message"]["contents"] == long_text[:140]
    assert api.message_list(bob, thread["thread_id"])[0]["contents"] == long_text


PAGES = [
    ({}, [2, 1, 0]),
    ({"start_index": 0, "end_index": 2}, [2, 1]),
    ({"start_index": 1, "end_index": 2}, [1]),
    ({"start_index": 2, "end_index": 3}, [0]),
    ({"start_index": 1}, [1, 0]),
    ({"end_index": 1}, [2]),
    ({"start_index": 2, "end_index": 50}, [0]),
    ({"start_index": 3, "end_index": 10}, []),
    ({"start_index": 1, "end_index": 1}, []),
    ({"start_index": 0, "end_index": 0}, []),
    ({"start_index": 0, "end_index": 100}, [2, 1, 0]),
]


def test_pages_count_from_the_newest_with_an_exclusive_end(api, three_threads):
    alice, bob, _, created = three_threads

    for params, expected in PAGES:
        assert ids(api.thread_list(alice, **params)) == [created[index] for index in expected], params
    assert api.thread_list(alice, start_index=1000) == []
    assert api.thread_list(alice, start_index=2**53 - 1, end_index=2**53 - 1) == []
    assert ids(api.thread_list(alice, user_id=alice.user_id)) == created[::-1]
    error_of(api.threads(alice, user_id=bob.user_id), 403, "user_mismatch")


def test_the_default_page_holds_50_threads(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    opened = [api.open_thread(alice, [bob, carol], f"group {number}") for number in range(51)]

    page = api.thread_list(alice)

    assert ids(page) == opened[::-1][:50]
    assert ids(api.thread_list(alice, start_index=50)) == [opened[0]]


BAD_PAGES = [
    ({"start_index": 0, "end_index": 101}, "end_index"),
    ({"start_index": 5, "end_index": 106}, "end_index"),
    ({"start_index": -1}, "start_index"),
    ({"end_index": -1}, "end_index"),
    ({"start_index": 3, "end_index": 2}, "end_index"),
    ({"start_index": "abc"}, "start_index"),
    ({"end_index": "1.5"}, "end_index"),
    ({"start_index": str(10**30)}, "start_index"),
]


def test_a_bad_page_is_refused_naming_the_field_and_the_limit(api):
    alice = api.signup("alice")

    for params, field in BAD_PAGES:
        details = error_of(api.threads(alice, **params), 422, "validation_error")
        assert set(details) == {field}, params
    details = error_of(api.threads(alice, start_index=0, end_index=101), 422, "validation_error")
    assert "100" in details["end_index"][0]
    assert api.threads(alice).get_json() == {"threads": [], "cursor": 0}


def test_last_activity_follows_the_server_clock(api, clock):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    clock.advance(DAY_MS)

    message = api.send_ok(bob, thread_id, "a day later")

    (thread,) = api.thread_list(alice)
    assert thread["last_activity"] == message["timestamp"]
    assert thread["last_message"]["timestamp"] == message["timestamp"]
