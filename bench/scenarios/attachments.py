"""Scenario 9: attachments on the default store (local files beside SQLite).

Throughput: one 10 MiB file uploaded (raw body, streamed) and downloaded (its signed URL) a few
times in a row, in MiB/s of the body. Memory: 20 people each upload 25 MiB at once while the
worker's VmRSS is sampled every 50 ms; an upload path that held bodies would grow by their
500 MiB, a streaming one by a few buffers. The target is a growth under a tenth of that.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from ..context import Context
from ..report import Row, Target
from ..seed import add_users

SCENARIO = "9 attachments"
MIB = 1024 * 1024
FILE_MIB = 10
ROUNDS = 5
CONCURRENT = 20
BIG_MIB = 25
SAMPLE_S = 0.05
GROWTH_TARGET_SHARE = 0.1  # of what the concurrent uploads add up to


def attachments(ctx: Context) -> list[Row]:
    db = ctx.fresh_db("attachments")
    users = add_users(db, CONCURRENT, "a")
    with ctx.server("attachments", db) as server:
        rows = _throughput(server.url, users[0])
        rows.append(_concurrent_memory(server, users))
    return rows


def _headers(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}", "Content-Type": "application/octet-stream"}


def _body(total: int, block: bytes):
    sent = 0
    while sent < total:
        piece = block[: min(len(block), total - sent)]
        sent += len(piece)
        yield piece


def _throughput(url: str, user) -> list[Row]:
    block = os.urandom(MIB)
    up, down = [], []
    session = requests.Session()
    for _ in range(ROUNDS):
        started = time.perf_counter()
        reply = session.post(
            f"{url}/attachments",
            params={"filename": "ten.bin"},
            data=_body(FILE_MIB * MIB, block),
            headers=_headers(user),
            timeout=120,
        )
        up.append(time.perf_counter() - started)
        reply.raise_for_status()
        started = time.perf_counter()
        with session.get(url + reply.json()["attachment"]["url"], stream=True, timeout=120) as served:
            served.raise_for_status()
            received = sum(len(chunk) for chunk in served.iter_content(MIB))
        down.append(time.perf_counter() - started)
        assert received == FILE_MIB * MIB
    best_up, best_down = min(up), min(down)
    return [
        Row(
            SCENARIO,
            f"{FILE_MIB} MiB upload",
            "throughput",
            FILE_MIB / best_up,
            "MiB/s",
            detail={"seconds": up},
        ),
        Row(
            SCENARIO,
            f"{FILE_MIB} MiB download",
            "throughput",
            FILE_MIB / best_down,
            "MiB/s",
            detail={"seconds": down},
        ),
    ]


def _concurrent_memory(server, users) -> Row:
    block = os.urandom(MIB)
    before_kib = server.worker_rss_kib()
    peak = [before_kib]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], server.worker_rss_kib())
            time.sleep(SAMPLE_S)

    def upload(user) -> int:
        return requests.post(
            f"{server.url}/attachments",
            params={"filename": "big.bin"},
            data=_body(BIG_MIB * MIB, block),
            headers=_headers(user),
            timeout=300,
        ).status_code

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENT) as pool:
        statuses = list(pool.map(upload, users))
    took = time.perf_counter() - started
    done.set()
    sampler.join()
    grown_mib = (peak[0] - before_kib) / 1024
    total_mib = CONCURRENT * BIG_MIB
    return Row(
        SCENARIO,
        f"{CONCURRENT} x {BIG_MIB} MiB uploads at once",
        "worker RSS growth",
        grown_mib,
        "MiB",
        target=Target("<=", total_mib * GROWTH_TARGET_SHARE),
        detail={"statuses": statuses, "seconds": took, "rss_before_kib": before_kib, "total_mib": total_mib},
    )
