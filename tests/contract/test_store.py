"""The one contract every Store adapter must keep (SQLite, mongomock, and MongoDB when configured)."""

from __future__ import annotations

import itertools
import uuid

import pytest

from messenger.errors import ClientMsgIdConflict, EmailTaken, ThreadNotFound, UsernameTaken
from messenger.model import DIRECT, GROUP, PREVIEW_LENGTH, NewMessage, NewThread, User

_clock = itertools.count(1_700_000_000_000)


def now() -> int:
    return next(_clock)


def add_user(store, name: str | None = None) -> User:
    name = name or f"user_{uuid.uuid4().hex[:8]}"
    user = User(uuid.uuid4().hex, f"{name}@example.com", name, now())
    store.add_user(user, "hash-of-" + name)
    return user


def new_message(user: User, thread_id: str = "", contents: str = "hello", client_msg_id: str | None = None):
    return NewMessage(
        message_id=uuid.uuid4().hex,
        thread_id=thread_id,
        user_id=user.user_id,
        contents=contents,
        timestamp=now(),
        client_timestamp=123,
        client_msg_id=client_msg_id,
    )


def open_thread(store, creator: User, *others: User, kind: str | None = None, title=None, **message):
    member_ids = [creator.user_id] + [u.user_id for u in others]
    kind = kind or (DIRECT if len(member_ids) == 2 else GROUP)
    thread = NewThread(uuid.uuid4().hex, kind, title, creator.user_id, now(), member_ids)
    return store.open_thread(thread, new_message(creator, thread.thread_id, **message))


def send(store, user: User, thread_id: str, contents: str = "hi", client_msg_id: str | None = None):
    return store.send(new_message(user, thread_id, contents, client_msg_id))


# Users (sessions: test_sessions.py) -----------------------------------------------------------------------
class TestUsers:
    def test_added_user_is_found_by_id_email_and_username_case_insensitively(self, store):
        alice = add_user(store, "Alice")
        assert store.get_users([alice.user_id]) == [alice]
        assert store.find_login("alice@EXAMPLE.com") == (alice, "hash-of-Alice")
        assert store.find_login("ALICE") == (alice, "hash-of-Alice")
        assert store.find_login("nobody") is None
        assert store.get_users(["missing"]) == []

    def test_duplicate_email_or_username_is_refused_case_insensitively(self, store):
        add_user(store, "Alice")
        with pytest.raises(EmailTaken):
            store.add_user(User("u2", "ALICE@example.com", "other", now()), "h")
        with pytest.raises(UsernameTaken):
            store.add_user(User("u3", "new@example.com", "aLiCe", now()), "h")
        assert store.find_login("new@example.com") is None

    def test_search_finds_username_prefix_case_insensitively_in_order(self, store):
        for name in ["bob", "Bobby", "bo.b", "carol", "Robert"]:
            add_user(store, name)
        found = [u.username for u in store.search_users("BO", 10)]
        assert found == ["bo.b", "bob", "Bobby"]
        assert len(store.search_users("bo", 2)) == 2
        assert store.search_users("zz", 10) == []

    def test_get_users_returns_only_existing(self, store):
        a, b = add_user(store), add_user(store)
        found = store.get_users([a.user_id, "ghost", b.user_id])
        assert sorted(u.user_id for u in found) == sorted([a.user_id, b.user_id])

    def test_users_are_found_by_username_case_insensitively_and_only_by_username(self, store):
        bob, carol = add_user(store, "Bob"), add_user(store, "carol")
        found = store.get_users_by_username(["BOB", "Carol", "ghost", "carol@example.com"])
        assert sorted(found, key=lambda u: u.username) == [bob, carol]
        assert store.get_users_by_username([]) == []


# Threads -----------------------------------------------------------------------------
class TestOpenThread:
    def test_first_message_gets_seq_1_and_both_members_see_the_thread(self, store):
        a, b = add_user(store), add_user(store)
        opened = open_thread(store, a, b, contents="first")
        assert opened.created and opened.message.seq == 1
        assert opened.message.thread_id == opened.thread_id
        for user in (a, b):
            view = store.require_thread(opened.thread_id, user.user_id)
            assert view.kind == DIRECT and view.last_seq == 1
            assert sorted(m.user_id for m in view.members) == sorted([a.user_id, b.user_id])
            assert view.last_message.contents == "first"
        assert store.require_thread(opened.thread_id, a.user_id).unread_count == 0
        assert store.require_thread(opened.thread_id, b.user_id).unread_count == 1

    def test_direct_thread_between_two_users_is_unique(self, store):
        a, b = add_user(store), add_user(store)
        first = open_thread(store, a, b)
        again = open_thread(store, b, a, contents="again")
        assert not again.created
        assert again.thread_id == first.thread_id and again.message.seq == 2
        assert store.list_threads(a.user_id, 0, 10).threads[0].last_seq == 2
        assert open_thread(store, a, b, contents="and again").thread_id == first.thread_id

    def test_group_threads_are_new_each_time(self, store):
        a, b, c = add_user(store), add_user(store), add_user(store)
        one = open_thread(store, a, b, c, title="Trip")
        two = open_thread(store, a, b, c)
        assert one.created and two.created and one.thread_id != two.thread_id
        view = store.require_thread(one.thread_id, c.user_id)
        assert view.kind == GROUP and view.title == "Trip" and view.created_by == a.user_id

    def test_retried_create_returns_the_original_thread_and_message(self, store):
        a, b, c = add_user(store), add_user(store), add_user(store)
        group = open_thread(store, a, b, c, client_msg_id="g1")
        retry = open_thread(store, a, b, c, client_msg_id="g1")
        assert not retry.created and retry.thread_id == group.thread_id and retry.message == group.message
        assert len(store.list_threads(a.user_id, 0, 10).threads) == 1
        direct = open_thread(store, a, b, client_msg_id="d1")
        assert open_thread(store, a, b, client_msg_id="d1").message == direct.message
        assert store.require_thread(direct.thread_id, a.user_id).last_seq == 1

    def test_create_reusing_a_client_msg_id_from_elsewhere_conflicts(self, store):
        a, b, c = add_user(store), add_user(store), add_user(store)
        open_thread(store, a, b, client_msg_id="x")
        with pytest.raises(ClientMsgIdConflict):
            open_thread(store, a, c, client_msg_id="x")
        with pytest.raises(ClientMsgIdConflict):
            open_thread(store, a, b, c, client_msg_id="x")


class TestSend:
    def test_seqs_grow_one_by_one_and_activity_reorders_threads(self, store):
        a, b, c = add_user(store), add_user(store), add_user(store)
        ab = open_thread(store, a, b).thread_id
        ac = open_thread(store, a, c).thread_id
        assert [v.thread_id for v in store.list_threads(a.user_id, 0, 10).threads] == [ac, ab]
        seqs = [send(store, b, ab, f"m{i}").message.seq for i in range(3)]
        assert seqs == [2, 3, 4]
        assert [v.thread_id for v in store.list_threads(a.user_id, 0, 10).threads] == [ab, ac]
        assert [v.thread_id for v in store.list_threads(a.user_id, 1, 10).threads] == [ac]

    def test_non_member_and_unknown_thread_are_both_not_found(self, store):
        a, b, stranger = add_user(store), add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        with pytest.raises(ThreadNotFound):
            send(store, stranger, thread_id)
        with pytest.raises(ThreadNotFound):
            send(store, a, "no-such-thread")
        assert store.require_thread(thread_id, a.user_id).last_seq == 1

    def test_retry_with_same_client_msg_id_returns_the_original(self, store):
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        first = send(store, a, thread_id, "once", client_msg_id="c-1")
        retry = send(store, a, thread_id, "once", client_msg_id="c-1")
        assert first.created and not retry.created and retry.message == first.message
        assert [m.seq for m in store.list_messages(thread_id, a.user_id, 0, 50)] == [2, 1]
        other = send(store, b, thread_id, "same id, other sender", client_msg_id="c-1")
        assert other.created and other.message.seq == 3

    def test_client_msg_id_reused_in_another_thread_conflicts(self, store):
        a, b, c = add_user(store), add_user(store), add_user(store)
        ab = open_thread(store, a, b).thread_id
        ac = open_thread(store, a, c).thread_id
        send(store, a, ab, client_msg_id="c-1")
        with pytest.raises(ClientMsgIdConflict):
            send(store, a, ac, client_msg_id="c-1")

    def test_sending_marks_the_thread_read_for_the_sender_only(self, store):
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        send(store, b, thread_id)
        send(store, b, thread_id)
        assert store.require_thread(thread_id, a.user_id).unread_count == 2
        send(store, a, thread_id, "reply")
        view = store.require_thread(thread_id, a.user_id)
        assert (view.last_read_seq, view.unread_count) == (4, 0)
        b_view = store.require_thread(thread_id, b.user_id)
        assert (b_view.last_read_seq, b_view.unread_count) == (3, 1)

    def test_preview_is_the_last_message_cut_short(self, store):
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        send(store, b, thread_id, "x" * (PREVIEW_LENGTH + 50))
        preview = store.list_threads(a.user_id, 0, 1).threads[0].last_message
        assert preview.seq == 2 and preview.user_id == b.user_id
        assert preview.contents == "x" * PREVIEW_LENGTH


class TestReadMessages:
    @pytest.fixture
    def thread(self, store):
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b, contents="m1").thread_id
        for i in range(2, 11):
            send(store, a if i % 2 else b, thread_id, f"m{i}")
        return thread_id, a, b

    def test_index_pages_count_from_the_newest(self, store, thread):
        thread_id, a, _ = thread
        page = store.list_messages(thread_id, a.user_id, 0, 3)
        assert [m.contents for m in page] == ["m10", "m9", "m8"]
        assert [m.seq for m in store.list_messages(thread_id, a.user_id, 8, 20)] == [2, 1]
        assert store.list_messages(thread_id, a.user_id, 4, 4) == []
        assert store.list_messages(thread_id, a.user_id, 10, 20) == []

    def test_before_seq_pages_walk_back_through_history(self, store, thread):
        thread_id, _, b = thread
        page = store.list_messages_before(thread_id, b.user_id, 5, 3)
        assert [m.seq for m in page] == [4, 3, 2]
        assert [m.seq for m in store.list_messages_before(thread_id, b.user_id, 2, 3)] == [1]
        assert store.list_messages_before(thread_id, b.user_id, 1, 3) == []

    def test_stored_message_keeps_every_field(self, store, thread):
        thread_id, a, _ = thread
        sent = send(store, a, thread_id, "full", client_msg_id="k").message
        assert store.list_messages(thread_id, a.user_id, 0, 1) == [sent]
        assert sent.client_timestamp == 123 and sent.client_msg_id == "k"

    def test_non_member_reads_nothing(self, store, thread):
        thread_id, _, _ = thread
        stranger = add_user(store)
        for read in (
            lambda: store.list_messages(thread_id, stranger.user_id, 0, 5),
            lambda: store.list_messages_before(thread_id, stranger.user_id, 5, 5),
            lambda: store.require_thread(thread_id, stranger.user_id),
            lambda: store.mark_read(thread_id, stranger.user_id, 5, now()),
        ):
            with pytest.raises(ThreadNotFound):
                read()


class TestMarkRead:
    def test_marker_moves_forward_only_and_never_past_the_last_message(self, store):
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        for _ in range(4):
            send(store, a, thread_id)
        assert store.require_thread(thread_id, b.user_id).unread_count == 5
        assert store.mark_read(thread_id, b.user_id, 3, now()).last_read_seq == 3
        assert store.require_thread(thread_id, b.user_id).unread_count == 2
        assert store.mark_read(thread_id, b.user_id, 1, now()).last_read_seq == 3
        assert store.mark_read(thread_id, b.user_id, 99, now()).last_read_seq == 5
        assert store.require_thread(thread_id, b.user_id).unread_count == 0


class TestMembers:
    def test_added_member_reads_history_with_nothing_unread(self, store):
        a, b, c = add_user(store), add_user(store), add_user(store)
        thread_id = open_thread(store, a, b, add_user(store)).thread_id
        send(store, b, thread_id)
        assert store.add_members(thread_id, [c.user_id, b.user_id], now(), a.user_id).user_ids == [c.user_id]
        view = store.require_thread(thread_id, c.user_id)
        assert (view.last_read_seq, view.unread_count, len(view.members)) == (2, 0, 4)
        assert len(store.list_messages(thread_id, c.user_id, 0, 10)) == 2
        send(store, a, thread_id)
        assert store.require_thread(thread_id, c.user_id).unread_count == 1

    def test_removed_member_can_no_longer_read_or_send(self, store):
        a, b, c = add_user(store), add_user(store), add_user(store)
        thread_id = open_thread(store, a, b, c).thread_id
        assert store.remove_member(thread_id, c.user_id, now(), a.user_id).user_ids == [c.user_id]
        assert store.remove_member(thread_id, c.user_id, now(), a.user_id).user_ids == []
        with pytest.raises(ThreadNotFound):
            send(store, c, thread_id)
        with pytest.raises(ThreadNotFound):
            store.list_messages(thread_id, c.user_id, 0, 10)
        assert store.list_threads(c.user_id, 0, 10).threads == []
        members = store.require_thread(thread_id, a.user_id).members
        assert sorted(m.user_id for m in members) == sorted([a.user_id, b.user_id])


def test_a_heartbeat_commits_on_a_working_store_again_and_again(store):
    for _ in range(3):
        store.heartbeat(now())  # an upsert: never a duplicate key, however often readiness asks


class TestDepartures:
    def test_a_removal_is_recorded_for_the_remover_and_whoever_had_added_them(self, store):
        a, b, c, d = (add_user(store) for _ in range(4))
        thread_id = open_thread(store, a, b, c).thread_id
        store.add_members(thread_id, [d.user_id], now(), b.user_id)
        removed_at = now()
        store.remove_member(thread_id, d.user_id, removed_at, a.user_id)
        assert store.departures_involving(thread_id, a.user_id, [d.user_id, c.user_id]) == {
            d.user_id: removed_at
        }
        assert store.departures_involving(thread_id, b.user_id, [d.user_id]) == {d.user_id: removed_at}
        assert store.departures_involving(thread_id, c.user_id, [d.user_id]) == {}
        assert store.departures_involving("other-thread", a.user_id, [d.user_id]) == {}

    def test_leaving_is_recorded_for_the_creator_who_added_them_not_for_themselves(self, store):
        a, b, c = add_user(store), add_user(store), add_user(store)
        thread_id = open_thread(store, a, b, c).thread_id
        left_at = now()
        store.remove_member(thread_id, c.user_id, left_at, c.user_id)
        assert store.departures_involving(thread_id, a.user_id, [c.user_id]) == {c.user_id: left_at}
        assert store.departures_involving(thread_id, c.user_id, [c.user_id]) == {}
        assert store.departures_involving(thread_id, b.user_id, [c.user_id]) == {}

    def test_a_later_departure_moves_its_actors_records_only(self, store):
        a, b, c = add_user(store), add_user(store), add_user(store)
        thread_id = open_thread(store, a, b, c).thread_id
        first = now()
        store.remove_member(thread_id, c.user_id, first, a.user_id)
        store.add_members(thread_id, [c.user_id], now(), b.user_id)
        second = now()
        store.remove_member(thread_id, c.user_id, second, c.user_id)
        assert store.departures_involving(thread_id, b.user_id, [c.user_id]) == {c.user_id: second}
        assert store.departures_involving(thread_id, a.user_id, [c.user_id]) == {c.user_id: first}

    def test_removing_a_non_member_records_nothing(self, store):
        a, b, c = add_user(store), add_user(store), add_user(store)
        thread_id = open_thread(store, a, b).thread_id
        assert store.remove_member(thread_id, c.user_id, now(), a.user_id).user_ids == []
        assert store.departures_involving(thread_id, a.user_id, [c.user_id]) == {}


def test_adding_members_to_an_unknown_thread_is_not_found(store):
    with pytest.raises(ThreadNotFound):
        store.add_members("no-such-thread", [add_user(store).user_id], now(), "someone")


def test_a_removed_member_cannot_even_retry_an_old_send(store):
    a, b, c = add_user(store), add_user(store), add_user(store)
    thread_id = open_thread(store, a, b, c).thread_id
    send(store, c, thread_id, client_msg_id="mine")
    store.remove_member(thread_id, c.user_id, now(), a.user_id)
    with pytest.raises(ThreadNotFound):
        send(store, c, thread_id, client_msg_id="mine")
