"""Attachments' metadata in the message store: the same contract for every Store adapter.

An upload's metadata is stored after its bytes; messages refer to attachments their sender
uploaded; what nothing refers to is an orphan, forgotten by the collector or freed when the
last message carrying it is deleted.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from messenger.errors import InvalidAvatar, ThreadNotFound, UnknownAttachments
from messenger.model import (
    DIRECT,
    GROUP,
    MESSAGE_DELETED,
    MESSAGE_EDITED,
    MESSAGE_NEW,
    Attachment,
    MessageEdit,
    NewThread,
    ProfileEdit,
    new_blob_id,
)

from .test_store import add_user, new_message, now, open_thread, send

FAR = 10**15  # a cut-off after every attachment a test makes


def upload(store, user, size: int = 100, image: bool = False, **fields) -> Attachment:
    """Store the metadata of an upload of ``user``'s (its bytes would be in the blob store)."""
    attachment = Attachment(
        attachment_id=new_blob_id(),
        uploader_id=user.user_id,
        filename="photo.jpg" if image else "notes.pdf",
        content_type="image/jpeg" if image else "application/pdf",
        size=size,
        sha256="ab" * 32,
        created_at=now(),
        blob_id=new_blob_id(),
        width=640 if image else None,
        height=480 if image else None,
        thumbnail_blob_id=new_blob_id() if image else None,
        thumbnail_type="image/webp" if image else None,
        **fields,
    )
    store.add_attachment(attachment)
    return attachment


def send_with(store, user, thread_id: str, *attachments, client_msg_id: str | None = None, contents="see"):
    message = new_message(user, thread_id, contents, client_msg_id)
    ids = [a if isinstance(a, str) else a.attachment_id for a in attachments]
    return store.send(replace(message, attachment_ids=ids))


def delete(store, user, thread_id: str, seq: int):
    return store.delete_message(thread_id, seq, user.user_id, now())


def pair(store):
    alice, bob = add_user(store), add_user(store)
    return alice, bob, open_thread(store, alice, bob, contents="first").thread_id


def ids_of(attachments) -> list[str]:
    return [a["attachment_id"] if isinstance(a, dict) else a.attachment_id for a in attachments]


def log_after(store, user, since: int = 0):
    return store.read_updates(user.user_id, since, 500).updates


def orphan_ids(store, created_before: int = FAR) -> list[str]:
    return ids_of(store.orphan_attachments(created_before, 100))


class TestMetadata:
    def test_an_upload_is_found_again_as_stored(self, store):
        alice = add_user(store)
        photo, pdf = upload(store, alice, image=True), upload(store, alice)
        assert store.get_attachment(photo.attachment_id) == photo
        assert store.get_attachment(pdf.attachment_id) == pdf
        assert store.get_attachment(new_blob_id()) is None

    def test_what_a_message_carries_names_no_blob(self, store):
        photo = upload(store, add_user(store), image=True)
        shown = photo.public()
        assert shown == {
            "attachment_id": photo.attachment_id,
            "filename": "photo.jpg",
            "content_type": "image/jpeg",
            "size": 100,
            "sha256": "ab" * 32,
            "width": 640,
            "height": 480,
            "thumbnail": True,
        }
        assert photo.blob_ids == [photo.blob_id, photo.thumbnail_blob_id]

    def test_the_quota_sums_one_uploaders_sizes(self, store):
        alice, bob = add_user(store), add_user(store)
        assert store.attachment_bytes_used(alice.user_id) == 0
        upload(store, alice, size=1000)
        upload(store, alice, size=234, image=True)
        upload(store, bob, size=5)
        assert store.attachment_bytes_used(alice.user_id) == 1234
        assert store.attachment_bytes_used(bob.user_id) == 5

    def test_blobs_in_use_are_those_metadata_names(self, store):
        photo = upload(store, add_user(store), image=True)
        stray = new_blob_id()
        asked = [photo.blob_id, photo.thumbnail_blob_id, stray]
        assert store.blobs_in_use(asked) == {photo.blob_id, photo.thumbnail_blob_id}
        assert store.blobs_in_use([]) == set()


class TestSending:
    def test_a_message_and_its_update_carry_its_attachments_in_order(self, store):
        alice, bob, thread_id = pair(store)
        pdf, photo = upload(store, alice), upload(store, alice, image=True)
        before = store.current_cursor(bob.user_id)
        sent = send_with(store, alice, thread_id, photo, pdf, photo)  # each once, as first named
        assert sent.message.attachments == [photo.public(), pdf.public()]
        assert store.require_message(thread_id, sent.message.seq, bob.user_id) == sent.message
        assert store.list_messages(thread_id, bob.user_id, 0, 1) == [sent.message]
        [update] = log_after(store, bob, before)
        assert (update.type, update.body["message"]["attachments"]) == (MESSAGE_NEW, sent.message.attachments)

    def test_a_message_without_attachments_carries_an_empty_list(self, store):
        alice, bob, thread_id = pair(store)
        sent = send(store, alice, thread_id, "plain")
        assert sent.message.attachments == []
        assert log_after(store, bob)[-1].body["message"]["attachments"] == []

    def test_the_first_message_of_a_new_thread_carries_them(self, store):
        alice, bob = add_user(store), add_user(store)
        photo = upload(store, alice, image=True)
        opened = open_thread(store, alice, bob, contents="look")
        assert opened.message.attachments == []
        carol = add_user(store)
        first = replace(new_message(alice, "", "look"), attachment_ids=[photo.attachment_id])
        thread = NewThread(new_blob_id(), GROUP, "trip", alice.user_id, now(), [alice.user_id, carol.user_id])
        opened = store.open_thread(thread, replace(first, thread_id=thread.thread_id))
        assert opened.message.attachments == [photo.public()]
        assert store.can_read_attachment(photo.attachment_id, carol.user_id)

    def test_opening_an_existing_1to1_thread_sends_them_into_it(self, store):
        alice, bob, thread_id = pair(store)
        photo = upload(store, alice, image=True)
        thread = NewThread(new_blob_id(), DIRECT, None, alice.user_id, now(), [alice.user_id, bob.user_id])
        first = replace(new_message(alice, thread.thread_id, "x"), attachment_ids=[photo.attachment_id])
        opened = store.open_thread(thread, first)
        assert (opened.thread_id, opened.created) == (thread_id, False)
        assert opened.message.attachments == [photo.public()]
        assert store.can_read_attachment(photo.attachment_id, bob.user_id)
        assert delete(store, alice, thread_id, opened.message.seq).freed_attachments == [photo]

    def test_a_retry_returns_the_original_and_refers_once(self, store):
        alice, bob, thread_id = pair(store)
        photo = upload(store, alice, image=True)
        first = send_with(store, alice, thread_id, photo, client_msg_id="c-1")
        again = send_with(store, alice, thread_id, photo, client_msg_id="c-1")
        assert not again.created and again.message == first.message
        freed = delete(store, alice, thread_id, first.message.seq).freed_attachments
        assert freed == [photo]  # one ref, removed by the one message's deletion

    def test_an_unknown_or_someone_elses_attachment_is_refused_with_nothing_written(self, store):
        alice, bob, thread_id = pair(store)
        mine, bobs = upload(store, alice), upload(store, bob)
        unknown = new_blob_id()
        cursors = {user.user_id: store.current_cursor(user.user_id) for user in (alice, bob)}
        last_seq = store.require_thread(thread_id, alice.user_id).last_seq
        for refused, named in [([mine, bobs], [bobs.attachment_id]), ([unknown, mine], [unknown])]:
            with pytest.raises(UnknownAttachments) as error:
                send_with(store, alice, thread_id, *refused, client_msg_id="c-2")
            assert error.value.details == {"attachment_ids": named}
            assert error.value.status == 422 and error.value.code == "unknown_attachments"
        assert store.require_thread(thread_id, alice.user_id).last_seq == last_seq
        assert {user.user_id: store.current_cursor(user.user_id) for user in (alice, bob)} == cursors
        assert set(orphan_ids(store)) == {mine.attachment_id, bobs.attachment_id}
        sent = send_with(store, alice, thread_id, mine, client_msg_id="c-2")  # the id is still free
        assert sent.created and sent.message.seq == last_seq + 1

    def test_a_refused_opening_creates_no_thread(self, store):
        alice, bob = add_user(store), add_user(store)
        bobs = upload(store, bob)
        thread = NewThread(new_blob_id(), GROUP, "t", alice.user_id, now(), [alice.user_id, bob.user_id])
        first = replace(new_message(alice, thread.thread_id, "x"), attachment_ids=[bobs.attachment_id])
        with pytest.raises(UnknownAttachments):
            store.open_thread(thread, first)
        assert store.list_threads(alice.user_id, 0, 10).threads == []
        assert store.current_cursor(bob.user_id) == 0

    def test_a_non_member_is_refused_before_attachments_are_looked_at(self, store):
        alice, _, thread_id = pair(store)
        stranger = add_user(store)
        with pytest.raises(ThreadNotFound):
            send_with(store, stranger, thread_id, upload(store, stranger))

    def test_an_edit_keeps_the_attachments(self, store):
        alice, bob, thread_id = pair(store)
        photo = upload(store, alice, image=True)
        seq = send_with(store, alice, thread_id, photo).message.seq
        before = store.current_cursor(bob.user_id)
        changed = store.edit_message(MessageEdit(thread_id, seq, alice.user_id, "fixed", [], now()))
        assert changed.message.attachments == [photo.public()] and changed.freed_attachments == []
        [update] = log_after(store, bob, before)
        assert (update.type, update.body["message"]["attachments"]) == (MESSAGE_EDITED, [photo.public()])

    def test_own_messages_carry_them_for_the_export(self, store):
        alice, _, thread_id = pair(store)
        photo = upload(store, alice, image=True)
        send_with(store, alice, thread_id, photo)
        exported = [m.attachments for m in store.own_messages(alice.user_id, None, 10)]
        assert exported == [[], [photo.public()]]


class TestReading:
    def test_the_uploader_and_members_where_it_was_sent_may_read_it(self, store):
        alice, bob, thread_id = pair(store)
        carol, stranger = add_user(store), add_user(store)
        group = open_thread(store, alice, bob, carol, contents="hi").thread_id
        photo = upload(store, alice, image=True)
        assert store.can_read_attachment(photo.attachment_id, alice.user_id)
        assert not store.can_read_attachment(photo.attachment_id, bob.user_id)  # not sent yet
        send_with(store, alice, group, photo)
        assert store.can_read_attachment(photo.attachment_id, bob.user_id)
        assert store.can_read_attachment(photo.attachment_id, carol.user_id)
        assert not store.can_read_attachment(photo.attachment_id, stranger.user_id)
        assert not store.can_read_attachment(new_blob_id(), alice.user_id)

    def test_a_removed_member_may_not_read_it_any_more(self, store):
        alice, bob = add_user(store), add_user(store)
        carol = add_user(store)
        group = open_thread(store, alice, bob, carol, contents="hi").thread_id
        photo = upload(store, alice, image=True)
        send_with(store, alice, group, photo)
        store.remove_member(group, carol.user_id, now(), alice.user_id)
        assert not store.can_read_attachment(photo.attachment_id, carol.user_id)
        assert store.can_read_attachment(photo.attachment_id, bob.user_id)

    def test_after_the_deletion_only_the_uploader_of_what_stays_may_read_it(self, store):
        alice, bob, thread_id = pair(store)
        photo = upload(store, alice, image=True)
        seq = send_with(store, alice, thread_id, photo).message.seq
        kept = send_with(store, alice, thread_id, photo).message.seq
        delete(store, alice, thread_id, seq)
        assert store.can_read_attachment(photo.attachment_id, bob.user_id)  # the other message has it
        delete(store, alice, thread_id, kept)
        assert not store.can_read_attachment(photo.attachment_id, bob.user_id)
        assert not store.can_read_attachment(photo.attachment_id, alice.user_id)  # forgotten


class TestOrphans:
    def test_only_unreferenced_attachments_before_the_cut_off_are_orphans(self, store):
        alice, _, thread_id = pair(store)
        old, sent = upload(store, alice), upload(store, alice)
        cut_off = now()
        new = upload(store, alice)
        send_with(store, alice, thread_id, sent)
        assert orphan_ids(store, cut_off) == [old.attachment_id]
        assert orphan_ids(store) == [old.attachment_id, new.attachment_id]  # oldest first
        assert len(store.orphan_attachments(FAR, 1)) == 1
        assert store.orphan_attachments(FAR, 0) == []

    def test_forgetting_an_orphan_returns_it_once(self, store):
        alice = add_user(store)
        photo = upload(store, alice, image=True)
        assert store.forget_attachment(photo.attachment_id, photo.created_at) is None  # too new
        assert store.forget_attachment(photo.attachment_id, FAR) == photo
        assert store.forget_attachment(photo.attachment_id, FAR) is None
        assert store.get_attachment(photo.attachment_id) is None
        assert store.attachment_bytes_used(alice.user_id) == 0
        assert store.blobs_in_use(photo.blob_ids) == set()

    def test_a_referenced_attachment_is_not_forgotten(self, store):
        alice, _, thread_id = pair(store)
        photo = upload(store, alice, image=True)
        send_with(store, alice, thread_id, photo)
        assert store.forget_attachment(photo.attachment_id, FAR) is None
        assert store.get_attachment(photo.attachment_id) == photo

    def test_a_forgotten_attachment_cannot_be_sent(self, store):
        alice, _, thread_id = pair(store)
        photo = upload(store, alice, image=True)
        store.forget_attachment(photo.attachment_id, FAR)
        with pytest.raises(UnknownAttachments):
            send_with(store, alice, thread_id, photo)


class TestDeletion:
    def test_a_deletion_erases_them_everywhere_and_frees_what_nothing_else_holds(self, store):
        alice, bob, thread_id = pair(store)
        photo, pdf = upload(store, alice, image=True), upload(store, alice)
        seq = send_with(store, alice, thread_id, photo, pdf).message.seq
        store.edit_message(MessageEdit(thread_id, seq, alice.user_id, "edited", [], now()))
        deleted = delete(store, alice, thread_id, seq)
        assert deleted.changed and deleted.message.attachments == []
        assert deleted.freed_attachments == [photo, pdf]
        assert store.require_message(thread_id, seq, bob.user_id).attachments == []
        assert store.own_messages(alice.user_id, (thread_id, seq - 1), 10)[0].attachments == []
        for user in (alice, bob):
            text = json.dumps([u.body for u in log_after(store, user)])
            assert photo.attachment_id not in text and "notes.pdf" not in text
            assert log_after(store, user)[-1].type == MESSAGE_DELETED
        assert store.get_attachment(photo.attachment_id) is None
        assert orphan_ids(store) == []
        again = delete(store, alice, thread_id, seq)
        assert not again.changed and again.freed_attachments == []

    def test_an_attachment_in_two_messages_is_freed_once_with_the_last(self, store):
        alice, bob, thread_id = pair(store)
        photo = upload(store, alice, image=True)
        first = send_with(store, alice, thread_id, photo).message.seq
        second = send_with(store, alice, thread_id, photo).message.seq
        assert delete(store, alice, thread_id, first).freed_attachments == []
        assert store.get_attachment(photo.attachment_id) == photo
        assert store.can_read_attachment(photo.attachment_id, bob.user_id)
        assert orphan_ids(store) == []
        assert delete(store, alice, thread_id, second).freed_attachments == [photo]
        assert store.get_attachment(photo.attachment_id) is None

    def test_deleting_an_account_erasing_messages_frees_them(self, store):
        alice, bob, thread_id = pair(store)
        photo = upload(store, alice, image=True)
        seq = send_with(store, alice, thread_id, photo).message.seq
        store.mark_deleted(alice.user_id, now(), now() + FAR)
        deleted = store.delete_own_message(thread_id, seq, alice.user_id, now())
        assert deleted.freed_attachments == [photo]
        assert store.require_message(thread_id, seq, bob.user_id).attachments == []

    def test_a_deletion_of_a_message_without_attachments_frees_nothing(self, store):
        alice, _, thread_id = pair(store)
        orphan = upload(store, alice)
        assert delete(store, alice, thread_id, 1).freed_attachments == []
        assert store.get_attachment(orphan.attachment_id) == orphan


def test_orphans_can_be_listed_for_one_uploader(store):
    alice, bob, _ = pair(store)
    mine, theirs = upload(store, alice), upload(store, bob)
    assert ids_of(store.orphan_attachments(FAR, 10, uploader_id=alice.user_id)) == [mine.attachment_id]
    assert set(orphan_ids(store)) == {mine.attachment_id, theirs.attachment_id}


class TestAvatars:
    @staticmethod
    def set_avatar(store, user, attachment_id):
        return store.update_profile(ProfileEdit(user.user_id, {"avatar_id": attachment_id}, now()))

    def test_an_image_of_ones_own_becomes_the_picture_and_is_no_orphan(self, store):
        alice, bob, _ = pair(store)
        picture = upload(store, alice, image=True)
        changed = self.set_avatar(store, alice, picture.attachment_id)
        assert changed.changed and changed.user.avatar_id == picture.attachment_id
        assert store.get_users([alice.user_id])[0].avatar_id == picture.attachment_id
        assert picture.attachment_id not in orphan_ids(store)
        assert store.forget_attachment(picture.attachment_id, FAR) is None

        self.set_avatar(store, alice, None)
        assert picture.attachment_id in orphan_ids(store)

    def test_a_picture_must_be_an_image_its_user_uploaded(self, store):
        alice, bob, _ = pair(store)
        for attachment in (upload(store, alice), upload(store, bob, image=True)):
            with pytest.raises(InvalidAvatar):
                self.set_avatar(store, alice, attachment.attachment_id)
        assert store.get_users([alice.user_id])[0].avatar_id is None

    def test_members_carry_their_picture(self, store):
        alice, bob, thread_id = pair(store)
        picture = upload(store, alice, image=True)
        self.set_avatar(store, alice, picture.attachment_id)
        members = {m.user_id: m for m in store.require_thread(thread_id, bob.user_id).members}
        assert (members[alice.user_id].avatar_id, members[bob.user_id].avatar_id) == (
            picture.attachment_id,
            None,
        )
