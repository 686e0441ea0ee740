"""Fill a SQLite file before the server starts: users with tokens, and one very deep thread.

Signing up through the API would hash every password with scrypt (~100 ms each), so 5,000
idle users would take minutes; the store port writes the same rows in seconds. The deep
thread's million messages go in with one ``executemany`` on plain sqlite3 (the brief allows
it), keeping the invariants the service relies on: seqs 1..N with no gap, ``threads.last_seq``
and every ``memberships.last_seq`` equal to N.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from messenger.model import DIRECT, NewMessage, NewThread, Session, User
from messenger.store.sqlite import SqliteStore

TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000
SEEDED_PASSWORD_HASH = "!bench-seeded-no-password"  # no password matches: seeded users only use tokens
DEEP_BATCH = 50_000


@dataclass(frozen=True)
class SeededUser:
    """A user the generator can act as: its id and a live bearer token."""

    user_id: str
    username: str
    token: str


@dataclass(frozen=True)
class DeepThread:
    """The thread with ``depth`` messages: ``writer`` sent them all, ``reader`` read none."""

    thread_id: str
    depth: int
    writer: SeededUser
    reader: SeededUser


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def open_store(path: Path) -> SqliteStore:
    """The project's own adapter creates the schema, so the file matches what the server expects."""
    store = SqliteStore(str(path))
    store.setup()
    return store


def add_users(path: Path, count: int, prefix: str) -> list[SeededUser]:
    """Create ``count`` users with one token each, through the store port (no scrypt)."""
    store = open_store(path)
    users = []
    try:
        now = now_ms()
        for index in range(count):
            username = f"{prefix}{index:05d}"
            user = User(uuid.uuid4().hex, f"{username}@bench.invalid", username, now)
            store.add_user(user, SEEDED_PASSWORD_HASH)
            token = secrets.token_urlsafe(32)
            token_hash = hashlib.sha256(token.encode()).hexdigest()
            store.add_session(Session(token_hash, user.user_id, "bench", now, now, now + TOKEN_TTL_MS))
            users.append(SeededUser(user.user_id, username, token))
    finally:
        store.close()
    return users


def add_deep_thread(path: Path, depth: int) -> DeepThread:
    """A 1:1 thread whose writer sent ``depth`` messages and whose reader has read none of them."""
    writer, reader = add_users(path, 2, "deep")
    store = open_store(path)
    now = now_ms()
    thread = NewThread(uuid.uuid4().hex, DIRECT, None, writer.user_id, now, [writer.user_id, reader.user_id])
    first = NewMessage(uuid.uuid4().hex, thread.thread_id, writer.user_id, "message 1", now, now)
    try:
        store.open_thread(thread, first)  # the thread, memberships and update log, as the service makes them
    finally:
        store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")  # a crash while seeding only costs a re-seed
        conn.execute("BEGIN IMMEDIATE")
        for start in range(2, depth + 1, DEEP_BATCH):
            seqs = range(start, min(start + DEEP_BATCH, depth + 1))
            conn.executemany(
                "INSERT INTO messages (message_id, thread_id, seq, user_id, contents, timestamp,"
                " client_timestamp, client_msg_id) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    (uuid.uuid4().hex, thread.thread_id, seq, writer.user_id, f"message {seq}", now, now)
                    for seq in seqs
                ),
            )
        conn.execute("UPDATE threads SET last_seq = ? WHERE thread_id = ?", (depth, thread.thread_id))
        conn.execute(
            "UPDATE memberships SET last_seq = ?1, last_activity = ?2,"
            " last_read_seq = CASE WHEN user_id = ?3 THEN ?1 ELSE 0 END WHERE thread_id = ?4",
            (depth, now, writer.user_id, thread.thread_id),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the server starts with everything in the main file
    finally:
        conn.close()
    return DeepThread(thread.thread_id, depth, writer, reader)


def copy_database(source: Path, target: Path) -> None:
    """Each run gets its own copy, so one run's writes never change what the next one measures."""
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
