"""This process's connected clients, each with an inbox the notifier rings.

The update log is the truth; what passes through here is a doorbell ("look at the log again"),
an ephemeral event (typing) or a control signal (a token was revoked). Losing one costs
latency, never data: every waiter re-reads the log when it times out.

A send's doorbell also carries its one update (the message, as the log holds it), so a
waiter whose cursor is just behind it delivers it without reading the log; anything else
(a gap, a doorbell without the update, a resync) sends the waiter back to the log.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..model import Update, compact_json

Event = dict[str, Any]

# Event types carried between processes (see RedisNotifier) and delivered to inboxes.
# {"type": "updates", "cursors": {user_id: cursor}, "update": {"type", "body", "cursors"}?}:
# "update", when present, is the update each user of its "cursors" got at that cursor.
UPDATES = "updates"
TYPING = "typing"  # {"type": "typing", "user_ids": [...], "thread_id": ..., "user_id": ...}
REVOKE = "revoke"  # {"type": "revoke", "token_hash": ...}
RESYNC = "resync"  # {"type": "resync"}: every waiter re-reads the log (after a notifier outage)

REVOKED = "revoked"  # Inbox.stopped when its token was signed out
SHUTDOWN = "shutdown"  # Inbox.stopped when this process is going away: reconnect elsewhere
SUPERSEDED = "superseded"  # ended because the same user opened too many of its kind

SOCKET = "socket"  # Inbox.kind of a WebSocket session: it also shows typing
POLL = "poll"  # Inbox.kind of a waiting long-poll: it carries only the log

# Ephemeral events (typing) waiting for a slow client; beyond this the oldest are dropped.
EPHEMERAL_BACKLOG = 64
# Updates carried by doorbells, held for a waiter that has not taken them; beyond this the
# waiter reads the log instead.
FRESH_BACKLOG = 64


@dataclass(frozen=True)
class FreshUpdate:
    """An update a doorbell carried, with its body encoded once for every waiter that gets it."""

    update: Update
    body_json: str


@dataclass(eq=False)
class Inbox:
    """What one connected client (a WebSocket or a waiting long-poll) has been told."""

    user_id: str
    token_hash: str | None = None
    rung_cursor: int = 0
    stopped: str | None = None  # why the client must stop: REVOKED, or its own connection closed
    kind: str = SOCKET
    ephemeral: deque = field(default_factory=lambda: deque(maxlen=EPHEMERAL_BACKLOG))
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _rung: bool = False
    _fresh: dict[int, FreshUpdate] = field(default_factory=dict)
    _stale: bool = False  # rung without the update: only the log can say what is new
    _knocked: bool = False  # the client sent a frame, or went away

    def ring(self, cursor: int = 0, fresh: FreshUpdate | None = None) -> None:
        with self._changed:
            self.rung_cursor = max(self.rung_cursor, cursor)
            if fresh is None or len(self._fresh) >= FRESH_BACKLOG:
                self._stale = True
            else:
                self._fresh[fresh.update.cursor] = fresh
            self._rung = True
            self._changed.notify_all()

    def take_fresh(self, since: int) -> list[FreshUpdate] | None:
        """What the doorbells carried after ``since``, if that is all there is to deliver;
        None when the waiter must read its log (a gap, or a doorbell without its update)."""
        with self._changed:
            fresh, stale, rung_cursor = self._fresh, self._stale, self.rung_cursor
            self._fresh, self._stale = {}, False
        if stale:
            return None
        run = []
        while since + 1 in fresh:
            since += 1
            run.append(fresh[since])
        return run if since >= rung_cursor else None

    def knock(self) -> None:
        """The client sent something, or its socket closed: its session reads the socket."""
        with self._changed:
            self._knocked = True
            self._changed.notify_all()

    def push(self, event: Event) -> None:
        if self.kind != SOCKET:
            return  # a long-poll carries only the log; queued typing would wake it in a loop
        with self._changed:
            self.ephemeral.append(event)
            self._changed.notify_all()

    def stop(self, reason: str) -> None:
        with self._changed:
            self.stopped = self.stopped or reason
            self._changed.notify_all()

    def wait(self, timeout: float) -> bool:
        """Block until rung, pushed to, knocked on or stopped (True), or until ``timeout`` (False)."""
        with self._changed:
            ready = self._changed.wait_for(
                lambda: self._rung or self._knocked or self.ephemeral or self.stopped, timeout
            )
            self._rung = self._knocked = False
            return bool(ready)

    def take_ephemeral(self) -> list[Event]:
        with self._changed:
            events = list(self.ephemeral)
            self.ephemeral.clear()
            return events


class Hub:
    """Routes events to this process's inboxes; owned by one notifier, never a module global."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inboxes: dict[str, set[Inbox]] = {}
        # Each user's sockets and long-polls here, by kind, oldest first, for their limits.
        self._by_kind: dict[tuple[str, str], list[Inbox]] = {}
        self.draining = False

    def subscribe(
        self, user_id: str, token_hash: str | None = None, kind: str = SOCKET, limit: int | None = None
    ) -> Inbox:
        """Register a waiter; past ``limit`` waiters of its kind for this user, the oldest ends
        (SUPERSEDED): one user cannot hold a worker's connections."""
        inbox = Inbox(user_id, token_hash, kind=kind)
        superseded: list[Inbox] = []
        with self._lock:
            self._inboxes.setdefault(user_id, set()).add(inbox)
            if limit is not None:
                same_kind = self._by_kind.setdefault((user_id, kind), [])
                same_kind.append(inbox)
                while len(same_kind) > limit:
                    superseded.append(same_kind.pop(0))
            if self.draining:
                inbox.stop(SHUTDOWN)
        for old in superseded:
            old.stop(SUPERSEDED)
        return inbox

    def drain(self) -> None:
        """The process is shutting down: every waiter finishes now, and new ones at once."""
        with self._lock:
            self.draining = True
        for inbox in self._all():
            inbox.stop(SHUTDOWN)

    def unsubscribe(self, inbox: Inbox) -> None:
        with self._lock:
            inboxes = self._inboxes.get(inbox.user_id)
            if inboxes is not None:
                inboxes.discard(inbox)
                if not inboxes:
                    del self._inboxes[inbox.user_id]
            key = (inbox.user_id, inbox.kind)
            same_kind = self._by_kind.get(key)
            if same_kind is not None and inbox in same_kind:
                same_kind.remove(inbox)
                if not same_kind:
                    del self._by_kind[key]

    def connected(self) -> int:
        with self._lock:
            return sum(len(inboxes) for inboxes in self._inboxes.values())

    def deliver(self, event: Event) -> None:
        kind = event.get("type")
        if kind == UPDATES:
            self._ring(event["cursors"], event.get("update"))
        elif kind == TYPING:
            for user_id in event["user_ids"]:
                for inbox in self._of(user_id):
                    inbox.push(event)
        elif kind == REVOKE:
            for inbox in self._all():
                if inbox.token_hash == event["token_hash"]:
                    inbox.stop(REVOKED)
        elif kind == RESYNC:
            for inbox in self._all():
                inbox.ring()

    def _ring(self, cursors: dict[str, int], carried: dict | None) -> None:
        """Ring each user's waiters here; the carried update is encoded once, and only if one
        of its users waits in this process (with Redis, most processes have none)."""
        body_json = None
        for user_id, cursor in cursors.items():
            inboxes = self._of(user_id)
            if not inboxes:
                continue
            if carried and body_json is None:
                body_json = compact_json(carried["body"])
            fresh = _fresh_for(user_id, carried, body_json)
            for inbox in inboxes:
                inbox.ring(cursor, fresh)

    def _of(self, user_id: str) -> list[Inbox]:
        with self._lock:
            return list(self._inboxes.get(user_id, ()))

    def _all(self) -> list[Inbox]:
        with self._lock:
            return [inbox for inboxes in self._inboxes.values() for inbox in inboxes]


def _fresh_for(user_id: str, carried: dict | None, body_json: str | None) -> FreshUpdate | None:
    """The update a doorbell carried for this user, if it carried one for them."""
    cursor = carried["cursors"].get(user_id) if carried else None
    if cursor is None or body_json is None:
        return None
    return FreshUpdate(Update(cursor, carried["type"], carried["body"]), body_json)


class HubNotifier:
    """What every notifier does with this process's own waiters, through its ``hub``."""

    hub: Hub

    def subscribe(
        self, user_id: str, token_hash: str | None = None, kind: str = SOCKET, limit: int | None = None
    ) -> Inbox:
        return self.hub.subscribe(user_id, token_hash, kind, limit)

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
