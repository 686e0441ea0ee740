"""With Redis down, rate limits fall back to each worker's own counts, never to no limit."""

from __future__ import annotations

import time

import redis

from messenger.web.limits import REDIS_RETRY_INTERVAL_S

from .clients import Http
from .live import LiveServer

GUESSES = 25
SIGNIN_LIMIT = 5
OUTAGE_WARNING = "rate limits counted per worker"


def test_sign_in_guesses_are_still_limited_while_redis_is_down_and_counted_there_again_after(
    tmp_path, redis_server
):
    log = tmp_path / "gunicorn.log"
    env = {
        "MESSENGER_DB": str(tmp_path / "messenger.db"),
        "REDIS_URL": redis_server.url,
        "RATE_LIMIT_SIGNIN": f"{SIGNIN_LIMIT} per minute",
        "WEB_CONCURRENCY": "2",
    }
    server = LiveServer(env, log_path=log).start()
    try:
        http = Http(server.url)
        alice = http.signup()

        redis_server.stop()
        statuses = [
            http.session.post(
                server.url + "/auth/signin", json={"login": alice.username, "password": "guess"}, timeout=10
            ).status_code
            for _ in range(GUESSES)
        ]

        assert set(statuses) == {401, 429}, statuses
        assert statuses.count(401) <= SIGNIN_LIMIT * 2  # at most a full count in each worker
        assert 1 <= log.read_text().count(OUTAGE_WARNING) <= 2  # once per worker, not per request

        redis_server.start()  # same port, empty
        time.sleep(REDIS_RETRY_INTERVAL_S + 0.5)
        for _ in range(2):  # whichever worker answers, each goes back to Redis on its next request
            http.session.post(server.url + "/auth/signin", json={"login": "x", "password": "y"}, timeout=10)
        keys = redis.Redis(port=redis_server.port).keys("LIMITS*")
        assert any(b"signin" in key for key in keys), keys
    finally:
        server.stop()
