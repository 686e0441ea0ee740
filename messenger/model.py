"""Plain values the service, the stores and the web layer pass between them."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields, replace

DIRECT = "direct"
GROUP = "group"
PREVIEW_LENGTH = 140

# What a change tells each user: user_id -> the newest cursor of that user's log after it.
Cursors = dict[str, int]


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    username: str
    created_at: int


@dataclass(frozen=True)
class Member:
    user_id: str
    username: str


@dataclass(frozen=True)
class Message:
    message_id: str
    thread_id: str
    seq: int
    user_id: str
    contents: str
    timestamp: int
    client_timestamp: int
    client_msg_id: str | None = None

    def to_dict(self) -> dict:
        """``asdict(self)`` without its recursive deep copy (a twentieth of a send's time):
        every field is a string, an integer or None."""
        return {name: getattr(self, name) for name in MESSAGE_FIELDS}


MESSAGE_FIELDS = tuple(f.name for f in fields(Message))


@dataclass(frozen=True)
class Preview:
    """The last message of a thread, cut short, as the thread list shows it."""

    seq: int
    user_id: str
    contents: str
    timestamp: int

    @classmethod
    def of(cls, seq: int, user_id: str, contents: str, timestamp: int) -> Preview:
        return cls(seq, user_id, contents[:PREVIEW_LENGTH], timestamp)


@dataclass(frozen=True)
class ThreadView:
    """A thread as one member sees it: shared facts plus that member's own read state."""

    thread_id: str
    kind: str
    title: str | None
    created_by: str
    created_at: int
    members: list[Member]
    last_activity: int
    last_seq: int
    last_read_seq: int
    unread_count: int
    last_message: Preview | None = None


@dataclass(frozen=True)
class NewMessage:
    """A message the service has validated and is about to store."""

    message_id: str
    thread_id: str
    user_id: str
    contents: str
    timestamp: int
    client_timestamp: int
    client_msg_id: str | None = None

    def stored_as(self, seq: int) -> Message:
        return Message(
            message_id=self.message_id,
            thread_id=self.thread_id,
            seq=seq,
            user_id=self.user_id,
            contents=self.contents,
            timestamp=self.timestamp,
            client_timestamp=self.client_timestamp,
            client_msg_id=self.client_msg_id,
        )


@dataclass(frozen=True)
class NewThread:
    """A thread the service has validated; ``member_ids`` are distinct and all exist."""

    thread_id: str
    kind: str
    title: str | None
    created_by: str
    created_at: int
    member_ids: list[str] = field(default_factory=list)

    @property
    def direct_key(self) -> str | None:
        """The key that makes the 1:1 thread between two users unique."""
        if self.kind != DIRECT:
            return None
        return direct_key(self.member_ids)


def direct_key(member_ids: list[str]) -> str:
    return ":".join(sorted(member_ids))


@dataclass(frozen=True)
class Sent:
    """Outcome of a send: ``created`` is False when a retry found the original message."""

    message: Message
    created: bool
    cursors: Cursors = field(default_factory=dict)
    # The part of ``cursors`` where this call appended ``message``'s own message.new.
    message_cursors: Cursors = field(default_factory=dict)


@dataclass(frozen=True)
class Opened:
    """Outcome of create_thread: the thread, its first (or retried) message, and whether it is new."""

    thread_id: str
    message: Message
    created: bool
    cursors: Cursors = field(default_factory=dict)


# The per-user update log ----------------------------------------------------------------
MESSAGE_NEW = "message.new"
THREAD_NEW = "thread.new"
THREAD_READ = "thread.read"
MEMBER_ADDED = "member.added"
MEMBER_REMOVED = "member.removed"
# Every type the log holds; schemas.UPDATE_SCHEMAS documents each (a test holds them equal).
UPDATE_TYPES = (MESSAGE_NEW, THREAD_NEW, THREAD_READ, MEMBER_ADDED, MEMBER_REMOVED)


@dataclass(frozen=True)
class Update:
    """One entry of a user's log; on the wire ``{"cursor": N, "type": ..., **body}``.

    Persisted shape: ``body`` is stored as written, so its fields are a contract with every
    client that replays old updates. Add fields; never rename or remove them.
    """

    cursor: int
    type: str
    body: dict

    def to_wire(self) -> dict:
        return {"cursor": self.cursor, "type": self.type, **self.body}


@dataclass(frozen=True)
class UpdatePage:
    updates: list[Update]
    cursor: int
    more: bool


@dataclass(frozen=True)
class ThreadPage:
    """A page of the thread list with the log cursor to resume from.

    Resuming the log from ``cursor`` misses no change made after the list was read; a store
    without snapshots (MongoDB) may deliver a change the list already showed, once more.
    """

    threads: list[ThreadView]
    cursor: int


@dataclass(frozen=True)
class ReadMarked:
    last_read_seq: int
    cursors: Cursors = field(default_factory=dict)


@dataclass(frozen=True)
class MembersChanged:
    user_ids: list[str]
    cursors: Cursors = field(default_factory=dict)


# A lone surrogate cannot be written as UTF-8; the schemas refuse them in stored text, but an
# error may echo one (a field name, a request_id), so it is written as a JSON escape instead.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def escape_lone_surrogates(text: str) -> str:
    """JSON text written with ensure_ascii=False, made encodable as UTF-8: a lone surrogate can
    only be inside a string there, where ``\\udXXX`` means the same."""
    if text.isascii():
        return text
    return LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def compact_json(value: dict) -> str:
    """The one JSON encoding of update bodies and socket frames, so a frame assembled around an
    encoded body is byte for byte the frame encoded whole. UTF-8, not \\u escapes: an emoji
    costs 4 bytes, not 12. Stored bodies written with escapes by older releases read the same."""
    return escape_lone_surrogates(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def message_new_body(message: Message) -> dict:
    return {"message": message.to_dict()}


def thread_new_body(thread: ThreadView) -> dict:
    """The thread as GET /threads shows it, with nothing unread yet."""
    return {"thread": asdict(replace(thread, last_read_seq=thread.last_seq, unread_count=0))}


def thread_read_body(thread_id: str, user_id: str, last_read_seq: int) -> dict:
    return {"thread_id": thread_id, "user_id": user_id, "last_read_seq": last_read_seq}


def member_body(thread_id: str, user_id: str) -> dict:
    return {"thread_id": thread_id, "user_id": user_id}
