"""Readiness: the store commits a write, and whether delivery between workers is degraded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import StoreUnavailable

if TYPE_CHECKING:  # Deps holds a ReadinessCheck
    from .deps import Deps

# /readyz is public: however often it is asked, a worker writes its heartbeat (an fsync on
# SQLite FULL) and pings Redis at most once in this long, and answers from that meanwhile.
CHECK_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Readiness:
    checked_at: float  # on the monotonic clock: a wall clock set back must not keep an answer
    store_error: StoreUnavailable | None  # the store did not commit the heartbeat
    degraded: str | None  # why delivery between workers is degraded (Redis), if it is


class ReadinessCheck:
    """This worker's latest readiness, checked again once older than CHECK_INTERVAL_MS."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last: Readiness | None = None

    def latest(self, deps: Deps) -> Readiness:
        now = self._monotonic()
        with self._lock:  # callers meanwhile wait for this check rather than repeat it
            if self._last is None or now - self._last.checked_at >= CHECK_INTERVAL_S:
                self._last = _check(deps, now)
            return self._last


def _check(deps: Deps, now: float) -> Readiness:
    try:
        deps.store.heartbeat(deps.clock())
    except StoreUnavailable as error:
        return Readiness(now, error, None)
    return Readiness(now, None, deps.notifier.problem())
