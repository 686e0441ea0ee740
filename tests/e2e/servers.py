"""Live gunicorn servers for the browser tests (``tests/integration/live.py`` runs them)."""

from __future__ import annotations

from pathlib import Path

from tests.integration.live import LiveServer

# A test signs up a dozen people from one address within a minute, and one sends 130 messages
# through the API at once: more than the production limits allow. The long-poll limit stays as
# it is, so a client that polled too often would still be caught.
TEST_RATE_LIMITS = {
    "RATE_LIMIT_SIGNUP": "1000 per minute",
    "RATE_LIMIT_SIGNIN": "1000 per minute",
    "RATE_LIMIT_SEND": "1000 per second",
}


def start_server(directory: Path, *, public_url: bool = False, **env: str) -> LiveServer:
    """A gunicorn process with its own SQLite file in ``directory``; the caller stops it.
    ``public_url``: PUBLIC_URL is the server's own address, so mailed links open it."""
    # The browser tests make groups of people who share no 1:1 thread: anyone may add anyone.
    settings = {
        "MESSENGER_DB": str(directory / "messenger.db"),
        "GROUP_ADD_POLICY": "anyone",
        **TEST_RATE_LIMITS,
        **env,
    }
    live = LiveServer(settings, log_path=directory / "gunicorn.log")
    if public_url:
        live.env["PUBLIC_URL"] = live.url
    return live.start()
