"""How many waiters of each kind one user may hold in this process: past the limit, the oldest
of that kind stops (SUPERSEDED), so one user cannot hold a worker's connections.

A policy of the service, not of the notifier: the notifier only routes events to inboxes.
"""

from __future__ import annotations

import threading

from ..events import Inbox, InboxKind, StopReason


class WaiterLimits:
    """Each user's sockets and long-polls in this process, by kind, oldest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_kind: dict[tuple[str, InboxKind], list[Inbox]] = {}

    def admit(self, inbox: Inbox, limit: int) -> None:
        """Count ``inbox``; past ``limit`` of its kind for its user, stop the oldest."""
        key = (inbox.user_id, inbox.kind)
        with self._lock:
            same_kind = self._by_kind.setdefault(key, [])
            same_kind.append(inbox)
            superseded = same_kind[: max(0, len(same_kind) - limit)]
            del same_kind[: len(superseded)]
        for old in superseded:
            old.stop(StopReason.SUPERSEDED)

    def release(self, inbox: Inbox) -> None:
        """``inbox`` no longer waits: it stops counting."""
        key = (inbox.user_id, inbox.kind)
        with self._lock:
            same_kind = self._by_kind.get(key)
            if same_kind is not None and inbox in same_kind:
                same_kind.remove(inbox)
                if not same_kind:
                    del self._by_kind[key]

    def held(self, user_id: str, kind: InboxKind) -> int:
        with self._lock:
            return len(self._by_kind.get((user_id, kind), ()))
