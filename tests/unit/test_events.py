"""The notifier's events on the wire, and a close code for every reason a socket stops."""

from __future__ import annotations

import json

import pytest

from messenger.events import (
    CarriedUpdate,
    Resync,
    StopReason,
    TokenRevoked,
    Typing,
    UpdatesAvailable,
    from_wire,
    to_wire,
)
from messenger.model import compact_json
from messenger.web.stream import CLOSE_FOR

# What the release before messenger.events published, byte for byte (without the origin and
# published_at RedisNotifier adds): workers of both releases share one channel while deploying.
PREVIOUS_RELEASE_WIRE = [
    (
        UpdatesAvailable(
            {"bob": 4, "carol": 9}, CarriedUpdate("message.new", {"message": {"seq": 1}}, {"bob": 4})
        ),
        '{"type":"updates","cursors":{"bob":4,"carol":9},'
        '"update":{"type":"message.new","body":{"message":{"seq":1}},"cursors":{"bob":4}}}',
    ),
    (UpdatesAvailable({"bob": 5}), '{"type":"updates","cursors":{"bob":5}}'),
    (
        Typing(["bob", "carol"], "t1", "alice"),
        '{"type":"typing","user_ids":["bob","carol"],"thread_id":"t1","user_id":"alice"}',
    ),
    (TokenRevoked("abc123"), '{"type":"revoke","token_hash":"abc123"}'),
    (Resync(), '{"type":"resync"}'),
]


@pytest.mark.parametrize(("event", "wire"), PREVIOUS_RELEASE_WIRE)
def test_events_go_on_the_wire_as_the_previous_release_published_them(event, wire):
    assert compact_json(to_wire(event)) == wire


@pytest.mark.parametrize(("event", "wire"), PREVIOUS_RELEASE_WIRE)
def test_events_the_previous_release_published_are_read_back(event, wire):
    received = {**json.loads(wire), "origin": "another-worker", "published_at": 1.5}
    assert from_wire(received) == event


def test_a_type_a_newer_release_added_is_ignored():
    assert from_wire({"type": "presence", "user_id": "bob"}) is None


def test_a_known_type_without_its_keys_is_malformed():
    with pytest.raises(ValueError):
        from_wire({"type": "revoke"})


def test_every_stop_reason_has_its_close():
    assert set(CLOSE_FOR) == set(StopReason)
