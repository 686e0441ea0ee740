"""/readyz of a live gunicorn with Redis: degraded (200, with the reason) while Redis is away."""

from __future__ import annotations

import time

import requests

from messenger.service.health import CHECK_INTERVAL_S

from .clients import Http
from .live import LiveServer, free_port


def test_readyz_is_degraded_with_its_reason_while_redis_is_down_and_sends_still_work(tmp_path, redis_server):
    env = {"MESSENGER_DB": str(tmp_path / "m.db"), "REDIS_URL": redis_server.url}
    server = LiveServer(env, log_path=tmp_path / "gunicorn.log").start()
    try:
        assert requests.get(server.url + "/readyz", timeout=10).json() == {"status": "ready"}
        http = Http(server.url)
        alice, bob = http.signup(), http.signup()
        thread_id = http.open_thread(alice, [bob])

        redis_server.stop()
        time.sleep(CHECK_INTERVAL_S)  # a worker checks readiness again at most this often
        reply = requests.get(server.url + "/readyz", timeout=10)
        sent = http.send(alice, thread_id, "stored without Redis")
    finally:
        server.stop()

    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "degraded"
    assert body["reason"].startswith("redis_unreachable")
    assert redis_server.url not in body["reason"] and "127.0.0.1" not in body["reason"]
    assert sent.status_code == 201


def test_a_redis_that_cannot_be_reached_at_start_is_logged_in_one_line(tmp_path):
    log_path = tmp_path / "gunicorn.log"
    env = {"MESSENGER_DB": str(tmp_path / "m.db"), "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    server = LiveServer(env, log_path=log_path).start()  # it starts: ready but degraded
    try:
        reply = requests.get(server.url + "/readyz", timeout=10)
    finally:
        server.stop()

    assert reply.status_code == 200 and reply.json()["status"] == "degraded"
    lines = [line for line in log_path.read_text().splitlines() if "redis unreachable at start-up" in line]
    assert len(lines) == 1, lines  # one worker, one line
