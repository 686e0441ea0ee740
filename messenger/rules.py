"""The rules every Store adapter keeps, as pure functions both call inside their writes.

Who is told of each change, what makes a retry the same request, how retention floors merge,
when a cursor has expired, how reactions are summed up and what erasing a message rewrites in
stored update bodies: stated once here (stdlib and ``model`` only), so the SQLite and
MongoDB adapters differ in how they store things, never in what they decide.
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import (
    ANYONE,
    CONTACTS,
    GROUP,
    INVITE,
    MESSAGE_EDITED,
    MESSAGE_NEW,
    PROFILE_FIELDS,
    REACTION_USERS_LISTED,
    THREAD_NEW,
    Attachment,
    Invitation,
    Message,
    NewThread,
    User,
)


# Who is told: the recipients of each update type ------------------------------------------
def told_of_message(member_ids: Iterable[str]) -> list[str]:
    """message.new goes to every current member, the sender included (their other devices)."""
    return sorted(set(member_ids))


def told_of_creation(initial_member_ids: Iterable[str]) -> list[str]:
    """thread.new at creation goes to every initial member, the creator included."""
    return list(initial_member_ids)


def told_of_change(member_ids: Iterable[str]) -> list[str]:
    """An edit, a deletion or a reaction change goes to every current member, as a message does."""
    return sorted(set(member_ids))


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


def told_of_profile(user_id: str, co_member_ids: Iterable[str]) -> list[str]:
    """user.updated goes to everyone who shares a thread with the user, each once, and to the
    user (their other devices)."""
    return sorted({*co_member_ids, user_id})


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


# Reactions --------------------------------------------------------------------------------
def reaction_summary(reactions: Iterable[tuple[str, str]]) -> list[dict]:
    """``(emoji, user_id)`` pairs as a message serves them: each emoji once, with an exact count
    and the earliest ``REACTION_USERS_LISTED`` user ids. The pairs come grouped by emoji, in the
    order each emoji appeared, and within one in the order its users added it: an emoji keeps
    its place while anyone still has it on (as a client applying reaction.* updates keeps it)."""
    by_emoji: dict[str, list[str]] = {}
    for emoji, user_id in reactions:
        by_emoji.setdefault(emoji, []).append(user_id)
    return [
        {"emoji": emoji, "count": len(user_ids), "user_ids": user_ids[:REACTION_USERS_LISTED]}
        for emoji, user_ids in by_emoji.items()
    ]


def is_reaction_refused(present: Iterable[str], emoji: str, max_distinct: int) -> bool:
    """A new emoji is refused once a message has ``max_distinct`` different ones."""
    distinct = set(present)
    return emoji not in distinct and len(distinct) >= max_distinct


# Erasing a deleted message's text from stored update bodies ------------------------------
def text_refs(kind: str, body: dict) -> tuple[str, int | None, int | None] | None:
    """Whose text an update body holds, for finding it again when a message is deleted:
    (thread_id, the seq of the message it shows, the seq of the message that one quotes);
    None for bodies that hold no message text."""
    if kind in (MESSAGE_NEW, MESSAGE_EDITED):
        message = body["message"]
        quoted = message.get("reply_to")
        return message["thread_id"], message["seq"], quoted["seq"] if quoted else None
    if kind == THREAD_NEW:
        thread = body["thread"]
        last = thread.get("last_message")
        return thread["thread_id"], last["seq"] if last else None, None
    return None


def erase_from_body(kind: str, body: dict, thread_id: str, seq: int) -> dict | None:
    """``body`` without any text of message ``seq`` of ``thread_id``: that message erased as
    ``model.erased`` does (keeping the body's own version), a quote of it or a preview of it
    emptied. None when the body holds none of it."""
    refs = text_refs(kind, body)
    if refs is None or refs[0] != thread_id or seq not in refs[1:]:
        return None
    if kind == THREAD_NEW:
        last = {**body["thread"]["last_message"], "contents": "", "deleted": True}
        return {**body, "thread": {**body["thread"], "last_message": last}}
    message = body["message"]
    if message["seq"] == seq:
        gone = {
            "contents": "",
            "deleted": True,
            "reply_to": None,
            "mentions": [],
            "reactions": [],
            "attachments": [],
        }
        return {**body, "message": {**message, **gone}}
    return {**body, "message": {**message, "reply_to": {**message["reply_to"], "preview": ""}}}


# Attachments ------------------------------------------------------------------------------
def requested_attachments(attachment_ids: Iterable[str]) -> list[str]:
    """The attachments a send asks for, each once, in the order first named."""
    return list(dict.fromkeys(attachment_ids))


def attachments_sent(requested: list[str], uploaded: Iterable[Attachment]) -> tuple[list[dict], list[str]]:
    """What a message carries of ``requested`` (``Attachment.public()``, in the order asked)
    given the ones of them its sender ``uploaded``, and the ids that are not among those (the
    store refuses the send when any are)."""
    found = {attachment.attachment_id: attachment for attachment in uploaded}
    missing = [attachment_id for attachment_id in requested if attachment_id not in found]
    return [found[a].public() for a in requested if a in found], missing


def attachment_ids_of(message: Message) -> list[str]:
    """The attachments a stored message carries (whose references its deletion removes)."""
    return [attachment["attachment_id"] for attachment in message.attachments]


# Profiles ---------------------------------------------------------------------------------
def profile_changes(user: User, changes: dict[str, str | None]) -> dict[str, str | None]:
    """What of ``changes`` differs from ``user``'s profile: nothing means nothing to store or
    announce. A username differing only in case is a change (it is shown as typed)."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    return {name: value for name, value in changes.items() if getattr(user, name) != value}


# Blocks and group consent -----------------------------------------------------------------
ADD = "add"  # becomes a member now
INVITED = "invite"  # gets an invitation to accept or decline
REFUSED = "refuse"  # the adder may not put them in a group


def group_addition(policy: str, is_contact: bool) -> str:
    """What adding someone to a group (at its creation or later) does under GROUP_ADD_POLICY:
    ``anyone`` adds; ``contacts`` adds the people the adder shares a 1:1 thread with and refuses
    the others; ``invite`` invites everyone, contacts too (consent is asked of all alike)."""
    if policy == ANYONE or (policy == CONTACTS and is_contact):
        return ADD
    if policy == INVITE:
        return INVITED
    return REFUSED


def is_invitation_sendable(existing: Invitation | None, now: int, cooldown_ms: int) -> bool:
    """Whether inviting someone into a group sends them an invitation: not while one is pending
    (from anyone), nor within ``cooldown_ms`` of their declining one into that group, so nobody
    can keep one person's log filling with invitations to the same group."""
    if existing is None:
        return True
    if existing.declined_at is None:
        return False
    return now - existing.declined_at >= cooldown_ms


def told_of_invitation(invitee_id: str) -> list[str]:
    """thread.invited goes to the invitee alone: the members learn of them only if they accept."""
    return [invitee_id]


# Sessions ---------------------------------------------------------------------------------
# A session's use is written (last seen, address, and the expiry moved on) at most this often:
# every request reads its session, and only one a minute per session writes.
SESSION_TOUCH_INTERVAL_MS = 60_000
# How far past TOKEN_TTL_DAYS a use moves a session's expiry: that many uses in a row need no
# write of it, so the expiry is written at most once a day, not once a minute.
SESSION_SLIDE_INTERVAL_MS = 24 * 60 * 60 * 1000


def touch_cutoff(now: int) -> int:
    """A use at ``now`` is written only for a session last seen at or before this."""
    return now - SESSION_TOUCH_INTERVAL_MS


def slid_expiry(expires_at: int, now: int, ttl_ms: int) -> int | None:
    """Where a use at ``now`` that is written moves a session's expiry, or None while it stays.

    It moves once less than the lifetime (and the minute until the next written use) is left,
    to a day past the lifetime: so a session is valid for at least ``ttl_ms`` after its last
    use, and for at most a day more. It never moves back (lowering TOKEN_TTL_DAYS leaves
    longer expiries as they are).
    """
    if expires_at > now + ttl_ms + SESSION_TOUCH_INTERVAL_MS:
        return None
    return now + ttl_ms + SESSION_SLIDE_INTERVAL_MS


# Mail ---------------------------------------------------------------------------------
MAIL_RETRY_BASE_S = 30  # the first retry of a mail the server did not take...
MAIL_RETRY_MAX_S = 3600  # ...doubling each time up to this: 8 attempts span about 1 h 4 min


def mail_retry_at(now: int, attempts: int) -> int:
    """When a mail that failed its ``attempts``-th try is due again (ms)."""
    delay_s = min(MAIL_RETRY_BASE_S * 2 ** max(0, attempts - 1), MAIL_RETRY_MAX_S)
    return now + delay_s * 1000


# Leaving the service --------------------------------------------------------------------
def tombstone_key(user_id: str) -> str:
    """The email and username key of a deleted account: unique, and no email or username a
    live account can hold (the service also skips deleted users in sign-in and search)."""
    return f"\x00deleted:{user_id}"
