"""The WebSocket stream, ``/stream``: replay from a cursor, then live updates and actions.

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

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, g, request
from flask_sock import ConnectionClosed, Sock
from wsproto.utilities import RemoteProtocolError

from .. import metrics, netio
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
from . import actions, observe
from .auth import bearer_token
from .context import deps
from .errors import handle_messenger_error
from .jsonio import parse_json
from .limits import RateLimits, TokenBucket, rate_limits
from .outbox import Outbox

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
SLOW_CLOSE_GRACE_S = 20  # how long a closing socket may take to flush before it is cut off
WRITER_IDLE_S = 5  # how long a socket's writer waits for another frame before it goes
# With no doorbell, re-read the log and re-check the token this often: a lost notification
# costs at most this much latency, and an expired token keeps its socket at most this long.
RESYNC_INTERVAL_S = 25
MAX_REQUEST_ID_LENGTH = 128
# Frames the client sent that the session has not answered yet: past this many, the socket's
# bytes are left unread, so TCP holds a client that sends without reading the answers
# (at most this many frames of MAX_CONTENT_LENGTH each wait in the worker).
MAX_UNANSWERED_FRAMES = 8


@sock.route("/stream", bp=bp)
def stream(ws) -> None:
    """Authenticate, replay what the client missed, then stream until it goes away."""
    ws.sock = SessionSocket(ws.sock)
    app_deps = deps()
    token = request.args.get("token") or bearer_token()
    try:
        _require_allowed_origin(app_deps.settings.allowed_origins)
        user_id = accounts.authenticate(app_deps, token)
        since = _cursor_arg(request.args.get("since"))
    except MessengerError as error:
        _refuse(ws, error, CLOSE_FOR_STATUS.get(error.status, CLOSE_BAD_REQUEST))
        return
    g.user_id = user_id  # for the request's log line
    StreamSession(ws, app_deps, rate_limits(), user_id, token).run(since)


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


class SessionSocket:
    """The raw socket under simple-websocket, made to write each frame whole, one at a time,
    and to read only while the session keeps up with the client's frames.

    simple-websocket writes with ``socket.send``, which writes only part of a frame when a
    client reads slowly, and its ping thread writes beside our writer: either corrupts the
    stream. ``sendall`` under one lock keeps every frame whole. Its reader thread reads and
    buffers every frame that arrives, without bound; ``recv`` waits while reading is paused.
    """

    def __init__(self, sock) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self._may_read = threading.Event()
        self._may_read.set()

    def send(self, data: bytes) -> int:
        with self._lock:
            self._sock.sendall(data)
        return len(data)

    def recv(self, size: int) -> bytes:
        self._may_read.wait()
        return self._sock.recv(size)

    def pause_reading(self) -> None:
        self._may_read.clear()

    def resume_reading(self) -> None:
        self._may_read.set()

    def discard_input(self) -> None:
        """Drop what the client still sends, so the close frame arrives (see netio)."""
        self.pause_reading()  # simple-websocket's reader must not take part of it
        try:
            netio.discard_input(self._sock)
        finally:
            self.resume_reading()  # the reader now sees the end and finishes

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


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


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


# How a session closes for each reason its inbox stopped; every StopReason is here (a test
# checks). None: the session had no reason of its own to close (see _ended_without_close).
CLOSE_FOR: dict[StopReason, _Close | None] = {
    StopReason.TOO_BIG: _Close(CLOSE_TOO_BIG, "frame too big"),
    StopReason.FLOODING: _Close(CLOSE_POLICY_VIOLATION, "too many frames"),
    StopReason.SUPERSEDED: _Close(CLOSE_REPLACED, "too many sockets: replaced by a newer one"),
    StopReason.REVOKED: _Close(CLOSE_UNAUTHORIZED, "token revoked"),
    StopReason.SHUTDOWN: _Close(CLOSE_SERVICE_RESTART, "reconnect"),
    StopReason.OVERFLOW: _Close(CLOSE_TOO_SLOW, "too far behind: resume from your cursor"),
    StopReason.DISCONNECTED: None,  # the client closed first: its code is logged
    StopReason.FINISHED: None,
}


class FrameArrived:
    """simple-websocket's "a frame arrived, or the socket closed" event (its ``event_class``),
    which also knocks on the session's inbox: the session's own greenlet answers the client's
    frames, so a socket costs no reader greenlet (~11 KiB each, measured with 5,000 held)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.listener: Callable[[], None] | None = None

    def set(self) -> None:
        self._event.set()
        if self.listener is not None:
            self.listener()

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


class StreamSession:
    """One connected socket: this greenlet answers the client's frames and streams the user's
    updates; a writer owns the socket's output through an outbox bounded in bytes. The writer
    exists only while there is something to write, and lingers WRITER_IDLE_S after: an idle
    socket holds no writer greenlet (~11 KiB each, measured with 5,000 held)."""

    def __init__(self, ws, app_deps: Deps, limits: RateLimits, user_id: str, token: str) -> None:
        settings = app_deps.settings
        self.ws = ws
        self.deps = app_deps
        self.limits = limits
        self.user_id = user_id
        self.token = token
        self.inbox = updates.subscribe(app_deps, user_id, token, InboxKind.SOCKET)
        ws.event.listener = self._frame_arrived
        # A client that stops reading must not make the server hold its updates or answers
        # without bound: the session waits for room (a client that reads slowly just slows
        # its own replay), and one that leaves none for ws_send_timeout_s is told to resume.
        self._outbox = Outbox(settings.ws_outbox_bytes)
        self._frames = TokenBucket(settings.ws_frames_per_s, settings.ws_frame_burst)
        self._writer_lock = threading.Lock()
        self._writer: threading.Thread | None = None

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
            close = _Close(CLOSE_CURSOR_EXPIRED, error.code)
        except StoreUnavailable as error:
            metrics.count_store_error(error)
            self._send(_error_frame(None, error))
            close = _Close(CLOSE_TRY_AGAIN_LATER, error.code)
        finally:
            self.inbox.stop(StopReason.FINISHED)
            self.deps.notifier.unsubscribe(self.inbox)
            self._finish(close)
            metrics.socket_disconnected()
            ended = close or self._ended_without_close()
            observe.log_socket_closed(self.user_id, time.monotonic() - opened_at, ended.code, ended.reason)

    def _ended_without_close(self) -> _Close:
        """How a socket the server had no reason to close ended: the client's code, or ours."""
        if self.inbox.stopped is StopReason.DISCONNECTED:
            return _Close(int(self.ws.close_reason), "closed by the client")
        return _Close(1000, "bye")

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
        """simple-websocket's reader buffered a frame: wake the session, and stop reading the
        socket while too many frames wait for an answer (see MAX_UNANSWERED_FRAMES)."""
        if self.inbox.stopped:
            self.ws.input_buffer.clear()  # nobody will answer these any more
        elif len(self.ws.input_buffer) >= MAX_UNANSWERED_FRAMES:
            self.ws.sock.pause_reading()
        self.inbox.knock()

    def _answer_frames(self) -> None:
        """Answer every frame the client has sent so far, one at a time."""
        while not self.inbox.stopped:
            try:
                frame = self.ws.receive(timeout=0)
            except ConnectionClosed:
                self.inbox.stop(StopReason.DISCONNECTED)
                return
            if len(self.ws.input_buffer) < MAX_UNANSWERED_FRAMES:
                self.ws.sock.resume_reading()
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
            return accounts.authenticate(self.deps, self.token) == self.user_id
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
        if not self._outbox.wait_for_room(self.deps.settings.ws_send_timeout_s):
            logger.warning(
                "a socket of user %s stopped reading; closing it with %d", self.user_id, CLOSE_TOO_SLOW
            )
            self.inbox.stop(StopReason.OVERFLOW)
            return
        self._outbox.put(frame)
        self._ensure_writer()

    def _finish(self, close: _Close | None) -> None:
        """Close through the writer; a writer stuck on a client that reads nothing is cut off.
        However it ends, simple-websocket's reader is let go, so it finishes too."""
        try:
            if self.inbox.stopped is StopReason.OVERFLOW:
                self._outbox.clear()  # the client resumes from its cursor; these would only wait
            if self._outbox.closed:  # the writer found the connection gone: nobody to tell
                return
            self._outbox.put(close or _Close(1000, "bye"))
            writer = self._ensure_writer()
            writer.join(SLOW_CLOSE_GRACE_S)
            if writer.is_alive():
                with contextlib.suppress(OSError):
                    self.ws.sock.shutdown(socket.SHUT_RDWR)
            elif self.ws.thread.is_alive():  # the client has not closed its side yet
                self.ws.sock.discard_input()
        finally:
            self.ws.input_buffer.clear()
            self.ws.sock.resume_reading()

    def _ensure_writer(self) -> threading.Thread:
        """The writer, started if there is none (call after queueing a frame)."""
        with self._writer_lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_frames, name="stream-writer", daemon=True)
                self._writer.start()
            return self._writer

    def _retire_writer(self) -> bool:
        """Let the writer go if nothing is queued; decided under the lock ``_ensure_writer`` takes."""
        with self._writer_lock:
            if not self._outbox.empty():
                return False
            self._writer = None
            return True

    def _write_frames(self) -> None:
        try:
            while True:
                item = self._outbox.get(timeout=WRITER_IDLE_S)
                if item is None:
                    if self._retire_writer():
                        return  # idle: the next frame starts a new writer
                    continue
                if isinstance(item, _Close):
                    self.ws.close(item.code, item.reason)
                    break
                self.ws.send(item)
        except (ConnectionClosed, OSError):
            pass
        self._outbox.close()  # nothing more goes out: the session must not wait for room
        self.inbox.stop(StopReason.DISCONNECTED)

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
