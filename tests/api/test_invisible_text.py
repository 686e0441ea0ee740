"""Text that shows nothing, and bidi controls that make a title read as something else."""

from __future__ import annotations

import pytest

from .client import error_of, message_body

INVISIBLE_ONLY = [
    "\u200b",  # zero-width space
    "\u200b\u200c\u200d\u2060\ufeff",  # zero-width non-joiner, joiner, word joiner, BOM
    "\u200f\u200e\u061c",  # bidi marks
    "\u202e\u202d\u2066\u2069",  # an override and isolates
    "\u00a0\u2002\u2009\u3000 \t\n",  # no-break, en, thin, ideographic spaces
    "\u00ad\u180e",  # soft hyphen, Mongolian vowel separator
    "\u3164\u115f\uffa0\u2800",  # Hangul fillers and the Braille blank: drawn as blank space
    "\u0301\u034f\ufe0f",  # combining marks and a variation selector with no base
    "\U000e0041\U000e007f",  # tag characters
]
BIDI_CONTROLS = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
BIDI_CONTROLS += ["\u200e", "\u200f", "\u061c"]


@pytest.fixture
def trio(api):
    alice, bob, carol = api.signup("alice"), api.signup("bob"), api.signup("carol")
    return alice, bob, carol, api.open_thread(alice, [bob], "first")


@pytest.mark.parametrize("contents", INVISIBLE_ONLY)
def test_contents_of_only_invisible_characters_are_refused_everywhere(api, trio, contents):
    alice, bob, carol, thread_id = trio
    before = api.snapshot(alice, bob)

    sent = error_of(api.send(alice, thread_id, contents), 422, "validation_error")
    opened = error_of(api.create_thread(alice, [alice, bob, carol], contents), 422, "validation_error")
    action = api.action(
        alice, {"action": "send_message", "thread_id": thread_id, "message": message_body(alice, contents)}
    )

    for details in (sent, opened, error_of(action, 422, "validation_error")):
        assert set(details) == {"message"} and list(details["message"]) == ["contents"], details
        assert "Must show something" in details["message"]["contents"][0]
    assert api.snapshot(alice, bob) == before


@pytest.mark.parametrize(
    "contents",
    [
        "\u200fשלום\u200f",  # right-to-left marks around Hebrew
        "\u2067مرحبا\u2069 hi",  # an isolate around Arabic
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # a family emoji joined by ZWJs
        "e\u0301",
        "\u200b.",
    ],
)
def test_contents_with_something_visible_may_keep_marks_and_joiners(api, trio, contents):
    alice, bob, _, thread_id = trio

    assert api.send_ok(alice, thread_id, contents)["contents"] == contents


@pytest.mark.parametrize("title", INVISIBLE_ONLY)
def test_a_group_title_of_only_invisible_characters_is_refused(api, trio, title):
    alice, bob, carol, _ = trio

    details = error_of(
        api.create_thread(alice, [alice, bob, carol], "hi", title=title), 422, "validation_error"
    )

    assert list(details) == ["title"]
    assert any(text.startswith("Must show something") for text in details["title"]), details
    assert len(api.thread_list(alice)) == 1


@pytest.mark.parametrize("control", BIDI_CONTROLS)
def test_a_group_title_with_a_bidi_control_is_refused_naming_it(api, trio, control):
    alice, bob, carol, _ = trio
    payload = {
        "action": "create_thread",
        "user_ids": [alice.user_id, bob.user_id, carol.user_id],
        "message": message_body(alice, "hi"),
        "title": f"Invoice {control}fdp.exe",
    }

    for response in (
        api.create_thread(alice, [alice, bob, carol], "hi", title=payload["title"]),
        api.action(alice, payload),
    ):
        details = error_of(response, 422, "validation_error")
        assert details == {
            "title": [f"Must not hold bidirectional control characters (U+{ord(control):04X})."]
        }
    assert len(api.thread_list(alice)) == 1


def test_a_title_in_a_right_to_left_script_is_kept(api, trio):
    alice, bob, carol, _ = trio

    reply = api.create_thread(alice, [alice, bob, carol], "hi", title="مرحبا \U0001f44b")

    assert reply.status_code == 201 and reply.get_json()["thread"]["title"] == "مرحبا \U0001f44b"


@pytest.mark.parametrize("control", BIDI_CONTROLS + ["\u200b"])
def test_a_username_with_a_bidi_control_or_invisible_character_is_refused(api, control):
    reply = api.signup_raw(
        {"email": "e@example.com", "username": f"{control}alice", "password": "correct horse"}
    )

    assert list(error_of(reply, 422, "validation_error")) == ["username"]
