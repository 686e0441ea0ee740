"""Deploy safety through the real `gunicorn -c gunicorn.conf.py`: what it refuses, how many
workers it runs, and whose address the limits see on a platform's router."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import requests

from .live import GUNICORN, ROOT, LiveServer, free_port

REFUSAL_TIMEOUT_S = 20


def run_until_exit(env: dict[str, str], db) -> subprocess.CompletedProcess:
    """Start gunicorn as the Procfile does; a refusal makes the master exit on its own."""
    full_env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(free_port()), "MESSENGER_DB": str(db), **env}
    full_env.pop("MONGODB_URI", None)
    return subprocess.run(
        [str(GUNICORN), "-c", "gunicorn.conf.py", "--no-control-socket", "wsgi:app"],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=REFUSAL_TIMEOUT_S,
    )


EPHEMERAL_PLATFORMS = [{"DYNO": "web.1"}, {"EPHEMERAL_DISK": "true"}]


@pytest.mark.parametrize("platform", EPHEMERAL_PLATFORMS, ids=["dyno", "ephemeral"])
def test_sqlite_on_an_ephemeral_disk_stops_the_master_with_one_line_naming_mongodb_uri(tmp_path, platform):
    result = run_until_exit(platform, tmp_path / "m.db")

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback, no worker booted
    assert "MONGODB_URI" in lines[0] and "ALLOW_EPHEMERAL_SQLITE" in lines[0]
    assert not (tmp_path / "m.db").exists()  # nothing was written to the disk that will vanish


def test_allow_ephemeral_sqlite_lets_it_start_on_a_dyno(tmp_path):
    env = {"DYNO": "web.1", "ALLOW_EPHEMERAL_SQLITE": "true", "MESSENGER_DB": str(tmp_path / "m.db")}
    server = LiveServer(env, log_path=tmp_path / "gunicorn.log").start()
    server.stop()
    assert server.process.returncode == 0


def test_mongodb_uri_lets_it_start_on_a_dyno_even_while_mongodb_is_unreachable(tmp_path):
    env = {
        "DYNO": "web.1",
        "MONGODB_URI": f"mongodb://127.0.0.1:{free_port()}/?directConnection=true",
        "MONGODB_TIMEOUT_MS": "200",
    }
    server = LiveServer(env, log_path=tmp_path / "gunicorn.log", ready_path="/healthz").start()
    try:
        reply = requests.get(server.url + "/readyz", timeout=10)
    finally:
        server.stop()
    assert reply.status_code == 503 and reply.json()["error"]["code"] == "store_unavailable"


def test_without_redis_one_worker_runs_whatever_web_concurrency_says_and_the_master_says_why(tmp_path):
    log = tmp_path / "gunicorn.log"
    env = {"MESSENGER_DB": str(tmp_path / "m.db"), "WEB_CONCURRENCY": "3"}
    server = LiveServer(env, log_path=log).start()
    try:
        time.sleep(1)  # every worker gunicorn means to run is forked by now
        workers = server.worker_pids()
    finally:
        server.stop()
    assert len(workers) == 1
    said = [line for line in log.read_text().splitlines() if "WEB_CONCURRENCY=3 ignored" in line]
    assert len(said) == 1 and "REDIS_URL is unset" in said[0], said


def test_with_redis_web_concurrency_is_honoured(tmp_path, redis_server):
    env = {"MESSENGER_DB": str(tmp_path / "m.db"), "WEB_CONCURRENCY": "2", "REDIS_URL": redis_server.url}
    server = LiveServer(env, log_path=tmp_path / "gunicorn.log").start()
    try:
        deadline = time.monotonic() + 10
        while len(server.worker_pids()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = server.worker_pids()
    finally:
        server.stop()
    assert len(workers) == 2
    assert "ignored" not in (tmp_path / "gunicorn.log").read_text()


def test_on_a_dyno_each_forwarded_client_address_has_its_own_sign_in_limit(tmp_path):
    env = {
        "DYNO": "web.1",
        "ALLOW_EPHEMERAL_SQLITE": "true",
        "MESSENGER_DB": str(tmp_path / "m.db"),
        "RATE_LIMIT_SIGNIN": "3 per minute",
    }
    server = LiveServer(env, log_path=tmp_path / "gunicorn.log").start()

    def sign_in_from(address: str) -> int:
        reply = requests.post(
            server.url + "/auth/signin",
            json={"login": "nobody", "password": "wrong password"},
            headers={"X-Forwarded-For": address},
            timeout=10,
        )
        return reply.status_code

    try:
        first = [sign_in_from("203.0.113.1") for _ in range(4)]
        other = sign_in_from("203.0.113.2")
    finally:
        server.stop()
    assert first == [401, 401, 401, 429]
    assert other == 401  # the router's own address is not everybody's
