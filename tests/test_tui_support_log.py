"""The till's support log (pos-ui.log): what a support person reads to know what happened at the counter."""

from __future__ import annotations

from pos.demo import PINS
from pos.domain import display

from .conftest import Shop
from .tui_helpers import app_for, log_in_at_counter, login, run, scan, until


def test_a_shift_is_in_the_support_log_line_by_line_and_no_pin_is(shop: Shop) -> None:
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, "alice", "0000")  # a wrong PIN
            await until(pilot, lambda: "login refused" in app.log_path.read_text(encoding="utf-8")
                        if app.log_path.exists() else False)
            app.screen.query_one("#staff").value = ""
            app.screen.query_one("#pin").value = ""
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            assert (await scan(pilot, shop.codes["spring"], "620")).accepted
            assert not (await scan(pilot, shop.codes["expired"])).accepted
            table = app.screen.query_one("#shift")
            await until(pilot, lambda: table.row_count == 1)
            await pilot.press("ctrl+z")
            await until(pilot, lambda: type(app.screen).__name__ == "Confirm")
            await pilot.press("y")
            await until(pilot, lambda: "undone" in str(table.get_row_at(0)))
            await app.action_logout()

    run(scenario)
    log = app.log_path.read_text(encoding="utf-8")
    lines = [line.split(" ", 3)[3] for line in log.splitlines()]  # after the date, time and level
    spring, expired = display(shop.codes["spring"]), display(shop.codes["expired"])
    assert lines[0].startswith("start terminal=S001-T1 store=S001 version=")
    assert "login refused staff=alice code=login.failed" in lines
    assert "login staff=alice role=cashier link=online" in lines
    assert any(line.startswith("verdict ") and "reason=ok" in line and "discount=30.00" in line
               and "mode=online" in line and "staff=alice" in line and "amount=620.00" in line
               and f"code={spring}" in line for line in lines), lines
    assert any(line.startswith("verdict ") and "reason=expired" in line and f"code={expired}" in line
               for line in lines), lines
    assert f"undo code={spring} staff=alice" in lines
    assert "logout staff=alice" in lines
    assert [i for i, line in enumerate(lines) if line.startswith(("login staff", "verdict", "undo", "logout"))] == sorted(
        i for i, line in enumerate(lines) if line.startswith(("login staff", "verdict", "undo", "logout")))
    for secret in ("0000", PINS["alice"], "demo-token-riverside-1"):
        assert f"={secret}" not in log and f" {secret} " not in log
