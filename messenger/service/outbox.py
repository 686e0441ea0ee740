"""The mail sender: each worker's background thread sends the outbox's due mail.

Delivery is at least once, with the duplicate window kept as small as SMTP allows. A mail
is claimed with a lease (``MAIL_LEASE_S``), sent, and marked sent as soon as the server has
answered 250 to its DATA. A crash before the send loses nothing: the lease ends, another
sender (or this one, restarted) claims it again. A crash in the short window between the
server's 250 and the mark sends it twice: SMTP has no way to ask a server whether it already
took a mail, so exactly once is not possible; at most once would mean marking first and
losing the mail on any crash or outage, worse for a password reset. The copy carries the same
Message-ID (``mail.smtp``), which many mail clients show once.

A mail the server did not take (unreachable, 4xx) is due again after a backoff
(``rules.mail_retry_at``); a 5xx refusal, or ``MAIL_MAX_ATTEMPTS`` claims (a crash loop
counts too), gives it up. Sent and given-up mails lose their body at once (it holds a link)
and are deleted after ``KEEP_FINISHED_MS``, with the expired one-time tokens.
"""

from __future__ import annotations

import logging
import threading

from .. import rules
from ..errors import MailDeliveryError
from ..model import ClaimedMail
from .deps import Deps

logger = logging.getLogger(__name__)

BATCH = 10  # mails claimed at once: a sender holds at most this many leases
KEEP_FINISHED_MS = 7 * 24 * 60 * 60 * 1000  # sent and failed mails are kept this long (bodies erased)
PRUNE_EVERY_ROUNDS = 720  # at the default 5 s interval, once an hour


def deliver_due(deps: Deps) -> int:
    """Send every mail due now; return how many the server took."""
    if deps.mailer is None:
        return 0
    sent = 0
    while True:
        claimed = deps.store.claim_mail(deps.clock(), deps.settings.mail_lease_s * 1000, BATCH)
        for index, claim in enumerate(claimed):
            outcome = _deliver(deps, claim)
            if outcome is None:  # the server is out: put the rest back instead of waiting on each
                for rest in claimed[index + 1 :]:
                    _retry_later(deps, rest)
                return sent
            sent += outcome
        if len(claimed) < BATCH:
            return sent


def _deliver(deps: Deps, claim: ClaimedMail) -> int | None:
    """1 sent, 0 given up or lost, None the server did not answer (try the rest later)."""
    mail = claim.mail
    if claim.attempts > deps.settings.mail_max_attempts:
        logger.error("giving up mail %s after %d attempts", mail.mail_id, claim.attempts - 1)
        deps.store.mark_mail_failed(mail.mail_id, claim.claim_id, deps.clock(), None)
        return 0
    try:
        deps.mailer.send(mail)
    except MailDeliveryError as exc:
        give_up = exc.permanent or claim.attempts >= deps.settings.mail_max_attempts
        logger.warning("mail %s not sent (attempt %d): %s", mail.mail_id, claim.attempts, exc)
        now = deps.clock()
        retry_at = None if give_up else rules.mail_retry_at(now, claim.attempts)
        deps.store.mark_mail_failed(mail.mail_id, claim.claim_id, now, retry_at)
        return 0 if exc.permanent else None
    # The duplicate window: from the server's 250 to this write. Nothing else runs in between.
    if not deps.store.mark_mail_sent(mail.mail_id, claim.claim_id, deps.clock()):
        logger.warning("mail %s was sent after its lease ended (MAIL_LEASE_S too short?)", mail.mail_id)
    logger.info("sent mail %s", mail.mail_id)
    return 1


def _retry_later(deps: Deps, claim: ClaimedMail) -> None:
    now = deps.clock()
    deps.store.mark_mail_failed(
        claim.mail.mail_id, claim.claim_id, now, rules.mail_retry_at(now, claim.attempts)
    )


class MailSender:
    """The running sender thread's handle; ``set()`` stops it (as the pruner's event does)."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="mail-sender", daemon=True)

    def set(self) -> None:
        self._stop.set()
        self._deps.mail_wakeup.set()

    def _loop(self) -> None:
        deps = self._deps
        rounds = 0
        while not self._stop.is_set():
            try:
                deliver_due(deps)
                if rounds % PRUNE_EVERY_ROUNDS == 0:
                    deps.store.prune_mail(deps.clock(), KEEP_FINISHED_MS)
            except Exception:  # the store is down, say: the mail waits in the outbox
                logger.exception("sending the mail outbox failed")
            rounds += 1
            deps.mail_wakeup.wait(deps.settings.mail_interval_s)
            deps.mail_wakeup.clear()


def start_mail_sender(deps: Deps) -> MailSender:
    """Send due mail every MAIL_INTERVAL_S, and at once when a request wrote some."""
    sender = MailSender(deps)
    sender.thread.start()
    return sender
