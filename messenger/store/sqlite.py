"""SQLite adapter behind the ``Store`` port: the embedded, zero-setup default.

Every read-then-write runs in ``BEGIN IMMEDIATE`` (a plain BEGIN upgrades its lock at the
first write and fails with "database is locked" when two writers race), and a send is one
transaction: seq allocation, the message and every membership update commit together (sends
that arrive together share one, each under its own savepoint: see ``group_commit``).
What both stores decide (who is told of each change, retry matching, floors, cursor expiry)
is in ``messenger.rules``; this module only says how SQLite stores it.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from .. import rules
from ..errors import (
    ClientMsgIdConflict,
    CursorExpired,
    EmailTaken,
    InvalidAvatar,
    MessageDeleted,
    MessageNotFound,
    MessengerError,
    NotAllowed,
    ReplyNotFound,
    StoreUnavailable,
    ThreadNotFound,
    TooManyMembers,
    TooManyReactions,
    UnknownAttachments,
    UsernameTaken,
    UserNotFound,
)
from ..model import (
    DELETED_USERNAME,
    MAIL_FAILED,
    MAIL_PENDING,
    MAIL_SENT,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    MESSAGE_DELETED,
    MESSAGE_EDITED,
    MESSAGE_FIELDS,
    MESSAGE_NEW,
    REACTION_ADDED,
    REACTION_REMOVED,
    THREAD_INVITED,
    THREAD_NEW,
    THREAD_READ,
    USER_UPDATED,
    AccountDeleted,
    Attachment,
    Block,
    ClaimedMail,
    Cursors,
    Invitation,
    Member,
    MembersChanged,
    Message,
    MessageChanged,
    MessageEdit,
    NewMessage,
    NewThread,
    OneTimeToken,
    Opened,
    OutgoingMail,
    Preview,
    ProfileChanged,
    ProfileEdit,
    ReadMarked,
    Sent,
    Session,
    ThreadPage,
    ThreadView,
    Update,
    UpdatePage,
    User,
    compact_json,
    direct_key,
    member_body,
    message_deleted_body,
    message_edited_body,
    message_new_body,
    quote_of,
    reaction_body,
    thread_invited_body,
    thread_new_body,
    thread_read_body,
    user_updated_body,
)
from .group_commit import GroupCommit

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
    created_at    INTEGER NOT NULL,
    display_name  TEXT                      -- shown instead of the username; NULL: none
);
CREATE TABLE IF NOT EXISTS tokens (         -- one row a session
    token_hash   TEXT PRIMARY KEY,          -- sha256 of the token; the token itself is never stored
    user_id      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,          -- moved on by use (rules.slid_expiry)
    device       TEXT NOT NULL DEFAULT 'unknown',  -- named at sign-in, or from its User-Agent
    last_seen_at INTEGER,                   -- NULL: not used since before it was kept (created_at)
    address      TEXT                       -- where it was last used from, coarsened; NULL: unknown
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
    added_by      TEXT,                     -- who added them (the creator at creation); NULL before
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
    edited_at        INTEGER,               -- server time of the latest edit
    edit_count       INTEGER NOT NULL DEFAULT 0,
    deleted          INTEGER NOT NULL DEFAULT 0,  -- 1: erased, contents ''
    version          INTEGER NOT NULL DEFAULT 1,  -- one more for every change
    reply_seq        INTEGER,               -- the message of this thread it answers...
    reply_user_id    TEXT,                  -- ...its sender...
    reply_preview    TEXT,                  -- ...and its text as quoted ('' once deleted)
    mentions         TEXT,                  -- JSON list of user ids, or NULL for none
    attachments      TEXT,                  -- JSON list of Attachment.public(), or NULL for none
    PRIMARY KEY (thread_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_msg_id
    ON messages (user_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS update_logs (
    user_id     TEXT PRIMARY KEY,
    last_cursor INTEGER NOT NULL,           -- the newest cursor handed out; only grows
    floor       INTEGER NOT NULL DEFAULT 0  -- every update at or below it was pruned
);
CREATE TABLE IF NOT EXISTS updates (
    user_id    TEXT NOT NULL,
    cursor     INTEGER NOT NULL,
    type       TEXT NOT NULL,               -- 'message.new', 'thread.new', 'thread.read', ...
    body       TEXT NOT NULL,               -- JSON, served to clients as stored
    created_at INTEGER NOT NULL,
    ref_thread TEXT,                        -- rules.text_refs (not for message.new): the thread,
    ref_seq    INTEGER,                     -- the message it shows (or previews)
    ref_quoted INTEGER,                     -- and the one that message quotes
    PRIMARY KEY (user_id, cursor)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS updates_by_age ON updates (created_at);
CREATE TABLE IF NOT EXISTS server_secrets (  -- keys every worker must share (signed URLs)
    name   TEXT PRIMARY KEY,
    secret BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS heartbeat (
    id      INTEGER PRIMARY KEY CHECK (id = 1),  -- one row, upserted by every readiness check
    beat_at INTEGER NOT NULL                     -- server time of the last one
);
CREATE TABLE IF NOT EXISTS departures (     -- who may not add a member back soon, since when
    thread_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,                -- the member who left or was removed
    actor_id  TEXT NOT NULL,                -- who had added them, or who removed them
    left_at   INTEGER NOT NULL,             -- their latest departure involving this actor
    PRIMARY KEY (thread_id, user_id, actor_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reactions (
    thread_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    emoji         TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    added_version INTEGER NOT NULL,          -- the message's version it made...
    emoji_since   INTEGER NOT NULL,          -- ...and the one that made the emoji appear: the order
    PRIMARY KEY (thread_id, seq, emoji, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mentions (       -- who each message calls by name, for unread_mentions
    thread_id TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    user_id   TEXT NOT NULL,
    PRIMARY KEY (thread_id, seq, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mentions_by_user ON mentions (user_id, thread_id, seq);
CREATE TABLE IF NOT EXISTS blocks (         -- who blocks whom
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    blocked_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blocks_by_blocked ON blocks (blocked_id, blocker_id);
CREATE TABLE IF NOT EXISTS invitations (    -- into groups, under GROUP_ADD_POLICY=invite
    thread_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,              -- the invitee
    invited_by  TEXT NOT NULL,
    invited_at  INTEGER NOT NULL,
    declined_at INTEGER,                    -- NULL: pending; an accepted one is deleted
    PRIMARY KEY (thread_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS invitations_by_invitee ON invitations (user_id, invited_at DESC);
CREATE TABLE IF NOT EXISTS reserved_usernames (  -- deleted accounts' usernames, in cool-down
    username_key TEXT PRIMARY KEY,          -- lower(username)
    until        INTEGER NOT NULL           -- free for sign-up and renames from then on
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_by_sender ON messages (user_id, thread_id, seq);
"""
# Mail and one-time tokens (persisted shape, like SCHEMA above).
MAIL_SCHEMA = """
CREATE TABLE IF NOT EXISTS one_time_tokens (
    token_hash TEXT PRIMARY KEY,            -- sha256 of the mailed token; the token is never stored
    purpose    TEXT NOT NULL,               -- 'password_reset' or 'verify_email'
    user_id    TEXT NOT NULL,
    email      TEXT NOT NULL,               -- the address it was mailed to
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS one_time_tokens_by_user ON one_time_tokens (user_id, purpose);
CREATE INDEX IF NOT EXISTS one_time_tokens_by_expiry ON one_time_tokens (expires_at);
CREATE TABLE IF NOT EXISTS mail_outbox (
    mail_id     TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,              -- the account it is for (pending mails are bounded)
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,              -- erased ('') once sent or failed: it holds a link
    created_at  INTEGER NOT NULL,
    status      TEXT NOT NULL,              -- 'pending', 'sent' or 'failed'
    due_at      INTEGER NOT NULL,           -- pending: when a sender may claim it (lease end, backoff)
    attempts    INTEGER NOT NULL DEFAULT 0, -- claims so far
    claim_id    TEXT,                       -- the latest claim: only it may mark the mail
    finished_at INTEGER                     -- when it was sent or given up
);
CREATE INDEX IF NOT EXISTS mail_outbox_due ON mail_outbox (status, due_at);
CREATE INDEX IF NOT EXISTS mail_outbox_by_user ON mail_outbox (user_id, status);
CREATE INDEX IF NOT EXISTS mail_outbox_finished ON mail_outbox (finished_at) WHERE finished_at IS NOT NULL;
"""
# Attachments' metadata (persisted shape, like SCHEMA above); their bytes are the blob store's.
ATTACHMENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS attachments (
    attachment_id     TEXT PRIMARY KEY,     -- 32 hex digits, made by the service
    uploader_id       TEXT NOT NULL,
    filename          TEXT NOT NULL,
    content_type      TEXT NOT NULL,        -- sniffed from the bytes
    size              INTEGER NOT NULL,     -- bytes of blob_id
    sha256            TEXT NOT NULL,        -- hex, of blob_id's bytes
    width             INTEGER,              -- images only, else NULL
    height            INTEGER,
    blob_id           TEXT NOT NULL,        -- the bytes served
    thumbnail_blob_id TEXT,                 -- NULL: no thumbnail
    thumbnail_type    TEXT,                 -- the thumbnail's content type
    created_at        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attachments_by_uploader ON attachments (uploader_id, size);
CREATE INDEX IF NOT EXISTS attachments_by_age ON attachments (created_at);
CREATE INDEX IF NOT EXISTS attachments_by_blob ON attachments (blob_id);
CREATE INDEX IF NOT EXISTS attachments_by_thumbnail ON attachments (thumbnail_blob_id)
    WHERE thumbnail_blob_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS attachment_refs (  -- each message carrying an attachment
    attachment_id TEXT NOT NULL,
    message_id    TEXT NOT NULL,            -- deleted with the message's attachments
    thread_id     TEXT NOT NULL,            -- whose members may read it
    PRIMARY KEY (attachment_id, message_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS attachment_refs_by_message ON attachment_refs (message_id);
"""
# What keeps an attachment: each a condition on ``a``, its attachments row, true while that
# referrer refers to it. Avatars will add theirs (a users column naming it) here.
ATTACHMENT_REFERRERS = (
    "EXISTS (SELECT 1 FROM attachment_refs r WHERE r.attachment_id = a.attachment_id)",
    "EXISTS (SELECT 1 FROM users u WHERE u.avatar_id = a.attachment_id)",  # someone's picture
)
UNREFERENCED = " AND ".join(f"NOT {referrer}" for referrer in ATTACHMENT_REFERRERS)
# Ids per IN (...) list: well under every SQLite build's limit on bound values.
IN_BATCH = 500
# Columns added to tables after files with the table already existed: (table, column, type).
ADDED_COLUMNS = [
    ("tokens", "device", "TEXT NOT NULL DEFAULT 'unknown'"),
    ("tokens", "last_seen_at", "INTEGER"),
    ("tokens", "address", "TEXT"),
    ("memberships", "added_by", "TEXT"),
    ("messages", "edited_at", "INTEGER"),
    ("messages", "edit_count", "INTEGER NOT NULL DEFAULT 0"),
    ("messages", "deleted", "INTEGER NOT NULL DEFAULT 0"),
    ("messages", "version", "INTEGER NOT NULL DEFAULT 1"),
    ("messages", "reply_seq", "INTEGER"),
    ("messages", "reply_user_id", "TEXT"),
    ("messages", "reply_preview", "TEXT"),
    ("messages", "mentions", "TEXT"),
    ("messages", "attachments", "TEXT"),
    ("updates", "ref_thread", "TEXT"),
    ("updates", "ref_seq", "INTEGER"),
    ("updates", "ref_quoted", "INTEGER"),
    ("users", "display_name", "TEXT"),
    ("users", "email_verified", "INTEGER NOT NULL DEFAULT 0"),
    ("users", "disabled_at", "INTEGER"),  # set by disable-user; NULL: enabled
    ("users", "deleted_at", "INTEGER"),  # the account left: the row is a tombstone
    ("users", "avatar_id", "TEXT"),  # an attachment of theirs (an image) shown as their picture
]
# Files at a lower ``PRAGMA user_version`` hold updates written before their text refs were
# kept; set-up fills them in once, so deleting an old message erases it from old updates too.
TEXT_REFS_VERSION = 1
# Indexes on added columns: created once the columns exist.
INDEXES_ON_ADDED = """
CREATE INDEX IF NOT EXISTS users_by_avatar ON users (avatar_id) WHERE avatar_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_deleted ON messages (thread_id, seq) WHERE deleted = 1;
CREATE INDEX IF NOT EXISTS messages_by_reply ON messages (thread_id, reply_seq)
    WHERE reply_seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS updates_by_ref ON updates (ref_thread, ref_seq) WHERE ref_thread IS NOT NULL;
CREATE INDEX IF NOT EXISTS updates_by_quote ON updates (ref_thread, ref_quoted)
    WHERE ref_quoted IS NOT NULL;
"""

# The messages table names its columns after the fields of ``Message`` it stores as they are.
JSON_FIELDS = ("reply_to", "mentions", "reactions", "attachments")
PLAIN_FIELDS = [name for name in MESSAGE_FIELDS if name not in JSON_FIELDS]
STORED_COLUMNS = [*PLAIN_FIELDS, "reply_seq", "reply_user_id", "reply_preview", "mentions", "attachments"]
MESSAGE_COLUMNS = ", ".join(STORED_COLUMNS)
MESSAGE_VALUES = ", ".join(f":{name}" for name in STORED_COLUMNS)


class SqliteStore:
    """Store on one SQLite file in WAL mode, shared safely by threads, greenlets and processes."""

    def __init__(self, path: str, synchronous: str = "NORMAL", busy_timeout_ms: int = 5000):
        self.path = path
        self._synchronous = synchronous
        self._busy_timeout_ms = busy_timeout_ms
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(POOL_SIZE)
        self._sends: GroupCommit[NewMessage, Sent] = GroupCommit(self._send_batch, "sqlite-sends")

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
        reusable = True
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            yield conn
        except sqlite3.IntegrityError:
            raise  # a constraint no code path expects: a bug, not an outage
        except sqlite3.DatabaseError as exc:  # locked too long, read-only, I/O error, not a database
            # A connection that failed this way may be stuck (SQLite keeps a file it could not
            # open read-write read-only): drop it, so the next request tries afresh.
            reusable = False
            logger.warning("sqlite unavailable: %s", exc)
            raise StoreUnavailable() from exc
        finally:
            if conn is not None:
                if reusable:
                    self._idle.put(conn)
                else:
                    conn.close()
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
            for table, column, kind in ADDED_COLUMNS:
                present = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            conn.executescript(INDEXES_ON_ADDED)
            conn.executescript(MAIL_SCHEMA)
            conn.executescript(ATTACHMENT_SCHEMA)
            if conn.execute("PRAGMA user_version").fetchone()[0] < TEXT_REFS_VERSION:
                _backfill_text_refs(conn)
                conn.execute(f"PRAGMA user_version = {TEXT_REFS_VERSION}")

    def heartbeat(self, now: int) -> None:
        """Ready means writable: commit a real write (taking the lock alone passes read-only)."""
        with self._transaction(write=True) as conn:
            conn.execute(
                "INSERT INTO heartbeat (id, beat_at) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at",
                (now,),
            )

    def server_secret(self, name: str) -> bytes:
        with self._transaction(write=True) as conn:  # the first to commit wins; the rest read it
            conn.execute(
                "INSERT INTO server_secrets (name, secret) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, secrets.token_bytes(32)),
            )
            return bytes(
                conn.execute("SELECT secret FROM server_secrets WHERE name = ?", (name,)).fetchone()[0]
            )

    def close(self) -> None:
        self._sends.close()
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
            if _username_reserved(conn, user.username, user.created_at):
                raise UsernameTaken()
            conn.execute(
                "INSERT INTO users (user_id, email, email_key, username, username_key, password_hash,"
                " created_at, display_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user.user_id,
                    user.email,
                    user.email.lower(),
                    user.username,
                    user.username.lower(),
                    password_hash,
                    user.created_at,
                    user.display_name,
                ),
            )

    def find_login(self, login: str) -> tuple[User, str] | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT * FROM users WHERE email_key = ?1 OR username_key = ?1", (login.lower(),)
            ).fetchone()
        return (_user(row), row["password_hash"]) if row else None

    def get_users(self, user_ids: list[str]) -> list[User]:
        return self._users_where("user_id", user_ids)

    def get_users_by_username(self, usernames: list[str]) -> list[User]:
        return self._users_where("username_key", [name.lower() for name in usernames])

    def _users_where(self, column: str, values: list[str]) -> list[User]:
        """Users whose ``column`` (a unique, indexed one: never client text) is among ``values``."""
        if not values:
            return []
        marks = ",".join("?" * len(values))
        with self._connection() as conn:
            rows = conn.execute(f"SELECT * FROM users WHERE {column} IN ({marks})", values).fetchall()
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

    def get_password_hash(self, user_id: str) -> str | None:
        with self._connection() as conn:
            row = conn.execute("SELECT password_hash FROM users WHERE user_id = ?", (user_id,)).fetchone()
        return row["password_hash"] if row else None

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        with self._connection() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE user_id = ?", (password_hash, user_id))

    def add_session(self, session: Session) -> None:
        with self._transaction(write=True) as conn:
            # Nothing for a disabled or deleted account: a sign-in that checked the password just
            # before disable-user or a deletion committed gets no session that outlives it.
            closed = conn.execute(
                "SELECT 1 FROM users WHERE user_id = ?"
                " AND (disabled_at IS NOT NULL OR deleted_at IS NOT NULL)",
                (session.user_id,),
            ).fetchone()
            if closed is not None:
                return
            conn.execute(
                "DELETE FROM tokens WHERE user_id = ? AND expires_at <= ?",
                (session.user_id, session.created_at),
            )
            conn.execute(
                "INSERT INTO tokens (token_hash, user_id, created_at, expires_at, device, last_seen_at,"
                " address) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    session.token_hash,
                    session.user_id,
                    session.created_at,
                    session.expires_at,
                    session.device,
                    session.last_seen_at,
                    session.address,
                ),
            )

    def get_session(self, token_hash: str, now: int) -> Session | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT * FROM tokens WHERE token_hash = ? AND expires_at > ?", (token_hash, now)
            ).fetchone()
        return _session(row) if row else None

    def touch_session(self, token_hash: str, now: int, address: str | None, expires_at: int | None) -> bool:
        with self._connection() as conn:
            cursor = conn.execute(
                "UPDATE tokens SET last_seen_at = ?, address = COALESCE(?, address),"
                " expires_at = MAX(expires_at, COALESCE(?, expires_at))"
                " WHERE token_hash = ? AND expires_at > ? AND COALESCE(last_seen_at, created_at) <= ?",
                (now, address, expires_at, token_hash, now, rules.touch_cutoff(now)),
            )
        return cursor.rowcount == 1

    def list_sessions(self, user_id: str, now: int) -> list[Session]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT * FROM tokens WHERE user_id = ? AND expires_at > ?"
                " ORDER BY COALESCE(last_seen_at, created_at) DESC, created_at DESC",
                (user_id, now),
            ).fetchall()
        return [_session(row) for row in rows]

    def revoke_token(self, token_hash: str) -> None:
        with self._connection() as conn:
            conn.execute("DELETE FROM tokens WHERE token_hash = ?", (token_hash,))

    def revoke_sessions(self, user_id: str, keep_token_hash: str | None = None) -> list[str]:
        with self._connection() as conn:
            rows = conn.execute(
                "DELETE FROM tokens WHERE user_id = ? AND token_hash IS NOT ? RETURNING token_hash",
                (user_id, keep_token_hash),
            ).fetchall()
        return [row["token_hash"] for row in rows]

    # Threads and messages -------------------------------------------------------------
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
                return Opened(existing["thread_id"], sent.message, created=False, cursors=sent.cursors)
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
            _insert_memberships(
                conn, thread.thread_id, thread.member_ids, thread.created_at, 0, thread.created_by
            )
            view = _view_for(conn, thread.thread_id, thread.created_by)
            told = rules.told_of_creation(thread.member_ids)
            _append(conn, told, THREAD_NEW, thread_new_body(view), thread.created_at)
            sent = _send_in(conn, replace(first, thread_id=thread.thread_id))
            return Opened(thread.thread_id, sent.message, created=True, cursors=sent.cursors)

    def send(self, message: NewMessage) -> Sent:
        return self._sends.submit(message)

    def _send_batch(self, messages: list[NewMessage]) -> list[Sent | Exception]:
        """Sends in one transaction, each under a savepoint: one that fails rolls back alone."""
        outcomes: list[Sent | Exception] = []
        with self._transaction(write=True) as conn:
            for message in messages:
                conn.execute("SAVEPOINT send")
                try:
                    outcomes.append(_send_in(conn, message))
                except (MessengerError, sqlite3.IntegrityError) as error:
                    conn.execute("ROLLBACK TO send")
                    outcomes.append(error)
                conn.execute("RELEASE send")
        return outcomes

    def require_thread(self, thread_id: str, user_id: str) -> ThreadView:
        with self._transaction(write=False) as conn:
            return _view_for(conn, thread_id, user_id)

    def list_threads(self, user_id: str, offset: int, limit: int) -> ThreadPage:
        with self._transaction(write=False) as conn:  # one snapshot: the list and its cursor agree
            threads = _thread_views(
                conn,
                "ms.user_id = ? ORDER BY ms.last_activity DESC, ms.thread_id DESC LIMIT ? OFFSET ?",
                (user_id, limit, offset),
            )
            return ThreadPage(threads, _log_state(conn, user_id)[0])

    def list_messages(self, thread_id: str, user_id: str, start: int, end: int) -> list[Message]:
        with self._transaction(write=False) as conn:
            last_seq = _require_member(conn, thread_id, user_id)["last_seq"]
            rows = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE thread_id = ? AND seq <= ? AND seq > ?"
                " ORDER BY seq DESC",
                (thread_id, last_seq - start, last_seq - end),
            ).fetchall()
            return _messages(conn, thread_id, rows)

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
            return _messages(conn, thread_id, rows)

    # Changes to a message: each adds one to its version and tells every member, in one
    # transaction, so every log holds a message's updates in version order.
    def require_message(self, thread_id: str, seq: int, user_id: str) -> Message:
        with self._transaction(write=False) as conn:
            _require_member(conn, thread_id, user_id)
            return _require_message(conn, thread_id, seq)

    def edit_message(self, edit: MessageEdit) -> MessageChanged:
        with self._transaction(write=True) as conn:
            _require_member(conn, edit.thread_id, edit.user_id)
            message = _require_message(conn, edit.thread_id, edit.seq)
            if message.user_id != edit.user_id:
                raise NotAllowed()
            if message.deleted:
                raise MessageDeleted()
            if message.contents == edit.contents:
                return MessageChanged(message, changed=False)
            conn.execute(
                "UPDATE messages SET contents = ?, edited_at = ?, edit_count = edit_count + 1,"
                " version = version + 1, mentions = ? WHERE thread_id = ? AND seq = ?",
                (edit.contents, edit.edited_at, _mentions_json(edit.mentions), edit.thread_id, edit.seq),
            )
            _forget_mentions(conn, edit.thread_id, edit.seq)
            _insert_mentions(conn, edit.thread_id, edit.seq, edit.mentions)
            edited = _require_message(conn, edit.thread_id, edit.seq)
            return _told(conn, edited, MESSAGE_EDITED, message_edited_body(edited), edit.edited_at)

    def delete_message(self, thread_id: str, seq: int, user_id: str, now: int) -> MessageChanged:
        with self._transaction(write=True) as conn:
            _require_member(conn, thread_id, user_id)
            return _delete_in(conn, _require_message(conn, thread_id, seq), now)

    def add_reaction(
        self, thread_id: str, seq: int, user_id: str, emoji: str, now: int, max_distinct: int
    ) -> MessageChanged:
        with self._transaction(write=True) as conn:
            _require_member(conn, thread_id, user_id)
            message = _require_message(conn, thread_id, seq)
            if message.deleted:
                raise MessageDeleted()
            if _has_reacted(conn, thread_id, seq, emoji, user_id):
                return MessageChanged(message, changed=False)
            if rules.is_reaction_refused((r["emoji"] for r in message.reactions), emoji, max_distinct):
                raise TooManyReactions()
            # An emoji keeps its place while anyone has it on (see rules.reaction_summary).
            conn.execute(
                "INSERT INTO reactions (thread_id, seq, emoji, user_id, added_version, emoji_since)"
                " SELECT ?1, ?2, ?3, ?4, ?5, COALESCE(MIN(emoji_since), ?5) FROM reactions"
                " WHERE thread_id = ?1 AND seq = ?2 AND emoji = ?3",
                (thread_id, seq, emoji, user_id, message.version + 1),
            )
            return _reaction_told(conn, thread_id, seq, user_id, emoji, REACTION_ADDED, now)

    def remove_reaction(self, thread_id: str, seq: int, user_id: str, emoji: str, now: int) -> MessageChanged:
        with self._transaction(write=True) as conn:
            _require_member(conn, thread_id, user_id)
            message = _require_message(conn, thread_id, seq)
            removed = conn.execute(
                "DELETE FROM reactions WHERE thread_id = ? AND seq = ? AND emoji = ? AND user_id = ?",
                (thread_id, seq, emoji, user_id),
            ).rowcount
            if not removed:
                return MessageChanged(message, changed=False)
            return _reaction_told(conn, thread_id, seq, user_id, emoji, REACTION_REMOVED, now)

    def mark_read(self, thread_id: str, user_id: str, seq: int, now: int) -> ReadMarked:
        with self._transaction(write=True) as conn:
            marker = _require_member(conn, thread_id, user_id)
            target = max(marker["last_read_seq"], rules.read_target(seq, marker["last_seq"]))
            if target == marker["last_read_seq"]:
                return ReadMarked(target)
            conn.execute(
                "UPDATE memberships SET last_read_seq = ? WHERE thread_id = ? AND user_id = ?",
                (target, thread_id, user_id),
            )
            body = thread_read_body(thread_id, user_id, target)
            told = rules.told_of_read(_member_ids(conn, thread_id))
            return ReadMarked(target, _append(conn, told, THREAD_READ, body, now))

    def add_members(self, thread_id: str, user_ids: list[str], now: int, added_by: str) -> MembersChanged:
        with self._transaction(write=True) as conn:
            thread = conn.execute("SELECT last_seq FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
            if thread is None:
                raise ThreadNotFound()
            present = set(_member_ids(conn, thread_id))
            added = [user_id for user_id in user_ids if user_id not in present]
            _insert_memberships(conn, thread_id, added, now, thread["last_seq"], added_by)
            return MembersChanged(added, _announce_joined(conn, thread_id, added, now))

    def remove_member(self, thread_id: str, user_id: str, now: int, removed_by: str) -> MembersChanged:
        with self._transaction(write=True) as conn:
            members = _member_ids(conn, thread_id)
            if user_id not in members:
                return MembersChanged([])
            key = (thread_id, user_id)
            added_by = conn.execute(
                "SELECT added_by FROM memberships WHERE thread_id = ? AND user_id = ?", key
            ).fetchone()["added_by"]
            conn.execute("DELETE FROM memberships WHERE thread_id = ? AND user_id = ?", key)
            conn.executemany(
                "INSERT INTO departures (thread_id, user_id, actor_id, left_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (thread_id, user_id, actor_id) DO UPDATE SET left_at = excluded.left_at",
                [
                    (thread_id, user_id, actor, now)
                    for actor in rules.departure_actors(user_id, added_by, removed_by)
                ],
            )
            told = rules.told_of_removal(members, user_id)
            cursors = _append(conn, told, MEMBER_REMOVED, member_body(thread_id, user_id), now)
            return MembersChanged([user_id], cursors)

    def departures_involving(self, thread_id: str, actor_id: str, user_ids: list[str]) -> dict[str, int]:
        if not user_ids:
            return {}
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT user_id, left_at FROM departures WHERE thread_id = ? AND actor_id = ?"
                f" AND user_id IN ({', '.join('?' * len(user_ids))})",
                (thread_id, actor_id, *user_ids),
            )
            return {row["user_id"]: row["left_at"] for row in rows}

    # Blocks and invitations -----------------------------------------------------------
    def add_block(self, blocker_id: str, blocked_id: str, now: int) -> int:
        with self._transaction(write=True) as conn:
            conn.execute(
                "INSERT OR IGNORE INTO blocks (blocker_id, blocked_id, blocked_at) VALUES (?, ?, ?)",
                (blocker_id, blocked_id, now),
            )
            return conn.execute(
                "SELECT blocked_at FROM blocks WHERE blocker_id = ? AND blocked_id = ?",
                (blocker_id, blocked_id),
            ).fetchone()["blocked_at"]

    def remove_block(self, blocker_id: str, blocked_id: str) -> None:
        with self._connection() as conn:
            conn.execute(
                "DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?", (blocker_id, blocked_id)
            )

    def list_blocks(self, blocker_id: str) -> list[Block]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT b.blocked_id, u.username, b.blocked_at FROM blocks b"
                " JOIN users u ON u.user_id = b.blocked_id WHERE b.blocker_id = ?"
                " ORDER BY b.blocked_at DESC, u.username_key",
                (blocker_id,),
            ).fetchall()
        return [Block(row["blocked_id"], row["username"], row["blocked_at"]) for row in rows]

    def blockers_among(self, user_id: str, other_ids: list[str]) -> list[str]:
        if not other_ids:
            return []
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT blocker_id FROM blocks WHERE blocked_id = ?"
                f" AND blocker_id IN ({', '.join('?' * len(other_ids))})",
                (user_id, *other_ids),
            ).fetchall()
        return [row["blocker_id"] for row in rows]

    def blocked_in_direct(self, thread_id: str, user_id: str) -> bool:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM memberships me JOIN threads t ON t.thread_id = me.thread_id"
                " JOIN memberships other ON other.thread_id = me.thread_id AND other.user_id != me.user_id"
                " JOIN blocks b ON b.blocker_id = other.user_id AND b.blocked_id = me.user_id"
                " WHERE me.user_id = ?1 AND me.thread_id = ?2 AND t.kind = 'direct' LIMIT 1",
                (user_id, thread_id),
            ).fetchone()
        return row is not None

    def contacts_among(self, user_id: str, other_ids: list[str]) -> list[str]:
        if not other_ids:
            return []
        keys = {direct_key([user_id, other_id]): other_id for other_id in other_ids}
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT direct_key FROM threads WHERE direct_key IN ({', '.join('?' * len(keys))})",
                list(keys),
            ).fetchall()
        return [keys[row["direct_key"]] for row in rows]

    def invite(
        self, thread_id: str, user_ids: list[str], invited_by: str, now: int, cooldown_ms: int
    ) -> MembersChanged:
        with self._transaction(write=True) as conn:
            view = _view_for(conn, thread_id, invited_by)
            present = set(_member_ids(conn, thread_id))
            body = thread_invited_body(view, invited_by)
            invited: list[str] = []
            cursors: Cursors = {}
            for user_id in dict.fromkeys(user_ids):
                existing = _invitation(conn, thread_id, user_id)
                if user_id in present or not rules.is_invitation_sendable(existing, now, cooldown_ms):
                    continue
                conn.execute(
                    "INSERT INTO invitations (thread_id, user_id, invited_by, invited_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (thread_id, user_id) DO UPDATE SET invited_by = excluded.invited_by,"
                    " invited_at = excluded.invited_at, declined_at = NULL",
                    (thread_id, user_id, invited_by, now),
                )
                invited.append(user_id)
                cursors |= _append(conn, rules.told_of_invitation(user_id), THREAD_INVITED, body, now)
            return MembersChanged(invited, cursors)

    def get_invitation(self, thread_id: str, user_id: str) -> Invitation | None:
        with self._connection() as conn:
            return _invitation(conn, thread_id, user_id)

    def accept_invitation(self, thread_id: str, user_id: str, now: int, max_members: int) -> MembersChanged:
        with self._transaction(write=True) as conn:
            invitation = _invitation(conn, thread_id, user_id)
            if invitation is None or invitation.declined_at is not None:
                return MembersChanged([])
            members = _member_ids(conn, thread_id)
            conn.execute("DELETE FROM invitations WHERE thread_id = ? AND user_id = ?", (thread_id, user_id))
            if user_id in members:
                return MembersChanged([])
            if len(members) >= max_members:
                raise TooManyMembers(details={"max_members": max_members})
            thread = conn.execute("SELECT last_seq FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
            _insert_memberships(conn, thread_id, [user_id], now, thread["last_seq"], invitation.invited_by)
            return MembersChanged([user_id], _announce_joined(conn, thread_id, [user_id], now))

    def decline_invitation(self, thread_id: str, user_id: str, now: int) -> bool:
        with self._transaction(write=True) as conn:
            conn.execute(
                "UPDATE invitations SET declined_at = ?"
                " WHERE thread_id = ? AND user_id = ? AND declined_at IS NULL",
                (now, thread_id, user_id),
            )
            return _invitation(conn, thread_id, user_id) is not None

    def pending_invitations(self, user_id: str, limit: int) -> list[tuple[Invitation, ThreadView]]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT thread_id, invited_by, invited_at FROM invitations"
                " WHERE user_id = ? AND declined_at IS NULL ORDER BY invited_at DESC LIMIT ?",
                (user_id, limit),
            ).fetchall()
            found = []
            for row in rows:
                view = _seen_by_a_member(conn, row["thread_id"], row["invited_by"])
                if view is not None:
                    invitation = Invitation(row["thread_id"], user_id, row["invited_by"], row["invited_at"])
                    found.append((invitation, view))
            return found

    # The update log ---------------------------------------------------------------------
    def current_cursor(self, user_id: str) -> int:
        with self._connection() as conn:
            return _log_state(conn, user_id)[0]

    def read_updates(self, user_id: str, since: int, limit: int) -> UpdatePage:
        with self._transaction(write=False) as conn:
            last_cursor, floor = _log_state(conn, user_id)
            if rules.is_cursor_expired(since, last_cursor, floor):
                raise CursorExpired()
            rows = conn.execute(
                "SELECT cursor, type, body FROM updates WHERE user_id = ? AND cursor > ?"
                " ORDER BY cursor LIMIT ?",
                (user_id, since, limit + 1),
            ).fetchall()
        updates = [Update(row["cursor"], row["type"], json.loads(row["body"])) for row in rows[:limit]]
        return UpdatePage(updates, updates[-1].cursor if updates else since, more=len(rows) > limit)

    def prune_updates(self, now: int, max_age_ms: int, max_per_user: int) -> int:
        """Drop updates older than ``max_age_ms`` or beyond the newest ``max_per_user`` of a user."""
        with self._transaction(write=True) as conn:
            too_old = conn.execute(
                "SELECT user_id, MAX(cursor) AS upto FROM updates WHERE created_at < ? GROUP BY user_id",
                (now - max_age_ms,),
            ).fetchall()
            too_many = conn.execute(
                "SELECT user_id, last_cursor - ?1 AS upto FROM update_logs WHERE last_cursor - floor > ?1",
                (max_per_user,),
            ).fetchall()
            floors = rules.merge_floors((row["user_id"], row["upto"]) for row in [*too_old, *too_many])
            # The floor is what tells an expired cursor from a gap: raise it with the delete.
            conn.executemany(
                "UPDATE update_logs SET floor = MAX(floor, ?) WHERE user_id = ?",
                [(upto, user_id) for user_id, upto in floors.items()],
            )
            delete = "DELETE FROM updates WHERE user_id = ? AND cursor <= ?"
            deleted = sum(conn.execute(delete, (user_id, upto)).rowcount for user_id, upto in floors.items())
        logger.info("pruned %d updates of %d users", deleted, len(floors))
        return deleted

    # Profiles -------------------------------------------------------------------------
    def update_profile(self, edit: ProfileEdit) -> ProfileChanged:
        """One transaction: the user's row and user.updated in every co-member's log."""
        with self._transaction(write=True) as conn:
            row = conn.execute("SELECT * FROM users WHERE user_id = ?", (edit.user_id,)).fetchone()
            if row is None or row["deleted_at"] is not None:
                raise UserNotFound()
            user = _user(row)
            changes = rules.profile_changes(user, edit.changes)
            if not changes:
                return ProfileChanged(user, changed=False)
            if "username" in changes:
                holder = conn.execute(
                    "SELECT user_id FROM users WHERE username_key = ?", (changes["username"].lower(),)
                ).fetchone()
                if holder is not None and holder["user_id"] != user.user_id:
                    raise UsernameTaken()
                if _username_reserved(conn, changes["username"], edit.now):
                    raise UsernameTaken()
            if changes.get("avatar_id") is not None:
                _require_avatar(conn, changes["avatar_id"], user.user_id)
            user = replace(user, **changes)
            conn.execute(
                "UPDATE users SET username = ?, username_key = ?, display_name = ?, avatar_id = ?"
                " WHERE user_id = ?",
                (user.username, user.username.lower(), user.display_name, user.avatar_id, user.user_id),
            )
            told = rules.told_of_profile(user.user_id, _co_member_ids(conn, user.user_id))
            cursors = _append(conn, told, USER_UPDATED, user_updated_body(user), edit.now)
            return ProfileChanged(user, changed=True, cursors=cursors)

    # Mail and one-time tokens ---------------------------------------------------------
    def get_user_by_email(self, email: str) -> User | None:
        with self._connection() as conn:
            row = conn.execute("SELECT * FROM users WHERE email_key = ?", (email.lower(),)).fetchone()
        return _user(row) if row else None

    def change_email(self, user_id: str, email: str) -> User:
        with self._transaction(write=True) as conn:
            holder = conn.execute(
                "SELECT user_id FROM users WHERE email_key = ?", (email.lower(),)
            ).fetchone()
            if holder is not None and holder["user_id"] != user_id:
                raise EmailTaken()
            row = conn.execute(
                "UPDATE users SET email = ?, email_key = ?, email_verified = 0 WHERE user_id = ? RETURNING *",
                (email, email.lower(), user_id),
            ).fetchone()
            if row is None:
                raise UserNotFound()
            return _user(row)

    def set_email_verified(self, user_id: str, email: str) -> bool:
        with self._connection() as conn:
            changed = conn.execute(
                "UPDATE users SET email_verified = 1 WHERE user_id = ? AND email_key = ?",
                (user_id, email.lower()),
            ).rowcount
        return changed == 1

    def add_one_time_token(self, token: OneTimeToken, mail: OutgoingMail, max_pending: int) -> bool:
        """One transaction: the bound's count, the token and its mail."""
        with self._transaction(write=True) as conn:
            pending = conn.execute(
                "SELECT COUNT(*) FROM mail_outbox WHERE user_id = ? AND status = ?",
                (mail.user_id, MAIL_PENDING),
            ).fetchone()[0]
            if pending >= max_pending:
                return False
            conn.execute(
                "INSERT INTO one_time_tokens (token_hash, purpose, user_id, email, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token.token_hash,
                    token.purpose,
                    token.user_id,
                    token.email,
                    token.created_at,
                    token.expires_at,
                ),
            )
            conn.execute(
                "INSERT INTO mail_outbox (mail_id, user_id, recipient, subject, body, created_at, status,"
                " due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    mail.mail_id,
                    mail.user_id,
                    mail.to,
                    mail.subject,
                    mail.text,
                    mail.created_at,
                    MAIL_PENDING,
                    mail.created_at,
                ),
            )
            return True

    def get_one_time_token(self, token_hash: str, purpose: str, now: int) -> OneTimeToken | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT * FROM one_time_tokens WHERE token_hash = ? AND purpose = ? AND expires_at > ?",
                (token_hash, purpose, now),
            ).fetchone()
        return _one_time_token(row) if row else None

    def use_one_time_token(self, token_hash: str, purpose: str, now: int) -> OneTimeToken | None:
        with self._transaction(write=True) as conn:
            row = conn.execute(
                "DELETE FROM one_time_tokens WHERE token_hash = ? AND purpose = ? AND expires_at > ?"
                " RETURNING *",
                (token_hash, purpose, now),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "DELETE FROM one_time_tokens WHERE user_id = ? AND purpose = ?", (row["user_id"], purpose)
            )
            return _one_time_token(row)

    def claim_mail(self, now: int, lease_ms: int, limit: int) -> list[ClaimedMail]:
        """One transaction (BEGIN IMMEDIATE): a concurrent claimer waits, then sees the new due_at."""
        with self._transaction(write=True) as conn:
            rows = conn.execute(
                "SELECT * FROM mail_outbox WHERE status = ? AND due_at <= ? ORDER BY due_at LIMIT ?",
                (MAIL_PENDING, now, limit),
            ).fetchall()
            claimed = []
            for row in rows:
                claim_id = uuid.uuid4().hex
                conn.execute(
                    "UPDATE mail_outbox SET due_at = ?, attempts = attempts + 1, claim_id = ?"
                    " WHERE mail_id = ?",
                    (now + lease_ms, claim_id, row["mail_id"]),
                )
                claimed.append(ClaimedMail(_outgoing_mail(row), claim_id, row["attempts"] + 1))
        return claimed

    def mark_mail_sent(self, mail_id: str, claim_id: str, now: int) -> bool:
        return self._finish_mail(mail_id, claim_id, MAIL_SENT, now)

    def mark_mail_failed(self, mail_id: str, claim_id: str, now: int, retry_at: int | None) -> bool:
        if retry_at is None:
            return self._finish_mail(mail_id, claim_id, MAIL_FAILED, now)
        with self._connection() as conn:
            changed = conn.execute(
                "UPDATE mail_outbox SET due_at = ? WHERE mail_id = ? AND claim_id = ? AND status = ?",
                (retry_at, mail_id, claim_id, MAIL_PENDING),
            ).rowcount
        return changed == 1

    def _finish_mail(self, mail_id: str, claim_id: str, status: str, now: int) -> bool:
        with self._connection() as conn:
            changed = conn.execute(
                "UPDATE mail_outbox SET status = ?, finished_at = ?, body = '', claim_id = NULL"
                " WHERE mail_id = ? AND claim_id = ? AND status = ?",
                (status, now, mail_id, claim_id, MAIL_PENDING),
            ).rowcount
        return changed == 1

    def prune_mail(self, now: int, keep_ms: int) -> int:
        with self._transaction(write=True) as conn:
            tokens = conn.execute("DELETE FROM one_time_tokens WHERE expires_at <= ?", (now,)).rowcount
            mails = conn.execute(
                "DELETE FROM mail_outbox WHERE finished_at IS NOT NULL AND finished_at <= ?", (now - keep_ms,)
            ).rowcount
        return tokens + mails

    # Attachments' metadata ------------------------------------------------------------
    # A message's references are written in its send's transaction and removed in its
    # deletion's, so every reference here is a message that exists and is not deleted.
    def add_attachment(self, attachment: Attachment) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO attachments (attachment_id, uploader_id, filename, content_type, size, sha256,"
                " width, height, blob_id, thumbnail_blob_id, thumbnail_type, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    attachment.attachment_id,
                    attachment.uploader_id,
                    attachment.filename,
                    attachment.content_type,
                    attachment.size,
                    attachment.sha256,
                    attachment.width,
                    attachment.height,
                    attachment.blob_id,
                    attachment.thumbnail_blob_id,
                    attachment.thumbnail_type,
                    attachment.created_at,
                ),
            )

    def get_attachment(self, attachment_id: str) -> Attachment | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT * FROM attachments WHERE attachment_id = ?", (attachment_id,)
            ).fetchone()
        return _attachment(row) if row else None

    def attachment_bytes_used(self, user_id: str) -> int:
        with self._connection() as conn:
            return conn.execute(
                "SELECT COALESCE(SUM(size), 0) FROM attachments WHERE uploader_id = ?", (user_id,)
            ).fetchone()[0]

    def can_read_attachment(self, attachment_id: str, user_id: str) -> bool:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM attachments WHERE attachment_id = ?1 AND uploader_id = ?2"
                " UNION ALL SELECT 1 FROM attachment_refs r"
                " JOIN memberships ms ON ms.user_id = ?2 AND ms.thread_id = r.thread_id"
                " WHERE r.attachment_id = ?1 LIMIT 1",
                (attachment_id, user_id),
            ).fetchone()
        return row is not None

    def orphan_attachments(
        self, created_before: int, limit: int, uploader_id: str | None = None
    ) -> list[Attachment]:
        by_uploader = "uploader_id = :uploader AND " if uploader_id is not None else ""
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT * FROM attachments AS a WHERE {by_uploader}created_at < :before AND {UNREFERENCED}"
                " ORDER BY created_at LIMIT :limit",
                {"uploader": uploader_id, "before": created_before, "limit": limit},
            ).fetchall()
        return [_attachment(row) for row in rows]

    def forget_attachment(self, attachment_id: str, created_before: int) -> Attachment | None:
        """One statement: the check that nothing refers to it and the delete are atomic."""
        with self._connection() as conn:
            row = conn.execute(
                f"DELETE FROM attachments AS a WHERE attachment_id = ? AND created_at < ? AND {UNREFERENCED}"
                " RETURNING *",
                (attachment_id, created_before),
            ).fetchone()
        return _attachment(row) if row else None

    def blobs_in_use(self, blob_ids: list[str]) -> set[str]:
        used: set[str] = set()
        with self._connection() as conn:
            for start in range(0, len(blob_ids), IN_BATCH):
                batch = blob_ids[start : start + IN_BATCH]
                marks = ", ".join("?" * len(batch))
                rows = conn.execute(
                    f"SELECT blob_id FROM attachments WHERE blob_id IN ({marks})"
                    f" UNION SELECT thumbnail_blob_id FROM attachments WHERE thumbnail_blob_id IN ({marks})",
                    (*batch, *batch),
                )
                used.update(row[0] for row in rows)
        return used

    # Leaving the service --------------------------------------------------------------
    # Disabling and tombstoning are one transaction each with the deletion of the tokens, and
    # add_session refuses such accounts: nothing to order.
    def list_accounts(self, after: str | None, limit: int) -> list[User]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT * FROM users WHERE user_id > ? ORDER BY user_id LIMIT ?", (after or "", limit)
            ).fetchall()
        return [_user(row) for row in rows]

    def set_disabled(self, user_id: str, disabled: bool, now: int) -> list[str]:
        with self._transaction(write=True) as conn:
            row = conn.execute(
                "SELECT disabled_at FROM users WHERE user_id = ? AND deleted_at IS NULL", (user_id,)
            ).fetchone()
            if row is None:
                raise UserNotFound()
            if not disabled:
                conn.execute("UPDATE users SET disabled_at = NULL WHERE user_id = ?", (user_id,))
                return []
            conn.execute(
                "UPDATE users SET disabled_at = coalesce(disabled_at, ?) WHERE user_id = ?",
                (now, user_id),
            )
            return _delete_tokens(conn, user_id)

    def mark_deleted(self, user_id: str, now: int, reserved_until: int) -> AccountDeleted:
        with self._transaction(write=True) as conn:
            row = conn.execute("SELECT * FROM users WHERE user_id = ?", (user_id,)).fetchone()
            if row is None:
                raise UserNotFound()
            cursors: Cursors = {}
            if row["deleted_at"] is None:
                conn.execute(
                    "INSERT INTO reserved_usernames (username_key, until) VALUES (?, ?)"
                    " ON CONFLICT (username_key) DO UPDATE SET until = max(until, excluded.until)",
                    (row["username_key"], reserved_until),
                )
                key = rules.tombstone_key(user_id)
                conn.execute(
                    "UPDATE users SET email = '', email_key = ?, username = ?, username_key = ?,"
                    " password_hash = '', display_name = NULL, avatar_id = NULL, deleted_at = ?"
                    " WHERE user_id = ?",
                    (key, DELETED_USERNAME, key, now, user_id),
                )
                tombstone = _user(
                    conn.execute("SELECT * FROM users WHERE user_id = ?", (user_id,)).fetchone()
                )
                told = rules.told_of_profile(user_id, _co_member_ids(conn, user_id))
                cursors = _append(conn, told, USER_UPDATED, user_updated_body(tombstone), now)
            return AccountDeleted(_delete_tokens(conn, user_id), cursors)

    def own_messages(self, user_id: str, after: tuple[str, int] | None, limit: int) -> list[Message]:
        thread_id, seq = after or ("", 0)
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE user_id = ?"
                " AND (thread_id > ? OR (thread_id = ? AND seq > ?)) ORDER BY thread_id, seq LIMIT ?",
                (user_id, thread_id, thread_id, seq, limit),
            ).fetchall()
            by_thread: dict[str, list[sqlite3.Row]] = {}
            for row in rows:
                by_thread.setdefault(row["thread_id"], []).append(row)
            return [message for tid, group in by_thread.items() for message in _messages(conn, tid, group)]

    def delete_own_message(self, thread_id: str, seq: int, user_id: str, now: int) -> MessageChanged:
        with self._transaction(write=True) as conn:
            message = _require_message(conn, thread_id, seq)
            if message.user_id != user_id:
                raise MessageNotFound()
            return _delete_in(conn, message, now)

    def member_thread_ids(self, user_id: str) -> list[str]:
        with self._connection() as conn:
            rows = conn.execute("SELECT thread_id FROM memberships WHERE user_id = ?", (user_id,))
            return [row["thread_id"] for row in rows]

    def forget_user(self, user_id: str) -> None:
        with self._transaction(write=True) as conn:
            conn.execute("DELETE FROM blocks WHERE blocker_id = ?", (user_id,))
            conn.execute("DELETE FROM invitations WHERE user_id = ?", (user_id,))
            _delete_tokens(conn, user_id)


# Helpers that run inside a caller's transaction ---------------------------------------
def _username_reserved(conn: sqlite3.Connection, username: str, now: int) -> bool:
    """Whether a deleted account's cool-down still holds ``username``."""
    row = conn.execute(
        "SELECT 1 FROM reserved_usernames WHERE username_key = ? AND until > ?", (username.lower(), now)
    ).fetchone()
    return row is not None


def _delete_tokens(conn: sqlite3.Connection, user_id: str) -> list[str]:
    rows = conn.execute("DELETE FROM tokens WHERE user_id = ? RETURNING token_hash", (user_id,)).fetchall()
    return [row["token_hash"] for row in rows]


def _delete_in(conn: sqlite3.Connection, message: Message, now: int) -> MessageChanged:
    """Erase ``message`` from every stored copy and tell every member (``delete_message``)."""
    thread_id, seq = message.thread_id, message.seq
    if message.deleted:
        return MessageChanged(message, changed=False)
    conn.execute(
        "UPDATE messages SET contents = '', deleted = 1, version = version + 1, mentions = NULL,"
        " reply_seq = NULL, reply_user_id = NULL, reply_preview = NULL, attachments = NULL"
        " WHERE thread_id = ? AND seq = ?",
        (thread_id, seq),
    )
    _forget_mentions(conn, thread_id, seq)
    conn.execute("DELETE FROM reactions WHERE thread_id = ? AND seq = ?", (thread_id, seq))
    conn.execute(
        "UPDATE messages SET reply_preview = '' WHERE thread_id = ? AND reply_seq = ?",
        (thread_id, seq),
    )
    _erase_from_updates(conn, message)
    freed = _release_attachments(conn, message)
    gone = _require_message(conn, thread_id, seq)
    told = _told(conn, gone, MESSAGE_DELETED, message_deleted_body(gone), now)
    return replace(told, freed_attachments=freed) if freed else told


def _send_in(conn: sqlite3.Connection, new: NewMessage) -> Sent:
    members = _member_ids(conn, new.thread_id)
    if new.user_id not in members:  # first: a removed member cannot even retry
        raise ThreadNotFound()
    retried = _find_retry(conn, new)
    if retried is not None:
        if retried.thread_id != new.thread_id:
            raise ClientMsgIdConflict()
        return Sent(retried, created=False)
    quote = None
    if new.reply_to_seq is not None:
        quote = quote_of(_require_message(conn, new.thread_id, new.reply_to_seq, ReplyNotFound))
    attachments = _attachments_sent(conn, new) if new.attachment_ids else None
    seq = conn.execute(
        "UPDATE threads SET last_seq = last_seq + 1 WHERE thread_id = ? RETURNING last_seq",
        (new.thread_id,),
    ).fetchone()["last_seq"]
    message = new.stored_as(seq, quote, attachments)
    conn.execute(f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES ({MESSAGE_VALUES})", _row_of(message))
    _insert_mentions(conn, message.thread_id, seq, message.mentions)
    if attachments:
        conn.executemany(
            "INSERT INTO attachment_refs (attachment_id, message_id, thread_id) VALUES (?, ?, ?)",
            [(a["attachment_id"], message.message_id, message.thread_id) for a in attachments],
        )
    conn.execute(
        "UPDATE memberships SET last_seq = ?, last_activity = ?,"
        " last_read_seq = CASE WHEN user_id = ? THEN ? ELSE last_read_seq END WHERE thread_id = ?",
        (seq, message.timestamp, message.user_id, seq, message.thread_id),
    )
    told = rules.told_of_message(members)
    cursors = _append(conn, told, MESSAGE_NEW, message_new_body(message), message.timestamp)
    return Sent(message, created=True, cursors=cursors, message_cursors=cursors)


def _attachments_sent(conn: sqlite3.Connection, new: NewMessage) -> list[dict]:
    """What ``new`` carries of its attachments; ``UnknownAttachments`` unless its sender
    uploaded every one (before the seq is taken, so a refused send uses none)."""
    requested = rules.requested_attachments(new.attachment_ids)
    rows = conn.execute(
        f"SELECT * FROM attachments WHERE attachment_id IN ({', '.join('?' * len(requested))})"
        " AND uploader_id = ?",
        (*requested, new.user_id),
    ).fetchall()
    carried, missing = rules.attachments_sent(requested, map(_attachment, rows))
    if missing:
        raise UnknownAttachments(missing)
    return carried


def _release_attachments(conn: sqlite3.Connection, message: Message) -> list[Attachment]:
    """A deleted message no longer refers to its attachments: forget those nothing else
    refers to, and return them (their blobs are the caller's to delete)."""
    attachment_ids = rules.attachment_ids_of(message)
    if not attachment_ids:
        return []
    conn.execute("DELETE FROM attachment_refs WHERE message_id = ?", (message.message_id,))
    rows = conn.execute(
        f"DELETE FROM attachments AS a WHERE attachment_id IN ({', '.join('?' * len(attachment_ids))})"
        f" AND {UNREFERENCED} RETURNING *",
        attachment_ids,
    ).fetchall()
    freed = {row["attachment_id"]: _attachment(row) for row in rows}
    return [freed[a] for a in attachment_ids if a in freed]


def _told(conn: sqlite3.Connection, message: Message, kind: str, body: dict, now: int) -> MessageChanged:
    """A change to ``message`` made: tell every member."""
    told = rules.told_of_change(_member_ids(conn, message.thread_id))
    return MessageChanged(message, changed=True, cursors=_append(conn, told, kind, body, now))


def _reaction_told(
    conn: sqlite3.Connection, thread_id: str, seq: int, user_id: str, emoji: str, kind: str, now: int
) -> MessageChanged:
    conn.execute(
        "UPDATE messages SET version = version + 1 WHERE thread_id = ? AND seq = ?", (thread_id, seq)
    )
    message = _require_message(conn, thread_id, seq)
    return _told(conn, message, kind, reaction_body(message, user_id, emoji), now)


def _has_reacted(conn: sqlite3.Connection, thread_id: str, seq: int, emoji: str, user_id: str) -> bool:
    """Whether this reaction is there, also past the user ids a summary lists."""
    row = conn.execute(
        "SELECT 1 FROM reactions WHERE thread_id = ? AND seq = ? AND emoji = ? AND user_id = ?",
        (thread_id, seq, emoji, user_id),
    ).fetchone()
    return row is not None


def _erase_from_updates(conn: sqlite3.Connection, message: Message) -> None:
    """Rewrite every stored update body holding the text of ``message`` without it.

    A message.new is found by its send's time (it is appended at ``message.timestamp``, and
    the age index finds that millisecond's few rows), its own and those of the replies quoting
    it; every other update holding text (an edit, a joiner's thread.new) by its refs. So a send,
    the frequent write, indexes nothing more for erasure.
    """
    thread_id, seq = message.thread_id, message.seq
    replies = conn.execute(
        "SELECT timestamp FROM messages WHERE thread_id = ? AND reply_seq = ?", (thread_id, seq)
    ).fetchall()
    sent_at = sorted({message.timestamp, *(row["timestamp"] for row in replies)})
    rows = conn.execute(
        "SELECT user_id, cursor, type, body FROM updates WHERE ref_thread = ?1 AND ref_seq = ?2"
        " UNION SELECT user_id, cursor, type, body FROM updates WHERE ref_thread = ?1 AND ref_quoted = ?2",
        (thread_id, seq),
    ).fetchall()
    for at in sent_at:
        rows += conn.execute(
            "SELECT user_id, cursor, type, body FROM updates WHERE created_at = ? AND type = ?",
            (at, MESSAGE_NEW),
        ).fetchall()
    for row in rows:
        erased = rules.erase_from_body(row["type"], json.loads(row["body"]), thread_id, seq)
        if erased is not None:
            conn.execute(
                "UPDATE updates SET body = ? WHERE user_id = ? AND cursor = ?",
                (compact_json(erased), row["user_id"], row["cursor"]),
            )


def _backfill_text_refs(conn: sqlite3.Connection) -> None:
    """Note ``rules.text_refs`` on every update that holds message text and lacks them (a
    message.new needs none: see ``_erase_from_updates``)."""
    rows = conn.execute(
        "SELECT user_id, cursor, type, body FROM updates WHERE ref_thread IS NULL AND type IN (?, ?)",
        (MESSAGE_EDITED, THREAD_NEW),
    )
    refs = [
        (
            *(rules.text_refs(row["type"], json.loads(row["body"])) or (None, None, None)),
            row["user_id"],
            row["cursor"],
        )
        for row in rows
    ]
    conn.executemany(
        "UPDATE updates SET ref_thread = ?, ref_seq = ?, ref_quoted = ? WHERE user_id = ? AND cursor = ?",
        refs,
    )


def _insert_mentions(conn: sqlite3.Connection, thread_id: str, seq: int, user_ids: list[str]) -> None:
    if not user_ids:
        return
    conn.executemany(
        "INSERT OR IGNORE INTO mentions (thread_id, seq, user_id) VALUES (?, ?, ?)",
        [(thread_id, seq, user_id) for user_id in user_ids],
    )


def _forget_mentions(conn: sqlite3.Connection, thread_id: str, seq: int) -> None:
    conn.execute("DELETE FROM mentions WHERE thread_id = ? AND seq = ?", (thread_id, seq))


def _append(conn: sqlite3.Connection, user_ids: list[str], kind: str, body: dict, now: int) -> Cursors:
    """Append one update to each user's log, in the caller's transaction; the body is encoded once."""
    encoded = compact_json(body)
    # A message.new is found again by its time (``_erase_from_updates``): no refs to index.
    refs = None if kind == MESSAGE_NEW else rules.text_refs(kind, body)
    ref_thread, ref_seq, ref_quoted = refs or (None, None, None)
    cursors = {}
    for user_id in user_ids:
        cursor = conn.execute(
            "INSERT INTO update_logs (user_id, last_cursor) VALUES (?, 1)"
            " ON CONFLICT (user_id) DO UPDATE SET last_cursor = last_cursor + 1 RETURNING last_cursor",
            (user_id,),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO updates (user_id, cursor, type, body, created_at, ref_thread, ref_seq, ref_quoted)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (user_id, cursor, kind, encoded, now, ref_thread, ref_seq, ref_quoted),
        )
        cursors[user_id] = cursor
    return cursors


def _announce_joined(conn: sqlite3.Connection, thread_id: str, added: list[str], now: int) -> Cursors:
    """member.added to every member for each newly added one, and thread.new to the joiner."""
    cursors: Cursors = {}
    members = _member_ids(conn, thread_id)
    for user_id in added:
        told = rules.told_of_addition(members, user_id)
        cursors |= _append(conn, told, MEMBER_ADDED, member_body(thread_id, user_id), now)
        view = _view_for(conn, thread_id, user_id)
        cursors |= _append(conn, rules.told_of_joining(user_id), THREAD_NEW, thread_new_body(view), now)
    return cursors


def _seen_by_a_member(conn: sqlite3.Connection, thread_id: str, preferred_id: str) -> ThreadView | None:
    """The thread as ``preferred_id`` sees it, or as its earliest member does; None if empty."""
    views = _thread_views(conn, "ms.user_id = ? AND ms.thread_id = ?", (preferred_id, thread_id))
    if not views:
        views = _thread_views(conn, "ms.thread_id = ? ORDER BY ms.joined_at LIMIT 1", (thread_id,))
    return views[0] if views else None


def _invitation(conn: sqlite3.Connection, thread_id: str, user_id: str) -> Invitation | None:
    row = conn.execute(
        "SELECT invited_by, invited_at, declined_at FROM invitations WHERE thread_id = ? AND user_id = ?",
        (thread_id, user_id),
    ).fetchone()
    if row is None:
        return None
    return Invitation(thread_id, user_id, row["invited_by"], row["invited_at"], row["declined_at"])


def _log_state(conn: sqlite3.Connection, user_id: str) -> tuple[int, int]:
    """(last_cursor, floor) of a user's log; (0, 0) before the first update."""
    row = conn.execute("SELECT last_cursor, floor FROM update_logs WHERE user_id = ?", (user_id,)).fetchone()
    return (row["last_cursor"], row["floor"]) if row else (0, 0)


def _co_member_ids(conn: sqlite3.Connection, user_id: str) -> list[str]:
    """Everyone who shares a thread with ``user_id`` (the user too, while in any thread)."""
    rows = conn.execute(
        "SELECT DISTINCT other.user_id FROM memberships mine"
        " JOIN memberships other ON other.thread_id = mine.thread_id WHERE mine.user_id = ?",
        (user_id,),
    )
    return [row["user_id"] for row in rows]


def _member_ids(conn: sqlite3.Connection, thread_id: str) -> list[str]:
    rows = conn.execute("SELECT user_id FROM memberships WHERE thread_id = ? ORDER BY user_id", (thread_id,))
    return [row["user_id"] for row in rows]


def _view_for(conn: sqlite3.Connection, thread_id: str, user_id: str) -> ThreadView:
    views = _thread_views(conn, "ms.user_id = ? AND ms.thread_id = ?", (user_id, thread_id))
    if not views:
        raise ThreadNotFound()
    return views[0]


def _find_retry(conn: sqlite3.Connection, new: NewMessage) -> Message | None:
    if new.client_msg_id is None:
        return None
    row = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE user_id = ? AND client_msg_id = ?",
        (new.user_id, new.client_msg_id),
    ).fetchone()
    return _messages(conn, row["thread_id"], [row])[0] if row else None


def _reopened(conn: sqlite3.Connection, thread: NewThread, retried: Message) -> Opened:
    """Answer a retried create_thread with what the first attempt made."""
    row = conn.execute(
        "SELECT kind, direct_key, created_by FROM threads WHERE thread_id = ?", (retried.thread_id,)
    ).fetchone()
    if not rules.is_same_opening(thread, row["kind"], row["direct_key"], row["created_by"], retried):
        raise ClientMsgIdConflict()
    return Opened(retried.thread_id, retried, created=False)


def _insert_memberships(
    conn: sqlite3.Connection, thread_id: str, user_ids: list[str], now: int, last_seq: int, added_by: str
) -> None:
    conn.executemany(
        "INSERT INTO memberships"
        " (user_id, thread_id, joined_at, last_activity, last_seq, last_read_seq, added_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(user_id, thread_id, now, now, last_seq, last_seq, added_by) for user_id in user_ids],
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
    """Thread views with their unread counts: a send moves the sender's own read marker past
    their message in the same transaction and seqs have no gaps, so every message after a
    member's marker is someone else's and ``last_seq - last_read_seq`` counts them, less the
    deleted ones among them (an index of deleted messages counts those)."""
    rows = conn.execute(
        "SELECT t.thread_id, t.kind, t.title, t.created_by, t.created_at, ms.user_id AS viewer,"
        " ms.last_activity, ms.last_seq, ms.last_read_seq,"
        " m.seq AS m_seq, m.user_id AS m_user_id, m.contents AS m_contents, m.timestamp AS m_timestamp,"
        " m.deleted AS m_deleted,"
        " (SELECT COUNT(*) FROM messages d WHERE d.thread_id = ms.thread_id AND d.deleted = 1"
        "  AND d.seq > ms.last_read_seq AND d.seq <= ms.last_seq) AS deleted_unread,"
        " (SELECT COUNT(*) FROM mentions mn WHERE mn.user_id = ms.user_id AND mn.thread_id = ms.thread_id"
        "  AND mn.seq > ms.last_read_seq) AS unread_mentions"
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
            unread_count=row["last_seq"] - row["last_read_seq"] - row["deleted_unread"],
            last_message=None
            if row["m_seq"] is None
            else Preview.of(
                row["m_seq"], row["m_user_id"], row["m_contents"], row["m_timestamp"], bool(row["m_deleted"])
            ),
            unread_mentions=row["unread_mentions"],
        )
        for row in rows
    ]


def _members_of(conn: sqlite3.Connection, thread_ids: list[str]) -> dict[str, list[Member]]:
    marks = ",".join("?" * len(thread_ids))
    rows = conn.execute(
        "SELECT ms.thread_id, u.user_id, u.username, u.display_name, u.avatar_id"
        " FROM memberships ms JOIN users u ON u.user_id = ms.user_id"
        f" WHERE ms.thread_id IN ({marks}) ORDER BY ms.joined_at, u.username_key",
        thread_ids,
    ).fetchall()
    members: dict[str, list[Member]] = {}
    for row in rows:
        member = Member(row["user_id"], row["username"], row["display_name"], row["avatar_id"])
        members.setdefault(row["thread_id"], []).append(member)
    return members


def _require_avatar(conn: sqlite3.Connection, attachment_id: str, user_id: str) -> None:
    """An avatar is an image its user uploaded (it has a thumbnail, which is what is shown)."""
    row = conn.execute(
        "SELECT 1 FROM attachments"
        " WHERE attachment_id = ? AND uploader_id = ? AND thumbnail_blob_id IS NOT NULL",
        (attachment_id, user_id),
    ).fetchone()
    if row is None:
        raise InvalidAvatar()


def _user(row: sqlite3.Row) -> User:
    return User(
        row["user_id"],
        row["email"],
        row["username"],
        row["created_at"],
        row["display_name"],
        bool(row["email_verified"]),
        disabled=row["disabled_at"] is not None,
        deleted=row["deleted_at"] is not None,
        avatar_id=row["avatar_id"],
    )


def _one_time_token(row: sqlite3.Row) -> OneTimeToken:
    return OneTimeToken(
        row["token_hash"], row["purpose"], row["user_id"], row["email"], row["created_at"], row["expires_at"]
    )


def _outgoing_mail(row: sqlite3.Row) -> OutgoingMail:
    return OutgoingMail(
        row["mail_id"], row["user_id"], row["recipient"], row["subject"], row["body"], row["created_at"]
    )


def _session(row: sqlite3.Row) -> Session:
    return Session(
        token_hash=row["token_hash"],
        user_id=row["user_id"],
        device=row["device"],
        created_at=row["created_at"],
        last_seen_at=row["last_seen_at"] if row["last_seen_at"] is not None else row["created_at"],
        expires_at=row["expires_at"],
        address=row["address"],
    )


def _require_message(
    conn: sqlite3.Connection, thread_id: str, seq: int, missing: type[MessengerError] = MessageNotFound
) -> Message:
    row = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE thread_id = ? AND seq = ?", (thread_id, seq)
    ).fetchone()
    if row is None:
        raise missing()
    return _messages(conn, thread_id, [row])[0]


def _messages(conn: sqlite3.Connection, thread_id: str, rows: list[sqlite3.Row]) -> list[Message]:
    """Rows of one thread selected with ``MESSAGE_COLUMNS``, with their reactions, as model values."""
    if not rows:
        return []
    seqs = [row["seq"] for row in rows]
    found = conn.execute(
        "SELECT seq, emoji, user_id FROM reactions WHERE thread_id = ? AND seq BETWEEN ? AND ?"
        " ORDER BY seq, emoji_since, added_version",
        (thread_id, min(seqs), max(seqs)),
    ).fetchall()
    by_seq: dict[int, list[tuple[str, str]]] = {}
    for reaction in found:
        by_seq.setdefault(reaction["seq"], []).append((reaction["emoji"], reaction["user_id"]))
    return [_message(row, rules.reaction_summary(by_seq.get(row["seq"], ()))) for row in rows]


def _message(row: sqlite3.Row, reactions: list[dict]) -> Message:
    """A row selected with ``MESSAGE_COLUMNS`` as a model value (by position: a page builds
    fifty of these, and keyword unpacking cost as much as the query)."""
    quoted, mentions, attachments = row["reply_seq"], row["mentions"], row["attachments"]
    return Message(
        row["message_id"],
        row["thread_id"],
        row["seq"],
        row["user_id"],
        row["contents"],
        row["timestamp"],
        row["client_timestamp"],
        row["client_msg_id"],
        row["edited_at"],
        row["edit_count"],
        bool(row["deleted"]),
        row["version"],
        None
        if quoted is None
        else {"seq": quoted, "user_id": row["reply_user_id"], "preview": row["reply_preview"]},
        json.loads(mentions) if mentions else [],
        reactions,
        json.loads(attachments) if attachments else [],
    )


def _row_of(message: Message) -> dict:
    """A new message as the values of ``MESSAGE_COLUMNS``."""
    quoted = message.reply_to or {}
    return {
        **{name: getattr(message, name) for name in PLAIN_FIELDS},
        "reply_seq": quoted.get("seq"),
        "reply_user_id": quoted.get("user_id"),
        "reply_preview": quoted.get("preview"),
        "mentions": _mentions_json(message.mentions),
        "attachments": json.dumps(message.attachments) if message.attachments else None,
    }


def _attachment(row: sqlite3.Row) -> Attachment:
    return Attachment(
        attachment_id=row["attachment_id"],
        uploader_id=row["uploader_id"],
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        created_at=row["created_at"],
        blob_id=row["blob_id"],
        width=row["width"],
        height=row["height"],
        thumbnail_blob_id=row["thumbnail_blob_id"],
        thumbnail_type=row["thumbnail_type"],
    )


def _mentions_json(user_ids: list[str]) -> str | None:
    return json.dumps(user_ids) if user_ids else None
