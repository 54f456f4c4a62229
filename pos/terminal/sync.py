"""``pos sync``: settle what a crash left pending, push the outbox, pull the catalog.

Exactly once: every outbox item carries the nonce the service uses as its idempotency key, and an
item leaves the ``pending`` state only in the same local transaction that records the service's answer.
A sync killed at any point re-sends at most the batch in flight, which the service answers as
``duplicate``; nothing is uploaded twice and nothing is skipped.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from pos.domain import Verdict, format_time
from pos.terminal.endpoint import Endpoint, EndpointError
from pos.terminal.localdb import LocalDB

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class SyncReport:
    results: Tally = field(default_factory=Tally)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    recovered: int = 0
    pulled: int = 0
    cursor: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.conflicts and not self.results.get("error")

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "uploaded": dict(self.results), "conflicts": self.conflicts, "recovered": self.recovered,
                "catalog_rows": self.pulled, "cursor": self.cursor, "error": self.error}


def recover(db: LocalDB, endpoint: Endpoint) -> int:
    """Settle journal entries a crash left ``pending`` by asking the service what became of them.

    The service's answer is taken as it is: an accepted redemption joins this terminal's history and
    is marked ``unshown``, so the next scan of that voucher shows the acceptance the cashier never saw
    (instead of "already redeemed"); a request the service never saw is voided, so that a late copy
    of it can never count.
    """
    settled = 0
    pending = list(db.db.query("SELECT id, nonce, input, staff_id, amount FROM journal "
                               "WHERE state='pending' AND nonce IS NOT NULL"))
    for row in pending:
        answer = endpoint.lookup(row["nonce"])
        now = datetime.now(UTC)
        with db.atomic():
            if answer is None:
                key = f"{row['nonce']}-void"
                db.enqueue(key, "void", {"kind": "void", "nonce": key, "target": row["nonce"],
                                         "staff_id": row["staff_id"]}, now)
                db.conn.execute("UPDATE journal SET state='abandoned' WHERE id=?", (row["id"],))
            else:
                verdict = Verdict.from_dict(answer["verdict"])
                red = answer.get("redemption")
                if red and not red.get("cancelled_at"):
                    db.conn.execute(
                        "INSERT OR IGNORE INTO redemptions (nonce, code, campaign_id, customer_id, store_id, staff_id, "
                        "amount, discount, redeemed_at, mode) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (row["nonce"], red["code"], red["campaign_id"], red.get("customer_id"), red["store_id"],
                         red["staff_id"], red.get("amount"), red["discount"], red["redeemed_at"], "online"))
                # Decided, but never on screen: the next scan of this voucher shows it (see Counter.redeem).
                db.settle_journal(row["id"], state="unshown" if verdict.accepted else "done", mode="online",
                                  verdict=verdict)
            db.audit(now, "recover", actor=None, subject=None, nonce=row["nonce"], found=answer is not None)
        settled += 1
    return settled


def sync(db: LocalDB, endpoint: Endpoint, store_id: str, *, batch_size: int = 1000,
         progress: Progress | None = None) -> SyncReport:
    report = SyncReport()
    try:
        report.recovered = recover(db, endpoint)
        _push(db, endpoint, store_id, batch_size, report, progress)
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
    return report


def _push(db: LocalDB, endpoint: Endpoint, store_id: str, batch_size: int, report: SyncReport,
          progress: Progress | None) -> None:
    """Upload the outbox in order, with the next batch in flight while the answers to one are recorded.

    Two batches overlap only when both hold redemptions alone: those commute (this terminal never has
    two live redemptions of one voucher), while a cancel or void must not overtake what it undoes.
    """
    total = db.pending_count()
    done = 0
    if progress:
        progress("upload", 0, total)

    def send(rows: list[dict[str, Any]]) -> Future[list[dict[str, Any]]]:
        return pool.submit(endpoint.upload, store_id, [orjson.loads(r["body"]) for r in rows])

    def redeems_only(rows: list[dict[str, Any]]) -> bool:
        return all(r["kind"] == "redeem" for r in rows)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="pos-sync") as pool:
        current = db.pending(batch_size)
        in_flight = send(current) if current else None
        while in_flight is not None:
            following = db.pending(batch_size, after=current[-1]["seq"])
            overlap = bool(following) and redeems_only(current) and redeems_only(following)
            next_flight = send(following) if overlap else None
            try:
                results = in_flight.result()
            except BaseException:
                if next_flight is not None:
                    next_flight.cancel()
                raise
            _record(db, current, results, report)
            done += len(current)
            if progress:
                progress("upload", done, max(total, done))
            if following and next_flight is None:
                next_flight = send(following)
            current, in_flight = following, next_flight


def _record(db: LocalDB, rows: list[dict[str, Any]], results: list[dict[str, Any]], report: SyncReport) -> None:
    """Take the service's answers for one batch, in one local transaction (so a crash re-sends the batch)."""
    by_nonce = {r["nonce"]: r for r in results}
    now = datetime.now(UTC)
    stamp = format_time(now)
    updates = []
    with db.atomic():
        for row in rows:
            res = by_nonce.get(row["nonce"])
            if res is None:  # not answered: stays pending for the next sync
                continue
            outcome = res["result"]
            report.results[outcome] += 1
            updates.append((outcome, orjson.dumps(res).decode(), stamp, row["nonce"]))
            if outcome == "conflict":
                ours = orjson.loads(row["body"])
                report.conflicts.append({"nonce": row["nonce"], "kind": row["kind"], "reason": res.get("reason"),
                                         "message": res.get("message"), "ours": ours, "theirs": res.get("existing")})
                code = None
                if row["kind"] == "redeem":
                    found = db.conn.execute("SELECT code FROM redemptions WHERE nonce=?", (row["nonce"],)).fetchone()
                    code = found[0] if found else None
                    db.conn.execute("UPDATE redemptions SET state='conflict' WHERE nonce=?", (row["nonce"],))
                db.conn.execute(
                    "INSERT OR REPLACE INTO conflicts (nonce, code, reason, message, ours, theirs, recorded_at) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (row["nonce"], code, res.get("reason") or "unknown", res.get("message") or "",
                     row["body"], orjson.dumps(res.get("existing")).decode(), stamp))
        db.conn.executemany("UPDATE outbox SET state=?, result=?, updated_at=? WHERE nonce=?", updates)
        db.audit(now, "sync.upload", actor=None, subject=None, items=len(rows), answered=len(updates))
