"""Sign-up, sign-in, tokens, password changes and user search."""

from __future__ import annotations

import hashlib
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from .. import passwords
from ..errors import (
    AccountDisabled,
    AuthRequired,
    InvalidCredentials,
    InvalidPayload,
    InvalidToken,
    UsernameTaken,
    UserNotFound,
    WrongPassword,
)
from ..model import DELETED_USERNAME, UNKNOWN_DEVICE, Session, User
from . import sessions
from .deps import Deps, new_id

TOKEN_BYTES = 32  # 256 bits of randomness
USER_SEARCH_LIMIT = 20
# Checked when the login is unknown, so a wrong user and a wrong password take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def hash_token(token: str) -> str:
    """Tokens are stored only as this hash: a leaked database holds no usable token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(deps: Deps, email: str, username: str, password: str) -> User:
    """Store a new account; raise ``EmailTaken`` or ``UsernameTaken``."""
    if username.lower() == DELETED_USERNAME:  # what deleted accounts are shown as
        raise UsernameTaken()
    password_hash = deps.run_blocking(generate_password_hash, password)
    user = User(new_id(), email, username, deps.clock())
    deps.store.add_user(user, password_hash)
    return user


def sign_up(
    deps: Deps,
    email: str,
    username: str,
    password: str,
    device: str = UNKNOWN_DEVICE,
    address: str | None = None,
) -> tuple[User, str]:
    """Create the account and sign it in on this device."""
    user = create_user(deps, email, username, password)
    return user, issue_token(deps, user.user_id, device, address)


def sign_in(
    deps: Deps, login: str, password: str, device: str = UNKNOWN_DEVICE, address: str | None = None
) -> tuple[User, str]:
    """Check the password; an unknown login and a wrong password fail alike."""
    found = deps.store.find_login(login)
    if found and found[0].deleted:
        found = None
    password_hash = found[1] if found else _DUMMY_HASH
    matches = deps.run_blocking(check_password_hash, password_hash, password)
    if not (found and matches):
        raise InvalidCredentials()
    if found[0].disabled:  # told only to who knows the password
        raise AccountDisabled()
    return found[0], issue_token(deps, found[0].user_id, device, address)


def login_key(deps: Deps, login: str) -> str:
    """What failed sign-ins are counted by: the account a login names (so its email and its
    username share one count), or else the login itself, so unknown logins are treated alike."""
    found = deps.store.find_login(login)
    # An unknown login is keyed as the store matches logins (lowercased, nothing stripped): a
    # login that differs only by what the store ignores must share a count either way.
    return account_key(found[0].user_id) if found else f"login:{login.lower()}"


def account_key(user_id: str) -> str:
    """What an account's failed password checks are counted by, at sign-in and elsewhere."""
    return f"user:{user_id}"


def issue_token(deps: Deps, user_id: str, device: str = UNKNOWN_DEVICE, address: str | None = None) -> str:
    """Start a session on ``device``, used from ``address``; return its token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = deps.clock()
    expires_at = now + sessions.lifetime_ms(deps)
    address = sessions.coarse_address(address)
    deps.store.add_session(Session(hash_token(token), user_id, device, now, now, expires_at, address))
    return token


def authenticate(deps: Deps, token: str | None, address: str | None = None) -> Session:
    """Return the session a bearer token opens, and note its use from ``address``; raise 401
    errors otherwise. One indexed read; a write at most once a minute (``sessions.seen``)."""
    if not token:
        raise AuthRequired()
    session = deps.store.get_session(hash_token(token), deps.clock())
    if session is None:
        raise InvalidToken()
    sessions.seen(deps, session, address)
    return session


def sign_out(deps: Deps, token: str) -> None:
    """Revoke the token and close its open sockets on every worker and machine."""
    token_hash = hash_token(token)
    deps.store.revoke_token(token_hash)
    sessions.ended(deps, [token_hash])


def change_password(deps: Deps, session: Session, current_password: str, new_password: str) -> None:
    """Replace the password and sign out every other session; this one stays signed in.

    ``WrongPassword`` unless ``current_password`` is the account's; ``InvalidPayload`` when the
    new one holds the account's names (the schema checked the rest of the policy).
    """
    user = require_user(deps, session.user_id)
    found = passwords.problems_with_names(new_password, user.username, user.email)
    if found:
        raise InvalidPayload(details={"new_password": found})
    password_hash = deps.store.get_password_hash(user.user_id)
    if password_hash is None or not deps.run_blocking(check_password_hash, password_hash, current_password):
        raise WrongPassword()
    deps.store.set_password_hash(user.user_id, deps.run_blocking(generate_password_hash, new_password))
    sessions.sign_out_others(deps, user.user_id, session.token_hash)


def require_user(deps: Deps, user_id: str) -> User:
    users = deps.store.get_users([user_id])
    if not users:
        raise UserNotFound()
    return users[0]


def search_users(deps: Deps, prefix: str, searcher_id: str | None = None) -> list[User]:
    """Find people to talk to by username prefix; an empty prefix finds nobody, and nobody
    finds the people they block (fetching as many more as they block fills the page anyway)."""
    if not prefix:
        return []
    blocked = {block.user_id for block in deps.store.list_blocks(searcher_id)} if searcher_id else set()
    found = deps.store.search_users(prefix, USER_SEARCH_LIMIT + len(blocked))
    return [user for user in found if user.user_id not in blocked and not user.deleted][:USER_SEARCH_LIMIT]
