"""A snapshot of each screen (pytest-textual-snapshot). Times of day and dates are the only things
that change from run to run; they are drawn as fixed text here so the layout is what is compared.
Update after a deliberate change with ``pytest tests/test_tui_snapshots.py --snapshot-update``."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from textual.widgets import DataTable

from pos.demo import PINS
from tests.conftest import Shop
from tests.tui_helpers import app_for, back, log_in_at_counter, quiet, ready, scan, steady, until

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


async def at_campaigns(pilot) -> None:
    await on_screen(pilot, "f2", "CampaignsScreen")


async def at_staff(pilot) -> None:
    await on_screen(pilot, "f3", "StaffScreen")


async def at_vouchers(pilot) -> None:
    await on_screen(pilot, "f4", "VouchersScreen")
    await until(pilot, lambda: pilot.app.screen.query_one("#v-path").value)
    pilot.app.screen.query_one("#v-path").value = "vouchers-SPRING.csv"


async def at_sync(pilot) -> None:
    await on_screen(pilot, "f5", "SyncScreen")


def test_manager_screens(shop: Shop, tour) -> None:
    """The campaign, staff, vouchers and sync screens at 120x36, one after another from one log-in."""
    async def start(pilot) -> None:
        await log_in_at_counter(pilot, "carol", PINS["carol"])

    stops = {"campaigns": at_campaigns, "staff": at_staff, "vouchers": at_vouchers, "sync": at_sync}
    tour(app_for(shop), start, stops, {"120x36": SIZE})


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


LISTED = {"CampaignsScreen": ("#campaigns", 6), "StaffScreen": ("#staff", 5)}  # a list's rows, when it has one


async def on_screen(pilot, key: str, screen: str) -> None:
    """The back-office screen ``screen`` (its key pressed unless it is shown) with its list's rows drawn."""
    app = pilot.app
    if type(app.screen).__name__ != screen:
        await pilot.press(key)
        await until(pilot, lambda: type(app.screen).__name__ == screen)
    listed = LISTED.get(screen)
    if listed is not None:  # the list behind a form has its rows (a form of a row opens on the selected one)
        table_id, rows = listed
        await until(pilot, lambda: app.screen.query_one(table_id, DataTable).row_count == rows)
    await quiet(pilot)  # the list laid out before a form opens over it


def form_stop(form: str):
    key, screen, opens, saved = FORMS[form]

    async def there(pilot) -> None:
        await on_screen(pilot, key, screen)
        await pilot.press(opens)
        await until(pilot, lambda: pilot.app.screen.is_modal and pilot.app.screen.query("#form-hint"))
        if saved:
            await quiet(pilot)
            await pilot.press("ctrl+s")
            await until(pilot, lambda: any(e.display for e in pilot.app.screen.query(".field-error")))

    return there


def screen_stop(view: str):
    key, screen = SCREENS[view]

    async def there(pilot) -> None:
        await on_screen(pilot, key, screen)

    return there


SCREENS = {"campaigns": ("f2", "CampaignsScreen"), "pushes": ("f7", "PushesScreen")}
STOPS = {"campaigns": screen_stop("campaigns"), "new_campaign": form_stop("new_campaign"), "goods": form_stop("goods"),
         "bind": form_stop("bind"), "pushes": screen_stop("pushes"), "new_push": form_stop("new_push"),
         "add_staff": form_stop("add_staff"), "new_pin": form_stop("new_pin"), "rights": form_stop("rights"),
         "store_zone": form_stop("store_zone")}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_lists_and_forms(shop: Shop, tour, monkeypatch: pytest.MonkeyPatch, language: str) -> None:
    """The campaign and push lists and each form, on the smallest terminal and a large one, in English and
    Chinese, one after another in one run: a form with its first field focused, the keys in its hint line and
    footer; the new campaign and the new push after Ctrl+S on an empty form, their errors wrapped under their
    fields (the other back-office screens: tests/test_tui_back_office_snapshots.py)."""
    fixed_push_days(monkeypatch)

    async def start(pilot) -> None:
        await log_in_at_counter(pilot, "carol", PINS["carol"])

    tour(app_for(shop, language=language), start, STOPS, SIZES, leave=back)
