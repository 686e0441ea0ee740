"""The rules every Store adapter keeps, as pure functions both call inside their writes.

Who is told of each change, what makes a retry the same request, how retention floors merge
and when a cursor has expired: stated once here (stdlib and ``model`` only), so the SQLite and
MongoDB adapters differ in how they store things, never in what they decide.
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import GROUP, Message, NewThread


# Who is told: the recipients of each update type ------------------------------------------
def told_of_message(member_ids: Iterable[str]) -> list[str]:
    """message.new goes to every current member, the sender included (their other devices)."""
    return sorted(set(member_ids))


def told_of_creation(initial_member_ids: Iterable[str]) -> list[str]:
    """thread.new at creation goes to every initial member, the creator included."""
    return list(initial_member_ids)


def told_of_read(member_ids: Iterable[str]) -> list[str]:
    """thread.read goes to every current member: the reader's other devices and the read receipts."""
    return sorted(set(member_ids))


def told_of_addition(member_ids_after: Iterable[str], added_id: str) -> list[str]:
    """member.added goes to every member after the addition, the added one included."""
    return sorted({*member_ids_after, added_id})


def told_of_joining(added_id: str) -> list[str]:
    """thread.new on an addition goes to the added member alone: the others know the thread."""
    return [added_id]


def told_of_removal(member_ids_before: Iterable[str], removed_id: str) -> list[str]:
    """member.removed goes to everyone who was a member before it, the removed one included."""
    return sorted({*member_ids_before, removed_id})


def departure_actors(user_id: str, added_by: str | None, removed_by: str) -> list[str]:
    """Who may not add a member back soon after they leave: whoever had added them and whoever
    removed them (a member who left removed themselves, and cannot add themselves anyway)."""
    return sorted({actor for actor in (added_by, removed_by) if actor and actor != user_id})


# Retries ----------------------------------------------------------------------------------
def is_same_opening(
    thread: NewThread, kind: str, direct_key: str | None, created_by: str, retried: Message
) -> bool:
    """Whether ``retried``, a message the sender stored with this ``client_msg_id`` in a thread
    of ``kind``/``direct_key``/``created_by``, answers this create_thread: the same 1:1 thread,
    or a group this sender created with it as its first message. Otherwise the id is reused."""
    same_direct = thread.direct_key is not None and direct_key == thread.direct_key
    same_group = thread.kind == GROUP and kind == GROUP and retried.seq == 1 and created_by == retried.user_id
    return same_direct or same_group


# Read markers -----------------------------------------------------------------------------
def read_target(seq: int, last_seq: int) -> int:
    """Where a mark_read asking for ``seq`` may move the marker: never past the newest message."""
    return min(seq, last_seq)


# Retention of the update log ------------------------------------------------------------
def merge_floors(pruned_upto: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Per user, the highest cursor any retention rule (age, count) prunes up to."""
    floors: dict[str, int] = {}
    for user_id, upto in pruned_upto:
        floors[user_id] = max(floors.get(user_id, 0), upto)
    return floors


def newest_cursor(newest_present: int, floor: int) -> int:
    """The newest cursor handed out: pruning may have deleted it, never below its floor."""
    return max(newest_present, floor)


def is_cursor_expired(since: int, newest_present: int, floor: int) -> bool:
    """A cursor is expired when pruning passed it (below the floor) or no log handed it out
    (above the newest cursor): the client must reload instead of resuming."""
    return not floor <= since <= newest_cursor(newest_present, floor)
