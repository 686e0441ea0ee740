"""What a request body may be, decided in one place for every route: JSON on the methods that
take one, nothing at all on GET and HEAD.

``curl -d`` labels its body ``application/x-www-form-urlencoded`` and ``fetch()`` with a string
body labels it ``text/plain``; a bare client may send no Content-Type at all. Such a body is
read as JSON when it is JSON, so the obvious first try works; anything else (a real form post)
is refused with the header to add. This opens no cross-site request forgery: the API
authenticates with a bearer token a page of another site cannot attach, never with cookies.
"""

from __future__ import annotations

import flask
from flask import current_app, request

from ..errors import BodyNotAllowed, UnsupportedContentType
from .jsonio import parse_json

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Routes whose body is a file, streamed as it arrives (of any type; the worker does not read it
# ahead either, see messenger/worker.py): (method, path).
STREAMED_UPLOADS = frozenset({("POST", "/attachments")})
# What a multipart upload adds around its file (boundaries, part headers, a filename field): the
# body may exceed MAX_ATTACHMENT_BYTES by this much; the file itself is held to the bound.
UPLOAD_ENVELOPE_BYTES = 64 * 1024
BODYLESS_METHODS = {"GET", "HEAD"}
# What tools send when nobody chose a type (the CORS-safelisted types, less multipart forms).
UNLABELLED_TYPES = {"", "application/x-www-form-urlencoded", "text/plain"}


class ApiRequest(flask.Request):
    """Flask's request, also JSON when ``check_body`` found an unlabelled body to be JSON, so
    every reader (webargs, ``get_json``) takes it as if it had been labelled."""

    unlabelled_json = False

    @property
    def is_json(self) -> bool:
        return self.unlabelled_json or super().is_json


def install(app: flask.Flask) -> None:
    app.request_class = ApiRequest
    app.before_request(check_body)


def check_body() -> None:
    """Refuse a body on GET/HEAD, and a body that is not JSON elsewhere; a POST without a body
    (signout, leave) needs no content type."""
    has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")
    if not has_body or (request.method, request.path) in STREAMED_UPLOADS:
        return
    if request.method in BODYLESS_METHODS:
        raise body_not_allowed()
    if request.method not in BODY_METHODS:
        return
    data = request.get_data(cache=True)  # read it now: over MAX_CONTENT_LENGTH is a 413, chunked or not
    if request.is_json:
        return
    if request.mimetype in UNLABELLED_TYPES and is_json_text(data):
        request.unlabelled_json = True
        return
    raise UnsupportedContentType()


def is_json_text(data: bytes) -> bool:
    try:
        parse_json(data)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return False
    return True


def body_not_allowed() -> BodyNotAllowed:
    """The refusal, naming the route's query parameters: a body that named another user_id was
    once silently ignored, and the caller got their own data instead."""
    names = query_parameters(request.endpoint)
    route = request.url_rule.rule if request.url_rule else request.path
    where = f"send {', '.join(names)} in the query string" if names else "it takes no parameters either"
    return BodyNotAllowed(
        f"{request.method} {route} takes no body; {where}.", details={"query_parameters": names}
    )


def query_parameters(endpoint: str | None) -> list[str]:
    """The query parameters a route documents (flask-smorest keeps its arguments on the view)."""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    arguments = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return [
        field.data_key or name
        for argument in arguments
        if argument.get("in") == "query"
        for name, field in argument["schema"].fields.items()
        if not field.dump_only
    ]
