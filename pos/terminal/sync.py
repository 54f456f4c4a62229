"""``pos sync``: settle what a crash left pending, push the outbox, pull the catalog.

Exactly once: every outbox item carries the nonce the service uses as its idempotency key. An upload
first moves a batch from ``pending`` to ``sending`` (so an undo meanwhile queues a cancel instead of
withdrawing what is already on its way), and each item leaves ``sending`` only in the local
transaction that records the service's answer. A sync killed at any point re-sends at most the
batches in flight, which the service answers as ``duplicate``; nothing is uploaded twice and nothing
is skipped. One sync runs at a time per terminal file (a lock beside it), whoever starts it: the
UI's timer, its link-return upload, ``pos sync`` or ``pos redeem`` in a shell.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pos.terminal.endpoint import Endpoint, EndpointError
from pos.terminal.localdb import LocalDB
from pos.terminal.owner import FileLock

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class SyncReport:
    results: Tally[str] = field(default_factory=Tally)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    recovered: int = 0
    pulled: int = 0
    cursor: int = 0
    error: str | None = None
    busy: bool = False  # another sync of this terminal was running: this one did nothing

    @property
    def ok(self) -> bool:
        return self.error is None and not self.conflicts and not self.results.get("error")

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "uploaded": dict(self.results), "conflicts": self.conflicts, "recovered": self.recovered,
                "catalog_rows": self.pulled, "cursor": self.cursor, "error": self.error, "busy": self.busy}


def recover(db: LocalDB, endpoint: Endpoint) -> int:
    """Settle what a counter that is gone left unsettled; never an attempt still in flight.

    Only rows of owners that are no longer alive are touched (:mod:`pos.terminal.owner`): a counter in
    this process or another whose answer is still on its way keeps its row. For each:

    - ``given`` (the verdict was committed, the screen never confirmed it): an acceptance becomes
      ``unshown``, so the next scan of that voucher shows it, once, instead of "already redeemed";
    - ``pending`` (the outcome was never learned): the service is asked. An accepted redemption joins
      this terminal's history as ``unshown``; a request the service never saw is voided, so that a
      late copy of it can never count;
    - ``undoing`` (an undo was asked of the service, its answer never recorded): the undo is finished
      locally and a cancel is queued, which the service takes whether or not the first one arrived.
    """
    settled = 0
    for row in db.dead_attempts():
        if row["state"] == "pending" and not row["nonce"]:
            continue
        answer = endpoint.lookup(row["nonce"]) if row["state"] == "pending" else None
        db.settle_dead(row, answer, datetime.now(UTC))
        settled += 1
    db.forget_dead_owners()
    return settled


def sync(db: LocalDB, endpoint: Endpoint, store_id: str, *, batch_size: int = 1000,
         progress: Progress | None = None, wait: float = 0.0, overlap: bool = True) -> SyncReport:
    """One sync of this terminal; if another is running, wait up to ``wait`` seconds, else report ``busy``.

    ``overlap=False`` sends one batch at a time from this thread (slower; every step in one thread,
    which the schedule explorer needs to replay an interleaving exactly)."""
    report = SyncReport()
    lock = FileLock(db.path.with_name(db.path.name + ".sync.lock"))
    if not lock.acquire(wait=wait):
        report.busy = True
        report.error = "another sync of this terminal is running"
        return report
    try:
        db.unclaim_all()  # a sync that died mid-upload: its batches are sent again (the service dedups)
        report.recovered = recover(db, endpoint)
        _push(db, endpoint, store_id, batch_size, report, progress, overlap)
        cursor = db.catalog_cursor
        while True:
            delta = endpoint.catalog(cursor)
            report.pulled += db.apply_delta(delta)
            cursor = int(delta["cursor"])
            if progress:
                progress("catalog", report.pulled, report.pulled + (1 if delta["more"] else 0))
            if not delta["more"]:
                break
        report.cursor = cursor
    except EndpointError as err:
        report.error = str(err)
    finally:
        try:
            db.unclaim_all()  # what got no answer waits for the next sync
        finally:
            lock.release()
    return report


IN_FLIGHT = 3  # upload batches on their way at once: the service commits those it holds together


def _push(db: LocalDB, endpoint: Endpoint, store_id: str, batch_size: int, report: SyncReport,
          progress: Progress | None, overlap: bool = True) -> None:
    """Upload the outbox in order, with the next batches in flight while the answers to one are recorded.

    Batches overlap only when all of them hold redemptions alone: those commute (this terminal never has
    two live redemptions of one voucher), while a cancel or void must not overtake what it undoes.
    A batch that comes back with an item unanswered ends the upload: nothing after it may overtake it.
    """
    total, done = db.pending_count(), 0
    if progress:
        progress("upload", 0, total)
    window: deque[tuple[list[dict[str, Any]], Future[list[dict[str, Any]]]]] = deque()  # on their way, in order
    with ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="pos-sync") as pool:
        def send(rows: list[dict[str, Any]]) -> Future[list[dict[str, Any]]]:
            bodies = [r["body"] for r in rows]  # JSON as the outbox keeps it: sent as it is
            if overlap:
                return pool.submit(endpoint.upload_json, store_id, bodies)
            sent: Future[list[dict[str, Any]]] = Future()
            try:
                sent.set_result(endpoint.upload_json(store_id, bodies))
            except BaseException as exc:
                sent.set_exception(exc)
            return sent

        held: list[dict[str, Any]] = []  # claimed, waiting for the batches on their way to be answered
        last = 0
        while True:
            held, last = _fill(db, window, held, last, batch_size, send, IN_FLIGHT if overlap else 1)
            if not window:
                return
            rows, answer = window.popleft()
            try:
                results = answer.result()
            except BaseException:
                for _, later in window:
                    later.cancel()
                raise
            unanswered = _take(db, rows, results, report)
            done += len(rows)
            if progress:
                progress("upload", done, max(total, done))
            if unanswered:
                for later_rows, later in window:
                    _take(db, later_rows, later.result(), report)
                report.error = f"the service left {unanswered} item(s) unanswered; they are sent again at the next sync"
                return


def _fill(db: LocalDB, window: deque[tuple[list[dict[str, Any]], Future[list[dict[str, Any]]]]],
          held: list[dict[str, Any]], last: int, batch_size: int,
          send: Callable[[list[dict[str, Any]]], Future[list[dict[str, Any]]]], depth: int) -> tuple[list[dict[str, Any]], int]:
    """Claim and send batches until ``depth`` are on their way. A batch joins others on their way only if it and
    they hold redemptions alone; one that may not is held back (returned) until they are answered, and no
    batch is claimed behind one with a cancel or void. Returns what is held and the last sequence claimed."""
    while len(window) < depth:
        if window and not all(_redeems_only(rows) for rows, _ in window):
            break
        rows = held or db.claim(batch_size, after=last)
        held = []
        if not rows:
            break
        last = max(last, rows[-1]["seq"])
        if window and not _redeems_only(rows):
            return rows, last
        window.append((rows, send(rows)))
    return held, last


def _redeems_only(rows: list[dict[str, Any]]) -> bool:
    return all(r["kind"] == "redeem" for r in rows)


def _take(db: LocalDB, rows: list[dict[str, Any]], results: list[dict[str, Any]], report: SyncReport) -> int:
    """Record one batch's answers; returns how many of its items got none."""
    report.conflicts.extend(db.record_answers(rows, results, datetime.now(UTC)))
    report.results.update(r["result"] for r in results)
    answered = {r["nonce"] for r in results}
    return sum(r["nonce"] not in answered for r in rows)
