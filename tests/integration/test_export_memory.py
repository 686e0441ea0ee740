"""A large export streams out of a live worker without being built in its memory."""

from __future__ import annotations

import json
import uuid

import requests
from werkzeug.security import generate_password_hash

from messenger.model import DIRECT, NewMessage, NewThread, User
from messenger.store.sqlite import SqliteStore

from .live import LiveServer

MESSAGES = 6000
CONTENTS = "x" * 3900  # near MAX_MESSAGE_LENGTH: about 24 MB of text in all
# Built whole, the export would hold its ~25 MB of JSON and several times that in Python
# objects; streamed, a page of 500 messages (~2 MB) at a time. Generous either way.
GROWTH_BOUND_MIB = 20


def seed(path: str) -> None:
    """Two users and one thread of MESSAGES messages, written straight into the file."""
    store = SqliteStore(path)
    store.setup()
    alice = User(uuid.uuid4().hex, "alice@example.com", "alice", 1)
    bob = User(uuid.uuid4().hex, "bob@example.com", "bob", 1)
    for user in (alice, bob):
        store.add_user(user, generate_password_hash("correct horse battery"))
    thread_id = uuid.uuid4().hex

    def message(index: int) -> NewMessage:
        return NewMessage(uuid.uuid4().hex, thread_id, alice.user_id, CONTENTS, index, index)

    store.open_thread(
        NewThread(thread_id, DIRECT, None, alice.user_id, 1, [alice.user_id, bob.user_id]), message(0)
    )
    for index in range(1, MESSAGES):
        store.send(message(index))
    store.close()


def test_a_large_export_streams_within_a_bounded_worker_memory(tmp_path):
    seed(str(tmp_path / "m.db"))
    env = {"MESSENGER_DB": str(tmp_path / "m.db"), "RATE_LIMIT_EXPORT": "100 per hour"}
    server = LiveServer(env, log_path=tmp_path / "gunicorn.log").start()
    try:
        signed_in = requests.post(
            server.url + "/auth/signin",
            json={"login": "alice", "password": "correct horse battery"},
            timeout=10,
        )
        token = signed_in.json()["token"]
        before = peak = server.worker_rss_mib()
        body = bytearray()
        with requests.get(
            server.url + "/me/export", headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=60
        ) as reply:
            assert reply.status_code == 200
            assert "attachment" in reply.headers["Content-Disposition"]
            for piece in reply.iter_content(chunk_size=256 * 1024):
                body += piece
                peak = max(peak, server.worker_rss_mib())
        document = json.loads(body)
        assert len(document["messages"]) == MESSAGES
        assert len(body) > MESSAGES * len(CONTENTS)
        assert peak - before < GROWTH_BOUND_MIB, f"worker grew from {before:.0f} to {peak:.0f} MiB"
    finally:
        server.stop()
