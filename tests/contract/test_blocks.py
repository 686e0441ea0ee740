"""The Store contract for blocks and group invitations, on every adapter (the ``store`` fixture)."""

from __future__ import annotations

import pytest

from messenger.errors import ThreadNotFound, TooManyMembers
from messenger.model import MEMBER_ADDED, THREAD_INVITED, THREAD_NEW

from .test_store import add_user, now, open_thread, send

COOLDOWN_MS = 60_000


def types_after(store, user, since: int = 0) -> list[str]:
    return [update.type for update in store.read_updates(user.user_id, since, 100).updates]


# Blocks -----------------------------------------------------------------------------------
class TestBlocks:
    def test_a_block_is_listed_with_the_blocked_user_s_name_and_its_time(self, store):
        alice, bob = add_user(store, "alice"), add_user(store, "Bob")
        at = now()
        assert store.add_block(alice.user_id, bob.user_id, at) == at
        [block] = store.list_blocks(alice.user_id)
        assert (block.user_id, block.username, block.blocked_at) == (bob.user_id, "Bob", at)
        assert store.list_blocks(bob.user_id) == []

    def test_blocking_again_keeps_the_first_time(self, store):
        alice, bob = add_user(store), add_user(store)
        first = now()
        store.add_block(alice.user_id, bob.user_id, first)
        assert store.add_block(alice.user_id, bob.user_id, now()) == first
        assert [b.blocked_at for b in store.list_blocks(alice.user_id)] == [first]

    def test_blocks_are_listed_newest_first(self, store):
        alice, bob, carol = add_user(store), add_user(store), add_user(store)
        store.add_block(alice.user_id, bob.user_id, now())
        store.add_block(alice.user_id, carol.user_id, now())
        assert [b.user_id for b in store.list_blocks(alice.user_id)] == [carol.user_id, bob.user_id]

    def test_removing_a_block_lifts_it_and_removing_none_changes_nothing(self, store):
        alice, bob = add_user(store), add_user(store)
        store.remove_block(alice.user_id, bob.user_id)
        store.add_block(alice.user_id, bob.user_id, now())
        store.remove_block(alice.user_id, bob.user_id)
        assert store.list_blocks(alice.user_id) == []
        assert store.blockers_among(bob.user_id, [alice.user_id]) == []

    def test_blockers_among_names_only_those_who_block_the_user(self, store):
        alice, bob, carol, dave = (add_user(store) for _ in range(4))
        store.add_block(alice.user_id, dave.user_id, now())
        store.add_block(carol.user_id, dave.user_id, now())
        store.add_block(dave.user_id, bob.user_id, now())  # the other way round: not a blocker of dave
        found = store.blockers_among(dave.user_id, [alice.user_id, bob.user_id, carol.user_id])
        assert sorted(found) == sorted([alice.user_id, carol.user_id])
        assert store.blockers_among(dave.user_id, []) == []

    def test_blocked_in_direct_only_for_the_blocked_member_of_a_1_1_thread(self, store):
        alice, bob, carol = add_user(store), add_user(store), add_user(store)
        direct = open_thread(store, alice, bob).thread_id
        group = open_thread(store, alice, bob, carol, title="g").thread_id
        foreign = open_thread(store, alice, carol).thread_id
        assert not store.blocked_in_direct(direct, bob.user_id)
        store.add_block(alice.user_id, bob.user_id, now())
        assert store.blocked_in_direct(direct, bob.user_id)
        assert not store.blocked_in_direct(direct, alice.user_id)  # the blocker is not blocked
        assert not store.blocked_in_direct(group, bob.user_id)  # groups stay
        assert not store.blocked_in_direct(foreign, bob.user_id)  # not his thread: nothing told
        assert not store.blocked_in_direct("no-such-thread", bob.user_id)

    def test_contacts_are_the_people_one_shares_a_1_1_thread_with(self, store):
        alice, bob, carol, dave = (add_user(store) for _ in range(4))
        open_thread(store, bob, alice)  # bob opened it: a contact both ways
        open_thread(store, alice, carol, dave, title="group")  # a group makes no contact
        found = store.contacts_among(alice.user_id, [bob.user_id, carol.user_id, dave.user_id])
        assert found == [bob.user_id]
        assert store.contacts_among(alice.user_id, []) == []


# Invitations ------------------------------------------------------------------------------
def group_of(store, creator, *others):
    return open_thread(store, creator, *others, title="Trip").thread_id


class TestInvitations:
    def test_an_invitation_tells_the_invitee_alone_and_shows_no_message(self, store):
        alice, bob, carol = add_user(store), add_user(store), add_user(store)
        thread_id = group_of(store, alice, bob)
        before = store.current_cursor(bob.user_id)
        invited = store.invite(thread_id, [carol.user_id], alice.user_id, now(), COOLDOWN_MS)
        assert invited.user_ids == [carol.user_id]
        assert set(invited.cursors) == {carol.user_id}
        [update] = store.read_updates(carol.user_id, 0, 10).updates
        assert update.type == THREAD_INVITED
        assert update.body["invited_by"] == alice.user_id
        thread = update.body["thread"]
        assert thread["thread_id"] == thread_id and thread["title"] == "Trip"
        assert {m["user_id"] for m in thread["members"]} == {alice.user_id, bob.user_id}
        assert thread["last_message"] is None and thread["unread_count"] == 0
        assert store.current_cursor(bob.user_id) == before  # the members are not told
        with pytest.raises(ThreadNotFound):  # an invitee is not a member
            store.require_thread(thread_id, carol.user_id)
        pending = store.get_invitation(thread_id, carol.user_id)
        assert (pending.invited_by, pending.declined_at) == (alice.user_id, None)

    def test_a_pending_invitation_is_not_sent_again_by_anyone(self, store):
        alice, bob, carol = add_user(store), add_user(store), add_user(store)
        thread_id = group_of(store, alice, bob)
        store.invite(thread_id, [carol.user_id], alice.user_id, now(), COOLDOWN_MS)
        again = store.invite(thread_id, [carol.user_id], bob.user_id, now(), COOLDOWN_MS)
        assert again.user_ids == [] and again.cursors == {}
        assert types_after(store, carol) == [THREAD_INVITED]
        assert store.get_invitation(thread_id, carol.user_id).invited_by == alice.user_id

    def test_a_declined_invitation_is_sent_again_only_after_the_cooldown(self, store):
        alice, bob, carol = add_user(store), add_user(store), add_user(store)
        thread_id = group_of(store, alice, bob)
        store.invite(thread_id, [carol.user_id], alice.user_id, now(), COOLDOWN_MS)
        declined_at = now()
        assert store.decline_invitation(thread_id, carol.user_id, declined_at)
        assert store.decline_invitation(thread_id, carol.user_id, now())  # idempotent
        assert store.get_invitation(thread_id, carol.user_id).declined_at == declined_at
        until = declined_at + COOLDOWN_MS
        soon = store.invite(thread_id, [carol.user_id], bob.user_id, until - 1, COOLDOWN_MS)
        assert soon.user_ids == []
        later = store.invite(thread_id, [carol.user_id], bob.user_id, until, COOLDOWN_MS)
        assert later.user_ids == [carol.user_id]
        assert types_after(store, carol) == [THREAD_INVITED, THREAD_INVITED]
        assert store.get_invitation(thread_id, carol.user_id).declined_at is None

    def test_declining_without_an_invitation_is_false(self, store):
        alice, bob, carol = add_user(store), add_user(store), add_user(store)
        thread_id = group_of(store, alice, bob)
        assert not store.decline_invitation(thread_id, carol.user_id, now())

    def test_accepting_makes_a_member_told_as_an_addition_and_drops_the_invitation(self, store):
        alice, bob, carol = add_user(store), add_user(store), add_user(store)
        thread_id = group_of(store, alice, bob)
        send(store, bob, thread_id, "before carol")
        store.invite(thread_id, [carol.user_id], alice.user_id, now(), COOLDOWN_MS)
        bob_before = store.current_cursor(bob.user_id)
        accepted = store.accept_invitation(thread_id, carol.user_id, now(), 100)
        assert accepted.user_ids == [carol.user_id]
        assert set(accepted.cursors) == {alice.user_id, bob.user_id, carol.user_id}
        assert types_after(store, carol) == [THREAD_INVITED, MEMBER_ADDED, THREAD_NEW]
        assert types_after(store, bob, bob_before) == [MEMBER_ADDED]
        view = store.require_thread(thread_id, carol.user_id)
        assert view.last_read_seq == view.last_seq == 2 and view.unread_count == 0
        assert store.get_invitation(thread_id, carol.user_id) is None
        # Added by the inviter: alice's re-add cooldown applies once carol leaves.
        store.remove_member(thread_id, carol.user_id, now(), carol.user_id)
        assert carol.user_id in store.departures_involving(thread_id, alice.user_id, [carol.user_id])

    def test_accepting_again_or_without_an_invitation_changes_nothing(self, store):
        alice, bob, carol, dave = (add_user(store) for _ in range(4))
        thread_id = group_of(store, alice, bob)
        store.invite(thread_id, [carol.user_id], alice.user_id, now(), COOLDOWN_MS)
        store.accept_invitation(thread_id, carol.user_id, now(), 100)
        cursor = store.current_cursor(carol.user_id)
        assert store.accept_invitation(thread_id, carol.user_id, now(), 100).user_ids == []
        assert store.accept_invitation(thread_id, dave.user_id, now(), 100).user_ids == []
        assert store.current_cursor(carol.user_id) == cursor

    def test_a_declined_invitation_cannot_be_accepted(self, store):
        alice, bob, carol = add_user(store), add_user(store), add_user(store)
        thread_id = group_of(store, alice, bob)
        store.invite(thread_id, [carol.user_id], alice.user_id, now(), COOLDOWN_MS)
        store.decline_invitation(thread_id, carol.user_id, now())
        assert store.accept_invitation(thread_id, carol.user_id, now(), 100).user_ids == []
        with pytest.raises(ThreadNotFound):
            store.require_thread(thread_id, carol.user_id)

    def test_accepting_into_a_full_group_is_refused_and_keeps_the_invitation(self, store):
        alice, bob, carol = add_user(store), add_user(store), add_user(store)
        thread_id = group_of(store, alice, bob)
        store.invite(thread_id, [carol.user_id], alice.user_id, now(), COOLDOWN_MS)
        with pytest.raises(TooManyMembers):
            store.accept_invitation(thread_id, carol.user_id, now(), 2)
        assert store.get_invitation(thread_id, carol.user_id) is not None

    def test_members_are_not_invited_and_a_non_member_cannot_invite(self, store):
        alice, bob, carol = add_user(store), add_user(store), add_user(store)
        thread_id = group_of(store, alice, bob)
        assert store.invite(thread_id, [bob.user_id], alice.user_id, now(), COOLDOWN_MS).user_ids == []
        with pytest.raises(ThreadNotFound):
            store.invite(thread_id, [bob.user_id], carol.user_id, now(), COOLDOWN_MS)
        with pytest.raises(ThreadNotFound):
            store.invite("no-such-thread", [bob.user_id], alice.user_id, now(), COOLDOWN_MS)
