"""Bad requests at the HTTP level: never a 500, never HTML, never a partial write."""

from __future__ import annotations

import json

import pytest

from .client import error_of, message_body


@pytest.fixture
def world(api):
    """alice and bob with a 1:1 thread holding one message."""
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")
    return alice, bob, thread_id


def json_routes(thread_id, bob_id):
    """Every route that takes a JSON body, with a path that exists."""
    return [
        "/auth/signup",
        "/auth/signin",
        "/message",
        "/threads",
        "/actions",
        f"/threads/{thread_id}/read",
        f"/threads/{thread_id}/members",
    ]


BAD_JSON = ['{"thread_id": ', "{'a': 1}", "{", "nope", '{"a": 1,}', "\xff", "[" * 30000, '{"a":' * 12000]


def test_malformed_json_is_a_400_invalid_json(api, world):
    alice, bob, thread_id = world
    before = api.snapshot(alice, bob)

    for path in json_routes(thread_id, bob.user_id):
        for text in BAD_JSON:
            data = text.encode("latin-1") if text == "\xff" else text
            response = api.raw("POST", path, alice, data=data, content_type="application/json")
            error_of(response, 400, "invalid_json")

    assert api.snapshot(alice, bob) == before


HUGE_INTEGER = "9" * 4301  # one digit over Python's int max str digits (4,300)
HUGE_EXPONENTS = ["1e999999", "-1e400", "1E+400", "-0.5e99999"]


def bodies_with_number(number: str, thread_id: str, alice_id: str) -> list[str]:
    """A valid-looking body per field kind, with ``number`` where an integer (or anything) goes."""
    message = f'{{"user_id": "{alice_id}", "contents": "hi", "timestamp": {number}}}'
    return [
        f'{{"seq": {number}}}',
        f'{{"thread_id": "{thread_id}", "message": {message}, "action": "send_message"}}',
        f'{{"user_ids": ["{alice_id}"], "message": {message}}}',
        f'{{"login": "alice", "password": {number}}}',
        f'{{"email": "x@example.com", "username": "someone", "password": "p", "extra": [{number}]}}',
        f"[{number}]",
        number,
    ]


def test_an_integer_longer_than_4300_digits_is_a_400_invalid_json_on_every_route(api, world):
    alice, bob, thread_id = world
    before = api.snapshot(alice, bob)

    for path in json_routes(thread_id, bob.user_id):
        for text in bodies_with_number(HUGE_INTEGER, thread_id, alice.user_id):
            response = api.raw("POST", path, alice, data=text, content_type="application/json")
            error_of(response, 400, "invalid_json")

    assert api.snapshot(alice, bob) == before


def test_an_integer_of_4300_digits_parses_and_is_refused_by_the_schema(api, world):
    alice, _, thread_id = world

    response = api.raw(
        "POST",
        f"/threads/{thread_id}/read",
        alice,
        data='{"seq": ' + "9" * 4300 + "}",
        content_type="application/json",
    )

    assert set(error_of(response, 422, "validation_error")) == {"seq"}


def test_a_huge_exponent_is_refused_never_a_server_error(api, world):
    alice, bob, thread_id = world
    before = api.snapshot(alice, bob)

    for path in json_routes(thread_id, bob.user_id):
        for number in HUGE_EXPONENTS:
            for text in bodies_with_number(number, thread_id, alice.user_id):
                response = api.raw("POST", path, alice, data=text, content_type="application/json")
                assert 400 <= response.status_code < 500, (path, text, response.get_data(as_text=True))
                assert set(response.get_json()["error"]) == {"code", "message", "details"}

    assert api.snapshot(alice, bob) == before


def test_invalid_utf8_is_a_400_invalid_json(api, world):
    alice, _, thread_id = world
    body = b'{"thread_id": "' + thread_id.encode() + b'", "message": {"contents": "\xc3\x28"}}'

    error_of(
        api.raw("POST", "/message", alice, data=body, content_type="application/json"), 400, "invalid_json"
    )


CURL_HEADER = "-H 'Content-Type: application/json'"
# What curl -d, fetch() with a string body and a bare client send when nobody picks a type.
UNLABELLED_TYPES = [None, "application/x-www-form-urlencoded", "text/plain;charset=UTF-8"]


def test_a_body_that_is_not_json_is_a_400_naming_the_header_to_add(api, world):
    alice, bob, thread_id = world
    before = api.snapshot(alice, bob)
    body = json.dumps({"thread_id": thread_id, "message": message_body(alice, "sneaky")})
    form = f"thread_id={thread_id}&message=sneaky"
    paths = [
        *json_routes(thread_id, bob.user_id),
        "/auth/signout",
        f"/threads/{thread_id}/members/{bob.user_id}",
    ]
    cases = [
        *((content_type, form) for content_type in UNLABELLED_TYPES),  # a real form post
        ("multipart/form-data; boundary=x", body),
        ("text/json", body),
        ("application/xml", body),
    ]

    for content_type, data in cases:
        for path in paths:
            method = "DELETE" if "/members/" in path else "POST"
            response = api.raw(method, path, alice, data=data, content_type=content_type)
            error_of(response, 400, "unsupported_content_type")
            assert CURL_HEADER in response.get_json()["error"]["message"], (content_type, path)

    assert api.snapshot(alice, bob) == before
    assert api.me(alice).status_code == 200  # the signout was refused, not run


@pytest.mark.parametrize("content_type", UNLABELLED_TYPES)
def test_json_sent_by_curl_d_or_with_no_content_type_is_read_as_json(api, content_type):
    def post(path: str, payload: dict, who=None):
        return api.raw("POST", path, who, data=json.dumps(payload), content_type=content_type)

    signed_up = post(
        "/auth/signup", {"email": "a@example.com", "username": "alice", "password": "correct horse"}
    )
    assert signed_up.status_code == 201, signed_up.get_data(as_text=True)
    alice_token = signed_up.get_json()["token"]
    assert post("/auth/signin", {"login": "alice", "password": "correct horse"}).status_code == 200
    bob = api.signup("bob")

    created = post("/threads", {"usernames": ["bob"], "message": {"contents": "hi"}}, alice_token)
    assert created.status_code == 201, created.get_data(as_text=True)
    thread_id = created.get_json()["thread"]["thread_id"]
    sent = post("/message", {"thread_id": thread_id, "message": {"contents": "again"}}, alice_token)
    by_action = post("/actions", {"action": "get_user_threads", "user_id": bob.user_id}, bob)
    marked = post(f"/threads/{thread_id}/read", {"seq": 2}, bob)

    assert (sent.status_code, by_action.status_code, marked.status_code) == (201, 200, 200)
    assert api.thread_view(bob, thread_id)["unread_count"] == 0
    invalid = post("/message", {"thread_id": thread_id, "message": {"contents": " "}}, alice_token)
    error_of(invalid, 422, "validation_error")  # read as JSON, then validated like any other


def test_a_get_with_a_body_is_refused_naming_its_query_parameters(app, api, world):
    alice, bob, thread_id = world
    naming_bob = json.dumps({"user_id": bob.user_id, "start_index": 0, "end_index": 5})

    for content_type in ["application/json", None]:
        details = error_of(
            api.raw("GET", "/threads", alice, data=naming_bob, content_type=content_type),
            400,
            "body_not_allowed",
        )
        assert details == {"query_parameters": ["user_id", "start_index", "end_index"]}
    response = api.raw("GET", f"/threads/{thread_id}/messages", alice, data=naming_bob)
    error_of(response, 400, "body_not_allowed")
    message = response.get_json()["error"]["message"]
    assert message.startswith("GET /threads/<thread_id>/messages takes no body")
    assert "user_id, start_index, end_index, before_seq, limit" in message

    get_rules = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods]
    assert len(get_rules) > 10
    for rule in get_rules:
        path = rule.rule.replace("<thread_id>", thread_id).replace("<path:filename>", "app.css")
        error_of(
            api.raw("GET", path, alice, data="{}", content_type="application/json"), 400, "body_not_allowed"
        )
        assert api.raw("HEAD", path, alice, data="{}", content_type="application/json").status_code == 400


def test_a_json_content_type_with_parameters_is_accepted(api, world):
    alice, bob, thread_id = world
    body = json.dumps({"thread_id": thread_id, "message": message_body(alice, "utf8")})

    response = api.raw("POST", "/message", alice, data=body, content_type="application/json; charset=utf-8")

    assert response.status_code == 201
    assert api.seqs(bob, thread_id) == [2, 1]


def test_a_bodyless_post_without_content_type_works_where_nothing_is_needed(api, world):
    alice, bob, _ = world
    thread_id = api.open_thread(alice, [bob, api.signup("carol")])

    leave = api.raw("DELETE", f"/threads/{thread_id}/members/{bob.user_id}", bob)
    signout = api.raw("POST", "/auth/signout", alice)

    assert (leave.status_code, signout.status_code) == (204, 204)
    error_of(api.me(alice), 401, "invalid_token")


def test_a_bodyless_post_where_a_body_is_needed_is_a_422(api, world):
    alice, bob, thread_id = world
    before = api.snapshot(alice, bob)

    for path in [
        "/message",
        "/threads",
        f"/threads/{thread_id}/read",
        f"/threads/{thread_id}/members",
        "/actions",
    ]:
        details = error_of(api.raw("POST", path, alice), 422, "validation_error")
        assert details, path

    assert api.snapshot(alice, bob) == before


def test_json_that_is_not_an_object_is_a_422(api, world):
    alice, bob, thread_id = world
    before = api.snapshot(alice, bob)

    for text in ["[]", "null", "[1, 2]", '"text"', "42", "true", '[{"action": "send_message"}]']:
        for path in json_routes(thread_id, bob.user_id):
            response = api.raw("POST", path, alice, data=text, content_type="application/json")
            error_of(response, 422, "validation_error")

    assert api.snapshot(alice, bob) == before


def test_a_body_over_64_kib_is_a_413(api, world):
    alice, bob, thread_id = world
    before = api.snapshot(alice, bob)
    padding = "a" * (64 * 1024)

    for path in json_routes(thread_id, bob.user_id):
        body = json.dumps({"thread_id": thread_id, "message": message_body(alice, "hi"), "padding": padding})
        response = api.raw("POST", path, alice, data=body, content_type="application/json")
        error_of(response, 413, "payload_too_large")

    assert api.snapshot(alice, bob) == before


def test_a_body_just_under_64_kib_is_read_and_validated(api, world):
    alice, _, thread_id = world
    body = json.dumps({"thread_id": thread_id, "message": message_body(alice, "hi"), "padding": ""})
    body = body.replace('"padding": ""', '"padding": "' + "a" * (64 * 1024 - len(body)) + '"')
    assert len(body) == 64 * 1024

    response = api.raw("POST", "/message", alice, data=body, content_type="application/json")

    assert set(error_of(response, 422, "validation_error")) == {"padding"}


def test_the_body_size_limit_is_configurable(make_api):
    api = make_api(max_content_length=1024)
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "m1")

    error_of(api.send(alice, thread_id, "x" * 1100), 413, "payload_too_large")

    assert api.send(alice, thread_id, "x" * 700).status_code == 201
    assert api.seqs(bob, thread_id) == [2, 1]


@pytest.mark.parametrize("path", ["/nope", "/threads/a/b/c", "/message/1", "/auth", "/api/threads"])
def test_an_unknown_route_is_a_json_404(api, path):
    error_of(api.client.get(path), 404, "not_found")
    error_of(api.client.post(path, json={}), 404, "not_found")


def test_a_missing_docs_asset_is_a_json_404(api):
    error_of(api.client.get("/docs/assets/no-such-file.js"), 404, "not_found")
    error_of(api.client.get("/docs/assets/../../../etc/passwd"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/message", {"POST"}),
        ("PUT", "/threads", {"GET", "POST"}),
        ("DELETE", "/threads/t", {"GET"}),
        ("GET", "/threads/t/read", {"POST"}),
        ("GET", "/threads/t/members", {"POST"}),
        ("GET", "/threads/t/members/u", {"DELETE"}),
        ("GET", "/auth/signup", {"POST"}),
        ("GET", "/actions", {"POST"}),
        ("POST", "/me", {"GET"}),
        ("POST", "/healthz", {"GET"}),
    ],
)
def test_a_wrong_method_is_a_json_405_naming_the_allowed_ones(api, method, path, allowed):
    response = api.client.open(path, method=method)

    error_of(response, 405, "method_not_allowed")
    assert allowed <= {verb.strip() for verb in response.headers["Allow"].split(",")}


def test_a_rejected_write_after_many_mistakes_leaves_everything_as_it_was(api, world):
    alice, bob, _ = world
    thread_id = api.open_thread(alice, [bob, api.signup("carol")])
    api.send_ok(bob, thread_id, "m2")
    before = api.snapshot(alice, bob)

    attempts = [
        api.send(alice, thread_id, ""),
        api.send(alice, thread_id, "x" * 4001),
        api.send(alice, thread_id, message=message_body(bob)),
        api.send(alice, thread_id, message={**message_body(alice), "timestamp": "now"}),
        api.create_thread(alice, [alice, bob, "ghost"]),
        api.create_thread(alice, [alice]),
        api.add_members(alice, thread_id, ["ghost"]),
        api.remove_member(bob, thread_id, alice),
        api.mark_read(alice, thread_id, -5),
    ]

    assert all(400 <= response.status_code < 500 for response in attempts)
    assert api.snapshot(alice, bob) == before
