"""Blobs in MongoDB's GridFS (bucket ``attachments``), used when MONGODB_URI is set.

Reads go through pymongo's ``GridFSBucket``. Writes do not: pymongo's ``GridIn`` keeps up to
48 MB of chunks in memory before its first insert, the whole of any attachment, so ``put``
writes the GridFS layout itself (the spec's chunk and file documents, which every GridFS reader
understands), ``CHUNKS_PER_INSERT`` chunks at a time. The file document goes last: until then
no reader finds the blob, so a crash mid-put leaves only chunks without a file document, which
``remove_partials`` clears (the time in each chunk's ObjectId tells when the put began).

Persisted shapes, a contract with stored data: ``attachments.files`` holds ``{_id: blob id,
filename: blob id, length, chunkSize, uploadDate}``; ``attachments.chunks`` holds ``{files_id,
n, data}``, every chunk but the last exactly ``chunkSize`` bytes.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Iterator

from bson import Binary, ObjectId
from gridfs import DEFAULT_CHUNK_SIZE, GridFSBucket
from gridfs.errors import NoFile
from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import PyMongoError

from ..errors import BlobNotFound, StoreUnavailable
from ..model import StoredBlob, new_blob_id, require_blob_id
from ..outages import unavailable_on
from .streams import Meter, check_range, cut_range, read_range

logger = logging.getLogger(__name__)

BUCKET = "attachments"
# Chunks written per insert: about 1 MiB, the memory one put holds.
CHUNKS_PER_INSERT = 4

# Driver failures are outages, as in the MongoDB message store.
_unavailable_on_error = unavailable_on(PyMongoError, "mongodb (blobs)")


class GridFsBlobStore:
    """BlobStore on one MongoDB database's ``attachments`` GridFS bucket."""

    def __init__(self, db: Database, owns_client: bool = False, chunk_size: int = DEFAULT_CHUNK_SIZE):
        self._db = db
        self._files = db[f"{BUCKET}.files"]
        self._chunks = db[f"{BUCKET}.chunks"]
        self._bucket = GridFSBucket(db, BUCKET)
        self._chunk_size = chunk_size
        self._owns_client = owns_client
        self._indexed = False

    @_unavailable_on_error
    def put(self, chunks: Iterable[bytes], max_bytes: int) -> StoredBlob:
        """Insert the chunks in batches, then the file document that makes them a blob."""
        self._ensure_indexes()
        blob_id = new_blob_id()
        meter = Meter(max_bytes)
        try:
            self._insert_chunks(blob_id, _fixed_size(meter.feed(chunks), self._chunk_size))
            self._files.insert_one(
                {
                    "_id": blob_id,
                    "filename": blob_id,
                    "length": meter.size,
                    "chunkSize": self._chunk_size,
                    "uploadDate": datetime.datetime.now(datetime.UTC),
                }
            )
        except BaseException:
            self._forget_chunks(blob_id)
            raise
        return meter.stored(blob_id)

    @_unavailable_on_error
    def open(self, blob_id: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        check_range(start, end)
        try:
            source = self._bucket.open_download_stream(require_blob_id(blob_id))
        except NoFile:
            raise BlobNotFound() from None
        start, end = cut_range(start, end, source.length)
        return read_range(source, start, end)

    @_unavailable_on_error
    def size(self, blob_id: str) -> int | None:
        found = self._files.find_one({"_id": require_blob_id(blob_id)}, {"length": 1})
        return None if found is None else found["length"]

    @_unavailable_on_error
    def delete(self, blob_id: str) -> None:
        """The file document first: a crash between leaves chunks ``remove_partials`` clears."""
        self._files.delete_one({"_id": require_blob_id(blob_id)})
        self._chunks.delete_many({"files_id": blob_id})

    def list_ids(self, created_before: int) -> Iterator[str]:
        """A full scan of the file documents (small ones): fine for a periodic collector."""
        cutoff = datetime.datetime.fromtimestamp(created_before / 1000, datetime.UTC)
        try:
            for document in self._files.find({"uploadDate": {"$lt": cutoff}}, {"_id": 1}):
                yield document["_id"]
        except PyMongoError as exc:
            raise StoreUnavailable() from exc

    @_unavailable_on_error
    def remove_partials(self, started_before: int) -> int:
        cutoff = ObjectId.from_datetime(datetime.datetime.fromtimestamp(started_before / 1000, datetime.UTC))
        first_chunks = self._chunks.find({"n": 0, "_id": {"$lt": cutoff}}, {"files_id": 1})
        started = {chunk["files_id"] for chunk in first_chunks}
        finished = {f["_id"] for f in self._files.find({"_id": {"$in": list(started)}}, {"_id": 1})}
        unfinished = list(started - finished)
        if unfinished:
            self._chunks.delete_many({"files_id": {"$in": unfinished}})
            logger.info("removed %s unfinished blob uploads", len(unfinished))
        return len(unfinished)

    def close(self) -> None:
        if self._owns_client:
            self._db.client.close()

    def _ensure_indexes(self) -> None:
        """The indexes the GridFS spec asks of every writer, once per process."""
        if self._indexed:
            return
        self._chunks.create_index([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)
        self._files.create_index([("filename", ASCENDING), ("uploadDate", ASCENDING)])
        self._indexed = True

    def _insert_chunks(self, blob_id: str, pieces: Iterator[bytes]) -> None:
        batch: list[dict] = []
        for n, piece in enumerate(pieces):
            batch.append({"files_id": blob_id, "n": n, "data": Binary(piece)})
            if len(batch) == CHUNKS_PER_INSERT:
                self._chunks.insert_many(batch)
                batch = []
        if batch:
            self._chunks.insert_many(batch)

    def _forget_chunks(self, blob_id: str) -> None:
        """Undo a failed put; when the server is what failed, ``remove_partials`` does it later."""
        try:
            self._chunks.delete_many({"files_id": blob_id})
        except PyMongoError as exc:
            logger.warning("could not remove the chunks of a failed blob put: %s", exc)


def _fixed_size(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Re-cut a stream into pieces of exactly ``size`` bytes (the last one shorter)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)
