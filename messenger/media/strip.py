"""The served copy of an image: its metadata removed, its compressed pixels copied untouched.

Photos carry where they were taken (the EXIF GPS IFD), when, with which device and serial
number, the photographer's name and often an uncropped preview (EXIF and JFXX thumbnails, MPF
secondary images, XMP, IPTC). The served copy keeps none of it. Each format is walked segment
by segment (chunk, block) and rewritten keeping only what draws the picture, by a whitelist:
what is not known to be needed is dropped, so a new metadata kind is dropped too. Nothing is
decoded and re-encoded, so the pixels are bit for bit the original's (lossless, fast, and no
decompression cost) and a file is streamed, never held whole. No maintained library does this
for all four formats without re-encoding (piexif and exif handle JPEG EXIF only, and leave XMP
and MPF): these walkers are short, and tests/unit/test_media.py checks each.

Orientation is the one EXIF tag kept: a phone stores most photos sideways with Orientation 6
and viewers (every current browser) turn them upright from it. Dropping it would show them
sideways; baking the turn into the pixels would mean re-encoding a JPEG (lossy). So when the
orientation is not 1 the copy gets a new Exif of that one tag, which tells nothing about the
photographer; otherwise it has no Exif at all.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import BinaryIO

from ..errors import InvalidImage
from .files import COPY_CHUNK, Destination, Source, copy_exactly, read_exactly, reading, writing
from .images import open_image, orientation, require_image

ORIENTATION_TAG = 0x0112


def strip_metadata(source: Source, destination: Destination, *, max_pixels: int) -> None:
    """Write the served copy of an image: its pixels untouched, its metadata but orientation gone."""
    with reading(source) as src:
        content_type = require_image(src)
        with open_image(src, content_type, max_pixels=max_pixels) as image:
            turn = orientation(image, content_type)
        src.seek(0)
        with writing(destination) as dst:
            STRIPPERS[content_type](src, dst, turn)


def orientation_exif(turn: int) -> bytes:
    """Return a TIFF structure holding the Orientation tag alone (type SHORT, one value)."""
    return b"MM\x00\x2a" + struct.pack(">IHHHIHHI", 8, 1, ORIENTATION_TAG, 3, 1, turn, 0, 0)


def refuse(reason: str) -> InvalidImage:
    return InvalidImage(details={"reason": reason})


# JPEG ---------------------------------------------------------------------------------------
EOI, SOS, COM = 0xD9, 0xDA, 0xFE
STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RST0-7 have no length
# APPn segments kept, by the identifier their data starts with; every other APPn (APP1 Exif
# and XMP, APP2 MPF and FPXR, APP13 IPTC, makers' own) and every comment (COM) is dropped.
KEPT_APP_SEGMENTS = {0xE0: b"JFIF\x00", 0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}  # Adobe: colour transform
JFIF_HEADER = 14  # identifier, version, density; then the thumbnail's width and height (a byte each)


def strip_jpeg(src: BinaryIO, dst: BinaryIO, turn: int) -> None:
    """Copy a JPEG's frame and scans up to its first EOI; what follows (MPF images, trailers) goes."""
    if read_exactly(src, 2) != b"\xff\xd8":
        raise refuse("no JPEG start")
    dst.write(b"\xff\xd8")
    exif_due = turn != 1
    while (marker := next_marker(src)) != EOI:
        if marker in STANDALONE_MARKERS:
            dst.write(bytes((0xFF, marker)))
            continue
        (length,) = struct.unpack(">H", read_exactly(src, 2))
        if length < 2:
            raise refuse("JPEG segment length")
        payload = read_exactly(src, length - 2)
        if exif_due and marker != 0xE0:  # after JFIF's APP0, which must come first
            dst.write(jpeg_segment(0xE1, b"Exif\x00\x00" + orientation_exif(turn)))
            exif_due = False
        kept = kept_jpeg_payload(marker, payload)
        if kept is not None:
            dst.write(jpeg_segment(marker, kept))
        if marker == SOS:
            copy_scan(src, dst)
    dst.write(b"\xff\xd9")


def kept_jpeg_payload(marker: int, payload: bytes) -> bytes | None:
    """Return what the copy keeps of a segment, or None; JFIF's own preview, if any, goes."""
    if marker == COM:
        return None
    if 0xE0 <= marker <= 0xEF:  # APPn
        identifier = KEPT_APP_SEGMENTS.get(marker)
        if identifier is None or not payload.startswith(identifier):
            return None
    if marker == 0xE0 and len(payload) >= JFIF_HEADER:
        return payload[: JFIF_HEADER - 2] + b"\x00\x00"  # a 0 x 0 thumbnail, and no pixels of it
    return payload


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def next_marker(src: BinaryIO) -> int:
    """Read the next marker; fill bytes (0xFF repeated) may precede it."""
    if read_exactly(src, 1) != b"\xff":
        raise refuse("bytes between JPEG segments")
    while (byte := read_exactly(src, 1)) == b"\xff":
        pass
    if byte == b"\x00":
        raise refuse("no JPEG marker")
    return byte[0]


def copy_scan(src: BinaryIO, dst: BinaryIO) -> None:
    """Copy entropy-coded data up to the next marker, leaving ``src`` at its 0xFF."""
    while True:
        start = src.tell()
        chunk = src.read(COPY_CHUNK)
        if len(chunk) < 2:
            raise refuse("truncated")
        end = find_marker(chunk)
        if end is None:  # keep a last 0xFF for the next read: it may start a marker
            end = len(chunk) - 1 if chunk.endswith(b"\xff") else len(chunk)
            dst.write(chunk[:end])
            src.seek(start + end)
            continue
        dst.write(chunk[:end])
        src.seek(start + end)
        return


def find_marker(chunk: bytes) -> int | None:
    """Return where in ``chunk`` a marker starts: 0xFF not followed by a stuffed 0x00 or RSTn."""
    at = chunk.find(b"\xff")
    while at != -1 and at + 1 < len(chunk):
        following = chunk[at + 1]
        if following != 0x00 and not 0xD0 <= following <= 0xD7:
            return at
        at = chunk.find(b"\xff", at + 1)
    return None


# PNG ----------------------------------------------------------------------------------------
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Ancillary chunks kept: transparency, colour, physical size and APNG's animation. Every other
# ancillary one goes (eXIf, tEXt, zTXt, iTXt with XMP, tIME, makers' private ones); critical
# ones (upper-case first letter: IHDR, PLTE, IDAT, IEND) are always kept.
KEPT_PNG_CHUNKS = frozenset(
    {b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"cICP", b"mDCV", b"cLLI", b"bKGD"}
    | {b"hIST", b"pHYs", b"sPLT", b"acTL", b"fcTL", b"fdAT"}
)


def strip_png(src: BinaryIO, dst: BinaryIO, turn: int) -> None:
    """Copy a PNG's kept chunks up to IEND; a new eXIf holds the orientation, before IDAT."""
    if read_exactly(src, 8) != PNG_SIGNATURE:
        raise refuse("no PNG signature")
    dst.write(PNG_SIGNATURE)
    exif_due = turn != 1
    chunk_type = b""
    while chunk_type != b"IEND":
        length, chunk_type = struct.unpack(">I4s", read_exactly(src, 8))
        if exif_due and chunk_type == b"IDAT":
            dst.write(png_chunk(b"eXIf", orientation_exif(turn)))
            exif_due = False
        if chunk_type[0] & 0x20 == 0 or chunk_type in KEPT_PNG_CHUNKS:  # bit 5 clear: critical
            dst.write(struct.pack(">I4s", length, chunk_type))
            copy_exactly(src, dst, length + 4)  # the data and its CRC
        else:
            copy_exactly(src, None, length + 4)


def png_chunk(chunk_type: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(chunk_type + data)
    return struct.pack(">I4s", len(data), chunk_type) + data + struct.pack(">I", crc)


# WebP ---------------------------------------------------------------------------------------
# Everything that draws a still or animated WebP, and its colour profile; EXIF, XMP and any
# unknown chunk go.
KEPT_WEBP_CHUNKS = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
VP8X_EXIF, VP8X_XMP = 0x08, 0x04  # VP8X flag bits saying which metadata chunks follow


def strip_webp(src: BinaryIO, dst: BinaryIO, turn: int) -> None:
    """Copy a WebP's kept chunks, fix the VP8X flags, then patch the RIFF size."""
    header = read_exactly(src, 12)
    if header[:4] != b"RIFF" or header[8:] != b"WEBP":
        raise refuse("no WebP header")
    (riff_size,) = struct.unpack("<I", header[4:8])
    end, start = 8 + riff_size, dst.tell()
    dst.write(header)
    extended = False
    while src.tell() < end:
        fourcc, size = struct.unpack("<4sI", read_exactly(src, 8))
        padded = size + (size & 1)
        if fourcc == b"VP8X":
            extended, data = True, bytearray(read_exactly(src, padded))
            data[0] = data[0] & ~(VP8X_EXIF | VP8X_XMP) | (VP8X_EXIF if turn != 1 else 0)
            dst.write(struct.pack("<4sI", fourcc, size) + data)
        elif fourcc in KEPT_WEBP_CHUNKS:
            dst.write(struct.pack("<4sI", fourcc, size))
            copy_exactly(src, dst, padded)
        else:
            copy_exactly(src, None, padded)
    if extended and turn != 1:  # EXIF comes after the image data
        exif = orientation_exif(turn)
        dst.write(struct.pack("<4sI", b"EXIF", len(exif)) + exif)  # 26 bytes: no padding
    written = dst.tell() - start
    dst.seek(start + 4)
    dst.write(struct.pack("<I", written - 8))
    dst.seek(start + written)


# GIF ----------------------------------------------------------------------------------------
# Application extensions kept: the looping ones (how often an animation repeats). XMP, ICC
# profiles (which browsers ignore in a GIF) and makers' data go, with every comment extension.
KEPT_GIF_APPLICATIONS = frozenset({b"NETSCAPE2.0", b"ANIMEXTS1.0"})
KEPT_GIF_EXTENSIONS = frozenset({0xF9, 0x01})  # graphic control, plain text (drawn content)


def strip_gif(src: BinaryIO, dst: BinaryIO, turn: int) -> None:
    """Copy a GIF's screen, frames and kept extensions up to its trailer (``turn`` is always 1)."""
    screen = read_exactly(src, 13)  # signature, version, logical screen descriptor
    if screen[:3] != b"GIF":
        raise refuse("no GIF signature")
    dst.write(screen)
    copy_color_table(src, dst, screen[10])
    while (introducer := read_exactly(src, 1)) != b";":
        if introducer == b",":
            descriptor = read_exactly(src, 9)
            dst.write(introducer + descriptor)
            copy_color_table(src, dst, descriptor[8])
            dst.write(read_exactly(src, 1))  # LZW minimum code size
            copy_sub_blocks(src, dst)
        elif introducer == b"!":
            copy_extension(src, dst)
        else:
            raise refuse("unknown GIF block")
    dst.write(b";")


def copy_color_table(src: BinaryIO, dst: BinaryIO, flags: int) -> None:
    if flags & 0x80:
        copy_exactly(src, dst, 3 * 2 ** ((flags & 0x07) + 1))


def copy_extension(src: BinaryIO, dst: BinaryIO) -> None:
    label = read_exactly(src, 1)
    size = read_exactly(src, 1)
    first = read_exactly(src, size[0])
    keep = label[0] in KEPT_GIF_EXTENSIONS or (label == b"\xff" and first in KEPT_GIF_APPLICATIONS)
    out = dst if keep else None
    if out is not None:
        out.write(b"!" + label + size + first)
    if size != b"\x00":
        copy_sub_blocks(src, out)


def copy_sub_blocks(src: BinaryIO, dst: BinaryIO | None) -> None:
    """Copy (or skip) data sub-blocks up to and with their zero-length terminator."""
    while (size := read_exactly(src, 1)) != b"\x00":
        if dst is not None:
            dst.write(size)
        copy_exactly(src, dst, size[0])
    if dst is not None:
        dst.write(size)


STRIPPERS: dict[str, Callable[[BinaryIO, BinaryIO, int], None]] = {
    "image/jpeg": strip_jpeg,
    "image/png": strip_png,
    "image/webp": strip_webp,
    "image/gif": strip_gif,
}
