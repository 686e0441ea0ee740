"""Accounts in the web client: the settings page (profile, password, devices, blocked people, a
download of your data, deleting the account), invitations to groups, blocking from a chat, and
the pages a mailed link opens (reset a forgotten password, verify an email address), with the
mail read from a real SMTP server the test runs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.integration.clients import Http
from tests.mail_server import SmtpServer

from .servers import start_server
from .test_delivery import session_of
from .ui import PASSWORD, Person

NEW_PASSWORD = "a brand new secret"
SESSION_ENDED = "Your session has ended. Please sign in again."
WRONG_PASSWORD = "That isn't your current password."


def fill(section, fields: dict[str, str]) -> None:
    for label, value in fields.items():
        section.get_by_label(label, exact=True).fill(value)


def signed_out(*people: Person) -> list[Person]:
    return [p for p in people if p.page.get_by_role("heading", name="Sign in").is_visible()]


def wait_until(condition, person: Person, timeout_ms: int = 10_000) -> None:
    for _ in range(timeout_ms // 100):
        if condition():
            return
        person.page.wait_for_timeout(100)
    assert condition()


def test_profile_changes_show_at_once_here_and_for_the_people_you_chat_with(server, ui):
    alice = ui.person(server.url, "alice").sign_up()
    bob = ui.person(server.url, "bob").sign_up()
    alice.start_chat("bob")
    alice.send("hi bob")
    bob.open_thread("alice")

    alice.open_settings()
    profile = alice.settings_section("Profile")
    fill(profile, {"Display name": "Alice Liddell"})
    profile.get_by_role("button", name="Save profile").click()
    expect(profile.get_by_role("status")).to_have_text("Profile saved.")
    expect(alice.page.locator(".me-name")).to_have_text("Alice Liddell")
    expect(bob.page.locator(".conv-name")).to_have_text("Alice Liddell")  # user.updated, live
    expect(bob.thread("Alice Liddell")).to_be_visible()

    fill(profile, {"Username": "bob"})  # taken: said under the field, nothing changes
    profile.get_by_role("button", name="Save profile").click()
    taken = "That username is taken. Try another one."
    expect(profile.locator("#profile-username-error")).to_have_text(taken)
    fill(profile, {"Username": "alice_l"})
    profile.get_by_role("button", name="Save profile").click()
    expect(profile.get_by_role("status")).to_have_text("Profile saved.")

    alice.page.reload()  # the new name is what the server holds, not only what this tab shows
    expect(alice.page.locator(".me-name")).to_have_text("Alice Liddell")
    alice.sign_out()
    alice.sign_in(login="alice_l")
    expect(alice.page.locator(".me-name")).to_have_text("Alice Liddell")


def test_a_password_change_signs_the_other_devices_out_and_the_new_one_signs_in(server, ui):
    carol = ui.person(server.url, "carol").sign_up()
    phone = ui.person(server.url, "carol")
    phone.sign_in()
    expect(phone.page.locator(".me-name")).to_have_text("carol")

    carol.open_settings()
    password = carol.settings_section("Password")
    fill(password, {"Current password": "not my password", "New password": NEW_PASSWORD})
    password.get_by_role("button", name="Change password").click()
    expect(password.locator("#password-current_password-error")).to_have_text(WRONG_PASSWORD)
    fill(password, {"Current password": PASSWORD, "New password": "short"})
    password.get_by_role("button", name="Change password").click()
    expect(password.locator("#password-new_password-error")).to_have_text("Use at least 8 characters.")
    fill(password, {"Current password": PASSWORD, "New password": NEW_PASSWORD})
    password.get_by_role("button", name="Change password").click()
    changed = "Password changed. Your other devices were signed out."
    expect(password.get_by_role("status")).to_have_text(changed)

    expect(phone.page.locator(".form-error")).to_have_text(SESSION_ENDED)
    devices = carol.settings_section("Devices")
    expect(devices.locator(".session")).to_have_count(1)
    carol.sign_out()
    carol.sign_in(password=PASSWORD)
    expect(carol.page.locator(".form-error")).to_have_text("That username or email and password don't match.")
    carol.sign_in(password=NEW_PASSWORD)
    expect(carol.page.locator(".me-name")).to_have_text("carol")


def test_devices_are_listed_and_signed_out_one_by_one_or_all_at_once(server, ui):
    dave = ui.person(server.url, "dave").sign_up()
    laptop = ui.person(server.url, "dave")
    laptop.sign_in()
    tablet = ui.person(server.url, "dave")
    tablet.sign_in()
    expect(tablet.page.locator(".me-name")).to_have_text("dave")

    dave.open_settings()
    devices = dave.settings_section("Devices")
    rows = devices.locator(".session")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("This device")  # the client lists this device first
    expect(rows.filter(has_text="This device")).to_have_count(1)
    expect(rows.first).to_contain_text("Chrome")  # read from the browser's User-Agent
    expect(rows.first.get_by_role("button")).to_have_count(0)  # this one signs out from the sidebar

    rows.nth(1).get_by_role("button", name=re.compile("^Sign out")).click()
    expect(rows).to_have_count(2)
    wait_until(lambda: len(signed_out(laptop, tablet)) == 1, dave)  # that device, and only that one

    devices.get_by_role("button", name="Sign out all other devices").click()
    expect(devices.get_by_role("status")).to_have_text("Every other device is signed out.")
    expect(rows).to_have_count(1)
    for other in (laptop, tablet):
        expect(other.page.locator(".form-error")).to_have_text(SESSION_ENDED)
    expect(dave.page.locator(".me-name")).to_have_text("dave")  # this device stays signed in


def test_blocking_from_a_chat_stops_their_messages_until_unblocked_in_settings(server, ui):
    erin = ui.person(server.url, "erin").sign_up()
    mallory = ui.person(server.url, "mallory").sign_up()
    mallory.start_chat("erin")
    mallory.send("buy my stuff")
    erin.open_thread("mallory")

    erin.page.get_by_role("button", name="Block mallory", exact=True).click()
    erin.page.get_by_role("dialog").get_by_role("button", name="Block", exact=True).click()
    expect(erin.page.get_by_role("button", name="Unblock mallory", exact=True)).to_be_visible()
    erin.page.reload()  # what the server holds, not only what this tab did
    expect(erin.page.get_by_role("button", name="Unblock mallory", exact=True)).to_be_visible()

    mallory.send("hello??")
    expect(mallory.page.locator(".send-error")).to_have_text("You can't message or add this person.")
    expect(erin.message("hello??")).to_have_count(0)

    erin.open_settings()
    blocked = erin.settings_section("Blocked people")
    expect(blocked.locator(".settings-item")).to_have_count(1)
    blocked.get_by_role("button", name="Unblock mallory").click()
    expect(blocked.get_by_role("status")).to_have_text("mallory can message you again.")
    expect(blocked).to_contain_text("You block nobody.")

    mallory.page.locator(".msg", has_text="hello??").get_by_role("button", name="Retry").click()
    erin.open_thread("mallory")
    erin.expect_message("hello??")
    expect(erin.page.get_by_role("button", name="Block mallory", exact=True)).to_be_visible()


def test_your_data_downloads_as_one_json_file(server, ui, tmp_path):
    frank = ui.person(server.url, "frank").sign_up()
    ui.person(server.url, "grace").sign_up()
    frank.start_chat("grace")
    frank.send("keep this one")
    frank.expect_message("keep this one")

    frank.open_settings()
    data = frank.settings_section("Your data")
    with frank.page.expect_download() as waiting:
        data.get_by_role("button", name="Download my data").click()
    download = waiting.value
    me = session_of(frank)
    assert download.suggested_filename == f"messenger-export-{me.user_id}.json"
    path = tmp_path / "export.json"
    download.save_as(path)
    export = json.loads(path.read_text())
    assert export["profile"]["username"] == "frank"
    assert [m["contents"] for m in export["messages"]] == ["keep this one"]
    assert [len(t["members"]) for t in export["threads"]] == [2]
    expect(data.get_by_role("status")).to_have_text(f"Saved as {download.suggested_filename}.")


def test_deleting_the_account_asks_for_the_password_and_signs_out_for_good(server, ui):
    heidi = ui.person(server.url, "heidi").sign_up()
    heidi.open_settings()
    delete = heidi.settings_section("Delete your account")

    fill(delete, {"Your password": "wrong password"})
    delete.get_by_role("button", name="Delete my account").click()
    heidi.page.get_by_role("dialog").get_by_role("button", name="Delete my account").click()
    expect(delete.locator("#delete-account-password-error")).to_have_text(WRONG_PASSWORD)

    fill(delete, {"Your password": PASSWORD})
    delete.get_by_role("button", name="Delete my account").click()
    heidi.page.get_by_role("dialog").get_by_role("button", name="Cancel").click()  # thought better of it
    expect(heidi.page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    delete.get_by_role("button", name="Delete my account").click()
    heidi.page.get_by_role("dialog").get_by_role("button", name="Delete my account").click()

    expect(heidi.page.locator(".auth .form-error")).to_have_text("Your account is deleted.")
    heidi.sign_in()
    expect(heidi.page.locator(".form-error")).to_have_text("That username or email and password don't match.")


@pytest.fixture(scope="module")
def invite_server(tmp_path_factory):
    live = start_server(tmp_path_factory.mktemp("e2e-invite"), GROUP_ADD_POLICY="invite")
    yield live
    live.stop()


def test_an_invitation_to_a_group_is_joined_or_declined_from_the_sidebar(invite_server, ui):
    ivan = ui.person(invite_server.url, "ivan").sign_up()
    http = Http(invite_server.url)
    judy, kim = http.signup("judy"), http.signup("kim")
    for title in ("Book club", "Spam group"):
        reply = http.session.post(
            f"{invite_server.url}/threads",
            json={
                "user_ids": [session_of(ivan).user_id, kim.user_id],
                "title": title,
                "message": {"contents": "join us"},
            },
            headers=judy.headers,
        )
        assert reply.status_code == 201, reply.text

    invitations = ivan.page.get_by_role("region", name="Invitations")
    expect(invitations.locator(".invitation")).to_have_count(2)  # thread.invited, live
    expect(invitations).to_contain_text("judy invited you")
    invitations.get_by_role("button", name="Decline Spam group").click()
    expect(invitations.locator(".invitation")).to_have_count(1)

    ivan.page.reload()  # what is still waiting comes back from GET /me/invitations
    expect(invitations.locator(".invitation")).to_have_count(1)
    invitations.get_by_role("button", name="Join Book club").click()
    expect(ivan.page.locator(".conv-name")).to_have_text("Book club")
    ivan.expect_message("join us")
    expect(invitations).to_be_hidden()
    expect(ivan.thread("Spam group")).to_have_count(0)


def test_without_mail_the_reset_page_says_to_ask_the_operator(server, ui):
    page = ui.person(server.url, "nobody").page
    page.get_by_role("button", name="Forgot your password?").click()
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_role("button", name="Mail me a link").click()
    expect(page.locator(".form-error")).to_have_text(
        "This server doesn't send mail, so this can't be done by email. Ask the server's operator."
    )


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    mail = SmtpServer()
    mail.start()
    yield mail
    mail.stop()


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory, smtp):
    live = start_server(
        tmp_path_factory.mktemp("e2e-mail"),
        public_url=True,
        SMTP_URL=f"smtp://127.0.0.1:{smtp.port}?starttls=false",
        MAIL_FROM="noreply@example.com",
    )
    yield live
    live.stop()


def test_a_mailed_link_verifies_the_address_and_another_resets_a_forgotten_password(mail_server, smtp, ui):
    laura = ui.person(mail_server.url, "laura").sign_up()
    laura.open_settings()
    email = laura.settings_section("Email")
    expect(email.locator(".email-status")).to_contain_text("Not verified")

    smtp.inbox.wait_for(1)
    [link] = smtp.inbox.links(laura.email, "verify-email")
    assert link.startswith(f"{mail_server.url}/#/verify-email?token=")
    laura.page.goto(link)
    expect(laura.page.get_by_role("status")).to_have_text("Your email address is verified. Thank you!")
    assert "token" not in laura.page.url  # nor in the history: Back cannot post it again
    laura.page.get_by_role("button", name="Continue").click()
    expect(laura.page.locator(".me-name")).to_have_text("laura")  # still signed in here
    laura.page.goto(link)  # a link works once
    expect(laura.page.get_by_role("status")).to_have_text(
        "This link was used already, has expired, or was cut short. Ask for a new one."
    )
    laura.page.get_by_role("button", name="Continue").click()
    laura.open_settings()
    expect(email.locator(".email-status")).to_contain_text("Verified")
    expect(email.get_by_role("button", name="Mail me the link again")).to_be_hidden()

    laura.sign_out()
    page = laura.page
    page.get_by_role("button", name="Forgot your password?").click()
    page.get_by_label("Email").fill(laura.email.upper())
    page.get_by_role("button", name="Mail me a link").click()
    expect(page.get_by_role("status")).to_contain_text("a link is on its way")

    smtp.inbox.wait_for(2)
    [reset] = smtp.inbox.links(laura.email, "reset")
    page.goto(reset)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("#auth-new_password-error")).to_have_text("Use at least 8 characters.")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.locator(".form-error")).to_have_text("Your password is changed. Sign in with the new one.")
    assert "token" not in page.url  # the spent link is gone from the address bar

    laura.sign_in(password=NEW_PASSWORD)
    expect(page.locator(".me-name")).to_have_text("laura")
    page.goto(reset)  # the link works once
    page.get_by_label("New password", exact=True).fill("yet another secret")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator(".form-error")).to_have_text(
        "This link was used already, has expired, or was cut short. Ask for a new one."
    )


def mobile_settings_open(person: Person) -> None:
    """At phone width the settings page replaces the sidebar, and Back returns to it."""
    person.open_settings()
    expect(person.page.locator(".sidebar")).to_be_hidden()
    person.page.get_by_role("link", name="Back to conversations").click()
    expect(person.page.locator(".sidebar")).to_be_visible()


def test_settings_work_at_phone_width(server, ui):
    mobile_settings_open(ui.person(server.url, "mona", mobile=True).sign_up())


def test_a_new_email_address_is_confirmed_by_the_password_and_verified_by_mail(mail_server, smtp, ui):
    mia = ui.person(mail_server.url, "mia").sign_up()
    mia.open_settings()
    email = mia.settings_section("Email")
    fill(email, {"New email address": "mia.new@example.com", "Your password": "not it"})
    email.get_by_role("button", name="Change email").click()
    expect(email.locator("#email-password-error")).to_have_text(WRONG_PASSWORD)

    fill(email, {"Your password": PASSWORD})
    email.get_by_role("button", name="Change email").click()
    expect(email.get_by_role("status")).to_have_text(
        "Your address is now mia.new@example.com. Open the link we mailed there to verify it."
    )
    expect(email.locator(".email-status")).to_contain_text("mia.new@example.com")
    email.get_by_role("button", name="Mail me the link again").click()
    expect(email.get_by_role("status").first).to_have_text("A new link is on its way. Check your mail.")
    smtp.inbox.wait_for(3)  # the sign-up's link, the new address's, and the one asked for again
    assert len(smtp.inbox.links("mia.new@example.com", "verify-email")) == 2


def test_without_mail_the_settings_say_the_address_cannot_be_verified(server, ui):
    nina = ui.person(server.url, "nina").sign_up()
    nina.open_settings()
    email = nina.settings_section("Email")
    email.get_by_role("button", name="Mail me the link again").click()
    expect(email.get_by_role("alert").last).to_have_text(
        "This server doesn't send mail, so this can't be done by email. Ask the server's operator."
    )
    expect(email.locator(".email-status")).to_contain_text("Not verified (this server sends no mail)")
    expect(email.get_by_role("button", name="Mail me the link again")).to_be_hidden()


def test_a_picture_chosen_in_settings_shows_here_and_to_the_people_you_chat_with(server, ui, tmp_path):
    olga = ui.person(server.url, "olga").sign_up()
    pete = ui.person(server.url, "pete").sign_up()
    olga.start_chat("pete")
    olga.send("hello")
    pete.open_thread("olga")

    picture = tmp_path / "me.png"
    Image.new("RGB", (200, 200), (200, 60, 90)).save(picture)
    olga.open_settings()
    section = olga.settings_section("Picture")
    section.locator("input[type=file]").set_input_files(str(picture))
    expect(section.get_by_role("status")).to_have_text("Your picture is set.")

    for page, where in ((olga.page, ".sidebar-head"), (pete.page, ".thread-item"), (pete.page, ".conv-head")):
        shown = page.locator(f"{where} img.avatar.photo").first
        expect(shown).to_be_visible()  # live at pete's: user.updated
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=shown.element_handle())

    section.get_by_role("button", name="Remove picture").click()
    expect(section.get_by_role("status")).to_have_text("Your picture is removed.")
    expect(pete.page.locator(".thread-item img.avatar.photo")).to_have_count(0)
