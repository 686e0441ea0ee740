"""Short-lived signed download URLs for attachments (README "Attachments").

An ``<img>`` tag or a mobile image loader cannot send a bearer token, so messages carry URLs
that authorize themselves: ``/attachments/<id>[/thumbnail]?expires=<s>&signature=<hmac>``, an
HMAC-SHA256 over the id, the variant and the expiry with a server secret. Anyone holding such a
URL can fetch those bytes until it expires, as anyone holding the message could; it grants
nothing else. Expiries are rounded up to a window of ``ttl_s / 4``, so a page that is read
several times in a row serves the same URLs and the browser's cache keeps working; a URL lives
between ``ttl_s`` and ``1.25 × ttl_s``. Standard library only: ``hmac`` and ``hashlib`` are the
whole job, and no maintained library adds anything here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Callable

ORIGINAL = "original"
THUMBNAIL = "thumbnail"
VARIANTS = (ORIGINAL, THUMBNAIL)
VALID, EXPIRED, INVALID = "valid", "expired", "invalid"


class AttachmentUrls:
    """Signs and checks download URLs; the secret is read once, on first use, from
    ``secret_source`` (ATTACHMENT_URL_SECRET, or the store's), so a worker boots while the store
    is down."""

    def __init__(self, secret_source: Callable[[], bytes], ttl_s: int) -> None:
        self._secret_source = secret_source
        self._secret: bytes | None = None
        self._lock = threading.Lock()
        self.ttl_s = ttl_s

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    self._secret = self._secret_source()
        return self._secret

    def url(self, attachment_id: str, variant: str, now_ms: int) -> str:
        expires = self._expiry(now_ms // 1000)
        path = f"/attachments/{attachment_id}" + ("/thumbnail" if variant == THUMBNAIL else "")
        return f"{path}?expires={expires}&signature={self._signature(attachment_id, variant, expires)}"

    def check(self, attachment_id: str, variant: str, expires: int, signature: str, now_ms: int) -> str:
        """``valid``, ``expired`` (ours, for exactly this id and variant, but past its expiry: the
        client should read the message again) or ``invalid``."""
        expected = self._signature(attachment_id, variant, expires).encode()
        if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
            return INVALID
        return EXPIRED if expires < now_ms // 1000 else VALID

    def present(self, attachment: dict, now_ms: int) -> dict:
        """An attachment as messages carry it, with its ``url`` and ``thumbnail_url`` (null when
        it has no thumbnail), the stored ``thumbnail`` flag left out."""
        shown = {key: value for key, value in attachment.items() if key != "thumbnail"}
        attachment_id = attachment["attachment_id"]
        shown["url"] = self.url(attachment_id, ORIGINAL, now_ms)
        shown["thumbnail_url"] = (
            self.url(attachment_id, THUMBNAIL, now_ms) if attachment.get("thumbnail") else None
        )
        return shown

    def _expiry(self, now_s: int) -> int:
        window = max(1, self.ttl_s // 4)
        return -(-(now_s + self.ttl_s) // window) * window  # rounded up to the window

    def _signature(self, attachment_id: str, variant: str, expires: int) -> str:
        message = f"{attachment_id}\n{variant}\n{expires}".encode()
        digest = hmac.new(self.secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
