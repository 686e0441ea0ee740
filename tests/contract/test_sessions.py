"""Sessions (one per token): the same contract for every Store adapter.

Listing, revoking one, revoking all the others, the throttled write of a use, sliding expiry
under a clock the test controls, passwords, and tokens stored before sessions were kept.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from messenger import rules
from messenger.config import Settings
from messenger.errors import InvalidToken
from messenger.model import UNKNOWN_DEVICE, Session, session_id_of
from messenger.notify.memory import InProcessNotifier
from messenger.service import accounts
from messenger.service.deps import Deps
from messenger.store.sqlite import SqliteStore
from tests.clock import Clock
from tests.contract.test_store import add_user, now

MINUTE_MS = 60_000
DAY_MS = 24 * 60 * MINUTE_MS
TTL_DAYS = 30


def start(store, user, token_hash: str, created_at: int | None = None, lifetime: int = DAY_MS, **fields):
    """Store a session of ``user`` created at ``created_at`` (now by default), as sign-in does."""
    created_at = now() if created_at is None else created_at
    session = Session(
        token_hash=token_hash,
        user_id=user.user_id,
        device=fields.pop("device", "Pixel 8"),
        created_at=created_at,
        last_seen_at=created_at,
        expires_at=created_at + lifetime,
        address=fields.pop("address", "203.0.113.0/24"),
    )
    store.add_session(session)
    return session


def store_old_token(store, token_hash: str, user_id: str, created_at: int, expires_at: int) -> None:
    """Write a token as releases before sessions did: no device, last use or address."""
    if isinstance(store, SqliteStore):
        with store._connection() as conn:
            conn.execute(
                "INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (token_hash, user_id, created_at, expires_at),
            )
    else:
        expires = datetime.fromtimestamp(expires_at / 1000, tz=UTC)
        store._db["tokens"].insert_one(
            {
                "_id": token_hash,
                "user_id": user_id,
                "created_at": created_at,
                "expires_at": expires_at,
                "expires": expires,
            }
        )


class TestSessions:
    def test_a_session_reads_back_as_stored_until_it_expires_or_is_revoked(self, store):
        alice = add_user(store)
        stored = start(store, alice, "t1", created_at=100, lifetime=100)
        assert store.get_session("t1", 150) == stored
        assert store.get_session("t1", 200) is None
        assert store.get_session("other", 150) is None
        store.revoke_token("t1")
        assert store.get_session("t1", 150) is None
        store.revoke_token("t1")  # again: nothing to do

    def test_a_users_live_sessions_are_listed_the_most_recently_used_first(self, store):
        alice, bob = add_user(store), add_user(store)
        at = now()
        phone = start(store, alice, "phone", created_at=at, device="Pixel 8")
        laptop = start(store, alice, "laptop", created_at=at + 1, device="Firefox on Linux")
        start(store, alice, "stale", created_at=at - 10 * DAY_MS)  # expired a day after
        start(store, bob, "bobs", created_at=at)

        assert store.list_sessions(alice.user_id, at + 2) == [laptop, phone]
        assert store.touch_session("phone", at + MINUTE_MS, None, None)
        listed = store.list_sessions(alice.user_id, at + MINUTE_MS + 1)
        assert [s.token_hash for s in listed] == ["phone", "laptop"]
        assert listed[0].last_seen_at == at + MINUTE_MS
        assert store.list_sessions("nobody", at) == []

    def test_revoking_one_session_leaves_the_users_others(self, store):
        alice = add_user(store)
        start(store, alice, "phone")
        laptop = start(store, alice, "laptop")
        store.revoke_token("phone")
        assert store.list_sessions(alice.user_id, now()) == [laptop]

    def test_revoking_every_other_session_keeps_the_one_named_and_tells_which_went(self, store):
        alice, bob = add_user(store), add_user(store)
        for token_hash in ("phone", "laptop", "tablet"):
            start(store, alice, token_hash)
        bobs = start(store, bob, "bobs")

        revoked = store.revoke_sessions(alice.user_id, "laptop")

        assert sorted(revoked) == ["phone", "tablet"]
        assert [s.token_hash for s in store.list_sessions(alice.user_id, now())] == ["laptop"]
        assert store.list_sessions(bob.user_id, now()) == [bobs]
        assert store.revoke_sessions(alice.user_id, "laptop") == []

    def test_revoking_with_none_kept_ends_every_session_of_the_user(self, store):
        alice, bob = add_user(store), add_user(store)
        start(store, alice, "phone")
        start(store, alice, "laptop")
        start(store, bob, "bobs")
        assert sorted(store.revoke_sessions(alice.user_id)) == ["laptop", "phone"]
        assert store.list_sessions(alice.user_id, now()) == []
        assert len(store.list_sessions(bob.user_id, now())) == 1

    def test_a_new_session_drops_the_users_expired_ones_only(self, store):
        alice, bob = add_user(store), add_user(store)
        at = now()
        start(store, alice, "old", created_at=at, lifetime=10)
        start(store, bob, "bobs-old", created_at=at, lifetime=10)
        start(store, alice, "new", created_at=at + 20)
        assert store.get_session("old", at + 5) is None  # deleted, not only expired
        assert store.get_session("bobs-old", at + 5) is not None


class TestTouch:
    def test_a_use_is_written_at_most_once_a_minute(self, store):
        alice = add_user(store)
        at = now()
        start(store, alice, "t", created_at=at, address="203.0.113.0/24")

        assert not store.touch_session("t", at + MINUTE_MS - 1, "198.51.100.0/24", None)
        assert store.get_session("t", at + MINUTE_MS).last_seen_at == at
        assert store.get_session("t", at + MINUTE_MS).address == "203.0.113.0/24"

        assert store.touch_session("t", at + MINUTE_MS, "198.51.100.0/24", None)
        seen = store.get_session("t", at + MINUTE_MS)
        assert (seen.last_seen_at, seen.address) == (at + MINUTE_MS, "198.51.100.0/24")

        assert not store.touch_session("t", at + 2 * MINUTE_MS - 1, "192.0.2.0/24", None)
        assert store.touch_session("t", at + 2 * MINUTE_MS, "192.0.2.0/24", None)

    def test_a_use_from_no_known_address_keeps_the_last_one(self, store):
        alice = add_user(store)
        at = now()
        start(store, alice, "t", created_at=at, address="203.0.113.0/24")
        assert store.touch_session("t", at + MINUTE_MS, None, None)
        assert store.get_session("t", at + MINUTE_MS).address == "203.0.113.0/24"

    def test_a_use_moves_the_expiry_on_when_told_and_never_back(self, store):
        alice = add_user(store)
        at = now()
        start(store, alice, "t", created_at=at, lifetime=DAY_MS)

        assert store.touch_session("t", at + MINUTE_MS, None, at + 5 * DAY_MS)
        assert store.get_session("t", at + 4 * DAY_MS).expires_at == at + 5 * DAY_MS
        assert store.touch_session("t", at + 2 * MINUTE_MS, None, at + 2 * DAY_MS)  # earlier: kept
        assert store.get_session("t", at + 4 * DAY_MS).expires_at == at + 5 * DAY_MS
        assert store.touch_session("t", at + 3 * MINUTE_MS, None, None)
        assert store.get_session("t", at + 4 * DAY_MS).expires_at == at + 5 * DAY_MS

    def test_an_expired_or_unknown_session_is_not_brought_back(self, store):
        alice = add_user(store)
        at = now()
        start(store, alice, "t", created_at=at, lifetime=MINUTE_MS)
        assert not store.touch_session("t", at + MINUTE_MS, None, at + DAY_MS)
        assert store.get_session("t", at + MINUTE_MS - 1).expires_at == at + MINUTE_MS
        assert not store.touch_session("unknown", at + MINUTE_MS, None, at + DAY_MS)


class TestSlidingExpiry:
    """Through the service's authentication, on each store, with a clock the test moves."""

    @pytest.fixture
    def deps(self, store):
        settings = Settings(token_ttl_days=TTL_DAYS, rate_limits_enabled=False)
        return Deps(settings=settings, store=store, notifier=InProcessNotifier(), clock=Clock())

    def test_a_session_used_within_its_lifetime_never_expires(self, deps):
        alice = add_user(deps.store)
        token = accounts.issue_token(deps, alice.user_id, "Pixel 8", "203.0.113.7")
        for _ in range(12):  # a year, used every 29 days
            deps.clock.advance(29 * DAY_MS)
            assert accounts.authenticate(deps, token, "203.0.113.7").user_id == alice.user_id

    def test_an_unused_session_expires_a_lifetime_after_its_last_use_and_a_day_at_most_later(self, deps):
        alice = add_user(deps.store)
        token = accounts.issue_token(deps, alice.user_id)
        deps.clock.advance(10 * DAY_MS)
        accounts.authenticate(deps, token)
        last_use = deps.clock.now

        deps.clock.advance(TTL_DAYS * DAY_MS - 1000)
        accounts.authenticate(deps, token, "203.0.113.7")  # still valid (and this use counts)...
        deps.clock.advance(TTL_DAYS * DAY_MS + DAY_MS + MINUTE_MS)
        with pytest.raises(InvalidToken):  # ...but not a lifetime and a day after it
            accounts.authenticate(deps, token)
        assert deps.clock.now - last_use > 2 * TTL_DAYS * DAY_MS

    def test_never_used_it_expires_a_lifetime_after_sign_in(self, deps):
        alice = add_user(deps.store)
        token = accounts.issue_token(deps, alice.user_id)
        deps.clock.advance(TTL_DAYS * DAY_MS - 1000)
        assert deps.store.get_session(accounts.hash_token(token), deps.clock()) is not None
        deps.clock.advance(1000)
        with pytest.raises(InvalidToken):
            accounts.authenticate(deps, token)

    def test_uses_are_written_once_a_minute_and_the_expiry_once_a_day(self, deps):
        alice = add_user(deps.store)
        token = accounts.issue_token(deps, alice.user_id, address="203.0.113.7")
        token_hash = accounts.hash_token(token)
        writes = []
        touch = deps.store.touch_session
        deps.store.touch_session = lambda *args: writes.append(args) or touch(*args)
        try:
            for _ in range(3 * 24 * 60 * 4):  # three days of a request every 15 s
                deps.clock.advance(15_000)
                accounts.authenticate(deps, token, "198.51.100.9")
        finally:
            del deps.store.touch_session
        # (Each reading of the test clock adds 1 ms, so a write lands every fifth request.)
        assert 3 * 24 * 60 * 0.75 <= len(writes) <= 3 * 24 * 60
        moves = sorted({expires for *_, expires in writes if expires is not None})
        assert len(moves) == 4  # at the first written use, then once a day
        assert all(later - earlier >= DAY_MS - MINUTE_MS for earlier, later in itertools.pairwise(moves))
        session = deps.store.get_session(token_hash, deps.clock())
        assert session.address == "198.51.100.0/24"
        assert session.last_seen_at >= deps.clock.now - MINUTE_MS
        assert session.expires_at > deps.clock.now + TTL_DAYS * DAY_MS


class TestPasswords:
    def test_a_password_hash_is_read_and_replaced_by_user_id(self, store):
        alice, bob = add_user(store, "alice"), add_user(store, "bob")
        assert store.get_password_hash(alice.user_id) == "hash-of-alice"
        store.set_password_hash(alice.user_id, "new-hash")
        assert store.get_password_hash(alice.user_id) == "new-hash"
        assert store.find_login("alice") == (alice, "new-hash")
        assert store.get_password_hash(bob.user_id) == "hash-of-bob"
        assert store.get_password_hash("nobody") is None


class TestOldTokens:
    def test_a_token_stored_before_sessions_reads_as_a_session_of_an_unknown_device(self, store):
        alice = add_user(store)
        at = now()
        store_old_token(store, "old", alice.user_id, at, at + DAY_MS)

        session = store.get_session("old", at + 1)
        expected = Session("old", alice.user_id, UNKNOWN_DEVICE, at, at, at + DAY_MS, None)
        assert session == expected
        assert store.list_sessions(alice.user_id, at + 1) == [expected]

    def test_an_old_token_is_touched_slid_and_revoked_like_any_session(self, store):
        alice = add_user(store)
        at = now()
        store_old_token(store, "old", alice.user_id, at, at + DAY_MS)
        start(store, alice, "new", created_at=at)

        assert not store.touch_session("old", at + MINUTE_MS - 1, "203.0.113.0/24", None)
        assert store.touch_session("old", at + MINUTE_MS, "203.0.113.0/24", at + 9 * DAY_MS)
        session = store.get_session("old", at + 8 * DAY_MS)
        assert (session.last_seen_at, session.address, session.expires_at) == (
            at + MINUTE_MS,
            "203.0.113.0/24",
            at + 9 * DAY_MS,
        )
        assert store.revoke_sessions(alice.user_id, "new") == ["old"]


def test_a_session_id_is_stable_public_and_not_the_token_hash():
    token_hash = accounts.hash_token("a-token")
    session = Session(token_hash, "u", "Pixel 8", 1, 1, 2)
    assert session.session_id == session_id_of(token_hash) == session_id_of(token_hash)
    assert session.session_id not in token_hash and len(session.session_id) == 32
    assert session_id_of(accounts.hash_token("another")) != session.session_id


def test_the_touch_interval_is_a_minute_and_the_slide_a_day():
    assert rules.SESSION_TOUCH_INTERVAL_MS == MINUTE_MS
    assert rules.slid_expiry(DAY_MS * 40, DAY_MS, TTL_DAYS * DAY_MS) is None
    assert rules.slid_expiry(DAY_MS * 31, DAY_MS, TTL_DAYS * DAY_MS) == DAY_MS + (TTL_DAYS + 1) * DAY_MS
