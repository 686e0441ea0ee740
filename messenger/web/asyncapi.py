"""The AsyncAPI 3 document of the WebSocket ``/stream``, served at ``GET /asyncapi.json``.

Its schemas come from the same marshmallow schemas as the OpenAPI document and through the
same apispec converter, in its OpenAPI 3.1 mode: 3.1's schemas are JSON Schema (``null`` is a
type, not ``nullable``), which is what AsyncAPI's default schema format is. Only the protocol's
shape around them (channel, messages, operations, close codes) is written here.
"""

from __future__ import annotations

import copy
import functools

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify, request
from marshmallow import Schema, fields, validate

from .. import features, schemas
from . import stream
from .actions import SOCKET_ACTIONS
from .api import union2properties

CHANNEL = "stream"
CHANNEL_REF = {"$ref": f"#/channels/{CHANNEL}"}
WS_BINDING_VERSION = "0.1.0"

# Every close code the server sends or a client may meet, what it means and what to do next
# (the README's table says the same; tests hold this list to web.stream's constants).
CLOSE_CODES: list[tuple[int, str, str]] = [
    (stream.CLOSE_BAD_REQUEST, "a malformed connection request (since is not a cursor)", "fix the request"),
    (
        stream.CLOSE_UNAUTHORIZED,
        "no valid token, or the token was signed out or expired",
        "sign in again, then reconnect",
    ),
    (
        stream.CLOSE_FORBIDDEN_ORIGIN,
        "the page's Origin is not allowed (ALLOWED_ORIGINS)",
        "serve it from one",
    ),
    (
        stream.CLOSE_REPLACED,
        "the user opened more than MAX_SOCKETS_PER_USER sockets here; this was the oldest",
        "do not reconnect at once: another tab or device took its place",
    ),
    (
        stream.CLOSE_CURSOR_EXPIRED,
        "since is older than the updates kept",
        "reload GET /threads and reconnect with since= its cursor",
    ),
    (
        stream.CLOSE_TOO_SLOW,
        "the client read too slowly and fell too far behind",
        "reconnect with since= the last cursor",
    ),
    (
        stream.CLOSE_POLICY_VIOLATION,
        "frames faster than WS_FRAMES_PER_S",
        "slow down; reconnect with backoff",
    ),
    (stream.CLOSE_TOO_BIG, "a frame over MAX_CONTENT_LENGTH bytes", "send smaller frames"),
    (1007, "a text frame that is not valid UTF-8", "send valid UTF-8"),
    (
        stream.CLOSE_SERVICE_RESTART,
        "the server is restarting (deploy, scale-down)",
        "reconnect at once, since= the last cursor",
    ),
    (
        stream.CLOSE_TRY_AGAIN_LATER,
        "the store is unavailable",
        "reconnect with backoff, since= the last cursor",
    ),
]

CLIENT_MESSAGES = {
    "send_message": ("sendMessage", "Send a message to a thread."),
    "create_thread": ("createThread", "Open a thread with a first message."),
    "get_user_threads": ("getUserThreads", "A page of your threads, newest activity first."),
    "get_thread_messages": ("getThreadMessages", "A page of a thread's messages, newest first."),
    "mark_read": ("markRead", "Move your read marker forward."),
    "typing": ("typing", "Tell the thread's other members you are typing."),
}


def frame_schemas(action: str, name: str) -> tuple[type[Schema], type[Schema]]:
    """An action's frame and its result frame: its HTTP body and reply, each with the frame's
    own fields, as one schema (``allOf`` could not work: each part forbids the other's fields)."""
    handler = SOCKET_ACTIONS[action]
    title = name[0].upper() + name[1:]
    frame = type(
        f"{title}Frame",
        (type(handler.request), schemas.ClientFrame),
        {"action": fields.String(required=True, validate=validate.Equal(action))},
    )
    result = type(f"{title}ResultFrame", (schemas.ResultFrame, type(handler.reply)), {})
    return frame, result


@functools.cache
def build_document() -> dict:
    """Everything but the servers, which depend on the request: built once per process."""
    spec = APISpec("Messenger stream", features.API_VERSION, "3.1.0", plugins=[MarshmallowPlugin()])
    plugin = spec.plugins[0]
    plugin.converter.add_attribute_function(union2properties)

    def ref(schema: type[Schema] | Schema) -> dict:
        return plugin.converter.resolve_nested_schema(schema)

    messages: dict[str, dict] = {}
    operations: dict[str, dict] = {}
    error_message = {"$ref": f"#/channels/{CHANNEL}/messages/error"}
    for action, (name, summary) in CLIENT_MESSAGES.items():
        frame, result = frame_schemas(action, name)
        messages[name] = {"name": name, "summary": summary, "payload": ref(frame)}
        messages[f"{name}Result"] = {
            "name": f"{name}Result",
            "summary": f"The answer to {action}: its HTTP reply body, with type, request_id and status.",
            "payload": ref(result),
        }
        operations[name] = {
            "action": "send",
            "channel": CHANNEL_REF,
            "summary": summary,
            "messages": [{"$ref": f"#/channels/{CHANNEL}/messages/{name}"}],
            "reply": {
                "channel": CHANNEL_REF,
                "messages": [{"$ref": f"#/channels/{CHANNEL}/messages/{name}Result"}, error_message],
            },
        }
    messages["update"] = {
        "name": "update",
        "summary": "An update of the user's log, replayed from since= then live. Skip unknown types.",
        "payload": ref(schemas.UpdateFrame),
    }
    messages["typingEvent"] = {"name": "typingEvent", "payload": ref(schemas.TypingEventFrame)}
    messages["error"] = {
        "name": "error",
        "summary": "An action failed (request_id echoed), or the connection is refused (then closed).",
        "payload": ref(schemas.ErrorFrame),
    }
    for name, summary, message in (
        ("receiveUpdates", "Updates, oldest first; each carries the cursor to resume from.", "update"),
        ("receiveTyping", "Someone else in a thread is typing.", "typingEvent"),
        ("receiveErrors", "A refusal before the close code (request_id null).", "error"),
    ):
        operations[name] = {
            "action": "receive",
            "channel": CHANNEL_REF,
            "summary": summary,
            "messages": [{"$ref": f"#/channels/{CHANNEL}/messages/{message}"}],
        }

    components = spec.to_dict()["components"]
    query_schema = plugin.converter.schema2jsonschema(schemas.StreamQuery)
    close_table = "\n".join(f"| {code} | {meaning} | {then} |" for code, meaning, then in CLOSE_CODES)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Messenger stream",
            "version": features.API_VERSION,
            "description": (
                "The WebSocket of the Messenger API: the user's update log, replayed and then "
                "live, and the protocol's actions, each answered with a result or error frame "
                "that echoes its request_id. The HTTP API is at /openapi.json; what a server "
                "supports is at GET /version. Clients must ignore fields and update types they "
                "do not know."
            ),
        },
        "defaultContentType": "application/json",
        "channels": {
            CHANNEL: {
                "address": "/stream",
                "title": "The user's stream",
                "description": (
                    "Close codes, and what a client does on each:\n\n| Code | Meaning | What the "
                    "client does |\n|---|---|---|\n" + close_table
                ),
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
                "bindings": {
                    "ws": {"method": "GET", "query": query_schema, "bindingVersion": WS_BINDING_VERSION}
                },
                "x-close-codes": [
                    {"code": code, "meaning": meaning, "client_action": then}
                    for code, meaning, then in CLOSE_CODES
                ],
            }
        },
        "operations": operations,
        "components": {
            "schemas": components["schemas"],
            "messages": messages,
            "securitySchemes": {
                "tokenQuery": {
                    "type": "httpApiKey",
                    "name": "token",
                    "in": "query",
                    "description": "Browsers cannot set headers on a WebSocket.",
                },
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def asyncapi_json():
    """The AsyncAPI document, with this server as its one server (as the client reached it)."""
    document = copy.copy(build_document())
    document["servers"] = {
        "this": {
            "host": request.host,
            "protocol": "wss" if request.scheme == "https" else "ws",
            "security": [
                {"$ref": "#/components/securitySchemes/tokenQuery"},
                {"$ref": "#/components/securitySchemes/bearer"},
            ],
        }
    }
    return jsonify(document)
