"""What every scenario shares: the options, a scratch directory, and figures other scenarios need.

Scenarios compare against each other (messenger ÷ baseline, 1,000,000 stored ÷ empty), so a
figure measured once is kept here and reused instead of measured twice; the million-message
file is seeded once per run and copied for each server that needs it.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .seed import DeepThread, add_deep_thread, copy_database
from .server import BUSY_OTHER_PCT, METRICS_TOKEN, ROOT, GunicornServer, wait_until_quiet

RESULTS_DIR = ROOT / "bench" / "results"
# The load comes from 50 pairs, so each user sends far more than the per-user limits allow a
# person (20/s); the limits are raised out of the way, not disabled, so the limiter's own cost
# stays on the send path that is measured.
# The scenarios make groups of generated users who share no 1:1 thread: anyone may add anyone.
ANYONE_MAY_ADD = {"GROUP_ADD_POLICY": "anyone"}
UNTHROTTLED = {
    **{
        f"RATE_LIMIT_{scope}": "1000000 per second"
        for scope in ("SEND", "UPDATES", "CREATE_THREAD", "READ", "MARK_READ", "UPLOAD", "DOWNLOAD")
    },
    # One generator on one address stands in for thousands of clients, a sender's socket for
    # many people's, so the per-address and per-socket shares are lifted too.
    "MAX_CONNECTIONS_PER_ADDRESS": "0",
    "WS_FRAMES_PER_S": "1000000",
    "WS_FRAME_BURST": "1000000",
    "MAX_REQUESTS_IN_FLIGHT_PER_USER": "1000000",
    "METRICS_TOKEN": METRICS_TOKEN,
}
SYNC_MODES = ("NORMAL", "FULL")


@dataclass(frozen=True)
class Options:
    """Sizes and durations; ``quick()`` shrinks them for iteration, never the scenario's shape."""

    pairs: int = 50
    duration_s: float = 10.0
    warmup_s: float = 2.0
    drain_s: float = 10.0
    rate: float = 500.0
    connections: int = 5000
    probe_messages: int = 30
    fanout_members: int = 100
    fanout_messages: int = 50
    depth: int = 1_000_000
    history_requests: int = 30
    max_messages: int = 500_000  # a hard cap on messages sent per run, whatever the duration
    sync_modes: tuple[str, ...] = SYNC_MODES
    profile: bool = True

    @classmethod
    def quick(cls, **overrides: object) -> Options:
        base = cls(
            duration_s=3.0,
            warmup_s=1.0,
            drain_s=5.0,
            connections=500,
            probe_messages=10,
            fanout_messages=10,
            depth=100_000,
            history_requests=10,
            profile=False,
        )
        return base.with_overrides(**overrides)

    def with_overrides(self, **overrides: object) -> Options:
        values = {**self.__dict__, **{k: v for k, v in overrides.items() if v is not None}}
        return Options(**values)  # type: ignore[arg-type]


@dataclass
class Context:
    """State of one ``python -m bench`` run."""

    options: Options
    workdir: Path
    # Before each server start, wait for an idle machine: at most this long in all, per run.
    quiet_wait_s: float = 180.0
    results_dir: Path = RESULTS_DIR
    measured: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)
    _deep: tuple[Path, DeepThread] | None = None
    _runs: int = 0

    def fresh_db(self, name: str) -> Path:
        """An empty database path of its own (the server creates the schema at start)."""
        self._runs += 1
        path = self.workdir / f"{self._runs:02d}-{name}.db"
        return path

    def deep_db(self, name: str) -> tuple[Path, DeepThread]:
        """A private copy of the file holding the deep thread, seeded on first use."""
        if self._deep is None:
            template = self.workdir / "deep-template.db"
            self._deep = (template, add_deep_thread(template, self.options.depth))
        template, thread = self._deep
        path = self.fresh_db(name)
        copy_database(template, path)
        return path, thread

    def server(
        self, name: str, db: Path, synchronous: str = "NORMAL", app: str = "wsgi:app"
    ) -> GunicornServer:
        """A server to start with ``with``; first waits (bounded) for other processes to go quiet."""
        if self.quiet_wait_s > 0:
            started = time.monotonic()
            other = wait_until_quiet(self.quiet_wait_s)
            self.quiet_wait_s = max(0.0, self.quiet_wait_s - (time.monotonic() - started))
            if other > BUSY_OTHER_PCT:
                self.notes.append(f"{name}: started while other processes used {other:.0f} % of a core")
        env = {"MESSENGER_DB": str(db), "SQLITE_SYNCHRONOUS": synchronous, **UNTHROTTLED, **ANYONE_MAY_ADD}
        return GunicornServer(app=app, env=env, log_path=self.results_dir / "logs" / f"{name}.log")

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
