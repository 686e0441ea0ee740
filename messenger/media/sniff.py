"""The content type of an upload, read from its bytes: what the client says is never used.

``filetype`` (pure Python, no libmagic) knows binary formats by their signatures. It cannot
know text formats, which have none: plain text, HTML, SVG, CSV, JSON all start with ordinary
characters. The rule for those: a head of valid UTF-8 without a NUL byte is
``text/plain; charset=utf-8``, anything else unknown is ``application/octet-stream``. So an
HTML or SVG file is text/plain, never ``text/html`` or ``image/svg+xml``: served with
``X-Content-Type-Options: nosniff``, a browser shows it as text at most and never runs it as a
page or draws it as an image of this origin. Only ``INLINE_IMAGE_TYPES`` are images here.
"""

from __future__ import annotations

import codecs
from typing import BinaryIO

import filetype

OCTET_STREAM = "application/octet-stream"
TEXT_PLAIN = "text/plain; charset=utf-8"
# The only types treated as images: they get width, height, a thumbnail and their metadata
# stripped, and only they may be served inline. Other image types filetype knows (TIFF, HEIC,
# BMP, PSD...) keep their sniffed type but are plain files, served as downloads, untouched.
INLINE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
# filetype tells an animated PNG apart; it is a PNG (the PNG specification's third edition
# includes APNG under image/png), handled and served as one.
ALIASES = {"image/apng": "image/png"}
HEAD_BYTES = 8192  # what filetype reads; the text rule reads as much


def sniff(file: BinaryIO) -> str:
    """Return the content type of ``file``'s bytes, read from its current position."""
    head = file.read(HEAD_BYTES)
    kind = filetype.guess(head) if head else None
    if kind is not None:
        return ALIASES.get(kind.mime, kind.mime)
    return TEXT_PLAIN if looks_like_text(head) else OCTET_STREAM


def looks_like_text(head: bytes) -> bool:
    """Say whether ``head`` is valid UTF-8 without NUL (cut at HEAD_BYTES, mid-character maybe)."""
    if not head or b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < HEAD_BYTES)
    except UnicodeDecodeError:
        return False
    return True
