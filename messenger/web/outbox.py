"""A WebSocket session's outgoing frames, bounded by the memory they hold.

Counting frames bounds nothing: one frame may be a 100-message page of a megabyte or more.
The session, the only producer, waits for room before it queues a frame, so while a client
reads nothing the session answers nothing more and reads none of its requests (back-pressure);
a client that leaves no room for ``WS_SEND_TIMEOUT_S`` is told to resume from its cursor.
"""

from __future__ import annotations

import sys
import threading
from collections import deque


class Outbox:
    """Items for one writer; at most ``max_bytes`` are held before a producer must wait (one
    item more may always go in, so a single frame larger than the bound still gets through)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: deque[tuple[object, int]] = deque()
        self._bytes = 0
        self._closed = False
        self._changed = threading.Condition()

    @property
    def held_bytes(self) -> int:
        return self._bytes

    @property
    def closed(self) -> bool:
        return self._closed

    def wait_for_room(self, timeout: float) -> bool:
        """True once there is room (or the outbox was closed), False if none came in time."""
        with self._changed:
            return self._changed.wait_for(lambda: self._bytes < self.max_bytes or self._closed, timeout)

    def put(self, item: object) -> None:
        """Queue without waiting (call ``wait_for_room`` first); a closed outbox drops it."""
        size = sys.getsizeof(item)  # what the worker holds for it: a str's size in memory, O(1)
        with self._changed:
            if self._closed:
                return
            self._items.append((item, size))
            self._bytes += size
            self._changed.notify_all()

    def get(self, timeout: float) -> object | None:
        """The oldest item, or None if nothing came within ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._items, timeout):
                return None
            item, size = self._items.popleft()
            self._bytes -= size
            self._changed.notify_all()
            return item

    def empty(self) -> bool:
        with self._changed:
            return not self._items

    def clear(self) -> None:
        """Drop what is queued (the client resumes from its cursor instead)."""
        with self._changed:
            self._items.clear()
            self._bytes = 0
            self._changed.notify_all()

    def close(self) -> None:
        """Nobody will write any more: drop everything, and never make a producer wait."""
        with self._changed:
            self._closed = True
            self._items.clear()
            self._bytes = 0
            self._changed.notify_all()
