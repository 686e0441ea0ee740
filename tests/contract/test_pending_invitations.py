"""A user's pending invitations, listed again (a client that reloads has lost thread.invited)."""

from __future__ import annotations

from .test_blocks import COOLDOWN_MS
from .test_store import add_user, now, open_thread


def group_of(store, creator, *others):
    return open_thread(store, creator, *others, add_user(store), kind="group", title="Trip").thread_id


def pending(store, user) -> list[tuple[str, str, str | None]]:
    return [(i.thread_id, i.invited_by, v.title) for i, v in store.pending_invitations(user.user_id, 100)]


def test_pending_invitations_are_listed_newest_first_with_their_group(store):
    alice, bob, carol = add_user(store), add_user(store), add_user(store)
    first, second = group_of(store, alice, bob), group_of(store, bob, alice)
    store.invite(first, [carol.user_id], alice.user_id, now(), COOLDOWN_MS)
    store.invite(second, [carol.user_id], bob.user_id, now(), COOLDOWN_MS)
    listed = store.pending_invitations(carol.user_id, 100)
    assert [(i.thread_id, i.invited_by) for i, _ in listed] == [(second, bob.user_id), (first, alice.user_id)]
    invitation, view = listed[1]
    assert view.thread_id == first and {alice.user_id, bob.user_id} <= {m.user_id for m in view.members}
    assert invitation.user_id == carol.user_id and invitation.declined_at is None
    assert len(store.pending_invitations(carol.user_id, 1)) == 1
    assert store.pending_invitations(alice.user_id, 100) == []


def test_answered_invitations_are_not_pending(store):
    alice, bob, carol = add_user(store), add_user(store), add_user(store)
    accepted, declined = group_of(store, alice, bob), group_of(store, alice, bob)
    for thread_id in (accepted, declined):
        store.invite(thread_id, [carol.user_id], alice.user_id, now(), COOLDOWN_MS)
    store.accept_invitation(accepted, carol.user_id, now(), 100)
    store.decline_invitation(declined, carol.user_id, now())
    assert pending(store, carol) == []


def test_an_invitation_stays_listed_after_its_inviter_left(store):
    alice, bob, carol = add_user(store), add_user(store), add_user(store)
    thread_id = group_of(store, alice, bob)
    store.invite(thread_id, [carol.user_id], bob.user_id, now(), COOLDOWN_MS)
    store.remove_member(thread_id, bob.user_id, now(), bob.user_id)
    [(listed_id, inviter, _)] = pending(store, carol)
    assert (listed_id, inviter) == (thread_id, bob.user_id)
