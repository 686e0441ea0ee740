"""The thread read model on MongoDB: ``ThreadView``s built from the stored documents.

``ThreadViews`` only reads. It takes each thread's last_seq and preview from the messages
themselves, so a view stays right while a send's roll-forward (``MongoStore``, ``mongo.py``)
has not reached every membership yet.
"""

from __future__ import annotations

from pymongo.database import Database

from ..errors import ThreadNotFound
from ..model import Member, ThreadView
from .mongo_documents import PREVIEW_FIELDS, Doc, preview_of, thread_view


class ThreadViews:
    """Views of threads as their members see them; safe to share across threads."""

    def __init__(self, db: Database):
        self._users = db["users"]
        self._threads = db["threads"]
        self._memberships = db["memberships"]
        self._messages = db["messages"]

    def one(self, membership: Doc) -> ThreadView:
        """One member's view; ``ThreadNotFound`` also when the thread document is gone."""
        views = self.many([membership])
        if not views:
            raise ThreadNotFound()
        return views[0]

    def many(self, memberships: list[Doc]) -> list[ThreadView]:
        """Views of the viewers' threads with a fixed number of queries plus two counts per thread
        (unread messages, unread mentions)."""
        if not memberships:
            return []
        thread_ids = [ms["thread_id"] for ms in memberships]
        threads = {doc["_id"]: doc for doc in self._threads.find({"_id": {"$in": thread_ids}})}
        newest = self._newest_messages(memberships)
        members = self.members_of(thread_ids)
        return [
            self._view(ms, threads[ms["thread_id"]], newest.get(ms["thread_id"]), members)
            for ms in memberships
            if ms["thread_id"] in threads
        ]

    def members_of(self, thread_ids: list[str]) -> dict[str, list[Member]]:
        """Members per thread, by join time then case-insensitive username."""
        joined = list(
            self._memberships.find(
                {"thread_id": {"$in": thread_ids}}, {"thread_id": 1, "user_id": 1, "joined_at": 1}
            )
        )
        users = self._usernames([ms["user_id"] for ms in joined])
        joined = [ms for ms in joined if ms["user_id"] in users]  # as a join would: no user, no member
        joined.sort(key=lambda ms: (ms["joined_at"], users[ms["user_id"]]["username_key"]))
        members: dict[str, list[Member]] = {}
        for ms in joined:
            user = users[ms["user_id"]]
            member = Member(ms["user_id"], user["username"], user.get("display_name"), user.get("avatar_id"))
            members.setdefault(ms["thread_id"], []).append(member)
        return members

    def _view(self, ms: Doc, thread: Doc, newest: Doc | None, members: dict[str, list[Member]]) -> ThreadView:
        unread = self._unread(thread["_id"], ms["user_id"], ms["last_read_seq"])
        return thread_view(
            thread,
            members.get(thread["_id"], []),
            last_activity=ms["last_activity"],
            last_seq=max(ms["last_seq"], newest["seq"] if newest else 0),
            last_read_seq=ms["last_read_seq"],
            unread_count=self._messages.count_documents(unread),
            last_message=None if newest is None else preview_of(newest),
            unread_mentions=self._messages.count_documents({**unread, "mentions": ms["user_id"]}),
        )

    @staticmethod
    def _unread(thread_id: str, user_id: str, last_read_seq: int) -> dict:
        """Others' messages past the marker, deleted ones not counted; one's own never count."""
        return {
            "thread_id": thread_id,
            "seq": {"$gt": last_read_seq},
            "user_id": {"$ne": user_id},
            "deleted": {"$ne": True},
        }

    def _newest_messages(self, memberships: list[Doc]) -> dict[str, Doc]:
        """The last message of each thread in one query, including any a crash left un-rolled-forward."""
        ranges = [{"thread_id": ms["thread_id"], "seq": {"$gte": ms["last_seq"]}} for ms in memberships]
        newest: dict[str, Doc] = {}
        for doc in self._messages.find({"$or": ranges}, PREVIEW_FIELDS):
            held = newest.get(doc["thread_id"])
            if held is None or doc["seq"] > held["seq"]:
                newest[doc["thread_id"]] = doc
        return newest

    def _usernames(self, user_ids: list[str]) -> dict[str, Doc]:
        """Name fields of many users in one query, for joining in Python."""
        query = {"_id": {"$in": list(set(user_ids))}}
        return {
            doc["_id"]: doc
            for doc in self._users.find(
                query, {"username": 1, "username_key": 1, "display_name": 1, "avatar_id": 1}
            )
        }
