"""Start and stop a real gunicorn process for a benchmark run, and read its worker's resources.

The server is launched exactly as production launches it (``gunicorn -c gunicorn.conf.py``, one
gevent worker) so the numbers include the real worker class, access log and connection limits,
not a test client's shortcuts. It runs in its own process group on CPU 0 when the machine has a
second CPU for the load generator, so the two never compete for a core.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
SERVER_CPU = 0
GENERATOR_CPU = 1
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 15
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
METRICS_TOKEN = "bench-only-metrics-token"  # /metrics needs one; the generator reads gauges


def free_port() -> int:
    """A port nobody listens on right now, on loopback only."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The CPUs this process may use before it pins itself: pinning must not change the answer.
_ALLOWED_CPUS = frozenset(os.sched_getaffinity(0))


def can_pin() -> bool:
    """Pinning only helps when there is a second CPU for the generator."""
    return {SERVER_CPU, GENERATOR_CPU} <= _ALLOWED_CPUS and shutil.which("taskset") is not None


def pin_generator() -> bool:
    """Pin this process (the load generator) to CPU 1, as ``taskset -c 1`` would."""
    if not can_pin():
        return False
    os.sched_setaffinity(0, {GENERATOR_CPU})
    return True


def raise_priority(niceness: int) -> int:
    """Run the generator, and so every server it starts, at ``niceness`` (negative: favoured).

    On a machine shared with test runs the scheduler then gives the measured processes most of
    their cores; it needs root, and without it the run goes on at the usual priority.
    """
    if niceness >= os.getpriority(os.PRIO_PROCESS, 0):
        return os.getpriority(os.PRIO_PROCESS, 0)
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    return os.getpriority(os.PRIO_PROCESS, 0)


def worker_connections() -> int:
    """gunicorn.conf.py's cap on one worker's concurrent connections (its gevent pool size)."""
    return int(runpy.run_path(str(ROOT / "gunicorn.conf.py")).get("worker_connections", 1000))


@dataclass
class CpuSample:
    """Process CPU seconds (user + system) at a wall-clock instant."""

    cpu_s: float
    wall_s: float

    def percent_since(self, earlier: CpuSample) -> float:
        wall = self.wall_s - earlier.wall_s
        return 100.0 * (self.cpu_s - earlier.cpu_s) / wall if wall > 0 else 0.0


@dataclass
class GunicornServer:
    """One gunicorn master with one gevent worker, serving ``app`` on a free loopback port.

    Use it as a context manager: the process group is stopped by PID on exit, also after an
    exception or Ctrl-C, so a failed run never leaves a server holding a port or the CPU.
    """

    app: str  # "wsgi:app" or "bench.hello_app:app"
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> GunicornServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        env = {**os.environ, **self.env, "HOST": "127.0.0.1", "PORT": str(self.port), "WEB_CONCURRENCY": "1"}
        env.pop("MONGODB_URI", None)  # the embedded SQLite store: a remote database is out of scope
        env.pop("REDIS_URL", None)  # one worker wakes its own waiters; Redis would add a hop
        command = [str(GUNICORN), "-c", "gunicorn.conf.py", "--no-control-socket", self.app]
        if can_pin():
            command = ["taskset", "-c", str(SERVER_CPU), *command]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stopping it stops the worker too
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as reply:
                    if reply.status == 200 and self.worker_pid() is not None:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not become ready in {START_TIMEOUT_S} s; see {self.log_path}")

    def stop(self) -> None:
        """SIGTERM the master (it stops its worker), then SIGKILL the group if it lingers."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def worker_pid(self) -> int | None:
        """The worker is the master's only child (``taskset`` execs gunicorn, keeping the PID)."""
        if self.process is None:
            return None
        children = _children(self.process.pid)
        return children[0] if children else None

    def require_worker(self) -> int:
        pid = self.worker_pid()
        if pid is None:
            raise RuntimeError("gunicorn has no worker")
        return pid

    def worker_rss_kib(self) -> int:
        """VmRSS of the worker, where every connection's memory lives."""
        with open(f"/proc/{self.require_worker()}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")

    def worker_run_delay_s(self) -> float:
        """Seconds the worker was ready to run but waited for a core (/proc/<pid>/schedstat).

        On a shared machine this is what other processes cost the server directly; the rest of
        its non-CPU time is the worker blocked (disk syncs) or idle.
        """
        with open(f"/proc/{self.require_worker()}/schedstat") as schedstat:
            return int(schedstat.read().split()[1]) / 1e9

    def worker_fds(self) -> int:
        """Open descriptors of the worker: each held connection is one socket."""
        return len(os.listdir(f"/proc/{self.require_worker()}/fd"))

    def worker_cpu(self) -> CpuSample:
        """The worker's CPU time so far: above ~95 % of one core the server is the bottleneck."""
        with open(f"/proc/{self.require_worker()}/stat") as stat:
            fields_after_name = stat.read().rsplit(")", 1)[1].split()
        utime, stime = int(fields_after_name[11]), int(fields_after_name[12])
        return CpuSample((utime + stime) / CLOCK_TICKS, time.monotonic())


def own_cpu() -> CpuSample:
    """This process's CPU time, to show whether the generator itself ran out of CPU."""
    times = os.times()
    return CpuSample(times.user + times.system, time.monotonic())


def machine_cpu() -> CpuSample:
    """CPU time used by every process on the machine (all cores, in core-seconds).

    Minus the worker and the generator, it is what *other* processes used during a window: on a
    shared machine a concurrent test run steals cores, and the report flags such windows.
    """
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    busy = user + nice + system + irq + softirq + steal
    return CpuSample(busy / CLOCK_TICKS, time.monotonic())


@dataclass
class CpuWindow:
    """CPU use over a window: the worker, this generator, and everything else on the machine."""

    server: GunicornServer
    _start: tuple[CpuSample, CpuSample, CpuSample, float] | None = None

    def start(self) -> None:
        self._start = (self.server.worker_cpu(), own_cpu(), machine_cpu(), self.server.worker_run_delay_s())

    def stop(self) -> dict[str, float]:
        """Percent of one core each: ``server``, ``generator`` and ``other`` processes, and
        ``server_waited``: the share of the window the worker was runnable but had no core."""
        assert self._start is not None, "CpuWindow.stop() before start()"
        server_before, own_before, machine_before, delay_before = self._start
        server_now = self.server.worker_cpu()
        server = server_now.percent_since(server_before)
        generator = own_cpu().percent_since(own_before)
        total = machine_cpu().percent_since(machine_before)
        wall = server_now.wall_s - server_before.wall_s
        waited = 100.0 * (self.server.worker_run_delay_s() - delay_before) / wall if wall > 0 else 0.0
        return {
            "server": server,
            "generator": generator,
            "other": max(0.0, total - server - generator),
            "server_waited": waited,
        }


# Other processes using more than this share of one core make a window "busy": on a shared
# machine (a concurrent test run) the figures would describe the contention, not the service.
BUSY_OTHER_PCT = 25.0
QUIET_SAMPLE_S = 2.0


def other_cpu_pct(sample_s: float = QUIET_SAMPLE_S) -> float:
    """CPU other processes use right now, in percent of one core (this one's own use excluded)."""
    machine_before, own_before = machine_cpu(), own_cpu()
    time.sleep(sample_s)
    return max(0.0, machine_cpu().percent_since(machine_before) - own_cpu().percent_since(own_before))


def wait_until_quiet(limit_s: float) -> float:
    """Wait at most ``limit_s`` until other processes leave the cores alone; return their last use."""
    deadline = time.monotonic() + limit_s
    while True:
        other = other_cpu_pct()
        if other <= BUSY_OTHER_PCT or time.monotonic() >= deadline:
            return other
        print(f"  waiting for a quiet machine: other processes use {other:.0f} % of a core", flush=True)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except FileNotFoundError:  # kernels without CONFIG_PROC_CHILDREN: scan parent PIDs
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
        return sorted(found)
