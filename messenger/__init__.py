"""Messenger: accounts, 1:1 and group threads, messages and unread state over HTTP."""

from __future__ import annotations

from flask import Flask, Response, current_app
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Settings
from .logs import configure_logging
from .service.deps import Deps
from .service.outbox import start_mail_sender
from .service.updates import start_pruning
from .web import (
    accounts,
    asyncapi,
    attachments,
    blocks,
    bodies,
    cors,
    email,
    headers,
    messages,
    observe,
    ops,
    sessions,
    socket_io,
    stream,
    threads,
    updates,
)
from .web.api import MessengerApi, openapi_config
from .web.client import bp as client_bp
from .web.context import EXTENSION_KEY, MAIL_SENDER_KEY, PRUNER_KEY
from .web.errors import register_error_handlers
from .web.jsonio import JsonProvider
from .web.limits import install_rate_limits


def create_app(settings: Settings | None = None, deps: Deps | None = None) -> Flask:
    """Build the app; tests pass their own settings (a temporary database) or dependencies."""
    from .wiring import build_deps

    settings = settings or Settings.from_env()
    configure_logging(settings.log_format)
    app = Flask(__name__)
    observe.install(app, settings)  # first, so its hooks see every request, even a refused one
    app.config["MAX_CONTENT_LENGTH"] = settings.max_content_length
    app.json = JsonProvider(app)  # one decoder for bodies and frames; UTF-8 out
    openapi_config(app.config)
    app.extensions[EXTENSION_KEY] = deps or build_deps(settings)

    app.config["SOCK_SERVER_OPTIONS"] = {
        "ping_interval": settings.ws_ping_interval_s,
        "max_message_size": settings.max_content_length,
        "event_class": socket_io.FrameArrived,  # frames wake the session: no reader greenlet
    }
    api = MessengerApi(app)
    for blueprint in (
        accounts.blp,
        sessions.blp,
        threads.blp,
        messages.blp,
        updates.blp,
        ops.blp,
        blocks.blp,
        email.blp,
        attachments.blp,
    ):
        api.register_blueprint(blueprint)
    stream.sock.init_app(app)
    app.register_blueprint(stream.bp)
    app.register_blueprint(client_bp)  # the web client at / (its own CSP and headers)
    app.add_url_rule("/docs/assets/<path:filename>", "docs_asset", ops.docs_asset)
    app.add_url_rule("/asyncapi.json", "asyncapi_json", asyncapi.asyncapi_json)

    install_rate_limits(app, settings)
    if settings.forwarded_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.forwarded_hops, x_proto=settings.forwarded_hops)
    register_error_handlers(app)
    cors.install(app, settings)  # after the error handlers: refusals get CORS headers too
    headers.install(app)
    bodies.install(app)
    app.after_request(close_connections_when_draining)

    from .cli import register_commands

    register_commands(app)
    if settings.prune_interval_s > 0:
        app.extensions[PRUNER_KEY] = start_pruning(app.extensions[EXTENSION_KEY])
    if app.extensions[EXTENSION_KEY].mailer is not None:
        app.extensions[MAIL_SENDER_KEY] = start_mail_sender(app.extensions[EXTENSION_KEY])
    return app


def close_connections_when_draining(response: Response) -> Response:
    """While shutting down, don't keep connections alive: the worker exits when they close."""
    if current_app.extensions[EXTENSION_KEY].notifier.draining:
        response.headers["Connection"] = "close"
    return response
