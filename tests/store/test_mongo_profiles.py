"""MongoDB only: a crash between any two writes of a profile change is rolled forward.

The store runs on mongomock with its ``users`` and ``updates`` collections wrapped so the N-th
write raises (a process dying there), for every N the change reaches. Then a retry of the same
PATCH /me, or the user's next change, must leave every co-member's log holding each version's
user.updated exactly once, in order (the write order in ``messenger/store/mongo.py``).
"""

from __future__ import annotations

from messenger.model import USER_UPDATED, ProfileEdit
from tests.contract.test_store import add_user, now, open_thread
from tests.store import crashes
from tests.store.crashes import crash_at


def crashing_store():
    return crashes.crashing_store("messenger_profile_crash", "_users", "_log._updates")


def user_updates(store, user) -> list[dict]:
    page = store.read_updates(user.user_id, 0, 500)
    return [u.body["user"] for u in page.updates if u.type == USER_UPDATED]


def test_a_retry_of_the_same_change_completes_it_after_a_crash_at_any_write():
    writes = 0
    while True:
        store, plan = crashing_store()
        alice, bob, carol = add_user(store), add_user(store), add_user(store)
        open_thread(store, alice, bob, carol, title="group")
        edit = ProfileEdit(alice.user_id, {"username": "renamed", "display_name": "Al"}, now())

        crashed = crash_at(plan, writes, store.update_profile, edit)
        retried = store.update_profile(edit)

        assert retried.user.username == "renamed" and retried.user.display_name == "Al"
        for user in (alice, bob, carol):
            assert [u["username"] for u in user_updates(store, user)] == ["renamed"], (writes, user)
        assert store.find_login("renamed")[0].user_id == alice.user_id
        if not crashed:
            break
        writes += 1
    assert writes >= 4  # the compare-and-set, three appends, then the announcement


def test_the_next_change_announces_one_a_crash_left_pending_first():
    for writes in (1, 2, 3):
        store, plan = crashing_store()
        alice, bob = add_user(store), add_user(store)
        open_thread(store, alice, bob)
        first = ProfileEdit(alice.user_id, {"display_name": "One"}, now())
        assert crash_at(plan, writes, store.update_profile, first)

        store.update_profile(ProfileEdit(alice.user_id, {"display_name": "Two"}, now()))

        for user in (alice, bob):
            assert [u["display_name"] for u in user_updates(store, user)] == ["One", "Two"], writes


def test_a_user_stored_before_profiles_reads_without_a_display_name_and_can_change():
    store, _ = crashing_store()
    alice, bob = add_user(store), add_user(store)
    thread_id = open_thread(store, alice, bob).thread_id
    store._users.update_many({}, {"$unset": {"display_name": ""}})

    assert store.get_users([alice.user_id])[0].display_name is None
    assert [m.display_name for m in store.require_thread(thread_id, bob.user_id).members] == [None, None]
    store.update_profile(ProfileEdit(alice.user_id, {"display_name": "Later"}, now()))
    assert [u["display_name"] for u in user_updates(store, bob)] == ["Later"]
