"""Fixtures shared by every test: stores of each kind, an app per test, API clients."""

from __future__ import annotations

import os

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
