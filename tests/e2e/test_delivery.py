"""Live delivery as a person sees it: a server killed and restarted, WebSockets blocked."""

from __future__ import annotations

import signal
import time

from playwright.sync_api import expect

from tests.integration.clients import Http, User

from .servers import start_server
from .ui import Cuttable, Person

RECONNECT_TIMEOUT_MS = 30_000  # backoff with jitter: a few attempts of up to a few seconds


def session_of(person: Person) -> User:
    """The person's signed-in session, read from the page's storage, to act for them via the API."""
    session = person.page.evaluate("JSON.parse(localStorage.getItem('messenger.session'))")
    return User(session["user_id"], session["username"], session["token"])


def expect_live(person: Person, transport: str = "socket") -> None:
    html = person.page.locator("html")
    expect(html).to_have_attribute("data-connection", "live", timeout=RECONNECT_TIMEOUT_MS)
    expect(html).to_have_attribute("data-transport", transport)


def test_pages_reconnect_by_themselves_after_a_kill_9_and_get_what_was_sent_meanwhile(tmp_path, ui):
    server = start_server(tmp_path)
    try:
        alice = ui.person(server.url, "alice").sign_up()
        bob = ui.person(server.url, "bob").sign_up()
        alice.start_chat("bob")
        alice.send("Before the crash")
        bob.open_thread("alice")
        bob.expect_message("Before the crash")
        expect_live(alice)
        expect_live(bob)

        server.stop(signal.SIGKILL)
        for person in (alice, bob):
            expect(person.page.locator("#banner")).to_contain_text("Reconnecting")
            expect(person.page.locator("html")).to_have_attribute("data-connection", "reconnecting")

        server.start()  # same port, same database
        http = Http(server.url)
        thread_id = alice.page.locator(".thread-item").get_attribute("data-thread-id")
        for text in ("Sent while you were away 1", "Sent while you were away 2"):
            assert http.send(session_of(alice), thread_id, text).status_code == 201

        for person in (alice, bob):
            expect_live(person)
            expect(person.page.locator("#banner")).to_be_hidden()
            person.expect_message("Sent while you were away 1", timeout=RECONNECT_TIMEOUT_MS)
            person.expect_message("Sent while you were away 2")
        # Nothing twice: replaying from the cursor skips what each page already had.
        expect(bob.page.locator(".message-list .msg")).to_have_count(3)

        bob.send("Back online")
        alice.expect_message("Back online")
    finally:
        server.stop()


def test_long_polling_takes_over_when_websockets_cannot_connect(server, ui):
    dave = ui.person(server.url, "dave", block_websocket=True).sign_up()
    erin = ui.person(server.url, "erin").sign_up()
    expect_live(dave, transport="poll")
    expect_live(erin, transport="socket")

    # Erin writes from "another device" (the API), not her page: typing in her page would hit
    # the server bug that test_typing_toward_a_long_polling_person_stalls_nobody shows.
    http = Http(server.url)
    erin_api = session_of(erin)
    thread_id = http.open_thread(erin_api, [session_of(dave)], "Can you hear me?")
    expect(dave.thread("erin").locator(".badge")).to_have_text("1")
    dave.open_thread("erin")
    dave.expect_message("Can you hear me?")
    dave.send("Loud and clear, over long polling")
    erin.open_thread("dave")
    erin.expect_message("Loud and clear, over long polling")
    assert http.send(erin_api, thread_id, "Great").status_code == 201
    dave.expect_message("Great")
    # Dave's page marks it read over HTTP; Erin's socket brings the receipt.
    expect(erin.page.locator(".seen")).to_have_text("Seen")
    expect(dave.page.locator("html")).to_have_attribute("data-transport", "poll")


def test_typing_toward_a_long_polling_person_stalls_nobody(tmp_path, ui):
    # Its own server: while the bug lasts, the stall must not slow the module's other tests.
    server = start_server(tmp_path)
    try:
        dave = ui.person(server.url, "dave", block_websocket=True).sign_up()
        erin = ui.person(server.url, "erin").sign_up()
        expect_live(dave, transport="poll")
        erin.start_chat("dave")
        erin.send("First")
        dave.open_thread("erin")
        dave.expect_message("First")
        erin.composer.press_sequentially("Second")  # typing hints go out over Erin's socket
        erin.composer.press("Enter")
        dave.expect_message("Second", timeout=5_000)
    finally:
        server.stop(signal.SIGKILL)


def test_an_expired_cursor_reloads_the_threads_and_carries_on(tmp_path, ui):
    """Offline longer than the log keeps (3 updates here): the page reloads instead of resuming."""
    server = start_server(tmp_path, UPDATES_MAX_PER_USER="3", PRUNE_INTERVAL_S="1")
    line = Cuttable()
    try:
        http = Http(server.url)
        victor = http.signup("victor")
        uma = ui.person(server.url, "uma", websocket_route=line.route).sign_up()
        expect_live(uma)
        thread_id = http.open_thread(victor, [session_of(uma)], "Going offline?")
        uma.open_thread("victor")
        uma.expect_message("Going offline?")
        cursor = http.cursor(session_of(uma))

        list_loads: list[str] = []
        uma.page.on("request", lambda r: "/threads?start_index=0" in r.url and list_loads.append(r.url))
        line.cut(uma.page)  # no socket, and no long poll either
        for number in range(1, 6):
            assert http.send(victor, thread_id, f"While you were gone {number}").status_code == 201
        deadline = time.monotonic() + 10
        while http.updates(session_of(uma), cursor).status_code != 410:  # the pruner ran
            assert time.monotonic() < deadline, "the update log was never pruned"
            time.sleep(0.2)

        line.restore(uma.page)
        expect_live(uma)
        uma.expect_message("While you were gone 5", timeout=RECONNECT_TIMEOUT_MS)
        expect(uma.page.locator(".message-list .msg")).to_have_count(6)
        expect(uma.thread("victor").locator(".thread-preview")).to_have_text("While you were gone 5")
        assert len(list_loads) == 1  # reloaded once: cursor_expired, not an ordinary resume
        assert http.send(victor, thread_id, "Welcome back").status_code == 201
        uma.expect_message("Welcome back")
    finally:
        server.stop()
