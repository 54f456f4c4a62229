"""Run the service on a free loopback port: ``pos serve`` as a child process (demo, benchmarks, and tests of
what needs a process: signals, a kill, several workers, the command's own flags), or the same application
served by uvicorn from a thread of this process (the tests' default: the same HTTP on the same database,
without a process's start-up)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from pos.terminal.endpoint import tls_context


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
        with httpx.Client(timeout=0.5, verify=tls_context()) as client:  # not one per poll: each would load the CA bundle
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"pos serve exited with {self.proc.returncode} (log: {self.log})")
                try:
                    if client.get(self.url + "/healthz").status_code == 200:
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


class ServiceThread:
    """The service's application served over loopback HTTP by uvicorn in a thread of this process.

    It answers exactly what ``pos serve`` answers (the same :func:`~pos.service.api.create_app`, the same
    database, the same writer and background threads, started and stopped by the application's lifespan);
    what it cannot do is die like a process, so tests of a kill or a signal use :class:`ServiceProcess`.
    ``stop`` then ``start`` is a restart: a new application over the same database, on the same port."""

    def __init__(self, db_path: str | Path, port: int = 0, *, synchronous: str = "full", **options: Any) -> None:
        self.db_path = str(db_path)
        self.port = port or free_port()
        self.synchronous = synchronous
        self.options = options  # create_app's keyword arguments (single_manager, clock_skew, smtp, …)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> ServiceThread:
        import uvicorn

        from pos.service.api import create_app

        app = create_app(self.db_path, synchronous=self.synchronous.upper(), **self.options)
        server = self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                              log_level="warning", access_log=False))
        thread = self._thread = threading.Thread(target=server.run, name=f"pos-serve-{self.port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:  # set once the socket listens and the lifespan's start-up has run
            if not thread.is_alive():
                raise RuntimeError(f"the service did not start on port {self.port} (see the log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the service did not come up on port {self.port}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(30)
            if self._thread.is_alive():
                raise RuntimeError(f"the service on port {self.port} did not stop within 30 s")
        self._server = self._thread = None

    def __enter__(self) -> ServiceThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
