"""CORS for the HTTP API, with flask-cors: pages and hybrid apps (Capacitor, Ionic) served from
an origin in ALLOWED_ORIGINS may call it from the browser; every other origin gets no CORS
header, so its page cannot read an answer.

No credentials: the API authenticates with a bearer token the page itself attaches, never with
cookies, so a page of another site cannot act as a user by merely sending a request. A
preflight (OPTIONS) needs no token and counts against no limit: it reaches no view.
"""

from __future__ import annotations

import re

from flask import Flask
from flask_cors import CORS

from ..config import Settings
from .observe import REQUEST_ID_HEADER

cors = CORS()

ALLOWED_METHODS = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"]
# A client may send its own X-Request-ID (``observe`` logs it and echoes it back).
ALLOWED_HEADERS = ["Authorization", "Content-Type", REQUEST_ID_HEADER]
EXPOSED_HEADERS = ["Retry-After", REQUEST_ID_HEADER]
# How long a browser may reuse a preflight's answer: 10 minutes (Chromium caps it at 2 hours),
# so a narrowed ALLOWED_ORIGINS takes effect soon after a deploy.
PREFLIGHT_MAX_AGE_S = 600


def install(app: Flask, settings: Settings) -> None:
    """Answer CORS for ALLOWED_ORIGINS, the origins the WebSocket also lets in; none when unset."""
    if not settings.allowed_origins:
        return
    cors.init_app(
        app,
        origins=allowed_origins(settings.allowed_origins),
        methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        supports_credentials=False,
        max_age=PREFLIGHT_MAX_AGE_S,
    )


def allowed_origins(origins: tuple[str, ...]) -> str | list[re.Pattern]:
    """Each origin matched whole and literally, as the WebSocket's check does: flask-cors reads a
    string holding ``[`` or ``*`` as a pattern, which would make ``http://[::1]:8080`` a
    character class."""
    if "*" in origins:
        return "*"
    return [re.compile(re.escape(origin) + r"\Z", re.IGNORECASE) for origin in origins]
