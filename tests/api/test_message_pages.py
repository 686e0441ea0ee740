"""Reading history: by index from the newest, or by before_seq/limit."""

from __future__ import annotations

import pytest

from .client import error_of


@pytest.fixture
def five(api):
    """alice and bob with a 1:1 thread of five messages (seq 1..5)."""
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")
    for number in range(2, 6):
        api.send_ok(bob if number % 2 else alice, thread_id, f"m{number}")
    return alice, bob, thread_id


INDEX_PAGES = [
    ({}, [5, 4, 3, 2, 1]),
    ({"start_index": 0, "end_index": 2}, [5, 4]),
    ({"start_index": 2, "end_index": 4}, [3, 2]),
    ({"start_index": 4, "end_index": 5}, [1]),
    ({"start_index": 3, "end_index": 10}, [2, 1]),
    ({"start_index": 1}, [4, 3, 2, 1]),
    ({"end_index": 1}, [5]),
    ({"start_index": 5, "end_index": 6}, []),
    ({"start_index": 50, "end_index": 150}, []),
    ({"start_index": 2, "end_index": 2}, []),
    ({"start_index": 0, "end_index": 100}, [5, 4, 3, 2, 1]),
]
BEFORE_PAGES = [
    ({"before_seq": 4, "limit": 2}, [3, 2]),
    ({"before_seq": 6}, [5, 4, 3, 2, 1]),
    ({"before_seq": 1000, "limit": 1}, [5]),
    ({"before_seq": 3}, [2, 1]),
    ({"before_seq": 2, "limit": 100}, [1]),
    ({"before_seq": 1}, []),
    ({"before_seq": 5, "limit": 0}, []),
]


def test_index_pages_count_from_the_newest_with_an_exclusive_end(api, five):
    alice, _, thread_id = five

    for params, expected in INDEX_PAGES:
        assert api.seqs(alice, thread_id, **params) == expected, params


def test_before_seq_pages_back_through_history_like_index_pages(api, five):
    alice, bob, thread_id = five

    for params, expected in BEFORE_PAGES:
        assert api.seqs(alice, thread_id, **params) == expected, params
    seen, before = [], 6
    while page := api.seqs(alice, thread_id, before_seq=before, limit=2):
        seen += page
        before = page[-1]
    assert seen == [5, 4, 3, 2, 1]
    assert api.message_list(alice, thread_id, before_seq=4, limit=2) == api.message_list(
        bob, thread_id, start_index=2, end_index=4
    )


def test_the_default_page_holds_the_50_newest_messages(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")
    for number in range(2, 56):
        api.send_ok(alice, thread_id, f"m{number}")

    assert api.seqs(bob, thread_id) == list(range(55, 5, -1))
    assert api.seqs(bob, thread_id, before_seq=56) == list(range(55, 5, -1))
    assert api.seqs(bob, thread_id, start_index=50) == [5, 4, 3, 2, 1]


BAD_PAGES = [
    ({"start_index": 0, "end_index": 101}, "end_index"),
    ({"start_index": -1}, "start_index"),
    ({"end_index": -2}, "end_index"),
    ({"start_index": 4, "end_index": 3}, "end_index"),
    ({"start_index": "x"}, "start_index"),
    ({"end_index": str(10**30)}, "end_index"),
    ({"before_seq": 5, "limit": 101}, "limit"),
    ({"before_seq": 0}, "before_seq"),
    ({"before_seq": -3}, "before_seq"),
    ({"before_seq": "x"}, "before_seq"),
    ({"before_seq": 5, "limit": -1}, "limit"),
    ({"before_seq": 5, "start_index": 0}, "before_seq"),
    ({"before_seq": 5, "end_index": 3}, "before_seq"),
    ({"limit": 5}, "limit"),
]


def test_a_bad_page_is_refused_naming_the_field_and_the_limit(api, five):
    alice, _, thread_id = five

    for params, field in BAD_PAGES:
        details = error_of(api.messages(alice, thread_id, **params), 422, "validation_error")
        assert set(details) == {field}, params
    by_index = error_of(api.messages(alice, thread_id, end_index=101), 422, "validation_error")
    by_seq = error_of(api.messages(alice, thread_id, before_seq=9, limit=101), 422, "validation_error")
    assert "100" in by_index["end_index"][0]
    assert "100" in by_seq["limit"][0]


def test_user_id_in_the_query_must_be_the_reader(api, five):
    alice, bob, thread_id = five

    assert api.seqs(alice, thread_id, user_id=alice.user_id, end_index=1) == [5]
    error_of(api.messages(alice, thread_id, user_id=bob.user_id), 403, "user_mismatch")


def test_reading_an_unknown_thread_is_404(api):
    alice = api.signup("alice")

    error_of(api.messages(alice, "no-such-thread"), 404, "thread_not_found")
    error_of(api.messages(alice, "no-such-thread", before_seq=3), 404, "thread_not_found")
