"""Scenario 5: one group of 100 members, all on WebSockets; how long until the last one has it?

A send to a group appends one update per member in the send's transaction and then wakes every
member's socket, each of which reads its own log; the last member's receive time is what a
group chat feels like. Messages go one at a time (each waits until every member has it), so
the figure is the fan-out cost alone, not a queue.
"""

from __future__ import annotations

import asyncio

from ..context import Context
from ..load import RECEIVERS, Api, Tracker, cancel_all, percentiles, tracked_send
from ..report import Row, latency_row
from ..seed import SeededUser, add_users
from ..server import GunicornServer

MAX_MEMBERS = 100  # the service's default MAX_THREAD_MEMBERS
DELIVERY_TIMEOUT_S = 10
GAP_S = 0.05
READY_TIMEOUT_S = 30


def fanout(ctx: Context) -> list[Row]:
    members = min(ctx.options.fanout_members, MAX_MEMBERS)
    db = ctx.fresh_db("fanout")
    users = add_users(db, members, "f")
    with ctx.server("fanout", db) as server:
        last, everyone, timeouts = asyncio.run(_fanout(ctx, server, users))
    variant = f"{members} members, {ctx.options.fanout_messages} messages"
    rows = [
        latency_row("5 fan-out", variant, "last member has it", last),
        latency_row("5 fan-out", variant, "every member", everyone),
    ]
    if timeouts:
        rows.append(Row("5 fan-out", variant, "messages not fully delivered", float(timeouts)))
    return rows


async def _fanout(ctx: Context, server: GunicornServer, users: list[SeededUser]) -> tuple[dict, dict, int]:
    async with Api.session() as session:
        api = Api(server.url, session)
        creator = users[0]
        thread_id = await api.open_thread(creator, users[1:], title="fan-out")
        cursors = [await api.cursor(user) for user in users]
        tracker = Tracker()
        readies = [asyncio.Event() for _ in users]
        tasks = [
            asyncio.create_task(RECEIVERS["ws"](api, user, cursor, tracker, ready))
            for user, cursor, ready in zip(users, cursors, readies, strict=True)
        ]
        everyone = tuple(user.user_id for user in users)  # the sender's own socket gets it too
        sent: list[str] = []
        timeouts = 0
        try:
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), READY_TIMEOUT_S)
            for k in range(ctx.options.fanout_messages):
                cid = f"fan-{k}"
                if await tracked_send(api, tracker, creator, thread_id, cid, everyone):
                    sent.append(cid)
                    if not await tracker.drain(DELIVERY_TIMEOUT_S, [cid]):
                        timeouts += 1
                await asyncio.sleep(GAP_S)
        finally:
            await cancel_all(tasks)
    if tracker.errors:
        ctx.notes.append(f"fan-out: {tracker.errors} errors, e.g. {tracker.error_samples[:2]}")
    return percentiles(tracker.last_arrivals(sent)), percentiles(tracker.latencies(sent)), timeouts
