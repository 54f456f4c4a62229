"""The redemption loop end to end: real ``pos serve`` on loopback, real SQLite files on both sides."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pos.domain import Reason, format_time
from pos.terminal.counter import CancelError

from .conftest import Shop, cheap_pins


def live(shop: Shop, code: str) -> list[tuple]:
    return shop.query("SELECT nonce, store_id, terminal_id, mode FROM redemptions WHERE code=? AND cancelled_at IS NULL", code)


def test_redeem_online_records_redemption_voucher_and_audit(shop: Shop) -> None:
    t = shop.terminal()
    verdict = t.counter.redeem(shop.codes["spring"], "alice", 62000)
    assert verdict.reason is Reason.OK and not verdict.offline
    assert verdict.discount == 3000
    [(nonce, store, terminal, mode)] = live(shop, shop.codes["spring"])
    assert (store, terminal, mode) == ("S001", "S001-T1", "online")
    assert shop.query("SELECT redeemed_nonce FROM vouchers WHERE code=?", shop.codes["spring"]) == [(nonce,)]
    assert shop.query("SELECT count(*) FROM audit WHERE action='redeem' AND subject=?", shop.codes["spring"]) == [(1,)]
    # the terminal journalled it and knows it as its own
    # given (committed before it is shown); the screen's confirmation makes it shown
    assert t.db.conn.execute("SELECT state, mode, reason FROM journal WHERE nonce=?", (nonce,)).fetchone() == ("given", "online", "ok")
    (entry,) = t.db.conn.execute("SELECT id FROM journal WHERE nonce=?", (nonce,)).fetchone()
    assert t.counter.shown(entry) and not t.counter.shown(entry)
    assert t.db.conn.execute("SELECT state FROM journal WHERE id=?", (entry,)).fetchone() == ("shown",)
    assert t.db.local_redemption(shop.codes["spring"])["nonce"] == nonce


def test_redeem_twice_is_refused_with_first_when_and_where(shop: Shop) -> None:
    t1, t2 = shop.terminal("S001-T1"), shop.terminal("S001-T2")
    first = t1.counter.redeem(shop.codes["spring"], "alice", 62000)
    again_here = t1.counter.redeem(shop.codes["spring"], "alice", 62000)
    again_there = t2.counter.redeem(shop.codes["spring"], "alice", 62000)  # decided by the service
    assert first.accepted
    assert again_here.reason is Reason.ALREADY_REDEEMED
    assert again_there.reason is Reason.ALREADY_REDEEMED
    [(nonce, *_)] = live(shop, shop.codes["spring"])
    assert again_there.first_redemption is not None
    assert again_there.first_redemption.store_id == "S001"
    assert again_there.first_redemption.nonce == nonce
    assert abs(again_there.first_redemption.at - datetime.now(UTC)) < timedelta(minutes=1)
    assert shop.query("SELECT count(*) FROM redemptions") == [(1,)]


def test_store_excluded_by_campaign_is_refused_at_terminal_and_service(shop: Shop) -> None:
    t = shop.terminal()
    verdict = t.counter.redeem(shop.codes["station"], "alice")
    assert verdict.reason is Reason.STORE_NOT_ALLOWED
    # the service re-checks on its own, whatever a terminal decided
    answer = t.endpoint.redeem(nonce="direct-0001", code=shop.codes["station"], staff_id="alice", store_id="S001", amount=None)
    assert answer["verdict"]["reason"] == "store_not_allowed"
    assert shop.query("SELECT count(*) FROM redemptions") == [(0,)]
    assert shop.query("SELECT count(*) FROM audit WHERE action='redeem.refused'")[0][0] >= 1


@pytest.mark.parametrize("staff", ["bob", "dan", "nobody"])
def test_staff_without_verifier_right_here_is_refused(shop: Shop, staff: str) -> None:
    t = shop.terminal()
    answer = t.endpoint.redeem(nonce=f"staff-{staff}-01", code=shop.codes["spring"], staff_id=staff, store_id="S001", amount=62000)
    assert answer["verdict"]["reason"] == "staff_not_verifier"
    assert t.counter.redeem(shop.codes["spring"], staff, 62000).reason is Reason.STAFF_NOT_VERIFIER
    assert shop.query("SELECT count(*) FROM redemptions") == [(0,)]


def test_cancel_inside_window_frees_the_voucher(shop: Shop) -> None:
    t = shop.terminal()
    assert t.counter.redeem(shop.codes["spring"], "alice", 62000).accepted
    undo = t.counter.cancel(shop.codes["spring"], "alice")
    assert not undo.queued
    assert shop.query("SELECT cancelled_at IS NOT NULL, cancelled_by FROM redemptions WHERE code=?", shop.codes["spring"]) == [(1, "alice")]
    assert shop.query("SELECT redeemed_nonce FROM vouchers WHERE code=?", shop.codes["spring"]) == [(None,)]
    assert shop.query("SELECT count(*) FROM audit WHERE action='cancel'") == [(1,)]
    assert t.counter.redeem(shop.codes["spring"], "alice", 62000).accepted  # usable again
    assert shop.query("SELECT count(*) FROM redemptions WHERE cancelled_at IS NULL") == [(1,)]


def test_cancel_outside_window_is_refused_by_terminal_and_service(shop: Shop) -> None:
    t = shop.terminal()
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    t.counter.clock = lambda: two_hours_ago
    # and the till's anchor agrees: its last contact three hours ago, an hour of its monotonic clock before this
    t.db.note_contact(format_time(datetime.now(UTC) - timedelta(hours=3)), monotonic=time.monotonic() - 3600)
    shop.service.stop()
    assert t.counter.redeem(shop.codes["spring"], "alice", 62000).offline
    shop.service.start()
    t.counter.clock = lambda: datetime.now(UTC)
    assert t.sync().results == {"accepted": 1}
    with pytest.raises(CancelError, match="60 minutes"):
        t.counter.cancel(shop.codes["spring"], "alice")
    [(nonce, *_)] = live(shop, shop.codes["spring"])
    with pytest.raises(Exception) as err:
        t.endpoint.cancel(nonce, staff_id="alice")
    assert getattr(err.value, "code", None) == "cancel.window_passed"
    assert len(live(shop, shop.codes["spring"])) == 1
    assert shop.query("SELECT count(*) FROM audit WHERE action='cancel.refused'") == [(1,)]


def test_offline_redemption_then_sync_uploads_exactly_once(shop: Shop) -> None:
    t = shop.terminal()
    shop.service.stop()
    verdict = t.counter.redeem(shop.codes["spring"], "alice", 62000)
    assert verdict.accepted and verdict.offline
    assert t.db.pending_count() == 1
    refused = t.counter.redeem(shop.codes["vip3"], "alice", 10000)
    assert refused.reason is Reason.OFFLINE_NOT_ALLOWED
    shop.service.start()
    assert shop.query("SELECT count(*) FROM redemptions") == [(0,)]
    report = t.sync()
    assert report.ok and report.results == {"accepted": 1}
    assert t.db.pending_count() == 0
    assert [r[3] for r in live(shop, shop.codes["spring"])] == ["offline"]
    # a second sync has nothing to send and changes nothing
    assert t.sync().results == {}
    assert shop.query("SELECT count(*) FROM redemptions") == [(1,)]


def test_same_upload_twice_is_a_duplicate(shop: Shop) -> None:
    t = shop.terminal()
    shop.service.stop()
    assert t.counter.redeem(shop.codes["spring"], "alice", 62000).offline
    shop.service.start()
    assert t.sync().results == {"accepted": 1}
    # as if the terminal crashed after the upload but before recording the answer
    t.db.conn.execute("UPDATE outbox SET state='pending'")
    t.db.conn.commit()
    report = t.sync()
    assert report.results == {"duplicate": 1} and report.ok
    assert shop.query("SELECT count(*) FROM redemptions") == [(1,)]


def test_same_voucher_offline_at_two_terminals_one_accepted_one_conflict(shop: Shop) -> None:
    t1, t2 = shop.terminal("S001-T1"), shop.terminal("S001-T2")
    shop.service.stop()
    assert t1.counter.redeem(shop.codes["spring"], "alice", 62000).offline
    assert t2.counter.redeem(shop.codes["spring"], "alice", 70000).offline
    shop.service.start()
    assert t1.sync().results == {"accepted": 1}
    report = t2.sync()
    assert report.results == {"conflict": 1} and not report.ok
    [conflict] = report.conflicts
    assert conflict["reason"] == "already_redeemed"
    [(t1_nonce, _, terminal, _)] = live(shop, shop.codes["spring"])
    assert terminal == "S001-T1"
    assert conflict["theirs"]["nonce"] == t1_nonce
    # kept on both sides, never dropped
    assert shop.query("SELECT terminal_id, reason FROM conflicts") == [("S001-T2", "already_redeemed")]
    assert t2.db.conn.execute("SELECT reason FROM conflicts").fetchall() == [("already_redeemed",)]
    assert t2.db.conn.execute("SELECT state FROM redemptions").fetchall() == [("conflict",)]


def test_offline_cancel_of_a_queued_redemption_never_uploads_it(shop: Shop) -> None:
    t = shop.terminal()
    shop.service.stop()
    assert t.counter.redeem(shop.codes["spring"], "alice", 62000).offline
    undo = t.counter.cancel(shop.codes["spring"], "alice")
    assert undo.queued
    shop.service.start()
    assert t.sync().results == {}
    assert shop.query("SELECT count(*) FROM redemptions") == [(0,)]


def test_cancel_while_offline_is_queued_and_applied_at_sync(shop: Shop) -> None:
    t = shop.terminal()
    assert t.counter.redeem(shop.codes["spring"], "alice", 62000).accepted
    shop.service.stop()
    assert t.counter.cancel(shop.codes["spring"], "alice").queued
    shop.service.start()
    assert t.sync().results == {"cancelled": 1}
    assert shop.query("SELECT cancelled_at IS NOT NULL FROM redemptions") == [(1,)]


def test_signed_qr_is_genuine_offline_and_forgery_is_refused(shop: Shop) -> None:
    t = shop.terminal()
    payload = shop.payload("spring4")
    shop.service.stop()
    forged = payload.replace(shop.codes["spring4"], shop.codes["spring2"])
    assert t.counter.redeem(forged, "alice", 62000).reason is Reason.FORGED
    assert t.counter.redeem(payload, "alice", 62000).offline
    shop.service.start()
    assert t.sync().results == {"accepted": 1}
    assert live(shop, shop.codes["spring4"])


def test_revocation_reaches_the_terminal_with_the_next_pull(shop: Shop) -> None:
    from pos.service.admin import revoke_voucher
    from pos.service.schema import open_db

    t = shop.terminal()
    db = open_db(shop.db_path)
    revoke_voucher(db, shop.codes["spring2"])
    db.close()
    assert t.sync().pulled >= 1
    shop.service.stop()
    assert t.counter.redeem(shop.codes["spring2"], "alice", 62000).reason is Reason.REVOKED


def test_redemption_elsewhere_reaches_the_terminal_with_the_next_pull(shop: Shop) -> None:
    t1, t2 = shop.terminal("S001-T1"), shop.terminal("S001-T2")
    assert t1.counter.redeem(shop.codes["spring"], "alice", 62000).accepted
    t2.sync()
    shop.service.stop()
    verdict = t2.counter.redeem(shop.codes["spring"], "alice", 62000)
    assert verdict.reason is Reason.ALREADY_REDEEMED and verdict.first_redemption.store_id == "S001"


def test_token_of_one_store_is_refused_for_another(shop: Shop) -> None:
    body = {"nonce": "cross-store-1", "code": shop.codes["station"], "staff_id": "dan", "store_id": "S002", "amount": None}
    r = httpx.post(shop.service.url + "/v1/redemptions", json=body, headers={"Authorization": "Bearer demo-token-riverside-1"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "store.mismatch"
    r = httpx.post(shop.service.url + "/v1/redemptions", json=body, headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth.invalid"
    r = httpx.get(shop.service.url + "/v1/catalog")
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth.missing"
    assert shop.query("SELECT count(*) FROM redemptions") == [(0,)]
    assert shop.query("SELECT count(*) FROM audit WHERE action='store.mismatch'") == [(1,)]


def test_nonce_replays_first_answer_and_refuses_a_different_body(shop: Shop) -> None:
    t = shop.terminal()
    args = {"nonce": "replay-test-1", "code": shop.codes["spring"], "staff_id": "alice", "store_id": "S001", "amount": 62000}
    first = t.endpoint.redeem(**args)
    second = t.endpoint.redeem(**args)
    assert first == second and first["verdict"]["accepted"]
    with pytest.raises(Exception) as err:
        t.endpoint.redeem(**{**args, "amount": 99000})
    assert getattr(err.value, "code", None) == "idempotency.mismatch"
    assert t.endpoint.lookup("replay-test-1") == first
    assert t.endpoint.lookup("never-sent-1") is None
    assert shop.query("SELECT count(*) FROM redemptions") == [(1,)]


def test_bad_requests_get_a_clear_error_and_change_nothing(shop: Shop) -> None:
    headers = {"Authorization": "Bearer demo-token-riverside-1"}
    url = shop.service.url + "/v1/redemptions"
    for body in (
        {"nonce": "x", "code": "A", "staff_id": "alice", "store_id": "S001"},  # nonce too short
        {"nonce": "bad-amount-1", "code": "A", "staff_id": "alice", "store_id": "S001", "amount": -5},
        {"nonce": "long-code-01", "code": "A" * 10_000, "staff_id": "alice", "store_id": "S001"},
        {"nonce": "wrong-type-1", "code": 12, "staff_id": ["alice"], "store_id": "S001"},
        {"nonce": "extra-field1", "code": "A", "staff_id": "alice", "store_id": "S001", "sql": "'; DROP TABLE x"},
    ):
        r = httpx.post(url, json=body, headers=headers)
        assert r.status_code == 422, body
        assert r.json()["error"]["code"] == "request.invalid"
    r = httpx.post(url, content=b"\xff\xfe not json", headers={**headers, "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["message"]
    garbage = {"nonce": "garbage-001", "code": "'; DROP TABLE redemptions; --", "staff_id": "alice", "store_id": "S001"}
    r = httpx.post(url, json=garbage, headers=headers)
    assert r.status_code == 200 and r.json()["verdict"]["reason"] == "malformed"
    assert shop.query("SELECT count(*) FROM redemptions") == [(0,)]


def test_openapi_document_is_published(shop: Shop) -> None:
    doc = httpx.get(shop.service.url + "/openapi.json").json()
    assert {"/v1/redemptions", "/v1/redemptions/{nonce}", "/v1/redemptions/{nonce}/cancel", "/v1/uploads",
            "/v1/catalog"} <= set(doc["paths"])


def test_two_service_processes_share_one_database_exactly_once(tmp_path) -> None:
    """``pos serve --workers 2``: concurrent redemptions of the same vouchers through both processes."""
    from concurrent.futures import ThreadPoolExecutor

    from pos.demo import TOKENS, demo_fixture
    from pos.service.admin import issue_vouchers, load_fixture
    from pos.service.schema import open_db
    from pos.testing.process import ServiceProcess

    db_path = tmp_path / "shared.db"
    db = open_db(db_path)
    with cheap_pins():
        load_fixture(db, demo_fixture()[0])
    codes = issue_vouchers(db, "SPRING", count=40)
    db.close()
    with ServiceProcess(db_path, extra=["--workers", "2"]) as service:
        def attempt(i: int) -> bool:
            with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {TOKENS['S001-T1']}"}) as c:
                body = {"nonce": f"two-workers-{i:04d}", "code": codes[i % 40], "staff_id": "alice", "store_id": "S001",
                        "amount": 60000}
                return c.post("/v1/redemptions", json=body).json()["verdict"]["accepted"]

        with ThreadPoolExecutor(16) as pool:
            accepted = sum(pool.map(attempt, range(160)))  # each voucher tried four times, concurrently
        url = service.url
    assert accepted == 40
    import sqlite3
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT code) FROM redemptions").fetchone() == (40, 40)
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/healthz", timeout=1)  # every worker is gone


def test_one_upload_with_repeats_and_an_undo_in_the_middle_is_decided_in_order(shop: Shop) -> None:
    t = shop.terminal()
    assert t.counter.redeem(shop.codes["spring2"], "alice", 62000).accepted  # online, before the upload
    [(online_nonce, *_)] = live(shop, shop.codes["spring2"])
    item = lambda nonce, code: {"kind": "redeem", "nonce": nonce, "code": code, "staff_id": "alice",  # noqa: E731
                                "amount": 62000, "redeemed_at": None}
    items = [
        item("batch-0001", shop.codes["spring"]),
        item("batch-0002", shop.codes["spring"]),  # the same voucher again in the same upload
        item("batch-0001", shop.codes["spring"]),  # the same item again
        {"kind": "cancel", "nonce": "batch-0003", "target": online_nonce, "staff_id": "alice", "requested_at": None},
        item("batch-0004", shop.codes["spring2"]),  # free again after the cancel just before it
        {**item("batch-0001", shop.codes["spring3"])},  # a reused nonce with another body
    ]
    results = [(r["nonce"], r["result"]) for r in t.endpoint.upload("S001", items)]
    assert results == [("batch-0001", "accepted"), ("batch-0002", "conflict"), ("batch-0001", "duplicate"),
                       ("batch-0003", "cancelled"), ("batch-0004", "accepted"), ("batch-0001", "error")]
    assert sorted(r[0] for r in shop.query("SELECT nonce FROM redemptions WHERE cancelled_at IS NULL")) == [
        "batch-0001", "batch-0004"]
    assert shop.query("SELECT nonce, reason FROM conflicts") == [("batch-0002", "already_redeemed")]
    # uploaded redemptions and conflicts are their own idempotency record: a re-upload and a lookup
    # are answered from them
    again = [(r["nonce"], r["result"], r.get("reason")) for r in t.endpoint.upload("S001", items[:2])]
    assert again == [("batch-0001", "duplicate", None), ("batch-0002", "conflict", "already_redeemed")]
    looked = t.endpoint.lookup("batch-0001")
    assert looked["verdict"]["accepted"] and looked["redemption"]["code"] == shop.codes["spring"]
    assert t.endpoint.lookup("batch-0002")["verdict"]["reason"] == "already_redeemed"
    with pytest.raises(Exception) as err:
        t.endpoint.redeem(nonce="batch-0001", code=shop.codes["spring3"], staff_id="alice", store_id="S001", amount=1)
    assert getattr(err.value, "code", None) == "idempotency.mismatch"
