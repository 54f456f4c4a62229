"""The back office's service side against a real ``pos serve``, on SQLite and PostgreSQL: one voucher looked up
with its history (by any member of staff), revoked with a reason and printed again (by a manager); staff edited,
deactivated (no login at the service, nor at a till after its pull) and reactivated; conflicts listed with till
and staff and settled once; report totals; and the schema step that keeps revocations and settlements."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pos.demo import PINS, demo_fixture
from pos.domain import display, generate
from pos.service import migrations, staff
from pos.service.admin import load_fixture
from pos.service.engine import connect
from pos.service.ledger import ServiceError, Terminal
from pos.service.schema import open_db
from pos.terminal.endpoint import Refused
from pos.terminal.login import LoginError, sign_in

from .conftest import Shop, cheap_pins


def refused(call: Any) -> Refused:
    with pytest.raises(Refused) as err:
        call()
    return err.value


def audited(shop: Shop, action: str, subject: str) -> list[tuple[str, dict[str, Any]]]:
    rows = shop.query("SELECT actor, detail FROM audit WHERE action=? AND subject=? ORDER BY id", action, subject)
    return [(actor, d if isinstance(d, dict) else json.loads(d or "{}")) for actor, d in rows]


def events(view: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    return [(e["event"], e.get("staff_id"), e.get("terminal_id")) for e in view["history"]]


# -- a voucher looked up, revoked, printed again -----------------------------------------------------------
def test_any_staff_looks_a_voucher_up_with_its_history_where_when_and_by_whom(shop: Shop) -> None:
    t, other = shop.terminal("S001-T1"), shop.terminal("S001-T2")
    code = shop.codes["spring"]
    assert t.counter.redeem(code, "alice", 60000).accepted
    t.counter.cancel(code, "alice")
    assert other.counter.redeem(code, "carol", 70000).accepted
    alice = t.endpoint.login("alice", PINS["alice"])["session"]
    typed = display(code).lower()  # as a person types it: small letters, dashes
    view = t.endpoint.voucher(alice, typed.replace("-", ""))
    assert (view["code"], view["display"], view["status"]) == (code, display(code), "redeemed")
    assert view["campaign"] == {"id": "SPRING", "name": "Spring 30 off", "status": "active", "timezone": "UTC"}
    assert events(view) == [("issued", None, None), ("redeemed", "alice", "S001-T1"), ("cancelled", "alice", "S001-T1"),
                            ("redeemed", "carol", "S001-T2")]
    last = view["history"][-1]
    assert (last["store_id"], last["store_name"], last["staff_name"], last["amount"], last["discount"]) == (
        "S001", "Riverside", "Carol Chen", 70000, 3000)
    assert view["actions"] == []  # a cashier looks, and only looks
    assert refused(lambda: t.endpoint.revoke_voucher(alice, code, "lost")).code == "role.manager_required"
    assert refused(lambda: t.endpoint.print_voucher(alice, code)).code == "role.manager_required"

    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    assert t.endpoint.voucher(carol, code)["actions"] == ["revoke"]  # redeemed: a printed copy is of no use
    assert t.endpoint.voucher(carol, shop.codes["vip3"])["history"][1] == {
        "event": "claimed", "at": t.endpoint.voucher(carol, shop.codes["vip3"])["claimed_at"], "customer_id": "cust-7"}
    never_issued = refused(lambda: t.endpoint.voucher(carol, generate()))
    assert (never_issued.status, never_issued.code) == (404, "voucher.non.exist")
    assert refused(lambda: t.endpoint.voucher(alice, "not a code")).code == "voucher.code.invalid"
    assert refused(lambda: t.endpoint.voucher("no-such-session", code)).code == "session.invalid"
    # withdrawn from the shell, before revocations kept a reason: who and when, from the audit
    old = t.endpoint.voucher(carol, shop.codes["revoked"])
    assert old["status"] == "revoked" and old["revocation"]["by"] == "admin" and old["actions"] == []


def test_a_manager_revokes_a_voucher_with_a_reason_and_the_tills_refuse_it_after_their_pull(shop: Shop) -> None:
    t = shop.terminal()
    code = shop.codes["spring3"]
    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    assert t.endpoint.voucher(carol, code)["actions"] == ["revoke", "print"]
    assert refused(lambda: t.endpoint.revoke_voucher(carol, code, "  ")).code == "voucher.revoke.reason"
    assert refused(lambda: t.endpoint.revoke_voucher(carol, code, "x" * 201)).code == "voucher.revoke.reason"
    view = t.endpoint.revoke_voucher(carol, code, "Reported stolen")
    assert view["status"] == "revoked" and view["actions"] == []
    assert {k: view["revocation"][k] for k in ("by", "reason")} == {"by": "carol", "reason": "Reported stolen"}
    assert view["history"][-1]["event"] == "revoked" and view["history"][-1]["staff_name"] == "Carol Chen"
    again = refused(lambda: t.endpoint.revoke_voucher(carol, code, "twice"))
    assert (again.status, again.code) == (409, "voucher.revoke.already")
    assert refused(lambda: t.endpoint.print_voucher(carol, code)).code == "voucher.print.revoked"
    [(actor, entry)] = audited(shop, "voucher.revoke", code)
    assert actor == "carol" and entry["reason"] == "Reported stolen"
    assert len(audited(shop, "voucher.refused", code)) == 4  # each refusal leaves its entry
    t.sync()
    assert str(t.counter.redeem(code, "alice", 60000).reason) == "revoked"


def test_a_manager_prints_a_voucher_again_as_its_qr_image_and_sheet(shop: Shop) -> None:
    t = shop.terminal()
    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    image, sheet = t.endpoint.print_voucher(carol, shop.codes["spring4"])
    assert image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) > 500
    assert display(shop.codes["spring4"]) in sheet and "Spring 30 off" in sheet and "30.00 off" in sheet
    assert [a for a, _ in audited(shop, "voucher.print", shop.codes["spring4"])] == ["carol"]
    assert t.counter.redeem(shop.codes["spring2"], "alice", 60000).accepted
    assert refused(lambda: t.endpoint.print_voucher(carol, shop.codes["spring2"])).code == "voucher.print.redeemed"


# -- staff: edited, deactivated, reactivated ---------------------------------------------------------------
def test_a_manager_renames_and_promotes_staff_and_a_promotion_needs_a_managers_pin(shop: Shop) -> None:
    t = shop.terminal()
    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    bob_before = t.endpoint.login("bob", PINS["bob"])["session"]
    assert t.endpoint.update_staff(carol, "bob", name="Bob Lee", role="cashier") == {
        "id": "bob", "name": "Bob Lee", "role": "cashier"}
    for pin, code in ((None, "staff.pin.required"), ("1234", "pin.manager_short")):
        err = refused(lambda p=pin: t.endpoint.update_staff(carol, "bob", name="Bob Lee", role="manager", pin=p))
        assert (err.status, err.code) == (422, code)
    assert refused(lambda: t.endpoint.update_staff(carol, "bob", name=" ", role="cashier")).code == "staff.name.invalid"
    t.endpoint.update_staff(carol, "bob", name="Bob Lee", role="manager", pin="13579086")
    assert refused(lambda: t.endpoint.campaigns(bob_before)).code == "session.invalid"  # his cashier's session ended
    bob = t.endpoint.login("bob", "13579086")
    assert bob["staff"] == {"id": "bob", "name": "Bob Lee", "role": "manager"}
    assert t.endpoint.campaigns(bob["session"])["total"] == 6
    err = refused(lambda: t.endpoint.update_staff(carol, "carol", name="Carol Chen", role="cashier"))
    assert (err.status, err.code) == (409, "staff.self")
    [(actor, entry)] = audited(shop, "staff.update", "bob")[1:]
    assert actor == "carol" and entry["before"] == {"name": "Bob Lee", "role": "cashier"} and entry["new_pin"] is True
    assert "13579086" not in json.dumps(entry)


def test_a_deactivated_cashier_cannot_log_in_at_the_service_nor_at_a_till_after_its_pull(shop: Shop) -> None:
    t = shop.terminal()
    now = datetime.now(UTC)
    assert sign_in(t.db, None, "alice", PINS["alice"], now, "S001").staff_id == "alice"  # offline, from the catalog
    alice = t.endpoint.login("alice", PINS["alice"])["session"]
    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    assert t.endpoint.set_staff_active(carol, "alice", False) == {"id": "alice", "active": False}
    assert refused(lambda: t.endpoint.voucher(alice, shop.codes["spring"])).code == "session.invalid"
    assert refused(lambda: t.endpoint.login("alice", PINS["alice"])).code == "login.failed"
    assert next(s for s in t.endpoint.staff(carol) if s["id"] == "alice")["active"] is False
    t.sync()
    with pytest.raises(LoginError):
        sign_in(t.db, None, "alice", PINS["alice"], now, "S001")
    assert refused(lambda: t.endpoint.set_staff_active(carol, "carol", False)).code == "staff.self"

    t.endpoint.set_staff_active(carol, "alice", True)
    assert t.endpoint.login("alice", PINS["alice"])["staff"]["id"] == "alice"
    t.sync()
    assert sign_in(t.db, None, "alice", PINS["alice"], now, "S001").staff_id == "alice"
    assert [a for a, _ in audited(shop, "staff.deactivate", "alice")] == ["carol"]
    assert [a for a, _ in audited(shop, "staff.reactivate", "alice")] == ["carol"]


def test_two_managers_taking_each_others_role_at_once_leave_one_manager(shop: Shop) -> None:
    """carol demotes grace while grace, whose request passed its session check before, demotes carol: on the
    writer the second finds itself the shop's last manager's undoing and is refused."""
    db = open_db(shop.db_path)
    terminal = Terminal("S001-T1", "S001")
    now = datetime.now(UTC)
    try:
        with db.atomic():
            staff.update_staff(db, terminal, staff.StaffSession("carol", "manager", "S001-T1"), "grace",
                               name="Grace Lin", role="cashier", pin=None, pin_hash=None, now=now)
        with pytest.raises(ServiceError) as err, db.atomic():
            staff.update_staff(db, terminal, staff.StaffSession("grace", "manager", "S001-T1"), "carol",
                               name="Carol Chen", role="cashier", pin=None, pin_hash=None, now=now)
        assert err.value.code == "staff.last_manager"
        with pytest.raises(ServiceError) as err, db.atomic():
            staff.set_active(db, terminal, staff.StaffSession("grace", "manager", "S001-T1"), "carol", False, now)
        assert err.value.code == "staff.last_manager"
    finally:
        db.close()
    assert shop.query("SELECT id FROM staff WHERE role='manager' AND active") == [("carol",)]


# -- conflicts --------------------------------------------------------------------------------------------
def test_conflicts_name_the_till_and_staff_of_both_sides_and_are_settled_once(shop: Shop) -> None:
    t1, t2 = shop.terminal("S001-T1"), shop.terminal("S001-T2")
    shop.service.stop()
    try:
        assert t1.counter.redeem(shop.codes["spring"], "alice", 60000).offline
        assert t2.counter.redeem(shop.codes["spring"], "carol", 60000).offline
    finally:
        shop.service.start()
    assert t1.sync().ok and len(t2.sync().conflicts) == 1
    carol = t1.endpoint.login("carol", PINS["carol"])["session"]
    listed = t1.endpoint.conflicts(carol)
    [c] = listed["items"]
    assert listed["open"] == 1
    assert (c["code"], c["terminal_id"], c["staff_id"], c["reason"], c["settled"]) == (
        shop.codes["spring"], "S001-T2", "carol", "already_redeemed", None)
    assert (c["existing"]["terminal_id"], c["existing"]["staff_id"], c["existing"]["store_id"]) == ("S001-T1", "alice",
                                                                                                    "S001")
    assert refused(lambda: t1.endpoint.settle_conflict(carol, c["id"], "x" * 201)).code == "conflict.note.invalid"
    settled = t1.endpoint.settle_conflict(carol, c["id"], "Customer refunded at the till")
    assert settled["settled"]["by"] == "carol" and settled["settled"]["note"] == "Customer refunded at the till"
    assert t1.endpoint.conflicts(carol) == {"items": [], "open": 0}
    assert [x["id"] for x in t1.endpoint.conflicts(carol, state="settled")["items"]] == [c["id"]]
    again = refused(lambda: t1.endpoint.settle_conflict(carol, c["id"]))
    assert (again.status, again.code) == (409, "conflict.settled")
    assert refused(lambda: t1.endpoint.settle_conflict(carol, 999_999)).code == "conflict.non.exist"
    [(actor, entry)] = audited(shop, "conflict.settle", str(c["id"]))
    assert actor == "carol" and entry["note"] == "Customer refunded at the till"
    history = t1.endpoint.voucher(carol, shop.codes["spring"])["history"]
    assert [e["event"] for e in history] == ["issued", "redeemed", "conflict"] and history[-1]["settled"]["by"] == "carol"
    alice = t1.endpoint.login("alice", PINS["alice"])["session"]
    assert refused(lambda: t1.endpoint.conflicts(alice)).code == "role.manager_required"


# -- reports ------------------------------------------------------------------------------------------------
def test_the_report_totals_each_campaign_each_store_and_everything(shop: Shop) -> None:
    riverside, station = shop.terminal("S001-T1"), shop.terminal("S002-T1")
    assert riverside.counter.redeem(shop.codes["spring"], "alice", 60000).accepted
    assert riverside.counter.redeem(shop.payload("vip"), "alice", 10000).accepted
    assert station.counter.redeem(shop.codes["spring2"], "dan", 50000).accepted
    assert station.counter.redeem(shop.codes["station"], "dan", 2000).accepted
    carol = riverside.endpoint.login("carol", PINS["carol"])["session"]
    totals = riverside.endpoint.report(carol, days=7)["totals"]
    assert totals["all"] == {"redemptions": 4, "discount": 3000 + 500 + 3000 + 500, "amount": 122000}
    assert [(c["campaign_id"], c["name"], c["redemptions"], c["discount"]) for c in totals["campaigns"]] == [
        ("SPRING", "Spring 30 off", 2, 6000), ("STATION", "Station opening", 1, 500), ("VIP5", "VIP 5% off", 1, 500)]
    assert [(s["store_id"], s["name"], s["redemptions"], s["amount"]) for s in totals["stores"]] == [
        ("S001", "Riverside", 2, 70000), ("S002", "Station Road", 2, 52000)]


# -- the schema step --------------------------------------------------------------------------------------
def test_the_step_for_revocations_and_settlements_upgrades_a_database_keeping_its_rows(
        service_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with monkeypatch.context() as before:  # the schema as the previous release left it
        before.setattr(migrations, "STEPS", migrations.STEPS[:5])
        before.setattr(migrations, "LATEST", 5)
        db = open_db(service_db)
        with cheap_pins():
            load_fixture(db, demo_fixture(datetime.now(UTC))[0])
        assert "revocation" not in db.columns("vouchers")
        db.close()
    db = connect(service_db)
    try:
        assert [s.version for s in migrations.upgrade(db)] == [6]
        assert "revocation" in db.columns("vouchers") and {"resolved_by", "resolution"} <= set(db.columns("conflicts"))
        assert db.execute("SELECT count(*) FROM vouchers WHERE revocation IS NULL").fetchone()[0] == 13
        indexes = ("SELECT name FROM sqlite_master WHERE type='index'" if db.kind == "sqlite"
                   else "SELECT indexname FROM pg_indexes")
        assert {"redemptions_undone", "conflicts_code"} <= {r[0] for r in db.execute(indexes).fetchall()}
    finally:
        db.close()
