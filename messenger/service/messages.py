"""Sending and reading messages, and changing them: edits, deletions, reactions; replies and
mentions ride on a send (and mentions on an edit)."""

from __future__ import annotations

from dataclasses import replace

import emoji as emoji_data

from ..errors import Blocked, EditWindowPassed, InvalidPayload, NotAllowed, TooManyAttachments
from ..model import GROUP, Message, MessageChanged, MessageEdit, NewMessage, Sent
from ..text import mentioned_names
from .attachments import free, signed, signed_messages
from .deps import Deps, new_id
from .email import require_verified_email
from .updates import ring


def new_message(
    deps: Deps,
    sender_id: str,
    thread_id: str,
    contents: str,
    client_timestamp: int | None,
    client_msg_id: str | None = None,
    attachment_ids: list[str] | None = None,
) -> NewMessage:
    """Validate what the schema cannot know (configured limits) and stamp server values.

    A client that sends no clock of its own gets the server's as ``client_timestamp``: the
    stored shape stays an integer (old rows, the SQLite column, clients typed on it).
    """
    attachment_ids = list(dict.fromkeys(attachment_ids or []))  # one file sent twice is one
    check_contents(deps, contents, may_be_empty=bool(attachment_ids))
    if len(attachment_ids) > deps.settings.max_attachments_per_message:
        raise TooManyAttachments(deps.settings.max_attachments_per_message)
    require_verified_email(deps, sender_id)
    now = deps.clock()
    return NewMessage(
        message_id=new_id(),
        thread_id=thread_id,
        user_id=sender_id,
        contents=contents,
        timestamp=now,
        client_timestamp=now if client_timestamp is None else client_timestamp,
        client_msg_id=client_msg_id,
        attachment_ids=attachment_ids,
    )


def check_contents(deps: Deps, contents: str, may_be_empty: bool = False) -> None:
    """Text within MAX_MESSAGE_LENGTH that is not blank (it may be, when files are the message)."""
    limit = deps.settings.max_message_length
    if not contents.strip() and not (may_be_empty and not contents):
        problem = "Must not be empty or only whitespace."
    elif len(contents) > limit:
        problem = f"At most {limit} characters."
    else:
        return
    raise InvalidPayload(details={"message": {"contents": [problem]}})


def send_message(
    deps: Deps,
    sender_id: str,
    thread_id: str,
    contents: str,
    client_timestamp: int | None,
    client_msg_id: str | None = None,
    reply_to_seq: int | None = None,
    attachment_ids: list[str] | None = None,
) -> Sent:
    """Append a message, answering ``reply_to_seq`` if given, carrying the sender's uploads
    ``attachment_ids``; a retry with the same client_msg_id returns the original."""
    message = new_message(
        deps, sender_id, thread_id, contents, client_timestamp, client_msg_id, attachment_ids
    )
    if deps.store.blocked_in_direct(thread_id, sender_id):
        raise Blocked()
    mentions = resolve_mentions(deps, sender_id, thread_id, contents)
    if reply_to_seq is not None or mentions:
        message = replace(message, reply_to_seq=reply_to_seq, mentions=mentions)
    sent = deps.store.send(message)
    sent = replace(sent, message=signed(deps, sent.message))  # its doorbell carries the URLs too
    ring(deps, sent.cursors, sent)
    return sent


def list_messages(deps: Deps, user_id: str, thread_id: str, start: int, end: int) -> list[Message]:
    """A page counted from the newest message; 404 for threads the user is not in."""
    return signed_messages(deps, deps.store.list_messages(thread_id, user_id, start, end))


def list_messages_before(
    deps: Deps, user_id: str, thread_id: str, before_seq: int, limit: int
) -> list[Message]:
    """A page of older history that costs the same at any depth."""
    return signed_messages(deps, deps.store.list_messages_before(thread_id, user_id, before_seq, limit))


def resolve_mentions(deps: Deps, user_id: str, thread_id: str, contents: str) -> list[str]:
    """The members ``contents`` calls by "@username"; only text with an "@" costs a read of them."""
    if "@" not in contents:
        return []
    members = deps.store.require_thread(thread_id, user_id).members
    return mentions_among(contents, [(member.username, member.user_id) for member in members])


def mentions_among(contents: str, members: list[tuple[str, str]]) -> list[str]:
    """The user ids of ``members`` (username, user_id) that ``contents`` calls by "@username",
    case-insensitively, each once, in the order they are called."""
    by_name = {username.lower(): user_id for username, user_id in members}
    return list(dict.fromkeys(by_name[name] for name in mentioned_names(contents) if name in by_name))


def edit_message(deps: Deps, user_id: str, thread_id: str, seq: int, contents: str) -> Message:
    """The sender's new contents, within EDIT_WINDOW_S of the send; every member is told."""
    check_contents(deps, contents)
    require_verified_email(deps, user_id)
    message = deps.store.require_message(thread_id, seq, user_id)
    if message.user_id != user_id:
        raise NotAllowed("Only its sender may edit a message.")
    now = deps.clock()
    window_s = deps.settings.edit_window_s
    if window_s and now - message.timestamp > window_s * 1000:
        raise EditWindowPassed(details={"edit_window_s": window_s})
    mentions = resolve_mentions(deps, user_id, thread_id, contents)
    return _told(deps, deps.store.edit_message(MessageEdit(thread_id, seq, user_id, contents, mentions, now)))


def delete_message(deps: Deps, user_id: str, thread_id: str, seq: int) -> None:
    """Its sender may delete a message, and so may the creator of a group; deleting again is a no-op."""
    message = deps.store.require_message(thread_id, seq, user_id)
    if message.user_id != user_id:
        thread = deps.store.require_thread(thread_id, user_id)
        if thread.kind != GROUP or thread.created_by != user_id:
            raise NotAllowed("Only its sender, or the creator of a group, may delete a message.")
    changed = deps.store.delete_message(thread_id, seq, user_id, deps.clock())
    _told(deps, changed)
    free(deps, changed.freed_attachments)  # their metadata went with the message; now the bytes


def react(deps: Deps, user_id: str, thread_id: str, seq: int, emoji: str) -> Message:
    """Add the user's reaction (once: reacting again changes nothing)."""
    check_emoji(emoji)
    require_verified_email(deps, user_id)
    limit = deps.settings.max_reactions_per_message
    return _told(deps, deps.store.add_reaction(thread_id, seq, user_id, emoji, deps.clock(), limit))


def unreact(deps: Deps, user_id: str, thread_id: str, seq: int, emoji: str) -> Message:
    """Take the user's reaction back (a no-op when there is none)."""
    check_emoji(emoji)
    require_verified_email(deps, user_id)
    return _told(deps, deps.store.remove_reaction(thread_id, seq, user_id, emoji, deps.clock()))


def check_emoji(emoji: str) -> None:
    """One emoji: a single grapheme the Unicode emoji data (the ``emoji`` library) names."""
    if not emoji_data.is_emoji(emoji):
        raise InvalidPayload(details={"emoji": ["Must be one emoji, such as 👍."]})


def _told(deps: Deps, changed: MessageChanged) -> Message:
    ring(deps, changed.cursors)
    return signed(deps, changed.message)
