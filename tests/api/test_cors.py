"""CORS: pages of ALLOWED_ORIGINS may call the API from a browser; other origins get no header."""

from __future__ import annotations

import pytest

from messenger.web.client import CONTENT_SECURITY_POLICY

from .client import error_of

APP = "http://app.example"
EVIL = "http://evil.example"
ALLOW_ORIGIN = "Access-Control-Allow-Origin"


def preflight(
    api, path: str, origin: str, method: str = "POST", headers: str = "authorization, content-type"
):
    return api.client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def cors_headers(response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("Access-Control-")}


@pytest.fixture
def cors_api(make_api):
    return make_api(allowed_origins=(APP,))


def test_a_preflight_from_an_allowed_origin_is_answered_on_every_route_without_a_token(cors_api):
    routes = [
        ("POST", "/auth/signup"),
        ("POST", "/message"),
        ("POST", "/threads"),
        ("GET", "/threads"),
        ("GET", "/threads/t1/messages"),
        ("POST", "/threads/t1/read"),
        ("DELETE", "/threads/t1/members/u1"),
        ("POST", "/actions"),
        ("GET", "/me"),
    ]
    for method, path in routes:
        response = preflight(cors_api, path, APP, method)

        assert response.status_code == 200, (method, path, response.get_data(as_text=True))
        headers = cors_headers(response)
        assert headers[ALLOW_ORIGIN] == APP
        assert set(headers["Access-Control-Allow-Methods"].split(", ")) == {
            "GET",
            "POST",
            "PATCH",
            "DELETE",
            "OPTIONS",
        }
        assert set(headers["Access-Control-Allow-Headers"].split(", ")) == {"authorization", "content-type"}
        assert headers["Access-Control-Max-Age"] == "600"
        assert "Access-Control-Allow-Credentials" not in headers
        assert response.headers["Vary"] == "Origin"


def test_actual_answers_to_an_allowed_origin_carry_cors_headers_refusals_too(cors_api):
    alice = cors_api.signup("alice")

    ok = cors_api.client.get("/me", headers={**alice.headers, "Origin": APP})
    refused = cors_api.client.get("/me", headers={"Origin": APP})

    assert ok.status_code == 200
    error_of(refused, 401, "auth_required")  # the page can read why, not only that it failed
    for response in (ok, refused):
        headers = cors_headers(response)
        assert headers[ALLOW_ORIGIN] == APP
        assert set(headers["Access-Control-Expose-Headers"].split(", ")) == {"Retry-After", "X-Request-ID"}
        assert "Access-Control-Allow-Credentials" not in headers


def test_a_preflight_needs_no_token_and_passes_even_past_a_rate_limit(make_api):
    api = make_api(allowed_origins=(APP,), rate_limits_enabled=True, rate_limit_read="1 per minute")
    alice = api.signup("alice")
    assert api.me(alice).status_code == 200

    limited = api.client.get("/me", headers={**alice.headers, "Origin": APP})
    error_of(limited, 429, "rate_limited")
    assert limited.headers[ALLOW_ORIGIN] == APP and limited.headers["Retry-After"]
    for _ in range(3):
        assert preflight(api, "/me", APP, "GET").headers.get(ALLOW_ORIGIN) == APP


def test_another_origin_gets_no_cors_header_at_all(cors_api):
    alice = cors_api.signup("alice")

    for response in (
        preflight(cors_api, "/message", EVIL),
        preflight(cors_api, "/message", APP + ".evil.example"),
        preflight(cors_api, "/message", "null"),
        cors_api.client.get("/me", headers={**alice.headers, "Origin": EVIL}),
    ):
        assert cors_headers(response) == {}


def test_a_header_beyond_the_allowed_ones_is_not_allowed(cors_api):
    response = preflight(cors_api, "/message", APP, headers="authorization, x-secret")

    assert "x-secret" not in response.headers.get("Access-Control-Allow-Headers", "")


def test_without_allowed_origins_no_origin_gets_cors_headers(api):
    alice = api.signup("alice")

    assert cors_headers(preflight(api, "/message", APP)) == {}
    assert cors_headers(api.client.get("/me", headers={**alice.headers, "Origin": APP})) == {}


def test_origins_are_matched_literally_and_star_allows_any_without_credentials(make_api):
    ipv6 = make_api(allowed_origins=("http://[::1]:8080",))
    anyone = make_api(allowed_origins=("*",))

    assert preflight(ipv6, "/me", "http://[::1]:8080", "GET").headers.get(ALLOW_ORIGIN) == "http://[::1]:8080"
    assert ALLOW_ORIGIN not in preflight(ipv6, "/me", "http://1:8080", "GET").headers  # not a character class
    answer = preflight(anyone, "/me", EVIL, "GET")
    assert answer.headers[ALLOW_ORIGIN] in ("*", EVIL)
    assert "Access-Control-Allow-Credentials" not in answer.headers


def test_the_web_client_and_the_docs_keep_their_own_security_headers(cors_api):
    page = cors_api.client.get("/", headers={"Origin": APP})
    docs = cors_api.client.get("/docs")

    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "connect-src 'self';" in docs.headers["Content-Security-Policy"]
    assert docs.headers["X-Content-Type-Options"] == "nosniff"


def test_a_cross_site_simple_post_carries_no_token_so_it_does_nothing(cors_api):
    # What a page of another site can send without a preflight: text/plain JSON, cookies attached.
    alice, bob = cors_api.signup("alice"), cors_api.signup("bob")
    thread_id = cors_api.open_thread(alice, [bob])
    body = f'{{"thread_id": "{thread_id}", "message": {{"contents": "forged"}}}}'

    forged = cors_api.client.post(
        "/message",
        data=body,
        content_type="text/plain;charset=UTF-8",
        headers={"Origin": EVIL, "Cookie": f"token={alice.token}; session={alice.token}"},
    )

    error_of(forged, 401, "auth_required")
    assert cors_headers(forged) == {}
    assert cors_api.seqs(bob, thread_id) == [1]
