"""The one contract every Notifier adapter must keep (in-process, and Redis with a real server).

Each test publishes on one notifier and subscribes on ``subscriber``: the same notifier
in-process; with Redis, another notifier on the same server, as another worker would be.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pytest
import redis

from messenger.events import (
    CarriedUpdate,
    Inbox,
    InboxKind,
    Resync,
    StopReason,
    TokenRevoked,
    Typing,
    UpdatesAvailable,
)
from messenger.notify.memory import InProcessNotifier
from messenger.notify.redis import CHANNEL, RedisNotifier
from tests.integration.redis_server import RedisServer

DELIVERY_TIMEOUT_S = 5
# How long "nothing arrives" is watched for: a Redis round trip on loopback takes ~1 ms.
SILENCE_S = 0.3


@dataclass
class Pair:
    publisher: object
    subscriber: object


@pytest.fixture
def redis_url():
    """A server per test: a closed notifier's listener may linger a second on a shared one."""
    server = RedisServer().start()
    yield server.url
    server.stop()


@pytest.fixture(params=["memory", "redis"])
def pair(request):
    if request.param == "memory":
        notifier = InProcessNotifier()
        yield Pair(notifier, notifier)
        notifier.close()
        return
    url = request.getfixturevalue("redis_url")
    publisher, subscriber = RedisNotifier(url), RedisNotifier(url)
    _wait_until_listening(url, listeners=2)
    yield Pair(publisher, subscriber)
    publisher.close()
    subscriber.close()


def _wait_until_listening(url: str, listeners: int) -> None:
    """Both notifiers' listeners subscribe in the background: publish only once they have."""
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        while time.monotonic() < deadline:
            [(_, count)] = client.pubsub_numsub(CHANNEL)
            if count >= listeners:
                return
            time.sleep(0.02)
        raise AssertionError("the notifiers' listeners did not subscribe")
    finally:
        client.close()


def user() -> str:
    return uuid.uuid4().hex


def woken(inbox: Inbox, timeout: float = DELIVERY_TIMEOUT_S) -> bool:
    return inbox.wait(timeout)


def test_a_doorbell_rings_only_its_users_inboxes(pair):
    bob, carol = user(), user()
    bobs = [pair.subscriber.subscribe(Inbox(bob)), pair.subscriber.subscribe(Inbox(bob, kind=InboxKind.POLL))]
    carols = pair.subscriber.subscribe(Inbox(carol))
    pair.publisher.publish(UpdatesAvailable({bob: 7}))
    for inbox in bobs:
        assert woken(inbox)
        assert inbox.rung_cursor == 7
        assert inbox.take_fresh(6) is None  # no update carried: read the log
    assert not woken(carols, SILENCE_S)


def test_a_carried_update_reaches_its_users_as_a_fresh_update(pair):
    bob = user()
    inbox = pair.subscriber.subscribe(Inbox(bob))
    body = {"message": {"contents": "hi"}}
    pair.publisher.publish(UpdatesAvailable({bob: 3}, CarriedUpdate("message.new", body, {bob: 3})))
    assert woken(inbox)
    [fresh] = inbox.take_fresh(2)
    assert (fresh.update.cursor, fresh.update.type, fresh.update.body) == (3, "message.new", body)
    assert fresh.body_json == '{"message":{"contents":"hi"}}'


def test_typing_reaches_the_users_sockets_but_not_their_long_polls(pair):
    bob, alice = user(), user()
    socket = pair.subscriber.subscribe(Inbox(bob))
    poll = pair.subscriber.subscribe(Inbox(bob, kind=InboxKind.POLL))
    pair.publisher.publish(Typing([bob], "thread-1", alice))
    assert woken(socket)
    assert socket.take_ephemeral() == [Typing([bob], "thread-1", alice)]
    assert not woken(poll, SILENCE_S)


def test_a_revoked_token_stops_only_that_tokens_inboxes(pair):
    bob = user()
    signed_out = [
        pair.subscriber.subscribe(Inbox(bob, "hash-1")),
        pair.subscriber.subscribe(Inbox(bob, "hash-1", kind=InboxKind.POLL)),
    ]
    other_device = pair.subscriber.subscribe(Inbox(bob, "hash-2"))
    pair.publisher.publish(TokenRevoked("hash-1"))
    for inbox in signed_out:
        assert woken(inbox)
        assert inbox.stopped is StopReason.REVOKED
    assert not woken(other_device, SILENCE_S)
    assert other_device.stopped is None


def test_drain_stops_every_inbox_and_every_later_one(pair):
    notifier = pair.subscriber
    inboxes = [notifier.subscribe(Inbox(user())), notifier.subscribe(Inbox(user(), kind=InboxKind.POLL))]
    notifier.drain()
    assert notifier.draining
    assert [inbox.stopped for inbox in inboxes] == [StopReason.SHUTDOWN] * 2
    assert notifier.subscribe(Inbox(user())).stopped is StopReason.SHUTDOWN


def test_an_unsubscribed_inbox_gets_nothing_more(pair):
    bob = user()
    inbox = pair.subscriber.subscribe(Inbox(bob))
    pair.subscriber.unsubscribe(inbox)
    still = pair.subscriber.subscribe(Inbox(bob))
    pair.publisher.publish(UpdatesAvailable({bob: 1}))
    assert woken(still)
    assert not woken(inbox, SILENCE_S)
    assert inbox.rung_cursor == 0


def test_a_resync_rings_every_inbox_and_sends_it_to_the_log(pair):
    inboxes = [
        pair.subscriber.subscribe(Inbox(user())),
        pair.subscriber.subscribe(Inbox(user(), kind=InboxKind.POLL)),
    ]
    pair.publisher.publish(Resync())
    for inbox in inboxes:
        assert woken(inbox)
        assert inbox.take_fresh(0) is None


def test_a_notifier_reports_no_problem_while_delivery_works(pair):
    assert pair.publisher.problem() is None
    assert pair.subscriber.problem() is None
