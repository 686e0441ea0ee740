"""This process's waiters, each with an inbox the notifier rings.

The events, the inbox and why an inbox stops are the port's vocabulary, in ``messenger.events``;
every notifier adapter delivers what reaches this process through one ``Hub``.
"""

from __future__ import annotations

import threading

from ..events import (
    CarriedUpdate,
    Event,
    FreshUpdate,
    Inbox,
    Resync,
    StopReason,
    TokenRevoked,
    Typing,
    UpdatesAvailable,
)
from ..model import Update, compact_json


class Hub:
    """Routes events to this process's inboxes; owned by one notifier, never a module global."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inboxes: dict[str, set[Inbox]] = {}
        self.draining = False

    def subscribe(self, inbox: Inbox) -> Inbox:
        """Route ``inbox.user_id``'s events (and its token's revocation) to ``inbox``."""
        with self._lock:
            self._inboxes.setdefault(inbox.user_id, set()).add(inbox)
            if self.draining:
                inbox.stop(StopReason.SHUTDOWN)
        return inbox

    def drain(self) -> None:
        """The process is shutting down: every waiter finishes now, and new ones at once."""
        with self._lock:
            self.draining = True
        for inbox in self._all():
            inbox.stop(StopReason.SHUTDOWN)

    def unsubscribe(self, inbox: Inbox) -> None:
        with self._lock:
            inboxes = self._inboxes.get(inbox.user_id)
            if inboxes is not None:
                inboxes.discard(inbox)
                if not inboxes:
                    del self._inboxes[inbox.user_id]

    def deliver(self, event: Event) -> None:
        """Hand an event to the inboxes here it concerns."""
        if isinstance(event, UpdatesAvailable):
            self._ring(event.cursors, event.update)
        elif isinstance(event, Typing):
            for user_id in event.user_ids:
                for inbox in self._of(user_id):
                    inbox.push(event)
        elif isinstance(event, TokenRevoked):
            for inbox in self._all():
                if inbox.token_hash == event.token_hash:
                    inbox.stop(StopReason.REVOKED)
        elif isinstance(event, Resync):
            for inbox in self._all():
                inbox.ring()

    def _ring(self, cursors: dict[str, int], carried: CarriedUpdate | None) -> None:
        """Ring each user's waiters here; the carried update is encoded once, and only if one
        of its users waits in this process (with Redis, most processes have none)."""
        body_json = None
        for user_id, cursor in cursors.items():
            inboxes = self._of(user_id)
            if not inboxes:
                continue
            if carried and body_json is None:
                body_json = compact_json(carried.body)
            fresh = _fresh_for(user_id, carried, body_json)
            for inbox in inboxes:
                inbox.ring(cursor, fresh)

    def _of(self, user_id: str) -> list[Inbox]:
        with self._lock:
            return list(self._inboxes.get(user_id, ()))

    def _all(self) -> list[Inbox]:
        with self._lock:
            return [inbox for inboxes in self._inboxes.values() for inbox in inboxes]


def _fresh_for(user_id: str, carried: CarriedUpdate | None, body_json: str | None) -> FreshUpdate | None:
    """The update a doorbell carried for this user, if it carried one for them."""
    cursor = carried.cursors.get(user_id) if carried else None
    if cursor is None or body_json is None:
        return None
    return FreshUpdate(Update(cursor, carried.type, carried.body), body_json)


class HubNotifier:
    """What every notifier does with this process's own waiters, through its ``hub``."""

    hub: Hub

    def subscribe(self, inbox: Inbox) -> Inbox:
        return self.hub.subscribe(inbox)

    def unsubscribe(self, inbox: Inbox) -> None:
        self.hub.unsubscribe(inbox)

    def problem(self) -> str | None:
        """In one process nothing stands between a publish and its subscribers."""
        return None

    def drain(self) -> None:
        self.hub.drain()

    @property
    def draining(self) -> bool:
        return self.hub.draining
