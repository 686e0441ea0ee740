"""Who may do what over the WebSocket /stream of a live gunicorn server: every socket action ×
every kind of caller.

A socket without a live token (none, malformed, expired, signed out) is refused before any action
runs: one error frame (auth_required / invalid_token) and close 4401, even when the client sends
an action at once; nobody sees any effect of it. On a live socket, another user naming the member
gets 403 user_mismatch; a non-member gets 404 thread_not_found, the same error as for a thread
that does not exist; a member gets a result. No error frame carries anything about the thread.

The expired token is written straight into the server's SQLite file with an expiry in the past:
the server's clock cannot be moved from here, and TOKEN_TTL_DAYS counts whole days.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests
import websocket

from messenger.model import Session
from messenger.service.accounts import hash_token
from messenger.service.deps import now_ms
from messenger.store.sqlite import SqliteStore
from messenger.web import actions as protocol

from ..integration.clients import Closed, Http, Stream, User
from ..integration.live import LiveServer

UNKNOWN_THREAD = "0123456789abcdef0123456789abcdef"
_stamps = itertools.count(1_600_000_000_000)


@dataclass
class World:
    server: LiveServer
    http: Http
    alice: User
    bob: User
    erin: User
    carol: User
    thread_id: str
    expired_token: str
    revoked_token: str

    @property
    def secrets(self) -> list[str]:
        members = (self.alice, self.bob, self.erin)
        return [self.thread_id, "Secret summit", "the launch code is 0000"] + [
            value for member in members for value in (member.user_id, member.username)
        ]

    @property
    def thread_secrets(self) -> list[str]:
        return [self.thread_id, "Secret summit", "the launch code is 0000"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    tmp = tmp_path_factory.mktemp("ws-authz")
    db = tmp / "messenger.db"
    server = LiveServer({"MESSENGER_DB": str(db)}, log_path=tmp / "gunicorn.log").start()
    http = Http(server.url)
    alice, bob, erin, carol = (http.signup() for _ in range(4))
    created = http.session.post(
        server.url + "/threads",
        headers=alice.headers,
        json={
            "user_ids": [alice.user_id, bob.user_id, erin.user_id],
            "message": {"user_id": alice.user_id, "contents": "the launch code is 0000", "timestamp": 1},
            "title": "Secret summit",
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    thread_id = created.json()["thread"]["thread_id"]
    second = http.session.post(  # seq 2, for delete_message
        server.url + "/message",
        headers=alice.headers,
        json={"thread_id": thread_id, "message": {"contents": "to be deleted"}},
        timeout=10,
    )
    assert second.status_code == 201, second.text
    # An expired token of alice's, written where the server keeps its tokens.
    expired = "expired-" + alice.user_id
    store = SqliteStore(str(db))
    now = now_ms()
    store.add_session(
        Session(hash_token(expired), alice.user_id, "unknown", now - 2_000, now - 2_000, now - 1_000)
    )
    store.close()
    # A signed-out token of alice's.
    signed_in = http.session.post(
        server.url + "/auth/signin",
        json={"login": alice.username, "password": "correct horse battery"},
        timeout=10,
    )
    assert signed_in.status_code == 200, signed_in.text
    revoked = signed_in.json()["token"]
    signed_out = http.session.post(
        server.url + "/auth/signout", headers={"Authorization": f"Bearer {revoked}"}
    )
    assert signed_out.status_code == 204
    yield World(
        server, http, alice, bob, erin, carol, created.json()["thread"]["thread_id"], expired, revoked
    )
    server.stop()


# The matrix: a payload builder per action, and what the other callers get --------------------
@dataclass(frozen=True)
class Row:
    build: Callable[[World, User, str], dict]  # (world, the user named in the payload, thread id)
    other: tuple[int, str | None]  # another user's socket, payload naming the member
    non_member: tuple[int, str | None]  # a non-member naming themselves
    member: tuple[int, ...]
    thread_scoped: bool = True


def message(named: User, contents: str = "let me in") -> dict:
    return {"user_id": named.user_id, "contents": contents, "timestamp": next(_stamps)}


NOT_FOUND = (404, "thread_not_found")
MISMATCH = (403, "user_mismatch")
MATRIX: dict[str, Row] = {
    "send_message": Row(
        lambda w, named, t: {"action": "send_message", "thread_id": t, "message": message(named)},
        MISMATCH,
        NOT_FOUND,
        (201,),
    ),
    "create_thread": Row(
        lambda w, named, t: {
            "action": "create_thread",
            "user_ids": [named.user_id, w.erin.user_id],
            "message": message(named, "hello"),
        },
        MISMATCH,
        (201, None),
        (201, 200),
        thread_scoped=False,
    ),
    "get_user_threads": Row(
        lambda w, named, t: {"action": "get_user_threads", "user_id": named.user_id},
        MISMATCH,
        (200, None),
        (200,),
        thread_scoped=False,
    ),
    "get_thread_messages": Row(
        lambda w, named, t: {"action": "get_thread_messages", "user_id": named.user_id, "thread_id": t},
        MISMATCH,
        NOT_FOUND,
        (200,),
    ),
    "mark_read": Row(
        lambda w, named, t: {"action": "mark_read", "thread_id": t, "seq": 1}, NOT_FOUND, NOT_FOUND, (200,)
    ),
    "typing": Row(lambda w, named, t: {"action": "typing", "thread_id": t}, NOT_FOUND, NOT_FOUND, (200,)),
    "edit_message": Row(
        lambda w, named, t: {
            "action": "edit_message",
            "thread_id": t,
            "seq": 1,
            "contents": "the launch code is 0000!",
        },
        NOT_FOUND,
        NOT_FOUND,
        (200,),
    ),
    "delete_message": Row(
        lambda w, named, t: {"action": "delete_message", "thread_id": t, "seq": 2},
        NOT_FOUND,
        NOT_FOUND,
        (204,),
    ),
    "react": Row(
        lambda w, named, t: {"action": "react", "thread_id": t, "seq": 1, "emoji": "👍"},
        NOT_FOUND,
        NOT_FOUND,
        (200,),
    ),
    "unreact": Row(
        lambda w, named, t: {"action": "unreact", "thread_id": t, "seq": 1, "emoji": "👍"},
        NOT_FOUND,
        NOT_FOUND,
        (204,),
    ),
}


def test_the_matrix_covers_every_socket_action():
    assert set(MATRIX) == set(protocol.SOCKET_ACTIONS)


# Sockets without a live token ------------------------------------------------------------------
def connect(world: World, caller: str) -> websocket.WebSocket:
    """Open /stream as ``caller`` with websocket-client directly (the refusal comes at once)."""
    base = world.server.url.replace("http://", "ws://") + "/stream"
    options: dict = {"timeout": 10}
    url = {
        "no token": base,
        "empty token": base + "?token=",
        "malformed token": base + "?token=not-a-real-token",
        "malformed header": base,
        "expired token": base + f"?token={world.expired_token}",
        "revoked token": base + f"?token={world.revoked_token}",
    }[caller]
    if caller == "malformed header":
        options["header"] = ["Authorization: Basic YWxpY2U6c2VjcmV0"]
    return websocket.create_connection(url, **options)


# How an abrupt close (a TCP reset) shows up in websocket-client.
RESETS = ("ConnectionResetError", "BrokenPipeError", "WebSocketConnectionClosedException")
TOKEN_PROBLEMS = [
    "no token",
    "empty token",
    "malformed token",
    "malformed header",
    "expired token",
    "revoked token",
]


def snapshot(world: World) -> tuple:
    """What alice and bob can see over HTTP: their thread lists and the thread's messages."""
    seen = []
    for user in (world.alice, world.bob):
        threads = requests.get(world.server.url + "/threads", headers=user.headers, timeout=10).json()
        seen.append(sorted((t["thread_id"], t["last_seq"], t["last_read_seq"]) for t in threads["threads"]))
    return tuple(seen)


@pytest.mark.parametrize("action", sorted(MATRIX))
@pytest.mark.parametrize("caller", TOKEN_PROBLEMS)
def test_a_socket_without_a_live_token_is_refused_with_4401_before_any_action_runs(world, caller, action):
    watcher = Stream(world.server.url, world.bob.token)  # would see any message, receipt or typing
    before = snapshot(world)
    conn = connect(world, caller)
    payload = {**MATRIX[action].build(world, world.alice, world.thread_id), "request_id": "sneak"}
    with contextlib.suppress(OSError, websocket.WebSocketException):
        conn.send(json.dumps(payload))  # may find the socket already closed: refused all the same
    frames, ending = [], None
    try:
        while True:
            opcode, data = conn.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                ending = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                break
            frames.append(json.loads(data))
    except (OSError, websocket.WebSocketException) as error:
        # The server closed with our frame unread, so the kernel answered with a TCP reset,
        # which can overtake the close frame (a client that sends nothing always reads the 4401)
        # and, under load, the refusal too.
        ending = type(error).__name__
    conn.close()

    assert ending in (4401, *RESETS), (frames, ending)
    # The refusal and never an answer to the action (a reset may have swallowed the refusal).
    assert (len(frames) == 1) if ending == 4401 else (len(frames) <= 1), frames
    for refusal in frames:
        assert (refusal["type"], refusal["request_id"], refusal["status"]) == ("error", None, 401), refusal
        expected_code = (
            "auth_required" if caller in ("no token", "empty token", "malformed header") else "invalid_token"
        )
        assert refusal["error"]["code"] == expected_code, refusal
        assert not any(secret in json.dumps(refusal) for secret in world.secrets)
    watcher.ws.settimeout(0.3)
    with pytest.raises((TimeoutError, websocket.WebSocketTimeoutException)):
        watcher.ws.recv()  # bob saw nothing: no message, no receipt, no typing
    watcher.close()
    assert snapshot(world) == before


@pytest.mark.parametrize("caller", TOKEN_PROBLEMS)
def test_a_silent_client_without_a_live_token_always_reads_the_refusal_and_4401(world, caller):
    conn = connect(world, caller)
    refusal = json.loads(conn.recv())
    opcode, data = conn.recv_data(control_frame=True)
    conn.close()
    assert (refusal["type"], refusal["status"]) == ("error", 401), refusal
    assert (opcode, int.from_bytes(data[:2], "big")) == (websocket.ABNF.OPCODE_CLOSE, 4401)


# Live sockets: another user, a non-member, a member --------------------------------------------
def answer(stream: Stream, payload: dict) -> dict:
    reply = stream.request(payload)
    reply.pop("request_id")
    return reply


@pytest.mark.parametrize("action", sorted(MATRIX))
def test_on_a_live_socket_only_members_act_and_a_refusal_tells_nothing(world, action):
    row = MATRIX[action]
    w = world
    problems: list[str] = []
    carol = Stream(w.server.url, w.carol.token)
    alice = Stream(w.server.url, w.alice.token)

    def attempt(caller: str, stream: Stream, named: User, expected) -> None:
        reply = answer(stream, row.build(w, named, w.thread_id))
        text = json.dumps(reply, ensure_ascii=False)
        if caller == "member":
            if (reply["type"], reply["status"] in expected) != ("result", True):
                problems.append(f"{caller}: expected a result {expected}, got {text}")
            return
        status, code = expected
        if reply["status"] != status or (code and reply.get("error", {}).get("code") != code):
            problems.append(f"{caller}: expected {status} {code}, got {text}")
        secrets = w.secrets if reply["type"] == "error" else w.thread_secrets
        leaked = [secret for secret in secrets if secret in text]
        if leaked:
            problems.append(f"{caller}: the answer mentions {leaked}: {text[:400]}")
        if reply["type"] == "error" and row.thread_scoped:
            twin = answer(stream, row.build(w, named, UNKNOWN_THREAD))
            if twin != reply:
                problems.append(f"{caller}: answered differently for an unknown thread: {text} vs {twin}")

    attempt("another user's socket", carol, w.alice, row.other)
    attempt("non-member", carol, w.carol, row.non_member)
    attempt("member", alice, w.alice, row.member)
    carol.close()
    alice.close()
    time.sleep(0.05)
    assert not problems, "\n".join(problems)


def test_a_refused_socket_does_not_stop_the_worker_serving_others(world):
    stream = Stream(world.server.url, None)
    with pytest.raises(Closed):
        stream.frame()
        stream.frame()
    alive = Stream(world.server.url, world.alice.token)
    assert alive.request({"action": "get_user_threads", "user_id": world.alice.user_id})["status"] == 200
    alive.close()
