"""One app per test on its own SQLite file, with a server clock the test controls."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from messenger import create_app
from messenger.config import Settings
from messenger.lifecycle import stop_pruning
from messenger.model import ANYONE
from messenger.ports import Store
from messenger.wiring import build_deps, build_store

from ..clock import Clock
from .client import Api

DAY_MS = 24 * 60 * 60 * 1000


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_app(tmp_path, clock) -> Iterator[Callable[..., Flask]]:
    """Build an app on a fresh SQLite file; keyword arguments override settings.

    Rate limits are off unless a test turns them on: these tests sign up many users at once.
    Anyone may add anyone to a group unless a test says otherwise (GROUP_ADD_POLICY): most
    tests make groups of people who share no 1:1 thread, to test something else.
    """
    stores: list[Store] = []
    apps: list[Flask] = []

    def make(**overrides) -> Flask:
        path = tmp_path / f"m{len(stores)}.db"
        settings = Settings(
            sqlite_path=str(path), rate_limits_enabled=False, group_add_policy=ANYONE
        ).with_overrides(**overrides)
        store = build_store(settings)
        store.setup()
        stores.append(store)
        apps.append(create_app(settings, deps=build_deps(settings, store, clock=clock)))
        return apps[-1]

    yield make
    for made in apps:
        stop_pruning(made)
    for store in stores:
        store.close()


@pytest.fixture
def make_api(make_app) -> Callable[..., Api]:
    """``make_api(max_message_length=10)``: an ``Api`` over an app with those settings."""
    return lambda **overrides: Api(make_app(**overrides).test_client())


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def api(app) -> Api:
    return Api(app.test_client())
