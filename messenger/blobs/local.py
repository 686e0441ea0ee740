"""Blobs as files under the data directory, beside the SQLite file: the embedded default.

Layout: ``<root>/<first two hex digits of the id>/<id>``, 256 shard directories at most, so no
directory grows to millions of entries. A put writes ``<id>.partial`` in the blob's own shard
directory, fsyncs it, renames it into place (atomic on POSIX) and fsyncs the directory: a crash
leaves either no file under the blob's name or the whole blob, never part of one, and once put
returns the blob survives a power cut. A crash mid-put leaves a ``.partial`` file, which
``remove_partials`` clears. A file's modification time is when its blob was stored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import BlobNotFound
from ..model import BLOB_ID, StoredBlob, new_blob_id, require_blob_id
from .streams import Meter, check_range, cut_range, read_range

logger = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".partial"


class LocalBlobStore:
    """BlobStore on a directory of this machine's disk (a lasting one: see EPHEMERAL_DISK)."""

    def __init__(self, root: str | os.PathLike[str]):
        self._root = Path(root)

    def put(self, chunks: Iterable[bytes], max_bytes: int) -> StoredBlob:
        """Write the stream to a partial file, then make it the blob in one rename."""
        blob_id = new_blob_id()
        final = self._path(blob_id)
        partial = final.with_name(blob_id + PARTIAL_SUFFIX)
        self._make_shard(final.parent)
        meter = Meter(max_bytes)
        try:
            with open(partial, "xb") as out:
                for chunk in meter.feed(chunks):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        _fsync_directory(final.parent)
        return meter.stored(blob_id)

    def open(self, blob_id: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Open the file now (a deletion after this does not cut the download short)."""
        check_range(start, end)
        try:
            source = open(self._path(require_blob_id(blob_id)), "rb")  # noqa: SIM115 - read_range closes it
        except FileNotFoundError:
            raise BlobNotFound() from None
        start, end = cut_range(start, end, os.fstat(source.fileno()).st_size)
        return read_range(source, start, end)

    def size(self, blob_id: str) -> int | None:
        try:
            return self._path(require_blob_id(blob_id)).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, blob_id: str) -> None:
        self._path(require_blob_id(blob_id)).unlink(missing_ok=True)

    def list_ids(self, created_before: int) -> Iterator[str]:
        for entry in self._entries():
            if BLOB_ID.fullmatch(entry.name) and _mtime_ms(entry) < created_before:
                yield entry.name

    def remove_partials(self, started_before: int) -> int:
        removed = 0
        for entry in self._entries():
            if entry.name.endswith(PARTIAL_SUFFIX) and _mtime_ms(entry) < started_before:
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
        if removed:
            logger.info("removed %s unfinished blob uploads", removed)
        return removed

    def close(self) -> None:
        """Nothing stays open between calls."""

    def _path(self, blob_id: str) -> Path:
        return self._root / blob_id[:2] / blob_id

    def _make_shard(self, shard: Path) -> None:
        """Create the shard directory (and the root) once, durably: a put's fsync of its
        directory does not make a new directory's own entry survive a power cut."""
        if shard.is_dir():
            return
        self._root.mkdir(parents=True, exist_ok=True)
        shard.mkdir(exist_ok=True)
        _fsync_directory(self._root)

    def _entries(self) -> Iterator[os.DirEntry[str]]:
        """Every file in every shard directory; none when nothing was ever stored."""
        try:
            shards = [entry for entry in os.scandir(self._root) if entry.is_dir()]
        except FileNotFoundError:
            return
        for shard in shards:
            with os.scandir(shard.path) as entries:
                yield from (entry for entry in entries if entry.is_file())


def _mtime_ms(entry: os.DirEntry[str]) -> int:
    try:
        return entry.stat().st_mtime_ns // 1_000_000
    except FileNotFoundError:  # deleted since it was listed: older than any cut-off is wrong
        return 2**63


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
