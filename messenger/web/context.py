"""Access to the app's dependencies from request handlers."""

from __future__ import annotations

from flask import current_app

from ..service.deps import Deps

EXTENSION_KEY = "messenger"
# The stop handle of the app's update-log pruner (a threading.Event), absent when it runs none.
PRUNER_KEY = "messenger.pruner"
# The stop handle of the app's mail sender (``service.outbox.MailSender``), absent without SMTP_URL.
MAIL_SENDER_KEY = "messenger.mail_sender"


def deps() -> Deps:
    return current_app.extensions[EXTENSION_KEY]
