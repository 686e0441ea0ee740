"""Leaving the service: DELETE /me, GET /me/export and the operator's account commands."""

from __future__ import annotations

import json

import pytest

from messenger.events import TokenRevoked
from messenger.service import leaving
from messenger.service.accounts import hash_token

from .client import Api, headers


def updates_of(api: Api, who, kind: str) -> list[dict]:
    reply = api.client.get("/updates", query_string={"since": 0, "timeout": 0}, headers=who.headers)
    return [update for update in reply.get_json()["updates"] if update["type"] == kind]


def delete_me(api: Api, who, password):
    return api.client.delete("/me", json={"password": password}, headers=headers(who))


class TestDeletingAnAccount:
    def test_deleting_ends_every_session_and_sign_in(self, make_api):
        api = make_api()
        alice = api.signup("alice")
        second = api.signin_user(alice)
        assert delete_me(api, alice, alice.password).status_code == 204
        assert api.me(alice).status_code == 401
        assert api.me(second).status_code == 401
        assert api.signin("alice").status_code == 401

    def test_a_wrong_password_is_403_as_for_a_password_change_and_deletes_nothing(self, make_api):
        api = make_api()
        alice = api.signup("alice")
        reply = delete_me(api, alice, "not it")
        assert reply.status_code == 403
        assert reply.get_json()["error"]["code"] == "wrong_password"
        assert api.me(alice).status_code == 200

    def test_wrong_passwords_count_towards_the_sign_in_failure_limit(self, make_api):
        api = make_api(rate_limits_enabled=True, rate_limit_signin_failures="2 per hour")
        alice = api.signup("alice")
        assert [delete_me(api, alice, "no").status_code for _ in range(3)] == [403, 403, 429]
        assert delete_me(api, alice, alice.password).status_code == 429

    def test_members_are_told_and_kept_messages_show_a_deleted_sender(self, make_api):
        api = make_api()
        alice, bob = api.signup("alice"), api.signup("bob")
        thread_id = api.open_thread(alice, [bob], "hello bob")
        assert delete_me(api, alice, alice.password).status_code == 204
        removed = updates_of(api, bob, "member.removed")
        assert [(u["thread_id"], u["user_id"]) for u in removed] == [(thread_id, alice.user_id)]
        [message] = api.message_list(bob, thread_id)
        assert (message["user_id"], message["contents"]) == (alice.user_id, "hello bob")
        assert alice.user_id not in [m["user_id"] for m in api.thread_view(bob, thread_id)["members"]]
        assert api.users(bob, "ali").get_json()["users"] == []
        [told] = [
            u["user"] for u in updates_of(api, bob, "user.updated") if u["user"]["user_id"] == alice.user_id
        ]
        assert (told["username"], told["display_name"]) == ("deleted-user", None)

    def test_erase_messages_erases_every_message_sent(self, make_api):
        api = make_api(account_deletion="erase_messages")
        alice, bob = api.signup("alice"), api.signup("bob")
        thread_id = api.open_thread(alice, [bob], "secret")
        api.send_ok(alice, thread_id, "also secret")
        assert delete_me(api, alice, alice.password).status_code == 204
        messages = api.message_list(bob, thread_id)
        assert [(m["deleted"], m["contents"]) for m in messages] == [(True, ""), (True, "")]
        log = api.client.get("/updates", query_string={"since": 0, "timeout": 0}, headers=bob.headers)
        assert "secret" not in log.get_data(as_text=True)

    def test_the_username_is_reserved_for_the_cool_down(self, make_api, clock):
        api = make_api(username_cooldown_days=30)
        alice = api.signup("alice")
        assert delete_me(api, alice, alice.password).status_code == 204
        taken = api.signup_raw({"email": "new@example.com", "username": "Alice", "password": "pw pw pw pw"})
        assert taken.status_code == 409
        clock.advance(31 * 24 * 60 * 60 * 1000)
        assert api.signup("alice", email="new@example.com").username == "alice"

    def test_nobody_may_take_the_deleted_accounts_name(self, make_api):
        api = make_api()
        reply = api.signup_raw(
            {"email": "x@example.com", "username": "Deleted-User", "password": "pw pw pw pw"}
        )
        assert reply.status_code == 409


def test_every_session_of_a_deleted_account_is_revoked_on_every_worker(make_app):
    app = make_app()
    api = Api(app.test_client())
    alice = api.signup("alice")
    second = api.signin_user(alice)
    published = []
    with app.app_context():
        from messenger.web.context import deps

        notifier = deps().notifier
    original = notifier.publish
    notifier.publish = lambda event: (published.append(event), original(event))
    try:
        assert delete_me(api, alice, alice.password).status_code == 204
    finally:
        notifier.publish = original
    revoked = {event.token_hash for event in published if isinstance(event, TokenRevoked)}
    assert revoked == {hash_token(alice.token), hash_token(second.token)}


class TestExport:
    def test_the_export_holds_everything_and_no_token_hash(self, make_api):
        api = make_api()
        alice, bob = api.signup("alice"), api.signup("bob")
        thread_id = api.open_thread(alice, [bob], "hello")
        api.send_ok(bob, thread_id, "hi")
        assert api.client.put(f"/me/blocks/{bob.user_id}", headers=alice.headers).status_code == 200
        reply = api.client.get("/me/export", headers=alice.headers)
        assert reply.status_code == 200
        assert reply.headers["Content-Disposition"] == (
            f'attachment; filename="messenger-export-{alice.user_id}.json"'
        )
        text = reply.get_data(as_text=True)
        document = json.loads(text)
        assert document["profile"]["username"] == "alice"
        [session] = document["sessions"]
        assert set(session) == {
            "session_id",
            "user_id",
            "device",
            "created_at",
            "last_seen_at",
            "expires_at",
            "address",
        }
        assert [b["user_id"] for b in document["blocks"]] == [bob.user_id]
        assert [t["thread_id"] for t in document["threads"]] == [thread_id]
        assert {m["user_id"] for m in document["threads"][0]["members"]} == {alice.user_id, bob.user_id}
        assert [(m["thread_id"], m["seq"], m["contents"]) for m in document["messages"]] == [
            (thread_id, 1, "hello")
        ]
        assert "hi" not in [m["contents"] for m in document["messages"]]
        assert hash_token(alice.token) not in text

    def test_a_large_export_is_valid_json_written_in_many_pieces(self, make_app):
        app = make_app()
        api = Api(app.test_client())
        alice, bob = api.signup("alice"), api.signup("bob")
        thread_id = api.open_thread(alice, [bob], "m0")
        count = leaving.MESSAGE_BATCH * 3 + 7
        for index in range(1, count):
            api.send_ok(alice, thread_id, f"m{index}")
        with app.app_context():
            from messenger.web.context import deps

            pieces = list(leaving.export_chunks(deps(), alice.user_id))
        assert len(pieces) >= 4 + 3  # never one piece per document: one per page at most
        assert (
            max(len(piece) for piece in pieces) < 1000 * leaving.MESSAGE_BATCH
        )  # one page of messages at most
        document = json.loads("".join(pieces))
        assert len(document["messages"]) == count
        reply = api.client.get("/me/export", headers=alice.headers)
        assert len(json.loads(reply.get_data(as_text=True))["messages"]) == count

    def test_exports_are_rate_limited(self, make_api):
        api = make_api(rate_limits_enabled=True, rate_limit_export="2 per hour")
        alice = api.signup("alice")
        assert [api.client.get("/me/export", headers=alice.headers).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]


class TestAdminCommands:
    @pytest.fixture
    def cli(self, make_app):
        app = make_app()
        runner = app.test_cli_runner()
        return app, runner, Api(app.test_client())

    def test_list_users(self, cli):
        app, runner, api = cli
        alice = api.signup("alice")
        result = runner.invoke(args=["list-users"])
        assert result.exit_code == 0
        assert f"{alice.user_id}\talice\talice@example.com" in result.output
        assert "active" in result.output

    def test_a_disabled_user_is_signed_out_and_refused(self, cli):
        app, runner, api = cli
        alice = api.signup("alice")
        assert runner.invoke(args=["disable-user", "alice"]).exit_code == 0
        assert api.me(alice).status_code == 401
        reply = api.signin("alice")
        assert (reply.status_code, reply.get_json()["error"]["code"]) == (403, "account_disabled")
        assert api.signin("alice", "wrong").status_code == 401
        assert "disabled" in runner.invoke(args=["list-users"]).output
        assert runner.invoke(args=["enable-user", "alice@example.com"]).exit_code == 0
        assert api.signin("alice").status_code == 200

    def test_delete_user_deletes_without_a_password_and_can_run_again(self, cli):
        app, runner, api = cli
        alice, bob = api.signup("alice"), api.signup("bob")
        thread_id = api.open_thread(bob, [alice], "hi")
        assert runner.invoke(args=["delete-user", "alice"]).exit_code == 0
        assert api.me(alice).status_code == 401
        assert [m["user_id"] for m in api.thread_view(bob, thread_id)["members"]] == [bob.user_id]
        again = runner.invoke(args=["delete-user", alice.user_id])
        assert again.exit_code == 0, again.output
        assert "deleted\tdeleted-user" in runner.invoke(args=["list-users"]).output.replace(
            f"{alice.user_id}\t", "deleted\t"
        )

    def test_an_unknown_login_is_an_error(self, cli):
        app, runner, api = cli
        result = runner.invoke(args=["disable-user", "nobody"])
        assert result.exit_code != 0
        assert "no user" in result.output
