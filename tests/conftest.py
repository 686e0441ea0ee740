"""Fixtures shared by every test: stores of each kind, an app per test, API clients."""

from __future__ import annotations

import functools
import os
import threading

import mongomock
import pytest
from flask import Flask
from flask.testing import FlaskClient

from messenger.store.mongo import MongoStore
from messenger.store.sqlite import SqliteStore

STORE_KINDS = ["sqlite", "mongomock", "mongodb"]


class WrittenResponsesClient(FlaskClient):
    """Flask's test client, closing each response as a WSGI server does once it has written it
    (werkzeug's leaves that to the test): the app counts a request in flight until then."""

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


Flask.test_client_class = WrittenResponsesClient

# A MongoDB server applies each write to a document atomically: a filtered update either finds
# the document as the filter says and changes it, or does not match. mongomock matches, then
# changes, with no lock between, so two threads racing a compare-and-set could both win. Every
# mongomock write holds one lock here, so the stand-in keeps MongoDB's per-document atomicity
# (the stores' race tests rely on it; SQLite and a real server need nothing).
_MONGOMOCK_WRITES = threading.RLock()


def _one_write_at_a_time(write):
    @functools.wraps(write)
    def locked(*args, **kwargs):
        with _MONGOMOCK_WRITES:
            return write(*args, **kwargs)

    return locked


for _write in ("_insert", "_update", "_find_and_modify", "_delete"):
    setattr(mongomock.Collection, _write, _one_write_at_a_time(getattr(mongomock.Collection, _write)))


def build_store(kind: str, tmp_path, request):
    """Build a fresh, set-up store of ``kind``; a real MongoDB only when MONGODB_URI is set."""
    if kind == "sqlite":
        store = SqliteStore(str(tmp_path / "messenger.db"))
    elif kind == "mongomock":
        store = MongoStore(mongomock.MongoClient(), "messenger_test")
    else:
        uri = os.environ.get("MONGODB_URI")
        if not uri:
            pytest.skip("MONGODB_URI is not set: the contract suite ran on SQLite and mongomock only")
        import pymongo

        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=3000)
        db_name = f"messenger_test_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
        request.addfinalizer(lambda: client.drop_database(db_name))
        store = MongoStore(client, db_name)
    store.setup()
    request.addfinalizer(store.close)
    return store


@pytest.fixture(params=STORE_KINDS)
def store(request, tmp_path):
    return build_store(request.param, tmp_path, request)


def pytest_terminal_summary(terminalreporter):
    if not os.environ.get("MONGODB_URI"):
        terminalreporter.write_line(
            "note: MONGODB_URI is not set, so the contract suite's real-MongoDB runs were skipped "
            "(it ran on SQLite and mongomock)."
        )
