"""Every statement the SQLite store runs on a request's path finds its rows through an index.

The statements are not copied here: they are traced while the store serves real operations,
then each is put to ``EXPLAIN QUERY PLAN``. A new query that scans a table fails this test.
"""

from __future__ import annotations

import sqlite3

from messenger.model import PASSWORD_RESET, OneTimeToken, OutgoingMail, ProfileEdit, Session
from messenger.store.sqlite import SqliteStore

from ..contract.test_attachments import send_with, upload
from ..contract.test_message_changes import edit, react, reply, unreact
from ..contract.test_store import add_user, now, open_thread, send

PLANNED = ("SELECT", "UPDATE", "DELETE", "INSERT")


def traced_store(path: str) -> tuple[SqliteStore, list[str]]:
    """A store whose connections report every statement they run, with its values bound."""
    store = SqliteStore(path)
    statements: list[str] = []
    connect = store._connect

    def connect_traced() -> sqlite3.Connection:
        conn = connect()
        conn.set_trace_callback(statements.append)
        return conn

    store._connect = connect_traced
    store.setup()
    return store, statements


def serve_every_request_path(store: SqliteStore) -> None:
    alice, bob, carol = add_user(store, "alice"), add_user(store, "bob"), add_user(store, "carol")
    store.add_session(Session("token-hash", alice.user_id, "Pixel 8", now(), now(), now() + 60_000))
    store.add_session(Session("other-hash", alice.user_id, "Firefox on Linux", now(), now(), now() + 60_000))
    store.get_session("token-hash", now())
    store.touch_session("token-hash", now() + 60_000, "203.0.113.0/24", now() + 120_000)
    store.list_sessions(alice.user_id, now())
    store.get_password_hash(alice.user_id)
    store.set_password_hash(alice.user_id, "another-hash")
    store.find_login("alice")
    store.search_users("bo", 20)
    store.get_users([alice.user_id, bob.user_id])
    direct = open_thread(store, alice, bob, client_msg_id="open-1").thread_id
    open_thread(store, bob, alice)  # finds the 1:1 thread by its key
    group = open_thread(store, alice, bob, title="group").thread_id
    send(store, alice, direct, "hello", client_msg_id="send-1")
    send(store, alice, direct, "hello", client_msg_id="send-1")  # a retry
    store.read_updates(bob.user_id, 0, 500)
    store.current_cursor(bob.user_id)
    store.list_messages(direct, bob.user_id, 0, 50)
    store.list_messages_before(direct, bob.user_id, 2, 50)
    store.list_threads(bob.user_id, 0, 20)
    store.require_thread(direct, bob.user_id)
    store.mark_read(direct, bob.user_id, 2, now())
    store.add_members(group, [carol.user_id], now(), alice.user_id)
    store.remove_member(group, carol.user_id, now(), alice.user_id)
    store.departures_involving(group, alice.user_id, [carol.user_id])
    seq = reply(store, bob, direct, 1, "@alice yes", mentions=[alice.user_id]).message.seq
    edit(store, bob, direct, seq, "@alice yes!", [alice.user_id])
    react(store, alice, direct, seq)
    unreact(store, alice, direct, seq)
    store.require_message(direct, seq, alice.user_id)
    store.delete_message(direct, 1, alice.user_id, now())
    store.update_profile(ProfileEdit(bob.user_id, {"username": "robert", "display_name": "Bob"}, now()))
    store.update_profile(ProfileEdit(bob.user_id, {"username": "robert"}, now()))  # nothing to change
    serve_blocks_and_invitations(store, alice, bob, carol, direct, group)
    serve_attachments(store, alice, bob, direct)
    store.revoke_sessions(alice.user_id, "token-hash")
    serve_leaving(store, alice, bob, direct)
    store.revoke_token("token-hash")
    serve_mail_paths(store, alice)


def serve_mail_paths(store: SqliteStore, alice) -> None:
    """The mail and one-time token section: the request paths and the sender's."""
    token = OneTimeToken("reset-hash", PASSWORD_RESET, alice.user_id, alice.email, now(), now() + 60_000)
    store.get_user_by_email(alice.email)
    store.add_one_time_token(token, OutgoingMail("mail-1", alice.user_id, alice.email, "s", "t", now()), 5)
    store.get_one_time_token("reset-hash", PASSWORD_RESET, now())
    store.use_one_time_token("reset-hash", PASSWORD_RESET, now())
    store.get_password_hash(alice.user_id)
    store.set_password_hash(alice.user_id, "new-hash")
    store.change_email(alice.user_id, "alice.new@example.com")
    store.set_email_verified(alice.user_id, "alice.new@example.com")
    claim = store.claim_mail(now() + 1, 60_000, 10)[0]
    store.mark_mail_failed(claim.mail.mail_id, claim.claim_id, now(), now())
    claim = store.claim_mail(now() + 1, 60_000, 10)[0]
    store.mark_mail_sent(claim.mail.mail_id, claim.claim_id, now())
    store.prune_mail(now(), 0)


def serve_blocks_and_invitations(store: SqliteStore, alice, bob, carol, direct: str, group: str) -> None:
    store.add_block(alice.user_id, bob.user_id, now())
    store.list_blocks(alice.user_id)
    store.blockers_among(bob.user_id, [alice.user_id, carol.user_id])
    store.blocked_in_direct(direct, bob.user_id)
    store.contacts_among(alice.user_id, [bob.user_id, carol.user_id])
    store.remove_block(alice.user_id, bob.user_id)
    store.invite(group, [carol.user_id], alice.user_id, now(), 60_000)
    store.get_invitation(group, carol.user_id)
    store.pending_invitations(carol.user_id, 100)
    store.decline_invitation(group, carol.user_id, now())
    store.invite(group, [carol.user_id], alice.user_id, now() + 60_000, 60_000)
    store.accept_invitation(group, carol.user_id, now(), 100)


def serve_attachments(store: SqliteStore, alice, bob, direct: str) -> None:
    """Uploads' metadata, sends carrying them, reads, deletions and the collector's paths."""
    photo, pdf = upload(store, alice, image=True), upload(store, alice)
    store.attachment_bytes_used(alice.user_id)
    store.get_attachment(photo.attachment_id)
    seq = send_with(store, alice, direct, photo, pdf).message.seq
    send_with(store, alice, direct, pdf)
    store.can_read_attachment(photo.attachment_id, alice.user_id)
    store.can_read_attachment(photo.attachment_id, bob.user_id)
    store.list_messages(direct, bob.user_id, 0, 50)
    store.delete_message(direct, seq, alice.user_id, now())
    orphan = upload(store, bob)
    store.orphan_attachments(now(), 100)
    store.orphan_attachments(now(), 100, uploader_id=alice.user_id)  # a deleted account's unsent
    store.forget_attachment(orphan.attachment_id, now())
    store.blobs_in_use([photo.blob_id, photo.thumbnail_blob_id, orphan.blob_id])


def serve_leaving(store: SqliteStore, alice, bob, direct: str) -> None:
    """Export, deletion and the operator's commands (tests/contract/test_leaving.py)."""
    store.own_messages(alice.user_id, None, 500)
    store.own_messages(alice.user_id, (direct, 1), 500)
    store.list_accounts(None, 500)
    store.list_accounts(alice.user_id, 500)
    store.set_disabled(bob.user_id, True, now())
    store.set_disabled(bob.user_id, False, now())
    store.mark_deleted(alice.user_id, now(), now() + 60_000)
    for message in store.own_messages(alice.user_id, None, 500):
        store.delete_own_message(message.thread_id, message.seq, alice.user_id, now())
    for thread_id in store.member_thread_ids(alice.user_id):
        store.remove_member(thread_id, alice.user_id, now(), alice.user_id)
    store.forget_user(alice.user_id)
    store.mark_deleted(alice.user_id, now(), now() + 60_000)  # a retry


def test_no_statement_on_a_request_path_scans_a_table(tmp_path):
    store, statements = traced_store(str(tmp_path / "plans.db"))
    statements.clear()  # the schema's own statements are not on a request path
    serve_every_request_path(store)
    store.close()
    planned = {sql for sql in statements if sql.split(None, 1)[0].upper() in PLANNED}
    assert len(planned) > 20  # the tracing saw the operations above
    with sqlite3.connect(tmp_path / "plans.db") as conn:
        plans = {sql: [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")] for sql in planned}
    scans = {sql: plan for sql, plan in plans.items() if any(step.startswith("SCAN") for step in plan)}
    assert scans == {}
