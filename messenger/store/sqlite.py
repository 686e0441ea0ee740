"""SQLite adapter behind the ``Store`` port: the embedded, zero-setup default.

Every read-then-write runs in ``BEGIN IMMEDIATE`` (a plain BEGIN upgrades its lock at the
first write and fails with "database is locked" when two writers race), and a send is one
transaction: seq allocation, the message and every membership update commit together.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ..errors import ClientMsgIdConflict, EmailTaken, StoreUnavailable, ThreadNotFound, UsernameTaken
from ..model import GROUP, Member, Message, NewMessage, NewThread, Opened, Preview, Sent, ThreadView, User

logger = logging.getLogger(__name__)

POOL_SIZE = 4

# Persisted shape: these tables are a contract with data already on disk. Add columns with
# defaults and new indexes freely; never rename, retype or repurpose an existing column.
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id       TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,     -- lower(email)
    username      TEXT NOT NULL,            -- as typed at sign-up
    username_key  TEXT NOT NULL UNIQUE,     -- lower(username)
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,            -- sha256 of the token; the token itself is never stored
    user_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_by_user ON tokens (user_id);
CREATE TABLE IF NOT EXISTS threads (
    thread_id  TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,               -- 'direct' or 'group'
    title      TEXT,
    direct_key TEXT UNIQUE,                 -- sorted member ids of a 1:1 thread, else NULL
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL DEFAULT 0   -- the seq of the newest message
);
CREATE TABLE IF NOT EXISTS memberships (
    user_id       TEXT NOT NULL,
    thread_id     TEXT NOT NULL,
    joined_at     INTEGER NOT NULL,
    last_activity INTEGER NOT NULL,
    last_seq      INTEGER NOT NULL DEFAULT 0,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, thread_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memberships_by_activity
    ON memberships (user_id, last_activity DESC, thread_id DESC);
CREATE INDEX IF NOT EXISTS memberships_by_thread ON memberships (thread_id, user_id);
CREATE TABLE IF NOT EXISTS messages (
    thread_id        TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    message_id       TEXT NOT NULL UNIQUE,
    user_id          TEXT NOT NULL,
    contents         TEXT NOT NULL,
    timestamp        INTEGER NOT NULL,      -- server time, ms since the epoch
    client_timestamp INTEGER NOT NULL,      -- the sender's clock, as sent
    client_msg_id    TEXT,
    PRIMARY KEY (thread_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_msg_id
    ON messages (user_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
"""

MESSAGE_COLUMNS = "message_id, thread_id, seq, user_id, contents, timestamp, client_timestamp, client_msg_id"


class SqliteStore:
    """Store on one SQLite file in WAL mode, shared safely by threads, greenlets and processes."""

    def __init__(self, path: str, synchronous: str = "NORMAL", busy_timeout_ms: int = 5000):
        self.path = path
        self._synchronous = synchronous
        self._busy_timeout_ms = busy_timeout_ms
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(POOL_SIZE)

    # Connections and transactions -----------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_ms / 1000,
            isolation_level=None,  # autocommit; transactions are explicit below
            check_same_thread=False,  # the pool hands a connection to one user at a time
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        self._slots.acquire()
        conn = None
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            yield conn
        except sqlite3.OperationalError as exc:
            logger.warning("sqlite unavailable: %s", exc)
            raise StoreUnavailable() from exc
        finally:
            if conn is not None:
                self._idle.put(conn)
            self._slots.release()

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def setup(self) -> None:
        with self._connection() as conn:
            conn.executescript(SCHEMA)

    def ping(self) -> None:
        with self._connection() as conn:
            conn.execute("SELECT 1 FROM users LIMIT 1").fetchall()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    # Accounts -------------------------------------------------------------------------
    def add_user(self, user: User, password_hash: str) -> None:
        with self._transaction(write=True) as conn:
            clash = conn.execute(
                "SELECT email_key = ? AS same_email FROM users WHERE email_key = ? OR username_key = ?",
                (user.email.lower(), user.email.lower(), user.username.lower()),
            ).fetchone()
            if clash is not None:
                raise EmailTaken() if clash["same_email"] else UsernameTaken()
            conn.execute(
                "INSERT INTO users (user_id, email, email_key, username, username_key, password_hash,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    user.user_id,
                    user.email,
                    user.email.lower(),
                    user.username,
                    user.username.lower(),
                    password_hash,
                    user.created_at,
                ),
            )

    def get_user(self, user_id: str) -> User | None:
        users = self.get_users([user_id])
        return users[0] if users else None

    def find_login(self, login: str) -> tuple[User, str] | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT * FROM users WHERE email_key = ?1 OR username_key = ?1", (login.lower(),)
            ).fetchone()
        return (_user(row), row["password_hash"]) if row else None

    def get_users(self, user_ids: list[str]) -> list[User]:
        if not user_ids:
            return []
        marks = ",".join("?" * len(user_ids))
        with self._connection() as conn:
            rows = conn.execute(f"SELECT * FROM users WHERE user_id IN ({marks})", user_ids).fetchall()
        return [_user(row) for row in rows]

    def search_users(self, prefix: str, limit: int) -> list[User]:
        low = prefix.lower()
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT * FROM users WHERE username_key >= ? AND username_key < ?"
                " ORDER BY username_key LIMIT ?",
                (low, low + "\U0010ffff", limit),
            ).fetchall()
        return [_user(row) for row in rows]

    def add_token(self, token_hash: str, user_id: str, created_at: int, expires_at: int) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (token_hash, user_id, created_at, expires_at),
            )

    def get_token_user_id(self, token_hash: str, now: int) -> str | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT user_id FROM tokens WHERE token_hash = ? AND expires_at > ?", (token_hash, now)
            ).fetchone()
        return row["user_id"] if row else None

    def revoke_token(self, token_hash: str) -> None:
        with self._connection() as conn:
            conn.execute("DELETE FROM tokens WHERE token_hash = ?", (token_hash,))

    # Threads and messages -------------------------------------------------------------
    def find_direct_thread(self, direct_key: str) -> str | None:
        with self._connection() as conn:
            row = conn.execute("SELECT thread_id FROM threads WHERE direct_key = ?", (direct_key,)).fetchone()
        return row["thread_id"] if row else None

    def open_thread(self, thread: NewThread, first: NewMessage) -> Opened:
        with self._transaction(write=True) as conn:
            retried = _find_retry(conn, first)
            if retried is not None:
                return _reopened(conn, thread, retried)
            existing = conn.execute(
                "SELECT thread_id FROM threads WHERE direct_key = ?", (thread.direct_key,)
            ).fetchone()
            if existing is not None:
                sent = _send_in(conn, replace(first, thread_id=existing["thread_id"]))
                return Opened(existing["thread_id"], sent.message, created=False)
            conn.execute(
                "INSERT INTO threads (thread_id, kind, title, direct_key, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    thread.thread_id,
                    thread.kind,
                    thread.title,
                    thread.direct_key,
                    thread.created_by,
                    thread.created_at,
                ),
            )
            _insert_memberships(conn, thread.thread_id, thread.member_ids, thread.created_at, 0)
            sent = _send_in(conn, replace(first, thread_id=thread.thread_id))
            return Opened(thread.thread_id, sent.message, created=True)

    def send(self, message: NewMessage) -> Sent:
        with self._transaction(write=True) as conn:
            return _send_in(conn, message)

    def get_thread(self, thread_id: str, user_id: str) -> ThreadView:
        with self._transaction(write=False) as conn:
            views = _thread_views(conn, "ms.user_id = ? AND ms.thread_id = ?", (user_id, thread_id))
        if not views:
            raise ThreadNotFound()
        return views[0]

    def list_threads(self, user_id: str, offset: int, limit: int) -> list[ThreadView]:
        with self._transaction(write=False) as conn:
            return _thread_views(
                conn,
                "ms.user_id = ? ORDER BY ms.last_activity DESC, ms.thread_id DESC LIMIT ? OFFSET ?",
                (user_id, limit, offset),
            )

    def list_messages(self, thread_id: str, user_id: str, start: int, end: int) -> list[Message]:
        with self._transaction(write=False) as conn:
            last_seq = _require_member(conn, thread_id, user_id)["last_seq"]
            rows = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE thread_id = ? AND seq <= ? AND seq > ?"
                " ORDER BY seq DESC",
                (thread_id, last_seq - start, last_seq - end),
            ).fetchall()
        return [_message(row) for row in rows]

    def list_messages_before(
        self, thread_id: str, user_id: str, before_seq: int, limit: int
    ) -> list[Message]:
        with self._transaction(write=False) as conn:
            _require_member(conn, thread_id, user_id)
            rows = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE thread_id = ? AND seq < ?"
                " ORDER BY seq DESC LIMIT ?",
                (thread_id, before_seq, limit),
            ).fetchall()
        return [_message(row) for row in rows]

    def mark_read(self, thread_id: str, user_id: str, seq: int) -> int:
        with self._connection() as conn:
            row = conn.execute(
                "UPDATE memberships SET last_read_seq = MAX(last_read_seq, MIN(?, last_seq))"
                " WHERE thread_id = ? AND user_id = ? RETURNING last_read_seq",
                (seq, thread_id, user_id),
            ).fetchone()
        if row is None:
            raise ThreadNotFound()
        return row["last_read_seq"]

    def add_members(self, thread_id: str, user_ids: list[str], now: int) -> list[str]:
        with self._transaction(write=True) as conn:
            thread = conn.execute("SELECT last_seq FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
            if thread is None:
                raise ThreadNotFound()
            last_seq = thread["last_seq"]
            present = {
                row["user_id"]
                for row in conn.execute("SELECT user_id FROM memberships WHERE thread_id = ?", (thread_id,))
            }
            added = [user_id for user_id in user_ids if user_id not in present]
            _insert_memberships(conn, thread_id, added, now, last_seq)
        return added

    def remove_member(self, thread_id: str, user_id: str) -> bool:
        with self._connection() as conn:
            cursor = conn.execute(
                "DELETE FROM memberships WHERE thread_id = ? AND user_id = ?", (thread_id, user_id)
            )
        return cursor.rowcount > 0


# Helpers that run inside a caller's transaction ---------------------------------------
def _send_in(conn: sqlite3.Connection, new: NewMessage) -> Sent:
    _require_member(conn, new.thread_id, new.user_id)  # first: a removed member cannot even retry
    retried = _find_retry(conn, new)
    if retried is not None:
        if retried.thread_id != new.thread_id:
            raise ClientMsgIdConflict()
        return Sent(retried, created=False)
    seq = conn.execute(
        "UPDATE threads SET last_seq = last_seq + 1 WHERE thread_id = ? RETURNING last_seq",
        (new.thread_id,),
    ).fetchone()["last_seq"]
    message = new.stored_as(seq)
    conn.execute(
        f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            message.message_id,
            message.thread_id,
            message.seq,
            message.user_id,
            message.contents,
            message.timestamp,
            message.client_timestamp,
            message.client_msg_id,
        ),
    )
    conn.execute(
        "UPDATE memberships SET last_seq = ?, last_activity = ?,"
        " last_read_seq = CASE WHEN user_id = ? THEN ? ELSE last_read_seq END WHERE thread_id = ?",
        (seq, message.timestamp, message.user_id, seq, message.thread_id),
    )
    return Sent(message, created=True)


def _find_retry(conn: sqlite3.Connection, new: NewMessage) -> Message | None:
    if new.client_msg_id is None:
        return None
    row = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE user_id = ? AND client_msg_id = ?",
        (new.user_id, new.client_msg_id),
    ).fetchone()
    return _message(row) if row else None


def _reopened(conn: sqlite3.Connection, thread: NewThread, retried: Message) -> Opened:
    """Answer a retried create_thread with what the first attempt made."""
    row = conn.execute(
        "SELECT kind, direct_key, created_by FROM threads WHERE thread_id = ?", (retried.thread_id,)
    ).fetchone()
    same_direct = thread.direct_key is not None and row["direct_key"] == thread.direct_key
    same_group = (
        thread.kind == GROUP
        and row["kind"] == GROUP
        and retried.seq == 1
        and row["created_by"] == retried.user_id
    )
    if not (same_direct or same_group):
        raise ClientMsgIdConflict()
    return Opened(retried.thread_id, retried, created=False)


def _insert_memberships(
    conn: sqlite3.Connection, thread_id: str, user_ids: list[str], now: int, last_seq: int
) -> None:
    conn.executemany(
        "INSERT INTO memberships (user_id, thread_id, joined_at, last_activity, last_seq, last_read_seq)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(user_id, thread_id, now, now, last_seq, last_seq) for user_id in user_ids],
    )


def _require_member(conn: sqlite3.Connection, thread_id: str, user_id: str) -> sqlite3.Row:
    row = conn.execute(
        "SELECT last_seq, last_read_seq FROM memberships WHERE thread_id = ? AND user_id = ?",
        (thread_id, user_id),
    ).fetchone()
    if row is None:
        raise ThreadNotFound()
    return row


def _thread_views(conn: sqlite3.Connection, where: str, params: tuple) -> list[ThreadView]:
    rows = conn.execute(
        "SELECT t.thread_id, t.kind, t.title, t.created_by, t.created_at, ms.user_id AS viewer,"
        " ms.last_activity, ms.last_seq, ms.last_read_seq,"
        " m.seq AS m_seq, m.user_id AS m_user_id, m.contents AS m_contents, m.timestamp AS m_timestamp"
        " FROM memberships ms JOIN threads t ON t.thread_id = ms.thread_id"
        " LEFT JOIN messages m ON m.thread_id = ms.thread_id AND m.seq = ms.last_seq"
        f" WHERE {where}",
        params,
    ).fetchall()
    if not rows:
        return []
    members = _members_of(conn, [row["thread_id"] for row in rows])
    return [
        ThreadView(
            thread_id=row["thread_id"],
            kind=row["kind"],
            title=row["title"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            members=members.get(row["thread_id"], []),
            last_activity=row["last_activity"],
            last_seq=row["last_seq"],
            last_read_seq=row["last_read_seq"],
            unread_count=_unread_count(conn, row["thread_id"], row["viewer"], row["last_read_seq"]),
            last_message=None
            if row["m_seq"] is None
            else Preview.of(row["m_seq"], row["m_user_id"], row["m_contents"], row["m_timestamp"]),
        )
        for row in rows
    ]


def _members_of(conn: sqlite3.Connection, thread_ids: list[str]) -> dict[str, list[Member]]:
    marks = ",".join("?" * len(thread_ids))
    rows = conn.execute(
        "SELECT ms.thread_id, u.user_id, u.username"
        " FROM memberships ms JOIN users u ON u.user_id = ms.user_id"
        f" WHERE ms.thread_id IN ({marks}) ORDER BY ms.joined_at, u.username_key",
        thread_ids,
    ).fetchall()
    members: dict[str, list[Member]] = {}
    for row in rows:
        members.setdefault(row["thread_id"], []).append(Member(row["user_id"], row["username"]))
    return members


def _unread_count(conn: sqlite3.Connection, thread_id: str, user_id: str, last_read_seq: int) -> int:
    return conn.execute(
        "SELECT COUNT(*) FROM messages WHERE thread_id = ? AND seq > ? AND user_id <> ?",
        (thread_id, last_read_seq, user_id),
    ).fetchone()[0]


def _user(row: sqlite3.Row) -> User:
    return User(row["user_id"], row["email"], row["username"], row["created_at"])


def _message(row: sqlite3.Row) -> Message:
    return Message(
        message_id=row["message_id"],
        thread_id=row["thread_id"],
        seq=row["seq"],
        user_id=row["user_id"],
        contents=row["contents"],
        timestamp=row["timestamp"],
        client_timestamp=row["client_timestamp"],
        client_msg_id=row["client_msg_id"],
    )
