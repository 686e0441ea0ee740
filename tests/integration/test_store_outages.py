"""A store that is down: requests fail fast with 503 store_unavailable, and recover by themselves."""

from __future__ import annotations

import sqlite3
import time

from messenger import create_app
from messenger.config import Settings
from messenger.service.health import CHECK_INTERVAL_S

from .live import free_port


def signup(client, name: str) -> dict:
    body = {"email": f"{name}@example.com", "username": name, "password": "correct horse battery"}
    reply = client.post("/auth/signup", json=body)
    assert reply.status_code == 201, reply.get_json()
    user = reply.get_json()
    return {**user, "headers": {"Authorization": f"Bearer {user['token']}"}}


def error_code(reply) -> str:
    return reply.get_json()["error"]["code"]


def test_a_sqlite_file_locked_too_long_gives_503_then_recovers(tmp_path):
    path = tmp_path / "m.db"
    client = create_app(
        Settings(sqlite_path=str(path), sqlite_busy_timeout_ms=200, prune_interval_s=0)
    ).test_client()
    alice, bob = signup(client, "alice"), signup(client, "bob")
    body = {
        "user_ids": [alice["user_id"], bob["user_id"]],
        "message": {"user_id": alice["user_id"], "contents": "hi", "timestamp": 1},
    }
    thread_id = client.post("/threads", json=body, headers=alice["headers"]).get_json()["thread"]["thread_id"]
    send = {"thread_id": thread_id, "message": {"user_id": alice["user_id"], "contents": "x", "timestamp": 1}}

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    try:
        started = time.monotonic()
        refused = client.post("/message", json=send, headers=alice["headers"])
        assert (refused.status_code, error_code(refused)) == (503, "store_unavailable")
        assert time.monotonic() - started < 2
        assert client.get("/readyz").status_code == 503
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    time.sleep(CHECK_INTERVAL_S)  # a worker checks readiness again at most this often
    assert client.get("/readyz").status_code == 200
    accepted = client.post("/message", json=send, headers=alice["headers"])
    assert accepted.status_code == 201 and accepted.get_json()["message"]["seq"] == 2  # nothing half-written


def test_an_unreachable_mongodb_gives_503_fast_and_the_app_still_boots():
    closed_port = free_port()
    settings = Settings(
        mongodb_uri=f"mongodb://127.0.0.1:{closed_port}", mongodb_timeout_ms=300, prune_interval_s=0
    )
    client = create_app(settings).test_client()  # boots, retrying the index set-up in the background
    assert client.get("/healthz").status_code == 200
    for request in (
        lambda: client.get("/readyz"),
        lambda: client.post("/auth/signin", json={"login": "alice", "password": "correct horse battery"}),
        lambda: client.get("/threads", headers={"Authorization": "Bearer some-token"}),
    ):
        started = time.monotonic()
        reply = request()
        assert (reply.status_code, error_code(reply)) == (503, "store_unavailable")
        assert time.monotonic() - started < 2
