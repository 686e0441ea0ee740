"""Per-request observability: a request id, one access-log line and the request counter; /metrics.

A line never holds a query string (``/stream?token=`` carries a token), a body or a header
other than the request id: no token, password or message contents reaches a log.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from urllib.parse import quote

from flask import Flask, Response, g, request

from .. import metrics
from ..config import Settings
from ..errors import AuthRequired
from .auth import bearer_token
from .context import deps

logger = logging.getLogger(__name__)
access_log = logging.getLogger("messenger.access")

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Label values must stay few: any other method, and any path no rule matched, share one.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"
MAX_LOGGED_PATH = 200


def install(app: Flask, settings: Settings) -> None:
    """Register before every other hook, so a request refused by one (429, 400) is still logged."""
    metrics.instruments()  # made in the worker as it boots, not in its first request
    app.before_request(start_request)
    app.after_request(finish_request)
    if settings.metrics_served:
        app.add_url_rule("/metrics", "metrics", serve_metrics)
    elif settings.metrics_enabled:
        logger.warning("METRICS_TOKEN is not set: /metrics is off (set it, or METRICS_ENABLED=false)")


def serve_metrics() -> Response:
    """Prometheus' scrape, for the holder of METRICS_TOKEN only: it shares the public port."""
    presented = (bearer_token() or "").encode()
    if not hmac.compare_digest(presented, deps().settings.metrics_token.encode()):
        raise AuthRequired("Send 'Authorization: Bearer <METRICS_TOKEN>'.")
    body, content_type = metrics.exposition(deps().settings.prometheus_multiproc_dir)
    return Response(body, content_type=content_type)


def request_id_from(raw: str | None) -> str:
    """Keep a caller's id to correlate services' logs; anything odd is replaced, never logged."""
    if raw and SANE_REQUEST_ID.fullmatch(raw):
        return raw
    return uuid.uuid4().hex


def start_request() -> None:
    g.request_started = time.perf_counter()
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))


def finish_request(response: Response) -> Response:
    """Count and log the request, and echo its id to the caller."""
    request_id = g.get("request_id") or request_id_from(None)
    started = g.get("request_started")
    duration_ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    rule = request.url_rule
    status = response.status_code
    if rule is not None and rule.websocket and status == 200:
        status = 101  # flask-sock ends a socket's whole session with a 200 that is never sent
    method = request.method if request.method in KNOWN_METHODS else "OTHER"
    route = rule.rule if rule is not None else UNMATCHED_ROUTE
    metrics.count_request(method, route, status)
    path = rule.rule if rule is not None else logged_path(request.path)
    user_id = g.get("user_id")
    access_log.info(
        "%s %s %d %.1fms request_id=%s user_id=%s",
        method,
        path,
        status,
        duration_ms,
        request_id,
        user_id or "-",
        extra={
            "fields": {
                "request_id": request_id,
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round(duration_ms, 1),
                "user_id": user_id,
            }
        },
    )
    response.headers[REQUEST_ID_HEADER] = request_id
    return response


def logged_path(path: str) -> str:
    """A path no rule matched, percent-encoded so that it cannot forge a line, and cut short."""
    return quote(path, safe="/:@!$&'()*+,;=-._~")[:MAX_LOGGED_PATH]


def log_socket_opened(user_id: str) -> None:
    """A WebSocket's first line; its request line comes when it closes."""
    request_id = g.get("request_id")
    access_log.info(
        "websocket open request_id=%s user_id=%s",
        request_id,
        user_id,
        extra={"fields": {"event": "websocket.open", "request_id": request_id, "user_id": user_id}},
    )


def log_socket_closed(user_id: str, duration_s: float, code: int, reason: str) -> None:
    """Say how long a socket lived and how it ended (the close code tells the client what to do)."""
    request_id = g.get("request_id")
    access_log.info(
        "websocket closed %d %s after %.1fs request_id=%s user_id=%s",
        code,
        reason,
        duration_s,
        request_id,
        user_id,
        extra={
            "fields": {
                "event": "websocket.close",
                "request_id": request_id,
                "user_id": user_id,
                "duration_ms": round(duration_s * 1000, 1),
                "close_code": code,
                "close_reason": reason,
            }
        },
    )
