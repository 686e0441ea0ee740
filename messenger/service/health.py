"""Readiness: the store commits a write, and whether delivery between workers is degraded."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import StoreUnavailable

if TYPE_CHECKING:  # Deps holds a ReadinessCheck
    from .deps import Deps

# /readyz is public: however often it is asked, a worker writes its heartbeat (an fsync on
# SQLite FULL) and pings Redis at most once in this long, and answers from that meanwhile.
CHECK_INTERVAL_MS = 1000


@dataclass(frozen=True)
class Readiness:
    checked_at: int
    store_error: StoreUnavailable | None  # the store did not commit the heartbeat
    degraded: str | None  # why delivery between workers is degraded (Redis), if it is


class ReadinessCheck:
    """This worker's latest readiness, checked again once older than CHECK_INTERVAL_MS."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: Readiness | None = None

    def latest(self, deps: Deps) -> Readiness:
        now = deps.clock()
        with self._lock:  # callers meanwhile wait for this check rather than repeat it
            if self._last is None or now - self._last.checked_at >= CHECK_INTERVAL_MS:
                self._last = _check(deps, now)
            return self._last


def _check(deps: Deps, now: int) -> Readiness:
    try:
        deps.store.heartbeat(now)
    except StoreUnavailable as error:
        return Readiness(now, error, None)
    return Readiness(now, None, deps.notifier.problem())
