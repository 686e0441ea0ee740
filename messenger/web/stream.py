"""The WebSocket stream, ``/stream``: replay from a cursor, then live updates and actions.

Close codes a client must know (also in the README):
    4400  the connection request was malformed (e.g. ``since`` is not a cursor)
    4401  no valid token, or the token was signed out or expired: sign in again
    4410  ``since`` is older than the updates kept: reload GET /threads, resume from its cursor
    1013  the store is unavailable: reconnect later, from the last cursor
    1012  the server is restarting (deploy, scale-down): reconnect at once, from the last cursor
    1009  a frame over the size limit
"""

from __future__ import annotations

import json
import logging
import threading

from flask import Blueprint, request
from flask_sock import ConnectionClosed, Sock

from ..errors import (
    CursorExpired,
    InternalError,
    InvalidJson,
    InvalidPayload,
    MessengerError,
    StoreUnavailable,
)
from ..notify.hub import REVOKED, SHUTDOWN
from ..schemas import MAX_SAFE_INTEGER
from ..service import accounts, updates
from ..service.deps import Deps
from . import actions
from .auth import bearer_token
from .context import deps

logger = logging.getLogger(__name__)

sock = Sock()
bp = Blueprint("stream", __name__)

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_CURSOR_EXPIRED = 4410
CLOSE_TRY_AGAIN_LATER = 1013  # the store is unavailable: reconnect with backoff
CLOSE_SERVICE_RESTART = 1012  # this server is shutting down: reconnect (to another) at once
# With no doorbell, re-read the log and re-check the token this often: a lost notification
# costs at most this much latency, and an expired token keeps its socket at most this long.
RESYNC_INTERVAL_S = 25
MAX_REQUEST_ID_LENGTH = 128


@sock.route("/stream", bp=bp)
def stream(ws) -> None:
    """Authenticate, replay what the client missed, then stream until it goes away."""
    app_deps = deps()
    token = request.args.get("token") or bearer_token()
    try:
        user_id = accounts.authenticate(app_deps, token)
        since = _cursor_arg(request.args.get("since"))
    except MessengerError as error:
        close_code = CLOSE_UNAUTHORIZED if error.status == 401 else CLOSE_BAD_REQUEST
        _refuse(ws, error, close_code)
        return
    StreamSession(ws, app_deps, user_id, token).run(since)


def _cursor_arg(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_SAFE_INTEGER:
        raise InvalidPayload(details={"since": ["Not a cursor."]})
    return int(raw)


def _refuse(ws, error: MessengerError, close_code: int) -> None:
    ws.send(
        json.dumps({"type": "error", "request_id": None, "status": error.status, "error": error.to_dict()})
    )
    ws.close(close_code, error.code)


class StreamSession:
    """One connected socket: a reader thread answers the client's frames while this one streams."""

    def __init__(self, ws, app_deps: Deps, user_id: str, token: str) -> None:
        self.ws = ws
        self.deps = app_deps
        self.user_id = user_id
        self.token = token
        self._send_lock = threading.Lock()
        self.inbox = app_deps.notifier.subscribe(user_id, accounts.hash_token(token))

    def run(self, since: int | None) -> None:
        try:
            cursor = self._send_updates(since)
            reader = threading.Thread(target=self._read_frames, name="stream-reader", daemon=True)
            reader.start()
            self._stream(cursor)
        except CursorExpired as error:
            _refuse(self.ws, error, CLOSE_CURSOR_EXPIRED)
        except StoreUnavailable as error:
            _refuse(self.ws, error, CLOSE_TRY_AGAIN_LATER)
        finally:
            self.inbox.stop("finished")
            self.deps.notifier.unsubscribe(self.inbox)

    def _stream(self, cursor: int) -> None:
        while True:
            rung = self.inbox.wait(RESYNC_INTERVAL_S)
            if self.inbox.stopped:
                break
            for event in self.inbox.take_ephemeral():
                self._send({"type": "typing", "thread_id": event["thread_id"], "user_id": event["user_id"]})
            if not rung and not self._token_still_valid():
                self.inbox.stop(REVOKED)
                break
            cursor = self._send_updates(cursor)
        if self.inbox.stopped == REVOKED:
            self.ws.close(CLOSE_UNAUTHORIZED, "token revoked")
        elif self.inbox.stopped == SHUTDOWN:
            self.ws.close(CLOSE_SERVICE_RESTART, "reconnect")

    def _send_updates(self, cursor: int | None) -> int:
        """Send everything after ``cursor``, page by page; return the new cursor."""
        while True:
            page = updates.read_updates(self.deps, self.user_id, cursor)
            for update in page.updates:
                self._send({"type": "update", "update": update.to_wire(), "cursor": update.cursor})
            cursor = page.cursor
            if not page.more:
                return cursor

    def _token_still_valid(self) -> bool:
        try:
            return accounts.authenticate(self.deps, self.token) == self.user_id
        except StoreUnavailable:
            return True  # an outage is no reason to sign anyone out
        except MessengerError:
            return False

    def _read_frames(self) -> None:
        try:
            while not self.inbox.stopped:
                frame = self.ws.receive()
                if frame is not None:
                    self._send(self._answer(frame))
        except ConnectionClosed:
            pass
        except Exception:  # a bug must not leave the socket streaming without a reader
            logger.exception("stream reader failed")
        finally:
            self.inbox.stop("disconnected")

    def _answer(self, frame: str | bytes) -> dict:
        """Run one client frame; every failure becomes an error frame, never a crash."""
        request_id = None
        try:
            payload = _parse(frame)
            request_id = _request_id(payload)
            body, status = actions.dispatch(self.deps, self.user_id, payload, actions.SOCKET_ACTIONS)
            return {"type": "result", "request_id": request_id, "status": status, **body}
        except MessengerError as error:
            return {
                "type": "error",
                "request_id": request_id,
                "status": error.status,
                "error": error.to_dict(),
            }
        except Exception:
            logger.exception("stream action failed")
            error = InternalError()
            return {
                "type": "error",
                "request_id": request_id,
                "status": error.status,
                "error": error.to_dict(),
            }

    def _send(self, frame: dict) -> None:
        data = json.dumps(frame, separators=(",", ":"))
        with self._send_lock:
            self.ws.send(data)


def _parse(frame: str | bytes) -> dict:
    if isinstance(frame, bytes):
        raise InvalidJson("Frames must be JSON text, not binary.")
    try:
        payload = json.loads(frame)
    except (ValueError, RecursionError):
        raise InvalidJson() from None
    if not isinstance(payload, dict):
        raise InvalidPayload(details={"_schema": ["A frame must be a JSON object."]})
    return payload


def _request_id(payload: dict) -> str | int | None:
    """Take the optional ``request_id`` out of the payload; it is echoed in the answer."""
    request_id = payload.pop("request_id", None)
    valid = request_id is None or (
        isinstance(request_id, (str, int))
        and not isinstance(request_id, bool)
        and len(str(request_id)) <= MAX_REQUEST_ID_LENGTH
    )
    if not valid:
        raise InvalidPayload(
            details={"request_id": [f"A string or integer of at most {MAX_REQUEST_ID_LENGTH}."]}
        )
    return request_id
