"""Security headers on every response: no sniffing, no caching by default, a CSP on /docs.

The web client at / sets its own, stricter headers (``web.client``); these never replace them.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"  # flask-smorest's Swagger UI page, /docs
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)
# Swagger UI loads only this server's files; its one inline script (the page's config) is
# allowed by its hash, so no other inline script could run. React sets style attributes.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


def install(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    """Harden the response; a route that chose its own caching (the client, assets) keeps it.

    ``no-store`` by default, not only on authenticated routes: sign-up and sign-in answer
    with a token, and every other API answer is one user's data or worthless to cache.
    """
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    if request.endpoint == DOCS_ENDPOINT and response.status_code == 200:
        response.headers["Content-Security-Policy"] = docs_policy(response.get_data())
    return response


def docs_policy(html: bytes) -> str:
    """The docs page's CSP, allowing exactly the inline scripts the page holds."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in INLINE_SCRIPT.findall(html)
    )
    return DOCS_POLICY.format(hashes=hashes)
