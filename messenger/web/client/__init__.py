"""The web client: one HTML page and its ES modules, served offline under a strict CSP.

There is no build step: the files under ``static/`` are what the browser runs. They are served
with ``Cache-Control: no-cache`` because their names carry no content hash, so a browser must
revalidate (a cheap 304) rather than mix modules from two releases after a deploy.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

STATIC_DIR = Path(__file__).with_name("static")

bp = Blueprint("client", __name__, static_folder="static", static_url_path="/app")

# The page renders user data as text only and loads nothing from elsewhere, so the policy can be
# strict: a stored message that smuggled markup could not run script or load anything even if a
# bug rendered it. ws:/wss: are listed because 'self' does not match WebSocket schemes everywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@bp.get("/")
def index():
    """Serve the single page; the client routes with the URL fragment, so this is its only page."""
    return send_from_directory(STATIC_DIR, "index.html")


@bp.after_request
def add_security_headers(response: Response) -> Response:
    """Harden every response of the client's routes (the page, its assets and their 404s)."""
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-cache"
    return response
