"""What a waiter may deliver straight from its doorbells, and when it must read its log instead."""

from __future__ import annotations

from messenger.events import FRESH_BACKLOG, CarriedUpdate, FreshUpdate, Inbox, Resync, UpdatesAvailable
from messenger.model import MESSAGE_NEW, Update
from messenger.notify.hub import Hub


def fresh(cursor: int, text: str = "hi") -> FreshUpdate:
    return FreshUpdate(Update(cursor, MESSAGE_NEW, {"message": {"contents": text}}), "{}")


def cursors(items: list[FreshUpdate] | None) -> list[int] | None:
    return None if items is None else [item.update.cursor for item in items]


def send_event(
    cursors_by_user: dict[str, int], carried_for: dict[str, int] | None = None
) -> UpdatesAvailable:
    carried = cursors_by_user if carried_for is None else carried_for
    body = {"message": {"contents": "hi"}}
    return UpdatesAvailable(cursors_by_user, CarriedUpdate(MESSAGE_NEW, body, carried))


def test_a_run_right_after_the_cursor_is_delivered_in_order():
    hub = Hub()
    inbox = hub.subscribe(Inbox("bob"))
    for cursor in (12, 11, 13):  # doorbells may arrive out of order
        hub.deliver(send_event({"bob": cursor}))
    assert cursors(inbox.take_fresh(10)) == [11, 12, 13]
    assert inbox.take_fresh(13) == []  # taken once


def test_a_gap_sends_the_waiter_to_the_log():
    hub = Hub()
    inbox = hub.subscribe(Inbox("bob"))
    hub.deliver(send_event({"bob": 12}))  # 11's doorbell was lost or is late
    assert inbox.take_fresh(10) is None


def test_what_the_waiter_already_has_is_skipped():
    hub = Hub()
    inbox = hub.subscribe(Inbox("bob"))
    for cursor in (9, 10, 11):
        hub.deliver(send_event({"bob": cursor}))
    assert cursors(inbox.take_fresh(10)) == [11]


def test_a_doorbell_without_the_update_or_a_resync_sends_the_waiter_to_the_log():
    hub = Hub()
    inbox = hub.subscribe(Inbox("bob"))
    hub.deliver(send_event({"bob": 11}))
    hub.deliver(UpdatesAvailable({"bob": 12}))  # e.g. a member was added
    assert inbox.take_fresh(10) is None
    hub.deliver(send_event({"bob": 13}))
    hub.deliver(Resync())
    assert inbox.take_fresh(12) is None


def test_a_user_the_update_was_not_appended_for_reads_the_log():
    hub = Hub()
    inbox = hub.subscribe(Inbox("carol"))
    # carol's cursor moved for another reason (a roll-forward of an older message, say)
    hub.deliver(send_event({"bob": 5, "carol": 8}, carried_for={"bob": 5}))
    assert inbox.take_fresh(7) is None


def test_a_waiter_that_let_too_many_pile_up_reads_the_log():
    inbox = Hub().subscribe(Inbox("bob"))
    for cursor in range(1, FRESH_BACKLOG + 2):
        inbox.ring(cursor, fresh(cursor))
    assert inbox.take_fresh(0) is None
    inbox.ring(FRESH_BACKLOG + 2, fresh(FRESH_BACKLOG + 2))
    assert cursors(inbox.take_fresh(FRESH_BACKLOG + 1)) == [FRESH_BACKLOG + 2]
