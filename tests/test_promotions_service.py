"""Promotions, coupon fields, channels, reports and pushes through a real ``pos serve`` on loopback, with
real terminals, a real SQLite file and (for pushes) a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import email
import io
import json
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook

from pos.demo import PINS
from pos.domain import format_time
from pos.terminal.counter import Counter
from pos.terminal.endpoint import Refused
from pos.testing.process import ServiceProcess, free_port
from tests.conftest import Shop, cheap_pins


def minute(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).replace(second=0, microsecond=0).isoformat()


def body(**kw: Any) -> dict[str, Any]:
    return {"id": "XMAS", "name": "Xmas 10", "begins_at": minute(timedelta(minutes=-5)),
            "ends_at": minute(timedelta(days=20)), **kw}


def manager(shop: Shop) -> tuple[Any, str]:
    t = shop.terminal()
    return t, t.endpoint.login("carol", PINS["carol"])["session"]


def refused(call: Any) -> Refused:
    with pytest.raises(Refused) as err:
        call()
    return err.value


def run_live(t: Any, s: str, campaign_id: str) -> None:
    t.endpoint.campaign_step(s, campaign_id, "submit")
    grace = t.endpoint.login("grace", PINS["grace"])["session"]  # four eyes: not the manager who made it
    t.endpoint.campaign_step(grace, campaign_id, "approve")


# -- promotions ------------------------------------------------------------------------------------------
def test_single_item_promotion_skus_in_batches_then_redeemed_with_its_exact_discount(shop: Shop) -> None:
    t, s = manager(shop)
    t.endpoint.save_campaign(s, body(id="TEA", name="Tea week", kind="single_item",
                                     limits={"per_order_max": 3}), new=True)
    assert refused(lambda: t.endpoint.campaign_step(s, "TEA", "submit")).code == "promo.sku.invalid"  # no goods yet
    batch = [{"sku": f"T{i:03d}", "price": 2000, "promo_price": 1800} for i in range(101)]
    err = refused(lambda: t.endpoint.add_skus(s, "TEA", batch))
    assert err.code == "sku.batch.invalid" and err.status == 422
    assert t.endpoint.add_skus(s, "TEA", batch[:100]) == {"campaign_id": "TEA", "added": 100, "total": 100}
    err = refused(lambda: t.endpoint.add_skus(s, "TEA", [{"sku": "BAD", "price": 2000, "promo_price": 2000}]))
    assert err.code == "sku.promoPrice.invalid" and err.problems[0]["field"] == "promo_price"
    page = t.endpoint.skus(s, "TEA", page=2, size=10)
    assert page["total"] == 100 and [x["sku"] for x in page["skus"]][:2] == ["T010", "T011"]
    run_live(t, s, "TEA")
    assert refused(lambda: t.endpoint.add_skus(s, "TEA", [batch[100]])).code == "campaign.non.edit"
    code = t.endpoint.issue_vouchers(s, "TEA", 1)["vouchers"][0]["code"]
    t.sync()
    needs_goods = t.counter.redeem(code, "alice", 10000)
    assert (needs_goods.reason, needs_goods.detail) == ("rules_not_met", "rules.items_required")
    items = [{"sku": "T001", "price": None, "qty": 2}, {"sku": "T002", "price": None, "qty": 2},
             {"sku": None, "price": 999, "qty": 1}]
    verdict = t.counter.redeem(code, "alice", None, items)
    assert verdict.accepted and verdict.discount == 3 * 200  # at most 3 promoted units per order
    assert shop.query("SELECT discount FROM redemptions WHERE code=?", code) == [(600,)]


def test_order_rule_offline_then_uploaded_recomputed_by_the_service(shop: Shop) -> None:
    t = shop.terminal()
    offline = Counter(t.db, None, store_id=t.store_id, terminal_id=t.id)  # no link at all
    items = [{"sku": None, "price": p, "qty": 1} for p in (1000, 1000, 1200, 3000, 850)]
    verdict = offline.redeem(shop.codes["buy5"], "alice", None, items)
    assert verdict.accepted and verdict.offline and verdict.discount == 850  # buy 5, the cheapest free
    report = t.sync()
    assert report.error is None
    assert shop.query("SELECT discount, amount, mode FROM redemptions WHERE code=?", shop.codes["buy5"]) == [
        (850, None, "offline")]


def test_spend_and_get_gift_shown_in_the_verdict(shop: Shop) -> None:
    t, s = manager(shop)
    t.endpoint.save_campaign(s, body(id="GIFT100", name="Spend 100", rule={
        "mode": "spend_off_gift", "quota": 10000, "minus": 1000, "plus": 500, "gift": "MUG"}), new=True)
    assert refused(lambda: t.endpoint.campaign_step(s, "GIFT100", "submit")).code == "gift.num.invalid"
    t.endpoint.add_skus(s, "GIFT100", [{"sku": "MUG", "price": 3000, "bind": "gift"}])
    run_live(t, s, "GIFT100")
    code = t.endpoint.issue_vouchers(s, "GIFT100", 1)["vouchers"][0]["code"]
    t.sync()
    assert t.counter.redeem(code, "alice", 9900).detail == "rules.min_spend"
    verdict = t.counter.redeem(code, "alice", 10000)
    assert (verdict.discount, verdict.gifts, verdict.surcharge) == (1000, ("MUG ×1",), 500)


def test_rule_bounds_come_back_field_by_field(shop: Shop) -> None:
    t, s = manager(shop)
    err = refused(lambda: t.endpoint.save_campaign(s, body(rule={"mode": "items_off", "quota": 9, "rate": 4},
                                                           slogan="x" * 51, comment="冬" * 67), new=True))
    assert {(p["code"], p["field"]) for p in err.problems} == {
        ("ordermode.rate.invalid", "rate"), ("campaign.slogan.invalid", "slogan"), ("campaign.comment.invalid", "comment")}
    # terms a gift promotion does not take: each said by its field, with the campaign's other problems
    err = refused(lambda: t.endpoint.save_campaign(s, body(id="GIFTX", kind="gift", slogan="x" * 51, scope="listed",
                                                           rule={"mode": "items_off", "quota": 3, "rate": 1}, reward=1000),
                                                   new=True))
    assert {(p["code"], p["field"]) for p in err.problems} == {
        ("campaign.slogan.invalid", "slogan"), ("campaign.scope.invalid", "scope"), ("promo.favorMode.invalid", "rule"),
        ("prop.type.invalid", "reward")}
    assert "GIFTX" not in {c["id"] for c in t.endpoint.campaigns(s, limit=100)["items"]}


# -- coupon fields ---------------------------------------------------------------------------------------
def test_affiliate_opt_in_cannot_change_after_creation(shop: Shop) -> None:
    t, s = manager(shop)
    made = t.endpoint.save_campaign(s, body(discount={"amount_off": 1000}), new=True)
    assert made["affiliates"] is True  # shared unless turned off at creation
    err = refused(lambda: t.endpoint.save_campaign(s, body(discount={"amount_off": 1000}, affiliates=False), new=False))
    assert err.code == "campaign.affiliates.immutable"
    renamed = t.endpoint.save_campaign(s, body(name="Xmas 20", discount={"amount_off": 1000}), new=False)
    assert renamed["name"] == "Xmas 20" and renamed["affiliates"] is True
    assert shop.query("SELECT count(*) FROM audit WHERE action='campaign.refused' AND subject='XMAS'") == [(1,)]


def test_claim_window_member_level_claim_limit_and_affiliate(shop: Shop) -> None:
    t, s = manager(shop)
    t.endpoint.save_campaign(s, body(id="GOLD", name="Gold only", discount={"amount_off": 1000}, member=62,
                                     claim_limit="once", affiliates=False), new=True)
    assert refused(lambda: t.endpoint.issue_vouchers(s, "GOLD", 1, "cust-7")).code == "voucher.member.invalid"
    assert refused(lambda: t.endpoint.issue_vouchers(s, "GOLD", 1)).code == "voucher.member.invalid"
    t.endpoint.issue_vouchers(s, "GOLD", 1, "cust-42")  # gold member
    assert refused(lambda: t.endpoint.issue_vouchers(s, "GOLD", 1, "cust-42")).code == "voucher.claim.limit"
    assert refused(lambda: t.endpoint.issue_vouchers(s, "GOLD", 1, "cust-7", affiliate_id="blog")).code == \
        "voucher.affiliate.invalid"  # not shared with affiliates
    t.endpoint.save_campaign(s, body(id="LATER", name="Later", discount={"amount_off": 500},
                                     claim_starts_at=minute(timedelta(days=1)),
                                     claim_ends_at=minute(timedelta(days=2))), new=True)
    assert refused(lambda: t.endpoint.issue_vouchers(s, "LATER", 1)).code == "voucher.claim.closed"
    assert refused(lambda: t.endpoint.issue_vouchers(s, "SPRING", 1, affiliate_id="blog")).code == "voucher.affiliate.invalid"


def test_giving_a_voucher_to_a_friend(shop: Shop) -> None:
    t, s = manager(shop)
    assert refused(lambda: t.endpoint.give_voucher(s, shop.codes["spring"], "cust-7")).code == "voucher.gift.not_allowed"
    t.endpoint.save_campaign(s, body(id="FRIEND", name="Share me", discount={"amount_off": 500}, giftable=True), new=True)
    code = t.endpoint.issue_vouchers(s, "FRIEND", 1, "cust-42")["vouchers"][0]["code"]
    assert t.endpoint.give_voucher(s, code, "cust-7") == {"code": code, "customer_id": "cust-7"}
    assert shop.query("SELECT customer_id FROM vouchers WHERE code=?", code) == [("cust-7",)]


# -- channels and the report ---------------------------------------------------------------------------
def test_binding_a_coupon_to_skus_takes_effect_the_next_day(shop: Shop) -> None:
    t, s = manager(shop)
    t.endpoint.save_campaign(s, body(id="UNION", name="Union 5", scope="listed", discount={"amount_off": 500}), new=True)
    t.endpoint.add_skus(s, "UNION", [{"sku": "P1", "price": 5000}, {"sku": "P2", "price": 6000}])
    err = refused(lambda: t.endpoint.bind_coupon(s, "plan-1", "UNION", ["P1", "P9"]))
    assert err.code == "binding.sku.invalid" and "P9" in err.problems[0]["message"]
    bound = t.endpoint.bind_coupon(s, "plan-1", "UNION", ["P1", "P2"])
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    assert bound["effective_from"] == tomorrow
    assert [(b["sku"], b["effective"]) for b in t.endpoint.bindings(s, "plan-1")] == [("P1", False), ("P2", False)]
    shop.change("UPDATE bindings SET effective_from=? WHERE sku='P1'", datetime.now(UTC).date().isoformat())  # a day passes
    assert [(b["sku"], b["effective"]) for b in t.endpoint.bindings(s, "plan-1")] == [("P1", True), ("P2", False)]
    t.endpoint.save_campaign(s, body(id="PRIVATE", name="No share", discount={"amount_off": 500}, affiliates=False),
                             new=True)
    assert refused(lambda: t.endpoint.bind_coupon(s, "plan-1", "PRIVATE", ["P1"])).code == "binding.coupon.not_shared"


def test_campaign_report_row_by_row_with_the_referred_column(shop: Shop) -> None:
    t, s = manager(shop)
    five = [{"sku": None, "price": 1000, "qty": 5}]
    assert t.counter.redeem(shop.codes["buy5"], "alice", 5000, five).discount == 1000
    assert t.counter.redeem(shop.codes["buy5b"], "alice", 6000, [{"sku": None, "price": 1200, "qty": 5}]).discount == 1200
    report = t.endpoint.campaign_report(s, "BUY5")
    assert report["columns"][-2:] == ["referred_by_affiliate", "affiliate_id"]
    rows = sorted(report["rows"], key=lambda r: r["code"])
    expected = sorted([(shop.codes["buy5"], 5000, 1000, "N", ""), (shop.codes["buy5b"], 6000, 1200, "Y", "blog-deals")])
    assert [(r["code"], r["sales"], r["discount"], r["referred_by_affiliate"], r["affiliate_id"]) for r in rows] == expected
    assert report["totals"] == {"redemptions": 2, "sales": 11000, "discount": 2200, "referred": 1}
    csv_text = t.endpoint.campaign_report(s, "BUY5", csv=True)
    lines = csv_text.splitlines()
    assert lines[0] == "redeemed_at,code,store_id,staff_id,sales_yuan,discount_yuan,referred_by_affiliate,affiliate_id"
    assert sorted(line.split(",", 1)[1] for line in lines[1:]) == sorted([
        f"{shop.codes['buy5']},S001,alice,50.00,10.00,N,", f"{shop.codes['buy5b']},S001,alice,60.00,12.00,Y,blog-deals"])
    plain = t.endpoint.campaign_report(s, "SPRING")  # not shared: no referred column at all
    assert "referred_by_affiliate" not in plain["columns"]


# -- pushes ----------------------------------------------------------------------------------------------
def push(kind: str = "advertising", days: int = 2, at: str = "10:00", **kw: Any) -> dict[str, Any]:
    return {"kind": kind, "campaign_id": "SPRING", "send_date": (datetime.now(UTC).date() + timedelta(days=days)).isoformat(),
            "send_time": at, **kw}


def test_push_rules_schedule_cancel_and_too_late(shop: Shop) -> None:
    t, s = manager(shop)
    assert refused(lambda: t.endpoint.schedule_push(s, push(days=0))).code == "push.date.invalid"
    assert refused(lambda: t.endpoint.schedule_push(s, push(days=4))).code == "push.date.invalid"
    for bad in ("09:30", "22:30", "10:15"):
        assert refused(lambda b=bad: t.endpoint.schedule_push(s, push(at=b))).code == "push.time.invalid"
    assert refused(lambda: t.endpoint.schedule_push(s, push(kind="compensation"))).code == "push.orders.invalid"
    empty = t.endpoint.preview_push(s, push(kind="compensation"))  # no orders: said, on either engine, not a 500
    assert ([p["code"] for p in empty["problems"]], empty["recipients"], empty["unknown_orders"]) == (
        ["push.orders.invalid"], 0, [])
    assert refused(lambda: t.endpoint.schedule_push(s, push(campaign_id="OLDX"))).code == "push.coupon.invalid"
    first = t.endpoint.schedule_push(s, push(at="22:00"))
    assert first["status"] == "scheduled"
    err = refused(lambda: t.endpoint.schedule_push(s, push(at="12:00")))  # the same week
    assert (err.code, err.status) == ("push.week.taken", 409)
    assert t.endpoint.cancel_push(s, first["id"])["status"] == "cancelled"  # 2 days ahead: in time
    second = t.endpoint.schedule_push(s, push(at="12:00"))  # the week is free again
    shop.change("UPDATE pushes SET send_at=? WHERE id=?",  # now only 23 hours before it goes out
                format_time(datetime.now(UTC) + timedelta(hours=23)), second["id"])
    err = refused(lambda: t.endpoint.cancel_push(s, second["id"]))
    assert (err.code, err.status) == ("push.cancel.too_late", 409)
    assert sorted((p["id"], p["status"]) for p in t.endpoint.pushes(s)) == [(first["id"], "cancelled"),
                                                                            (second["id"], "scheduled")]


def test_push_preview_template_and_order_upload(shop: Shop) -> None:
    t, s = manager(shop)
    preview = t.endpoint.preview_push(s, push())
    assert preview["problems"] == [] and preview["recipients"] == 2 and preview["skipped"] == 2
    assert "Spring 30 off" in preview["subject"] and "30.00 off" in preview["body"]
    book = load_workbook(io.BytesIO(t.endpoint.push_template(s, "xlsx")))
    assert [r[0] for r in book.active.iter_rows(values_only=True)] == ["Order No.", "262749754", "262749886"]
    assert t.endpoint.push_template(s, "csv").decode().splitlines()[0] == "Order No."
    uploaded = t.endpoint.push_orders(s, t.endpoint.push_template(s, "xlsx"), "orders.xlsx")
    assert [o["order_no"] for o in uploaded["orders"]] == ["262749754", "262749886"]
    assert uploaded["orders"][0]["customer"] == "cus****"
    csv_upload = t.endpoint.push_orders(s, b"Order No.\n262749887\n999\n\n", "orders.csv")
    assert [o["order_no"] for o in csv_upload["orders"]] == ["262749887"] and csv_upload["unknown"] == ["999"]
    assert refused(lambda: t.endpoint.push_orders(s, b"\x00\x01 not a workbook", "x.xlsx")).code == "push.file.invalid"
    assert refused(lambda: t.endpoint.push_orders(s, b"1,2", "x.pdf")).code == "push.file.invalid"
    err = refused(lambda: t.endpoint.schedule_push(s, push(kind="compensation", orders=["262749754", "999"])))
    assert err.code == "push.orders.unknown"


class Inbox:
    def __init__(self) -> None:
        self.mails: list[tuple[list[str], email.message.Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Any:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def test_push_delivered_at_its_time_to_verified_followers_only(shop: Shop, smtp: Any) -> None:
    controller, inbox = smtp
    t, s = manager(shop)
    scheduled = t.endpoint.schedule_push(s, push(items=["A100", "B200"]))
    deliver = [sys.executable, "-m", "pos", "push", "deliver", "--db", str(shop.db_path), "--smtp",
               f"127.0.0.1:{controller.port}", "--shop", "Riverside Mart", "--json"]
    early = subprocess.run(deliver, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(early.stdout) == {"pushes": []} and inbox.mails == []  # not due yet
    at = datetime.fromisoformat(scheduled["send_at"].replace("Z", "+00:00"))
    done = subprocess.run([*deliver, "--at", at.isoformat()], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == {"pushes": [{"id": scheduled["id"], "sent": 2, "skipped": 2}]}
    assert sorted(rcpt[0] for rcpt, _ in inbox.mails) == ["jun@example.com", "mei@example.com"]
    mail = next(m for rcpt, m in inbox.mails if rcpt == ["mei@example.com"])
    assert mail["Subject"] == "[Riverside Mart] A new coupon for you: Spring 30 off"
    text = mail.get_payload(decode=True).decode()
    assert "Dear Mei Lin," in text and "Best items: A100, B200" in text
    again = subprocess.run([*deliver, "--at", at.isoformat()], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(again.stdout) == {"pushes": []} and len(inbox.mails) == 2  # once only
    skipped = {d["reason"] for d in t.endpoint.push_deliveries(s, scheduled["id"]) if d["status"] == "skipped"}
    assert skipped == {"opted_out", "no_verified_address"}
    assert t.endpoint.pushes(s)[0]["status"] == "sent"


def test_service_delivers_due_compensation_push_by_itself(tmp_path: Any, smtp: Any) -> None:
    from pos.demo import TOKENS, demo_fixture
    from pos.service.admin import load_fixture
    from pos.service.schema import open_db
    from pos.terminal.endpoint import Endpoint

    controller, inbox = smtp
    db_path = tmp_path / "service.db"
    db = open_db(db_path)
    with cheap_pins():
        load_fixture(db, demo_fixture(datetime.now(UTC))[0])
    db.close()
    service = ServiceProcess(db_path, log=tmp_path / "service.log",
                             extra=["--smtp", f"127.0.0.1:{controller.port}", "--push-every", "0.2"])
    service.start()
    try:
        with Endpoint(service.url, TOKENS["S001-T1"]) as e:
            s = e.login("carol", PINS["carol"])["session"]
            made = e.schedule_push(s, push(kind="compensation", orders=["262749754", "262749887"]))
            with sqlite3.connect(db_path) as conn:  # its time comes
                conn.execute("UPDATE pushes SET send_at=? WHERE id=?",
                             (format_time(datetime.now(UTC) - timedelta(minutes=1)), made["id"]))
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and e.pushes(s)[0]["status"] != "sent":
                time.sleep(0.1)
            assert e.pushes(s)[0]["status"] == "sent"
        assert [rcpt for rcpt, _ in inbox.mails] == [["sara@example.com"]]  # cust-9 has no verified address
    finally:
        service.stop()


def test_order_file_parser_reads_csv_and_excel() -> None:
    from pos.service.pushes import read_order_numbers, template_xlsx

    assert read_order_numbers(template_xlsx(), "t.xlsx") == ["262749754", "262749886"]
    assert read_order_numbers("Order No.\n1\n1\n2\n".encode("utf-8-sig"), "a.csv") == ["1", "2"]
    assert read_order_numbers(b"5\n6\n", "a.csv") == ["5", "6"]  # no header
