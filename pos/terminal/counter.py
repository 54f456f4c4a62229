"""The redemption path at the counter, shared by ``pos redeem`` and the terminal UI.

Order of events for one scan, each step committed before the next:

1. check locally (format, signature, permission, validity, this terminal's own history) — garbage,
   forgeries and a voucher this terminal already took are refused here with no network call;
2. journal the attempt under a fresh nonce (state ``pending``);
3. ask the service (≈2 s budget). An answer settles the journal. *Unreachable* → the offline path.
   *Unknown outcome* → ask once more with the same nonce; still unknown → the offline path, keeping
   that nonce, so the upload is recognised as the same redemption if the first one did go through;
4. offline: decide with the campaign's offline policy; an acceptance goes to the outbox and this
   terminal's redemptions in the same transaction as the journal entry.

Only then is the verdict returned to be shown.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pos.domain import Reason, Verdict, cancel_refusal, check, format_time, normalise, parse_time
from pos.domain.codes import CodeError
from pos.terminal.endpoint import Endpoint, Refused, UnknownOutcome, Unreachable
from pos.terminal.localdb import LocalDB

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def offline_item(nonce: str, raw: str, staff_id: str, amount: int | None, at: datetime,
                 items: list[dict] | None = None) -> dict:
    """The outbox entry for a redemption accepted offline: what ``pos sync`` uploads."""
    item = {"kind": "redeem", "nonce": nonce, "code": raw.strip(), "staff_id": staff_id, "amount": amount,
            "redeemed_at": format_time(at)}
    if items:
        item["items"] = items
    return item


class CancelError(Exception):
    """An undo that cannot be done; the message is for the cashier."""


@dataclass(frozen=True, slots=True)
class Undo:
    nonce: str
    code: str
    queued: bool  # True when the service will hear of it at the next sync


class Counter:
    def __init__(self, db: LocalDB, endpoint: Endpoint | None, *, store_id: str, terminal_id: str,
                 clock: Clock = utcnow, budget: float = 2.0) -> None:
        self.db = db
        self.endpoint = endpoint
        self.store_id = store_id
        self.terminal_id = terminal_id
        self.clock = clock
        self.budget = budget

    def check(self, raw: str, staff_id: str, amount: int | None, *, offline: bool = False,
              items: list[dict] | None = None) -> Verdict:
        return check(raw, store_id=self.store_id, staff_id=staff_id, amount=amount, catalog=self.db,
                     history=self.db, now=self.clock(), offline=offline, items=items)

    def redeem(self, raw: str, staff_id: str, amount: int | None = None, items: list[dict] | None = None) -> Verdict:
        """Redeem ``raw`` for this basket (an amount, and the lines when the promotion depends on the goods)."""
        items = items or None
        now = self.clock()
        local = self.check(raw, staff_id, amount, items=items)
        own = (self.db.local_redemption(local.code)
               if local.reason is Reason.ALREADY_REDEEMED and local.code else None)  # this terminal's own
        if own is not None:
            shown_now = self._unshown(local, own, staff_id, now)
            if shown_now is not None:
                return shown_now
        if own is not None or local.reason in (Reason.MALFORMED, Reason.FORGED):
            with self.db.atomic():
                self.db.journal(at=now, nonce=None, raw=raw, staff_id=staff_id, store_id=self.store_id, amount=amount,
                                state="done", mode="local", verdict=local)
                self.db.audit(now, "redeem.refused", actor=staff_id, subject=local.code, reason=str(local.reason))
            return local

        # An earlier attempt at this voucher whose outcome a crash kept from us is continued under its
        # nonce, so the service takes it for the same request; one with other details is voided first.
        prior = self.db.unsettled_attempt(local.code) if local.code else None
        same_items = (json.loads(prior["items"]) if prior and prior["items"] else None) == items
        if prior and prior["staff_id"] == staff_id and prior["amount"] == amount and same_items:
            nonce, entry = prior["nonce"], prior["id"]
        else:
            nonce = uuid.uuid4().hex
            with self.db.atomic():
                if prior:
                    self._enqueue_void(prior["nonce"], prior["staff_id"], now)
                    self.db.conn.execute("UPDATE journal SET state='abandoned' WHERE id=?", (prior["id"],))
                entry = self.db.journal(at=now, nonce=nonce, raw=raw, staff_id=staff_id, store_id=self.store_id,
                                        amount=amount, state="pending", mode="online", code=local.code, items=items)
        if self.endpoint is None:
            return self._offline(raw, staff_id, amount, nonce, entry, maybe_sent=False, items=items)

        started = time.monotonic()
        try:
            try:
                answer = self._ask(nonce, raw, staff_id, amount, items)
            except Unreachable:
                return self._offline(raw, staff_id, amount, nonce, entry, maybe_sent=False, items=items)
            except UnknownOutcome:
                if time.monotonic() - started > self.budget / 2:
                    return self._offline(raw, staff_id, amount, nonce, entry, maybe_sent=True, items=items)
                try:
                    answer = self._ask(nonce, raw, staff_id, amount, items)
                except (Unreachable, UnknownOutcome):
                    return self._offline(raw, staff_id, amount, nonce, entry, maybe_sent=True, items=items)
        except Refused:
            with self.db.atomic():
                self.db.conn.execute("UPDATE journal SET state='error' WHERE id=?", (entry,))
            raise
        verdict = Verdict.from_dict(answer["verdict"])
        with self.db.atomic():
            self.db.settle_journal(entry, state="done", mode="online", verdict=verdict)
            if verdict.accepted:
                self._remember(nonce, verdict, staff_id, amount, parse_time(answer["redemption"]["redeemed_at"]), "online")
        return verdict

    def _unshown(self, local: Verdict, red: dict, staff_id: str, now: datetime) -> Verdict | None:
        """This terminal's acceptance of the voucher that a crash kept off the screen, shown now, once."""
        row = self.db.conn.execute(
            "SELECT id, message, discount FROM journal WHERE nonce=? AND state='unshown'", (red["nonce"],)
        ).fetchone()
        if row is None:
            return None
        verdict = Verdict(Reason.OK, f"{row[1]} (recorded just before the terminal restarted)", code=local.code,
                          campaign_id=red["campaign_id"], customer_id=red["customer_id"], discount=row[2] or 0)
        with self.db.atomic():
            self.db.conn.execute("UPDATE journal SET state='done' WHERE id=?", (row[0],))
            self.db.audit(now, "redeem.shown", actor=staff_id, subject=local.code, nonce=red["nonce"])
        return verdict

    def _ask(self, nonce: str, raw: str, staff_id: str, amount: int | None, items: list[dict] | None = None) -> dict:
        assert self.endpoint is not None
        return self.endpoint.redeem(nonce=nonce, code=raw.strip(), staff_id=staff_id, store_id=self.store_id,
                                    amount=amount, items=items)

    def _remember(self, nonce: str, verdict: Verdict, staff_id: str, amount: int | None, at: datetime, mode: str) -> None:
        self.db.conn.execute(
            "INSERT INTO redemptions (nonce, code, campaign_id, customer_id, store_id, staff_id, amount, discount, "
            "redeemed_at, mode) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (nonce, verdict.code, verdict.campaign_id, verdict.customer_id, self.store_id, staff_id, amount,
             verdict.discount, format_time(at), mode),
        )

    def _offline(self, raw: str, staff_id: str, amount: int | None, nonce: str, entry: int, *, maybe_sent: bool,
                 items: list[dict] | None = None) -> Verdict:
        now = self.clock()
        verdict = self.check(raw, staff_id, amount, offline=True, items=items)
        try:
            with self.db.atomic():
                if verdict.accepted:
                    self._remember(nonce, verdict, staff_id, amount, now, "offline")
                    self.db.enqueue(nonce, "redeem", offline_item(nonce, raw, staff_id, amount, now, items), now)
                    verdict = verdict.but(message=verdict.message + " (offline: uploaded at the next sync)")
                elif maybe_sent:
                    # The service may have redeemed it although we refuse: void that at the next sync.
                    self._enqueue_void(nonce, staff_id, now)
                self.db.settle_journal(entry, state="done", mode="offline", verdict=verdict)
                self.db.audit(now, "redeem" if verdict.accepted else "redeem.refused", actor=staff_id,
                              subject=verdict.code, nonce=nonce, mode="offline", reason=str(verdict.reason))
        except sqlite3.IntegrityError:  # another worker on this terminal took it a moment ago
            first = self.db.active_redemption(verdict.code or "")
            verdict = Verdict(Reason.ALREADY_REDEEMED, "Already redeemed at this terminal a moment ago.", code=verdict.code,
                              campaign_id=verdict.campaign_id, offline=True, first_redemption=first)
            with self.db.atomic():
                if maybe_sent:
                    self._enqueue_void(nonce, staff_id, now)
                self.db.settle_journal(entry, state="done", mode="offline", verdict=verdict)
        return verdict

    def _enqueue_void(self, nonce: str, staff_id: str, now: datetime) -> None:
        key = f"{nonce}-void"
        self.db.enqueue(key, "void", {"kind": "void", "nonce": key, "target": nonce, "staff_id": staff_id}, now)

    # -- undo ---------------------------------------------------------------------------------------
    def cancel(self, code_or_nonce: str, staff_id: str) -> Undo:
        """Undo this terminal's live redemption of a voucher, inside the campaign's cancel window."""
        now = self.clock()
        try:
            code = normalise(code_or_nonce)
            red = self.db.local_redemption(code)
        except CodeError:
            rows = list(self.db.db.query("SELECT * FROM redemptions WHERE nonce=? AND cancelled_at IS NULL",
                                         [code_or_nonce.strip()]))
            red = rows[0] if rows else None
        if red is None:
            raise CancelError("This terminal has no live redemption of that voucher to undo.")
        verifier = self.db.verifier(staff_id)
        if verifier is None or not verifier.may_verify_at(self.store_id):
            raise CancelError(f"Staff member {staff_id} may not undo redemptions in this store.")
        problem = cancel_refusal(parse_time(red["redeemed_at"]), self.db.campaign(red["campaign_id"]), now)
        if problem:
            raise CancelError(problem)
        nonce = red["nonce"]
        queued = False
        with self.db.atomic():
            withdrawn = self.db.conn.execute(
                "UPDATE outbox SET state='withdrawn', updated_at=? WHERE nonce=? AND state='pending'",
                (format_time(now), nonce)).rowcount
        if not withdrawn:
            try:
                if self.endpoint is None:
                    raise Unreachable("no service configured")
                self.endpoint.cancel(nonce, staff_id=staff_id)
            except (Unreachable, UnknownOutcome):
                queued = True
            except Refused as err:
                raise CancelError(err.message) from err
        with self.db.atomic():
            if queued:
                key = f"{nonce}-cancel"
                self.db.enqueue(key, "cancel", {"kind": "cancel", "nonce": key, "target": nonce, "staff_id": staff_id,
                                                "requested_at": format_time(now)}, now)
            self.db.conn.execute("UPDATE redemptions SET cancelled_at=? WHERE nonce=?", (format_time(now), nonce))
            self.db.journal(at=now, nonce=nonce, raw=red["code"], staff_id=staff_id, store_id=self.store_id,
                            amount=red["amount"], state="cancelled", mode="offline" if queued or withdrawn else "online")
            self.db.audit(now, "cancel", actor=staff_id, subject=red["code"], nonce=nonce, queued=queued)
        return Undo(nonce, red["code"], queued or bool(withdrawn))
