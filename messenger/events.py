"""The notifier's vocabulary: the events it carries, why a waiter stops, and a waiter's inbox.

The update log is the truth; an event is a doorbell ("look at the log again"), an ephemeral
event (typing) or a control signal (a token was revoked, every waiter must re-read its log).
Losing one costs latency, never data: every waiter re-reads the log when it times out.

A send's doorbell also carries its one update (the message, as the log holds it), so a
waiter whose cursor is just behind it delivers it without reading the log; anything else
(a gap, a doorbell without the update, a resync) sends the waiter back to the log.

Standard library only, like ``model``: the ports, the service, the web layer and the
notifier adapters all speak it.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .model import Update

# The wire format below is a contract between releases, not only between processes: during a
# rolling deploy, workers of two versions share one Redis channel. ``to_wire`` must produce
# exactly the dicts earlier releases published (same "type" names, same keys), and
# ``from_wire`` must read them and ignore keys it does not know (RedisNotifier adds "origin"
# and "published_at"). Add keys only as optional, never rename or remove one.
UPDATES = "updates"
TYPING = "typing"
REVOKE = "revoke"
RESYNC = "resync"


@dataclass(frozen=True)
class CarriedUpdate:
    """The update a send's doorbell carries: what each user of ``cursors`` got at that cursor."""

    type: str
    body: dict[str, Any]
    cursors: dict[str, int]


@dataclass(frozen=True)
class UpdatesAvailable:
    """A doorbell: these users' logs grew up to these cursors (after the change committed)."""

    cursors: dict[str, int]
    update: CarriedUpdate | None = None


@dataclass(frozen=True)
class Typing:
    """Someone is typing in a thread: shown to ``user_ids``' sockets, never stored."""

    user_ids: list[str]
    thread_id: str
    user_id: str


@dataclass(frozen=True)
class TokenRevoked:
    """A token was signed out: its sockets and long-polls end, on every worker."""

    token_hash: str


@dataclass(frozen=True)
class Resync:
    """Every waiter re-reads its log (doorbells may have been lost, e.g. in a notifier outage)."""


Event = UpdatesAvailable | Typing | TokenRevoked | Resync


def to_wire(event: Event) -> dict[str, Any]:
    """The event as earlier releases published it (see the compatibility note above)."""
    if isinstance(event, UpdatesAvailable):
        wire: dict[str, Any] = {"type": UPDATES, "cursors": event.cursors}
        if event.update is not None:
            carried = event.update
            wire["update"] = {"type": carried.type, "body": carried.body, "cursors": carried.cursors}
        return wire
    if isinstance(event, Typing):
        return {
            "type": TYPING,
            "user_ids": event.user_ids,
            "thread_id": event.thread_id,
            "user_id": event.user_id,
        }
    if isinstance(event, TokenRevoked):
        return {"type": REVOKE, "token_hash": event.token_hash}
    return {"type": RESYNC}


def from_wire(wire: dict[str, Any]) -> Event | None:
    """The event a process published; None for a type this release does not know.

    Raise ``ValueError`` when a known type lacks what it must carry.
    """
    try:
        kind = wire.get("type")
        if kind == UPDATES:
            carried = wire.get("update")
            update = None
            if carried:
                update = CarriedUpdate(carried["type"], carried["body"], carried["cursors"])
            return UpdatesAvailable(wire["cursors"], update)
        if kind == TYPING:
            return Typing(wire["user_ids"], wire["thread_id"], wire["user_id"])
        if kind == REVOKE:
            return TokenRevoked(wire["token_hash"])
        if kind == RESYNC:
            return Resync()
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed {wire.get('type')!r} event") from exc
    return None


class StopReason(enum.Enum):
    """Why an inbox stopped: its waiter must finish (``web.stream`` maps each to a close code)."""

    REVOKED = "revoked"  # its token was signed out
    SHUTDOWN = "shutdown"  # this process is going away: reconnect elsewhere
    SUPERSEDED = "superseded"  # the same user opened too many of its kind; this was the oldest
    OVERFLOW = "overflow"  # the socket's outgoing queue overflowed: the client reads too slowly
    TOO_BIG = "too big"  # the client sent a frame over the size limit
    FLOODING = "flooding"  # the client sent frames faster than allowed
    DISCONNECTED = "disconnected"  # the client went away
    FINISHED = "finished"  # the session ended with no earlier reason


class InboxKind(enum.Enum):
    """What waits on an inbox; each kind has its own per-user limit."""

    SOCKET = "socket"  # a WebSocket session: it also shows typing
    POLL = "poll"  # a waiting long-poll: it carries only the log


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
    """What one waiter (a WebSocket session or a waiting long-poll) has been told."""

    user_id: str
    token_hash: str | None = None
    rung_cursor: int = 0
    stopped: StopReason | None = None  # why the waiter must stop; the first reason wins
    kind: InboxKind = InboxKind.SOCKET
    ephemeral: deque[Typing] = field(default_factory=lambda: deque(maxlen=EPHEMERAL_BACKLOG))
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _rung: bool = False
    _fresh: dict[int, FreshUpdate] = field(default_factory=dict)
    _stale: bool = False  # rung without the update: only the log can say what is new
    _woken: bool = False  # the waiter has something of its own to do

    def ring(self, cursor: int = 0, fresh: FreshUpdate | None = None) -> None:
        """The log grew up to ``cursor``; ``fresh`` is the update at it, if the doorbell carried it."""
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

    def wake(self) -> None:
        """Wake the waiter for something of its own (a socket's frame arrived, say)."""
        with self._changed:
            self._woken = True
            self._changed.notify_all()

    def push(self, event: Typing) -> None:
        """Queue an ephemeral event; a long-poll ignores it (it carries only the log)."""
        if self.kind is not InboxKind.SOCKET:
            return  # queued typing would wake a long-poll in a loop
        with self._changed:
            self.ephemeral.append(event)
            self._changed.notify_all()

    def stop(self, reason: StopReason) -> None:
        with self._changed:
            self.stopped = self.stopped or reason
            self._changed.notify_all()

    def wait(self, timeout: float) -> bool:
        """Block until rung, pushed to, woken or stopped (True), or until ``timeout`` (False)."""
        with self._changed:
            ready = self._changed.wait_for(
                lambda: self._rung or self._woken or self.ephemeral or self.stopped, timeout
            )
            self._rung = self._woken = False
            return bool(ready)

    def take_ephemeral(self) -> list[Typing]:
        with self._changed:
            events = list(self.ephemeral)
            self.ephemeral.clear()
            return events
