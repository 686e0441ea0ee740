"""MongoDB only: the write orders of attachments (``messenger/store/mongo.py``) under crashes.

The store runs on mongomock with its ``attachments``, ``messages`` and ``updates``
collections wrapped so the N-th write raises (a process dying there), for every N the
operation reaches; then a retry, or the collector, must finish the job: no attachment kept
alive for ever by a send that never stored its message, none freed twice, and no deleted
message's attachments left in any stored copy.
"""

from __future__ import annotations

import functools
import json
from dataclasses import replace

import mongomock
import pytest

from messenger.errors import UnknownAttachments
from messenger.model import DIRECT, NewThread, new_blob_id
from messenger.store.mongo import MongoStore
from tests.contract.test_attachments import FAR, delete, log_after, orphan_ids, send_with, upload
from tests.contract.test_store import add_user, new_message, now, open_thread
from tests.store import crashes
from tests.store.crashes import crash_at


def crashing_store():
    return crashes.crashing_store("messenger_attachments_crash", "_attachments", "_messages", "_log._updates")


def pair(store):
    alice, bob = add_user(store), add_user(store)
    return alice, bob, open_thread(store, alice, bob, contents="first").thread_id


def carrying(store, user, thread_id: str) -> list:
    return [m for m in store.list_messages(thread_id, user.user_id, 0, 50) if m.attachments]


def test_a_send_crashed_after_its_refs_leaves_them_collectable_and_a_retry_works():
    for writes in range(0, 50):
        store, plan = crashing_store()
        alice, bob, thread_id = pair(store)
        photo, pdf = upload(store, alice, image=True), upload(store, alice)
        before_send = pdf.created_at + 1  # both uploads are older, the send's refs are not
        send = functools.partial(send_with, store, alice, thread_id, photo, pdf, client_msg_id="c")
        crashed = crash_at(plan, writes, send)
        if not crashed:
            assert writes > 2  # the refs, the insert and the fan-out were each crashed after
            return
        if not carrying(store, alice, thread_id):  # died before the message was stored
            referred = {doc["_id"] for doc in store._attachments.find({"refs.0": {"$exists": True}})}
            unreferenced = {photo.attachment_id, pdf.attachment_id} - referred
            assert set(orphan_ids(store, before_send)) == unreferenced  # a send in flight keeps them
            assert set(orphan_ids(store)) == {photo.attachment_id, pdf.attachment_id}  # dead refs later
        retried = send_with(store, alice, thread_id, photo, pdf, client_msg_id="c")
        assert retried.message.attachments == [photo.public(), pdf.public()]
        assert [m.message_id for m in carrying(store, bob, thread_id)] == [retried.message.message_id]
        assert store.can_read_attachment(photo.attachment_id, bob.user_id)
        assert orphan_ids(store) == []  # the stored message keeps them, dead refs or not
        assert store.forget_attachment(photo.attachment_id, FAR) is None
        freed = delete(store, alice, thread_id, retried.message.seq).freed_attachments
        collected = [store.forget_attachment(a, FAR) for a in orphan_ids(store)]  # dead refs' turn
        assert sorted(a.attachment_id for a in freed + collected) == sorted(
            [photo.attachment_id, pdf.attachment_id]
        )
        assert store.get_attachment(photo.attachment_id) is None
    raise AssertionError("the send never completed")


def test_a_deletion_crashed_anywhere_is_finished_by_its_retry_which_frees_them():
    for writes in range(0, 100):
        store, plan = crashing_store()
        alice, bob, thread_id = pair(store)
        photo = upload(store, alice, image=True)
        seq = send_with(store, alice, thread_id, photo, contents="secret words").message.seq
        crashed = crash_at(plan, writes, delete, store, alice, thread_id, seq)
        if not crashed:
            assert writes > 3  # the erasure, the pull and the forgetting were each crashed after
            return
        still_there = store.get_attachment(photo.attachment_id) is not None
        retried = delete(store, alice, thread_id, seq)
        assert retried.message.deleted and retried.message.attachments == []
        assert retried.freed_attachments == ([photo] if still_there else [])
        assert store.get_attachment(photo.attachment_id) is None
        assert delete(store, alice, thread_id, seq).freed_attachments == []
        for user in (alice, bob):
            text = json.dumps([u.body for u in log_after(store, user)])
            assert photo.attachment_id not in text and "secret" not in text
    raise AssertionError("the deletion never completed")


def test_without_a_retry_the_collector_frees_what_a_crashed_deletion_left():
    for writes in range(0, 100):
        store, plan = crashing_store()
        alice, bob, thread_id = pair(store)
        photo = upload(store, alice, image=True)
        seq = send_with(store, alice, thread_id, photo).message.seq
        if not crash_at(plan, writes, delete, store, alice, thread_id, seq):
            return
        deleted = store.require_message(thread_id, seq, bob.user_id).deleted
        still_there = store.get_attachment(photo.attachment_id) is not None
        assert orphan_ids(store) == ([photo.attachment_id] if deleted and still_there else [])
        forgotten = store.forget_attachment(photo.attachment_id, FAR)
        assert forgotten == (photo if deleted and still_there else None)
        assert store.can_read_attachment(photo.attachment_id, bob.user_id) == (not deleted)
    raise AssertionError("the deletion never completed")


class ForgottenAfterRead:
    """The attachments collection, with the collector forgetting ``victim`` right after a send
    read it: the race a send's $addToSet filtered on the document must lose cleanly."""

    def __init__(self, collection, victim: str):
        self._collection = collection
        self._victim = victim

    def __getattr__(self, name: str):
        return getattr(self._collection, name)

    def find(self, *args, **kwargs):
        found = list(self._collection.find(*args, **kwargs))
        self._collection.delete_one({"_id": self._victim})
        return iter(found)


def test_a_send_that_loses_the_race_with_the_collector_is_refused_and_refers_to_nothing():
    store = MongoStore(mongomock.MongoClient(), "messenger_attachments_race")
    store.setup()
    alice, bob, thread_id = pair(store)
    kept, victim = upload(store, alice), upload(store, alice)
    store._attachments = ForgottenAfterRead(store._attachments, victim.attachment_id)
    with pytest.raises(UnknownAttachments) as refused:
        send_with(store, alice, thread_id, kept, victim)
    assert refused.value.details == {"attachment_ids": [victim.attachment_id]}
    store._attachments = store._attachments._collection
    assert carrying(store, bob, thread_id) == []
    assert store._attachments.find_one({"_id": kept.attachment_id})["refs"] == []
    assert orphan_ids(store) == [kept.attachment_id]


class DirectThreadNotYetThere:
    """The threads collection, hiding 1:1 threads from the first lookup by key: as if a
    concurrent opening of the same 1:1 thread inserted it just after this one looked."""

    def __init__(self, collection):
        self._collection = collection
        self._hidden = True

    def __getattr__(self, name: str):
        return getattr(self._collection, name)

    def find_one(self, query, *args, **kwargs):
        if self._hidden and "direct_key" in query:
            self._hidden = False
            return None
        return self._collection.find_one(query, *args, **kwargs)


def test_an_opening_that_loses_the_race_for_its_1to1_thread_points_its_refs_at_the_winner():
    store = MongoStore(mongomock.MongoClient(), "messenger_attachments_opening")
    store.setup()
    alice, bob, thread_id = pair(store)
    photo = upload(store, alice, image=True)
    store._threads = DirectThreadNotYetThere(store._threads)
    thread = NewThread(new_blob_id(), DIRECT, None, alice.user_id, now(), [alice.user_id, bob.user_id])
    first = replace(new_message(alice, thread.thread_id, "x"), attachment_ids=[photo.attachment_id])
    opened = store.open_thread(thread, first)
    assert (opened.thread_id, opened.created) == (thread_id, False)
    [ref] = store._attachments.find_one({"_id": photo.attachment_id})["refs"]
    assert (ref["message_id"], ref["thread_id"]) == (opened.message.message_id, thread_id)
    assert store.can_read_attachment(photo.attachment_id, bob.user_id)
