"""Routes for passwords by email and email verification (README "Passwords and email")."""

from __future__ import annotations

from flask import g

from .. import schemas
from ..service import email
from .accounts import PUBLIC
from .api import Blueprint
from .auth import authenticated
from .context import deps
from .limits import limited_by_address, limited_per_user, rate_limits

blp = Blueprint("email", __name__, description="Passwords by email and email verification")

RESET_ACCEPTED = {"message": "If an account has this address, a link to reset its password is on its way."}
VERIFICATION_ACCEPTED = {"message": "If the address is not verified yet, a link to verify it is on its way."}


@blp.route("/auth/password-reset", methods=["POST"])
@limited_by_address("password_reset")
@blp.arguments(schemas.PasswordResetRequest)
@blp.response(202, schemas.Accepted)
@blp.alt_response(404, schema=schemas.ErrorReply, description="mail_not_configured: no SMTP_URL")
@blp.doc(**PUBLIC)
def request_password_reset(data):
    """Mail a single-use reset link if an account has this address; the answer is the same
    either way (404 mail_not_configured on a server without SMTP_URL)."""
    email.request_password_reset(
        deps(), data["email"], lambda account: rate_limits().check("password_reset_account", account)
    )
    return RESET_ACCEPTED


@blp.route("/auth/password-reset/confirm", methods=["POST"])
@limited_by_address("one_time_token")
@blp.arguments(schemas.PasswordResetConfirmRequest)
@blp.response(204)
@blp.doc(**PUBLIC)
def confirm_password_reset(data):
    """Set a new password with the mailed token (once, within RESET_TTL_MIN); every session
    of the account is signed out."""
    email.confirm_password_reset(deps(), data["token"], data["new_password"])


@blp.route("/auth/verify-email", methods=["POST"])
@limited_by_address("one_time_token")
@blp.arguments(schemas.VerifyEmailRequest)
@blp.response(204)
@blp.doc(**PUBLIC)
def verify_email(data):
    """Mark the account's address verified with the mailed token (once, within VERIFY_TTL_HOURS)."""
    email.verify_email(deps(), data["token"])


@blp.route("/me/email", methods=["POST"])
@authenticated
@limited_per_user("email")
@blp.arguments(schemas.EmailChangeRequest)
@blp.response(200, schemas.Me)
def change_email(data):
    """Change your email address (your password confirms it); it is unverified until the link
    mailed to it is opened."""
    return email.change_email(deps(), g.user_id, data["email"], data["password"])


@blp.route("/me/email/verification", methods=["POST"])
@authenticated
@limited_per_user("email")
@blp.response(202, schemas.Accepted)
@blp.alt_response(404, schema=schemas.ErrorReply, description="mail_not_configured: no SMTP_URL")
def resend_verification():
    """Mail another verification link to your address (404 mail_not_configured without SMTP_URL)."""
    email.resend_verification(deps(), g.user_id)
    return VERIFICATION_ACCEPTED
