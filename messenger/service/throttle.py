"""Let one event per key through per interval, in this process's memory."""

from __future__ import annotations

import threading
from collections.abc import Hashable


class Throttle:
    """Remembers when each key last passed; keys quiet for a whole interval are swept at most
    once per interval, so memory holds only the keys seen in the last two intervals."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._passed_at: dict[Hashable, int] = {}
        self._next_sweep = 0

    def allow(self, key: Hashable, now: int, interval: int) -> bool:
        """Whether ``key`` may pass at ``now`` (any unit, as long as ``interval`` uses it too)."""
        with self._lock:
            if now >= self._next_sweep:
                self._passed_at = {k: at for k, at in self._passed_at.items() if now - at < interval}
                self._next_sweep = now + interval
            passed_at = self._passed_at.get(key)
            if passed_at is not None and now - passed_at < interval:
                return False
            self._passed_at[key] = now
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._passed_at)
