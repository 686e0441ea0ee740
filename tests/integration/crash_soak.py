"""Crash soak: send with client_msg_ids while the server is SIGKILLed and restarted, then
check that every acknowledged message is stored once and every log replays it once, in order.

``make test`` runs a short form (tests/integration/test_crash_soak.py); ``make soak`` runs
``python -m tests.integration.crash_soak`` with 5,000 messages and 5 kills, printing counts.
"""

from __future__ import annotations

import argparse
import random
import signal
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from .clients import Http, User
from .live import LiveServer

SENDERS = 4
RETRY_PAUSE_S = 0.05


@dataclass
class Report:
    messages: int
    kills: int = 0
    acknowledged_first_try: int = 0
    retried: int = 0
    stored: int = 0
    duplicates: int = 0
    missing: int = 0
    log_replays_checked: int = 0
    log_problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"messages sent: {self.messages}, server kills: {self.kills}",
            f"acknowledged on the first try: {self.acknowledged_first_try}, after retries: {self.retried}",
            f"stored: {self.stored}, duplicates: {self.duplicates}, missing: {self.missing}",
            f"member logs replayed: {self.log_replays_checked}, problems: {len(self.log_problems)}",
        ]


class Sender:
    """What a mobile client does: retry with the same client_msg_id until acknowledged."""

    def __init__(self, base_url: str) -> None:
        self.http = Http(base_url)

    def send(self, user: User, thread_id: str, text: str, client_msg_id: str) -> tuple[dict, bool]:
        first_try = True
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                reply = self.http.send(user, thread_id, text, client_msg_id=client_msg_id, timeout=5)
                if reply.status_code in (200, 201):
                    return reply.json()["message"], first_try
            except requests.RequestException:
                pass
            first_try = False
            time.sleep(RETRY_PAUSE_S)
        raise RuntimeError(f"{client_msg_id} was never acknowledged")


def run(messages: int, kills: int, workdir: Path, seed: int = 7) -> Report:
    rng = random.Random(seed)
    server = LiveServer({"MESSENGER_DB": str(workdir / "m.db")}, log_path=workdir / "gunicorn.log").start()
    report = Report(messages)
    try:
        http = Http(server.url)
        users = [http.signup() for _ in range(6)]
        threads = {
            http.open_thread(users[0], [users[1]]): users[:2],
            http.open_thread(users[2], [users[3]]): users[2:4],
            http.open_thread(users[0], users[1:4]): users[:4],
            http.open_thread(users[4], [users[5], users[0]]): [users[4], users[5], users[0]],
        }
        plan = _plan(messages, threads, rng)
        acked: dict[str, dict] = {}
        lock = threading.Lock()

        def send_share(share: list[tuple[str, User, str]]) -> None:
            sender = Sender(server.url)
            for client_msg_id, user, thread_id in share:
                message, first_try = sender.send(user, thread_id, f"text of {client_msg_id}", client_msg_id)
                with lock:
                    acked[client_msg_id] = message
                    report.acknowledged_first_try += first_try
                    report.retried += not first_try

        workers = [threading.Thread(target=send_share, args=(plan[i::SENDERS],)) for i in range(SENDERS)]
        for worker in workers:
            worker.start()
        for at in sorted(rng.sample(range(messages // 10, messages * 9 // 10), kills)):
            while len(acked) < at and any(w.is_alive() for w in workers):
                time.sleep(0.01)
            server.stop(signal.SIGKILL)
            report.kills += 1
            time.sleep(rng.uniform(0, 0.5))
            server.start()
        for worker in workers:
            worker.join()
        _check(Http(server.url), threads, acked, report)
    finally:
        server.stop()
    return report


def _plan(messages: int, threads: dict[str, list[User]], rng: random.Random) -> list[tuple[str, User, str]]:
    thread_ids = list(threads)
    plan = []
    for i in range(messages):
        thread_id = thread_ids[i % len(thread_ids)]
        plan.append((f"soak-{i}", rng.choice(threads[thread_id]), thread_id))
    return plan


def _check(http: Http, threads: dict[str, list[User]], acked: dict[str, dict], report: Report) -> None:
    stored_ids: Counter[str] = Counter()
    for thread_id, members in threads.items():
        history = _history(http, members[0], thread_id)
        seqs = [m["seq"] for m in history]
        if seqs != list(range(1, len(seqs) + 1)):
            report.log_problems.append(f"thread {thread_id}: seqs are not 1..N")
        stored_ids.update(m["client_msg_id"] for m in history if m["client_msg_id"])
        for member in members:
            _check_log(http, member, thread_id, seqs, report)
    report.stored = sum(1 for cid in acked if stored_ids[cid] >= 1)
    report.duplicates = sum(count - 1 for count in stored_ids.values() if count > 1)
    report.missing = sum(1 for cid in acked if stored_ids[cid] == 0)


def _history(http: Http, user: User, thread_id: str) -> list[dict]:
    """The whole thread, oldest first, walked with before_seq pages."""
    messages, before = [], None
    while True:
        query = f"before_seq={before}&limit=100" if before else "start_index=0&end_index=100"
        page = http.session.get(
            f"{http.base_url}/threads/{thread_id}/messages?{query}", headers=user.headers, timeout=10
        ).json()["messages"]
        if not page:
            return list(reversed(messages))
        messages += page
        before = page[-1]["seq"]


def _check_log(http: Http, member: User, thread_id: str, seqs: list[int], report: Report) -> None:
    updates, _ = http.all_updates(member, 0)
    replayed = [
        u["message"]["seq"]
        for u in updates
        if u["type"] == "message.new" and u["message"]["thread_id"] == thread_id
    ]
    report.log_replays_checked += 1
    if replayed != seqs:
        report.log_problems.append(
            f"{member.username} in {thread_id}: replayed {len(replayed)} of {len(seqs)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = run(args.messages, args.kills, Path(tmp))
    print("\n".join(report.lines()))
    ok = (
        report.duplicates == report.missing == 0
        and not report.log_problems
        and report.stored == args.messages
    )
    print("crash soak:", "PASS" if ok else f"FAIL {report.log_problems[:5]}")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
