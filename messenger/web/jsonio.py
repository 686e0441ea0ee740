"""The one JSON decoder for what clients send: HTTP bodies (webargs and ``request.get_json``)
and WebSocket frames, so every malformed input fails the same way, as a 400 ``invalid_json``;
and Flask's encoder for HTTP replies, writing UTF-8 like ``model.compact_json``."""

from __future__ import annotations

import json
from typing import Any

import flask
from flask.json.provider import DefaultJSONProvider
from webargs import core
from webargs.flaskparser import FlaskParser

from ..model import escape_lone_surrogates


def parse_json(data: str | bytes) -> Any:
    """Decode JSON text (bytes must be UTF-8); every failure is a ``json.JSONDecodeError``.

    The standard decoder raises a bare ValueError, not a JSONDecodeError, for an integer of
    more than ``sys.get_int_max_str_digits()`` (4,300) digits: callers that catch only
    JSONDecodeError (webargs) would let it through as a 500. Deep nesting raises
    RecursionError, which ``web.errors`` answers as invalid_json too.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # UnicodeDecodeError, or an integer too long to convert
        raise json.JSONDecodeError(f"Not valid JSON: {exc.__class__.__name__}", "?", 0) from None


class JsonProvider(DefaultJSONProvider):
    """Flask's provider: replies in UTF-8, not \\u escapes (a page of emoji is a third the size);
    decoding with ``parse_json`` (``request.get_json``, e.g. /actions)."""

    sort_keys = False  # keep fields in schema order: {"error": {"code", "message", ...}}
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return escape_lone_surrogates(super().dumps(obj, **kwargs))

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json(s)


class JsonParser(FlaskParser):
    """webargs' parser for every flask-smorest route, decoding with ``parse_json``."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not req.is_json:  # also an unlabelled body found to be JSON (``web.bodies``)
            return core.missing
        return parse_json(req.get_data(cache=True))
