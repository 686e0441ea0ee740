"""Access to the app's dependencies from request handlers."""

from __future__ import annotations

from flask import current_app

from ..service.deps import Deps

EXTENSION_KEY = "messenger"


def deps() -> Deps:
    return current_app.extensions[EXTENSION_KEY]
