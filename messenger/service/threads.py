"""Opening threads, listing them, read markers and group membership."""

from __future__ import annotations

import math
from dataclasses import replace

from .. import rules
from ..errors import (
    AlreadyMember,
    DirectThreadMembersFixed,
    InvalidPayload,
    MemberNotFound,
    NotAContact,
    NotThreadCreator,
    ReaddCooldown,
    TooManyMembers,
    UnknownUsers,
)
from ..model import CONTACTS, DIRECT, GROUP, Message, NewThread, ThreadPage, ThreadView
from .attachments import signed
from .blocks import refuse_if_blocked
from .deps import Deps, new_id
from .messages import mentions_among, new_message
from .updates import relay_typing, ring


def create_thread(
    deps: Deps,
    creator_id: str,
    user_ids: list[str],
    contents: str,
    client_timestamp: int | None,
    client_msg_id: str | None = None,
    title: str | None = None,
    usernames: list[str] | None = None,
    attachment_ids: list[str] | None = None,
) -> tuple[ThreadView, Message, bool, list[str]]:
    """Open a 1:1 thread (reusing the existing one) or a new group, with its first message.

    Members are named by id, by username or both; the creator is one whether named or not.
    Returns the thread as the creator sees it, the message, whether the thread is new, and
    who was invited instead of added (GROUP_ADD_POLICY=invite; see ``_consent``).
    """
    member_ids = _require_members(deps, creator_id, user_ids, usernames or [])
    kind = DIRECT if len(member_ids) == 2 else GROUP
    invited: list[str] = []
    if kind == DIRECT:
        refuse_if_blocked(deps, creator_id, member_ids[1:])
    else:
        added, invited = _consent(deps, creator_id, member_ids[1:])
        member_ids = [creator_id, *added]
    thread = NewThread(
        thread_id=new_id(),
        kind=kind,
        title=title if kind == GROUP else None,
        created_by=creator_id,
        created_at=deps.clock(),
        member_ids=member_ids,
    )
    first = new_message(
        deps, creator_id, thread.thread_id, contents, client_timestamp, client_msg_id, attachment_ids
    )
    if "@" in contents:
        members = [(user.username, user.user_id) for user in deps.store.get_users(member_ids)]
        first = replace(first, mentions=mentions_among(contents, members))
    opened = deps.store.open_thread(thread, first)
    ring(deps, opened.cursors)
    if invited:
        _invite(deps, creator_id, opened.thread_id, invited)
    thread_view = deps.store.require_thread(opened.thread_id, creator_id)
    return thread_view, signed(deps, opened.message), opened.created, invited


def list_threads(deps: Deps, user_id: str, start: int, end: int) -> ThreadPage:
    """The user's threads, most recent activity first, and the update cursor to resume from."""
    return deps.store.list_threads(user_id, start, end - start)


def require_thread(deps: Deps, user_id: str, thread_id: str) -> ThreadView:
    """The thread as this member sees it; ``ThreadNotFound`` unless a member."""
    return deps.store.require_thread(thread_id, user_id)


def mark_read(deps: Deps, user_id: str, thread_id: str, seq: int) -> int:
    """Move the read marker forward (never back, never past the newest message)."""
    marked = deps.store.mark_read(thread_id, user_id, seq, deps.clock())
    ring(deps, marked.cursors)
    return marked.last_read_seq


def add_members(
    deps: Deps, actor_id: str, thread_id: str, user_ids: list[str]
) -> tuple[ThreadView, list[str]]:
    """Any member of a group may add people (as GROUP_ADD_POLICY lets them: ``_consent``);
    1:1 threads keep their two members. Returns the thread and who was invited instead."""
    thread = _require_group(deps, actor_id, thread_id)
    wanted = list(dict.fromkeys(user_ids))
    _require_users_exist(deps, wanted)
    present = {member.user_id for member in thread.members}
    _check_member_count(deps, len(present | set(wanted)))
    added, invited = _consent(deps, actor_id, [uid for uid in wanted if uid not in present])
    _check_readd_cooldown(deps, actor_id, thread_id, added)
    if added:
        changed = deps.store.add_members(thread_id, added, deps.clock(), actor_id)
        ring(deps, changed.cursors)
    if invited:
        _invite(deps, actor_id, thread_id, invited)
    return deps.store.require_thread(thread_id, actor_id), invited


def answer_invitation(deps: Deps, user_id: str, thread_id: str, accept: bool) -> ThreadView | None:
    """Accept (join the group, as if added by the inviter) or decline an invitation.

    Accepting again once a member returns the thread (a retry); without an invitation a
    non-member gets ``ThreadNotFound``, as for a thread that does not exist.
    """
    if accept:
        changed = deps.store.accept_invitation(
            thread_id, user_id, deps.clock(), deps.settings.max_thread_members
        )
        ring(deps, changed.cursors)
        return deps.store.require_thread(thread_id, user_id)
    if deps.store.decline_invitation(thread_id, user_id, deps.clock()):
        return None
    deps.store.require_thread(thread_id, user_id)  # ThreadNotFound for a non-member
    raise AlreadyMember()


def remove_member(deps: Deps, actor_id: str, thread_id: str, user_id: str) -> None:
    """Anyone may leave a group; only its creator may remove someone else."""
    thread = _require_group(deps, actor_id, thread_id)
    if user_id != actor_id and thread.created_by != actor_id:
        raise NotThreadCreator()
    changed = deps.store.remove_member(thread_id, user_id, deps.clock(), actor_id)
    if not changed.user_ids:
        raise MemberNotFound()
    ring(deps, changed.cursors)


def announce_typing(deps: Deps, user_id: str, thread_id: str) -> None:
    """Tell the thread's other members, as it happens, that this member is typing.

    At most one hint per user and thread every TYPING_RELAY_INTERVAL_S is relayed; the rest are
    dropped silently (a hint, not a message: a client repeats it while typing goes on).
    """
    thread = deps.store.require_thread(thread_id, user_id)  # a non-member gets 404 every time
    interval_ms = deps.settings.typing_relay_interval_s * 1000
    if not deps.typing_throttle.allow((user_id, thread_id), deps.clock(), interval_ms):
        return
    others = [member.user_id for member in thread.members if member.user_id != user_id]
    relay_typing(deps, others, thread_id, user_id)


def _consent(deps: Deps, actor_id: str, user_ids: list[str]) -> tuple[list[str], list[str]]:
    """Split the people ``actor_id`` puts in a group into those added now and those invited,
    as GROUP_ADD_POLICY says (``rules.group_addition``). Refusals come first and leave nobody
    added: ``NotAContact`` names the user ids the policy refuses (the adder named them; it says
    nothing they did not know but that); then ``Blocked`` if anyone named blocks the adder,
    never saying who."""
    policy = deps.settings.group_add_policy
    contacts = set(deps.store.contacts_among(actor_id, user_ids)) if policy == CONTACTS else set()
    outcome = {uid: rules.group_addition(policy, uid in contacts) for uid in user_ids}
    refused = [uid for uid in user_ids if outcome[uid] == rules.REFUSED]
    if refused:
        raise NotAContact(details={"user_ids": refused})
    refuse_if_blocked(deps, actor_id, user_ids)
    added = [uid for uid in user_ids if outcome[uid] == rules.ADD]
    return added, [uid for uid in user_ids if outcome[uid] == rules.INVITED]


def _invite(deps: Deps, actor_id: str, thread_id: str, user_ids: list[str]) -> None:
    """Invitations to the people ``_consent`` invites; one declined lately is not sent again for
    READD_COOLDOWN_S, nor is one still pending (``rules.is_invitation_sendable``)."""
    cooldown_ms = deps.settings.readd_cooldown_s * 1000
    invited = deps.store.invite(thread_id, user_ids, actor_id, deps.clock(), cooldown_ms)
    ring(deps, invited.cursors)


def _check_readd_cooldown(deps: Deps, actor_id: str, thread_id: str, user_ids: list[str]) -> None:
    """Refuse to pull people back in whom the actor added or removed and who left lately: one
    member cannot keep yanking someone into a group (anyone else may still add them)."""
    cooldown_ms = deps.settings.readd_cooldown_s * 1000
    if not (cooldown_ms and user_ids):
        return
    now = deps.clock()
    left = deps.store.departures_involving(thread_id, actor_id, user_ids)
    recent = [uid for uid in user_ids if uid in left and now - left[uid] < cooldown_ms]
    if recent:
        until = max(left[uid] for uid in recent) + cooldown_ms
        raise ReaddCooldown(details={"user_ids": recent, "retry_after": math.ceil((until - now) / 1000)})


def _require_group(deps: Deps, actor_id: str, thread_id: str) -> ThreadView:
    thread = deps.store.require_thread(thread_id, actor_id)
    if thread.kind != GROUP:
        raise DirectThreadMembersFixed()
    return thread


def _require_members(deps: Deps, creator_id: str, user_ids: list[str], usernames: list[str]) -> list[str]:
    """The creator first, then everyone named by id or by username, each once; all must exist."""
    by_name = _ids_by_username(deps, usernames)
    named = [user_id for user_id in by_name.values() if user_id is not None]
    member_ids = list(dict.fromkeys([creator_id, *user_ids, *named]))
    _check_member_count(deps, len(member_ids))
    _require_users_exist(deps, member_ids, [name for name, user_id in by_name.items() if user_id is None])
    if len(member_ids) < 2:
        raise InvalidPayload(details={"user_ids": ["A thread needs at least one other member."]})
    return member_ids


def _ids_by_username(deps: Deps, usernames: list[str]) -> dict[str, str | None]:
    """Each username as first typed (the same name in another case collapses) -> its user's id,
    or None when nobody has it."""
    if not usernames:
        return {}
    found = {user.username.lower(): user.user_id for user in deps.store.get_users_by_username(usernames)}
    typed: dict[str, str] = {}
    for name in usernames:
        typed.setdefault(name.lower(), name)
    return {name: found.get(key) for key, name in typed.items()}


def _require_users_exist(deps: Deps, user_ids: list[str], unknown_usernames: list[str] | None = None) -> None:
    """Refuse unknown ids and usernames in one answer that names every one of them."""
    found = {user.user_id for user in deps.store.get_users(user_ids)}
    details = {
        "user_ids": [user_id for user_id in user_ids if user_id not in found],
        "usernames": unknown_usernames or [],
    }
    if any(details.values()):
        raise UnknownUsers(details={key: missing for key, missing in details.items() if missing})


def _check_member_count(deps: Deps, count: int) -> None:
    limit = deps.settings.max_thread_members
    if count > limit:
        raise TooManyMembers(f"A thread has at most {limit} members.", {"max_members": limit})
