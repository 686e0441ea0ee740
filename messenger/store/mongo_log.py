"""The per-user update log on MongoDB: hands out cursors, serves pages, prunes.

``UpdateLog`` owns the ``updates`` and ``update_logs`` collections. It knows nothing of
threads: ``MongoStore`` (``mongo.py``) says what to append for whom, and when in its write
order; its module docstring tells why these cursors never let a reader pass an update.
"""

from __future__ import annotations

import logging

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from .. import rules
from ..errors import CursorExpired, StoreUnavailable
from ..model import MESSAGE_EDITED, MESSAGE_NEW, THREAD_NEW, Cursors, UpdatePage
from .mongo_documents import UPDATE_FIELDS, first_docs, text_ref_fields, update_doc, update_of

# The adapter's log lines keep the one logger name they had before the log was split out.
logger = logging.getLogger("messenger.store.mongo")

CURSOR_ATTEMPTS = 50
ERASE_ATTEMPTS = 50
# Update types whose bodies may hold message text (``rules.text_refs``).
TEXT_TYPES = (MESSAGE_NEW, MESSAGE_EDITED, THREAD_NEW)
TEXT_REFS_MIGRATION = "update_text_refs"


class UpdateLog:
    """Every user's log in one collection, plus each user's floor; safe to share across threads."""

    def __init__(self, db: Database):
        self._updates = db["updates"]
        self._logs = db["update_logs"]
        self._migrations = db["migrations"]

    def append(self, user_ids: list[str], kind: str, body: dict, key: str, now: int) -> Cursors:
        """Append one update to each user's log; the cursors returned are those of new appends only."""
        cursors: Cursors = {}
        for user_id in user_ids:
            cursor = self._append_one(user_id, kind, body, key, now)
            if cursor is not None:
                cursors[user_id] = cursor
        return cursors

    def current_cursor(self, user_id: str) -> int:
        """The newest cursor handed out, even when pruning has deleted the update; 0 before any."""
        return rules.newest_cursor(*self._state(user_id))

    def read(self, user_id: str, since: int, limit: int) -> UpdatePage:
        """Up to ``limit`` updates after ``since``; ``CursorExpired`` if pruning passed ``since``."""
        found = self._updates.find({"user_id": user_id, "cursor": {"$gt": since}}, UPDATE_FIELDS)
        docs = first_docs(found.sort("cursor", ASCENDING), limit + 1)
        # The floor is read after the page: pruning raises it before deleting, so a floor still at
        # or below ``since`` proves the page was read before anything after ``since`` was deleted.
        newest, floor = self._state(user_id)
        if rules.is_cursor_expired(since, newest, floor):
            raise CursorExpired()
        updates = [update_of(doc) for doc in docs[:limit]]
        return UpdatePage(updates, updates[-1].cursor if updates else since, more=len(docs) > limit)

    def prune(self, now: int, max_age_ms: int, max_per_user: int) -> int:
        """Drop updates older than ``max_age_ms`` or beyond the newest ``max_per_user`` of a user."""
        floors = self._prune_floors(now - max_age_ms, max_per_user)
        deleted = sum(self._prune_log(user_id, upto) for user_id, upto in floors.items())
        logger.info("pruned %d updates of %d users", deleted, len(floors))
        return deleted

    def erase_text(self, thread_id: str, seq: int) -> int:
        """Rewrite every stored body holding text of message ``seq`` (``rules.erase_from_body``),
        found by its text refs; idempotent. Each rewrite is a compare-and-set on the body read,
        so two erasures of one body (a reply and the message it quotes) never undo each other.
        Returns how many bodies this call rewrote."""
        found = self._updates.find(
            {
                "$or": [
                    {"ref_thread": thread_id, "ref_seq": seq},
                    {"ref_thread": thread_id, "ref_quoted": seq},
                ]
            },
            {"_id": 1},
        )
        return sum(self._erase_one(doc["_id"], thread_id, seq) for doc in found)

    def backfill_text_refs(self) -> None:
        """Once per database: give updates stored before text refs existed their refs, so a
        deletion finds the message.new and thread.new bodies written by older releases."""
        if self._migrations.find_one({"_id": TEXT_REFS_MIGRATION}) is not None:
            return
        lacking = self._updates.find({"type": {"$in": list(TEXT_TYPES)}, "ref_thread": {"$exists": False}})
        for doc in lacking:
            refs = text_ref_fields(doc["type"], doc["body"])
            if refs:
                self._updates.update_one({"_id": doc["_id"]}, {"$set": refs})
        self._migrations.update_one({"_id": TEXT_REFS_MIGRATION}, {"$set": {"done": True}}, upsert=True)

    def _erase_one(self, update_id: object, thread_id: str, seq: int) -> int:
        for _ in range(ERASE_ATTEMPTS):
            doc = self._updates.find_one({"_id": update_id}, {"type": 1, "body": 1})
            if doc is None:
                return 0  # pruned meanwhile
            erased = rules.erase_from_body(doc["type"], doc["body"], thread_id, seq)
            if erased is None or erased == doc["body"]:
                return 0
            result = self._updates.update_one(
                {"_id": update_id, "body": doc["body"]}, {"$set": {"body": erased}}
            )
            if result.matched_count:
                return 1
        logger.warning("could not erase message %s:%d from update %s", thread_id, seq, update_id)
        raise StoreUnavailable()

    def _append_one(self, user_id: str, kind: str, body: dict, key: str, now: int) -> int | None:
        """Take the next cursor above everything visible; None when a roll-forward finds the key there."""
        for attempt in range(1, CURSOR_ATTEMPTS + 1):
            cursor = rules.newest_cursor(*self._state(user_id)) + 1
            try:
                self._updates.insert_one(update_doc(user_id, cursor, kind, body, key, now))
                return cursor
            except DuplicateKeyError:
                if self._updates.find_one({"user_id": user_id, "key": key}, {"_id": 1}) is not None:
                    return None
                logger.debug("cursor %d of user %s was taken (attempt %d)", cursor, user_id, attempt)
        logger.warning("no free cursor for user %s after %d attempts", user_id, CURSOR_ATTEMPTS)
        raise StoreUnavailable()

    def _state(self, user_id: str) -> tuple[int, int]:
        """(newest cursor present, floor), newest read first so a prune in between shows in the floor."""
        newest = self._updates.find_one({"user_id": user_id}, {"cursor": 1}, sort=[("cursor", DESCENDING)])
        log = self._logs.find_one({"_id": user_id}, {"floor": 1})
        return (newest["cursor"] if newest else 0), (log["floor"] if log else 0)

    def _prune_floors(self, older_than: int, max_per_user: int) -> dict[str, int]:
        """Per user with something to drop, the cursor up to which the retention policy drops it."""
        too_old = self._updates.aggregate(
            [
                {"$match": {"created_at": {"$lt": older_than}}},
                {"$group": {"_id": "$user_id", "upto": {"$max": "$cursor"}}},
            ]
        )
        too_many = self._updates.aggregate(
            [
                {"$group": {"_id": "$user_id", "newest": {"$max": "$cursor"}, "kept": {"$sum": 1}}},
                {"$match": {"kept": {"$gt": max_per_user}}},
                {"$project": {"upto": {"$subtract": ["$newest", max_per_user]}}},
            ]
        )
        return rules.merge_floors((doc["_id"], doc["upto"]) for doc in [*too_old, *too_many])

    def _prune_log(self, user_id: str, upto: int) -> int:
        """Raise the floor, then delete up to it: an append reading the floor never reuses a cursor."""
        self._logs.update_one({"_id": user_id}, {"$max": {"floor": upto}}, upsert=True)
        return self._updates.delete_many({"user_id": user_id, "cursor": {"$lte": upto}}).deleted_count
