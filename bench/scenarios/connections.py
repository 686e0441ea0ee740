"""Scenario 4: N idle WebSockets, then N idle long-polls, held by one worker.

Memory per connection is the worker's VmRSS after opening them minus before, divided by the
connections the worker actually holds (counted as its open sockets, not as what the client
thinks it opened). While they are held, one more user gets messages: its delivery latency
shows whether thousands of idle waiters slow down the one that is busy.

The two kinds are held one after the other, not together: gunicorn.conf.py's
``worker_connections`` (the gevent pool) caps what one worker serves at once, and N of each
together would exceed it at the default N.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..context import Context
from ..load import RECEIVERS, Api, Tracker, cancel_all, now, percentiles, raise_fd_limit, tracked_send
from ..report import Row, Target, latency_row
from ..seed import SeededUser, add_users
from ..server import GunicornServer, worker_connections

SCENARIO = "4 connections"
RSS_TARGET_KIB = 40.0
HEADROOM = 8  # pool slots left for the probe's sender, its receiver and the health checks
FD_MARGIN = 256  # descriptors the generator needs besides the held sockets
BATCH = 100  # connections opened at once, so the accept queue never overflows
BATCH_TIMEOUT_S = 30
FD_SLACK = 4
SETTLE_S = 1.0
CLOSE_TIMEOUT_S = 30  # a long-poll's server side lingers until its 20 s timeout
PROBE_TIMEOUT_S = 5
PROBE_GAP_S = 0.02
SESSIONS_TIMEOUT_S = 60
# The worker's gauge of the sessions it has started, by transport: a connection it accepted may
# still be waiting for its handshake or first read, and the probe must not race that burst.
SESSIONS_GAUGE = {"ws": "messenger_websockets_connected", "longpoll": "messenger_longpolls_waiting"}


def connections(ctx: Context) -> list[Row]:
    wanted = ctx.options.connections
    count = wanted
    cap = worker_connections() - HEADROOM
    if count > cap:
        count = cap
        ctx.notes.append(
            f"connections: {wanted:,} requested, {count:,} held of each kind: gunicorn.conf.py's "
            f"worker_connections = {cap + HEADROOM:,} is one worker's whole gevent pool, and the probe "
            f"user needs {HEADROOM} slots of it."
        )
    limit = raise_fd_limit(count + FD_MARGIN)
    if limit < count + FD_MARGIN:
        count = max(0, limit - FD_MARGIN)
        ctx.notes.append(f"connections: the descriptor limit ({limit:,}) allows only {count:,} connections.")
    db = ctx.fresh_db("connections")
    idle = add_users(db, count, "i")
    sender, receiver = add_users(db, 2, "probe")
    rows: list[Row] = []
    for transport in ("ws", "longpoll"):
        # A fresh worker each: memory one kind freed would be reused by the next, hiding its cost.
        with ctx.server(f"connections-{transport}", db) as server:
            rows += asyncio.run(_hold_one(ctx, server, transport, idle, sender, receiver))
    with ctx.server("connections-hello", ctx.fresh_db("hello"), app="bench.hello_app:app") as server:
        rows += asyncio.run(_hold_hello(ctx, server, idle))
    return rows


@dataclass
class Held:
    """Idle connections the worker holds, and its memory before and after they opened."""

    count: int
    rss_before_kib: int
    rss_after_kib: int
    opened_s: float
    tasks: list[asyncio.Task]
    started_s: float = 0.0  # from the last connection accepted to the last session started

    @property
    def per_connection_kib(self) -> float | None:
        return (self.rss_after_kib - self.rss_before_kib) / self.count if self.count > 0 else None

    def rows(self, variant: str, target: Target | None) -> list[Row]:
        before, after = self.rss_before_kib / 1024, self.rss_after_kib / 1024
        shown = f"{before:,.0f} → {after:,.0f} MiB (opened in {self.opened_s:.1f} s)"
        detail = {k: v for k, v in self.__dict__.items() if k != "tasks"}
        return [
            Row(
                SCENARIO, variant, "RSS per connection", self.per_connection_kib, "KiB", target, detail=detail
            ),
            Row(SCENARIO, variant, "worker RSS before → after", after, "MiB", shown=shown),
        ]


async def _open_idle(
    server: GunicornServer,
    api: Api,
    transport: str,
    users: list[SeededUser],
    tracker: Tracker,
    sessions_gauge: str | None = None,
) -> Held:
    """Open one idle connection per user, a batch at a time, each batch confirmed by the worker.

    With ``sessions_gauge``, memory is read only once the worker's gauge shows every session
    started: an accepted connection may still wait for its handshake or first read.
    """
    fds_before = await _settle(server)
    await asyncio.sleep(SETTLE_S)
    rss_before = server.worker_rss_kib()
    tasks: list[asyncio.Task] = []
    started = now()
    try:
        for first in range(0, len(users), BATCH):
            for user in users[first : first + BATCH]:
                ready = asyncio.Event()  # idle users have an empty log: cursor 0
                tasks.append(asyncio.create_task(RECEIVERS[transport](api, user, 0, tracker, ready)))
            # A probe socket that closes meanwhile would make the exact count unreachable.
            await _wait_fds(server, fds_before + len(tasks) - FD_SLACK, BATCH_TIMEOUT_S)
        opened_s = now() - started
        await asyncio.sleep(SETTLE_S)
        held = server.worker_fds() - fds_before
        started_s = await _wait_sessions(api, sessions_gauge, held - FD_SLACK) if sessions_gauge else 0.0
        return Held(held, rss_before, server.worker_rss_kib(), opened_s, tasks, started_s)
    except BaseException:
        await cancel_all(tasks)
        raise


async def _hold_one(
    ctx: Context,
    server: GunicornServer,
    transport: str,
    idle: list[SeededUser],
    sender: SeededUser,
    receiver: SeededUser,
) -> list[Row]:
    async with Api.session() as session:
        api = Api(server.url, session)
        thread_id = await api.open_thread(sender, [receiver])  # the existing 1:1 thread after the first
        # One probe round first, so code paths imported lazily are in the "before" figure.
        await _probe(api, transport, sender, receiver, thread_id, 3, f"warm-{transport}")
        tracker = Tracker()  # idle users receive nothing; it only collects errors
        held = await _open_idle(server, api, transport, idle, tracker, SESSIONS_GAUGE[transport])
        ctx.notes.append(
            f"connections ({transport}): every session had started {held.started_s:.1f} s after the "
            f"last connection was accepted; memory was read and the probe began then"
        )
        try:
            count = ctx.options.probe_messages
            latency = await _probe(api, transport, sender, receiver, thread_id, count, f"probe-{transport}")
        finally:
            await cancel_all(held.tasks)
    label = {"ws": "idle WebSockets", "longpoll": "idle long-polls"}[transport]
    _note_errors(ctx, label, tracker)
    variant = f"{held.count:,} {label}"
    rows = held.rows(variant, Target("<=", RSS_TARGET_KIB))
    rows.append(latency_row(SCENARIO, variant, "delivery to 1 other user", latency))
    return rows


async def _hold_hello(ctx: Context, server: GunicornServer, idle: list[SeededUser]) -> list[Row]:
    """The same idle WebSockets on the hello app's flask-sock echo: the framework's own share."""
    async with Api.session() as session:
        api = Api(server.url, session)
        tracker = Tracker()
        held = await _open_idle(server, api, "ws", idle, tracker)
        await cancel_all(held.tasks)
    _note_errors(ctx, "hello-world WebSockets", tracker)
    return held.rows(f"{held.count:,} idle WebSockets, hello-world flask-sock echo", None)


def _note_errors(ctx: Context, label: str, tracker: Tracker) -> None:
    if tracker.errors:
        ctx.notes.append(f"connections ({label}): {tracker.errors} errors, e.g. {tracker.error_samples[:2]}")


async def _probe(
    api: Api, transport: str, sender: SeededUser, receiver: SeededUser, thread_id: str, count: int, tag: str
) -> dict[str, float]:
    """Send ``count`` messages one at a time to a connected receiver; each waits for delivery."""
    tracker = Tracker()
    ready = asyncio.Event()
    task = asyncio.create_task(
        RECEIVERS[transport](api, receiver, await api.cursor(receiver), tracker, ready)
    )
    try:
        await asyncio.wait_for(ready.wait(), PROBE_TIMEOUT_S)
        for k in range(count):
            cid = f"{tag}-{k}"
            if await tracked_send(api, tracker, sender, thread_id, cid, (receiver.user_id,)):
                await tracker.drain(PROBE_TIMEOUT_S, [cid])
            await asyncio.sleep(PROBE_GAP_S)
    finally:
        await cancel_all([task])
    return percentiles(tracker.latencies(tracker.accepted))


async def _wait_sessions(api: Api, gauge: str, count: int) -> float:
    """Wait (bounded) until the worker's ``gauge`` shows ``count`` sessions; return how long it took."""
    started = now()
    while now() - started < SESSIONS_TIMEOUT_S:
        if await api.gauge(gauge) >= count:
            break
        await asyncio.sleep(0.2)
    return now() - started


async def _wait_fds(server: GunicornServer, target: int, timeout_s: float) -> int:
    """Wait until the worker holds ``target`` descriptors (the batch was accepted) or time runs out."""
    deadline = now() + timeout_s
    while (fds := server.worker_fds()) < target and now() < deadline:
        await asyncio.sleep(0.05)
    return fds


async def _settle(server: GunicornServer) -> int:
    """Wait until the worker's descriptor count stops changing (closed connections are gone)."""
    deadline = now() + CLOSE_TIMEOUT_S
    fds = server.worker_fds()
    while now() < deadline:
        await asyncio.sleep(0.5)
        latest = server.worker_fds()
        if latest == fds:
            return latest
        fds = latest
    return fds
