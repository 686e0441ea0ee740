"""One error handler: every failure becomes ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

from .. import metrics
from ..errors import MessengerError

logger = logging.getLogger(__name__)

# Stable codes for the HTTP errors Flask and werkzeug raise themselves.
HTTP_CODES = {
    400: "bad_request",
    401: "auth_required",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_content_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "store_unavailable",
}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(MessengerError, handle_messenger_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(RecursionError, handle_too_deep)
    app.register_error_handler(Exception, handle_unexpected)


def handle_messenger_error(error: MessengerError):
    metrics.count_store_error(error)
    return jsonify({"error": error.to_dict()}), error.status, error.headers


def handle_http_exception(error: HTTPException):
    """Werkzeug's and webargs' errors (webargs puts field messages in ``error.data``)."""
    status = error.code or 500
    messages = (getattr(error, "data", None) or {}).get("messages")
    if status == 400 and messages is not None:
        return jsonify(error_body("invalid_json", "The body is not valid JSON.")), 400
    if status == 422 and messages is not None:
        details = _unwrap_location(messages)
        return jsonify(error_body("validation_error", "The payload is invalid.", details)), 422
    code = HTTP_CODES.get(status, "http_error")
    response = error.get_response()
    response.data = jsonify(error_body(code, error.description or code)).get_data()
    response.content_type = "application/json"
    return response


def handle_too_deep(error: RecursionError):
    """JSON nested thousands deep makes Python's parser give up: bad input, not a server bug."""
    logger.warning("request refused: %s", error)
    return jsonify(error_body("invalid_json", "The body is not valid JSON (nested too deeply).")), 400


def handle_unexpected(error: Exception):
    """A bug: log it with its traceback and answer the same JSON shape, never HTML."""
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    logger.exception("unhandled error")
    return handle_http_exception(InternalServerError())


def _unwrap_location(messages: dict) -> dict:
    """webargs nests messages under the location ("json", "query"); clients need the fields."""
    if len(messages) == 1:
        (inner,) = messages.values()
        if isinstance(inner, dict):
            return inner
    return messages
