"""The manager's day-one back office, driven by Pilot against a real service: a voucher looked up (from the
Vouchers screen and from the counter), revoked with a reason and printed again; staff edited, deactivated and
reactivated, their stores chosen from a list; the sync screen's last sync and conflicts (till, staff, settled
once); the reports' totals, chart axes, views and CSV units; and every one of these screens and forms whole at
80x24, in English and Chinese."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Select, SelectionList

from pos.demo import PINS
from pos.domain import display
from tests.conftest import Shop
from tests.tui_helpers import app_for, cut_off, log_in_at_counter, quiet, run, screen_text, text_of, until


def rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def notes(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


def named(app: Any) -> str:
    return type(app.screen).__name__


async def manager_at(pilot: Any, key: str, screen: str) -> None:
    await log_in_at_counter(pilot, "carol", PINS["carol"])
    await pilot.press(key)
    await until(pilot, lambda: named(pilot.app) == screen)


async def look_up(pilot: Any, code: str) -> None:
    """Type a code into the lookup screen and wait for its history."""
    app = pilot.app
    field = app.screen.query_one("#l-code", Input)
    field.focus()
    await pilot.press(*code, "enter")
    await until(pilot, lambda: app.screen.view is not None and app.screen.view["code"] == code.replace("-", "").upper())


def conflict(shop: Shop) -> None:
    """Two tills redeem one voucher while the service is down; the second upload is a conflict."""
    t1, t2 = shop.terminal("S001-T1"), shop.terminal("S001-T2")
    shop.service.stop()
    try:
        assert t1.counter.redeem(shop.codes["spring"], "alice", 60000).offline
        assert t2.counter.redeem(shop.codes["spring"], "carol", 61000).offline
    finally:
        shop.service.start()
    assert t1.sync().ok and len(t2.sync().conflicts) == 1


# -- a voucher looked up -----------------------------------------------------------------------------------
def test_a_manager_looks_a_voucher_up_prints_it_again_and_revokes_it_with_a_reason(shop: Shop) -> None:
    app = app_for(shop)
    code = shop.codes["spring3"]

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await manager_at(pilot, "f4", "VouchersScreen")
            await pilot.press("ctrl+f")
            await until(pilot, lambda: named(app) == "LookupScreen")
            await look_up(pilot, display(code).lower())
            assert "VALID" in text_of(app, "#l-status") and display(code) in text_of(app, "#l-status")
            assert "Spring 30 off" in text_of(app, "#l-facts")
            assert [r[1] for r in rows(app.screen.query_one("#l-history", DataTable))] == ["Issued"]

            await pilot.press("ctrl+o")  # printed again: its QR image and a sheet, beside the terminal's file
            png = shop.tmp / f"voucher-{display(code)}.png"
            await until(pilot, lambda: png.exists() and png.with_suffix(".html").exists())
            assert png.read_bytes().startswith(b"\x89PNG") and display(code) in png.with_suffix(".html").read_text()

            await pilot.press("ctrl+t")
            await until(pilot, lambda: named(app) == "RevokeForm")
            bells = app.bells
            await pilot.press("ctrl+s")  # no reason: not sent
            await until(pilot, lambda: app.bells > bells)
            assert "form.required" in text_of(app, "#err-reason")
            app.screen.query_one("#l-reason", Input).value = "Reported stolen by the customer"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: named(app) == "LookupScreen" and "REVOKED" in text_of(app, "#l-status"))
            assert "Reported stolen by the customer" in text_of(app, "#l-facts")
            assert rows(app.screen.query_one("#l-history", DataTable))[-1][1:4] == ["Revoked", "—", "Carol Chen"]
            assert app.screen.check_action("revoke", ()) is False and app.screen.check_action("reprint", ()) is False
            await pilot.press("escape")
            await until(pilot, lambda: named(app) == "VouchersScreen")

    run(scenario)
    assert shop.query("SELECT status FROM vouchers WHERE code=?", code) == [("revoked",)]
    assert [r[0] for r in shop.query("SELECT actor FROM audit WHERE action IN ('voucher.print', 'voucher.revoke') "
                                     "AND subject=? ORDER BY id", code)] == ["carol", "carol"]


def test_a_cashier_looks_a_voucher_up_from_the_counter_and_may_only_look(shop: Shop) -> None:
    t = shop.terminal("S001-T2")
    assert t.counter.redeem(shop.codes["spring"], "alice", 60000).accepted
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            app.screen.query_one("#code", Input).value = display(shop.codes["spring"])  # typed, not yet entered
            await pilot.press("ctrl+f")
            await until(pilot, lambda: named(app) == "LookupScreen" and app.screen.view is not None)
            assert "REDEEMED" in text_of(app, "#l-status")
            [_issued, redeemed] = rows(app.screen.query_one("#l-history", DataTable))
            assert redeemed[1:4] == ["Redeemed", "S001-T2 Riverside", "Alice Wang"]
            assert "Riverside (S001) · S001-T2 · Alice Wang (alice) · 30.00 off" in text_of(app, "#l-event")
            footer = {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show and b.enabled}
            assert "ctrl+t" not in footer and "ctrl+o" not in footer  # a cashier is not offered them
            await pilot.press("ctrl+t")
            await pilot.pause()
            assert named(app) == "LookupScreen"
            await pilot.press("escape")
            await until(pilot, lambda: named(app) == "CounterScreen")
            app.screen.query_one("#code", Input).value = "7M6E"  # not all of it yet: kept to finish typing
            await pilot.press("ctrl+f")
            await until(pilot, lambda: named(app) == "LookupScreen" and "code." in text_of(app, "#l-error"))
            assert app.screen.query_one("#l-code", Input).value == "7M6E"
            await pilot.press("escape")
            await until(pilot, lambda: named(app) == "CounterScreen")

    run(scenario)
    assert shop.query("SELECT status FROM vouchers WHERE code=?", shop.codes["spring"]) == [("issued",)]


# -- staff ---------------------------------------------------------------------------------------------------
def test_a_manager_edits_deactivates_and_reactivates_staff_and_chooses_their_stores_from_a_list(shop: Shop) -> None:
    app = app_for(shop)

    def bob() -> list[str]:
        table = app.screen.query_one("#staff", DataTable)
        return rows(table)[[r[0] for r in rows(table)].index("bob")]

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await manager_at(pilot, "f3", "StaffScreen")
            await until(pilot, lambda: app.screen.query_one("#staff", DataTable).row_count == 5)
            table = app.screen.query_one("#staff", DataTable)
            table.move_cursor(row=[r[0] for r in rows(table)].index("bob"))
            await pilot.pause()
            assert bob()[5] == "active"

            await pilot.press("e")
            await until(pilot, lambda: named(app) == "StaffEditForm")
            app.screen.query_one("#e-name", Input).value = "Bob Lee"
            app.screen.query_one("#e-role", Select).value = "manager"
            await pilot.press("ctrl+s")  # a new manager needs a manager's PIN
            await until(pilot, lambda: "staff.pin.required" in text_of(app, "#err-pin"))
            app.screen.query_one("#e-pin", Input).value = "135790"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: named(app) == "StaffScreen" and bob()[1:3] == ["Bob Lee", "manager"])

            await pilot.press("d")
            await until(pilot, lambda: named(app) == "Confirm")
            await pilot.press("y")
            await until(pilot, lambda: named(app) == "StaffScreen" and bob()[5] == "deactivated")
            assert app.screen.check_action("active", (False,)) is False  # only reactivating is offered now
            await pilot.press("a")
            await until(pilot, lambda: named(app) == "Confirm")
            await pilot.press("y")
            await until(pilot, lambda: bob()[5] == "active")

            await pilot.press("v")
            await until(pilot, lambda: named(app) == "RightsForm")
            stores = app.screen.query_one("#r-stores", SelectionList)
            assert [str(stores.get_option_at_index(i).prompt) for i in range(stores.option_count)] == [
                "S001 Riverside", "S002 Station Road", "S003 Airport"]  # the chain's stores, never typed
            bells = app.bells
            await pilot.press("ctrl+s")  # nothing chosen
            await until(pilot, lambda: app.bells > bells and "verifier.no_store" in text_of(app, "#err-stores"))
            stores.select("S002")
            stores.select("S003")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: named(app) == "StaffScreen" and bob()[3] == "S002, S003")

    run(scenario)
    assert shop.query("SELECT name, role, active FROM staff WHERE id='bob'") in (
        [("Bob Lee", "manager", 1)], [("Bob Lee", "manager", True)])
    actions = [r[0] for r in shop.query("SELECT action FROM audit WHERE subject='bob' AND actor='carol' ORDER BY id")]
    assert actions == ["staff.update", "staff.deactivate", "staff.reactivate", "verifier.grant"]


# -- sync: the last sync, conflicts ----------------------------------------------------------------------------
def test_the_sync_screen_says_when_it_last_synced_and_settles_a_conflict_naming_till_and_staff(shop: Shop) -> None:
    conflict(shop)
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(140, 45)) as pilot:
            await manager_at(pilot, "f5", "SyncScreen")
            await until(pilot, lambda: app.screen.query_one("#conflicts", DataTable).row_count == 1)
            assert "Last successful sync: 20" in text_of(app, "#last-sync")
            assert "1 open" in text_of(app, "#conflicts-title")
            [row] = rows(app.screen.query_one("#conflicts", DataTable))
            assert [row[i] for i in (0, 1, 2, 3, 5)] == [display(shop.codes["spring"]), "S001-T2", "carol",
                                                          "already_redeemed", "open"]
            assert "S001-T1 · alice" in text_of(app, "#conflict-detail")  # the redemption it ran into

            await pilot.press("m")
            await until(pilot, lambda: named(app) == "SettleForm")
            app.screen.query_one("#c-note", Input).value = "Refunded the customer 30.00"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: named(app) == "SyncScreen"
                        and app.screen.query_one("#conflicts", DataTable).row_count == 0)
            assert "0 open" in text_of(app, "#conflicts-title")
            await pilot.press("h")  # the settled ones too
            await until(pilot, lambda: app.screen.query_one("#conflicts", DataTable).row_count == 1)
            assert rows(app.screen.query_one("#conflicts", DataTable))[0][5].startswith("settled by carol")
            assert "Refunded the customer" in text_of(app, "#conflict-detail")

    run(scenario)
    assert shop.query("SELECT resolved_by, resolution FROM conflicts") == [("carol", "Refunded the customer 30.00")]
    assert shop.query("SELECT actor FROM audit WHERE action='conflict.settle'") == [("carol",)]


# -- reports -------------------------------------------------------------------------------------------------
def test_reports_total_each_campaign_and_store_draw_axes_and_export_what_is_shown(shop: Shop) -> None:
    riverside, station = shop.terminal("S001-T2"), shop.terminal("S002-T1")
    assert riverside.counter.redeem(shop.codes["spring"], "alice", 60000).accepted
    assert station.counter.redeem(shop.codes["station"], "dan", 2000).accepted
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await manager_at(pilot, "f6", "ReportsScreen")
            await until(pilot, lambda: "2 redemptions" in text_of(app, "#totals"))
            assert "35.00 off" in text_of(app, "#totals") and "620.00 of sales" in text_of(app, "#totals")
            days = app.screen.query_one("#days", Select)
            assert [str(p) for p, _v in days._options if _v != Select.BLANK] == ["last 7 days", "last 30 days",
                                                                                 "last 90 days"]
            chart = screen_text(app)
            assert "2 ┤" in chart and "0 └" in chart  # the count axis, with its values
            report = app.screen.report
            assert report["from"][5:] in chart and report["to"][5:] in chart  # the days along the bottom

            app.screen.query_one("#view", Select).value = "store"
            await until(pilot, lambda: rows(app.screen.query_one("#report", DataTable))[0][0] == "S001")
            assert rows(app.screen.query_one("#report", DataTable)) == [
                ["S001", "Riverside", "1", "30.00", "600.00"], ["S002", "Station Road", "1", "5.00", "20.00"]]
            app.screen.query_one("#view", Select).value = "campaign"
            await until(pilot, lambda: rows(app.screen.query_one("#report", DataTable))[0][:2] == ["SPRING",
                                                                                                   "Spring 30 off"])
            path = Path(app.screen.query_one("#r-path", Input).value)
            await pilot.press("ctrl+e")
            await until(pilot, path.exists)
            exported = list(csv.reader(path.open(encoding="utf-8")))
            assert exported[0] == ["campaign_id", "name", "redemptions", "discount_yuan", "amount_yuan"]
            assert exported[1] == ["SPRING", "Spring 30 off", "1", "30.00", "600.00"]

            await pilot.press("f1")  # shown again: read again, never what it had at first
            await until(pilot, lambda: named(app) == "CounterScreen")
            assert riverside.counter.redeem(shop.codes["spring2"], "alice", 60000).accepted
            await pilot.press("f6")
            await until(pilot, lambda: named(app) == "ReportsScreen" and "3 redemptions" in text_of(app, "#totals"))

    run(scenario)


# -- whole at 80x24 ----------------------------------------------------------------------------------------
async def open_each(pilot: Any, shop: Shop) -> list[tuple[str, list[str]]]:
    """Every back-office screen and form this work touches, in turn; what each cuts at this size."""
    app = pilot.app
    found = []

    async def check(name: str) -> None:
        await quiet(pilot)
        found.append((name, cut_off(app.screen)))

    await log_in_at_counter(pilot, "carol", PINS["carol"])
    await pilot.press("f4")
    await until(pilot, lambda: named(app) == "VouchersScreen")
    await check("vouchers")
    await pilot.press("ctrl+f")
    await until(pilot, lambda: named(app) == "LookupScreen")
    await look_up(pilot, shop.codes["spring"])
    await check("lookup")
    await pilot.press("ctrl+t")
    await until(pilot, lambda: named(app) == "RevokeForm")
    await check("revoke form")
    await pilot.press("escape", "escape")
    await pilot.press("f3")
    await until(pilot, lambda: named(app) == "StaffScreen" and app.screen.query_one("#staff", DataTable).row_count)
    await check("staff")
    for key, form in (("e", "StaffEditForm"), ("v", "RightsForm")):
        await pilot.press(key)
        await until(pilot, lambda f=form: named(app) == f)
        await check(form)
        await pilot.press("escape")
        await until(pilot, lambda: named(app) == "StaffScreen")
    await pilot.press("f5")
    await until(pilot, lambda: named(app) == "SyncScreen" and app.screen.query_one("#conflicts", DataTable).row_count)
    await check("sync")
    await pilot.press("m")
    await until(pilot, lambda: named(app) == "SettleForm")
    await check("settle form")
    await pilot.press("escape")
    await pilot.press("f6")
    await until(pilot, lambda: named(app) == "ReportsScreen" and app.screen.query_one("#report", DataTable).row_count)
    await check("reports")
    return found


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_back_office_screen_and_form_of_this_work_is_whole_at_80_by_24(shop: Shop, language: str) -> None:
    conflict(shop)
    app = app_for(shop, language=language)
    found: list[tuple[str, list[str]]] = []

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            found.extend(await open_each(pilot, shop))

    run(scenario)
    assert [name for name, _cut in found] == ["vouchers", "lookup", "revoke form", "staff", "StaffEditForm",
                                              "RightsForm", "sync", "settle form", "reports"]
    assert [(name, cut) for name, cut in found if cut] == []
