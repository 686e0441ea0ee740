"""Rate limits, with the ``limits`` library: per client address for sign-up and sign-in (brute
force), per user for sends and long-polls, on every transport (HTTP routes, /actions, the
WebSocket).

Counters live in Redis when REDIS_URL is set, so every worker and machine shares them, and in
this process's memory otherwise. A request over a limit gets 429 ``rate_limited`` with
``Retry-After``. Only the code that runs a limited action counts it: no hook runs on every
request (Flask-Limiter's did, and cost a tenth of the send path's time in a profile).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from functools import wraps

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from limits.util import WindowStats
from werkzeug.wsgi import ClosingIterator

from ..config import Settings
from ..errors import RateLimited, TooManyRequestsInFlight

logger = logging.getLogger(__name__)

LIMITS_KEY = "rate_limits"
IN_FLIGHT_KEY = "requests_in_flight"
SLOTS_ENVIRON_KEY = "messenger.request_slots"  # what to release once the response is written
REDIS_TIMEOUTS_S = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


class LocalCounters:
    """Fixed windows in this process's memory, for when there is no Redis.

    A key's window starts at its first hit, as in the limits library's storages; expired
    windows are swept every SWEEP_INTERVAL_S, so memory is bounded by the keys active lately.
    (The library's memory storage starts a timer thread every 10 ms to expire keys instead: 5 %
    of the send path's time in a profile.)
    """

    SWEEP_INTERVAL_S = 10.0

    def __init__(self, clock=time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple, tuple[float, int]] = {}  # key -> (window ends at, hits)
        self._next_sweep = 0.0

    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Count a hit; False when it is over the limit (and then it is not counted)."""
        now = self._clock()
        key = (item, identifiers)
        with self._lock:
            self._sweep(now)
            ends_at, hits = self._windows.get(key, (0.0, 0))
            if ends_at <= now:
                ends_at, hits = now + item.get_expiry(), 0
            if hits >= item.amount:
                return False
            self._windows[key] = (ends_at, hits + 1)
            return True

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        now = self._clock()
        with self._lock:
            ends_at, hits = self._windows.get((item, identifiers), (now, 0))
        return WindowStats(ends_at, max(0, item.amount - hits) if ends_at > now else item.amount)

    def active_keys(self) -> int:
        with self._lock:
            return len(self._windows)

    def _sweep(self, now: float) -> None:
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_INTERVAL_S
            self._windows = {key: window for key, window in self._windows.items() if window[0] > now}


class TokenBucket:
    """``rate`` events a second on average, in bursts of up to ``burst``: for one connection's
    own frames, where a shared counter (and its lock or round trip) would be wasted."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def take(self) -> bool:
        """Spend one token; False when none is left."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class RateLimits:
    """Fixed-window counters by scope ("signup", "signin", "send", "updates") and key."""

    def __init__(self, settings: Settings) -> None:
        self._enabled = settings.rate_limits_enabled
        self._counters = (
            FixedWindowRateLimiter(storage_from_string(settings.redis_url, **REDIS_TIMEOUTS_S))
            if settings.redis_url
            else LocalCounters()
        )
        self._by_scope: dict[str, list[RateLimitItem]] = {
            "signup": parse_many(settings.rate_limit_signup),
            "signin": parse_many(settings.rate_limit_signin),
            "send": parse_many(settings.rate_limit_send),
            "updates": parse_many(settings.rate_limit_updates),
        }

    def check(self, scope: str, key: str) -> None:
        """Count one ``scope`` action of ``key``; raise ``RateLimited`` past any of its limits."""
        if not self._enabled:
            return
        for item in self._by_scope[scope]:
            try:
                refused_until = self._hit(item, scope, key)
            except Exception as exc:  # the counters' store (Redis) is down: serve rather than fail
                logger.warning("rate limit %s not checked: %s", scope, exc)
                return
            if refused_until is not None:
                raise RateLimited(retry_after=max(1, math.ceil(refused_until - time.time())))

    def _hit(self, item: RateLimitItem, scope: str, key: str) -> float | None:
        """Count a hit; when over the limit, return when its window resets."""
        if self._counters.hit(item, scope, key):
            return None
        return self._counters.get_window_stats(item, scope, key).reset_time


def rate_limits() -> RateLimits:
    """The app's limits, for the code that runs a limited action."""
    return current_app.extensions[LIMITS_KEY]


def client_address() -> str:
    """The caller's address (behind a router, as FORWARDED_HOPS lets ProxyFix read it)."""
    return request.remote_addr or "unknown"


def limited_by_address(scope: str):
    """Count the route's requests per client address before anything else runs, so even a
    malformed request counts (a brute force cannot probe for free)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            rate_limits().check(scope, client_address())
            return view(*args, **kwargs)

        return wrapper

    return decorate


class RequestsInFlight:
    """Each user's HTTP requests that this worker is still answering, at most ``limit`` at once.

    A request counts until its response has been written (when the WSGI server closes it), so a
    user who never reads the answers cannot make a worker hold them without bound.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def enter(self, user_id: str) -> bool:
        with self._lock:
            count = self._counts.get(user_id, 0)
            if count >= self._limit:
                return False
            self._counts[user_id] = count + 1
            return True

    def leave(self, user_id: str) -> None:
        with self._lock:
            count = self._counts.pop(user_id, 0) - 1
            if count > 0:
                self._counts[user_id] = count

    def held(self, user_id: str) -> int:
        with self._lock:
            return self._counts.get(user_id, 0)


def hold_request_slot(user_id: str) -> None:
    """Count this request among the user's in flight until its response is written, or refuse
    it with 429 ``too_many_requests_in_flight``."""
    in_flight: RequestsInFlight = current_app.extensions[IN_FLIGHT_KEY]
    if not in_flight.enter(user_id):
        raise TooManyRequestsInFlight()
    request.environ[SLOTS_ENVIRON_KEY].append(lambda: in_flight.leave(user_id))


class ReleaseSlotsWhenWritten:
    """WSGI middleware: release a request's slots when the server closes its response (after
    writing it), or at once if the app raised."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        slots: list = []
        environ[SLOTS_ENVIRON_KEY] = slots

        def release() -> None:
            while slots:
                slots.pop()()

        try:
            return ClosingIterator(self.app(environ, start_response), release)
        except BaseException:
            release()
            raise


def install_rate_limits(app: Flask, settings: Settings) -> RateLimits:
    """Make the app's limits; routes and the socket check them through ``rate_limits()``."""
    limits = RateLimits(settings)
    app.extensions[LIMITS_KEY] = limits
    app.extensions[IN_FLIGHT_KEY] = RequestsInFlight(settings.max_requests_in_flight_per_user)
    app.wsgi_app = ReleaseSlotsWhenWritten(app.wsgi_app)
    return limits
