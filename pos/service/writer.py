"""The writer: every change to the service database runs here, with group commit.

Requests that arrive while a commit is being flushed are gathered into the next transaction, each
inside its own savepoint: a failing request rolls back alone, and one flush makes a whole batch
durable.

On SQLite one writer thread runs per process, so the domain check and the write it leads to see the
same state. Several processes may share one file (``pos serve --workers N``); their writers take turns
through an ``flock`` on a file beside the database rather than through SQLite's busy handler, which
sleeps in coarse steps (up to 100 ms) and would stall whole batches.

On PostgreSQL several writer threads run in every process and many processes share the database:
the ledger locks what a decision depends on (see :func:`pos.service.ledger.serialise`), and a request
that loses a race anyway (a unique violation, a deadlock) is rolled back to its savepoint and run
again in a later batch, where it sees what the winner wrote.
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

from pos.service.engine import Db, is_postgres, retriable
from pos.service.schema import open_db

T = TypeVar("T")
Operation = Callable[[Db], Any]
_STOP = object()
PG_BATCH = 16
TRIES = 8  # a request that loses this many races in a row fails with the last error


class Writer:
    def __init__(self, target: str | Path, *, synchronous: str = "FULL", max_batch: int = 256, group_commit: bool = True,
                 threads: int | None = None, on_lost: Callable[[], None] | None = None) -> None:
        self.target = target
        self.synchronous = synchronous
        self.postgres = is_postgres(target)
        # On PostgreSQL small batches: the writer threads share the queue instead of one taking it all, so
        # their round trips to the database overlap (the database groups their commits itself).
        self.max_batch = (min(max_batch, PG_BATCH) if self.postgres else max_batch) if group_commit else 1
        self.threads = threads or (8 if self.postgres else 1)
        self.on_lost = on_lost
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._workers = [threading.Thread(target=self._run, name=f"pos-writer-{i}", daemon=True)
                         for i in range(self.threads)]
        self._started = threading.Semaphore(0)
        self._error: BaseException | None = None
        self._retriable = retriable() if self.postgres else ()
        self._stats_lock = threading.Lock()
        self.batches = 0
        self.operations = 0
        self.retries = 0
        self.busy_seconds = 0.0  # time spent in transactions, waiting for the lock included

    def start(self) -> None:
        for w in self._workers:
            w.start()
        for _ in self._workers:
            self._started.acquire()
        if self._error:
            self.stop()
            raise self._error

    @property
    def running(self) -> bool:
        return all(w.is_alive() for w in self._workers)

    def stop(self) -> None:
        """Finish what is queued, then end every writer thread."""
        alive = [w for w in self._workers if w.is_alive()]
        for _ in alive:
            self._queue.put(_STOP)
        for w in alive:
            w.join()

    def submit(self, op: Callable[[Db], T], *, solo: bool = False) -> Future[T]:
        """Queue a change. ``solo``: a large one (an upload) that takes many locks; on PostgreSQL it runs in a
        transaction of its own, so that it never holds another request's locks while waiting for more."""
        future: Future[T] = Future()
        self._queue.put((op, future, 0, solo))
        return future

    def call(self, op: Callable[[Db], T]) -> T:
        return self.submit(op).result()

    def _run(self) -> None:
        lock_fd = -1
        try:
            db = open_db(self.target, synchronous=self.synchronous, upgrade=False)
            if not self.postgres:
                lock_fd = os.open(f"{self.target}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._started.release()
            return
        self._started.release()
        carry = None  # a solo request met while gathering a batch: the next batch, alone
        try:
            while True:
                item = carry or self._queue.get()
                carry = None
                if item is _STOP:
                    return
                batch = [item]
                while len(batch) < self.max_batch and not (self.postgres and item[3]):
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        self._queue.put(_STOP)
                        break
                    if self.postgres and nxt[3]:
                        carry = nxt
                        break
                    batch.append(nxt)
                while not self._commit(db, batch, lock_fd):  # the connection was dead before anything ran
                    db = self._reconnect(db)
                if not db.alive:  # the database went away under the batch: its requests failed, the next get a new connection
                    db = self._reconnect(db)
        finally:
            db.close()
            if lock_fd >= 0:
                os.close(lock_fd)

    def _reconnect(self, db: Db) -> Db:
        if self.on_lost is not None:
            self.on_lost()  # the readers' connections are as dead as ours: they are replaced too
        db.close()
        delay = 0.05
        while True:
            try:
                return open_db(self.target, synchronous=self.synchronous, upgrade=False)
            except Exception:  # still down: requests queue meanwhile (and time out at the client)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _commit(self, db: Db, batch: list[tuple[Operation, Future[Any], int, bool]], lock_fd: int) -> bool:
        """Run a batch in one transaction; False when the connection was found dead before any of it ran."""
        outcomes: list[tuple[Future[Any], Any, BaseException | None]] = []
        again: list[tuple[Operation, Future[Any], int, bool]] = []
        started = time.perf_counter()
        if lock_fd >= 0:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)  # our turn among the service's processes
        committing = False
        try:
            try:
                db.begin_write()
            except Exception:
                if not db.alive:
                    return False
                raise
            for op, future, tries, solo in batch:
                if tries == 0 and not future.set_running_or_notify_cancel():
                    continue
                db.execute("SAVEPOINT op")  # this request alone rolls back on error
                db.savepoint = "op"
                try:
                    result = op(db)
                except self._retriable as exc:
                    db.execute("ROLLBACK TO op")
                    if tries + 1 < TRIES:
                        again.append((op, future, tries + 1, solo))
                    else:
                        outcomes.append((future, None, exc))
                except Exception as exc:
                    db.execute("ROLLBACK TO op")
                    outcomes.append((future, None, exc))
                else:
                    outcomes.append((future, result, None))
                finally:
                    db.savepoint = None
                db.execute("RELEASE op")
            committing = True
            db.execute("COMMIT")
        except BaseException as exc:
            lost = not db.alive  # the connection died (the database restarted, failed over, dropped us)
            if not lost and db.in_transaction:
                db.execute("ROLLBACK")
            for op, future, tries, solo in batch:
                if future.done():
                    continue
                if lost and not committing and tries + 1 < TRIES:
                    self._queue.put((op, future, tries + 1, solo))  # nothing of it was committed: again, on a new connection
                else:  # (a COMMIT whose answer was lost may have happened: the client's retry by nonce finds out)
                    future.set_exception(exc)
            return True
        finally:
            if lock_fd >= 0:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)
        with self._stats_lock:
            self.batches += 1
            self.operations += len(outcomes)
            self.retries += len(again)
            self.busy_seconds += time.perf_counter() - started
        for future, result, error in outcomes:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
        for item in again:  # after the commit: the winner's rows are there to be seen
            self._queue.put(item)
        return True
