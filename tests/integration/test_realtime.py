"""Real-time delivery through a live gunicorn (gevent) server: long polling and the WebSocket."""

from __future__ import annotations

import json
import threading
import time

import pytest
import websocket

from messenger.web.socket_io import WRITER_IDLE_S

from .clients import Closed, Http, Stream
from .live import LiveServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("realtime")
    live = LiveServer({"MESSENGER_DB": str(tmp / "messenger.db")}, log_path=tmp / "gunicorn.log").start()
    yield live
    live.stop()


@pytest.fixture
def http(server):
    return Http(server.url)


def contents_of(updates: list[dict]) -> list[str]:
    return [u["message"]["contents"] for u in updates if u["type"] == "message.new"]


class TestLongPolling:
    def test_an_offline_user_gets_exactly_what_they_missed_in_order(self, http):
        alice, bob = http.signup(), http.signup()
        thread_id = http.open_thread(alice, [bob], "first")
        bob_cursor = http.cursor(bob)
        sent = [f"missed {i}" for i in range(7)]
        for text in sent:
            assert http.send(alice, thread_id, text).status_code == 201
        missed, cursor = http.all_updates(bob, bob_cursor)
        assert contents_of(missed) == sent
        assert [u["type"] for u in missed] == ["message.new"] * 7
        cursors = [u["cursor"] for u in missed]
        assert cursors == sorted(set(cursors)) and cursor == cursors[-1]
        assert http.all_updates(bob, cursor) == ([], cursor)

    def test_without_since_it_returns_the_current_cursor_at_once(self, http):
        alice, bob = http.signup(), http.signup()
        http.open_thread(alice, [bob])
        started = time.monotonic()
        reply = http.updates(bob, timeout=20).json()
        assert time.monotonic() - started < 2
        assert reply == {"updates": [], "cursor": 2, "more": False}  # thread.new, message.new

    def test_a_waiting_poll_is_woken_by_a_send(self, http):
        alice, bob = http.signup(), http.signup()
        thread_id = http.open_thread(alice, [bob])
        cursor = http.cursor(bob)
        result = {}

        def poll():
            started = time.monotonic()
            result["reply"] = http.updates(bob, cursor, timeout=20).json()
            result["waited"] = time.monotonic() - started

        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(0.5)  # the poll is now waiting on the server
        sent_at = time.monotonic()
        assert http.send(alice, thread_id, "wake up").status_code == 201
        poller.join(10)
        assert contents_of(result["reply"]["updates"]) == ["wake up"]
        assert result["reply"]["updates"] == http.all_updates(bob, cursor)[0]  # as the log has it
        assert 0.4 < result["waited"] < 5
        assert time.monotonic() - sent_at < 2

    def test_a_poll_with_nothing_new_times_out_empty_with_the_same_cursor(self, http):
        alice, bob = http.signup(), http.signup()
        http.open_thread(alice, [bob])
        cursor = http.cursor(bob)
        started = time.monotonic()
        reply = http.updates(bob, cursor, timeout=1).json()
        assert 0.9 < time.monotonic() - started < 5
        assert reply == {"updates": [], "cursor": cursor, "more": False}

    def test_a_timeout_over_25_seconds_or_a_future_cursor_is_refused(self, http):
        alice, bob = http.signup(), http.signup()
        http.open_thread(alice, [bob])
        too_long = http.updates(bob, 0, timeout=26)
        assert too_long.status_code == 422 and "timeout" in too_long.json()["error"]["details"]
        future = http.updates(bob, 1000)
        assert future.status_code == 410 and future.json()["error"]["code"] == "cursor_expired"

    def test_signing_out_ends_a_waiting_poll(self, http):
        alice, bob = http.signup(), http.signup()
        http.open_thread(alice, [bob])
        cursor = http.cursor(bob)
        result = {}
        poller = threading.Thread(target=lambda: result.update(reply=http.updates(bob, cursor, timeout=20)))
        poller.start()
        time.sleep(0.5)
        assert http.session.post(http.base_url + "/auth/signout", headers=bob.headers).status_code == 204
        poller.join(5)
        assert result["reply"].status_code == 401


class TestStream:
    def test_replays_what_was_missed_then_streams_live(self, http, server):
        alice, bob = http.signup(), http.signup()
        thread_id = http.open_thread(alice, [bob], "before")
        http.send(alice, thread_id, "also before")
        stream = Stream(server.url, bob.token, since=0)
        replayed = stream.updates(3)
        assert [u["type"] for u in replayed] == ["thread.new", "message.new", "message.new"]
        assert contents_of(replayed) == ["before", "also before"]
        http.send(alice, thread_id, "live")
        (live,) = stream.updates(1)
        assert contents_of([live]) == ["live"] and live["cursor"] > replayed[-1]["cursor"]
        stream.close()

    def test_live_frames_are_byte_for_byte_what_a_replay_from_the_log_sends(self, http, server):
        # Live, a send's frame is built from what its doorbell carried; a replay reads the log.
        alice, bob = http.signup(), http.signup()
        thread_id = http.open_thread(alice, [bob], "first")
        cursor = http.cursor(bob)
        live = Stream(server.url, bob.token, since=cursor)
        sent = ["plain", 'quotes " and \\ slashes', "emoji 🎉 and ünïcode", "x" * 2000]
        frames = []
        for text in sent:
            assert http.send(alice, thread_id, text, client_msg_id=f"id-{len(frames)}").status_code == 201
            frames.append(live.raw_frame())
        replay = Stream(server.url, bob.token, since=cursor)
        assert [replay.raw_frame() for _ in sent] == frames
        for frame in frames:  # and in the one encoding every frame has: compact, keys in order
            update = json.loads(frame)["update"]
            expected = {"type": "update", "update": update, "cursor": update["cursor"]}
            assert frame == json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode()
        assert contents_of([json.loads(frame)["update"] for frame in frames]) == sent
        live.close()
        replay.close()

    def test_frames_are_utf8_json_an_emoji_page_under_half_its_escaped_size(self, http, server):
        alice, bob = http.signup(), http.signup()
        emoji = "\U0001f600\U0001f389\U0001f44d\U0001f680" * 1000  # 4,000 characters, the limit
        thread_id = http.open_thread(alice, [bob], emoji)
        for _ in range(15):
            assert http.send(alice, thread_id, emoji).status_code == 201
        cursor = http.cursor(bob)
        stream = Stream(server.url, bob.token, since=cursor)
        stream.ws.send(
            json.dumps({"action": "get_thread_messages", "user_id": bob.user_id, "thread_id": thread_id})
        )
        raw = stream.raw_frame()
        page = json.loads(raw)
        assert page["status"] == 200, page
        assert [m["contents"] for m in page["messages"]] == [emoji] * 16
        assert len(raw) < len(json.dumps(page, separators=(",", ":"))) / 2
        assert http.send(alice, thread_id, emoji).status_code == 201
        live = stream.raw_frame()  # a live update frame, UTF-8 too
        assert emoji.encode() in live and b"\\ud83d" not in live
        stream.close()

    def test_a_socket_idle_longer_than_its_writer_lingers_still_gets_and_answers(self, http, server):
        # After WRITER_IDLE_S without frames the socket's writer goes; the next frame starts one.
        alice, bob = http.signup(), http.signup()
        thread_id = http.open_thread(alice, [bob], "first")
        stream = Stream(server.url, bob.token, since=http.cursor(bob))
        time.sleep(WRITER_IDLE_S + 0.5)
        http.send(alice, thread_id, "after a quiet spell")
        assert contents_of(stream.updates(1)) == ["after a quiet spell"]
        time.sleep(WRITER_IDLE_S + 0.5)
        reply = stream.request({"action": "get_user_threads", "user_id": bob.user_id})
        assert reply["status"] == 200 and reply["threads"][0]["thread_id"] == thread_id
        stream.close()

    def test_a_reconnect_from_the_last_cursor_gets_nothing_twice(self, http, server):
        alice, bob = http.signup(), http.signup()
        thread_id = http.open_thread(alice, [bob], "one")
        first = Stream(server.url, bob.token, since=0)
        seen = first.updates(2)
        first.close()
        http.send(alice, thread_id, "while away")
        again = Stream(server.url, bob.token, since=seen[-1]["cursor"])
        assert contents_of(again.updates(1)) == ["while away"]
        with pytest.raises(Exception):  # noqa: B017 - nothing else arrives: the read times out
            again.frame(timeout=0.5)
        again.close()

    def test_the_sender_and_their_other_devices_get_their_own_message_with_its_client_msg_id(
        self, http, server
    ):
        alice, bob = http.signup(), http.signup()
        thread_id = http.open_thread(alice, [bob])
        phone = Stream(server.url, alice.token, since=http.cursor(alice))
        http.send(alice, thread_id, "from the laptop", client_msg_id="laptop-1")
        (update,) = phone.updates(1)
        assert update["message"]["client_msg_id"] == "laptop-1"
        phone.close()

    def test_the_socket_takes_minimal_sends_and_creates_by_username(self, http, server):
        alice, bob = http.signup(), http.signup()
        stream = Stream(server.url, alice.token)
        created = stream.request(
            {"action": "create_thread", "usernames": [bob.username.upper()], "message": {"contents": "hi"}}
        )
        assert created["status"] == 201, created
        members = {member["user_id"] for member in created["thread"]["members"]}
        assert members == {alice.user_id, bob.user_id}
        thread_id = created["thread"]["thread_id"]
        sent = stream.request(
            {"action": "send_message", "thread_id": thread_id, "message": {"contents": "yo"}}
        )
        assert (sent["status"], sent["message"]["seq"]) == (201, 2), sent
        assert sent["message"]["client_timestamp"] == sent["message"]["timestamp"]
        stream.close()

    def test_actions_over_the_socket_answer_like_http(self, http, server):
        alice, bob = http.signup(), http.signup()
        stream = Stream(server.url, alice.token)
        created = stream.request(
            {
                "action": "create_thread",
                "user_ids": [alice.user_id, bob.user_id],
                "message": {"user_id": alice.user_id, "contents": "hi", "timestamp": 1},
            }
        )
        assert created["type"] == "result" and created["status"] == 201
        thread_id = created["thread"]["thread_id"]
        sent = stream.request(
            {
                "action": "send_message",
                "thread_id": thread_id,
                "message": {"user_id": alice.user_id, "contents": "over ws", "timestamp": 2},
            }
        )
        assert (sent["status"], sent["message"]["seq"]) == (201, 2)
        listed = stream.request(
            {"action": "get_user_threads", "user_id": alice.user_id, "start_index": 0, "end_index": 5}
        )
        assert [t["thread_id"] for t in listed["threads"]] == [thread_id] and "cursor" in listed
        page = stream.request(
            {
                "action": "get_thread_messages",
                "user_id": alice.user_id,
                "thread_id": thread_id,
                "start_index": 0,
                "end_index": 1,
            }
        )
        assert [m["contents"] for m in page["messages"]] == ["over ws"]
        bob_stream = Stream(server.url, bob.token)
        marked = bob_stream.request({"action": "mark_read", "thread_id": thread_id, "seq": 2})
        assert (marked["status"], marked["last_read_seq"]) == (200, 2)
        (receipt,) = [u for u in stream.updates(4) if u["type"] == "thread.read"]
        assert receipt == {**receipt, "thread_id": thread_id, "user_id": bob.user_id, "last_read_seq": 2}
        stream.close()
        bob_stream.close()

    def test_changes_to_a_message_over_the_socket_answer_like_http_and_reach_every_member(self, http, server):
        alice, bob = http.signup(), http.signup()
        thread_id = http.open_thread(alice, [bob], "first")
        stream, watcher = Stream(server.url, alice.token, since=0), Stream(server.url, bob.token, since=0)
        watcher.updates(2)  # thread.new, message.new
        address = {"thread_id": thread_id, "seq": 1}
        edited = stream.request({"action": "edit_message", **address, "contents": "first!"})
        assert (edited["type"], edited["status"], edited["message"]["edit_count"]) == ("result", 200, 1)
        reacted = stream.request({"action": "react", **address, "emoji": "🎉"})
        assert (reacted["status"], reacted["message"]["reactions"][0]["count"]) == (200, 1)
        unreacted = stream.request({"action": "unreact", **address, "emoji": "🎉"})
        deleted = stream.request({"action": "delete_message", **address})
        for answer in (unreacted, deleted):
            assert set(answer) == {"type", "request_id", "status"} and answer["status"] == 204, answer
        refused = stream.request({"action": "edit_message", **address, "contents": "back"})
        assert (refused["status"], refused["error"]["code"]) == (409, "message_deleted")
        seen = watcher.updates(4)
        assert [u["type"] for u in seen] == [
            "message.edited",
            "reaction.added",
            "reaction.removed",
            "message.deleted",
        ]
        assert [u.get("version") or u["message"]["version"] for u in seen] == [2, 3, 4, 5]
        stream.close()
        watcher.close()

    def test_errors_over_the_socket_have_the_http_codes_and_keep_the_socket_open(self, http, server):
        alice, bob, carol = http.signup(), http.signup(), http.signup()
        thread_id = http.open_thread(alice, [bob])
        stream = Stream(server.url, carol.token)
        cases = [
            (
                {
                    "action": "send_message",
                    "thread_id": thread_id,
                    "message": {"user_id": carol.user_id, "contents": "x", "timestamp": 1},
                },
                404,
                "thread_not_found",
            ),
            (
                {
                    "action": "send_message",
                    "thread_id": thread_id,
                    "message": {"user_id": alice.user_id, "contents": "x", "timestamp": 1},
                },
                403,
                "user_mismatch",
            ),
            ({"action": "mark_read", "thread_id": thread_id, "seq": 1}, 404, "thread_not_found"),
            ({"action": "fly"}, 422, "validation_error"),
            ({"action": "send_message", "thread_id": 5}, 422, "validation_error"),
        ]
        for payload, status, code in cases:
            reply = stream.request(payload)
            assert (reply["type"], reply["status"], reply["error"]["code"]) == ("error", status, code), (
                payload
            )
        for frame, code in (
            ("not json", "invalid_json"),
            ("[1, 2]", "validation_error"),
            ("[" * 5000, "invalid_json"),
        ):
            stream.ws.send(frame)
            reply = stream.frame()
            assert (reply["type"], reply["request_id"], reply["error"]["code"]) == ("error", None, code)
        stream.ws.send_binary(b"\x00\x01")
        assert stream.frame()["error"]["code"] == "invalid_json"
        listed = stream.request({"action": "get_user_threads", "user_id": carol.user_id})
        assert listed["status"] == 200  # still serving after every bad frame
        stream.close()

    def test_typing_reaches_the_other_members_and_is_never_stored(self, http, server):
        alice, bob = http.signup(), http.signup()
        thread_id = http.open_thread(alice, [bob])
        bob_cursor = http.cursor(bob)
        bob_stream = Stream(server.url, bob.token, since=bob_cursor)
        alice_stream = Stream(server.url, alice.token)
        assert alice_stream.request({"action": "typing", "thread_id": thread_id})["status"] == 200
        frame = bob_stream.frame()
        assert frame == {"type": "typing", "thread_id": thread_id, "user_id": alice.user_id}
        assert http.all_updates(bob, bob_cursor) == ([], bob_cursor)
        bob_stream.close()
        alice_stream.close()

    def test_signing_out_closes_that_tokens_socket_with_4401(self, http, server):
        alice = http.signup()
        stream = Stream(server.url, alice.token)
        time.sleep(0.2)
        assert http.session.post(http.base_url + "/auth/signout", headers=alice.headers).status_code == 204
        with pytest.raises(Closed) as closed:
            stream.frame()
        assert closed.value.code == 4401

    @pytest.mark.parametrize("token", [None, "not-a-token"])
    def test_a_missing_or_bad_token_is_refused_with_4401(self, server, token):
        stream = Stream(server.url, token)
        assert stream.frame()["error"]["code"] in ("auth_required", "invalid_token")
        with pytest.raises(Closed) as closed:
            stream.frame()
        assert closed.value.code == 4401

    def test_the_token_may_come_in_the_authorization_header(self, http, server):
        alice, bob = http.signup(), http.signup()
        ws_url = server.url.replace("http://", "ws://") + "/stream?since=0"
        conn = websocket.create_connection(ws_url, header=[f"Authorization: Bearer {bob.token}"], timeout=5)
        http.open_thread(alice, [bob])
        assert json.loads(conn.recv())["update"]["type"] == "thread.new"
        conn.close()

    def test_a_cursor_from_the_future_closes_with_4410(self, http, server):
        alice = http.signup()
        stream = Stream(server.url, alice.token, since=99)
        assert stream.frame()["error"]["code"] == "cursor_expired"
        with pytest.raises(Closed) as closed:
            stream.frame()
        assert closed.value.code == 4410

    def test_a_frame_over_the_size_limit_closes_the_socket_and_nothing_else(self, http, server):
        alice = http.signup()
        stream = Stream(server.url, alice.token)
        try:
            stream.ws.send("x" * (70 * 1024))
            stream.frame()
            raise AssertionError("the oversized frame was accepted")
        except Closed as closed:
            assert closed.code == 1009
        except (OSError, websocket.WebSocketException):
            # The server closed while the rest of the frame was still arriving, so TCP reset
            # the connection before the 1009 close frame could be read: also a refusal.
            pass
        again = Stream(server.url, alice.token)
        assert again.request({"action": "get_user_threads", "user_id": alice.user_id})["status"] == 200
        again.close()

    def test_a_page_of_another_origin_is_refused_with_4403_and_its_own_origin_is_not(self, http, server):
        alice = http.signup()
        foreign = Stream(server.url, alice.token, origin="https://evil.example")
        assert foreign.frame()["error"]["code"] == "origin_not_allowed"
        with pytest.raises(Closed) as closed:
            foreign.frame()
        assert closed.value.code == 4403
        own = Stream(server.url, alice.token, origin=server.url)
        assert own.request({"action": "get_user_threads", "user_id": alice.user_id})["status"] == 200
        own.close()
