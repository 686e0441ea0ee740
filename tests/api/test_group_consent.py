"""Who may add you to a group: GROUP_ADD_POLICY anyone, contacts (the default) and invite, at a
group's creation and when members are added, through the HTTP API."""

from __future__ import annotations

import pytest

from messenger.config import Settings

from .client import Api, User, error_of

COOLDOWN_S = 3600  # the default READD_COOLDOWN_S


def member_ids(api: Api, who: User, thread_id: str) -> list[str]:
    return [member["user_id"] for member in api.thread_view(who, thread_id)["members"]]


def updates_of(api: Api, who: User, since: int = 0) -> list[dict]:
    reply = api.client.get("/updates", query_string={"since": since, "timeout": 0}, headers=who.headers)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()["updates"]


def cursor_of(api: Api, who: User) -> int:
    return api.threads(who).get_json()["cursor"]


def new_group(api: Api, creator: User, *members: User) -> str:
    """A group of ``creator``, ``members`` and one more person the creator messaged first (a
    group needs three; a contact, for GROUP_ADD_POLICY=contacts)."""
    filler = api.signup()
    api.open_thread(creator, [filler])
    reply = api.create_thread(creator, [creator, *members, filler], title="g")
    assert reply.status_code == 201, reply.get_data(as_text=True)
    return reply.get_json()["thread"]["thread_id"]


def block(api: Api, who: User, whom: User) -> None:
    assert api.client.put(f"/me/blocks/{whom.user_id}", headers=who.headers).status_code == 200


def test_the_default_policy_is_contacts():
    assert Settings().group_add_policy == "contacts"
    assert Settings.from_env({}).group_add_policy == "contacts"
    assert Settings.from_env({"GROUP_ADD_POLICY": " Invite "}).group_add_policy == "invite"


# anyone -------------------------------------------------------------------------------------
def test_under_anyone_strangers_may_be_put_in_a_group(make_api):
    api = make_api(group_add_policy="anyone")
    alice, bob, carol, dave = (api.signup() for _ in range(4))
    thread_id = api.open_thread(alice, [bob, carol], title="g")
    assert api.add_members(alice, thread_id, [dave]).status_code == 200
    assert len(member_ids(api, alice, thread_id)) == 4


# contacts -----------------------------------------------------------------------------------
class TestContacts:
    @pytest.fixture
    def api(self, make_api) -> Api:
        return make_api(group_add_policy="contacts")

    def test_people_who_share_a_1_1_thread_with_the_creator_may_be_put_in_a_group(self, api):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        api.open_thread(alice, [bob])
        api.open_thread(carol, [alice])  # carol opened it: a contact either way round
        created = api.create_thread(alice, [alice, bob, carol], title="Trip")
        assert created.status_code == 201
        assert "invited" not in created.get_json()
        thread_id = created.get_json()["thread"]["thread_id"]
        everyone = [alice.user_id, bob.user_id, carol.user_id]
        assert sorted(member_ids(api, alice, thread_id)) == sorted(everyone)

    def test_a_group_naming_a_non_contact_is_refused_naming_them_and_nothing_is_made(self, api):
        alice, bob, carol, dave = (api.signup() for _ in range(4))
        api.open_thread(alice, [bob])
        created = api.create_thread(alice, [alice, bob, carol, dave], title="Trip")
        details = error_of(created, 403, "not_a_contact")
        assert details == {"user_ids": [carol.user_id, dave.user_id]}
        assert [t["kind"] for t in api.thread_list(bob)] == ["direct"]
        assert api.thread_list(carol) == [] and updates_of(api, carol) == []

    def test_a_non_contact_named_by_username_is_refused_by_user_id(self, api):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        api.open_thread(alice, [bob])
        created = api.create_thread(alice, [bob], usernames=[carol.username], title="Trip")
        assert error_of(created, 403, "not_a_contact") == {"user_ids": [carol.user_id]}

    def test_adding_a_non_contact_adds_nobody(self, api):
        alice, bob, carol, dave = (api.signup() for _ in range(4))
        api.open_thread(alice, [bob])
        api.open_thread(alice, [carol])
        thread_id = new_group(api, alice, bob)
        details = error_of(api.add_members(alice, thread_id, [carol, dave]), 403, "not_a_contact")
        assert details == {"user_ids": [dave.user_id]}
        assert carol.user_id not in member_ids(api, alice, thread_id)
        assert api.add_members(alice, thread_id, [carol]).status_code == 200

    def test_contacts_are_the_adder_s_not_the_creator_s(self, api):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        api.open_thread(alice, [bob])
        api.open_thread(alice, [carol])  # alice's contact, not bob's
        thread_id = new_group(api, alice, bob)
        error_of(api.add_members(bob, thread_id, [carol]), 403, "not_a_contact")

    def test_a_1_1_thread_needs_no_contact(self, api):
        alice, bob = api.signup(), api.signup()
        assert api.create_thread(alice, [alice, bob]).status_code == 201

    def test_a_contact_who_blocks_the_adder_is_refused_as_blocked(self, api):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        api.open_thread(alice, [bob])
        api.open_thread(alice, [carol])
        block(api, carol, alice)
        error_of(api.create_thread(alice, [alice, bob, carol], title="g"), 403, "blocked")

    def test_a_refused_add_of_a_thread_one_is_not_in_is_still_404(self, api):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        api.open_thread(alice, [bob])
        thread_id = new_group(api, alice, bob)
        error_of(api.add_members(carol, thread_id, [alice]), 404, "thread_not_found")


# invite -------------------------------------------------------------------------------------
class TestInvite:
    @pytest.fixture
    def api(self, make_api) -> Api:
        return make_api(group_add_policy="invite")

    def test_creating_a_group_invites_the_others_who_are_not_members_yet(self, api):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        api.open_thread(alice, [bob])  # a contact is invited too: everyone's consent is asked
        created = api.create_thread(alice, [alice, bob, carol], "the plan", title="Trip")
        assert created.status_code == 201
        body = created.get_json()
        assert sorted(body["invited"]) == sorted([bob.user_id, carol.user_id])
        thread_id = body["thread"]["thread_id"]
        assert member_ids(api, alice, thread_id) == [alice.user_id]
        for invitee in (bob, carol):
            error_of(api.thread(invitee, thread_id), 404, "thread_not_found")
            error_of(api.messages(invitee, thread_id, end_index=10), 404, "thread_not_found")
            error_of(api.send(invitee, thread_id, "let me in"), 404, "thread_not_found")
        [invited] = [u for u in updates_of(api, carol) if u["type"] == "thread.invited"]
        assert set(invited) == {"cursor", "type", "thread", "invited_by"}
        assert invited["invited_by"] == alice.user_id
        assert invited["thread"]["thread_id"] == thread_id and invited["thread"]["title"] == "Trip"
        assert invited["thread"]["last_message"] is None  # no message is shown before accepting
        assert "the plan" not in str(updates_of(api, carol))

    def test_pending_invitations_are_listed_again_until_answered(self, api):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        thread_id = new_group(api, alice, bob)
        listed = api.client.get("/me/invitations", headers=bob.headers)
        assert listed.status_code == 200, listed.get_data(as_text=True)
        [invitation] = listed.get_json()["invitations"]
        assert (invitation["thread"]["thread_id"], invitation["invited_by"]) == (thread_id, alice.user_id)
        assert invitation["thread"]["last_message"] is None and invitation["invited_at"] > 0
        assert api.client.get("/me/invitations", headers=carol.headers).get_json() == {"invitations": []}
        api.answer_invitation(bob, thread_id, False)
        assert api.client.get("/me/invitations", headers=bob.headers).get_json() == {"invitations": []}

    def test_accepting_joins_the_group_as_if_added_by_the_inviter(self, api):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        thread_id = new_group(api, alice, bob)
        assert api.answer_invitation(bob, thread_id, True).status_code == 200
        alice_cursor = cursor_of(api, alice)
        assert api.add_members(bob, thread_id, [carol]).get_json()["invited"] == [carol.user_id]
        carol_cursor = cursor_of(api, carol)
        reply = api.answer_invitation(carol, thread_id, True)
        assert reply.status_code == 200
        assert reply.get_json()["accepted"] is True
        assert reply.get_json()["thread"]["thread_id"] == thread_id
        assert carol.user_id in member_ids(api, alice, thread_id)
        assert [u["type"] for u in updates_of(api, carol, carol_cursor)] == ["member.added", "thread.new"]
        assert [u["type"] for u in updates_of(api, alice, alice_cursor)] == ["member.added"]
        assert api.send(carol, thread_id, "hi all").status_code == 201
        # carol was added by bob: bob's re-add cooldown applies once she leaves.
        assert api.remove_member(carol, thread_id, carol).status_code == 204
        assert api.add_members(bob, thread_id, [carol]).status_code == 200  # an invitation, not an add

    def test_accepting_again_returns_the_thread_and_changes_nothing(self, api):
        alice, bob = api.signup(), api.signup()
        thread_id = new_group(api, alice, bob)
        api.answer_invitation(bob, thread_id, True)
        cursor = cursor_of(api, bob)
        again = api.answer_invitation(bob, thread_id, True)
        assert again.status_code == 200 and again.get_json()["thread"]["thread_id"] == thread_id
        assert updates_of(api, bob, cursor) == []

    def test_declining_keeps_them_out_and_declining_as_a_member_is_409(self, api):
        alice, bob = api.signup(), api.signup()
        thread_id = new_group(api, alice, bob)
        reply = api.answer_invitation(bob, thread_id, False)
        assert reply.status_code == 200 and reply.get_json() == {"accepted": False}
        assert api.answer_invitation(bob, thread_id, False).status_code == 200  # idempotent
        error_of(api.answer_invitation(bob, thread_id, True), 404, "thread_not_found")
        error_of(api.thread(bob, thread_id), 404, "thread_not_found")
        error_of(api.answer_invitation(alice, thread_id, False), 409, "already_a_member")

    def test_a_declined_invitation_is_not_sent_again_until_the_cooldown_passes(self, api, clock):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        thread_id = new_group(api, alice, bob)
        api.answer_invitation(bob, thread_id, True)
        api.add_members(alice, thread_id, [carol])
        api.answer_invitation(carol, thread_id, False)
        cursor = cursor_of(api, carol)
        for adder in (alice, bob, alice):  # nobody in the group can send it again soon
            again = api.add_members(adder, thread_id, [carol])
            assert again.status_code == 200  # the adder is not told she declined
        assert updates_of(api, carol, cursor) == []
        clock.advance(COOLDOWN_S * 1000)
        api.add_members(bob, thread_id, [carol])
        assert [u["type"] for u in updates_of(api, carol, cursor)] == ["thread.invited"]

    def test_a_pending_invitation_is_sent_once_however_often_one_is_invited(self, api):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        thread_id = new_group(api, alice, bob)
        api.answer_invitation(bob, thread_id, True)
        for adder in (alice, bob, alice):
            assert api.add_members(adder, thread_id, [carol]).status_code == 200
        assert [u["type"] for u in updates_of(api, carol)] == ["thread.invited"]

    def test_nobody_blocked_is_invited(self, api):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        block(api, carol, alice)
        error_of(api.create_thread(alice, [alice, bob, carol], title="g"), 403, "blocked")
        assert updates_of(api, carol) == [] and updates_of(api, bob) == []

    def test_without_an_invitation_a_stranger_gets_the_404_of_a_missing_thread(self, api):
        alice, bob, carol = api.signup(), api.signup(), api.signup()
        thread_id = new_group(api, alice, bob)
        for accept in (True, False):
            missing = api.answer_invitation(carol, "0123456789abcdef0123456789abcdef", accept)
            stranger = api.answer_invitation(carol, thread_id, accept)
            error_of(stranger, 404, "thread_not_found")
            assert stranger.get_json() == missing.get_json()

    @pytest.mark.parametrize("answer", ["yes", 1, None, {}, [True]])
    def test_an_answer_that_is_not_true_or_false_is_422(self, api, answer):
        alice, bob = api.signup(), api.signup()
        thread_id = new_group(api, alice, bob)
        error_of(api.answer_invitation(bob, thread_id, answer), 422, "validation_error")
        error_of(api.thread(bob, thread_id), 404, "thread_not_found")

    def test_an_answer_needs_a_body_and_a_token(self, api):
        alice, bob = api.signup(), api.signup()
        thread_id = new_group(api, alice, bob)
        path = f"/threads/{thread_id}/invitation"
        error_of(api.client.post(path, json={}, headers=bob.headers), 422, "validation_error")
        error_of(api.client.post(path, json={"accept": True}), 401, "auth_required")

    def test_accepting_into_a_full_group_is_refused(self, make_api):
        api = make_api(group_add_policy="invite", max_thread_members=3)
        alice, bob, carol, dave = (api.signup() for _ in range(4))
        thread_id = api.create_thread(alice, [alice, bob, carol], title="g").get_json()["thread"]["thread_id"]
        api.answer_invitation(bob, thread_id, True)
        api.add_members(alice, thread_id, [dave])
        api.answer_invitation(carol, thread_id, True)
        error_of(api.answer_invitation(dave, thread_id, True), 422, "too_many_members")
        error_of(api.thread(dave, thread_id), 404, "thread_not_found")


def test_invitation_answers_count_against_the_members_limit(make_api):
    api = make_api(group_add_policy="invite", rate_limits_enabled=True, rate_limit_members="2 per minute")
    alice, bob = api.signup(), api.signup()
    thread_id = new_group(api, alice, bob)
    assert api.answer_invitation(bob, thread_id, False).status_code == 200
    assert api.answer_invitation(bob, thread_id, False).status_code == 200
    error_of(api.answer_invitation(bob, thread_id, True), 429, "rate_limited")
    error_of(api.thread(bob, thread_id), 404, "thread_not_found")
