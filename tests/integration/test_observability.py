"""Metrics and logs of a live gunicorn: gauges, several workers' metrics added up, request logs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from .clients import Http, Stream
from .live import LiveServer

WEBSOCKETS = "messenger_websockets_connected"
LONGPOLLS = "messenger_longpolls_waiting"
METRICS_TOKEN = "observability-test-metrics-token"
HEALTHZ = {"method": "GET", "route": "/healthz", "status": "200"}


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape(server: LiveServer) -> str:
    """One scrape on a new connection, so that with several workers any of them may answer."""
    headers = {"Connection": "close", "Authorization": f"Bearer {METRICS_TOKEN}"}
    reply = requests.get(server.url + "/metrics", headers=headers, timeout=10)
    assert reply.status_code == 200
    return reply.text


def eventually(check, timeout: float = 10.0):
    """Retry ``check`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def scrape_when(server: LiveServer, holds, timeout: float = 10.0) -> str | None:
    """Scrape until ``holds(scrape)``; return that scrape, or None if it never held."""

    def once() -> str | None:
        text = scrape(server)
        return text if holds(text) else None

    return eventually(once, timeout)


@pytest.fixture
def live_server(tmp_path):
    """conftest's server, with METRICS_TOKEN set: without it /metrics is not served."""
    env = {"MESSENGER_DB": str(tmp_path / "messenger.db"), "METRICS_TOKEN": METRICS_TOKEN}
    server = LiveServer(env, log_path=tmp_path / "gunicorn.log").start()
    yield server
    server.stop()


def test_gauges_show_a_connected_websocket_and_a_waiting_long_poll(live_server):
    http = Http(live_server.url)
    alice, bob = http.signup(), http.signup()
    thread_id = http.open_thread(alice, [bob])
    cursor = http.cursor(bob)
    stream = Stream(live_server.url, bob.token, since=cursor)
    polled = {}
    poller = threading.Thread(target=lambda: polled.update(reply=http.updates(bob, cursor, timeout=20)))
    poller.start()

    assert scrape_when(live_server, lambda text: value(text, WEBSOCKETS) == value(text, LONGPOLLS) == 1)

    assert Http(live_server.url).send(alice, thread_id, "wake up").status_code == 201
    poller.join(10)
    assert [u["type"] for u in polled["reply"].json()["updates"]] == ["message.new"]
    assert [u["type"] for u in stream.updates(1)] == ["message.new"]
    stream.close()
    after = scrape_when(live_server, lambda text: value(text, WEBSOCKETS) == 0)
    assert after is not None
    assert value(after, LONGPOLLS) == 0
    delivered = "messenger_updates_delivered_total"
    assert value(after, delivered, transport="websocket") >= 1
    assert value(after, delivered, transport="longpoll") >= 1


def test_json_logs_carry_the_request_id_and_never_a_secret(tmp_path):
    log_path = tmp_path / "gunicorn.log"
    env = {"MESSENGER_DB": str(tmp_path / "m.db"), "LOG_FORMAT": "json"}
    server = start_patiently(LiveServer(env, log_path=log_path))
    try:
        http = Http(server.url)
        alice, bob = http.signup("alice"), http.signup("bob")
        thread_id = http.open_thread(alice, [bob], "the-first-secret-words")
        stream = Stream(server.url, bob.token, since=0)  # the token travels in the query string
        assert http.send(alice, thread_id, "the-second-secret-words").status_code == 201
        stream.updates(2)
        echoed = http.session.get(
            f"{server.url}/threads/{thread_id}?start_index=0",
            headers={**alice.headers, "X-Request-ID": "trace-7.a_b-C"},
            timeout=10,
        )
        replaced = http.session.get(
            server.url + "/healthz", headers={"X-Request-ID": "no spaces\tor tabs!"}, timeout=10
        )
        too_long = http.session.get(server.url + "/healthz", headers={"X-Request-ID": "x" * 65}, timeout=10)
        http.session.post(
            server.url + "/auth/signin", json={"login": "alice", "password": "correct horse battery"}
        )
        http.session.post(
            server.url + "/auth/signin", json={"login": "alice", "password": "a-wrong-password"}
        )
        stream.close()
        assert eventually(lambda: "websocket.close" in log_path.read_text())
    finally:
        server.stop()

    assert echoed.headers["X-Request-ID"] == "trace-7.a_b-C"
    for reply in (replaced, too_long):
        assert len(reply.headers["X-Request-ID"]) == 32 and reply.headers["X-Request-ID"].isalnum()
    log = log_path.read_text()
    lines = [json.loads(line) for line in log.splitlines() if not is_gunicorn_line(line)]
    requests_logged = [line for line in lines if line["logger"] == "messenger.access" and "status" in line]
    (traced,) = [line for line in requests_logged if line["request_id"] == "trace-7.a_b-C"]
    assert traced["method"] == "GET" and traced["path"] == "/threads/<thread_id>"
    assert traced["status"] == 200 and traced["user_id"] == alice.user_id
    assert isinstance(traced["duration_ms"], float)
    logged_ids = {line["request_id"] for line in requests_logged}
    assert {replaced.headers["X-Request-ID"], too_long.headers["X-Request-ID"]} <= logged_ids
    events = {line.get("event"): line for line in lines if line.get("user_id") == bob.user_id}
    assert events["websocket.open"]["request_id"] == events["websocket.close"]["request_id"]
    assert events["websocket.close"]["close_code"] in (1000, 1005)
    assert events["websocket.close"]["duration_ms"] > 0
    (socket_request,) = [line for line in requests_logged if line["path"] == "/stream"]
    assert socket_request["status"] == 101 and socket_request["user_id"] == bob.user_id
    assert '"GET /healthz HTTP/1.1"' not in log  # gunicorn's own access log is off: one line a request
    for secret in (
        alice.token,
        bob.token,
        "correct horse battery",
        "a-wrong-password",
        "secret-words",
        "token=",
        "start_index",
    ):
        assert secret not in log


def is_gunicorn_line(line: str) -> bool:
    """gunicorn's error log (boot, workers, shutdown) keeps its own ``[time] [pid] [LEVEL]`` lines."""
    return line.startswith("[")


def test_text_logs_name_the_rule_and_the_request_id(live_server):
    http = Http(live_server.url)
    alice, bob = http.signup(), http.signup()
    thread_id = http.open_thread(alice, [bob])
    http.session.get(
        f"{live_server.url}/threads/{thread_id}/messages?end_index=5",
        headers={**alice.headers, "X-Request-ID": "text-trace-1"},
        timeout=10,
    )
    live_server.stop()

    log = live_server.log_path.read_text()
    (line,) = [line for line in log.splitlines() if "request_id=text-trace-1" in line]
    assert "GET /threads/<thread_id>/messages 200 " in line
    assert f"user_id={alice.user_id}" in line
    assert thread_id not in line and "end_index" not in line


@pytest.fixture
def two_workers(tmp_path, redis_server):
    env = {
        "MESSENGER_DB": str(tmp_path / "m.db"),
        "REDIS_URL": redis_server.url,
        "WEB_CONCURRENCY": "2",
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    server = start_patiently(LiveServer(env, log_path=tmp_path / "gunicorn.log"))
    yield server
    server.stop()


def start_patiently(server: LiveServer, attempts: int = 5) -> LiveServer:
    """Start, and keep waiting while a worker is still booting: on a busy machine two workers
    booting at once may leave the first /readyz unanswered past live.py's 1 s read timeout."""
    try:
        server.start()
    except requests.Timeout:
        for attempt in range(attempts):
            try:
                server.wait_ready()
                break
            except requests.Timeout:
                if attempt == attempts - 1:
                    server.stop()
                    raise
    return server


def test_two_workers_serve_every_worker_s_metrics_added_up(two_workers, tmp_path):
    server = two_workers
    metrics_dir = eventually(lambda: metrics_dir_of(server))
    assert metrics_dir, "no messenger-metrics-* directory holds this server's workers' files"

    def both_served() -> bool:
        counts = healthz_counts(metrics_dir, tmp_path)
        return len(counts) == 2 and all(counts.values())

    made = 0
    while made < 1000 and not (made % 25 == 0 and both_served()):
        reply = requests.get(server.url + "/healthz", headers={"Connection": "close"}, timeout=10)
        assert reply.status_code == 200
        made += 1
    per_worker = healthz_counts(metrics_dir, tmp_path)
    assert len(per_worker) == 2 and all(per_worker.values()), per_worker  # both workers served some
    assert sum(per_worker.values()) == made
    for _ in range(6):  # whichever worker answers the scrape, it reports both workers' requests
        assert value(scrape(server), "messenger_http_requests_total", **HEALTHZ) == made

    http = Http(server.url)
    alice, bob = http.signup(), http.signup()
    thread_id = http.open_thread(alice, [bob])
    assert http.send(alice, thread_id, "across workers").status_code == 201
    lag = "messenger_notifier_lag_seconds_count"
    assert eventually(lambda: value(scrape(server), lag) >= 1), "the other worker relayed nothing"

    stream = Stream(server.url, bob.token)
    assert eventually(lambda: all(value(scrape(server), WEBSOCKETS) == 1 for _ in range(4)))
    holder = eventually(lambda: socket_holder(metrics_dir, tmp_path))
    os.kill(holder, signal.SIGKILL)  # its socket dies with it: the master's child_exit forgets it
    assert eventually(lambda: all(value(scrape(server), WEBSOCKETS) == 0 for _ in range(4)), timeout=20)
    stream.ws.close()

    server.stop()
    assert not Path(metrics_dir).exists()  # the master removes the directory it made


def metrics_dir_of(server: LiveServer) -> str | None:
    """The directory gunicorn.conf.py made for this server: the one holding its workers' files."""
    for candidate in Path(tempfile.gettempdir()).glob("messenger-metrics-*"):
        for path in candidate.glob("counter_*.db"):
            if parent_pid(int(path.stem.rpartition("_")[2])) == server.process.pid:
                return str(candidate)
    return None


def parent_pid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])


def one_worker_scrape(metrics_dir: str, filename: str, workdir: Path) -> str:
    """What one worker's file alone says, read with prometheus-client's own collector."""
    alone = Path(tempfile.mkdtemp(dir=workdir))
    shutil.copy(Path(metrics_dir) / filename, alone / filename)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(alone))
    return generate_latest(registry).decode()


def healthz_counts(metrics_dir: str, workdir: Path) -> dict[int, float]:
    """Each live worker's own count of GET /healthz."""
    counts = {}
    for path in Path(metrics_dir).glob("counter_*.db"):
        pid = int(path.stem.rpartition("_")[2])
        text = one_worker_scrape(metrics_dir, path.name, workdir)
        counts[pid] = value(text, "messenger_http_requests_total", **HEALTHZ)
    return counts


def socket_holder(metrics_dir: str, workdir: Path) -> int | None:
    """The worker whose live gauge counts the open socket."""
    for path in Path(metrics_dir).glob("gauge_livesum_*.db"):
        if value(one_worker_scrape(metrics_dir, path.name, workdir), WEBSOCKETS) == 1:
            return int(path.stem.rpartition("_")[2])
    return None
