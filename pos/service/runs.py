"""Requests decided together: a run of redemptions (the online redeems of one writer batch, the redemptions
of one upload) decided in order against one :class:`BatchView` and written at once.

Everything a run's decisions read is fetched up front in a few ``IN (…)`` queries, and what earlier
requests of the run take is laid over it, so two requests for one voucher in one run are decided as if
one after the other: the first redeems it, the second finds it redeemed. Each online redeem is answered
exactly as :func:`pos.service.ledger.redeem` answers it alone, which is what the writer falls back to if
a run fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from pos.domain import (
    CodeError,
    FirstRedemption,
    Redemption,
    Voucher,
    VoucherStatus,
    check,
    format_time,
    parse_time,
    read_input,
)
from pos.service import ledger
from pos.service.engine import Db
from pos.service.ledger import ServiceError, Terminal, catalog_of, redeem_hash, serialise
from pos.service.schema import SqlHistory

CHUNK = 900  # parameters per IN (…): under SQLite's old limit of 999
INSERT_REDEMPTION = ("INSERT INTO redemptions (nonce, code, campaign_id, customer_id, store_id, staff_id, terminal_id, "
                     "amount, discount, redeemed_at, recorded_at, mode, request_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")
TAKE_VOUCHER = "UPDATE vouchers SET redeemed_at=?, redeemed_store=?, redeemed_nonce=?, version=? WHERE {key}=?"
INSERT_AUDIT = "INSERT INTO audit (at, actor, terminal_id, store_id, action, subject, detail) VALUES (?,?,?,?,?,?,?)"
INSERT_KEY = ("INSERT INTO idempotency (key, request_hash, terminal_id, status, response, created_at) "
              "VALUES (?,?,?,?,?,?)")


class BatchView:
    """The domain's Catalog and History for one run of uploaded redemptions.

    Vouchers and live redemptions of the whole run are fetched in two queries; what earlier items of
    the run redeem is laid over them, so the same voucher twice in one upload still conflicts.
    """

    def __init__(self, db: Db, codes: list[str]) -> None:
        self.catalog = catalog_of(db)
        self.conn = db.conn
        self.vouchers: dict[str, Voucher] = {}
        self.rows: dict[str, Any] = {}  # each voucher's row, for the update that takes it (Db.row_key)
        self.live: dict[str, FirstRedemption] = {}
        claimed: dict[str, datetime] = {}  # claim times read once each (vouchers issued together share one)
        for chunk in chunks(sorted(set(codes))):
            marks = ",".join("?" * len(chunk))
            for key, code, campaign_id, customer_id, at, status in self.conn.execute(
                    f"SELECT {db.row_key}, code, campaign_id, customer_id, claimed_at, status FROM vouchers "
                    f"WHERE code IN ({marks})", chunk):
                when = (claimed.get(at) or claimed.setdefault(at, parse_time(at))) if at else None
                self.vouchers[code] = Voucher(code, campaign_id, customer_id, when, VoucherStatus(status))
                self.rows[code] = key
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


def chunks(values: list[str], size: int = CHUNK) -> list[list[str]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def codes_of(texts: list[str]) -> list[str]:
    """The canonical codes of what was typed or scanned (what cannot be a code is left out: it is refused)."""
    codes = []
    for text in texts:
        try:
            codes.append(read_input(text)[0])
        except CodeError:
            pass
    return codes


@dataclass
class Writes:
    """What a run will write, gathered while it decides: one statement per table at the end."""

    redemptions: list[tuple[Any, ...]] = field(default_factory=list)  # INSERT_REDEMPTION rows
    taken: list[tuple[str, str, str, Any]] = field(default_factory=list)  # (redeemed at, store, nonce, voucher row)
    audits: list[tuple[Any, ...]] = field(default_factory=list)
    keys: list[tuple[Any, ...]] = field(default_factory=list)  # answers kept under their idempotency keys

    def redeemed(self, red: Redemption, at: str, recorded: str, digest: str, row: Any) -> None:
        """A redemption to record; ``row`` is its voucher's (None for a signed voucher the database has no row of)."""
        self.redemptions.append((red.nonce, red.code, red.campaign_id, red.customer_id, red.store_id, red.staff_id,
                                 red.terminal_id, red.amount, red.discount, at, recorded, red.mode, digest))
        if row is not None:
            self.taken.append((at, red.store_id, red.nonce, row))

    def flush(self, db: Db) -> None:
        if self.redemptions:
            db.conn.executemany(INSERT_REDEMPTION, self.redemptions)
        if self.taken:
            first = db.next_versions(len(self.taken))
            db.conn.executemany(TAKE_VOUCHER.format(key=db.row_key),
                                [(at, store, nonce, first + k, row) for k, (at, store, nonce, row) in enumerate(self.taken)])
        if self.audits:
            db.conn.executemany(INSERT_AUDIT, self.audits)
        if self.keys:
            db.conn.executemany(INSERT_KEY, self.keys)


@dataclass(frozen=True, slots=True)
class RedeemCall:
    """One online redeem as the writer runs it: alone, like any change (a call), or with the redeems next to it
    in its batch (:meth:`together`). Either way the answer is (200, the JSON bytes), or the refusal to raise."""

    terminal: Terminal
    nonce: str
    code: str
    staff_id: str
    amount: int | None
    now: datetime
    items: list[dict[str, Any]] | None = None

    def __call__(self, db: Db) -> Any:
        return ledger.guarded(lambda d: ledger.redeem(d, self.terminal, nonce=self.nonce, code=self.code,
                                                      staff_id=self.staff_id, amount=self.amount, now=self.now,
                                                      items=self.items), self.now)(db)

    @staticmethod
    def together(db: Db, calls: list[RedeemCall]) -> list[Any]:
        return redeem_together(db, calls)


def redeem_together(db: Db, calls: list[RedeemCall]) -> list[Any]:
    """Online redeems decided in order as one run: one answer each, as :func:`pos.service.ledger.redeem` gives."""
    digests = [redeem_hash(c.code, c.staff_id, c.amount, c.terminal.store_id, c.items) for c in calls]
    known = _keys_used(db, [c.nonce for c in calls])
    codes = codes_of([c.code for c in calls])
    serialise(db, codes)
    view = BatchView(db, codes)
    writes = Writes()
    answered: dict[str, tuple[str, bytes]] = {}  # nonces decided earlier in this run: (request hash, answer)
    answers: list[Any] = []
    for call, digest in zip(calls, digests, strict=True):
        earlier = answered.get(call.nonce)
        if earlier is not None:
            answers.append(_again(db, call, digest, earlier))
        elif call.nonce in known:
            answers.append(_replay(db, call, digest))
        else:
            answers.append(_decide(call, digest, view, writes))
            answered[call.nonce] = (digest, answers[-1][1])
    writes.flush(db)
    return answers


def _keys_used(db: Db, nonces: list[str]) -> set[str]:
    """Which of these keys something was recorded under before: a stored answer, a redemption, a conflict."""
    used: set[str] = set()
    for chunk in chunks(sorted(set(nonces)), CHUNK // 3):
        marks = ",".join("?" * len(chunk))
        used.update(r[0] for r in db.conn.execute(
            f"SELECT key FROM idempotency WHERE key IN ({marks}) "
            f"UNION SELECT nonce FROM redemptions WHERE request_hash IS NOT NULL AND nonce IN ({marks}) "
            f"UNION SELECT nonce FROM conflicts WHERE request_hash IS NOT NULL AND nonce IN ({marks})", chunk * 3))
    return used


def _replay(db: Db, call: RedeemCall, digest: str) -> Any:
    """A key used before this run: its first answer, or the refusal of another request under it."""
    try:
        replay = ledger.first_answer(db, call.nonce, digest)
    except ServiceError as err:
        ledger.audit_refusal(db, err, call.now)
        return err
    assert replay is not None
    return replay[0], orjson.dumps(replay[1])


def _again(db: Db, call: RedeemCall, digest: str, earlier: tuple[str, bytes]) -> Any:
    """A key decided earlier in this run: the same answer again, or the refusal of another request under it."""
    if earlier[0] != digest:
        err = ServiceError(409, "idempotency.mismatch",
                           f"Key {call.nonce} was already used for a different request; use a new key for a new request.",
                           {"action": "idempotency.mismatch", "subject": call.nonce})
        ledger.audit_refusal(db, err, call.now)
        return err
    return 200, earlier[1]


def _decide(call: RedeemCall, digest: str, view: BatchView, writes: Writes) -> tuple[int, bytes]:
    """A new redeem decided now against the run's view; what it writes is added to ``writes``."""
    terminal, nonce, stamp = call.terminal, call.nonce, format_time(call.now)
    verdict = check(call.code, store_id=terminal.store_id, staff_id=call.staff_id, amount=call.amount, catalog=view,
                    history=view, now=call.now, items=call.items)
    red = None
    if not verdict.accepted:
        detail: dict[str, Any] = {"nonce": nonce, "reason": str(verdict.reason), "mode": "online"}
        writes.audits.append((stamp, call.staff_id, terminal.id, terminal.store_id, "redeem.refused",
                              verdict.code or None, orjson.dumps(detail).decode()))
    else:
        assert verdict.code and verdict.campaign_id
        red = Redemption(nonce, verdict.code, verdict.campaign_id, terminal.store_id, call.staff_id, call.now,
                         verdict.discount, call.amount, verdict.customer_id, terminal.id, "online")
        view.taken(red)
        writes.redeemed(red, stamp, stamp, digest, view.rows.get(red.code))
        detail = {"nonce": nonce, "mode": "online", "discount": red.discount}
        writes.audits.append((stamp, call.staff_id, terminal.id, terminal.store_id, "redeem", red.code,
                              orjson.dumps(detail).decode()))
    text = orjson.dumps({"nonce": nonce, "verdict": verdict.to_dict(), "redemption": red.to_dict() if red else None})
    writes.keys.append((nonce, digest, terminal.id, 200, text.decode(), stamp))
    return 200, text
