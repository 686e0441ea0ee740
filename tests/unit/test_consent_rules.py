"""The pure rules of group consent: what an addition does under each GROUP_ADD_POLICY, and when
an invitation may be sent again."""

from __future__ import annotations

import pytest

from messenger import rules
from messenger.config import ConfigError, Settings
from messenger.model import ANYONE, CONTACTS, INVITE, Invitation


@pytest.mark.parametrize(
    ("policy", "is_contact", "outcome"),
    [
        (ANYONE, False, rules.ADD),
        (ANYONE, True, rules.ADD),
        (CONTACTS, True, rules.ADD),
        (CONTACTS, False, rules.REFUSED),
        (INVITE, True, rules.INVITED),
        (INVITE, False, rules.INVITED),
    ],
)
def test_what_an_addition_does_under_each_policy(policy, is_contact, outcome):
    assert rules.group_addition(policy, is_contact) == outcome


def test_an_invitation_is_sent_unless_pending_or_declined_within_the_cooldown():
    pending = Invitation("t", "u", "a", invited_at=100)
    declined = Invitation("t", "u", "a", invited_at=100, declined_at=1_000)
    assert rules.is_invitation_sendable(None, 5, 60_000)
    assert not rules.is_invitation_sendable(pending, 10**12, 60_000)
    assert not rules.is_invitation_sendable(declined, 60_999, 60_000)
    assert rules.is_invitation_sendable(declined, 61_000, 60_000)
    assert rules.is_invitation_sendable(declined, 1_000, 0)  # READD_COOLDOWN_S=0: no bound


def test_group_add_policy_and_max_blocks_are_checked_at_start():
    with pytest.raises(ConfigError, match="GROUP_ADD_POLICY"):
        Settings.from_env({"GROUP_ADD_POLICY": "friends"})
    with pytest.raises(ConfigError, match="MAX_BLOCKS"):
        Settings.from_env({"MAX_BLOCKS": "0"})
    assert Settings.from_env({"MAX_BLOCKS": "5"}).max_blocks == 5
