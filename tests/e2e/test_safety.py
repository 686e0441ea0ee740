"""Message contents are text, never markup; errors read as sentences; signing out signs out."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.integration.clients import Http

from .test_delivery import session_of
from .ui import PASSWORD

PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    '"><svg onload=alert(3)>',
]


def test_markup_in_a_message_is_shown_as_text_and_never_runs(server, ui):
    frank = ui.person(server.url, "frank").sign_up()
    grace = ui.person(server.url, "grace").sign_up()
    frank.start_chat("grace")
    frank.send(PAYLOADS[0])
    grace.open_thread("frank")
    thread_id = grace.page.locator(".thread-item").get_attribute("data-thread-id")
    http = Http(server.url)
    for payload in PAYLOADS[1:]:  # straight through the API too, as another client might
        assert http.send(session_of(frank), thread_id, payload).status_code == 201

    for person in (frank, grace):
        for payload in PAYLOADS:
            person.expect_message(payload)
        expect(person.page.locator(".message-list img")).to_have_count(0)
        expect(person.page.locator("img[src='x'], .message-list script, .message-list svg")).to_have_count(0)
    expect(grace.thread("frank").locator(".thread-preview")).to_have_text(PAYLOADS[-1])
    # No alert() fired: the ``ui`` fixture fails the test on any dialog or script error.


def test_sign_up_and_sign_in_errors_are_explained_per_field(server, ui):
    heidi = ui.person(server.url, "heidi").sign_up()
    page = heidi.page
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    heidi.sign_in(password="not the password")
    expect(page.locator(".form-error")).to_have_text("That username or email and password don't match.")

    page.get_by_role("button", name="Create an account").click()
    page.get_by_label("Email").fill("someone-else@example.com")
    page.get_by_label("Username").fill("HEIDI")  # usernames are unique case-insensitively
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#auth-password-error")).to_have_text("Use at least 8 characters.")
    expect(page.locator("#auth-password")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#auth-username-error")).to_have_text("That username is taken. Try another one.")

    page.get_by_role("button", name="Sign in").click()  # back to the sign-in form
    heidi.sign_in(login=heidi.email)
    expect(page.locator(".me-name")).to_have_text("heidi")


def test_signing_out_revokes_the_token_and_forgets_it(server, ui):
    ivan = ui.person(server.url, "ivan").sign_up()
    token_user = session_of(ivan)
    ivan.page.get_by_role("button", name="Sign out").click()
    expect(ivan.page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert ivan.page.evaluate("localStorage.getItem('messenger.session')") is None
    reply = Http(server.url).session.get(server.url + "/me", headers=token_user.headers, timeout=10)
    assert reply.status_code == 401
    ivan.page.reload()
    expect(ivan.page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_revoked_token_sends_an_open_page_back_to_sign_in(server, ui):
    judy = ui.person(server.url, "judy").sign_up()
    expect(judy.page.locator("html")).to_have_attribute("data-connection", "live")
    session = session_of(judy)
    Http(server.url).session.post(server.url + "/auth/signout", headers=session.headers, timeout=10)
    # The socket closes with 4401 and the page asks to sign in again.
    expect(judy.page.locator(".form-error")).to_have_text("Your session has ended. Please sign in again.")
