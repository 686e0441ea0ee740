"""Lifecycle hooks: what gunicorn calls at shutdown (gunicorn.conf.py); ending an app's pruner."""

from __future__ import annotations

import logging

from flask import Flask

from .web.context import EXTENSION_KEY, MAIL_SENDER_KEY, PRUNER_KEY

logger = logging.getLogger(__name__)


def drain(app: Flask) -> None:
    """On SIGTERM: long-polls return now, sockets close with 1012 so clients reconnect elsewhere.

    gunicorn itself stops accepting and lets in-flight requests (sends) finish; without this,
    a waiting long-poll or an open socket would hold the worker until the graceful timeout.
    """
    deps = getattr(app, "extensions", {}).get(EXTENSION_KEY)
    if deps is None:  # another WSGI app under the same gunicorn.conf.py (the benchmark baseline)
        return
    logger.info("draining: ending long-polls and closing sockets")
    deps.notifier.drain()


def stop_pruning(app: Flask) -> None:
    """End the app's background pruner, if it runs one (tests end each app's this way)."""
    stop = getattr(app, "extensions", {}).pop(PRUNER_KEY, None)
    if stop is not None:
        stop.set()


def stop_mail_sender(app: Flask) -> None:
    """End the app's mail sender, if it runs one; mail it has not sent stays in the outbox."""
    stop = getattr(app, "extensions", {}).pop(MAIL_SENDER_KEY, None)
    if stop is not None:
        stop.set()
