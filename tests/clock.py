"""A server clock tests control, shared by the suites that build apps in process."""

from __future__ import annotations

import threading

START_MS = 1_750_000_000_000


class Clock:
    """The server clock: every reading moves it on by 1 ms (so activity order is strict);
    ``advance`` jumps ahead, e.g. past a token's expiry."""

    def __init__(self, start: int = START_MS):
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            self.now += 1
            return self.now

    def advance(self, ms: int) -> None:
        with self._lock:
            self.now += ms
