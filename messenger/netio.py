"""Closing a connection without losing the last answer.

Closing a TCP socket that still holds unread input makes the kernel reset the connection, and
a reset makes the client drop what it had not read yet: the error response or close frame
that says why. So before closing, what the client is still sending is read and dropped, for
a bounded time and size.
"""

from __future__ import annotations

import contextlib
import socket
import time

DISCARD_IDLE_S = 0.25  # the client paused this long: it has sent what it had
DISCARD_MAX_S = 2.0
DISCARD_MAX_BYTES = 4 * 1024 * 1024


def discard_input(sock: socket.socket) -> None:
    """Read and drop the client's input until it pauses, or for DISCARD_MAX_S at most."""
    deadline = time.monotonic() + DISCARD_MAX_S
    discarded = 0
    timeout = sock.gettimeout()
    try:
        while discarded < DISCARD_MAX_BYTES and (left := deadline - time.monotonic()) > 0:
            sock.settimeout(min(left, DISCARD_IDLE_S))
            data = sock.recv(65536)
            if not data:
                return
            discarded += len(data)
    except OSError:  # the client paused (a timeout) or the connection is gone
        pass
    finally:
        with contextlib.suppress(OSError):
            sock.settimeout(timeout)
