"""The flask-smorest ``Api``: OpenAPI document, offline docs page, and our blueprints."""

from __future__ import annotations

import flask_smorest

from ..schemas import ErrorReply

BEARER_AUTH = {"bearerAuth": []}


class MessengerApi(flask_smorest.Api):
    """flask-smorest's Api, minus its error handler: ``web.errors`` owns the error shape."""

    ERROR_SCHEMA = ErrorReply  # documents every route's error responses with our one shape

    def _register_error_handlers(self):
        pass


def openapi_config(app_config: dict) -> None:
    app_config.update(
        API_TITLE="Messenger API",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",  # served by the app: the docs work offline
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [BEARER_AUTH],
        },
    )
