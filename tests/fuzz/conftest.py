"""Shared knobs for the fuzz suites: how many cases to run, how random, and a count of what ran.

``make test`` runs a bounded, deterministic set; ``make soak`` raises the budgets with
``FUZZ_EXAMPLES`` (HTTP cases, all operations together) and ``FUZZ_WS_EXAMPLES`` (WebSocket
frames), and may set ``FUZZ_SEED`` to explore new inputs (the seed is printed, so a failure can be
replayed with the same value).
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, settings

HTTP_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "600"))
WS_EXAMPLES = int(os.environ.get("FUZZ_WS_EXAMPLES", "100"))
SEED = os.environ.get("FUZZ_SEED") or None

# What ran, by suite: printed at the end of the session so a green run says how much it proved.
CASES_RUN: Counter[str] = Counter()
# Observations worth reading even when everything passed (e.g. statuses covered only by 'default').
NOTES: dict[str, dict[str, set]] = {}


def hypothesis_settings(max_examples: int) -> settings:
    """Deterministic unless FUZZ_SEED is set; no deadline (a live server's latency varies);
    no example database (nothing written to the work tree, nothing replayed from old runs)."""
    return settings(
        max_examples=max_examples,
        derandomize=SEED is None,
        deadline=None,
        database=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


def pytest_terminal_summary(terminalreporter):
    if CASES_RUN:
        mode = f"seed {SEED}" if SEED else "derandomized"
        counts = ", ".join(f"{name}: {count}" for name, count in sorted(CASES_RUN.items()))
        terminalreporter.write_line(f"fuzz cases run ({mode}): {counts}")
    for topic, by_operation in sorted((topic, dict(sorted(ops.items()))) for topic, ops in NOTES.items()):
        listed = "; ".join(f"{op} {' '.join(map(str, sorted(seen)))}" for op, seen in by_operation.items())
        terminalreporter.write_line(f"fuzz note: {topic}: {listed}")
