"""The WebSocket stream, ``/stream``: replay from a cursor, then live updates and actions.

Here: the route and its handshake, the session loop, and the frame codec. How simple-websocket
is adapted (its patched internals) and the outbox with its writer are in ``socket_io``.

Close codes a client must know (also in the README):
    4400  the connection request was malformed (e.g. ``since`` is not a cursor)
    4401  no valid token, or the token was signed out or expired: sign in again
    4403  the page's Origin is not allowed (ALLOWED_ORIGINS)
    4410  ``since`` is older than the updates kept: reload GET /threads, resume from its cursor
    1013  the store is unavailable: reconnect later, from the last cursor
    1012  the server is restarting (deploy, scale-down): reconnect at once, from the last cursor
    4429  the client read too slowly and fell too far behind: reconnect from the last cursor
    4409  the same user opened more than MAX_SOCKETS_PER_USER sockets on this server, and
          this was the oldest: do not reconnect at once (another tab or device took its place)
    1008  the client sent frames faster than WS_FRAMES_PER_S (bursts of WS_FRAME_BURST)
    1009  a frame over the size limit (MAX_CONTENT_LENGTH bytes)
    1007  a text frame that is not valid UTF-8
"""

from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, g, request
from flask_sock import ConnectionClosed, Sock
from wsproto.utilities import RemoteProtocolError

from .. import metrics
from ..errors import (
    BadHandshake,
    CursorExpired,
    InternalError,
    InvalidJson,
    InvalidPayload,
    MessengerError,
    OriginNotAllowed,
    StoreUnavailable,
    UpgradeRequired,
)
from ..events import InboxKind, StopReason
from ..model import Update, UpdatePage, compact_json
from ..schemas import MAX_SAFE_INTEGER
from ..service import accounts, updates
from ..service.deps import Deps
from . import actions, observe, socket_io
from .auth import bearer_token
from .context import deps
from .errors import handle_messenger_error
from .jsonio import parse_json
from .limits import RateLimits, TokenBucket, client_address, rate_limits
from .socket_io import Close, SocketWriter

logger = logging.getLogger(__name__)

sock = Sock()
bp = Blueprint("stream", __name__)

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403

CLOSE_CURSOR_EXPIRED = 4410
CLOSE_TRY_AGAIN_LATER = 1013  # the store is unavailable: reconnect with backoff
CLOSE_FOR_STATUS = {401: CLOSE_UNAUTHORIZED, 403: CLOSE_FORBIDDEN_ORIGIN, 503: CLOSE_TRY_AGAIN_LATER}
CLOSE_SERVICE_RESTART = 1012  # this server is shutting down: reconnect (to another) at once
CLOSE_TOO_BIG = 1009
CLOSE_TOO_SLOW = 4429  # the client fell too far behind: reconnect with since=<last cursor>
CLOSE_REPLACED = 4409  # the user's oldest socket, closed for a newer one past MAX_SOCKETS_PER_USER
CLOSE_POLICY_VIOLATION = 1008  # too many frames a second
# With no doorbell, re-read the log and re-check the token this often: a lost notification
# costs at most this much latency, and an expired token keeps its socket at most this long.
RESYNC_INTERVAL_S = 25
MAX_REQUEST_ID_LENGTH = 128


@sock.route("/stream", bp=bp)
def stream(ws) -> None:
    """Authenticate, replay what the client missed, then stream until it goes away."""
    app_deps = deps()
    token = request.args.get("token") or bearer_token()
    address = client_address()
    try:
        _require_allowed_origin(app_deps.settings.allowed_origins)
        user_id = accounts.authenticate(app_deps, token, address).user_id
        since = _cursor_arg(request.args.get("since"))
    except MessengerError as error:
        _refuse(ws, error, CLOSE_FOR_STATUS.get(error.status, CLOSE_BAD_REQUEST))
        return
    g.user_id = user_id  # for the request's log line
    StreamSession(ws, app_deps, rate_limits(), user_id, token, address).run(since)


# wsproto decodes these headers as ASCII (Host as IDNA) and fails with a bare UnicodeError,
# not its RemoteProtocolError, when it cannot: they are checked before it sees them.
ASCII_HANDSHAKE_HEADERS = ("Connection", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions")


@bp.before_request
def require_parsable_handshake() -> None:
    """Refuse a handshake whose headers wsproto cannot decode, as a 400 and not a traceback."""
    for name in ASCII_HANDSHAKE_HEADERS:
        if not request.headers.get(name, "").isascii():
            raise BadHandshake(f"The {name} header must be ASCII.")
    try:
        request.environ.get("HTTP_HOST", "").encode().decode("idna")  # as simple-websocket feeds it
    except UnicodeError:
        raise BadHandshake("The Host header is not a host name.") from None


@bp.errorhandler(RemoteProtocolError)
def refuse_handshake(error: RemoteProtocolError):
    """A handshake wsproto refuses (no key, another version...): the client's error, not a bug.

    Answered like any refused request, with no traceback: only the access line is logged.
    """
    hint = error.event_hint
    refused = UpgradeRequired() if getattr(hint, "status_code", 400) == 426 else BadHandshake(str(error))
    return handle_messenger_error(refused)


def _require_allowed_origin(allowed: tuple[str, ...]) -> None:
    """A page of another site must not drive a user's stream (browsers always send Origin)."""
    origin = request.headers.get("Origin")
    if origin is None or "*" in allowed:
        return
    own = f"{request.scheme}://{request.host}"
    if origin.rstrip("/") not in (own, *allowed):
        raise OriginNotAllowed()


def _cursor_arg(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_SAFE_INTEGER:
        raise InvalidPayload(details={"since": ["Not a cursor."]})
    return int(raw)


def _refuse(ws, error: MessengerError, close_code: int) -> None:
    """Refuse before a session starts: one error frame, then the close code."""
    metrics.count_store_error(error)
    ws.send(compact_json(_error_frame(None, error)))
    ws.close(close_code, error.code)


def _error_frame(request_id, error: MessengerError) -> dict:
    return {"type": "error", "request_id": request_id, "status": error.status, "error": error.to_dict()}


NORMAL_CLOSE = Close(1000, "bye")

# How a session closes for each reason its inbox stopped; every StopReason is here (a test
# checks). None: the session had no reason of its own to close (see _ended_without_close).
CLOSE_FOR: dict[StopReason, Close | None] = {
    StopReason.TOO_BIG: Close(CLOSE_TOO_BIG, "frame too big"),
    StopReason.FLOODING: Close(CLOSE_POLICY_VIOLATION, "too many frames"),
    StopReason.SUPERSEDED: Close(CLOSE_REPLACED, "too many sockets: replaced by a newer one"),
    StopReason.REVOKED: Close(CLOSE_UNAUTHORIZED, "token revoked"),
    StopReason.SHUTDOWN: Close(CLOSE_SERVICE_RESTART, "reconnect"),
    StopReason.OVERFLOW: Close(CLOSE_TOO_SLOW, "too far behind: resume from your cursor"),
    StopReason.DISCONNECTED: None,  # the client closed first: its code is logged
    StopReason.FINISHED: None,
}


class StreamSession:
    """One connected socket: this greenlet answers the client's frames and streams the user's
    updates; a ``SocketWriter`` owns the socket's output (see ``socket_io``)."""

    def __init__(
        self, ws, app_deps: Deps, limits: RateLimits, user_id: str, token: str, address: str
    ) -> None:
        settings = app_deps.settings
        self.ws = ws
        self.deps = app_deps
        self.limits = limits
        self.user_id = user_id
        self.token = token
        self.address = address  # the client's, for the session's last use (every re-check is one)
        self.inbox = updates.subscribe(app_deps, user_id, token, InboxKind.SOCKET)
        socket_io.adapt(ws, self._frame_arrived)
        # A client that stops reading must not make the server hold its updates or answers
        # without bound: the session waits for room (a client that reads slowly just slows
        # its own replay), and one that leaves none for ws_send_timeout_s is told to resume.
        self._writer = SocketWriter(ws, settings.ws_outbox_bytes, self._writer_gone)
        self._frames = TokenBucket(settings.ws_frames_per_s, settings.ws_frame_burst)

    def run(self, since: int | None) -> None:
        close = None
        opened_at = time.monotonic()
        metrics.socket_connected()
        observe.log_socket_opened(self.user_id)
        try:
            cursor = self._send_updates(since)
            self._stream(cursor)
            close = CLOSE_FOR[self.inbox.stopped] if self.inbox.stopped else None
        except CursorExpired as error:
            self._send(_error_frame(None, error))
            close = Close(CLOSE_CURSOR_EXPIRED, error.code)
        except StoreUnavailable as error:
            metrics.count_store_error(error)
            self._send(_error_frame(None, error))
            close = Close(CLOSE_TRY_AGAIN_LATER, error.code)
        finally:
            self.inbox.stop(StopReason.FINISHED)
            updates.unsubscribe(self.deps, self.inbox)
            self._writer.finish(close or NORMAL_CLOSE, self.inbox.stopped is StopReason.OVERFLOW)
            metrics.socket_disconnected()
            ended = close or self._ended_without_close()
            observe.log_socket_closed(self.user_id, time.monotonic() - opened_at, ended.code, ended.reason)

    def _ended_without_close(self) -> Close:
        """How a socket the server had no reason to close ended: the client's code, or ours."""
        if self.inbox.stopped is StopReason.DISCONNECTED:
            return Close(int(self.ws.close_reason), "closed by the client")
        return NORMAL_CLOSE

    def _stream(self, cursor: int) -> None:
        """Answer frames and stream updates until stopped; every RESYNC_INTERVAL_S, however busy
        the socket, re-check the token and re-read the log (a lost doorbell costs only that)."""
        resync_at = time.monotonic() + RESYNC_INTERVAL_S
        while not self.inbox.stopped:
            self._answer_frames()
            if self.inbox.stopped:
                return  # nothing more goes out (see _queue)
            for event in self.inbox.take_ephemeral():
                self._send({"type": "typing", "thread_id": event.thread_id, "user_id": event.user_id})
            if time.monotonic() >= resync_at:
                if not self._token_still_valid():
                    self.inbox.stop(StopReason.REVOKED)
                    return
                resync_at = time.monotonic() + RESYNC_INTERVAL_S
                cursor = self._send_updates(cursor)
            else:
                delivery = updates.take_delivery(self.deps, self.inbox, cursor)
                if delivery is not None:
                    cursor = self._queue_page(delivery.page, delivery.bodies_json)
                    if delivery.page.more:
                        cursor = self._send_updates(cursor)
            if not self.inbox.stopped:
                self.inbox.wait(max(0.0, resync_at - time.monotonic()))

    def _frame_arrived(self) -> None:
        """simple-websocket's reader buffered a frame, or the socket closed: wake the session."""
        socket_io.hold_back_unanswered(self.ws, abandoned=bool(self.inbox.stopped))
        self.inbox.wake()

    def _writer_gone(self) -> None:
        """The writer closed the socket or found it closed: the session ends."""
        self.inbox.stop(StopReason.DISCONNECTED)

    def _answer_frames(self) -> None:
        """Answer every frame the client has sent so far, one at a time."""
        while not self.inbox.stopped:
            try:
                frame = socket_io.receive_now(self.ws)
            except ConnectionClosed:
                self.inbox.stop(StopReason.DISCONNECTED)
                return
            if frame is None:
                return
            if _size_in_bytes(frame) > self.deps.settings.max_content_length:
                self.inbox.stop(StopReason.TOO_BIG)
                return
            if not self._frames.take():
                logger.warning("a socket of user %s sent too many frames; closing it", self.user_id)
                self.inbox.stop(StopReason.FLOODING)
                return
            self._send(self._answer(frame))

    def _send_updates(self, cursor: int | None) -> int:
        """Queue everything after ``cursor`` from the log, page by page; return the new cursor."""
        while not self.inbox.stopped:
            page = updates.read_updates(self.deps, self.user_id, cursor)
            cursor = self._queue_page(page)
            if not page.more:
                break
        return cursor

    def _queue_page(self, page: UpdatePage, bodies_json: tuple[str, ...] | None = None) -> int:
        """Queue a page's updates, with the bodies the doorbells encoded if they carried them;
        return the page's cursor."""
        if bodies_json is None:
            bodies_json = tuple(compact_json(update.body) for update in page.updates)
        for update, body_json in zip(page.updates, bodies_json, strict=True):
            self._queue(update_frame(update, body_json))
        metrics.count_delivered("websocket", len(page.updates))
        return page.cursor

    def _token_still_valid(self) -> bool:
        try:
            return accounts.authenticate(self.deps, self.token, self.address).user_id == self.user_id
        except StoreUnavailable:
            return True  # an outage is no reason to sign anyone out
        except MessengerError:
            return False

    def _send(self, frame: dict) -> None:
        self._queue(compact_json(frame))

    def _queue(self, frame: str) -> None:
        """Queue a frame; wait while the client catches up. Once the session is stopping, drop
        it: the client resumes from its cursor, and a closing socket must not linger."""
        if self.inbox.stopped:
            return
        if not self._writer.wait_for_room(self.deps.settings.ws_send_timeout_s):
            logger.warning(
                "a socket of user %s stopped reading; closing it with %d", self.user_id, CLOSE_TOO_SLOW
            )
            self.inbox.stop(StopReason.OVERFLOW)
            return
        self._writer.put(frame)

    def _answer(self, frame: str | bytes) -> dict:
        """Run one client frame; every failure becomes an error frame, never a crash."""
        request_id = None
        try:
            payload = _parse(frame)
            request_id = _request_id(payload)
            body, status = actions.dispatch(
                self.deps, self.limits, self.user_id, payload, actions.SOCKET_ACTIONS
            )
            return {"type": "result", "request_id": request_id, "status": status, **body}
        except MessengerError as error:
            metrics.count_store_error(error)
            return _error_frame(request_id, error)
        except Exception:
            logger.exception("stream action failed")
            return _error_frame(request_id, InternalError())


def update_frame(update: Update, body_json: str) -> str:
    """The frame ``{"type": "update", "update": update.to_wire(), "cursor": N}``, assembled around
    a body encoded once for every socket that gets it."""
    wire = [f'"cursor":{update.cursor}', f'"type":{json.dumps(update.type)}']
    if body_json != "{}":
        wire.append(body_json[1:-1])
    return '{"type":"update","update":{' + ",".join(wire) + '},"cursor":' + str(update.cursor) + "}"


def _size_in_bytes(frame: str | bytes) -> int:
    """simple-websocket's limit counts a text frame's characters; the limit is in bytes."""
    return len(frame) if isinstance(frame, bytes) else len(frame.encode("utf-8", "surrogatepass"))


def _parse(frame: str | bytes) -> dict:
    if isinstance(frame, bytes):
        raise InvalidJson("Frames must be JSON text, not binary.")
    try:
        payload = parse_json(frame)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
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
