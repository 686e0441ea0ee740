"""Images with Pillow: their size from the header, bounded before decoding, and thumbnails.

Every open goes through ``open_image``: it names the one Pillow plugin the sniffed type
allows (a file is never decoded as another format than its signature says), refuses more than
``max_pixels`` from the header alone, before ``load()`` decodes a pixel, and turns whatever
Pillow raises on a malformed file into ``InvalidImage`` (422, never a 500).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from PIL import ExifTags, Image, ImageOps

from ..errors import ImageTooLarge, InvalidImage
from .files import Destination, Source, reading, writing
from .sniff import INLINE_IMAGE_TYPES, sniff

PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
# What Pillow's plugins and decoders raise on a malformed file (tests/unit/test_media.py
# mutates real images to find them): each one means the upload is not the image it claims.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, TypeError, EOFError, IndexError, struct.error)
# Orientations 5 to 8 turn the stored picture a quarter: its upright width is its stored height.
QUARTER_TURNS = frozenset({5, 6, 7, 8})
THUMBNAIL_BOX = (320, 320)  # a thumbnail fits within this, never enlarged
# WebP: one format with alpha for every thumbnail, read by every current browser and by
# Android's and iOS's (14+) image loaders; a third the size of a JPEG of the same look.
THUMBNAIL_TYPE = "image/webp"
THUMBNAIL_QUALITY = 80
THUMBNAIL_MODES = ("RGB", "RGBA", "L", "LA")  # what the WebP encoder takes as it is

# An animation (GIF, WebP, APNG) may hold this many times MAX_IMAGE_PIXELS in all its frames:
# every viewer's browser decodes them, so a small file must not stand for a huge film.
ANIMATION_ALLOWANCE = 4


@dataclass(frozen=True)
class Inspected:
    """What an attachment's metadata needs to know of an upload.

    ``width`` and ``height`` are the upright size, as a viewer shows it (orientation applied:
    a portrait photo stored sideways with Orientation 6 is reported taller than wide), so a
    client can reserve the right box before the image arrives. None for anything not an image.
    """

    content_type: str
    is_image: bool  # one of INLINE_IMAGE_TYPES, read by Pillow: the only uploads served inline
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Thumbnail:
    content_type: str
    width: int
    height: int


def inspect(source: Source, *, max_pixels: int) -> Inspected:
    """Sniff an upload's type and, for an image, read its upright size from the header alone."""
    with reading(source) as file:
        content_type = sniff(file)
        if content_type not in INLINE_IMAGE_TYPES:
            return Inspected(content_type, is_image=False)
        with open_image(file, content_type, max_pixels=max_pixels) as image:
            width, height = image.size
            frames = getattr(image, "n_frames", 1)  # from the headers: nothing is decoded
            if frames * width * height > max_pixels * ANIMATION_ALLOWANCE:
                raise ImageTooLarge(
                    details={"width": width, "height": height, "frames": frames, "max_pixels": max_pixels}
                )
            if orientation(image, content_type) in QUARTER_TURNS:
                width, height = height, width
    return Inspected(content_type, True, width, height)


def make_thumbnail(source: Source, destination: Destination, *, max_pixels: int) -> Thumbnail:
    """Write an upright WebP thumbnail of an image (a GIF's first frame) within THUMBNAIL_BOX."""
    with reading(source) as file:
        content_type = require_image(file)
        with open_image(file, content_type, max_pixels=max_pixels) as image:
            turn = orientation(image, content_type)
            image.draft(None, THUMBNAIL_BOX)  # a JPEG decodes at 1/2 to 1/8 scale, still >= the box
            image.load()  # here, inside the guard (and before the file closes) whatever comes next
            if image.mode not in THUMBNAIL_MODES:  # palette (GIF), CMYK, 16-bit...: resample in colour
                image = image.convert("RGBA" if image.has_transparency_data else "RGB")
            image.thumbnail(THUMBNAIL_BOX)  # fitting a square box, then turning, is turning then fitting
            small = ImageOps.exif_transpose(image) if turn != 1 else image
    with writing(destination) as out:  # outside open_image: a full disk is no invalid image
        small.save(out, format="WEBP", quality=THUMBNAIL_QUALITY)
    return Thumbnail(THUMBNAIL_TYPE, *small.size)


def require_image(file: BinaryIO) -> str:
    """Return the image type of ``file``; anything else is the caller's mistake, not the user's."""
    content_type = sniff(file)
    if content_type not in INLINE_IMAGE_TYPES:
        raise ValueError(f"not an image that is processed: {content_type}")
    return content_type


@contextmanager
def open_image(file: BinaryIO, content_type: str, *, max_pixels: int) -> Iterator[Image.Image]:
    """Open ``file`` as ``content_type`` with Pillow, refusing a bomb before anything decodes."""
    file.seek(0)
    try:
        with Image.open(file, formats=[PILLOW_FORMATS[content_type]]) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLarge(details={"width": width, "height": height, "max_pixels": max_pixels})
            yield image
    # Pillow's own bound, twice its Image.MAX_IMAGE_PIXELS, is checked in Image.open before ours
    # (and on a GIF frame larger than its screen). Its DecompressionBombWarning, past that limit
    # itself, only arises when MAX_IMAGE_PIXELS is set above it: a log line, left alone, since
    # catching a warning means changing the process-wide filters.
    except Image.DecompressionBombError:
        raise ImageTooLarge(details={"max_pixels": max_pixels}) from None
    except DECODE_ERRORS as error:
        raise InvalidImage(details={"reason": type(error).__name__}) from None


def orientation(image: Image.Image, content_type: str) -> int:
    """Return the EXIF (or XMP) orientation, 1 to 8; a GIF has none, whatever its XMP says."""
    if content_type == "image/gif":
        return 1
    if content_type == "image/png":  # PngImageFile.getexif() decodes every pixel to find eXIf
        exif = Image.Exif()
        if raw := image.info.get("exif"):
            exif.load(raw)
    else:
        exif = image.getexif()
    value = exif.get(ExifTags.Base.Orientation, 1)
    return value if value in range(1, 9) else 1
