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
