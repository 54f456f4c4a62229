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

Only then is the verdict returned to be shown; its journal entry is ``given``. The caller confirms
that it reached the screen (:meth:`Counter.shown`), which makes it ``shown``; a verdict given by a
counter that died before confirming is shown again at the next scan of that voucher.

A refusal the cashier can put right at the counter — the basket amount or the goods the voucher's rules
need are missing, or below its minimum — is not a verdict but a :class:`Question` (:meth:`Counter.attempt`):
the counter keeps the voucher and asks for the field again. Every other refusal is final.

Every write goes through :class:`~pos.terminal.localdb.LocalDB`; the states and which may follow which
are in :mod:`pos.terminal.states`.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pos.domain import Reason, Verdict, cancel_refusal, check, format_time, normalise, parse_time
from pos.domain.codes import CodeError
from pos.domain.offline_time import SKEW
from pos.terminal.endpoint import Endpoint, Refused, UnknownOutcome, Unreachable
from pos.terminal.localdb import LocalDB

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def offline_item(nonce: str, raw: str, staff_id: str, amount: int | None, at: datetime,
                 items: list[dict[str, Any]] | None = None, clock: dict[str, Any] | None = None) -> dict[str, Any]:
    """The outbox entry for a redemption accepted offline: what ``pos sync`` uploads. ``clock`` is the
    terminal's anchor (its last contact with the service and the monotonic seconds since), by which the
    service checks ``at``, the wall clock's word."""
    item: dict[str, Any] = {"kind": "redeem", "nonce": nonce, "code": raw.strip(), "staff_id": staff_id, "amount": amount,
            "redeemed_at": format_time(at)}
    if items:
        item["items"] = items
    if clock:
        item["clock"] = clock
    return item


class CancelError(Exception):
    """An undo that cannot be done; the message is for the cashier."""


@dataclass(frozen=True, slots=True)
class Undo:
    nonce: str
    code: str
    queued: bool  # True when the service will hear of it at the next sync


@dataclass(frozen=True, slots=True)
class Decision:
    """A verdict and the journal entry that holds it, to be confirmed once it is on screen."""

    verdict: Verdict
    entry: int


#: The refusals the cashier can fix at the counter, by their detail code, and the field that fixes them.
FIXABLE: dict[str, str] = {
    "rules.amount_required": "amount",
    "rules.min_spend": "amount",  # the goods instead, when the basket was given as goods
    "rules.items_required": "goods",
    "rules.min_items": "goods",
    "rules.bundle_incomplete": "goods",
}


def fixable(verdict: Verdict, goods_given: bool = False) -> str | None:
    """The field ("amount" or "goods") that would turn this refusal into a verdict, or None when it is final:
    only a basket that is missing or short is fixable (a basket that cannot be read is asked for again)."""
    if verdict.reason is not Reason.RULES_NOT_MET or not verdict.detail:
        return None
    if verdict.detail.startswith("basket."):
        return "goods"
    field = FIXABLE.get(verdict.detail)
    if field == "amount" and verdict.detail == "rules.min_spend" and goods_given:
        return "goods"
    return field


@dataclass(frozen=True, slots=True)
class Question:
    """A refusal the cashier can fix: the voucher is kept and ``field`` ("amount" or "goods") asked for again.
    ``verdict`` says why, with its facts (the minimum spend, the basket given); it was never shown as a verdict."""

    field: str
    verdict: Verdict


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
              items: list[dict[str, Any]] | None = None, anchor: dict[str, Any] | None = None) -> Verdict:
        """``anchor``: the clock anchor already read for this offline decision (else it is read here)."""
        now = self.trusted_now(anchor) if offline else self.clock()
        return check(raw, store_id=self.store_id, staff_id=staff_id, amount=amount, catalog=self.db,
                     history=self.db, now=now, offline=offline, items=items)

    def trusted_now(self, anchor: dict[str, Any] | None = None) -> datetime:
        """The time an offline decision is made at: the wall clock, unless the anchor (the service's time at
        the last pull plus the monotonic seconds since) says it is off by more than the allowed skew, as the
        service would find at the upload; so a till whose clock is days behind refuses an expired voucher."""
        wall = self.clock()
        anchor = anchor if anchor is not None else self.db.clock_anchor()
        if anchor is None or anchor["elapsed"] is None:
            return wall
        anchored = parse_time(anchor["contact_at"]) + timedelta(seconds=anchor["elapsed"])
        return anchored if abs(wall - anchored) > SKEW else wall

    def redeem(self, raw: str, staff_id: str, amount: int | None = None, items: list[dict[str, Any]] | None = None) -> Verdict:
        """:meth:`decide`, for callers that do not confirm the display (its entry stays ``given``)."""
        return self.decide(raw, staff_id, amount, items).verdict

    def shown(self, entry: int) -> bool:
        """The verdict of ``entry`` reached the screen: it is not shown again after a restart."""
        return self.db.mark_shown(entry)

    def attempt(self, raw: str, staff_id: str, amount: int | None = None,
                items: list[dict[str, Any]] | None = None) -> Decision | Question:
        """:meth:`decide`, unless the basket is what stands in the way (see :func:`fixable`): then the field to
        ask for. A refusal this terminal sees coming is neither journalled nor sent; one the service gave (a
        voucher issued after the last pull) is confirmed shown at once: the cashier saw a question, not it."""
        goods = bool(items)
        local = self.check(raw, staff_id, amount, items=items or None)
        field = fixable(local, goods)
        if field is not None:
            return Question(field, local)
        decision = self.decide(raw, staff_id, amount, items)
        field = fixable(decision.verdict, goods)
        if field is not None:
            self.shown(decision.entry)
            return Question(field, decision.verdict)
        return decision

    def decide(self, raw: str, staff_id: str, amount: int | None = None, items: list[dict[str, Any]] | None = None) -> Decision:
        """Redeem ``raw`` for this basket (an amount, and the lines when the promotion depends on the goods)."""
        items = items or None
        now = self.clock()
        local = self.check(raw, staff_id, amount, items=items)
        answered = self._answer_here(local, raw, staff_id, amount, now)
        if answered is not None:
            return answered
        begun = self._begin(local, raw, staff_id, amount, items, now)
        if begun is None:  # a sync's recovery settled an earlier attempt a moment ago: decide afresh
            return self.decide(raw, staff_id, amount, items)
        nonce, entry, continued = begun
        if self.endpoint is None:
            return self._offline(raw, staff_id, amount, nonce, entry, maybe_sent=continued, items=items)
        started = time.monotonic()
        try:
            try:
                answer = self._ask(nonce, raw, staff_id, amount, items)
            except Unreachable:
                return self._offline(raw, staff_id, amount, nonce, entry, maybe_sent=continued, items=items)
            except UnknownOutcome:
                if time.monotonic() - started > self.budget / 2:
                    return self._offline(raw, staff_id, amount, nonce, entry, maybe_sent=True, items=items)
                try:
                    answer = self._ask(nonce, raw, staff_id, amount, items)
                except (Unreachable, UnknownOutcome):
                    return self._offline(raw, staff_id, amount, nonce, entry, maybe_sent=True, items=items)
        except Refused:
            self.db.mark_error(entry)
            raise
        return self._online(answer, staff_id, amount, nonce, entry, now)

    def _answer_here(self, local: Verdict, raw: str, staff_id: str, amount: int | None, now: datetime) -> Decision | None:
        """What this terminal answers without the service: garbage and forgeries, a voucher it already took,
        and an acceptance a restart kept off the screen (shown now)."""
        own = (self.db.local_redemption(local.code)
               if local.reason is Reason.ALREADY_REDEEMED and local.code else None)  # this terminal's own
        if own is not None:
            again = self.db.unshown_acceptance(own["nonce"])
            if again is not None:
                verdict = Verdict(Reason.OK, f"{again['message']} (recorded just before the terminal restarted)",
                                  code=local.code, campaign_id=own["campaign_id"], customer_id=own["customer_id"],
                                  discount=again["discount"] or 0)
                return Decision(verdict, again["id"])
        if own is None and local.reason not in (Reason.MALFORMED, Reason.FORGED):
            return None
        with self.db.atomic():
            entry = self.db.journal(at=now, nonce=None, raw=raw, staff_id=staff_id, store_id=self.store_id,
                                    amount=amount, state="given", mode="local", verdict=local)
            self.db.audit(now, "redeem.refused", actor=staff_id, subject=local.code, reason=str(local.reason))
        return Decision(local, entry)

    def _begin(self, local: Verdict, raw: str, staff_id: str, amount: int | None, items: list[dict[str, Any]] | None,
               now: datetime) -> tuple[str, int, bool] | None:
        """Journal the attempt: ``(nonce, entry, continued)``, or None if recovery got to an earlier one first.

        An earlier attempt at this voucher whose counter died before learning its outcome is continued under
        its nonce, so the service takes it for the same request; one with other details is voided first.
        """
        prior = self.db.unsettled_attempt(local.code) if local.code else None
        same_items = (json.loads(prior["items"]) if prior and prior["items"] else None) == items
        if prior is not None and prior["staff_id"] == staff_id and prior["amount"] == amount and same_items:
            return (prior["nonce"], prior["id"], True) if self.db.take_over(prior["id"]) else None
        nonce = uuid.uuid4().hex
        with self.db.atomic():
            if prior is not None and not self.db.abandon(prior["id"], prior["nonce"], prior["staff_id"], now):
                return None
            entry = self.db.journal(at=now, nonce=nonce, raw=raw, staff_id=staff_id, store_id=self.store_id,
                                    amount=amount, state="pending", mode="online", code=local.code, items=items)
        return nonce, entry, False

    def _online(self, answer: dict[str, Any], staff_id: str, amount: int | None, nonce: str, entry: int,
                now: datetime) -> Decision:
        """The service's answer settles the attempt."""
        verdict = Verdict.from_dict(answer["verdict"])
        try:
            with self.db.atomic():
                self.db.settle(entry, "given", mode="online", verdict=verdict)
                if verdict.accepted:
                    self.db.remember(nonce, verdict, store_id=self.store_id, staff_id=staff_id, amount=amount,
                                     at=parse_time(answer["redemption"]["redeemed_at"]), mode="online")
        except sqlite3.IntegrityError:
            # Another connection of this terminal (a shell's pos redeem) took the voucher offline a moment
            # ago: that one stands, the service's acceptance of ours is voided at the next sync.
            return self._taken_meanwhile(verdict, staff_id, nonce, entry, now, void=True)
        return Decision(verdict, entry)

    def _ask(self, nonce: str, raw: str, staff_id: str, amount: int | None, items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        assert self.endpoint is not None
        return self.endpoint.redeem(nonce=nonce, code=raw.strip(), staff_id=staff_id, store_id=self.store_id,
                                    amount=amount, items=items)

    def _offline(self, raw: str, staff_id: str, amount: int | None, nonce: str, entry: int, *, maybe_sent: bool,
                 items: list[dict[str, Any]] | None = None) -> Decision:
        """Decide with the campaign's offline policy. ``maybe_sent``: the service may hold this nonce already."""
        now = self.clock()
        anchor = self.db.clock_anchor()  # read once: the time it decides at, and what goes up with the redemption
        verdict = self.check(raw, staff_id, amount, offline=True, items=items, anchor=anchor)
        try:
            with self.db.atomic():
                if verdict.accepted:
                    self.db.remember(nonce, verdict, store_id=self.store_id, staff_id=staff_id, amount=amount, at=now,
                                     mode="offline")
                    self.db.enqueue(nonce, "redeem", offline_item(nonce, raw, staff_id, amount, now, items, anchor), now,
                                    maybe_sent=maybe_sent)
                    verdict = verdict.but(message=verdict.message + " (offline: uploaded at the next sync)")
                elif maybe_sent:
                    # The service may have redeemed it although we refuse: void that at the next sync.
                    self.db.enqueue_void(nonce, staff_id, now)
                self.db.settle(entry, "given", mode="offline", verdict=verdict)
                self.db.audit(now, "redeem" if verdict.accepted else "redeem.refused", actor=staff_id,
                              subject=verdict.code, nonce=nonce, mode="offline", reason=str(verdict.reason))
        except sqlite3.IntegrityError:  # another connection of this terminal took it a moment ago
            return self._taken_meanwhile(verdict, staff_id, nonce, entry, now, void=maybe_sent)
        return Decision(verdict, entry)

    def _taken_meanwhile(self, verdict: Verdict, staff_id: str, nonce: str, entry: int, now: datetime, *,
                         void: bool) -> Decision:
        first = self.db.active_redemption(verdict.code or "")
        refused = Verdict(Reason.ALREADY_REDEEMED, "Already redeemed at this terminal a moment ago.", code=verdict.code,
                          campaign_id=verdict.campaign_id, offline=True, first_redemption=first)
        with self.db.atomic():
            if void:  # ours may be live on the service: undo it before the other one goes up
                self.db.void_ahead_of(nonce, staff_id, now, first.nonce if first else None)
            self.db.settle(entry, "given", mode="offline", verdict=refused)
        return Decision(refused, entry)

    # -- undo ---------------------------------------------------------------------------------------
    def cancel(self, code_or_nonce: str, staff_id: str) -> Undo:
        """Undo this terminal's live redemption of a voucher, inside the campaign's cancel window.

        Where the redemption is decides how: still waiting in the outbox → withdrawn (and voided on the
        service too if an unanswered request may have reached it); on its way in an upload → a cancel is
        queued behind it; known to the service → cancelled online, or queued when it cannot be reached.
        """
        now = self.clock()
        try:
            red = self.db.local_redemption(normalise(code_or_nonce))
        except CodeError:
            red = self.db.live_redemption_by_nonce(code_or_nonce.strip())
        if red is None:
            raise CancelError("This terminal has no live redemption of that voucher to undo.")
        verifier = self.db.verifier(staff_id)
        if verifier is None or not verifier.may_verify_at(self.store_id):
            raise CancelError(f"Staff member {staff_id} may not undo redemptions in this store.")
        problem = cancel_refusal(parse_time(red["redeemed_at"]), self.db.campaign(red["campaign_id"]), now)
        if problem:
            raise CancelError(problem)
        nonce = red["nonce"]
        with self.db.atomic():
            sent = self.db.outbox_entry(nonce)
            if sent is not None and sent["state"] == "pending" and self.db.withdraw(nonce, now):
                if sent["maybe_sent"]:  # an earlier request with this nonce may have reached the service
                    self.db.enqueue_void(nonce, staff_id, now)
                return self._undone(red, staff_id, now, queued=True)
            if sent is not None and sent["state"] == "sending":
                self.db.enqueue_cancel(nonce, staff_id, now)  # behind the upload that carries it
                return self._undone(red, staff_id, now, queued=True)
            if red["state"] == "conflict":  # the service never took it: nothing to cancel there
                return self._undone(red, staff_id, now, queued=False)
            # Known to the service: journal the undo before asking, so a crash in between is finished later.
            intent = self.db.journal(at=now, nonce=nonce, raw=red["code"], staff_id=staff_id, store_id=self.store_id,
                                     amount=red["amount"], state="undoing", mode="online")
        queued = False
        try:
            if self.endpoint is None:
                raise Unreachable("no service configured")
            self.endpoint.cancel(nonce, staff_id=staff_id)
        except (Unreachable, UnknownOutcome):
            queued = True
        except Refused as err:
            with self.db.atomic():
                self.db.close_undo(intent, "error")
            raise CancelError(err.message) from err
        with self.db.atomic():
            if queued:
                self.db.enqueue_cancel(nonce, staff_id, now)
            return self._undone(red, staff_id, now, queued=queued, intent=intent)

    def _undone(self, red: dict[str, Any], staff_id: str, now: datetime, *, queued: bool, intent: int | None = None) -> Undo:
        """Record the undo (inside the caller's transaction); a second undo of the same changes nothing."""
        nonce = red["nonce"]
        mode = "offline" if queued else "online"
        changed = self.db.cancel_redemption(nonce, now)
        if intent is not None:
            self.db.close_undo(intent, "cancelled", mode=mode)
        elif changed:
            self.db.journal(at=now, nonce=nonce, raw=red["code"], staff_id=staff_id, store_id=self.store_id,
                            amount=red["amount"], state="cancelled", mode=mode)
        if changed:
            self.db.audit(now, "cancel", actor=staff_id, subject=red["code"], nonce=nonce, queued=queued)
        return Undo(nonce, red["code"], queued)
