"""Asyncio client primitives for the load generator: HTTP calls, receivers, delivery tracking.

One aiohttp session drives every simulated user, so a single process on one core can hold
thousands of sockets. Every request has a timeout, every send loop a deadline and a count cap,
and receivers are cancelled by their scenario, so a server that stops answering ends a run with
errors counted, never a hang.
"""

from __future__ import annotations

import asyncio
import json
import math
import resource
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .seed import SeededUser
from .server import METRICS_TOKEN

REQUEST_TIMEOUT_S = 30
CONNECT_TIMEOUT_S = 10
JSON_HEADERS = {"Content-Type": "application/json"}
# Long-polls ask for 20 s, the README's default; the client allows a little more for the reply.
LONGPOLL_TIMEOUT_S = 20
MAX_IN_FLIGHT = 2000  # a paced run never has more sends outstanding than this

_timestamps = iter(range(1_767_225_600_000, 10**15))


def now() -> float:
    """The generator's one clock: send starts and receive times come from the same process."""
    return time.perf_counter()


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft descriptor limit towards ``wanted``; returns what the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentiles(values: Iterable[float]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds (nearest-rank), from values in seconds."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50_ms": math.nan, "p95_ms": math.nan, "p99_ms": math.nan, "max_ms": math.nan}

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))] * 1000

    return {
        "count": len(ordered),
        "p50_ms": rank(0.50),
        "p95_ms": rank(0.95),
        "p99_ms": rank(0.99),
        "max_ms": ordered[-1] * 1000,
    }


def median(values: Iterable[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass
class Tracker:
    """Matches every accepted message to each expected receiver by ``client_msg_id``.

    A message counts as lost when the server accepted it (201) and an expected receiver never
    saw it before the drain deadline, and as duplicated each time a receiver sees it again.
    """

    sent_at: dict[str, float] = field(default_factory=dict)
    expected: dict[str, tuple[str, ...]] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    answered_at: dict[str, float] = field(default_factory=dict)  # when the 201 came back
    seen: dict[tuple[str, str], float] = field(default_factory=dict)
    duplicates: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def sending(self, client_msg_id: str, receivers: tuple[str, ...]) -> float:
        started = now()
        self.sent_at[client_msg_id] = started
        self.expected[client_msg_id] = receivers
        return started

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what[:200])

    def received(self, receiver_id: str, update: dict[str, Any]) -> None:
        if update.get("type") != "message.new":
            return
        client_msg_id = update["message"].get("client_msg_id")
        if client_msg_id is None or client_msg_id not in self.sent_at:
            return  # not one of ours (a thread's first message, another run)
        key = (receiver_id, client_msg_id)
        if key in self.seen:
            self.duplicates += 1
        else:
            self.seen[key] = now()
            self.changed.set()

    def missing(self, ids: Iterable[str] | None = None) -> int:
        ids = self.accepted if ids is None else ids
        return sum(1 for cid in ids for user in self.expected[cid] if (user, cid) not in self.seen)

    def latencies(self, ids: Iterable[str]) -> list[float]:
        """Receive time minus send start, for every (receiver, message) that arrived."""
        return [
            self.seen[(user, cid)] - self.sent_at[cid]
            for cid in ids
            for user in self.expected[cid]
            if (user, cid) in self.seen
        ]

    def answered_between(self, start: float, end: float) -> int:
        """201s that came back inside [start, end): the rate the server sustained, not the one offered."""
        return sum(1 for t in self.answered_at.values() if start <= t < end)

    def response_times(self, ids: Iterable[str]) -> list[float]:
        """How long each accepted POST /message took, from send start to its 201."""
        return [self.answered_at[cid] - self.sent_at[cid] for cid in ids if cid in self.answered_at]

    def last_arrivals(self, ids: Iterable[str]) -> list[float]:
        """Per message: time until its last expected receiver had it (fan-out)."""
        found = []
        for cid in ids:
            times = [self.seen.get((user, cid)) for user in self.expected[cid]]
            if times and all(t is not None for t in times):
                found.append(max(times) - self.sent_at[cid])  # type: ignore[type-var]
        return found

    async def drain(self, timeout_s: float, ids: Iterable[str] | None = None) -> bool:
        """Wait until the accepted messages (or ``ids``) reached every receiver; False on timeout."""
        wanted = None if ids is None else list(ids)
        deadline = now() + timeout_s
        while self.missing(wanted):
            if now() >= deadline:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - now()))
            except TimeoutError:
                return not self.missing(wanted)
        return True


class Api:
    """The HTTP calls the scenarios make, on one shared aiohttp session."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.session = session

    @staticmethod
    def session(connections: int = 0) -> aiohttp.ClientSession:
        """A session with no per-host cap (0), so each closed-loop sender keeps its own socket."""
        connector = aiohttp.TCPConnector(limit=connections, limit_per_host=0, force_close=False)
        timeout = aiohttp.ClientTimeout(
            total=REQUEST_TIMEOUT_S + LONGPOLL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S
        )
        return aiohttp.ClientSession(connector=connector, timeout=timeout)

    @staticmethod
    def auth(user: SeededUser) -> dict[str, str]:
        return {"Authorization": f"Bearer {user.token}"}

    async def post(self, path: str, user: SeededUser | None, body: dict) -> tuple[int, dict]:
        headers = {**JSON_HEADERS, **(self.auth(user) if user else {})}
        data = json.dumps(body).encode()
        async with self.session.post(self.base_url + path, data=data, headers=headers) as reply:
            return reply.status, await reply.json(content_type=None)

    async def get(self, path: str, user: SeededUser | None, params: dict | None = None) -> tuple[int, dict]:
        headers = self.auth(user) if user else {}
        async with self.session.get(self.base_url + path, params=params, headers=headers) as reply:
            return reply.status, await reply.json(content_type=None)

    async def gauge(self, name: str) -> float:
        """A gauge's value from the worker's /metrics (0 when the metric is not there)."""
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        async with self.session.get(self.base_url + "/metrics", headers=headers) as reply:
            text = await reply.text()
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    async def open_thread(
        self, creator: SeededUser, members: list[SeededUser], title: str | None = None
    ) -> str:
        body: dict[str, Any] = {
            "user_ids": [creator.user_id] + [m.user_id for m in members],
            "message": {"user_id": creator.user_id, "contents": "hello", "timestamp": next(_timestamps)},
        }
        if title:
            body["title"] = title
        status, reply = await self.post("/threads", creator, body)
        if status not in (200, 201):
            raise RuntimeError(f"create_thread answered {status}: {reply}")
        return reply["thread"]["thread_id"]

    async def cursor(self, user: SeededUser) -> int:
        status, reply = await self.get("/updates", user)
        if status != 200:
            raise RuntimeError(f"GET /updates answered {status}: {reply}")
        return int(reply["cursor"])

    async def send(self, user: SeededUser, thread_id: str, contents: str, client_msg_id: str) -> int:
        """POST /message; returns the status (201 accepted)."""
        body = {
            "thread_id": thread_id,
            "action": "send_message",
            "message": {
                "user_id": user.user_id,
                "contents": contents,
                "timestamp": next(_timestamps),
                "client_msg_id": client_msg_id,
            },
        }
        headers = {**JSON_HEADERS, **self.auth(user)}
        async with self.session.post(
            self.base_url + "/message", data=json.dumps(body), headers=headers
        ) as reply:
            await reply.read()
            return reply.status


async def tracked_send(
    api: Api,
    tracker: Tracker,
    user: SeededUser,
    thread_id: str,
    client_msg_id: str,
    receivers: tuple[str, ...],
) -> bool:
    """One send whose start time and outcome the tracker records; errors are counted, not raised."""
    tracker.sending(client_msg_id, receivers)
    try:
        status = await api.send(user, thread_id, f"bench message {client_msg_id}", client_msg_id)
    except (aiohttp.ClientError, TimeoutError) as exc:
        tracker.error(f"send: {exc!r}")
        return False
    if status == 201:
        tracker.accepted.add(client_msg_id)
        tracker.answered_at[client_msg_id] = now()
        return True
    tracker.error(f"send answered {status}")
    return False


@dataclass(frozen=True)
class Route:
    """Who sends into which thread, and who must receive each message sent there."""

    sender: SeededUser
    thread_id: str
    receivers: tuple[str, ...]


async def closed_loop(
    api: Api, tracker: Tracker, routes: list[Route], deadline: float, per_sender: int, tag: str = "c"
) -> None:
    """Each sender keeps exactly one POST /message outstanding until the deadline or its cap."""

    async def sender(index: int) -> None:
        route = routes[index]
        for count in range(per_sender):
            if now() >= deadline:
                return
            cid = f"{tag}{index}-{count}"
            await tracked_send(api, tracker, route.sender, route.thread_id, cid, route.receivers)

    await asyncio.gather(*(sender(i) for i in range(len(routes))))


async def open_loop(
    api: Api,
    tracker: Tracker,
    routes: list[Route],
    begin: float,
    deadline: float,
    rate: float,
    limit: int,
    lag: list[float],
) -> int:
    """Open loop: message k is due at begin + k/rate, whatever happened to the ones before it.

    A closed loop would slow down with the server and hide its queueing; this one keeps
    offering. Returns how many sends were skipped because MAX_IN_FLIGHT were already
    outstanding (the server fell that far behind); ``lag`` collects how late each send started.
    """
    in_flight: set[asyncio.Task] = set()
    skipped = 0
    total = min(limit, math.floor((deadline - begin) * rate))
    for k in range(total):
        due = begin + k / rate
        delay = due - now()
        if delay > 0:
            await asyncio.sleep(delay)
        lag.append(max(0.0, now() - due))
        if len(in_flight) >= MAX_IN_FLIGHT:
            skipped += 1
            continue
        route = routes[k % len(routes)]
        task = asyncio.create_task(
            tracked_send(api, tracker, route.sender, route.thread_id, f"p{k}", route.receivers)
        )
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.gather(*in_flight)
    return skipped


async def ws_closed_loop(
    api: Api, tracker: Tracker, routes: list[Route], deadline: float, per_sender: int, tag: str = "w"
) -> None:
    """Like ``closed_loop``, but each sender sends its send_message actions over its own /stream.

    The socket skips what an HTTP request pays every time (parsing, Flask's request context,
    authentication), so the difference to ``closed_loop`` is the per-request cost of HTTP.
    """

    async def sender(index: int) -> None:
        route = routes[index]
        try:
            ws = await connect_ws(api, route.sender, None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            tracker.error(f"sender websocket: {exc!r}")
            return
        try:
            for count in range(per_sender):
                if now() >= deadline:
                    return
                cid = f"{tag}{index}-{count}"
                tracker.sending(cid, route.receivers)
                await ws.send_str(json.dumps(_send_action(route, cid)))
                status = await _result_of(ws, cid)
                if status == 201:
                    tracker.accepted.add(cid)
                    tracker.answered_at[cid] = now()
                else:
                    tracker.error(f"websocket send answered {status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            tracker.error(f"sender websocket: {exc!r}")
        finally:
            await ws.close()

    await asyncio.gather(*(sender(i) for i in range(len(routes))))


def _send_action(route: Route, client_msg_id: str) -> dict[str, Any]:
    return {
        "action": "send_message",
        "request_id": client_msg_id,
        "thread_id": route.thread_id,
        "message": {
            "user_id": route.sender.user_id,
            "contents": f"bench message {client_msg_id}",
            "timestamp": next(_timestamps),
            "client_msg_id": client_msg_id,
        },
    }


async def _result_of(ws: aiohttp.ClientWebSocketResponse, request_id: str) -> int | str:
    """The status of the answer to ``request_id``; the sender's own updates are skipped."""
    while True:
        frame = await ws.receive(timeout=REQUEST_TIMEOUT_S)
        if frame.type != aiohttp.WSMsgType.TEXT:
            return f"socket {frame.type.name}"
        data = json.loads(frame.data)
        if data.get("type") in ("result", "error") and data.get("request_id") == request_id:
            return int(data["status"])


Receiver = Callable[[Api, SeededUser, int, Tracker, asyncio.Event], Awaitable[None]]


async def connect_ws(api: Api, user: SeededUser, since: int | None) -> aiohttp.ClientWebSocketResponse:
    """Open /stream?token=&since= (the browser form: the token in the query string)."""
    url = api.base_url.replace("http://", "ws://") + "/stream"
    params = {"token": user.token} if since is None else {"token": user.token, "since": str(since)}
    return await api.session.ws_connect(
        url,
        params=params,
        autoping=True,
        timeout=aiohttp.ClientWSTimeout(ws_close=2),
    )


async def ws_receiver(api: Api, user: SeededUser, since: int, tracker: Tracker, ready: asyncio.Event) -> None:
    """Hold /stream open and hand every update to the tracker until cancelled.

    It waits on the socket with no timer, so thousands of idle receivers cost the generator
    nothing between frames; the scenario cancels it when done.
    """
    try:
        ws = await connect_ws(api, user, since)
    except (aiohttp.ClientError, TimeoutError) as exc:
        tracker.error(f"websocket of {user.username}: {exc!r}")
        return
    finally:
        ready.set()  # connected or failed: either way the scenario need not wait for it
    try:
        async for frame in ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(frame.data)
                if data.get("type") == "update":
                    tracker.received(user.user_id, data["update"])
        tracker.error(f"websocket of {user.username} closed by the server: {ws.close_code}")
    finally:
        await ws.close()


async def longpoll_receiver(
    api: Api, user: SeededUser, since: int, tracker: Tracker, ready: asyncio.Event
) -> None:
    """Loop GET /updates?since=&timeout=20, as a client on a flaky network would, until cancelled."""
    cursor = since
    ready.set()  # the first poll is sent at once; a message before it arrives is returned by it
    while True:
        try:
            status, page = await api.get(
                "/updates", user, {"since": str(cursor), "timeout": str(LONGPOLL_TIMEOUT_S)}
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            tracker.error(f"long-poll of {user.username}: {exc!r}")
            await asyncio.sleep(0.1)
            continue
        if status != 200:
            tracker.error(f"long-poll answered {status}: {page}")
            await asyncio.sleep(0.1)
            continue
        for update in page["updates"]:
            tracker.received(user.user_id, update)
        cursor = page["cursor"]


RECEIVERS: dict[str, Receiver] = {"ws": ws_receiver, "longpoll": longpoll_receiver}


async def cancel_all(tasks: Iterable[asyncio.Task]) -> None:
    """Stop receivers (and anything else still running) and wait until they are gone."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
