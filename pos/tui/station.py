"""The counter's machinery behind the screen: local database, service client and counter, in one thread.

A SQLite connection belongs to the thread that opened it, and the counter's steps for one voucher
must not interleave with another's, so everything that touches the terminal's file runs here, one
job after another. The UI awaits a job's future from an async worker (``await station.call(...)``):
the event loop never blocks, and the screen keeps drawing while the service is being asked.

The terminal's modules (its SQLite file, the service's client, the counter) are imported in the station's
thread when it opens (:meth:`Station.open`, after the login screen's first frame), not with the UI.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pos.domain import Campaign, Reason, Verdict, display, money
from pos.terminal.config import TerminalConfig
from pos.tui import support

if TYPE_CHECKING:
    from pos.terminal.counter import Counter, Decision, Question, Undo
    from pos.terminal.endpoint import Endpoint
    from pos.terminal.localdb import LocalDB
    from pos.terminal.login import Shift

T = TypeVar("T")
Clock = Callable[[], datetime]
_loading = threading.Lock()


def terminal_modules() -> None:
    """Import the terminal's modules (once; from any thread).

    sqlite_utils, which the terminal's file is read through, imports numpy whenever it is installed, only
    to map numpy's number types to column types; the till never stores a numpy value, and numpy costs a
    till with the camera extra some 60 ms and 12 MiB at each start. So numpy is hidden while sqlite_utils
    loads (the camera imports it for real when it is switched on)."""
    with _loading:
        if "pos.terminal.counter" in sys.modules:
            return
        hide = "numpy" not in sys.modules and "sqlite_utils" not in sys.modules
        if hide:
            sys.modules["numpy"] = None  # type: ignore[assignment]  # import numpy → ImportError
        try:
            import sqlite_utils  # noqa: F401
        finally:
            if hide:
                del sys.modules["numpy"]
        import pos.terminal.counter
        import pos.terminal.login  # noqa: F401


@dataclass
class Desk:
    """What a job gets: the thread's own connection, client and counter."""

    db: LocalDB
    endpoint: Endpoint | None
    counter: Counter


@dataclass(frozen=True, slots=True)
class Answer:
    """What the station answers for one scan: the decision or the question, the basket amount it was decided
    on, the voucher's campaign as this terminal's catalog knows it, and an acceptance's row in this shift."""

    decided: Decision | Question
    amount: int | None
    campaign: Campaign | None
    row: ShiftRow | None = None

    @property
    def verdict(self) -> Verdict:
        return self.decided.verdict


@dataclass(frozen=True, slots=True)
class ShiftRow:
    nonce: str
    code: str
    campaign_id: str
    discount: int
    amount: int | None
    redeemed_at: str
    mode: str
    cancelled: bool


class Station:
    def __init__(self, cfg: TerminalConfig, *, clock: Clock, transport: Any = None) -> None:
        self.cfg = cfg
        self.clock = clock
        self.transport = transport  # an httpx transport for every call to the service (tests hold requests)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pos-counter")
        self._desk: Desk | None = None
        self._closed = False

    # -- plumbing -------------------------------------------------------------------------------
    def _open(self) -> Desk:
        if self._desk is None:
            terminal_modules()
            from pos.terminal.counter import Counter
            from pos.terminal.endpoint import Endpoint
            from pos.terminal.localdb import LocalDB

            db = LocalDB(self.cfg.database)
            endpoint = (Endpoint(self.cfg.service_url, self.cfg.token, timeout=self.cfg.timeout, transport=self.transport)
                        if self.cfg.service_url else None)
            self._desk = Desk(db, endpoint, Counter(db, endpoint, store_id=self.cfg.store_id,
                                                    terminal_id=self.cfg.terminal_id, clock=self.clock,
                                                    budget=self.cfg.timeout))
        return self._desk

    def run(self, job: Callable[[Desk], T]) -> Future[T]:
        if self._closed:  # a late job from a worker of a closing app: it is cancelled, not run
            late: Future[T] = Future()
            late.cancel()
            return late
        return self._pool.submit(lambda: job(self._open()))

    async def call(self, job: Callable[[Desk], T]) -> T:
        return await asyncio.wrap_future(self.run(job))

    async def open(self) -> None:
        """Import the terminal's modules, open its file and make the service's client, in the station's thread."""
        await self.call(lambda d: None)

    @property
    def is_open(self) -> bool:
        return self._desk is not None

    def close(self) -> None:
        def shut(desk: Desk) -> None:
            if desk.endpoint is not None:
                desk.endpoint.close()
            desk.db.close()
            self._desk = None

        if self._desk is not None:
            self.run(shut).result()
        self._closed = True
        self._pool.shutdown(wait=True)

    # -- jobs ----------------------------------------------------------------------------------
    async def sign_in(self, staff_id: str, pin: str) -> Shift:
        from pos.terminal.login import LoginError, sign_in

        try:
            shift = await self.call(lambda d: sign_in(d.db, d.endpoint, staff_id, pin, self.clock(), self.cfg.store_id))
        except LoginError as err:
            support.event("login refused", staff=staff_id, code=err.code)
            raise
        support.event("login", staff=staff_id, role=shift.role, link="online" if shift.online else "offline")
        return shift

    async def redeem(self, raw: str, staff_id: str, amount: int | None, goods: str = "") -> Answer:
        """:meth:`start_redeem`, awaited."""
        return await asyncio.wrap_future(self.start_redeem(raw, staff_id, amount, goods))

    def start_redeem(self, raw: str, staff_id: str, amount: int | None, goods: str = "") -> Future[Answer]:
        """Queue a redemption now (scans are decided in the order they were read). Its future holds the
        :class:`Answer`: the counter's decision (confirm it with :meth:`shown` once it is on screen), or the
        question to put to the cashier when the basket is what stands in the way (the amount, or the goods
        typed as in :func:`pos.domain.promotions.parse_lines`, missing, short or unreadable); with it the
        campaign as this terminal knows it and, for an acceptance, the redemption as this shift's list shows
        it (read in the same job)."""
        from pos.domain.promotions import BasketError, parse_lines
        from pos.terminal.counter import Question

        def job(d: Desk) -> Answer:
            items = None
            if goods.strip():  # read with the SKUs of the voucher's campaign (their list prices)
                first = d.counter.check(raw, staff_id, amount)
                campaign = d.db.campaign(first.campaign_id) if first.campaign_id else None
                try:
                    items = parse_lines(goods, known=(s.sku for s in campaign.skus) if campaign else ()) or None
                except BasketError as err:
                    unread = Verdict(Reason.RULES_NOT_MET, err.message, code=first.code,
                                     campaign_id=first.campaign_id, detail=err.code)
                    return Answer(Question("goods", unread), amount, campaign)
            decided = d.counter.attempt(raw, staff_id, amount, items)
            verdict = decided.verdict
            _log_verdict(decided, staff_id, amount)
            campaign = d.db.campaign(verdict.campaign_id) if verdict.campaign_id else None
            if isinstance(decided, Question) or not verdict.accepted or not verdict.code:
                return Answer(decided, amount, campaign)
            r = d.db.local_redemption(verdict.code)
            row = (ShiftRow(r["nonce"], r["code"], r["campaign_id"], r["discount"], r["amount"], r["redeemed_at"],
                            r["mode"], r["cancelled_at"] is not None) if r else None)
            return Answer(decided, amount, campaign, row)
        return self.run(job)

    async def may_verify(self, staff_id: str) -> bool | None:
        """Whether ``staff_id`` may verify vouchers in this terminal's store, by its catalog; None when the
        catalog does not know the person yet (a till before its first pull)."""
        def rights(d: Desk) -> bool | None:
            verifier = d.db.verifier(staff_id)
            if verifier is None and d.db.staff_member(staff_id) is None:
                return None
            return verifier is not None and verifier.may_verify_at(self.cfg.store_id)
        return await self.call(rights)

    async def shown(self, entry: int) -> bool:
        """The verdict of journal entry ``entry`` is on the screen."""
        return await self.call(lambda d: d.counter.shown(entry))

    async def cancel(self, nonce: str, staff_id: str) -> tuple[Undo, Campaign | None]:
        """Undo a redemption of this terminal; with it the campaign it was of, as the catalog knows it."""
        def job(d: Desk) -> tuple[Undo, Campaign | None]:
            red = d.db.live_redemption_by_nonce(nonce)
            done = d.counter.cancel(nonce, staff_id)
            support.event("undo", code=display(done.code), staff=staff_id, queued="yes" if done.queued else None)
            return done, d.db.campaign(red["campaign_id"]) if red else None
        return await self.call(job)

    async def pending(self) -> int:
        return await self.call(lambda d: d.db.pending_count())

    async def store(self) -> tuple[str, str | None]:
        """This terminal's store: its name and time zone, once a catalog pull has brought them."""
        return await self.call(lambda d: d.db.store(self.cfg.store_id))

    async def shift(self, since: str, limit: int = 200) -> list[ShiftRow]:
        """This terminal's redemptions since the shift began, newest first."""
        def rows(d: Desk) -> list[ShiftRow]:
            return [ShiftRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] is not None) for r in d.db.conn.execute(
                "SELECT nonce, code, campaign_id, discount, amount, redeemed_at, mode, cancelled_at FROM redemptions "
                "WHERE redeemed_at >= ? ORDER BY redeemed_at DESC LIMIT ?", (since, limit))]
        return await self.call(rows)

    async def outbox(self, limit: int = 500) -> list[dict[str, Any]]:
        """What the service has still to hear of (waiting, or on its way), with the voucher a cancel or a
        void is about."""
        return await self.call(lambda d: d.db.waiting(limit))

    async def conflicts(self, limit: int = 500) -> list[dict[str, Any]]:
        return await self.call(lambda d: list(d.db.db.query(
            "SELECT nonce, code, reason, message, ours, theirs, recorded_at FROM conflicts ORDER BY recorded_at DESC "
            "LIMIT ?", [limit])))


def _log_verdict(decided: Any, staff_id: str, amount: int | None) -> None:
    """A line for the support log: the verdict (or the question put to the cashier), never the raw input of a
    code that did not read (it may be anything the scanner saw)."""
    verdict: Verdict = decided.verdict
    facts: dict[str, object] = {"code": display(verdict.code) if verdict.code else None, "reason": str(verdict.reason), "staff": staff_id,
                                "detail": verdict.detail, "amount": money(amount) if amount is not None else None}
    if verdict.accepted:
        facts.update(discount=money(verdict.discount), mode="offline" if verdict.offline else "online")
    field = getattr(decided, "field", None)
    support.event(f"asked for the {field}" if field else "verdict", **facts)
