"""The composition root: the only module that names concrete adapters."""

from __future__ import annotations

import logging
from collections.abc import Callable

from .config import Settings
from .ports import Notifier, Store
from .service.deps import Deps, run_inline

logger = logging.getLogger(__name__)

MONGO_TIMEOUT_MS = 5000


def build_store(settings: Settings) -> Store:
    """MongoDB when MONGODB_URI is set, otherwise the embedded SQLite file."""
    if settings.store_kind == "mongo":
        import pymongo

        from .store.mongo import MongoStore

        client = pymongo.MongoClient(
            settings.mongodb_uri,
            serverSelectionTimeoutMS=MONGO_TIMEOUT_MS,
            connectTimeoutMS=MONGO_TIMEOUT_MS,
            socketTimeoutMS=MONGO_TIMEOUT_MS * 2,
        )
        return MongoStore(client, settings.mongodb_db, owns_client=True)
    from .store.sqlite import SqliteStore

    return SqliteStore(settings.sqlite_path, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms)


def build_notifier(settings: Settings) -> Notifier:
    """Redis pub/sub when REDIS_URL is set (several workers or machines), else in-process."""
    if settings.redis_url:
        from .notify.redis import RedisNotifier

        return RedisNotifier(settings.redis_url)
    from .notify.memory import InProcessNotifier

    return InProcessNotifier()


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
        store.setup()
        logger.info("store ready: %s", settings.store_kind)
    overrides.setdefault("notifier", build_notifier(settings))
    overrides.setdefault("run_blocking", blocking_runner())
    return Deps(settings=settings, store=store, **overrides)
