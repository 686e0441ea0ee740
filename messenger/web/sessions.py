"""Routes for a user's sessions (one per signed-in device) and for changing the password."""

from __future__ import annotations

from dataclasses import asdict

from flask import g

from .. import schemas
from ..errors import WrongPassword
from ..model import Session
from ..service import accounts, sessions
from .api import Blueprint
from .auth import authenticated
from .context import deps
from .limits import failures_counted, limited_per_user

blp = Blueprint("sessions", __name__, description="Sessions, devices and the password")


@blp.route("/me/sessions", methods=["GET"])
@authenticated
@limited_per_user("read")
@blp.response(200, schemas.SessionList)
def list_sessions():
    """List the devices signed in to your account, the one asking marked ``current``."""
    return {"sessions": [_shown(session) for session in sessions.list_sessions(deps(), g.user_id)]}


@blp.route("/me/sessions/<session_id>", methods=["DELETE"])
@authenticated
@blp.response(204)
def sign_out_session(session_id):
    """Sign one of your devices out (this one too, if named): its sockets and polls end at once."""
    sessions.sign_out_session(deps(), g.user_id, session_id)


@blp.route("/auth/signout-everywhere", methods=["POST"])
@authenticated
@blp.response(204)
def sign_out_everywhere():
    """Sign out every device but this one."""
    sessions.sign_out_others(deps(), g.user_id, g.session.token_hash)


@blp.route("/me/password", methods=["POST"])
@authenticated
@blp.arguments(schemas.PasswordChangeRequest)
@blp.response(204)
def change_password(data):
    """Change your password; every other device is signed out, this one stays signed in.

    A wrong current password is 403 ``wrong_password`` and counts as a failed sign-in of the
    account (RATE_LIMIT_SIGNIN_FAILURES): past the limit, every attempt gets 429 until the
    window ends, so a stolen token cannot be used to guess the password.
    """
    with failures_counted("signin_failures", accounts.account_key(g.user_id), WrongPassword):
        accounts.change_password(deps(), g.session, data["current_password"], data["new_password"])


def _shown(session: Session) -> dict:
    """A session as its user sees it (``SessionOut`` dumps no more: never the token's hash)."""
    current = session.token_hash == g.session.token_hash
    return {**asdict(session), "session_id": session.session_id, "current": current}
