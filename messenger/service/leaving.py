"""Leaving the service: the export of everything held about a user, account deletion, and
the operator's disabling of accounts.

A deletion first turns the account into a tombstone (``Store.mark_deleted``: sign-in and
every token stop at once), then cleans up in idempotent steps: its messages erased
(``ACCOUNT_DELETION=erase_messages``) in bounded batches, the account removed from every
thread (member.removed to the members), its blocks and invitations dropped. A crash in between
leaves an account nobody can use; running the deletion again (``flask delete-user <id>``)
rolls it forward.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict

from werkzeug.security import check_password_hash

from ..errors import UserNotFound, WrongPassword
from ..events import TokenRevoked
from ..model import ERASE_MESSAGES, Session, User, escape_lone_surrogates
from .accounts import require_user
from .attachments import free
from .deps import Deps
from .sessions import DAY_MS
from .updates import ring

# Messages read (and erased) per store call: bounds a deletion's and an export's memory.
MESSAGE_BATCH = 500
THREAD_BATCH = 100  # threads per page of an export
ACCOUNT_BATCH = 500  # accounts per page of list-users
UPLOAD_BATCH = 500  # a deleted account's unsent uploads forgotten per store call
EXPORT_FORMAT = "messenger-export"
EXPORT_VERSION = 1


def check_password(deps: Deps, user_id: str, password: str) -> None:
    """``WrongPassword`` unless ``password`` is the user's: a 403 as for a password change, not
    a 401, which a client would take for a dead token."""
    password_hash = deps.store.get_password_hash(user_id)
    if password_hash is None:
        raise UserNotFound()
    if not deps.run_blocking(check_password_hash, password_hash, password):
        raise WrongPassword()


def delete_account(deps: Deps, user_id: str) -> None:
    """Delete the account (a tombstone stays as the sender of kept messages); safe to repeat."""
    now = deps.clock()
    until = now + deps.settings.username_cooldown_days * DAY_MS
    deleted = deps.store.mark_deleted(user_id, now, until)
    revoke(deps, deleted.revoked)
    ring(deps, deleted.cursors)
    if deps.settings.account_deletion == ERASE_MESSAGES:
        for page in own_message_pages(deps, user_id):
            for message in page:
                if not message.deleted:
                    changed = deps.store.delete_own_message(message.thread_id, message.seq, user_id, now)
                    ring(deps, changed.cursors)
                    free(deps, changed.freed_attachments)
    for thread_id in deps.store.member_thread_ids(user_id):
        ring(deps, deps.store.remove_member(thread_id, user_id, now, removed_by=user_id).cursors)
    forget_unsent_uploads(deps, user_id, now)
    deps.store.forget_user(user_id)


def forget_unsent_uploads(deps: Deps, user_id: str, now: int) -> None:
    """Erase means erase: what the account uploaded and never sent goes now, not after
    ORPHAN_TTL_H (what it sent stays with its kept messages, or went with the erased ones)."""
    while unsent := deps.store.orphan_attachments(now + 1, UPLOAD_BATCH, uploader_id=user_id):
        forgotten = [deps.store.forget_attachment(a.attachment_id, now + 1) for a in unsent]
        freed = [a for a in forgotten if a is not None]
        free(deps, freed)
        if len(unsent) < UPLOAD_BATCH or not freed:  # the last page, or one a send took meanwhile
            return


def set_disabled(deps: Deps, user_id: str, disabled: bool) -> None:
    """Disable an account (its sessions end on every worker) or enable it again."""
    revoke(deps, deps.store.set_disabled(user_id, disabled, deps.clock()))


def revoke(deps: Deps, token_hashes: list[str]) -> None:
    """Close the sockets of tokens just deleted, on every worker and machine."""
    for token_hash in token_hashes:
        deps.notifier.publish(TokenRevoked(token_hash))


def list_accounts(deps: Deps) -> Iterator[User]:
    """Every account, deleted ones included, page by page."""
    after = None
    while page := deps.store.list_accounts(after, ACCOUNT_BATCH):
        yield from page
        after = page[-1].user_id


def own_message_pages(deps: Deps, user_id: str) -> Iterator[list]:
    after = None
    while page := deps.store.own_messages(user_id, after, MESSAGE_BATCH):
        yield page
        after = (page[-1].thread_id, page[-1].seq)


def export_chunks(deps: Deps, user_id: str) -> Iterator[str]:
    """The export as JSON text, piece by piece: one page of threads or messages at a time, so
    a large account is never held in memory whole. The profile is read before the first piece
    (an unknown user fails before anything is sent)."""
    user = require_user(deps, user_id)
    profile = {
        "user_id": user.user_id,
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "created_at": user.created_at,
    }
    return _export_pieces(deps, user_id, profile)


def _export_pieces(deps: Deps, user_id: str, profile: dict) -> Iterator[str]:
    head = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": deps.clock(),
        "profile": profile,
    }
    yield _dumps(head)[:-1]  # the object stays open: the lists follow
    # Every live session, as GET /me/sessions shows it: never the token's hash.
    sessions = [exported_session(s) for s in deps.store.list_sessions(user_id, deps.clock())]
    yield ', "sessions": ' + _dumps(sessions)
    blocks = [asdict(block) for block in deps.store.list_blocks(user_id)]
    yield ', "blocks": ' + _dumps(blocks)
    yield ', "threads": ['
    offset, first = 0, True
    while threads := deps.store.list_threads(user_id, offset, THREAD_BATCH).threads:
        shown = [_exported_thread(thread) for thread in threads]
        yield ("" if first else ", ") + ", ".join(_dumps(thread) for thread in shown)
        offset, first = offset + len(threads), False
    yield '], "messages": ['
    first = True
    for page in own_message_pages(deps, user_id):
        yield ("" if first else ", ") + ", ".join(_dumps(message.to_dict()) for message in page)
        first = False
    yield "]}"


def _exported_thread(thread) -> dict:
    """A thread with its members and the caller's read marker (``last_read_seq``)."""
    return {
        "thread_id": thread.thread_id,
        "kind": thread.kind,
        "title": thread.title,
        "created_by": thread.created_by,
        "created_at": thread.created_at,
        "members": [asdict(member) for member in thread.members],
        "last_seq": thread.last_seq,
        "last_read_seq": thread.last_read_seq,
    }


def _dumps(value) -> str:
    """As ``model.compact_json``, for lists too: UTF-8 text, a lone surrogate escaped."""
    return escape_lone_surrogates(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def exported_session(session: Session) -> dict:
    """A session in the export: its device, times and address, by its public id."""
    shown = asdict(session)
    del shown["token_hash"]
    return {"session_id": session.session_id, **shown}
