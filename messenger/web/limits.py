"""Rate limits, with the ``limits`` library: per client address for sign-up and sign-in (brute
force), per account for failed sign-ins, and per user for every costly action on every
transport (HTTP routes, /actions, the WebSocket).

Counters live in Redis when REDIS_URL is set, so every worker and machine shares them, and in
this process's memory otherwise -- and also while Redis does not answer: a limit falls back to
this worker's own counts, never to no limit at all. A request over a limit gets 429
``rate_limited`` with ``Retry-After``. Only the code that runs a limited action counts it: no
hook runs on every request (Flask-Limiter's did, and cost a tenth of the send path's time in a
profile).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
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
# While Redis does not answer, count in this worker and try Redis again this often: every try
# may cost a request up to a socket timeout, so not on every request.
REDIS_RETRY_INTERVAL_S = 5.0
# An outage is logged at most this often per worker, not once per limited request.
OUTAGE_WARNING_INTERVAL_S = 60.0
# Every scope, each with its setting RATE_LIMIT_<SCOPE>; see the README's rate-limit section.
SCOPES = (
    "signup",  # per address
    "signin",  # per address
    "signin_failures",  # per account, counted on failures only
    "send",  # per user, like every scope below
    "create_thread",
    "members",
    "mark_read",
    "read",
    "updates",
    "profile",  # PATCH /me: a rename writes to the log of everyone sharing a thread
    "password_reset",  # per address: each request may mail
    "password_reset_account",  # per account (or address typed), whatever the client address
    "one_time_token",  # per address: confirming a reset, verifying an email
    "email",  # per user: changing one's email and resending its link both mail
    "export",  # GET /me/export: reads everything the user has, so tightly
    "upload",  # POST /attachments: each may hold a worker's disk and CPU for a while
    "download",  # GET /attachments/<id>: per user, or per address for signed URLs
)


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

    def test(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Whether a hit now would be under the limit; counts nothing."""
        now = self._clock()
        with self._lock:
            ends_at, hits = self._windows.get((item, identifiers), (0.0, 0))
        return ends_at <= now or hits < item.amount

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
    """Fixed-window counters by scope (one of ``SCOPES``) and key: in Redis, shared, when
    REDIS_URL is set, and in this worker's ``LocalCounters`` otherwise or while Redis is down."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self._enabled = settings.rate_limits_enabled
        self._clock = clock
        self._local = LocalCounters(clock)
        self._shared = (
            FixedWindowRateLimiter(
                storage_from_string(
                    settings.redis_url, wrap_exceptions=True, **REDIS_TIMEOUTS_S, **settings.redis_options
                )
            )
            if settings.redis_url
            else None
        )
        self._shared_down_until = 0.0  # while now is before this, count locally
        self._warned_at = -math.inf
        self._by_scope: dict[str, list[RateLimitItem]] = {
            scope: parse_many(getattr(settings, f"rate_limit_{scope}")) for scope in SCOPES
        }

    def check(self, scope: str, key: str) -> None:
        """Count one ``scope`` action of ``key``; raise ``RateLimited`` past any of its limits."""
        self._require("hit", scope, key)

    def require_under(self, scope: str, key: str) -> None:
        """Raise ``RateLimited`` if ``key`` has used up any of ``scope``'s limits; count nothing."""
        self._require("test", scope, key)

    def _require(self, method: str, scope: str, key: str) -> None:
        if not self._enabled:
            return
        for item in self._by_scope[scope]:
            if not self._ask(method, item, scope, key):
                raise self._refusal(item, scope, key)

    def _refusal(self, item: RateLimitItem, scope: str, key: str) -> RateLimited:
        reset_at = self._ask("get_window_stats", item, scope, key).reset_time
        return RateLimited(retry_after=max(1, math.ceil(reset_at - self._clock())))

    def _ask(self, method: str, item: RateLimitItem, scope: str, key: str):
        """Call ``method`` on the shared counters, or on this worker's while they do not answer."""
        if self._shared is not None and self._clock() >= self._shared_down_until:
            try:
                answer = getattr(self._shared, method)(item, scope, key)
            except StorageError as exc:
                self._shared_failed(exc)
            else:
                if self._shared_down_until:
                    self._shared_down_until = 0.0
                    logger.info("rate limits are counted in Redis again")
                return answer
        return getattr(self._local, method)(item, scope, key)

    def _shared_failed(self, exc: StorageError) -> None:
        now = self._clock()
        self._shared_down_until = now + REDIS_RETRY_INTERVAL_S
        if now - self._warned_at >= OUTAGE_WARNING_INTERVAL_S:
            self._warned_at = now
            logger.warning("rate limits counted per worker: Redis does not answer (%s)", exc.storage_error)


def rate_limits() -> RateLimits:
    """The app's limits, for the code that runs a limited action."""
    return current_app.extensions[LIMITS_KEY]


@contextmanager
def failures_counted(scope: str, key: str, failure: type[Exception]) -> Iterator[None]:
    """Refuse while ``key`` has used up ``scope`` (429, whatever the request), and count the
    block's ``failure``, re-raised: failed password checks, not attempts, are what is limited."""
    limits = rate_limits()
    limits.require_under(scope, key)
    try:
        yield
    except failure:
        limits.check(scope, key)
        raise


def client_address() -> str:
    """The caller's address (behind a router, as FORWARDED_HOPS lets ProxyFix read it)."""
    return request.remote_addr or "unknown"


def limited(key: Callable[[], str], *scopes: str):
    """Count the route's requests by ``key()`` in each scope before its payload is read, so even
    a malformed request counts (a brute force cannot probe for free)."""
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown rate-limit scopes {sorted(unknown)}")

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            for scope in scopes:
                rate_limits().check(scope, key())
            return view(*args, **kwargs)

        return wrapper

    return decorate


def limited_by_address(*scopes: str):
    """Limit a public route per client address."""
    return limited(client_address, *scopes)


def limited_per_user(*scopes: str):
    """Limit a route per signed-in user; goes under ``@authenticated``."""
    return limited(lambda: g.user_id, *scopes)


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
