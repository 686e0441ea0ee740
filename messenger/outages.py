"""One way for every adapter to say that what it stands for cannot be reached.

A driver's failure (pymongo's, boto3's) becomes ``StoreUnavailable``, which the API answers as a
retryable 503 ``store_unavailable``, logged once per failed call with what failed. Each adapter
names the exceptions that mean an outage, and may keep some of them as they are (a unique
index refusing a write is a bug to see, not an outage to retry).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from .errors import StoreUnavailable

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def unavailable_on(
    failures: type[BaseException] | tuple[type[BaseException], ...],
    what: str,
    is_outage: Callable[[BaseException], bool] = lambda exc: True,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator turning ``failures`` that ``is_outage`` agrees are outages into
    ``StoreUnavailable``; the others pass through as they are."""

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except failures as exc:
                if not is_outage(exc):
                    raise
                logger.warning("%s unavailable in %s: %s", what, method.__name__, exc)
                raise StoreUnavailable() from exc

        return wrapper

    return decorate
