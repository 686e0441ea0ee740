"""Signing devices out through a live gunicorn: the revoked sessions' sockets close with 4401 at
once (the notifier, not the socket's 25 s re-check), their polls end, the others stay open; and
across two servers sharing Redis, as across workers."""

from __future__ import annotations

import threading
import time

import pytest

from .clients import Closed, Http, Stream, User
from .live import LiveServer

PASSWORD = "correct horse battery"  # Http.signup's
# Well under the socket's own re-check of its token (RESYNC_INTERVAL_S, 25 s): only the
# revocation's doorbell closes a socket this soon.
CLOSED_WITHIN_S = 5


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sessions")
    live = LiveServer({"MESSENGER_DB": str(tmp / "messenger.db")}, log_path=tmp / "gunicorn.log").start()
    yield live
    live.stop()


def sign_in(http: Http, user: User, device: str) -> User:
    """The same account on another device, with its own token."""
    body = {"login": user.username, "password": PASSWORD, "device": device}
    reply = http.session.post(http.base_url + "/auth/signin", json=body, timeout=10)
    assert reply.status_code == 200, reply.text
    return User(user.user_id, user.username, reply.json()["token"])


def session_ids(http: Http, user: User) -> dict[str, str]:
    """Device name -> session id, as ``user``'s device lists them."""
    reply = http.session.get(http.base_url + "/me/sessions", headers=user.headers, timeout=10)
    assert reply.status_code == 200, reply.text
    return {session["device"]: session["session_id"] for session in reply.json()["sessions"]}


def assert_closed_with_4401(stream: Stream) -> None:
    started = time.monotonic()
    with pytest.raises(Closed) as closed:
        while True:  # skip any frame queued before the close
            stream.frame(timeout=CLOSED_WITHIN_S)
    assert closed.value.code == 4401
    assert time.monotonic() - started < CLOSED_WITHIN_S


def assert_still_open(stream: Stream, user: User) -> None:
    reply = stream.request({"action": "get_user_threads", "user_id": user.user_id})
    assert reply["type"] == "result" and reply["status"] == 200, reply


def test_signing_a_session_out_by_id_closes_its_socket_and_poll_and_no_other(server):
    http = Http(server.url)
    alice = http.signup()
    phone, laptop = sign_in(http, alice, "Phone"), sign_in(http, alice, "Laptop")
    phone_stream, laptop_stream = Stream(server.url, phone.token), Stream(server.url, laptop.token)
    cursor = http.cursor(phone)
    polled = {}
    poller = threading.Thread(target=lambda: polled.update(reply=http.updates(phone, cursor, timeout=20)))
    poller.start()
    time.sleep(0.5)

    reply = http.session.delete(
        f"{server.url}/me/sessions/{session_ids(http, laptop)['Phone']}", headers=laptop.headers, timeout=10
    )

    assert reply.status_code == 204, reply.text
    assert_closed_with_4401(phone_stream)
    poller.join(CLOSED_WITHIN_S)
    assert polled["reply"].status_code == 401
    assert_still_open(laptop_stream, laptop)
    laptop_stream.close()


def test_signing_out_everywhere_closes_every_other_sessions_socket(server):
    http = Http(server.url)
    alice = http.signup()
    others = [alice, sign_in(http, alice, "Phone"), sign_in(http, alice, "Tablet")]
    laptop = sign_in(http, alice, "Laptop")
    streams = [Stream(server.url, other.token) for other in others]
    laptop_stream = Stream(server.url, laptop.token)
    time.sleep(0.2)

    reply = http.session.post(server.url + "/auth/signout-everywhere", headers=laptop.headers, timeout=10)

    assert reply.status_code == 204, reply.text
    for stream in streams:
        assert_closed_with_4401(stream)
    assert_still_open(laptop_stream, laptop)
    assert list(session_ids(http, laptop)) == ["Laptop"]
    laptop_stream.close()


def test_a_password_change_closes_the_other_sessions_sockets_and_keeps_this_one(server):
    http = Http(server.url)
    alice = http.signup()
    phone = sign_in(http, alice, "Phone")
    alice_stream, phone_stream = Stream(server.url, alice.token), Stream(server.url, phone.token)
    time.sleep(0.2)

    body = {"current_password": PASSWORD, "new_password": "a new and longer passphrase"}
    reply = http.session.post(server.url + "/me/password", json=body, headers=phone.headers, timeout=10)

    assert reply.status_code == 204, reply.text
    assert_closed_with_4401(alice_stream)
    assert_still_open(phone_stream, phone)
    phone_stream.close()


def test_a_session_signed_out_through_one_server_has_its_socket_closed_on_the_other(two_servers):
    server_a, server_b = two_servers
    http_a = Http(server_a.url)
    alice = http_a.signup()
    phone = sign_in(http_a, alice, "Phone")
    stream = Stream(server_b.url, phone.token)  # the phone's socket is on the other server
    time.sleep(0.2)

    reply = http_a.session.delete(
        f"{server_a.url}/me/sessions/{session_ids(http_a, alice)['Phone']}", headers=alice.headers, timeout=10
    )

    assert reply.status_code == 204, reply.text
    assert_closed_with_4401(stream)
