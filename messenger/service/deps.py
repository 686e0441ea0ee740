"""What the use cases need from the outside world, built once by ``messenger.wiring``."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ..config import Settings
from ..ports import BlobStore, MailTransport, Notifier, Store
from .attachment_urls import AttachmentUrls
from .health import ReadinessCheck
from .throttle import Throttle
from .waiters import WaiterLimits

T = TypeVar("T")


def now_ms() -> int:
    """Server time in integer milliseconds since the epoch, UTC."""
    return time.time_ns() // 1_000_000


def new_id() -> str:
    return uuid.uuid4().hex


def run_inline(fn: Callable[..., T], *args) -> T:
    return fn(*args)


@dataclass
class Deps:
    settings: Settings
    store: Store
    notifier: Notifier
    clock: Callable[[], int] = now_ms
    # CPU-heavy work (password hashing) goes through this, so a gevent worker can move it
    # off the event loop instead of freezing every other connection for ~100 ms.
    run_blocking: Callable[..., object] = field(default=run_inline)
    # Typing hints relayed lately, per (user, thread): a flood of hints is relayed sparingly.
    typing_throttle: Throttle = field(default_factory=Throttle)
    readiness: ReadinessCheck = field(default_factory=ReadinessCheck)
    # Each user's sockets and long-polls in this process, for MAX_SOCKETS/POLLS_PER_USER.
    waiters: WaiterLimits = field(default_factory=WaiterLimits)
    # The mail server's adapter (None without SMTP_URL), and the doorbell that wakes this
    # worker's mail sender when a request has just written to the outbox.
    mailer: MailTransport | None = None
    # Attachments' bytes (local files, GridFS or S3) and the signer of their download URLs.
    blobs: BlobStore | None = None
    attachment_urls: AttachmentUrls | None = None
    # Uploads decoded at once in this process (Pillow holds an image's pixels: up to ~200 MB at
    # MAX_IMAGE_PIXELS); more wait their turn.
    image_slots: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(2))
    mail_wakeup: threading.Event = field(default_factory=threading.Event)
