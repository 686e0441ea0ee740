"""The profile rules both stores call: who is told, and what a change changes."""

from __future__ import annotations

import pytest

from messenger import rules
from messenger.model import User

ALICE = User("a", "alice@example.com", "alice", 1, "Alice")


def test_user_updated_goes_to_each_co_member_once_and_to_the_user():
    assert rules.told_of_profile("a", ["c", "b", "c", "a", "b"]) == ["a", "b", "c"]
    assert rules.told_of_profile("a", []) == ["a"]


def test_only_what_differs_is_a_change():
    assert rules.profile_changes(ALICE, {"username": "alice", "display_name": "Alice"}) == {}
    assert rules.profile_changes(ALICE, {"display_name": None}) == {"display_name": None}
    assert rules.profile_changes(ALICE, {"username": "ALICE"}) == {"username": "ALICE"}  # shown as typed
    assert rules.profile_changes(ALICE, {}) == {}


def test_a_field_outside_the_profile_is_a_bug_not_a_change():
    with pytest.raises(ValueError):
        rules.profile_changes(ALICE, {"email": "x@example.com"})
