"""A throwaway redis-server on a free loopback port, started and stopped by the test itself.

With ``tls_dir``, it serves TLS only (rediss://) with a self-signed certificate the fixture
makes there with `openssl`, as a platform's Redis does.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from .live import free_port


@dataclass
class RedisServer:
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    tls_dir: Path | None = None  # serve rediss:// with a self-signed certificate made here

    @property
    def url(self) -> str:
        scheme = "rediss" if self.tls_dir else "redis"
        return f"{scheme}://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A client for the test itself (it trusts the self-signed certificate)."""
        tls = {"ssl": True, "ssl_cert_reqs": "none"} if self.tls_dir else {}
        return redis.Redis(port=self.port, socket_connect_timeout=0.2, **tls)

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is missing: `make test` installs it with apt"
        command = [binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if self.tls_dir:
            cert, key = self._self_signed_certificate()
            command += ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
            command += ["--tls-cert-file", str(cert), "--tls-key-file", str(key)]
            command += ["--tls-ca-cert-file", str(cert)]  # redis-server wants one, unused here
        else:
            command += ["--port", str(self.port)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = self.client()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start" + (" (built without TLS?)" if self.tls_dir else ""))

    def _self_signed_certificate(self) -> tuple[Path, Path]:
        cert, key = self.tls_dir / "redis.crt", self.tls_dir / "redis.key"
        if not cert.exists():
            openssl = shutil.which("openssl")
            assert openssl, "openssl is missing: `make test` installs it with apt"
            subprocess.run(
                [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
                + ["-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                check=True,
                capture_output=True,
            )
        return cert, key

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
