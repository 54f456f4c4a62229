"""One writer thread with group commit.

Every mutation of the service database runs here, one after another, so the domain check and the
write it leads to see the same state (no two requests can both redeem one voucher). Requests that
arrive while a commit is being flushed are gathered into the next transaction, each inside its own
savepoint: a failing request rolls back alone, and one fsync makes a whole batch durable.

Several service processes may share one database (``pos serve --workers N``). Their writers take
turns through an ``flock`` on a file beside the database rather than through SQLite's busy handler,
which sleeps in coarse steps (up to 100 ms) and would stall whole batches.
"""

from __future__ import annotations

import fcntl
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from pos.service.schema import open_db

T = TypeVar("T")
Operation = Callable[[sqlite_utils.Database], Any]
_STOP = object()


class Writer:
    def __init__(self, path: str | Path, *, synchronous: str = "FULL", max_batch: int = 256, group_commit: bool = True) -> None:
        self.path = path
        self.synchronous = synchronous
        self.max_batch = max_batch if group_commit else 1
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="pos-writer", daemon=True)
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._lock_fd = -1
        self.batches = 0
        self.operations = 0
        self.busy_seconds = 0.0  # time spent in transactions, waiting for the lock included

    def start(self) -> None:
        self._thread.start()
        self._started.wait()
        if self._error:
            raise self._error

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def submit(self, op: Callable[[sqlite_utils.Database], T]) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put((op, future))
        return future

    def call(self, op: Callable[[sqlite_utils.Database], T]) -> T:
        return self.submit(op).result()

    def _run(self) -> None:
        try:
            db = open_db(self.path, synchronous=self.synchronous)
            self._lock_fd = os.open(f"{self.path}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._started.set()
            return
        self._started.set()
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                batch = [item]
                while len(batch) < self.max_batch:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        self._queue.put(_STOP)
                        break
                    batch.append(nxt)
                self._commit(db, batch)
        finally:
            db.close()
            os.close(self._lock_fd)

    def _commit(self, db: sqlite_utils.Database, batch: list[tuple[Operation, Future[Any]]]) -> None:
        outcomes: list[tuple[Future[Any], Any, BaseException | None]] = []
        started = time.perf_counter()
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)  # our turn among the service's processes
        try:
            db.execute("BEGIN IMMEDIATE")
            for op, future in batch:
                if not future.set_running_or_notify_cancel():
                    continue
                db.execute("SAVEPOINT op")  # this request alone rolls back on error
                try:
                    result = op(db)
                except Exception as exc:
                    db.execute("ROLLBACK TO op")
                    outcomes.append((future, None, exc))
                else:
                    outcomes.append((future, result, None))
                db.execute("RELEASE op")
            db.execute("COMMIT")
        except BaseException as exc:
            if db.conn.in_transaction:
                db.execute("ROLLBACK")
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        self.batches += 1
        self.operations += len(outcomes)
        self.busy_seconds += time.perf_counter() - started
        for future, result, error in outcomes:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
