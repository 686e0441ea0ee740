"""Process lifecycle hooks gunicorn calls (see gunicorn.conf.py)."""

from __future__ import annotations

import logging

from flask import Flask

from .web.context import EXTENSION_KEY

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
