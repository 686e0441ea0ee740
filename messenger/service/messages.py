"""Sending and reading messages."""

from __future__ import annotations

from ..errors import InvalidPayload
from ..model import Message, NewMessage, Sent
from .deps import Deps, new_id
from .updates import ring


def new_message(
    deps: Deps,
    sender_id: str,
    thread_id: str,
    contents: str,
    client_timestamp: int | None,
    client_msg_id: str | None = None,
) -> NewMessage:
    """Validate what the schema cannot know (configured limits) and stamp server values.

    A client that sends no clock of its own gets the server's as ``client_timestamp``: the
    stored shape stays an integer (old rows, the SQLite column, clients typed on it).
    """
    check_contents(deps, contents)
    now = deps.clock()
    return NewMessage(
        message_id=new_id(),
        thread_id=thread_id,
        user_id=sender_id,
        contents=contents,
        timestamp=now,
        client_timestamp=now if client_timestamp is None else client_timestamp,
        client_msg_id=client_msg_id,
    )


def check_contents(deps: Deps, contents: str) -> None:
    limit = deps.settings.max_message_length
    if not contents.strip():
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
) -> Sent:
    """Append a message; a retry with the same client_msg_id returns the original."""
    message = new_message(deps, sender_id, thread_id, contents, client_timestamp, client_msg_id)
    sent = deps.store.send(message)
    ring(deps, sent.cursors, sent)
    return sent


def list_messages(deps: Deps, user_id: str, thread_id: str, start: int, end: int) -> list[Message]:
    """A page counted from the newest message; 404 for threads the user is not in."""
    return deps.store.list_messages(thread_id, user_id, start, end)


def list_messages_before(
    deps: Deps, user_id: str, thread_id: str, before_seq: int, limit: int
) -> list[Message]:
    """A page of older history that costs the same at any depth."""
    return deps.store.list_messages_before(thread_id, user_id, before_seq, limit)
