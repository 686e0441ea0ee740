"""Flask CLI commands for operators: ``flask --app app create-user``, ``create-indexes`` and
``reset-password``."""

from __future__ import annotations

import secrets

import click
from flask import Flask

from .errors import MessengerError
from .schemas import SignupRequest, load
from .service import accounts, email
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


OPERATOR_PASSWORD_BYTES = 12  # 16 characters, 96 random bits: never common, never a name
