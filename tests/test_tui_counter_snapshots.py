"""Snapshots of the login (with a lockout) and of the counter with each kind of verdict — accepted online,
accepted offline, refused for good, a kept voucher waiting for its amount, undone — at 80x24 and 160x48, in
English and Chinese (pytest-textual-snapshot). Times of day are drawn as fixed text; the text cursor does
not blink. Update after a deliberate change with ``pytest tests/test_tui_counter_snapshots.py --snapshot-update``."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from rich.cells import cell_len
from textual.widgets import DataTable

from pos.demo import PINS
from pos.tui import i18n
from tests.conftest import Shop
from tests.tui_helpers import app_for, log_in_at_counter, login, scan, text_of, until

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


@pytest.fixture(autouse=True)
def fixed_times(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from pos.tui.screens import login

    said = login.sentence
    monkeypatch.setattr("pos.tui.screens.counter.clock", lambda moment: "12:34:56")
    monkeypatch.setattr("pos.tui.widgets.verdict.clock", lambda moment: "12:34:56")
    # the service says until when a lockout lasts
    monkeypatch.setattr(login, "sentence", lambda code, message: re.sub(
        r"\d{4}-\d\d-\d\d \d\d:\d\d", "2026-01-01 12:34", said(code, message)))
    yield
    i18n.set_language("en")


async def accepted(pilot: Any, shop: Shop) -> None:
    await scan(pilot, shop.codes["spring"], "620")
    await until(pilot, lambda: pilot.app.screen.query_one("#shift", DataTable).row_count == 1)


async def offline(pilot: Any, shop: Shop) -> None:
    shop.service.stop()  # for the rest of the test (the fixture's own stop changes nothing then)
    verdict = await scan(pilot, shop.codes["spring3"], "550")
    assert verdict.accepted and verdict.offline


async def refused(pilot: Any, shop: Shop) -> None:
    assert str((await scan(pilot, shop.codes["station"])).reason) == "store_not_allowed"  # a sentence with no date


async def fixable(pilot: Any, shop: Shop) -> None:
    screen = pilot.app.screen
    screen.query_one("#amount").value = "120"
    screen.query_one("#code").value = shop.codes["spring2"]
    screen.query_one("#code").focus()
    await pilot.press("enter")
    await until(pilot, lambda: screen.asked == 1)


async def undone(pilot: Any, shop: Shop) -> None:
    await accepted(pilot, shop)
    await pilot.press("ctrl+z")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "Confirm")
    await pilot.press("y")
    screen = pilot.app.screen
    table = screen.query_one("#shift", DataTable)
    word = i18n._("undone")
    await until(pilot, lambda: screen.undos_drawn == 1 and word in str(table.get_row_at(0)))
    await until(pilot, lambda: table.columns["mode"].content_width >= cell_len(word))  # the list laid out again


VERDICTS: dict[str, Callable[[Any, Shop], Awaitable[None]]] = {
    "accepted_online": accepted, "accepted_offline": offline, "refused_final": refused,
    "refused_fixable": fixable, "undone": undone,
}


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("verdict", list(VERDICTS))
def test_counter(shop: Shop, pictures: Any, verdict: str, language: str) -> None:
    async def before(pilot: Any) -> None:
        await log_in_at_counter(pilot, "alice", PINS["alice"])
        await VERDICTS[verdict](pilot, shop)

    pictures(app_for(shop, language=language), before, SIZES)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_login_with_a_lockout(shop: Shop, pictures: Any, language: str) -> None:
    async def before(pilot: Any) -> None:
        app = pilot.app
        for _ in range(5):
            await login(pilot, "alice", "0000")
            await until(pilot, lambda: app.bells > 0 and text_of(app, "#login-error").strip() not in ("", "Checking…",
                                                                                                    "验证中…"))
            app.bells = 0
        await login(pilot, "alice", PINS["alice"])
        await until(pilot, lambda: "locked" in text_of(app, "#login-error") or "锁定" in text_of(app, "#login-error"))

    pictures(app_for(shop, language=language), before, SIZES)
