"""The per-user update log: the contract every Store keeps for real-time delivery."""

from __future__ import annotations

import pytest

from messenger.errors import CursorExpired
from messenger.model import (
    MEMBER_ADDED,
    MEMBER_REMOVED,
    MESSAGE_NEW,
    THREAD_NEW,
    THREAD_READ,
    message_new_body,
)

from .test_store import add_user, now, open_thread, send


def log_of(store, user, since: int = 0, limit: int = 500):
    return store.read_updates(user.user_id, since, limit)


def kinds(page) -> list[str]:
    return [update.type for update in page.updates]


def assert_increasing(page) -> None:
    cursors = [update.cursor for update in page.updates]
    assert cursors == sorted(set(cursors))


class TestWhatEachChangeAppends:
    def test_a_new_thread_tells_every_member_about_it_then_its_first_message(self, store):
        a, b, c = add_user(store), add_user(store), add_user(store)
        opened = open_thread(store, a, b, c, title="Trip", client_msg_id="first")
        for user in (a, b, c):
            page = log_of(store, user)
            assert kinds(page) == [THREAD_NEW, MESSAGE_NEW]
            thread = page.updates[0].body["thread"]
            assert (thread["thread_id"], thread["title"], thread["kind"]) == (
                opened.thread_id,
                "Trip",
                "group",
            )
            assert sorted(m["user_id"] for m in thread["members"]) == sorted(u.user_id for u in (a, b, c))
            message = page.updates[1].body["message"]
            assert message["message_id"] == opened.message.message_id
            assert message["client_msg_id"] == "first" and message["seq"] == 1
            assert opened.cursors[user.user_id] == page.cursor == page.updates[-1].cursor

    def test_a_message_reaches_every_member_sender_included_in_order(self, store):
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        start = {user.user_id: store.current_cursor(user.user_id) for user in (a, b)}
        sent = [send(store, a if i % 2 else b, thread_id, f"m{i}") for i in range(4)]
        for user in (a, b):
            page = log_of(store, user, start[user.user_id])
            assert kinds(page) == [MESSAGE_NEW] * 4
            assert [u.body["message"]["contents"] for u in page.updates] == ["m0", "m1", "m2", "m3"]
            assert_increasing(page)
            assert sent[-1].cursors[user.user_id] == page.cursor

    def test_a_send_says_where_its_own_update_landed_in_each_log(self, store):
        # The doorbell carries this update to waiters just behind it, so it must be exact.
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        sent = send(store, a, thread_id, "carried", client_msg_id="carried-1")
        assert set(sent.message_cursors) == {a.user_id, b.user_id}
        for user in (a, b):
            cursor = sent.message_cursors[user.user_id]
            (update,) = log_of(store, user, cursor - 1, limit=1).updates
            assert (update.cursor, update.type) == (cursor, MESSAGE_NEW)
            assert update.body == message_new_body(sent.message)
        assert send(store, a, thread_id, "carried", client_msg_id="carried-1").message_cursors == {}

    def test_a_retried_send_appends_nothing_more(self, store):
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        send(store, a, thread_id, client_msg_id="once")
        before = store.current_cursor(b.user_id)
        send(store, a, thread_id, client_msg_id="once")
        assert log_of(store, b, before).updates == []

    def test_reading_tells_the_reader_and_the_other_members_once(self, store):
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        send(store, a, thread_id)
        since = {user.user_id: store.current_cursor(user.user_id) for user in (a, b)}
        marked = store.mark_read(thread_id, b.user_id, 2, now())
        assert marked.last_read_seq == 2
        assert store.mark_read(thread_id, b.user_id, 1, now()).cursors == {}  # nothing moved
        for user in (a, b):
            page = log_of(store, user, since[user.user_id])
            assert kinds(page) == [THREAD_READ]
            assert page.updates[0].body == {"thread_id": thread_id, "user_id": b.user_id, "last_read_seq": 2}
            assert marked.cursors[user.user_id] == page.cursor

    def test_adding_members_tells_everyone_and_gives_newcomers_the_thread(self, store):
        a, b, c, d = (add_user(store) for _ in range(4))
        thread_id = open_thread(store, a, b, c).thread_id
        since_a = store.current_cursor(a.user_id)
        changed = store.add_members(thread_id, [d.user_id, b.user_id], now(), a.user_id)
        assert changed.user_ids == [d.user_id]
        page = log_of(store, a, since_a)
        assert kinds(page) == [MEMBER_ADDED]
        assert page.updates[0].body == {"thread_id": thread_id, "user_id": d.user_id}
        newcomer = log_of(store, d)
        assert sorted(kinds(newcomer)) == sorted([THREAD_NEW, MEMBER_ADDED])
        thread_new = next(u for u in newcomer.updates if u.type == THREAD_NEW)
        assert thread_new.body["thread"]["unread_count"] == 0 and thread_new.body["thread"]["last_seq"] == 1
        assert set(changed.cursors) == {a.user_id, b.user_id, c.user_id, d.user_id}

    def test_removing_a_member_tells_everyone_including_them(self, store):
        a, b, c = add_user(store), add_user(store), add_user(store)
        thread_id = open_thread(store, a, b, c).thread_id
        since = {user.user_id: store.current_cursor(user.user_id) for user in (a, b, c)}
        removed = store.remove_member(thread_id, c.user_id, now(), a.user_id)
        assert removed.user_ids == [c.user_id]
        for user in (a, b, c):
            page = log_of(store, user, since[user.user_id])
            assert kinds(page) == [MEMBER_REMOVED]
            assert page.updates[0].body == {"thread_id": thread_id, "user_id": c.user_id}
        assert store.remove_member(thread_id, c.user_id, now(), a.user_id).user_ids == []
        send(store, a, thread_id)
        assert log_of(store, c, since[c.user_id]).updates[-1].type == MEMBER_REMOVED

    def test_a_removed_member_added_again_is_told_again(self, store):
        a, b, c = add_user(store), add_user(store), add_user(store)
        thread_id = open_thread(store, a, b, c).thread_id
        store.remove_member(thread_id, c.user_id, now(), a.user_id)
        since = store.current_cursor(c.user_id)
        assert store.add_members(thread_id, [c.user_id], now(), a.user_id).user_ids == [c.user_id]
        assert sorted(kinds(log_of(store, c, since))) == sorted([THREAD_NEW, MEMBER_ADDED])

    def test_the_thread_in_thread_new_comes_before_its_first_message(self, store):
        a, b = add_user(store), add_user(store)
        open_thread(store, a, b)
        thread = log_of(store, b).updates[0].body["thread"]
        assert (thread["last_seq"], thread["unread_count"], thread["last_message"]) == (0, 0, None)


class TestReadingTheLog:
    def test_pages_hold_at_most_the_limit_and_say_when_there_is_more(self, store):
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        for i in range(5):
            send(store, a, thread_id, f"m{i}")
        first = log_of(store, b, 0, limit=4)
        assert len(first.updates) == 4 and first.more and first.cursor == first.updates[-1].cursor
        rest = log_of(store, b, first.cursor, limit=4)
        assert len(rest.updates) == 3 and not rest.more
        assert rest.cursor == store.current_cursor(b.user_id)

    def test_nothing_new_returns_the_cursor_given(self, store):
        a, b = add_user(store), add_user(store)
        open_thread(store, a, b)
        current = store.current_cursor(a.user_id)
        page = log_of(store, a, current)
        assert (page.updates, page.cursor, page.more) == ([], current, False)

    def test_a_user_with_no_updates_is_at_cursor_zero(self, store):
        loner = add_user(store)
        assert store.current_cursor(loner.user_id) == 0
        assert log_of(store, loner, 0).updates == []

    def test_a_cursor_from_the_future_is_refused(self, store):
        a, b = add_user(store), add_user(store)
        open_thread(store, a, b)
        with pytest.raises(CursorExpired):
            log_of(store, a, store.current_cursor(a.user_id) + 1)

    def test_thread_list_carries_the_cursor_to_resume_from(self, store):
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        page = store.list_threads(b.user_id, 0, 10)
        assert [t.thread_id for t in page.threads] == [thread_id]
        assert page.cursor == store.current_cursor(b.user_id)
        send(store, a, thread_id, "after the list")
        missed = log_of(store, b, page.cursor)
        assert [u.body["message"]["contents"] for u in missed.updates] == ["after the list"]


class TestRetention:
    def test_count_pruning_keeps_the_newest_and_expires_older_cursors(self, store):
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        for i in range(10):
            send(store, a, thread_id, f"m{i}")
        newest = store.current_cursor(b.user_id)
        store.prune_updates(now(), max_age_ms=10**12, max_per_user=3)
        kept = log_of(store, b, newest - 3)
        assert [u.body["message"]["contents"] for u in kept.updates] == ["m7", "m8", "m9"]
        with pytest.raises(CursorExpired):
            log_of(store, b, 0)
        with pytest.raises(CursorExpired):
            log_of(store, b, newest - 4)

    def test_age_pruning_removes_old_updates_and_cursors_still_grow(self, store):
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        old = store.current_cursor(b.user_id)
        store.prune_updates(now() + 10_000, max_age_ms=1, max_per_user=1000)
        with pytest.raises(CursorExpired):
            log_of(store, b, 0)
        assert log_of(store, b, old).updates == []
        send(store, a, thread_id, "later")
        page = log_of(store, b, old)
        assert [u.body["message"]["contents"] for u in page.updates] == ["later"]
        assert page.cursor > old
