"""``python -m bench [--quick] [--only send,history]``: run the scenarios, print a table, write JSON.

This process is the load generator: it pins itself to CPU 1 (what ``taskset -c 1`` does) and
starts every server with ``taskset -c 0``, so the two never share a core. Everything it starts
is stopped by PID on the way out, after an error or Ctrl-C too, and a missed target never fails
the run: the exit status is non-zero only when a scenario could not run at all.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from .context import RESULTS_DIR, SYNC_MODES, Context, Options
from .report import Row, machine, source_state, table, write_json
from .scenarios import SCENARIOS
from .scenarios.profile import describe
from .server import ROOT, pin_generator, raise_priority

MONGO_NOTE = (
    "MongoDB: not benchmarked. The only MongoDB here is mongomock, an in-process Python fake whose "
    "timings would mean nothing about a real server."
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and 3 s windows, for iteration")
    parser.add_argument("--only", default="", help=f"comma-separated scenarios from: {', '.join(SCENARIOS)}")
    parser.add_argument("--pairs", type=int, help="sender/receiver pairs (default 50)")
    parser.add_argument("--duration", type=float, dest="duration_s", help="measured seconds per send run")
    parser.add_argument("--warmup", type=float, dest="warmup_s", help="unmeasured seconds before each window")
    parser.add_argument("--rate", type=float, help="offered messages/s in the paced scenario (default 500)")
    parser.add_argument("--connections", type=int, help="idle connections of each kind (default 5000)")
    parser.add_argument("--depth", type=int, help="messages in the deep thread (default 1,000,000)")
    parser.add_argument("--fanout-members", type=int, dest="fanout_members", help="group size (≤ 100)")
    parser.add_argument("--sync", default=None, help="SQLITE_SYNCHRONOUS modes, e.g. NORMAL,FULL")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile of the send path")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=180.0,
        help="seconds, in all, to wait for other processes to go quiet before servers start (0: never)",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=-10,
        help="priority of the generator and servers (needs root; 0: unchanged)",
    )
    parser.add_argument("--label", default="", help="what was measured, kept in the JSON (e.g. a commit)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "latest.json", help="where the JSON goes")
    return parser.parse_args(argv)


def build_options(args: argparse.Namespace) -> Options:
    overrides: dict[str, object] = {
        name: getattr(args, name)
        for name in ("pairs", "duration_s", "warmup_s", "rate", "connections", "depth", "fanout_members")
    }
    if args.sync:
        modes = tuple(mode.strip().upper() for mode in args.sync.split(",") if mode.strip())
        unknown = set(modes) - set(SYNC_MODES)
        if unknown:
            raise SystemExit(f"unknown SQLITE_SYNCHRONOUS modes: {sorted(unknown)}")
        overrides["sync_modes"] = modes
    if args.no_profile:
        overrides["profile"] = False
    return Options.quick(**overrides) if args.quick else Options().with_overrides(**overrides)


def selected(args: argparse.Namespace, options: Options) -> list[str]:
    names = [name.strip() for name in args.only.split(",") if name.strip()] or list(SCENARIOS)
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenarios {unknown}; choose from {list(SCENARIOS)}")
    if not args.only and not options.profile:
        names.remove("profile")
    return names


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM (e.g. from `timeout`) cleans up like Ctrl-C


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    args = parse_args(argv)
    options = build_options(args)
    names = selected(args, options)
    pinned = pin_generator()
    niceness = raise_priority(args.nice)
    workdir = Path(tempfile.mkdtemp(prefix="messenger-bench-"))
    ctx = Context(options, workdir, quiet_wait_s=args.wait_quiet)
    (ctx.results_dir / "logs").mkdir(parents=True, exist_ok=True)
    placement = (
        "server on CPU 0, generator on CPU 1 (taskset)" if pinned else "server and generator share one CPU"
    )
    ctx.notes.append(f"{placement}; both at nice {niceness}")
    rows: list[Row] = []
    failed: list[str] = []
    started = time.monotonic()
    try:
        for name in names:
            print(f"\n== {name} ==", flush=True)
            scenario_started = time.monotonic()
            try:
                new_rows = SCENARIOS[name](ctx)
            except Exception:
                traceback.print_exc()
                failed.append(name)
                ctx.notes.append(f"{name}: failed with {traceback.format_exc(limit=1).splitlines()[-1]}")
                continue
            rows += new_rows
            print(table(new_rows), flush=True)
            print(f"({time.monotonic() - scenario_started:.0f} s)", flush=True)
    except KeyboardInterrupt:
        ctx.notes.append("interrupted: the table holds what finished")
        failed.append("interrupted")
    finally:
        ctx.cleanup()
        ctx.notes.append(MONGO_NOTE)
        elapsed = time.monotonic() - started
        command = shlex.join(["python", "-m", "bench", *argv])
        meta = {
            "command": command,
            "label": args.label,
            "elapsed_s": round(elapsed),
            "machine": machine(),
            "source": source_state(ROOT),
            "pinned": pinned,
            "nice": niceness,
            "options": asdict(options),
            "scenarios": names,
            "failed": failed,
        }
        write_json(args.out, rows, ctx.notes, meta, {"extra": ctx.extra})
        print("\n" + table(rows))
        if "profile" in ctx.extra:
            print("\n" + describe(ctx.extra["profile"]))  # type: ignore[arg-type]
        print("\nNotes:\n" + "\n".join(f"- {note}" for note in ctx.notes))
        print(f"\n{len(rows)} figures in {elapsed:.0f} s; JSON: {os.path.relpath(args.out)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
