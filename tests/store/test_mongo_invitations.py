"""MongoDB only: a crash between any two writes of an invitation or its acceptance rolls forward.

The store runs on mongomock with the collections these operations write wrapped so the N-th
write raises (a process dying there), for every N the operation reaches; then the same request
again must leave each log holding each update exactly once, and the membership made.
"""

from __future__ import annotations

import pytest

from messenger.model import MEMBER_ADDED, THREAD_INVITED, THREAD_NEW
from tests.contract.test_store import add_user, now, open_thread
from tests.store import crashes
from tests.store.crashes import crash_at

COOLDOWN_MS = 60_000


def crashing_store():
    return crashes.crashing_store(
        "messenger_invitations_crash", "_invitations", "_memberships", "_log._updates"
    )


def types_of(store, user) -> list[str]:
    return [update.type for update in store.read_updates(user.user_id, 0, 100).updates]


def setup_group(store):
    alice, bob, carol = add_user(store), add_user(store), add_user(store)
    thread_id = open_thread(store, alice, bob, title="g").thread_id
    return (alice, bob, carol), thread_id


@pytest.mark.parametrize("writes", range(6))
def test_an_invitation_cut_short_is_sent_once_by_the_next_invite(writes):
    store, plan = crashing_store()
    (alice, _, carol), thread_id = setup_group(store)

    def invite():
        return store.invite(thread_id, [carol.user_id], alice.user_id, now(), COOLDOWN_MS)

    crash_at(plan, writes, invite)
    invite()  # the inviter's retry (or anyone's invite of her into this group)
    assert types_of(store, carol) == [THREAD_INVITED]
    assert store.get_invitation(thread_id, carol.user_id).declined_at is None


@pytest.mark.parametrize("writes", range(10))
def test_an_acceptance_cut_short_is_completed_once_by_a_retry(writes):
    store, plan = crashing_store()
    (alice, bob, carol), thread_id = setup_group(store)
    store.invite(thread_id, [carol.user_id], alice.user_id, now(), COOLDOWN_MS)

    def accept():
        return store.accept_invitation(thread_id, carol.user_id, now(), 100)

    crash_at(plan, writes, accept)
    accept()
    assert types_of(store, carol) == [THREAD_INVITED, MEMBER_ADDED, THREAD_NEW]
    assert types_of(store, bob).count(MEMBER_ADDED) == 1
    assert types_of(store, alice).count(MEMBER_ADDED) == 1
    assert store.get_invitation(thread_id, carol.user_id) is None
    assert store.require_thread(thread_id, carol.user_id).thread_id == thread_id
