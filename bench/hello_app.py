"""The baseline: a hello-world Flask app served by the same gunicorn.conf.py as the messenger.

It parses the same JSON body and answers ``POST /message`` with a reply of the messenger's size
and shape, and nothing else: no auth, no validation, no store. Messenger ÷ this app is the share
of one core the messenger's own work leaves to Flask, Werkzeug, gevent and gunicorn.
Run: ``gunicorn -c gunicorn.conf.py --no-control-socket bench.hello_app:app``.
"""

from __future__ import annotations

import itertools
import time
import uuid

from flask import Flask, request
from flask_sock import Sock

app = Flask(__name__)
sock = Sock(app)
_seq = itertools.count(1)


@app.get("/readyz")
def readyz() -> dict:
    return {"status": "ready"}


@app.post("/message")
def message() -> tuple[dict, int]:
    """Echo the message with the fields the messenger adds (ids, seq, server timestamp)."""
    body = request.get_json()
    sent = body["message"]
    return {
        "message": {
            "message_id": uuid.uuid4().hex,
            "thread_id": body["thread_id"],
            "seq": next(_seq),
            "user_id": sent["user_id"],
            "contents": sent["contents"],
            "timestamp": time.time_ns() // 1_000_000,
            "client_timestamp": sent["timestamp"],
            "client_msg_id": sent.get("client_msg_id"),
        }
    }, 201


@sock.route("/stream")
def echo(ws) -> None:
    """A WebSocket echo, for trying the socket path by hand; the suite measures HTTP."""
    while True:
        ws.send(ws.receive())
