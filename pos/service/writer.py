"""The writer: every change to the service database runs here, with group commit.

Requests that arrive while a commit is being flushed are gathered into the next transaction, each
inside its own savepoint: a failing request rolls back alone, and one flush makes a whole batch
durable. Requests of one kind that can be decided together (online redeems) run as one step, reading
and writing for all of them at once; if that step fails, each runs again alone.

On SQLite a checkpointer thread copies the WAL back into the database file (:class:`Checkpointer`), so
that no batch waits for a checkpoint inside its commit.

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
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from pos.service.engine import Db, connect, is_postgres, retriable
from pos.service.schema import open_db

log = logging.getLogger("pos.writer")
T = TypeVar("T")
Operation = Callable[[Db], Any]
Queued = tuple[Operation, "Future[Any]", int, bool]  # (op, its future, tries so far, solo)
_STOP: Any = object()
PG_BATCH = 16
TRIES = 8  # a request that loses this many races in a row fails with the last error
CHECKPOINT_EVERY = 0.25  # seconds of commits the checkpointer gathers into one checkpoint
BACKSTOP_PAGES = 50_000  # WAL pages (200 MB) after which the writer checkpoints itself after all


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
        self._checkpointer = None if self.postgres else Checkpointer(target)
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
        if self._checkpointer is not None:
            self._checkpointer.start()

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
        if self._checkpointer is not None:
            self._checkpointer.stop()

    def submit(self, op: Callable[[Db], T], *, solo: bool = False) -> Future[T]:
        """Queue a change. ``solo``: a large one (an upload) that takes many locks; on PostgreSQL it runs in a
        transaction of its own, so that it never holds another request's locks while waiting for more.

        An op with a ``together(db, ops)`` attribute (an online redeem) runs with the ops of the same kind next
        to it in its batch as one step, which returns one result per op (see :func:`_groups`)."""
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
                db.defer_checkpoints(BACKSTOP_PAGES)  # the checkpointer copies the WAL back, off this thread
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
                if item is _STOP:
                    return
                batch, carry = self._gather(item)
                while not self._commit(db, batch, lock_fd):  # the connection was dead before anything ran
                    db = self._reconnect(db)
                if not db.alive:  # the database went away under the batch: its requests failed, the next get a new connection
                    db = self._reconnect(db)
        finally:
            db.close()
            if lock_fd >= 0:
                os.close(lock_fd)

    def _gather(self, item: Queued) -> tuple[list[Queued], Queued | None]:
        """A batch: ``item`` and what else is queued, up to ``max_batch``; on PostgreSQL a solo request runs alone,
        so one met here is handed back to start the next batch."""
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
                return batch, nxt
            batch.append(nxt)
        return batch, None

    def _reconnect(self, db: Db) -> Db:
        if self.on_lost is not None:
            self.on_lost()  # the readers' connections are as dead as ours: they are replaced too
        db.close()
        delay = 0.05
        while True:
            try:
                db = open_db(self.target, synchronous=self.synchronous, upgrade=False)
                if not self.postgres:
                    db.defer_checkpoints(BACKSTOP_PAGES)
                return db
            except Exception:  # still down: requests queue meanwhile (and time out at the client)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _commit(self, db: Db, batch: list[Queued], lock_fd: int) -> bool:
        """Run a batch in one transaction; False when the connection was found dead before any of it ran."""
        done = _Outcomes()
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
            for group in _groups(batch):
                if len(group) > 1:
                    self._run_together(db, group, done)
                else:
                    self._run_one(db, group[0], done, started=False)
            committing = True
            db.execute("COMMIT")
        except BaseException as exc:
            self._abandon(db, batch, exc, committing)
            return True
        finally:
            if lock_fd >= 0:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)
        if self._checkpointer is not None:
            self._checkpointer.committed()
        self._settle(done, started)
        return True

    def _run_one(self, db: Db, queued: Queued, done: _Outcomes, *, started: bool) -> None:
        """One request in its own savepoint: it alone rolls back on an error; one that lost a race runs again
        in a later batch. ``started``: its future was already marked running (a group that failed)."""
        op, future, tries, solo = queued
        if tries == 0 and not started and not future.set_running_or_notify_cancel():
            return
        db.execute("SAVEPOINT op")
        db.savepoint = "op"
        try:
            result = op(db)
        except self._retriable as exc:
            db.execute("ROLLBACK TO op")
            if tries + 1 < TRIES:
                done.again.append((op, future, tries + 1, solo))
            else:
                done.outcomes.append((future, None, exc))
        except Exception as exc:
            db.execute("ROLLBACK TO op")
            done.outcomes.append((future, None, exc))
        else:
            done.outcomes.append((future, result, None))
        finally:
            db.savepoint = None
        db.execute("RELEASE op")

    def _run_together(self, db: Db, group: list[Queued], done: _Outcomes) -> None:
        """Requests of one kind (consecutive in the batch) run as one step by their kind's ``together``, in
        one savepoint. If that step fails, each request runs again alone, so that a failure stays its own."""
        live = [q for q in group if q[2] > 0 or q[1].set_running_or_notify_cancel()]
        if not live:
            return
        db.execute("SAVEPOINT ops")
        try:
            together = getattr(live[0][0], "together")  # noqa: B009 (an attribute only some ops have)
            results = together(db, [q[0] for q in live])
        except self._retriable:
            db.execute("ROLLBACK TO ops")
            db.execute("RELEASE ops")
            for op, future, tries, solo in live:
                if tries + 1 < TRIES:
                    done.again.append((op, future, tries + 1, solo))
                else:
                    self._run_one(db, (op, future, tries, solo), done, started=True)
            return
        except Exception:
            db.execute("ROLLBACK TO ops")
            db.execute("RELEASE ops")
            for queued in live:
                self._run_one(db, queued, done, started=True)
            return
        db.execute("RELEASE ops")
        done.outcomes.extend((q[1], result, None) for q, result in zip(live, results, strict=True))

    def _abandon(self, db: Db, batch: list[Queued], exc: BaseException, committing: bool) -> None:
        """A batch whose transaction failed: rolled back; requests that never ran on a connection that died run
        again on a new one, the others fail with the error."""
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

    def _settle(self, done: _Outcomes, started: float) -> None:
        """After the commit: every request of the batch gets its answer; those that lost a race are queued
        again, where they will see what the winner wrote."""
        with self._stats_lock:
            self.batches += 1
            self.operations += len(done.outcomes)
            self.retries += len(done.again)
            self.busy_seconds += time.perf_counter() - started
        for future, result, error in done.outcomes:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
        for item in done.again:
            self._queue.put(item)


class _Outcomes:
    """What a batch's requests came to: (future, result, error) each, and those to run again."""

    __slots__ = ("again", "outcomes")

    def __init__(self) -> None:
        self.outcomes: list[tuple[Future[Any], Any, BaseException | None]] = []
        self.again: list[Queued] = []


def _groups(batch: list[Queued]) -> list[list[Queued]]:
    """The batch in order, consecutive requests of one kind that run together (``op.together``) in one group."""
    groups: list[list[Queued]] = []
    for queued in batch:
        kind = getattr(queued[0], "together", None)
        if kind is not None and groups and getattr(groups[-1][0][0], "together", None) is kind:
            groups[-1].append(queued)
        else:
            groups.append([queued])
    return groups


class Checkpointer:
    """Copies committed pages from the WAL back into the SQLite file, from a thread and a connection of its own.

    Left to the writer, SQLite checkpoints inside a commit once the WAL holds enough pages: that batch's
    requests all waited for it (40–100 ms, the p99 of a busy service). Here the writer only says that it
    committed; a moment's commits are gathered into one PASSIVE checkpoint, which never waits for the writer
    or a reader. The writer keeps a backstop of its own (``BACKSTOP_PAGES``) should this ever fall behind.
    """

    def __init__(self, target: str | Path) -> None:
        self.target = target
        self._due = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pos-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def committed(self) -> None:
        self._due.set()

    def stop(self) -> None:
        self._stop.set()
        self._due.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        db = connect(self.target)
        try:
            while not self._stop.is_set():
                self._due.wait()
                self._stop.wait(CHECKPOINT_EVERY)  # a moment's commits, copied back together
                self._due.clear()
                try:
                    db.checkpoint()
                except sqlite3.Error:  # another process's checkpointer at it, say: the next round does it
                    log.warning("checkpoint failed", exc_info=True)
        finally:
            db.close()
