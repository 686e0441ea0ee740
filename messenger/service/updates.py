"""Reading a user's update log, waiting for it to grow, and ringing doorbells after changes."""

from __future__ import annotations

import logging
import threading
import time

from ..errors import InvalidToken
from ..model import MESSAGE_NEW, Cursors, Sent, UpdatePage, message_new_body
from ..notify.hub import POLL, REVOKED, TYPING, UPDATES, FreshUpdate
from .deps import Deps

logger = logging.getLogger(__name__)

PAGE_SIZE = 500


def ring(deps: Deps, cursors: Cursors, sent: Sent | None = None) -> None:
    """Tell every process that these users' logs grew; called only after the change committed.

    A send's doorbell carries its message.new, so a waiter just behind it can deliver it
    without reading the log.
    """
    if not cursors:
        return
    event: dict = {"type": UPDATES, "cursors": cursors}
    if sent is not None and sent.message_cursors:
        event["update"] = {
            "type": MESSAGE_NEW,
            "body": message_new_body(sent.message),
            "cursors": sent.message_cursors,
        }
    deps.notifier.publish(event)


def fresh_page(fresh: list[FreshUpdate]) -> UpdatePage:
    """A page of what doorbells carried, as the log would have served it."""
    return UpdatePage([item.update for item in fresh], fresh[-1].update.cursor, more=False)


def relay_typing(deps: Deps, user_ids: list[str], thread_id: str, typist_id: str) -> None:
    """Pass a typing event on as it happens; it is never stored and has no cursor."""
    if user_ids:
        deps.notifier.publish(
            {"type": TYPING, "user_ids": user_ids, "thread_id": thread_id, "user_id": typist_id}
        )


def read_updates(deps: Deps, user_id: str, since: int | None) -> UpdatePage:
    """Updates after ``since``; without a cursor, just the current one to start from."""
    if since is None:
        return UpdatePage([], deps.store.current_cursor(user_id), more=False)
    return deps.store.read_updates(user_id, since, PAGE_SIZE)


def wait_for_updates(
    deps: Deps, user_id: str, token_hash: str, since: int | None, timeout_s: float
) -> UpdatePage:
    """Return as soon as the log holds something after ``since``, or empty after the timeout.

    Subscribing before the first read means a doorbell rung in between is not missed; the
    wait is woken by the notifier, never by polling the store.
    """
    if since is None:
        return read_updates(deps, user_id, None)
    inbox = deps.notifier.subscribe(user_id, token_hash, POLL, deps.settings.max_polls_per_user)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            page = deps.store.read_updates(user_id, since, PAGE_SIZE)
            remaining = deadline - time.monotonic()
            if page.updates or remaining <= 0:
                return page
            if inbox.stopped == REVOKED:
                raise InvalidToken()
            if inbox.stopped:  # shutting down, or a newer poll of this user: answer now
                return page
            fresh = inbox.take_fresh(since) if inbox.wait(remaining) else None
            if fresh:
                return fresh_page(fresh)
    finally:
        deps.notifier.unsubscribe(inbox)


def prune(deps: Deps) -> int:
    """Apply the log's retention policy (age and count per user)."""
    settings = deps.settings
    max_age_ms = settings.updates_max_age_days * 24 * 60 * 60 * 1000
    return deps.store.prune_updates(deps.clock(), max_age_ms, settings.updates_max_per_user)


def start_pruning(deps: Deps) -> threading.Event:
    """Prune every ``prune_interval_s`` in the background; set the returned event to stop."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(deps.settings.prune_interval_s):
            try:
                prune(deps)
            except Exception:  # a failed round is retried at the next interval
                logger.exception("pruning the update log failed")

    threading.Thread(target=loop, name="update-pruner", daemon=True).start()
    return stop
