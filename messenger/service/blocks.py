"""Blocking: the people a user does not want to hear from.

A blocked user cannot open a 1:1 thread with the blocker, send into their 1:1 thread or add
the blocker to a group (``threads`` and ``messages`` ask ``refuse_if_blocked``); groups they
already share stay, and the blocker may leave them as anyone may. The blocker stops finding
them in user search (``accounts.search_users``).
"""

from __future__ import annotations

from ..errors import Blocked, CannotBlockSelf, TooManyBlocks
from ..model import Block, thread_invited_body
from .accounts import require_user
from .deps import Deps

# Pending invitations listed at once: each needs a group's creation (RATE_LIMIT_CREATE_THREAD)
# or an addition (RATE_LIMIT_MEMBERS) by someone, so more are rare; the newest come first.
INVITATIONS_LISTED = 100


def block(deps: Deps, blocker_id: str, blocked_id: str) -> Block:
    """Block someone; blocking them again changes nothing (the first blocked_at stays).

    The cap is checked before the write, so concurrent blocks by one user may pass it by the
    few the per-user rate limit lets through at once: a bound, not an exact count.
    """
    if blocked_id == blocker_id:
        raise CannotBlockSelf()
    user = require_user(deps, blocked_id)
    blocks = deps.store.list_blocks(blocker_id)
    limit = deps.settings.max_blocks
    if len(blocks) >= limit and all(held.user_id != blocked_id for held in blocks):
        raise TooManyBlocks(details={"max_blocks": limit})
    blocked_at = deps.store.add_block(blocker_id, blocked_id, deps.clock())
    return Block(user.user_id, user.username, blocked_at)


def unblock(deps: Deps, blocker_id: str, blocked_id: str) -> None:
    """Lift a block; lifting one that is not there changes nothing."""
    require_user(deps, blocked_id)
    deps.store.remove_block(blocker_id, blocked_id)


def list_blocks(deps: Deps, blocker_id: str) -> list[Block]:
    """Everyone this user blocks, the newest block first (at most MAX_BLOCKS)."""
    return deps.store.list_blocks(blocker_id)


def pending_invitations(deps: Deps, user_id: str) -> list[dict]:
    """The groups waiting for this user's answer, newest first, each as ``thread.invited``
    showed it (who is in it, its title; none of its messages), for a client that reloads."""
    pending = deps.store.pending_invitations(user_id, INVITATIONS_LISTED)
    return [
        {**thread_invited_body(view, invitation.invited_by), "invited_at": invitation.invited_at}
        for invitation, view in pending
    ]


def refuse_if_blocked(deps: Deps, actor_id: str, user_ids: list[str]) -> None:
    """``Blocked`` when anyone among ``user_ids`` blocks ``actor_id``, never saying who."""
    if deps.store.blockers_among(actor_id, user_ids):
        raise Blocked()
