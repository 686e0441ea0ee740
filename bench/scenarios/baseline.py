"""Scenario 3: the same closed-loop POST /message load against a hello-world Flask app.

Both servers run the same gunicorn.conf.py on the same pinned core, so messenger ÷ baseline is
the share of the framework's capacity the messenger keeps after its own work (auth, validation,
the SQLite transaction, the update log, delivery). The apples-to-apples figure is the messenger
with nobody connected, since the baseline delivers nothing; the ratio with WebSocket receivers
(scenario 1's figure) is shown beside it.
"""

from __future__ import annotations

import asyncio
import uuid

from ..context import Context
from ..load import Api, Route, Tracker, closed_loop, now
from ..report import Row, Target, cpu_rows
from ..seed import SeededUser, add_users
from ..server import GunicornServer
from .send import window_cpu

RATIO_TARGET = 0.5


def baseline(ctx: Context) -> list[Row]:
    hello_routes = [
        Route(SeededUser(uuid.uuid4().hex, f"hello{i}", "unchecked"), uuid.uuid4().hex, ())
        for i in range(ctx.options.pairs)
    ]
    with ctx.server("baseline-hello", ctx.fresh_db("hello"), app="bench.hello_app:app") as server:
        hello_rate, hello_cpu = asyncio.run(_requests_per_s(ctx, server, hello_routes))

    db = ctx.fresh_db("baseline-messenger")
    users = add_users(db, 2 * ctx.options.pairs, "b")
    with ctx.server("baseline-messenger", db) as server:
        messenger_rate, messenger_cpu = asyncio.run(_messenger(ctx, server, users))

    rows = [
        Row("3 baseline", "hello-world Flask", "POST /message", hello_rate, "req/s", detail=hello_cpu),
        *cpu_rows("3 baseline", "hello-world Flask", hello_cpu, hello_rate, "request"),
        Row(
            "3 baseline",
            "messenger, no receivers",
            "POST /message",
            messenger_rate,
            "req/s",
            detail=messenger_cpu,
        ),
        *cpu_rows("3 baseline", "messenger, no receivers", messenger_cpu, messenger_rate, "request"),
        Row(
            "3 baseline",
            "messenger, no receivers",
            "messenger ÷ baseline",
            messenger_rate / hello_rate if hello_rate else None,
            "×",
            Target(">=", RATIO_TARGET),
        ),
    ]
    with_receivers = ctx.measured.get("send.ws.NORMAL")
    if with_receivers is not None:
        rows.append(
            Row(
                "3 baseline",
                "messenger, WebSocket receivers",
                "messenger ÷ baseline",
                with_receivers / hello_rate if hello_rate else None,
                "×",
                detail={"messenger_per_s": with_receivers, "baseline_per_s": hello_rate},
            )
        )
    return rows


async def _messenger(ctx: Context, server: GunicornServer, users: list[SeededUser]) -> tuple[float, dict]:
    async with Api.session() as session:
        api = Api(server.url, session)
        routes = [
            Route(sender, await api.open_thread(sender, [receiver]), ())
            for sender, receiver in zip(users[0::2], users[1::2], strict=True)
        ]
    return await _requests_per_s(ctx, server, routes)


async def _requests_per_s(ctx: Context, server: GunicornServer, routes: list[Route]) -> tuple[float, dict]:
    """Closed loop for warm-up + duration; the rate counts 201s received inside the window."""
    opts = ctx.options
    async with Api.session() as session:
        api = Api(server.url, session)
        tracker = Tracker()
        window_start = now() + opts.warmup_s
        deadline = window_start + opts.duration_s
        watcher = asyncio.create_task(window_cpu(server, window_start, deadline))
        await closed_loop(api, tracker, routes, deadline, opts.max_messages // len(routes), tag="b")
        cpu = await watcher
    accepted = tracker.answered_between(window_start, deadline)
    if tracker.errors:
        ctx.notes.append(
            f"baseline on {server.app}: {tracker.errors} errors, e.g. {tracker.error_samples[:2]}"
        )
    return accepted / opts.duration_s, cpu
