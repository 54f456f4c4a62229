"""The counter, driven by Textual's Pilot against a real ``pos serve``: login and lockout, a good
voucher, each refusal reason, the amount prompt, undo in and out of the window, offline and back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual import events
from textual.keys import _character_to_key

from pos.demo import PINS
from pos.domain import Reason, generate
from tests.conftest import Shop
from tests.tui_helpers import Clock, app_for, log_in_at_counter, login, ready, run, scan, text_of, until


def test_cashier_logs_in_to_the_counter_and_sees_no_back_office(shop: Shop) -> None:
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"], typed=True)  # key by key, as a person types
            assert app.shift.role == "cashier" and app.shift.online
            assert app.check_action("show", ("campaigns",)) is False
            await pilot.press("f2")
            await pilot.pause()
            assert type(app.screen).__name__ == "CounterScreen"
            status = text_of(app, "#status")
            assert "Riverside (S001)" in status and "S001-T1" in status and "Alice Wang" in status
            await pilot.press("ctrl+l")
            await until(pilot, lambda: type(app.screen).__name__ == "LoginScreen")
            assert app.shift is None

    run(scenario)


def test_wrong_pins_lock_the_account(shop: Shop) -> None:
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(5):
                await login(pilot, "alice", "0000")
                await until(pilot, lambda: "Wrong" in text_of(app, "#login-error"))
                assert text_of(app, "#login-error").strip() == "Wrong staff number or PIN."  # nothing more
                app.screen.query_one("#login-error").update("")
            await login(pilot, "alice", PINS["alice"])
            await until(pilot, lambda: "locked" in text_of(app, "#login-error").lower())
            assert app.shift is None and app.bells == 6

    run(scenario)


CASES = [  # (voucher, staff, amount, reason)
    ("expired", "alice", None, "expired"),
    ("station", "alice", None, "store_not_allowed"),
    ("revoked", "alice", "620", "revoked"),
    ("future", "alice", None, "not_yet_valid"),  # (a basket under the minimum is asked for again: test_tui_counter_fix.py)
    ("spring3", "bob", "620", "staff_not_verifier"),
]


def test_a_good_voucher_then_each_refusal_reason(shop: Shop) -> None:
    app = app_for(shop)
    typo = shop.codes["spring4"][:-1] + ("X" if shop.codes["spring4"][-1] != "X" else "Y")
    forged = shop.payload("vip")[:-4] + "AAAA"

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            good = await scan(pilot, shop.codes["spring"], "620")
            assert good.accepted and good.discount == 3000
            panel = app.screen.query_one("#verdict")
            assert panel.has_class("-accepted") and "ACCEPTED" in text_of(app, "#verdict") and "30.00" in text_of(app, "#verdict")
            assert app.bells == 0
            await until(pilot, lambda: app.screen.query_one("#shift").row_count == 1)

            seen = {}
            for raw, reason in [(shop.codes["spring"], "already_redeemed"), (typo, "malformed"), (forged, "forged"),
                                (generate(), "unknown_code"), (shop.payload("vip"), "ok"),
                                (shop.payload("vip2"), "limit_reached")]:
                seen[reason] = await scan(pilot, raw, "100")
            for name, staff, amount, reason in CASES:
                if staff != app.shift.staff_id:
                    await pilot.press("ctrl+l")
                    await log_in_at_counter(pilot, staff, PINS[staff])
                seen[reason] = await scan(pilot, shop.codes[name], amount)
            for reason, verdict in seen.items():
                assert str(verdict.reason) == reason, (reason, verdict)
            last = text_of(app, "#verdict")
            assert "REFUSED" in last and "staff_not_verifier" in last and app.screen.query_one("#verdict").has_class("-refused")
            assert app.bells == len(seen) - 1  # one bell per refusal, none for the VIP acceptance

    run(scenario)


def test_a_voucher_that_needs_the_basket_asks_for_it(shop: Shop) -> None:
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            screen = app.screen
            await pilot.press(*shop.codes["spring"], "enter")
            await until(pilot, lambda: screen.query_one("#verdict").has_class("-prompt"))
            assert screen.focused.id == "amount" and screen.drawn == 0
            assert shop.query("SELECT count(*) FROM redemptions") == [(0,)]  # nothing was sent
            await pilot.press(*"550.00", "enter")
            await until(pilot, lambda: screen.drawn == 1)
            assert screen.shown[-1].accepted and screen.shown[-1].discount == 3000
            assert screen.focused.id == "code"

    run(scenario)


def test_usb_scanner_bursts_are_one_scan_each(shop: Shop) -> None:
    """A scanner types a whole code and Enter in milliseconds, then the next: each is one verdict."""
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            screen = app.screen
            screen.query_one("#amount").value = "600"
            await pilot.press(*shop.codes["spring"], "enter", "enter", *shop.codes["expired"], "enter")
            await until(pilot, lambda: screen.drawn == 2)
            await pilot.pause(0.3)
            assert [str(v.reason) for v in screen.shown] == ["ok", "expired"] and screen.drawn == 2

    run(scenario)


def test_scans_arriving_in_one_read_are_one_verdict_each(shop: Shop) -> None:
    """A terminal hands the app a scanner's keys in one read: two codes and their Enters are queued before
    the first Enter is handled. Each code is still a scan of its own (not one code of 24 characters)."""
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            screen = app.screen
            screen.query_one("#amount").value = "600"
            screen.query_one("#code").focus()
            await pilot.pause()
            burst = shop.codes["spring"] + "\r" + shop.codes["spring2"] + "\r"
            for ch in burst:  # as the terminal's input parser posts them: no pause between keys
                app.post_message(events.Key("enter" if ch == "\r" else _character_to_key(ch), ch))
            await until(pilot, lambda: screen.drawn == 2)
            await pilot.pause(0.3)
            assert [(v.reason, v.code) for v in screen.shown] == [
                (Reason.OK, shop.codes["spring"]), (Reason.OK, shop.codes["spring2"])]
            await until(pilot, lambda: screen.query_one("#shift").row_count == 2)
            assert screen.query_one("#code").value == ""

    run(scenario)
    assert shop.query("SELECT count(*) FROM redemptions WHERE cancelled_at IS NULL") == [(2,)]


@pytest.mark.parametrize("inside", [True, False])
def test_undo_inside_and_outside_the_window(shop: Shop, inside: bool) -> None:
    clock = Clock()
    app = app_for(shop, clock=clock)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            assert (await scan(pilot, shop.codes["spring"], "620")).accepted
            table = app.screen.query_one("#shift")
            await until(pilot, lambda: table.row_count == 1)
            if not inside:
                clock.offset = timedelta(minutes=61)  # the SPRING campaign's window is 60 minutes
            await pilot.press("ctrl+z")
            await until(pilot, lambda: type(app.screen).__name__ == "Confirm")
            await pilot.press("y")
            if inside:
                await until(pilot, lambda: "undone" in str(table.get_row_at(0)))
                assert shop.query("SELECT cancelled_at IS NOT NULL FROM redemptions") == [(1,)]
            else:
                await until(pilot, lambda: app.bells == 1)
                assert "undone" not in str(table.get_row_at(0))
                assert shop.query("SELECT cancelled_at IS NULL FROM redemptions") == [(1,)]

    run(scenario)


def test_offline_and_back_with_the_indicator_and_the_outbox(shop: Shop) -> None:
    app = app_for(shop, probe_every=0.2)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            await until(pilot, lambda: "Online" in text_of(app, "#status"))
            shop.service.stop()
            try:
                verdict = await scan(pilot, shop.codes["spring3"], "550")
                assert verdict.accepted and verdict.offline
                assert app.screen.query_one("#verdict").has_class("-accepted-offline")
                assert "accepted offline" in text_of(app, "#verdict")
                refused = await scan(pilot, shop.payload("vip3"), "100")
                assert str(refused.reason) == "offline_not_allowed"
                await until(pilot, lambda: "Offline" in text_of(app, "#status")
                            and "1 waiting to upload" in text_of(app, "#status"))
            finally:
                shop.service.start()
            # the probe sees the service again, and the outbox goes up by itself
            await until(pilot, lambda: "Online" in text_of(app, "#status")
                        and "0 waiting to upload" in text_of(app, "#status"))
            assert shop.query("SELECT mode FROM redemptions") == [("offline",)]

    run(scenario)


def test_chinese_counter(shop: Shop) -> None:
    app = app_for(shop, language="zh")

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await ready(pilot)
            assert "员工登录" in text_of(app, "#login-title")
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            await scan(pilot, shop.codes["expired"])
            assert "拒绝" in text_of(app, "#verdict") and "已过期" in text_of(app, "#verdict")
            assert "在线" in text_of(app, "#status")

    run(scenario)


def test_every_action_is_in_the_command_palette(shop: Shop) -> None:
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            titles = [c.title for c in app.get_system_commands(app.screen)]
            for expected in ("Undo (^z)", "Camera (f8)", "Campaigns (f2)", "Staff (f3)", "Sync (f5)", "Log out (^l)"):
                assert expected in titles, titles
            footer_keys = {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show}
            assert {"ctrl+z", "f8", "f2", "f6", "ctrl+l"} <= footer_keys

    run(scenario)


def test_a_decimal_comma_in_the_basket_amount_is_read_as_yuan_and_fen(shop: Shop) -> None:
    """620,50 is 620.50 yuan (it was read as 62050.00, and a 5 % voucher gave the 300.00 cap)."""
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            verdict = await scan(pilot, shop.payload("vip"), "620,50")
            assert verdict.accepted and verdict.discount == 3102  # 5 % of 620.50, not the 300.00 cap
            bad = app.screen.drawn
            app.screen.query_one("#amount").value = "620,5,0"
            app.screen.query_one("#code").value = shop.codes["spring"]
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen.drawn == bad  # nothing was redeemed on an amount that cannot be read one way
            assert "620,5,0" in text_of(app, "#verdict")

    run(scenario)
    assert shop.query("SELECT discount FROM redemptions") == [(3102,)]


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_the_login_screen_fits_with_its_button_and_error_line(shop: Shop, size: tuple[int, int]) -> None:
    """The staff list's height rule matched the login's Staff id input, which then filled the screen."""
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=size) as pilot:
            await ready(pilot)
            screen = app.screen
            staff, button, error = screen.query_one("#staff"), screen.query_one("#login"), screen.query_one("#login-error")
            assert staff.region.height <= 3
            for widget in (button, error):
                assert widget.region.bottom <= size[1] - 1, widget  # above the footer, on the screen
            await pilot.press(*"alice", "enter", *"0000", "enter")
            await until(pilot, lambda: "PIN" in text_of(app, "#login-error"))
            assert error.region.bottom <= size[1] - 1

    run(scenario)


def test_ctrl_q_on_an_open_shift_asks_before_closing(shop: Shop) -> None:
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            await pilot.press("ctrl+q")
            await until(pilot, lambda: type(app.screen).__name__ == "Confirm")
            assert "Alice Wang" in str(app.screen.query_one("Label").content)
            await pilot.press("n")
            await until(pilot, lambda: type(app.screen).__name__ == "CounterScreen")
            assert app.is_running
            await pilot.press("ctrl+q")
            await until(pilot, lambda: type(app.screen).__name__ == "Confirm")
            await pilot.press("y")
            await until(pilot, lambda: not app.is_running)

    run(scenario)
    assert app.return_code in (0, None)


def test_a_voucher_issued_after_the_last_pull_asks_for_the_amount(shop: Shop) -> None:
    """It was refused (rules_not_met, 'Enter the basket amount') with the focus left in the code field."""
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            await until(pilot, lambda: not app.syncing)
            manager = shop.terminal("S001-T2", pull=False).endpoint
            session = manager.login("carol", PINS["carol"])["session"]
            fresh = manager.issue_vouchers(session, "SPRING", 1)["vouchers"][0]["code"]  # after the pull
            screen = app.screen
            screen.query_one("#amount").value = ""
            screen.query_one("#code").focus()
            await pilot.press(*fresh, "enter")
            await until(pilot, lambda: "basket amount" in text_of(app, "#verdict"))
            assert app.focused is screen.query_one("#amount")
            before = screen.drawn
            await pilot.press(*"620", "enter")
            await until(pilot, lambda: screen.drawn > before)
            assert screen.shown[-1].accepted and screen.shown[-1].discount == 3000

    run(scenario)
    assert shop.query("SELECT count(*) FROM redemptions WHERE cancelled_at IS NULL") == [(1,)]


def test_a_scan_while_the_shift_list_has_the_focus_goes_to_the_code_field(shop: Shop) -> None:
    """A USB scanner types wherever the focus is, a whole code and Enter in one burst: on the shift list (or the
    vouchers to try), its code must still be read and submitted. The keys are queued together, as a terminal
    delivers a scanner's burst, before the app handles the first."""
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            for code in (shop.codes["spring"], shop.codes["vip"]):  # the focus back on the list before each
                app.screen.query_one("#amount").value = "620"
                app.screen.query_one("#shift").focus()
                await pilot.pause()
                before = app.screen.drawn
                for key in code:
                    app.post_message(events.Key(key, key))
                app.post_message(events.Key("enter", "\r"))
                await until(pilot, lambda before=before: app.screen.drawn > before)
                assert app.screen.shown[-1].accepted, app.screen.shown[-1]
                assert app.screen.query_one("#code").value == ""
            table = app.screen.query_one("#shift")
            table.focus()
            await pilot.press("enter")  # with nothing typed, Enter is the list's own
            assert app.screen.drawn == 2

    run(scenario)
