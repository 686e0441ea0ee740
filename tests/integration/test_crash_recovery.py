"""kill -9 the server while updates flow; restart; every client resumes from its cursor."""

from __future__ import annotations

import signal
import threading
import time

import requests
import websocket

from .clients import Closed, Http, Stream
from .live import LiveServer

MESSAGES = 150
KILL_AFTER_ACKS = 40


def send_until_acknowledged(http: Http, sender, thread_id: str, text: str, client_msg_id: str) -> dict:
    """What a mobile client does: retry with the same client_msg_id until the server answers."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            reply = http.send(sender, thread_id, text, client_msg_id=client_msg_id, timeout=5)
            if reply.status_code in (200, 201):
                return reply.json()["message"]
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{client_msg_id} was never acknowledged")


def test_kill_9_mid_stream_loses_and_duplicates_nothing(tmp_path):
    server = LiveServer({"MESSENGER_DB": str(tmp_path / "m.db")}, log_path=tmp_path / "gunicorn.log").start()
    try:
        http = Http(server.url)
        alice, bob = http.signup(), http.signup()
        thread_id = http.open_thread(alice, [bob], "start")
        start_cursor = http.cursor(bob)
        acked: list[dict] = []

        def sender():
            for i in range(MESSAGES):
                acked.append(send_until_acknowledged(http, alice, thread_id, f"m{i}", f"cmid-{i}"))

        sending = threading.Thread(target=sender)
        sending.start()

        received: list[dict] = []
        cursor = start_cursor
        killed = False
        deadline = time.monotonic() + 90
        while len(received) < MESSAGES and time.monotonic() < deadline:
            try:
                stream = Stream(server.url, bob.token, since=cursor)
                while len(received) < MESSAGES:
                    (update,) = stream.updates(1, timeout=10)
                    received.append(update)
                    cursor = update["cursor"]
                    if not killed and len(acked) >= KILL_AFTER_ACKS:
                        server.stop(signal.SIGKILL)
                        killed = True
                        server.start()
            except (Closed, OSError, websocket.WebSocketException) as error:  # the crash: reconnect
                if not killed:
                    raise AssertionError(f"stream failed before the crash: {error!r}") from error
                time.sleep(0.1)
        sending.join(60)

        assert killed
        assert len(acked) == MESSAGES
        contents = [u["message"]["contents"] for u in received]
        assert contents == [f"m{i}" for i in range(MESSAGES)]  # each once, in order
        assert [u["message"]["seq"] for u in received] == list(range(2, MESSAGES + 2))
        assert {m["message_id"] for m in acked} == {u["message"]["message_id"] for u in received}

        replayed, _ = http.all_updates(bob, start_cursor)
        assert [u["message"]["contents"] for u in replayed] == contents
        history = http.session.get(
            f"{server.url}/threads/{thread_id}/messages?start_index=0&end_index=100", headers=bob.headers
        ).json()["messages"]
        history += http.session.get(
            f"{server.url}/threads/{thread_id}/messages?start_index=100&end_index=200", headers=bob.headers
        ).json()["messages"]
        assert sorted(m["seq"] for m in history) == list(range(1, MESSAGES + 2))
    finally:
        server.stop()
