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
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import ParamSpec, TypeVar

from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument, WriteConcern
from pymongo.errors import DuplicateKeyError, PyMongoError

from .. import rules
from ..errors import (
    ClientMsgIdConflict,
    EmailTaken,
    StoreUnavailable,
    ThreadNotFound,
    UsernameTaken,
)
from ..model import (
    MEMBER_ADDED,
    MEMBER_REMOVED,
    MESSAGE_NEW,
    THREAD_NEW,
    THREAD_READ,
    Cursors,
    MembersChanged,
    Message,
    NewMessage,
    NewThread,
    Opened,
    ReadMarked,
    Sent,
    ThreadPage,
    ThreadView,
    UpdatePage,
    User,
    member_body,
    message_new_body,
    thread_new_body,
    thread_read_body,
)
from .mongo_documents import (
    INDEXES,
    TOKEN_TTL_INDEX,
    Doc,
    event_key,
    first_docs,
    fresh_view,
    message_doc,
    message_of,
    thread_doc,
    token_doc,
    user_doc,
    user_of,
)
from .mongo_log import UpdateLog
from .mongo_views import ThreadViews

logger = logging.getLogger(__name__)

SEQ_ATTEMPTS = 50
HEARTBEAT_ID = "readyz"

P = ParamSpec("P")
R = TypeVar("R")


def _unavailable_on_error(method: Callable[P, R]) -> Callable[P, R]:
    """Turn driver failures into ``StoreUnavailable`` so callers see one retryable error."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except DuplicateKeyError:
            raise  # a unique index refused a write no caller expected: a bug, not an outage
        except PyMongoError as exc:
            logger.warning("mongodb unavailable in %s: %s", method.__name__, exc)
            raise StoreUnavailable() from exc

    return wrapper


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

    @_unavailable_on_error
    def heartbeat(self, now: int) -> None:
        """A write with the store's write concern: a lost majority fails it, a ping would not."""
        self._heartbeat.update_one({"_id": HEARTBEAT_ID}, {"$set": {"beat_at": now}}, upsert=True)

    @_unavailable_on_error
    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # Accounts -------------------------------------------------------------------------
    @_unavailable_on_error
    def add_user(self, user: User, password_hash: str) -> None:
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
    def add_token(self, token_hash: str, user_id: str, created_at: int, expires_at: int) -> None:
        self._tokens.insert_one(token_doc(token_hash, user_id, created_at, expires_at))

    @_unavailable_on_error
    def get_token_user_id(self, token_hash: str, now: int) -> str | None:
        doc = self._tokens.find_one({"_id": token_hash, "expires_at": {"$gt": now}}, {"user_id": 1})
        return doc["user_id"] if doc else None

    @_unavailable_on_error
    def revoke_token(self, token_hash: str) -> None:
        self._tokens.delete_one({"_id": token_hash})

    # Threads and messages -------------------------------------------------------------
    @_unavailable_on_error
    def open_thread(self, thread: NewThread, first: NewMessage) -> Opened:
        retried = self._find_retry(first)
        if retried is not None:
            return self._reopened(thread, retried)
        doc, created = self._insert_thread(thread)
        announced = self._complete_creation(doc)
        sent = self._deliver(replace(first, thread_id=doc["_id"]))
        return Opened(doc["_id"], sent.message, created, announced | sent.cursors)

    @_unavailable_on_error
    def send(self, message: NewMessage) -> Sent:
        self._require_member(message.thread_id, message.user_id)  # a removed member cannot retry
        retried = self._find_retry(message)
        if retried is not None:
            return self._resent(message, retried)
        return self._deliver(message)

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
        members = self._member_ids(thread_id)
        cursors: Cursors = {}
        for user_id in added:
            key = event_key(MEMBER_ADDED, thread_id, user_id, now)
            told = rules.told_of_addition(members, user_id)
            cursors |= self._log.append(told, MEMBER_ADDED, member_body(thread_id, user_id), key, now)
            body = thread_new_body(self._views.one(self._require_member(thread_id, user_id)))
            key = event_key(THREAD_NEW, thread_id, now)
            cursors |= self._log.append(rules.told_of_joining(user_id), THREAD_NEW, body, key, now)
        return MembersChanged(added, cursors)

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
    def _deliver(self, new: NewMessage) -> Sent:
        """Insert under the next free seq and roll forward; a seq race just tries the next one."""
        healed: Cursors = {}
        for attempt in range(1, SEQ_ATTEMPTS + 1):
            seq, cursors = self._next_seq(new.thread_id)
            healed |= cursors
            message = new.stored_as(seq)
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
        cursors = self._log.append(told, MESSAGE_NEW, message_new_body(message), key, message.timestamp)
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

    def _ensure_membership(self, thread_id: str, user_id: str, at: int, last_seq: int, added_by: str) -> bool:
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
