"""MongoDB only: a crash between any two writes of a change to a message is rolled forward.

The store runs on mongomock with its ``messages`` and ``updates`` collections wrapped so the
N-th write raises (a process dying there), for every N the operation reaches. Then a retry of
the same request, or the message's next change, must leave every member's log holding each
version of the message exactly once, in order, and a deletion must leave no text anywhere.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from messenger.model import MessageEdit
from tests.contract.test_message_changes import versions_in_log, whole_log_text
from tests.contract.test_store import add_user, new_message, now, open_thread, send
from tests.store import crashes
from tests.store.crashes import crash_at


def crashing_store():
    """A fresh mongomock store whose ``messages`` and ``updates`` crash by its plan."""
    return crashes.crashing_store("messenger_crash", "_messages", "_log._updates")


def setup_thread(store):
    alice, bob, carol = add_user(store), add_user(store), add_user(store)
    thread_id = open_thread(store, alice, bob, carol, contents="first").thread_id
    return (alice, bob, carol), thread_id


def edit(store, user, thread_id, seq, contents):
    return store.edit_message(MessageEdit(thread_id, seq, user.user_id, contents, [], now()))


def react(store, user, thread_id, seq, emoji="👍"):
    return store.add_reaction(thread_id, seq, user.user_id, emoji, now(), 3)


def unreact(store, user, thread_id, seq, emoji="👍"):
    return store.remove_reaction(thread_id, seq, user.user_id, emoji, now())


def delete(store, user, thread_id, seq):
    return store.delete_message(thread_id, seq, user.user_id, now())


# Each case: what is done first (untouched by crashes), then the change that crashes.
CHANGES = {
    "edit": (None, lambda s, users, t: edit(s, users[0], t, 2, "secret, edited")),
    "delete": (None, lambda s, users, t: delete(s, users[0], t, 2)),
    "react": (None, lambda s, users, t: react(s, users[1], t, 2)),
    "unreact": (lambda s, users, t: react(s, users[1], t, 2), lambda s, users, t: unreact(s, users[1], t, 2)),
}


VERSION_AFTER = {"edit": 2, "delete": 2, "react": 2, "unreact": 3}


def assert_each_version_once_in_order(store, users, thread_id, seq):
    version = store.require_message(thread_id, seq, users[0].user_id).version
    for user in users:
        assert versions_in_log(store, user, thread_id, seq) == list(range(1, version + 1)), user


def every_crash(change: str):
    """Yield (store, plan, users, thread_id, crashed) for each write count the change reaches."""
    before, call = CHANGES[change]
    for writes in range(0, 100):
        store, plan = crashing_store()
        users, thread_id = setup_thread(store)
        send(store, users[0], thread_id, "my secret words")
        if before is not None:
            before(store, users, thread_id)
        crashed = crash_at(plan, writes, call, store, users, thread_id)
        yield store, users, thread_id, call, crashed
        if not crashed:
            assert writes > 2  # the change made several writes, and each was crashed after
            return
    raise AssertionError("the change never completed")


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_retry_after_a_crash_anywhere_rolls_the_change_forward_once(change):
    for store, users, thread_id, call, crashed in every_crash(change):
        if crashed:
            retried = call(store, users, thread_id)
            assert retried.message.version == VERSION_AFTER[change]
        assert_each_version_once_in_order(store, users, thread_id, 2)
        if change == "delete":
            for user in users:
                assert "secret" not in whole_log_text(store, user)
            assert store.require_message(thread_id, 2, users[1].user_id).contents == ""


@pytest.mark.parametrize("change", ["edit", "react", "unreact"])
def test_the_next_change_rolls_a_crashed_one_forward_before_its_own(change):
    for store, users, thread_id, _, _ in every_crash(change):
        react(store, users[2], thread_id, 2, "🎉")  # someone else's change, not a retry
        assert_each_version_once_in_order(store, users, thread_id, 2)


def test_a_crash_mid_delete_leaves_no_text_in_quotes_previews_or_edits_once_retried():
    for writes in range(0, 200):
        store, plan = crashing_store()
        (alice, bob, carol), thread_id = setup_thread(store)
        dave = add_user(store)
        send(store, alice, thread_id, "my secret words")
        store.add_members(thread_id, [dave.user_id], now(), alice.user_id)  # previews it
        edit(store, alice, thread_id, 2, "my edited secret")
        reply = replace(new_message(bob, thread_id, "what words?"), reply_to_seq=2)
        store.send(reply)
        react(store, carol, thread_id, 2)
        crashed = crash_at(plan, writes, delete, store, alice, thread_id, 2)
        if crashed:
            assert delete(store, alice, thread_id, 2).message.deleted
        for user in (alice, bob, carol, dave):
            text = whole_log_text(store, user)
            assert "secret" not in text and "what words?" in text
        assert store.list_messages(thread_id, bob.user_id, 0, 1)[0].reply_to["preview"] == ""
        assert_each_version_once_in_order(store, [alice, bob, carol], thread_id, 2)
        if not crashed:
            return
    raise AssertionError("the deletion never completed")


def test_a_reply_written_after_the_deletion_erased_loses_its_quote():
    """The race a reply can lose: it read its quote, then the deletion erased everything
    before the reply was stored. Its own append sees the deletion and erases the copies."""
    store, _ = crashing_store()
    (alice, bob, _carol), thread_id = setup_thread(store)
    send(store, alice, thread_id, "my secret words")
    stale_quote = store._quote(thread_id, 2)
    delete(store, alice, thread_id, 2)
    store._deliver(new_message(bob, thread_id, "what words?"), stale_quote)
    assert store.list_messages(thread_id, bob.user_id, 0, 1)[0].reply_to["preview"] == ""
    assert "secret" not in whole_log_text(store, alice)


def test_a_joiners_thread_new_written_after_the_erasure_loses_its_preview():
    store, _ = crashing_store()
    (alice, _bob, _carol), thread_id = setup_thread(store)
    dave = add_user(store)
    send(store, alice, thread_id, "my secret words")
    stale_views = store._views.one
    stale = {}

    def view_read_before_the_deletion(membership):
        if membership["user_id"] == dave.user_id and "view" not in stale:
            view = stale_views(membership)
            stale["view"] = view
            delete(store, alice, thread_id, 2)  # lands between the read and the append
            return view
        return stale_views(membership)

    store._views.one = view_read_before_the_deletion
    store.add_members(thread_id, [dave.user_id], now(), alice.user_id)
    assert stale["view"].last_message.contents == "my secret words"
    assert "secret" not in whole_log_text(store, dave)
