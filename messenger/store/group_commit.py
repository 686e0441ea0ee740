"""Group commit: sends that arrive while others are being written share the next transaction.

Much of a send's cost in SQLite is its COMMIT: every page the send dirtied is appended to the
WAL (and, with ``synchronous=FULL``, fsynced). One writer thread takes every send waiting and
writes them in one transaction; each caller is answered only after the COMMIT that holds its
message, so nothing is acknowledged before it is durable. Alone, a send is written at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# A batch blocks its worker while it is written (sqlite3 does not yield to gevent): bound it.
MAX_BATCH = 64


@dataclass(eq=False)
class _Waiter:
    item: Any
    outcome: Any = None
    done: threading.Event = field(default_factory=threading.Event)


class GroupCommit(Generic[Item, Result]):
    """Hands each item to ``write_batch`` with whatever else is waiting.

    ``write_batch(items)`` returns one outcome per item, a result or the exception that item
    failed with alone; if it raises, every item of the batch fails with that exception.
    """

    def __init__(self, write_batch: Callable[[list[Item]], list[Result | Exception]], name: str) -> None:
        self._write_batch = write_batch
        self._name = name
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._waiting: list[_Waiter] = []
        self._writer: threading.Thread | None = None
        self._stopping = False

    def submit(self, item: Item) -> Result:
        waiter = _Waiter(item)
        with self._lock:
            self._waiting.append(waiter)
            self._start_writer()
            self._work.notify()
        waiter.done.wait()
        if isinstance(waiter.outcome, Exception):
            raise waiter.outcome
        return waiter.outcome

    def close(self) -> None:
        """Write what is waiting, then stop the writer (the next item starts a new one)."""
        with self._lock:
            writer = self._writer
            self._stopping = True
            self._work.notify()
        if writer is not None and writer is not threading.current_thread():
            writer.join()

    def _start_writer(self) -> None:
        if self._writer is None:  # started at the first item, in the process that serves it
            self._stopping = False
            self._writer = threading.Thread(target=self._write_until_stopped, name=self._name, daemon=True)
            self._writer.start()

    def _write_until_stopped(self) -> None:
        try:
            while True:
                with self._lock:
                    while not self._waiting and not self._stopping:
                        self._work.wait()
                    if not self._waiting:
                        self._writer = None  # decided under the lock: a new item starts a new writer
                        return
                    batch = self._waiting[:MAX_BATCH]
                    del self._waiting[:MAX_BATCH]
                self._write(batch)
        finally:  # killed mid-way: hand what is waiting to a new writer
            with self._lock:
                if self._writer is threading.current_thread():
                    self._writer = None
                    if self._waiting:
                        self._start_writer()

    def _write(self, batch: list[_Waiter]) -> None:
        outcomes: list = [RuntimeError(f"{self._name}: the writer stopped")] * len(batch)
        try:
            outcomes = self._write_batch([waiter.item for waiter in batch])
        except Exception as error:  # the whole transaction failed: nothing of it was stored
            outcomes = [error] * len(batch)
        finally:  # every caller hears back, whatever happened
            for waiter, outcome in zip(batch, outcomes, strict=True):
                waiter.outcome = outcome
                waiter.done.set()
