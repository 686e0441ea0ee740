"""What the server writes to its logs never holds a token, a password or a message's contents."""

from __future__ import annotations

from .clients import Http, Stream
from .live import LiveServer


def test_logs_hold_no_tokens_passwords_or_contents(tmp_path):
    log_path = tmp_path / "gunicorn.log"
    server = LiveServer({"MESSENGER_DB": str(tmp_path / "m.db")}, log_path=log_path).start()
    try:
        http = Http(server.url)
        alice, bob = http.signup("alice"), http.signup("bob")
        thread_id = http.open_thread(alice, [bob], "the-first-secret-words")
        stream = Stream(server.url, bob.token, since=0)  # the token travels in the query string
        http.send(alice, thread_id, "the-second-secret-words")
        stream.updates(3)
        http.updates(bob, 0)
        http.session.post(
            server.url + "/auth/signin", json={"login": "alice", "password": "correct horse battery"}
        )
        http.session.post(
            server.url + "/auth/signin", json={"login": "alice", "password": "a-wrong-password"}
        )
        stream.close()
    finally:
        server.stop()
    log = log_path.read_text()
    assert "GET /updates" in log and "POST /message" in log  # requests are logged...
    for secret in (alice.token, bob.token, "correct horse battery", "a-wrong-password", "secret-words"):
        assert secret not in log  # ...without what they carried
