"""What an attachment's metadata needs from an uploaded file, and the copies served of an image.

No Flask and no store here: functions of a file on disk (an upload is streamed to a temporary
file first, never held whole in memory), so the upload route, the tests and a benchmark call
them alike.

- ``inspect``: the content type sniffed from the bytes (``sniff.py`` says why text formats are
  ``text/plain`` and why only JPEG, PNG, WebP and GIF count as images) and an image's upright
  width and height, read from its header.
- ``strip_metadata``: the copy of an image that is served, without EXIF, GPS, XMP, IPTC,
  comments or embedded previews, its compressed pixels untouched (``strip.py`` says how, and
  why the orientation alone is kept).
- ``make_thumbnail``: an upright WebP within 320 x 320 (a GIF's first frame).

Each refuses an image whose header claims more than ``max_pixels`` (the MAX_IMAGE_PIXELS
setting) before a pixel is decoded (422 ``image_too_large``), and a file with an image's
signature that is no readable image (422 ``invalid_image``).
"""

from .images import Inspected, Thumbnail, inspect, make_thumbnail
from .sniff import INLINE_IMAGE_TYPES, OCTET_STREAM, TEXT_PLAIN
from .strip import strip_metadata

__all__ = [
    "INLINE_IMAGE_TYPES",
    "OCTET_STREAM",
    "TEXT_PLAIN",
    "Inspected",
    "Thumbnail",
    "inspect",
    "make_thumbnail",
    "strip_metadata",
]
