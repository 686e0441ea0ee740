"""Flask CLI commands for operators: ``flask --app app create-user``, ``create-indexes``,
``list-users``, ``disable-user``, ``enable-user``, ``delete-user`` and ``reset-password``."""

from __future__ import annotations

import secrets

import click
from flask import Flask

from .errors import MessengerError
from .model import User
from .schemas import SignupRequest, load
from .service import accounts, email, leaving
from .web.context import deps


def register_commands(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.argument("email")
    @click.argument("username")
    @click.password_option()
    def create_user(email: str, username: str, password: str) -> None:
        """Create an account (the password is prompted for unless --password is given)."""
        try:
            data = load(SignupRequest, {"email": email, "username": username, "password": password})
            user = accounts.create_user(deps(), data["email"], data["username"], data["password"])
        except MessengerError as error:
            raise click.ClickException(f"{error.message} {error.details or ''}".strip()) from None
        click.echo(f"created user {user.username} ({user.user_id})")

    @app.cli.command("create-indexes")
    def create_indexes() -> None:
        """Create every table, collection and index (also done at every start)."""
        deps().store.setup()
        click.echo("indexes are in place")

    @app.cli.command("list-users")
    def list_users() -> None:
        """List every account: id, username, email, created (ms since the epoch), state."""
        for user in leaving.list_accounts(deps()):
            state = "deleted" if user.deleted else "disabled" if user.disabled else "active"
            click.echo(f"{user.user_id}\t{user.username}\t{user.email}\t{user.created_at}\t{state}")

    @app.cli.command("disable-user")
    @click.argument("login")
    def disable_user(login: str) -> None:
        """Disable an account (email, username or id): its sessions end, sign-in answers 403."""
        user = _require_account(login)
        _run(leaving.set_disabled, user.user_id, True)
        click.echo(f"disabled user {user.username} ({user.user_id})")

    @app.cli.command("enable-user")
    @click.argument("login")
    def enable_user(login: str) -> None:
        """Let a disabled account sign in again."""
        user = _require_account(login)
        _run(leaving.set_disabled, user.user_id, False)
        click.echo(f"enabled user {user.username} ({user.user_id})")

    @app.cli.command("delete-user")
    @click.argument("login")
    def delete_user(login: str) -> None:
        """Delete an account as DELETE /me does, without its password; again on a deleted
        account's id, finish a deletion a crash interrupted."""
        user = _require_account(login)
        _run(leaving.delete_account, user.user_id)
        click.echo(f"deleted user {user.user_id}")

    @app.cli.command("reset-password")
    @click.argument("login")
    def reset_password(login: str) -> None:
        """Give an account (email or username) a new one-time password, printed once, and sign
        it out everywhere: hand it to its owner, who then chooses their own (no SMTP_URL needed)."""
        found = deps().store.find_login(login)
        if found is None:
            raise click.ClickException(f"no account has the login {login!r}")
        user = found[0]
        password = secrets.token_urlsafe(OPERATOR_PASSWORD_BYTES)
        email.set_password(deps(), user.user_id, password)
        click.echo(f"new password of {user.username} ({user.user_id}): {password}")
        click.echo("every session of the account is signed out")


def _require_account(login: str) -> User:
    """The account a login (email or username) or a user id names, deleted ones by id."""
    found = deps().store.find_login(login)
    if found is not None and not found[0].deleted:
        return found[0]
    by_id = deps().store.get_users([login])
    if not by_id:
        raise click.ClickException(f"no user {login!r}")
    return by_id[0]


def _run(action, *args) -> None:
    try:
        action(deps(), *args)
    except MessengerError as error:
        raise click.ClickException(f"{error.message} {error.details or ''}".strip()) from None


OPERATOR_PASSWORD_BYTES = 12  # 16 characters, 96 random bits: never common, never a name
