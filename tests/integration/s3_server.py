"""A throwaway S3-compatible server (moto's) on a free loopback port, started and stopped by
the test itself: the S3 blob store is tested against it, never against a network endpoint.

It runs in a child process, not in a thread of the test's: moto keeps objects in memory and
joins a multipart upload's parts whole, which would count against a test measuring what the
client holds (``tracemalloc``). The child binds port 0 and prints the port the system gave it,
so no other process can take the port between a choice and the bind.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import dataclass

import boto3

SERVE = """
import sys
from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # serve until the test closes our standard input
server.stop()
"""
STOP_TIMEOUT_S = 10


@dataclass
class S3Server:
    process: subprocess.Popen | None = None
    port: int = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"moto's server did not start (it printed {line!r})")
        self.port = int(line)
        return self

    def client(self):
        """A boto3 S3 client for this server, with moto's dummy credentials."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def new_bucket(self, client) -> str:
        bucket = f"blobs-{uuid.uuid4().hex[:12]}"
        client.create_bucket(Bucket=bucket)
        return bucket

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.stdin.close()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process = None
