"""Send throughput and paced latency: P pairs in 1:1 threads, receivers on WebSocket or long-poll.

Scenarios 1 (closed loop), 2 (paced at a fixed offered rate) and 7 (growth: the same closed
loop on a store that already holds the deep thread) all run ``send_run``. Latency is the
receiver's receive time minus the sender's send start, both read from the generator's one clock,
so it covers the POST, the commit, the doorbell and the push to the receiver.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..context import Context
from ..load import (
    RECEIVERS,
    Api,
    Route,
    Tracker,
    cancel_all,
    closed_loop,
    now,
    open_loop,
    percentiles,
    ws_closed_loop,
)
from ..report import Row, Target, cpu_rows, latency_row
from ..seed import SeededUser, add_users
from ..server import BUSY_OTHER_PCT, CpuWindow, GunicornServer

THROUGHPUT_TARGET = 2000.0  # accepted messages/s with WebSocket receivers
PACED_P99_TARGET_MS = 10.0
RATE_HELD_FRACTION = 0.95
READY_TIMEOUT_S = 60
BUSY_RETRIES = 1


@dataclass
class SendOutcome:
    """The figures of one send run, measured over the window after the warm-up."""

    transport: str
    synchronous: str
    window_s: float
    sent: int
    accepted: int
    accepted_per_s: float
    latency: dict[str, float]
    response: dict[str, float]  # POST /message until its 201, for comparison with delivery
    lost: int
    duplicated: int
    errors: int
    error_samples: list[str]
    cpu_pct: dict[str, float]  # server / generator / other processes, % of one core
    offered_per_s: float | None = None
    skipped: int = 0
    lag: dict[str, float] = field(default_factory=dict)

    @property
    def rate_held(self) -> bool:
        return (
            self.offered_per_s is not None
            and self.skipped == 0
            and self.accepted_per_s >= RATE_HELD_FRACTION * self.offered_per_s
        )

    def detail(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("latency", "response")}


def send_run(
    ctx: Context,
    name: str,
    transport: str,
    synchronous: str,
    deep: bool = False,
    rate: float | None = None,
    during: Callable[[GunicornServer, float], Any] | None = None,
    retries: int = BUSY_RETRIES,
    send_over: str = "http",
) -> SendOutcome:
    """Seed P pairs in a fresh file (a copy of the deep one if ``deep``), serve it, load it.

    A run whose window other processes disturbed (a concurrent test run on a shared machine)
    is run again, up to ``retries`` times, on a new file. ``during`` is called with the server
    and the window length as the measured window opens (the profiler attaches there).
    """
    opts = ctx.options
    for attempt in range(retries + 1):
        db = ctx.deep_db(name)[0] if deep else ctx.fresh_db(name)
        users = add_users(db, 2 * opts.pairs, "s")
        pairs = list(zip(users[0::2], users[1::2], strict=True))
        with ctx.server(name, db, synchronous) as server:
            outcome = asyncio.run(_load(ctx, server, pairs, transport, rate, during, send_over))
        outcome.synchronous = synchronous
        other = outcome.cpu_pct["other"]
        if other <= BUSY_OTHER_PCT:
            break
        verdict = "run again" if attempt < retries else "kept, read it with care"
        ctx.notes.append(f"{name}: other processes used {other:.0f} % of a core during the window; {verdict}")
    return outcome


async def _load(
    ctx: Context,
    server: GunicornServer,
    pairs: list[tuple[SeededUser, SeededUser]],
    transport: str,
    rate: float | None,
    during: Callable[[GunicornServer, float], Any] | None,
    send_over: str,
) -> SendOutcome:
    opts = ctx.options
    async with Api.session() as session:
        api = Api(server.url, session)
        routes = [
            Route(sender, await api.open_thread(sender, [receiver]), (receiver.user_id,))
            for sender, receiver in pairs
        ]
        cursors = [await api.cursor(receiver) for _, receiver in pairs]
        tracker = Tracker()
        readies = [asyncio.Event() for _ in pairs]
        receive = RECEIVERS[transport]
        receivers = [
            asyncio.create_task(receive(api, receiver, cursor, tracker, ready))
            for (_, receiver), cursor, ready in zip(pairs, cursors, readies, strict=True)
        ]
        try:
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), READY_TIMEOUT_S)
            begin = now()
            window_start = begin + opts.warmup_s
            deadline = window_start + opts.duration_s
            watcher = asyncio.create_task(window_cpu(server, window_start, deadline, during))
            lag: list[float] = []
            skipped = 0
            per_sender = opts.max_messages // len(routes)
            if rate is None and send_over == "ws":
                await ws_closed_loop(api, tracker, routes, deadline, per_sender)
            elif rate is None:
                await closed_loop(api, tracker, routes, deadline, per_sender)
            else:
                skipped = await open_loop(api, tracker, routes, begin, deadline, rate, opts.max_messages, lag)
            cpu = await watcher
            await tracker.drain(opts.drain_s)
        finally:
            await cancel_all(receivers)
    # Latencies are of the messages sent inside the window; the rate counts 201s received in it.
    measured = [cid for cid, t in tracker.sent_at.items() if window_start <= t < deadline]
    accepted = [cid for cid in measured if cid in tracker.accepted]
    window = opts.duration_s
    return SendOutcome(
        transport=transport,
        synchronous="",
        window_s=window,
        sent=len(tracker.sent_at),
        accepted=len(tracker.accepted),
        accepted_per_s=tracker.answered_between(window_start, deadline) / window,
        latency=percentiles(tracker.latencies(accepted)),
        response=percentiles(tracker.response_times(accepted)),
        lost=tracker.missing(),
        duplicated=tracker.duplicates,
        errors=tracker.errors,
        error_samples=tracker.error_samples,
        cpu_pct=cpu,
        offered_per_s=rate,
        skipped=skipped,
        lag=percentiles(lag) if lag else {},
    )


async def window_cpu(
    server: GunicornServer,
    start: float,
    end: float,
    during: Callable[[GunicornServer, float], Any] | None = None,
) -> dict[str, float]:
    """CPU use of the worker, this generator and other processes over the measured window only.

    ``during`` runs as the window opens, with its length (the profiler attaches there).
    """
    await asyncio.sleep(max(0.0, start - now()))
    if during is not None:
        during(server, end - start)
    window = CpuWindow(server)
    window.start()
    await asyncio.sleep(max(0.0, end - now()))
    return window.stop()


def outcome_rows(scenario: str, variant: str, outcome: SendOutcome, throughput_target: bool) -> list[Row]:
    """The rows every send run prints: rate, latency, loss, and where the CPU went."""
    rows = []
    if outcome.offered_per_s is None:
        target = Target(">=", THROUGHPUT_TARGET) if throughput_target else None
        rows.append(
            Row(
                scenario,
                variant,
                "accepted",
                outcome.accepted_per_s,
                "msg/s",
                target,
                detail=outcome.detail(),
            )
        )
    else:
        held = "held" if outcome.rate_held else "NOT held"
        rows.append(
            Row(
                scenario,
                variant,
                f"rate (offered {outcome.offered_per_s:,.0f}/s)",
                outcome.accepted_per_s,
                "msg/s",
                shown=f"{outcome.accepted_per_s:,.0f} msg/s, {held}",
                detail=outcome.detail(),
            )
        )
    p99_target = (
        PACED_P99_TARGET_MS if outcome.offered_per_s is not None and outcome.transport == "ws" else None
    )
    rows.append(latency_row(scenario, variant, "delivery", outcome.latency, p99_target))
    rows.append(latency_row(scenario, variant, "send answered (201)", outcome.response))
    rows.append(
        Row(
            scenario,
            variant,
            "lost / duplicated / errors",
            float(outcome.lost + outcome.duplicated),
            target=Target("<=", 0),
            shown=f"{outcome.lost} / {outcome.duplicated} / {outcome.errors}",
        )
    )
    rows += cpu_rows(scenario, variant, outcome.cpu_pct, outcome.accepted_per_s, "message")
    return rows


def throughput(ctx: Context) -> list[Row]:
    """Scenario 1: closed-loop send throughput, both transports, every synchronous mode."""
    rows: list[Row] = []
    for synchronous in ctx.options.sync_modes:
        for transport in ("ws", "longpoll"):
            name = f"send-{transport}-{synchronous}"
            outcome = send_run(ctx, name, transport, synchronous)
            ctx.measured[f"send.{transport}.{synchronous}"] = outcome.accepted_per_s
            variant = f"{_label(transport)}, {synchronous}"
            rows += outcome_rows("1 send", variant, outcome, throughput_target=transport == "ws")
    # The same, sending over each sender's WebSocket instead of POST: what HTTP itself costs.
    outcome = send_run(ctx, "send-ws-actions-NORMAL", "ws", "NORMAL", send_over="ws")
    rows += outcome_rows("1 send", "sent over WebSocket, NORMAL", outcome, throughput_target=False)
    return rows


def paced_latency(ctx: Context) -> list[Row]:
    """Scenario 2: the same pairs at a fixed offered rate; is it held, and how fast is delivery?"""
    rows: list[Row] = []
    for transport in ("ws", "longpoll"):
        name = f"paced-{transport}-NORMAL"
        outcome = send_run(ctx, name, transport, "NORMAL", rate=ctx.options.rate)
        rows += outcome_rows("2 paced", f"{_label(transport)}, NORMAL", outcome, throughput_target=False)
    return rows


def growth(ctx: Context) -> list[Row]:
    """Scenario 7: closed-loop WebSocket throughput, empty store against the deep one."""
    rows: list[Row] = []
    depth = ctx.options.depth
    for synchronous in ctx.options.sync_modes:
        key = f"send.ws.{synchronous}"
        if key not in ctx.measured:
            name = f"growth-empty-{synchronous}"
            ctx.measured[key] = send_run(ctx, name, "ws", synchronous).accepted_per_s
        empty = ctx.measured[key]
        name = f"growth-deep-{synchronous}"
        outcome = send_run(ctx, name, "ws", synchronous, deep=True)
        variant = f"{depth:,} stored, {synchronous}"
        rows += outcome_rows("7 growth", variant, outcome, throughput_target=False)
        ratio = outcome.accepted_per_s / empty if empty else math.nan
        rows.append(
            Row(
                "7 growth",
                variant,
                f"÷ empty ({empty:,.0f} msg/s)",
                ratio,
                "×",
                Target(">=", 0.9),
                detail={"empty_per_s": empty, "deep_per_s": outcome.accepted_per_s},
            )
        )
    return rows


def _label(transport: str) -> str:
    return {"ws": "WebSocket", "longpoll": "long-poll"}[transport]
