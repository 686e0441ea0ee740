"""Reading a user's update log, waiting for it to grow, deciding what a woken waiter delivers
(for long-polls and sockets alike), and ringing doorbells after changes."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ..errors import InvalidToken
from ..events import CarriedUpdate, FreshUpdate, Inbox, InboxKind, StopReason, Typing, UpdatesAvailable
from ..model import MESSAGE_NEW, Cursors, Sent, UpdatePage, message_new_body
from .accounts import hash_token
from .attachments import collect_orphans, signed_updates
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
    carried = None
    if sent is not None and sent.message_cursors:
        carried = CarriedUpdate(MESSAGE_NEW, message_new_body(sent.message), sent.message_cursors)
    deps.notifier.publish(UpdatesAvailable(cursors, carried))


def relay_typing(deps: Deps, user_ids: list[str], thread_id: str, typist_id: str) -> None:
    """Pass a typing event on as it happens; it is never stored and has no cursor."""
    if user_ids:
        deps.notifier.publish(Typing(user_ids, thread_id, typist_id))


def read_updates(deps: Deps, user_id: str, since: int | None) -> UpdatePage:
    """Updates after ``since``; without a cursor, just the current one to start from."""
    if since is None:
        return UpdatePage([], deps.store.current_cursor(user_id), more=False)
    return signed_updates(deps, deps.store.read_updates(user_id, since, PAGE_SIZE))


def subscribe(deps: Deps, user_id: str, token: str, kind: InboxKind) -> Inbox:
    """Wait for a user's updates on behalf of ``token``: signing it out stops the inbox, and past
    the per-user limit of its kind (MAX_SOCKETS_PER_USER, MAX_POLLS_PER_USER) the oldest stops."""
    settings = deps.settings
    limit = settings.max_sockets_per_user if kind is InboxKind.SOCKET else settings.max_polls_per_user
    inbox = Inbox(user_id, hash_token(token), kind=kind)
    deps.waiters.admit(inbox, limit)
    return deps.notifier.subscribe(inbox)


def unsubscribe(deps: Deps, inbox: Inbox) -> None:
    """The waiter is done: nothing more is delivered to it, and it no longer counts."""
    deps.notifier.unsubscribe(inbox)
    deps.waiters.release(inbox)


@dataclass(frozen=True)
class Delivery:
    """What a woken waiter delivers: a page, and each update's body as JSON when the doorbells
    carried them encoded (None when the page was read from the log)."""

    page: UpdatePage
    bodies_json: tuple[str, ...] | None = None


def take_delivery(deps: Deps, inbox: Inbox, since: int) -> Delivery | None:
    """What a waiter at ``since`` delivers now, for the long-poll and the socket alike: what its
    doorbells carried when that is all that is new, else a page of its log; None when nothing
    was rung past ``since``."""
    fresh = inbox.take_fresh(since)
    if fresh is None:
        return Delivery(read_updates(deps, inbox.user_id, since))
    if not fresh:
        return None
    return Delivery(_fresh_page(fresh), tuple(item.body_json for item in fresh))


def _fresh_page(fresh: list[FreshUpdate]) -> UpdatePage:
    """A page of what doorbells carried, as the log would have served it."""
    return UpdatePage([item.update for item in fresh], fresh[-1].update.cursor, more=False)


def wait_for_updates(deps: Deps, user_id: str, token: str, since: int | None, timeout_s: float) -> UpdatePage:
    """Return as soon as the log holds something after ``since``, or empty after the timeout.

    Subscribing before the first read means a doorbell rung in between is not missed; the
    wait is woken by the notifier, never by polling the store.
    """
    if since is None:
        return read_updates(deps, user_id, None)
    inbox = subscribe(deps, user_id, token, InboxKind.POLL)
    try:
        deadline = time.monotonic() + timeout_s
        page = read_updates(deps, user_id, since)
        while True:
            remaining = deadline - time.monotonic()
            if page.updates or remaining <= 0:
                return page
            if inbox.stopped is StopReason.REVOKED:
                raise InvalidToken()
            if inbox.stopped:  # shutting down, or a newer poll of this user: answer now
                return page
            delivery = take_delivery(deps, inbox, since) if inbox.wait(remaining) else None
            # Timed out, or woken with nothing past ``since`` (stopped, say): the log has the
            # last word before the poll answers.
            page = delivery.page if delivery else read_updates(deps, user_id, since)
    finally:
        unsubscribe(deps, inbox)


def prune(deps: Deps) -> int:
    """Apply the log's retention policy (age and count per user)."""
    settings = deps.settings
    max_age_ms = settings.updates_max_age_days * 24 * 60 * 60 * 1000
    return deps.store.prune_updates(deps.clock(), max_age_ms, settings.updates_max_per_user)


def start_pruning(deps: Deps) -> threading.Event:
    """Prune every ``prune_interval_s`` in the background, the update log and uploads no
    message refers to (ORPHAN_TTL_H); set the returned event to stop."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(deps.settings.prune_interval_s):
            try:
                prune(deps)
            except Exception:  # a failed round is retried at the next interval
                logger.exception("pruning the update log failed")
            try:
                collect_orphans(deps)
            except Exception:
                logger.exception("collecting orphaned attachments failed")

    threading.Thread(target=loop, name="update-pruner", daemon=True).start()
    return stop
