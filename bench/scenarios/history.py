"""Scenario 6: a 50-message page at index 0, 1,000 and depth − 1,000 of a 1,000,000-message thread.

The README promises that an index page is a seq range lookup, "as cheap at depth 999,000 as at
0", for both ``start_index`` and ``before_seq``; this measures it on a real file seeded before
the server starts. Requests go one at a time (latency, not throughput), after a warm-up, and
each page is checked to be the right one. The reader has every message unread, so the same
file also shows what GET /threads costs for a thread with a deep unread backlog.
"""

from __future__ import annotations

import asyncio
import time

from ..context import Context
from ..load import Api, median
from ..report import Row, Target
from ..seed import DeepThread, SeededUser
from ..server import GunicornServer

PAGE = 50
RATIO_TARGET = 1.5
WARMUP_REQUESTS = 3
MAX_SECONDS_PER_CASE = 30  # a case stops early (with fewer requests) rather than run away


def history(ctx: Context) -> list[Row]:
    db, deep = ctx.deep_db("history")
    with ctx.server("history", db) as server:
        return asyncio.run(_history(ctx, server, deep))


async def _history(ctx: Context, server: GunicornServer, deep: DeepThread) -> list[Row]:
    depth = deep.depth
    indexes = [0, 1000, depth - 1000]
    rows: list[Row] = []
    async with Api.session() as session:
        api = Api(server.url, session)
        path = f"/threads/{deep.thread_id}/messages"
        for mode in ("start_index", "before_seq"):
            medians = []
            for index in indexes:
                if mode == "start_index":
                    params = {"start_index": str(index), "end_index": str(index + PAGE)}
                else:
                    params = {"before_seq": str(depth - index + 1), "limit": str(PAGE)}
                ms, count = await _median_ms(ctx, api, deep.reader, path, params, _page_check(depth - index))
                medians.append(ms)
                detail = {"requests": count, "depth": depth}
                rows.append(
                    Row("6 history", f"by {mode}", f"page at index {index:,}", ms, "ms", detail=detail)
                )
            ratio = medians[-1] / medians[0] if medians[0] else None
            metric = f"index {indexes[-1]:,} ÷ index 0"
            rows.append(Row("6 history", f"by {mode}", metric, ratio, "×", Target("<=", RATIO_TARGET)))
        for who, user, unread in (("writer", deep.writer, 0), ("reader", deep.reader, depth)):
            ms, count = await _median_ms(
                ctx, api, user, "/threads", {"start_index": "0", "end_index": "20"}, None
            )
            variant = f"GET /threads, {unread:,} unread"
            rows.append(Row("6 history", variant, f"list ({who})", ms, "ms", detail={"requests": count}))
    return rows


def _page_check(newest_seq: int):
    """The page must start at the expected seq and hold PAGE messages, newest first."""

    def check(reply: dict) -> None:
        seqs = [message["seq"] for message in reply["messages"]]
        if len(seqs) != PAGE or seqs[0] != newest_seq or seqs != sorted(seqs, reverse=True):
            raise RuntimeError(f"wrong page: expected {PAGE} from seq {newest_seq}, got {seqs[:3]}...")

    return check


async def _median_ms(
    ctx: Context, api: Api, user: SeededUser, path: str, params: dict, check
) -> tuple[float, int]:
    """Median latency of sequential GETs, in ms, and how many were timed."""
    timings = []
    deadline = time.perf_counter() + MAX_SECONDS_PER_CASE
    for attempt in range(WARMUP_REQUESTS + ctx.options.history_requests):
        started = time.perf_counter()
        status, reply = await api.get(path, user, params)
        elapsed = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {reply}")
        if check is not None:
            check(reply)
        if attempt >= WARMUP_REQUESTS:
            timings.append(elapsed * 1000)
        if time.perf_counter() > deadline:
            break
    if len(timings) < ctx.options.history_requests:
        ctx.notes.append(
            f"history: GET {path} {params} timed only {len(timings)} requests in {MAX_SECONDS_PER_CASE} s"
        )
    return median(timings), len(timings)
