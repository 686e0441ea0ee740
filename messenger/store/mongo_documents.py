"""MongoDB documents <-> model values: the persisted shapes, their indexes and their mapping.

``MongoStore`` (``mongo.py``) decides the write order, ``UpdateLog`` (``mongo_log.py``)
keeps the update log and ``ThreadViews`` (``mongo_views.py``) builds the threads' views;
this module only says what each document holds and how it reads back as a ``model`` value
(``first_docs``: how a page of them reads back).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.cursor import Cursor

from .. import rules
from ..model import (
    MESSAGE_FIELDS,
    UNKNOWN_DEVICE,
    Attachment,
    Invitation,
    Member,
    Message,
    NewThread,
    OneTimeToken,
    OutgoingMail,
    Preview,
    Session,
    ThreadView,
    Update,
    User,
)

Doc = dict[str, Any]

# Persisted shape: these documents are a contract with data already stored. Add fields with
# a default for documents that lack them and new indexes freely; never rename, retype or
# repurpose an existing field. Timestamps are ints, ms since the epoch, unless noted.
#
# users:       {_id: user_id, email, email_key: lower(email), username (as typed),
#               username_key: lower(username), password_hash, created_at,
#               display_name: str or null, profile_version: one more per profile change,
#               profile_announced: the highest profile_version whose user.updated every
#               co-member's log holds. Documents older than profiles read as display_name
#               null, profile_version 0, announced 0.}
# tokens:      {_id: sha256 of the token (never the token), user_id, created_at, expires_at
#               (moved on by use: rules.slid_expiry), expires: expires_at as a Date, for the
#               optional TTL index, device, last_seen_at, address: where it was last used
#               from, coarsened, or null. Documents older than the last three read as device
#               'unknown', last seen at created_at, no address (session_of).}
# threads:     {_id: thread_id, kind: 'direct'|'group', title, direct_key: sorted member ids of
#               a 1:1 thread else null, created_by, created_at,
#               member_ids: the members at creation, never updated (bounded by the member limit)}
# memberships: {_id: ObjectId, user_id, thread_id, joined_at, last_activity,
#               last_seq: newest seq rolled forward to this member, last_read_seq,
#               added_by: who added them (the creator at creation); absent before it was kept}
# departures:  {_id: ObjectId, thread_id, user_id: who left or was removed, actor_id: who had
#               added them or removed them, left_at: their latest departure involving actor_id}
# messages:    {_id: message_id, thread_id, seq, user_id, contents, timestamp (server time),
#               client_timestamp (the sender's clock, as sent), client_msg_id: str or null,
#               fanned_out: false until step 6 of send; absent (= complete) before the log,
#               edited_at: int or null, edit_count, deleted: bool, version: 1 at the send,
#               one more per change, reply_to: {seq, user_id, preview} or null,
#               mentions: [user_id], reactions: [{emoji, user_ids: [user_id]}] each emoji in
#               the order it was first reacted with (kept while any reaction to it stays),
#               its user ids in the order they reacted (bounded: the distinct limit times the
#               members), announced: the highest version whose update every member's log
#               holds, pending: {type, body} the update of the newest version, unset once
#               announced, erased: false from a deletion until its text is erased everywhere,
#               attachments: [Attachment.public()] in the order sent, absent when none,
#               release: [attachment_id] from a deletion until its refs are pulled (mongo.py).
#               Documents older than these fields read as never changed: edited_at null,
#               edit_count 0, not deleted, version 1 (announced), no quote, mentions,
#               reactions or attachments.}
# updates:     {_id: ObjectId, user_id, cursor, type: 'message.new'|'thread.new'|...,
#               body: the model's *_body dict, served to clients as stored,
#               key: names the event, unique per user (see event_key), created_at,
#               ref_thread, ref_seq, ref_quoted: rules.text_refs of the body, present only on
#               bodies holding message text (to find them again when that message is deleted)}
# update_logs: {_id: user_id, floor: every update of the user at or below it was pruned}
# heartbeat:   {_id: "readyz", beat_at}: one document, upserted by every readiness check
# blocks:      {_id: ObjectId, blocker_id, blocked_id, blocked_at}: one per pair, bounded per
#               blocker by MAX_BLOCKS
# invitations: {_id: ObjectId, thread_id, user_id: the invitee, invited_by, invited_at,
#               declined_at: null while pending}: one per thread and invitee; an accepted one is
#               deleted once its membership and updates are written. Memberships made by
#               accepting one also hold invited_at: which invitation made them (the roll-forward).
# one_time_tokens: {_id: sha256 of the mailed token (never the token), purpose:
#               'password_reset'|'verify_email', user_id, email: the address mailed, created_at,
#               expires_at}
# mail_outbox: {_id: mail_id, user_id: the account it is for, to, subject, text: erased ('')
#               once sent or failed (it holds a link), created_at, status:
#               'pending'|'sent'|'failed', due_at: when a sender may claim it (lease end,
#               backoff), attempts: claims so far, claim_id: the latest claim, finished_at}
# users.email_verified: bool, absent (false) on documents older than email verification.
# attachments: {_id: attachment_id, uploader_id, filename, content_type, size, sha256, width,
#               height, blob_id, thumbnail_blob_id, thumbnail_type, created_at, refs: what
#               refers to it, [] when nothing: {message_id, thread_id, at: the send's time}
#               per message carrying it, added before the message is inserted (mongo.py; a
#               ref whose message is missing past the collector's cut-off, or deleted, is
#               dead). Avatars will add refs of their own, so refs: [] stays "unreferenced".}
STRING = {"$type": "string"}
INDEXES: dict[str, list[tuple[list[tuple[str, int]], Doc]]] = {
    "users": [
        ([("email_key", ASCENDING)], {"name": "users_by_email_key", "unique": True}),
        ([("username_key", ASCENDING)], {"name": "users_by_username_key", "unique": True}),
    ],
    "tokens": [([("user_id", ASCENDING)], {"name": "tokens_by_user"})],
    "one_time_tokens": [
        ([("user_id", ASCENDING), ("purpose", ASCENDING)], {"name": "one_time_tokens_by_user"}),
        ([("expires_at", ASCENDING)], {"name": "one_time_tokens_by_expiry"}),
    ],
    "mail_outbox": [
        ([("status", ASCENDING), ("due_at", ASCENDING)], {"name": "mail_outbox_due"}),
        ([("user_id", ASCENDING), ("status", ASCENDING)], {"name": "mail_outbox_by_user"}),
        ([("finished_at", ASCENDING)], {"name": "mail_outbox_finished", "sparse": True}),
    ],
    # Deleted accounts' usernames in cool-down: {_id: username_key, until}.
    "reserved_usernames": [],
    "threads": [
        (
            [("direct_key", ASCENDING)],
            {
                "name": "threads_by_direct_key",
                "unique": True,
                "partialFilterExpression": {"direct_key": STRING},
            },
        ),
    ],
    "memberships": [
        ([("user_id", ASCENDING), ("thread_id", ASCENDING)], {"name": "memberships_key", "unique": True}),
        (
            [("user_id", ASCENDING), ("last_activity", DESCENDING), ("thread_id", DESCENDING)],
            {"name": "memberships_by_activity"},
        ),
        ([("thread_id", ASCENDING), ("user_id", ASCENDING)], {"name": "memberships_by_thread"}),
    ],
    "departures": [
        (
            [("thread_id", ASCENDING), ("actor_id", ASCENDING), ("user_id", ASCENDING)],
            {"name": "departures_key", "unique": True},
        ),
    ],
    "blocks": [
        (
            [("blocker_id", ASCENDING), ("blocked_id", ASCENDING)],
            {"name": "blocks_key", "unique": True},
        ),
        ([("blocked_id", ASCENDING), ("blocker_id", ASCENDING)], {"name": "blocks_by_blocked"}),
    ],
    "invitations": [
        (
            [("thread_id", ASCENDING), ("user_id", ASCENDING)],
            {"name": "invitations_key", "unique": True},
        ),
        ([("user_id", ASCENDING), ("invited_at", DESCENDING)], {"name": "invitations_by_invitee"}),
    ],
    # message_id is _id, unique by construction.
    "messages": [
        ([("thread_id", ASCENDING), ("seq", ASCENDING)], {"name": "messages_key", "unique": True}),
        (
            [("user_id", ASCENDING), ("thread_id", ASCENDING), ("seq", ASCENDING)],
            {"name": "messages_by_sender"},
        ),
        (
            [("user_id", ASCENDING), ("client_msg_id", ASCENDING)],
            {
                "name": "messages_by_client_msg_id",
                "unique": True,
                "partialFilterExpression": {"client_msg_id": STRING},
            },
        ),
        (
            [("thread_id", ASCENDING), ("mentions", ASCENDING), ("seq", ASCENDING)],
            {"name": "messages_by_mention"},
        ),
        (
            [("thread_id", ASCENDING), ("reply_to.seq", ASCENDING)],
            {"name": "messages_by_quote", "partialFilterExpression": {"reply_to.seq": {"$exists": True}}},
        ),
    ],
    "attachments": [
        ([("uploader_id", ASCENDING)], {"name": "attachments_by_uploader"}),
        ([("created_at", ASCENDING)], {"name": "attachments_by_age"}),
        ([("blob_id", ASCENDING)], {"name": "attachments_by_blob"}),
        (
            [("thumbnail_blob_id", ASCENDING)],
            {"name": "attachments_by_thumbnail", "partialFilterExpression": {"thumbnail_blob_id": STRING}},
        ),
    ],
    "updates": [
        ([("user_id", ASCENDING), ("cursor", ASCENDING)], {"name": "updates_key", "unique": True}),
        ([("user_id", ASCENDING), ("key", ASCENDING)], {"name": "updates_by_event", "unique": True}),
        ([("created_at", ASCENDING)], {"name": "updates_by_age"}),
        (
            [("ref_thread", ASCENDING), ("ref_seq", ASCENDING)],
            {"name": "updates_by_text_shown", "partialFilterExpression": {"ref_thread": STRING}},
        ),
        (
            [("ref_thread", ASCENDING), ("ref_quoted", ASCENDING)],
            {"name": "updates_by_text_quoted", "partialFilterExpression": {"ref_thread": STRING}},
        ),
    ],
}
TOKEN_TTL_INDEX = ([("expires", ASCENDING)], {"name": "tokens_ttl", "expireAfterSeconds": 0})

PREVIEW_FIELDS = {
    "_id": 0,
    "thread_id": 1,
    "seq": 1,
    "user_id": 1,
    "contents": 1,
    "timestamp": 1,
    "deleted": 1,
}
UPDATE_FIELDS = {"_id": 0, "cursor": 1, "type": 1, "body": 1}


def event_key(kind: str, *parts: object) -> str:
    """The name of one event, unique in a user's log, so appending it again is a no-op."""
    return ":".join([kind, *map(str, parts)])


def thread_view(thread: Doc, members: list[Member], **reader_state: Any) -> ThreadView:
    """A thread document's shared facts plus one member's read state and activity."""
    return ThreadView(
        thread_id=thread["_id"],
        kind=thread["kind"],
        title=thread["title"],
        created_by=thread["created_by"],
        created_at=thread["created_at"],
        members=members,
        **reader_state,
    )


def fresh_view(thread: Doc, members: list[Member]) -> ThreadView:
    """The thread as its creator sees it before the first message: what thread.new announces."""
    return thread_view(
        thread,
        members,
        last_activity=thread["created_at"],
        last_seq=0,
        last_read_seq=0,
        unread_count=0,
    )


def session_doc(session: Session) -> Doc:
    return {
        "_id": session.token_hash,
        "user_id": session.user_id,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "expires": expiry_date(session.expires_at),
        "device": session.device,
        "last_seen_at": session.last_seen_at,
        "address": session.address,
    }


def expiry_date(expires_at: int) -> datetime:
    """What the optional TTL index reads: the expiry as a Date."""
    return datetime.fromtimestamp(expires_at / 1000, tz=UTC)


def session_of(doc: Doc) -> Session:
    return Session(
        token_hash=doc["_id"],
        user_id=doc["user_id"],
        device=doc.get("device", UNKNOWN_DEVICE),
        created_at=doc["created_at"],
        last_seen_at=doc.get("last_seen_at", doc["created_at"]),
        expires_at=doc["expires_at"],
        address=doc.get("address"),
    )


def user_doc(user: User, password_hash: str) -> Doc:
    return {
        "_id": user.user_id,
        "email": user.email,
        "email_key": user.email.lower(),
        "username": user.username,
        "username_key": user.username.lower(),
        "password_hash": password_hash,
        "created_at": user.created_at,
        "display_name": user.display_name,
    }


def thread_doc(thread: NewThread) -> Doc:
    return {
        "_id": thread.thread_id,
        "kind": thread.kind,
        "title": thread.title,
        "direct_key": thread.direct_key,
        "created_by": thread.created_by,
        "created_at": thread.created_at,
        "member_ids": list(thread.member_ids),
    }


def message_doc(message: Message) -> Doc:
    """A new message, its fan-out pending (step 6 of ``MongoStore.send`` completes it); its
    message.new announces version 1."""
    fields = message.to_dict()
    fields["reactions"] = stored_reactions(message.reactions)
    if not fields["attachments"]:
        del fields["attachments"]  # as documents stored before attachments: read back as []
    return {"_id": fields.pop("message_id"), **fields, "fanned_out": False, "announced": message.version}


def stored_reactions(reactions: list[dict]) -> list[dict]:
    """Served reactions as stored: each emoji with its user ids (a new message has none)."""
    return [{"emoji": r["emoji"], "user_ids": list(r["user_ids"])} for r in reactions]


def reactions_of(stored: list[dict]) -> list[dict]:
    """Stored reactions as served (``rules.reaction_summary``), the emoji in their stored order."""
    return rules.reaction_summary((r["emoji"], user_id) for r in stored for user_id in r["user_ids"])


def version_of(doc: Doc) -> int:
    return doc.get("version", 1)


def announced_of(doc: Doc) -> int:
    """The highest version every member's log has; documents older than changes have them all."""
    return doc.get("announced", version_of(doc))


def update_doc(user_id: str, cursor: int, kind: str, body: dict, key: str, now: int) -> Doc:
    doc = {"user_id": user_id, "cursor": cursor, "type": kind, "body": body, "key": key, "created_at": now}
    return doc | text_ref_fields(kind, body)


def text_ref_fields(kind: str, body: dict) -> Doc:
    """The fields naming whose text an update body holds; none for bodies without text."""
    refs = rules.text_refs(kind, body)
    if refs is None:
        return {}
    return {"ref_thread": refs[0], "ref_seq": refs[1], "ref_quoted": refs[2]}


def user_of(doc: Doc) -> User:
    return User(
        doc["_id"],
        doc["email"],
        doc["username"],
        doc["created_at"],
        doc.get("display_name"),
        bool(doc.get("email_verified", False)),
        disabled=doc.get("disabled_at") is not None,
        deleted=doc.get("deleted_at") is not None,
        avatar_id=doc.get("avatar_id"),
    )


def one_time_token_doc(token: OneTimeToken) -> Doc:
    return {
        "_id": token.token_hash,
        "purpose": token.purpose,
        "user_id": token.user_id,
        "email": token.email,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
    }


def one_time_token_of(doc: Doc) -> OneTimeToken:
    return OneTimeToken(
        doc["_id"], doc["purpose"], doc["user_id"], doc["email"], doc["created_at"], doc["expires_at"]
    )


def mail_doc(mail: OutgoingMail, status: str) -> Doc:
    """A new outbox mail, due at once."""
    return {
        "_id": mail.mail_id,
        "user_id": mail.user_id,
        "to": mail.to,
        "subject": mail.subject,
        "text": mail.text,
        "created_at": mail.created_at,
        "status": status,
        "due_at": mail.created_at,
        "attempts": 0,
        "claim_id": None,
    }


def mail_of(doc: Doc) -> OutgoingMail:
    return OutgoingMail(doc["_id"], doc["user_id"], doc["to"], doc["subject"], doc["text"], doc["created_at"])


def profile_fields(user: User) -> Doc:
    """What a profile change sets on the user's document."""
    return {
        "username": user.username,
        "username_key": user.username.lower(),
        "display_name": user.display_name,
        "avatar_id": user.avatar_id,
    }


def profile_version_of(doc: Doc) -> int:
    return doc.get("profile_version", 0)


def profile_announced_of(doc: Doc) -> int:
    return doc.get("profile_announced", 0)


def message_of(doc: Doc) -> Message:
    """A message document as a model value; the oldest documents may lack ``client_msg_id``."""
    stored = {name: doc[name] for name in MESSAGE_FIELDS if name in doc}
    stored["reactions"] = reactions_of(doc.get("reactions", []))
    return Message(**{**stored, "message_id": doc["_id"], "client_msg_id": doc.get("client_msg_id")})


def preview_of(doc: Doc) -> Preview:
    """A message document, read with ``PREVIEW_FIELDS``, as the thread list's preview."""
    return Preview.of(
        doc["seq"], doc["user_id"], doc["contents"], doc["timestamp"], doc.get("deleted", False)
    )


def update_of(doc: Doc) -> Update:
    """An update document, read with ``UPDATE_FIELDS``, as served: its body as stored."""
    return Update(doc["cursor"], doc["type"], doc["body"])


def first_docs(cursor: Cursor, limit: int) -> list[Doc]:
    """Up to ``limit`` documents: a cursor reads limit(0) as "no limit", SQL's LIMIT 0 as none."""
    return list(cursor.limit(limit)) if limit > 0 else []


def invitation_of(doc: Doc) -> Invitation:
    return Invitation(
        doc["thread_id"], doc["user_id"], doc["invited_by"], doc["invited_at"], doc.get("declined_at")
    )


# Every field of an attachment document but its refs.
ATTACHMENT_FIELDS = {"refs": 0}


def attachment_doc(attachment: Attachment) -> Doc:
    """A new attachment's document, referred to by nothing yet."""
    fields = {name: getattr(attachment, name) for name in ATTACHMENT_NAMES if name != "attachment_id"}
    return {"_id": attachment.attachment_id, **fields, "refs": []}


def attachment_of(doc: Doc) -> Attachment:
    fields = {name: doc.get(name) for name in ATTACHMENT_NAMES if name != "attachment_id"}
    return Attachment(attachment_id=doc["_id"], **fields)


ATTACHMENT_NAMES = tuple(Attachment.__dataclass_fields__)
