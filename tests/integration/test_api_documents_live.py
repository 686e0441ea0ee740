"""The documents, used as a client author would, against a live gunicorn.

A Python client is generated from /openapi.json with openapi-python-client and runs the README's
walkthrough; real WebSocket frames, both ways, are checked against /asyncapi.json's messages.
"""

from __future__ import annotations

import importlib
import itertools
import json
import subprocess
import sys
import threading
from pathlib import Path

import jsonschema
import pytest
import requests
import websocket
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from .clients import Http, Stream

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "messenger_api_client"
# No post hooks: the generator would run ruff over its output, which only formats it.
GENERATOR_CONFIG = f"post_hooks: []\npackage_name_override: {PACKAGE}\nproject_name_override: {PACKAGE}\n"
_timestamps = itertools.count(1_767_225_600_000)


@pytest.fixture
def generated(live_server, tmp_path):
    """The client package generated from the live server's /openapi.json, imported."""
    (tmp_path / "openapi.json").write_text(requests.get(live_server.url + "/openapi.json", timeout=10).text)
    (tmp_path / "config.yaml").write_text(GENERATOR_CONFIG)
    command = [str(GENERATOR), "generate", "--path", "openapi.json", "--meta", "none"]
    command += ["--config", "config.yaml", "--output-path", PACKAGE, "--fail-on-warning"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_a_client_generated_from_the_openapi_document_runs_the_walkthrough(live_server, generated):
    models = importlib.import_module(f"{PACKAGE}.models")

    def operation(name: str):
        """One generated operation module, e.g. ``threads.post_message``."""
        return importlib.import_module(f"{PACKAGE}.api.{name}")

    anonymous = generated.Client(base_url=live_server.url, raise_on_unexpected_status=True)

    def signup(name: str, password: str):
        body = models.SignupRequest(email=f"{name}@example.com", username=name, password=password)
        signed_in = operation("accounts.post_auth_signup").sync(client=anonymous, body=body)
        assert isinstance(signed_in, models.SignedIn), signed_in
        return signed_in, generated.AuthenticatedClient(base_url=live_server.url, token=signed_in.token)

    def message(sender, contents: str):
        return models.MessageIn(user_id=sender.user_id, contents=contents, timestamp=next(_timestamps))

    alice, as_alice = signup("alice", "correct horse")
    bob, as_bob = signup("bob", "battery staple")
    again = operation("accounts.post_auth_signin").sync(
        client=anonymous, body=models.SigninRequest(login="bob", password="battery staple")
    )
    assert again.username == "bob"
    found = operation("accounts.get_users").sync(client=as_alice, q="bo")
    assert [user.username for user in found.users] == ["bob"]

    opened = operation("threads.post_threads").sync(
        client=as_alice,
        body=models.CreateThreadRequest(
            user_ids=[alice.user_id, bob.user_id], message=message(alice, "Hi Bob!")
        ),
    )
    thread_id = opened.thread.thread_id
    sent = operation("threads.post_message").sync(
        client=as_alice,
        body=models.SendMessageRequest(thread_id=thread_id, message=message(alice, "Lunch today?")),
    )
    assert isinstance(sent, models.MessageReply) and sent.message.seq == 2

    listed = operation("threads.get_threads").sync(client=as_bob, start_index=0, end_index=20)
    assert [(t.thread_id, t.unread_count) for t in listed.threads] == [(thread_id, 2)]
    page = operation("threads.get_threads_thread_id_messages").sync(
        thread_id, client=as_bob, start_index=0, end_index=2
    )
    assert [m.contents for m in page.messages] == ["Lunch today?", "Hi Bob!"]
    marked = operation("threads.post_threads_thread_id_read").sync(
        thread_id, client=as_bob, body=models.MarkReadRequest(seq=2)
    )
    assert marked.last_read_seq == 2

    # Bob's other device catches up from the list's cursor: his read receipt, typed.
    caught_up = operation("updates.get_updates").sync(client=as_bob, since=listed.cursor, timeout=0.0)
    assert [type(update) for update in caught_up.updates] == [models.ThreadReadUpdate]
    # Then it long-polls; Alice's next message wakes it, as a typed message.new.
    later = threading.Timer(
        0.3,
        operation("threads.post_message").sync,
        kwargs={
            "client": as_alice,
            "body": models.SendMessageRequest(thread_id=thread_id, message=message(alice, "12:30?")),
        },
    )
    later.start()
    try:
        polled = operation("updates.get_updates").sync(client=as_bob, since=caught_up.cursor, timeout=10.0)
    finally:
        later.join()
    news = [update for update in polled.updates if isinstance(update, models.MessageNewUpdate)]
    assert [update.message.contents for update in news] == ["12:30?"]
    assert polled.cursor == news[-1].cursor

    # A type a newer server may send decodes as the catch-all, so the client can skip it.
    future = models.UpdatesReply.from_dict(
        {"updates": [{"cursor": 9, "type": "poll.created", "seq": 3}], "cursor": 9, "more": False}
    )
    assert isinstance(future.updates[0], models.OtherUpdate)
    assert future.updates[0].to_dict()["type"] == "poll.created"


def asyncapi_validator(document: dict, message: str) -> jsonschema.Draft7Validator:
    """A validator for one message's payload, its $refs resolved in the AsyncAPI document."""
    uri = "urn:messenger:asyncapi"
    registry = Registry().with_resource(uri, Resource.from_contents(document, DRAFT7))
    return jsonschema.Draft7Validator(
        {"$ref": f"{uri}#/components/messages/{message}/payload"}, registry=registry
    )


def drain(stream: Stream, quiet_s: float = 0.5) -> list[dict]:
    """The frames kept back and those that arrive until none has for ``quiet_s``."""
    frames, stream.pending = stream.pending, []
    while True:
        try:
            frames.append(stream.frame(quiet_s))
        except websocket.WebSocketTimeoutException:
            return frames


def test_real_socket_frames_both_ways_match_the_asyncapi_document(live_server):
    document = requests.get(live_server.url + "/asyncapi.json", timeout=10).json()
    http = Http(live_server.url)
    alice, bob, carol = http.signup(), http.signup(), http.signup()
    thread_id = http.open_thread(alice, [bob])
    as_alice, as_bob = Stream(live_server.url, alice.token, since=0), Stream(live_server.url, bob.token)
    try:
        new_message = {"user_id": alice.user_id, "contents": "hi", "timestamp": next(_timestamps)}
        frames = {
            "sendMessage": {"action": "send_message", "thread_id": thread_id, "message": new_message},
            "createThread": {
                "action": "create_thread",
                "user_ids": [alice.user_id, bob.user_id, carol.user_id],
                "title": "Trip",
                "message": {**new_message, "timestamp": next(_timestamps)},
            },
            "getUserThreads": {"action": "get_user_threads", "user_id": alice.user_id, "end_index": 10},
            "getThreadMessages": {
                "action": "get_thread_messages",
                "user_id": alice.user_id,
                "thread_id": thread_id,
                "end_index": 5,
            },
            "markRead": {"action": "mark_read", "thread_id": thread_id, "seq": 2},  # bob's, below
            "typing": {"action": "typing", "thread_id": thread_id},
        }
        for name, frame in frames.items():
            asyncapi_validator(document, name).validate({**frame, "request_id": "r1"})  # what we send
            reply = (as_bob if name == "markRead" else as_alice).request(frame)
            assert reply["type"] == "result", reply
            asyncapi_validator(document, f"{name}Result").validate(reply)
        refused = as_alice.request({"action": "typing", "thread_id": "no-such-thread"})
        asyncapi_validator(document, "error").validate(refused)
        unreadable = json.dumps(["not", "an", "object"])
        as_alice.ws.send(unreadable)
        asyncapi_validator(document, "error").validate(as_alice.reply_to(None))

        # Every update and typing frame either socket got: replayed, live, and relayed.
        received = drain(as_alice) + drain(as_bob)
        message_for = {"update": "update", "typing": "typingEvent"}
        for frame in received:
            asyncapi_validator(document, message_for[frame["type"]]).validate(frame)
        kinds = {frame["update"]["type"] if frame["type"] == "update" else "typing" for frame in received}
        assert {"message.new", "thread.new", "thread.read", "typing"} <= kinds
    finally:
        as_alice.close()
        as_bob.close()
