"""schemathesis against /openapi.json, in process: no 5xx, and every answer is the documented one.

Every operation of the document is generated (valid and invalid inputs: schemathesis' coverage
and fuzzing phases), sent with a valid token to the Flask app on a fresh SQLite file, and checked:
not a server error, a documented status, a documented content type, a body matching the
documented schema. Generated ids are mostly swapped for real ones (the signed-in user, a peer, a
1:1 thread, a fresh group, a thread the user is not in), so the success paths and the
not-a-member paths run too, not only "no such thread".

``FUZZ_EXAMPLES`` is the fuzzing budget for all operations together (``make soak`` raises it);
the coverage phase adds its own deterministic cases on top. The count is printed at the end.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import hypothesis.strategies as st
import pytest
import schemathesis
from flask import Flask
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from messenger import create_app
from messenger.config import Settings
from messenger.schemas import MAX_SAFE_INTEGER
from messenger.service import accounts
from messenger.web.context import EXTENSION_KEY
from messenger.wiring import build_deps, build_store

from .conftest import CASES_RUN, HTTP_EXAMPLES, NOTES, SEED

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
DEFAULT_SEED = 20260101

# Stand-ins the generators put where an id goes; each case swaps them for real ids before sending.
ME, PEER, STRANGER = "@@me@@", "@@peer@@", "@@stranger@@"
DIRECT, GROUP, FOREIGN = "@@direct@@", "@@group@@", "@@foreign@@"
USER_STANDINS = [ME, PEER, STRANGER]
_timestamps = itertools.count(1_767_225_600_000)


@dataclass
class Person:
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    """The signed-in user ``me`` with a peer, a stranger, and threads to point generated ids at:
    ``direct`` (me and peer), ``foreign`` (peer and stranger: me is not a member), and a new group
    of all three for every case that asks for one (a case may leave it or remove people)."""

    app: Flask
    people: dict[str, Person] = field(default_factory=dict)
    threads: dict[str, str] = field(default_factory=dict)
    _group: str | None = None

    @property
    def me(self) -> Person:
        return self.people[ME]

    def signup(self, name: str) -> Person:
        body = {"email": f"{name}@example.com", "username": name, "password": "correct horse battery"}
        reply = self.app.test_client().post("/auth/signup", json=body)
        assert reply.status_code == 201, reply.get_data(as_text=True)
        return Person(reply.json["user_id"], reply.json["token"])

    def open_thread(self, creator: Person, *others: Person, **extra: Any) -> str:
        message = {"user_id": creator.user_id, "contents": "seed", "timestamp": next(_timestamps)}
        body = {"user_ids": [creator.user_id, *(p.user_id for p in others)], "message": message, **extra}
        reply = self.app.test_client().post("/threads", json=body, headers=creator.headers)
        assert reply.status_code in (200, 201), reply.get_data(as_text=True)
        return reply.json["thread"]["thread_id"]

    def spare_token(self) -> str:
        """Another device's token for ``me``, for sign-out cases (they revoke the token used)."""
        return accounts.issue_token(self.app.extensions[EXTENSION_KEY], self.me.user_id)

    def resolve_case(self, case) -> None:
        self._group = None
        case.path_parameters = self.resolve(case.path_parameters)
        case.query = self.resolve(case.query)
        case.body = self.resolve(case.body)

    def resolve(self, value: Any) -> Any:
        """Swap every stand-in in a generated value for the real id."""
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, str):
            return value
        if value.startswith("%40%40"):  # path parameters arrive percent-encoded
            value = unquote(value)
        if value == GROUP:
            if self._group is None:
                self._group = self.open_thread(self.me, self.people[PEER], self.people[STRANGER], title="g")
            return self._group
        if value in self.people:
            return self.people[value].user_id
        return self.threads.get(value, value)


# Generation ---------------------------------------------------------------------------
def mostly(valid: st.SearchStrategy, other: st.SearchStrategy, one_in: int = 4) -> st.SearchStrategy:
    """``valid`` except one time in ``one_in``: a payload with several fields is often valid as a
    whole (so success paths run) while every field still sees odd values."""
    return st.integers(0, one_in - 1).flatmap(lambda pick: other if pick == one_in - 1 else valid)


def with_real_ids(value: Any) -> st.SearchStrategy:
    """A generated object whose id-shaped fields mostly become stand-ins for real ids."""
    if not isinstance(value, dict):
        return st.just(value)
    keys = list(value)
    fields = [_with_real_id(key, value[key]) for key in keys]
    return st.tuples(*fields).map(lambda items: dict(zip(keys, items, strict=True)))


def _with_real_id(key: str, value: Any) -> st.SearchStrategy:
    if key == "user_id" and isinstance(value, str):
        return mostly(st.just(ME), st.sampled_from([PEER, STRANGER, value]))
    if key == "thread_id" and isinstance(value, str):
        return mostly(st.sampled_from([DIRECT, GROUP]), st.sampled_from([FOREIGN, value]))
    if key == "user_ids" and isinstance(value, list):
        members = st.lists(st.sampled_from(USER_STANDINS), min_size=1, max_size=4)
        return mostly(members.map(lambda ids: [ME, *ids]), st.just(value))
    if key == "message":
        return with_real_ids(value)
    return st.just(value)


def action_payloads() -> st.SearchStrategy:
    """The four protocol actions for ``POST /actions``, whose documented body is just "an object"."""
    anything = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70)
    users = mostly(st.just(ME), st.sampled_from([PEER, STRANGER]) | anything)
    threads = mostly(st.sampled_from([DIRECT, GROUP]), st.just(FOREIGN) | anything)
    index = mostly(st.integers(0, 60), st.integers() | anything)
    message = st.fixed_dictionaries(
        {
            "user_id": users,
            "contents": mostly(st.text(min_size=1, max_size=200).filter(str.strip), anything),
            "timestamp": mostly(st.integers(0, MAX_SAFE_INTEGER), anything),
        },
        optional={"client_msg_id": st.text(max_size=70)},
    )
    members = st.lists(st.sampled_from(USER_STANDINS), max_size=4).map(lambda ids: [ME, *ids])
    page = {"start_index": index, "end_index": index}
    return st.one_of(
        st.fixed_dictionaries({"action": st.just("send_message"), "thread_id": threads, "message": message}),
        st.fixed_dictionaries(
            {"action": st.just("create_thread"), "user_ids": mostly(members, anything), "message": message},
            optional={"title": st.none() | st.text(max_size=120)},
        ),
        st.fixed_dictionaries({"action": st.just("get_user_threads"), "user_id": users}, optional=page),
        st.fixed_dictionaries(
            {"action": st.just("get_thread_messages"), "user_id": users, "thread_id": threads}, optional=page
        ),
    )


def load_schema() -> schemathesis.BaseSchema:
    """The document as the app serves it, read from a throwaway app (cases go to ``world.app``)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(sqlite_path=os.path.join(tmp, "spec.db"), prune_interval_s=0)
        store = build_store(settings)
        store.setup()
        try:
            app = create_app(settings, deps=build_deps(settings, store))
            document = app.test_client().get("/openapi.json").json
        finally:
            store.close()
    operations = sum(1 for item in document["paths"].values() for method in item if method != "parameters")
    config = schemathesis.Config.from_dict(
        {
            "seed": int(SEED) if SEED else DEFAULT_SEED,
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "generation": {
                "max-examples": max(1, HTTP_EXAMPLES // operations),
                "deterministic": SEED is None,
                "database": "none",
            },
        }
    )
    loaded = schemathesis.openapi.from_dict(document, config=config)

    @loaded.hook
    def flatmap_path_parameters(context, value):
        return mostly(with_real_ids(value), st.just(value))

    @loaded.hook
    def flatmap_query(context, value):
        return mostly(with_real_ids(value), st.just(value))

    @loaded.hook
    def flatmap_body(context, value):
        real = action_payloads() if context.operation.path == "/actions" else with_real_ids(value)
        return mostly(real, st.just(value))

    return loaded


schema = load_schema()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    path = tmp_path_factory.mktemp("fuzz") / "messenger.db"
    # No pruning thread; a long poll without a timeout answers at once (no case waits); no rate
    # limits (the cases come far faster than any person's, and the limits have their own tests).
    # Anyone may add anyone (GROUP_ADD_POLICY): the group stand-in is of people who share no 1:1.
    settings = Settings(
        sqlite_path=str(path), prune_interval_s=0, longpoll_default_timeout_s=0, group_add_policy="anyone"
    )
    if "rate_limits_enabled" in {f.name for f in dataclasses.fields(Settings)}:
        settings = settings.with_overrides(rate_limits_enabled=False)
    store = build_store(settings)
    store.setup()
    world = World(create_app(settings, deps=build_deps(settings, store)))
    for standin, name in ((ME, "fuzzer"), (PEER, "peer"), (STRANGER, "stranger")):
        world.people[standin] = world.signup(name)
    world.threads[DIRECT] = world.open_thread(world.me, world.people[PEER])
    world.threads[FOREIGN] = world.open_thread(world.people[PEER], world.people[STRANGER])
    yield world
    store.close()


def no_long_wait(case) -> None:
    """A long poll asking to wait would hold the case up to 25 s: ask for no wait instead
    (out-of-range and malformed timeouts are kept, so their validation is still fuzzed)."""
    if case.operation.path != "/updates" or not isinstance(case.query, dict) or "timeout" not in case.query:
        return
    try:
        wanted = float(case.query["timeout"])
    except (TypeError, ValueError):
        return
    if math.isfinite(wanted) and 0 < wanted <= 25:
        case.query["timeout"] = "0"


@schema.parametrize()
def test_every_operation_answers_as_documented_and_never_with_a_server_error(case, world):
    world.resolve_case(case)
    no_long_wait(case)
    # Sign-out revokes the token it is sent with: give it a spare one, so later cases stay signed in.
    token = world.spare_token() if case.operation.path == "/auth/signout" else world.me.token
    auth = {"Authorization": f"Bearer {token}"}

    # Through Flask's test client, which closes each response as a server does once written.
    client = world.app.test_client()
    response = case.call_and_validate(app=world.app, session=client, headers=auth, checks=CHECKS)

    CASES_RUN["http cases"] += 1
    CASES_RUN[f"http {response.status_code // 100}xx"] += 1
    documented = case.operation.definition.raw.get("responses", {})
    if case.method.upper() == case.operation.method.upper() and str(response.status_code) not in documented:
        undocumented = NOTES.setdefault("statuses documented only by 'default'", {})
        undocumented.setdefault(case.operation.label, set()).add(response.status_code)
