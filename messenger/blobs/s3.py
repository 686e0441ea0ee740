"""Blobs in an S3-compatible bucket (AWS, MinIO, R2, B2...), used when ATTACHMENTS_S3_URL is set.

One object per blob, ``<prefix><blob id>``. A body that fits in one part is one PutObject;
a larger one is a multipart upload of ``part_bytes`` parts, so a put holds about one part in
memory whatever the blob's size, and S3 makes the object visible only when the upload
completes: a crash mid-put never leaves part of a blob under its key. A put that fails or grows
past its bound aborts its multipart upload; one whose process died is left to
``remove_partials`` (a bucket lifecycle rule "AbortIncompleteMultipartUpload" does it too).
"""

from __future__ import annotations

import io
import itertools
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as EndpointUnreachable

from ..errors import BlobNotFound, StoreUnavailable
from ..model import BLOB_ID, StoredBlob, new_blob_id, require_blob_id
from ..outages import unavailable_on
from .streams import READ_CHUNK_BYTES, Meter, check_range

logger = logging.getLogger(__name__)

# S3 refuses parts under 5 MiB (but the last): the smallest part is the least memory per put.
MIN_PART_BYTES = 5 * 1024 * 1024
MISSING_CODES = ("NoSuchKey", "404", "NotFound")

# A storage service that cannot be reached, or answers 5xx, is an outage; a 404 or 403 is not.
_unavailable_on_error = unavailable_on(
    (BotoCoreError, ClientError), "object storage", lambda exc: _is_outage(exc)
)


class S3BlobStore:
    """BlobStore on one bucket (under an optional key prefix), through a boto3 S3 client."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", part_bytes: int = MIN_PART_BYTES):
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"S3 parts are {MIN_PART_BYTES} bytes at least")
        self._client = client
        self._bucket = bucket
        self._prefix = prefix
        self._part_bytes = part_bytes

    @_unavailable_on_error
    def put(self, chunks: Iterable[bytes], max_bytes: int) -> StoredBlob:
        """One PutObject for a body within one part, a multipart upload for a larger one."""
        blob_id = new_blob_id()
        meter = Meter(max_bytes)
        parts = _parts(meter.feed(chunks), self._part_bytes)
        first, last = next(parts)
        if last:
            self._client.put_object(Bucket=self._bucket, Key=self._key(blob_id), Body=_rewound(first))
        else:
            self._put_in_parts(self._key(blob_id), itertools.chain([(first, False)], parts))
        return meter.stored(blob_id)

    @_unavailable_on_error
    def open(self, blob_id: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """One ranged GetObject; the body streams as it is read."""
        check_range(start, end)
        key = self._key(require_blob_id(blob_id))
        if end == start:  # no Range header means "nothing": S3 has none, so only check it is there
            if self.size(blob_id) is None:
                raise BlobNotFound()
            return iter(())
        ranged = {} if start == 0 and end is None else {"Range": _range_header(start, end)}
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key, **ranged)
        except ClientError as exc:
            if _code(exc) in MISSING_CODES:
                raise BlobNotFound() from None
            if _code(exc) == "InvalidRange":  # it is there, and the range starts at or past its end
                return iter(())
            raise
        return _streamed(response["Body"])

    @_unavailable_on_error
    def size(self, blob_id: str) -> int | None:
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=self._key(require_blob_id(blob_id)))
        except ClientError as exc:
            if _code(exc) in MISSING_CODES:
                return None
            raise
        return head["ContentLength"]

    @_unavailable_on_error
    def delete(self, blob_id: str) -> None:
        """DeleteObject succeeds for a key that is not there too."""
        self._client.delete_object(Bucket=self._bucket, Key=self._key(require_blob_id(blob_id)))

    def list_ids(self, created_before: int) -> Iterator[str]:
        lister = self._client.get_paginator("list_objects_v2")
        pages = lister.paginate(Bucket=self._bucket, Prefix=self._prefix)
        for item in _translated(page.get("Contents", []) for page in pages):
            blob_id = item["Key"][len(self._prefix) :]
            if BLOB_ID.fullmatch(blob_id) and _ms(item["LastModified"]) < created_before:
                yield blob_id

    @_unavailable_on_error
    def remove_partials(self, started_before: int) -> int:
        pages = self._client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self._bucket, Prefix=self._prefix
        )
        stale = [u for page in pages for u in page.get("Uploads", []) if _ms(u["Initiated"]) < started_before]
        for upload in stale:
            self._abort(upload["Key"], upload["UploadId"])
        if stale:
            logger.info("aborted %s unfinished multipart uploads", len(stale))
        return len(stale)

    def close(self) -> None:
        self._client.close()

    def _key(self, blob_id: str) -> str:
        return self._prefix + blob_id

    def _put_in_parts(self, key: str, parts: Iterator[tuple[io.BytesIO, bool]]) -> None:
        """Upload each part as it fills, then complete; abort on any failure, the bound included."""
        upload_id = self._client.create_multipart_upload(Bucket=self._bucket, Key=key)["UploadId"]
        try:
            done = []
            for number, (part, _) in enumerate(parts, start=1):
                with part:  # closing it frees its memory before the next part fills
                    answer = self._client.upload_part(
                        Bucket=self._bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=_rewound(part),
                    )
                done.append({"ETag": answer["ETag"], "PartNumber": number})
            self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
            )
        except BaseException:
            self._abort(key, upload_id)
            raise

    def _abort(self, key: str, upload_id: str) -> None:
        """Abort a multipart upload; when that fails too, ``remove_partials`` does it later."""
        try:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if _code(exc) != "NoSuchUpload":  # aborted already (by remove_partials, say)
                logger.warning("could not abort a multipart upload: %s", exc)
        except BotoCoreError as exc:
            logger.warning("could not abort a multipart upload: %s", exc)


def _parts(chunks: Iterable[bytes], part_bytes: int) -> Iterator[tuple[io.BytesIO, bool]]:
    """Gather the stream into buffers of at least ``part_bytes`` (the last may be smaller), each
    with whether it is the last: a full buffer is handed on only once another chunk follows."""
    buffer = io.BytesIO()
    for chunk in chunks:
        if buffer.tell() >= part_bytes:
            yield buffer, False
            buffer = io.BytesIO()
        buffer.write(chunk)
    yield buffer, True


def _range_header(start: int, end: int | None) -> str:
    """HTTP's byte range is inclusive at both ends; the port's ``end`` is exclusive."""
    return f"bytes={start}-{'' if end is None else end - 1}"


def _rewound(buffer: io.BytesIO) -> io.BytesIO:
    buffer.seek(0)
    return buffer


def _streamed(body: Any) -> Iterator[bytes]:
    """Yield a GetObject body in chunks and release its connection, read to the end or not."""
    try:
        yield from body.iter_chunks(READ_CHUNK_BYTES)
    finally:
        body.close()


def _translated(pages: Iterable[list[dict]]) -> Iterator[dict]:
    """The items of lazily fetched pages, an outage while fetching one as ``StoreUnavailable``."""
    try:
        for page in pages:
            yield from page
    except (BotoCoreError, ClientError) as exc:
        if not _is_outage(exc):
            raise
        raise StoreUnavailable() from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_outage(exc: BotoCoreError | ClientError) -> bool:
    """A network failure or a 5xx (SlowDown is a 503): worth retrying later, unlike a 4xx."""
    if isinstance(exc, BotoCoreError):
        return isinstance(exc, EndpointUnreachable | HTTPClientError)  # not bad credentials, say
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
