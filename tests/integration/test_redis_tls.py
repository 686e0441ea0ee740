"""rediss:// with a self-signed certificate, as a platform's Redis serves it: accepted with
REDIS_TLS_VERIFY=none by every Redis client of the service, refused (and said so) by default."""

from __future__ import annotations

import requests

from .clients import check_delivery_across
from .live import LiveServer


def test_with_verification_off_a_message_crosses_servers_through_a_self_signed_tls_redis(
    tmp_path, tls_redis_server
):
    env = {
        "MESSENGER_DB": str(tmp_path / "shared.db"),
        "REDIS_URL": tls_redis_server.url,
        "REDIS_TLS_VERIFY": "none",
    }
    servers = [LiveServer(env, log_path=tmp_path / f"gunicorn-{name}.log").start() for name in "ab"]
    try:
        server_a, server_b = servers
        assert requests.get(server_b.url + "/readyz", timeout=10).json() == {"status": "ready"}
        check_delivery_across(server_a, server_b, "over TLS")
        # The rate limiter's own client reached the TLS Redis too: sign-ups are counted there.
        assert any(b"signup" in key for key in tls_redis_server.client().keys("LIMITS*"))
    finally:
        for server in servers:
            server.stop()


def test_by_default_a_self_signed_certificate_is_refused_and_readyz_and_the_log_say_why(
    tmp_path, tls_redis_server
):
    log = tmp_path / "gunicorn.log"
    env = {"MESSENGER_DB": str(tmp_path / "m.db"), "REDIS_URL": tls_redis_server.url}
    server = LiveServer(env, log_path=log).start()  # it starts: ready but degraded
    try:
        reply = requests.get(server.url + "/readyz", timeout=10)
    finally:
        server.stop()

    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "degraded"
    assert body["reason"].startswith("redis_unreachable")
    assert "certificate failed verification" in body["reason"] and "REDIS_TLS_VERIFY=none" in body["reason"]
    assert "127.0.0.1" not in body["reason"]
    started = [line for line in log.read_text().splitlines() if "redis unreachable at start-up" in line]
    assert len(started) == 1 and "certificate failed verification" in started[0], started
