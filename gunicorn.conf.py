"""gunicorn settings for `make run`, the Procfile and the tests; values come from messenger.config."""

from messenger.config import Settings

_settings = Settings.from_env()

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.web_concurrency  # WEB_CONCURRENCY; above 1 needs REDIS_URL for real-time delivery
worker_class = "gevent"  # one worker holds thousands of idle WebSockets and long-polls
worker_connections = 5000
timeout = 30
graceful_timeout = 10
preload_app = False  # each worker opens its own store connections after the fork
accesslog = "-"
# The path without its query string: a WebSocket's ?token= must never reach a log.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'


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
