"""Redis pub/sub notifier: doorbells reach every worker on every machine.

Each process delivers its own events locally at once and publishes them on one channel; one
listener thread per process (a greenlet under gevent, started after the fork) delivers what
the others publish. If Redis is down, publishing is skipped (sends still succeed: the log is
the truth) and, once the listener reconnects, every local waiter is told to re-read the log.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import redis

from .. import metrics
from ..events import Event, Resync, from_wire, to_wire
from ..model import compact_json
from .hub import Hub, HubNotifier

logger = logging.getLogger(__name__)

CHANNEL = "messenger:events"
# A send must not wait long on a Redis that is down: fail fast, then stop trying for a while.
SOCKET_TIMEOUT_S = 0.5
PUBLISH_BACKOFF_S = 1.0
RECONNECT_DELAYS_S = (0.1, 0.2, 0.5, 1.0, 2.0)
REDIS_UNREACHABLE = (
    "redis_unreachable: sends are stored; other workers' clients get them within 25 s, not at once"
)
# A rediss:// server whose certificate fails verification is unreachable too, but waiting will
# not fix it: the reason says what will.
REDIS_TLS_UNVERIFIED = (
    "redis_unreachable: its TLS certificate failed verification ({why}); set REDIS_TLS_VERIFY=none"
    " for a platform's self-signed certificate. Sends are stored; other workers' clients get them"
    " within 25 s, not at once"
)


class RedisNotifier(HubNotifier):
    def __init__(self, url: str, options: Mapping[str, Any] | None = None) -> None:
        """``options`` go to every client made here, e.g. ``ssl_cert_reqs`` for rediss://."""
        self.hub = Hub()
        self._origin = uuid.uuid4().hex
        self._options = dict(options or {})
        self._client = redis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S, **self._options
        )
        self._url = url
        self._publish_paused_until = 0.0
        # A doorbell the other processes missed (Redis was down, or publishing paused): once the
        # listener is back, they are all told to re-read their waiters' logs.
        self._owe_resync = False
        self._stopping = threading.Event()
        self._listener = threading.Thread(target=self._listen, name="redis-notifier", daemon=True)
        self._listener.start()

    def publish(self, event: Event) -> None:
        """Deliver here at once, then to the other processes; never raises."""
        self.hub.deliver(event)
        if time.monotonic() < self._publish_paused_until:
            self._owe_resync = True
            return
        try:
            # published_at (wall clock, comparable across machines) lets the receiver measure
            # the lag; a process of the previous release ignores the extra key.
            wire = {**to_wire(event), "origin": self._origin, "published_at": time.time()}
            self._client.publish(CHANNEL, compact_json(wire))
        except redis.RedisError as exc:
            self._publish_paused_until = time.monotonic() + PUBLISH_BACKOFF_S
            self._owe_resync = True
            logger.warning("redis publish failed, other processes learn on resync: %s", exc)

    def problem(self) -> str | None:
        """One PING (SOCKET_TIMEOUT_S at most); the reason names no host or password."""
        try:
            self._client.ping()
        except redis.RedisError as exc:
            unverified = _certificate_failure(exc)
            if unverified is not None:
                return REDIS_TLS_UNVERIFIED.format(why=unverified.verify_message or "unknown reason")
            return REDIS_UNREACHABLE
        return None

    def close(self) -> None:
        self._stopping.set()
        self._client.close()

    def _listen(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._relay_until_disconnected(resync=failures > 0)
            except (redis.RedisError, OSError) as exc:
                delay = RECONNECT_DELAYS_S[min(failures, len(RECONNECT_DELAYS_S) - 1)]
                failures += 1
                logger.warning("redis listener disconnected (%s); retrying in %.1f s", exc, delay)
                self._stopping.wait(delay)
            else:
                failures = 0

    def _relay_until_disconnected(self, resync: bool) -> None:
        # No read timeout on the subscriber: it waits for events indefinitely; a dead
        # connection is noticed by the health-check pings.
        listener = redis.Redis.from_url(
            self._url, socket_connect_timeout=SOCKET_TIMEOUT_S, health_check_interval=5, **self._options
        )
        pubsub = listener.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(CHANNEL)
            if resync:
                self._publish_paused_until = 0.0
                self.hub.deliver(Resync())
                logger.info("redis listener reconnected; waiters re-read the log")
            if self._owe_resync:  # a send made before this process's listener was back
                self._owe_resync = False
                self.publish(Resync())
            while not self._stopping.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is not None:
                    self._relay(message["data"])
        finally:
            pubsub.close()
            listener.close()

    def _relay(self, data: bytes) -> None:
        try:
            wire = json.loads(data)
            if not isinstance(wire, dict):
                raise ValueError("not an object")
            event = from_wire(wire)
        except ValueError:  # not a JSON object, or a known type without what it must carry
            logger.warning("ignored a malformed notifier event")
            return
        if wire.get("origin") == self._origin:
            return  # this process's own: delivered here at once
        if event is not None:  # None: a type a newer release added
            self.hub.deliver(event)
        published_at = wire.get("published_at")
        if isinstance(published_at, (int, float)):  # absent from the previous release's events
            # Clocks of two machines may disagree by a little: never a negative lag.
            metrics.observe_notifier_lag(max(0.0, time.time() - published_at))


def _certificate_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate error behind a redis-py error, if that is what it is (redis-py raises its
    ConnectionError while handling the ssl module's)."""
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        visited.add(id(seen))
        seen = seen.__cause__ or seen.__context__
    return None
