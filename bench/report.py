"""The results table and the same figures as JSON (``bench/results/latest.json``).

A missed target is reported as MISS next to its figure and never fails the run: the benchmark
measures, it does not gate, so a slow machine still produces a complete table to compare.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Target:
    """A bound a figure is reported against, e.g. ``>= 2000`` messages/s."""

    op: str  # ">=" or "<="
    bound: float

    def met(self, value: float | None) -> bool:
        if value is None or math.isnan(value):
            return False
        return value >= self.bound if self.op == ">=" else value <= self.bound

    def text(self, unit: str) -> str:
        sign = "≥" if self.op == ">=" else "≤"
        return f"{sign} {_number(self.bound)}{(' ' + unit) if unit else ''}"


@dataclass
class Row:
    """One figure of the table; ``detail`` carries the numbers behind it into the JSON."""

    scenario: str
    variant: str
    metric: str
    value: float | None
    unit: str = ""
    target: Target | None = None
    shown: str | None = None  # how to print it when one number is not enough (percentiles)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.target is None:
            return ""
        return "PASS" if self.target.met(self.value) else "MISS"

    def value_text(self) -> str:
        if self.shown is not None:
            return self.shown
        if self.value is None:
            return "n/a"
        return f"{_number(self.value)}{(' ' + self.unit) if self.unit else ''}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = None if self.target is None else {"op": self.target.op, "bound": self.target.bound}
        data["status"] = self.status or None
        data["value"] = None if self.value is None or math.isnan(self.value) else self.value
        return data


def latency_row(
    scenario: str, variant: str, metric: str, pct: dict[str, float], target_p99_ms: float | None = None
) -> Row:
    """One row for a latency distribution: p50 / p95 / p99 / max, judged on p99."""
    shown = " / ".join(_number(pct[key]) for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms")) + " ms"
    return Row(
        scenario,
        variant,
        f"{metric} p50/p95/p99/max",
        pct["p99_ms"],
        "ms",
        Target("<=", target_p99_ms) if target_p99_ms is not None else None,
        shown=shown if pct["count"] else "n/a",
        detail=pct,
    )


def cpu_rows(scenario: str, variant: str, cpu: dict[str, float], rate: float, per: str) -> list[Row]:
    """Where the cores went, and the worker's CPU time per message.

    A server near 100 % is the bottleneck; "other" above ~25 % means another process (a
    concurrent test run) competed with the measurement, and "server waited" is how much of the
    window the worker was ready to run but had no core: what that competition cost it. CPU per
    message holds up better than a rate on a shared machine: it is work done, not wall time,
    and 1000 ÷ it is what one dedicated core would sustain.
    """
    shown = f"{cpu['server']:.0f} / {cpu['generator']:.0f} / {cpu['other']:.0f} %"
    if "server_waited" in cpu:
        shown += f"; server waited for a core {cpu['server_waited']:.0f} %"
    rows = [
        Row(scenario, variant, "CPU server / generator / other", cpu["server"], "%", shown=shown, detail=cpu)
    ]
    if rate > 0:
        ms = cpu["server"] * 10 / rate  # % of a core ÷ per-second rate = ms of CPU each
        rows.append(
            Row(
                scenario,
                variant,
                f"server CPU per {per}",
                ms,
                "ms",
                shown=f"{ms:.2f} ms (one core: {1000 / ms:,.0f}/s)",
            )
        )
    return rows


def _number(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: list[Row]) -> str:
    """A Markdown table, readable in a terminal and pasteable into the README as it is."""
    header = ("Scenario", "Variant", "Metric", "Value", "Target", "")
    lines = [header] + [
        (r.scenario, r.variant, r.metric, r.value_text(), r.target.text(r.unit) if r.target else "", r.status)
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def fmt(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    out = [fmt(lines[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [fmt(line) for line in lines[1:]]
    return "\n".join(out)


def machine() -> dict[str, Any]:
    """What the figures depend on: cores, memory, CPU model, Python, pinning."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory = subprocess.run(["free", "-h"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        memory = ""
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "free_h": memory,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
    }


def source_state(root: Path) -> dict[str, Any]:
    """The commit measured, and whether the work tree had uncommitted changes at the time."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    changed = [line[3:] for line in status.stdout.splitlines() if not line[3:].startswith("bench/")]
    return {"commit": commit.stdout.strip(), "uncommitted_changes_outside_bench": changed}


def write_json(
    path: Path, rows: list[Row], notes: list[str], meta: dict[str, Any], extra: dict[str, Any]
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **meta,
        "rows": [row.to_json() for row in rows],
        "notes": notes,
        **extra,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
