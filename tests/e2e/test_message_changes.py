"""Changing messages in the web client: mentions, replies, edits, reactions and deletions, seen
live by the other person, and the same after a reload and after a reconnect."""

from __future__ import annotations

from urllib.parse import quote

from playwright.sync_api import Locator, expect

from tests.integration.clients import Http, User

from .test_delivery import RECONNECT_TIMEOUT_MS, expect_live, session_of
from .ui import Cuttable, Person

FILLERS = 55  # more than the newest page (50): the first message is on an older page


def api_changes(http: Http, thread_id: str):
    """change(method, user, "<seq>[/reactions/<emoji>]", json=...) → the status, via the HTTP API."""

    def change(method: str, user: User, where, json: dict | None = None) -> int:
        url = f"{http.base_url}/threads/{thread_id}/messages/{where}"
        reply = http.session.request(method, url, json=json, headers=user.headers, timeout=10)
        return reply.status_code

    return change


def chip(row: Locator, emoji: str) -> Locator:
    return row.locator(f".reaction[data-emoji='{emoji}']")


def act_on(person: Person, text: str, action: str) -> None:
    """Hover a message and press one of its actions (Reply, React, Edit, Delete)."""
    row = person.message(text)
    row.hover()
    row.get_by_role("button", name=action, exact=True).click()


def scroll_to_top_until(person: Person, text: str) -> None:
    """Scroll up (older pages load) until the message is there."""
    scroller = person.page.locator(".messages")
    for _ in range(10):
        if person.message(text).count():
            break
        scroller.evaluate("el => { el.scrollTop = 0; }")
        person.page.wait_for_timeout(300)
    expect(person.message(text)).to_be_visible()


def test_mentions_replies_edits_reactions_and_deletions_live_after_reload_and_reconnect(server, ui):
    line = Cuttable()
    alice = ui.person(server.url, "alice", websocket_route=line.route).sign_up()
    bob = ui.person(server.url, "bob").sign_up()
    alice.start_chat("bob")
    alice.send("First message")
    expect(alice.message("First message")).to_have_attribute("data-status", "sent")
    thread_id = alice.page.locator(".thread-item").get_attribute("data-thread-id")
    http = Http(server.url)
    alice_api, bob_api = session_of(alice), session_of(bob)
    for number in range(FILLERS):
        assert http.send(alice_api, thread_id, f"Filler {number}").status_code == 201

    # @ completion: Alice types "@b", picks bob from the members offered, and sends.
    alice.composer.press_sequentially("Lunch with @b")
    option = alice.page.get_by_role("option", name="@bob")
    expect(option).to_be_visible()
    alice.composer.press("Enter")  # picks the suggestion, does not send
    expect(alice.composer).to_have_value("Lunch with @bob ")
    alice.composer.press_sequentially("today?")
    alice.composer.press("Enter")
    expect(alice.message("Lunch with @bob today?").locator("mark.mention")).to_have_text("@bob")

    # Bob, on his thread list, sees the "@" badge; opening the thread shows the highlight.
    expect(bob.thread("alice").locator(".mention-badge")).to_be_visible()
    bob.open_thread("alice")
    expect(bob.message("Lunch with @bob today?").locator("mark.mention.me")).to_have_text("@bob")
    expect(bob.thread("alice").locator(".mention-badge")).to_have_count(0)

    # Alice edits in place: Escape cancels, Enter saves; Bob sees the new text and "edited" live.
    act_on(alice, "Lunch with @bob today?", "Edit")
    expect(alice.composer).to_have_value("Lunch with @bob today?")
    alice.composer.press("Escape")
    expect(alice.composer).to_have_value("")
    expect(alice.page.locator(".compose-bar")).to_be_hidden()
    act_on(alice, "Lunch with @bob today?", "Edit")
    alice.composer.fill("Lunch with @bob tomorrow?")
    alice.composer.press("Enter")
    edited = "Lunch with @bob tomorrow?"
    for person in (alice, bob):
        expect(person.message(edited).locator(".edited")).to_have_text("edited")
        expect(person.message(edited).locator("mark.mention")).to_have_text("@bob")
    expect(bob.message("Lunch with @bob today?")).to_have_count(0)

    # Bob reacts with the picker; Alice adds hers with the chip, then takes it back.
    act_on(bob, edited, "React")
    bob.message(edited).get_by_role("button", name="React with 👍").click()
    expect(chip(alice.message(edited), "👍").locator(".reaction-count")).to_have_text("1")
    expect(chip(alice.message(edited), "👍")).to_have_attribute("title", "bob")
    chip(alice.message(edited), "👍").click()
    for person in (alice, bob):
        expect(chip(person.message(edited), "👍").locator(".reaction-count")).to_have_text("2")
    expect(chip(bob.message(edited), "👍")).to_have_attribute("title", "You, alice")
    expect(chip(bob.message(edited), "👍")).to_have_attribute("aria-pressed", "true")
    chip(alice.message(edited), "👍").click()
    expect(chip(bob.message(edited), "👍").locator(".reaction-count")).to_have_text("1")
    expect(chip(alice.message(edited), "👍")).to_have_attribute("aria-pressed", "false")
    act_on(bob, edited, "React")
    bob.message(edited).get_by_role("button", name="React with 🎉").click()
    expect(alice.message(edited).locator(".reaction")).to_have_count(2)  # 👍 keeps its place
    expect(alice.message(edited).locator(".reaction-emoji")).to_have_text(["👍", "🎉"])

    # Bob scrolls up to the first message and replies to it; both see the quote.
    scroll_to_top_until(bob, "First message")
    act_on(bob, "First message", "Reply")
    expect(bob.page.locator(".compose-bar")).to_contain_text("Replying to alice")
    bob.send("Back to the very start")
    for person, who in ((alice, "You"), (bob, "alice")):
        quoted = person.message("Back to the very start").locator(".quote")
        expect(quoted.locator(".quote-who")).to_have_text(who)
        expect(quoted.locator(".quote-text")).to_have_text("First message")

    # Alice deletes a message after confirming; both see the placeholder.
    alice.send("Oops, wrong chat")
    act_on(alice, "Oops, wrong chat", "Delete")
    dialog = alice.page.get_by_role("dialog")
    dialog.get_by_role("button", name="Delete").click()
    for person in (alice, bob):
        expect(person.message("Oops, wrong chat")).to_have_count(0)
        expect(person.message("Message deleted")).to_have_count(1)
    expect(alice.thread("bob").locator(".thread-preview")).to_have_text("You: Message deleted")

    bob.message(edited).hover()
    ui.screenshot(bob, "message-changes")

    # After a reload Alice has only the newest page: the quote loads older pages to jump there.
    alice.page.reload()
    alice.expect_message("Back to the very start")
    expect(alice.message("First message")).to_have_count(0)
    alice.message("Back to the very start").locator(".quote").click()
    expect(alice.message("First message")).to_be_focused()
    expect(alice.message("First message")).to_be_in_viewport()

    # The reloaded page shows the same state as the live one.
    for person in (alice, bob):
        if person is bob:
            person.page.reload()
        expect(person.message(edited).locator(".edited")).to_have_text("edited")
        expect(person.message(edited).locator(".reaction-emoji")).to_have_text(["👍", "🎉"])
        expect(person.message(edited).locator(".reaction-count")).to_have_text(["1", "1"])
        expect(person.message("Message deleted")).to_have_count(1)
        expect(person.message("Back to the very start").locator(".quote-text")).to_have_text("First message")

    # Alice goes offline; meanwhile Bob edits, reacts and deletes from another device (the API).
    # Her page reconnects by itself and catches up from the log.
    expect_live(alice)
    line.cut(alice.page)
    expect(alice.page.locator("html")).not_to_have_attribute("data-connection", "live")
    bob_seq = int(alice.message("Back to the very start").get_attribute("data-seq"))
    edited_seq = int(alice.message(edited).get_attribute("data-seq"))
    change = api_changes(http, thread_id)
    assert change("PATCH", bob_api, bob_seq, json={"contents": "Back to the start, @alice"}) == 200
    assert change("PUT", bob_api, f"{edited_seq}/reactions/{quote('😂')}") == 200
    assert change("DELETE", bob_api, f"{edited_seq}/reactions/{quote('👍')}") == 204
    assert change("DELETE", alice_api, 1) == 204  # the message Bob's reply quotes

    line.restore(alice.page)
    expect_live(alice)
    back = alice.message("Back to the start, @alice")
    expect(back).to_be_visible(timeout=RECONNECT_TIMEOUT_MS)
    expect(back.locator("mark.mention.me")).to_have_text("@alice")
    expect(back.locator(".quote-text")).to_have_text("Message deleted")  # its quote is gone too
    expect(alice.message(edited).locator(".reaction-emoji")).to_have_text(["🎉", "😂"])
    expect(alice.message("Message deleted")).to_have_count(2)
    expect(bob.message("Back to the start, @alice").locator(".edited")).to_have_text("edited")
    expect(bob.message(edited).locator(".reaction-emoji")).to_have_text(["🎉", "😂"])


def test_on_a_phone_and_from_the_keyboard_with_a_groups_creator_deleting_for_others(server, ui):
    http = Http(server.url)
    carol = ui.person(server.url, "carol").sign_up()
    dan = ui.person(server.url, "dan", mobile=True).sign_up()
    erin = http.signup("erin")
    thread_id = http.open_thread(session_of(carol), [session_of(dan), erin], "Welcome, everyone")
    assert http.send(erin, thread_id, "Thanks carol").status_code == 201
    carol.open_thread("dan, erin")
    dan.open_thread("carol, erin")

    # On a phone the actions sit behind a button: Dan reacts to Carol's message that way.
    row = dan.message("Welcome, everyone")
    expect(row.get_by_role("button", name="React", exact=True)).to_be_hidden()
    row.get_by_role("button", name="Message actions").click()
    expect(row.get_by_role("button", name="Edit", exact=True)).to_have_count(0)  # not his
    expect(row.get_by_role("button", name="Delete", exact=True)).to_have_count(0)  # nor his group
    row.get_by_role("button", name="React", exact=True).click()
    ui.screenshot(dan, "message-actions-phone")
    row.get_by_role("button", name="React with 😂").click()
    expect(chip(carol.message("Welcome, everyone"), "😂")).to_have_attribute("title", "dan")
    dan.send("Sent from my phone")

    # Carol, the group's creator, may delete Dan's message (not edit it), from the keyboard.
    theirs = carol.message("Sent from my phone")
    expect(theirs.get_by_role("button", name="Edit", exact=True)).to_have_count(0)
    delete = theirs.get_by_role("button", name="Delete", exact=True)
    delete.focus()
    expect(theirs.locator(".msg-toolbar")).to_have_css("opacity", "1")  # shown while focused
    carol.page.keyboard.press("Enter")
    dialog = carol.page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    carol.page.keyboard.press("Tab")
    carol.page.keyboard.press("Enter")
    for person in (carol, dan):
        expect(person.message("Message deleted")).to_have_count(1)
    expect(dan.message("Sent from my phone")).to_have_count(0)

    # Arrow Up in the empty box edits your newest message.
    carol.composer.focus()
    carol.composer.press("ArrowUp")
    expect(carol.composer).to_have_value("Welcome, everyone")
    carol.composer.fill("Welcome, everyone!")
    carol.composer.press("Enter")
    expect(dan.message("Welcome, everyone!").locator(".edited")).to_have_text("edited")
    expect(chip(dan.message("Welcome, everyone!"), "😂")).to_have_attribute("aria-pressed", "true")
