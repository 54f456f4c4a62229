"""A snapshot of each screen (pytest-textual-snapshot). Times of day and dates are the only things
that change from run to run; they are drawn as fixed text here so the layout is what is compared.
Update after a deliberate change with ``pytest tests/test_tui_snapshots.py --snapshot-update``."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from textual.widgets import DataTable

from pos.demo import PINS
from tests.conftest import Shop
from tests.tui_helpers import app_for, log_in_at_counter, quiet, ready, scan, steady, until

SIZE = (120, 36)


@pytest.fixture(autouse=True)
def fixed_times(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pos.tui.screens.counter.clock", lambda moment: "12:34:56")
    monkeypatch.setattr("pos.tui.widgets.verdict.clock", lambda moment: "12:34:56")
    monkeypatch.setattr("pos.tui.screens.campaigns.day", lambda moment: "2026-01-01 00:00")
    monkeypatch.setattr("pos.tui.screens.sync.day", lambda moment: "2026-01-01 00:00")
    monkeypatch.setattr("pos.tui.screens.reports.date_text", lambda text: "2026-01-01")


def test_login_screen(shop: Shop, snap_compare) -> None:
    async def before(pilot) -> None:
        await ready(pilot)
        await steady(pilot)

    assert snap_compare(app_for(shop), run_before=before, terminal_size=SIZE)


def test_counter_after_a_verdict(shop: Shop, snap_compare) -> None:
    async def before(pilot) -> None:
        await log_in_at_counter(pilot, "alice", PINS["alice"])
        await scan(pilot, shop.codes["spring"], "620")
        await until(pilot, lambda: pilot.app.screen.query_one("#shift", DataTable).row_count == 1)
        await scan(pilot, shop.codes["station"])  # its sentence has no date in it
        await steady(pilot)

    assert snap_compare(app_for(shop), run_before=before, terminal_size=SIZE)


async def manager_at(pilot, key: str, screen: str) -> None:
    await log_in_at_counter(pilot, "carol", PINS["carol"])
    await pilot.press(key)
    await until(pilot, lambda: type(pilot.app.screen).__name__ == screen)
    await quiet(pilot)


def test_campaigns_screen(shop: Shop, snap_compare) -> None:
    async def before(pilot) -> None:
        await manager_at(pilot, "f2", "CampaignsScreen")
        await until(pilot, lambda: pilot.app.screen.query_one("#campaigns", DataTable).row_count == 6)
        await steady(pilot)

    assert snap_compare(app_for(shop), run_before=before, terminal_size=SIZE)


def test_campaign_form_with_a_problem(shop: Shop, snap_compare) -> None:
    async def before(pilot) -> None:
        await manager_at(pilot, "f2", "CampaignsScreen")
        await until(pilot, lambda: pilot.app.screen.query_one("#campaigns", DataTable).row_count == 6)
        await quiet(pilot)  # the list behind the form laid out in full before the form opens
        await pilot.press("n")
        await until(pilot, lambda: pilot.app.screen.query("#f-name"))
        screen = pilot.app.screen
        screen.query_one("#f-id").value = "XMAS"
        screen.query_one("#f-name").focus()
        screen.query_one("#f-name").value = "Christmas offer"
        await pilot.press("tab")  # the name is left: its error shows
        await until(pilot, lambda: "campaign.name.invalid" in str(screen.query_one("#err-name").content))
        await pilot.pause()
        screen.query_one("#form").scroll_home(animate=False)  # the same view however the focus scrolled it
        await pilot.pause()
        await steady(pilot)

    assert snap_compare(app_for(shop), run_before=before, terminal_size=(120, 44))


def test_staff_screen(shop: Shop, snap_compare) -> None:
    async def before(pilot) -> None:
        await manager_at(pilot, "f3", "StaffScreen")
        await until(pilot, lambda: pilot.app.screen.query_one("#staff", DataTable).row_count == 5)
        await steady(pilot)

    assert snap_compare(app_for(shop), run_before=before, terminal_size=SIZE)


def test_vouchers_screen(shop: Shop, snap_compare) -> None:
    async def before(pilot) -> None:
        await manager_at(pilot, "f4", "VouchersScreen")
        await until(pilot, lambda: pilot.app.screen.query_one("#v-path").value)
        pilot.app.screen.query_one("#v-path").value = "vouchers-SPRING.csv"
        await steady(pilot)

    assert snap_compare(app_for(shop), run_before=before, terminal_size=SIZE)


def test_sync_screen(shop: Shop, snap_compare) -> None:
    async def before(pilot) -> None:
        await manager_at(pilot, "f5", "SyncScreen")
        await steady(pilot)

    assert snap_compare(app_for(shop), run_before=before, terminal_size=SIZE)


def test_reports_screen(shop: Shop, snap_compare) -> None:
    async def before(pilot) -> None:
        await log_in_at_counter(pilot, "carol", PINS["carol"])
        await scan(pilot, shop.codes["spring"], "620")
        await pilot.press("f6")
        await until(pilot, lambda: type(pilot.app.screen).__name__ == "ReportsScreen"
                    and pilot.app.screen.query_one("#report", DataTable).row_count == 1)
        pilot.app.screen.query_one("#r-path").value = "redemptions.csv"
        await steady(pilot)

    assert snap_compare(app_for(shop), run_before=before, terminal_size=SIZE)


FORMS = {  # a form: the screen it opens from, its key, and whether it is shown after an empty save
    "new_campaign": ("f2", "CampaignsScreen", "n", True),
    "goods": ("f2", "CampaignsScreen", "k", False),
    "bind": ("f2", "CampaignsScreen", "b", False),
    "new_push": ("f7", "PushesScreen", "n", True),
    "add_staff": ("f3", "StaffScreen", "n", False),
    "new_pin": ("f3", "StaffScreen", "p", False),
    "rights": ("f3", "StaffScreen", "v", False),
    "store_zone": ("f3", "StaffScreen", "t", False),
}
SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


def fixed_push_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pos.tui.screens.pushes.send_dates", lambda now, tz: [date(2026, 12, d) for d in (1, 2, 3)])
    monkeypatch.setattr("pos.tui.screens.pushes.PushForm.now", lambda self: datetime(2026, 11, 29, 12, tzinfo=UTC))


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("form", list(FORMS))
def test_form(shop: Shop, pictures, monkeypatch: pytest.MonkeyPatch, form: str, language: str) -> None:
    """Each form on the smallest terminal and a large one: its first field focused, the keys in its hint line
    and footer; the new campaign and the new push after Ctrl+S on an empty form, their errors wrapped under
    their fields."""
    fixed_push_days(monkeypatch)
    key, screen, opens, saved = FORMS[form]

    async def before(pilot) -> None:
        await manager_at(pilot, key, screen)
        listed = {"CampaignsScreen": ("#campaigns", 6), "StaffScreen": ("#staff", 5)}.get(screen)
        if listed is not None:  # the list behind the form has its rows (a form of a row opens on the selected one)
            table_id, rows = listed
            await until(pilot, lambda: pilot.app.screen.query_one(table_id, DataTable).row_count == rows)
        await quiet(pilot)  # the list laid out before the form opens over it
        await pilot.press(opens)
        await until(pilot, lambda: pilot.app.screen.is_modal and pilot.app.screen.query("#form-hint"))
        if saved:
            await quiet(pilot)
            await pilot.press("ctrl+s")
            await until(pilot, lambda: any(e.display for e in pilot.app.screen.query(".field-error")))

    pictures(app_for(shop, language=language), before, SIZES)


SCREENS = {"campaigns": ("f2", "CampaignsScreen", "#campaigns", 6), "pushes": ("f7", "PushesScreen", None, 0)}


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("view", list(SCREENS))
def test_screen(shop: Shop, pictures, monkeypatch: pytest.MonkeyPatch, view: str, language: str) -> None:
    """The campaign list and the push list at 80x24 and 160x48, in English and Chinese (the other back-office
    screens: tests/test_tui_back_office_snapshots.py)."""
    fixed_push_days(monkeypatch)
    key, screen, table, count = SCREENS[view]

    async def before(pilot) -> None:
        await manager_at(pilot, key, screen)
        if table is not None:
            await until(pilot, lambda: pilot.app.screen.query_one(table, DataTable).row_count == count)

    pictures(app_for(shop, language=language), before, SIZES)
