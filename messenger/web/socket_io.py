"""simple-websocket adapted to a session, and a socket's outgoing frames with their writer.

Every patch of a simple-websocket (1.1) internal is here, each with what it works around:

1. ``ws.sock`` becomes a ``SessionSocket`` (``adapt``). Upstream writes with ``socket.send``,
   which writes only part of a frame when a client reads slowly, and its ping thread writes
   beside our writer: either corrupts the stream. Its reader thread reads and buffers every
   frame that arrives, without bound. SessionSocket writes each frame whole under one lock
   and lets the session pause reading.
2. ``event_class=FrameArrived`` (its documented option, set in ``messenger/__init__.py``), with
   our ``listener`` attribute (``adapt``): upstream only sets the event for ``receive`` to wait
   on, so a session would need a greenlet blocked in ``receive``; the listener wakes the
   session's inbox instead, and the session's own greenlet answers frames.
3. ``ws.input_buffer`` (its list of frames received, unanswered) is counted to pause reading and
   cleared once nobody will answer; ``ws.thread`` (its reader) is checked to know whether the
   client has closed its side; ``ws.close_reason`` is the client's close code.

The outbox bounds what a socket holds in bytes: counting frames bounds nothing, since one frame
may be a 100-message page of a megabyte or more. The session, the only producer, waits for room
before it queues a frame, so while a client reads nothing the session answers nothing more and
reads none of its requests (back-pressure); a client that leaves no room for
``WS_SEND_TIMEOUT_S`` is told to resume from its cursor.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from flask_sock import ConnectionClosed

from .. import netio

SLOW_CLOSE_GRACE_S = 20  # how long a closing socket may take to flush before it is cut off
WRITER_IDLE_S = 5  # how long a socket's writer waits for another frame before it goes
# Frames the client sent that the session has not answered yet: past this many, the socket's
# bytes are left unread, so TCP holds a client that sends without reading the answers
# (at most this many frames of MAX_CONTENT_LENGTH each wait in the worker).
MAX_UNANSWERED_FRAMES = 8


def adapt(ws, on_frame: Callable[[], None]) -> None:
    """Install the patches above on a simple-websocket ``Server``; ``on_frame`` runs in its reader
    whenever a frame arrives or the socket closes."""
    ws.sock = SessionSocket(ws.sock)
    ws.event.listener = on_frame


def hold_back_unanswered(ws, abandoned: bool) -> None:
    """Called by ``on_frame``: drop frames nobody will answer, or stop reading the socket while
    too many wait for an answer (see MAX_UNANSWERED_FRAMES)."""
    if abandoned:
        ws.input_buffer.clear()
    elif len(ws.input_buffer) >= MAX_UNANSWERED_FRAMES:
        ws.sock.pause_reading()


def receive_now(ws) -> str | bytes | None:
    """The next frame the client sent, or None; read the socket again once few wait.

    Raise ``ConnectionClosed`` when the client went away.
    """
    frame = ws.receive(timeout=0)
    if len(ws.input_buffer) < MAX_UNANSWERED_FRAMES:
        ws.sock.resume_reading()
    return frame


class SessionSocket:
    """The raw socket under simple-websocket, made to write each frame whole, one at a time,
    and to read only while the session keeps up with the client's frames (patch 1).

    ``sendall`` under one lock keeps every frame whole; ``recv`` waits while reading is paused.
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


class FrameArrived:
    """simple-websocket's "a frame arrived, or the socket closed" event (its ``event_class``),
    which also calls its ``listener`` (patch 2): the session's own greenlet answers the client's
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


@dataclass(frozen=True)
class Close:
    """The close frame a writer sends last."""

    code: int
    reason: str


class Outbox:
    """Items for one writer; at most ``max_bytes`` are held before a producer must wait (one
    item more may always go in, so a single frame larger than the bound still gets through)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: deque[tuple[object, int]] = deque()
        self._bytes = 0
        self._closed = False
        self._changed = threading.Condition()

    @property
    def held_bytes(self) -> int:
        return self._bytes

    @property
    def closed(self) -> bool:
        return self._closed

    def wait_for_room(self, timeout: float) -> bool:
        """True once there is room (or the outbox was closed), False if none came in time."""
        with self._changed:
            return self._changed.wait_for(lambda: self._bytes < self.max_bytes or self._closed, timeout)

    def put(self, item: object) -> None:
        """Queue without waiting (call ``wait_for_room`` first); a closed outbox drops it."""
        size = sys.getsizeof(item)  # what the worker holds for it: a str's size in memory, O(1)
        with self._changed:
            if self._closed:
                return
            self._items.append((item, size))
            self._bytes += size
            self._changed.notify_all()

    def get(self, timeout: float) -> object | None:
        """The oldest item, or None if nothing came within ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._items, timeout):
                return None
            item, size = self._items.popleft()
            self._bytes -= size
            self._changed.notify_all()
            return item

    def empty(self) -> bool:
        with self._changed:
            return not self._items

    def clear(self) -> None:
        """Drop what is queued (the client resumes from its cursor instead)."""
        with self._changed:
            self._items.clear()
            self._bytes = 0
            self._changed.notify_all()

    def close(self) -> None:
        """Nobody will write any more: drop everything, and never make a producer wait."""
        with self._changed:  # a Condition's lock is reentrant: clear() takes it again
            self._closed = True
            self.clear()


class SocketWriter:
    """Owns a socket's output through an outbox bounded in bytes. The writer thread exists only
    while there is something to write, and lingers WRITER_IDLE_S after: an idle socket holds no
    writer greenlet (~11 KiB each, measured with 5,000 held)."""

    def __init__(self, ws, max_bytes: int, on_gone: Callable[[], None]) -> None:
        """``on_gone`` runs once the writer found the connection closed, or closed it."""
        self.ws = ws
        self._outbox = Outbox(max_bytes)
        self._on_gone = on_gone
        self._lock = threading.Lock()
        self._writer: threading.Thread | None = None

    def wait_for_room(self, timeout: float) -> bool:
        return self._outbox.wait_for_room(timeout)

    def put(self, frame: str) -> None:
        """Queue a frame (call ``wait_for_room`` first) and make sure a writer takes it."""
        self._outbox.put(frame)
        self._ensure_writer()

    def finish(self, close: Close, drop_queued: bool) -> None:
        """Close through the writer; a writer stuck on a client that reads nothing is cut off.
        However it ends, simple-websocket's reader is let go, so it finishes too."""
        try:
            if drop_queued:
                self._outbox.clear()  # the client resumes from its cursor; these would only wait
            if self._outbox.closed:  # the writer found the connection gone: nobody to tell
                return
            self._outbox.put(close)
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
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_frames, name="stream-writer", daemon=True)
                self._writer.start()
            return self._writer

    def _retire_writer(self) -> bool:
        """Let the writer go if nothing is queued; decided under the lock ``_ensure_writer`` takes."""
        with self._lock:
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
                if isinstance(item, Close):
                    self.ws.close(item.code, item.reason)
                    break
                self.ws.send(item)
        except (ConnectionClosed, OSError):
            pass
        self._outbox.close()  # nothing more goes out: the session must not wait for room
        self._on_gone()
