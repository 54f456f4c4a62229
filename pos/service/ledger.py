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
from datetime import UTC, datetime, timedelta
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
from pos.domain.offline_time import SKEW, Anchor, judge
from pos.service.engine import Db
from pos.service.schema import SqlCatalog, SqlHistory, voucher_from_row

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
            if err.audit:
                entry = dict(err.audit)
                audit(db, now, entry.pop("action"), actor=entry.pop("actor", None),
                      terminal=entry.pop("terminal", None), subject=entry.pop("subject", None), code=err.code, **entry)
            return err
        if own:
            db.conn.execute("RELEASE guarded")
        return result

    return run


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


def _uploaded_body(row: tuple[Any, ...]) -> dict[str, Any]:
    nonce, _, code, campaign_id, customer_id, store_id, staff_id, terminal_id, amount, discount, at, mode, cancelled = row
    offline = mode != "online"
    verdict = Verdict(Reason.OK, "Accepted offline and uploaded." if offline else f"Accepted: {money(discount)} off.",
                      code=code, campaign_id=campaign_id, customer_id=customer_id, discount=discount, offline=offline)
    return {"nonce": nonce, "verdict": verdict.to_dict(), "redemption": {
        "nonce": nonce, "code": code, "campaign_id": campaign_id, "store_id": store_id, "staff_id": staff_id,
        "terminal_id": terminal_id, "redeemed_at": at, "amount": amount, "discount": discount,
        "customer_id": customer_id, "mode": mode, "cancelled_at": cancelled}}


def _refused_body(row: tuple[Any, ...]) -> dict[str, Any]:
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
        return up[1], up[7], _uploaded_body(up)
    if row[4]:
        refused = db.conn.execute(REFUSED + "=?", (key,)).fetchone()
        return refused[1], refused[6], _refused_body(refused)
    return None


def _replay(db: Db, key: str, digest: str) -> tuple[int, dict[str, Any]] | None:
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


def _remember(db: Db, key: str, digest: str, terminal: Terminal, status: int,
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
    """An online redemption decided now (uploads are decided in runs: :func:`_upload_redeems`)."""
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
    replay = _replay(db, nonce, digest)
    if replay is not None:
        return replay[0], orjson.dumps(replay[1])
    verdict, red = _decide(db, terminal, nonce=nonce, code=code, staff_id=staff_id, amount=amount, now=now, items=items)
    body = {"nonce": nonce, "verdict": verdict.to_dict(), "redemption": red.to_dict() if red else None}
    return 200, _remember(db, nonce, digest, terminal, 200, body, now)


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


def _store_conflict(db: Db, terminal: Terminal, item: dict[str, Any], verdict: Verdict,
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


def _conflict(db: Db, terminal: Terminal, item: dict[str, Any], verdict: Verdict,
              now: datetime) -> dict[str, Any]:
    _store_conflict(db, terminal, item, verdict, now)
    return _conflict_result(item, verdict)


class BatchView:
    """The domain's Catalog and History for one run of uploaded redemptions.

    Vouchers and live redemptions of the whole run are fetched in two queries; what earlier items of
    the run redeem is laid over them, so the same voucher twice in one upload still conflicts.
    """

    def __init__(self, db: Db, codes: list[str]) -> None:
        self.catalog = catalog_of(db)
        self.conn = db.conn
        self.vouchers: dict[str, Any] = {}
        self.live: dict[str, FirstRedemption] = {}
        for chunk in _chunks(sorted(set(codes))):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                    f"SELECT code, campaign_id, customer_id, claimed_at, status FROM vouchers WHERE code IN ({marks})", chunk):
                self.vouchers[row[0]] = voucher_from_row(row)
            for code, at, store, nonce in self.conn.execute(
                    f"SELECT code, redeemed_at, store_id, nonce FROM redemptions WHERE cancelled_at IS NULL "
                    f"AND code IN ({marks})", chunk):
                self.live[code] = FirstRedemption(parse_time(at), store, nonce)
        self.verifiers: dict[str, Any] = {}
        self.campaigns: dict[str, Any] = {}
        self.by_customer: list[tuple[str, str, datetime]] = []

    def voucher(self, code: str) -> Any:
        return self.vouchers.get(code)

    def campaign(self, campaign_id: str) -> Any:
        if campaign_id not in self.campaigns:
            self.campaigns[campaign_id] = self.catalog.campaign(campaign_id)
        return self.campaigns[campaign_id]

    def verifier(self, staff_id: str) -> Any:
        if staff_id not in self.verifiers:
            self.verifiers[staff_id] = self.catalog.verifier(staff_id)
        return self.verifiers[staff_id]

    def public_key(self, kid: str) -> bytes | None:
        return self.catalog.public_key(kid)

    def store_zone(self, store_id: str) -> str:
        return self.catalog.store_zone(store_id)

    def active_redemption(self, code: str) -> FirstRedemption | None:
        return self.live.get(code)

    def customer_redemptions(self, campaign_id: str, customer_id: str, since: datetime | None) -> int:
        stored = SqlHistory(self.conn).customer_redemptions(campaign_id, customer_id, since)
        return stored + sum(1 for c, cu, at in self.by_customer
                            if c == campaign_id and cu == customer_id and (since is None or at >= since))

    def taken(self, red: Redemption) -> None:
        self.live[red.code] = FirstRedemption(red.redeemed_at, red.store_id, red.nonce)
        if red.customer_id:
            self.by_customer.append((red.campaign_id, red.customer_id, red.redeemed_at))


def _chunks(values: list[str], size: int = 900) -> list[list[str]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def _upload_redeems(db: Db, terminal: Terminal, items: list[dict[str, Any]],
                    now: datetime, skew: timedelta = SKEW) -> list[dict[str, Any]]:
    """Offline redemptions, decided in order against a :class:`BatchView`, written with executemany."""
    conn = db.conn
    stamp = format_time(now)
    digests = [redeem_hash(i["code"], i["staff_id"], i.get("amount"), terminal.store_id, i.get("items")) for i in items]
    stored: dict[str, tuple[str, Any]] = {}  # answers already given for these nonces, in any earlier request
    for chunk in _chunks([i["nonce"] for i in items]):
        marks = ",".join("?" * len(chunk))
        for key, digest, response in conn.execute(
                f"SELECT key, request_hash, response FROM idempotency WHERE key IN ({marks})", chunk):
            stored[key] = (digest, response)
        for row in conn.execute(f"{UPLOADED} IN ({marks})", chunk):
            stored[row[0]] = (row[1], {"verdict": {"accepted": True}})
        for row in conn.execute(f"{REFUSED} IN ({marks})", chunk):
            stored[row[0]] = (row[1], _refused_body(row))
    codes = []
    for item in items:
        try:
            codes.append(read_input(item["code"])[0])
        except CodeError:
            pass
    serialise(db, codes)
    view = BatchView(db, codes)
    results: list[dict[str, Any]] = []
    redemptions: list[Redemption] = []
    audits: list[tuple[Any, ...]] = []
    conflicts: list[dict[str, Any]] = []
    flags: list[tuple[Any, ...]] = []  # accepted, but the till's clock was not believed
    at_texts: dict[str, str] = {}  # each redemption's time, formatted once
    hashes: dict[str, str] = {}
    in_run: dict[str, tuple[str, Any]] = {}  # nonces decided earlier in this run (a client may repeat one)
    for item, digest in zip(items, digests, strict=True):
        nonce = item["nonce"]
        previous = in_run.get(nonce) or stored.get(nonce)
        if previous is not None:
            prev_digest, prev_body = previous
            if prev_digest not in (digest, VOID_TOMBSTONE):
                results.append({"nonce": nonce, "result": "error", "reason": "idempotency.mismatch",
                                "message": f"Key {nonce} was already used for a different request."})
                continue
            body = prev_body if isinstance(prev_body, dict) else orjson.loads(prev_body)
            if body["verdict"]["accepted"]:
                results.append({"nonce": nonce, "result": "duplicate", "message": "Already uploaded."})
                continue
            verdict = Verdict.from_dict(body["verdict"])
            if body.get("voided"):
                results.append({"nonce": nonce, "result": "voided", "message": verdict.message})
            else:
                results.append(_conflict_result(item, verdict))
                conflicts.append({"item": item, "verdict": verdict, "digest": prev_digest})
            continue
        # The terminal decided at its own clock; the service decides at that moment when the till's anchor (its
        # last contact plus monotonic seconds) agrees, else at the anchored time, never later than the upload:
        # a till's clock, fast or slow, cannot stretch a voucher's life (see pos.domain.offline_time).
        judged = judge(parse_time(item["redeemed_at"]) if item.get("redeemed_at") else None, _anchor(item), now, skew)
        when = judged.at
        verdict = check(item["code"], store_id=terminal.store_id, staff_id=item["staff_id"], amount=item.get("amount"),
                        catalog=view, history=view, now=when, offline=True, items=item.get("items"))
        if judged.note and not verdict.accepted:
            verdict = verdict.but(message=f"{verdict.message} ({judged.note})")
        red = None
        if verdict.accepted:
            assert verdict.code and verdict.campaign_id
            red = Redemption(nonce, verdict.code, verdict.campaign_id, terminal.store_id, item["staff_id"], when,
                             verdict.discount, item.get("amount"), verdict.customer_id, terminal.id, "offline")
            view.taken(red)
            redemptions.append(red)
            at_texts[nonce] = format_time(when)
            audits.append((stamp, item["staff_id"], terminal.id, terminal.store_id, "redeem", red.code,
                           orjson.dumps({"nonce": nonce, "mode": "offline", "discount": red.discount}).decode()))
            results.append({"nonce": nonce, "result": "accepted", "message": verdict.message}
                           | ({"note": judged.note} if judged.note else {}))
            if judged.note:  # accepted at the trusted time; a manager sees why the till's time was not
                flags.append((nonce, verdict.code, terminal.id, terminal.store_id, "clock", judged.note,
                              orjson.dumps({**item, "clock_code": judged.code}).decode(), None, stamp, None))
        else:
            audits.append((stamp, item["staff_id"], terminal.id, terminal.store_id, "redeem.refused", verdict.code,
                           orjson.dumps({"nonce": nonce, "reason": str(verdict.reason), "mode": "offline"}).decode()))
            results.append(_conflict_result(item, verdict))
            conflicts.append({"item": item, "verdict": verdict, "digest": digest})
        in_run[nonce] = (digest, {"verdict": {"accepted": verdict.accepted}} if red else
                         {"verdict": verdict.to_dict(), "redemption": None})
        if red:
            hashes[nonce] = digest

    if redemptions:
        first = db.next_versions(len(redemptions))
        conn.executemany(
            "INSERT INTO redemptions (nonce, code, campaign_id, customer_id, store_id, staff_id, terminal_id, amount, "
            "discount, redeemed_at, recorded_at, mode, request_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(r.nonce, r.code, r.campaign_id, r.customer_id, r.store_id, r.staff_id, r.terminal_id, r.amount, r.discount,
              at_texts[r.nonce], stamp, r.mode, hashes[r.nonce]) for r in redemptions])
        conn.executemany(
            "UPDATE vouchers SET redeemed_at=?, redeemed_store=?, redeemed_nonce=?, version=? WHERE code=?",
            [(at_texts[r.nonce], r.store_id, r.nonce, first + k, r.code) for k, r in enumerate(redemptions)])
    conn.executemany("INSERT INTO audit (at, actor, terminal_id, store_id, action, subject, detail) VALUES (?,?,?,?,?,?,?)",
                     audits)
    for c in conflicts:
        _store_conflict(db, terminal, c["item"], c["verdict"], now, c["digest"])
    if flags:  # no request hash: a flag is not an answer to replay (the redemption itself is that)
        conn.executemany("INSERT INTO conflicts (nonce, code, terminal_id, store_id, reason, message, item, existing, "
                         "recorded_at, request_hash) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING", flags)
    return results


def _anchor(item: dict[str, Any]) -> Anchor | None:
    clock = item.get("clock")
    if not clock:
        return None
    elapsed = clock.get("elapsed")
    return Anchor(parse_time(clock["contact_at"]), None if elapsed is None else float(elapsed))


def _conflict_result(item: dict[str, Any], verdict: Verdict) -> dict[str, Any]:
    first = verdict.first_redemption
    return {"nonce": item["nonce"], "result": "conflict", "reason": str(verdict.reason), "message": verdict.message,
            "existing": first.to_dict() if first else None}


def _upload_undo(db: Db, terminal: Terminal, item: dict[str, Any], now: datetime) -> dict[str, Any]:
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


def upload(db: Db, terminal: Terminal, items: list[dict[str, Any]], now: datetime,
           skew: timedelta = SKEW) -> list[dict[str, Any]]:
    """Offline work from a terminal, answered item by item, in order; nothing is dropped, conflicts are kept.

    Consecutive redemptions are decided and written as one run; a cancel or void between them is
    applied on its own, so that what it changes is seen by the items after it.
    """
    results: list[dict[str, Any]] = []
    run: list[dict[str, Any]] = []

    def flush() -> None:
        if run:
            results.extend(_upload_redeems(db, terminal, run, now, skew))
            run.clear()

    for item in items:
        if item["kind"] == "redeem":
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


def _verifies_here(row: tuple[Any, ...], store_id: str) -> bool:
    """A staff row with its verifier grant: a cashier who may verify in ``store_id``."""
    _, _, role, active, _, all_stores, stores, granted = row
    return (role == "cashier" and bool(active) and bool(granted)
            and (bool(all_stores) or store_id in json.loads(stores or "[]")))


def catalog_delta(db: Db, store_id: str, since: int, limit: int,
                  terminal_id: str | None = None) -> dict[str, Any]:
    """Everything a store's terminal needs to decide offline that changed after ``since``.

    Vouchers whose live redemption this very terminal made are left out: it knows them from its own
    redemptions, and after a large upload they would otherwise all come straight back.
    """
    conn = db.conn
    db.begin_snapshot()  # one state of every table, and the highest version safe to hand out in it
    try:
        upto = db.feed_upto()
        campaigns = [(json.loads(b), v) for b, v in conn.execute("SELECT body, version FROM campaigns")]
        mine = [c["id"] for c, _ in campaigns if c.get("stores") is None or store_id in c["stores"]]
        marks = ",".join("?" * len(mine))
        vouchers = [] if not mine else conn.execute(
            f"SELECT v.code, v.campaign_id, v.customer_id, v.claimed_at, v.status, v.redeemed_at, v.redeemed_store, "
            f"v.redeemed_nonce, v.version FROM vouchers v LEFT JOIN redemptions r ON r.nonce = v.redeemed_nonce "
            f"WHERE v.version > ? AND v.version <= ? AND v.campaign_id IN ({marks}) "
            f"AND (r.terminal_id IS NULL OR r.terminal_id IS DISTINCT FROM ?) ORDER BY v.version LIMIT ?",
            (since, upto, *mine, terminal_id, limit),
        ).fetchall()
        more = len(vouchers) == limit
        if more:
            upto = vouchers[-1][-1]

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return conn.execute(sql, (since, upto)).fetchall()

        body = {
            "now": format_time(datetime.now(UTC)),  # the service's clock, by which the terminal places offline work
            "cursor": upto,
            "more": more,
            "stores": [{"id": r[0], "name": r[1], "timezone": r[2]}
                       for r in rows("SELECT id, name, timezone FROM stores WHERE version > ? AND version <= ?")],
            # the PIN's salted scrypt hash lets a cashier log in while the network is down: only the hashes
            # of cashiers who may verify in this store travel to it, never a manager's (managers log in
            # online), so a stolen till gives away no PIN that works anywhere else
            "staff": [{"id": r[0], "name": r[1], "role": r[2], "active": bool(r[3]),
                       "pin_hash": r[4] if _verifies_here(r, store_id) else None}
                      for r in rows("SELECT s.id, s.name, s.role, s.active, s.pin_hash, v.all_stores, v.stores, v.active "
                                    "FROM staff s LEFT JOIN verifiers v ON v.staff_id = s.id "
                                    "WHERE s.version > ? AND s.version <= ?")],
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
