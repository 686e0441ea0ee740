"""Two people chatting through the web client, each in their own browser context."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.integration.clients import Http, User

from .test_delivery import session_of


def find_user(http: Http, searcher: User, username: str) -> User:
    reply = http.session.get(
        http.base_url + "/users", params={"q": username}, headers=searcher.headers, timeout=10
    )
    (found,) = [u for u in reply.json()["users"] if u["username"] == username]
    return User(found["user_id"], found["username"], token="")


def test_two_people_chat_live_with_unread_badges_typing_and_seen(server, ui):
    alice = ui.person(server.url, "alice").sign_up()
    bob = ui.person(server.url, "bob").sign_up()
    expect(bob.page.get_by_text("No conversations yet")).to_be_visible()

    # Bob gets a first thread from Carol (through the API) and keeps it open.
    http = Http(server.url)
    carol = http.signup("carol")
    http.open_thread(carol, [find_user(http, carol, "bob")], "Are we still on for Friday?")
    expect(bob.thread("carol")).to_be_visible()
    bob.open_thread("carol")
    bob.expect_message("Are we still on for Friday?")

    # Alice finds Bob by username and writes; it shows at once, then is confirmed by the server.
    alice.start_chat("bob")
    alice.send("Hi Bob! Lunch today?")
    expect(alice.message("Hi Bob! Lunch today?")).to_have_attribute("data-status", "sent")
    expect(alice.thread("bob")).to_be_visible()

    # Bob, still in Carol's thread, sees Alice's thread come in with an unread badge.
    expect(bob.thread("alice").locator(".badge")).to_have_text("1")
    expect(bob.thread("alice").locator(".thread-preview")).to_have_text("Hi Bob! Lunch today?")
    expect(bob.page).to_have_title("(1) carol · Messenger")
    expect(bob.page.locator(".thread-name")).to_have_text(["alice", "carol"])  # latest activity first

    # Opening the thread shows the message and clears the badge.
    bob.open_thread("alice")
    bob.expect_message("Hi Bob! Lunch today?")
    expect(bob.thread("alice").locator(".badge")).to_have_count(0)
    expect(bob.page).to_have_title("alice · Messenger")

    # Bob types (Alice sees it), then replies; the reply reaches Alice.
    bob.composer.press_sequentially("Sure")
    expect(alice.page.locator(".typing-line")).to_have_text("bob is typing…")
    bob.composer.press("Shift+Enter")
    bob.composer.press_sequentially("12:30 at the usual place?")
    bob.composer.press("Enter")
    alice.expect_message("Sure\n12:30 at the usual place?")
    expect(alice.page.locator(".typing-line")).to_have_text("")

    # Alice answers; Bob has the thread open, so it is read at once and Alice sees "Seen".
    alice.send("Perfect, see you there")
    bob.expect_message("Perfect, see you there")
    expect(alice.page.locator(".seen")).to_have_text("Seen")

    # A reload on the thread's address (#/t/<id>) opens it again, signed in from storage.
    bob.page.reload()
    bob.expect_message("Perfect, see you there")
    expect(bob.page.locator(".conv-name")).to_have_text("alice")


def test_a_live_previews_length_is_counted_in_code_points_as_the_server_counts_it(server, ui):
    """An emoji is one code point but two UTF-16 units: the live preview must cut where GET /threads does."""
    http = Http(server.url)
    dana = http.signup("dana")
    erin = ui.person(server.url, "erin").sign_up()
    thread_id = http.open_thread(dana, [session_of(erin)], "Hello")
    expect(erin.thread("dana").locator(".thread-preview")).to_have_text("Hello")

    long_message = "Party " + "😀" * 80 + "🎉" * 80  # 166 code points, 326 UTF-16 units
    assert http.send(dana, thread_id, long_message).status_code == 201
    reply = http.session.get(server.url + "/threads", headers=session_of(erin).headers, timeout=10)
    (thread,) = [t for t in reply.json()["threads"] if t["thread_id"] == thread_id]
    preview = thread["last_message"]["contents"]
    assert len(preview) == 140 and preview.endswith("🎉")  # Python counts code points
    expect(erin.thread("dana").locator(".thread-preview")).to_have_text(preview)
