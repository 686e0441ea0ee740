"""Run the real service under gunicorn for end-to-end tests, on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
START_TIMEOUT_S = 30
# These tests sign up and send far faster than a person; tests of the limits set their own.
# These servers test other things than group consent, with groups of people who share no 1:1
# thread; a test of the real default (contacts) says GROUP_ADD_POLICY itself.
ANYONE_MAY_ADD = {"GROUP_ADD_POLICY": "anyone"}
GENEROUS_RATE_LIMITS = {
    "RATE_LIMIT_SIGNUP": "10000 per minute",
    "RATE_LIMIT_SIGNIN": "10000 per minute",
    "RATE_LIMIT_SIGNIN_FAILURES": "10000 per minute",
    "RATE_LIMIT_SEND": "10000 per second",
    "RATE_LIMIT_CREATE_THREAD": "10000 per second",
    "RATE_LIMIT_MEMBERS": "10000 per second",
    "RATE_LIMIT_MARK_READ": "10000 per second",
    "RATE_LIMIT_READ": "10000 per second",
    "RATE_LIMIT_UPDATES": "100000 per minute",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    """One gunicorn process serving the app with the project's own gunicorn.conf.py."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    ready_path: str = "/readyz"  # /healthz for a server started without its store (503 /readyz)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            **GENEROUS_RATE_LIMITS,
            **ANYONE_MAY_ADD,
        }
        env.pop("MONGODB_URI", None)  # the embedded store unless the test says otherwise
        env.update(self.env)
        log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - closed below
        try:
            self.process = subprocess.Popen(
                [str(GUNICORN), "-c", "gunicorn.conf.py", "--no-control-socket", "wsgi:app"],
                cwd=ROOT,
                env=env,
                stdout=log or subprocess.DEVNULL,
                stderr=log or subprocess.DEVNULL,
                start_new_session=True,  # its own process group, so a crash kills every worker too
            )
        finally:
            if log is not None:
                log.close()  # the child keeps its own copy
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                if requests.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or a worker still booting
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not become ready in {START_TIMEOUT_S} s")

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's children."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def worker_rss_mib(self) -> float:
        """The resident memory of the (only) worker, from /proc."""
        (pid,) = self.worker_pids()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for worker {pid}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGKILL for a crash) and wait for every worker to go."""
        if self.process is None or self.process.poll() is not None:
            return
        if sig == signal.SIGKILL:
            os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
