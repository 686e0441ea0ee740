"""By property: replaying the log from any cursor gives the same messages as loading them afresh.

Random sequences of sends, replies, edits, deletions and reactions by three members; at a
random point one member loads the pages and notes the log cursor; at the end, that view with
the log replayed from the cursor (``replay.apply``) must equal the pages loaded again.
"""

from __future__ import annotations

import random

import pytest

from messenger.errors import MessageDeleted, NotAllowed, TooManyReactions
from tests.contract import replay
from tests.contract.test_message_changes import MAX_DISTINCT, edit, group, react, reply, unreact
from tests.contract.test_store import now, send

EMOJI = ["👍", "🎉", "❤️", "😂", "👀"]
STEPS = 80


def load(store, viewer, thread_id: str) -> dict:
    messages = store.list_messages(thread_id, viewer.user_id, 0, 1000)
    return {(m.thread_id, m.seq): m.to_dict() for m in messages}


def random_change(rng: random.Random, store, members, creator, thread_id: str) -> None:
    actor = rng.choice(members)
    last_seq = store.require_thread(thread_id, actor.user_id).last_seq
    seq = rng.randint(1, last_seq)
    action = rng.choice(["send", "reply", "edit", "edit", "delete", "react", "react", "unreact"])
    try:
        if action == "send":
            send(store, actor, thread_id, f"m{rng.random():.6f}")
        elif action == "reply":
            reply(store, actor, thread_id, seq, f"re{rng.random():.6f}")
        elif action == "edit":
            sender = next(
                m
                for m in members
                if m.user_id == store.require_message(thread_id, seq, actor.user_id).user_id
            )
            edit(store, sender, thread_id, seq, rng.choice(["same", f"e{rng.random():.6f}"]))
        elif action == "delete":
            store.delete_message(thread_id, seq, rng.choice([actor, creator]).user_id, now())
        elif action == "react":
            react(store, actor, thread_id, seq, rng.choice(EMOJI))
        else:  # one of the actor's own reactions when there is one, so removals happen
            own = [
                (m.seq, r["emoji"])
                for m in store.list_messages(thread_id, actor.user_id, 0, 1000)
                for r in m.reactions
                if actor.user_id in r["user_ids"]
            ]
            seq, emoji = rng.choice(own) if own else (seq, rng.choice(EMOJI))
            unreact(store, actor, thread_id, seq, emoji)
    except (MessageDeleted, NotAllowed, TooManyReactions):
        pass  # refused changes are part of the sequence too


@pytest.mark.parametrize("seed", range(8))
def test_replaying_the_log_from_any_cursor_matches_a_fresh_load(store, seed):
    rng = random.Random(seed)
    creator, others, thread_id = group(store, 3)
    members = [creator, *others]
    viewer = rng.choice(members)
    snapshot_at = rng.randint(0, STEPS)
    view, cursor = {}, 0
    for step in range(STEPS + 1):
        if step == snapshot_at:
            view, cursor = load(store, viewer, thread_id), store.current_cursor(viewer.user_id)
        if step < STEPS:
            random_change(rng, store, members, creator, thread_id)
    assert len(EMOJI) > MAX_DISTINCT  # so the distinct limit is met along the way
    for update in store.read_updates(viewer.user_id, cursor, 10_000).updates:
        replay.apply(view, update.type, update.body)
    assert view == load(store, viewer, thread_id)
