"""Log lines on stderr, as plain text or as one JSON object a line (``LOG_FORMAT``)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

HANDLER_NAME = "messenger"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line, with a record's ``fields`` (``extra={"fields": {...}}``) at the top."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class StderrHandler(logging.StreamHandler):
    """Write to whatever ``sys.stderr`` is when a line is logged: pytest swaps it per test."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


def configure_logging(log_format: str) -> None:
    """Send the ``messenger.*`` loggers to stderr at INFO; a second call replaces, never duplicates."""
    logger = logging.getLogger("messenger")
    for handler in list(logger.handlers):
        if handler.get_name() == HANDLER_NAME:
            logger.removeHandler(handler)
    handler = StderrHandler()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
