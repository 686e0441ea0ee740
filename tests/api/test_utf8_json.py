"""Replies, stored update bodies and frames are UTF-8 JSON: an emoji costs 4 bytes, not 12."""

from __future__ import annotations

import json
import sqlite3

from messenger.web.context import EXTENSION_KEY

from .client import error_of, message_body

EMOJI_MESSAGE = "\U0001f600\U0001f389\U0001f44d\U0001f680" * 1000  # 4,000 characters, the limit


def test_a_page_of_100_emoji_messages_is_under_half_its_escaped_size(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], EMOJI_MESSAGE)
    for _ in range(99):
        api.send_ok(alice, thread_id, EMOJI_MESSAGE)

    reply = api.messages(bob, thread_id, start_index=0, end_index=100)

    assert reply.status_code == 200
    page = reply.get_json()
    assert [m["contents"] for m in page["messages"]] == [EMOJI_MESSAGE] * 100
    escaped = len(json.dumps(page, separators=(",", ":")))  # ~4.8 MB: 12 bytes per emoji
    assert len(reply.get_data()) < escaped / 2, (len(reply.get_data()), escaped)
    assert reply.get_data().decode("utf-8")  # valid UTF-8


def test_an_update_stored_with_escapes_by_an_older_release_still_reads(app, api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "first")
    cursor = api.client.get("/updates", headers=bob.headers).get_json()["cursor"]
    api.send_ok(alice, thread_id, "caf\u00e9 \U0001f389")
    path = app.extensions[EXTENSION_KEY].settings.sqlite_path
    with sqlite3.connect(path) as conn:
        (body,) = conn.execute(
            "SELECT body FROM updates WHERE cursor = ? AND user_id = ?", (cursor + 1, bob.user_id)
        ).fetchone()
        assert "\U0001f389" in body  # written as UTF-8 now
        old = json.dumps(json.loads(body), separators=(",", ":"))  # as older releases wrote it
        assert "\\ud83c\\udf89" in old
        conn.execute(
            "UPDATE updates SET body = ? WHERE cursor = ? AND user_id = ?", (old, cursor + 1, bob.user_id)
        )

    (update,) = api.client.get("/updates", query_string={"since": cursor}, headers=bob.headers).get_json()[
        "updates"
    ]

    assert update["message"]["contents"] == "caf\u00e9 \U0001f389"


def test_an_error_echoing_a_lone_surrogate_is_still_valid_utf8_json(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob], "first")
    body = json.dumps({"thread_id": thread_id, "message": message_body(alice)})[:-1] + ', "\\ud800odd": 1}'

    response = api.raw("POST", "/message", alice, data=body, content_type="application/json")

    details = error_of(response, 422, "validation_error")
    assert details == {"\ud800odd": ["Unknown field."]}
    assert "\\ud800odd" in response.get_data().decode("utf-8")
