"""Open what the media functions read and write: a path, or a binary file the caller holds.

An upload is streamed to a temporary file before it is inspected, so every function here
works on a file, from its start, and never on the whole upload in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from ..errors import InvalidImage

Source = str | os.PathLike[str] | BinaryIO  # a path, or a seekable binary file read from its start
# A path, or a seekable binary file written from where it is (a WebP's size is patched after).
Destination = str | os.PathLike[str] | BinaryIO

COPY_CHUNK = 64 * 1024


@contextmanager
def reading(source: Source) -> Iterator[BinaryIO]:
    """Yield ``source`` as a binary file at its start; close it only if it was opened here."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as file:
            yield file
    else:
        source.seek(0)
        yield source


@contextmanager
def writing(destination: Destination) -> Iterator[BinaryIO]:
    """Yield ``destination`` as a writable binary file; close it only if it was opened here."""
    if isinstance(destination, str | os.PathLike):
        with open(destination, "wb") as file:
            yield file
    else:
        yield destination


def read_exactly(src: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, or refuse the file as truncated."""
    data = src.read(size)
    if len(data) != size:
        raise InvalidImage(details={"reason": "truncated"})
    return data


def copy_exactly(src: BinaryIO, dst: BinaryIO | None, size: int) -> None:
    """Copy (or, without ``dst``, skip) ``size`` bytes a chunk at a time; refuse a short file."""
    while size > 0:
        data = read_exactly(src, min(size, COPY_CHUNK))
        if dst is not None:
            dst.write(data)
        size -= len(data)
