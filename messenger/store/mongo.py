"""MongoDB adapter behind the ``Store`` port: the scale-out option when MONGODB_URI is set.

No transactions: every operation is a sequence of single-document atomic writes, ordered so
that a crash between any two leaves reads correct and a retry of the same request (same
sender and ``client_msg_id``) completes the rest: roll forward, never a duplicate.
This module holds that write order; the update log is kept by ``UpdateLog``
(``mongo_log``), the thread read model is built by ``ThreadViews`` (``mongo_views``), the
documents, their indexes and their mapping to model values are in ``mongo_documents``, and
what both stores decide (who is told of each change, retry matching, floors, cursor expiry)
in ``messenger.rules``.

The per-user update log (``updates``) keeps no counter. An append takes cursor = max(the
user's newest cursor, the user's floor) + 1, reading the newest cursor first; the unique
(user_id, cursor) index refuses a cursor a concurrent append took, and the append retries
with a fresh max. So an update only becomes visible above every update already visible, and
a reader paging with "cursor > since" never passes one that shows up later. Each update has
a key naming its event, unique per user, so a roll-forward that appends it again finds it
there and moves on (``UpdateLog.append``). Pruning raises the floor (``update_logs``) before
deleting up to it, so an append never hands out a pruned cursor again, and ``read_updates``
(``UpdateLog.read``) reads the floor after its page, so it never serves a page with a hole
pruned into it.

Documented write order of ``send`` (``open_thread`` runs steps 3-6, ``_deliver``, for its first message):

1. Require the sender's membership (``ThreadNotFound`` otherwise, also for unknown threads).
2. If the message has a ``client_msg_id``, look for a message the sender already stored with
   it: in another thread that is ``ClientMsgIdConflict``; in this thread it is a retry, so
   roll forward (steps 4-6) and return the original with ``created=False``.
3. Read the thread's newest message; if its fan-out is pending (``fanned_out`` false: its
   sender crashed, or is still at it), roll that message forward (steps 4-6) first. Insert
   the message, with ``fanned_out: false``, as seq = that newest seq + 1. The unique
   (thread_id, seq) index refuses a seq a concurrent send took; then re-check step 2 (a
   concurrent retry of the same send may have won) or run step 3 again. No counter is
   kept, so a crash cannot burn a seq and a thread's seqs stay 1..N without gaps.
4. Roll forward, idempotently, for first attempts and retries alike: the sender's read
   marker moves up to the seq ($max), then every membership still behind gets the new
   last_seq and last_activity.
5. Append ``message.new`` to the log of every current member, sender included, keyed by
   the message id: members whose log has it already are skipped.
6. Mark the message ``fanned_out: true``.

Step 3 heals a crash without waiting for a retry: a thread's next message completes the
previous one's fan-out. So only a thread's newest message can be pending, and every log
holds a thread's ``message.new`` updates in seq order (all of message N's are appended
before N+1 exists). The price: a send that overlaps the previous send's fan-out repeats it,
one lookup per member that has it already. Messages stored before the update log lack
``fanned_out`` and count as complete: there is no fan-out of theirs to finish.

Until step 4 completes, reads stay correct: message pages, unread counts and the thread
view's last_seq and preview are taken from the messages themselves; only the thread list's
order (last_activity) lags until the retry or the thread's next message rolls forward.
Until step 5 completes, some members' logs lack the message; the same roll-forward adds it.

Attachments. Their metadata is one document each, whose ``refs`` list what refers to it: per
message carrying it, ``{message_id, thread_id, at}`` (``at``: the send's time). Documented
write order of a send carrying attachments (between steps 2 and 3 above; ``open_thread`` runs
it before its thread document, so a refusal creates nothing): read the attachments named that
the sender uploaded (any missing: ``UnknownAttachments``, nothing written); then per
attachment one atomic ``update_one({_id, uploader_id: sender}, {$addToSet: {refs: ref}})``;
one that matches nothing was forgotten since the read, so the refs this attempt added are
pulled and the send refused; then steps 3-6, the message carrying the attachments' public
fields. The collector forgets an attachment only by ``find_one_and_delete({_id, refs:
{$size: 0}})``, so of it and a send, exactly one wins: the send's ref comes first (and keeps
the attachment) or finds it gone (and refuses). A crash after the refs and before the insert
leaves refs to a message that never is: dead refs, which a retry does not reuse (it brings a
new message id). ``orphan_attachments`` and ``forget_attachment`` count as dead a ref whose
message is deleted, or is missing and whose ``at`` is before their cut-off (a send still in
flight made its ref after it: the cut-off must be older than any send in flight), and
``forget_attachment`` pulls the dead refs first. A concurrent retry that stored the message
first (step 3's duplicate client_msg_id) makes this attempt pull its own refs. When a
concurrent opening of the same 1:1 thread won, the refs are pointed at that thread: the new
ref added, then the old one pulled, so they are never empty in between.

A deletion of a message carrying attachments (``_change`` with ``_decide_deletion``): its
compare-and-set (step 3) also empties ``attachments`` and sets ``release`` to their ids;
after step 6 (whose erasure empties them in the update bodies too, ``rules.erase_from_body``):
7. pull the message's refs from each, 8. forget each attachment whose refs are now empty
(``find_one_and_delete`` filtered on ``refs: {$size: 0}``, as the collector does), returned as
``freed_attachments`` for the service to delete their blobs, 9. unset ``release``. A crash
before 9 is rolled forward by a retry of the deletion: its step 1 finds ``release`` and runs
7-9, returning what it freed, with ``changed=False`` (other changes leave it; without a retry,
the collector finds the refs of a deleted message dead). A crash between 8 and the service's
blob deletion leaves bytes no metadata names, which the blob collector finds
(``blobs_in_use``). An attachment another message still carries (or that a crashed send's
ref holds until it is dead) is left for that message's deletion or the collector.

Documented write order of ``open_thread``: the thread document (carrying its initial member
ids), then the memberships, then ``thread.new`` to every initial member (keyed by the
thread id; the thread as its creator sees it before any message), then the first message
through steps 3-6 (its sender is a member by construction). A message therefore implies
complete memberships and a complete announcement, so an interrupted creation is completed
from the thread document only while the thread has no message yet (later, removed members
stay removed and nobody gets a stale ``thread.new``). A retry that finds the first message
(``_reopened``) runs the same completion, then steps 4-6 for that message.

``mark_read``, ``add_members`` and ``remove_member`` first make the change with one atomic
write that also tells whether anything changed ($max returning the old marker, an upsert,
a find-and-delete), then append to the logs, only when it did. A crash in between leaves a
gap in the logs, which the port allows: a retry finds nothing left to change and appends
nothing, while the state itself, and so GET /threads, is right.

Blocks are one document per pair, written with one upsert or delete: nothing to order.
Documented write order of ``invite``: per invitee, read the invitation; when
``rules.is_invitation_sendable`` lets it through, write it (an insert, or a compare-and-set
on the declined invitation read), then append ``thread.invited`` keyed by the invitation's
``invited_at``. A crash in between leaves a pending invitation whose update is missing: any
later invite of that person into that group finds it pending and appends its update again
(the key makes that a no-op when it is there), so a retry rolls forward.

Documented write order of ``accept_invitation``: (1) read the pending invitation; (2) upsert the
membership (added_by its inviter, ``invited_at`` naming the invitation); (3) append
``member.added`` to every member and ``thread.new`` to the joiner, keyed by the invitation;
(4) delete the invitation. A crash before (4) leaves the invitation pending, so a retry of
the accept runs (2)-(4) again: the membership is there (made by this invitation: its
``invited_at`` says so), the keyed appends find what was appended, and the delete finishes.
A membership that holds another ``invited_at`` (or none) was there before: nothing appended.

Documented write order of a change to a message (``edit_message``, ``delete_message``,
``add_reaction``, ``remove_reaction``; ``_change``). Each change is one more ``version`` of
the message document, which also keeps ``announced`` (the highest version whose update every
member's log holds) and ``pending`` (the update of its newest version, until announced):

1. Require the member; read the message document (``MessageNotFound``). Settle it first
   (``_settle``): a send fan-out still pending (``fanned_out`` false) is rolled forward
   (steps 4-6 of send); a version not yet announced (announced < version) has ``pending``
   appended to every current member with the key ``change:<message_id>:<version>``, then
   announced raised to it ($max, ``pending`` unset, only while the version is still that
   one); a deletion whose erasure is unfinished (``erased`` false) is erased (below).
2. Decide in Python, from the document read, what the change makes of it (``NotAllowed``,
   ``MessageDeleted``, ``TooManyReactions`` here). Nothing to change (the same contents,
   deleted already, reacted already, no such reaction) returns ``changed=False`` and appends
   nothing of its own (only what settling rolled forward).
3. Compare-and-set: one update filtered on the version read, setting the new fields, the
   version + 1 and ``pending``. A miss means a concurrent change won: read again from step 1
   (at most ``SEQ_ATTEMPTS`` times, then ``StoreUnavailable``). So changes to one message are
   serialized, and a deletion racing an edit either comes after it (and erases it) or makes
   the edit's compare-and-set miss and then refuse (``MessageDeleted``).
4. Append the update to every current member, keyed ``change:<message_id>:<version>``.
5. Raise ``announced`` to the version and unset ``pending``, as step 1 does.
6. For a deletion only: erase its text elsewhere (``_erase``), then set ``erased`` true.

A version is announced before the next one can be compare-and-set (step 1 precedes step 3),
so every member's log holds a message's updates in version order, each once: a retry of the
same request, or the message's next change, appends the pending one and finds its own key
there. A crash after step 3 leaves reads right (the document holds the new state) and the
logs one update short until then. Known window: a member added while a change is between
steps 3 and 4 may get it after the next version's update (a client keeps the highest).

Erasing a deleted message (``_erase``, idempotent): the quotes in the replies to it
(``reply_to.preview`` emptied, indexed by thread_id and reply_to.seq), then every update
body holding its text: each update document carries the refs of ``rules.text_refs``
(``ref_thread``, ``ref_seq``, ``ref_quoted``, indexed), which find them, and each is
rewritten with ``rules.erase_from_body`` by compare-and-set on the body read. The deletion's
own compare-and-set already erased the message document and replaced any pending edit.

Races with writes that copy text: a reply quoting a message being deleted, a send's
fan-out, an edit's update and a joiner's thread.new (which previews the newest message) may
write their copy after the erasure passed. So every append of a body holding message text
(``_append_text``) re-reads, after appending, whether any message whose text that body holds
is deleted, and if so erases that message again. The append precedes that read and the
deletion's compare-and-set precedes its erasure, so either the erasure sees the copy or the
re-read sees the deletion. A reply stores ``model.quote_of`` its target, read in the same
thread before anything is inserted (``ReplyNotFound``); the quote's copy in the reply
document is emptied by the same re-read. What is left: a reply's own ``pending`` edit keeps
the quote's text until announced (step 5 unsets it), and the append that announces it erases.

Documented write order of ``update_profile``. The user document keeps ``profile_version``
(one more per change) and ``profile_announced`` (the highest version whose user.updated every
log it goes to holds), as a message keeps its version and ``announced``:

1. Read the user document (``UserNotFound``). Settle it first: a version not yet announced
   (announced < version: its writer crashed, or is still at it) has user.updated, built from
   the document as read, appended to the user and everyone sharing a thread with them now,
   keyed ``user.updated:<user_id>:<version>``; then announced raised to it ($max, only while
   the version is still that one).
2. Decide in Python what differs (``rules.profile_changes``); nothing returns
   ``changed=False`` and appends nothing of its own (only what settling rolled forward).
3. Compare-and-set: one update filtered on the version read, setting username, username_key,
   display_name and the version + 1. The unique username_key index refuses a username another
   user holds (``UsernameTaken``, nothing written), and makes the old one free at once. A miss
   means a concurrent change won: read again from step 1 (at most ``SEQ_ATTEMPTS`` times).
4. Append user.updated to the user and every co-member, keyed by the new version.
5. Raise announced to it, as step 1 does.

So every log holds a user's user.updated in version order, each once. A crash between steps 3
and 4-5 leaves GET /me, thread members and search right at once and the logs without that
user.updated: a gap the port allows until the user's next PATCH /me (a retry of the same one
included, which finds nothing left to change) rolls it forward in step 1.

A new picture (``avatar_id``) adds two writes around step 3: (2a) the image is referred to by
its user (``$addToSet refs {avatar_of}``), in the one write that checks it is theirs and an
image (``InvalidAvatar`` when it matches nothing), so the orphan collector, which deletes only
an attachment with no refs, can never take it; after step 3, (3a) the old picture's ref is
pulled, and it becomes an orphan unless a message carries it. A crash between (2a) and 3, or
between 3 and (3a), leaves a picture referred to by a user who does not show it: kept, never
collected (bytes, not an error). ``mark_deleted`` pulls the picture's ref after the tombstone
write, the same way.

Leaving the service. ``add_session`` inserts, then re-reads whether the account is disabled or
deleted and deletes the token if so. Documented write order of ``set_disabled`` (disabling):
(1) delete the user's tokens, (2) set ``disabled_at``, (3) delete its tokens again. A sign-in
racing it either inserts before (3), which deletes the token, or re-reads after (2), which
sees the mark. A crash after (1) leaves the account enabled and signed out; a crash between
(2) and (3) leaves only a token inserted between (1) and (2) whose re-read came before (2),
until the command runs again. ``mark_deleted`` is the same three steps around the tombstone write: (1) tokens;
(2a) the reservation of the old username (upsert, $max until), (2b) the tombstone, one
compare-and-set on the profile version (as ``update_profile``'s step 3: a concurrent rename
makes it read again), which frees the username_key and email_key and stops sign-in at once,
(2c) user.updated with the tombstone to the user and every co-member, as ``update_profile``'s
steps 4-5 (a retry settles it as step 1 does); (3) tokens. A rename that authenticated before
the deletion finds the tombstone and answers ``UserNotFound``. The reservation precedes the
tombstone, so a sign-up racing it meets either the unique username_key or the reservation
(``UsernameTaken`` both ways). The rest of a deletion is the service's loop over idempotent
calls (``delete_own_message`` runs ``_change`` without the membership check, ``remove_member``
as for anyone, ``forget_user``); a crash anywhere is rolled forward by running the deletion
again (``flask delete-user <id>``), whose (2) finds the tombstone and changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import replace

from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument, WriteConcern
from pymongo.errors import DuplicateKeyError, PyMongoError

from .. import rules
from ..errors import (
    ClientMsgIdConflict,
    EmailTaken,
    InvalidAvatar,
    MessageDeleted,
    MessageNotFound,
    NotAllowed,
    ReplyNotFound,
    StoreUnavailable,
    ThreadNotFound,
    TooManyMembers,
    TooManyReactions,
    UnknownAttachments,
    UsernameTaken,
    UserNotFound,
)
from ..model import (
    DELETED_USERNAME,
    DIRECT,
    MAIL_FAILED,
    MAIL_PENDING,
    MAIL_SENT,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    MESSAGE_DELETED,
    MESSAGE_EDITED,
    MESSAGE_NEW,
    REACTION_ADDED,
    REACTION_REMOVED,
    THREAD_INVITED,
    THREAD_NEW,
    THREAD_READ,
    USER_UPDATED,
    AccountDeleted,
    Attachment,
    Block,
    ClaimedMail,
    Cursors,
    Invitation,
    MembersChanged,
    Message,
    MessageChanged,
    MessageEdit,
    NewMessage,
    NewThread,
    OneTimeToken,
    Opened,
    OutgoingMail,
    ProfileChanged,
    ProfileEdit,
    ReadMarked,
    Sent,
    Session,
    ThreadPage,
    ThreadView,
    UpdatePage,
    User,
    direct_key,
    member_body,
    message_deleted_body,
    message_edited_body,
    message_new_body,
    quote_of,
    reaction_body,
    thread_invited_body,
    thread_new_body,
    thread_read_body,
    user_updated_body,
)
from ..outages import unavailable_on
from .mongo_documents import (
    ATTACHMENT_FIELDS,
    INDEXES,
    TOKEN_TTL_INDEX,
    Doc,
    announced_of,
    attachment_doc,
    attachment_of,
    event_key,
    expiry_date,
    first_docs,
    fresh_view,
    invitation_of,
    mail_doc,
    mail_of,
    message_doc,
    message_of,
    one_time_token_doc,
    one_time_token_of,
    profile_announced_of,
    profile_fields,
    profile_version_of,
    session_doc,
    session_of,
    thread_doc,
    user_doc,
    user_of,
    version_of,
)
from .mongo_log import UpdateLog
from .mongo_views import ThreadViews

logger = logging.getLogger(__name__)

SEQ_ATTEMPTS = 50
ORPHAN_PAGE = 200  # old attachments whose refs' messages are looked up together
HEARTBEAT_ID = "readyz"
CHANGE = "change"  # the event key prefix of every change to a message: change:<id>:<version>

# What a change decides from the message and its stored reactions: None for nothing to
# change, else (the document fields it sets, the update type, the update body of the message after).
Decision = tuple[Doc, str, Callable[[Message], dict]] | None

# Driver failures are outages; a unique index refusing a write no caller expected is a bug.
_unavailable_on_error = unavailable_on(
    PyMongoError, "mongodb", lambda exc: not isinstance(exc, DuplicateKeyError)
)


class MongoStore:
    """Store on one MongoDB database; safe to share across threads like the client itself."""

    def __init__(
        self,
        client: MongoClient,
        db_name: str,
        write_concern_w: int | str | None = None,
        journal: bool | None = None,
        expire_tokens: bool = False,
        owns_client: bool = False,
    ):
        """Use ``client`` (pymongo's or mongomock's); close it on ``close()`` only if ``owns_client``.

        ``write_concern_w`` and ``journal`` override the client's write concern: "majority"
        with the journal means an acknowledged write survives a crash and a failover.
        ``expire_tokens`` adds a TTL index that deletes tokens by the wall clock,
        which is only right when callers pass the wall clock as ``now``.
        """
        self._client = client
        self._owns_client = owns_client
        self._expire_tokens = expire_tokens
        concern = None
        if write_concern_w is not None or journal is not None:
            concern = WriteConcern(w=write_concern_w, j=journal)
        self._db = client.get_database(db_name, write_concern=concern)
        self._users = self._db["users"]
        self._tokens = self._db["tokens"]
        self._threads = self._db["threads"]
        self._memberships = self._db["memberships"]
        self._messages = self._db["messages"]
        self._heartbeat = self._db["heartbeat"]
        self._departures = self._db["departures"]
        self._blocks = self._db["blocks"]
        self._invitations = self._db["invitations"]
        self._one_time_tokens = self._db["one_time_tokens"]
        self._outbox = self._db["mail_outbox"]
        self._reserved = self._db["reserved_usernames"]
        self._attachments = self._db["attachments"]
        self._log = UpdateLog(self._db)
        self._views = ThreadViews(self._db)

    @_unavailable_on_error
    def setup(self) -> None:
        for name, indexes in INDEXES.items():
            for keys, options in indexes:
                self._db[name].create_index(keys, **options)
        if self._expire_tokens:
            keys, options = TOKEN_TTL_INDEX
            self._tokens.create_index(keys, **options)
        self._log.backfill_text_refs()

    @_unavailable_on_error
    def heartbeat(self, now: int) -> None:
        """A write with the store's write concern: a lost majority fails it, a ping would not."""
        self._heartbeat.update_one({"_id": HEARTBEAT_ID}, {"$set": {"beat_at": now}}, upsert=True)

    @_unavailable_on_error
    def server_secret(self, name: str) -> bytes:
        """$setOnInsert: of two workers upserting at once, one inserts, both read its secret."""
        secrets_ = self._db["server_secrets"]
        try:
            found = secrets_.find_one_and_update(
                {"_id": name},
                {"$setOnInsert": {"secret": secrets.token_bytes(32)}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # a concurrent upsert inserted it first
            found = secrets_.find_one({"_id": name})
        return bytes(found["secret"])

    @_unavailable_on_error
    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # Accounts -------------------------------------------------------------------------
    @_unavailable_on_error
    def add_user(self, user: User, password_hash: str) -> None:
        if self._username_reserved(user.username, user.created_at):
            raise UsernameTaken()
        try:
            self._users.insert_one(user_doc(user, password_hash))
        except DuplicateKeyError:
            if self._users.find_one({"email_key": user.email.lower()}, {"_id": 1}) is not None:
                raise EmailTaken() from None
            if self._users.find_one({"username_key": user.username.lower()}, {"_id": 1}) is not None:
                raise UsernameTaken() from None
            raise

    @_unavailable_on_error
    def find_login(self, login: str) -> tuple[User, str] | None:
        low = login.lower()
        doc = self._users.find_one({"$or": [{"email_key": low}, {"username_key": low}]})
        return (user_of(doc), doc["password_hash"]) if doc else None

    @_unavailable_on_error
    def get_users(self, user_ids: list[str]) -> list[User]:
        if not user_ids:
            return []
        return [user_of(doc) for doc in self._users.find({"_id": {"$in": user_ids}})]

    @_unavailable_on_error
    def get_users_by_username(self, usernames: list[str]) -> list[User]:
        if not usernames:
            return []
        keys = [name.lower() for name in usernames]
        return [user_of(doc) for doc in self._users.find({"username_key": {"$in": keys}})]

    @_unavailable_on_error
    def search_users(self, prefix: str, limit: int) -> list[User]:
        low = prefix.lower()
        cursor = self._users.find({"username_key": {"$gte": low, "$lt": low + "\U0010ffff"}})
        return [user_of(doc) for doc in first_docs(cursor.sort("username_key", ASCENDING), limit)]

    @_unavailable_on_error
    def get_password_hash(self, user_id: str) -> str | None:
        doc = self._users.find_one({"_id": user_id}, {"password_hash": 1})
        return doc["password_hash"] if doc else None

    @_unavailable_on_error
    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self._users.update_one({"_id": user_id}, {"$set": {"password_hash": password_hash}})

    @_unavailable_on_error
    def add_session(self, session: Session) -> None:
        self._tokens.delete_many({"user_id": session.user_id, "expires_at": {"$lte": session.created_at}})
        self._tokens.insert_one(session_doc(session))
        # Re-read after the insert (see "Leaving the service" above): a disable or deletion
        # that marked the account meanwhile must not leave this session behind.
        if self._users.find_one({"_id": session.user_id, **CLOSED}, {"_id": 1}) is not None:
            self._tokens.delete_one({"_id": session.token_hash})

    @_unavailable_on_error
    def get_session(self, token_hash: str, now: int) -> Session | None:
        doc = self._tokens.find_one({"_id": token_hash, "expires_at": {"$gt": now}})
        return session_of(doc) if doc else None

    @_unavailable_on_error
    def touch_session(self, token_hash: str, now: int, address: str | None, expires_at: int | None) -> bool:
        cutoff = rules.touch_cutoff(now)
        query: Doc = {
            "_id": token_hash,
            "expires_at": {"$gt": now},
            "$or": [  # documents older than last_seen_at were last seen when created
                {"last_seen_at": {"$lte": cutoff}},
                {"last_seen_at": {"$exists": False}, "created_at": {"$lte": cutoff}},
            ],
        }
        change: Doc = {"$set": {"last_seen_at": now}}
        if address is not None:
            change["$set"]["address"] = address
        if expires_at is not None:
            change["$max"] = {"expires_at": expires_at, "expires": expiry_date(expires_at)}
        return self._tokens.update_one(query, change).modified_count == 1

    @_unavailable_on_error
    def list_sessions(self, user_id: str, now: int) -> list[Session]:
        docs = self._tokens.find({"user_id": user_id, "expires_at": {"$gt": now}})
        sessions = [session_of(doc) for doc in docs]
        return sorted(sessions, key=lambda s: (s.last_seen_at, s.created_at), reverse=True)

    @_unavailable_on_error
    def revoke_token(self, token_hash: str) -> None:
        self._tokens.delete_one({"_id": token_hash})

    @_unavailable_on_error
    def revoke_sessions(self, user_id: str, keep_token_hash: str | None = None) -> list[str]:
        query: Doc = {"user_id": user_id}
        if keep_token_hash is not None:
            query["_id"] = {"$ne": keep_token_hash}
        token_hashes = [doc["_id"] for doc in self._tokens.find(query, {"_id": 1})]
        # Only those found: a session signed in meanwhile is no sign-in this call saw, and one
        # deleted unseen would keep its sockets open.
        if token_hashes:
            self._tokens.delete_many({"_id": {"$in": token_hashes}})
        return token_hashes

    # Threads and messages -------------------------------------------------------------
    @_unavailable_on_error
    def open_thread(self, thread: NewThread, first: NewMessage) -> Opened:
        retried = self._find_retry(first)
        if retried is not None:
            return self._reopened(thread, retried)
        reply_to = None
        if first.reply_to_seq is not None:  # only an existing 1:1 thread can hold the message it answers
            key = {"direct_key": thread.direct_key} if thread.direct_key else {"_id": thread.thread_id}
            existing = self._threads.find_one(key, {"_id": 1})
            if existing is None:
                raise ReplyNotFound()
            reply_to = self._quote(existing["_id"], first.reply_to_seq)
        target = self._opening_target(thread)
        attachments = self._refer(first, target)  # before anything is written: a refusal writes nothing
        doc, created = self._insert_thread(thread)
        if attachments and doc["_id"] != target:  # a concurrent opening of this 1:1 thread won
            self._rerefer(first, target, doc["_id"])
        announced = self._complete_creation(doc)
        sent = self._delivered_referring(replace(first, thread_id=doc["_id"]), reply_to, attachments)
        return Opened(doc["_id"], sent.message, created, announced | sent.cursors)

    @_unavailable_on_error
    def send(self, message: NewMessage) -> Sent:
        self._require_member(message.thread_id, message.user_id)  # a removed member cannot retry
        retried = self._find_retry(message)
        if retried is not None:
            return self._resent(message, retried)
        reply_to = (
            None if message.reply_to_seq is None else self._quote(message.thread_id, message.reply_to_seq)
        )
        attachments = self._refer(message, message.thread_id)
        return self._delivered_referring(message, reply_to, attachments)

    @_unavailable_on_error
    def require_thread(self, thread_id: str, user_id: str) -> ThreadView:
        return self._views.one(self._require_member(thread_id, user_id))

    @_unavailable_on_error
    def list_threads(self, user_id: str, offset: int, limit: int) -> ThreadPage:
        # No snapshot to read both in: the cursor comes first, so a change that lands in between
        # may show up both in the list and in the log after the cursor, but never in neither.
        cursor = self._log.current_cursor(user_id)
        memberships = self._memberships.find({"user_id": user_id}).sort(
            [("last_activity", DESCENDING), ("thread_id", DESCENDING)]
        )
        return ThreadPage(self._views.many(first_docs(memberships.skip(offset), limit)), cursor)

    @_unavailable_on_error
    def list_messages(self, thread_id: str, user_id: str, start: int, end: int) -> list[Message]:
        self._require_member(thread_id, user_id)
        last_seq = self._newest_seq(thread_id)
        cursor = self._messages.find(
            {"thread_id": thread_id, "seq": {"$lte": last_seq - start, "$gt": last_seq - end}}
        )
        return [message_of(doc) for doc in cursor.sort("seq", DESCENDING)]

    @_unavailable_on_error
    def list_messages_before(
        self, thread_id: str, user_id: str, before_seq: int, limit: int
    ) -> list[Message]:
        self._require_member(thread_id, user_id)
        cursor = self._messages.find({"thread_id": thread_id, "seq": {"$lt": before_seq}})
        return [message_of(doc) for doc in first_docs(cursor.sort("seq", DESCENDING), limit)]

    @_unavailable_on_error
    def mark_read(self, thread_id: str, user_id: str, seq: int, now: int) -> ReadMarked:
        target = rules.read_target(seq, self._newest_seq(thread_id))
        before = self._memberships.find_one_and_update(
            {"thread_id": thread_id, "user_id": user_id},
            {"$max": {"last_read_seq": target}},
            projection={"last_read_seq": 1},
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            raise ThreadNotFound()
        if before["last_read_seq"] >= target:
            return ReadMarked(before["last_read_seq"])
        body = thread_read_body(thread_id, user_id, target)
        key = event_key(THREAD_READ, thread_id, user_id, target)
        told = rules.told_of_read(self._member_ids(thread_id))
        return ReadMarked(target, self._log.append(told, THREAD_READ, body, key, now))

    @_unavailable_on_error
    def add_members(self, thread_id: str, user_ids: list[str], now: int, added_by: str) -> MembersChanged:
        if self._threads.find_one({"_id": thread_id}, {"_id": 1}) is None:
            raise ThreadNotFound()
        last_seq = self._newest_seq(thread_id)
        added = [uid for uid in user_ids if self._ensure_membership(thread_id, uid, now, last_seq, added_by)]
        return MembersChanged(added, self._announce_joined(thread_id, added, now, now))

    def _announce_joined(self, thread_id: str, added: list[str], at: object, now: int) -> Cursors:
        """member.added to every member for each one added, thread.new to the joiner; keyed by ``at``."""
        members = self._member_ids(thread_id)
        cursors: Cursors = {}
        for user_id in added:
            key = event_key(MEMBER_ADDED, thread_id, user_id, at)
            told = rules.told_of_addition(members, user_id)
            cursors |= self._log.append(told, MEMBER_ADDED, member_body(thread_id, user_id), key, now)
            body = thread_new_body(self._views.one(self._require_member(thread_id, user_id)))
            key = event_key(THREAD_NEW, thread_id, at)
            cursors |= self._append_text(rules.told_of_joining(user_id), THREAD_NEW, body, key, now)
        return cursors

    @_unavailable_on_error
    def remove_member(self, thread_id: str, user_id: str, now: int, removed_by: str) -> MembersChanged:
        members = self._member_ids(thread_id)
        membership = {"thread_id": thread_id, "user_id": user_id}
        before = self._memberships.find_one(membership, {"added_by": 1})
        if before is None:
            return MembersChanged([])
        # Recorded before the removal: a crash in between leaves a record about a member, which
        # refuses nothing (adding a member is a no-op), never a removal without its record.
        for actor in rules.departure_actors(user_id, before.get("added_by"), removed_by):
            self._departures.update_one(
                {**membership, "actor_id": actor}, {"$set": {"left_at": now}}, upsert=True
            )
        removed = self._memberships.find_one_and_delete(membership)
        if removed is None:  # a concurrent removal won
            return MembersChanged([])
        told = rules.told_of_removal(members, user_id)
        body = member_body(thread_id, user_id)
        key = event_key(MEMBER_REMOVED, thread_id, user_id, removed["joined_at"])
        return MembersChanged([user_id], self._log.append(told, MEMBER_REMOVED, body, key, now))

    @_unavailable_on_error
    def departures_involving(self, thread_id: str, actor_id: str, user_ids: list[str]) -> dict[str, int]:
        found = self._departures.find(
            {"thread_id": thread_id, "actor_id": actor_id, "user_id": {"$in": user_ids}},
            {"user_id": 1, "left_at": 1},
        )
        return {doc["user_id"]: doc["left_at"] for doc in found}

    # Blocks and invitations -----------------------------------------------------------
    @_unavailable_on_error
    def add_block(self, blocker_id: str, blocked_id: str, now: int) -> int:
        pair = {"blocker_id": blocker_id, "blocked_id": blocked_id}
        with contextlib.suppress(DuplicateKeyError):  # a concurrent upsert of the same block won
            self._blocks.update_one(pair, {"$setOnInsert": {"blocked_at": now}}, upsert=True)
        return self._blocks.find_one(pair, {"blocked_at": 1})["blocked_at"]

    @_unavailable_on_error
    def remove_block(self, blocker_id: str, blocked_id: str) -> None:
        self._blocks.delete_one({"blocker_id": blocker_id, "blocked_id": blocked_id})

    @_unavailable_on_error
    def list_blocks(self, blocker_id: str) -> list[Block]:
        docs = list(self._blocks.find({"blocker_id": blocker_id}, {"blocked_id": 1, "blocked_at": 1}))
        users = {
            doc["_id"]: doc
            for doc in self._users.find(
                {"_id": {"$in": [d["blocked_id"] for d in docs]}}, {"username": 1, "username_key": 1}
            )
        }
        found = [d for d in docs if d["blocked_id"] in users]  # as the join would: no user, no row
        found.sort(key=lambda d: (-d["blocked_at"], users[d["blocked_id"]]["username_key"]))
        return [Block(d["blocked_id"], users[d["blocked_id"]]["username"], d["blocked_at"]) for d in found]

    @_unavailable_on_error
    def blockers_among(self, user_id: str, other_ids: list[str]) -> list[str]:
        if not other_ids:
            return []
        found = self._blocks.find(
            {"blocked_id": user_id, "blocker_id": {"$in": other_ids}}, {"blocker_id": 1}
        )
        return [doc["blocker_id"] for doc in found]

    @_unavailable_on_error
    def blocked_in_direct(self, thread_id: str, user_id: str) -> bool:
        # Most senders are blocked by nobody: that one indexed lookup answers for them.
        blockers = [
            doc["blocker_id"] for doc in self._blocks.find({"blocked_id": user_id}, {"blocker_id": 1})
        ]
        if not blockers:
            return False
        thread = self._threads.find_one({"_id": thread_id}, {"kind": 1})
        if thread is None or thread["kind"] != DIRECT:
            return False
        members = set(self._member_ids(thread_id))
        return user_id in members and bool(members & set(blockers))

    @_unavailable_on_error
    def contacts_among(self, user_id: str, other_ids: list[str]) -> list[str]:
        if not other_ids:
            return []
        keys = {direct_key([user_id, other_id]): other_id for other_id in other_ids}
        found = self._threads.find({"direct_key": {"$in": list(keys)}}, {"direct_key": 1})
        return [keys[doc["direct_key"]] for doc in found]

    @_unavailable_on_error
    def invite(
        self, thread_id: str, user_ids: list[str], invited_by: str, now: int, cooldown_ms: int
    ) -> MembersChanged:
        body = thread_invited_body(self._views.one(self._require_member(thread_id, invited_by)), invited_by)
        present = set(self._member_ids(thread_id))
        invited: list[str] = []
        cursors: Cursors = {}
        for user_id in dict.fromkeys(user_ids):
            if user_id in present:
                continue
            doc = self._invitations.find_one({"thread_id": thread_id, "user_id": user_id})
            existing = invitation_of(doc) if doc else None
            if existing is not None and existing.declined_at is None:  # pending: roll its update forward
                cursors |= self._append_invited(existing, body, now)
                continue
            if not rules.is_invitation_sendable(existing, now, cooldown_ms):
                continue
            fresh = Invitation(thread_id, user_id, invited_by, now)
            if not self._write_invitation(fresh, existing):
                continue  # a concurrent invite of the same person won
            invited.append(user_id)
            cursors |= self._append_invited(fresh, body, now)
        return MembersChanged(invited, cursors)

    def _write_invitation(self, fresh: Invitation, existing: Invitation | None) -> bool:
        """Insert it, or replace the declined one read (compare-and-set); False when another won."""
        fields = {"invited_by": fresh.invited_by, "invited_at": fresh.invited_at, "declined_at": None}
        where = {"thread_id": fresh.thread_id, "user_id": fresh.user_id}
        if existing is None:
            try:
                self._invitations.insert_one({**where, **fields})
            except DuplicateKeyError:
                return False
            return True
        read = {"declined_at": existing.declined_at, "invited_at": existing.invited_at}
        return self._invitations.update_one({**where, **read}, {"$set": fields}).matched_count == 1

    def _append_invited(self, invitation: Invitation, body: dict, now: int) -> Cursors:
        key = event_key(THREAD_INVITED, invitation.thread_id, invitation.invited_at)
        return self._log.append(rules.told_of_invitation(invitation.user_id), THREAD_INVITED, body, key, now)

    @_unavailable_on_error
    def get_invitation(self, thread_id: str, user_id: str) -> Invitation | None:
        doc = self._invitations.find_one({"thread_id": thread_id, "user_id": user_id})
        return invitation_of(doc) if doc else None

    @_unavailable_on_error
    def accept_invitation(self, thread_id: str, user_id: str, now: int, max_members: int) -> MembersChanged:
        where = {"thread_id": thread_id, "user_id": user_id}
        doc = self._invitations.find_one({**where, "declined_at": None})
        if doc is None:
            return MembersChanged([])
        invitation = invitation_of(doc)
        membership = self._memberships.find_one(where, {"invited_at": 1})
        if membership is None:
            if len(self._member_ids(thread_id)) >= max_members:
                raise TooManyMembers(details={"max_members": max_members})
            last_seq = self._newest_seq(thread_id)
            made_by = {"invited_at": invitation.invited_at}
            self._ensure_membership(thread_id, user_id, now, last_seq, invitation.invited_by, made_by)
            membership = self._memberships.find_one(where, {"invited_at": 1})
        ours = membership is not None and membership.get("invited_at") == invitation.invited_at
        at = f"invited:{invitation.invited_at}"
        cursors = self._announce_joined(thread_id, [user_id], at, now) if ours else {}
        self._invitations.delete_one({**where, "invited_at": invitation.invited_at})
        return MembersChanged([user_id] if ours else [], cursors)

    @_unavailable_on_error
    def decline_invitation(self, thread_id: str, user_id: str, now: int) -> bool:
        where = {"thread_id": thread_id, "user_id": user_id}
        self._invitations.update_one({**where, "declined_at": None}, {"$set": {"declined_at": now}})
        return self._invitations.find_one(where, {"_id": 1}) is not None

    @_unavailable_on_error
    def pending_invitations(self, user_id: str, limit: int) -> list[tuple[Invitation, ThreadView]]:
        pending = self._invitations.find({"user_id": user_id, "declined_at": None})
        found = []
        for doc in first_docs(pending.sort("invited_at", DESCENDING), limit):
            membership = self._memberships.find_one(
                {"thread_id": doc["thread_id"], "user_id": doc["invited_by"]}
            ) or self._memberships.find_one({"thread_id": doc["thread_id"]}, sort=[("joined_at", ASCENDING)])
            if membership is None:
                continue
            try:
                found.append((invitation_of(doc), self._views.one(membership)))
            except ThreadNotFound:
                continue
        return found

    # Changes to a message: the documented write order of ``_change`` ------------------
    @_unavailable_on_error
    def require_message(self, thread_id: str, seq: int, user_id: str) -> Message:
        self._require_member(thread_id, user_id)
        return message_of(self._message_doc(thread_id, seq))

    @_unavailable_on_error
    def edit_message(self, edit: MessageEdit) -> MessageChanged:
        def decide(message: Message, _reactions: list[dict]) -> Decision:
            if message.user_id != edit.user_id:
                raise NotAllowed()
            if message.deleted:
                raise MessageDeleted()
            if message.contents == edit.contents:
                return None
            fields = {
                "contents": edit.contents,
                "mentions": list(edit.mentions),
                "edited_at": edit.edited_at,
                "edit_count": message.edit_count + 1,
            }
            return fields, MESSAGE_EDITED, message_edited_body

        return self._change(edit.thread_id, edit.seq, edit.user_id, edit.edited_at, decide)

    @_unavailable_on_error
    def delete_message(self, thread_id: str, seq: int, user_id: str, now: int) -> MessageChanged:
        return self._change(thread_id, seq, user_id, now, _decide_deletion, deleting=True)

    @_unavailable_on_error
    def add_reaction(
        self, thread_id: str, seq: int, user_id: str, emoji: str, now: int, max_distinct: int
    ) -> MessageChanged:
        def decide(message: Message, reactions: list[dict]) -> Decision:
            if message.deleted:
                raise MessageDeleted()
            held = next((r for r in reactions if r["emoji"] == emoji), None)
            if held is not None and user_id in held["user_ids"]:
                return None
            if rules.is_reaction_refused([r["emoji"] for r in reactions], emoji, max_distinct):
                raise TooManyReactions()
            if held is None:
                after = [*reactions, {"emoji": emoji, "user_ids": [user_id]}]
            else:
                after = [{**r, "user_ids": [*r["user_ids"], user_id]} if r is held else r for r in reactions]
            return {"reactions": after}, REACTION_ADDED, lambda m: reaction_body(m, user_id, emoji)

        return self._change(thread_id, seq, user_id, now, decide)

    @_unavailable_on_error
    def remove_reaction(self, thread_id: str, seq: int, user_id: str, emoji: str, now: int) -> MessageChanged:
        def decide(message: Message, reactions: list[dict]) -> Decision:
            held = next((r for r in reactions if r["emoji"] == emoji), None)
            if message.deleted or held is None or user_id not in held["user_ids"]:
                return None
            after = []
            for r in reactions:
                user_ids = [uid for uid in r["user_ids"] if uid != user_id] if r is held else r["user_ids"]
                if user_ids:
                    after.append({**r, "user_ids": user_ids})
            return {"reactions": after}, REACTION_REMOVED, lambda m: reaction_body(m, user_id, emoji)

        return self._change(thread_id, seq, user_id, now, decide)

    def _change(
        self,
        thread_id: str,
        seq: int,
        user_id: str,
        now: int,
        decide: Callable[[Message, list[dict]], Decision],
        member_required: bool = True,
        deleting: bool = False,
    ) -> MessageChanged:
        """Steps 1-6 of a change: settle, decide, compare-and-set the version, announce, erase
        (and 7-9 of a deletion: release its attachments).

        ``member_required`` False skips step 1's membership check (``delete_own_message``,
        whose ``decide`` checks the sender instead). ``deleting``: a deletion, which also
        settles a crashed deletion's release (other changes leave it to the next deletion or
        the collector, so only a deletion ever returns ``freed_attachments``)."""
        if member_required:
            self._require_member(thread_id, user_id)
        healed: Cursors = {}
        freed: list[Attachment] = []
        for attempt in range(1, SEQ_ATTEMPTS + 1):
            doc = self._message_doc(thread_id, seq)
            healed |= self._settle(doc, now)
            if deleting:
                freed += self._release(doc["_id"], doc.get("release", []))
            message = message_of(doc)
            decision = decide(message, doc.get("reactions", []))
            if decision is None:
                return MessageChanged(message, False, healed, freed)
            fields, kind, body_of = decision
            version = version_of(doc) + 1
            after = message_of({**doc, **fields, "version": version})
            body = body_of(after)
            read = {"version": version - 1} if "version" in doc else {"version": {"$exists": False}}
            sets = {**fields, "version": version, "pending": {"type": kind, "body": body}}
            if self._messages.update_one({"_id": doc["_id"], **read}, {"$set": sets}).matched_count == 0:
                logger.debug("message %s changed concurrently (attempt %d)", doc["_id"], attempt)
                continue
            cursors = self._announce(doc["_id"], thread_id, version, kind, body, now)
            if after.deleted:
                self._erase(thread_id, seq)
                freed += self._release(doc["_id"], fields.get("release", []))
            return MessageChanged(after, True, healed | cursors, freed)
        logger.warning("message %s:%d kept changing for %d attempts", thread_id, seq, SEQ_ATTEMPTS)
        raise StoreUnavailable()

    def _settle(self, doc: Doc, now: int) -> Cursors:
        """Step 1: complete what a crash (or a concurrent writer) left of earlier writes to it."""
        cursors: Cursors = {}
        if doc.get("fanned_out") is False:  # at version 1: no change is made before the fan-out
            cursors |= self._roll_forward(message_of(doc))
        pending = doc.get("pending")
        if pending and announced_of(doc) < version_of(doc):
            version = version_of(doc)
            cursors |= self._announce(
                doc["_id"], doc["thread_id"], version, pending["type"], pending["body"], now
            )
        if doc.get("erased") is False:
            self._erase(doc["thread_id"], doc["seq"])
        return cursors

    def _announce(
        self, message_id: str, thread_id: str, version: int, kind: str, body: dict, now: int
    ) -> Cursors:
        """Steps 4-5: the version's update to every current member, then announced up to it."""
        told = rules.told_of_change(self._member_ids(thread_id))
        cursors = self._append_text(told, kind, body, event_key(CHANGE, message_id, version), now)
        self._messages.update_one(
            {"_id": message_id, "version": version},
            {"$max": {"announced": version}, "$unset": {"pending": ""}},
        )
        return cursors

    def _erase(self, thread_id: str, seq: int) -> None:
        """Step 6 of a deletion, idempotent: quotes of it, then the update bodies holding its text."""
        self._messages.update_many(
            {"thread_id": thread_id, "reply_to.seq": seq, "reply_to.preview": {"$ne": ""}},
            {"$set": {"reply_to.preview": ""}},
        )
        self._log.erase_text(thread_id, seq)
        self._messages.update_one(
            {"thread_id": thread_id, "seq": seq, "erased": False}, {"$set": {"erased": True}}
        )

    def _append_text(self, user_ids: list[str], kind: str, body: dict, key: str, now: int) -> Cursors:
        """Append, then erase again any message whose text the body holds and which was deleted
        meanwhile: the deletion's erasure may have passed before this copy was written."""
        cursors = self._log.append(user_ids, kind, body, key, now)
        refs = rules.text_refs(kind, body)
        if refs is None:
            return cursors
        thread_id = refs[0]
        held = [
            seq
            for seq in refs[1:]
            if seq is not None and rules.erase_from_body(kind, body, thread_id, seq) != body
        ]
        if held:
            gone = self._messages.find(
                {"thread_id": thread_id, "seq": {"$in": held}, "deleted": True}, {"seq": 1}
            )
            for doc in list(gone):
                self._erase(thread_id, doc["seq"])
        return cursors

    def _message_doc(self, thread_id: str, seq: int) -> Doc:
        doc = self._messages.find_one({"thread_id": thread_id, "seq": seq})
        if doc is None:
            raise MessageNotFound()
        return doc

    def _quote(self, thread_id: str, seq: int) -> dict:
        """What a reply to message ``seq`` carries of it; ``ReplyNotFound`` if the thread lacks it."""
        doc = self._messages.find_one({"thread_id": thread_id, "seq": seq})
        if doc is None:
            raise ReplyNotFound()
        return quote_of(message_of(doc))

    # The update log (``UpdateLog``, mongo_log) ----------------------------------------
    @_unavailable_on_error
    def current_cursor(self, user_id: str) -> int:
        return self._log.current_cursor(user_id)

    @_unavailable_on_error
    def read_updates(self, user_id: str, since: int, limit: int) -> UpdatePage:
        return self._log.read(user_id, since, limit)

    @_unavailable_on_error
    def prune_updates(self, now: int, max_age_ms: int, max_per_user: int) -> int:
        """Drop updates older than ``max_age_ms`` or beyond the newest ``max_per_user`` of a user."""
        return self._log.prune(now, max_age_ms, max_per_user)

    # Sending: steps 3-6 of the documented write order ---------------------------------
    def _deliver(
        self, new: NewMessage, reply_to: dict | None = None, attachments: list[dict] | None = None
    ) -> Sent:
        """Insert under the next free seq and roll forward; a seq race just tries the next one."""
        healed: Cursors = {}
        for attempt in range(1, SEQ_ATTEMPTS + 1):
            seq, cursors = self._next_seq(new.thread_id)
            healed |= cursors
            message = new.stored_as(seq, reply_to, attachments)
            try:
                self._messages.insert_one(message_doc(message))
            except DuplicateKeyError:
                retried = self._find_retry(new)
                if retried is not None:
                    sent = self._resent(new, retried)
                    return replace(sent, cursors=healed | sent.cursors)
                logger.debug(
                    "seq %d of thread %s was taken (attempt %d)", message.seq, message.thread_id, attempt
                )
                continue
            mine = self._roll_forward(message)
            return Sent(message, created=True, cursors=healed | mine, message_cursors=mine)
        logger.warning("no free seq in thread %s after %d attempts", new.thread_id, SEQ_ATTEMPTS)
        raise StoreUnavailable()

    def _delivered_referring(self, new: NewMessage, reply_to: dict | None, attachments: list[dict]) -> Sent:
        """``_deliver``; when a concurrent retry of the same send stored the message instead,
        this attempt's refs name a message that will never be: pull them."""
        sent = self._deliver(new, reply_to, attachments)
        if attachments and not sent.created:
            self._unrefer(new.message_id, [a["attachment_id"] for a in attachments])
        return sent

    def _next_seq(self, thread_id: str) -> tuple[int, Cursors]:
        """Step 3: the seq after the newest message, once that message's pending fan-out is done."""
        newest = self._messages.find_one({"thread_id": thread_id}, sort=[("seq", DESCENDING)])
        if newest is None:
            return 1, {}
        healed = self._roll_forward(message_of(newest)) if newest.get("fanned_out") is False else {}
        return newest["seq"] + 1, healed

    def _resent(self, new: NewMessage, retried: Message) -> Sent:
        """Answer a retried send with the original, completing what a crash may have cut short."""
        if retried.thread_id != new.thread_id:
            raise ClientMsgIdConflict()
        mine = self._roll_forward(retried)
        return Sent(retried, created=False, cursors=mine, message_cursors=mine)

    def _roll_forward(self, message: Message) -> Cursors:
        """Steps 4-6, idempotent: the sender has read it, members behind learn of it, every log gets it."""
        self._memberships.update_one(
            {"thread_id": message.thread_id, "user_id": message.user_id},
            {"$max": {"last_read_seq": message.seq}},
        )
        self._memberships.update_many(
            {"thread_id": message.thread_id, "last_seq": {"$lt": message.seq}},
            {"$set": {"last_seq": message.seq, "last_activity": message.timestamp}},
        )
        told = rules.told_of_message(self._member_ids(message.thread_id))
        key = event_key(MESSAGE_NEW, message.message_id)
        cursors = self._append_text(told, MESSAGE_NEW, message_new_body(message), key, message.timestamp)
        self._messages.update_one({"_id": message.message_id}, {"$set": {"fanned_out": True}})
        return cursors

    def _find_retry(self, new: NewMessage) -> Message | None:
        if new.client_msg_id is None:
            return None
        doc = self._messages.find_one({"user_id": new.user_id, "client_msg_id": new.client_msg_id})
        return message_of(doc) if doc else None

    def _newest_seq(self, thread_id: str) -> int:
        """The thread's last_seq, read from the messages so a stale membership cannot hide one."""
        doc = self._messages.find_one({"thread_id": thread_id}, {"seq": 1}, sort=[("seq", DESCENDING)])
        return doc["seq"] if doc else 0

    # Opening threads ------------------------------------------------------------------
    def _reopened(self, thread: NewThread, retried: Message) -> Opened:
        """Answer a retried create_thread with what the first attempt made, finishing its writes."""
        doc = self._threads.find_one({"_id": retried.thread_id})
        if doc is None or not rules.is_same_opening(
            thread, doc["kind"], doc["direct_key"], doc["created_by"], retried
        ):
            raise ClientMsgIdConflict()
        announced = self._complete_creation(doc)
        return Opened(retried.thread_id, retried, False, announced | self._roll_forward(retried))

    def _insert_thread(self, thread: NewThread) -> tuple[Doc, bool]:
        """Insert the thread document, or find the 1:1 thread (or same id) that already holds its key."""
        doc = thread_doc(thread)
        try:
            self._threads.insert_one(doc)
            return doc, True
        except DuplicateKeyError:
            key = {"direct_key": thread.direct_key} if thread.direct_key else {"_id": thread.thread_id}
            existing = self._threads.find_one(key)
            if existing is None:
                raise
            return existing, False

    def _complete_creation(self, thread: Doc) -> Cursors:
        """Write the creation's memberships and thread.new; only before the first message (see above)."""
        if self._messages.find_one({"thread_id": thread["_id"], "seq": 1}, {"_id": 1}) is not None:
            return {}
        for user_id in thread["member_ids"]:
            self._ensure_membership(thread["_id"], user_id, thread["created_at"], 0, thread["created_by"])
        members = self._views.members_of([thread["_id"]]).get(thread["_id"], [])
        body = thread_new_body(fresh_view(thread, members))
        key = event_key(THREAD_NEW, thread["_id"])
        told = rules.told_of_creation(thread["member_ids"])
        return self._log.append(told, THREAD_NEW, body, key, thread["created_at"])

    def _ensure_membership(
        self, thread_id: str, user_id: str, at: int, last_seq: int, added_by: str, extra: Doc | None = None
    ) -> bool:
        """Add a membership unless it exists; True only when this call added it."""
        try:
            result = self._memberships.update_one(
                {"user_id": user_id, "thread_id": thread_id},
                {
                    "$setOnInsert": {
                        "joined_at": at,
                        "last_activity": at,
                        "last_seq": last_seq,
                        "last_read_seq": last_seq,
                        "added_by": added_by,
                        **(extra or {}),
                    }
                },
                upsert=True,
            )
        except DuplicateKeyError:  # a concurrent upsert of the same membership won
            return False
        return result.upserted_id is not None

    def _require_member(self, thread_id: str, user_id: str) -> Doc:
        doc = self._memberships.find_one({"thread_id": thread_id, "user_id": user_id})
        if doc is None:
            raise ThreadNotFound()
        return doc

    def _member_ids(self, thread_id: str) -> list[str]:
        """The thread's current members, the users each change to it is appended for."""
        found = self._memberships.find({"thread_id": thread_id}, {"user_id": 1})
        return [doc["user_id"] for doc in found.sort("user_id", ASCENDING)]

    # Attachments: the documented write orders above ------------------------------------
    def _opening_target(self, thread: NewThread) -> str:
        """The thread an opening's first message will be in: the 1:1 thread with its key, if
        there is one, else the new thread."""
        if thread.direct_key is None:
            return thread.thread_id
        existing = self._threads.find_one({"direct_key": thread.direct_key}, {"_id": 1})
        return existing["_id"] if existing else thread.thread_id

    def _refer(self, new: NewMessage, thread_id: str) -> list[dict]:
        """Send's referring step (before step 3): refer to each attachment, by one atomic write
        filtered on its uploader, before the message exists; return what it carries of them.
        ``UnknownAttachments`` (with this attempt's refs pulled) when any is not the sender's."""
        if not new.attachment_ids:
            return []
        requested = rules.requested_attachments(new.attachment_ids)
        uploaded = self._attachments.find(
            {"_id": {"$in": requested}, "uploader_id": new.user_id}, ATTACHMENT_FIELDS
        )
        carried, missing = rules.attachments_sent(requested, map(attachment_of, uploaded))
        if missing:  # the common refusal writes nothing at all
            raise UnknownAttachments(missing)
        ref = {"message_id": new.message_id, "thread_id": thread_id, "at": new.timestamp}
        for done, attachment_id in enumerate(requested):
            referred = self._attachments.update_one(
                {"_id": attachment_id, "uploader_id": new.user_id}, {"$addToSet": {"refs": ref}}
            )
            if referred.matched_count == 0:  # forgotten since the read: the collector won
                self._unrefer(new.message_id, requested[:done])
                raise UnknownAttachments([attachment_id])
        return carried

    def _rerefer(self, new: NewMessage, was: str, thread_id: str) -> None:
        """Point this send's refs at the thread it went to: the new ref first, then the old
        one pulled, so the attachments are never unreferenced in between."""
        ids = rules.requested_attachments(new.attachment_ids)
        ref = {"message_id": new.message_id, "thread_id": thread_id, "at": new.timestamp}
        self._attachments.update_many({"_id": {"$in": ids}}, {"$addToSet": {"refs": ref}})
        self._attachments.update_many(
            {"_id": {"$in": ids}}, {"$pull": {"refs": {"message_id": new.message_id, "thread_id": was}}}
        )

    def _unrefer(self, message_id: str, attachment_ids: list[str]) -> None:
        if attachment_ids:
            self._attachments.update_many(
                {"_id": {"$in": attachment_ids}}, {"$pull": {"refs": {"message_id": message_id}}}
            )

    def _release(self, message_id: str, attachment_ids: list[str]) -> list[Attachment]:
        """Steps 7-9 of a deletion, idempotent: pull its refs, forget the attachments nothing
        refers to any more (each by one atomic write filtered on empty refs), unset ``release``."""
        if not attachment_ids:
            return []
        self._unrefer(message_id, attachment_ids)
        freed = []
        for attachment_id in attachment_ids:
            doc = self._attachments.find_one_and_delete({"_id": attachment_id, "refs": {"$size": 0}})
            if doc is not None:
                freed.append(attachment_of(doc))
        self._messages.update_one({"_id": message_id}, {"$unset": {"release": ""}})
        return freed

    @_unavailable_on_error
    def add_attachment(self, attachment: Attachment) -> None:
        self._attachments.insert_one(attachment_doc(attachment))

    @_unavailable_on_error
    def get_attachment(self, attachment_id: str) -> Attachment | None:
        doc = self._attachments.find_one({"_id": attachment_id}, ATTACHMENT_FIELDS)
        return attachment_of(doc) if doc else None

    @_unavailable_on_error
    def attachment_bytes_used(self, user_id: str) -> int:
        summed = self._attachments.aggregate(
            [{"$match": {"uploader_id": user_id}}, {"$group": {"_id": None, "total": {"$sum": "$size"}}}]
        )
        return next((doc["total"] for doc in summed), 0)

    @_unavailable_on_error
    def can_read_attachment(self, attachment_id: str, user_id: str) -> bool:
        doc = self._attachments.find_one({"_id": attachment_id}, {"uploader_id": 1, "refs": 1})
        if doc is None:
            return False
        if doc["uploader_id"] == user_id:
            return True
        message_ids = [ref["message_id"] for ref in doc.get("refs", []) if "message_id" in ref]
        if not message_ids:
            return False
        # The message's thread, not the ref's: a ref may name a message never stored.
        carrying = self._messages.find(
            {"_id": {"$in": message_ids}, "deleted": {"$ne": True}}, {"thread_id": 1}
        )
        thread_ids = list({message["thread_id"] for message in carrying})
        if not thread_ids:
            return False
        member = self._memberships.find_one(
            {"user_id": user_id, "thread_id": {"$in": thread_ids}}, {"_id": 1}
        )
        return member is not None

    @_unavailable_on_error
    def orphan_attachments(
        self, created_before: int, limit: int, uploader_id: str | None = None
    ) -> list[Attachment]:
        """Reads every attachment older than the cut-off, referred to or not, in pages: the
        refs' messages are checked a page at a time. Linear in the old attachments."""
        found: list[Attachment] = []
        if limit <= 0:
            return found
        query: Doc = {"created_at": {"$lt": created_before}}
        if uploader_id is not None:
            query["uploader_id"] = uploader_id
        older = self._attachments.find(query).sort("created_at", ASCENDING)
        page: list[Doc] = []
        for doc in older:
            page.append(doc)
            if len(page) == ORPHAN_PAGE:
                found += self._unreferenced(page, created_before)
                page = []
                if len(found) >= limit:
                    break
        else:
            found += self._unreferenced(page, created_before)
        return found[:limit]

    @_unavailable_on_error
    def forget_attachment(self, attachment_id: str, created_before: int) -> Attachment | None:
        """Pull its dead refs, then delete it by one write filtered on empty refs (a send's
        $addToSet in between makes it miss)."""
        old = {"_id": attachment_id, "created_at": {"$lt": created_before}}
        doc = self._attachments.find_one(old, {"refs": 1})
        if doc is None:
            return None
        dead = self._dead_refs([doc], created_before)
        if dead:
            self._attachments.update_one(old, {"$pull": {"refs": {"message_id": {"$in": sorted(dead)}}}})
        gone = self._attachments.find_one_and_delete({**old, "refs": {"$size": 0}})
        return attachment_of(gone) if gone else None

    @_unavailable_on_error
    def blobs_in_use(self, blob_ids: list[str]) -> set[str]:
        if not blob_ids:
            return set()
        wanted = set(blob_ids)
        named = self._attachments.find(
            {"$or": [{"blob_id": {"$in": blob_ids}}, {"thumbnail_blob_id": {"$in": blob_ids}}]},
            {"blob_id": 1, "thumbnail_blob_id": 1},
        )
        return {
            blob for doc in named for blob in (doc["blob_id"], doc.get("thumbnail_blob_id")) if blob in wanted
        }

    def _unreferenced(self, docs: list[Doc], created_before: int) -> list[Attachment]:
        """The attachments among ``docs`` whose every ref is dead."""
        dead = self._dead_refs(docs, created_before)
        return [
            attachment_of(doc)
            for doc in docs
            if all(ref.get("message_id") in dead for ref in doc.get("refs", []))
        ]

    def _dead_refs(self, docs: list[Doc], created_before: int) -> set[str]:
        """The message ids among ``docs``' refs that refer to nothing: a deleted message (its
        deletion's pull is pending), or one missing whose ref was made before the cut-off (its
        send crashed; a send in flight made its ref after it). Refs without a message id (the
        avatars' to come) are never dead here."""
        refs = [ref for doc in docs for ref in doc.get("refs", []) if "message_id" in ref]
        if not refs:
            return set()
        stored = {
            doc["_id"]: doc.get("deleted", False)
            for doc in self._messages.find(
                {"_id": {"$in": [ref["message_id"] for ref in refs]}}, {"deleted": 1}
            )
        }
        return {
            ref["message_id"]
            for ref in refs
            if stored.get(ref["message_id"]) is True
            or (ref["message_id"] not in stored and ref["at"] < created_before)
        }

    # Leaving the service: the documented write orders above ----------------------------
    @_unavailable_on_error
    def list_accounts(self, after: str | None, limit: int) -> list[User]:
        cursor = self._users.find({"_id": {"$gt": after or ""}}).sort("_id", ASCENDING)
        return [user_of(doc) for doc in first_docs(cursor, limit)]

    @_unavailable_on_error
    def set_disabled(self, user_id: str, disabled: bool, now: int) -> list[str]:
        if self._users.find_one({"_id": user_id, "deleted_at": None}, {"_id": 1}) is None:
            raise UserNotFound()
        if not disabled:
            self._users.update_one({"_id": user_id}, {"$set": {"disabled_at": None}})
            return []
        revoked = self._delete_tokens(user_id)
        self._users.update_one({"_id": user_id, "disabled_at": None}, {"$set": {"disabled_at": now}})
        return revoked + self._delete_tokens(user_id)

    @_unavailable_on_error
    def mark_deleted(self, user_id: str, now: int, reserved_until: int) -> AccountDeleted:
        revoked = self._delete_tokens(user_id)
        for attempt in range(1, SEQ_ATTEMPTS + 1):
            doc = self._users.find_one({"_id": user_id})
            if doc is None:
                raise UserNotFound()
            if doc.get("deleted_at") is not None:  # a retry: announce the tombstone if a crash did not
                cursors = self._settle_profile(doc, now)
                return AccountDeleted(revoked + self._delete_tokens(user_id), cursors)
            self._reserved.update_one(
                {"_id": doc["username_key"]}, {"$max": {"until": reserved_until}}, upsert=True
            )
            key = rules.tombstone_key(user_id)
            version = profile_version_of(doc) + 1
            tombstone = {
                "email": "",
                "email_key": key,
                "username": DELETED_USERNAME,
                "username_key": key,
                "password_hash": "",
                "display_name": None,
                "avatar_id": None,
                "deleted_at": now,
                "profile_version": version,
            }
            read = {"profile_version": version - 1} if "profile_version" in doc else {"profile_version": None}
            if self._users.update_one({"_id": user_id, **read}, {"$set": tombstone}).matched_count == 0:
                logger.debug("profile of %s changed concurrently (attempt %d)", user_id, attempt)
                continue
            if doc.get("avatar_id"):
                self._release_avatar(doc["avatar_id"], user_id)
            cursors = self._announce_profile(user_of({**doc, **tombstone}), version, now)
            return AccountDeleted(revoked + self._delete_tokens(user_id), cursors)
        raise StoreUnavailable()

    @_unavailable_on_error
    def own_messages(self, user_id: str, after: tuple[str, int] | None, limit: int) -> list[Message]:
        thread_id, seq = after or ("", 0)
        query = {
            "user_id": user_id,
            "$or": [{"thread_id": {"$gt": thread_id}}, {"thread_id": thread_id, "seq": {"$gt": seq}}],
        }
        cursor = self._messages.find(query).sort([("thread_id", ASCENDING), ("seq", ASCENDING)])
        return [message_of(doc) for doc in first_docs(cursor, limit)]

    @_unavailable_on_error
    def delete_own_message(self, thread_id: str, seq: int, user_id: str, now: int) -> MessageChanged:
        def decide(message: Message, reactions: list[dict]) -> Decision:
            if message.user_id != user_id:
                raise MessageNotFound()
            return _decide_deletion(message, reactions)

        return self._change(thread_id, seq, user_id, now, decide, member_required=False, deleting=True)

    @_unavailable_on_error
    def member_thread_ids(self, user_id: str) -> list[str]:
        return [doc["thread_id"] for doc in self._memberships.find({"user_id": user_id}, {"thread_id": 1})]

    @_unavailable_on_error
    def forget_user(self, user_id: str) -> None:
        self._blocks.delete_many({"blocker_id": user_id})
        self._invitations.delete_many({"user_id": user_id})
        self._delete_tokens(user_id)

    def _delete_tokens(self, user_id: str) -> list[str]:
        hashes = [doc["_id"] for doc in self._tokens.find({"user_id": user_id}, {"_id": 1})]
        if hashes:
            self._tokens.delete_many({"_id": {"$in": hashes}})
        return hashes

    def _username_reserved(self, username: str, now: int) -> bool:
        return self._reserved.find_one({"_id": username.lower(), "until": {"$gt": now}}) is not None

    # Profiles: the documented write order of ``update_profile`` -----------------------
    @_unavailable_on_error
    def update_profile(self, edit: ProfileEdit) -> ProfileChanged:
        """Steps 1-5: settle, decide, compare-and-set the profile version, announce."""
        healed: Cursors = {}
        for attempt in range(1, SEQ_ATTEMPTS + 1):
            doc = self._users.find_one({"_id": edit.user_id})
            if doc is None:
                raise UserNotFound()
            healed |= self._settle_profile(doc, edit.now)
            user = user_of(doc)
            if user.deleted:  # a request that authenticated just before the deletion
                raise UserNotFound()
            changes = rules.profile_changes(user, edit.changes)
            if not changes:
                return ProfileChanged(user, False, healed)
            if "username" in changes and self._username_reserved(changes["username"], edit.now):
                raise UsernameTaken()
            if changes.get("avatar_id") is not None:
                self._refer_avatar(changes["avatar_id"], user.user_id)
            version = profile_version_of(doc) + 1
            after = replace(user, **changes)
            read = {"profile_version": version - 1} if "profile_version" in doc else {"profile_version": None}
            try:
                result = self._users.update_one(
                    {"_id": user.user_id, **read},
                    {"$set": {**profile_fields(after), "profile_version": version}},
                )
            except DuplicateKeyError:  # the unique username_key: another user holds the name
                raise UsernameTaken() from None
            if result.matched_count == 0:
                logger.debug("profile of %s changed concurrently (attempt %d)", user.user_id, attempt)
                continue
            if "avatar_id" in changes and user.avatar_id is not None:
                self._release_avatar(user.avatar_id, user.user_id)
            return ProfileChanged(after, True, healed | self._announce_profile(after, version, edit.now))
        logger.warning("profile of %s kept changing for %d attempts", edit.user_id, SEQ_ATTEMPTS)
        raise StoreUnavailable()

    def _refer_avatar(self, attachment_id: str, user_id: str) -> None:
        """Avatar step 1: the image becomes referred to by its user, in the one write that checks
        it is theirs and an image (as a send refers to its attachments), so the collector and
        this change never both win."""
        found = self._attachments.update_one(
            {"_id": attachment_id, "uploader_id": user_id, "thumbnail_blob_id": {"$ne": None}},
            {"$addToSet": {"refs": {"avatar_of": user_id}}},
        )
        if found.matched_count == 0:
            raise InvalidAvatar()

    def _release_avatar(self, attachment_id: str, user_id: str) -> None:
        """Avatar step 3, after the user's document names the new picture (or none): the old one
        is no longer referred to by its user, and becomes an orphan unless a message carries it."""
        self._attachments.update_one({"_id": attachment_id}, {"$pull": {"refs": {"avatar_of": user_id}}})

    def _settle_profile(self, doc: Doc, now: int) -> Cursors:
        """Step 1: announce a version whose writer crashed (or is still at it)."""
        version = profile_version_of(doc)
        if profile_announced_of(doc) >= version:
            return {}
        return self._announce_profile(user_of(doc), version, now)

    def _announce_profile(self, user: User, version: int, now: int) -> Cursors:
        """Steps 4-5: user.updated to the user and every co-member, then announced up to it."""
        told = rules.told_of_profile(user.user_id, self._co_member_ids(user.user_id))
        key = event_key(USER_UPDATED, user.user_id, version)
        cursors = self._log.append(told, USER_UPDATED, user_updated_body(user), key, now)
        self._users.update_one(
            {"_id": user.user_id, "profile_version": version}, {"$max": {"profile_announced": version}}
        )
        return cursors

    def _co_member_ids(self, user_id: str) -> list[str]:
        """Everyone sharing a thread with the user: two indexed queries, by user then by thread."""
        thread_ids = [
            doc["thread_id"] for doc in self._memberships.find({"user_id": user_id}, {"thread_id": 1})
        ]
        if not thread_ids:
            return []
        found = self._memberships.find({"thread_id": {"$in": thread_ids}}, {"user_id": 1})
        return list({doc["user_id"] for doc in found})

    # Mail and one-time tokens: the documented write order above ------------------------
    @_unavailable_on_error
    def get_user_by_email(self, email: str) -> User | None:
        doc = self._users.find_one({"email_key": email.lower()})
        return user_of(doc) if doc else None

    @_unavailable_on_error
    def change_email(self, user_id: str, email: str) -> User:
        try:
            doc = self._users.find_one_and_update(
                {"_id": user_id},
                {"$set": {"email": email, "email_key": email.lower(), "email_verified": False}},
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            raise EmailTaken() from None
        if doc is None:
            raise UserNotFound()
        return user_of(doc)

    @_unavailable_on_error
    def set_email_verified(self, user_id: str, email: str) -> bool:
        result = self._users.update_one(
            {"_id": user_id, "email_key": email.lower()}, {"$set": {"email_verified": True}}
        )
        return result.matched_count == 1

    @_unavailable_on_error
    def add_one_time_token(self, token: OneTimeToken, mail: OutgoingMail, max_pending: int) -> bool:
        pending = self._outbox.count_documents({"user_id": mail.user_id, "status": MAIL_PENDING})
        if pending >= max_pending:
            return False
        self._one_time_tokens.insert_one(one_time_token_doc(token))
        self._outbox.insert_one(mail_doc(mail, MAIL_PENDING))
        return True

    @_unavailable_on_error
    def get_one_time_token(self, token_hash: str, purpose: str, now: int) -> OneTimeToken | None:
        doc = self._one_time_tokens.find_one(
            {"_id": token_hash, "purpose": purpose, "expires_at": {"$gt": now}}
        )
        return one_time_token_of(doc) if doc else None

    @_unavailable_on_error
    def use_one_time_token(self, token_hash: str, purpose: str, now: int) -> OneTimeToken | None:
        doc = self._one_time_tokens.find_one_and_delete(
            {"_id": token_hash, "purpose": purpose, "expires_at": {"$gt": now}}
        )
        if doc is None:
            return None
        self._one_time_tokens.delete_many({"user_id": doc["user_id"], "purpose": purpose})
        return one_time_token_of(doc)

    @_unavailable_on_error
    def claim_mail(self, now: int, lease_ms: int, limit: int) -> list[ClaimedMail]:
        claimed = []
        for _ in range(limit):
            claim_id = uuid.uuid4().hex
            doc = self._outbox.find_one_and_update(
                {"status": MAIL_PENDING, "due_at": {"$lte": now}},
                {"$set": {"due_at": now + lease_ms, "claim_id": claim_id}, "$inc": {"attempts": 1}},
                sort=[("due_at", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                break
            claimed.append(ClaimedMail(mail_of(doc), claim_id, doc["attempts"]))
        return claimed

    @_unavailable_on_error
    def mark_mail_sent(self, mail_id: str, claim_id: str, now: int) -> bool:
        return self._finish_mail(mail_id, claim_id, MAIL_SENT, now)

    @_unavailable_on_error
    def mark_mail_failed(self, mail_id: str, claim_id: str, now: int, retry_at: int | None) -> bool:
        if retry_at is None:
            return self._finish_mail(mail_id, claim_id, MAIL_FAILED, now)
        result = self._outbox.update_one(
            {"_id": mail_id, "claim_id": claim_id, "status": MAIL_PENDING}, {"$set": {"due_at": retry_at}}
        )
        return result.matched_count == 1

    def _finish_mail(self, mail_id: str, claim_id: str, status: str, now: int) -> bool:
        result = self._outbox.update_one(
            {"_id": mail_id, "claim_id": claim_id, "status": MAIL_PENDING},
            {"$set": {"status": status, "finished_at": now, "text": "", "claim_id": None}},
        )
        return result.matched_count == 1

    @_unavailable_on_error
    def prune_mail(self, now: int, keep_ms: int) -> int:
        tokens = self._one_time_tokens.delete_many({"expires_at": {"$lte": now}}).deleted_count
        mails = self._outbox.delete_many({"finished_at": {"$lte": now - keep_ms}}).deleted_count
        return tokens + mails


# An account that may hold no token: disabled or deleted (a find filter on users).
CLOSED = {"$or": [{"disabled_at": {"$type": "number"}}, {"deleted_at": {"$type": "number"}}]}


def _decide_deletion(message: Message, _reactions: list[dict]) -> Decision:
    """Step 2 of a deletion: erase everything but who sent it, where and when."""
    if message.deleted:
        return None
    fields = {
        "contents": "",
        "deleted": True,
        "reply_to": None,
        "mentions": [],
        "reactions": [],
        "erased": False,
        "attachments": [],
    }
    if message.attachments:  # refs to pull once erased (``MongoStore._release``)
        fields["release"] = rules.attachment_ids_of(message)
    return fields, MESSAGE_DELETED, message_deleted_body
