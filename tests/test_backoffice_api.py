"""The manager's endpoints against a real ``pos serve``: campaigns, staff, reports — and a cashier refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pos.demo import PINS
from pos.terminal.endpoint import Refused
from tests.conftest import Shop


def minute(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).replace(second=0, microsecond=0).isoformat()


def body(**kw: Any) -> dict[str, Any]:
    return {"id": "XMAS", "name": "Xmas 10", "begins_at": minute(timedelta(minutes=-5)),
            "ends_at": minute(timedelta(days=20)), "discount": {"amount_off": 1000}, **kw}


def test_campaign_lifecycle_end_to_end(shop: Shop) -> None:
    t = shop.terminal()
    session = t.endpoint.login("carol", PINS["carol"])["session"]
    made = t.endpoint.save_campaign(session, body(stores=["S001"]), new=True)
    assert made["status"] == "not_reviewed" and made["actions"] == ["submit", "delete"]

    # issued before approval: the voucher is refused until the campaign is approved and running
    code = t.endpoint.issue_vouchers(session, "XMAS", 1)["vouchers"][0]["code"]
    t.sync()
    assert t.counter.redeem(code, "alice", 5000).reason == "campaign_inactive"

    assert t.endpoint.campaign_step(session, "XMAS", "submit")["status"] == "manual_review"
    grace = t.endpoint.login("grace", PINS["grace"])["session"]  # four eyes: another manager approves
    assert t.endpoint.campaign_step(grace, "XMAS", "approve")["status"] == "approved"
    view = t.endpoint.campaign(session, "XMAS")
    assert view["effective_status"] == "active" and "pause" in view["actions"] and "resume" not in view["actions"]
    t.sync()
    assert t.counter.redeem(code, "alice", 5000).accepted

    with pytest.raises(Refused) as err:
        t.endpoint.campaign_step(session, "XMAS", "resume")
    assert (err.value.status, err.value.code) == (409, "campaign.non.resume")
    assert t.endpoint.campaign_step(session, "XMAS", "pause")["status"] == "paused"
    with pytest.raises(Refused) as err:
        t.endpoint.save_campaign(session, body(name="Edited"), new=False)
    assert err.value.code == "campaign.non.edit"
    assert t.endpoint.campaign_step(session, "XMAS", "end")["status"] == "ended"
    with pytest.raises(Refused) as err:
        t.endpoint.campaign_step(session, "XMAS", "delete")
    assert err.value.code == "campaign.non.delete"

    audit = [r[0] for r in shop.query("SELECT action FROM audit WHERE subject='XMAS' ORDER BY id")]
    assert audit[:4] == ["campaign.create", "vouchers.issue", "campaign.submit", "campaign.approve"]
    assert "campaign.refused" in audit and audit[-1] == "campaign.refused"


def test_invalid_campaign_lists_every_problem_with_its_field(shop: Shop) -> None:
    t = shop.terminal()
    session = t.endpoint.login("carol", PINS["carol"])["session"]
    bad = body(name="Eleven chars", ends_at=minute(timedelta(days=400)), quantity=3_000_001, stores=["S404"])
    with pytest.raises(Refused) as err:
        t.endpoint.save_campaign(session, bad, new=True)
    assert err.value.status == 422
    fields = {(p["code"], p["field"]) for p in err.value.problems}
    assert fields == {("campaign.name.invalid", "name"), ("campaign.time.invalid", "ends_at"),
                      ("campaign.quantity.invalid", "quantity"), ("campaign.stores.invalid", "stores")}
    assert shop.query("SELECT count(*) FROM campaigns WHERE id='XMAS'") == [(0,)]
    with pytest.raises(Refused) as err:
        t.endpoint.save_campaign(session, body(id="SPRING"), new=True)
    assert err.value.code == "campaign.id.taken"


def test_listing_filters_by_status_and_kind_and_pages(shop: Shop) -> None:
    t = shop.terminal()
    session = t.endpoint.login("carol", PINS["carol"])["session"]
    for i in range(5):
        t.endpoint.save_campaign(session, body(id=f"GIFT{i}", name=f"Gift {i}", kind="gift", discount={}), new=True)
    page = t.endpoint.campaigns(session, kind="gift", limit=2)
    assert page["total"] == 5 and [c["id"] for c in page["items"]] == ["GIFT4", "GIFT3"]
    assert [c["id"] for c in t.endpoint.campaigns(session, kind="gift", offset=4, limit=2)["items"]] == ["GIFT0"]
    active = t.endpoint.campaigns(session, status="active", limit=100)
    assert {c["id"] for c in active["items"]} == {"SPRING", "VIP5", "OLD", "STATION", "SUMMER", "BUY5"}
    assert t.endpoint.campaigns(session, status="not_reviewed")["total"] == 5


def test_staff_and_verifier_rights(shop: Shop) -> None:
    t = shop.terminal()
    session = t.endpoint.login("carol", PINS["carol"])["session"]
    t.endpoint.add_staff(session, staff_id="erin", name="Erin Xu", role="cashier", pin="4321")
    with pytest.raises(Refused) as err:
        t.endpoint.add_staff(session, staff_id="erin", name="Erin Xu", role="cashier", pin="4321")
    assert err.value.code == "staff.id.taken"
    with pytest.raises(Refused) as err:
        t.endpoint.add_staff(session, staff_id="fay", name="Fay", role="cashier", pin="12")
    assert err.value.code == "pin.invalid"
    t.endpoint.set_verifier(session, "erin", stores=["S002"])
    erin = next(s for s in t.endpoint.staff(session) if s["id"] == "erin")
    assert erin["verifier"] == {"all_stores": False, "stores": ["S002"], "active": True}
    assert t.endpoint.login("erin", "4321")["staff"]["role"] == "cashier"


def test_cashier_is_refused_every_manager_endpoint(shop: Shop) -> None:
    t = shop.terminal()
    session = t.endpoint.login("alice", PINS["alice"])["session"]
    calls = [lambda: t.endpoint.campaigns(session), lambda: t.endpoint.save_campaign(session, body(), new=True),
             lambda: t.endpoint.campaign_step(session, "SPRING", "pause"), lambda: t.endpoint.staff(session),
             lambda: t.endpoint.report(session)]
    for call in calls:
        with pytest.raises(Refused) as err:
            call()
        assert (err.value.status, err.value.code) == (403, "role.manager_required")
    assert shop.query("SELECT count(*) FROM audit WHERE action='role.refused' AND actor='alice'") == [(len(calls),)]


def test_report_counts_live_redemptions_per_day_campaign_and_store(shop: Shop) -> None:
    t = shop.terminal()
    assert t.counter.redeem(shop.codes["spring"], "alice", 60000).accepted
    assert t.counter.redeem(shop.codes["spring2"], "alice", 70000).accepted
    assert t.counter.redeem(shop.payload("vip"), "alice", 10000).accepted
    t.counter.cancel(shop.codes["spring2"], "alice")
    session = t.endpoint.login("carol", PINS["carol"])["session"]
    rows = t.endpoint.report(session, days=7, tz="Asia/Shanghai")["rows"]
    today = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert rows == [
        {"day": today, "campaign_id": "SPRING", "store_id": "S001", "redemptions": 1, "discount": 3000, "amount": 60000},
        {"day": today, "campaign_id": "VIP5", "store_id": "S001", "redemptions": 1, "discount": 500, "amount": 10000},
    ]
    with pytest.raises(Refused) as err:
        t.endpoint.report(session, tz="Nowhere/Land")
    assert err.value.code == "report.tz.invalid"


def test_widening_a_campaigns_stores_sends_its_vouchers_to_the_new_stores(shop: Shop) -> None:
    riverside, station = shop.terminal("S001-T1"), shop.terminal("S002-T1")
    session = riverside.endpoint.login("carol", PINS["carol"])["session"]
    riverside.endpoint.save_campaign(session, body(stores=["S001"]), new=True)
    codes = [v["code"] for v in riverside.endpoint.issue_vouchers(session, "XMAS", 3)["vouchers"]]
    station.sync()
    assert all(station.db.voucher(c) is None for c in codes)  # not Station Road's business yet
    riverside.endpoint.save_campaign(session, body(stores=["S001", "S002"]), new=False)
    assert station.sync().pulled >= 4  # the campaign and its three vouchers
    assert all(station.db.voucher(c) is not None for c in codes)
    versions = [r[0] for r in shop.query("SELECT version FROM vouchers WHERE campaign_id='XMAS' ORDER BY code")]
    assert len(set(versions)) == 3 and versions == sorted(versions)


def step(t: Any, session: str, campaign_id: str, action: str, reason: str | None = None) -> dict[str, Any]:
    """A lifecycle step, with its reason when there is one."""
    return t.endpoint.campaign_step(session, campaign_id, action, reason=reason)


def test_a_campaign_with_redemptions_is_ended_not_deleted(shop: Shop) -> None:
    t = shop.terminal()
    assert t.counter.redeem(shop.codes["spring"], "alice", 60000).accepted
    session = t.endpoint.login("carol", PINS["carol"])["session"]
    view = t.endpoint.campaign(session, "SPRING")
    assert (view["issued"], view["redeemed"]) == (5, 1)
    assert "delete" not in view["actions"] and "end" in view["actions"]  # not offered
    listed = next(c for c in t.endpoint.campaigns(session, limit=100)["items"] if c["id"] == "SPRING")
    assert (listed["issued"], listed["redeemed"]) == (5, 1) and "delete" not in listed["actions"]

    with pytest.raises(Refused) as err:
        t.endpoint.campaign_step(session, "SPRING", "delete")
    assert (err.value.status, err.value.code) == (409, "campaign.delete.redeemed")
    assert err.value.message == ("SPRING has 1 redemption(s): a campaign with redemptions cannot be deleted; "
                                 "end it instead.")
    assert t.endpoint.campaign(session, "SPRING")["status"] == "active"
    [(detail,)] = shop.query("SELECT detail FROM audit WHERE action='campaign.refused' AND subject='SPRING'")
    assert '"campaign.delete.redeemed"' in str(detail)
    assert t.endpoint.campaign_step(session, "SPRING", "end")["status"] == "ended"

    # issued but never redeemed, or redeemed and undone: nothing was redeemed, so it may go
    t.endpoint.save_campaign(session, body(), new=True)
    t.endpoint.issue_vouchers(session, "XMAS", 2)
    assert t.endpoint.campaign(session, "XMAS")["actions"] == ["submit", "delete"]
    assert t.endpoint.campaign_step(session, "XMAS", "delete")["status"] == "deleted"
    station = shop.terminal("S002-T1")
    assert station.counter.redeem(shop.codes["station"], "dan", None).accepted
    station.counter.cancel(shop.codes["station"], "dan")
    assert t.endpoint.campaign(session, "STATION")["redeemed"] == 0
    assert t.endpoint.campaign_step(session, "STATION", "delete")["status"] == "deleted"


def test_a_rejection_needs_its_reason_which_the_campaign_keeps_and_the_audit_records(shop: Shop) -> None:
    t = shop.terminal()
    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    grace = t.endpoint.login("grace", PINS["grace"])["session"]
    made = t.endpoint.save_campaign(carol, body(), new=True)
    assert made["rejection"] is None
    step(t, carol, "XMAS", "submit")
    for reason in (None, "", "   ", "x" * 201):
        with pytest.raises(Refused) as err:
            step(t, grace, "XMAS", "reject", reason)
        assert (err.value.status, err.value.code) == (422, "campaign.reject.reason"), reason
        assert [p["field"] for p in err.value.problems] == ["reason"]
    with pytest.raises(Refused) as err:  # the terminal's own client, which sends no reason
        t.endpoint.campaign_step(grace, "XMAS", "reject")
    assert err.value.code == "campaign.reject.reason"
    assert t.endpoint.campaign(carol, "XMAS")["status"] == "manual_review"

    why = "10 off is too much for S001; make it 5 off and name the stores."
    after = step(t, grace, "XMAS", "reject", f"  {why} ")
    assert after["status"] == "rejected" and after["rejection"]["reason"] == why
    assert after["rejection"]["by"] == "grace" and after["rejection"]["at"]
    assert t.endpoint.campaign(carol, "XMAS")["rejection"]["reason"] == why
    assert next(c for c in t.endpoint.campaigns(carol)["items"] if c["id"] == "XMAS")["rejection"]["reason"] == why
    [(actor, detail)] = shop.query("SELECT actor, detail FROM audit WHERE action='campaign.reject' AND subject='XMAS'")
    assert actor == "grace" and why in str(detail)
    assert len(shop.query("SELECT 1 FROM audit WHERE action='campaign.refused' AND subject='XMAS'")) == 5

    # the campaign goes back to its author, is edited and sent again; the reason stays until the next rejection
    t.endpoint.save_campaign(carol, body(discount={"amount_off": 500}, stores=["S001"]), new=False)
    step(t, carol, "XMAS", "submit")
    assert step(t, grace, "XMAS", "reject", "y" * 200)["rejection"]["reason"] == "y" * 200
    assert "rejection" not in str(shop.query("SELECT body FROM campaigns WHERE id='XMAS'"))  # never sent to tills


def test_a_nul_character_in_text_is_refused_alike_on_both_engines(shop: Shop) -> None:
    """PostgreSQL cannot hold a NUL in text (found by the API fuzz as a 500 there); it is a 422 on both engines,
    in the query and the path (at the door) and in a JSON body (by the field), and a backslash before "u0000" is
    no NUL."""
    import httpx

    t = shop.terminal()
    session = t.endpoint.login("carol", PINS["carol"])["session"]
    headers = {"Authorization": "Bearer demo-token-riverside-1", "X-Staff-Session": session}
    with httpx.Client(base_url=shop.service.url, headers=headers, timeout=10) as http:
        for answer in (http.get("/v1/channels/bindings", params={"plan": "\x00"}),
                       http.get("/v1/campaigns/SPR%00ING"),
                       http.post("/v1/campaigns", json=body(id="NUL", name="a\x00b"))):
            assert (answer.status_code, answer.json()["error"]["code"]) == (422, "request.invalid"), answer.text
            assert "NUL" in answer.json()["error"]["message"]
        escaped = http.post("/v1/campaigns", json={**body(id="BACKSLASH"), "slogan": "\\u0000"})
        assert escaped.status_code == 201, escaped.text
        assert http.get("/v1/channels/bindings", params={"plan": "P1"}).status_code == 200


def test_a_time_with_no_utc_moment_is_a_422_not_a_500(shop: Shop) -> None:
    """``0001-01-01T00:00:00+00:01`` is before year 1 in UTC (found by the API fuzz): the campaign cannot be read."""
    t = shop.terminal()
    session = t.endpoint.login("carol", PINS["carol"])["session"]
    with pytest.raises(Refused) as err:
        t.endpoint.save_campaign(session, body(ends_at="0001-01-01T00:00:00+00:01"), new=True)
    assert (err.value.status, err.value.code) == (422, "campaign.invalid") and "out of range" in err.value.message
