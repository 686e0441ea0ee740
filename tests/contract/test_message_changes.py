"""Edits, deletions, replies, reactions and mentions: the same contract for every Store adapter.

Each change is one more version of its message, appended to every member's log in version
order; a deletion erases the text from every stored copy, the log's update bodies included.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest

from messenger.errors import (
    MessageDeleted,
    MessageNotFound,
    NotAllowed,
    ReplyNotFound,
    ThreadNotFound,
    TooManyReactions,
)
from messenger.model import (
    MESSAGE_DELETED,
    MESSAGE_EDITED,
    MESSAGE_NEW,
    REACTION_ADDED,
    REACTION_REMOVED,
    MessageEdit,
)
from tests.contract.test_store import add_user, new_message, now, open_thread, send

MAX_DISTINCT = 3


def edit(store, user, thread_id: str, seq: int, contents: str, mentions: list[str] | None = None):
    return store.edit_message(MessageEdit(thread_id, seq, user.user_id, contents, mentions or [], now()))


def reply(store, user, thread_id: str, reply_to_seq: int, contents: str = "re", mentions=()):
    message = replace(
        new_message(user, thread_id, contents), reply_to_seq=reply_to_seq, mentions=list(mentions)
    )
    return store.send(message)


def react(store, user, thread_id: str, seq: int, emoji: str = "👍"):
    return store.add_reaction(thread_id, seq, user.user_id, emoji, now(), MAX_DISTINCT)


def unreact(store, user, thread_id: str, seq: int, emoji: str = "👍"):
    return store.remove_reaction(thread_id, seq, user.user_id, emoji, now())


def log_after(store, user, since: int):
    return store.read_updates(user.user_id, since, 500).updates


def cursors_of(store, *users) -> dict[str, int]:
    return {user.user_id: store.current_cursor(user.user_id) for user in users}


def whole_log_text(store, user) -> str:
    return json.dumps([update.body for update in log_after(store, user, 0)], ensure_ascii=False)


def pair_thread(store):
    """Alice and Bob in a 1:1 thread whose first message (seq 1) is Alice's."""
    alice, bob = add_user(store), add_user(store)
    return alice, bob, open_thread(store, alice, bob, contents="first").thread_id


def group(store, size: int = 3):
    creator, *others = (add_user(store) for _ in range(size))
    return creator, others, open_thread(store, creator, *others, contents="first").thread_id


# Edits ---------------------------------------------------------------------------------
class TestEdit:
    def test_an_edit_replaces_the_contents_and_tells_every_member(self, store):
        alice, bob, thread_id = pair_thread(store)
        before = cursors_of(store, alice, bob)
        changed = edit(store, alice, thread_id, 1, "first, fixed")
        assert changed.changed
        message = changed.message
        assert (message.contents, message.edit_count, message.version) == ("first, fixed", 1, 2)
        assert message.edited_at is not None and message.edited_at >= message.timestamp
        assert store.require_message(thread_id, 1, bob.user_id) == message
        assert store.list_messages(thread_id, bob.user_id, 0, 1) == [message]
        for user in (alice, bob):
            [update] = log_after(store, user, before[user.user_id])
            assert (update.type, update.body) == (MESSAGE_EDITED, {"message": message.to_dict()})
            assert changed.cursors[user.user_id] == update.cursor

    def test_every_edit_counts_and_the_same_contents_changes_nothing(self, store):
        alice, bob, thread_id = pair_thread(store)
        edit(store, alice, thread_id, 1, "two")
        edit(store, alice, thread_id, 1, "three")
        before = cursors_of(store, alice, bob)
        same = edit(store, alice, thread_id, 1, "three")
        assert not same.changed and same.cursors == {}
        assert (same.message.edit_count, same.message.version) == (2, 3)
        assert cursors_of(store, alice, bob) == before

    def test_only_the_sender_edits_and_only_members_see_the_message(self, store):
        alice, bob, thread_id = pair_thread(store)
        stranger = add_user(store)
        with pytest.raises(NotAllowed):
            edit(store, bob, thread_id, 1, "not mine")
        with pytest.raises(ThreadNotFound):
            edit(store, stranger, thread_id, 1, "not mine")
        with pytest.raises(ThreadNotFound):
            store.require_message(thread_id, 1, stranger.user_id)
        with pytest.raises(MessageNotFound):
            edit(store, alice, thread_id, 2, "no such seq")
        with pytest.raises(MessageNotFound):
            store.require_message(thread_id, 0, alice.user_id)
        assert store.require_message(thread_id, 1, bob.user_id).contents == "first"

    def test_a_deleted_message_cannot_be_edited_back(self, store):
        alice, _, thread_id = pair_thread(store)
        store.delete_message(thread_id, 1, alice.user_id, now())
        with pytest.raises(MessageDeleted):
            edit(store, alice, thread_id, 1, "back again")
        assert store.require_message(thread_id, 1, alice.user_id).contents == ""

    def test_an_edit_replaces_the_mentions(self, store):
        alice, (bob, carol), thread_id = group(store)
        send(store, alice, thread_id, "plain")
        edit(store, alice, thread_id, 2, "@bob look", [bob.user_id])
        assert store.require_message(thread_id, 2, bob.user_id).mentions == [bob.user_id]
        assert store.require_thread(thread_id, bob.user_id).unread_mentions == 1
        edit(store, alice, thread_id, 2, "@carol look", [carol.user_id])
        assert store.require_thread(thread_id, bob.user_id).unread_mentions == 0
        assert store.require_thread(thread_id, carol.user_id).unread_mentions == 1


# Deletions ---------------------------------------------------------------------------------
class TestDelete:
    def test_a_deleted_message_keeps_its_place_and_loses_its_text(self, store):
        alice, bob, thread_id = pair_thread(store)
        sent = send(store, alice, thread_id, "secret").message
        react(store, bob, thread_id, 2)
        before = cursors_of(store, alice, bob)
        changed = store.delete_message(thread_id, 2, alice.user_id, now())
        assert changed.changed
        gone = changed.message
        assert (gone.seq, gone.user_id, gone.timestamp, gone.message_id) == (
            2,
            alice.user_id,
            sent.timestamp,
            sent.message_id,
        )
        assert (gone.contents, gone.deleted, gone.reactions, gone.mentions, gone.version) == (
            "",
            True,
            [],
            [],
            3,
        )
        assert store.list_messages(thread_id, bob.user_id, 0, 1) == [gone]
        for user in (alice, bob):
            [update] = log_after(store, user, before[user.user_id])
            assert update.type == MESSAGE_DELETED
            assert update.body == {"thread_id": thread_id, "seq": 2, "version": 3}

    def test_deleting_twice_appends_one_update(self, store):
        alice, bob, thread_id = pair_thread(store)
        store.delete_message(thread_id, 1, alice.user_id, now())
        before = cursors_of(store, alice, bob)
        again = store.delete_message(thread_id, 1, alice.user_id, now())
        assert not again.changed and again.cursors == {}
        assert cursors_of(store, alice, bob) == before

    def test_the_text_is_erased_from_every_update_body_quote_and_preview(self, store):
        alice, (bob,), thread_id = group(store, 2)
        send(store, alice, thread_id, "my secret @bob")
        edit(store, alice, thread_id, 2, "my edited secret", [bob.user_id])
        reply(store, bob, thread_id, 2, "what secret?")
        carol = add_user(store)  # joins after: her thread.new previews the newest message
        store.add_members(thread_id, [carol.user_id], now(), alice.user_id)
        edit(store, bob, thread_id, 3, "what secret??")  # the reply's edit quotes it too
        assert "secret" in whole_log_text(store, carol)
        store.delete_message(thread_id, 2, alice.user_id, now())
        for user in (alice, bob, carol):
            text = whole_log_text(store, user)
            assert "my secret" not in text and "edited secret" not in text
            assert "what secret??" in text  # the reply keeps its own text
        [the_reply] = store.list_messages(thread_id, bob.user_id, 0, 1)
        assert the_reply.reply_to == {"seq": 2, "user_id": alice.user_id, "preview": ""}
        assert store.require_message(thread_id, 2, bob.user_id).contents == ""

    def test_a_joiners_thread_new_loses_the_preview_of_a_deleted_message(self, store):
        alice, (bob,), thread_id = group(store, 2)
        send(store, alice, thread_id, "hidden words")
        carol = add_user(store)
        store.add_members(thread_id, [carol.user_id], now(), alice.user_id)
        store.delete_message(thread_id, 2, alice.user_id, now())
        [joined] = [u for u in log_after(store, carol, 0) if u.type == "thread.new"]
        assert joined.body["thread"]["last_message"] | {"timestamp": 0} == {
            "seq": 2,
            "user_id": alice.user_id,
            "contents": "",
            "timestamp": 0,
            "deleted": True,
        }
        assert "hidden words" not in whole_log_text(store, carol)

    def test_the_newest_message_deleted_shows_as_a_deleted_preview(self, store):
        alice, bob, thread_id = pair_thread(store)
        send(store, alice, thread_id, "oops")
        store.delete_message(thread_id, 2, alice.user_id, now())
        preview = store.require_thread(thread_id, bob.user_id).last_message
        assert (preview.seq, preview.contents, preview.deleted) == (2, "", True)
        assert store.list_threads(bob.user_id, 0, 10).threads[0].last_message == preview

    def test_deleted_unread_messages_are_not_counted_as_unread_or_as_mentions(self, store):
        alice, bob, thread_id = pair_thread(store)
        for text in ("one", "two", "three"):
            send(store, alice, thread_id, text)
        reply(store, alice, thread_id, 2, "@bob see", mentions=[bob.user_id])
        view = store.require_thread(thread_id, bob.user_id)
        assert (view.unread_count, view.unread_mentions) == (5, 1)
        store.delete_message(thread_id, 3, alice.user_id, now())
        store.delete_message(thread_id, 5, alice.user_id, now())
        view = store.require_thread(thread_id, bob.user_id)
        assert (view.unread_count, view.unread_mentions) == (3, 0)
        store.mark_read(thread_id, bob.user_id, 5, now())
        store.delete_message(thread_id, 4, alice.user_id, now())  # read already: nothing moves
        assert store.require_thread(thread_id, bob.user_id).unread_count == 0

    def test_a_non_member_cannot_delete_and_a_missing_seq_is_not_found(self, store):
        alice, _, thread_id = pair_thread(store)
        with pytest.raises(ThreadNotFound):
            store.delete_message(thread_id, 1, add_user(store).user_id, now())
        with pytest.raises(MessageNotFound):
            store.delete_message(thread_id, 9, alice.user_id, now())


# Replies -----------------------------------------------------------------------------------
class TestReply:
    def test_a_reply_carries_who_and_what_it_answers(self, store):
        alice, bob, thread_id = pair_thread(store)
        long_text = "x" * 500
        send(store, alice, thread_id, long_text)
        sent = reply(store, bob, thread_id, 2, "agreed").message
        assert sent.reply_to == {"seq": 2, "user_id": alice.user_id, "preview": "x" * 140}
        assert store.require_message(thread_id, 3, alice.user_id) == sent
        [update] = log_after(store, alice, store.current_cursor(alice.user_id) - 1)
        assert (update.type, update.body["message"]["reply_to"]) == (MESSAGE_NEW, sent.reply_to)

    def test_a_reply_to_a_seq_the_thread_lacks_is_refused_and_stores_nothing(self, store):
        alice, bob, thread_id = pair_thread(store)
        other_thread = open_thread(store, bob, add_user(store), contents="elsewhere").thread_id
        send(store, bob, other_thread, "seq 2 over there")
        before = cursors_of(store, alice, bob)
        for seq in (0, 2, 99):
            with pytest.raises(ReplyNotFound):
                reply(store, alice, thread_id, seq)
        assert store.list_messages(thread_id, alice.user_id, 0, 10)[0].seq == 1
        assert cursors_of(store, alice, bob) == before

    def test_a_reply_to_a_deleted_message_quotes_nothing(self, store):
        alice, bob, thread_id = pair_thread(store)
        store.delete_message(thread_id, 1, alice.user_id, now())
        sent = reply(store, bob, thread_id, 1, "what was that?").message
        assert sent.reply_to == {"seq": 1, "user_id": alice.user_id, "preview": ""}

    def test_mentions_are_stored_with_the_message_and_counted_until_read(self, store):
        alice, (bob, carol), thread_id = group(store)
        sent = reply(store, alice, thread_id, 1, "@bob @carol hi", mentions=[bob.user_id, carol.user_id])
        assert sent.message.mentions == [bob.user_id, carol.user_id]
        send(store, alice, thread_id, "no mention")
        assert store.require_thread(thread_id, bob.user_id).unread_mentions == 1
        assert store.require_thread(thread_id, alice.user_id).unread_mentions == 0
        store.mark_read(thread_id, bob.user_id, 2, now())
        assert store.require_thread(thread_id, bob.user_id).unread_mentions == 0
        [listed] = [t for t in store.list_threads(carol.user_id, 0, 10).threads if t.thread_id == thread_id]
        assert listed.unread_mentions == 1


# Reactions ---------------------------------------------------------------------------------
class TestReactions:
    def test_reactions_sum_up_per_emoji_in_the_order_they_came(self, store):
        alice, (bob, carol), thread_id = group(store)
        react(store, bob, thread_id, 1, "👍")
        react(store, carol, thread_id, 1, "🎉")
        changed = react(store, carol, thread_id, 1, "👍")
        assert changed.message.reactions == [
            {"emoji": "👍", "count": 2, "user_ids": [bob.user_id, carol.user_id]},
            {"emoji": "🎉", "count": 1, "user_ids": [carol.user_id]},
        ]
        assert changed.message.version == 4
        assert store.list_messages(thread_id, alice.user_id, 0, 1)[0].reactions == changed.message.reactions

    def test_an_emoji_keeps_its_place_while_anyone_has_it_on(self, store):
        alice, (bob, carol), thread_id = group(store)
        react(store, alice, thread_id, 1, "👍")
        react(store, bob, thread_id, 1, "🎉")
        react(store, carol, thread_id, 1, "👍")
        unreact(store, alice, thread_id, 1, "👍")
        assert [r["emoji"] for r in store.require_message(thread_id, 1, bob.user_id).reactions] == [
            "👍",
            "🎉",
        ]
        unreact(store, carol, thread_id, 1, "👍")
        react(store, alice, thread_id, 1, "👍")  # gone, then back: it comes back last
        assert [r["emoji"] for r in store.require_message(thread_id, 1, bob.user_id).reactions] == [
            "🎉",
            "👍",
        ]

    def test_each_reaction_change_tells_every_member(self, store):
        alice, bob, thread_id = pair_thread(store)
        before = cursors_of(store, alice, bob)
        react(store, bob, thread_id, 1, "❤️")
        unreact(store, bob, thread_id, 1, "❤️")
        for user in (alice, bob):
            added, removed = log_after(store, user, before[user.user_id])
            common = {"thread_id": thread_id, "seq": 1, "user_id": bob.user_id, "emoji": "❤️"}
            assert (added.type, added.body) == (REACTION_ADDED, {**common, "count": 1, "version": 2})
            assert (removed.type, removed.body) == (REACTION_REMOVED, {**common, "count": 0, "version": 3})
        assert store.require_message(thread_id, 1, alice.user_id).reactions == []

    def test_reacting_twice_or_removing_what_is_absent_changes_nothing(self, store):
        alice, bob, thread_id = pair_thread(store)
        react(store, bob, thread_id, 1)
        before = cursors_of(store, alice, bob)
        assert not react(store, bob, thread_id, 1).changed
        assert not unreact(store, alice, thread_id, 1).changed
        assert not unreact(store, bob, thread_id, 1, "🎉").changed
        assert cursors_of(store, alice, bob) == before
        assert store.require_message(thread_id, 1, bob.user_id).version == 2

    def test_past_the_distinct_limit_a_new_emoji_is_refused_but_a_present_one_is_not(self, store):
        alice, bob, thread_id = pair_thread(store)
        for emoji in ("👍", "🎉", "❤️"):
            react(store, alice, thread_id, 1, emoji)
        with pytest.raises(TooManyReactions):
            react(store, bob, thread_id, 1, "😂")
        assert react(store, bob, thread_id, 1, "🎉").changed
        unreact(store, alice, thread_id, 1, "👍")
        assert react(store, bob, thread_id, 1, "😂").changed

    def test_a_deleted_message_takes_no_reaction_and_a_stranger_none_at_all(self, store):
        alice, bob, thread_id = pair_thread(store)
        with pytest.raises(ThreadNotFound):
            react(store, add_user(store), thread_id, 1)
        with pytest.raises(MessageNotFound):
            react(store, bob, thread_id, 5)
        store.delete_message(thread_id, 1, alice.user_id, now())
        with pytest.raises(MessageDeleted):
            react(store, bob, thread_id, 1)
        assert not unreact(store, bob, thread_id, 1).changed


# Races --------------------------------------------------------------------------------------
def run_together(*calls) -> list:
    """Run the calls on threads started together; their results, or the exceptions they raised."""
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int, call) -> None:
        start.wait()
        try:
            results[index] = call()
        except Exception as error:  # the caller inspects it
            results[index] = error

    workers = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    return results


def versions_in_log(store, user, thread_id: str, seq: int) -> list[int]:
    """The versions of one message, in the order this user's log holds its updates."""
    found = []
    for update in log_after(store, user, 0):
        body = update.body
        message = body.get("message")
        if message is not None and (message["thread_id"], message["seq"]) == (thread_id, seq):
            found.append(message["version"])
        elif (body.get("thread_id"), body.get("seq")) == (thread_id, seq):
            found.append(body["version"])
    return found


class TestRaces:
    def test_concurrent_edits_all_count_and_the_last_writer_wins(self, store):
        alice, bob, thread_id = pair_thread(store)
        texts = [f"take {i}" for i in range(8)]
        results = run_together(*(lambda t=t: edit(store, alice, thread_id, 1, t) for t in texts))
        assert all(result.changed for result in results), results
        final = store.require_message(thread_id, 1, bob.user_id)
        assert final.edit_count == len(texts) and final.version == len(texts) + 1
        [last] = [r.message for r in results if r.message.version == final.version]
        assert final.contents == last.contents
        for user in (alice, bob):
            assert versions_in_log(store, user, thread_id, 1) == list(range(1, len(texts) + 2))

    def test_an_edit_racing_a_delete_never_brings_the_message_back(self, store):
        alice, bob, thread_id = pair_thread(store)
        for round_ in range(5):
            seq = send(store, alice, thread_id, f"secret {round_}").message.seq
            run_together(
                lambda s=seq, r=round_: edit(store, alice, thread_id, s, f"edited secret {r}"),
                lambda s=seq: store.delete_message(thread_id, s, alice.user_id, now()),
            )
            final = store.require_message(thread_id, seq, bob.user_id)
            assert (final.deleted, final.contents) == (True, "")
        for user in (alice, bob):
            assert "secret" not in whole_log_text(store, user)

    def test_reactions_from_many_users_at_once_are_counted_exactly(self, store):
        creator, others, thread_id = group(store, 9)
        everyone = [creator, *others]
        run_together(*(lambda u=u: react(store, u, thread_id, 1, "👍") for u in everyone))
        leaving = everyone[::2]
        run_together(
            *(lambda u=u: unreact(store, u, thread_id, 1, "👍") for u in leaving),
            *(lambda u=u: react(store, u, thread_id, 1, "🎉") for u in everyone),
        )
        reactions = {r["emoji"]: r for r in store.require_message(thread_id, 1, creator.user_id).reactions}
        assert reactions["👍"]["count"] == len(everyone) - len(leaving)
        assert sorted(reactions["👍"]["user_ids"]) == sorted(u.user_id for u in everyone[1::2])
        assert reactions["🎉"]["count"] == len(everyone)
        changes = 2 * len(everyone) + len(leaving)
        assert versions_in_log(store, creator, thread_id, 1) == list(range(1, changes + 2))
