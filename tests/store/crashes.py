"""A MongoDB store on mongomock whose chosen collections die at the N-th write: the crash
tests of every MongoDB write order (``messenger/store/mongo.py``) run each operation with a
crash after every write it reaches, then check that a retry rolls it forward."""

from __future__ import annotations

import mongomock

from messenger.store.mongo import MongoStore

WRITES = (
    "insert_one",
    "update_one",
    "update_many",
    "delete_one",
    "find_one_and_update",
    "find_one_and_delete",
)


class Crash(Exception):
    """The process died here."""


class Crashing:
    """A collection whose writes raise ``Crash`` once ``budget`` writes have gone through."""

    def __init__(self, collection, plan: dict):
        self._collection = collection
        self._plan = plan

    def __getattr__(self, name: str):
        attr = getattr(self._collection, name)
        if name not in WRITES:
            return attr

        def write(*args, **kwargs):
            if self._plan["budget"] is not None:
                if self._plan["budget"] <= 0:
                    self._plan["crashed"] = True
                    raise Crash(name)
                self._plan["budget"] -= 1
            return attr(*args, **kwargs)

        return write


def crashing_store(db_name: str, *collections: str) -> tuple[MongoStore, dict]:
    """A fresh store whose ``collections`` (attribute paths such as ``_log._updates``) crash
    by its plan: ``budget`` writes left, None for no crash."""
    store = MongoStore(mongomock.MongoClient(), db_name)
    store.setup()
    plan = {"budget": None, "crashed": False}
    for path in collections:
        *parents, name = path.split(".")
        owner = store
        for parent in parents:
            owner = getattr(owner, parent)
        setattr(owner, name, Crashing(getattr(owner, name), plan))
    return store, plan


def crash_at(plan: dict, writes: int, call, *args) -> bool:
    """Run ``call(*args)`` letting ``writes`` writes through; True when it crashed before finishing."""
    plan.update(budget=writes, crashed=False)
    try:
        call(*args)
    except Crash:
        return True
    finally:
        plan["budget"] = None
    return False
