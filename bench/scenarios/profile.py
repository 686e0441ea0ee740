"""Where the worker's time goes on the send path: py-spy attached during a closed-loop send run.

It samples the worker (in-process profilers would change what they measure under gevent) and
writes ``bench/results/profile.svg`` (a flame graph) and ``profile.txt`` (collapsed stacks),
then summarises the collapsed stacks: the share of samples under each layer of the stack and
the functions that were on the CPU most often. py-spy runs on the generator's CPU and in
non-blocking mode, so the worker is not paused to be sampled.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from ..context import Context
from ..report import Row
from ..server import GENERATOR_CPU, GunicornServer, can_pin
from .send import send_run

PY_SPY = Path(sys.executable).with_name("py-spy")
RATE_HZ = 200
STOP_TIMEOUT_S = 30
TOP = 15

# Layers of the send path, by the file a frame comes from: the first match wins, from the leaf.
LAYERS = (
    ("sqlite (store)", ("messenger/store/",)),
    (
        "marshmallow / webargs (validation, dumping)",
        ("marshmallow/", "webargs/", "flask_smorest/", "apispec/"),
    ),
    ("json", ("json/",)),
    ("logging (access log)", ("logging/", "gunicorn/glogging.py")),
    ("websocket (simple_websocket, wsproto)", ("simple_websocket/", "wsproto/", "h11/", "flask_sock/")),
    ("gunicorn HTTP parsing and writing", ("gunicorn/",)),
    ("werkzeug / flask", ("werkzeug/", "flask/")),
    ("gevent (sockets, hub, locks)", ("gevent/", "greenlet", "threading.py", "selectors.py", "queue.py")),
    ("messenger (service, web, notify)", ("messenger/",)),
)


def profile(ctx: Context) -> list[Row]:
    py_spy = PY_SPY if PY_SPY.exists() else shutil.which("py-spy")
    if not py_spy:
        ctx.notes.append("profile: py-spy is not installed (pip install -r requirements-dev.txt); skipped.")
        return []
    outputs = {"raw": ctx.results_dir / "profile.txt", "flamegraph": ctx.results_dir / "profile.svg"}
    spies: list[subprocess.Popen] = []

    def attach(server: GunicornServer, window_s: float) -> None:
        for fmt, path in outputs.items():
            command = [str(py_spy), "record", "--pid", str(server.require_worker()), "--rate", str(RATE_HZ)]
            command += [
                "--duration",
                str(max(1, int(window_s))),
                "--format",
                fmt,
                "--nonblocking",
                "-o",
                str(path),
            ]
            if can_pin():
                command = ["taskset", "-c", str(GENERATOR_CPU), *command]
            log = open(ctx.results_dir / "logs" / f"py-spy-{fmt}.log", "wb")  # noqa: SIM115 - child keeps it
            spies.append(subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL))
            log.close()

    try:
        # py-spy's own CPU shows as "other": a busy window is expected here, not a reason to rerun.
        outcome = send_run(ctx, "profile-ws-NORMAL", "ws", "NORMAL", during=attach, retries=0)
    finally:
        for spy in spies:
            try:
                spy.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()
    if not outputs["raw"].exists():
        ctx.notes.append(
            "profile: py-spy wrote nothing (is ptrace allowed here?); see results/logs/py-spy-*.log"
        )
        return []
    summary = summarise(outputs["raw"])
    summary["accepted_per_s_while_profiled"] = outcome.accepted_per_s
    ctx.extra["profile"] = summary
    # The layers go to the console and the JSON; the table keeps one row, to show py-spy's cost.
    return [Row("profile", "WebSocket, NORMAL", "accepted while sampled", outcome.accepted_per_s, "msg/s")]


def summarise(raw: Path) -> dict:
    """Layer shares, top functions on the CPU (leaf frames) and top messenger functions (inclusive)."""
    layers: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        layers[_layer(frames)] += count
        leaves[frames[-1]] += count
        for frame in set(frames):
            if "messenger/" in frame:
                inclusive[frame] += count
    if not total:
        return {"samples": 0, "layers": {}, "top_self": [], "top_messenger_inclusive": []}

    def pct(n: int) -> float:
        return round(100.0 * n / total, 1)

    return {
        "samples": total,
        "layers": {layer: pct(n) for layer, n in layers.most_common()},
        "top_self": [(frame, pct(n)) for frame, n in leaves.most_common(TOP)],
        "top_messenger_inclusive": [(frame, pct(n)) for frame, n in inclusive.most_common(TOP)],
    }


def _layer(frames: list[str]) -> str:
    for frame in reversed(frames):
        for layer, markers in LAYERS:
            if any(marker in frame for marker in markers):
                return layer
    return "other (interpreter, stdlib)"


def describe(summary: dict) -> str:
    """The summary as text, for the console and the README."""
    lines = [f"py-spy, {summary['samples']:,} samples of the worker while sending over WebSocket (NORMAL):"]
    lines.append("  where the samples were (the innermost recognised layer of each stack):")
    lines += [f"    {share:5.1f} %  {layer}" for layer, share in summary["layers"].items()]
    lines.append("  functions on the CPU most often (self):")
    lines += [f"    {share:5.1f} %  {frame}" for frame, share in summary["top_self"]]
    lines.append("  messenger functions on the stack most often (inclusive):")
    lines += [f"    {share:5.1f} %  {frame}" for frame, share in summary["top_messenger_inclusive"]]
    return "\n".join(lines)
