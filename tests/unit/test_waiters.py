"""Each user's sockets and long-polls per worker: past the limit of a kind, its oldest stops."""

from __future__ import annotations

from messenger.events import Inbox, InboxKind, StopReason
from messenger.service.waiters import WaiterLimits


def admitted(limits: WaiterLimits, user_id: str, kind: InboxKind = InboxKind.SOCKET) -> Inbox:
    inbox = Inbox(user_id, kind=kind)
    limits.admit(inbox, limit=2)
    return inbox


def test_past_the_limit_of_a_kind_the_oldest_of_that_kind_is_superseded():
    limits = WaiterLimits()
    oldest, older = admitted(limits, "bob"), admitted(limits, "bob")
    poll = admitted(limits, "bob", InboxKind.POLL)
    carols = admitted(limits, "carol")
    newest = admitted(limits, "bob")
    assert oldest.stopped is StopReason.SUPERSEDED
    assert (older.stopped, poll.stopped, carols.stopped, newest.stopped) == (None,) * 4
    assert limits.held("bob", InboxKind.SOCKET) == 2


def test_a_released_waiter_no_longer_counts():
    limits = WaiterLimits()
    older, newer = admitted(limits, "bob"), admitted(limits, "bob")
    limits.release(older)
    limits.release(older)  # twice is harmless
    assert admitted(limits, "bob").stopped is None
    assert newer.stopped is None
    limits.release(newer)
    assert limits.held("bob", InboxKind.SOCKET) == 1
