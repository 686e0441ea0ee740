"""SIGTERM: stop accepting, finish in-flight sends, end long-polls, close sockets with 1012, exit."""

from __future__ import annotations

import signal
import threading
import time

import pytest
import requests

from .clients import Closed, Http, Stream
from .live import LiveServer

GRACEFUL_TIMEOUT_S = 10  # gunicorn.conf.py


def test_sigterm_drains_clients_and_exits_within_the_graceful_timeout(tmp_path):
    server = LiveServer({"MESSENGER_DB": str(tmp_path / "m.db")}, log_path=tmp_path / "gunicorn.log").start()
    try:
        http = Http(server.url)
        alice, bob = http.signup(), http.signup()
        thread_id = http.open_thread(alice, [bob])
        cursor = http.cursor(bob)
        stream = Stream(server.url, bob.token, since=cursor)
        polled = {}

        def poll():
            polled["reply"] = http.updates(bob, cursor, timeout=20)
            polled["at"] = time.monotonic()

        acked: list[int] = []
        stop_sending = threading.Event()

        def keep_sending():  # sends in flight while the signal arrives
            sender = Http(server.url)
            while not stop_sending.is_set():
                try:
                    reply = sender.send(alice, thread_id, f"during {len(acked)}", timeout=5)
                except requests.RequestException:
                    return
                if reply.status_code != 201:
                    return
                acked.append(reply.json()["message"]["seq"])

        poller = threading.Thread(target=poll)
        poller.start()
        sending = threading.Thread(target=keep_sending)
        sending.start()
        time.sleep(0.5)

        signalled_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)

        poller.join(GRACEFUL_TIMEOUT_S)
        assert polled["reply"].status_code == 200  # answered, so the client polls again elsewhere
        assert polled["at"] - signalled_at < 3
        with pytest.raises(Closed) as closed:
            while True:
                stream.frame(timeout=5)
        assert closed.value.code == 1012
        server.process.wait(GRACEFUL_TIMEOUT_S + 5)
        exited_after = time.monotonic() - signalled_at
        stop_sending.set()
        sending.join(10)
        assert exited_after < GRACEFUL_TIMEOUT_S, exited_after
        assert len(acked) > 5
    finally:
        server.stop()

    restarted = LiveServer(server.env, port=server.port, log_path=tmp_path / "gunicorn.log").start()
    try:
        http = Http(restarted.url)
        thread = http.session.get(f"{restarted.url}/threads/{thread_id}", headers=bob.headers).json()[
            "thread"
        ]
        assert max(acked) <= thread["last_seq"]  # every acknowledged send survived the shutdown
        newest = http.session.get(
            f"{restarted.url}/threads/{thread_id}/messages?before_seq={max(acked) + 1}&limit=1",
            headers=bob.headers,
        ).json()["messages"]
        assert newest[0]["seq"] == max(acked)
    finally:
        restarted.stop()
