"""Routes for sign-up, sign-in, sign-out, one's profile and finding people."""

from __future__ import annotations

from flask import Response, g, stream_with_context

from .. import schemas
from ..errors import InvalidCredentials, WrongPassword
from ..model import User
from ..service import accounts, email, leaving, profiles
from .api import Blueprint
from .auth import authenticated
from .context import deps
from .devices import device_of_request
from .limits import client_address, failures_counted, limited_by_address, limited_per_user

blp = Blueprint("accounts", __name__, description="Accounts and tokens")
PUBLIC = {"security": []}


@blp.route("/auth/signup", methods=["POST"])
@limited_by_address("signup")
@blp.arguments(schemas.SignupRequest)
@blp.response(201, schemas.SignedIn)
@blp.doc(**PUBLIC)
def sign_up(data):
    """Create an account and get a token for this device."""
    device = device_of_request(data.get("device"))
    user, token = accounts.sign_up(
        deps(), data["email"], data["username"], data["password"], device, client_address()
    )
    email.maybe_send_verification(deps(), user)  # when SMTP_URL is set
    return signed_in(user, token)


@blp.route("/auth/signin", methods=["POST"])
@limited_by_address("signin")
@blp.arguments(schemas.SigninRequest)
@blp.response(200, schemas.SignedIn)
@blp.doc(**PUBLIC)
def sign_in(data):
    """Exchange an email or username and password for a new token.

    Past RATE_LIMIT_SIGNIN_FAILURES failures of one account, from any address, every attempt
    gets 429 until the window ends, the right password too: a guesser rotating addresses is
    stopped, and the answer is the same whether the account exists or not.
    """
    with failures_counted("signin_failures", accounts.login_key(deps(), data["login"]), InvalidCredentials):
        user, token = accounts.sign_in(
            deps(), data["login"], data["password"], device_of_request(data.get("device")), client_address()
        )
    return signed_in(user, token)


@blp.route("/auth/signout", methods=["POST"])
@authenticated
@blp.response(204)
def sign_out():
    """Revoke the token this request was made with (other devices stay signed in)."""
    accounts.sign_out(deps(), g.token)


@blp.route("/me", methods=["GET"])
@authenticated
@limited_per_user("read")
@blp.response(200, schemas.Me)
def me():
    """Who the token belongs to."""
    return accounts.require_user(deps(), g.user_id)


@blp.route("/me", methods=["PATCH"])
@authenticated
@limited_per_user("profile")
@blp.arguments(schemas.ProfileRequest)
@blp.response(200, schemas.Me)
def update_profile(data):
    """Change your username or display name (null clears it); everyone sharing a thread is told."""
    return profiles.update_profile(deps(), g.user_id, data)


@blp.route("/me", methods=["DELETE"])
@authenticated
@limited_per_user("profile")
@blp.arguments(schemas.DeleteAccountRequest)
@blp.response(204)
def delete_account(data):
    """Delete your account for good (ACCOUNT_DELETION says what becomes of your messages).

    A wrong password is 403 ``wrong_password`` (as for a password change) and counts towards
    the account's RATE_LIMIT_SIGNIN_FAILURES, so a stolen token cannot be used to guess it.
    """
    with failures_counted("signin_failures", accounts.account_key(g.user_id), WrongPassword):
        leaving.check_password(deps(), g.user_id, data["password"])
    leaving.delete_account(deps(), g.user_id)


@blp.route("/me/export", methods=["GET"])
@authenticated
@limited_per_user("export")
@blp.doc(
    responses={
        "200": {
            "description": "Everything held about you, as one JSON document (README: Leaving the service)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
)
def export():
    """Download everything the service holds about you, streamed as one JSON document."""
    chunks = leaving.export_chunks(deps(), g.user_id)
    filename = f"messenger-export-{g.user_id}.json"
    return Response(
        stream_with_context(chunks),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@blp.route("/users", methods=["GET"])
@authenticated
@limited_per_user("read")
@blp.arguments(schemas.UserSearchQuery, location="query")
@blp.response(200, schemas.UserList)
def search_users(query):
    """Find people by username prefix (case-insensitive, at most 20) to start a thread."""
    return {"users": accounts.search_users(deps(), query["q"], g.user_id)}


def signed_in(user: User, token: str) -> dict:
    """What sign-up and sign-in answer: the user (``schemas.SignedIn`` adds ``avatar``) and the token."""
    return {
        "user_id": user.user_id,
        "username": user.username,
        "display_name": user.display_name,
        "avatar_id": user.avatar_id,
        "email": user.email,
        "token": token,
    }
