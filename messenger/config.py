"""Every setting, read from the environment in one place, with development defaults.

No other module reads ``os.environ``: everything else receives a ``Settings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from limits import parse_many

from .model import ACCOUNT_DELETION_MODES, GROUP_ADD_POLICIES

SQLITE_SYNCHRONOUS_MODES = ("NORMAL", "FULL")
LOG_FORMATS = ("text", "json")
# Under the 30 s first-byte limit of Heroku-style routers, with room for the response.
LONGPOLL_MAX_TIMEOUT_S = 25
MIN_METRICS_TOKEN_LENGTH = 16  # e.g. `openssl rand -hex 16` gives 32
# "none" accepts any certificate: Heroku Redis serves rediss:// with a self-signed one.
REDIS_TLS_VERIFY_MODES = ("required", "none")
SMTP_SCHEMES = ("smtp", "smtps")
# smtp://...?starttls=: "auto" upgrades when the server offers it, "required" refuses to send
# otherwise, "false" never upgrades (a relay on the same host). smtps:// is TLS from the start.
STARTTLS_MODES = ("auto", "required", "false")
# Pillow refuses any image over twice its Image.MAX_IMAGE_PIXELS (89,478,485) whatever we allow:
# MAX_IMAGE_PIXELS may not promise more (tests/unit/test_media.py checks it against Pillow).
MAX_IMAGE_PIXELS_CEILING = 178_956_970
# What one message may carry at most, whatever MAX_ATTACHMENTS_PER_MESSAGE says (the schema's bound).
MAX_ATTACHMENTS_CEILING = 100


class ConfigError(ValueError):
    """Raised when an environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """The service's configuration; build it with ``Settings.from_env()`` or directly in tests."""

    # Storage: MongoDB when MONGODB_URI is set, otherwise the embedded SQLite file.
    mongodb_uri: str = ""
    mongodb_db: str = "messenger"
    mongodb_timeout_ms: int = 2000  # fail fast (503) when the server cannot be reached
    mongodb_w: str = "majority"  # acknowledged by a majority of a replica set (1 on a standalone)
    mongodb_j: bool = True  # ...and written to the journal
    sqlite_path: str = "./data/messenger.db"
    sqlite_synchronous: str = "NORMAL"
    sqlite_busy_timeout_ms: int = 5000
    # A platform that wipes its disk at every deploy and restart (Heroku sets DYNO; others say
    # EPHEMERAL_DISK=true) would silently lose every message kept in SQLite: refused at start...
    ephemeral_disk: bool = False
    allow_ephemeral_sqlite: bool = False  # ...unless the operator accepts that loss (a demo)

    # Attachments' bytes: S3-compatible storage when ATTACHMENTS_S3_URL is set, else GridFS when
    # MONGODB_URI is, else files beside the SQLite file (README "Attachments storage").
    attachments_s3_url: str = ""  # s3://bucket or s3://bucket/key/prefix
    attachments_s3_endpoint: str = ""  # https://... of MinIO, R2, B2...; unset: AWS
    # The credentials and region boto3 would read itself; unset: boto3's own chain (a role...).
    aws_access_key_id: str = ""
    aws_secret_access_key: str = field(default="", repr=False)
    aws_region: str = ""
    max_attachment_bytes: int = 25 * 1024 * 1024  # one upload; refused with 413 as it passes this
    attachment_quota_bytes: int = 1024 * 1024 * 1024  # what one user's uploads may hold in all
    max_attachments_per_message: int = 10
    attachment_url_ttl_s: int = 3600  # signed download URLs live this long (to 1.25x)
    # The HMAC key of signed URLs, the same on every worker and machine; unset: one kept in the
    # message store, made at first start (README "Attachments").
    attachment_url_secret: str = field(default="", repr=False)
    orphan_ttl_h: int = 24  # an upload no message refers to is removed after this
    upload_timeout_s: int = 300  # a whole upload body must arrive within this

    # Accounts.
    token_ttl_days: int = 30

    # Mail: password reset and email verification, off without SMTP_URL (README "Passwords and email").
    smtp_url: str = ""  # smtp://user:password@host:587 (STARTTLS when offered) or smtps://host:465
    mail_from: str = ""  # the From address of every mail; required with SMTP_URL
    public_url: str = ""  # the service's public base URL, for links in mails; required with SMTP_URL
    reset_ttl_min: int = 30  # how long a password reset link works
    verify_ttl_hours: int = 48  # how long an email verification link works
    require_verified_email: bool = False  # unverified accounts may not send (needs SMTP_URL)
    mail_max_pending_per_account: int = 5  # unsent mails one account may have in the outbox
    mail_max_attempts: int = 8  # tries of one mail (backoff between them) before it is given up
    mail_interval_s: int = 5  # how often each worker's sender looks for due mail
    mail_lease_s: int = 120  # a claimed mail is another sender's again after this (a crash)
    smtp_timeout_s: int = 20  # each SMTP connection and command; keep it well under the lease

    # Real-time delivery.
    redis_url: str = ""  # Redis pub/sub between workers and machines; in-process when unset
    redis_tls_verify: str = "required"  # of a rediss:// server's certificate; "none": self-signed
    updates_max_age_days: int = 30  # the update log keeps this long...
    updates_max_per_user: int = 10_000  # ...and at most this many per user
    prune_interval_s: int = 3600  # how often each worker applies that retention (0: never)
    longpoll_default_timeout_s: int = 20
    max_polls_per_user: int = 4  # waiting long-polls per user and worker; a new one ends the oldest
    ws_outbox_bytes: int = 1024 * 1024  # memory one socket's queued frames may hold...
    ws_send_timeout_s: int = 10  # ...full for this long before it is told to resume from its cursor
    ws_ping_interval_s: int = 25
    max_sockets_per_user: int = 10  # per user and worker; a new one closes the oldest (4409)
    ws_frames_per_s: int = 20  # frames a socket may send a second on average...
    ws_frame_burst: int = 100  # ...in bursts of this many; faster is closed with 1008

    # Rate limits (the "limits" syntax: "10 per minute;100 per hour").
    rate_limits_enabled: bool = True
    rate_limit_signup: str = "10 per minute;100 per hour"  # per client address
    rate_limit_signin: str = "10 per minute;100 per hour"  # per client address: brute force
    # Per account (the user a login names, or the login itself when none): failed sign-ins only,
    # whatever the address, so rotating addresses does not help a guesser. A window, not a lock.
    rate_limit_signin_failures: str = "10 per 15 minutes"
    rate_limit_send: str = "20 per second;300 per minute"  # per user: messages and new threads
    rate_limit_create_thread: str = "10 per minute;100 per hour"  # per user: each tells every member
    rate_limit_members: str = "30 per minute;300 per hour"  # per user: group adds and removals
    rate_limit_mark_read: str = "10 per second;300 per minute"  # per user: read markers
    rate_limit_read: str = "30 per second;900 per minute"  # per user: lists, threads, pages, search
    rate_limit_updates: str = "120 per minute"  # per user: GET /updates requests
    rate_limit_profile: str = "10 per hour"  # per user: PATCH /me; each tells every co-member
    rate_limit_password_reset: str = "5 per minute;20 per hour"  # per client address: each may mail
    # Per account (or per address typed, when no account has it: counted alike), whatever the address.
    rate_limit_password_reset_account: str = "3 per hour;10 per day"
    rate_limit_one_time_token: str = "10 per minute;100 per hour"  # per address: confirm, verify
    rate_limit_email: str = "5 per hour;20 per day"  # per user: POST /me/email and resending a link
    rate_limit_export: str = "2 per hour"  # per user: GET /me/export reads everything the user has
    rate_limit_upload: str = "10 per minute;200 per day"  # per user: POST /attachments
    rate_limit_download: str = "60 per second;3000 per minute"  # per user, or per address when signed
    forwarded_hops: int = 0  # proxies in front (1 on Heroku) whose X-Forwarded-For to trust
    # Browser pages allowed to open the WebSocket besides the service's own origin ("*": any).
    allowed_origins: tuple[str, ...] = ()

    # Limits.
    max_message_length: int = 4000
    edit_window_s: int = 0  # how long after sending a message may be edited (0: always)
    max_reactions_per_message: int = 20  # different emoji on one message
    max_thread_members: int = 100
    max_content_length: int = 64 * 1024
    # Relay one typing hint per user and thread this often at most (per worker); the web client
    # repeats its hint every 3 s and shows one for 5 s, so 2 s passes every honest hint.
    typing_relay_interval_s: int = 2
    # Whoever added or removed a member who then left may not add them back for this long.
    readd_cooldown_s: int = 3600
    # Who may put you in a group: "anyone", "contacts" (people you share a 1:1 thread with) or
    # "invite" (everyone's additions become invitations you accept or decline).
    group_add_policy: str = "contacts"
    max_blocks: int = 1000  # people one user may block; bounds the block list and every check on it
    # Leaving the service: what DELETE /me does with the account's messages ("keep_messages":
    # they stay, sent by a deleted account; "erase_messages": each is deleted as DELETE of the
    # message does), and how long a deleted account's username stays reserved.
    account_deletion: str = "keep_messages"
    username_cooldown_days: int = 30

    # Attachments: images (messenger/media). An image whose header claims more pixels than this
    # is refused (422 image_too_large) before a pixel is decoded. A PNG, WebP or GIF at the bound
    # decodes whole, about 4 bytes a pixel, for its thumbnail; a JPEG at down to 1/8 of each side.
    max_image_pixels: int = 50_000_000

    # Observability.
    log_format: str = "text"  # "json": one JSON object per log line, for a log collector
    metrics_enabled: bool = True  # serve /metrics to the operator's scraper...
    metrics_token: str = ""  # ...which sends "Authorization: Bearer <it>"; unset: /metrics is off
    # Set by gunicorn.conf.py when several workers share their metrics; empty: one process.
    prometheus_multiproc_dir: str = ""

    # Serving (messenger/worker.py says why each bound is there).
    host: str = "127.0.0.1"
    port: int = 8000
    web_concurrency: int = 1
    worker_connections: int = 5000  # connections one worker serves at once
    max_connections_per_address: int = 256  # ...of which one client address may hold (0: no cap)
    # Above the 60 s that clients and load balancers commonly keep an idle connection, so the
    # server never closes one just as a client reuses it (a POST it then cannot safely retry).
    keepalive_s: int = 75
    read_timeout_s: int = 10  # a new connection's first request head, and every body, within this
    socket_timeout_s: int = 60  # each read or write while a request is served, e.g. its response
    max_requests_in_flight_per_user: int = 12  # HTTP requests per user and worker at once

    @property
    def store_kind(self) -> str:
        """Which store adapter the wiring builds."""
        return "mongo" if self.mongodb_uri else "sqlite"

    @property
    def blob_store_kind(self) -> str:
        """Which blob store adapter the wiring builds. Never "local" on an ephemeral disk unless
        SQLite is allowed there too: local files are chosen only when SQLite is the store."""
        if self.attachments_s3_url:
            return "s3"
        return "gridfs" if self.mongodb_uri else "local"

    @property
    def attachments_dir(self) -> str:
        """The local blob store's directory: ``attachments`` beside the SQLite file."""
        return str(Path(self.sqlite_path).parent / "attachments")

    @property
    def attachments_s3_bucket_and_prefix(self) -> tuple[str, str]:
        """The bucket of ATTACHMENTS_S3_URL and its key prefix ("" or ending in "/")."""
        parsed = urlsplit(self.attachments_s3_url)
        prefix = parsed.path.strip("/")
        return parsed.netloc, prefix + "/" if prefix else ""

    @property
    def workers(self) -> int:
        """WEB_CONCURRENCY only with Redis: without it, workers cannot reach each other's clients,
        close each other's signed-out sockets or share rate-limit counts."""
        return self.web_concurrency if self.redis_url else 1

    @property
    def redis_options(self) -> dict[str, Any]:
        """Keyword arguments for every redis-py client (the notifier's, the limiter's)."""
        if self.redis_url.startswith("rediss://") and self.redis_tls_verify == "none":
            return {"ssl_cert_reqs": "none"}  # redis-py then skips the host name check too
        return {}

    @property
    def metrics_served(self) -> bool:
        """/metrics is served only behind its token: it is on the one public port."""
        return self.metrics_enabled and bool(self.metrics_token)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from the environment (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        on_dyno = bool(env.get("DYNO", ""))  # Heroku: an ephemeral disk behind one router hop
        settings = cls(
            mongodb_uri=env.get("MONGODB_URI", ""),
            mongodb_db=env.get("MONGODB_DB", cls.mongodb_db),
            mongodb_timeout_ms=_int(env, "MONGODB_TIMEOUT_MS", cls.mongodb_timeout_ms),
            mongodb_w=env.get("MONGODB_W", cls.mongodb_w),
            mongodb_j=_bool(env, "MONGODB_J", cls.mongodb_j),
            sqlite_path=env.get("MESSENGER_DB", cls.sqlite_path),
            sqlite_synchronous=env.get("SQLITE_SYNCHRONOUS", cls.sqlite_synchronous).upper(),
            sqlite_busy_timeout_ms=_int(env, "SQLITE_BUSY_TIMEOUT_MS", cls.sqlite_busy_timeout_ms),
            ephemeral_disk=on_dyno or _bool(env, "EPHEMERAL_DISK", False),
            allow_ephemeral_sqlite=_bool(env, "ALLOW_EPHEMERAL_SQLITE", cls.allow_ephemeral_sqlite),
            attachments_s3_url=env.get("ATTACHMENTS_S3_URL", "").strip(),
            attachments_s3_endpoint=env.get("ATTACHMENTS_S3_ENDPOINT", "").strip().rstrip("/"),
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "").strip(),
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "").strip(),
            aws_region=env.get("AWS_REGION", "").strip(),
            max_attachment_bytes=_int(env, "MAX_ATTACHMENT_BYTES", cls.max_attachment_bytes),
            attachment_quota_bytes=_int(env, "ATTACHMENT_QUOTA_BYTES", cls.attachment_quota_bytes),
            max_attachments_per_message=_int(
                env, "MAX_ATTACHMENTS_PER_MESSAGE", cls.max_attachments_per_message
            ),
            attachment_url_ttl_s=_int(env, "ATTACHMENT_URL_TTL_S", cls.attachment_url_ttl_s),
            attachment_url_secret=env.get("ATTACHMENT_URL_SECRET", "").strip(),
            orphan_ttl_h=_int(env, "ORPHAN_TTL_H", cls.orphan_ttl_h),
            upload_timeout_s=_int(env, "UPLOAD_TIMEOUT_S", cls.upload_timeout_s),
            token_ttl_days=_int(env, "TOKEN_TTL_DAYS", cls.token_ttl_days),
            smtp_url=env.get("SMTP_URL", "").strip(),
            mail_from=env.get("MAIL_FROM", "").strip(),
            public_url=env.get("PUBLIC_URL", "").strip().rstrip("/"),
            reset_ttl_min=_int(env, "RESET_TTL_MIN", cls.reset_ttl_min),
            verify_ttl_hours=_int(env, "VERIFY_TTL_HOURS", cls.verify_ttl_hours),
            require_verified_email=_bool(env, "REQUIRE_VERIFIED_EMAIL", cls.require_verified_email),
            mail_max_pending_per_account=_int(
                env, "MAIL_MAX_PENDING_PER_ACCOUNT", cls.mail_max_pending_per_account
            ),
            mail_max_attempts=_int(env, "MAIL_MAX_ATTEMPTS", cls.mail_max_attempts),
            mail_interval_s=_int(env, "MAIL_INTERVAL_S", cls.mail_interval_s),
            mail_lease_s=_int(env, "MAIL_LEASE_S", cls.mail_lease_s),
            smtp_timeout_s=_int(env, "SMTP_TIMEOUT_S", cls.smtp_timeout_s),
            redis_url=env.get("REDIS_URL", ""),
            redis_tls_verify=env.get("REDIS_TLS_VERIFY", cls.redis_tls_verify).strip().lower(),
            updates_max_age_days=_int(env, "UPDATES_MAX_AGE_DAYS", cls.updates_max_age_days),
            updates_max_per_user=_int(env, "UPDATES_MAX_PER_USER", cls.updates_max_per_user),
            prune_interval_s=_int(env, "PRUNE_INTERVAL_S", cls.prune_interval_s),
            longpoll_default_timeout_s=_int(env, "LONGPOLL_TIMEOUT_S", cls.longpoll_default_timeout_s),
            ws_ping_interval_s=_int(env, "WS_PING_INTERVAL_S", cls.ws_ping_interval_s),
            max_polls_per_user=_int(env, "MAX_POLLS_PER_USER", cls.max_polls_per_user),
            ws_outbox_bytes=_int(env, "WS_OUTBOX_BYTES", cls.ws_outbox_bytes),
            max_sockets_per_user=_int(env, "MAX_SOCKETS_PER_USER", cls.max_sockets_per_user),
            ws_frames_per_s=_int(env, "WS_FRAMES_PER_S", cls.ws_frames_per_s),
            ws_frame_burst=_int(env, "WS_FRAME_BURST", cls.ws_frame_burst),
            ws_send_timeout_s=_int(env, "WS_SEND_TIMEOUT_S", cls.ws_send_timeout_s),
            max_message_length=_int(env, "MAX_MESSAGE_LENGTH", cls.max_message_length),
            edit_window_s=_int(env, "EDIT_WINDOW_S", cls.edit_window_s),
            max_reactions_per_message=_int(env, "MAX_REACTIONS_PER_MESSAGE", cls.max_reactions_per_message),
            max_thread_members=_int(env, "MAX_THREAD_MEMBERS", cls.max_thread_members),
            max_content_length=_int(env, "MAX_CONTENT_LENGTH", cls.max_content_length),
            typing_relay_interval_s=_int(env, "TYPING_RELAY_INTERVAL_S", cls.typing_relay_interval_s),
            readd_cooldown_s=_int(env, "READD_COOLDOWN_S", cls.readd_cooldown_s),
            group_add_policy=env.get("GROUP_ADD_POLICY", cls.group_add_policy).strip().lower(),
            max_blocks=_int(env, "MAX_BLOCKS", cls.max_blocks),
            account_deletion=env.get("ACCOUNT_DELETION", cls.account_deletion).strip().lower(),
            username_cooldown_days=_int(env, "USERNAME_COOLDOWN_DAYS", cls.username_cooldown_days),
            max_image_pixels=_int(env, "MAX_IMAGE_PIXELS", cls.max_image_pixels),
            rate_limits_enabled=_bool(env, "RATE_LIMITS_ENABLED", cls.rate_limits_enabled),
            rate_limit_signup=env.get("RATE_LIMIT_SIGNUP", cls.rate_limit_signup),
            rate_limit_signin=env.get("RATE_LIMIT_SIGNIN", cls.rate_limit_signin),
            rate_limit_signin_failures=env.get("RATE_LIMIT_SIGNIN_FAILURES", cls.rate_limit_signin_failures),
            rate_limit_send=env.get("RATE_LIMIT_SEND", cls.rate_limit_send),
            rate_limit_create_thread=env.get("RATE_LIMIT_CREATE_THREAD", cls.rate_limit_create_thread),
            rate_limit_members=env.get("RATE_LIMIT_MEMBERS", cls.rate_limit_members),
            rate_limit_mark_read=env.get("RATE_LIMIT_MARK_READ", cls.rate_limit_mark_read),
            rate_limit_read=env.get("RATE_LIMIT_READ", cls.rate_limit_read),
            rate_limit_updates=env.get("RATE_LIMIT_UPDATES", cls.rate_limit_updates),
            rate_limit_profile=env.get("RATE_LIMIT_PROFILE", cls.rate_limit_profile),
            rate_limit_password_reset=env.get("RATE_LIMIT_PASSWORD_RESET", cls.rate_limit_password_reset),
            rate_limit_password_reset_account=env.get(
                "RATE_LIMIT_PASSWORD_RESET_ACCOUNT", cls.rate_limit_password_reset_account
            ),
            rate_limit_one_time_token=env.get("RATE_LIMIT_ONE_TIME_TOKEN", cls.rate_limit_one_time_token),
            rate_limit_email=env.get("RATE_LIMIT_EMAIL", cls.rate_limit_email),
            rate_limit_export=env.get("RATE_LIMIT_EXPORT", cls.rate_limit_export),
            rate_limit_upload=env.get("RATE_LIMIT_UPLOAD", cls.rate_limit_upload),
            rate_limit_download=env.get("RATE_LIMIT_DOWNLOAD", cls.rate_limit_download),
            # Behind Heroku's router every client shares its address: trust its one hop.
            forwarded_hops=_int(env, "FORWARDED_HOPS", 1 if on_dyno else cls.forwarded_hops),
            allowed_origins=tuple(
                o.strip().rstrip("/") for o in env.get("ALLOWED_ORIGINS", "").split(",") if o.strip()
            ),
            log_format=env.get("LOG_FORMAT", cls.log_format).strip().lower(),
            metrics_enabled=_bool(env, "METRICS_ENABLED", cls.metrics_enabled),
            metrics_token=env.get("METRICS_TOKEN", "").strip(),
            prometheus_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR", ""),
            host=env.get("HOST", cls.host),
            port=_int(env, "PORT", cls.port),
            web_concurrency=_int(env, "WEB_CONCURRENCY", cls.web_concurrency),
            worker_connections=_int(env, "WORKER_CONNECTIONS", cls.worker_connections),
            max_connections_per_address=_int(
                env, "MAX_CONNECTIONS_PER_ADDRESS", cls.max_connections_per_address
            ),
            keepalive_s=_int(env, "KEEPALIVE_S", cls.keepalive_s),
            read_timeout_s=_int(env, "READ_TIMEOUT_S", cls.read_timeout_s),
            socket_timeout_s=_int(env, "SOCKET_TIMEOUT_S", cls.socket_timeout_s),
            max_requests_in_flight_per_user=_int(
                env, "MAX_REQUESTS_IN_FLIGHT_PER_USER", cls.max_requests_in_flight_per_user
            ),
        )
        settings.validate()
        return settings

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with some settings replaced (tests use this)."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown settings: {sorted(unknown)}")
        settings = replace(self, **overrides)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Fail at start-up, not at the first request, on a value that cannot work."""
        if self.sqlite_synchronous not in SQLITE_SYNCHRONOUS_MODES:
            raise ConfigError(f"SQLITE_SYNCHRONOUS must be one of {SQLITE_SYNCHRONOUS_MODES}")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be one of {LOG_FORMATS}")
        if self.redis_tls_verify not in REDIS_TLS_VERIFY_MODES:
            raise ConfigError(f"REDIS_TLS_VERIFY must be one of {REDIS_TLS_VERIFY_MODES}")
        if self.ephemeral_disk and self.store_kind == "sqlite" and not self.allow_ephemeral_sqlite:
            raise ConfigError(
                "this platform's disk is wiped at every deploy and restart (DYNO or EPHEMERAL_DISK"
                " is set), so SQLite would lose every message: set MONGODB_URI"
                " (or ALLOW_EPHEMERAL_SQLITE=true to accept the loss)"
            )
        positive = (
            "token_ttl_days",
            "max_message_length",
            "max_reactions_per_message",
            "max_content_length",
            "web_concurrency",
            "updates_max_age_days",
            "updates_max_per_user",
            "ws_ping_interval_s",
            "max_polls_per_user",
            "ws_outbox_bytes",
            "max_sockets_per_user",
            "ws_frames_per_s",
            "ws_frame_burst",
            "ws_send_timeout_s",
            "worker_connections",
            "keepalive_s",
            "read_timeout_s",
            "socket_timeout_s",
            "max_requests_in_flight_per_user",
            "max_attachment_bytes",
            "attachment_quota_bytes",
            "max_attachments_per_message",
            "attachment_url_ttl_s",
            "orphan_ttl_h",
            "upload_timeout_s",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.upper()} must be at least 1")
        if not 0 <= self.longpoll_default_timeout_s <= LONGPOLL_MAX_TIMEOUT_S:
            raise ConfigError(f"LONGPOLL_TIMEOUT_S must be between 0 and {LONGPOLL_MAX_TIMEOUT_S}")
        for name in (f.name for f in fields(self) if f.name.startswith("rate_limit_")):
            try:
                parse_many(getattr(self, name))
            except ValueError:
                raise ConfigError(f"{name.upper()} is not a rate limit like '10 per minute'") from None
        if self.edit_window_s < 0:
            raise ConfigError("EDIT_WINDOW_S must be 0 (no limit) or more")
        if self.max_connections_per_address < 0:
            raise ConfigError("MAX_CONNECTIONS_PER_ADDRESS must be 0 (no cap) or more")
        if self.metrics_token and len(self.metrics_token) < MIN_METRICS_TOKEN_LENGTH:
            raise ConfigError(f"METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_LENGTH} characters")
        for name in ("typing_relay_interval_s", "readd_cooldown_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name.upper()} must be 0 (off) or more")
        if self.max_thread_members < 2:
            raise ConfigError("MAX_THREAD_MEMBERS must be at least 2")
        if self.group_add_policy not in GROUP_ADD_POLICIES:
            raise ConfigError(f"GROUP_ADD_POLICY must be one of {GROUP_ADD_POLICIES}")
        if self.max_blocks < 1:
            raise ConfigError("MAX_BLOCKS must be at least 1")
        if not 1 <= self.max_image_pixels <= MAX_IMAGE_PIXELS_CEILING:
            raise ConfigError(f"MAX_IMAGE_PIXELS must be between 1 and {MAX_IMAGE_PIXELS_CEILING} (Pillow's)")
        self._validate_mail()
        self._validate_leaving()
        self._validate_attachments()

    @property
    def mail_enabled(self) -> bool:
        """Password reset by email and email verification work only with a mail server."""
        return bool(self.smtp_url)

    def _validate_mail(self) -> None:
        for name in (
            "reset_ttl_min",
            "verify_ttl_hours",
            "mail_max_pending_per_account",
            "mail_max_attempts",
            "mail_interval_s",
            "mail_lease_s",
            "smtp_timeout_s",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.upper()} must be at least 1")
        if self.require_verified_email and not self.smtp_url:
            raise ConfigError("REQUIRE_VERIFIED_EMAIL needs SMTP_URL: nobody could ever verify an address")
        if not self.smtp_url:
            return
        parsed = urlsplit(self.smtp_url)
        if parsed.scheme not in SMTP_SCHEMES or not parsed.hostname:
            raise ConfigError("SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465")
        try:
            parsed.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ConfigError("SMTP_URL has a port that is not a number") from None
        if parse_qs(parsed.query).get("starttls", ["auto"])[-1] not in STARTTLS_MODES:
            raise ConfigError(f"SMTP_URL's starttls must be one of {STARTTLS_MODES}")
        if "@" not in self.mail_from:
            raise ConfigError("MAIL_FROM must be set to an address (e.g. noreply@example.com) with SMTP_URL")
        if urlsplit(self.public_url).scheme not in ("http", "https"):
            raise ConfigError("PUBLIC_URL must be set to the service's https:// address with SMTP_URL")
        if self.mail_lease_s <= 4 * self.smtp_timeout_s:
            raise ConfigError(
                "MAIL_LEASE_S must exceed 4 x SMTP_TIMEOUT_S, or a slow send could be claimed twice"
            )

    def _validate_leaving(self) -> None:
        if self.account_deletion not in ACCOUNT_DELETION_MODES:
            raise ConfigError(f"ACCOUNT_DELETION must be one of {ACCOUNT_DELETION_MODES}")
        if self.username_cooldown_days < 0:
            raise ConfigError("USERNAME_COOLDOWN_DAYS must be 0 (free at once) or more")

    def _validate_attachments(self) -> None:
        if self.attachments_s3_url:
            parsed = urlsplit(self.attachments_s3_url)
            if parsed.scheme != "s3" or not parsed.netloc or parsed.query or parsed.fragment:
                raise ConfigError("ATTACHMENTS_S3_URL must look like s3://bucket or s3://bucket/prefix")
        elif self.attachments_s3_endpoint:
            raise ConfigError(
                "ATTACHMENTS_S3_ENDPOINT needs ATTACHMENTS_S3_URL (s3://bucket) to name the bucket"
            )
        endpoint_scheme = urlsplit(self.attachments_s3_endpoint).scheme
        if self.attachments_s3_endpoint and endpoint_scheme not in ("http", "https"):
            raise ConfigError("ATTACHMENTS_S3_ENDPOINT must be an https:// (or http://) URL")
        if self.max_attachments_per_message > MAX_ATTACHMENTS_CEILING:
            raise ConfigError(f"MAX_ATTACHMENTS_PER_MESSAGE may be at most {MAX_ATTACHMENTS_CEILING}")
        if self.attachment_url_secret and len(self.attachment_url_secret) < 32:
            raise ConfigError("ATTACHMENT_URL_SECRET must be at least 32 characters (or unset)")
        if bool(self.aws_access_key_id) != bool(self.aws_secret_access_key):
            raise ConfigError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together")


def environment_variables() -> frozenset[str]:
    """Every variable ``Settings.from_env`` reads, so manifests and docs can be checked against it."""
    read: set[str] = set()

    class Recording(dict):
        def get(self, name, default=None):
            read.add(name)
            return default

    Settings.from_env(Recording())
    return frozenset(read)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")
