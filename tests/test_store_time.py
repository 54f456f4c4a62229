"""A store's own time: its day for "once per day", its clock for every time a person reads, and offline
redemptions placed in time by the till's anchor (last contact + monotonic seconds), not its wall clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.widgets import Select

from pos.demo import PINS, TOKENS, demo_fixture
from pos.domain import Discount, PerCustomer, Reason, Validity, Verifier, Voucher, check, generate
from pos.domain.check import day_start
from pos.domain.offline_time import Anchor, judge
from pos.domain.pushes import send_dates
from pos.service.admin import FixtureError, load_fixture
from pos.service.schema import open_db
from pos.terminal.counter import Counter
from pos.terminal.endpoint import Endpoint, Refused
from pos.tui import i18n
from tests.conftest import Shop, cheap_pins, serving
from tests.test_check import Memory, campaign
from tests.tui_helpers import Clock, app_for, log_in_at_counter, run, text_of, until

SHANGHAI = "Asia/Shanghai"


# -- the domain ----------------------------------------------------------------------------------------
def _daily(zone: str) -> tuple[Memory, str]:
    m = Memory()
    code = generate()
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    m.campaigns["C"] = campaign(per_customer=PerCustomer.ONCE_PER_DAY, begins_at=now - timedelta(days=10),
                                ends_at=now + timedelta(days=10),
                                validity=Validity(now - timedelta(days=10), now + timedelta(days=10)))
    m.vouchers[code] = Voucher(code, "C", "cust")
    m.verifiers["alice"] = Verifier("alice", all_stores=True)
    m.zones["SH"] = zone
    return m, code


def _at(local: str, zone: str = SHANGHAI) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.parametrize(("first", "second", "same_day"), [
    ("2026-11-23 23:59", "2026-11-24 00:00", False),  # a minute apart, two local days (one UTC day: 15:59, 16:00)
    ("2026-11-23 00:00", "2026-11-23 23:59", True),  # one local day (two UTC days: 16:00 the day before, 15:59)
    ("2026-11-24 07:30", "2026-11-24 08:30", True),  # the case: 23:30 and 00:30 UTC
])
def test_once_per_day_is_the_stores_local_day(first: str, second: str, same_day: bool) -> None:
    m, code = _daily(SHANGHAI)
    m.by_customer.append(("C", "cust", _at(first)))
    v = check(code, store_id="SH", staff_id="alice", amount=None, catalog=m, history=m, now=_at(second))
    assert (v.reason is Reason.LIMIT_REACHED) is same_day, v
    # the same two moments in a UTC store are judged by the UTC day
    m.zones["SH"] = "UTC"
    utc_same = _at(first).date() == _at(second).date()
    v = check(code, store_id="SH", staff_id="alice", amount=None, catalog=m, history=m, now=_at(second))
    assert (v.reason is Reason.LIMIT_REACHED) is utc_same


def test_a_day_starts_at_the_zones_own_midnight_across_a_dst_change() -> None:
    ny = "America/New_York"
    # 2026-03-08: clocks go forward at 02:00; midnight that day is still -05:00, the next day's is -04:00
    assert day_start(datetime(2026, 3, 8, 12, tzinfo=UTC), ny) == datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert day_start(datetime(2026, 3, 9, 12, tzinfo=UTC), ny) == datetime(2026, 3, 9, 4, tzinfo=UTC)
    # 2026-11-01: back at 02:00; that day is 25 hours long
    assert day_start(datetime(2026, 11, 2, 3, tzinfo=UTC), ny) == datetime(2026, 11, 1, 4, tzinfo=UTC)
    assert day_start(datetime(2026, 11, 2, 6, tzinfo=UTC), ny) == datetime(2026, 11, 2, 5, tzinfo=UTC)


def test_refusals_say_their_times_on_the_stores_clock_with_its_zone() -> None:
    m, code = _daily(SHANGHAI)
    ends = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    m.campaigns["C"] = campaign(validity=Validity(ends - timedelta(days=5), ends), discount=Discount(amount_off=100),
                                begins_at=ends - timedelta(days=5), ends_at=ends + timedelta(days=5))
    v = check(code, store_id="SH", staff_id="alice", amount=None, catalog=m, history=m, now=ends + timedelta(hours=1))
    assert v.reason is Reason.EXPIRED
    assert v.message == "This voucher expired on 2026-11-23 23:30 (Asia/Shanghai)."
    assert v.params["ends"] == "2026-11-23T15:30:00.000000Z"  # the fact itself stays a UTC instant


def test_a_till_formats_times_in_its_stores_zone_whatever_the_machine_says() -> None:
    from pos.domain import Verdict

    expired = Verdict(Reason.EXPIRED, "…", params={"ends": "2026-11-23T23:30:00.000000Z"})
    try:
        i18n.set_zone(SHANGHAI)  # this machine runs on UTC
        assert i18n.verdict_sentence(expired) == "This voucher expired on 2026-11-24 07:30."
        assert i18n.clock(datetime(2026, 11, 23, 23, 30, tzinfo=UTC)) == "07:30:00"
        i18n.set_zone("America/Los_Angeles")
        assert i18n.verdict_sentence(expired) == "This voucher expired on 2026-11-23 15:30."
    finally:
        i18n.set_zone(None)


@pytest.mark.parametrize(("claimed", "anchor", "at", "code"), [
    # the till's clock agrees with its anchor (within five minutes): believed
    ("-10m", ("-70m", 3600.0), "-10m", None),
    # two days behind, anchored: decided at the anchored time, flagged
    ("-2d", ("-70m", 3600.0), "-10m", "clock.skew"),
    # an hour ahead of the anchor
    ("+50m", ("-70m", 3600.0), "-10m", "clock.skew"),
    # restarted since the contact (no monotonic count): a time before that contact is impossible
    ("-2d", ("-70m", None), "0", "clock.before_contact"),
    ("-30m", ("-70m", None), "-30m", None),
    # no anchor at all (a till from before anchors): only a time after the upload is impossible
    ("+1d", None, "0", "clock.ahead"),
    ("-2d", None, "-2d", None),
])
def test_judging_an_offline_redemptions_time(claimed: str, anchor: tuple[str, float | None] | None, at: str,
                                             code: str | None) -> None:
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)

    def rel(text: str) -> datetime:
        if text == "0":
            return now
        n, unit = int(text[:-1]), text[-1]
        return now + (timedelta(days=n) if unit == "d" else timedelta(minutes=n))

    judged = judge(rel(claimed), Anchor(rel(anchor[0]), anchor[1]) if anchor else None, now)
    assert judged.at == rel(at) and judged.code == code
    assert (judged.note is None) is (code is None)


# -- against a real service --------------------------------------------------------------------------------
@pytest.fixture
def chain(tmp_path: Path, service_db: str) -> Iterator[Shop]:
    """The demo chain in Shanghai, with a once-a-day campaign and one whose vouchers expired yesterday."""
    now = datetime.now(UTC)
    fixture, codes = demo_fixture(now)
    fixture["timezone"] = SHANGHAI
    t = lambda d: (now + d).isoformat()  # noqa: E731
    fixture["campaigns"] += [
        {"id": "DAILY", "name": "Daily 5 off", "begins_at": t(-timedelta(days=10)), "ends_at": t(timedelta(days=30)),
         "validity": {"starts_at": t(-timedelta(days=10)), "ends_at": t(timedelta(days=30))},
         "discount": {"amount_off": 500}, "per_customer": "once_per_day", "offline": {"allowed": True}},
        {"id": "LATE", "name": "Ended yesterday", "begins_at": t(-timedelta(days=10)), "ends_at": t(timedelta(days=30)),
         "validity": {"starts_at": t(-timedelta(days=10)), "ends_at": t(-timedelta(days=1))},
         "discount": {"amount_off": 500}, "offline": {"allowed": True}},
    ]
    for name, campaign_id, customer in [("d1", "DAILY", "cust-42"), ("d2", "DAILY", "cust-42"), ("d3", "DAILY", "cust-42"),
                                        ("d4", "DAILY", "cust-7"), ("late", "LATE", None)]:
        codes[name] = generate()
        fixture["vouchers"].append({"campaign_id": campaign_id, "code": codes[name], "customer_id": customer})
    with serving(tmp_path, service_db, fixture, codes) as running:
        yield running


def _redeem(code: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"kind": "redeem", "nonce": str(uuid.uuid4()), "code": code, "staff_id": "alice", "amount": 10000,
            "redeemed_at": at.isoformat().replace("+00:00", "Z"), **extra}


def test_the_service_counts_once_per_day_on_the_stores_day(chain: Shop) -> None:
    # offline redemptions uploaded later, at 23:59 and 00:00:30 Shanghai two days ago, then 07:30 the next morning
    day = (datetime.now(UTC).astimezone(ZoneInfo(SHANGHAI)) - timedelta(days=3)).date()
    late = datetime.combine(day, time(23, 59), ZoneInfo(SHANGHAI))
    after_midnight = late + timedelta(seconds=90)
    breakfast = datetime.combine(day + timedelta(days=1), time(7, 30), ZoneInfo(SHANGHAI))
    assert late.astimezone(UTC).date() == after_midnight.astimezone(UTC).date()  # one UTC day, two Shanghai days
    with Endpoint(chain.service.url, TOKENS["S001-T1"]) as e:
        results = e.upload("S001", [_redeem(chain.codes["d1"], late), _redeem(chain.codes["d2"], after_midnight),
                                    _redeem(chain.codes["d3"], breakfast)])
    assert [r["result"] for r in results] == ["accepted", "accepted", "conflict"], results
    assert results[2]["reason"] == "limit_reached"
    assert chain.query("SELECT count(*) FROM redemptions WHERE campaign_id='DAILY'") == [(2,)]


def test_stores_carry_their_zone_to_the_till_with_the_services_clock(chain: Shop) -> None:
    term = chain.terminal("S001-T1")
    assert term.db.store("S001") == ("Riverside", SHANGHAI)
    assert term.db.store_zone("S001") == SHANGHAI
    anchor = term.db.clock_anchor()
    assert anchor is not None and anchor["elapsed"] is not None and 0 <= anchor["elapsed"] < 60
    contact = datetime.fromisoformat(anchor["contact_at"].replace("Z", "+00:00"))
    assert abs(contact - datetime.now(UTC)) < timedelta(minutes=1)
    # a fixture campaign without a zone takes the chain's; a report's days are the store's
    with Endpoint(chain.service.url, TOKENS["S001-T1"]) as e:
        session = e.login("carol", PINS["carol"])["session"]
        assert e.report(session, days=3)["tz"] == SHANGHAI
        assert e.campaign(session, "SPRING")["timezone"] == SHANGHAI


def test_a_till_whose_clock_is_two_days_behind_cannot_stretch_a_voucher(chain: Shop) -> None:
    term = chain.terminal("S001-T1")  # a pull: the anchor is the service's clock now
    behind = lambda: datetime.now(UTC) - timedelta(days=2)  # noqa: E731
    offline = Counter(term.db, Endpoint("http://127.0.0.1:9", TOKENS["S001-T1"], timeout=0.5), store_id="S001",
                      terminal_id="S001-T1", clock=behind)
    # on its own clock the LATE voucher is still good; the till decides at its anchored time and refuses it
    assert offline.trusted_now() - datetime.now(UTC) < timedelta(minutes=1)
    assert offline.redeem(chain.codes["late"], "alice", 10000).reason is Reason.EXPIRED
    assert offline.redeem(chain.codes["d4"], "alice", 10000).accepted
    # a till from before anchors (or one that decided on its wall clock) uploads the LATE voucher anyway
    with Endpoint(chain.service.url, TOKENS["S001-T1"]) as e:
        [answer] = e.upload("S001", [_redeem(chain.codes["late"], behind(),
                                             clock={"contact_at": term.db.clock_anchor()["contact_at"],  # type: ignore[index]
                                                    "elapsed": 1.0})])
    # expired at the real time: refused, and the note says why the till's time was not believed
    assert answer["result"] == "conflict" and answer["reason"] == "expired"
    assert "till's clock said" in answer["message"]
    report = term.sync()
    by_code = {c["ours"]["code"]: c for c in report.conflicts}
    # valid either way: kept, recorded at the anchored time, flagged for a manager on both sides
    assert by_code[chain.codes["d4"]]["reason"] == "clock"
    ((at,),) = chain.query("SELECT redeemed_at FROM redemptions WHERE code=?", chain.codes["d4"])
    at = at if isinstance(at, datetime) else datetime.fromisoformat(at.replace("Z", "+00:00"))
    assert abs(at - datetime.now(UTC)) < timedelta(minutes=5)
    assert chain.query("SELECT reason, request_hash FROM conflicts WHERE code=?", chain.codes["d4"]) == [("clock", None)]
    assert chain.query("SELECT reason FROM conflicts WHERE code=?", chain.codes["late"]) == [("expired",)]
    # uploading again changes nothing: the flag is not an answer
    again = term.sync()
    assert again.conflicts == [] and chain.query("SELECT count(*) FROM redemptions WHERE code=?", chain.codes["d4"]) == [(1,)]


def test_a_manager_moves_a_store_to_another_zone_and_its_tills_follow(chain: Shop) -> None:
    station = chain.terminal("S002-T1")
    assert station.db.store_zone("S002") == SHANGHAI
    with Endpoint(chain.service.url, TOKENS["S001-T1"]) as e:
        manager = e.login("carol", PINS["carol"])["session"]
        cashier = e.login("alice", PINS["alice"])["session"]
        assert {s["id"]: s["timezone"] for s in e.stores(manager)} == {"S001": SHANGHAI, "S002": SHANGHAI, "S003": SHANGHAI}
        assert e.set_store_zone(manager, "S002", "Europe/Berlin")["timezone"] == "Europe/Berlin"
        for call, code in ((lambda: e.set_store_zone(manager, "S002", "Berlin"), "store.timezone.invalid"),
                           (lambda: e.set_store_zone(manager, "S999", "UTC"), "store.not_found"),
                           (lambda: e.set_store_zone(cashier, "S002", "UTC"), "role.manager_required")):
            with pytest.raises(Refused) as err:
                call()
            assert err.value.code == code
    rows = chain.query("SELECT actor, subject, detail FROM audit WHERE action='store.timezone'")
    assert [(r[0], r[1]) for r in rows] == [("carol", "S002")] and "Europe/Berlin" in str(rows[0][2])
    station.sync()
    assert station.db.store_zone("S002") == "Europe/Berlin"


def test_a_lockout_says_until_when_on_the_stores_clock(chain: Shop) -> None:
    with Endpoint(chain.service.url, TOKENS["S001-T1"]) as e:
        for _ in range(10):
            try:
                e.login("alice", "0000")
            except Refused as err:
                if err.code == "login.locked":
                    assert f"({SHANGHAI})" in err.message and "UTC" not in err.message
                    break
        else:
            raise AssertionError("never locked")


def test_a_store_zone_must_be_a_real_one(tmp_path: Path) -> None:
    fixture, _ = demo_fixture()
    fixture["stores"][0]["timezone"] = "Mars/Olympus"
    db = open_db(tmp_path / "s.db")
    try:
        with pytest.raises(FixtureError, match="Mars/Olympus"):
            with cheap_pins():
                load_fixture(db, fixture)
        assert db.execute("SELECT count(*) FROM stores").fetchone() == (0,)  # nothing loaded
    finally:
        db.close()


def test_the_push_form_offers_the_stores_next_days_not_the_machines(tmp_path: Path) -> None:
    """A push date chosen in the form near a zone's midnight is one the service accepts."""
    now = datetime.now(UTC)
    # a zone whose date differs from UTC's right now: ahead of it in the afternoon, behind it in the morning
    zone = "Pacific/Kiritimati" if now.hour >= 12 else "Etc/GMT+12"
    assert now.astimezone(ZoneInfo(zone)).date() != now.date()
    fixture, codes = demo_fixture(now)
    fixture["timezone"] = zone
    with serving(tmp_path, str(tmp_path / "service.db"), fixture, codes) as shop:
        app = app_for(shop, clock=Clock())
        picked: list[str] = []

        async def scenario() -> None:
            async with app.run_test(size=(140, 50)) as pilot:
                await log_in_at_counter(pilot, "carol", PINS["carol"])
                await pilot.press("f7")
                await until(pilot, lambda: type(app.screen).__name__ == "PushesScreen")
                await pilot.press("n")
                await until(pilot, lambda: type(app.screen).__name__ == "PushForm")
                offered = app.screen.days
                assert offered == [d.isoformat() for d in send_dates(datetime.now(UTC), zone)]
                # the date the machine's calendar would get wrong: tomorrow seen from ahead, the third from behind
                pick = offered[0] if zone.startswith("Pacific") else offered[2]
                picked.append(pick)
                app.screen.query_one("#p-date", Select).value = pick
                app.screen.query_one("#p-campaign").value = "SPRING"
                await pilot.press("ctrl+s")
                await until(pilot, lambda: type(app.screen).__name__ == "PushesScreen", timeout=10)
                assert "push." not in text_of(app, "#status")
        try:
            run(scenario)
        finally:
            i18n.set_zone(None)
        ((send_at,),) = shop.query("SELECT send_at FROM pushes")
        assert datetime.fromisoformat(send_at.replace("Z", "+00:00")).astimezone(ZoneInfo(zone)).date().isoformat() == picked[0]


def test_a_daily_report_counts_each_redemption_on_its_own_days_offset_across_a_dst_change(service_db: str) -> None:
    """New York leaves summer time on 2026-11-01 at 02:00: 04:30 UTC that night is 00:30 EDT (Nov 1), not
    23:30 EST (Oct 31) as today's offset applied to every day would make it."""
    from pos.service.backoffice import redemption_report

    db = open_db(service_db)
    try:
        with cheap_pins():
            load_fixture(db, demo_fixture(datetime(2026, 10, 20, tzinfo=UTC))[0])
        with db.atomic():
            for k, at in enumerate(["2026-10-31T03:30:00Z",  # 23:30 EDT, Oct 30
                                    "2026-11-01T03:30:00Z",  # 23:30 EDT, Oct 31
                                    "2026-11-01T04:30:00Z",  # 00:30 EDT, Nov 1
                                    "2026-11-01T06:30:00Z",  # 01:30 EST, Nov 1 (the second 01:30)
                                    "2026-11-02T04:30:00Z",  # 23:30 EST, Nov 1
                                    "2026-11-02T05:30:00Z"]):  # 00:30 EST, Nov 2
                db.execute("INSERT INTO redemptions (nonce, code, campaign_id, customer_id, store_id, staff_id, terminal_id, "
                           "amount, discount, redeemed_at, recorded_at, mode) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                           (f"n{k}", f"CODE{k}", "SPRING", None, "S001", "alice", "S001-T1", 1000, 100, at, at, "online"))
        report = redemption_report(db, datetime(2026, 11, 2, 12, tzinfo=UTC), days=5, tz="America/New_York")
    finally:
        db.close()
    assert report["from"] == "2026-10-29" and report["to"] == "2026-11-02"
    assert {r["day"]: r["redemptions"] for r in report["rows"]} == {"2026-10-30": 1, "2026-10-31": 1, "2026-11-01": 3,
                                                                    "2026-11-02": 1}


def test_a_manager_moves_a_store_to_another_zone_from_the_back_office(chain: Shop) -> None:
    app = app_for(chain)

    async def scenario() -> None:
        async with app.run_test(size=(100, 32)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            await pilot.press("f3")
            await until(pilot, lambda: type(app.screen).__name__ == "StaffScreen")
            await pilot.press("t")
            await until(pilot, lambda: type(app.screen).__name__ == "StoreZoneForm")
            assert app.screen.query_one("#z-zone").value == SHANGHAI
            app.screen.query_one("#z-store", Select).value = "S003"
            await pilot.pause()
            field = app.screen.query_one("#z-zone")
            field.value = "Mars/Olympus"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "store.timezone.invalid" in app.screen.query_one("#err-timezone").render().plain)
            field.value = "Europe/Lisbon"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: type(app.screen).__name__ == "StaffScreen")

    run(scenario)
    assert chain.query("SELECT timezone FROM stores WHERE id='S003'") == [("Europe/Lisbon",)]


@pytest.mark.parametrize("name", ["America", "Etc", "", "../../etc/passwd", "/etc/localtime", "zone.tab", "Mars/Olympus"])
def test_a_time_zone_is_an_iana_zone_name_and_nothing_else(chain: Shop, name: str) -> None:
    """A region's folder of the zone database (``America``) once reached the filesystem and failed as a 500."""
    with Endpoint(chain.service.url, TOKENS["S001-T1"]) as e:
        manager = e.login("carol", PINS["carol"])["session"]
        for call, code in ((lambda: e.set_store_zone(manager, "S002", name), "store.timezone.invalid"),
                           (lambda: e.report(manager, tz=name or "x"), "report.tz.invalid")):
            with pytest.raises(Refused) as err:
                call()
            assert err.value.code in (code, "request.invalid") and err.value.status in (400, 422)
        soon = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
        with pytest.raises(Refused) as err:
            e.save_campaign(manager, {"id": "ZONES", "name": "Zones", "begins_at": soon.isoformat(),
                                      "ends_at": (soon + timedelta(days=5)).isoformat(), "timezone": name or "x",
                                      "discount": {"amount_off": 500}},
                            new=True)
        assert err.value.status == 422
        assert "campaign.timezone.invalid" in {p["code"] for p in err.value.problems} or err.value.code == "request.invalid"
