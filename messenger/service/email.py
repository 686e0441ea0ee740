"""Passwords by email and email verification: one-time tokens mailed through the outbox.

A one-time token is 256 random bits, mailed as a link and stored only as its sha256, with its
mail in the same store write (``Store.add_one_time_token``); ``service.outbox`` sends it.
Links point at the web client: ``PUBLIC_URL/#/reset?token=<token>`` and
``PUBLIC_URL/#/verify-email?token=<token>``; the page posts the token to the API.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from werkzeug.security import check_password_hash, generate_password_hash

from .. import passwords
from ..errors import EmailNotVerified, InvalidOneTimeToken, InvalidPayload, MailNotConfigured, WrongPassword
from ..events import TokenRevoked
from ..model import PASSWORD_RESET, VERIFY_EMAIL, OneTimeToken, OutgoingMail, User
from .accounts import TOKEN_BYTES, hash_token, require_user
from .deps import Deps, new_id

logger = logging.getLogger(__name__)

MINUTE_MS = 60 * 1000
RESET_LINK = "{base}/#/reset?token={token}"
VERIFY_LINK = "{base}/#/verify-email?token={token}"


def request_password_reset(deps: Deps, email: str, count_account: Callable[[str], None]) -> None:
    """Mail a reset link if an account has ``email``; the caller answers the same either way.

    The work is the same for an unknown address up to the store write: the token and the
    mail are made, the account is looked up and counted (``count_account``, the per-account
    rate limit, keyed by the address typed when no account has it). Only the write itself (one
    indexed insert of a token and a mail) is skipped, and the mail is sent later by the outbox,
    never within the request: no answer waits on a mail server.
    """
    if not deps.settings.mail_enabled:
        raise MailNotConfigured()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    user = deps.store.get_user_by_email(email)
    count_account(f"user:{user.user_id}" if user else f"email:{email.lower()}")
    minutes = deps.settings.reset_ttl_min
    text = (
        "Someone, hopefully you, asked to reset the password of the Messenger account\n"
        f"{user.username if user else ''} at {deps.settings.public_url}.\n\n"
        f"Open this link within {minutes} minutes to choose a new password:\n"
        f"{RESET_LINK.format(base=deps.settings.public_url, token=token)}\n\n"
        "It works once. Choosing a new password signs you out everywhere.\n"
        "If you did not ask, ignore this mail: your password stays as it is.\n"
    )
    if user is None:
        return
    _mail_token(deps, user, PASSWORD_RESET, token, minutes * MINUTE_MS, "Reset your Messenger password", text)


def confirm_password_reset(deps: Deps, token: str, new_password: str) -> None:
    """Set the new password with a reset token (once), sign every session out, and take the
    link as proof the account holds its address (the mail reached it)."""
    token_hash = hash_token(token)
    found = deps.store.get_one_time_token(token_hash, PASSWORD_RESET, deps.clock())
    if found is None:
        raise InvalidOneTimeToken()
    user = require_user(deps, found.user_id)
    check_new_password(user, new_password)
    password_hash = deps.run_blocking(generate_password_hash, new_password)
    if deps.store.use_one_time_token(token_hash, PASSWORD_RESET, deps.clock()) is None:
        raise InvalidOneTimeToken()  # a concurrent confirm used it first
    set_password_hash(deps, user.user_id, password_hash)
    deps.store.set_email_verified(user.user_id, found.email)


def check_new_password(user: User, password: str) -> None:
    """The sign-up policy (``messenger.passwords``), for a password chosen later."""
    found = passwords.problems(password) + passwords.problems_with_names(password, user.username, user.email)
    if found:
        raise InvalidPayload(details={"new_password": found})


def set_password(deps: Deps, user_id: str, password: str) -> None:
    """Give the account a new password (the operator's reset-password) and sign it out everywhere."""
    set_password_hash(deps, user_id, deps.run_blocking(generate_password_hash, password))


def set_password_hash(deps: Deps, user_id: str, password_hash: str) -> None:
    """Store the new password first, then end every session: a sign-in racing the reset
    needs the new password to get a token that survives."""
    deps.store.set_password_hash(user_id, password_hash)
    sign_out_everywhere(deps, user_id)


def sign_out_everywhere(deps: Deps, user_id: str) -> None:
    """Revoke every token of the account and close their sockets on every worker."""
    for token_hash in deps.store.revoke_sessions(user_id):
        deps.notifier.publish(TokenRevoked(token_hash))


def maybe_send_verification(deps: Deps, user: User) -> None:
    """Mail a verification link to the account's address, when this server sends mail."""
    if not deps.settings.mail_enabled or user.email_verified:
        return
    token = secrets.token_urlsafe(TOKEN_BYTES)
    hours = deps.settings.verify_ttl_hours
    text = (
        f"Welcome to Messenger, {user.username}.\n\n"
        f"Open this link within {hours} hours to confirm that {user.email} is your address:\n"
        f"{VERIFY_LINK.format(base=deps.settings.public_url, token=token)}\n\n"
        "If you did not create this account, ignore this mail.\n"
    )
    _mail_token(deps, user, VERIFY_EMAIL, token, hours * 60 * MINUTE_MS, "Confirm your email address", text)


def resend_verification(deps: Deps, user_id: str) -> None:
    """Mail another verification link (nothing when the address is verified already)."""
    if not deps.settings.mail_enabled:
        raise MailNotConfigured()
    maybe_send_verification(deps, require_user(deps, user_id))


def verify_email(deps: Deps, token: str) -> None:
    """Mark the address verified with its token (once); a link mailed to an address the
    account has since changed verifies nothing."""
    token_hash = hash_token(token)
    found = deps.store.get_one_time_token(token_hash, VERIFY_EMAIL, deps.clock())
    # A stale link is refused without being used: using it would kill the current one too.
    if found is None or require_user(deps, found.user_id).email.lower() != found.email.lower():
        raise InvalidOneTimeToken()
    used = deps.store.use_one_time_token(token_hash, VERIFY_EMAIL, deps.clock())
    if used is None or not deps.store.set_email_verified(used.user_id, used.email):
        raise InvalidOneTimeToken()


def change_email(deps: Deps, user_id: str, email: str, password: str) -> User:
    """Change the address (the password confirms it is the owner); it must be verified again."""
    password_hash = deps.store.get_password_hash(user_id) or ""
    if not deps.run_blocking(check_password_hash, password_hash, password):
        raise WrongPassword()
    user = deps.store.change_email(user_id, email)
    maybe_send_verification(deps, user)
    return user


def require_verified_email(deps: Deps, user_id: str) -> None:
    """With REQUIRE_VERIFIED_EMAIL, refuse what an unverified account writes for others to read."""
    if deps.settings.require_verified_email and not require_user(deps, user_id).email_verified:
        raise EmailNotVerified()


def _mail_token(
    deps: Deps, user: User, purpose: str, token: str, ttl_ms: int, subject: str, text: str
) -> None:
    now = deps.clock()
    one_time = OneTimeToken(hash_token(token), purpose, user.user_id, user.email, now, now + ttl_ms)
    mail = OutgoingMail(new_id(), user.user_id, user.email, subject, text, now)
    if deps.store.add_one_time_token(one_time, mail, deps.settings.mail_max_pending_per_account):
        deps.mail_wakeup.set()
    else:
        logger.warning("not mailing %s: account %s has too many mails pending", purpose, user.user_id)
