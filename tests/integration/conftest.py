from __future__ import annotations

import pytest

from .live import LiveServer
from .redis_server import RedisServer


@pytest.fixture
def live_server(tmp_path):
    """A gunicorn process on a free port with its own SQLite file; stopped after the test."""
    server = LiveServer({"MESSENGER_DB": str(tmp_path / "messenger.db")}, log_path=tmp_path / "gunicorn.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def two_servers(tmp_path, redis_server):
    """Two gunicorn processes sharing one SQLite file and one real Redis, as two machines."""
    env = {"MESSENGER_DB": str(tmp_path / "shared.db"), "REDIS_URL": redis_server.url}
    servers = [LiveServer(env, log_path=tmp_path / f"gunicorn-{name}.log").start() for name in "ab"]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def redis_server():
    """A redis-server of the test's own on a free loopback port."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def tls_redis_server(tmp_path):
    """A redis-server serving rediss:// only, with a self-signed certificate made for the test."""
    tls_dir = tmp_path / "redis-tls"
    tls_dir.mkdir()
    server = RedisServer(tls_dir=tls_dir).start()
    yield server
    server.stop()
