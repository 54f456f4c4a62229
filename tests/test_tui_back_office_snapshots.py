"""Snapshots (pytest-textual-snapshot) of the back office's day-one screens and forms — the voucher lookup and
its revoke form, staff with the edit and rights forms, vouchers, sync with a conflict and its settle form,
reports — on the smallest terminal (80x24) and a large one (160x48), in English and Chinese, all of a language
from one run of the app (the ``tour`` fixture). Times are drawn as fixed text, so the layout is what is
compared. After a deliberate change:
``pytest tests/test_tui_back_office_snapshots.py --snapshot-update``, then look at each picture."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import pytest
from textual.widgets import DataTable

from pos.demo import PINS
from tests.conftest import Shop
from tests.test_tui_back_office import conflict, look_up, named
from tests.tui_helpers import app_for, back, log_in_at_counter, quiet, until

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


@pytest.fixture(autouse=True)
def fixed_times(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("lookup", "sync", "campaigns"):
        monkeypatch.setattr(f"pos.tui.screens.{module}.day", lambda moment: "2026-01-01 00:00")
    monkeypatch.setattr("pos.tui.screens.reports.date_text", lambda text: "2026-01-01")
    monkeypatch.setattr("pos.tui.screens.staff.clock", lambda moment: "12:34:56")


async def at(pilot: Any, key: str, screen: str, ready: Callable[[Any], object] = lambda app: True) -> None:
    app = pilot.app
    await pilot.press(key)
    await until(pilot, lambda: named(app) == screen and ready(app))
    await quiet(pilot)  # its lists laid out before anything opens over them (a screen under a modal does not)


def rows_of(table_id: str) -> Callable[[Any], object]:
    return lambda app: app.screen.query_one(table_id, DataTable).row_count > 0


async def lookup(pilot: Any, shop: Shop) -> None:
    await at(pilot, "f4", "VouchersScreen")
    await at(pilot, "ctrl+f", "LookupScreen")
    await look_up(pilot, shop.codes["spring"])


async def revoke_form(pilot: Any, shop: Shop) -> None:
    await lookup(pilot, shop)
    await at(pilot, "ctrl+t", "RevokeForm")


async def staff(pilot: Any, shop: Shop) -> None:
    await at(pilot, "f3", "StaffScreen", lambda app: app.screen.query_one("#staff", DataTable).row_count == 5)
    pilot.app.screen.query_one("#staff", DataTable).move_cursor(row=3)  # bob
    await quiet(pilot)  # the highlight drawn on bob before a form opens over the list


async def staff_edit(pilot: Any, shop: Shop) -> None:
    await staff(pilot, shop)
    await at(pilot, "e", "StaffEditForm")


async def rights(pilot: Any, shop: Shop) -> None:
    await staff(pilot, shop)
    await at(pilot, "v", "RightsForm")


async def vouchers(pilot: Any, shop: Shop) -> None:
    await at(pilot, "f4", "VouchersScreen", lambda app: app.screen.query_one("#v-path").value)
    pilot.app.screen.query_one("#v-path").value = "vouchers-SPRING.csv"


async def sync(pilot: Any, shop: Shop) -> None:
    await at(pilot, "f5", "SyncScreen", rows_of("#conflicts"))


async def settle_form(pilot: Any, shop: Shop) -> None:
    await sync(pilot, shop)
    await at(pilot, "m", "SettleForm")


async def reports(pilot: Any, shop: Shop) -> None:
    await at(pilot, "f6", "ReportsScreen", rows_of("#report"))
    pilot.app.screen.query_one("#r-path").value = "redemptions.csv"


VIEWS: dict[str, Callable[[Any, Shop], Awaitable[None]]] = {
    "lookup": lookup, "revoke_form": revoke_form, "staff": staff, "staff_edit": staff_edit, "rights": rights,
    "vouchers": vouchers, "sync": sync, "settle_form": settle_form, "reports": reports}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_back_office(shop: Shop, tour: Any, language: str) -> None:
    """Each view in turn from one log-in, as a manager going through the back office."""
    conflict(shop)  # a voucher with a history, a conflict to settle, a redemption to report
    shop.change("UPDATE conflicts SET message=?", "Already redeemed on 2026-01-01 00:00 (UTC).")  # no clock in it

    async def start(pilot: Any) -> None:
        await log_in_at_counter(pilot, "carol", PINS["carol"])

    stops = {name: partial(view, shop=shop) for name, view in VIEWS.items()}
    tour(app_for(shop, language=language), start, stops, SIZES, leave=back)
