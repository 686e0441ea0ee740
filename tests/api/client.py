"""A thin client over Flask's test client, so API tests read like the use case they check."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

PASSWORD = "correct horse"
CLIENT_TIMESTAMP = 1_600_000_000_000  # far from the server clock, so the two are never confused
ERROR_KEYS = {"code", "message", "details"}
MESSAGE_KEYS = {
    "message_id",
    "thread_id",
    "seq",
    "user_id",
    "contents",
    "timestamp",
    "client_timestamp",
    "client_msg_id",
    "edited_at",
    "edit_count",
    "deleted",
    "version",
    "reply_to",
    "mentions",
    "reactions",
    "attachments",
}
# What GET /me answers (and PATCH /me): the user's own shape.
ME_KEYS = {
    "user_id",
    "username",
    "display_name",
    "avatar",
    "avatar_url",
    "email",
    "created_at",
    "email_verified",
}
THREAD_KEYS = {
    "thread_id",
    "kind",
    "title",
    "created_by",
    "created_at",
    "members",
    "last_activity",
    "last_seq",
    "last_read_seq",
    "unread_count",
    "last_message",
    "unread_mentions",
}


@dataclass
class User:
    user_id: str
    username: str
    email: str
    token: str
    password: str = PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def with_token(self, token: str) -> User:
        """The same account signed in on another device."""
        return User(self.user_id, self.username, self.email, token, self.password)


def user_id(who: User | str) -> str:
    return who.user_id if isinstance(who, User) else who


def headers(who: User | str | None) -> dict[str, str]:
    if who is None:
        return {}
    if isinstance(who, User):
        return who.headers
    return {"Authorization": f"Bearer {who}"}


def message_body(sender: User | str, contents: str = "hello", **extra: Any) -> dict[str, Any]:
    """The protocol's ``message`` object: user_id, contents, timestamp (+ client_msg_id)."""
    return {"user_id": user_id(sender), "contents": contents, "timestamp": CLIENT_TIMESTAMP, **extra}


class Api:
    """Every route of the service; methods return the raw response unless named after a result."""

    def __init__(self, client: FlaskClient):
        self.client = client
        self._counter = itertools.count(1)

    # Accounts -------------------------------------------------------------------------
    def signup(
        self, username: str | None = None, *, email: str | None = None, password: str = PASSWORD
    ) -> User:
        """Create an account through the API and return it signed in."""
        username = username or f"user{next(self._counter)}"
        email = email or f"{username.lower()}@example.com"
        response = self.signup_raw({"email": email, "username": username, "password": password})
        assert response.status_code == 201, response.get_data(as_text=True)
        body = response.get_json()
        return User(body["user_id"], body["username"], body["email"], body["token"], password)

    def signup_raw(self, payload: Any) -> TestResponse:
        return self.client.post("/auth/signup", json=payload)

    def signin(self, login: str, password: str = PASSWORD) -> TestResponse:
        return self.client.post("/auth/signin", json={"login": login, "password": password})

    def signin_user(self, user: User) -> User:
        """Sign the account in again: the same user with a second device's token."""
        response = self.signin(user.username, user.password)
        assert response.status_code == 200, response.get_data(as_text=True)
        return user.with_token(response.get_json()["token"])

    def signout(self, who: User | str | None) -> TestResponse:
        return self.client.post("/auth/signout", headers=headers(who))

    def me(self, who: User | str | None) -> TestResponse:
        return self.client.get("/me", headers=headers(who))

    # Sessions and the password ---------------------------------------------------------
    def sessions(self, who: User | str | None) -> TestResponse:
        return self.client.get("/me/sessions", headers=headers(who))

    def session_list(self, who: User) -> list[dict]:
        response = self.sessions(who)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["sessions"]

    def current_session_id(self, who: User) -> str:
        (current,) = [session for session in self.session_list(who) if session["current"]]
        return current["session_id"]

    def end_session(self, who: User | str | None, session_id: str) -> TestResponse:
        return self.client.delete(f"/me/sessions/{session_id}", headers=headers(who))

    def signout_everywhere(self, who: User | str | None) -> TestResponse:
        return self.client.post("/auth/signout-everywhere", headers=headers(who))

    def change_password(self, who: User | str | None, current: Any, new: Any) -> TestResponse:
        body = {"current_password": current, "new_password": new}
        return self.client.post("/me/password", json=body, headers=headers(who))

    def users(self, who: User | str | None, q: str) -> TestResponse:
        return self.client.get("/users", query_string={"q": q}, headers=headers(who))

    # Threads and messages -------------------------------------------------------------
    def create_thread(
        self,
        sender: User,
        members: list[User | str],
        contents: str = "hello",
        *,
        message: dict | None = None,
        **extra: Any,
    ) -> TestResponse:
        """POST /threads with the protocol's payload; ``members`` become ``user_ids`` verbatim."""
        payload = {
            "user_ids": [user_id(member) for member in members],
            "message": message if message is not None else message_body(sender, contents),
            **extra,
        }
        return self.client.post("/threads", json=payload, headers=sender.headers)

    def open_thread(self, sender: User, others: list[User], contents: str = "hello", **extra: Any) -> str:
        """Create a thread with ``sender`` and ``others``; return its id."""
        response = self.create_thread(sender, [sender, *others], contents, **extra)
        assert response.status_code in (200, 201), response.get_data(as_text=True)
        return response.get_json()["thread"]["thread_id"]

    def send(
        self,
        sender: User,
        thread_id: str,
        contents: str = "hello",
        *,
        message: dict | None = None,
        **extra: Any,
    ) -> TestResponse:
        """POST /message with the protocol's send_message payload."""
        payload = {
            "thread_id": thread_id,
            "message": message if message is not None else message_body(sender, contents),
            **extra,
        }
        return self.client.post("/message", json=payload, headers=sender.headers)

    def send_ok(self, sender: User, thread_id: str, contents: str = "hello", **message_extra: Any) -> dict:
        response = self.send(sender, thread_id, message=message_body(sender, contents, **message_extra))
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()["message"]

    def threads(self, who: User | str | None, **params: Any) -> TestResponse:
        return self.client.get("/threads", query_string=params, headers=headers(who))

    def thread_list(self, who: User, **params: Any) -> list[dict]:
        response = self.threads(who, **params)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["threads"]

    def thread(self, who: User | str | None, thread_id: str) -> TestResponse:
        return self.client.get(f"/threads/{thread_id}", headers=headers(who))

    def thread_view(self, who: User, thread_id: str) -> dict:
        response = self.thread(who, thread_id)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["thread"]

    def messages(self, who: User | str | None, thread_id: str, **params: Any) -> TestResponse:
        return self.client.get(f"/threads/{thread_id}/messages", query_string=params, headers=headers(who))

    def message_list(self, who: User, thread_id: str, **params: Any) -> list[dict]:
        response = self.messages(who, thread_id, **params)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["messages"]

    def seqs(self, who: User, thread_id: str, **params: Any) -> list[int]:
        return [message["seq"] for message in self.message_list(who, thread_id, **params)]

    def mark_read(self, who: User | str | None, thread_id: str, seq: Any) -> TestResponse:
        return self.client.post(f"/threads/{thread_id}/read", json={"seq": seq}, headers=headers(who))

    def add_members(self, who: User | str | None, thread_id: str, members: list[User | str]) -> TestResponse:
        payload = {"user_ids": [user_id(member) for member in members]}
        return self.client.post(f"/threads/{thread_id}/members", json=payload, headers=headers(who))

    def answer_invitation(self, who: User | str | None, thread_id: str, accept: Any) -> TestResponse:
        """POST /threads/<id>/invitation: accept (True) or decline (False) an invitation."""
        path = f"/threads/{thread_id}/invitation"
        return self.client.post(path, json={"accept": accept}, headers=headers(who))

    def remove_member(self, who: User | str | None, thread_id: str, member: User | str) -> TestResponse:
        return self.client.delete(f"/threads/{thread_id}/members/{user_id(member)}", headers=headers(who))

    # Changing a message ----------------------------------------------------------------
    def edit(self, who: User | str | None, thread_id: str, seq: Any, contents: Any) -> TestResponse:
        path = f"/threads/{thread_id}/messages/{seq}"
        return self.client.patch(path, json={"contents": contents}, headers=headers(who))

    def delete(self, who: User | str | None, thread_id: str, seq: Any) -> TestResponse:
        return self.client.delete(f"/threads/{thread_id}/messages/{seq}", headers=headers(who))

    def react(self, who: User | str | None, thread_id: str, seq: Any, emoji: str) -> TestResponse:
        path = f"/threads/{thread_id}/messages/{seq}/reactions/{quote(emoji, safe='')}"
        return self.client.put(path, headers=headers(who))

    def unreact(self, who: User | str | None, thread_id: str, seq: Any, emoji: str) -> TestResponse:
        path = f"/threads/{thread_id}/messages/{seq}/reactions/{quote(emoji, safe='')}"
        return self.client.delete(path, headers=headers(who))

    def update_types(self, who: User, since: int = 0) -> list[str]:
        reply = self.client.get("/updates", query_string={"since": since, "timeout": 0}, headers=who.headers)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        return [update["type"] for update in reply.get_json()["updates"]]

    def action(self, who: User | str | None, payload: Any) -> TestResponse:
        return self.client.post("/actions", json=payload, headers=headers(who))

    def raw(
        self,
        method: str,
        path: str,
        who: User | str | None = None,
        *,
        data: str | bytes | None = None,
        content_type: str | None = None,
    ) -> TestResponse:
        """A request with a body sent exactly as given (for bad JSON, lone surrogates...)."""
        return self.client.open(
            path, method=method, data=data, content_type=content_type, headers=headers(who)
        )

    # Reading everything back ----------------------------------------------------------
    def snapshot(self, *users: User) -> dict:
        """Everything each user can see: their thread list and every thread's messages.

        Compare a snapshot before and after a rejected write to prove nothing changed.
        """
        seen = {}
        for who in users:
            threads = self.thread_list(who, end_index=100)
            seen[who.user_id] = {
                "threads": threads,
                "messages": {
                    thread["thread_id"]: self.message_list(who, thread["thread_id"], end_index=100)
                    for thread in threads
                },
            }
        return seen


def error_of(response: TestResponse, status: int, code: str) -> dict:
    """Assert the error shape ``{"error": {"code", "message", "details"}}``; return the details."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == ERROR_KEYS, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]["details"]
