"""Sending: pending at once, failed with a Retry that never stores the message twice."""

from __future__ import annotations

import re

from playwright.sync_api import Route, expect

from tests.integration.clients import Http

from .test_delivery import session_of
from .ui import Cuttable


def test_a_failed_send_offers_retry_and_a_retry_never_duplicates(server, ui):
    line = Cuttable()
    wendy = ui.person(server.url, "wendy", websocket_route=line.route).sign_up()
    xavi = ui.person(server.url, "xavi").sign_up()
    xavi.start_chat("wendy")
    xavi.send("Ping")
    wendy.open_thread("xavi")
    wendy.expect_message("Ping")

    # 1. The request never reaches the server: "Not sent", and Retry sends it.
    wendy.page.route("**/message", lambda route: route.abort(), times=1)
    wendy.send("First try")
    first = wendy.message("First try")
    expect(first).to_have_attribute("data-status", "failed")
    expect(first.locator(".state")).to_have_text("Not sent")
    expect(first.locator(".send-error")).to_have_text(
        "Can't reach the server. Check your connection and try again."
    )
    expect(first).to_have_class(re.compile(r"\bmine\b"))
    ui.screenshot(wendy, "failed-send")
    first.get_by_role("button", name="Retry").click()
    expect(wendy.message("First try")).to_have_attribute("data-status", "sent")
    xavi.expect_message("First try")

    # 2. The server stores it but the answer is lost, and no live update can tell the page
    # (socket and long polls cut): the retry, with the same client_msg_id, gets the original.
    line.cut(wendy.page)

    def lose_the_answer(route: Route) -> None:
        route.fetch()  # the server stores the message...
        route.abort()  # ...and the page never hears back

    wendy.page.route("**/message", lose_the_answer, times=1)
    wendy.send("Second try")
    second = wendy.message("Second try")
    expect(second).to_have_attribute("data-status", "failed")
    xavi.expect_message("Second try")  # it did arrive
    second.get_by_role("button", name="Retry").click()
    expect(wendy.message("Second try")).to_have_attribute("data-status", "sent")

    line.restore(wendy.page)  # the socket comes back and replays message.new: still one copy
    expect(wendy.page.locator("html")).to_have_attribute("data-connection", "live", timeout=30_000)
    for person in (wendy, xavi):
        expect(person.message("Second try")).to_have_count(1)
        expect(person.page.locator(".message-list .msg")).to_have_count(3)
    http = Http(server.url)
    thread_id = wendy.page.locator(".thread-item").get_attribute("data-thread-id")
    stored = http.session.get(
        f"{server.url}/threads/{thread_id}/messages", headers=session_of(wendy).headers, timeout=10
    ).json()["messages"]
    assert [m["contents"] for m in stored] == ["Second try", "First try", "Ping"]
