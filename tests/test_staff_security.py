"""Staff security against a real ``pos serve``: a manager unlocks a locked account and gives a new PIN
(audited, the PIN in no audit entry), and four eyes on a campaign's approval, with its one-manager waiver."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pos.demo import PINS
from pos.service.admin import load_fixture
from pos.service.schema import open_db
from pos.terminal.endpoint import Refused
from pos.terminal.login import LoginError, sign_in
from pos.testing.process import ServiceProcess

from .conftest import Shop


def refused(call: Any) -> Refused:
    with pytest.raises(Refused) as err:
        call()
    return err.value


def lock(t: Any, staff_id: str) -> None:
    for _ in range(5):
        refused(lambda: t.endpoint.login(staff_id, "0000"))
    assert refused(lambda: t.endpoint.login(staff_id, PINS[staff_id])).code == "login.locked"


def detail(shop: Shop, action: str, subject: str) -> list[tuple[str, dict[str, Any]]]:
    rows = shop.query("SELECT actor, detail FROM audit WHERE action=? AND subject=? ORDER BY id", action, subject)
    return [(actor, d if isinstance(d, dict) else json.loads(d or "{}")) for actor, d in rows]


# -- unlock and a new PIN ----------------------------------------------------------------------------------
def test_a_manager_unlocks_a_locked_cashier_who_then_logs_in(shop: Shop) -> None:
    t = shop.terminal()
    lock(t, "bob")
    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    bob = next(s for s in t.endpoint.staff(carol) if s["id"] == "bob")
    assert bob["failed_logins"] == 5 and bob["locked_until"] is not None
    assert t.endpoint.unlock_staff(carol, "bob") == {"id": "bob", "failed_logins": 0, "locked_until": None}
    bob = next(s for s in t.endpoint.staff(carol) if s["id"] == "bob")
    assert (bob["failed_logins"], bob["locked_until"]) == (0, None)
    assert t.endpoint.login("bob", PINS["bob"])["staff"]["id"] == "bob"
    [(actor, entry)] = detail(shop, "staff.unlock", "bob")
    assert actor == "carol" and entry["failures"] == 5 and entry["was_locked"] is True
    assert PINS["bob"] not in json.dumps(entry)


@pytest.mark.process  # its log is the service process's
def test_a_new_pin_replaces_the_old_one_clears_the_lock_and_reaches_the_till(shop: Shop) -> None:
    riverside = shop.terminal("S001-T1")
    lock(riverside, "alice")
    carol = riverside.endpoint.login("carol", PINS["carol"])["session"]
    (version_before,) = shop.query("SELECT version FROM staff WHERE id='alice'")[0]
    assert riverside.endpoint.reset_pin(carol, "alice", "86420975") == {"id": "alice", "failed_logins": 0,
                                                                   "locked_until": None}
    (version_after,) = shop.query("SELECT version FROM staff WHERE id='alice'")[0]
    assert version_after > version_before  # a new catalog version: tills pull the new hash
    assert refused(lambda: riverside.endpoint.login("alice", PINS["alice"])).code == "login.failed"
    assert riverside.endpoint.login("alice", "86420975")["staff"]["id"] == "alice"

    assert riverside.sync().error is None  # offline, the till knows the new PIN and not the old
    shop.service.stop()
    try:
        now = datetime.now(UTC)
        assert sign_in(riverside.db, None, "alice", "86420975", now).staff_id == "alice"
        with pytest.raises(LoginError) as offline:
            sign_in(riverside.db, None, "alice", PINS["alice"], now)
        assert offline.value.code == "login.offline_failed"
    finally:
        shop.service.start()

    [(actor, entry)] = detail(shop, "staff.pin_reset", "alice")
    assert actor == "carol" and entry["role"] == "cashier" and entry["failures"] == 5
    assert "86420975" not in shop.dump()  # the PIN itself is stored nowhere
    assert "86420975" not in (shop.tmp / "service.log").read_text(errors="replace")


def test_a_managers_new_pin_follows_the_managers_rule(shop: Shop) -> None:
    t = shop.terminal()
    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    short = refused(lambda: t.endpoint.reset_pin(carol, "grace", "4321"))
    assert (short.status, short.code) == (422, "pin.manager_short")
    bad = refused(lambda: t.endpoint.reset_pin(carol, "bob", "12a4"))
    assert (bad.status, bad.code) == (422, "pin.invalid")
    assert refused(lambda: t.endpoint.reset_pin(carol, "bob", "123456789")).code == "pin.invalid"
    assert t.endpoint.login("grace", PINS["grace"])  # unchanged
    assert t.endpoint.reset_pin(carol, "grace", "13572468")["id"] == "grace"
    assert t.endpoint.login("grace", "13572468")["staff"]["role"] == "manager"
    refusals = detail(shop, "staff.refused", "grace") + detail(shop, "staff.refused", "bob")
    assert [e["code"] for _, e in refusals] == ["pin.manager_short", "pin.invalid", "pin.invalid"]
    assert all(actor == "carol" and "4321" not in json.dumps(e) and "12a4" not in json.dumps(e) for actor, e in refusals)


def test_a_cashier_may_neither_unlock_nor_reset_and_unknown_staff_is_404(shop: Shop) -> None:
    t = shop.terminal()
    alice = t.endpoint.login("alice", PINS["alice"])["session"]
    for call in (lambda: t.endpoint.unlock_staff(alice, "bob"), lambda: t.endpoint.reset_pin(alice, "bob", "9999"),
                 lambda: t.endpoint.reset_pin(alice, "alice", "9999")):
        err = refused(call)
        assert (err.status, err.code) == (403, "role.manager_required")
    assert refused(lambda: t.endpoint.unlock_staff("made-up", "bob")).code == "session.invalid"
    assert t.endpoint.login("bob", PINS["bob"])  # nothing changed

    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    for call in (lambda: t.endpoint.unlock_staff(carol, "nobody"), lambda: t.endpoint.reset_pin(carol, "nobody", "9999")):
        err = refused(call)
        assert (err.status, err.code) == (404, "staff.not_found") and "nobody" in err.message
    assert [a for a, _ in detail(shop, "staff.refused", "nobody")] == ["carol", "carol"]
    assert shop.query("SELECT count(*) FROM audit WHERE action='role.refused' AND actor='alice'") == [(3,)]


# -- four eyes ----------------------------------------------------------------------------------------------
def minute(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).replace(second=0, microsecond=0).isoformat()


def body(**kw: Any) -> dict[str, Any]:
    return {"id": "XMAS", "name": "Xmas 10", "begins_at": minute(timedelta(minutes=-5)),
            "ends_at": minute(timedelta(days=20)), "discount": {"amount_off": 1000}, **kw}


def test_the_creator_and_the_last_editor_may_not_approve_a_third_manager_may(shop: Shop) -> None:
    t = shop.terminal()
    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    grace = t.endpoint.login("grace", PINS["grace"])["session"]
    t.endpoint.add_staff(carol, staff_id="hana", name="Hana Mori", role="manager", pin="975310")
    hana = t.endpoint.login("hana", "975310")["session"]

    t.endpoint.save_campaign(carol, body(), new=True)
    t.endpoint.campaign_step(carol, "XMAS", "submit")
    own = refused(lambda: t.endpoint.campaign_step(carol, "XMAS", "approve"))
    assert (own.status, own.code) == (403, "campaign.four_eyes")
    assert own.message == "Four eyes: XMAS was created and last edited by carol; another manager must approve it."

    t.endpoint.campaign_step(grace, "XMAS", "reject", reason="Make it 20 off.")  # grace sends it back, with
    # her reason, and edits it herself
    t.endpoint.save_campaign(grace, body(name="Xmas 20", discount={"amount_off": 2000}), new=False)
    t.endpoint.campaign_step(grace, "XMAS", "submit")
    for session in (grace, carol):  # the last editor, and the creator
        err = refused(lambda s=session: t.endpoint.campaign_step(s, "XMAS", "approve"))
        assert err.code == "campaign.four_eyes"
        assert "created by carol and last edited by grace" in err.message, err.message
    assert t.endpoint.campaign(carol, "XMAS")["status"] == "manual_review"

    assert t.endpoint.campaign_step(hana, "XMAS", "approve")["status"] == "approved"
    [(actor, entry)] = detail(shop, "campaign.approve", "XMAS")
    assert actor == "hana" and entry["four_eyes"] == "applied"
    assert (entry["created_by"], entry["last_edited_by"]) == ("carol", "grace")
    refusals = [(a, e["code"], e["step"]) for a, e in detail(shop, "campaign.refused", "XMAS")]
    assert refusals == [("carol", "campaign.four_eyes", "approve"), ("grace", "campaign.four_eyes", "approve"),
                        ("carol", "campaign.four_eyes", "approve")]


def test_adding_goods_counts_as_an_edit(shop: Shop) -> None:
    t = shop.terminal()
    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    grace = t.endpoint.login("grace", PINS["grace"])["session"]
    t.endpoint.save_campaign(carol, body(id="TEA", name="Tea week", kind="single_item", discount={}), new=True)
    t.endpoint.add_skus(grace, "TEA", [{"sku": "T001", "price": 2000, "promo_price": 1800}])
    t.endpoint.campaign_step(carol, "TEA", "submit")
    assert "last edited by grace" in refused(lambda: t.endpoint.campaign_step(grace, "TEA", "approve")).message
    assert refused(lambda: t.endpoint.campaign_step(carol, "TEA", "approve")).code == "campaign.four_eyes"


def test_a_campaign_from_a_fixture_file_may_be_approved_by_any_manager(shop: Shop) -> None:
    fixture = {"campaigns": [{**body(id="LOADED", name="Loaded"), "status": "manual_review"}]}
    db = open_db(shop.db_path)
    try:
        load_fixture(db, fixture)
    finally:
        db.close()
    t = shop.terminal()
    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    assert t.endpoint.campaign_step(carol, "LOADED", "approve")["status"] == "approved"
    [(_, entry)] = detail(shop, "campaign.approve", "LOADED")
    assert (entry["four_eyes"], entry["created_by"], entry["last_edited_by"]) == ("applied", "fixture", "fixture")


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_one_manager_shop_waives_four_eyes_and_the_audit_says_so(shop: Shop, monkeypatch: pytest.MonkeyPatch,
                                                                  how: str) -> None:
    shop.service.stop()
    if how == "env":
        monkeypatch.setenv("POS_SINGLE_MANAGER", "1")
    waived = ServiceProcess(shop.db_path, log=shop.tmp / "single.log", extra=["--single-manager"] if how == "flag" else [])
    with waived:  # started once: start() inside a with would leave the first process running
        shop.service = waived
        t = shop.terminal()
        carol = t.endpoint.login("carol", PINS["carol"])["session"]
        t.endpoint.save_campaign(carol, body(), new=True)
        t.endpoint.campaign_step(carol, "XMAS", "submit")
        assert t.endpoint.campaign_step(carol, "XMAS", "approve")["status"] == "approved"
    [(actor, entry)] = detail(shop, "campaign.approve", "XMAS")
    assert actor == "carol" and entry["four_eyes"] == "waived"
    assert (entry["created_by"], entry["last_edited_by"]) == ("carol", "carol")
