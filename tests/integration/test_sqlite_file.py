"""The embedded store on a real SQLite file: concurrent writers and restarts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from messenger import create_app
from messenger.config import Settings
from messenger.errors import ClientMsgIdConflict, ThreadNotFound
from messenger.model import MESSAGE_NEW
from messenger.store.sqlite import SqliteStore

from ..contract.test_store import add_user, open_thread, send

SENDERS = 8
SENDS_EACH = 50


@pytest.fixture
def settings(tmp_path):
    # floods on purpose; no pruning thread (nothing here would stop it); groups of strangers
    return Settings(
        sqlite_path=str(tmp_path / "messenger.db"),
        rate_limits_enabled=False,
        prune_interval_s=0,
        group_add_policy="anyone",
    )


def signup(client, name: str) -> dict:
    body = {"email": f"{name}@example.com", "username": name, "password": "correct horse battery"}
    user = client.post("/auth/signup", json=body).get_json()
    return {**user, "headers": {"Authorization": f"Bearer {user['token']}"}}


def message(user: dict, contents: str, **extra) -> dict:
    return {"user_id": user["user_id"], "contents": contents, "timestamp": 1, **extra}


def open_group(client, users: list[dict]) -> str:
    creator = users[0]
    reply = client.post(
        "/threads",
        json={"user_ids": [u["user_id"] for u in users], "message": message(creator, "start")},
        headers=creator["headers"],
    )
    assert reply.status_code == 201
    return reply.get_json()["thread"]["thread_id"]


def all_messages(client, user: dict, thread_id: str) -> list[dict]:
    """Walk the whole history with before_seq pages, newest first."""
    found, before = [], None
    while True:
        query = f"before_seq={before}&limit=100" if before else "start_index=0&end_index=100"
        page = client.get(f"/threads/{thread_id}/messages?{query}", headers=user["headers"]).get_json()
        if not page["messages"]:
            return found
        found += page["messages"]
        before = page["messages"][-1]["seq"]


def test_concurrent_senders_get_unique_gapless_seqs(settings):
    app = create_app(settings)
    client = app.test_client()
    users = [signup(client, f"sender{i}") for i in range(SENDERS)]
    thread_id = open_group(client, users)

    def send_all(user: dict) -> list[int]:
        own_client = app.test_client()
        seqs = []
        for i in range(SENDS_EACH):
            body = {"thread_id": thread_id, "message": message(user, f"{user['username']} #{i}")}
            reply = own_client.post("/message", json=body, headers=user["headers"])
            assert reply.status_code == 201, reply.get_json()
            seqs.append(reply.get_json()["message"]["seq"])
        return seqs

    with ThreadPoolExecutor(SENDERS) as pool:
        per_sender = list(pool.map(send_all, users))

    sent = sorted(seq for seqs in per_sender for seq in seqs)
    assert sent == list(range(2, SENDERS * SENDS_EACH + 2))  # seq 1 is the thread's first message
    assert all(seqs == sorted(seqs) for seqs in per_sender)  # each sender's own order is kept
    stored = all_messages(client, users[0], thread_id)
    assert [m["seq"] for m in stored] == list(range(SENDERS * SENDS_EACH + 1, 0, -1))
    for user, seqs in zip(users, per_sender, strict=True):
        mine = [m for m in stored if m["user_id"] == user["user_id"] and m["seq"] in seqs]
        assert [m["contents"] for m in reversed(mine)] == [
            f"{user['username']} #{i}" for i in range(SENDS_EACH)
        ]


def test_concurrent_retries_of_one_client_msg_id_store_one_message(settings):
    app = create_app(settings)
    client = app.test_client()
    alice, bob = signup(client, "alice"), signup(client, "bob")
    thread_id = open_group(client, [alice, bob, signup(client, "carol")])
    body = {"thread_id": thread_id, "message": message(alice, "only once", client_msg_id="retry-me")}

    def send(_):
        reply = app.test_client().post("/message", json=body, headers=alice["headers"])
        return reply.status_code, reply.get_json()["message"]["message_id"]

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(send, range(16)))

    assert sorted(status for status, _ in outcomes) == [200] * 15 + [201]
    assert len({message_id for _, message_id in outcomes}) == 1
    assert [m["contents"] for m in all_messages(client, bob, thread_id)] == ["only once", "start"]


def test_everything_survives_a_restart_on_the_same_file(settings):
    first = create_app(settings)
    client = first.test_client()
    alice, bob = signup(client, "alice"), signup(client, "bob")
    thread_id = open_group(client, [alice, bob])
    for i in range(3):
        client.post(
            "/message",
            json={"thread_id": thread_id, "message": message(bob, f"m{i}")},
            headers=bob["headers"],
        )
    client.post(f"/threads/{thread_id}/read", json={"seq": 3}, headers=alice["headers"])
    before = {
        who["username"]: (
            client.get("/threads", headers=who["headers"]).get_json(),
            all_messages(client, who, thread_id),
        )
        for who in (alice, bob)
    }
    first.extensions["messenger"].store.close()

    second = create_app(settings).test_client()
    after = {
        who["username"]: (
            second.get("/threads", headers=who["headers"]).get_json(),
            all_messages(second, who, thread_id),
        )
        for who in (alice, bob)
    }
    assert after == before
    alice_thread = after["alice"][0]["threads"][0]
    assert (alice_thread["last_read_seq"], alice_thread["unread_count"]) == (3, 1)
    signin = second.post(
        "/auth/signin", json={"login": "BOB@example.com", "password": "correct horse battery"}
    )
    assert signin.status_code == 200 and signin.get_json()["user_id"] == bob["user_id"]


def test_sends_written_together_fail_alone_and_nothing_of_a_failed_one_is_stored(tmp_path):
    """Under concurrency sends share transactions (group commit): a refused send in a batch
    must leave the others, and the seqs, exactly as if it had never been tried."""
    store = SqliteStore(str(tmp_path / "batched.db"))
    store.setup()
    members = [add_user(store) for _ in range(6)]
    outsider = add_user(store)
    thread_id = open_thread(store, *members).thread_id
    refused: list[Exception] = []

    def send_many(sender, n: int) -> None:
        for i in range(n):
            try:
                send(
                    store, sender, thread_id, f"{sender.username} {i}", client_msg_id=f"{sender.user_id}-{i}"
                )
            except (ThreadNotFound, ClientMsgIdConflict) as error:
                refused.append(error)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(send_many, member, 40) for member in members]
        futures += [pool.submit(send_many, outsider, 40) for _ in range(2)]  # not a member
        futures += [pool.submit(send_many, members[0], 40)]  # retries of members[0]'s ids
        for future in futures:
            future.result()

    assert len(refused) == 80 and all(isinstance(error, ThreadNotFound) for error in refused)
    stored = store.list_messages(thread_id, members[0].user_id, 0, 1000)
    assert sorted(m.seq for m in stored) == list(range(1, 6 * 40 + 2))  # the first message + 240
    assert len({(m.user_id, m.client_msg_id) for m in stored}) == len(stored)  # no retry stored twice
    assert all(m.user_id != outsider.user_id for m in stored)
    for member in members:
        page = store.read_updates(member.user_id, 0, 1000)
        seqs = [u.body["message"]["seq"] for u in page.updates if u.type == MESSAGE_NEW]
        assert seqs == list(range(1, 6 * 40 + 2))  # every member's log: each message once, in order
    store.close()
