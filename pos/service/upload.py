"""A terminal's offline work (``POST /v1/uploads``), answered item by item, in order, exactly once.

Consecutive redemptions are decided and written as one run (:mod:`pos.service.runs`): the answers already
given under their nonces, their vouchers and their live redemptions are fetched up front in a few
``IN (…)`` queries, each item is decided against that view with what earlier items of the run took laid
over it, and the run is written with one ``executemany`` per table. A cancel or void between
redemptions is applied on its own, so that what it changes is seen by the items after it.

Each redemption of a run is an :class:`Entry` that carries its state through the stages: its request
hash, then the answer given before under its nonce (a replay), or its verdict, and what is to be
written for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from pos.domain import CodeError, Reason, Redemption, Verdict, check, format_time, parse_time, read_input
from pos.domain.offline_time import SKEW, Anchor, judge
from pos.service.engine import Db
from pos.service.ledger import (
    REFUSED,
    VOID_TOMBSTONE,
    ServiceError,
    Terminal,
    audit,
    cancel,
    first_answer,
    redeem_hash,
    refused_body,
    remember,
    request_hash,
    serialise,
    store_conflict,
)
from pos.service.runs import BatchView, Writes, chunks

INSERT_FLAG = ("INSERT INTO conflicts (nonce, code, terminal_id, store_id, reason, message, item, existing, recorded_at, "
               "request_hash) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING")
ACCEPTED_BEFORE: dict[str, Any] = {"verdict": {"accepted": True}}  # all a replay needs of an uploaded redemption


@dataclass(slots=True)
class Entry:
    """One uploaded redemption on its way through a run: what :func:`prepare` works out from the item alone,
    then what the writer decides for it."""

    item: dict[str, Any]
    nonce: str
    digest: str  # the request's hash: what makes a retry "the same request"
    code: str | None  # the voucher's code (None: what was sent cannot be one, and is refused)
    when: datetime  # the moment it is decided at, as the till's clock and anchor allow (pos.domain.offline_time)
    when_text: str  # the same, as stored
    note: str | None  # why the till's clock was not believed, if it was not
    clock_code: str | None
    result: dict[str, Any] | None = None  # the answer for the terminal, once known
    red: Redemption | None = None  # accepted: the redemption to record
    audit: tuple[Any, ...] | None = None  # the audit row of a decision made now
    refused: Verdict | None = None  # refused (now, or before): the conflict to keep ...
    refused_digest: str | None = None  # ... under the hash of the request that was refused
    flag: tuple[Any, ...] | None = None  # accepted, but the till's clock was not believed: a flag for a manager

    @property
    def answer(self) -> tuple[str, Any]:
        """What a repeat of this nonce later in the run is answered from, as an answer stored before would be."""
        if self.red is not None:
            return self.digest, ACCEPTED_BEFORE
        assert self.refused is not None
        return self.digest, {"verdict": self.refused.to_dict(), "redemption": None}


Prepared = list[Entry | dict[str, Any]]  # an upload's items in order: redemptions prepared, cancels and voids as sent


def prepare(terminal: Terminal, items: list[dict[str, Any]], now: datetime, skew: timedelta = SKEW) -> Prepared:
    """What can be worked out for each redemption from the item alone, before the writer: its request hash, its
    code, and when it is decided. (Off the writer's thread, this overlaps with the writer's work on others.)"""
    prepared: Prepared = []
    for item in items:
        if item["kind"] != "redeem":
            prepared.append(item)
            continue
        claimed = item.get("redeemed_at")
        # The terminal decided at its own clock; the service decides at that moment when the till's anchor (its
        # last contact plus monotonic seconds) agrees, else at the anchored time, never later than the upload.
        judged = judge(parse_time(claimed) if claimed else None, _anchor(item), now, skew)
        try:
            code: str | None = read_input(item["code"])[0]
        except CodeError:
            code = None
        prepared.append(Entry(item, item["nonce"], redeem_hash(item["code"], item["staff_id"], item.get("amount"),
                                                               terminal.store_id, item.get("items")),
                              code, judged.at, format_time(judged.at), judged.note, judged.code))
    return prepared


def _answered_before(db: Db, nonces: list[str]) -> dict[str, tuple[str, Any]]:
    """(request hash, first answer) for each of these nonces already answered, by any earlier request: an
    online request's stored response (as text, parsed only if needed), an uploaded redemption, a conflict."""
    stored: dict[str, tuple[str, Any]] = {}
    for chunk in chunks(nonces):
        marks = ",".join("?" * len(chunk))
        for key, digest, response in db.conn.execute(
                f"SELECT key, request_hash, response FROM idempotency WHERE key IN ({marks})", chunk):
            stored[key] = (digest, response)
        for nonce, digest in db.conn.execute(
                f"SELECT nonce, request_hash FROM redemptions WHERE request_hash IS NOT NULL AND nonce IN ({marks})", chunk):
            stored[nonce] = (digest, ACCEPTED_BEFORE)
        for row in db.conn.execute(f"{REFUSED} IN ({marks})", chunk):
            stored[row[0]] = (row[1], refused_body(row))
    return stored


def _replayed(entry: Entry, before: tuple[str, Any]) -> None:
    """The answer for a nonce answered before: the same request gets the first answer again (a refusal
    is kept as a conflict again, so the terminal hears of it), another request under it is refused."""
    digest, body = before
    nonce = entry.nonce
    if digest not in (entry.digest, VOID_TOMBSTONE):
        entry.result = {"nonce": nonce, "result": "error", "reason": "idempotency.mismatch",
                        "message": f"Key {nonce} was already used for a different request."}
        return
    if not isinstance(body, dict):
        body = orjson.loads(body)
    if body["verdict"]["accepted"]:
        entry.result = {"nonce": nonce, "result": "duplicate", "message": "Already uploaded."}
        return
    verdict = Verdict.from_dict(body["verdict"])
    if body.get("voided"):
        entry.result = {"nonce": nonce, "result": "voided", "message": verdict.message}
        return
    entry.result = conflict_result(entry.item, verdict)
    entry.refused, entry.refused_digest = verdict, digest


def _decide(entry: Entry, view: BatchView, terminal: Terminal, stamp: str) -> None:
    """A new redemption decided at its moment (:attr:`Entry.when`): a till's clock, fast or slow, cannot stretch
    a voucher's life."""
    item, nonce = entry.item, entry.nonce
    verdict = check(item["code"], store_id=terminal.store_id, staff_id=item["staff_id"], amount=item.get("amount"),
                    catalog=view, history=view, now=entry.when, offline=True, items=item.get("items"))
    if not verdict.accepted:
        if entry.note:
            verdict = verdict.but(message=f"{verdict.message} ({entry.note})")
        entry.audit = (stamp, item["staff_id"], terminal.id, terminal.store_id, "redeem.refused", verdict.code,
                       orjson.dumps({"nonce": nonce, "reason": str(verdict.reason), "mode": "offline"}).decode())
        entry.result = conflict_result(item, verdict)
        entry.refused, entry.refused_digest = verdict, entry.digest
        return
    assert verdict.code and verdict.campaign_id
    red = entry.red = Redemption(nonce, verdict.code, verdict.campaign_id, terminal.store_id, item["staff_id"],
                                 entry.when, verdict.discount, item.get("amount"), verdict.customer_id, terminal.id,
                                 "offline")
    view.taken(red)
    entry.audit = (stamp, item["staff_id"], terminal.id, terminal.store_id, "redeem", red.code,
                   orjson.dumps({"nonce": nonce, "mode": "offline", "discount": red.discount}).decode())
    entry.result = {"nonce": nonce, "result": "accepted", "message": verdict.message}
    if entry.note:  # accepted at the trusted time; a manager sees why the till's time was not
        entry.result["note"] = entry.note
        entry.flag = (nonce, verdict.code, terminal.id, terminal.store_id, "clock", entry.note,
                      orjson.dumps({**item, "clock_code": entry.clock_code}).decode(), None, stamp, None)


def _write(db: Db, terminal: Terminal, entries: list[Entry], view: BatchView, now: datetime, stamp: str) -> None:
    """A run's decisions, one statement per table: redemptions, their vouchers, the audit, conflicts, flags."""
    writes = Writes()
    for e in entries:
        if e.red is not None:
            writes.redeemed(e.red, e.when_text, stamp, e.digest, view.rows.get(e.red.code))
        if e.audit is not None:
            writes.audits.append(e.audit)
    writes.flush(db)
    for e in entries:
        if e.refused is not None:
            store_conflict(db, terminal, e.item, e.refused, now, e.refused_digest)
    flags = [e.flag for e in entries if e.flag is not None]
    if flags:  # no request hash: a flag is not an answer to replay (the redemption itself is that)
        db.conn.executemany(INSERT_FLAG, flags)


def _upload_redeems(db: Db, terminal: Terminal, entries: list[Entry], now: datetime) -> list[dict[str, Any]]:
    """A run of offline redemptions: replayed or decided in order against a :class:`BatchView`, then written."""
    before = _answered_before(db, [e.nonce for e in entries])
    codes = [e.code for e in entries if e.code is not None]
    serialise(db, codes)
    view = BatchView(db, codes)
    stamp = format_time(now)
    in_run: dict[str, Entry] = {}  # nonces decided earlier in this run (a client may repeat one)
    for entry in entries:
        earlier = in_run.get(entry.nonce)
        previous = earlier.answer if earlier is not None else before.get(entry.nonce)
        if previous is not None:
            _replayed(entry, previous)
            continue
        _decide(entry, view, terminal, stamp)
        in_run[entry.nonce] = entry
    _write(db, terminal, entries, view, now, stamp)
    return [e.result for e in entries if e.result is not None]


def _anchor(item: dict[str, Any]) -> Anchor | None:
    clock = item.get("clock")
    if not clock:
        return None
    elapsed = clock.get("elapsed")
    return Anchor(parse_time(clock["contact_at"]), None if elapsed is None else float(elapsed))


def conflict_result(item: dict[str, Any], verdict: Verdict) -> dict[str, Any]:
    first = verdict.first_redemption
    return {"nonce": item["nonce"], "result": "conflict", "reason": str(verdict.reason), "message": verdict.message,
            "existing": first.to_dict() if first else None}


def _upload_undo(db: Db, terminal: Terminal, item: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A queued cancel, or a void of a request whose outcome the terminal never learned."""
    key, target, void = item["nonce"], item["target"], item["kind"] == "void"
    digest = request_hash(item["kind"], target, item["staff_id"], terminal.store_id)
    replay = first_answer(db, key, digest)
    if replay is not None:
        return replay[1]
    exists = db.conn.execute("SELECT 1 FROM redemptions WHERE nonce=?", (target,)).fetchone()
    if void and not exists:
        # The original request never arrived: leave a tombstone so that, if it ever does, it is refused.
        refused = Verdict(Reason.OFFLINE_NOT_ALLOWED, "Voided: the terminal refused this voucher.")
        if db.conn.execute("SELECT 1 FROM idempotency WHERE key=?", (target,)).fetchone() is None:
            remember(db, target, VOID_TOMBSTONE, terminal, 200,
                      {"nonce": target, "verdict": refused.to_dict(), "redemption": None, "voided": True}, now)
        result = {"nonce": key, "result": "voided", "message": "Nothing had been redeemed."}
    else:
        try:
            requested = parse_time(item["requested_at"]) if item.get("requested_at") else None
            cancel(db, terminal, nonce=target, staff_id=item["staff_id"], now=now, requested_at=requested, void=void)
            result = {"nonce": key, "result": "voided" if void else "cancelled", "message": "Undone."}
        except ServiceError as err:
            verdict = Verdict(Reason.RULES_NOT_MET, err.message, detail=err.code)
            store_conflict(db, terminal, item, verdict, now)
            result = conflict_result(item, verdict)
    remember(db, key, digest, terminal, 200, result, now)
    return result


def upload(db: Db, terminal: Terminal, items: Prepared, now: datetime) -> list[dict[str, Any]]:
    """Offline work from a terminal (its items :func:`prepare`-d), answered item by item, in order; nothing is
    dropped, conflicts are kept."""
    results: list[dict[str, Any]] = []
    run: list[Entry] = []

    def flush() -> None:
        if run:
            results.extend(_upload_redeems(db, terminal, run, now))
            run.clear()

    for item in items:
        if isinstance(item, Entry):
            run.append(item)
            continue
        flush()
        db.conn.execute("SAVEPOINT item")
        try:
            results.append(_upload_undo(db, terminal, item, now))
        except ServiceError as err:
            db.conn.execute("ROLLBACK TO item")
            results.append({"nonce": item["nonce"], "result": "error", "reason": err.code, "message": err.message})
        db.conn.execute("RELEASE item")
    flush()
    audit(db, now, "upload", actor=None, terminal=terminal, subject=None, items=len(items),
          accepted=sum(r["result"] == "accepted" for r in results),
          conflicts=sum(r["result"] == "conflict" for r in results))
    return results
