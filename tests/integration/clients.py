"""Small clients for tests against a live server: HTTP with requests, and the WebSocket stream."""

from __future__ import annotations

import itertools
import json
import struct
import threading
import time
import uuid
from dataclasses import dataclass

import requests
import websocket

_timestamps = itertools.count(1_767_225_600_000)


@dataclass
class User:
    user_id: str
    username: str
    token: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


class Http:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def signup(self, name: str | None = None) -> User:
        name = name or f"u{uuid.uuid4().hex[:10]}"
        body = {"email": f"{name}@example.com", "username": name, "password": "correct horse battery"}
        reply = self.session.post(self.base_url + "/auth/signup", json=body, timeout=10)
        assert reply.status_code == 201, reply.text
        data = reply.json()
        return User(data["user_id"], data["username"], data["token"])

    def open_thread(self, creator: User, others: list[User], contents: str = "hello") -> str:
        body = {
            "user_ids": [creator.user_id] + [u.user_id for u in others],
            "message": {"user_id": creator.user_id, "contents": contents, "timestamp": next(_timestamps)},
        }
        reply = self.session.post(self.base_url + "/threads", json=body, headers=creator.headers, timeout=10)
        assert reply.status_code in (200, 201), reply.text
        return reply.json()["thread"]["thread_id"]

    def send(self, sender: User, thread_id: str, contents: str, client_msg_id: str | None = None, timeout=10):
        message = {"user_id": sender.user_id, "contents": contents, "timestamp": next(_timestamps)}
        if client_msg_id:
            message["client_msg_id"] = client_msg_id
        return self.session.post(
            self.base_url + "/message",
            json={"thread_id": thread_id, "message": message},
            headers=sender.headers,
            timeout=timeout,
        )

    def updates(self, user: User, since: int | None = None, timeout: float = 0) -> requests.Response:
        params = {"timeout": timeout} if since is None else {"since": since, "timeout": timeout}
        return self.session.get(
            self.base_url + "/updates", params=params, headers=user.headers, timeout=timeout + 10
        )

    def cursor(self, user: User) -> int:
        return self.updates(user).json()["cursor"]

    def all_updates(self, user: User, since: int) -> tuple[list[dict], int]:
        """Drain the log after ``since`` without waiting; return the updates and the last cursor."""
        found = []
        while True:
            page = self.updates(user, since).json()
            found += page["updates"]
            since = page["cursor"]
            if not page["more"]:
                return found, since


EMOJI_MESSAGE = "😀" * 3990  # near the length limit, all of it outside ASCII


def emoji_thread(http: Http, messages: int = 100) -> tuple[User, str]:
    """A user and a thread of ``messages`` messages of 3,990 emoji each: large pages."""
    alice, bob = http.signup(), http.signup()
    thread_id = http.open_thread(alice, [bob])
    for n in range(messages):
        assert http.send(alice, thread_id, EMOJI_MESSAGE, client_msg_id=f"emoji-{n}").status_code == 201
    return alice, thread_id


class Closed(Exception):
    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed with {code}: {reason}")
        self.code = code
        self.reason = reason


class Stream:
    """A WebSocket connection to /stream that keeps update frames apart from replies."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        since: int | None = None,
        sockopt: tuple = (),
        origin: str | None = None,
        **query,
    ) -> None:
        params = {**query}
        if token is not None:
            params["token"] = token
        if since is not None:
            params["since"] = since
        url = (
            base_url.replace("http://", "ws://")
            + "/stream?"
            + "&".join(f"{k}={v}" for k, v in params.items())
        )
        self.ws = websocket.create_connection(url, timeout=10, sockopt=sockopt, origin=origin)
        self.pending: list[dict] = []

    def frame(self, timeout: float = 5) -> dict:
        """The next frame; raises ``Closed`` with the close code when the server closes."""
        if self.pending:
            return self.pending.pop(0)
        return json.loads(self.raw_frame(timeout))

    def raw_frame(self, timeout: float = 5) -> bytes:
        """The next frame as sent, byte for byte (frames kept for later are skipped)."""
        self.ws.settimeout(timeout)
        opcode, data = self.ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
            raise Closed(code, data[2:].decode("utf-8", "replace"))
        return data

    def updates(self, count: int, timeout: float = 5) -> list[dict]:
        """The next ``count`` update frames' updates (other frames are kept for later)."""
        found, others, deadline = [], [], time.monotonic() + timeout
        while len(found) < count:
            frame = self.frame(max(0.01, deadline - time.monotonic()))
            if frame["type"] == "update":
                assert frame["cursor"] == frame["update"]["cursor"]
                found.append(frame["update"])
            else:
                others.append(frame)
        self.pending = others + self.pending
        return found

    def request(self, payload: dict, timeout: float = 5) -> dict:
        """Send an action and return its result or error frame (update frames are kept)."""
        request_id = uuid.uuid4().hex
        self.ws.send(json.dumps({**payload, "request_id": request_id}))
        return self.reply_to(request_id, timeout)

    def reply_to(self, request_id, timeout: float = 5) -> dict:
        skipped, deadline = [], time.monotonic() + timeout
        try:
            while True:
                frame = self.frame(max(0.01, deadline - time.monotonic()))
                if frame["type"] in ("result", "error") and frame["request_id"] == request_id:
                    return frame
                skipped.append(frame)
        finally:
            self.pending = skipped + self.pending

    def close(self) -> None:
        self.ws.close()


def contents_of(updates: list[dict]) -> list[str]:
    return [u["message"]["contents"] for u in updates if u["type"] == "message.new"]


def check_delivery_across(server_a, server_b, contents: str) -> None:
    """A message sent through ``server_a`` reaches a socket and a waiting poll on ``server_b``
    at once: through the notifier (Redis), not the poll's 20 s timeout."""
    http_a, http_b = Http(server_a.url), Http(server_b.url)
    alice, bob = http_a.signup(), http_a.signup()
    thread_id = http_a.open_thread(alice, [bob])
    cursor = http_b.cursor(bob)
    stream = Stream(server_b.url, bob.token, since=cursor)
    polled = {}

    def poll():
        polled["reply"] = http_b.updates(bob, cursor, timeout=20).json()
        polled["at"] = time.monotonic()

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    sent_at = time.monotonic()
    assert http_a.send(alice, thread_id, contents).status_code == 201

    assert contents_of(stream.updates(1, timeout=5)) == [contents]
    poller.join(10)
    assert contents_of(polled["reply"]["updates"]) == [contents]
    assert polled["at"] - sent_at < 2
    stream.close()
