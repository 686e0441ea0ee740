"""Bearer-token authentication for HTTP routes."""

from __future__ import annotations

from functools import wraps

from flask import g, request

from ..service import accounts
from .context import deps
from .limits import client_address, hold_request_slot


def bearer_token() -> str | None:
    """The token from ``Authorization: Bearer <token>``, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def authenticated(view):
    """Require a live token before anything else (a bad token gets 401, not 422), and count the
    request among the user's in flight."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.token = bearer_token()
        g.session = accounts.authenticate(deps(), g.token, client_address())
        g.user_id = g.session.user_id
        hold_request_slot(g.user_id)
        return view(*args, **kwargs)

    return wrapper
