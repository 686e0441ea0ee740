"""The composition root: the only module that names concrete adapters."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .config import Settings
from .errors import StoreUnavailable
from .ports import BlobStore, MailTransport, Notifier, Store
from .service.attachment_urls import AttachmentUrls
from .service.deps import Deps, run_inline

URL_SECRET_NAME = "attachment_urls"  # the store's secret for signed download URLs

logger = logging.getLogger(__name__)

SETUP_RETRY_S = 2


def build_store(settings: Settings) -> Store:
    """MongoDB when MONGODB_URI is set, otherwise the embedded SQLite file."""
    if settings.store_kind == "mongo":
        from .store.mongo import MongoStore

        return MongoStore(
            _mongo_client(settings),
            settings.mongodb_db,
            write_concern_w=_write_concern_w(settings),
            journal=settings.mongodb_j,
            owns_client=True,
        )
    from .store.sqlite import SqliteStore

    return SqliteStore(settings.sqlite_path, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms)


def _mongo_client(settings: Settings):
    """A client for MONGODB_URI with the configured timeouts; it connects on first use."""
    import pymongo

    timeout = settings.mongodb_timeout_ms
    return pymongo.MongoClient(
        settings.mongodb_uri,
        serverSelectionTimeoutMS=timeout,
        connectTimeoutMS=timeout,
        socketTimeoutMS=timeout * 5,
    )


def _write_concern_w(settings: Settings) -> int | str:
    return int(settings.mongodb_w) if settings.mongodb_w.isdigit() else settings.mongodb_w


def build_blob_store(settings: Settings) -> BlobStore:
    """S3 when ATTACHMENTS_S3_URL is set, GridFS when MONGODB_URI is, else files beside SQLite.

    Builds clients only: nothing is reached until the first use, so a storage outage at start-up
    does not stop a worker from booting."""
    if settings.blob_store_kind == "s3":
        return _build_s3_blob_store(settings)
    if settings.blob_store_kind == "gridfs":
        from pymongo.write_concern import WriteConcern

        from .blobs.gridfs import GridFsBlobStore

        # Bytes first, metadata second holds only if the bytes are as durable as the metadata.
        concern = WriteConcern(w=_write_concern_w(settings), j=settings.mongodb_j)
        return GridFsBlobStore(
            _mongo_client(settings).get_database(settings.mongodb_db, write_concern=concern), owns_client=True
        )
    from .blobs.local import LocalBlobStore

    return LocalBlobStore(settings.attachments_dir)


def _build_s3_blob_store(settings: Settings) -> BlobStore:
    import boto3
    from botocore.config import Config

    from .blobs.s3 import S3BlobStore

    endpoint = settings.attachments_s3_endpoint or None
    config = Config(
        connect_timeout=5,
        read_timeout=60,
        retries={"mode": "standard"},
        # Another vendor's S3 (MinIO, R2, B2) serves buckets by path, and some refuse the
        # checksums boto3 adds on its own since 1.36; AWS gets both.
        s3={"addressing_style": "path"} if endpoint else {},
        request_checksum_calculation="when_required" if endpoint else "when_supported",
        response_checksum_validation="when_required" if endpoint else "when_supported",
    )
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=settings.aws_region or None,
        aws_access_key_id=settings.aws_access_key_id or None,
        aws_secret_access_key=settings.aws_secret_access_key or None,
        config=config,
    )
    bucket, prefix = settings.attachments_s3_bucket_and_prefix
    return S3BlobStore(client, bucket, prefix)


def set_up_when_possible(store: Store) -> None:
    """Create tables and indexes now, or keep trying in the background while the store is down.

    A worker must boot without its database, answer 503 until it is back, and recover by
    itself: refusing to start would turn a database outage into a crash loop.
    """
    try:
        store.setup()
        return
    except StoreUnavailable:
        logger.warning("store unavailable at start-up; retrying set-up every %s s", SETUP_RETRY_S)

    def retry() -> None:
        while True:
            time.sleep(SETUP_RETRY_S)
            try:
                store.setup()
            except StoreUnavailable:
                continue
            logger.info("store set up after an outage")
            return

    threading.Thread(target=retry, name="store-setup", daemon=True).start()


def build_notifier(settings: Settings) -> Notifier:
    """Redis pub/sub when REDIS_URL is set (several workers or machines), else in-process."""
    if settings.redis_url:
        from .notify.redis import RedisNotifier

        notifier = RedisNotifier(settings.redis_url, settings.redis_options)
        problem = notifier.problem()
        if problem is not None:
            logger.warning(
                "redis unreachable at start-up: real-time delivery across workers waits for it (%s)", problem
            )
        return notifier
    from .notify.memory import InProcessNotifier

    return InProcessNotifier()


def build_mailer(settings: Settings) -> MailTransport:
    """The SMTP client for SMTP_URL."""
    from .mail.smtp import SmtpTransport

    return SmtpTransport(settings.smtp_url, settings.mail_from, settings.smtp_timeout_s)


def blocking_runner() -> Callable[..., object]:
    """Under a gevent worker, run CPU-heavy calls in gevent's thread pool; inline otherwise."""
    try:
        from gevent import get_hub, monkey
    except ImportError:  # pragma: no cover - gevent is a pinned dependency
        return run_inline
    if not monkey.is_module_patched("threading"):
        return run_inline
    return lambda fn, *args: get_hub().threadpool.apply(fn, args)


def build_deps(settings: Settings, store: Store | None = None, **overrides) -> Deps:
    """Build everything the use cases need; tests pass their own store, clock and so on."""
    if store is None:
        store = build_store(settings)
        set_up_when_possible(store)
    # Not setdefault: it would evaluate its argument, and a RedisNotifier starts a client and a
    # listener thread even when the caller passes its own notifier.
    if "notifier" not in overrides:
        overrides["notifier"] = build_notifier(settings)
    if "mailer" not in overrides and settings.mail_enabled:
        overrides["mailer"] = build_mailer(settings)
    if "run_blocking" not in overrides:
        overrides["run_blocking"] = blocking_runner()
    if "blobs" not in overrides:
        overrides["blobs"] = build_blob_store(settings)
    if "attachment_urls" not in overrides:
        overrides["attachment_urls"] = build_attachment_urls(settings, store)
    return Deps(settings=settings, store=store, **overrides)


def build_attachment_urls(settings: Settings, store: Store) -> AttachmentUrls:
    """The signer of download URLs: ATTACHMENT_URL_SECRET when set, else the secret the store
    keeps for every worker and machine that shares it (made on first use)."""
    configured = settings.attachment_url_secret.encode()
    source = (lambda: configured) if configured else (lambda: store.server_secret(URL_SECRET_NAME))
    return AttachmentUrls(source, settings.attachment_url_ttl_s)
