"""The back office, driven by Pilot against a real ``pos serve``: a manager creates a campaign (with
inline validation), takes it through its lifecycle, gives a new cashier the right to verify in one
store only — and that cashier is refused at another store's counter; vouchers, sync and reports."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Footer

from pos.demo import PINS
from pos.domain import display, normalise
from pos.terminal.endpoint import Refused
from tests.conftest import Shop
from tests.tui_helpers import (
    app_for,
    cut_off,
    log_in_at_counter,
    quiet,
    run,
    says_something,
    scan,
    screen_text,
    text_of,
    until,
)


def local(delta: timedelta) -> str:
    return (datetime.now() + delta).strftime("%Y-%m-%d %H:%M")


async def fill(pilot, field: str, value: str) -> None:
    """Type into a field of the campaign form and leave it (its errors show from then on)."""
    widget = pilot.app.screen.query_one(f"#f-{field}")
    widget.focus()
    widget.value = value
    await pilot.press("tab")
    await pilot.pause()


def rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def selected_row(app: Any) -> list[str]:
    table = app.screen.query_one("#campaigns", DataTable)
    return rows(table)[table.cursor_row]


def notes(app: Any) -> list[str]:
    """The notifications on screen now."""
    return [n.message for n in app._notifications]


async def step(pilot: Any, key: str, status: str) -> None:
    """A lifecycle step on the selected campaign, confirmed, and the status it leads to."""
    app = pilot.app
    await pilot.press(key)
    await until(pilot, lambda: type(app.screen).__name__ == "Confirm")
    await pilot.press("y")
    await until(pilot, lambda: selected_row(app)[3] == status)


def test_manager_runs_a_campaign_and_a_verifier_is_refused_elsewhere(shop: Shop) -> None:
    office = app_for(shop, "S001-T1")

    async def manager() -> None:
        async with office.run_test(size=(140, 45)) as pilot:
            app = office
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            await pilot.press("f2")
            await until(pilot, lambda: type(app.screen).__name__ == "CampaignsScreen"
                        and app.screen.query_one("#campaigns", DataTable).row_count == 6)

            await pilot.press("n")
            await until(pilot, lambda: type(app.screen).__name__ == "CampaignForm" and app.screen.query("#f-id"))
            await fill(pilot, "id", "XMAS")
            await fill(pilot, "name", "Christmas offer")  # 15 characters: the rule says at most 10
            await until(pilot, lambda: "campaign.name.invalid" in text_of(app, "#err-name"))
            await fill(pilot, "name", "Xmas 10")
            await fill(pilot, "begins_at", local(timedelta(minutes=-5)))
            await fill(pilot, "ends_at", local(timedelta(days=200)))
            await until(pilot, lambda: "campaign.time.invalid" in text_of(app, "#err-ends_at"))
            await fill(pilot, "ends_at", local(timedelta(days=20)))
            await fill(pilot, "amount_off", "10")
            await fill(pilot, "stores", "S001")
            assert text_of(app, "#err-name").strip() == "" and text_of(app, "#err-ends_at").strip() == ""
            await pilot.press("ctrl+s")
            await until(pilot, lambda: type(app.screen).__name__ == "CampaignsScreen"
                        and app.screen.query_one("#campaigns", DataTable).row_count == 7)
            table = app.screen.query_one("#campaigns", DataTable)
            assert rows(table)[table.cursor_row][:2] == ["XMAS", "Xmas 10"]
            assert app.screen.check_action("step", ("approve",)) is False  # not offered before submission
            await step(pilot, "s", "in review")
            bells = app.bells
            await pilot.press("a")  # four eyes: carol made it, so carol may not approve it
            await until(pilot, lambda: type(app.screen).__name__ == "Confirm")
            await pilot.press("y")
            await until(pilot, lambda: app.bells > bells)
            assert any("campaign.four_eyes" in n or "Four eyes: XMAS was created and last edited by carol" in n
                       for n in notes(app)), notes(app)
            assert selected_row(app)[3] == "in review"

            await pilot.press("ctrl+l")  # the second manager approves
            await log_in_at_counter(pilot, "grace", PINS["grace"])
            await pilot.press("f2")
            await until(pilot, lambda: type(app.screen).__name__ == "CampaignsScreen"
                        and app.screen.query_one("#campaigns", DataTable).row_count == 7)
            table = app.screen.query_one("#campaigns", DataTable)
            table.move_cursor(row=[r[0] for r in rows(table)].index("XMAS"))
            await step(pilot, "a", "active")
            assert app.screen.check_action("step", ("pause",)) and not app.screen.check_action("step", ("resume",))
            await pilot.press("ctrl+l")
            await log_in_at_counter(pilot, "carol", PINS["carol"])

            # a new cashier who may verify at Station Road only
            await pilot.press("f3")
            await until(pilot, lambda: type(app.screen).__name__ == "StaffScreen"
                        and app.screen.query_one("#staff", DataTable).row_count == 5)
            await pilot.press("n")
            await until(pilot, lambda: type(app.screen).__name__ == "StaffForm")
            for field, value in [("s-id", "erin"), ("s-name", "Erin Xu"), ("s-pin", "4321")]:
                app.screen.query_one(f"#{field}").value = value
            await pilot.press("ctrl+s")
            await until(pilot, lambda: type(app.screen).__name__ == "StaffScreen"
                        and app.screen.query_one("#staff", DataTable).row_count == 6)
            table = app.screen.query_one("#staff", DataTable)
            assert rows(table)[table.cursor_row][:4] == ["erin", "Erin Xu", "cashier", "nowhere"]
            await pilot.press("v")
            await until(pilot, lambda: type(app.screen).__name__ == "RightsForm")
            app.screen.query_one("#r-stores").select("S002")  # chosen from the chain's stores
            await pilot.press("ctrl+s")
            await until(pilot, lambda: type(app.screen).__name__ == "StaffScreen"
                        and rows(app.screen.query_one("#staff", DataTable))[
                            app.screen.query_one("#staff", DataTable).cursor_row][3] == "S002")

            # the campaign's voucher, issued and exported from the vouchers screen
            await pilot.press("f4")
            await until(pilot, lambda: type(app.screen).__name__ == "VouchersScreen"
                        and app.screen.query_one("#v-path").value)
            app.screen.query_one("#v-campaign").value = "XMAS"
            app.screen.query_one("#v-count").value = "3"
            await pilot.pause()
            await pilot.press("ctrl+n")
            await until(pilot, lambda: app.screen.query_one("#batch", DataTable).row_count == 3)
            path = Path(app.screen.query_one("#v-path").value)
            await pilot.press("ctrl+e")
            await until(pilot, path.exists)
            assert path.parent == shop.tmp

    run(manager)
    exported = list(csv.DictReader(path_open(shop.tmp)))
    assert len(exported) == 3 and all(r["campaign_id"] == "XMAS" and r["qr_payload"].startswith("VC1:") for r in exported)
    code = exported[0]["code"]
    assert normalise(exported[0]["display"]) == code

    # Erin at Riverside (S001) is refused; the catalog pull at start brought her (limited) right along
    riverside = app_for(shop, "S001-T2")

    async def erin_at_riverside() -> None:
        async with riverside.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "erin", "4321")
            assert str((await scan(pilot, code)).reason) == "staff_not_verifier"
            await pilot.press("ctrl+l")
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            assert (await scan(pilot, code)).accepted  # the voucher itself is good here

    run(erin_at_riverside)
    assert shop.query("SELECT staff_id FROM redemptions WHERE code=?", code) == [("alice",)]
    audit = {r[0] for r in shop.query("SELECT action FROM audit WHERE actor='carol'")}
    assert {"campaign.create", "campaign.submit", "staff.add", "verifier.grant", "vouchers.issue"} <= audit
    assert shop.query("SELECT actor FROM audit WHERE action='campaign.approve' AND subject='XMAS'") == [("grace",)]


def path_open(folder: Path):
    (path,) = folder.glob("vouchers-XMAS-*.csv")
    return path.open(encoding="utf-8")


def test_cashier_cannot_open_the_back_office(shop: Shop) -> None:
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            for key in ("f2", "f3", "f4", "f5", "f6"):
                await pilot.press(key)
                await pilot.pause()
                assert type(app.screen).__name__ == "CounterScreen"
            await app.run_action("show('campaigns')")  # even when asked for by name
            await pilot.pause()
            assert type(app.screen).__name__ == "CounterScreen"

    run(scenario)


def test_sync_screen_shows_conflicts_and_reports_count_redemptions(shop: Shop) -> None:
    app = app_for(shop, "S001-T1")
    other = shop.terminal("S001-T2")

    async def scenario() -> None:
        async with app.run_test(size=(140, 45)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            shop.service.stop()
            try:
                assert (await scan(pilot, shop.codes["spring"], "620")).offline
                await until(pilot, lambda: "1 waiting to upload" in text_of(app, "#status"))
            finally:
                shop.service.start()
            assert other.counter.redeem(shop.codes["spring"], "alice", 70000).accepted  # the other till, online
            assert (await scan(pilot, shop.codes["spring2"], "600")).accepted

            await pilot.press("f5")  # (the online verdict just now also started an upload: the link is back)
            await until(pilot, lambda: type(app.screen).__name__ == "SyncScreen" and not app.syncing)
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.screen.query_one("#conflicts", DataTable).row_count == 1)
            conflict = [str(c) for c in app.screen.query_one("#conflicts", DataTable).get_row_at(0)]
            assert conflict[1:4] == ["S001-T1", "carol", "already_redeemed"], conflict  # the till and staff of ours
            assert "S001-T2 · alice" in text_of(app, "#conflict-detail")  # and of the redemption it ran into
            assert app.screen.query_one("#outbox", DataTable).row_count == 0
            assert "Uploaded" in text_of(app, "#sync-result")  # (the conflict came with the upload before)

            await pilot.press("f6")
            await until(pilot, lambda: type(app.screen).__name__ == "ReportsScreen"
                        and app.screen.query_one("#report", DataTable).row_count == 1)
            assert rows(app.screen.query_one("#report", DataTable))[0][1:4] == ["SPRING", "S001", "2"]
            assert sum(app.screen.query_one("#day-chart").values) == 2
            path = Path(app.screen.query_one("#r-path").value)
            await pilot.press("ctrl+e")
            await until(pilot, path.exists)
            exported = list(csv.reader(path.open()))
            assert exported[0][-2:] == ["discount_yuan", "amount_yuan"]  # the unit, stated
            assert exported[1][1:] == ["SPRING", "S001", "2", "60.00", "1300.00"]  # 700 + 600 yuan live

    run(scenario)


def test_goods_at_the_counter_and_a_push_from_the_back_office(shop: Shop, tmp_path: Path, monkeypatch) -> None:
    elsewhere = tmp_path / "started-from-here"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the folder the UI was started from is not where exports go
    app = app_for(shop, "S001-T1")

    async def scenario() -> None:
        async with app.run_test(size=(140, 50)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            # an order rule asks for the goods, then gives the cheapest of five free
            pilot.app.screen.query_one("#code").value = shop.codes["buy5"]
            await pilot.press("enter")
            await until(pilot, lambda: "counts the goods" in text_of(app, "#verdict"))
            assert app.focused is app.screen.query_one("#goods")
            app.screen.query_one("#goods").value = "10*4, 8.50"
            await pilot.press("enter")
            await until(pilot, lambda: "ACCEPTED" in text_of(app, "#verdict"))
            assert "−8.50" in text_of(app, "#verdict")

            # a batch of goods on a new single-item promotion, refused then accepted
            await pilot.press("f2")
            await until(pilot, lambda: type(app.screen).__name__ == "CampaignsScreen"
                        and app.screen.query_one("#campaigns", DataTable).row_count == 6)
            await pilot.press("k")  # the newest campaign (BUY5) is selected
            await until(pilot, lambda: type(app.screen).__name__ == "GoodsForm")
            app.screen.query_one("#batch").value = "A100 20.00 20.00"
            app.screen.query_one("#batch").focus()
            await pilot.press("enter")
            await until(pilot, lambda: "sku.promoPrice.invalid" in text_of(app, "#err-batch")
                        or "campaign.non.edit" in text_of(app, "#form-error"))
            await pilot.press("escape")

            # a push: preview, then scheduled, and it shows in the history
            await pilot.press("f7")
            await until(pilot, lambda: type(app.screen).__name__ == "PushesScreen")
            await pilot.press("n")
            await until(pilot, lambda: type(app.screen).__name__ == "PushForm")
            app.screen.query_one("#p-campaign").value = "SPRING"
            app.screen.query_one("#p-items").value = "A100"
            await pilot.press("ctrl+o")
            await until(pilot, lambda: "2 will receive it, 2 skipped" in text_of(app, "#p-preview"))
            assert "Spring 30 off" in text_of(app, "#p-preview")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: type(app.screen).__name__ == "PushesScreen"
                        and app.screen.query_one("#pushes", DataTable).row_count == 1)
            assert rows(app.screen.query_one("#pushes", DataTable))[0][2:5:2] == ["SPRING", "scheduled"]
            await pilot.press("t")
            await until(pilot, (tmp_path / "push-orders-template.xlsx").exists)  # beside the terminal's file
            assert not (elsewhere / "push-orders-template.xlsx").exists()

    run(scenario)
    assert shop.query("SELECT discount FROM redemptions WHERE code=?", shop.codes["buy5"]) == [(850,)]
    assert shop.query("SELECT kind, campaign_id, status FROM pushes") == [("advertising", "SPRING", "scheduled")]


def test_sync_and_reports_show_what_is_there_now_when_opened_again(shop: Shop) -> None:
    """They showed what they had at first open until Ctrl+R; codes typed with dashes were shown mangled."""
    app = app_for(shop, "S001-T1")
    typed = shop.codes["spring"][:4] + "-" + shop.codes["spring"][4:8] + "-" + shop.codes["spring"][8:]

    async def scenario() -> None:
        async with app.run_test(size=(140, 45)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            await pilot.press("f6")
            await until(pilot, lambda: type(app.screen).__name__ == "ReportsScreen" and app.screen.report is not None)
            assert app.screen.query_one("#report", DataTable).row_count == 0
            await pilot.press("f5")
            await until(pilot, lambda: type(app.screen).__name__ == "SyncScreen" and not app.syncing)
            assert app.screen.query_one("#outbox", DataTable).row_count == 0

            await pilot.press("f1")
            await until(pilot, lambda: type(app.screen).__name__ == "CounterScreen")
            shop.service.stop()
            try:
                assert (await scan(pilot, typed, "620")).offline
                assert (await scan(pilot, shop.codes["spring2"], "620")).accepted
                await until(pilot, lambda: app.screen.query_one("#shift").row_count == 2)
                app.screen.query_one("#shift").move_cursor(row=0)
                await pilot.press("ctrl+z")
                await until(pilot, lambda: type(app.screen).__name__ == "Confirm")
                await pilot.press("y")  # yes, undo: withdrawn, never uploaded
                await until(pilot, lambda: "1 waiting to upload" in text_of(app, "#status"))
                await pilot.press("f5")
                await until(pilot, lambda: type(app.screen).__name__ == "SyncScreen"
                            and app.screen.query_one("#outbox", DataTable).row_count == 1)
                [row] = rows(app.screen.query_one("#outbox", DataTable))
                assert row[1:3] == ["redeem", display(shop.codes["spring"])], row  # printed form, not mangled
            finally:
                shop.service.start()
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "Uploaded" in text_of(app, "#sync-result"))
            await pilot.press("f6")  # no Ctrl+R: the figures are today's
            await until(pilot, lambda: type(app.screen).__name__ == "ReportsScreen"
                        and app.screen.query_one("#report", DataTable).row_count == 1)

    run(scenario)


async def new_campaign_form(pilot: Any) -> None:
    """Log in as the manager and open a new campaign's form."""
    app = pilot.app
    await log_in_at_counter(pilot, "carol", PINS["carol"])
    await pilot.press("f2")
    await until(pilot, lambda: type(app.screen).__name__ == "CampaignsScreen")
    await pilot.press("n")
    await until(pilot, lambda: type(app.screen).__name__ == "CampaignForm")


def test_a_new_campaign_form_opens_with_its_first_field_focused_and_save_on_ctrl_s(shop: Shop) -> None:
    app = app_for(shop, "S001-T1")

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await new_campaign_form(pilot)
            await pilot.pause()
            assert type(app.focused).__name__ == "Input" and app.focused.id == "f-id", app.focused
            assert "ctrl+s" in str(app.screen.query_one("#save").label)

    run(scenario)


def test_a_field_error_is_shown_whole_not_cut_at_the_form_width(shop: Shop) -> None:
    app = app_for(shop, "S001-T1")

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await new_campaign_form(pilot)
            app.screen.query_one("#f-name").focus()
            app.screen.query_one("#f-name").value = "Christmas offer"
            await pilot.press("tab")  # left: its error shows
            await until(pilot, lambda: "campaign.name.invalid" in str(app.screen.query_one("#err-name").content))
            await pilot.pause()
            error = app.screen.query_one("#err-name")
            message = str(error.content)
            assert len(message) > error.region.width  # longer than the form is wide …
            assert error.region.height * error.region.width >= len(message)  # … and wrapped, not cut

    run(scenario)


def test_a_manager_unlocks_a_cashier_and_gives_them_a_new_pin_from_the_staff_screen(shop: Shop) -> None:
    t = shop.terminal("S001-T2", pull=False)
    for _ in range(5):  # bob guesses wrong five times at the other till: locked
        with pytest.raises(Refused):
            t.endpoint.login("bob", "0000")
    app = app_for(shop, "S001-T1")

    def bob() -> list[str]:
        table = app.screen.query_one("#staff", DataTable)
        return rows(table)[[r[0] for r in rows(table)].index("bob")]

    async def scenario() -> None:
        async with app.run_test(size=(140, 45)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            await pilot.press("f3")
            await until(pilot, lambda: type(app.screen).__name__ == "StaffScreen"
                        and app.screen.query_one("#staff", DataTable).row_count == 5)
            assert bob()[4].startswith("locked until")
            footer = {b.binding.key: b.binding.description for b in app.screen.active_bindings.values() if b.binding.show}
            assert footer.get("u") == "Unlock" and footer.get("p") == "New PIN", footer
            table = app.screen.query_one("#staff", DataTable)
            table.move_cursor(row=[r[0] for r in rows(table)].index("bob"))
            await pilot.pause()

            await pilot.press("u")
            await until(pilot, lambda: type(app.screen).__name__ == "Confirm")
            await pilot.press("y")
            await until(pilot, lambda: type(app.screen).__name__ == "StaffScreen" and bob()[4] == "")
            assert "bob is unlocked." in notes(app)

            await pilot.press("p")
            await until(pilot, lambda: type(app.screen).__name__ == "PinForm" and app.screen.query("#p-pin"))
            assert app.screen.query_one("#p-pin").password and app.screen.query_one("#p-again").password
            await pilot.press(*"5678", "enter", *"5679", "enter")  # Enter moves on to the second field, then saves
            await until(pilot, lambda: "differ" in text_of(app, "#err-again"))
            app.screen.query_one("#p-pin").value = "56"
            app.screen.query_one("#p-again").value = "56"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "pin.invalid" in text_of(app, "#err-pin"))
            app.screen.query_one("#p-pin").value = "5678"
            app.screen.query_one("#p-again").value = "5678"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: type(app.screen).__name__ == "StaffScreen")
            await until(pilot, lambda: any("bob has a new PIN" in n for n in notes(app)))

    run(scenario)
    with pytest.raises(Refused) as old:
        t.endpoint.login("bob", PINS["bob"])
    assert old.value.code == "login.failed"
    assert t.endpoint.login("bob", "5678")["staff"]["id"] == "bob"
    assert shop.query("SELECT action, actor, subject FROM audit WHERE action IN ('staff.unlock', 'staff.pin_reset') "
                      "ORDER BY id") == [("staff.unlock", "carol", "bob"), ("staff.pin_reset", "carol", "bob")]
    assert "5678" not in "".join(str(r) for r in shop.query("SELECT detail FROM audit"))


def test_the_staff_screen_speaks_chinese(shop: Shop) -> None:
    app = app_for(shop, "S001-T1", language="zh")

    async def scenario() -> None:
        async with app.run_test(size=(140, 45)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            await pilot.press("f3")
            await until(pilot, lambda: type(app.screen).__name__ == "StaffScreen"
                        and app.screen.query_one("#staff", DataTable).row_count == 5)
            footer = {b.binding.key: b.binding.description for b in app.screen.active_bindings.values() if b.binding.show}
            assert footer.get("u") == "解锁" and footer.get("p") == "新密码", footer
            table = app.screen.query_one("#staff", DataTable)
            assert [str(c.label) for c in table.columns.values()][-2:] == ["锁定", "状态"]
            assert {r[5] for r in rows(table)} == {"在职"}  # each one active, said in Chinese
            roles = {r[0]: r[2] for r in rows(table)}  # the role, as the language names it
            assert roles == {"carol": "店长", "grace": "店长", "alice": "收银员", "bob": "收银员", "dan": "收银员"}, roles

    run(scenario)


#: (screen key, form key, the form, the field it opens on) for every form of the back office
FORMS = [("f2", "n", "CampaignForm", "f-id"), ("f2", "k", "GoodsForm", "batch"), ("f2", "b", "BindForm", "plan"),
         ("f3", "n", "StaffForm", "s-id"), ("f3", "v", "RightsForm", "r-all"), ("f3", "p", "PinForm", "p-pin"),
         ("f7", "n", "PushForm", "p-kind")]
SCREENS = {"f2": "CampaignsScreen", "f3": "StaffScreen", "f4": "VouchersScreen", "f5": "SyncScreen",
           "f6": "ReportsScreen", "f7": "PushesScreen"}


async def open_screen(pilot: Any, key: str) -> None:
    app = pilot.app
    await pilot.press(key)
    await until(pilot, lambda: type(app.screen).__name__ == SCREENS[key])
    await quiet(pilot)  # its rows loaded and laid out


async def open_form(pilot: Any, key: str, form: str) -> None:
    app = pilot.app
    await pilot.press(key)
    await until(pilot, lambda: type(app.screen).__name__ == form)
    await quiet(pilot)


def errors_shown(app: Any) -> list[str]:
    """The error lines on the form now (a hidden or empty error line says nothing)."""
    return [str(e.content) for e in app.screen.query(".field-error") if e.display and str(e.content).strip()]


def said(app: Any, selector: str) -> str:
    """What a label says, or nothing when there is no such label."""
    return text_of(app, selector).strip() if app.screen.query(selector) else ""


def footer_keys(app: Any) -> dict[str, str]:
    return {b.binding.key: b.binding.description for b in app.screen.active_bindings.values() if b.binding.show}


def test_every_form_opens_on_its_first_field_says_nothing_yet_and_shows_save_and_cancel(shop: Shop) -> None:
    app = app_for(shop, "S001-T1")

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            for screen_key, key, form, first in FORMS:
                await open_screen(pilot, screen_key)
                await open_form(pilot, key, form)
                assert app.focused is not None and app.focused.id == first, (form, app.focused)
                assert errors_shown(app) == [] and not app.screen.query(".-invalid"), (form, errors_shown(app))
                assert app.screen.query(Footer), form
                assert footer_keys(app).get("ctrl+s") == "Save" and footer_keys(app).get("escape") == "Cancel", form
                hint = said(app, "#form-hint")
                assert "Ctrl+S" in hint and "Esc" in hint, hint
                assert "^s" in screen_text(app) and "Save (ctrl+s)" in screen_text(app), form  # footer and button, in view
                await pilot.press("escape")  # cancels
                await until(pilot, lambda key=screen_key: type(app.screen).__name__ == SCREENS[key])

            # errors come once a field is left, or at the first save, and the save goes to the first of them
            await open_screen(pilot, "f2")
            await open_form(pilot, "n", "CampaignForm")
            await pilot.press(*"XMAS", "tab", *"Christmas offer")
            assert errors_shown(app) == []  # still typing the name
            await pilot.press("tab")  # the name is left
            await until(pilot, lambda: "campaign.name.invalid" in text_of(app, "#err-name"))
            assert errors_shown(app) == [text_of(app, "#err-name").strip()]  # nothing about the fields not reached
            assert app.focused.id == "f-begins_at"
            await pilot.press("ctrl+s")  # Save from any field
            await until(pilot, lambda: "form.time.invalid" in text_of(app, "#err-begins_at"))
            assert "Type a date and time such as 2026-12-01 09:00." in text_of(app, "#err-begins_at")
            assert app.focused.id == "f-name"  # the first field to correct
            assert type(app.screen).__name__ == "CampaignForm"

    run(scenario)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_what_a_form_cannot_take_is_said_as_a_sentence_naming_the_field(shop: Shop, language: str) -> None:
    """Never the validator's text (``count: Input should be greater than or equal to 1``), and what was said
    about a field goes once it changes or the next try succeeds."""
    app = app_for(shop, "S001-T1", language=language)
    say = {
        "en": {"count": "How many vouchers: a whole number from 1 to 10,000. (form.count.invalid)",
               "campaign": "Campaign id is required. (form.required)",
               "nope": "No campaign NOPE. (push.coupon.invalid)",
               "seq": "The goods to add must be at most 100. (request.invalid)"},
        "zh": {"count": "发券数量:1 到 10,000 之间的整数。 (form.count.invalid)",
               "campaign": "请填写活动编号。 (form.required)",
               "nope": "该活动不存在、未审核通过或已结束,不能推送。 (push.coupon.invalid)",
               "seq": "要添加的商品不能大于 100。 (request.invalid)"},
    }[language]

    def raw() -> list[str]:
        return [t for t in [*notes(app), screen_text(app)] if "should" in t or "request.invalid:" in t]

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            await open_screen(pilot, "f4")
            await until(pilot, lambda: app.screen.query_one("#v-path").value)
            app.screen.query_one("#v-count").value = "0"
            await pilot.press("ctrl+n")
            await until(pilot, lambda: said(app, "#v-error") or notes(app))
            assert said(app, "#v-error") == say["count"], notes(app)
            assert app.focused.id == "v-count" and raw() == []
            app.screen.query_one("#v-count").value = "2"
            await pilot.press("ctrl+n")
            await until(pilot, lambda: app.screen.query_one("#batch", DataTable).row_count == 2)
            assert not app.screen.query_one("#v-error").display  # said about the batch before, gone

            await open_screen(pilot, "f7")
            await open_form(pilot, "n", "PushForm")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: said(app, "#err-campaign_id") or said(app, "#form-error"))
            assert said(app, "#err-campaign_id") == say["campaign"], said(app, "#form-error")
            assert app.focused.id == "p-campaign" and raw() == []
            await pilot.press(*"NOPE", "ctrl+s")
            await until(pilot, lambda: "push.coupon.invalid" in text_of(app, "#err-campaign_id"))
            assert text_of(app, "#err-campaign_id").strip() == say["nope"] and text_of(app, "#form-error").strip() == ""
            app.screen.query_one("#p-campaign").value = "SPRING"
            await pilot.pause()
            assert errors_shown(app) == []  # the service spoke of NOPE
            await pilot.press("ctrl+s")
            await until(pilot, lambda: type(app.screen).__name__ == "PushesScreen")

            await open_screen(pilot, "f2")
            await open_form(pilot, "k", "GoodsForm")
            app.screen.query_one("#batch").value = "A100 20.00 18.00 seq=200"  # the service's bounds, not the form's
            await pilot.press("enter")
            await until(pilot, lambda: "request.invalid" in text_of(app, "#err-batch"))
            assert text_of(app, "#err-batch").strip() == say["seq"] and raw() == []

    run(scenario)


def test_a_refused_push_shows_its_error_where_it_is_to_be_corrected(shop: Shop) -> None:
    """At 80×24 the refusal of a field far down the form was said below the visible part: nothing seemed
    to happen. It is said under that field, which gets the focus and is brought into view."""
    app = app_for(shop, "S001-T1")

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            await open_screen(pilot, "f7")
            await open_form(pilot, "n", "PushForm")
            app.screen.query_one("#p-campaign").value = "SPRING"
            app.screen.query_one("#p-items").value = ", ".join(f"A{i}" for i in range(1, 18))  # 17: one too many
            app.screen.query_one("#p-kind").focus()
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "push.items.invalid" in said(app, "#err-items") + said(app, "#form-error"))
            await quiet(pilot)
            assert "Show at most 16 goods. (push.items.invalid)" in screen_text(app), screen_text(app)
            assert app.focused.id == "p-items"

    run(scenario)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_back_office_text_is_cut_at_80_by_24(shop: Shop, language: str) -> None:
    """Every screen and every form, as it opens and with the errors of an empty save, at 80×24."""
    app = app_for(shop, "S001-T1", language=language)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            cut: list[str] = []
            for screen_key in SCREENS:
                await open_screen(pilot, screen_key)
                cut += cut_off(app.screen)
                if screen_key == "f4":  # its own error line
                    await until(pilot, lambda: app.screen.query_one("#v-path").value)
                    app.screen.query_one("#v-count").value = ""
                    await pilot.press("ctrl+n")
                    await until(pilot, lambda: says_something(app))
                    cut += cut_off(app.screen)
                for _screen, key, form, _first in [f for f in FORMS if f[0] == screen_key]:
                    await open_form(pilot, key, form)
                    cut += cut_off(app.screen)
                    if form != "RightsForm":  # (carol's rights as they are would simply be saved)
                        await pilot.press("ctrl+s")
                        await until(pilot, lambda form=form: says_something(app, form))
                        cut += cut_off(app.screen)
                    await pilot.press("escape")
                    await until(pilot, lambda key=screen_key: type(app.screen).__name__ == SCREENS[key])
            assert cut == [], "\n".join(cut)

    run(scenario)


def campaign_body(**kw: Any) -> dict[str, Any]:
    now = datetime.now().astimezone()
    return {"id": "XMAS", "name": "Xmas 10", "begins_at": (now - timedelta(minutes=5)).replace(second=0, microsecond=0).isoformat(),
            "ends_at": (now + timedelta(days=20)).replace(second=0, microsecond=0).isoformat(),
            "discount": {"amount_off": 1000}, **kw}


def select(app: Any, campaign_id: str) -> None:
    table = app.screen.query_one("#campaigns", DataTable)
    table.move_cursor(row=[r[0] for r in rows(table)].index(campaign_id))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_lasting_step_names_the_campaign_and_its_counts_and_a_rejection_asks_why(shop: Shop, language: str) -> None:
    """End, delete and reject say which campaign and how many vouchers were issued and redeemed (the service's
    counts when the key is pressed); a rejection's reason is asked for and shown with the campaign; a campaign
    with redemptions is not offered for deletion, and one redeemed since the list was read is refused."""
    t = shop.terminal()
    assert t.counter.redeem(shop.codes["spring"], "alice", 60000).accepted
    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    t.endpoint.save_campaign(carol, campaign_body(), new=True)
    t.endpoint.issue_vouchers(carol, "XMAS", 3)
    t.endpoint.campaign_step(carol, "XMAS", "submit")
    app = app_for(shop, "S001-T1", language=language)
    say = {
        "en": {"end": "End SPRING “Spring 30 off”? 5 issued, 1 redeemed.\nIts vouchers are refused from now on.",
               "reject": "Reject XMAS “Xmas 10”? 3 issued, 0 redeemed.",
               "required": "Reason is required. (form.required)",
               "rejected": "Rejected by grace (",
               "delete": "Delete XMAS “Xmas 10”? 3 issued, 0 redeemed.",
               "redeemed": "STATION has 1 redemption: it cannot be deleted; end it instead (x). "
                           "(campaign.delete.redeemed)"},
        "zh": {"end": "结束 SPRING“Spring 30 off”?已发 5 张,已核销 1 张。\n此后它的券都将被拒绝。",
               "reject": "驳回 XMAS“Xmas 10”?已发 3 张,已核销 0 张。",
               "required": "请填写驳回原因。 (form.required)",
               "rejected": "grace 于 ",
               "delete": "删除 XMAS“Xmas 10”?已发 3 张,已核销 0 张。",
               "redeemed": "STATION 已有 1 笔核销:不能删除,请改为结束(x)。 (campaign.delete.redeemed)"},
    }[language]
    why = "Name the stores, and 5 off is enough."

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in_at_counter(pilot, "grace", PINS["grace"])
            await open_screen(pilot, "f2")
            select(app, "SPRING")
            await pilot.pause()
            assert app.screen.check_action("step", ("delete",)) is False  # redeemed: end it, not delete it
            await pilot.press("x")
            await until(pilot, lambda: type(app.screen).__name__ == "Confirm")
            assert text_of(app, "#question").startswith(say["end"]), text_of(app, "#question")
            assert cut_off(app.screen) == []
            await pilot.press("n")
            await until(pilot, lambda: type(app.screen).__name__ == "CampaignsScreen")
            assert selected_row(app)[3] == ("active" if language == "en" else "已生效")

            select(app, "XMAS")
            await pilot.pause()
            assert not app.screen.query_one("#campaign-note").display
            await pilot.press("j")
            await until(pilot, lambda: type(app.screen).__name__ == "RejectForm")
            await quiet(pilot)
            assert said(app, "#form-title") == say["reject"] and app.focused.id == "j-reason"
            assert cut_off(app.screen) == []
            await pilot.press("ctrl+s")  # no reason: not sent
            await until(pilot, lambda: said(app, "#err-reason"))
            assert said(app, "#err-reason") == say["required"]
            await pilot.press(*why, "ctrl+s")
            await until(pilot, lambda: type(app.screen).__name__ == "CampaignsScreen"
                        and selected_row(app)[3] == ("rejected" if language == "en" else "已驳回"))
            await until(pilot, lambda: app.screen.query_one("#campaign-note").display)
            note = said(app, "#campaign-note")
            assert note.startswith(say["rejected"]) and note.endswith(why), note
            assert cut_off(app.screen) == []

            await pilot.press("delete")
            await until(pilot, lambda: type(app.screen).__name__ == "Confirm")
            assert text_of(app, "#question").startswith(say["delete"]), text_of(app, "#question")
            await pilot.press("y")
            await until(pilot, lambda: "XMAS" not in [r[0] for r in rows(app.screen.query_one("#campaigns", DataTable))])

            select(app, "STATION")  # redeemed at Station Road after the list was read
            await pilot.pause()
            assert app.screen.check_action("step", ("delete",))
            station = shop.terminal("S002-T1")
            assert station.counter.redeem(shop.codes["station"], "dan", None).accepted
            bells = app.bells
            await pilot.press("delete")
            await until(pilot, lambda: app.bells > bells)
            assert say["redeemed"] in notes(app), notes(app)
            assert type(app.screen).__name__ == "CampaignsScreen"
            await until(pilot, lambda: app.screen.check_action("step", ("delete",)) is False)

    run(scenario)
    [(actor, detail)] = shop.query("SELECT actor, detail FROM audit WHERE action='campaign.reject' AND subject='XMAS'")
    assert actor == "grace" and why in str(detail)
    assert shop.query("SELECT count(*) FROM audit WHERE action='campaign.delete' AND subject='STATION'") == [(0,)]
    assert shop.query("SELECT count(*) FROM audit WHERE action='campaign.end' AND subject='SPRING'") == [(0,)]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_push_form_says_which_week_a_push_takes_and_until_when_it_can_be_cancelled(shop: Shop, language: str) -> None:
    """Worked out in the form from the rules, on the store's clock, as soon as a day and a time are chosen: one
    push a week (Monday to Sunday), cancellable until 24 hours before it is sent; a week already taken is said."""
    from datetime import date, time

    from pos.domain.pushes import week_of
    from pos.tui import i18n

    app = app_for(shop, "S001-T1", language=language)
    say = {
        "en": {"week": "One push a week: this one takes week {week} ({monday} to {sunday}); no other push can be "
                       "scheduled for that week unless it is cancelled.",
               "until": "It can be cancelled until {time} (24 hours before it is sent).",
               "late": "Once saved it cannot be cancelled: it is sent in less than 24 hours.",
               "taken": "Week {week} already has push {id}: choose a day in another week, or cancel that push first."},
        "zh": {"week": "每周只能推送一次:此推送占用第 {week} 周({monday} 至 {sunday}),除非取消,该周不能再申请其他推送。",
               "until": "可在 {time} 之前取消(发送前 24 小时)。",
               "late": "保存后不能取消:距发送不足 24 小时。",
               "taken": "第 {week} 周已有推送 {id}:请选择另一周的日期,或先取消该推送。"},
    }[language]

    def expected(day_text: str, hhmm: str, taken: int | None = None) -> str:
        chosen = date.fromisoformat(day_text)
        monday = chosen - timedelta(days=chosen.weekday())
        sent = datetime.combine(chosen, time.fromisoformat(hhmm), tzinfo=i18n.zone(i18n.zone_name() or "UTC"))
        deadline = sent - timedelta(hours=24)
        first = (say["taken"].format(week=week_of(chosen), id=taken) if taken else
                 say["week"].format(week=week_of(chosen), monday=monday.isoformat(),
                                    sunday=(monday + timedelta(days=6)).isoformat()))
        second = (say["until"].format(time=i18n.day(deadline)) if deadline > app.clock() else say["late"])
        return f"{first}\n{second}"

    async def choose(pilot: Any, day_text: str, hhmm: str) -> None:
        app.screen.query_one("#p-date").value = day_text
        app.screen.query_one("#p-time").value = hhmm
        await pilot.pause()

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            assert i18n.zone_name() == "UTC"  # the store's clock, from the catalog
            await open_screen(pilot, "f7")
            await open_form(pilot, "n", "PushForm")
            days = app.screen.days
            assert said(app, "#p-week") == expected(days[0], "10:00")  # as the form opens, with its first choices
            await choose(pilot, days[2], "21:30")  # three days ahead: cancellable until two days ahead
            assert said(app, "#p-week") == expected(days[2], "21:30")
            assert "(24" in said(app, "#p-week") or "24 小时" in said(app, "#p-week")
            await choose(pilot, days[0], "10:00")  # tomorrow at ten: until today at ten, if that is still to come
            assert said(app, "#p-week") == expected(days[0], "10:00")
            assert cut_off(app.screen) == []

            await choose(pilot, days[2], "21:30")
            app.screen.query_one("#p-campaign").value = "SPRING"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: type(app.screen).__name__ == "PushesScreen"
                        and app.screen.query_one("#pushes", DataTable).row_count == 1)
            await open_form(pilot, "n", "PushForm")
            await choose(pilot, days[2], "21:30")
            [(push_id,)] = shop.query("SELECT id FROM pushes")
            assert said(app, "#p-week") == expected(days[2], "21:30", taken=push_id)

    run(scenario)
