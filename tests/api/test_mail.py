"""Passwords by email and email verification, end to end: HTTP in, a real SMTP server
(aiosmtpd, in process) out, through the outbox and each app's mail sender."""

from __future__ import annotations

import re
import time

import pytest

from messenger.config import ConfigError, Settings
from messenger.lifecycle import stop_mail_sender
from messenger.service import outbox
from messenger.web.context import EXTENSION_KEY, MAIL_SENDER_KEY
from tests.mail_server import SmtpServer

from .client import PASSWORD, Api

PUBLIC_URL = "https://chat.example.com"
NEW_PASSWORD = "a much better secret"


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def mail_settings(port: int, **overrides) -> dict:
    return {
        "smtp_url": f"smtp://127.0.0.1:{port}?starttls=false",
        "mail_from": "noreply@example.com",
        "public_url": PUBLIC_URL,
        "smtp_timeout_s": 2,
        "mail_lease_s": 30,
        **overrides,
    }


@pytest.fixture
def mail_app(make_app, smtp):
    apps = []

    def make(**overrides):
        apps.append(make_app(**mail_settings(smtp.port, **overrides)))
        return apps[-1]

    yield make
    for app in apps:
        stop_mail_sender(app)


def reset(api: Api, address: str):
    return api.client.post("/auth/password-reset", json={"email": address})


def confirm(api: Api, token: str, password: str = NEW_PASSWORD):
    return api.client.post("/auth/password-reset/confirm", json={"token": token, "new_password": password})


def verify(api: Api, token: str):
    return api.client.post("/auth/verify-email", json={"token": token})


# Password reset ------------------------------------------------------------------------
def test_a_reset_link_sets_a_new_password_once_and_signs_out_every_session(mail_app, smtp):
    api = Api(mail_app().test_client())
    alice = api.signup("alice")
    other_device = api.signin_user(alice)

    response = reset(api, "ALICE@example.com")

    assert response.status_code == 202
    smtp.inbox.wait_for(2)  # the sign-up's verification link, then the reset link
    [token] = smtp.inbox.to("alice@example.com", "reset")
    reset_mail = smtp.inbox.mails[-1]
    assert reset_mail["From"] == "noreply@example.com" and "Reset" in reset_mail["Subject"]
    assert confirm(api, token).status_code == 204
    assert api.me(alice).status_code == 401 and api.me(other_device).status_code == 401
    assert api.signin("alice", PASSWORD).status_code == 401
    assert api.signin("alice", NEW_PASSWORD).status_code == 200
    again = confirm(api, token, "yet another secret")
    assert (again.status_code, again.get_json()["error"]["code"]) == (400, "invalid_one_time_token")


def test_an_unknown_address_gets_the_same_answer_and_no_mail(mail_app, smtp):
    api = Api(mail_app().test_client())
    api.signup("alice")
    smtp.inbox.wait_for(1)

    known, unknown = reset(api, "alice@example.com"), reset(api, "nobody@example.com")

    assert (known.status_code, known.get_json()) == (unknown.status_code, unknown.get_json())
    smtp.inbox.wait_for(2)
    time.sleep(0.2)
    assert [m["To"] for m in smtp.inbox.mails] == ["alice@example.com", "alice@example.com"]


def test_a_reset_link_expires_after_reset_ttl_min(mail_app, smtp, clock):
    api = Api(mail_app(reset_ttl_min=30).test_client())
    api.signup("alice")
    reset(api, "alice@example.com")
    smtp.inbox.wait_for(2)
    [token] = smtp.inbox.to("alice@example.com", "reset")

    clock.advance(30 * 60 * 1000)

    assert confirm(api, token).get_json()["error"]["code"] == "invalid_one_time_token"


def test_a_weak_new_password_is_refused_and_leaves_the_link_usable(mail_app, smtp):
    api = Api(mail_app().test_client())
    api.signup("alice")
    reset(api, "alice@example.com")
    smtp.inbox.wait_for(2)
    [token] = smtp.inbox.to("alice@example.com", "reset")

    for weak in ("password123", "alice-forever"):
        refused = confirm(api, token, weak)
        assert refused.status_code == 422 and "new_password" in refused.get_json()["error"]["details"]

    assert confirm(api, token).status_code == 204


def test_reset_requests_are_limited_per_account_and_unknown_addresses_alike(mail_app, smtp):
    api = Api(
        mail_app(rate_limits_enabled=True, rate_limit_password_reset_account="2 per hour").test_client()
    )
    api.signup("alice")
    for address in ("alice@example.com", "nobody@example.com"):
        answers = [reset(api, address).status_code for _ in range(3)]
        assert answers == [202, 202, 429], address


def test_an_account_has_at_most_mail_max_pending_per_account_mails_waiting(mail_app, smtp):
    app = mail_app(mail_max_pending_per_account=2)
    stop_mail_sender(app)  # nothing is sent: the mails stay pending
    api = Api(app.test_client())
    api.signup("alice")  # one pending: the verification link
    for _ in range(3):
        assert reset(api, "alice@example.com").status_code == 202

    deps = app.extensions[EXTENSION_KEY]
    claimed = deps.store.claim_mail(deps.clock(), 60_000, 10)
    assert len(claimed) == 2


# Email verification --------------------------------------------------------------------
def test_sign_up_mails_a_link_that_verifies_the_address_once(mail_app, smtp):
    api = Api(mail_app().test_client())
    alice = api.signup("alice")
    assert api.me(alice).get_json()["email_verified"] is False

    smtp.inbox.wait_for(1)
    [token] = smtp.inbox.to("alice@example.com", "verify-email")

    assert verify(api, token).status_code == 204
    assert api.me(alice).get_json()["email_verified"] is True
    assert verify(api, token).get_json()["error"]["code"] == "invalid_one_time_token"


def test_with_require_verified_email_an_unverified_account_cannot_write_until_verified(mail_app, smtp):
    api = Api(mail_app(require_verified_email=True).test_client())
    alice, bob = api.signup("alice"), api.signup("bob")
    smtp.inbox.wait_for(2)

    refused = api.create_thread(alice, [alice, bob], "hi")
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "email_not_verified")
    verify(api, smtp.inbox.to("alice@example.com", "verify-email")[0])
    thread_id = api.open_thread(alice, [bob])

    assert api.send(bob, thread_id, "hello").get_json()["error"]["code"] == "email_not_verified"
    assert api.react(bob, thread_id, 1, "👍").status_code == 403
    frame = api.action(bob, {"action": "send_message", "thread_id": thread_id, "message": {"contents": "x"}})
    assert frame.status_code == 403
    assert api.send(alice, thread_id, "still here").status_code == 201


def test_changing_the_email_needs_the_password_and_verifies_the_new_address(mail_app, smtp):
    api = Api(mail_app().test_client())
    alice = api.signup("alice")
    smtp.inbox.wait_for(1)
    old_link = smtp.inbox.to("alice@example.com", "verify-email")[0]

    wrong = api.client.post(
        "/me/email", json={"email": "a@new.example", "password": "nope"}, headers=alice.headers
    )
    assert (wrong.status_code, wrong.get_json()["error"]["code"]) == (403, "wrong_password")

    changed = api.client.post(
        "/me/email", json={"email": "a@new.example", "password": PASSWORD}, headers=alice.headers
    )
    assert changed.status_code == 200
    assert (changed.get_json()["email"], changed.get_json()["email_verified"]) == ("a@new.example", False)
    smtp.inbox.wait_for(2)
    assert verify(api, old_link).status_code == 400  # a link to the old address verifies nothing
    assert verify(api, smtp.inbox.to("a@new.example", "verify-email")[0]).status_code == 204
    assert api.me(alice).get_json()["email_verified"] is True


# The outbox: outages and crashes ---------------------------------------------------------
def test_mail_waits_in_the_outbox_while_the_server_is_down_and_goes_when_it_is_back(make_app, clock):
    server = SmtpServer()  # not started: the mail server is down
    app = make_app(**mail_settings(server.port))
    stop_mail_sender(app)  # the test drives the sender's rounds itself
    deps = app.extensions[EXTENSION_KEY]
    api = Api(app.test_client())
    api.signup("alice")

    assert outbox.deliver_due(deps) == 0  # refused connection: retried later
    clock.advance(10 * 60 * 1000)
    assert outbox.deliver_due(deps) == 0
    server.start()
    try:
        assert outbox.deliver_due(deps) == 0  # not due yet: backoff
        clock.advance(60 * 60 * 1000)
        assert outbox.deliver_due(deps) == 1
        assert len(server.inbox.mails) == 1
        assert outbox.deliver_due(deps) == 0
    finally:
        server.stop()


def test_a_sender_that_crashed_after_its_claim_sends_nothing_and_the_mail_goes_once_later(
    mail_app, smtp, clock
):
    app = mail_app(mail_lease_s=30)
    stop_mail_sender(app)
    deps = app.extensions[EXTENSION_KEY]
    Api(app.test_client()).signup("alice")
    crashed = deps.store.claim_mail(deps.clock(), 30_000, 10)  # ...and then the process died
    assert len(crashed) == 1

    assert outbox.deliver_due(deps) == 0  # still leased to the dead sender
    clock.advance(30_000)
    assert outbox.deliver_due(deps) == 1
    assert outbox.deliver_due(deps) == 0
    clock.advance(10 * 60 * 1000)
    assert outbox.deliver_due(deps) == 0
    assert len(smtp.inbox.mails) == 1
    assert not deps.store.mark_mail_sent(crashed[0].mail.mail_id, crashed[0].claim_id, deps.clock())


def test_the_app_runs_a_mail_sender_only_with_smtp_url(make_app, mail_app):
    assert MAIL_SENDER_KEY in mail_app().extensions
    assert MAIL_SENDER_KEY not in make_app().extensions


# Without SMTP_URL ----------------------------------------------------------------------
def test_without_smtp_url_reset_is_refused_for_every_address_alike_and_nothing_is_verified(api):
    alice = api.signup("alice")
    for address in ("alice@example.com", "nobody@example.com"):
        response = reset(api, address)
        assert (response.status_code, response.get_json()["error"]["code"]) == (404, "mail_not_configured")
    assert api.me(alice).get_json()["email_verified"] is False
    resend = api.client.post("/me/email/verification", headers=alice.headers)
    assert resend.status_code == 404


def test_require_verified_email_without_smtp_url_is_a_configuration_error():
    with pytest.raises(ConfigError, match="SMTP_URL"):
        Settings.from_env({"REQUIRE_VERIFIED_EMAIL": "true"})
    with pytest.raises(ConfigError, match="MAIL_FROM"):
        Settings.from_env({"SMTP_URL": "smtp://mail.example.com", "PUBLIC_URL": PUBLIC_URL})
    with pytest.raises(ConfigError, match="SMTP_URL"):
        Settings.from_env(
            {"SMTP_URL": "http://mail.example.com", "MAIL_FROM": "a@b.c", "PUBLIC_URL": PUBLIC_URL}
        )


def test_an_operator_resets_a_password_from_the_command_line(app):
    api = Api(app.test_client())
    alice = api.signup("alice")

    result = app.test_cli_runner().invoke(args=["reset-password", "alice"])

    assert result.exit_code == 0, result.output
    password = re.search(r"new password of alice \(\w+\): (\S+)", result.output).group(1)
    assert api.me(alice).status_code == 401
    assert api.signin("alice", password).status_code == 200
    assert app.test_cli_runner().invoke(args=["reset-password", "nobody"]).exit_code != 0
