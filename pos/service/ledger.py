"""What the service does with a counter's request, as functions of a database connection: redeem, cancel,
look up, and what they share with the other changes (idempotency keys, the audit, refusals as answers).
Offline uploads are in :mod:`pos.service.upload`, the catalog feed in :mod:`pos.service.feed`.

Mutations run on the :class:`~pos.service.writer.Writer` thread; each returns an HTTP status and a JSON
body, which for idempotent requests is stored under the client's key and replayed verbatim (Stripe's
semantics: same key and body → the first answer again; same key, other body → an error).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from pos.domain import (
    CodeError,
    FirstRedemption,
    Reason,
    Redemption,
    Verdict,
    cancel_refusal,
    check,
    format_time,
    money,
    parse_time,
    read_input,
)
from pos.domain.campaigns import CampaignError
from pos.service.engine import Db
from pos.service.schema import SqlCatalog, SqlHistory

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


class RulesRefused(ServiceError):
    """A change the domain's rules refuse (a campaign, a push); ``problems`` go back to the form field by field.
    409 when the thing is in the wrong state (``*.non.*`` codes), else 422."""

    def __init__(self, err: CampaignError, audit_entry: dict[str, Any] | None = None, status: int | None = None) -> None:
        super().__init__(status or (409 if ".non." in err.code else 422), err.code, err.message, audit_entry)
        self.problems = err.problems


def guarded(op: Callable[[Db], Any], now: datetime) -> Callable[[Db], Any]:
    """Run ``op`` in its own savepoint; on a refusal, undo its writes but keep the refusal's audit entry.

    Returns the op's result, or the :class:`ServiceError` (to be raised by the caller, off the writer thread).
    """

    def run(db: Db) -> Any:
        # the writer's savepoint for this request serves, when there is one (a round trip saved per request)
        own = db.savepoint is None
        name = "guarded" if own else db.savepoint
        if own:
            db.conn.execute("SAVEPOINT guarded")
        try:
            result = op(db)
        except ServiceError as err:
            db.conn.execute(f"ROLLBACK TO {name}")
            if own:
                db.conn.execute("RELEASE guarded")
            audit_refusal(db, err, now)
            return err
        if own:
            db.conn.execute("RELEASE guarded")
        return result

    return run


def audit_refusal(db: Db, err: ServiceError, now: datetime) -> None:
    """The audit entry a refusal leaves behind, if it has one."""
    if err.audit:
        entry = dict(err.audit)
        audit(db, now, entry.pop("action"), actor=entry.pop("actor", None),
              terminal=entry.pop("terminal", None), subject=entry.pop("subject", None), code=err.code, **entry)


def serialise(db: Db, codes: list[str]) -> None:
    """Where several writers run at once (PostgreSQL), make deciding and recording these vouchers one
    step: lock each voucher, and each customer whose per-person limits they count against, so that two
    transactions cannot both find "not yet used" and both write. (The one-live-redemption index is the
    last line; a violation of it is retried, and the retry finds the first redemption.)"""
    if not db.concurrent:
        return
    wanted = set()
    for text in codes:
        try:
            wanted.add(read_input(text)[0])
        except CodeError:
            pass
    db.lock_vouchers(sorted(wanted))


def catalog_of(db: Db) -> SqlCatalog:
    """One catalog per connection, so parsed campaigns are cached across requests."""
    cat = db.__dict__.get("_pos_catalog")
    if cat is None:
        cat = db.__dict__["_pos_catalog"] = SqlCatalog(db.conn)
    return cat


def request_hash(*parts: Any) -> str:
    """What makes two requests "the same" for idempotency: the parts, in a fixed order."""
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()


def redeem_hash(code: str, staff_id: str, amount: int | None, store_id: str, items: list[dict[str, Any]] | None) -> str:
    """The idempotency hash of a redeem; the basket's lines count only when there are any."""
    if items:
        return request_hash("redeem", code.strip(), staff_id, amount, store_id, items)
    return request_hash("redeem", code.strip(), staff_id, amount, store_id)


def audit(db: Db, now: datetime, action: str, *, actor: str | None, terminal: Terminal | None,
          subject: str | None, **detail: Any) -> None:
    db.conn.execute(
        "INSERT INTO audit (at, actor, terminal_id, store_id, action, subject, detail) VALUES (?,?,?,?,?,?,?)",
        (format_time(now), actor, terminal.id if terminal else None, terminal.store_id if terminal else None,
         action, subject, orjson.dumps(detail, default=str).decode() if detail else None),
    )


UPLOADED = ("SELECT nonce, request_hash, code, campaign_id, customer_id, store_id, staff_id, terminal_id, amount, "
            "discount, redeemed_at, mode, cancelled_at FROM redemptions WHERE request_hash IS NOT NULL AND nonce")
REFUSED = "SELECT nonce, request_hash, code, reason, message, existing, terminal_id FROM conflicts WHERE request_hash IS NOT NULL AND nonce"


def uploaded_body(row: tuple[Any, ...]) -> dict[str, Any]:
    nonce, _, code, campaign_id, customer_id, store_id, staff_id, terminal_id, amount, discount, at, mode, cancelled = row
    offline = mode != "online"
    verdict = Verdict(Reason.OK, "Accepted offline and uploaded." if offline else f"Accepted: {money(discount)} off.",
                      code=code, campaign_id=campaign_id, customer_id=customer_id, discount=discount, offline=offline)
    return {"nonce": nonce, "verdict": verdict.to_dict(), "redemption": {
        "nonce": nonce, "code": code, "campaign_id": campaign_id, "store_id": store_id, "staff_id": staff_id,
        "terminal_id": terminal_id, "redeemed_at": at, "amount": amount, "discount": discount,
        "customer_id": customer_id, "mode": mode, "cancelled_at": cancelled}}


def refused_body(row: tuple[Any, ...]) -> dict[str, Any]:
    nonce, _, code, reason, message, existing, _terminal = row
    first = FirstRedemption.from_dict(orjson.loads(existing)) if existing else None
    verdict = Verdict(Reason(reason) if reason in Reason.__members__.values() else Reason.RULES_NOT_MET, message,
                      code=code, offline=True, first_redemption=first)
    return {"nonce": nonce, "verdict": verdict.to_dict(), "redemption": None}


def stored_answer(db: Db, key: str) -> tuple[str, str | None, dict[str, Any]] | None:
    """(request hash, terminal, first answer) for a key: an online request's stored response, or an
    uploaded redemption or conflict, which are their own record. A new key costs one query."""
    row = db.conn.execute(
        "SELECT i.request_hash, i.terminal_id, i.response, "
        "EXISTS (SELECT 1 FROM redemptions r WHERE r.nonce = k.key AND r.request_hash IS NOT NULL), "
        "EXISTS (SELECT 1 FROM conflicts c WHERE c.nonce = k.key AND c.request_hash IS NOT NULL) "
        "FROM (SELECT CAST(? AS TEXT) AS key) AS k LEFT JOIN idempotency i ON i.key = k.key", (key,)).fetchone()
    if row[0] is not None:
        return row[0], row[1], orjson.loads(row[2])
    if row[3]:
        up = db.conn.execute(UPLOADED + "=?", (key,)).fetchone()
        return up[1], up[7], uploaded_body(up)
    if row[4]:
        refused = db.conn.execute(REFUSED + "=?", (key,)).fetchone()
        return refused[1], refused[6], refused_body(refused)
    return None


def first_answer(db: Db, key: str, digest: str) -> tuple[int, dict[str, Any]] | None:
    """The first answer given under ``key`` (None if the key is new); a different request under it is refused."""
    found = stored_answer(db, key)
    if found is None:
        return None
    stored_digest, _, body = found
    if stored_digest not in (digest, VOID_TOMBSTONE):
        raise ServiceError(409, "idempotency.mismatch",
                           f"Key {key} was already used for a different request; use a new key for a new request.",
                           {"action": "idempotency.mismatch", "subject": key})
    return 200, body


def remember(db: Db, key: str, digest: str, terminal: Terminal, status: int,
             body: dict[str, Any], now: datetime) -> bytes:
    """Store the first answer under its key; returns it serialised, ready to send."""
    text = orjson.dumps(body)
    db.conn.execute(
        "INSERT INTO idempotency (key, request_hash, terminal_id, status, response, created_at) VALUES (?,?,?,?,?,?)",
        (key, digest, terminal.id, status, text.decode(), format_time(now)),
    )
    return text


def _record(db: Db, red: Redemption, now: datetime, request_hash: str) -> None:
    """A redemption, with the hash of the request that made it: it answers a retry of that request itself,
    after its idempotency key has expired (see :func:`expire_keys`)."""
    conn = db.conn
    conn.execute(
        "INSERT INTO redemptions (nonce, code, campaign_id, customer_id, store_id, staff_id, terminal_id, amount, "
        "discount, redeemed_at, recorded_at, mode, request_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (red.nonce, red.code, red.campaign_id, red.customer_id, red.store_id, red.staff_id, red.terminal_id,
         red.amount, red.discount, format_time(red.redeemed_at), format_time(now), red.mode, request_hash),
    )
    conn.execute(
        "UPDATE vouchers SET redeemed_at=?, redeemed_store=?, redeemed_nonce=?, version=? WHERE code=?",
        (format_time(red.redeemed_at), red.store_id, red.nonce, db.next_versions(), red.code),
    )


def _decide(db: Db, terminal: Terminal, *, nonce: str, code: str, staff_id: str,
            amount: int | None, now: datetime, items: list[dict[str, Any]] | None = None) -> tuple[Verdict, Redemption | None]:
    """An online redemption decided now (uploads are decided in runs: :mod:`pos.service.upload`)."""
    serialise(db, [code])
    verdict = check(code, store_id=terminal.store_id, staff_id=staff_id, amount=amount, catalog=catalog_of(db),
                    history=SqlHistory(db.conn), now=now, items=items)
    if not verdict.accepted:
        audit(db, now, "redeem.refused", actor=staff_id, terminal=terminal, subject=verdict.code or None,
              nonce=nonce, reason=str(verdict.reason), mode="online")
        return verdict, None
    assert verdict.code and verdict.campaign_id
    red = Redemption(nonce, verdict.code, verdict.campaign_id, terminal.store_id, staff_id, now, verdict.discount,
                     amount, verdict.customer_id, terminal.id, "online")
    _record(db, red, now, redeem_hash(code, staff_id, amount, terminal.store_id, items))
    audit(db, now, "redeem", actor=staff_id, terminal=terminal, subject=red.code, nonce=nonce, mode="online",
          discount=red.discount)
    return verdict, red


def redeem(db: Db, terminal: Terminal, *, nonce: str, code: str, staff_id: str,
           amount: int | None, now: datetime, items: list[dict[str, Any]] | None = None) -> tuple[int, bytes]:
    """An online redemption, decided now and remembered under ``nonce``; returns the answer as JSON bytes."""
    digest = redeem_hash(code, staff_id, amount, terminal.store_id, items)
    replay = first_answer(db, nonce, digest)
    if replay is not None:
        return replay[0], orjson.dumps(replay[1])
    verdict, red = _decide(db, terminal, nonce=nonce, code=code, staff_id=staff_id, amount=amount, now=now, items=items)
    body = {"nonce": nonce, "verdict": verdict.to_dict(), "redemption": red.to_dict() if red else None}
    return 200, remember(db, nonce, digest, terminal, 200, body, now)


def expire_keys(db: Db, now: datetime, keep: timedelta) -> int:
    """Forget idempotency keys older than ``keep`` (at least 24 hours); returns how many.

    What a key recorded is not lost: a redemption answers a retry of its request (and a lookup) from its
    own row, and a voided key's tombstone is kept, so a very late copy of a voided request still counts
    for nothing. Only a request the service refused is forgotten: sent again after that, it is decided
    anew, as a new request would be.
    """
    if keep < timedelta(hours=24):
        raise ValueError("idempotency keys are kept at least 24 hours")
    # (a redemption recorded before redemptions kept their request's hash keeps its key: it cannot answer alone)
    cur = db.conn.execute("DELETE FROM idempotency WHERE created_at < ? AND request_hash != ? AND key NOT IN "
                          "(SELECT nonce FROM redemptions WHERE request_hash IS NULL)",
                          (format_time(now - keep), VOID_TOMBSTONE))
    return cur.rowcount


def lookup(db: Db, terminal: Terminal, nonce: str) -> dict[str, Any]:
    """What became of a request key: the stored answer, with the redemption's present state."""
    found = stored_answer(db, nonce)
    if found is None:
        raise ServiceError(404, "redemption.not_found", f"Nothing was recorded under {nonce}.")
    if found[1] != terminal.id:
        raise ServiceError(403, "terminal.mismatch", "That request was made by another terminal.")
    body = found[2]
    red = db.conn.execute("SELECT cancelled_at FROM redemptions WHERE nonce=?", (nonce,)).fetchone()
    if red is not None and body.get("redemption"):
        body["redemption"]["cancelled_at"] = red[0]
    return body


def cancel(db: Db, terminal: Terminal, *, nonce: str, staff_id: str, now: datetime,
           requested_at: datetime | None = None, void: bool = False) -> dict[str, Any]:
    """Undo a redemption inside its campaign's cancel window (a void, for an unknown outcome, ignores it)."""
    db.lock(f"redemption:{nonce}")  # two undos of one redemption: the second finds it undone
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
            (db.next_versions(), code, nonce),
        )
        audit(db, now, "void" if void else "cancel", actor=staff_id, terminal=terminal, subject=code, nonce=nonce)
    return {"nonce": nonce, "code": code, "cancelled_at": cancelled_at}


def store_conflict(db: Db, terminal: Terminal, item: dict[str, Any], verdict: Verdict,
                   now: datetime, digest: str | None = None) -> None:
    """Keep a conflict for people to settle; never drop the terminal's side of it."""
    first = verdict.first_redemption
    db.conn.execute(
        "INSERT INTO conflicts (nonce, code, terminal_id, store_id, reason, message, item, existing, "
        "recorded_at, request_hash) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        (item["nonce"], verdict.code, terminal.id, terminal.store_id, str(verdict.reason), verdict.message,
         orjson.dumps(item).decode(), orjson.dumps(first.to_dict()).decode() if first else None, format_time(now),
         digest),
    )
