"""Health checks, the OpenAPI document and the offline docs page."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from messenger import create_app
from messenger.config import Settings
from messenger.service.health import CHECK_INTERVAL_S, ReadinessCheck
from messenger.wiring import build_deps, build_store

from .client import error_of


def test_healthz_says_ok(api):
    response = api.client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_says_ready_when_the_store_answers(api):
    response = api.client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}


def test_an_unreachable_store_is_a_503_for_readyz_and_every_route(tmp_path, clock):
    settings = Settings(sqlite_path=str(tmp_path), prune_interval_s=0)  # a directory: SQLite cannot open it
    app = create_app(settings, deps=build_deps(settings, build_store(settings), clock=clock))
    client = app.test_client()

    assert client.get("/healthz").status_code == 200
    error_of(client.get("/readyz"), 503, "store_unavailable")
    error_of(client.post("/auth/signin", json={"login": "alice", "password": "x"}), 503, "store_unavailable")
    error_of(client.get("/threads", headers={"Authorization": "Bearer t"}), 503, "store_unavailable")


def test_openapi_json_is_an_openapi_3_document_listing_every_route(app, api):
    response = api.client.get("/openapi.json")

    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"]
    documented = {
        (path, method.upper())
        for path, operations in spec["paths"].items()
        for method in operations
        if method != "parameters"
    }
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if rule.endpoint != "static"
        and not rule.websocket  # OpenAPI cannot describe /stream; the README does
        and not rule.endpoint.startswith("client.")  # the web client's page and files
        # the documents themselves; /metrics: for the scraper
        and not rule.rule.startswith(("/docs", "/openapi.json", "/asyncapi.json", "/metrics"))
    }
    assert served <= documented
    assert {
        ("/auth/signup", "POST"),
        ("/auth/signin", "POST"),
        ("/auth/signout", "POST"),
        ("/me", "GET"),
        ("/users", "GET"),
        ("/message", "POST"),
        ("/threads", "POST"),
        ("/threads", "GET"),
        ("/threads/{thread_id}", "GET"),
        ("/threads/{thread_id}/messages", "GET"),
        ("/threads/{thread_id}/read", "POST"),
        ("/threads/{thread_id}/members", "POST"),
        ("/threads/{thread_id}/members/{user_id}", "DELETE"),
        ("/actions", "POST"),
        ("/healthz", "GET"),
        ("/readyz", "GET"),
        ("/version", "GET"),
    } <= documented


def test_openapi_marks_only_the_public_routes_as_needing_no_token(api):
    spec = api.client.get("/openapi.json").get_json()

    public = {
        path
        for path, operations in spec["paths"].items()
        for operation in operations.values()
        if isinstance(operation, dict) and operation.get("security") == []
    }

    assert public == {
        "/auth/signup",
        "/auth/signin",
        "/auth/password-reset",
        "/auth/password-reset/confirm",
        "/auth/verify-email",
        "/healthz",
        "/readyz",
        "/version",
    }
    assert spec["security"] == [{"bearerAuth": []}]


def test_the_docs_page_loads_its_assets_from_this_server(api):
    response = api.client.get("/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    assert all(url.startswith("/docs/assets/") for url in assets), assets
    assert "//" not in "".join(assets)
    assert "/openapi.json" in html


@pytest.mark.parametrize(
    "asset", ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"]
)
def test_every_docs_asset_is_served(api, asset):
    html = api.client.get("/docs").get_data(as_text=True)
    assert f"/docs/assets/{asset}" in html

    response = api.client.get(f"/docs/assets/{asset}")

    assert response.status_code == 200
    assert len(response.get_data()) > 1000
    response.close()


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make a file read-only for this process: chmod, and for root (chmod binds no root) chattr +i."""
    path.chmod(0o444)
    immutable = os.geteuid() == 0
    if immutable:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o644)


def test_readyz_is_a_503_when_the_sqlite_file_is_read_only(tmp_path, clock):
    path = tmp_path / "messenger.db"
    settings = Settings(sqlite_path=str(path), prune_interval_s=0)
    store = build_store(settings)
    store.setup()
    store.close()  # the next connections open the file as it is now
    with read_only(path):
        ticks = [0.0]
        readiness = ReadinessCheck(monotonic=lambda: ticks[0])
        client = create_app(
            settings, deps=build_deps(settings, build_store(settings), clock=clock, readiness=readiness)
        ).test_client()

        error_of(client.get("/readyz"), 503, "store_unavailable")
        assert client.get("/healthz").status_code == 200  # alive, just not ready
    ticks[0] += CHECK_INTERVAL_S  # a worker checks readiness again at most this often
    assert client.get("/readyz").get_json() == {"status": "ready"}  # writable again: ready again


def test_readyz_writes_its_heartbeat_at_most_once_a_check_interval_however_often_asked(tmp_path, clock):
    path = tmp_path / "messenger.db"
    settings = Settings(sqlite_path=str(path), prune_interval_s=0)
    store = build_store(settings)
    store.setup()
    ticks = [0.0]
    readiness = ReadinessCheck(monotonic=lambda: ticks[0])
    client = create_app(
        settings, deps=build_deps(settings, store, clock=clock, readiness=readiness)
    ).test_client()

    def beat_at() -> int:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return conn.execute("SELECT beat_at FROM heartbeat").fetchone()[0]

    assert client.get("/readyz").status_code == 200
    first = beat_at()
    for _ in range(50):  # a public route: a flood of checks writes nothing more
        assert client.get("/readyz").status_code == 200
    assert beat_at() == first
    ticks[0] += CHECK_INTERVAL_S
    assert client.get("/readyz").status_code == 200
    assert beat_at() > first
