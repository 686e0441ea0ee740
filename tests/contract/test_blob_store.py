"""The one contract every BlobStore adapter must keep: local files, GridFS (mongomock, and a real
MongoDB when MONGODB_URI is set) and S3 (moto's server, started here on a loopback port)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator

import mongomock
import mongomock.gridfs
import pytest
from gridfs import DEFAULT_CHUNK_SIZE

from messenger.blobs.gridfs import CHUNKS_PER_INSERT, GridFsBlobStore
from messenger.blobs.local import LocalBlobStore
from messenger.blobs.s3 import MIN_PART_BYTES, S3BlobStore
from messenger.errors import BlobNotFound, BlobTooLarge
from messenger.model import new_blob_id
from tests.integration.s3_server import S3Server

KIB = 1024
MIB = 1024 * KIB
BLOB_KINDS = ["local", "gridfs-mongomock", "gridfs-mongodb", "s3"]
# Longer than any clock difference between the test and the storage (moto's server is here).
CLOCK_MARGIN_MS = 60_000
STALL_TIMEOUT_S = 10

mongomock.gridfs.enable_gridfs_integration()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture(scope="module")
def s3_server():
    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture(params=BLOB_KINDS)
def blobs(request, tmp_path):
    store = build_blob_store(request.param, tmp_path, request)
    yield store
    store.close()


def build_blob_store(kind: str, tmp_path, request):
    """A fresh, empty blob store of ``kind``; a real MongoDB only when MONGODB_URI is set."""
    if kind == "local":
        return LocalBlobStore(tmp_path / "attachments")
    if kind == "gridfs-mongomock":
        return GridFsBlobStore(mongomock.MongoClient().get_database("messenger_test"))
    if kind == "gridfs-mongodb":
        uri = os.environ.get("MONGODB_URI")
        if not uri:
            pytest.skip("MONGODB_URI is not set: the blob contract ran on files, mongomock and S3")
        import pymongo

        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=3000)
        db_name = f"messenger_blobs_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        request.addfinalizer(lambda: client.drop_database(db_name))
        return GridFsBlobStore(client.get_database(db_name))
    server = request.getfixturevalue("s3_server")
    client = server.client()
    return S3BlobStore(client, server.new_bucket(client), prefix="attachments/")


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def read(blobs, blob_id: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(blobs.open(blob_id, start, end))


class Source:
    """A stream of ``total`` bytes (one chunk object repeated), noting how much was taken."""

    def __init__(self, total: int, chunk_size: int = 64 * KIB, fail_after: int | None = None):
        self.total, self.chunk_size, self.fail_after = total, chunk_size, fail_after
        self.taken = 0
        self.sha256 = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        chunk = os.urandom(self.chunk_size)
        while self.taken < self.total:
            if self.fail_after is not None and self.taken >= self.fail_after:
                raise ConnectionResetError("the client went away")
            piece = chunk[: self.total - self.taken]
            self.taken += len(piece)
            self.sha256.update(piece)
            yield piece


class StalledPut:
    """A put whose stream stops after ``before_stall`` bytes and waits, as if its process had
    died there; ``release`` then fails the stream so the thread ends."""

    def __init__(self, blobs, before_stall: int):
        self.stalled, self.released = threading.Event(), threading.Event()
        self.before_stall = before_stall
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._put, args=(blobs,), daemon=True)

    def __enter__(self) -> StalledPut:
        self.thread.start()
        assert self.stalled.wait(STALL_TIMEOUT_S), "the put never took its first bytes"
        return self

    def __exit__(self, *exc_info) -> None:
        self.released.set()
        self.thread.join(STALL_TIMEOUT_S)

    def _chunks(self) -> Iterator[bytes]:
        # One chunk past the stall point: S3 uploads a full part only once another chunk follows.
        yield from pieces(os.urandom(self.before_stall + 64 * KIB), 64 * KIB)
        self.stalled.set()
        self.released.wait(STALL_TIMEOUT_S)
        raise ConnectionResetError("the process died")

    def _put(self, blobs) -> None:
        try:
            blobs.put(self._chunks(), 100 * MIB)
        except ConnectionResetError as exc:
            self.errors.append(exc)


def assert_nothing_stored(blobs) -> None:
    assert list(blobs.list_ids(now_ms() + CLOCK_MARGIN_MS)) == []
    assert blobs.remove_partials(now_ms() + CLOCK_MARGIN_MS) == 0


class TestPutAndRead:
    def test_a_blob_reads_back_whole_with_its_size_and_sha256(self, blobs):
        data = os.urandom(300 * KIB)
        stored = blobs.put(pieces(data, 10_000), 1 * MIB)
        assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert read(blobs, stored.blob_id) == data
        assert blobs.size(stored.blob_id) == len(data)

    def test_an_empty_blob_is_a_blob_too(self, blobs):
        stored = blobs.put(iter([]), 1 * MIB)
        assert (stored.size, stored.sha256) == (0, hashlib.sha256(b"").hexdigest())
        assert read(blobs, stored.blob_id) == b""
        assert blobs.size(stored.blob_id) == 0

    def test_every_put_gets_a_new_id(self, blobs):
        ids = {blobs.put([b"same bytes"], 100).blob_id for _ in range(3)}
        assert len(ids) == 3

    def test_a_stream_of_many_odd_sized_chunks_is_stored_in_order(self, blobs):
        source = Source(12 * MIB + 12_345, chunk_size=4_099)  # past two S3 parts, many GridFS chunks
        stored = blobs.put(source, 13 * MIB)
        assert (stored.size, stored.sha256) == (source.total, source.sha256.hexdigest())
        read_back = hashlib.sha256()
        for chunk in blobs.open(stored.blob_id):
            read_back.update(chunk)
        assert read_back.hexdigest() == stored.sha256

    def test_empty_chunks_in_the_stream_are_skipped(self, blobs):
        stored = blobs.put([b"", b"ab", b"", b"c", b""], 10)
        assert read(blobs, stored.blob_id) == b"abc"

    def test_concurrent_puts_each_keep_their_own_bytes(self, blobs):
        datas = [os.urandom(200 * KIB + i) for i in range(8)]
        stored: dict[int, str] = {}

        def put(i: int) -> None:
            stored[i] = blobs.put(pieces(datas[i], 7_000), 1 * MIB).blob_id

        threads = [threading.Thread(target=put, args=(i,)) for i in range(len(datas))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(set(stored.values())) == len(datas)
        for i, blob_id in stored.items():
            assert read(blobs, blob_id) == datas[i]


class TestRanges:
    """``open(blob_id, start, end)``: bytes ``start`` (inclusive) to ``end`` (exclusive)."""

    SIZE = 600 * KIB  # more than two GridFS chunks (255 KiB each)

    def test_every_range_reads_what_slicing_the_bytes_gives(self, blobs):
        data = os.urandom(self.SIZE)
        blob_id = blobs.put(pieces(data, 64 * KIB), 1 * MIB).blob_id
        n = self.SIZE
        ranges = [
            (0, None),  # whole
            (0, 1),  # first byte
            (0, 10),  # start
            (300 * KIB - 7, 300 * KIB + 7),  # middle, across a GridFS chunk boundary
            (255 * KIB, 510 * KIB),  # exactly one GridFS chunk
            (n - 5, None),  # end
            (n - 5, n),
            (n - 1, n + 100),  # past the end: cut to it
            (7, 7),  # empty
            (0, 0),
            (n, None),  # starting at the end: nothing
            (n, n + 10),
            (n + 10, n + 20),  # entirely past the end: nothing
            (n + 10, None),
        ]
        for start, end in ranges:
            assert read(blobs, blob_id, start, end) == data[start:end], (start, end)

    def test_a_range_of_an_empty_blob_is_empty(self, blobs):
        blob_id = blobs.put([], 10).blob_id
        assert read(blobs, blob_id, 0, 10) == b""
        assert read(blobs, blob_id, 5, None) == b""

    @pytest.mark.parametrize(("start", "end"), [(-1, None), (-1, 5), (10, 9)])
    def test_a_backward_or_negative_range_is_refused(self, blobs, start, end):
        blob_id = blobs.put([b"0123456789abcdef"], 100).blob_id
        with pytest.raises(ValueError):
            blobs.open(blob_id, start, end)

    def test_a_reader_may_stop_early(self, blobs):
        data = os.urandom(300 * KIB)
        blob_id = blobs.put([data], 1 * MIB).blob_id
        reader = blobs.open(blob_id)
        first = next(reader)
        assert first and data.startswith(first)
        reader.close()
        blobs.delete(blob_id)  # nothing held open stops a delete
        assert blobs.size(blob_id) is None


class TestBounds:
    @pytest.mark.parametrize("max_bytes", [1000, 6 * MIB, 11 * MIB])  # before, at, past S3's first part
    def test_a_stream_past_its_bound_is_refused_as_it_passes_and_nothing_stays(self, blobs, max_bytes):
        source = Source(max_bytes + 2 * MIB)
        with pytest.raises(BlobTooLarge) as refused:
            blobs.put(source, max_bytes)
        assert refused.value.status == 413 and refused.value.code == "payload_too_large"
        assert source.taken <= max_bytes + source.chunk_size  # not read to its end
        assert_nothing_stored(blobs)

    def test_a_stream_of_exactly_its_bound_is_stored(self, blobs):
        stored = blobs.put(Source(1000, chunk_size=100), 1000)
        assert stored.size == 1000

    @pytest.mark.parametrize("fail_after", [100 * KIB, 7 * MIB])  # within S3's first part, past it
    def test_a_stream_that_fails_midway_leaves_nothing(self, blobs, fail_after):
        with pytest.raises(ConnectionResetError):
            blobs.put(Source(20 * MIB, fail_after=fail_after), 30 * MIB)
        assert_nothing_stored(blobs)


class TestMissingAndDeleted:
    def test_opening_a_missing_blob_raises_at_once_not_at_the_first_read(self, blobs):
        for start, end in [(0, None), (0, 10), (5, 5)]:
            with pytest.raises(BlobNotFound):
                blobs.open(new_blob_id(), start, end)
        assert blobs.size(new_blob_id()) is None

    def test_a_deleted_blob_is_gone_and_deleting_again_is_nothing(self, blobs):
        kept = blobs.put([b"kept"], 100).blob_id
        gone = blobs.put([b"gone"], 100).blob_id
        blobs.delete(gone)
        blobs.delete(gone)
        blobs.delete(new_blob_id())  # never stored
        with pytest.raises(BlobNotFound):
            blobs.open(gone)
        assert blobs.size(gone) is None
        assert read(blobs, kept) == b"kept"
        assert list(blobs.list_ids(now_ms() + CLOCK_MARGIN_MS)) == [kept]

    @pytest.mark.parametrize(
        "blob_id",
        [
            "",
            "../../etc/passwd",
            "0" * 31,
            "0" * 33,
            "A" * 32,
            "ab/" + "0" * 29,
            "0" * 32 + "\n",
            ".." + "0" * 30,
        ],
    )
    def test_what_is_not_a_blob_id_is_refused_before_storage_is_touched(self, blobs, blob_id):
        for use in (blobs.open, blobs.size, blobs.delete):
            with pytest.raises(ValueError):
                use(blob_id)


class TestCollection:
    """What an orphan collector needs: every blob by when it was stored, and unfinished puts."""

    def test_blobs_are_listed_by_when_they_were_stored(self, blobs):
        before = now_ms() - CLOCK_MARGIN_MS
        a, b = (blobs.put([os.urandom(10)], 100).blob_id for _ in range(2))
        assert sorted(blobs.list_ids(now_ms() + CLOCK_MARGIN_MS)) == sorted([a, b])
        assert list(blobs.list_ids(before)) == []

    def test_an_unfinished_put_is_never_a_blob_and_its_leftovers_are_removed(self, blobs):
        with StalledPut(blobs, before_stall=MIN_PART_BYTES + 1 * MIB) as stalled:
            assert list(blobs.list_ids(now_ms() + CLOCK_MARGIN_MS)) == []
            if not isinstance(blobs, S3BlobStore):  # moto dates every multipart upload 2010-11-10
                assert blobs.remove_partials(now_ms() - CLOCK_MARGIN_MS) == 0  # begun after the cut-off
            assert blobs.remove_partials(now_ms() + CLOCK_MARGIN_MS) == 1
            assert blobs.remove_partials(now_ms() + CLOCK_MARGIN_MS) == 0
        assert len(stalled.errors) == 1  # the put ended with its stream's failure, nothing else
        assert_nothing_stored(blobs)

    def test_leftovers_are_removed_without_touching_finished_blobs(self, blobs):
        kept = blobs.put([b"kept"], 100).blob_id
        with StalledPut(blobs, before_stall=MIN_PART_BYTES + 1 * MIB):
            assert blobs.remove_partials(now_ms() + CLOCK_MARGIN_MS) == 1
        assert read(blobs, kept) == b"kept"
        assert list(blobs.list_ids(now_ms() + CLOCK_MARGIN_MS)) == [kept]


# Memory: a put streams. Not on mongomock, whose "server" keeps the stored bytes in this process.
STREAMED_KINDS = ["local", "gridfs-mongodb", "s3"]
STREAMED_BYTES = 30 * MIB
# S3 holds one part (5 MiB) and botocore's work on it; the others hold about 1 MiB at most.
PEAK_BOUND_BYTES = 3 * MIN_PART_BYTES


@pytest.mark.parametrize("kind", STREAMED_KINDS)
def test_a_put_never_holds_the_whole_body(kind, tmp_path, request):
    blobs = build_blob_store(kind, tmp_path, request)
    try:
        blobs.put([b"warm-up"], 100)  # connections, imports, indexes: not the put's memory
        tracemalloc.start()
        try:
            stored = blobs.put(Source(STREAMED_BYTES), STREAMED_BYTES)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        blobs.close()
    assert stored.size == STREAMED_BYTES
    assert peak < PEAK_BOUND_BYTES, f"{kind}: a {STREAMED_BYTES} byte put peaked at {peak} bytes"


# S3 only ------------------------------------------------------------------------------------------
def test_s3_a_refused_multipart_upload_is_aborted_not_left_dangling(s3_server):
    client = s3_server.client()
    bucket = s3_server.new_bucket(client)
    blobs = S3BlobStore(client, bucket)
    with pytest.raises(BlobTooLarge):
        blobs.put(Source(3 * MIN_PART_BYTES), 2 * MIN_PART_BYTES + 1)
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_s3_parts_below_the_minimum_s3_accepts_are_refused():
    with pytest.raises(ValueError):
        S3BlobStore(client=None, bucket="bucket", part_bytes=MIN_PART_BYTES - 1)


def test_s3_blobs_live_under_the_prefix_and_other_keys_are_not_blobs(s3_server):
    client = s3_server.client()
    bucket = s3_server.new_bucket(client)
    client.put_object(Bucket=bucket, Key="attachments/README", Body=b"not a blob")
    client.put_object(Bucket=bucket, Key="other/" + new_blob_id(), Body=b"another prefix")
    blobs = S3BlobStore(client, bucket, prefix="attachments/")
    blob_id = blobs.put([b"x"], 10).blob_id
    assert client.head_object(Bucket=bucket, Key=f"attachments/{blob_id}")["ContentLength"] == 1
    assert list(blobs.list_ids(now_ms() + CLOCK_MARGIN_MS)) == [blob_id]


def test_s3_the_wired_client_stores_and_reads_on_a_non_aws_endpoint(s3_server):
    """What wiring builds from the settings (path-style buckets, checksums only where required)."""
    from messenger import wiring
    from messenger.config import Settings

    bucket = s3_server.new_bucket(s3_server.client())
    settings = Settings.from_env(
        {
            "ATTACHMENTS_S3_URL": f"s3://{bucket}/attachments",
            "ATTACHMENTS_S3_ENDPOINT": s3_server.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
        }
    )
    blobs = wiring.build_blob_store(settings)
    try:
        source = Source(MIN_PART_BYTES + 1 * MIB)
        stored = blobs.put(source, settings.max_attachment_bytes)
        assert stored.sha256 == source.sha256.hexdigest()
        assert hashlib.sha256(read(blobs, stored.blob_id)).hexdigest() == stored.sha256
        assert read(blobs, stored.blob_id, 10, 20) == read(blobs, stored.blob_id)[10:20]
    finally:
        blobs.close()


# GridFS only ------------------------------------------------------------------------------------
def test_gridfs_writes_chunks_while_the_stream_flows_not_after_it_ends():
    """What the memory test cannot show on mongomock (its server is this process): a put holds
    about ``CHUNKS_PER_INSERT`` chunks, not the body pymongo's GridIn would buffer."""
    db = mongomock.MongoClient().get_database("messenger_test")
    blobs = GridFsBlobStore(db)
    held: list[int] = []  # bytes taken from the stream but not yet in the chunks collection

    def stream() -> Iterator[bytes]:
        taken = 0
        for _ in range(48):  # 3 MiB
            yield os.urandom(64 * KIB)
            taken += 64 * KIB
            held.append(taken - sum(len(chunk["data"]) for chunk in db["attachments.chunks"].find()))

    blobs.put(stream(), 4 * MIB)
    assert max(held) <= (CHUNKS_PER_INSERT + 1) * DEFAULT_CHUNK_SIZE
    assert held[-1] < 3 * MIB  # written while it flowed


# Local files only ---------------------------------------------------------------------------------
def test_local_blobs_are_sharded_by_id_prefix_and_a_put_leaves_no_partial_file(tmp_path):
    blobs = LocalBlobStore(tmp_path)
    blob_id = blobs.put([b"bytes"], 10).blob_id
    assert (tmp_path / blob_id[:2] / blob_id).read_bytes() == b"bytes"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [blob_id]


def test_local_an_unfinished_put_exists_only_under_a_partial_name(tmp_path):
    blobs = LocalBlobStore(tmp_path)
    with StalledPut(blobs, before_stall=100 * KIB):
        names = [p.name for p in tmp_path.rglob("*") if p.is_file()]
        assert len(names) == 1 and names[0].endswith(".partial")
