"""What every blob adapter does to a stream the same way: count and hash it while bounding it,
and read a byte range of it back in chunks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Protocol

from ..errors import BlobTooLarge
from ..model import StoredBlob

# Bytes per chunk handed to a reader: large enough that a download is few reads, small enough
# that many at once hold little memory.
READ_CHUNK_BYTES = 64 * 1024


class Meter:
    """Counts and hashes the chunks that pass through ``feed``, refusing past ``max_bytes``."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._sha256 = hashlib.sha256()

    def feed(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Yield ``chunks`` (empty ones dropped); ``BlobTooLarge`` before the chunk that passes
        the bound is yielded, so not one byte over it is written."""
        for chunk in chunks:
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise BlobTooLarge(self.max_bytes)
            self._sha256.update(chunk)
            yield chunk

    def stored(self, blob_id: str) -> StoredBlob:
        """What was stored under ``blob_id``, once the stream was fed through to its end."""
        return StoredBlob(blob_id, self.size, self._sha256.hexdigest())


def check_range(start: int, end: int | None) -> None:
    """Refuse a byte range no caller should make: a negative start, an end before the start."""
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"not a byte range: start={start}, end={end}")


def cut_range(start: int, end: int | None, size: int) -> tuple[int, int]:
    """The range cut to a blob of ``size`` bytes: ``(start, end)`` with ``start <= end <= size``."""
    end = size if end is None else min(end, size)
    return min(start, end), end


class Seekable(Protocol):
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def read(self, size: int = -1, /) -> bytes: ...
    def close(self) -> None: ...


def read_range(source: Seekable | BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """Yield bytes ``start`` to ``end`` of an open ``source`` in chunks, then close it (also when
    the reader stops early and closes this generator)."""
    try:
        source.seek(start)
        remaining = end - start
        while remaining > 0:
            data = source.read(min(READ_CHUNK_BYTES, remaining))
            if not data:
                return
            remaining -= len(data)
            yield data
    finally:
        source.close()
