"""Profiles: display names and renames, and who learns of them (every Store, one contract)."""

from __future__ import annotations

import functools
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from messenger.errors import UsernameTaken, UserNotFound
from messenger.model import THREAD_NEW, USER_UPDATED, ProfileEdit, User

from .test_store import add_user, now, open_thread


def change(store, user: User, **changes):
    return store.update_profile(ProfileEdit(user.user_id, changes, now()))


def user_updates(store, user: User, since: int = 0) -> list[dict]:
    page = store.read_updates(user.user_id, since, 500)
    return [update.body["user"] for update in page.updates if update.type == USER_UPDATED]


def cursors_of(store, *users: User) -> dict[str, int]:
    return {user.user_id: store.current_cursor(user.user_id) for user in users}


class TestDisplayName:
    def test_a_display_name_is_set_served_everywhere_the_user_is_and_cleared(self, store):
        alice, bob = add_user(store, "alice"), add_user(store, "bob")
        thread_id = open_thread(store, alice, bob).thread_id

        changed = change(store, alice, display_name="Alice Liddell")

        assert changed.changed and changed.user.display_name == "Alice Liddell"
        assert changed.user.username == "alice"
        assert store.get_users([alice.user_id])[0].display_name == "Alice Liddell"
        assert store.find_login("alice")[0].display_name == "Alice Liddell"
        assert store.search_users("ali", 5)[0].display_name == "Alice Liddell"
        for viewer in (alice, bob):
            members = {m.user_id: m for m in store.require_thread(thread_id, viewer.user_id).members}
            assert members[alice.user_id].display_name == "Alice Liddell"
            assert members[bob.user_id].display_name is None
            listed = store.list_threads(viewer.user_id, 0, 10).threads[0]
            assert {m.user_id: m.display_name for m in listed.members}[alice.user_id] == "Alice Liddell"

        cleared = change(store, alice, display_name=None)

        assert cleared.changed and cleared.user.display_name is None
        assert store.get_users([alice.user_id])[0].display_name is None
        assert user_updates(store, bob)[-1]["display_name"] is None

    def test_asking_for_what_is_there_changes_nothing_and_tells_nobody(self, store):
        alice, bob = add_user(store, "alice"), add_user(store, "bob")
        open_thread(store, alice, bob)
        change(store, alice, display_name="Al")
        before = cursors_of(store, alice, bob)

        again = change(store, alice, display_name="Al", username="alice")

        assert not again.changed and again.cursors == {}
        assert again.user == store.get_users([alice.user_id])[0]
        assert cursors_of(store, alice, bob) == before

    def test_members_of_a_thread_made_after_the_change_carry_it_in_thread_new(self, store):
        alice, bob, carol = add_user(store), add_user(store), add_user(store)
        change(store, bob, display_name="Bobby")
        thread_id = open_thread(store, alice, bob, title="later").thread_id
        store.add_members(thread_id, [carol.user_id], now(), alice.user_id)

        for user in (alice, carol):
            news = [u.body for u in store.read_updates(user.user_id, 0, 100).updates if u.type == THREAD_NEW]
            members = {m["user_id"]: m for m in news[-1]["thread"]["members"]}
            assert members[bob.user_id]["display_name"] == "Bobby"
            assert members[alice.user_id]["display_name"] is None

    def test_an_unknown_user_is_not_found(self, store):
        with pytest.raises(UserNotFound):
            store.update_profile(ProfileEdit("ghost", {"display_name": "Boo"}, now()))


class TestRename:
    def test_the_new_username_works_at_once_and_the_old_one_is_free_at_once(self, store):
        alice, bob = add_user(store, "alice"), add_user(store, "bob")
        thread_id = open_thread(store, alice, bob).thread_id

        renamed = change(store, alice, username="Alicia")

        assert renamed.changed and renamed.user.username == "Alicia"
        assert store.find_login("ALICIA")[0].user_id == alice.user_id
        assert store.find_login("alice@example.com")[0].username == "Alicia"  # the email still signs in
        assert store.find_login("alice") is None
        assert [u.user_id for u in store.search_users("alic", 5)] == [alice.user_id]
        assert [u.user_id for u in store.get_users_by_username(["alicia"])] == [alice.user_id]
        assert store.get_users_by_username(["alice"]) == []
        members = {m.user_id: m.username for m in store.require_thread(thread_id, bob.user_id).members}
        assert members[alice.user_id] == "Alicia"
        newcomer = User(uuid.uuid4().hex, "new@example.com", "ALICE", now())
        store.add_user(newcomer, "h")  # the old name, in any case, is someone else's now
        assert store.find_login("alice")[0].user_id == newcomer.user_id

    def test_a_username_another_user_holds_in_any_case_is_refused_and_nothing_is_written(self, store):
        alice, bob = add_user(store, "alice"), add_user(store, "bob")
        open_thread(store, alice, bob)
        before = cursors_of(store, alice, bob)

        for taken in ("bob", "BOB", "Bob"):
            with pytest.raises(UsernameTaken):
                change(store, alice, username=taken, display_name="Not Bob")

        assert store.get_users([alice.user_id])[0] == store.find_login("alice")[0]
        assert store.get_users([alice.user_id])[0].display_name is None
        assert cursors_of(store, alice, bob) == before

    def test_ones_own_name_in_another_case_is_a_rename(self, store):
        alice = add_user(store, "alice")
        renamed = change(store, alice, username="ALICE")
        assert renamed.changed and store.find_login("alice")[0].username == "ALICE"

    def test_two_users_racing_for_one_name_one_wins_and_the_other_is_refused(self, store):
        for attempt in range(5):
            racers = [add_user(store) for _ in range(4)]
            wanted = f"prize{attempt}"
            start = threading.Barrier(len(racers))
            calls = [functools.partial(change, store, user, username=wanted) for user in racers]

            with ThreadPoolExecutor(len(racers)) as pool:
                outcomes = list(pool.map(claims, [start] * len(calls), calls))

            assert sorted(outcomes) == [False, False, False, True]
            winner = racers[outcomes.index(True)]
            assert store.find_login(wanted)[0].user_id == winner.user_id
            losers = [u for u in racers if u is not winner]
            assert [store.get_users([u.user_id])[0].username for u in losers] == [u.username for u in losers]

    def test_a_rename_racing_a_sign_up_for_the_same_name_lets_exactly_one_have_it(self, store):
        for attempt in range(5):
            alice = add_user(store)
            wanted = f"contested{attempt}"
            newcomer = User(uuid.uuid4().hex, f"{wanted}@example.com", wanted.upper(), now())
            start = threading.Barrier(2)
            rename = functools.partial(change, store, alice, username=wanted)
            sign_up = functools.partial(store.add_user, newcomer, "h")

            with ThreadPoolExecutor(2) as pool:
                outcomes = list(pool.map(claims, [start, start], [rename, sign_up]))

            assert sorted(outcomes) == [False, True]
            holder = alice if outcomes[0] else newcomer
            assert store.find_login(wanted)[0].user_id == holder.user_id


def claims(start: threading.Barrier, call) -> bool:
    """Run ``call`` once every racer is ready; False when the username was taken first."""
    start.wait()
    try:
        call()
    except UsernameTaken:
        return False
    return True


class TestWhoIsTold:
    def test_everyone_sharing_a_thread_gets_one_user_updated_and_strangers_none(self, store):
        alice, bob, carol, dave, erin = (add_user(store) for _ in range(5))
        open_thread(store, alice, bob, carol, title="group")
        open_thread(store, alice, bob)  # bob shares two threads with alice: still told once
        open_thread(store, dave, alice)
        open_thread(store, bob, erin)  # erin shares none with alice
        before = cursors_of(store, alice, bob, carol, dave, erin)

        changed = change(store, alice, username="alice_new", display_name="Alice")

        told = [alice, bob, carol, dave]
        assert sorted(changed.cursors) == sorted(u.user_id for u in told)
        expected = {
            "user_id": alice.user_id,
            "username": "alice_new",
            "display_name": "Alice",
            "avatar": None,
            "avatar_url": None,
        }
        for user in told:
            assert user_updates(store, user, before[user.user_id]) == [expected]
            assert changed.cursors[user.user_id] == store.current_cursor(user.user_id)
        assert store.current_cursor(erin.user_id) == before[erin.user_id]

    def test_a_user_in_no_thread_is_told_on_their_own_devices(self, store):
        loner = add_user(store)
        changed = change(store, loner, display_name="Solo")
        assert list(changed.cursors) == [loner.user_id]
        assert user_updates(store, loner)[0]["display_name"] == "Solo"

    def test_someone_who_left_is_not_told(self, store):
        alice, bob, carol = add_user(store), add_user(store), add_user(store)
        thread_id = open_thread(store, alice, bob, carol, title="group").thread_id
        store.remove_member(thread_id, carol.user_id, now(), carol.user_id)
        before = store.current_cursor(carol.user_id)

        change(store, alice, display_name="A")

        assert store.current_cursor(carol.user_id) == before
        assert user_updates(store, bob)[-1]["display_name"] == "A"

    def test_each_change_is_one_more_update_in_order(self, store):
        alice, bob = add_user(store), add_user(store)
        open_thread(store, alice, bob)
        for name in ("One", "Two", "Three"):
            change(store, alice, display_name=name)
        assert [u["display_name"] for u in user_updates(store, bob)] == ["One", "Two", "Three"]
