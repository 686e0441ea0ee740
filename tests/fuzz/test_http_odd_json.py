"""hypothesis on what schemathesis does not generate: JSON text Python's encoder cannot write.

JSON may spell a lone surrogate (``"\\ud800"``) that no store can encode as UTF-8, an integer
longer than Python converts (over 4,300 digits), or an exponent past a float's range. Put one
into a valid body — a lone surrogate at the start of any string (key or value), a number in place
of any value, of any route that takes JSON — and the answer must be a documented refusal (4xx,
``{"error": ...}``) or a success, never a server error; an over-long integer is 400 invalid_json.
"""

from __future__ import annotations

import dataclasses
import json
import re

import hypothesis.strategies as st
import pytest
from hypothesis import given, seed

from messenger import create_app
from messenger.config import Settings
from messenger.wiring import build_deps, build_store

from .conftest import CASES_RUN, HTTP_EXAMPLES, SEED, hypothesis_settings
from .strategies import is_huge_integer, leaf_paths, odd_numbers, with_number_at

LONE_SURROGATES = ["\\ud800", "\\udbff", "\\udc00", "\\udfff", "a\\ud83d", "\\ude00\\ud83d"]
EXAMPLES = max(1, HTTP_EXAMPLES // 4)  # FUZZ_EXAMPLES: 150 in `make test`, more in `make soak`


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    path = tmp_path_factory.mktemp("odd-json") / "messenger.db"
    settings = Settings(sqlite_path=str(path), prune_interval_s=0)
    if "rate_limits_enabled" in {f.name for f in dataclasses.fields(Settings)}:
        settings = settings.with_overrides(rate_limits_enabled=False)
    store = build_store(settings)
    store.setup()
    yield create_app(settings, deps=build_deps(settings, store))
    store.close()


@pytest.fixture(scope="module")
def people(app):
    client = app.test_client()
    found = []
    for name in ("surrogate_a", "surrogate_b"):
        body = {"email": f"{name}@example.com", "username": name, "password": "correct horse battery"}
        reply = client.post("/auth/signup", json=body)
        assert reply.status_code == 201, reply.get_data(as_text=True)
        found.append(reply.json)
    me, peer = found
    thread = client.post(
        "/threads",
        headers={"Authorization": f"Bearer {me['token']}"},
        json={
            "user_ids": [me["user_id"], peer["user_id"]],
            "message": {"user_id": me["user_id"], "contents": "hi", "timestamp": 1},
        },
    )
    assert thread.status_code == 201, thread.get_data(as_text=True)
    return me, peer, thread.json["thread"]["thread_id"]


def valid_requests(me: dict, peer: dict, thread_id: str) -> list[tuple[str, str, dict]]:
    message = {"user_id": me["user_id"], "contents": "hello", "timestamp": 2, "client_msg_id": "c-1"}
    return [
        ("POST", "/auth/signup", {"email": "n@example.com", "username": "newname", "password": "long pass"}),
        ("POST", "/auth/signin", {"login": "surrogate_a", "password": "correct horse battery"}),
        ("POST", "/message", {"thread_id": thread_id, "message": message, "action": "send_message"}),
        (
            "POST",
            "/threads",
            {"user_ids": [me["user_id"], peer["user_id"]], "message": message, "title": "t"},
        ),
        ("POST", f"/threads/{thread_id}/read", {"seq": 1}),
        ("POST", f"/threads/{thread_id}/members", {"user_ids": [peer["user_id"]]}),
        ("POST", "/actions", {"action": "get_user_threads", "user_id": me["user_id"]}),
        (
            "POST",
            "/actions",
            {"action": "get_thread_messages", "user_id": me["user_id"], "thread_id": thread_id},
        ),
    ]


def with_lone_surrogate(data: st.DataObject, body: dict) -> tuple[str, str | None]:
    """The body's text with a lone surrogate escape just after an opening quote."""
    text = json.dumps(body)
    starts = [match.end() for match in re.finditer(r'"', text)][::2]  # just after each opening quote
    at = data.draw(st.sampled_from(starts), label="at")
    return text[:at] + data.draw(st.sampled_from(LONE_SURROGATES), label="surrogate") + text[at:], None


def with_odd_number(data: st.DataObject, body: dict) -> tuple[str, str | None]:
    """The body's text with a huge integer or exponent in place of one of its values."""
    path = data.draw(st.sampled_from(leaf_paths(body)), label="path")
    number = data.draw(odd_numbers(), label="number")
    return with_number_at(body, path, number), number


def test_odd_json_text_in_any_valid_body_is_refused_never_a_server_error(app, people):
    me, peer, thread_id = people
    client = app.test_client()
    headers = {"Authorization": f"Bearer {me['token']}", "Content-Type": "application/json"}

    @hypothesis_settings(EXAMPLES)
    @given(data=st.data())
    def run(data) -> None:
        method, path, body = data.draw(st.sampled_from(valid_requests(me, peer, thread_id)), label="request")
        odd = data.draw(st.sampled_from([with_lone_surrogate, with_odd_number]), label="odd")
        text, number = odd(data, body)
        reply = client.open(path, method=method, data=text.encode("ascii"), headers=headers)
        CASES_RUN["http odd json" if number is None else "http odd numbers"] += 1
        shown = text if len(text) < 500 else text[:250] + "..." + text[-250:]
        assert reply.status_code < 500, (path, shown, reply.get_data(as_text=True))
        if reply.status_code >= 400:
            error = reply.get_json()["error"]
            assert set(error) == {"code", "message", "details"}, (path, shown, error)
        if number is not None and is_huge_integer(number):
            assert (reply.status_code, reply.get_json()["error"]["code"]) == (400, "invalid_json"), shown

    if SEED:
        run = seed(int(SEED))(run)
    run()
