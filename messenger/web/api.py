"""The flask-smorest ``Api``: OpenAPI document, offline docs page, and our blueprints."""

from __future__ import annotations

import flask_smorest
from flask_smorest.utils import resolve_schema_instance
from marshmallow import fields

from ..schemas import ErrorReply, Union
from .jsonio import JsonParser

BEARER_AUTH = {"bearerAuth": []}
API_DESCRIPTION = (
    "Accounts, 1:1 and group threads, messages and read state. The WebSocket `/stream` is described "
    "by the [AsyncAPI document](/asyncapi.json); what this server supports is at "
    "[GET /version](/version). Clients must ignore response fields and update types they do not "
    "know; requests with unknown fields are refused (422)."
)


class MessengerApi(flask_smorest.Api):
    """flask-smorest's Api, minus its error handler: ``web.errors`` owns the error shape."""

    ERROR_SCHEMA = ErrorReply  # documents every route's error responses with our one shape

    def _register_error_handlers(self):
        pass

    def _init_spec(self, **kwargs):
        super()._init_spec(**kwargs)
        self.ma_plugin.converter.add_attribute_function(union2properties)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, parsing every request of a route with one schema instance.

    Handed a schema class, webargs builds a new instance, deep-copying its fields, for every
    request: a tenth of the send path's time in a profile. Loading leaves an instance as it
    was, so one per route serves every request.
    """

    ARGUMENTS_PARSER = JsonParser()  # bodies decode with jsonio.parse_json, like frames

    def arguments(self, schema, *args, **kwargs):
        return super().arguments(resolve_schema_instance(schema), *args, **kwargs)


def openapi_config(app_config: dict) -> None:
    app_config.update(
        API_TITLE="Messenger API",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",  # served by the app: the docs work offline
        # No validator badge: Swagger UI would send the document to validator.swagger.io.
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
        API_SPEC_OPTIONS={
            # Swagger UI at /docs shows this as Markdown: the links need no change to its CSP.
            "info": {"description": API_DESCRIPTION},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [BEARER_AUTH],
        },
    )


def union2properties(self, field: fields.Field, **kwargs) -> dict:
    """Document a ``schemas.Union`` as a ``oneOf`` its variants' ``type`` tells apart.

    An apispec attribute function (``self`` is the converter), so the variants become component
    schemas like any nested schema. OpenAPI's discriminator maps each type to its schema;
    AsyncAPI's (built with OpenAPI 3.1's converter, see web.asyncapi) names only the property.
    The catch-all ``other`` is in no mapping: a client meets it only for a type it cannot know.
    """
    if not isinstance(field, Union):
        return {}
    refs = {tag: self.resolve_nested_schema(schema) for tag, schema in field.variants.items()}
    one_of = [*refs.values(), self.resolve_nested_schema(field.other)]
    if self.openapi_version.major == 3 and self.openapi_version.minor == 0:
        mapping = {tag: ref["$ref"] for tag, ref in refs.items()}
        return {"oneOf": one_of, "discriminator": {"propertyName": "type", "mapping": mapping}}
    return {"oneOf": one_of, "discriminator": "type"}
