"""Group commit: who waits, what is written together, and who hears about a failure."""

from __future__ import annotations

import threading
import time

import pytest

from messenger.store.group_commit import GroupCommit


class Recorder:
    """A write_batch that records its batches and can hold the first one until released."""

    def __init__(self, hold_first: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, items: list[str]) -> list[str | Exception]:
        self.batches.append(list(items))
        self.release.wait(5)
        return [ValueError(item) if item.startswith("bad") else item.upper() for item in items]


def submit_in_thread(commit: GroupCommit, item: str, outcomes: dict) -> threading.Thread:
    def run() -> None:
        try:
            outcomes[item] = commit.submit(item)
        except Exception as error:  # recorded for the test to check
            outcomes[item] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_until(condition, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_lone_item_is_written_at_once():
    recorder = Recorder()
    commit = GroupCommit(recorder, "test")
    assert commit.submit("a") == "A"
    assert commit.submit("b") == "B"
    assert recorder.batches == [["a"], ["b"]]
    commit.close()


def submit_while_busy(items: list[str]) -> tuple[Recorder, dict]:
    """Submit ``items`` while the writer is busy with a first one, then let it go on."""
    recorder = Recorder(hold_first=True)
    commit = GroupCommit(recorder, "test")
    outcomes: dict = {}
    first = submit_in_thread(commit, "first", outcomes)
    wait_until(lambda: recorder.batches)  # the writer is busy with "first"
    later = [submit_in_thread(commit, item, outcomes) for item in items]
    time.sleep(0.1)
    assert set(outcomes) <= {"first"}  # nobody is answered before their batch is written
    recorder.release.set()
    for thread in [first, *later]:
        thread.join(5)
    commit.close()
    return recorder, outcomes


def test_items_that_arrive_while_a_batch_is_written_share_the_next_one():
    items = [f"m{i}" for i in range(5)]
    recorder, outcomes = submit_while_busy(items)
    assert recorder.batches[0] == ["first"]
    assert sorted(recorder.batches[1]) == items
    assert outcomes == {"first": "FIRST", **{item: item.upper() for item in items}}


def test_an_item_that_fails_alone_fails_only_its_caller():
    _, outcomes = submit_while_busy(["ok", "bad", "fine"])
    assert isinstance(outcomes["bad"], ValueError)
    assert (outcomes["first"], outcomes["ok"], outcomes["fine"]) == ("FIRST", "OK", "FINE")


def test_a_batch_that_fails_fails_every_caller_in_it():
    def broken(items: list[str]) -> list[str]:
        raise OSError("disk I/O error")

    commit = GroupCommit(broken, "test")
    with pytest.raises(OSError, match="disk I/O error"):
        commit.submit("a")
    commit.close()


def test_close_writes_what_is_waiting_and_a_later_item_starts_a_new_writer():
    recorder = Recorder(hold_first=True)
    commit = GroupCommit(recorder, "test")
    outcomes: dict = {}
    threads = [submit_in_thread(commit, "first", outcomes)]
    wait_until(lambda: recorder.batches)
    threads.append(submit_in_thread(commit, "queued", outcomes))
    time.sleep(0.05)
    closer = threading.Thread(target=commit.close)
    closer.start()
    recorder.release.set()
    closer.join(5)
    assert not closer.is_alive()
    for thread in threads:
        thread.join(5)
    assert outcomes == {"first": "FIRST", "queued": "QUEUED"}
    assert commit.submit("later") == "LATER"
    commit.close()


class WriterKilled(BaseException):
    """Like a greenlet being killed: not an Exception, so no ``except Exception`` catches it."""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the kill
def test_a_killed_writer_still_answers_its_batch_and_a_new_one_takes_over():
    calls: list[list[str]] = []

    def dies_once(items: list[str]) -> list[str]:
        calls.append(items)
        if len(calls) == 1:
            raise WriterKilled()
        return [item.upper() for item in items]

    commit = GroupCommit(dies_once, "killed-writer")
    with pytest.raises(RuntimeError, match="the writer stopped"):
        commit.submit("first")
    wait_until(lambda: not any(t.name == "killed-writer" for t in threading.enumerate()))
    assert commit.submit("second") == "SECOND"
    commit.close()
