"""Group membership: adding people, leaving, and the creator removing others."""

from __future__ import annotations

import pytest

from .client import THREAD_KEYS, error_of


@pytest.fixture
def group(api):
    """alice created a group with bob and carol."""
    alice, bob, carol = (api.signup(name) for name in ("alice", "bob", "carol"))
    thread_id = api.open_thread(alice, [bob, carol], "welcome", title="Team")
    return alice, bob, carol, thread_id


def member_ids(api, who, thread_id):
    return [member["user_id"] for member in api.thread_view(who, thread_id)["members"]]


def test_any_member_may_add_people_who_then_see_the_history_already_read(api, group):
    alice, bob, carol, thread_id = group
    dave = api.signup("dave")
    api.send_ok(carol, thread_id, "before dave")

    response = api.add_members(bob, thread_id, [dave])

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"thread"}
    assert set(body["thread"]) == THREAD_KEYS
    assert [m["username"] for m in body["thread"]["members"]] == ["alice", "bob", "carol", "dave"]
    assert body["thread"] == api.thread_view(bob, thread_id)
    assert member_ids(api, alice, thread_id) == [alice.user_id, bob.user_id, carol.user_id, dave.user_id]
    (seen_by_dave,) = api.thread_list(dave)
    assert seen_by_dave["thread_id"] == thread_id
    assert seen_by_dave["title"] == "Team"
    assert (seen_by_dave["last_seq"], seen_by_dave["last_read_seq"], seen_by_dave["unread_count"]) == (
        2,
        2,
        0,
    )
    assert api.seqs(dave, thread_id) == [2, 1]
    api.send_ok(alice, thread_id, "hi dave")
    assert api.thread_view(dave, thread_id)["unread_count"] == 1
    assert api.send_ok(dave, thread_id, "hello")["seq"] == 4


def test_adding_someone_already_in_the_group_changes_nothing(api, group):
    alice, bob, carol, thread_id = group

    response = api.add_members(alice, thread_id, [bob, bob, carol])

    assert response.status_code == 200
    assert member_ids(api, alice, thread_id) == [alice.user_id, bob.user_id, carol.user_id]


def test_a_bad_add_adds_nobody(api, group):
    alice, _, _, thread_id = group
    dave = api.signup("dave")
    before = api.snapshot(alice)
    path = f"/threads/{thread_id}/members"

    details = error_of(api.add_members(alice, thread_id, [dave, "ghost"]), 422, "unknown_users")
    assert details == {"user_ids": ["ghost"]}
    for payload in [{}, {"user_ids": []}, {"user_ids": "bob"}, {"user_ids": [3]}, {"ids": ["x"]}]:
        error_of(api.client.post(path, json=payload, headers=alice.headers), 422, "validation_error")

    assert api.snapshot(alice) == before
    assert api.thread_list(dave) == []


def test_a_group_cannot_grow_past_the_member_limit(make_api):
    api = make_api(max_thread_members=3)
    alice, bob, carol, dave = (api.signup(name) for name in ("alice", "bob", "carol", "dave"))
    thread_id = api.open_thread(alice, [bob, carol])

    details = error_of(api.add_members(alice, thread_id, [dave]), 422, "too_many_members")

    assert details == {"max_members": 3}
    assert api.thread_list(dave) == []
    assert api.add_members(alice, thread_id, [bob]).status_code == 200


def test_a_member_may_leave(api, group):
    alice, bob, carol, thread_id = group

    response = api.remove_member(bob, thread_id, bob)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert member_ids(api, alice, thread_id) == [alice.user_id, carol.user_id]
    assert api.thread_list(bob) == []


def test_the_creator_may_remove_others(api, group):
    alice, bob, carol, thread_id = group

    assert api.remove_member(alice, thread_id, carol).status_code == 204

    assert member_ids(api, bob, thread_id) == [alice.user_id, bob.user_id]
    assert api.thread_list(carol) == []
    error_of(api.remove_member(alice, thread_id, carol), 404, "member_not_found")  # not a member any more


def test_only_the_creator_may_remove_others_and_only_members(api, group):
    alice, bob, carol, thread_id = group

    error_of(api.remove_member(bob, thread_id, carol), 403, "not_thread_creator")
    error_of(api.remove_member(bob, thread_id, alice), 403, "not_thread_creator")
    error_of(api.remove_member(bob, thread_id, "ghost"), 403, "not_thread_creator")
    error_of(api.remove_member(alice, thread_id, "ghost"), 404, "member_not_found")

    assert member_ids(api, alice, thread_id) == [alice.user_id, bob.user_id, carol.user_id]


def test_a_removed_member_can_no_longer_read_send_or_mark_read(api, group):
    alice, bob, carol, thread_id = group
    api.remove_member(alice, thread_id, carol)
    before = api.snapshot(alice, bob)
    unknown = api.thread(carol, "no-such-thread").get_data()

    refusals = [
        api.thread(carol, thread_id),
        api.messages(carol, thread_id),
        api.messages(carol, thread_id, before_seq=5),
        api.send(carol, thread_id, "still here?"),
        api.mark_read(carol, thread_id, 1),
        api.add_members(carol, thread_id, [carol]),
        api.remove_member(carol, thread_id, bob),
        api.remove_member(carol, thread_id, carol),
    ]

    for response in refusals:
        error_of(response, 404, "thread_not_found")
        assert response.get_data() == unknown
    assert api.snapshot(alice, bob) == before


def test_a_member_who_left_can_be_added_back(api, group):
    alice, bob, carol, thread_id = group
    api.remove_member(bob, thread_id, bob)
    api.send_ok(alice, thread_id, "while bob was away")

    assert api.add_members(carol, thread_id, [bob]).status_code == 200  # not alice, who added bob

    assert api.thread_view(bob, thread_id)["unread_count"] == 0
    assert api.send_ok(bob, thread_id, "back")["seq"] == 3


def test_the_members_of_a_direct_thread_are_fixed(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    thread_id = api.open_thread(alice, [bob])
    before = api.snapshot(alice, bob)

    error_of(api.add_members(alice, thread_id, [carol]), 409, "direct_thread_members_fixed")
    error_of(api.remove_member(alice, thread_id, bob), 409, "direct_thread_members_fixed")
    error_of(api.remove_member(bob, thread_id, bob), 409, "direct_thread_members_fixed")

    assert api.snapshot(alice, bob) == before
    assert api.thread_list(carol) == []


def test_membership_changes_on_an_unknown_thread_are_404(api):
    alice, bob = api.signup("alice"), api.signup("bob")

    error_of(api.add_members(alice, "no-such-thread", [bob.user_id]), 404, "thread_not_found")
    error_of(api.remove_member(alice, "no-such-thread", alice), 404, "thread_not_found")


# The re-add cool-down: no member can keep pulling someone back into a group -----------------
COOLDOWN_S = 3600  # the default READD_COOLDOWN_S


def test_whoever_added_someone_may_not_pull_them_back_soon_after_they_leave(api, group):
    alice, bob, carol, thread_id = group  # alice created the group: she added bob
    api.remove_member(bob, thread_id, bob)

    refused = api.add_members(alice, thread_id, [bob])

    details = error_of(refused, 403, "readd_cooldown")
    assert details == {"user_ids": [bob.user_id], "retry_after": COOLDOWN_S}
    assert bob.user_id not in member_ids(api, alice, thread_id)
    assert api.thread_list(bob) == []
    assert api.add_members(carol, thread_id, [bob]).status_code == 200  # anyone else may


def test_the_remover_may_not_add_them_back_soon_and_the_add_remove_cycle_stops(api, group):
    alice, bob, carol, thread_id = group
    dave = api.signup("dave")
    assert api.add_members(bob, thread_id, [dave]).status_code == 200
    assert api.remove_member(alice, thread_id, dave).status_code == 204

    error_of(api.add_members(alice, thread_id, [dave]), 403, "readd_cooldown")
    assert api.add_members(bob, thread_id, [dave]).status_code == 403  # bob had added dave
    assert api.add_members(carol, thread_id, [dave]).status_code == 200
    assert api.remove_member(alice, thread_id, dave).status_code == 204
    error_of(api.add_members(alice, thread_id, [dave]), 403, "readd_cooldown")
    error_of(api.add_members(carol, thread_id, [dave]), 403, "readd_cooldown")


def test_a_refused_add_adds_nobody_and_names_only_the_refused(api, group):
    alice, bob, _, thread_id = group
    erin = api.signup("erin")
    api.remove_member(bob, thread_id, bob)

    details = error_of(api.add_members(alice, thread_id, [erin, bob]), 403, "readd_cooldown")

    assert details["user_ids"] == [bob.user_id]
    assert erin.user_id not in member_ids(api, alice, thread_id)


def test_the_cooldown_ends(api, group, clock):
    alice, bob, _, thread_id = group
    api.remove_member(bob, thread_id, bob)
    clock.advance(COOLDOWN_S * 1000 - 10)
    assert error_of(api.add_members(alice, thread_id, [bob]), 403, "readd_cooldown")["retry_after"] == 1

    clock.advance(10)

    assert api.add_members(alice, thread_id, [bob]).status_code == 200


def test_no_cooldown_when_it_is_set_to_zero(make_api):
    api = make_api(readd_cooldown_s=0)
    alice, bob, carol = (api.signup(name) for name in ("alice", "bob", "carol"))
    thread_id = api.open_thread(alice, [bob, carol])
    api.remove_member(bob, thread_id, bob)
    assert api.add_members(alice, thread_id, [bob]).status_code == 200
