"""Every route but the public ones needs a live bearer token, checked before anything else."""

from __future__ import annotations

import pytest

from .client import error_of, message_body
from .conftest import DAY_MS

# (method, path, JSON body) for every route that needs a token; the ids and bodies need not be
# valid: a missing or bad token must be refused before the payload is even looked at.
PROTECTED = [
    ("POST", "/auth/signout", None),
    ("GET", "/me", None),
    ("GET", "/me/sessions", None),
    ("DELETE", "/me/sessions/s", None),
    ("POST", "/auth/signout-everywhere", None),
    ("POST", "/me/password", {"current_password": "x", "new_password": "y"}),
    ("GET", "/users?q=a", None),
    ("POST", "/message", {"thread_id": "t", "message": message_body("u")}),
    ("POST", "/message", {"not": "valid"}),
    ("POST", "/threads", {"user_ids": ["u", "v"], "message": message_body("u")}),
    ("GET", "/threads", None),
    ("GET", "/threads?start_index=-1", None),
    ("GET", "/threads/t", None),
    ("GET", "/threads/t/messages", None),
    ("GET", "/threads/t/messages?before_seq=2", None),
    ("POST", "/threads/t/read", {"seq": 1}),
    ("POST", "/threads/t/members", {"user_ids": ["u"]}),
    ("DELETE", "/threads/t/members/u", None),
    ("POST", "/actions", {"action": "get_user_threads", "user_id": "u"}),
    ("POST", "/actions", {"action": "nope"}),
]
PUBLIC = ["/healthz", "/readyz", "/openapi.json", "/docs", "/docs/assets/swagger-ui.css"]


def request(api, method, path, body, headers):
    return api.client.open(path, method=method, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_a_request_without_a_token_is_refused_with_auth_required(api, method, path, body):
    error_of(request(api, method, path, body, {}), 401, "auth_required")


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_a_request_with_an_unknown_token_is_refused_with_invalid_token(api, method, path, body):
    error_of(request(api, method, path, body, {"Authorization": "Bearer not-a-token"}), 401, "invalid_token")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc", "abc"])
def test_an_authorization_header_that_is_not_a_bearer_token_counts_as_missing(api, header):
    error_of(api.client.get("/me", headers={"Authorization": header}), 401, "auth_required")


def test_the_bearer_scheme_is_case_insensitive(api):
    alice = api.signup("alice")

    response = api.client.get("/me", headers={"Authorization": f"bearer {alice.token}"})

    assert response.status_code == 200


def test_a_token_left_unused_expires_token_ttl_days_after_sign_in(api, clock):
    alice = api.signup("alice")

    clock.advance(30 * DAY_MS)

    error_of(api.me(alice), 401, "invalid_token")
    error_of(api.threads(alice), 401, "invalid_token")


def test_a_token_used_before_it_expires_lives_on(api, clock):
    alice = api.signup("alice")

    clock.advance(30 * DAY_MS - 1000)
    assert api.me(alice).status_code == 200

    clock.advance(30 * DAY_MS - 1000)  # a lifetime after that use, and not one more
    assert api.me(alice).status_code == 200
    clock.advance(31 * DAY_MS + 1000)
    error_of(api.me(alice), 401, "invalid_token")


def test_the_token_lifetime_is_configurable(make_api, clock):
    api = make_api(token_ttl_days=1)
    alice, bob = api.signup("alice"), api.signup("bob")

    clock.advance(DAY_MS - 1000)
    assert api.me(alice).status_code == 200

    clock.advance(1000)
    error_of(api.me(bob), 401, "invalid_token")
    assert api.me(alice).status_code == 200


def test_signing_in_again_after_expiry_gives_a_fresh_token(api, clock):
    alice = api.signup("alice")
    clock.advance(31 * DAY_MS)

    fresh = api.signin_user(alice)

    assert api.me(fresh).status_code == 200
    error_of(api.me(alice), 401, "invalid_token")


def test_an_expired_token_cannot_write(api, clock):
    alice = api.signup("alice")
    bob = api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    clock.advance(31 * DAY_MS)

    error_of(api.send(alice, thread_id, "late"), 401, "invalid_token")

    assert api.seqs(api.signin_user(bob), thread_id) == [1]


@pytest.mark.parametrize("path", PUBLIC)
def test_public_routes_need_no_token(api, path):
    assert api.client.get(path).status_code == 200


def test_public_routes_ignore_a_bad_token(api):
    response = api.client.get("/healthz", headers={"Authorization": "Bearer not-a-token"})

    assert response.status_code == 200


def test_signup_and_signin_need_no_token(api):
    alice = api.signup("alice")

    assert api.signin("alice").status_code == 200
    assert alice.token
