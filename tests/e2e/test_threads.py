"""Groups and their members, long histories, phone-sized screens and the keyboard."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.integration.clients import Http

from .test_delivery import session_of


def test_a_group_gets_a_title_and_members_who_can_be_added_and_removed(server, ui):
    http = Http(server.url)
    kim = ui.person(server.url, "kim").sign_up()
    leo = ui.person(server.url, "leo").sign_up()
    http.signup("mia")
    http.signup("ned")

    page = kim.page
    page.get_by_role("button", name="New group").click()
    page.get_by_label("Group name (optional)").fill("Weekend trip")
    for name in ("leo", "mia"):
        page.get_by_label("Add people").fill(name)
        page.locator(".user-result", has_text=name).click()
    expect(page.locator(".chip")).to_have_count(2)
    page.get_by_label("First message").fill("Who's in for Saturday?")
    page.get_by_role("button", name="Create group").click()
    expect(page.locator(".conv-name")).to_have_text("Weekend trip")
    expect(page.locator(".conv-sub")).to_have_text(re.compile(r"^3 members: "))
    kim.expect_message("Who's in for Saturday?")

    expect(leo.thread("Weekend trip").locator(".badge")).to_have_text("1")
    leo.open_thread("Weekend trip")
    leo.expect_message("Who's in for Saturday?")
    expect(leo.page.locator(".msg.theirs .author")).to_have_text("kim")

    # Kim (the creator) adds Ned and removes Mia; Leo's page follows live.
    page.get_by_role("button", name="Members").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Add people").fill("ned")
    dialog.locator(".user-result", has_text="ned").click()
    expect(dialog.locator(".member")).to_have_count(4)
    dialog.get_by_role("button", name="Remove mia").click()
    expect(dialog.locator(".member")).to_have_count(3)
    expect(dialog.locator(".member-name")).to_have_text([re.compile(name) for name in ("kim", "leo", "ned")])
    dialog.get_by_role("button", name="Close").click()
    expect(leo.page.locator(".conv-sub")).to_have_text(re.compile(r"^3 members: .*ned"))
    expect(leo.page.locator(".conv-sub")).not_to_contain_text("mia")

    # Leo may leave but not remove anyone; leaving takes the group off his list.
    leo.page.get_by_role("button", name="Members").click()
    leo_dialog = leo.page.get_by_role("dialog")
    expect(leo_dialog.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)
    leo_dialog.get_by_role("button", name="Leave group").click()
    leo_dialog.get_by_role("button", name="Confirm: leave").click()
    expect(leo.thread("Weekend trip")).to_have_count(0)
    expect(page.locator(".conv-sub")).to_have_text(re.compile(r"^2 members: "))


def test_older_messages_load_as_you_scroll_up(server, ui):
    http = Http(server.url)
    olga = http.signup("olga")
    pat = ui.person(server.url, "pat").sign_up()
    thread_id = http.open_thread(olga, [session_of(pat)], "Message 1")
    for number in range(2, 131):
        assert http.send(olga, thread_id, f"Message {number}").status_code == 201

    expect(pat.thread("olga").locator(".badge")).to_have_text("99+")
    pat.open_thread("olga")
    pat.expect_message("Message 130")
    expect(pat.message("Message 130")).to_be_in_viewport()  # newest at the bottom, in view
    messages = pat.page.locator(".message-list .msg")
    expect(messages).to_have_count(50)
    scroller = pat.page.locator(".messages")
    for loaded in (100, 130):
        scroller.evaluate("element => { element.scrollTop = 0; }")
        expect(messages).to_have_count(loaded)
    expect(messages.first.locator(".bubble")).to_have_text("Message 1")
    expect(pat.page.get_by_text("This is the beginning of the conversation.")).to_be_visible()
    # Loading older pages keeps the reader's place instead of jumping to the top.
    expect(pat.message("Message 31")).to_be_in_viewport()
    expect(pat.thread("olga").locator(".badge")).to_have_count(0)


def test_at_phone_width_one_pane_shows_at_a_time(server, ui):
    http = Http(server.url)
    rosa = http.signup("rosa")
    quinn = ui.person(server.url, "quinn", mobile=True).sign_up()
    http.open_thread(rosa, [session_of(quinn)], "Are you on your phone?")
    page = quinn.page
    expect(quinn.thread("rosa")).to_be_visible()
    expect(page.locator(".main-pane")).to_be_hidden()

    quinn.open_thread("rosa")
    expect(page.locator(".sidebar")).to_be_hidden()
    quinn.send("Yes, on my phone")
    expect(quinn.message("Yes, on my phone")).to_have_attribute("data-status", "sent")
    page.get_by_role("link", name="Back to conversations").click()
    expect(page.locator(".sidebar")).to_be_visible()
    expect(quinn.thread("rosa").locator(".thread-preview")).to_have_text("You: Yes, on my phone")


def test_everything_can_be_done_from_the_keyboard(server, ui):
    http = Http(server.url)
    http.signup("tara")
    sam = ui.person(server.url, "sam").sign_up()
    page = sam.page
    page.get_by_role("button", name="New chat").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Find people by username")).to_be_focused()
    page.keyboard.type("tar")
    expect(page.get_by_role("button", name="tara", exact=True)).to_be_visible()
    page.keyboard.press("Enter")  # picks the first match
    expect(sam.composer).to_be_focused()
    page.keyboard.type("Hello from the keyboard")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    page.keyboard.press("Enter")
    expect(sam.message("Hello from the keyboard\nsecond line")).to_have_attribute("data-status", "sent")
    expect(sam.thread("tara")).to_be_visible()

    page.get_by_role("button", name="New group").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
