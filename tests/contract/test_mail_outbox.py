"""The mail outbox and one-time tokens, held to one contract on every store."""

from __future__ import annotations

import threading
import uuid

import pytest

from messenger.errors import EmailTaken
from messenger.model import PASSWORD_RESET, VERIFY_EMAIL, OneTimeToken, OutgoingMail

from .test_store import add_user

T0 = 1_700_000_000_000
LEASE = 60_000


def token_for(user, purpose=PASSWORD_RESET, ttl=30 * 60_000, at=T0) -> OneTimeToken:
    return OneTimeToken(uuid.uuid4().hex, purpose, user.user_id, user.email, at, at + ttl)


def mail_for(user, at=T0) -> OutgoingMail:
    return OutgoingMail(uuid.uuid4().hex, user.user_id, user.email, "Subject", "a link", at)


def enqueue(store, user, at=T0, max_pending=5) -> OutgoingMail:
    mail = mail_for(user, at)
    assert store.add_one_time_token(token_for(user, at=at), mail, max_pending)
    return mail


# The outbox ----------------------------------------------------------------------------
def test_an_enqueued_mail_is_claimed_once_with_its_contents(store):
    alice = add_user(store)
    mail = enqueue(store, alice)

    claimed = store.claim_mail(T0, LEASE, 10)

    assert [c.mail for c in claimed] == [mail]
    assert claimed[0].attempts == 1
    assert store.claim_mail(T0 + 1, LEASE, 10) == []  # leased: nobody else gets it


def test_a_mail_is_not_claimed_before_it_is_due(store):
    enqueue(store, add_user(store), at=T0)
    assert store.claim_mail(T0 - 1, LEASE, 10) == []


def test_a_sent_mail_is_never_claimed_again_and_loses_its_body(store):
    enqueue(store, add_user(store))
    claim = store.claim_mail(T0, LEASE, 10)[0]

    assert store.mark_mail_sent(claim.mail.mail_id, claim.claim_id, T0 + 1)

    assert store.claim_mail(T0 + 10 * LEASE, LEASE, 10) == []


def test_a_mail_whose_lease_ended_is_claimed_again_and_the_old_claim_cannot_mark_it(store):
    enqueue(store, add_user(store))
    first = store.claim_mail(T0, LEASE, 10)[0]  # ...and its sender crashed

    again = store.claim_mail(T0 + LEASE, LEASE, 10)

    assert [c.mail.mail_id for c in again] == [first.mail.mail_id]
    assert again[0].attempts == 2
    assert not store.mark_mail_sent(first.mail.mail_id, first.claim_id, T0 + LEASE + 1)
    assert store.mark_mail_sent(again[0].mail.mail_id, again[0].claim_id, T0 + LEASE + 1)


def test_a_failed_mail_is_due_again_at_its_retry_time_or_never_when_given_up(store):
    alice = add_user(store)
    retried, given_up = enqueue(store, alice), enqueue(store, alice)
    claims = {c.mail.mail_id: c for c in store.claim_mail(T0, LEASE, 10)}

    assert store.mark_mail_failed(retried.mail_id, claims[retried.mail_id].claim_id, T0, T0 + 5_000)
    assert store.mark_mail_failed(given_up.mail_id, claims[given_up.mail_id].claim_id, T0, None)

    assert store.claim_mail(T0 + 4_999, LEASE, 10) == []
    again = store.claim_mail(T0 + 5_000, LEASE, 10)
    assert [c.mail.mail_id for c in again] == [retried.mail_id]
    store.mark_mail_sent(retried.mail_id, again[0].claim_id, T0 + 5_000)
    assert store.claim_mail(T0 + 100 * LEASE, LEASE, 10) == []  # the given-up one never comes back


def test_claims_take_the_oldest_due_first_and_at_most_the_limit(store):
    alice, bob = add_user(store), add_user(store)
    mails = [enqueue(store, alice, at=T0 + 2), enqueue(store, bob, at=T0), enqueue(store, alice, at=T0 + 1)]

    claimed = store.claim_mail(T0 + 10, LEASE, 2)

    assert [c.mail.mail_id for c in claimed] == [mails[1].mail_id, mails[2].mail_id]


def test_two_concurrent_claimers_never_get_the_same_mail(store):
    users = [add_user(store) for _ in range(5)]
    enqueued = {enqueue(store, user).mail_id for user in users for _ in range(4)}
    got: list[list[str]] = []

    def claimer() -> None:
        mine = []
        while batch := store.claim_mail(T0, LEASE, 3):
            mine += [c.mail.mail_id for c in batch]
        got.append(mine)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every = [mail_id for mine in got for mail_id in mine]
    assert sorted(every) == sorted(enqueued)  # each once, none lost


def test_an_account_cannot_have_more_pending_mails_than_the_bound(store):
    alice, bob = add_user(store), add_user(store)
    for _ in range(3):
        enqueue(store, alice, max_pending=3)
    token = token_for(alice)

    assert not store.add_one_time_token(token, mail_for(alice), 3)

    assert store.get_one_time_token(token.token_hash, PASSWORD_RESET, T0) is None  # nothing written
    enqueue(store, bob, max_pending=3)  # others are not held back
    claim = store.claim_mail(T0, LEASE, 1)[0]
    store.mark_mail_sent(claim.mail.mail_id, claim.claim_id, T0)
    if claim.mail.user_id == alice.user_id:  # a sent mail no longer counts
        enqueue(store, alice, max_pending=3)


def test_pruning_deletes_expired_tokens_and_old_finished_mails_only(store):
    alice = add_user(store)
    expired, live = token_for(alice, ttl=1_000), token_for(alice, ttl=10_000_000)
    store.add_one_time_token(expired, mail_for(alice), 5)
    store.add_one_time_token(live, mail_for(alice), 5)
    claim = store.claim_mail(T0, LEASE, 1)[0]
    store.mark_mail_sent(claim.mail.mail_id, claim.claim_id, T0)

    assert store.prune_mail(T0 + 2_000, keep_ms=1_000) == 2  # the expired token, the sent mail

    assert store.get_one_time_token(live.token_hash, PASSWORD_RESET, T0 + 2_000) is not None
    assert len(store.claim_mail(T0 + 2_000, LEASE, 10)) == 1  # the pending mail stays


# One-time tokens -----------------------------------------------------------------------
def test_a_one_time_token_is_used_once(store):
    alice = add_user(store)
    token = token_for(alice)
    store.add_one_time_token(token, mail_for(alice), 5)

    assert store.get_one_time_token(token.token_hash, PASSWORD_RESET, T0) == token  # looking uses nothing
    assert store.use_one_time_token(token.token_hash, PASSWORD_RESET, T0) == token
    assert store.use_one_time_token(token.token_hash, PASSWORD_RESET, T0) is None
    assert store.get_one_time_token(token.token_hash, PASSWORD_RESET, T0) is None


def test_a_one_time_token_expires_and_is_only_good_for_its_purpose(store):
    alice = add_user(store)
    token = token_for(alice, ttl=1_000)
    store.add_one_time_token(token, mail_for(alice), 5)

    assert store.use_one_time_token(token.token_hash, VERIFY_EMAIL, T0) is None
    assert store.use_one_time_token(token.token_hash, PASSWORD_RESET, T0 + 1_000) is None
    assert store.use_one_time_token(token.token_hash, PASSWORD_RESET, T0 + 999) == token


def test_using_a_token_kills_the_accounts_other_tokens_of_that_purpose_only(store):
    alice = add_user(store)
    older, newer, verify = token_for(alice), token_for(alice), token_for(alice, VERIFY_EMAIL)
    for token in (older, newer, verify):
        store.add_one_time_token(token, mail_for(alice), 5)

    store.use_one_time_token(newer.token_hash, PASSWORD_RESET, T0)

    assert store.use_one_time_token(older.token_hash, PASSWORD_RESET, T0) is None
    assert store.use_one_time_token(verify.token_hash, VERIFY_EMAIL, T0) == verify


def test_concurrent_uses_of_one_token_give_it_to_exactly_one(store):
    alice = add_user(store)
    token = token_for(alice)
    store.add_one_time_token(token, mail_for(alice), 5)
    results: list = []
    threads = [
        threading.Thread(
            target=lambda: results.append(store.use_one_time_token(token.token_hash, PASSWORD_RESET, T0))
        )
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [r for r in results if r is not None] == [token]


# Accounts: what the flows change -------------------------------------------------------
def test_the_password_hash_is_read_and_replaced(store):
    alice = add_user(store)
    store.set_password_hash(alice.user_id, "new-hash")
    assert store.get_password_hash(alice.user_id) == "new-hash"
    assert store.get_password_hash("nobody") is None


def test_users_are_found_by_email_only_case_insensitively(store):
    alice = add_user(store, "alice_mail")
    assert store.get_user_by_email("ALICE_MAIL@example.com") == alice
    assert store.get_user_by_email("alice_mail") is None  # a username is not an email


def test_an_email_is_verified_only_while_it_is_still_the_accounts(store):
    alice = add_user(store)
    assert not store.get_users([alice.user_id])[0].email_verified

    assert store.set_email_verified(alice.user_id, alice.email.upper())
    assert store.get_users([alice.user_id])[0].email_verified

    changed = store.change_email(alice.user_id, "new@example.com")
    assert (changed.email, changed.email_verified) == ("new@example.com", False)
    assert not store.set_email_verified(alice.user_id, alice.email)  # the old address's link
    assert not store.get_users([alice.user_id])[0].email_verified


def test_changing_to_an_email_another_account_has_is_refused(store):
    alice, bob = add_user(store), add_user(store)
    with pytest.raises(EmailTaken):
        store.change_email(alice.user_id, bob.email.upper())
    assert store.change_email(alice.user_id, alice.email.upper()).email == alice.email.upper()  # one's own
