"""A request the service carried out but whose answer was lost: resolved by its nonce, never anew.

The terminal talks to the real service through a transport that delivers the request and then
drops the answer, as a connection cut after sending would.
"""

from __future__ import annotations

import httpx

from pos.domain import Reason
from pos.terminal.endpoint import Endpoint
from pos.terminal.localdb import LocalDB

from .conftest import Shop


class AnswerLost(httpx.HTTPTransport):
    """Sends the request for real, then reports a read timeout instead of the answer."""

    def __init__(self, lose: int) -> None:
        super().__init__()
        self.lose = lose
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        self.sent += 1
        if self.lose > 0 and request.url.path == "/v1/redemptions":
            self.lose -= 1
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


def with_transport(shop: Shop, terminal_id: str, transport: httpx.BaseTransport):
    t = shop.terminal(terminal_id)
    t.endpoint = t.counter.endpoint = Endpoint(shop.service.url, f"demo-token-riverside-{terminal_id[-1]}",
                                               transport=transport)
    return t


def test_lost_answer_then_retry_gets_the_first_answer(shop: Shop) -> None:
    transport = AnswerLost(lose=1)
    t = with_transport(shop, "S001-T1", transport)
    verdict = t.counter.redeem(shop.codes["spring"], "alice", 62000)
    assert verdict.accepted and not verdict.offline  # the retry with the same nonce got the stored answer
    assert shop.query("SELECT count(*) FROM redemptions") == [(1,)]
    assert shop.query("SELECT count(*) FROM idempotency") == [(1,)]


def test_lost_answers_go_offline_with_the_same_nonce_and_sync_says_duplicate(shop: Shop) -> None:
    t = with_transport(shop, "S001-T1", AnswerLost(lose=2))
    verdict = t.counter.redeem(shop.codes["spring"], "alice", 62000)
    assert verdict.accepted and verdict.offline
    [(nonce,)] = shop.query("SELECT nonce FROM redemptions")
    assert t.db.conn.execute("SELECT nonce FROM outbox").fetchall() == [(nonce,)]
    report = t.sync()
    assert report.results == {"duplicate": 1} and report.ok
    assert shop.query("SELECT count(*) FROM redemptions WHERE cancelled_at IS NULL") == [(1,)]


def test_lost_answer_for_an_online_only_campaign_is_voided_at_sync(shop: Shop) -> None:
    t = with_transport(shop, "S001-T1", AnswerLost(lose=2))
    verdict = t.counter.redeem(shop.codes["vip3"], "alice", 10000)
    assert verdict.reason is Reason.OFFLINE_NOT_ALLOWED  # what the cashier was told
    assert shop.query("SELECT count(*) FROM redemptions WHERE cancelled_at IS NULL") == [(1,)]  # what happened
    report = t.sync()
    assert report.results == {"voided": 1}
    assert shop.query("SELECT cancel_reason FROM redemptions") == [("void",)]
    assert shop.query("SELECT redeemed_nonce FROM vouchers WHERE code=?", shop.codes["vip3"]) == [(None,)]


def test_a_void_before_the_original_arrives_makes_the_late_copy_refused(shop: Shop) -> None:
    t = shop.terminal()
    results = t.endpoint.upload("S001", [{"kind": "void", "nonce": "late-0001-void", "target": "late-0001", "staff_id": "alice"}])
    assert results[0]["result"] == "voided"
    answer = t.endpoint.redeem(nonce="late-0001", code=shop.codes["spring"], staff_id="alice", store_id="S001", amount=62000)
    assert not answer["verdict"]["accepted"]
    assert shop.query("SELECT count(*) FROM redemptions") == [(0,)]


def test_crash_between_answer_and_journal_is_recovered_from_the_service(shop: Shop) -> None:
    from pos.terminal.sync import recover

    t = shop.terminal()
    # the journal entry exists, the service redeemed it, the terminal died before recording the answer
    dead = LocalDB(t.db.path)  # the counter that dies: its own connection, closed without settling
    with dead.atomic():
        dead.journal(at=t.counter.clock(), nonce="crash-00001", raw=shop.codes["spring"], staff_id="alice",
                     store_id="S001", amount=62000, state="pending", mode="online")
    t.endpoint.redeem(nonce="crash-00001", code=shop.codes["spring"], staff_id="alice", store_id="S001", amount=62000)
    with dead.atomic():
        dead.journal(at=t.counter.clock(), nonce="crash-00002", raw=shop.codes["spring2"], staff_id="alice",
                     store_id="S001", amount=62000, state="pending", mode="online")
    assert recover(t.db, t.endpoint) == 0  # its owner is still alive: in flight, not touched
    dead.close()
    assert recover(t.db, t.endpoint) == 2
    assert t.db.local_redemption(shop.codes["spring"])["nonce"] == "crash-00001"
    states = dict(t.db.conn.execute("SELECT nonce, state FROM journal WHERE nonce LIKE 'crash-%'").fetchall())
    assert states == {"crash-00001": "unshown", "crash-00002": "abandoned"}
    # the cashier scans it again: the acceptance nobody saw is shown now, once
    again = t.counter.decide(shop.codes["spring"], "alice", 62000)
    shown = again.verdict
    assert shown.accepted and shown.discount == 3000 and "restarted" in shown.message
    assert t.counter.redeem(shop.codes["spring"], "alice", 62000).accepted  # not yet confirmed on screen: again
    assert t.counter.shown(again.entry)
    assert t.counter.redeem(shop.codes["spring"], "alice", 62000).reason is Reason.ALREADY_REDEEMED
    assert shop.query("SELECT count(*) FROM redemptions") == [(1,)]
    assert t.sync().results == {"voided": 1}


def died_after_the_service_redeemed(t, code: str, nonce: str) -> None:
    """The terminal journalled the attempt, the service redeemed it, the terminal died before hearing so."""
    dead = LocalDB(t.db.path)
    with dead.atomic():
        dead.journal(at=t.counter.clock(), nonce=nonce, raw=code, staff_id="alice", store_id="S001",
                     amount=62000, state="pending", mode="online", code=code)
    t.endpoint.redeem(nonce=nonce, code=code, staff_id="alice", store_id="S001", amount=62000)
    dead.close()


def test_a_rescan_after_a_crash_continues_the_unsettled_attempt_even_offline(shop: Shop) -> None:
    """... and the service is down when the cashier scans the voucher again."""
    t = shop.terminal()
    code = shop.codes["spring"]
    died_after_the_service_redeemed(t, code, "died-00001")
    shop.service.stop()
    verdict = t.counter.redeem(code, "alice", 62000)  # the cashier scans it again
    assert verdict.accepted and verdict.offline
    assert t.db.conn.execute("SELECT nonce FROM outbox").fetchall() == [("died-00001",)]
    shop.service.start()
    report = t.sync()
    assert report.results == {"duplicate": 1} and not report.conflicts
    assert shop.query("SELECT nonce FROM redemptions WHERE cancelled_at IS NULL") == [("died-00001",)]
    assert t.db.conn.execute("SELECT nonce FROM redemptions WHERE cancelled_at IS NULL").fetchall() == [("died-00001",)]


def test_a_rescan_with_another_amount_voids_the_unsettled_attempt_first(shop: Shop) -> None:
    t = shop.terminal()
    code = shop.codes["spring"]
    died_after_the_service_redeemed(t, code, "died-00002")
    shop.service.stop()
    assert t.counter.redeem(code, "alice", 70000).offline
    shop.service.start()
    report = t.sync()
    assert report.results == {"voided": 1, "accepted": 1} and not report.conflicts
    assert shop.query("SELECT nonce, cancel_reason FROM redemptions ORDER BY recorded_at") == [
        ("died-00002", "void"), (t.db.conn.execute("SELECT nonce FROM redemptions").fetchone()[0], None)]
