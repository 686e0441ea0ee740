"""Typing hints: relayed to the other members at most once per user and thread per interval."""

from __future__ import annotations

import pytest

from messenger.config import Settings
from messenger.errors import ThreadNotFound
from messenger.events import Typing
from messenger.model import User
from messenger.service import threads
from messenger.service.throttle import Throttle
from messenger.wiring import build_deps, build_store

INTERVAL_S = 2


class RecordingNotifier:
    """A notifier that keeps what was published (the only part of the port typing uses)."""

    def __init__(self) -> None:
        self.published: list = []

    def publish(self, event) -> None:
        self.published.append(event)

    def typing_events(self) -> list[tuple[str, str]]:
        return [(e.user_id, e.thread_id) for e in self.published if isinstance(e, Typing)]


@pytest.fixture
def world(tmp_path, clock):
    settings = Settings(
        sqlite_path=str(tmp_path / "t.db"), typing_relay_interval_s=INTERVAL_S, group_add_policy="anyone"
    )
    store = build_store(settings)
    store.setup()
    notifier = RecordingNotifier()
    deps = build_deps(settings, store, clock=clock, notifier=notifier)
    ids = {}
    for name in ("alice", "bob", "carol"):
        ids[name] = f"{name}-id"
        store.add_user(User(ids[name], f"{name}@example.com", name, clock()), "hash")
    one, *_ = threads.create_thread(deps, ids["alice"], [ids["alice"], ids["bob"]], "hi", 1)
    two, *_ = threads.create_thread(deps, ids["alice"], [ids["alice"], ids["bob"], ids["carol"]], "hi", 1)
    yield deps, notifier, ids, one.thread_id, two.thread_id
    store.close()


def test_a_flood_of_typing_hints_is_relayed_once_per_interval(world, clock):
    deps, notifier, ids, one, _ = world

    for _ in range(500):
        threads.announce_typing(deps, ids["alice"], one)  # dropped ones answer like relayed ones

    assert notifier.typing_events() == [(ids["alice"], one)]
    clock.advance(INTERVAL_S * 1000)
    threads.announce_typing(deps, ids["alice"], one)
    assert notifier.typing_events() == [(ids["alice"], one)] * 2


def test_each_user_and_thread_has_its_own_interval(world):
    deps, notifier, ids, one, two = world

    for _ in range(3):
        threads.announce_typing(deps, ids["alice"], one)
        threads.announce_typing(deps, ids["alice"], two)
        threads.announce_typing(deps, ids["bob"], one)

    assert notifier.typing_events() == [(ids["alice"], one), (ids["alice"], two), (ids["bob"], one)]


def test_a_non_member_is_refused_every_time_even_right_after_a_relay(world):
    deps, _, ids, one, _ = world
    threads.announce_typing(deps, ids["alice"], one)
    for _ in range(2):
        with pytest.raises(ThreadNotFound):
            threads.announce_typing(deps, ids["carol"], one)


def test_the_throttle_forgets_keys_quiet_for_an_interval():
    throttle = Throttle()
    for user in range(1000):
        assert throttle.allow(("user", user), 0, 2000)
    assert throttle.allow(("user", "late"), 2000, 2000)  # the sweep drops the first thousand
    assert len(throttle) == 1
