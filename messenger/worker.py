"""The gunicorn worker: gevent's, with the bounds a public server needs that gunicorn lacks.

gunicorn bounds a request's head (the sizes of its line and headers, and the keep-alive wait)
but neither the time its body may take to arrive nor the time its response may take to leave,
and it shares a worker's connections first come, first served. This worker:

- gives each client address (an IPv6 one by its /64) at most MAX_CONNECTIONS_PER_ADDRESS of
  the worker's WORKER_CONNECTIONS, idle keep-alive connections included; one more is answered
  429 and closed. Only without a proxy in front (FORWARDED_HOPS=0): behind one, every
  connection comes from the proxy, and its own limits take this role;
- gives a new connection READ_TIMEOUT_S for its first request's head (KEEPALIVE_S is for the
  wait between requests), and reads every request body whole before the app runs, within
  READ_TIMEOUT_S and MAX_CONTENT_LENGTH, else answers 408 or 413 and closes the connection: a
  head or body that trickles in holds a connection for seconds, not minutes;
- streams the bodies of uploads (``web.bodies.STREAMED_UPLOADS``) to the app as they arrive
  instead, within MAX_ATTACHMENT_BYTES (a declared length over it is 413 before a byte is read)
  and UPLOAD_TIMEOUT_S for the whole body (a read past it, or a stall of SOCKET_TIMEOUT_S, is
  the app's 408); the connection closes after the answer, so an upload refused half-way is
  not read to its end;
- gives each read, and each 64 KiB of a write, SOCKET_TIMEOUT_S while a request is served, so
  a response (or a WebSocket frame) that its client stops reading is dropped with its
  connection, while a slow link still gets a large page;
- closes its idle kept-alive connections when it is told to stop: they may wait KEEPALIVE_S
  (75 s) for a next request, far longer than the graceful shutdown's 10 s.

A WSGI middleware cannot do these: the app sees a body only as a blocking stream, and a
response is written after the app has returned.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import logging
import socket
import time
from collections import Counter

import gevent
from gunicorn.http.body import Body
from gunicorn.workers.ggevent import GeventWorker

from .config import Settings
from .errors import BodyTimeout
from .netio import discard_input
from .web.bodies import STREAMED_UPLOADS, UPLOAD_ENVELOPE_BYTES
from .web.errors import error_body

logger = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
WRITE_CHUNK = 64 * 1024  # SOCKET_TIMEOUT_S bounds each of these, not a whole response
REFUSALS_LOG_INTERVAL_S = 10  # refused connections are logged as a count, not one line each


class Refusal(Exception):
    """An answer the worker gives itself, before the app runs, in the API's error shape."""

    def __init__(self, status: str, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


class MessengerWorker(GeventWorker):
    """gunicorn's gevent worker with per-address connection shares and I/O deadlines."""

    def init_process(self) -> None:
        settings = Settings.from_env()
        self.max_per_address = 0 if settings.forwarded_hops else settings.max_connections_per_address
        self.max_body_bytes = settings.max_content_length
        self.max_upload_bytes = settings.max_attachment_bytes
        self.upload_timeout_s = settings.upload_timeout_s
        self.read_timeout_s = settings.read_timeout_s
        self.socket_timeout_s = settings.socket_timeout_s
        self.connections: Counter[str] = Counter()
        # Each open connection, by the greenlet serving it: its socket and requests so far
        # (not ``self.sockets``: gunicorn's name for the listening sockets).
        self.open_connections: dict[gevent.Greenlet, socket.socket] = {}
        self.served: Counter[gevent.Greenlet] = Counter()
        self.idle: set[gevent.Greenlet] = set()  # those waiting for a request's head
        self.refused_since_logged = 0
        self.refusals_logged_at = 0.0
        super().init_process()  # runs the worker; it returns only when the worker stops

    @contextlib.contextmanager
    def timeout_ctx(self):
        """gunicorn's wait for a request's head: READ_TIMEOUT_S on a new connection, KEEPALIVE_S
        between requests; none once the worker is stopping (the connection closes)."""
        waiting = gevent.getcurrent()
        if not self.alive:
            seconds = 0
        elif self.served[waiting]:
            seconds = self.cfg.keepalive
        else:
            seconds = self.read_timeout_s
        self.idle.add(waiting)
        try:
            with gevent.Timeout(seconds, False):
                yield
        finally:
            self.idle.discard(waiting)

    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        gevent.spawn(self._end_idle_connections)  # not from the signal handler itself

    def _end_idle_connections(self) -> None:
        """A connection waiting for a request reads its end, and closes as if the client had
        (no request is cut: its head would still be arriving, and nothing was answered).

        Shut down under gevent's socket: gevent's own ``shutdown`` fails the waiting read with
        EBADF ("closed in another greenlet"), which gunicorn logs with a traceback."""
        for waiting in list(self.idle):
            with contextlib.suppress(OSError, KeyError, AttributeError):
                self.open_connections[waiting]._sock.shutdown(socket.SHUT_RD)

    def handle(self, listener, client, addr) -> None:
        address = _address_key(addr[0]) if isinstance(addr, tuple) and self.max_per_address else None
        if address is not None:
            if self.connections[address] >= self.max_per_address:
                self._refuse_connection(client, address)
                return
            self.connections[address] += 1  # greenlets: nothing runs between the check and this
        serving = gevent.getcurrent()
        self.open_connections[serving] = client
        try:
            super().handle(listener, client, addr)
        finally:
            del self.open_connections[serving]
            self.served.pop(serving, None)
            if address is not None:
                self.connections[address] -= 1
                if not self.connections[address]:
                    del self.connections[address]

    def handle_request(self, listener_name, req, sock, addr):
        self.served[gevent.getcurrent()] += 1
        sock.settimeout(self.socket_timeout_s)
        try:
            streamed = _has_body(req) and (req.method, req.path) in STREAMED_UPLOADS
            if streamed:
                self._stream_body(req, sock)
            elif _has_body(req):
                self._read_body(req, sock)
            kept_alive = super().handle_request(listener_name, req, ChunkedWrites(sock), addr)
            if streamed:  # answered, maybe before the body ended (401, 413...): let it land
                discard_input(sock)
            return kept_alive
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(None)  # the keep-alive wait has its own limit

    def _read_body(self, req, sock) -> None:
        """Replace the request's body with all of it, read in time, or answer and close."""
        try:
            length = _content_length(req)
            if length is not None and length > self.max_body_bytes:
                raise _too_large(self.max_body_bytes)
            if req._expected_100_continue:  # gunicorn would send it later, after this read
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                req._expected_100_continue = False
            body = self._read_within_deadline(req.body)
        except Refusal as refused:
            logger.info("%s %s %s %s", req.method, req.path, refused.status.split()[0], refused.code)
            _answer_and_close(sock, refused)
            raise StopIteration() from None  # gunicorn closes the connection
        req.body = Body(io.BytesIO(body))

    def _stream_body(self, req, sock) -> None:
        """Let the app read an upload as it arrives, within its size and time; then close."""
        try:
            length = _content_length(req)
            if length is not None and length > self.max_upload_bytes + UPLOAD_ENVELOPE_BYTES:
                raise _too_large(self.max_upload_bytes)
        except Refusal as refused:
            logger.info("%s %s %s %s", req.method, req.path, refused.status.split()[0], refused.code)
            _answer_and_close(sock, refused)
            raise StopIteration() from None
        # "100 Continue" only once the app reads the body: a request it refuses first (no
        # token, over the quota) is answered before the client sends a byte of it.
        expects_continue, req._expected_100_continue = req._expected_100_continue, False
        deadline = time.monotonic() + self.upload_timeout_s
        req.body = Body(DeadlineReader(req.body, deadline, sock if expects_continue else None))
        req.must_close = True

    def _read_within_deadline(self, stream) -> bytes:
        chunks, size = [], 0
        timeout = Refusal(
            "408 Request Timeout", "request_timeout", f"The body took over {self.read_timeout_s} s to arrive."
        )
        with gevent.Timeout(self.read_timeout_s, timeout):
            while data := stream.read(READ_CHUNK):
                size += len(data)
                if size > self.max_body_bytes:  # a chunked body says its size only at its end
                    raise _too_large(self.max_body_bytes)
                chunks.append(data)
        return b"".join(chunks)

    def _refuse_connection(self, client, address: str) -> None:
        refused = Refusal(
            "429 Too Many Requests", "too_many_connections", "Too many connections from your address.", 1
        )
        _answer(client, refused)  # no draining: the slot must be free at once
        client.close()
        self.refused_since_logged += 1
        now = time.monotonic()
        if now - self.refusals_logged_at >= REFUSALS_LOG_INTERVAL_S:
            logger.warning(
                "refused %d connections over MAX_CONNECTIONS_PER_ADDRESS (%d), the last from %s",
                self.refused_since_logged,
                self.max_per_address,
                address,
            )
            self.refused_since_logged, self.refusals_logged_at = 0, now


class DeadlineReader:
    """A request body that must arrive whole by ``deadline`` (``time.monotonic()``): every read
    is bounded by what is left of it (a client trickling a byte a minute is cut off too), and
    by the socket's own timeout; either raises ``BodyTimeout`` (the app answers 408). With
    ``continue_to``, "100 Continue" goes to that socket before the first read."""

    def __init__(self, body, deadline: float, continue_to: socket.socket | None = None) -> None:
        self._body = body
        self._deadline = deadline
        self._continue_to = continue_to

    def read(self, size: int | None = None) -> bytes:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise BodyTimeout()
        try:
            if self._continue_to is not None:
                self._continue_to.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                self._continue_to = None
            with gevent.Timeout(left, BodyTimeout()):
                return self._body.read(size)
        except (TimeoutError, OSError):
            raise BodyTimeout() from None


class ChunkedWrites:
    """The client's socket, writing in WRITE_CHUNK pieces: gevent gives one ``sendall`` a
    single deadline for all its bytes, which a large page on a slow mobile link cannot meet."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def sendall(self, data, flags: int = 0) -> None:
        view = memoryview(data).cast("B")
        for start in range(0, len(view), WRITE_CHUNK):
            self._sock.sendall(view[start : start + WRITE_CHUNK], flags)

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


def _address_key(host: str) -> str:
    """Whose share a connection counts in: its IPv4 address, or its IPv6 /64 (one host may use
    any address of its /64)."""
    if ":" not in host:
        return host
    with contextlib.suppress(ValueError):
        return str(ipaddress.IPv6Network(f"{host}/64", strict=False).network_address)
    return host


def _has_body(req) -> bool:
    """What ``web.bodies.check_body`` calls having a body, read from gunicorn's request."""
    return bool(_content_length(req)) or any(
        name == "TRANSFER-ENCODING" and "chunked" in value.lower() for name, value in req.headers
    )


def _content_length(req) -> int | None:
    for name, value in req.headers:
        if name == "CONTENT-LENGTH":
            return int(value)  # gunicorn has checked it is a number
    return None


def _too_large(limit: int) -> Refusal:
    return Refusal("413 Content Too Large", "payload_too_large", f"The body is over {limit} bytes.")


def _answer_and_close(sock, refused: Refusal) -> None:
    """Answer, then drain the client's input so that closing does not reset the answer away."""
    _answer(sock, refused)
    discard_input(sock)


def _answer(sock, refused: Refusal) -> None:
    """Answer in the API's error shape, straight on the socket (the app has not run)."""
    body = json.dumps(error_body(refused.code, refused.message)).encode()
    head = [
        f"HTTP/1.1 {refused.status}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "X-Content-Type-Options: nosniff",  # as on every answer of the app's (web/headers)
        "Cache-Control: no-store",
        "Connection: close",
    ]
    if refused.retry_after is not None:
        head.append(f"Retry-After: {refused.retry_after}")
    with contextlib.suppress(OSError):
        sock.settimeout(1)
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
