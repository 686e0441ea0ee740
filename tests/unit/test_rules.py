"""The rules both stores keep, checked once without a store."""

from __future__ import annotations

import pytest

from messenger import rules
from messenger.model import DIRECT, GROUP, Message, NewThread, direct_key


def first_message(user_id: str = "a", seq: int = 1) -> Message:
    return Message("m1", "t1", seq, user_id, "hi", 1, 1, "c1")


class TestWhoIsTold:
    def test_a_message_and_a_read_reach_every_member_once(self):
        assert rules.told_of_message(["b", "a", "b"]) == ["a", "b"]
        assert rules.told_of_read(["c", "a"]) == ["a", "c"]

    def test_a_creation_reaches_every_initial_member_in_order(self):
        assert rules.told_of_creation(["c", "a", "b"]) == ["c", "a", "b"]

    def test_an_addition_reaches_every_member_and_the_thread_reaches_the_added_one(self):
        assert rules.told_of_addition(["a", "b"], "c") == ["a", "b", "c"]
        assert rules.told_of_addition(["a", "c"], "c") == ["a", "c"]
        assert rules.told_of_joining("c") == ["c"]

    def test_a_removal_reaches_the_removed_member_too(self):
        assert rules.told_of_removal(["b", "a"], "c") == ["a", "b", "c"]
        assert rules.told_of_removal(["a", "c"], "c") == ["a", "c"]

    def test_departure_binds_the_adder_and_the_remover_not_the_member(self):
        assert rules.departure_actors("c", "a", "b") == ["a", "b"]
        assert rules.departure_actors("c", None, "c") == []
        assert rules.departure_actors("c", "a", "a") == ["a"]


class TestSameOpening:
    def test_the_same_direct_thread_is_the_same_opening(self):
        thread = NewThread("t2", DIRECT, None, "b", 1, ["b", "a"])
        assert rules.is_same_opening(thread, DIRECT, direct_key(["a", "b"]), "a", first_message("b", seq=7))

    def test_another_direct_thread_is_not(self):
        thread = NewThread("t2", DIRECT, None, "a", 1, ["a", "b"])
        assert not rules.is_same_opening(thread, DIRECT, direct_key(["a", "c"]), "a", first_message())

    def test_a_group_is_the_same_opening_only_by_its_creators_first_message(self):
        thread = NewThread("t2", GROUP, None, "a", 1, ["a", "b", "c"])
        assert rules.is_same_opening(thread, GROUP, None, "a", first_message("a"))
        assert not rules.is_same_opening(thread, GROUP, None, "a", first_message("a", seq=2))
        assert not rules.is_same_opening(thread, GROUP, None, "b", first_message("a"))
        assert not rules.is_same_opening(thread, DIRECT, "a:b", "a", first_message("a"))


class TestReadMarker:
    def test_the_marker_never_passes_the_newest_message(self):
        assert rules.read_target(9, 5) == 5
        assert rules.read_target(3, 5) == 3


class TestRetention:
    def test_floors_keep_the_highest_cursor_per_user(self):
        assert rules.merge_floors([("a", 3), ("b", 1), ("a", 7), ("a", 5)]) == {"a": 7, "b": 1}
        assert rules.merge_floors([]) == {}

    def test_the_newest_cursor_survives_pruning(self):
        assert rules.newest_cursor(0, 12) == 12
        assert rules.newest_cursor(15, 12) == 15

    @pytest.mark.parametrize(
        ("since", "newest", "floor", "expired"),
        [
            (0, 0, 0, False),  # a fresh log
            (5, 10, 5, False),  # at the floor: nothing after it was pruned
            (4, 10, 5, True),  # below the floor: pruned past
            (10, 10, 5, False),
            (11, 10, 5, True),  # never handed out
            (12, 0, 12, False),  # everything pruned: the floor is the newest cursor
        ],
    )
    def test_a_cursor_expires_below_the_floor_or_past_the_newest(self, since, newest, floor, expired):
        assert rules.is_cursor_expired(since, newest, floor) is expired


# Reactions and erasure -----------------------------------------------------------------------
def test_a_reaction_summary_lists_at_most_100_user_ids_and_counts_them_all():
    pairs = [("👍", f"u{i}") for i in range(150)] + [("🎉", "u1")]
    thumbs, party = rules.reaction_summary(pairs)
    assert (thumbs["emoji"], thumbs["count"], len(thumbs["user_ids"])) == ("👍", 150, 100)
    assert thumbs["user_ids"][:2] == ["u0", "u1"]
    assert party == {"emoji": "🎉", "count": 1, "user_ids": ["u1"]}


def test_a_new_emoji_is_refused_only_past_the_distinct_limit():
    assert rules.is_reaction_refused(["👍", "🎉"], "😂", 2)
    assert not rules.is_reaction_refused(["👍", "🎉"], "🎉", 2)
    assert not rules.is_reaction_refused(["👍"], "😂", 2)


def message_body(seq: int, contents: str, quoted: int | None = None) -> dict:
    reply_to = {"seq": quoted, "user_id": "a", "preview": "quoted text"} if quoted else None
    return {
        "message": {"thread_id": "t1", "seq": seq, "contents": contents, "reply_to": reply_to, "version": 3}
    }


def test_erasing_blanks_the_message_itself_or_only_its_quote():
    own = rules.erase_from_body("message.new", message_body(2, "secret", quoted=1), "t1", 2)
    assert own["message"] | {"contents": "x"} == {
        "thread_id": "t1",
        "seq": 2,
        "contents": "x",
        "reply_to": None,
        "deleted": True,
        "mentions": [],
        "reactions": [],
        "attachments": [],
        "version": 3,
    }
    assert own["message"]["contents"] == ""
    quote = rules.erase_from_body("message.edited", message_body(3, "mine", quoted=2), "t1", 2)
    assert (quote["message"]["contents"], quote["message"]["reply_to"]["preview"]) == ("mine", "")


def test_erasing_leaves_bodies_of_other_messages_and_threads_alone():
    assert rules.erase_from_body("message.new", message_body(3, "other"), "t1", 2) is None
    assert rules.erase_from_body("message.new", message_body(2, "elsewhere"), "t2", 2) is None
    assert rules.erase_from_body("thread.read", {"thread_id": "t1", "last_read_seq": 2}, "t1", 2) is None
    thread = {"thread": {"thread_id": "t1", "last_message": {"seq": 2, "contents": "hi", "user_id": "a"}}}
    erased = rules.erase_from_body("thread.new", thread, "t1", 2)
    assert erased["thread"]["last_message"] == {"seq": 2, "contents": "", "user_id": "a", "deleted": True}
    assert thread["thread"]["last_message"]["contents"] == "hi"  # a new body, the old one untouched
