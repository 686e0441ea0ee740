"""hypothesis against the WebSocket /stream of a live gunicorn (gevent) server.

Whatever a signed-in client sends — text that is not JSON, binary, JSON that is not an object,
unknown actions, missing fields, wrong types, nulls, huge numbers (integers over 4,300 digits,
exponents past a float's range, spliced into the text), deeply nested JSON, odd
Unicode (RTL and zero-width marks, emoji, lone surrogates in JSON escapes), frames over the size
limit — the server answers one error or result frame with an HTTP status it documents (never a
5xx), or closes with the documented code (1009 for a frame over ``MAX_CONTENT_LENGTH``), and the
worker goes on serving: after the run the same worker process still answers a new socket and
delivers a message sent over HTTP.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import websocket
from hypothesis import given, seed

from messenger.schemas import MAX_SAFE_INTEGER
from messenger.web.actions import SOCKET_ACTIONS

from ..integration.clients import Closed, Http, Stream, User
from ..integration.live import LiveServer
from .conftest import CASES_RUN, SEED, WS_EXAMPLES, hypothesis_settings
from .strategies import huge_integers, is_huge_integer, leaf_paths, odd_numbers, with_number_at

FRAME_LIMIT = 64 * 1024  # MAX_CONTENT_LENGTH's default, which the server is started with
ERROR_STATUSES = {400, 403, 404, 409, 413, 422}  # what an action can be refused with (README)
RESULT_STATUSES = {200, 201, 204}
ODD_TEXT = [
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u200b\u200c\u200d\ufeff",  # zero-width space, non-joiner, joiner, BOM
    "\u0645\u0631\u062d\u0628\u0627",  # Arabic
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # a family emoji joined by ZWJs
    "\U0001f3f3\ufe0f\u200d\U0001f308",
    "e\u0301\u0301\u0301",  # stacked combining marks
    "\x00",
    "\ufffd",
    "\U0010ffff",
]
LONE_SURROGATES = ["\\ud800", "\\udfff", "\\udbff\\udbff", "x\\ud83d", "\\ude00y"]  # JSON escapes

# Stand-ins for real ids, swapped in just before sending.
ME, PEER, STRANGER = "@@me@@", "@@peer@@", "@@stranger@@"
DIRECT, FOREIGN = "@@direct@@", "@@foreign@@"


@dataclass(frozen=True)
class Frame:
    """One frame to send and what it must get back.

    ``expect``: "invalid_json" (an error frame with that code and request_id null), "not_object"
    (validation_error, request_id null), "too_deep" (either of those: whether JSON nested ~1,000
    deep parses depends on the stack), "answer" (a result or an error frame, request_id echoed
    when valid), "too_large" (the socket is closed with 1009) or "far_too_large" (closed with
    1009, or reset before the client could read it)."""

    data: str | bytes
    expect: str
    request_id: Any = None
    valid_request_id: bool = True

    def __repr__(self) -> str:
        data = self.data if len(self.data) <= 300 else self.data[:300] + self.data[-20:]
        return (
            f"Frame({len(self.data)} long: {data!r}, expect={self.expect!r}, request_id={self.request_id!r})"
        )


# Strategies -----------------------------------------------------------------------------
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, 2**63, -(2**63) - 1, 10**400])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(ODD_TEXT)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
odd_text = st.sampled_from(ODD_TEXT) | st.text(min_size=1, max_size=80) | st.just("  ")


texts = st.text(min_size=1, max_size=200).filter(str.strip) | st.sampled_from(ODD_TEXT)
valid_messages = st.fixed_dictionaries(
    {"user_id": st.just(ME), "contents": texts, "timestamp": st.integers(0, MAX_SAFE_INTEGER)},
    optional={"client_msg_id": st.text(min_size=1, max_size=64), "reply_to": st.integers(1, 20)},
)
seqs = st.integers(0, 20) | st.sampled_from([MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1])
emoji = st.sampled_from(["👍", "🎉", "❤️", "👨‍👩‍👧", "🇫🇷", "a", "👍👍", ""]) | st.text(max_size=3)
in_direct = {"thread_id": st.just(DIRECT), "seq": seqs}
valid_pages = st.just({}) | st.tuples(st.integers(0, 50), st.integers(0, 100)).map(
    lambda p: {"start_index": p[0], "end_index": p[0] + p[1]}
)
member_lists = st.sampled_from([[ME, PEER], [ME, PEER, STRANGER], [PEER, ME, ME]])
VALID_ACTIONS = {
    "send_message": st.fixed_dictionaries({"thread_id": st.just(DIRECT), "message": valid_messages}),
    "create_thread": st.fixed_dictionaries(
        {"user_ids": member_lists, "message": valid_messages}, optional={"title": st.none() | texts}
    ),
    "get_user_threads": valid_pages.map(lambda page: {"user_id": ME, **page}),
    "get_thread_messages": valid_pages.map(lambda page: {"user_id": ME, "thread_id": DIRECT, **page}),
    "mark_read": st.fixed_dictionaries({"thread_id": st.just(DIRECT), "seq": st.integers(0, 10**6)}),
    "typing": st.just({"thread_id": DIRECT}),
    "edit_message": st.fixed_dictionaries({**in_direct, "contents": texts}),
    "delete_message": st.fixed_dictionaries(in_direct),
    "react": st.fixed_dictionaries({**in_direct, "emoji": emoji}),
    "unreact": st.fixed_dictionaries({**in_direct, "emoji": emoji}),
}
ACTIONS = sorted(VALID_ACTIONS)
odd_values = (
    json_values
    | st.sampled_from(
        [PEER, STRANGER, FOREIGN, "no-such-thread", "", -1, 2**63, 10**30, MAX_SAFE_INTEGER + 1]
    )
    | odd_text
)
odd_actions = st.sampled_from(["", "SEND_MESSAGE", "fly", None, 7, ["typing"]]) | odd_text


@st.composite
def action_objects(draw) -> dict:
    """A valid protocol action with up to three things broken: a field dropped, nulled or given an
    odd value (wrong type, huge number, odd text, someone else's id), an unknown field, a wrong
    action. Hypothesis starts from the simplest case, no damage, so valid actions run too."""
    action = draw(st.sampled_from(ACTIONS))
    payload = {"action": action, **draw(VALID_ACTIONS[action])}
    for _ in range(draw(st.integers(0, 3))):
        target = payload
        if isinstance(payload.get("message"), dict) and payload["message"] and draw(st.booleans()):
            target = payload["message"]
        damage = draw(st.sampled_from(["odd", "odd", "drop", "null", "unknown field", "action"]))
        if damage == "unknown field" or not target:
            target[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
        elif damage == "action":
            payload["action"] = draw(odd_actions)
        else:
            name = draw(st.sampled_from(sorted(target)))
            if damage == "drop":
                del target[name]
            else:
                target[name] = None if damage == "null" else draw(odd_values)
    return payload


request_ids = (
    st.none()
    | st.integers(0, 10**6).map(lambda n: f"r{n}")
    | st.text(max_size=20)
    | st.integers(-(2**53), 2**53)
    | st.sampled_from(ODD_TEXT)
)
odd_request_ids = st.booleans() | st.floats() | st.lists(st.integers(), max_size=2) | st.text(min_size=129)


def is_valid_request_id(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, (str, int)) and not isinstance(value, bool) and len(str(value)) <= 128


@st.composite
def object_frames(draw) -> Frame:
    payload = draw(action_objects())
    request_id = draw(request_ids | odd_request_ids)
    if draw(st.integers(0, 7)):
        payload["request_id"] = request_id
    else:
        request_id = None
    ensure_ascii = draw(st.booleans())
    text = json.dumps(payload, allow_nan=True, ensure_ascii=ensure_ascii)
    odd = draw(st.integers(0, 7))
    if odd == 6:  # a number Python's encoder cannot write, in place of any value
        number = draw(odd_numbers())
        text = with_number_at(payload, draw(st.sampled_from(leaf_paths(payload))), number, allow_nan=True)
        if is_huge_integer(number):
            return Frame(text, "invalid_json")
        request_id = json.loads(text).get("request_id")  # it may be the number, as a float
        return Frame(text, "answer", request_id, is_valid_request_id(request_id))
    if odd == 7:  # a lone surrogate, as a JSON escape, at the start of a string
        fields = ['"contents": "', '"thread_id": "', '"user_id": "', '"title": "', '"request_id": "']
        at = draw(st.sampled_from(fields))
        text = text.replace(at, at + draw(st.sampled_from(LONE_SURROGATES)), 1)
        request_id = json.loads(text).get("request_id")  # the server must echo this one back
    return Frame(text, "answer", request_id, is_valid_request_id(request_id))


def not_json_text() -> st.SearchStrategy:
    def broken(text: str) -> bool:
        try:
            json.loads(text)
        except (ValueError, RecursionError):
            return True
        return False

    texts = (
        st.text(max_size=200)
        | st.sampled_from(["", " ", "{", '{"action": ', "[1,", "nul", "NaN1", "{'a': 1}", '"\\ud800', "\\u"])
        | st.sampled_from(ODD_TEXT)
    )
    too_long = huge_integers().flatmap(lambda n: st.sampled_from([n, f"[{n}]", f'{{"action": {n}}}']))
    return (texts.filter(broken) | too_long).map(lambda text: Frame(text, "invalid_json"))


def deeply_nested() -> st.SearchStrategy:
    def nest(depth: int, opener: str, closer: str) -> str:
        return opener * depth + closer * depth

    # Up to the frame limit: 2 bytes a level for lists, 7 for objects.
    return st.one_of(
        st.integers(900, 32_000).map(lambda d: Frame(nest(d, "[", "]"), "too_deep")),
        st.integers(900, 9_000).map(
            lambda d: Frame(nest(d, '{"a": ', "}").replace("}", "1}", 1), "too_deep")
        ),
        st.integers(2, 400).map(
            lambda d: Frame(
                json.dumps({"action": "typing", "thread_id": json.loads(nest(d, "[", "]"))}), "answer"
            )
        ),
    )


def oversized() -> st.SearchStrategy:
    """Frames over the limit. Just over it, the server has read the whole frame when it closes,
    so the client always reads the 1009; far over it, the server closes with the frame's rest
    unread, the kernel answers with a TCP reset and the 1009 is often lost (see ``refusal``)."""

    def frames_of(sizes: st.SearchStrategy, expect: str) -> st.SearchStrategy:
        return st.one_of(
            sizes.map(lambda n: Frame("x" * n, expect)),
            sizes.map(lambda n: Frame('{"action": "typing", "thread_id": "' + "t" * n + '"}', expect)),
            sizes.map(lambda n: Frame(b"\x00" * n, expect)),
        )

    return st.one_of(
        frames_of(st.integers(FRAME_LIMIT + 1, FRAME_LIMIT + 2048), "too_large"),
        frames_of(st.integers(FRAME_LIMIT + 2049, 16 * FRAME_LIMIT), "far_too_large"),
    )


frames = st.one_of(
    object_frames(),
    object_frames(),
    object_frames(),
    not_json_text(),
    st.binary(max_size=300).map(lambda data: Frame(data, "invalid_json")),
    json_values.filter(lambda v: not isinstance(v, dict)).map(
        lambda v: Frame(json.dumps(v, allow_nan=True), "not_object")
    ),
    deeply_nested(),
    oversized(),
)


# The server ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ws-fuzz")
    live = LiveServer({"MESSENGER_DB": str(tmp / "messenger.db")}, log_path=tmp / "gunicorn.log").start()
    yield live
    live.stop()


def worker_pids(server: LiveServer) -> set[int]:
    """The gunicorn master's children: a worker that crashed comes back with a new pid."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {int(child) for child in children}


class Client:
    """One signed-in socket that reconnects after the server closes it."""

    def __init__(self, server: LiveServer, user: User) -> None:
        self.server = server
        self.user = user
        self.stream = Stream(server.url, user.token)
        self.healthy = True

    def reconnect(self) -> None:
        with contextlib.suppress(OSError, websocket.WebSocketException):
            self.stream.close()
        self.stream = Stream(self.server.url, self.user.token)
        self.healthy = True

    def send(self, frame: Frame) -> None:
        if isinstance(frame.data, bytes):
            self.stream.ws.send_binary(frame.data)
        else:
            self.stream.ws.send(frame.data)

    def refusal(self, frame: Frame) -> int | str:
        """Send a frame the server must refuse; return its close code, or "reset" when TCP reset
        the connection first (the server closes while the rest of the frame is still arriving,
        and unread data makes the kernel answer with a reset)."""
        with contextlib.suppress(OSError, websocket.WebSocketException):
            self.send(frame)  # may fail halfway: the close frame can still be waiting to be read
        try:
            answer = self.answer()
        except Closed as closed:
            return closed.code
        except (TimeoutError, websocket.WebSocketTimeoutException):
            return "timeout"  # neither answered nor closed: a hang, never allowed
        except (OSError, websocket.WebSocketException):
            return "reset"
        raise AssertionError(f"{frame!r} was answered: {answer}")

    def answer(self, timeout: float = 10) -> dict:
        """The next result or error frame (updates and typing frames pass by)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.stream.frame(max(0.01, deadline - time.monotonic()))
            if frame.get("type") in ("result", "error"):
                return frame
            assert frame.get("type") in ("update", "typing"), frame


def check_answer(frame: Frame, answer: dict) -> None:
    assert set(answer) >= {"type", "request_id", "status"}, answer
    if frame.expect in ("invalid_json", "not_object", "too_deep"):
        codes = {
            "invalid_json": {"invalid_json"},
            "not_object": {"validation_error"},
            "too_deep": {"invalid_json", "validation_error"},
        }[frame.expect]
        assert (answer["type"], answer["request_id"]) == ("error", None), answer
        assert answer["error"]["code"] in codes, answer
        return
    if answer["type"] == "result":
        assert answer["status"] in RESULT_STATUSES, answer
    else:
        assert answer["type"] == "error", answer
        assert answer["status"] in ERROR_STATUSES, answer  # never a 5xx
        assert set(answer["error"]) == {"code", "message", "details"}, answer
        assert isinstance(answer["error"]["code"], str) and isinstance(answer["error"]["details"], dict)
    if frame.valid_request_id:
        assert answer["request_id"] == frame.request_id, (answer, frame.request_id)
    else:
        assert (answer["type"], answer["status"], answer["request_id"]) == ("error", 422, None), answer


def test_the_fuzzer_builds_every_socket_action():
    assert set(VALID_ACTIONS) == set(SOCKET_ACTIONS)


def test_every_frame_gets_a_documented_answer_or_close_and_the_worker_keeps_serving(server):
    http = Http(server.url)
    me, peer, stranger = http.signup(), http.signup(), http.signup()
    real = {
        ME: me.user_id,
        PEER: peer.user_id,
        STRANGER: stranger.user_id,
        DIRECT: http.open_thread(me, [peer]),
        FOREIGN: http.open_thread(peer, [stranger]),
    }
    workers = worker_pids(server)
    client = Client(server, me)
    closes: Counter[str] = Counter()

    def resolve(data: str | bytes) -> str | bytes:
        if isinstance(data, str):
            for standin, value in real.items():
                data = data.replace(standin, value)
        return data

    @hypothesis_settings(WS_EXAMPLES)
    @given(frame=frames)
    def run(frame: Frame) -> None:
        frame = Frame(resolve(frame.data), frame.expect, frame.request_id, frame.valid_request_id)
        CASES_RUN["ws frames"] += 1
        if not client.healthy:  # a failing example before this one may have left it closed
            client.reconnect()
        client.healthy = False
        if frame.expect in ("too_large", "far_too_large"):
            outcome = client.refusal(frame)
            allowed = (1009,) if frame.expect == "too_large" else (1009, "reset")
            assert outcome in allowed, f"{frame!r} got {outcome}"
            closes[str(outcome)] += 1
            client.reconnect()
            return
        client.send(frame)
        answer = client.answer()
        check_answer(frame, answer)
        client.healthy = True
        CASES_RUN[f"ws answered {answer['status'] // 100}xx"] += 1

    if SEED:
        run = seed(int(SEED))(run)
    run()
    CASES_RUN["ws closed 1009"] += closes["1009"]
    CASES_RUN["ws reset after an oversized frame"] += closes["reset"]

    # The same worker (no crash, no restart) still serves a new socket...
    assert worker_pids(server) == workers
    other = Stream(server.url, peer.token)
    listed = other.request({"action": "get_user_threads", "user_id": peer.user_id})
    assert listed["type"] == "result" and listed["status"] == 200
    # ...and delivers a message sent over HTTP to it.
    reply = http.send(me, real[DIRECT], "still here")
    assert reply.status_code == 201, reply.text
    delivered = other.updates(1, timeout=10)
    assert delivered[0]["type"] == "message.new" and delivered[0]["message"]["contents"] == "still here"
    other.close()
    client.stream.close()
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-5000:]


def test_a_frame_of_exactly_the_size_limit_is_answered_not_closed(server):
    me = Http(server.url).signup()
    stream = Stream(server.url, me.token)
    padding = FRAME_LIMIT - len(json.dumps({"action": "typing", "thread_id": ""}))
    stream.ws.send(json.dumps({"action": "typing", "thread_id": "t" * padding}))
    answer = stream.frame()
    assert (answer["type"], answer["status"], answer["error"]["code"]) == ("error", 422, "validation_error")
    stream.close()


def test_a_frame_one_byte_over_the_limit_closes_with_1009_and_the_worker_keeps_serving(server):
    me = Http(server.url).signup()
    stream = Stream(server.url, me.token)
    stream.ws.send("x" * (FRAME_LIMIT + 1))
    with pytest.raises(Closed) as closed:
        stream.frame()
    assert closed.value.code == 1009
    again = Stream(server.url, me.token)
    assert again.request({"action": "get_user_threads", "user_id": me.user_id})["status"] == 200
    again.close()


def test_a_text_frame_over_the_limit_in_bytes_closes_with_1009_even_with_fewer_characters(server):
    me = Http(server.url).signup()
    stream = Stream(server.url, me.token)
    frame = json.dumps({"action": "typing", "thread_id": "\U0001f600" * 40_000}, ensure_ascii=False)
    assert len(frame) < FRAME_LIMIT < len(frame.encode("utf-8"))
    stream.ws.send(frame)
    with pytest.raises(Closed) as closed:
        stream.frame()
    assert closed.value.code == 1009


def test_a_text_frame_that_is_not_utf8_closes_with_1007_and_the_worker_keeps_serving(server):
    """RFC 6455's code for invalid frame data (in the README's close-code table)."""
    me = Http(server.url).signup()
    stream = Stream(server.url, me.token)
    stream.ws.send(b'{"action": "typing", "thread_id": "\xff\xfe"}', opcode=websocket.ABNF.OPCODE_TEXT)
    with pytest.raises(Closed) as closed:
        stream.frame()
    assert closed.value.code == 1007
    again = Stream(server.url, me.token)
    assert again.request({"action": "get_user_threads", "user_id": me.user_id})["status"] == 200
    again.close()


def test_a_frame_with_an_integer_over_4300_digits_is_invalid_json_and_a_huge_exponent_is_refused(server):
    me = Http(server.url).signup()
    stream = Stream(server.url, me.token)
    for number in ["9" * 4301, "-" + "1" * 5000]:
        stream.ws.send('{"action": "mark_read", "thread_id": "t", "seq": ' + number + ', "request_id": "r"}')
        answer = stream.frame()
        assert (answer["type"], answer["request_id"], answer["error"]["code"]) == (
            "error",
            None,
            "invalid_json",
        )
    for number in ["1e999999", "-1e400"]:
        stream.ws.send('{"action": "mark_read", "thread_id": "t", "seq": ' + number + ', "request_id": "r"}')
        answer = stream.frame()
        assert (answer["type"], answer["request_id"], answer["status"]) == ("error", "r", 422), answer
    stream.close()
