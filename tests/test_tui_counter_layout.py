"""The counter at 80x24, in English and Chinese: every kind of verdict (with its new lines), the question for
a kept voucher, an undo and the login's note are drawn whole (``tui_helpers.cut_off``), the shift list's key
columns are in view, every key works from the basket's fields; at 160x48 the footer shows every key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import DataTable, Footer

from pos.demo import PINS
from pos.tui import i18n
from tests.conftest import Shop
from tests.tui_helpers import app_for, cut_off, log_in_at_counter, run, scan, text_of, until


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    i18n.set_language("en")


def key_columns_in_view(screen: Any) -> bool:
    """The code, the discount and whether it was undone fit the list's width, with no scrolling sideways."""
    table = screen.query_one("#shift", DataTable)
    wanted = sum(table.columns[key].get_render_width(table) for key in ("code", "discount", "mode"))
    return bool(wanted <= table.scrollable_content_region.width)


def whole(pilot: Any, what: str) -> None:
    screen = pilot.app.screen
    assert cut_off(screen) == [], (what, cut_off(screen))
    assert key_columns_in_view(screen), what


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_verdict_fits_at_80_by_24(shop: Shop, language: str) -> None:
    first = shop.terminal("S001-T2").endpoint.redeem(nonce="fit-first-0001", code=shop.codes["spring4"], staff_id="alice",
                                                     store_id="S001", amount=60000)
    assert first["verdict"]["accepted"]
    app = app_for(shop, language=language)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in_at_counter(pilot, "grace", PINS["grace"])  # the longest login note: a manager's
            await until(pilot, lambda: app.screen.query_one("#verdict").has_class("-warning"))
            whole(pilot, "the login's note")
            await pilot.press("ctrl+l")
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            screen = app.screen
            assert (await scan(pilot, shop.codes["spring"], "620")).accepted
            await until(pilot, lambda: screen.query_one("#shift", DataTable).row_count == 1)
            whole(pilot, "accepted online, with the new total")
            assert str((await scan(pilot, shop.codes["spring4"], "600")).reason) == "already_redeemed"
            whole(pilot, "refused, with where and when it was used")
            screen.query_one("#amount").value = "120"
            screen.query_one("#code").value = shop.codes["spring2"]
            screen.query_one("#code").focus()
            await pilot.press("enter")
            await until(pilot, lambda: screen.asked == 1)
            whole(pilot, "a kept voucher's question")
            await pilot.press("escape")
            await pilot.press("ctrl+z")
            await until(pilot, lambda: type(app.screen).__name__ == "Confirm")
            await pilot.press("y")
            await until(pilot, lambda: screen.undos_drawn == 1)
            whole(pilot, "undone")
            await pilot.press("f9")
            whole(pilot, "F9 with no camera")
            shop.service.stop()
            try:
                assert (await scan(pilot, shop.codes["spring3"], "550")).offline
                whole(pilot, "accepted offline")
            finally:
                shop.service.start()

    run(scenario)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_goods_question_fits_at_80_by_24(shop: Shop, language: str) -> None:
    app = app_for(shop, language=language)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            screen = app.screen
            screen.query_one("#goods").value = "10*3"
            screen.query_one("#code").value = shop.codes["buy5"]
            screen.query_one("#code").focus()
            await pilot.press("enter")
            await until(pilot, lambda: screen.asked == 1)
            whole(pilot, "the goods asked for again")

    run(scenario)


def test_every_key_works_at_80_by_24_from_the_basket_fields(shop: Shop) -> None:
    """The footer at 80 columns shows the counter's own keys; each of them, and the rest through the command
    palette, works with the focus in the amount field, where a question leaves it."""
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            screen = app.screen
            footer = screen.query_one(Footer)
            shown = [key for key in footer.children if key.region.right <= footer.region.right - 12]  # before ^p
            keys = {getattr(key, "key", None) for key in shown}
            assert {"ctrl+z", "escape", "f8", "f9"} <= keys, keys
            titles = [c.title for c in app.get_system_commands(screen)]
            for title in ("Undo (^z)", "Scan (esc)", "Camera (f8)", "Preview (f9)", "Log out (^l)", "Quit (^q)"):
                assert title in titles, titles
            amount = screen.query_one("#amount")
            amount.focus()
            await pilot.press("ctrl+z")  # nothing to undo yet: said so
            await until(pilot, lambda: any("Select a redemption" in str(n.message) for n in app._notifications))
            amount.focus()
            await pilot.press("f9")
            await until(pilot, lambda: screen.query(".camera-note.-warning"))
            amount.focus()
            await pilot.press("escape")
            await pilot.pause()
            assert app.focused is screen.query_one("#code")
            amount.focus()
            await pilot.press("f8")
            await until(pilot, lambda: screen.query(".camera-note.-error"))  # camera 0: none here, and it says so
            assert "camera 0" in text_of(app, ".camera-note")

    run(scenario)


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("staff", ["alice", "carol"])
def test_the_footer_shows_every_key_at_160_by_48(shop: Shop, language: str, staff: str) -> None:
    """A manager's counter has the most keys: the counter's, F1 to F7, log out and quit."""
    app = app_for(shop, language=language)

    async def scenario() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await log_in_at_counter(pilot, staff, PINS[staff])
            await pilot.pause(0.2)
            footer = app.screen.query_one(Footer)
            assert footer.virtual_size.width <= footer.size.width, (footer.virtual_size, footer.size)
            keys = [key for key in footer.children if getattr(key, "key", None)]
            assert all(key.region.right <= footer.region.right for key in keys)
            bound = {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show and b.enabled}
            assert bound <= {key.key for key in keys}, bound

    run(scenario)
