"""Plain values the service, the stores and the web layer pass between them."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
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
    display_name: str | None = None  # shown instead of the username where set
    email_verified: bool = False  # a verification link mailed to ``email`` was opened
    disabled: bool = False  # by an operator (disable-user): no sign-in, no token works
    deleted: bool = False  # left the service: what stays is a tombstone (``DELETED_USERNAME``)
    avatar_id: str | None = None  # an image attachment of their own, shown as their picture


def avatar_url(user_id: str, avatar_id: str | None) -> str | None:
    """Where a user's picture is served (its thumbnail): a stable URL, the picture's id in it, so
    a client may cache it for good and a new picture is a new URL (README "Profiles")."""
    return f"/users/{user_id}/avatar?v={avatar_id}" if avatar_id else None


# A session stored before devices were kept (or whose device is not known) is shown with this.
UNKNOWN_DEVICE = "unknown"


@dataclass(frozen=True)
class Session:
    """A signed-in device: one token. Only the token's hash is stored; ``session_id`` names the
    session to its user without it (the hash is the secret's stand-in: it never leaves the server).

    ``address`` is where it was last used from, coarsened (an IPv4 /24, an IPv6 /48), or None.
    """

    token_hash: str
    user_id: str
    device: str
    created_at: int
    last_seen_at: int
    expires_at: int
    address: str | None = None

    @property
    def session_id(self) -> str:
        return session_id_of(self.token_hash)


def session_id_of(token_hash: str) -> str:
    """The public id of a session: derived from its token's hash, so every session has one,
    those stored before ids existed too, and it cannot be turned back into the hash.

    A contract with clients holding ids: change the derivation and every id changes.
    """
    return hashlib.sha256(b"session:" + token_hash.encode("ascii")).hexdigest()[:32]


@dataclass(frozen=True)
class Member:
    user_id: str
    username: str
    display_name: str | None = None
    avatar_id: str | None = None


@dataclass(frozen=True)
class Message:
    """A message as served. ``version`` counts every change (1 at the send; each edit, deletion
    and reaction change adds one): a client keeps, per message, what the highest version says.
    A deleted message keeps its seq, sender and timestamps; its text, quote, mentions,
    reactions and attachments are erased from storage."""

    message_id: str
    thread_id: str
    seq: int
    user_id: str
    contents: str
    timestamp: int
    client_timestamp: int
    client_msg_id: str | None = None
    edited_at: int | None = None  # server time of the latest edit
    edit_count: int = 0
    deleted: bool = False
    version: int = 1
    reply_to: dict | None = None  # {"seq", "user_id", "preview"}: the message it answers
    mentions: list[str] = field(default_factory=list)  # user ids the contents call by @name
    reactions: list[dict] = field(default_factory=list)  # {"emoji", "count", "user_ids"}
    # ``Attachment.public()`` of each attachment sent with it, in the order sent; [] once deleted.
    attachments: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """``asdict(self)`` without its recursive deep copy (a twentieth of a send's time):
        every field is a string, an integer, None or plain JSON that nothing mutates."""
        return {name: getattr(self, name) for name in MESSAGE_FIELDS}


MESSAGE_FIELDS = tuple(f.name for f in fields(Message))
# Reactions list at most this many user ids per emoji (the earliest); ``count`` is exact.
REACTION_USERS_LISTED = 100


def quote_of(message: Message) -> dict:
    """What a reply carries of the message it answers: empty text once that one is deleted."""
    return {"seq": message.seq, "user_id": message.user_id, "preview": preview_text(message)}


def preview_text(message: Message) -> str:
    return "" if message.deleted else message.contents[:PREVIEW_LENGTH]


def erased(message: Message, version: int) -> Message:
    """The message once deleted: what stays is who sent it, where and when."""
    return replace(
        message,
        contents="",
        deleted=True,
        version=version,
        reply_to=None,
        mentions=[],
        reactions=[],
        attachments=[],
    )


@dataclass(frozen=True)
class Preview:
    """The last message of a thread, cut short, as the thread list shows it."""

    seq: int
    user_id: str
    contents: str
    timestamp: int
    deleted: bool = False  # the newest message was deleted: contents are empty

    @classmethod
    def of(cls, seq: int, user_id: str, contents: str, timestamp: int, deleted: bool = False) -> Preview:
        return cls(seq, user_id, "" if deleted else contents[:PREVIEW_LENGTH], timestamp, deleted)


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
    unread_count: int  # others' messages past the read marker, deleted ones not counted
    last_message: Preview | None = None
    unread_mentions: int = 0  # of those, the ones that mention the viewer


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
    reply_to_seq: int | None = None  # the message of this thread it answers
    mentions: list[str] = field(default_factory=list)  # members its contents call by @name
    # Attachments to send with it, in order: the service bounds how many (MAX_ATTACHMENTS_PER_
    # MESSAGE); the store refuses any the sender did not upload (``UnknownAttachments``).
    attachment_ids: list[str] = field(default_factory=list)

    def stored_as(
        self, seq: int, reply_to: dict | None = None, attachments: list[dict] | None = None
    ) -> Message:
        """The message under ``seq``, carrying ``reply_to`` (``quote_of`` its target) and
        ``attachments`` (``Attachment.public()`` of each of ``attachment_ids``)."""
        return Message(
            message_id=self.message_id,
            thread_id=self.thread_id,
            seq=seq,
            user_id=self.user_id,
            contents=self.contents,
            timestamp=self.timestamp,
            client_timestamp=self.client_timestamp,
            client_msg_id=self.client_msg_id,
            reply_to=reply_to,
            mentions=list(self.mentions),
            attachments=list(attachments or []),
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
class MessageChanged:
    """Outcome of an edit, a deletion or a reaction change: ``changed`` is False when there was
    nothing to change (the same contents, deleted already, reacted already), and then no
    update was appended."""

    message: Message
    changed: bool
    cursors: Cursors = field(default_factory=dict)
    # A deletion's attachments that nothing refers to any more: their metadata is gone, so
    # the caller deletes their blobs (``blob_ids``). Empty for every other change.
    freed_attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class MessageEdit:
    """An edit the service has checked (the sender's, within the window, contents valid)."""

    thread_id: str
    seq: int
    user_id: str
    contents: str
    mentions: list[str]
    edited_at: int


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
MESSAGE_EDITED = "message.edited"
MESSAGE_DELETED = "message.deleted"
REACTION_ADDED = "reaction.added"
REACTION_REMOVED = "reaction.removed"
USER_UPDATED = "user.updated"
THREAD_INVITED = "thread.invited"
# Every type the log holds; schemas.UPDATE_SCHEMAS documents each (a test holds them equal).
UPDATE_TYPES = (
    MESSAGE_NEW,
    THREAD_NEW,
    THREAD_READ,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    MESSAGE_EDITED,
    MESSAGE_DELETED,
    REACTION_ADDED,
    REACTION_REMOVED,
    USER_UPDATED,
    THREAD_INVITED,
)


# Blocks and group consent ---------------------------------------------------------------
# GROUP_ADD_POLICY: who may put a user in a group (rules.group_addition says what each means).
ANYONE = "anyone"
CONTACTS = "contacts"
INVITE = "invite"
GROUP_ADD_POLICIES = (ANYONE, CONTACTS, INVITE)


@dataclass(frozen=True)
class Block:
    """One person a user has blocked, as GET /me/blocks lists it."""

    user_id: str
    username: str
    blocked_at: int


@dataclass(frozen=True)
class Invitation:
    """A pending (``declined_at`` None) or declined invitation of ``user_id`` into a group."""

    thread_id: str
    user_id: str
    invited_by: str
    invited_at: int
    declined_at: int | None = None


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
    seen = replace(thread, last_read_seq=thread.last_seq, unread_count=0, unread_mentions=0)
    return {"thread": thread_dict(seen)}


def thread_invited_body(thread: ThreadView, invited_by: str) -> dict:
    """The group as an invitee may see it before accepting: who is in it and what it is called,
    none of its messages (no preview, nothing unread)."""
    shown = replace(thread, last_read_seq=0, unread_count=0, unread_mentions=0, last_message=None)
    return {"thread": thread_dict(shown), "invited_by": invited_by}


def thread_dict(thread: ThreadView) -> dict:
    """A thread as updates carry it: its members as the API shows them (``MemberOut``)."""
    return {**asdict(thread), "members": [public_user(member) for member in thread.members]}


def thread_read_body(thread_id: str, user_id: str, last_read_seq: int) -> dict:
    return {"thread_id": thread_id, "user_id": user_id, "last_read_seq": last_read_seq}


def member_body(thread_id: str, user_id: str) -> dict:
    return {"thread_id": thread_id, "user_id": user_id}


def message_edited_body(message: Message) -> dict:
    return {"message": message.to_dict()}


def message_deleted_body(message: Message) -> dict:
    return {"thread_id": message.thread_id, "seq": message.seq, "version": message.version}


def reaction_body(message: Message, user_id: str, emoji: str) -> dict:
    """A reaction change, with the emoji's count after it and the message's new version."""
    count = next((r["count"] for r in message.reactions if r["emoji"] == emoji), 0)
    return {
        "thread_id": message.thread_id,
        "seq": message.seq,
        "user_id": user_id,
        "emoji": emoji,
        "count": count,
        "version": message.version,
    }


# Profiles -------------------------------------------------------------------------------
# The fields of a user's profile a client may change (PATCH /me), and that user.updated carries.
PROFILE_FIELDS = ("username", "display_name", "avatar_id")


@dataclass(frozen=True)
class ProfileEdit:
    """A profile change the service has validated: ``changes`` maps some of ``PROFILE_FIELDS``
    to their new values (a ``display_name`` of None clears it); the fields left out stay."""

    user_id: str
    changes: dict[str, str | None]
    now: int


@dataclass(frozen=True)
class ProfileChanged:
    """Outcome of a profile change: ``changed`` is False when it asked for what was there
    already, and then no user.updated was appended (a store may still append one a crash left
    pending: ``cursors``)."""

    user: User
    changed: bool
    cursors: Cursors = field(default_factory=dict)


def public_user(user: User | Member) -> dict:
    """A user as others see them: what user.updated carries, and a thread's members."""
    return {
        "user_id": user.user_id,
        "username": user.username,
        "display_name": user.display_name,
        "avatar": user.avatar_id,
        "avatar_url": avatar_url(user.user_id, user.avatar_id),
    }


def user_updated_body(user: User) -> dict:
    return {"user": public_user(user)}


# Mail and one-time tokens ------------------------------------------------------------
PASSWORD_RESET = "password_reset"  # a one-time token's purpose: sets a new password
VERIFY_EMAIL = "verify_email"  # ...or proves the account holds ``email``
MAIL_PENDING = "pending"  # an outbox mail's status: waiting (or leased to a sender)...
MAIL_SENT = "sent"  # ...accepted by the mail server (its body is erased)...
MAIL_FAILED = "failed"  # ...or given up after MAIL_MAX_ATTEMPTS (its body is erased too)


@dataclass(frozen=True)
class OneTimeToken:
    """A token mailed to ``email`` for ``purpose``; stored only as ``token_hash`` (sha256)."""

    token_hash: str
    purpose: str
    user_id: str
    email: str
    created_at: int
    expires_at: int


@dataclass(frozen=True)
class OutgoingMail:
    """A mail in the outbox: written with its token, sent by a worker's mail sender."""

    mail_id: str
    user_id: str  # the account it is for: pending mails are bounded per account
    to: str
    subject: str
    text: str
    created_at: int


@dataclass(frozen=True)
class ClaimedMail:
    """A mail a sender leased: only ``claim_id`` may mark it sent or failed; ``attempts``
    counts this one."""

    mail: OutgoingMail
    claim_id: str
    attempts: int


# Leaving the service --------------------------------------------------------------------
# ACCOUNT_DELETION: what deleting an account does with the messages it sent.
KEEP_MESSAGES = "keep_messages"  # they stay, their sender shown as a deleted account
ERASE_MESSAGES = "erase_messages"  # each is deleted as DELETE of a message deletes it
ACCOUNT_DELETION_MODES = (KEEP_MESSAGES, ERASE_MESSAGES)
# What a deleted account is shown as wherever a user is served (its row stays, as the sender
# of kept messages): this username, no display name. Sign-up and renames refuse it
# (``UsernameTaken``), so nobody alive can pass for a deleted account.
DELETED_USERNAME = "deleted-user"


@dataclass(frozen=True)
class AccountDeleted:
    """Outcome of ``Store.mark_deleted``: the hashes of the tokens it deleted (for
    ``TokenRevoked``) and the logs its user.updated (the tombstone) went to."""

    revoked: list[str]
    cursors: Cursors = field(default_factory=dict)


# Attachments' bytes (the blob store) ------------------------------------------------------
# A blob id is made by the blob store (``new_blob_id``), never by a client, and is only ever
# this: 32 lowercase hex digits (128 random bits). Adapters turn it into a file name, a GridFS
# _id or an S3 key, so anything else (a slash, "..", an empty string) is refused before it
# reaches one. A contract with stored bytes: ids already stored keep this shape.
BLOB_ID = re.compile(r"[0-9a-f]{32}")


def new_blob_id() -> str:
    """A fresh blob id: 128 random bits, so two puts never share one."""
    return secrets.token_hex(16)


def require_blob_id(blob_id: str) -> str:
    """Return ``blob_id`` if it has the shape of a blob id; raise ``ValueError`` otherwise.

    A ValueError, not a client error: ids from a request are checked by its schema first."""
    if not isinstance(blob_id, str) or not BLOB_ID.fullmatch(blob_id):
        raise ValueError(f"not a blob id: {blob_id!r}")
    return blob_id


@dataclass(frozen=True)
class StoredBlob:
    """What ``BlobStore.put`` stored: its id, its length in bytes and the hex SHA-256 of its
    bytes, both computed while it streamed through."""

    blob_id: str
    size: int
    sha256: str


# Attachments' metadata (the message store) ---------------------------------------------
@dataclass(frozen=True)
class Attachment:
    """What an upload stored: its bytes are the blob ``blob_id`` (and a thumbnail's, for
    images), everything else is here, in the message store. ``attachment_id`` has the shape of
    a blob id (``new_blob_id``: the service makes it, never a client).

    Persisted shape: stored as these fields in both stores; add fields with defaults, never
    rename or repurpose one.
    """

    attachment_id: str
    uploader_id: str
    filename: str
    content_type: str  # sniffed from the bytes, never the client's word
    size: int  # bytes of ``blob_id``
    sha256: str  # hex, of ``blob_id``'s bytes
    created_at: int  # ms since the epoch: orphans are collected by it
    blob_id: str  # the bytes served (EXIF stripped from images)
    width: int | None = None  # images only
    height: int | None = None
    thumbnail_blob_id: str | None = None
    thumbnail_type: str | None = None  # the thumbnail's content type; None without one

    def public(self) -> dict:
        """What a message carries of it (and the web layer adds urls to): never a blob id,
        which would name bytes outside the authorization of ``Store.can_read_attachment``.

        A contract with stored messages and update bodies: add keys, never rename them."""
        return {
            "attachment_id": self.attachment_id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "thumbnail": self.thumbnail_blob_id is not None,
        }

    @property
    def blob_ids(self) -> list[str]:
        """Every blob holding its bytes: what to delete once its metadata is forgotten."""
        return [self.blob_id] + ([self.thumbnail_blob_id] if self.thumbnail_blob_id else [])
