"""gunicorn's own logger, made to drop query strings from every line it writes.

gunicorn logs a request it cannot parse whole (``Invalid HTTP request line: 'GET
/stream?token=...'``), and its access log, when an operator turns it on, may name the query
string too: a WebSocket's token travels there. Every line of both logs is scrubbed.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

# "?" and everything after it up to a space or a quote: a query string, wherever it appears.
QUERY_STRING = re.compile(r"\?[^\s'\"]+")
# A token=... outside a query string (e.g. a request line too mangled to have one).
TOKEN_PARAMETER = re.compile(r"(?i)(token=)[^\s&'\"]+")
REDACTED = "?[redacted]"
TRACEBACKS = logging.Formatter()


def redact(text: str) -> str:
    """The text with every query string, and any other ``token=`` value, replaced."""
    return TOKEN_PARAMETER.sub(r"\1[redacted]", QUERY_STRING.sub(REDACTED, text))


class RedactQueryStrings(logging.Filter):
    """Rewrite a record's message and traceback before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = redact(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:  # formatters use exc_text when it is set
            record.exc_text = redact(TRACEBACKS.formatException(record.exc_info))
        return True


class RedactingLogger(Logger):
    """gunicorn's ``logger_class``: its error and access logs, without query strings."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(existing, RedactQueryStrings) for existing in log.filters):
                log.addFilter(RedactQueryStrings())
