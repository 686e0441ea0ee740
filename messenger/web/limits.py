"""Rate limits, with Flask-Limiter: per client address for sign-up and sign-in (brute force),
per user for sends and long-polls, on every transport (HTTP routes, /actions, the WebSocket).

Counters live in Redis when REDIS_URL is set, so every worker and machine shares them, and in
memory otherwise. A request over a limit gets 429 ``rate_limited`` with ``Retry-After``.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, request
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many

from ..config import Settings
from ..errors import RateLimited

logger = logging.getLogger(__name__)

LIMITS_KEY = "rate_limits"


class RateLimits:
    """Per-user limits checked by the code that runs an action, whatever carried it."""

    def __init__(self, limiter: Limiter, settings: Settings) -> None:
        self._limiter = limiter
        self._enabled = settings.rate_limits_enabled
        self._by_scope: dict[str, list[RateLimitItem]] = {
            "send": parse_many(settings.rate_limit_send),
            "updates": parse_many(settings.rate_limit_updates),
        }

    def check(self, scope: str, user_id: str) -> None:
        """Count one ``scope`` action of the user; raise ``RateLimited`` past any of its limits."""
        if not self._enabled:
            return
        for item in self._by_scope[scope]:
            try:
                refused_until = self._hit(item, scope, user_id)
            except Exception as exc:  # the counters' store (Redis) is down: serve rather than fail
                logger.warning("rate limit %s not checked: %s", scope, exc)
                return
            if refused_until is not None:
                raise RateLimited(retry_after=max(1, math.ceil(refused_until - time.time())))

    def _hit(self, item: RateLimitItem, scope: str, user_id: str) -> float | None:
        """Count a hit; when over the limit, return when its window resets."""
        strategy = self._limiter.limiter
        if strategy.hit(item, scope, user_id):
            return None
        return strategy.get_window_stats(item, scope, user_id).reset_time


def client_address() -> str:
    """The caller's address (behind a router, as FORWARDED_HOPS lets ProxyFix read it)."""
    return request.remote_addr or "unknown"


def install_rate_limits(app: Flask, settings: Settings) -> RateLimits:
    """Bind Flask-Limiter to the app, limit sign-up and sign-in by address, and return the
    per-user limits the routes and the socket check themselves."""
    limiter = Limiter(
        client_address,
        app=app,
        storage_uri=settings.redis_url or "memory://",
        strategy="fixed-window",
        headers_enabled=True,
        swallow_errors=True,  # Redis down: let requests through rather than fail them all
        storage_options={"socket_connect_timeout": 0.5, "socket_timeout": 0.5} if settings.redis_url else {},
        enabled=settings.rate_limits_enabled,
    )
    by_address = {
        "accounts.sign_up": settings.rate_limit_signup,
        "accounts.sign_in": settings.rate_limit_signin,
    }
    for endpoint, limit in by_address.items():
        app.view_functions[endpoint] = limiter.limit(limit)(app.view_functions[endpoint])
    limits = RateLimits(limiter, settings)
    app.extensions[LIMITS_KEY] = limits
    return limits
