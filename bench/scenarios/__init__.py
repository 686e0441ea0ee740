"""The scenarios, in the order ``make bench`` runs them; each returns the rows it measured."""

from __future__ import annotations

from collections.abc import Callable

from ..context import Context
from ..report import Row
from .attachments import attachments
from .baseline import baseline
from .connections import connections
from .fanout import fanout
from .history import history
from .profile import profile
from .send import growth, paced_latency, throughput

Scenario = Callable[[Context], list[Row]]

# Baseline reuses scenario 1's WebSocket figure and growth its empty-store ones, so both come after.
SCENARIOS: dict[str, Scenario] = {
    "send": throughput,
    "paced": paced_latency,
    "baseline": baseline,
    "connections": connections,
    "fanout": fanout,
    "history": history,
    "growth": growth,
    "profile": profile,
    "attachments": attachments,
}
