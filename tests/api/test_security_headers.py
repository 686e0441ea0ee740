"""Security headers: nosniff on every response, no-store on every API answer, a CSP on /docs."""

from __future__ import annotations

import base64
import hashlib
import re

from .client import message_body


def test_every_response_says_nosniff(api):
    alice = api.signup("alice")
    responses = [
        api.client.get("/healthz"),
        api.client.get("/threads", headers=alice.headers),
        api.client.get("/threads"),  # a 401
        api.client.get("/no-such-page"),  # a 404
        api.client.get("/docs"),
        api.client.get("/openapi.json"),
        api.client.get("/"),  # the web client sets its own, and keeps it
    ]
    for response in responses:
        assert response.headers.get("X-Content-Type-Options") == "nosniff", response.request.path
        response.close()


def test_authenticated_answers_and_tokens_are_never_stored_by_a_cache(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    responses = [
        api.client.post("/auth/signin", json={"login": "alice", "password": alice.password}),
        api.client.get("/me", headers=alice.headers),
        api.client.get("/threads", headers=alice.headers),
        api.client.get(f"/threads/{thread_id}/messages", headers=alice.headers),
        api.send(alice, thread_id, message=message_body(alice, "hi")),
        api.client.get("/updates?since=0&timeout=0", headers=alice.headers),
        api.client.get("/threads", headers={"Authorization": "Bearer wrong"}),
    ]
    for response in responses:
        assert response.headers.get("Cache-Control") == "no-store", response.request.path


def test_routes_with_their_own_caching_keep_it(api):
    assert api.client.get("/").headers["Cache-Control"] == "no-cache"  # the web client
    asset = api.client.get("/docs/assets/swagger-ui.css")
    assert "max-age=3600" in asset.headers["Cache-Control"]
    asset.close()


def test_the_docs_page_may_not_be_framed_and_runs_only_its_own_scripts(api):
    response = api.client.get("/docs")

    directives = response.headers["Content-Security-Policy"].split(";")
    policy = dict(directive.strip().split(" ", 1) for directive in directives)
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    html = response.get_data()
    (inline,) = re.findall(rb"<script>(.*?)</script>", html, re.S)
    digest = base64.b64encode(hashlib.sha256(inline).digest()).decode()
    assert policy["script-src"] == f"'self' 'sha256-{digest}'"


def test_the_docs_page_names_no_other_site(api):
    html = api.client.get("/docs").get_data(as_text=True)

    assert "http://" not in html and "https://" not in html
    assert '"validatorUrl": null' in html  # Swagger UI's default badge would call validator.swagger.io
