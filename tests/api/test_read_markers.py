"""Mark read (POST /threads/<id>/read) and unread counts."""

from __future__ import annotations

from .client import error_of


def state(api, who, thread_id):
    thread = api.thread_view(who, thread_id)
    return thread["last_read_seq"], thread["unread_count"]


def test_marking_read_moves_the_marker_forward_and_clears_unread(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")
    api.send_ok(alice, thread_id, "m2")
    api.send_ok(alice, thread_id, "m3")
    assert state(api, bob, thread_id) == (0, 3)

    response = api.mark_read(bob, thread_id, 2)

    assert response.status_code == 200
    assert response.get_json() == {"thread_id": thread_id, "last_read_seq": 2}
    assert state(api, bob, thread_id) == (2, 1)
    assert api.thread_list(bob)[0]["unread_count"] == 1


def test_the_marker_never_moves_back_nor_past_the_newest_message(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")
    api.send_ok(alice, thread_id, "m2")
    api.mark_read(bob, thread_id, 2)

    back = api.mark_read(bob, thread_id, 1)
    zero = api.mark_read(bob, thread_id, 0)
    assert back.get_json() == zero.get_json() == {"thread_id": thread_id, "last_read_seq": 2}
    assert state(api, bob, thread_id) == (2, 0)

    ahead = api.mark_read(bob, thread_id, 1000)
    assert ahead.get_json() == {"thread_id": thread_id, "last_read_seq": 2}
    api.send_ok(alice, thread_id, "m3")
    assert state(api, bob, thread_id) == (2, 1)  # m3 arrived after: still unread


def test_marking_read_is_per_user(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    thread_id = api.open_thread(alice, [bob, carol], "m1")

    api.mark_read(bob, thread_id, 1)

    assert state(api, bob, thread_id) == (1, 0)
    assert state(api, carol, thread_id) == (0, 1)


def test_sending_marks_the_sender_s_own_message_read(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")
    api.send_ok(alice, thread_id, "m2")

    api.send_ok(bob, thread_id, "reply")

    assert state(api, bob, thread_id) == (3, 0)
    assert state(api, alice, thread_id) == (2, 1)


def test_unread_counts_only_messages_from_others(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    thread_id = api.open_thread(alice, [bob, carol], "a1")
    api.send_ok(bob, thread_id, "b1")
    api.send_ok(alice, thread_id, "a2")  # alice's marker jumps to 3: she has seen b1 too
    api.send_ok(carol, thread_id, "c1")
    api.send_ok(bob, thread_id, "b2")

    assert state(api, alice, thread_id) == (3, 2)
    assert state(api, bob, thread_id) == (5, 0)
    assert state(api, carol, thread_id) == (4, 1)


def test_unread_messages_from_others_are_counted_even_if_own_messages_follow_them_unmarked(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    thread_id = api.open_thread(alice, [bob, carol], "a1")
    for sender in (alice, bob, bob, carol):
        api.send_ok(sender, thread_id)

    api.mark_read(carol, thread_id, 1)

    assert state(api, carol, thread_id) == (5, 0)  # carol's own send at seq 5 marked it all read
    api.send_ok(alice, thread_id)
    assert state(api, carol, thread_id) == (5, 1)


def test_a_user_who_signs_in_later_sees_exactly_what_they_missed(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")
    api.mark_read(bob, thread_id, 1)
    api.signout(bob)
    for number in range(2, 5):
        api.send_ok(alice, thread_id, f"m{number}")

    bob = api.signin_user(bob)

    (thread,) = api.thread_list(bob)
    assert (thread["last_read_seq"], thread["unread_count"], thread["last_seq"]) == (1, 3, 4)
    missed = api.message_list(bob, thread_id, end_index=thread["unread_count"])
    assert [message["contents"] for message in missed] == ["m4", "m3", "m2"]
    assert api.seqs(bob, thread_id, before_seq=thread["last_seq"] + 1, limit=thread["unread_count"]) == [
        4,
        3,
        2,
    ]


def test_unread_counts_appear_in_the_thread_list_per_thread(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    with_bob = api.open_thread(bob, [alice], "b1")
    api.send_ok(bob, with_bob, "b2")
    with_carol = api.open_thread(carol, [alice], "c1")

    unread = {thread["thread_id"]: thread["unread_count"] for thread in api.thread_list(alice)}

    assert unread == {with_bob: 2, with_carol: 1}


def test_a_bad_seq_is_refused_and_changes_nothing(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")
    path = f"/threads/{thread_id}/read"

    for payload in [
        {},
        {"seq": -1},
        {"seq": "1"},
        {"seq": True},
        {"seq": 1.5},
        {"seq": None},
        {"seq": 10**30},
    ]:
        details = error_of(api.client.post(path, json=payload, headers=bob.headers), 422, "validation_error")
        assert set(details) == {"seq"}, payload
    details = error_of(
        api.client.post(path, json={"seq": 1, "all": True}, headers=bob.headers), 422, "validation_error"
    )
    assert set(details) == {"all"}

    assert state(api, bob, thread_id) == (0, 1)


def test_marking_an_unknown_thread_or_one_you_are_not_in_read_is_the_same_404(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    thread_id = api.open_thread(alice, [bob], "m1")

    refused = api.mark_read(carol, thread_id, 1)

    error_of(refused, 404, "thread_not_found")
    assert refused.get_data() == api.mark_read(carol, "no-such-thread", 1).get_data()
    assert state(api, bob, thread_id) == (0, 1)
