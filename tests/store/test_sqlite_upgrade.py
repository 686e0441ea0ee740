"""A SQLite file made before a column was added gets it at set-up, and keeps working."""

from __future__ import annotations

import sqlite3

from messenger.store.sqlite import SqliteStore

from ..contract.test_store import add_user, now, open_thread

# memberships as files created before ``added_by`` hold it.
OLD_MEMBERSHIPS = """
CREATE TABLE memberships (
    user_id TEXT NOT NULL, thread_id TEXT NOT NULL, joined_at INTEGER NOT NULL,
    last_activity INTEGER NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,
    last_read_seq INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (user_id, thread_id)
) WITHOUT ROWID;
"""


def test_an_old_file_gains_added_by_and_records_departures(tmp_path):
    path = str(tmp_path / "old.db")
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_MEMBERSHIPS)
    store = SqliteStore(path)
    store.setup()
    store.setup()  # again, as every start does
    try:
        a, b, c = add_user(store), add_user(store), add_user(store)
        thread_id = open_thread(store, a, b, c).thread_id
        left_at = now()
        store.remove_member(thread_id, c.user_id, left_at, c.user_id)
        assert store.departures_involving(thread_id, a.user_id, [c.user_id]) == {c.user_id: left_at}
    finally:
        store.close()


# messages and updates as files created before edits, deletions, replies and mentions hold them.
OLD_MESSAGES_AND_UPDATES = """
CREATE TABLE messages (
    thread_id TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL, contents TEXT NOT NULL, timestamp INTEGER NOT NULL,
    client_timestamp INTEGER NOT NULL, client_msg_id TEXT, PRIMARY KEY (thread_id, seq)
) WITHOUT ROWID;
CREATE TABLE updates (
    user_id TEXT NOT NULL, cursor INTEGER NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL,
    created_at INTEGER NOT NULL, PRIMARY KEY (user_id, cursor)
) WITHOUT ROWID;
"""


def test_an_old_file_gains_what_message_changes_need_and_old_messages_read_as_unchanged(tmp_path):
    path = str(tmp_path / "old.db")
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_MESSAGES_AND_UPDATES)
    store = SqliteStore(path)
    store.setup()
    try:
        a, b = add_user(store), add_user(store)
        thread_id = open_thread(store, a, b, contents="before the upgrade").thread_id
        with sqlite3.connect(path) as conn:  # as an older release stored it: no new columns set
            conn.execute("UPDATE messages SET edit_count = 0, version = 1, deleted = 0, mentions = NULL")
        message = store.require_message(thread_id, 1, b.user_id)
        assert (message.version, message.edit_count, message.deleted, message.reply_to) == (1, 0, False, None)
        assert (message.mentions, message.reactions, message.attachments) == ([], [], [])
        store.delete_message(thread_id, 1, a.user_id, now())
        assert store.require_message(thread_id, 1, b.user_id).contents == ""
    finally:
        store.close()


def test_updates_written_before_text_refs_are_erased_too_once_set_up_again(tmp_path):
    path = str(tmp_path / "refs.db")
    store = SqliteStore(path)
    store.setup()
    a, b = add_user(store), add_user(store)
    thread_id = open_thread(store, a, b, contents="said long ago").thread_id
    store.close()
    with sqlite3.connect(path) as conn:  # as a release that kept no refs left them
        conn.execute("UPDATE updates SET ref_thread = NULL, ref_seq = NULL, ref_quoted = NULL")
        conn.execute("PRAGMA user_version = 0")
    store = SqliteStore(path)
    store.setup()
    try:
        store.delete_message(thread_id, 1, a.user_id, now())
        bodies = [update.body for update in store.read_updates(b.user_id, 0, 100).updates]
        assert "said long ago" not in str(bodies)
    finally:
        store.close()


# tokens as files created before sessions (devices, last use, address) hold them.
OLD_TOKENS = """
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX tokens_by_user ON tokens (user_id);
"""


def test_an_old_files_tokens_become_sessions_of_an_unknown_device_and_keep_working(tmp_path):
    path = str(tmp_path / "old.db")
    at = now()
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_TOKENS)
        conn.execute("INSERT INTO tokens VALUES ('old-hash', 'u1', ?, ?)", (at, at + 86_400_000))
    store = SqliteStore(path)
    store.setup()
    store.setup()  # again, as every start does
    try:
        session = store.get_session("old-hash", at + 1)
        assert (session.user_id, session.device, session.last_seen_at, session.address) == (
            "u1",
            "unknown",
            at,
            None,
        )
        assert store.touch_session("old-hash", at + 60_000, "203.0.113.0/24", at + 2 * 86_400_000)
        assert store.list_sessions("u1", at + 86_400_000).pop().address == "203.0.113.0/24"
    finally:
        store.close()
