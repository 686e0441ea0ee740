"""A SQLite file made before profiles gains users.display_name at set-up; its users read as
having none and can set one."""

from __future__ import annotations

import sqlite3

from messenger.model import ProfileEdit
from messenger.store.sqlite import SqliteStore

from ..contract.test_store import now, open_thread

# users as files created before display names hold it, with one user already in it.
OLD_USERS = """
CREATE TABLE users (
    user_id TEXT PRIMARY KEY, email TEXT NOT NULL, email_key TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL, username_key TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO users VALUES ('old', 'old@example.com', 'old@example.com', 'Oldie', 'oldie', 'h', 1);
INSERT INTO users VALUES ('peer', 'peer@example.com', 'peer@example.com', 'peer', 'peer', 'h', 1);
"""


def test_an_old_file_gains_display_name_and_its_users_read_as_having_none(tmp_path):
    path = str(tmp_path / "old.db")
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_USERS)
    store = SqliteStore(path)
    store.setup()
    store.setup()  # again, as every start does
    try:
        old, peer = store.get_users(["old"])[0], store.get_users(["peer"])[0]
        assert old.display_name is None and old.username == "Oldie"
        thread_id = open_thread(store, old, peer).thread_id
        assert [m.display_name for m in store.require_thread(thread_id, "peer").members] == [None, None]

        changed = store.update_profile(ProfileEdit("old", {"display_name": "Old Timer"}, now()))

        assert changed.changed
        assert store.find_login("oldie")[0].display_name == "Old Timer"
    finally:
        store.close()
