"""gunicorn settings for `make run`, the Procfile and the tests; values come from messenger.config."""

import os
import shutil
import sys
import tempfile

from messenger.config import ConfigError, Settings

try:
    _settings = Settings.from_env()
except ConfigError as exc:
    # The master exits before forking anything, with one line instead of a worker crash loop
    # (gunicorn prints a traceback for other exceptions in its config file; SystemExit it lets by).
    sys.exit(f"messenger: refusing to start: {exc}")

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers  # WEB_CONCURRENCY with REDIS_URL; one worker without Redis
# gevent's worker (one holds thousands of idle WebSockets and long-polls), with a share of its
# connections per client address and deadlines on bodies and responses: messenger/worker.py.
worker_class = "messenger.worker.MessengerWorker"
worker_connections = _settings.worker_connections
keepalive = _settings.keepalive_s  # KEEPALIVE_S: longer than clients keep idle connections
timeout = 30
graceful_timeout = 10
preload_app = False  # each worker opens its own store connections after the fork
accesslog = None  # the app logs each request itself, with its request id (messenger/web/observe.py)
# gunicorn's own lines (a request it could not parse, its access log if turned on) may hold a
# query string, and so a token: this logger class removes every query string from them.
logger_class = "messenger.gunicorn_log.RedactingLogger"
# The path without its query string: a WebSocket's ?token= must never reach a log.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Several workers write their metrics to files in one directory that /metrics adds up.
# prometheus-client picks that mode when a worker first imports it (after the fork: no
# preloading), so the directory must be in the environment the workers inherit.
_metrics_dir = _settings.prometheus_multiproc_dir  # an operator's own, which they keep clean
_made_metrics_dir = workers > 1 and _settings.metrics_served and not _metrics_dir
if _made_metrics_dir:
    _metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="messenger-metrics-")


def on_starting(server):
    """Say once, in the master, why WEB_CONCURRENCY was not honoured."""
    if _settings.web_concurrency > workers:
        server.log.warning(
            "WEB_CONCURRENCY=%s ignored: running 1 worker because REDIS_URL is unset (without Redis,"
            " workers cannot deliver to each other's clients, sign out each other's sockets or share"
            " rate limits)",
            _settings.web_concurrency,
        )


def child_exit(server, worker):
    """A dead worker's sockets and polls must leave the live gauges' sum."""
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, _metrics_dir)


def on_exit(server):
    """Remove the metrics directory this master made: the next start begins from zero."""
    if _made_metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)


def post_worker_init(worker):
    """On SIGTERM, besides gunicorn's graceful stop, tell this worker's clients to reconnect."""
    import signal

    import gevent

    from messenger.lifecycle import drain

    stop_accepting = worker.handle_exit

    def handle_term(sig, frame):
        stop_accepting(sig, frame)
        gevent.spawn(drain, worker.wsgi)

    signal.signal(signal.SIGTERM, handle_term)
