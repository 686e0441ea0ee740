"""Edits, deletions, replies, reactions and mentions over HTTP: who may, what each answers."""

from __future__ import annotations

import pytest

from ..clock import Clock
from .client import error_of, message_body


@pytest.fixture
def pair(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    return alice, bob, api.open_thread(alice, [bob], "first")


@pytest.fixture
def trio(api):
    """alice created a group with bob and carol; seq 1 is alice's, seq 2 bob's."""
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    thread_id = api.open_thread(alice, [bob, carol], "first", title="G")
    api.send_ok(bob, thread_id, "bob's")
    return alice, bob, carol, thread_id


# Edits --------------------------------------------------------------------------------------
def test_the_sender_edits_and_every_member_is_told(api, pair):
    alice, bob, thread_id = pair
    reply = api.edit(alice, thread_id, 1, "first, fixed")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    message = reply.get_json()["message"]
    assert (message["contents"], message["edit_count"], message["version"]) == ("first, fixed", 1, 2)
    assert message["edited_at"] >= message["timestamp"]
    assert api.message_list(bob, thread_id)[0] == message
    assert api.update_types(bob)[-1] == "message.edited"


def test_the_same_contents_is_a_no_op_that_tells_nobody(api, pair):
    alice, bob, thread_id = pair
    before = api.update_types(bob)
    reply = api.edit(alice, thread_id, 1, "first")
    assert reply.status_code == 200 and reply.get_json()["message"]["edit_count"] == 0
    assert api.update_types(bob) == before


def test_only_the_sender_may_edit_and_contents_follow_the_send_rules(make_api):
    api = make_api(max_message_length=10)
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "first")
    error_of(api.edit(bob, thread_id, 1, "mine now"), 403, "not_allowed")
    for bad in ("", "   ", "\u200b", "x" * 11, None, 7):
        error_of(api.edit(alice, thread_id, 1, bad), 422, "validation_error")
    extra = api.client.patch(
        f"/threads/{thread_id}/messages/1", json={"contents": "ok", "seq": 2}, headers=alice.headers
    )
    error_of(extra, 422, "validation_error")
    assert api.message_list(bob, thread_id)[0]["contents"] == "first"


def test_an_edit_after_the_window_is_refused(make_app, clock: Clock):
    from .client import Api

    api = Api(make_app(edit_window_s=60).test_client())
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "first")
    assert api.edit(alice, thread_id, 1, "in time").status_code == 200
    clock.advance(61_000)
    details = error_of(api.edit(alice, thread_id, 1, "too late"), 403, "edit_window_passed")
    assert details == {"edit_window_s": 60}


def test_messages_that_do_not_exist_are_not_found_and_strangers_get_the_thread_404(api, pair):
    alice, bob, thread_id = pair
    stranger = api.signup("stranger")
    for seq in (0, 2, 2**53, 10**30):
        error_of(api.edit(alice, thread_id, seq, "x"), 404, "message_not_found")
        error_of(api.delete(alice, thread_id, seq), 404, "message_not_found")
        error_of(api.react(alice, thread_id, seq, "👍"), 404, "message_not_found")
    error_of(api.edit(alice, thread_id, "one", "x"), 404, "not_found")
    for call in (
        lambda t: api.edit(stranger, t, 1, "x"),
        lambda t: api.delete(stranger, t, 1),
        lambda t: api.react(stranger, t, 1, "👍"),
        lambda t: api.unreact(stranger, t, 1, "👍"),
    ):
        known, unknown = call(thread_id), call("0" * 32)
        error_of(known, 404, "thread_not_found")
        assert (known.status_code, known.get_data()) == (unknown.status_code, unknown.get_data())


# Deletions ----------------------------------------------------------------------------------
def test_the_sender_deletes_once_and_the_text_is_gone_everywhere(api, pair):
    alice, bob, thread_id = pair
    api.send_ok(alice, thread_id, "a secret")
    assert api.delete(alice, thread_id, 2).status_code == 204
    assert api.delete(alice, thread_id, 2).status_code == 204
    assert api.update_types(bob).count("message.deleted") == 1
    [gone] = api.message_list(bob, thread_id, end_index=1)
    assert (gone["seq"], gone["deleted"], gone["contents"]) == (2, True, "")
    preview = api.thread_view(bob, thread_id)["last_message"]
    assert (preview["seq"], preview["deleted"], preview["contents"]) == (2, True, "")
    updates = api.client.get("/updates", query_string={"since": 0, "timeout": 0}, headers=bob.headers)
    assert "a secret" not in updates.get_data(as_text=True)
    error_of(api.edit(alice, thread_id, 2, "back"), 409, "message_deleted")
    error_of(api.react(bob, thread_id, 2, "👍"), 409, "message_deleted")


def test_a_groups_creator_may_delete_anyones_message_and_nobody_else_may(api, trio):
    alice, bob, carol, thread_id = trio
    error_of(api.delete(carol, thread_id, 2), 403, "not_allowed")
    error_of(api.delete(bob, thread_id, 1), 403, "not_allowed")
    assert api.delete(alice, thread_id, 2).status_code == 204


def test_in_a_direct_thread_only_the_sender_deletes(api, pair):
    alice, bob, thread_id = pair
    error_of(api.delete(bob, thread_id, 1), 403, "not_allowed")  # alice created it: no matter


def test_a_deleted_unread_message_no_longer_counts_as_unread(api, pair):
    alice, bob, thread_id = pair
    api.send_ok(alice, thread_id, "two")
    api.send_ok(alice, thread_id, "three")
    assert api.thread_view(bob, thread_id)["unread_count"] == 3
    api.delete(alice, thread_id, 2)
    assert api.thread_view(bob, thread_id)["unread_count"] == 2


# Replies and mentions -----------------------------------------------------------------------
def test_a_reply_quotes_the_message_it_answers(api, pair):
    alice, bob, thread_id = pair
    message = api.send_ok(bob, thread_id, "sure", reply_to=1)
    assert message["reply_to"] == {"seq": 1, "user_id": alice.user_id, "preview": "first"}


def test_a_reply_to_nothing_is_refused_and_stores_nothing(api, pair):
    alice, bob, thread_id = pair
    before = api.snapshot(alice, bob)
    details = error_of(
        api.send(bob, thread_id, message=message_body(bob, reply_to=5)), 422, "reply_not_found"
    )
    assert details == {"message": {"reply_to": ["No message with this seq in this thread."]}}
    for bad in (0, -1, "1", 1.5, None):
        error_of(api.send(bob, thread_id, message=message_body(bob, reply_to=bad)), 422, "validation_error")
    assert api.snapshot(alice, bob) == before


def test_mentions_name_members_only_and_count_until_read(api, trio):
    alice, bob, carol, thread_id = trio
    outsider = api.signup("dave")
    message = api.send_ok(alice, thread_id, "@BOB and @carol. and @dave and bob@example.com")
    assert message["mentions"] == [bob.user_id, carol.user_id]
    assert outsider.user_id not in message["mentions"]
    listed = {t["thread_id"]: t for t in api.thread_list(bob)}
    assert listed[thread_id]["unread_mentions"] == 1
    api.mark_read(bob, thread_id, message["seq"])
    assert api.thread_view(bob, thread_id)["unread_mentions"] == 0
    edited = api.edit(alice, thread_id, message["seq"], "only @carol now").get_json()["message"]
    assert edited["mentions"] == [carol.user_id]


def test_a_new_threads_first_message_mentions_its_members(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    reply = api.create_thread(alice, [alice, bob], "hey @bob")
    assert reply.get_json()["message"]["mentions"] == [bob.user_id]


# Reactions ----------------------------------------------------------------------------------
def test_reactions_are_idempotent_and_every_member_is_told_once(api, pair):
    alice, bob, thread_id = pair
    first = api.react(bob, thread_id, 1, "👍")
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["message"]["reactions"] == [
        {"emoji": "👍", "count": 1, "user_ids": [bob.user_id]}
    ]
    assert api.react(bob, thread_id, 1, "👍").get_json()["message"] == first.get_json()["message"]
    assert api.unreact(bob, thread_id, 1, "👍").status_code == 204
    assert api.unreact(bob, thread_id, 1, "👍").status_code == 204
    types = api.update_types(alice)
    assert (types.count("reaction.added"), types.count("reaction.removed")) == (1, 1)


@pytest.mark.parametrize("emoji", ["👍", "❤️", "👨‍👩‍👧", "🇫🇷", "👍🏽", "#️⃣"])
def test_any_single_emoji_is_a_reaction(api, pair, emoji):
    alice, _, thread_id = pair
    reply = api.react(alice, thread_id, 1, emoji)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.get_json()["message"]["reactions"][0]["emoji"] == emoji


@pytest.mark.parametrize("text", ["a", "👍👍", "👍 ", ":+1:", "\u200d", "x" * 500])
def test_anything_but_one_emoji_is_refused(api, pair, text):
    alice, _, thread_id = pair
    error_of(api.react(alice, thread_id, 1, text), 422, "validation_error")
    error_of(api.unreact(alice, thread_id, 1, text), 422, "validation_error")


def test_past_the_distinct_limit_a_new_emoji_is_refused(make_api):
    api = make_api(max_reactions_per_message=2)
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "first")
    api.react(alice, thread_id, 1, "👍")
    api.react(alice, thread_id, 1, "🎉")
    error_of(api.react(bob, thread_id, 1, "😂"), 409, "too_many_reactions")
    assert api.react(bob, thread_id, 1, "🎉").get_json()["message"]["reactions"][1]["count"] == 2
