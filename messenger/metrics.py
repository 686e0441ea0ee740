"""Every Prometheus metric of the service, in one place; no other module creates one.

With several gunicorn workers, gunicorn.conf.py sets ``PROMETHEUS_MULTIPROC_DIR``: each worker
then writes its values to files there, and ``/metrics`` adds them up. prometheus-client picks
that mode when it is first imported, and gunicorn's master imports this package (through
``messenger.config``) before it forks, so prometheus-client is imported, and the metrics made,
only at their first use, in the worker. Gauges use ``livesum``: a dead worker stops counting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import StoreUnavailable

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

# A send commits in about a millisecond on SQLite; MongoDB with w=majority takes longer.
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SEND_ACTIONS = ("send_message", "create_thread")
TRANSPORTS = ("websocket", "longpoll")


@dataclass(frozen=True)
class Instruments:
    http_requests: Counter
    send_seconds: Histogram
    websockets_connected: Gauge
    longpolls_waiting: Gauge
    updates_delivered: Counter
    notifier_lag_seconds: Histogram
    store_errors: Counter


_made: Instruments | None = None
_making = threading.Lock()


def instruments() -> Instruments:
    """The metrics, made once per process at first use (see the module's docstring)."""
    global _made
    if _made is not None:
        return _made
    with _making:
        if _made is None:
            _made = _make()
        return _made


def _make() -> Instruments:
    from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

    # The *_created series double the output for nothing a dashboard needs (and multiprocess
    # mode has none): leave them out in both modes.
    disable_created_metrics()
    made = Instruments(
        http_requests=Counter(
            "messenger_http_requests",
            "HTTP requests by method, URL rule (never the raw path) and status.",
            ["method", "route", "status"],
        ),
        send_seconds=Histogram(
            "messenger_send_seconds",
            "Time to store an acknowledged message: send_message, or create_thread's first message.",
            ["action"],
            buckets=LATENCY_BUCKETS_S,
        ),
        websockets_connected=Gauge(
            "messenger_websockets_connected", "WebSockets streaming updates now.", multiprocess_mode="livesum"
        ),
        longpolls_waiting=Gauge(
            "messenger_longpolls_waiting", "GET /updates requests in progress.", multiprocess_mode="livesum"
        ),
        updates_delivered=Counter(
            "messenger_updates_delivered",
            "Updates of the log handed to clients, by transport.",
            ["transport"],
        ),
        notifier_lag_seconds=Histogram(
            "messenger_notifier_lag_seconds",
            "Seconds from a doorbell's publish in one process to its delivery in another (Redis).",
            buckets=LATENCY_BUCKETS_S,
        ),
        store_errors=Counter(
            "messenger_store_errors", "Requests, frames and sockets failed by store_unavailable."
        ),
    )
    for action in SEND_ACTIONS:  # every series exposed (at 0) before its first event
        made.send_seconds.labels(action=action)
    for transport in TRANSPORTS:
        made.updates_delivered.labels(transport=transport)
    return made


def count_request(method: str, route: str, status: int) -> None:
    instruments().http_requests.labels(method=method, route=route, status=str(status)).inc()


@contextmanager
def timed_send(action: str) -> Iterator[None]:
    """Observe the block's duration only when it succeeds: a refused send has no send latency."""
    histogram = instruments().send_seconds.labels(action=action)
    started = time.perf_counter()
    yield
    histogram.observe(time.perf_counter() - started)


def socket_connected() -> None:
    instruments().websockets_connected.inc()


def socket_disconnected() -> None:
    instruments().websockets_connected.dec()


@contextmanager
def waiting_poll() -> Iterator[None]:
    with instruments().longpolls_waiting.track_inprogress():
        yield


def count_delivered(transport: str, updates: int) -> None:
    instruments().updates_delivered.labels(transport=transport).inc(updates)


def observe_notifier_lag(seconds: float) -> None:
    instruments().notifier_lag_seconds.observe(seconds)


def count_store_error(error: BaseException) -> None:
    """Count the error if the store did not answer; other errors are the client's."""
    if isinstance(error, StoreUnavailable):
        instruments().store_errors.inc()


def exposition(multiproc_dir: str) -> tuple[bytes, str]:
    """The scrape: this process's registry, or every worker's files added up."""
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        REGISTRY,
        CollectorRegistry,
        generate_latest,
        multiprocess,
    )

    instruments()  # a first scrape shows every metric, before any event
    registry: Any = REGISTRY
    if multiproc_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)
    return generate_latest(registry), CONTENT_TYPE_LATEST
