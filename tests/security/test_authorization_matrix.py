"""Who may do what, over HTTP: every route of the app × every kind of caller.

Callers: no token, malformed tokens, an expired token, a revoked (signed-out) token, another
user's valid token with a payload naming the member, a signed-in non-member, and a member.
Expected: 401 (auth_required / invalid_token) for every token problem; 403 user_mismatch where
the payload names someone else; 404 thread_not_found for a non-member, byte for byte the answer
for a thread that does not exist; 2xx for a member. No error body ever carries anything about
the thread: its id, title, members' ids or usernames, or message contents.

The routes come from the app's url_map, so a new route fails ``test_the_matrix_covers_every_route``
until it has a row here.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.security import generate_password_hash

from messenger import create_app
from messenger.config import Settings
from messenger.model import User, session_id_of
from messenger.ports import Store
from messenger.service import accounts
from messenger.service.deps import new_id
from messenger.web import actions as protocol
from messenger.web.context import EXTENSION_KEY
from messenger.wiring import build_deps, build_store

from ..clock import Clock

DAY_MS = 24 * 60 * 60 * 1000
TOKEN_TTL_DAYS = 30
METRICS_TOKEN = "the-operator-s-scraper-token"
UNKNOWN_THREAD = "0123456789abcdef0123456789abcdef"  # shaped like a real id; no such thread
PASSWORD = "a long walk through the old town"
MALFORMED_AUTHORIZATION = [
    "Bearer not-a-real-token",
    "Bearer " + "A" * 2000,
    "Bearer",
    "Bearer    ",
    "Basic YWxpY2U6c2VjcmV0",
    "Token abc",
    "not-even-a-scheme",
]
OTHER, NON_MEMBER, MEMBER = "another user's token", "non-member", "member"


@dataclass
class Person:
    user_id: str
    username: str
    token: str = ""


@dataclass
class World:
    """alice created a group with bob and erin (titled, with messages); carol is in no thread of
    theirs; dave is in none at all. Tokens: everyone's fresh one, plus an expired and a revoked
    one of alice's."""

    app: Flask
    client: FlaskClient
    people: dict[str, Person] = field(default_factory=dict)
    thread_id: str = ""
    attachment_id: str = ""  # alice's upload (a PDF), sent in the group
    image_id: str = ""  # alice's photo, sent in the group: it has a thumbnail
    expired_token: str = ""
    revoked_token: str = ""
    _stamps: itertools.count = field(default_factory=lambda: itertools.count(1_600_000_000_000))

    alice = property(lambda self: self.people["alice"])
    bob = property(lambda self: self.people["bob"])
    erin = property(lambda self: self.people["erin"])
    carol = property(lambda self: self.people["carol"])
    dave = property(lambda self: self.people["dave"])

    def new_token(self, person: Person) -> str:
        person.token = accounts.issue_token(self.app.extensions[EXTENSION_KEY], person.user_id)
        return person.token

    def spare_session_id(self, person: Person) -> str:
        """The id of a new session of ``person``'s (another device), for signing one out."""
        token = accounts.issue_token(self.app.extensions[EXTENSION_KEY], person.user_id, "spare")
        return session_id_of(accounts.hash_token(token))

    @property
    def secrets(self) -> list[str]:
        """Everything about the thread a stranger must never be told."""
        members = [self.people[name] for name in ("alice", "bob", "erin")]
        return self.thread_secrets + [value for m in members for value in (m.user_id, m.username)]

    @property
    def thread_secrets(self) -> list[str]:
        return [self.thread_id, "Secret summit", "the launch code is 0000", "reply about the code"]

    def message(self, sender: Person, contents: str = "hello") -> dict:
        return {"user_id": sender.user_id, "contents": contents, "timestamp": next(self._stamps)}


@pytest.fixture
def world(tmp_path):
    made, store = build_world(tmp_path)
    yield made
    store.close()


def build_world(tmp_path) -> tuple[World, Store]:
    clock = Clock()
    settings = Settings(
        sqlite_path=str(tmp_path / "authz.db"),
        prune_interval_s=0,
        token_ttl_days=TOKEN_TTL_DAYS,
        metrics_token=METRICS_TOKEN,
        group_add_policy="anyone",  # alice's group is of people who share no 1:1 thread
    )
    store = build_store(settings)
    store.setup()
    deps = build_deps(settings, store, clock=clock)
    app = create_app(settings, deps=deps)
    world = World(app, app.test_client())
    for name in ("alice", "bob", "erin", "carol", "dave"):
        # Straight into the store, with a hash of one cheap round: these people use tokens, and
        # their password only to change it (to itself).
        user = User(new_id(), f"{name}@example.com", f"{name}_x7q", clock())
        store.add_user(user, generate_password_hash(PASSWORD, method="pbkdf2:sha256:1"))
        world.people[name] = Person(user.user_id, user.username)
    world.expired_token = accounts.issue_token(deps, world.alice.user_id)
    assert world.client.get("/me", headers=bearer(world.expired_token)).status_code == 200  # valid until...
    clock.advance(TOKEN_TTL_DAYS * DAY_MS + 1)  # every token issued so far has now expired
    for person in world.people.values():
        person.token = accounts.issue_token(deps, person.user_id)
    world.revoked_token = accounts.issue_token(deps, world.alice.user_id)
    reply = world.client.post("/auth/signout", headers=bearer(world.revoked_token))
    assert reply.status_code == 204, reply.get_data(as_text=True)

    created = world.client.post(
        "/threads",
        headers=bearer(world.alice.token),
        json={
            "user_ids": [world.alice.user_id, world.bob.user_id, world.erin.user_id],
            "message": world.message(world.alice, "the launch code is 0000"),
            "title": "Secret summit",
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    world.thread_id = created.json["thread"]["thread_id"]
    sent = world.client.post(
        "/message",
        headers=bearer(world.bob.token),
        json={"thread_id": world.thread_id, "message": world.message(world.bob, "reply about the code")},
    )
    assert sent.status_code == 201, sent.get_data(as_text=True)
    uploaded = world.client.post(
        "/attachments?filename=plan.pdf", data=b"%PDF-1.4 the plan", headers=bearer(world.alice.token)
    )
    assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
    world.attachment_id = uploaded.json["attachment"]["attachment_id"]
    photo = io.BytesIO()
    Image.new("RGB", (8, 8)).save(photo, "PNG")
    uploaded = world.client.post(
        "/attachments?filename=map.png", data=photo.getvalue(), headers=bearer(world.alice.token)
    )
    assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
    world.image_id = uploaded.json["attachment"]["attachment_id"]
    files = [world.attachment_id, world.image_id]
    message = world.message(world.alice, "the plan") | {"attachments": files}
    shared = world.client.post(
        "/message", headers=bearer(world.alice.token), json={"thread_id": world.thread_id, "message": message}
    )
    assert shared.status_code == 201, shared.get_data(as_text=True)
    return world, store


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# The matrix ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    method: str
    path: str
    json: Any = None
    query: dict | None = None
    data: bytes | None = None  # a raw body (an upload) instead of JSON


@dataclass(frozen=True)
class Guarded:
    """A route that needs a token. ``build(world, actor, named, thread_id)`` is the request
    ``actor`` sends naming ``named`` in its payload; the statuses are what each caller gets."""

    build: Callable[[World, Person, Person, str], Request]
    other: tuple[int, str | None]  # another user's token, payload naming the member
    non_member: tuple[int, str | None]  # a signed-in non-member naming themselves
    member: tuple[int, ...]
    thread_scoped: bool = True  # refusals must read exactly like those for an unknown thread
    spends_token: bool = False  # sign-out revokes the token it is sent with: use a fresh one each time


@dataclass(frozen=True)
class Public:
    """A route that needs no token (and ignores one)."""

    path: str
    why: str


@dataclass(frozen=True)
class WebSocketOnly:
    why: str


@dataclass(frozen=True)
class OperatorOnly:
    """A route for the operator's scraper: its own token (METRICS_TOKEN), never a user's."""

    path: str


NOT_FOUND = (404, "thread_not_found")
MISMATCH = (403, "user_mismatch")


def send_message(w: World, actor: Person, named: Person, thread_id: str) -> Request:
    return Request("POST", "/message", {"thread_id": thread_id, "message": w.message(named, "let me in")})


def create_thread(w: World, actor: Person, named: Person, thread_id: str) -> Request:
    return Request(
        "POST", "/threads", {"user_ids": [named.user_id, w.dave.user_id], "message": w.message(named)}
    )


def list_threads(w: World, actor: Person, named: Person, thread_id: str) -> Request:
    return Request("GET", "/threads", query={"user_id": named.user_id, "start_index": 0, "end_index": 50})


def list_messages(w: World, actor: Person, named: Person, thread_id: str) -> Request:
    return Request("GET", f"/threads/{thread_id}/messages", query={"user_id": named.user_id, "end_index": 10})


def action(name: str, payload: Callable[[World, Person, str], dict]):
    def build(w: World, actor: Person, named: Person, thread_id: str) -> Request:
        return Request("POST", "/actions", {"action": name, **payload(w, named, thread_id)})

    return build


ACTION_ROWS: dict[str, Guarded] = {
    "send_message": Guarded(
        action(
            "send_message", lambda w, named, t: {"thread_id": t, "message": w.message(named, "let me in")}
        ),
        MISMATCH,
        NOT_FOUND,
        (201,),
    ),
    "create_thread": Guarded(
        action(
            "create_thread",
            lambda w, named, t: {"user_ids": [named.user_id, w.dave.user_id], "message": w.message(named)},
        ),
        MISMATCH,
        (201, None),
        (201, 200),
        thread_scoped=False,
    ),
    "get_user_threads": Guarded(
        action(
            "get_user_threads",
            lambda w, named, t: {"user_id": named.user_id, "start_index": 0, "end_index": 9},
        ),
        MISMATCH,
        (200, None),
        (200,),
        thread_scoped=False,
    ),
    "get_thread_messages": Guarded(
        action(
            "get_thread_messages",
            lambda w, named, t: {"user_id": named.user_id, "thread_id": t, "start_index": 0, "end_index": 9},
        ),
        MISMATCH,
        NOT_FOUND,
        (200,),
    ),
}

MATRIX: dict[tuple[str, str], Guarded | Public | WebSocketOnly | dict[str, Guarded]] = {
    ("POST", "/auth/signup"): Public("/auth/signup", "creates an account"),
    ("POST", "/auth/signin"): Public("/auth/signin", "exchanges a password for a token"),
    ("POST", "/auth/password-reset"): Public(
        "/auth/password-reset", "mails a reset link (202 for any address)"
    ),
    ("POST", "/auth/password-reset/confirm"): Public(
        "/auth/password-reset/confirm", "the mailed token is the key"
    ),
    ("POST", "/auth/verify-email"): Public("/auth/verify-email", "the mailed token is the key"),
    ("POST", "/me/email"): Guarded(
        # Only ever one's own address, and only with one's own password (a wrong one here).
        lambda w, actor, named, t: Request(
            "POST", "/me/email", {"email": "x@example.com", "password": "wrong!"}
        ),
        (403, "wrong_password"),
        (403, "wrong_password"),
        (403,),
        False,
    ),
    ("POST", "/me/email/verification"): Guarded(
        # One's own address; this world has no SMTP_URL, so every caller gets 404.
        lambda w, actor, named, t: Request("POST", "/me/email/verification"),
        (404, "mail_not_configured"),
        (404, "mail_not_configured"),
        (404,),
        False,
    ),
    ("GET", "/healthz"): Public("/healthz", "health check"),
    ("GET", "/readyz"): Public("/readyz", "readiness check"),
    ("GET", "/openapi.json"): Public("/openapi.json", "the API document"),
    ("GET", "/asyncapi.json"): Public("/asyncapi.json", "the WebSocket's document"),
    ("GET", "/version"): Public("/version", "what this server supports"),
    ("GET", "/users/<user_id>/avatar"): Public(
        f"/users/{UNKNOWN_THREAD}/avatar", "a user's picture, for an <img>: public by user id"
    ),
    ("GET", "/docs"): Public("/docs", "the API docs page"),
    ("GET", "/docs/assets/<path:filename>"): Public("/docs/assets/swagger-ui.css", "the docs page's files"),
    ("GET", "/"): Public("/", "the web client's page"),
    ("GET", "/app/<path:filename>"): Public("/app/app.css", "the web client's files"),
    ("GET", "/static/<path:filename>"): Public("/static/nothing-here.txt", "Flask's static files (none)"),
    ("GET", "/metrics"): OperatorOnly("/metrics"),
    ("GET", "/stream"): WebSocketOnly("tests/security/test_stream_authorization.py covers every action"),
    ("POST", "/auth/signout"): Guarded(
        lambda w, actor, named, t: Request("POST", "/auth/signout"),
        (204, None),
        (204, None),
        (204,),
        thread_scoped=False,
        spends_token=True,
    ),
    ("GET", "/me"): Guarded(
        lambda w, actor, named, t: Request("GET", "/me"), (200, None), (200, None), (200,), False
    ),
    ("PATCH", "/me"): Guarded(
        # Only ever one's own profile: another user's token changes that user's display name.
        lambda w, actor, named, t: Request("PATCH", "/me", {"display_name": f"{actor.username} (new)"}),
        (200, None),
        (200, None),
        (200,),
        False,
    ),
    ("GET", "/me/sessions"): Guarded(
        lambda w, actor, named, t: Request("GET", "/me/sessions"), (200, None), (200, None), (200,), False
    ),
    ("DELETE", "/me/sessions/<session_id>"): Guarded(
        # Another of the named person's sessions: carol may not end alice's, only her own.
        lambda w, actor, named, t: Request("DELETE", f"/me/sessions/{w.spare_session_id(named)}"),
        (404, "session_not_found"),
        (204, None),
        (204,),
        thread_scoped=False,
    ),
    ("POST", "/auth/signout-everywhere"): Guarded(
        lambda w, actor, named, t: Request("POST", "/auth/signout-everywhere"),
        (204, None),
        (204, None),
        (204,),
        thread_scoped=False,
    ),
    ("POST", "/me/password"): Guarded(
        # To the same password, so every caller's attempt finds it unchanged.
        lambda w, actor, named, t: Request(
            "POST", "/me/password", {"current_password": PASSWORD, "new_password": PASSWORD}
        ),
        (204, None),
        (204, None),
        (204,),
        thread_scoped=False,
    ),
    ("DELETE", "/me"): Guarded(
        # Only ever one's own account, and only with its password: a wrong one here, so the
        # world's users stay (tests/api/test_leaving.py deletes with the right one).
        lambda w, actor, named, t: Request("DELETE", "/me", {"password": "not the password"}),
        (403, "wrong_password"),
        (403, "wrong_password"),
        (403,),
        False,
    ),
    ("POST", "/attachments"): Guarded(
        # Anyone signed in may upload; it is theirs alone until they send it.
        lambda w, actor, named, t: Request("POST", "/attachments", query={"filename": "a.txt"}, data=b"hi"),
        (201, None),
        (201, None),
        (201,),
        False,
    ),
    ("GET", "/attachments/<attachment_id>"): Guarded(
        # The uploader and the members of a thread where it was sent; anyone else gets the answer
        # for an attachment that does not exist.
        lambda w, actor, named, t: Request("GET", f"/attachments/{w.attachment_id}"),
        (404, "attachment_not_found"),
        (404, "attachment_not_found"),
        (200,),
        False,
    ),
    ("GET", "/attachments/<attachment_id>/thumbnail"): Guarded(
        lambda w, actor, named, t: Request("GET", f"/attachments/{w.image_id}/thumbnail"),
        (404, "attachment_not_found"),
        (404, "attachment_not_found"),
        (200,),
        False,
    ),
    ("GET", "/me/export"): Guarded(
        lambda w, actor, named, t: Request("GET", "/me/export"), (200, None), (200, None), (200,), False
    ),
    ("GET", "/users"): Guarded(
        lambda w, actor, named, t: Request("GET", "/users", query={"q": "a"}),
        (200, None),
        (200, None),
        (200,),
        False,
    ),
    ("GET", "/updates"): Guarded(
        lambda w, actor, named, t: Request("GET", "/updates", query={"since": 0, "timeout": 0}),
        (200, None),
        (200, None),
        (200,),
        False,
    ),
    ("POST", "/message"): Guarded(send_message, MISMATCH, NOT_FOUND, (201,)),
    ("POST", "/threads"): Guarded(create_thread, MISMATCH, (201, None), (201, 200), thread_scoped=False),
    ("GET", "/threads"): Guarded(list_threads, MISMATCH, (200, None), (200,), thread_scoped=False),
    ("GET", "/threads/<thread_id>"): Guarded(
        lambda w, actor, named, t: Request("GET", f"/threads/{t}"), NOT_FOUND, NOT_FOUND, (200,)
    ),
    ("GET", "/threads/<thread_id>/messages"): Guarded(list_messages, MISMATCH, NOT_FOUND, (200,)),
    ("POST", "/threads/<thread_id>/read"): Guarded(
        lambda w, actor, named, t: Request("POST", f"/threads/{t}/read", {"seq": 2}),
        NOT_FOUND,
        NOT_FOUND,
        (200,),
    ),
    ("POST", "/threads/<thread_id>/members"): Guarded(
        lambda w, actor, named, t: Request("POST", f"/threads/{t}/members", {"user_ids": [w.dave.user_id]}),
        NOT_FOUND,
        NOT_FOUND,
        (200,),
    ),
    ("DELETE", "/threads/<thread_id>/members/<user_id>"): Guarded(
        # The member (alice, the creator) removes bob; a stranger tries to remove bob, or leave.
        lambda w, actor, named, t: Request(
            "DELETE", f"/threads/{t}/members/{(w.bob if named is w.alice else named).user_id}"
        ),
        NOT_FOUND,
        NOT_FOUND,
        (204,),
    ),
    ("PATCH", "/threads/<thread_id>/messages/<int:seq>"): Guarded(
        lambda w, actor, named, t: Request("PATCH", f"/threads/{t}/messages/1", {"contents": "fixed"}),
        NOT_FOUND,
        NOT_FOUND,
        (200,),
    ),
    ("DELETE", "/threads/<thread_id>/messages/<int:seq>"): Guarded(
        # alice, the group's creator, may delete bob's message (seq 2).
        lambda w, actor, named, t: Request("DELETE", f"/threads/{t}/messages/2"),
        NOT_FOUND,
        NOT_FOUND,
        (204,),
    ),
    ("PUT", "/threads/<thread_id>/messages/<int:seq>/reactions/<emoji>"): Guarded(
        lambda w, actor, named, t: Request("PUT", f"/threads/{t}/messages/2/reactions/👍"),
        NOT_FOUND,
        NOT_FOUND,
        (200,),
    ),
    ("DELETE", "/threads/<thread_id>/messages/<int:seq>/reactions/<emoji>"): Guarded(
        lambda w, actor, named, t: Request("DELETE", f"/threads/{t}/messages/2/reactions/👍"),
        NOT_FOUND,
        NOT_FOUND,
        (204,),
    ),
    # Blocks are the caller's own (dave is in none of the threads); an invitation answer is
    # thread-scoped: without an invitation, a non-member gets the 404 of a missing thread, and
    # a member accepting again gets the thread back.
    ("PUT", "/me/blocks/<user_id>"): Guarded(
        lambda w, actor, named, t: Request("PUT", f"/me/blocks/{w.dave.user_id}"),
        (200, None),
        (200, None),
        (200,),
        thread_scoped=False,
    ),
    ("DELETE", "/me/blocks/<user_id>"): Guarded(
        lambda w, actor, named, t: Request("DELETE", f"/me/blocks/{w.dave.user_id}"),
        (204, None),
        (204, None),
        (204,),
        thread_scoped=False,
    ),
    ("GET", "/me/blocks"): Guarded(
        lambda w, actor, named, t: Request("GET", "/me/blocks"), (200, None), (200, None), (200,), False
    ),
    ("GET", "/me/invitations"): Guarded(
        lambda w, actor, named, t: Request("GET", "/me/invitations"), (200, None), (200, None), (200,), False
    ),
    ("POST", "/threads/<thread_id>/invitation"): Guarded(
        lambda w, actor, named, t: Request("POST", f"/threads/{t}/invitation", {"accept": True}),
        NOT_FOUND,
        NOT_FOUND,
        (200,),
    ),
    ("POST", "/actions"): ACTION_ROWS,
}


def app_routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_the_matrix_covers_every_route_and_every_protocol_action(world):
    routes = app_routes(world.app)
    assert sorted(routes - set(MATRIX)) == [], "routes with no row in the authorization matrix"
    assert sorted(set(MATRIX) - routes) == [], "rows for routes the app no longer has"
    assert set(ACTION_ROWS) == set(protocol.ACTIONS), "POST /actions: every protocol action needs a row"


# Running a row -----------------------------------------------------------------------------
def send(world: World, request: Request, headers: dict[str, str]):
    body = {"data": request.data} if request.data is not None else {"json": request.json}
    return world.client.open(
        request.path, method=request.method, query_string=request.query, headers=headers, **body
    )


def check(problems: list[str], label: str, response, statuses, code: str | None) -> None:
    statuses = (statuses,) if isinstance(statuses, int) else statuses
    body = response.get_json(silent=True)
    if response.status_code not in statuses:
        problems.append(
            f"{label}: got {response.status_code}, expected {statuses}: {response.get_data(as_text=True)}"
        )
        return
    codes = code.split("|") if code else None
    if codes and not (
        isinstance(body, dict) and set(body) == {"error"} and body["error"].get("code") in codes
    ):
        problems.append(f"{label}: expected code {code}, got {body}")


def check_no_secrets(problems: list[str], label: str, response, secrets: list[str]) -> None:
    text = response.get_data(as_text=True)
    leaked = [secret for secret in secrets if secret and secret in text]
    if leaked:
        problems.append(f"{label}: the answer mentions {leaked}: {text[:500]}")


def run_row(world: World, label: str, row: Guarded) -> list[str]:
    """Every caller against one row; returns what went wrong (all of it, not just the first)."""
    problems: list[str] = []
    w = world
    thread = w.thread_id

    def attempt(caller: str, actor: Person, named: Person, headers: dict[str, str], expected, code) -> None:
        request = row.build(w, actor, named, thread)
        response = send(w, request, headers)
        name = f"{label} / {caller}"
        check(problems, name, response, expected, code)
        if response.status_code >= 400:
            check_no_secrets(problems, name, response, w.secrets)
            if row.thread_scoped:  # the same caller asking about a thread that does not exist
                twin = send(w, row.build(w, actor, named, UNKNOWN_THREAD), headers)
                if (twin.status_code, twin.get_data()) != (response.status_code, response.get_data()):
                    problems.append(
                        f"{name}: answered differently for an unknown thread: "
                        f"{response.status_code} {response.get_data(as_text=True)} vs "
                        f"{twin.status_code} {twin.get_data(as_text=True)}"
                    )
        elif caller != MEMBER:
            check_no_secrets(problems, name, response, w.thread_secrets)

    attempt("no token", w.alice, w.alice, {}, 401, "auth_required")
    for value in MALFORMED_AUTHORIZATION:
        attempt(
            f"malformed {value[:20]!r}",
            w.alice,
            w.alice,
            {"Authorization": value},
            401,
            "auth_required|invalid_token",
        )
    attempt("expired token", w.alice, w.alice, bearer(w.expired_token), 401, "invalid_token")
    attempt("revoked token", w.alice, w.alice, bearer(w.revoked_token), 401, "invalid_token")
    token = w.new_token if row.spends_token else (lambda person: person.token)
    attempt(OTHER, w.carol, w.alice, bearer(token(w.carol)), *row.other)
    attempt(NON_MEMBER, w.carol, w.carol, bearer(token(w.carol)), *row.non_member)
    attempt(MEMBER, w.alice, w.alice, bearer(token(w.alice)), row.member, None)
    return problems


GUARDED_ROWS = [
    pytest.param(row, id=f"{method} {rule}" + (f" {name}" if name else ""))
    for (method, rule), entry in MATRIX.items()
    for name, row in (entry.items() if isinstance(entry, dict) else [("", entry)])
    if isinstance(row, Guarded)
]


@pytest.mark.parametrize("row", GUARDED_ROWS)
def test_only_a_member_with_a_live_token_gets_in_and_a_refusal_tells_nothing(world, request, row):
    problems = run_row(world, request.node.callspec.id, row)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "route",
    [pytest.param(entry, id=f"{m} {r}") for (m, r), entry in MATRIX.items() if isinstance(entry, Public)],
)
def test_public_routes_need_no_token_and_ignore_a_bad_one(world, route):
    body = {} if route.path.startswith("/auth/") else None
    method = "POST" if route.path.startswith("/auth/") else "GET"
    for headers in ({}, {"Authorization": "Bearer not-a-real-token"}):
        response = world.client.open(route.path, method=method, json=body, headers=headers)
        assert response.status_code not in (401, 403), (route, headers, response.status_code)
        assert response.status_code < 500, (route, response.status_code)
        problems: list[str] = []
        check_no_secrets(problems, route.path, response, world.secrets)  # e.g. /metrics' labels
        assert not problems, problems


@pytest.mark.parametrize(
    "route",
    [
        pytest.param(entry, id=f"{m} {r}")
        for (m, r), entry in MATRIX.items()
        if isinstance(entry, OperatorOnly)
    ],
)
def test_operator_routes_refuse_users_and_strangers_and_tell_no_secrets(world, route):
    for token in (None, "not-a-real-token", world.alice.token):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = world.client.get(route.path, headers=headers)
        assert response.status_code == 401, (route, token, response.status_code)
    response = world.client.get(route.path, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    problems: list[str] = []
    check_no_secrets(problems, route.path, response, world.secrets)  # e.g. /metrics' labels
    assert not problems, problems


WEBSOCKET_RULES = [rule for (_, rule), entry in MATRIX.items() if isinstance(entry, WebSocketOnly)]


@pytest.mark.parametrize("rule", WEBSOCKET_RULES)
def test_a_websocket_route_asked_over_plain_http_is_a_client_error_that_tells_nothing(world, rule):
    for headers in ({}, bearer(world.carol.token), bearer(world.alice.token)):
        response = world.client.get(rule, headers=headers)
        assert 400 <= response.status_code < 500, (rule, response.status_code)
        problems: list[str] = []
        check_no_secrets(problems, rule, response, world.secrets)
        assert not problems, problems
