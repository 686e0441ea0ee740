"""Blocking people: PUT/DELETE/GET /me/blocks and what a block stops, through the HTTP API."""

from __future__ import annotations

import pytest

from messenger.errors import Blocked
from messenger.web.actions import SOCKET_ACTIONS, dispatch
from messenger.web.context import deps
from messenger.web.limits import rate_limits

from .client import Api, User, error_of, message_body

UNKNOWN_USER = "0123456789abcdef0123456789abcdef"


def block(api: Api, who: User, whom: User | str):
    target = whom.user_id if isinstance(whom, User) else whom
    return api.client.put(f"/me/blocks/{target}", headers=who.headers)


def unblock(api: Api, who: User, whom: User | str):
    target = whom.user_id if isinstance(whom, User) else whom
    return api.client.delete(f"/me/blocks/{target}", headers=who.headers)


def blocks_of(api: Api, who: User) -> list[dict]:
    reply = api.client.get("/me/blocks", headers=who.headers)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()["blocks"]


# The block list -----------------------------------------------------------------------------
class TestBlockList:
    def test_a_block_is_listed_with_user_id_username_and_blocked_at(self, api, clock):
        alice, bob = api.signup("alice"), api.signup("Bob")
        before = clock.now
        reply = block(api, alice, bob)
        assert reply.status_code == 200
        body = reply.get_json()
        assert body == {"user_id": bob.user_id, "username": "Bob", "blocked_at": body["blocked_at"]}
        assert before < body["blocked_at"] <= clock.now  # server time, ms
        assert blocks_of(api, alice) == [reply.get_json()]
        assert blocks_of(api, bob) == []

    def test_blocking_twice_is_one_block_with_its_first_time(self, api, clock):
        alice, bob = api.signup(), api.signup()
        first = block(api, alice, bob).get_json()
        clock.advance(5000)
        assert block(api, alice, bob).get_json() == first
        assert blocks_of(api, alice) == [first]

    def test_the_newest_block_is_listed_first(self, api, clock):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        block(api, alice, bob)
        clock.advance(1000)
        block(api, alice, carol)
        assert [b["user_id"] for b in blocks_of(api, alice)] == [carol.user_id, bob.user_id]

    def test_unblocking_lifts_the_block_and_unblocking_again_changes_nothing(self, api):
        alice, bob = api.signup(), api.signup()
        block(api, alice, bob)
        assert unblock(api, alice, bob).status_code == 204
        assert unblock(api, alice, bob).status_code == 204
        assert blocks_of(api, alice) == []

    def test_blocking_yourself_is_422(self, api):
        alice = api.signup()
        error_of(block(api, alice, alice), 422, "cannot_block_self")
        assert blocks_of(api, alice) == []

    @pytest.mark.parametrize("action", [block, unblock])
    def test_an_unknown_user_is_404_user_not_found(self, api, action):
        alice = api.signup()
        error_of(action(api, alice, UNKNOWN_USER), 404, "user_not_found")

    def test_blocking_past_max_blocks_is_refused_but_blocking_again_is_not(self, make_api):
        api = make_api(max_blocks=2)
        alice, bob, carol, dave = (api.signup() for _ in range(4))
        assert block(api, alice, bob).status_code == 200
        assert block(api, alice, carol).status_code == 200
        details = error_of(block(api, alice, dave), 422, "too_many_blocks")
        assert details == {"max_blocks": 2}
        assert block(api, alice, bob).status_code == 200  # already blocked: no new block
        assert unblock(api, alice, carol).status_code == 204
        assert block(api, alice, dave).status_code == 200

    def test_the_block_routes_need_a_token(self, api):
        bob = api.signup()
        error_of(api.client.put(f"/me/blocks/{bob.user_id}"), 401, "auth_required")
        error_of(api.client.delete(f"/me/blocks/{bob.user_id}"), 401, "auth_required")
        error_of(api.client.get("/me/blocks"), 401, "auth_required")


# What a block stops -------------------------------------------------------------------------
class TestWhatABlockStops:
    def test_a_blocked_user_cannot_open_a_1_1_thread_with_the_blocker(self, api):
        alice, bob = api.signup(), api.signup()
        block(api, alice, bob)
        error_of(api.create_thread(bob, [bob, alice]), 403, "blocked")
        assert api.thread_list(alice) == [] and api.thread_list(bob) == []

    def test_a_blocked_user_cannot_send_into_their_existing_1_1_thread(self, api):
        alice, bob = api.signup(), api.signup()
        thread_id = api.open_thread(alice, [bob], "hi bob")
        block(api, alice, bob)
        error_of(api.send(bob, thread_id, "hello?"), 403, "blocked")
        error_of(api.create_thread(bob, [alice], "by create_thread"), 403, "blocked")
        payload = {"action": "send_message", "thread_id": thread_id, "message": message_body(bob)}
        reply = api.action(bob, payload)
        error_of(reply, 403, "blocked")
        assert api.seqs(alice, thread_id) == [1]
        # The thread stays, and both still read it.
        assert api.thread(bob, thread_id).status_code == 200

    def test_the_blocker_may_still_write_and_an_unblock_lets_them_talk_again(self, api):
        alice, bob = api.signup(), api.signup()
        thread_id = api.open_thread(alice, [bob], "hi bob")
        block(api, alice, bob)
        assert api.send(alice, thread_id, "one more thing").status_code == 201
        unblock(api, alice, bob)
        assert api.send(bob, thread_id, "thanks").status_code == 201

    def test_a_blocked_user_cannot_add_the_blocker_to_a_group_and_is_not_told_who(self, api):
        alice, bob, carol, dave = (api.signup() for _ in range(4))
        block(api, alice, bob)
        created = api.create_thread(bob, [bob, alice, carol], title="Party")
        details = error_of(created, 403, "blocked")
        assert alice.user_id not in created.get_data(as_text=True) and details == {}
        assert api.thread_list(carol) == []
        group = api.open_thread(bob, [carol, dave], title="Party")
        added = api.add_members(bob, group, [alice])
        error_of(added, 403, "blocked")
        assert alice.user_id not in added.get_data(as_text=True)
        assert alice.user_id not in [m["user_id"] for m in api.thread_view(bob, group)["members"]]

    def test_a_group_add_naming_a_blocker_adds_nobody(self, api):
        alice, bob, carol, dave, erin = (api.signup() for _ in range(5))
        group = api.open_thread(bob, [carol, erin], title="g")
        block(api, alice, bob)
        error_of(api.add_members(bob, group, [dave, alice]), 403, "blocked")
        assert len(api.thread_view(bob, group)["members"]) == 3

    def test_groups_already_shared_stay_and_the_blocker_can_leave(self, api):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        group = api.open_thread(bob, [alice, carol], title="g")
        block(api, alice, bob)
        assert api.send(bob, group, "still here").status_code == 201
        assert api.send(alice, group, "me too").status_code == 201
        assert api.remove_member(alice, group, alice).status_code == 204
        error_of(api.thread(alice, group), 404, "thread_not_found")

    def test_the_blocker_does_not_find_the_blocked_in_user_search(self, api):
        alice = api.signup("alice")
        bobs = [api.signup(f"bob{i:02d}") for i in range(25)]
        block(api, alice, bobs[0])
        found = [u["username"] for u in api.users(alice, "bob").get_json()["users"]]
        assert "bob00" not in found
        assert found == [f"bob{i:02d}" for i in range(1, 21)]  # still a full page of 20
        assert "bob00" in [u["username"] for u in api.users(bobs[1], "bob").get_json()["users"]]
        # The blocked one still finds the blocker: a search tells nobody who blocks them.
        assert [u["username"] for u in api.users(bobs[0], "ali").get_json()["users"]] == ["alice"]


def test_block_changes_share_the_members_limit_and_the_list_the_read_limit(make_api):
    two = "2 per minute"
    api = make_api(rate_limits_enabled=True, rate_limit_members=two, rate_limit_read=two)
    alice, bob, carol = api.signup(), api.signup(), api.signup()
    assert block(api, alice, bob).status_code == 200
    assert unblock(api, alice, bob).status_code == 204
    error_of(block(api, alice, carol), 429, "rate_limited")
    assert blocks_of(api, alice) == []
    assert api.client.get("/me/blocks", headers=alice.headers).status_code == 200
    error_of(api.client.get("/me/blocks", headers=alice.headers), 429, "rate_limited")


def test_a_blocked_user_cannot_send_or_open_a_thread_over_the_socket_either(app):
    """The socket's actions run exactly as the socket runs them: through actions.dispatch."""
    api = Api(app.test_client())
    alice, bob = api.signup(), api.signup()
    thread_id = api.open_thread(alice, [bob], "hi bob")
    block(api, alice, bob)
    frames = [
        {"action": "send_message", "thread_id": thread_id, "message": message_body(bob, "hello?")},
        {"action": "create_thread", "user_ids": [bob.user_id, alice.user_id], "message": message_body(bob)},
    ]
    with app.app_context():
        for frame in frames:
            with pytest.raises(Blocked):
                dispatch(deps(), rate_limits(), bob.user_id, frame, SOCKET_ACTIONS)
    assert api.seqs(alice, thread_id) == [1]
