"""The readiness heartbeat is a real write, and one record however often it is written."""

from __future__ import annotations

import sqlite3

from messenger.store.sqlite import SqliteStore


def stored_heartbeats(store) -> list[int]:
    """What the adapter keeps, read beside the port (the port has no reader for it)."""
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as conn:
            return [row[0] for row in conn.execute("SELECT beat_at FROM heartbeat")]
    return [doc["beat_at"] for doc in store._db["heartbeat"].find()]


def test_the_heartbeat_keeps_one_record_holding_the_last_time(store):
    for beat_at in (1_000, 2_000, 3_000):
        store.heartbeat(beat_at)

    assert stored_heartbeats(store) == [3_000]
