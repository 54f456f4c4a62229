"""Run ``pos serve`` as a child process on a free loopback port (demo, tests, benchmarks)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    def __init__(self, db_path: str | Path, port: int = 0, *, synchronous: str = "full", log: Path | None = None,
                 extra: list[str] | None = None) -> None:
        self.db_path = str(db_path)  # a file, or a postgresql:// URL
        self.port = port or free_port()
        self.synchronous = synchronous
        self.log = log
        self.extra = extra or []
        self.proc: subprocess.Popen[bytes] | None = None
        self._logfile: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> ServiceProcess:
        out = self._logfile = open(self.log, "ab") if self.log else None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pos", "serve", "--port", str(self.port), "--db", str(self.db_path),
             "--synchronous", self.synchronous, *self.extra],
            stdout=out or subprocess.DEVNULL, stderr=out or subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pos serve exited with {self.proc.returncode} (log: {self.log})")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"pos serve did not come up on port {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

        self._close_log()

    def kill(self) -> None:
        """SIGKILL: the service gets no chance to tidy up."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self._close_log()

    def _close_log(self) -> None:
        if self._logfile:
            self._logfile.close()
            self._logfile = None

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
