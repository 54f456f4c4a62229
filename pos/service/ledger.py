"""What the service does with a request, as functions of a database connection.

Mutations run on the :class:`~pos.service.writer.Writer` thread; each returns an HTTP status and a JSON
body, which for idempotent requests is stored under the client's key and replayed verbatim (Stripe's
semantics: same key and body → the first answer again; same key, other body → an error).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from pos.domain import Reason, Redemption, Verdict, cancel_refusal, check, format_time, parse_time
from pos.service.schema import SqlCatalog, SqlHistory, next_versions

CLOCK_SKEW = timedelta(minutes=5)
VOID_TOMBSTONE = "void"  # request_hash of a key voided before its request arrived: any body replays the void


@dataclass(frozen=True, slots=True)
class Terminal:
    id: str
    store_id: str


class ServiceError(Exception):
    """A request the service will not carry out: HTTP status, stable code, sentence.

    ``audit`` is the audit entry the refusal leaves behind (see :func:`guarded`).
    """

    def __init__(self, status: int, code: str, message: str, audit: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.audit = audit


def guarded(op: Callable[[sqlite_utils.Database], Any], now: datetime) -> Callable[[sqlite_utils.Database], Any]:
    """Run ``op`` in its own savepoint; on a refusal, undo its writes but keep the refusal's audit entry.

    Returns the op's result, or the :class:`ServiceError` (to be raised by the caller, off the writer thread).
    """

    def run(db: sqlite_utils.Database) -> Any:
        db.conn.execute("SAVEPOINT guarded")
        try:
            result = op(db)
        except ServiceError as err:
            db.conn.execute("ROLLBACK TO guarded")
            db.conn.execute("RELEASE guarded")
            if err.audit:
                entry = dict(err.audit)
                audit(db, now, entry.pop("action"), actor=entry.pop("actor", None),
                      terminal=entry.pop("terminal", None), subject=entry.pop("subject", None), code=err.code, **entry)
            return err
        db.conn.execute("RELEASE guarded")
        return result

    return run


def catalog_of(db: sqlite_utils.Database) -> SqlCatalog:
    """One catalog per connection, so parsed campaigns are cached across requests."""
    cat = db.__dict__.get("_pos_catalog")
    if cat is None:
        cat = db.__dict__["_pos_catalog"] = SqlCatalog(db.conn)
    return cat


def request_hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, separators=(",", ":"), sort_keys=True).encode()).hexdigest()


def audit(db: sqlite_utils.Database, now: datetime, action: str, *, actor: str | None, terminal: Terminal | None,
          subject: str | None, **detail: Any) -> None:
    db.conn.execute(
        "INSERT INTO audit (at, actor, terminal_id, store_id, action, subject, detail) VALUES (?,?,?,?,?,?,?)",
        (format_time(now), actor, terminal.id if terminal else None, terminal.store_id if terminal else None,
         action, subject, json.dumps(detail, default=str) if detail else None),
    )


def _replay(db: sqlite_utils.Database, key: str, digest: str) -> tuple[int, dict[str, Any]] | None:
    row = db.conn.execute("SELECT request_hash, status, response FROM idempotency WHERE key=?", (key,)).fetchone()
    if row is None:
        return None
    if row[0] not in (digest, VOID_TOMBSTONE):
        raise ServiceError(409, "idempotency.mismatch",
                           f"Key {key} was already used for a different request; use a new key for a new request.",
                           {"action": "idempotency.mismatch", "subject": key})
    return int(row[1]), json.loads(row[2])


def _remember(db: sqlite_utils.Database, key: str, digest: str, terminal: Terminal, status: int,
              body: dict[str, Any], now: datetime) -> None:
    db.conn.execute(
        "INSERT INTO idempotency (key, request_hash, terminal_id, status, response, created_at) VALUES (?,?,?,?,?,?)",
        (key, digest, terminal.id, status, json.dumps(body), format_time(now)),
    )


def _record(db: sqlite_utils.Database, red: Redemption, now: datetime) -> None:
    conn = db.conn
    conn.execute(
        "INSERT INTO redemptions (nonce, code, campaign_id, customer_id, store_id, staff_id, terminal_id, amount, "
        "discount, redeemed_at, recorded_at, mode) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (red.nonce, red.code, red.campaign_id, red.customer_id, red.store_id, red.staff_id, red.terminal_id,
         red.amount, red.discount, format_time(red.redeemed_at), format_time(now), red.mode),
    )
    conn.execute(
        "UPDATE vouchers SET redeemed_at=?, redeemed_store=?, redeemed_nonce=?, version=? WHERE code=?",
        (format_time(red.redeemed_at), red.store_id, red.nonce, next_versions(conn), red.code),
    )


def _decide(db: sqlite_utils.Database, terminal: Terminal, *, nonce: str, code: str, staff_id: str,
            amount: int | None, when: datetime, now: datetime, mode: str) -> tuple[Verdict, Redemption | None]:
    verdict = check(code, store_id=terminal.store_id, staff_id=staff_id, amount=amount, catalog=catalog_of(db),
                    history=SqlHistory(db.conn), now=when, offline=mode == "offline")
    if not verdict.accepted:
        audit(db, now, "redeem.refused", actor=staff_id, terminal=terminal, subject=verdict.code or None,
              nonce=nonce, reason=str(verdict.reason), mode=mode)
        return verdict, None
    assert verdict.code and verdict.campaign_id
    red = Redemption(nonce, verdict.code, verdict.campaign_id, terminal.store_id, staff_id, when, verdict.discount,
                     amount, verdict.customer_id, terminal.id, mode)
    _record(db, red, now)
    audit(db, now, "redeem", actor=staff_id, terminal=terminal, subject=red.code, nonce=nonce, mode=mode,
          discount=red.discount)
    return verdict, red


def redeem(db: sqlite_utils.Database, terminal: Terminal, *, nonce: str, code: str, staff_id: str,
           amount: int | None, now: datetime) -> tuple[int, dict[str, Any]]:
    """An online redemption, decided now and remembered under ``nonce``."""
    digest = request_hash("redeem", code.strip(), staff_id, amount, terminal.store_id)
    replay = _replay(db, nonce, digest)
    if replay is not None:
        return replay
    verdict, red = _decide(db, terminal, nonce=nonce, code=code, staff_id=staff_id, amount=amount, when=now,
                           now=now, mode="online")
    body = {"nonce": nonce, "verdict": verdict.to_dict(), "redemption": red.to_dict() if red else None}
    _remember(db, nonce, digest, terminal, 200, body, now)
    return 200, body


def lookup(db: sqlite_utils.Database, terminal: Terminal, nonce: str) -> dict[str, Any]:
    """What became of a request key: the stored answer, with the redemption's present state."""
    row = db.conn.execute("SELECT terminal_id, response FROM idempotency WHERE key=?", (nonce,)).fetchone()
    if row is None:
        raise ServiceError(404, "redemption.not_found", f"Nothing was recorded under {nonce}.")
    if row[0] != terminal.id:
        raise ServiceError(403, "terminal.mismatch", "That request was made by another terminal.")
    body = json.loads(row[1])
    red = db.conn.execute("SELECT cancelled_at FROM redemptions WHERE nonce=?", (nonce,)).fetchone()
    if red is not None and body.get("redemption"):
        body["redemption"]["cancelled_at"] = red[0]
    return body


def cancel(db: sqlite_utils.Database, terminal: Terminal, *, nonce: str, staff_id: str, now: datetime,
           requested_at: datetime | None = None, void: bool = False) -> dict[str, Any]:
    """Undo a redemption inside its campaign's cancel window (a void, for an unknown outcome, ignores it)."""
    row = db.conn.execute(
        "SELECT code, campaign_id, store_id, redeemed_at, cancelled_at FROM redemptions WHERE nonce=?", (nonce,)
    ).fetchone()
    if row is None:
        raise ServiceError(404, "redemption.not_found", f"No redemption {nonce} is recorded.")
    code, campaign_id, store_id, redeemed_at, cancelled_at = row
    if store_id != terminal.store_id:
        raise ServiceError(403, "store.mismatch", "That redemption was made in another store.",
                           {"action": "store.mismatch", "terminal": terminal, "subject": nonce})
    verifier = catalog_of(db).verifier(staff_id)
    refused = {"action": "cancel.refused", "actor": staff_id, "terminal": terminal, "subject": code, "nonce": nonce}
    if not void and (verifier is None or not verifier.may_verify_at(store_id)):
        raise ServiceError(403, "staff.not_verifier", f"Staff member {staff_id} may not undo redemptions here.", refused)
    if cancelled_at is None:
        at = min(requested_at or now, now)
        problem = None if void else cancel_refusal(parse_time(redeemed_at), catalog_of(db).campaign(campaign_id), at)
        if problem:
            raise ServiceError(409, "cancel.window_passed", problem, refused)
        cancelled_at = format_time(at)
        db.conn.execute("UPDATE redemptions SET cancelled_at=?, cancelled_by=?, cancel_reason=? WHERE nonce=?",
                        (cancelled_at, staff_id, "void" if void else "cancel", nonce))
        db.conn.execute(
            "UPDATE vouchers SET redeemed_at=NULL, redeemed_store=NULL, redeemed_nonce=NULL, version=? "
            "WHERE code=? AND redeemed_nonce=?",
            (next_versions(db.conn), code, nonce),
        )
        audit(db, now, "void" if void else "cancel", actor=staff_id, terminal=terminal, subject=code, nonce=nonce)
    return {"nonce": nonce, "code": code, "cancelled_at": cancelled_at}


def _conflict(db: sqlite_utils.Database, terminal: Terminal, item: dict[str, Any], verdict: Verdict,
              now: datetime) -> dict[str, Any]:
    first = verdict.first_redemption
    existing = first.to_dict() if first else None
    db.conn.execute(
        "INSERT OR IGNORE INTO conflicts (nonce, code, terminal_id, store_id, reason, message, item, existing, "
        "recorded_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (item["nonce"], verdict.code, terminal.id, terminal.store_id, str(verdict.reason), verdict.message,
         json.dumps(item), json.dumps(existing) if existing else None, format_time(now)),
    )
    return {"nonce": item["nonce"], "result": "conflict", "reason": str(verdict.reason), "message": verdict.message,
            "existing": existing}


def _upload_redeem(db: sqlite_utils.Database, terminal: Terminal, item: dict[str, Any], now: datetime) -> dict[str, Any]:
    nonce = item["nonce"]
    digest = request_hash("redeem", item["code"].strip(), item["staff_id"], item.get("amount"), terminal.store_id)
    replay = _replay(db, nonce, digest)
    if replay is not None:
        verdict = Verdict.from_dict(replay[1]["verdict"])
        if verdict.accepted:
            return {"nonce": nonce, "result": "duplicate", "message": "Already uploaded."}
        if replay[1].get("voided"):
            return {"nonce": nonce, "result": "voided", "message": verdict.message}
        return _conflict(db, terminal, item, verdict, now)
    # The terminal decided at its own clock; the service judges validity at that moment, never later
    # than now (a terminal clock running fast cannot stretch a voucher's life).
    when = min(parse_time(item["redeemed_at"]), now + CLOCK_SKEW) if item.get("redeemed_at") else now
    when = min(when, now)
    verdict, red = _decide(db, terminal, nonce=nonce, code=item["code"], staff_id=item["staff_id"],
                           amount=item.get("amount"), when=when, now=now, mode="offline")
    _remember(db, nonce, digest, terminal, 200,
              {"nonce": nonce, "verdict": verdict.to_dict(), "redemption": red.to_dict() if red else None}, now)
    if red is None:
        return _conflict(db, terminal, item, verdict, now)
    return {"nonce": nonce, "result": "accepted", "message": verdict.message}


def _upload_undo(db: sqlite_utils.Database, terminal: Terminal, item: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A queued cancel, or a void of a request whose outcome the terminal never learned."""
    key, target, void = item["nonce"], item["target"], item["kind"] == "void"
    digest = request_hash(item["kind"], target, item["staff_id"], terminal.store_id)
    replay = _replay(db, key, digest)
    if replay is not None:
        return replay[1]
    exists = db.conn.execute("SELECT 1 FROM redemptions WHERE nonce=?", (target,)).fetchone()
    if void and not exists:
        # The original request never arrived: leave a tombstone so that, if it ever does, it is refused.
        refused = Verdict(Reason.OFFLINE_NOT_ALLOWED, "Voided: the terminal refused this voucher.")
        if db.conn.execute("SELECT 1 FROM idempotency WHERE key=?", (target,)).fetchone() is None:
            _remember(db, target, VOID_TOMBSTONE, terminal, 200,
                      {"nonce": target, "verdict": refused.to_dict(), "redemption": None, "voided": True}, now)
        result = {"nonce": key, "result": "voided", "message": "Nothing had been redeemed."}
    else:
        try:
            requested = parse_time(item["requested_at"]) if item.get("requested_at") else None
            cancel(db, terminal, nonce=target, staff_id=item["staff_id"], now=now, requested_at=requested, void=void)
            result = {"nonce": key, "result": "voided" if void else "cancelled", "message": "Undone."}
        except ServiceError as err:
            verdict = Verdict(Reason.RULES_NOT_MET, err.message, detail=err.code)
            result = _conflict(db, terminal, item, verdict, now)
    _remember(db, key, digest, terminal, 200, result, now)
    return result


def upload(db: sqlite_utils.Database, terminal: Terminal, items: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Offline work from a terminal, answered item by item; nothing is dropped, conflicts are kept."""
    results = []
    for item in items:
        try:
            with db.atomic():
                if item["kind"] == "redeem":
                    results.append(_upload_redeem(db, terminal, item, now))
                else:
                    results.append(_upload_undo(db, terminal, item, now))
        except ServiceError as err:
            results.append({"nonce": item["nonce"], "result": "error", "reason": err.code, "message": err.message})
    audit(db, now, "upload", actor=None, terminal=terminal, subject=None, items=len(items),
          accepted=sum(r["result"] == "accepted" for r in results),
          conflicts=sum(r["result"] == "conflict" for r in results))
    return results


def catalog_delta(db: sqlite_utils.Database, store_id: str, since: int, limit: int) -> dict[str, Any]:
    """Everything a store's terminal needs to decide offline that changed after ``since``."""
    conn = db.conn
    conn.execute("BEGIN")  # one snapshot for the counter and every table
    try:
        (upto,) = conn.execute("SELECT value FROM counters WHERE name='version'").fetchone()
        campaigns = [(json.loads(b), v) for b, v in conn.execute("SELECT body, version FROM campaigns")]
        mine = [c["id"] for c, _ in campaigns if c.get("stores") is None or store_id in c["stores"]]
        marks = ",".join("?" * len(mine))
        vouchers = [] if not mine else conn.execute(
            f"SELECT code, campaign_id, customer_id, claimed_at, status, redeemed_at, redeemed_store, "
            f"redeemed_nonce, version FROM vouchers WHERE version > ? AND version <= ? AND campaign_id IN ({marks}) "
            f"ORDER BY version LIMIT ?",
            (since, upto, *mine, limit),
        ).fetchall()
        more = len(vouchers) == limit
        if more:
            upto = vouchers[-1][-1]

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return conn.execute(sql, (since, upto)).fetchall()

        body = {
            "cursor": upto,
            "more": more,
            "stores": [{"id": r[0], "name": r[1]} for r in rows("SELECT id, name FROM stores WHERE version > ? AND version <= ?")],
            "staff": [{"id": r[0], "name": r[1], "role": r[2], "active": bool(r[3])}
                      for r in rows("SELECT id, name, role, active FROM staff WHERE version > ? AND version <= ?")],
            "verifiers": [{"staff_id": r[0], "all_stores": bool(r[1]), "stores": json.loads(r[2]), "active": bool(r[3])}
                          for r in rows("SELECT staff_id, all_stores, stores, active FROM verifiers "
                                        "WHERE version > ? AND version <= ?")],
            "campaigns": [c for c, v in campaigns if since < v <= upto],
            "keys": [{"kid": r[0], "public": r[1]} for r in rows("SELECT kid, public FROM keys WHERE version > ? AND version <= ?")],
            "vouchers": [
                {"code": r[0], "campaign_id": r[1], "customer_id": r[2], "claimed_at": r[3], "status": r[4],
                 "redeemed_at": r[5], "redeemed_store": r[6], "redeemed_nonce": r[7]}
                for r in vouchers
            ],
        }
    finally:
        conn.execute("COMMIT")
    return body
