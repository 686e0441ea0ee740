"""Screenshots of the main screens, saved under test-artifacts/ (docs/screenshot.png is one)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.integration.clients import Http, Stream

from .test_delivery import session_of


def test_screenshots_of_sign_in_thread_list_conversation_and_settings(server, ui):
    visitor = ui.person(server.url, "visitor")
    expect(visitor.page.get_by_role("heading", name="Sign in")).to_be_visible()
    ui.screenshot(visitor, "sign-in")

    alice = ui.person(server.url, "alice").sign_up()
    me = session_of(alice)
    http = Http(server.url)
    bob, carol, dan = http.signup("bob"), http.signup("carol"), http.signup("dan")
    http.open_thread(dan, [me], "The meeting moved to 3 pm.")
    direct = http.open_thread(bob, [me], "Thanks again for yesterday!")
    http.send(me, direct, "Anytime :)")
    group = http.session.post(
        server.url + "/threads",
        json={
            "user_ids": [bob.user_id, me.user_id, carol.user_id],
            "title": "Weekend trip",
            "message": {
                "user_id": bob.user_id,
                "contents": "Who's in for the lake on Saturday?",
                "timestamp": 1,
            },
        },
        headers=bob.headers,
        timeout=10,
    ).json()["thread"]["thread_id"]
    for sender, text in [
        (carol, "Me! I can bring the big cooler."),
        (me, "Count me in. Leaving at 9?"),
        (bob, "9 works. I'll drive, three seats left."),
        (carol, "Perfect, see you at the station"),
        (me, "Great, I'll bring snacks for the road.\nAnyone allergic to nuts?"),
    ]:
        assert http.send(sender, group, text).status_code == 201
    alice.open_thread("Weekend trip")
    alice.page.mouse.move(700, 300)  # off the thread list: no hover highlight in the picture
    for reader in (bob, carol):
        http.session.post(
            f"{server.url}/threads/{group}/read", json={"seq": 6}, headers=reader.headers, timeout=10
        )
    with_carol = http.open_thread(carol, [me], "Did you see the photos?")
    http.send(carol, with_carol, "They're in the shared folder")

    expect(alice.page.locator(".seen")).to_have_text("Seen by bob, carol")
    expect(alice.thread("carol").locator(".badge")).to_have_text("2")
    typing = Stream(server.url, bob.token)
    try:
        typing.request({"action": "typing", "thread_id": group})
        expect(alice.page.locator(".typing-line")).to_have_text("bob is typing…")
        # Tall enough to show the whole conversation, and no focus ring in the picture.
        alice.page.set_viewport_size({"width": 1200, "height": 800})
        alice.page.locator(".messages").focus()
        ui.screenshot(alice, "conversation")
    finally:
        typing.close()

    phone = ui.person(server.url, "alice", mobile=True)
    phone.sign_in()
    expect(phone.thread("carol").locator(".badge")).to_have_text("2")
    ui.screenshot(phone, "thread-list")
    phone.open_thread("Weekend trip")
    phone.expect_message("Perfect, see you at the station")
    ui.screenshot(phone, "conversation-phone")
    phone.page.get_by_role("link", name="Back to conversations").click()
    phone.open_settings()
    ui.screenshot(phone, "settings-phone")
