"""Leaving the service: tombstones, disabled accounts, a sender's messages, sessions (every
Store, one contract)."""

from __future__ import annotations

import uuid

import pytest

from messenger.errors import MessageNotFound, UsernameTaken, UserNotFound
from messenger.model import DELETED_USERNAME, MESSAGE_DELETED, USER_UPDATED, ProfileEdit, Session, User

from .test_store import add_user, now, open_thread, send

LATER = 10**12  # a reservation that outlasts every test


def add_token(store, user: User) -> str:
    token_hash = uuid.uuid4().hex
    at = now()
    store.add_session(Session(token_hash, user.user_id, "Pixel 8", at, at, at + LATER))
    return token_hash


class TestDeletion:
    def test_a_tombstone_stops_sign_in_and_every_token_at_once(self, store):
        alice = add_user(store, "alice")
        tokens = {add_token(store, alice), add_token(store, alice)}

        deleted = store.mark_deleted(alice.user_id, now(), now() + LATER)

        assert set(deleted.revoked) == tokens
        assert all(store.get_session(token, now()) is None for token in tokens)
        assert store.find_login("alice") is None
        assert store.find_login("alice@example.com") is None
        [tombstone] = store.get_users([alice.user_id])
        assert tombstone.deleted and tombstone.username == DELETED_USERNAME
        assert (tombstone.email, tombstone.display_name) == ("", None)
        assert store.search_users("ali", 5) == []

    def test_a_tombstone_gets_no_new_token_and_cannot_be_renamed(self, store):
        alice = add_user(store, "alice")
        store.mark_deleted(alice.user_id, now(), now() + LATER)
        token = add_token(store, alice)
        assert store.get_session(token, now()) is None
        with pytest.raises(UserNotFound):
            store.update_profile(ProfileEdit(alice.user_id, {"username": "back"}, now()))

    def test_deleting_again_changes_nothing_but_tokens_left(self, store):
        alice, bob = add_user(store, "alice"), add_user(store, "bob")
        open_thread(store, alice, bob)
        first = store.mark_deleted(alice.user_id, now(), now() + LATER)
        told = store.current_cursor(bob.user_id)
        again = store.mark_deleted(alice.user_id, now(), now() + LATER)
        assert again.revoked == [] and first.cursors
        assert store.current_cursor(bob.user_id) == told
        with pytest.raises(UserNotFound):
            store.mark_deleted(uuid.uuid4().hex, now(), now() + LATER)

    def test_co_members_are_told_of_the_tombstone(self, store):
        alice, bob = add_user(store, "alice"), add_user(store, "bob")
        open_thread(store, alice, bob)
        store.mark_deleted(alice.user_id, now(), now() + LATER)
        page = store.read_updates(bob.user_id, 0, 100)
        [user] = [u.body["user"] for u in page.updates if u.type == USER_UPDATED]
        assert (user["user_id"], user["username"], user["display_name"]) == (
            alice.user_id,
            DELETED_USERNAME,
            None,
        )

    def test_the_old_username_is_reserved_until_the_cool_down_ends(self, store):
        alice, bob = add_user(store, "alice"), add_user(store, "bob")
        until = now() + 1000
        store.mark_deleted(alice.user_id, now(), until)
        with pytest.raises(UsernameTaken):
            store.add_user(User(uuid.uuid4().hex, "new@example.com", "ALICE", until - 1), "h")
        with pytest.raises(UsernameTaken):
            store.update_profile(ProfileEdit(bob.user_id, {"username": "Alice"}, until - 1))
        # The email is free at once; the username once the cool-down has passed.
        store.add_user(User(uuid.uuid4().hex, "alice@example.com", "alice2", until - 1), "h")
        renamed = store.update_profile(ProfileEdit(bob.user_id, {"username": "alice"}, until))
        assert renamed.user.username == "alice"

    def test_forget_user_drops_blocks_made_and_keeps_blocks_of_them(self, store):
        alice, bob = add_user(store, "alice"), add_user(store, "bob")
        store.add_block(alice.user_id, bob.user_id, now())
        store.add_block(bob.user_id, alice.user_id, now())
        store.mark_deleted(alice.user_id, now(), now() + LATER)
        store.forget_user(alice.user_id)
        assert store.list_blocks(alice.user_id) == []
        assert [(b.user_id, b.username) for b in store.list_blocks(bob.user_id)] == [
            (alice.user_id, DELETED_USERNAME)
        ]


class TestDisabling:
    def test_disabling_deletes_the_tokens_and_refuses_new_ones(self, store):
        alice = add_user(store, "alice")
        token = add_token(store, alice)
        assert store.set_disabled(alice.user_id, True, now()) == [token]
        assert store.get_session(token, now()) is None
        assert store.get_session(add_token(store, alice), now()) is None
        found, _hash = store.find_login("alice")
        assert found.disabled and not found.deleted

    def test_enabling_lets_tokens_be_issued_again(self, store):
        alice = add_user(store, "alice")
        store.set_disabled(alice.user_id, True, now())
        assert store.set_disabled(alice.user_id, False, now()) == []
        assert not store.find_login("alice")[0].disabled
        token = add_token(store, alice)
        assert store.get_session(token, now()).user_id == alice.user_id

    def test_unknown_and_deleted_users_cannot_be_disabled(self, store):
        alice = add_user(store, "alice")
        store.mark_deleted(alice.user_id, now(), now() + LATER)
        for user_id in (alice.user_id, uuid.uuid4().hex):
            with pytest.raises(UserNotFound):
                store.set_disabled(user_id, True, now())


class TestOwnMessages:
    def test_pages_by_thread_and_seq_in_every_thread_left_ones_too(self, store):
        alice, bob, carol = add_user(store, "alice"), add_user(store, "bob"), add_user(store, "carol")
        first = open_thread(store, alice, bob).thread_id
        second = open_thread(store, bob, alice, carol).thread_id
        send(store, bob, first, "not alice's")
        send(store, alice, first, "two")
        send(store, alice, second, "three")
        store.remove_member(second, alice.user_id, now(), alice.user_id)
        expected = sorted([(first, 1), (first, 3), (second, 2)])

        seen, after = [], None
        while page := store.own_messages(alice.user_id, after, 2):
            assert len(page) <= 2
            seen += [(m.thread_id, m.seq) for m in page]
            after = (page[-1].thread_id, page[-1].seq)

        assert seen == expected
        assert all(m.user_id == alice.user_id for m in store.own_messages(alice.user_id, None, 10))

    def test_delete_own_message_erases_it_in_a_thread_left(self, store):
        alice, bob = add_user(store, "alice"), add_user(store, "bob")
        thread_id = open_thread(store, bob, alice, add_user(store, "carol")).thread_id
        seq = send(store, alice, thread_id, "secret").message.seq
        store.remove_member(thread_id, alice.user_id, now(), alice.user_id)

        changed = store.delete_own_message(thread_id, seq, alice.user_id, now())

        assert changed.changed and changed.message.deleted
        assert bob.user_id in changed.cursors
        [message] = store.list_messages_before(thread_id, bob.user_id, seq + 1, 1)
        assert (message.deleted, message.contents) == (True, "")
        bodies = [u for u in store.read_updates(bob.user_id, 0, 100).updates]
        assert "secret" not in repr([u.body for u in bodies])
        assert MESSAGE_DELETED in [u.type for u in bodies]
        assert not store.delete_own_message(thread_id, seq, alice.user_id, now()).changed

    def test_delete_own_message_refuses_someone_elses(self, store):
        alice, bob = add_user(store, "alice"), add_user(store, "bob")
        thread_id = open_thread(store, bob, alice).thread_id
        with pytest.raises(MessageNotFound):
            store.delete_own_message(thread_id, 1, alice.user_id, now())


class TestAccountsAndSessions:
    def test_member_thread_ids(self, store):
        alice, bob = add_user(store, "alice"), add_user(store, "bob")
        thread_id = open_thread(store, alice, bob).thread_id
        assert store.member_thread_ids(alice.user_id) == [thread_id]
        assert store.member_thread_ids(uuid.uuid4().hex) == []

    def test_list_accounts_pages_by_user_id_deleted_ones_included(self, store):
        users = [add_user(store) for _ in range(5)]
        store.mark_deleted(users[0].user_id, now(), now() + LATER)
        seen, after = [], None
        while page := store.list_accounts(after, 2):
            seen += page
            after = page[-1].user_id
        assert [u.user_id for u in seen] == sorted(u.user_id for u in users)
        assert [u.deleted for u in seen].count(True) == 1
