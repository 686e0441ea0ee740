"""Flask CLI commands for operators: ``flask --app app create-user`` and ``create-indexes``."""

from __future__ import annotations

import click
from flask import Flask

from .errors import MessengerError
from .schemas import SignupRequest, load
from .service import accounts
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
