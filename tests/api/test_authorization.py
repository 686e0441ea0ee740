"""A non-member learns nothing about a thread: every route answers like for an unknown thread."""

from __future__ import annotations

import pytest

from .client import error_of, message_body


def private_thread(api, kind):
    """alice's thread (1:1 with bob, or a group with bob and erin); carol is in neither."""
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    others = [bob] if kind == "direct" else [bob, api.signup("erin")]
    titled = {"title": "Secret"} if kind == "group" else {}
    thread_id = api.open_thread(alice, others, "secret plans", **titled)
    api.send_ok(bob, thread_id, "more secrets")
    return alice, bob, carol, thread_id


@pytest.fixture(params=["direct", "group"])
def outsider_case(request, api):
    return private_thread(api, request.param)


def attempts(api, carol, thread_id, victim):
    """Every way carol could try to read or change the thread, by route and by /actions."""
    msg = message_body(carol, "let me in", client_msg_id="carol-1")
    return {
        "get thread": api.thread(carol, thread_id),
        "messages by index": api.messages(carol, thread_id),
        "messages by index with user_id": api.messages(carol, thread_id, user_id=carol.user_id, end_index=2),
        "messages before_seq": api.messages(carol, thread_id, before_seq=3, limit=2),
        "send": api.send(carol, thread_id, message=msg),
        "mark read": api.mark_read(carol, thread_id, 2),
        "add self": api.add_members(carol, thread_id, [carol]),
        "remove self": api.remove_member(carol, thread_id, carol),
        "remove member": api.remove_member(carol, thread_id, victim),
        "action send_message": api.action(
            carol, {"thread_id": thread_id, "message": msg, "action": "send_message"}
        ),
        "action get_thread_messages": api.action(
            carol,
            {
                "user_id": carol.user_id,
                "thread_id": thread_id,
                "start_index": 0,
                "end_index": 10,
                "action": "get_thread_messages",
            },
        ),
    }


def test_a_non_member_gets_the_unknown_thread_answer_everywhere(api, outsider_case):
    alice, bob, carol, thread_id = outsider_case
    before = api.snapshot(alice, bob)

    unknown = {
        name: response.get_data() for name, response in attempts(api, carol, "no-such-thread", bob).items()
    }
    refused = attempts(api, carol, thread_id, bob)

    for name, response in refused.items():
        error_of(response, 404, "thread_not_found")
        assert response.get_data() == unknown[name], name
        text = response.get_data(as_text=True)
        for secret in (thread_id, "secret", "Secret", alice.user_id, bob.user_id, "alice", "bob"):
            assert secret not in text, (name, secret)
    assert api.snapshot(alice, bob) == before
    assert api.thread_list(carol) == []


def test_a_non_member_does_not_see_the_thread_in_any_list(api):
    alice, bob, carol, thread_id = private_thread(api, "direct")
    api.open_thread(carol, [alice], "hello alice")

    listed = api.thread_list(carol)
    by_action = api.action(carol, {"user_id": carol.user_id, "action": "get_user_threads"}).get_json()

    assert thread_id not in [thread["thread_id"] for thread in listed]
    assert by_action["threads"] == listed
    assert len(listed) == 1


def test_a_user_cannot_act_in_someone_else_s_name(api):
    alice, bob, carol, thread_id = private_thread(api, "direct")
    before = api.snapshot(alice, bob)

    responses = [
        api.send(carol, thread_id, message=message_body(alice, "as alice")),
        api.create_thread(carol, [alice, bob], message=message_body(alice, "as alice")),
        api.threads(carol, user_id=alice.user_id),
        api.messages(carol, thread_id, user_id=alice.user_id),
        api.action(carol, {"user_id": alice.user_id, "action": "get_user_threads"}),
        api.action(
            carol, {"user_id": alice.user_id, "thread_id": thread_id, "action": "get_thread_messages"}
        ),
    ]

    for response in responses:
        error_of(response, 403, "user_mismatch")
        assert thread_id not in response.get_data(as_text=True)
    assert api.snapshot(alice, bob) == before


def test_a_member_of_one_thread_cannot_reach_another_by_its_id(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    mine = api.open_thread(carol, [alice], "ours")
    theirs = api.open_thread(alice, [bob], "private")

    assert api.seqs(carol, mine) == [1]
    error_of(api.messages(carol, theirs), 404, "thread_not_found")
    error_of(api.thread(carol, theirs), 404, "thread_not_found")
