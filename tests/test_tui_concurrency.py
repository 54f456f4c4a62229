"""The counter UI with its background work running at the same time, against a real ``pos serve``:
the UI's own sync while a redemption waits for its answer, a verdict confirmed once drawn, and
workers that fail without ending the shift."""

from __future__ import annotations

import sqlite3

from pos.demo import PINS
from pos.testing.gates import GateTransport
from tests.conftest import Shop
from tests.tui_helpers import app_for, log_in_at_counter, run, scan, until


def journal_states(path: object) -> dict[str, str]:
    with sqlite3.connect(str(path)) as conn:
        return dict(conn.execute("SELECT code, state FROM journal WHERE nonce IS NOT NULL"))


def test_the_ui_sync_while_a_redemption_waits_does_not_void_it(shop: Shop) -> None:
    gate = GateTransport()
    app = app_for(shop, transport=gate)
    code = shop.codes["spring"]

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            await until(pilot, lambda: not app.syncing)
            hold = gate.hold("POST", "/v1/redemptions", at="answer")  # the service has answered; not read yet
            screen = app.screen
            screen.query_one("#amount").value = "620"
            screen.query_one("#code").focus()
            before = screen.drawn
            await pilot.press(*code, "enter")
            await until(pilot, hold.arrived.is_set)
            reports = []
            app.start_sync(None, reports.append)  # the 5-minute timer fires now
            await until(pilot, lambda: reports)
            assert reports[0].error is None and reports[0].recovered == 0
            hold.release()
            await until(pilot, lambda: screen.drawn > before)
            assert screen.shown[-1].accepted
            await until(pilot, lambda: journal_states(app.cfg.database).get(code) == "shown")
            reports.clear()
            app.start_sync(None, reports.append)
            await until(pilot, lambda: reports)
            assert reports[0].ok and not reports[0].results  # nothing to upload: no void was queued

    run(scenario)
    assert shop.query("SELECT count(*) FROM redemptions WHERE code=? AND cancelled_at IS NULL", code) == [(1,)]
    assert shop.query("SELECT count(*) FROM redemptions WHERE cancelled_at IS NOT NULL") == [(0,)]


def test_a_failing_worker_is_told_and_logged_and_the_counter_goes_on(shop: Shop) -> None:
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            station_shift = app.station.shift

            async def locked(*args: object, **kw: object) -> object:
                raise sqlite3.OperationalError("database is locked")

            app.station.shift = locked  # the shift list cannot be read, once
            app.screen.reload_shift()
            await until(pilot, lambda: app.failures == 1)
            app.station.shift = station_shift
            failing_probe = app._probe_endpoint

            class Broken:
                def health(self) -> bool:
                    raise OSError("no route to the service")

            app._probe_endpoint = Broken()  # a thread worker fails too
            app.probe()
            await until(pilot, lambda: app.failures == 2)
            app._probe_endpoint = failing_probe
            assert app.is_running and type(app.screen).__name__ == "CounterScreen"
            verdict = await scan(pilot, shop.codes["spring"], amount="620")  # the shift goes on
            assert verdict.accepted

    run(scenario)
    assert app.return_code in (0, None)
    log = app.log_path.read_text(encoding="utf-8")
    assert "database is locked" in log and "Traceback" in log and "no route to the service" in log


def test_every_worker_in_the_ui_goes_through_the_one_failure_handler() -> None:
    """A worker declared with Textual's own ``@work`` would end the app on its first exception."""
    import ast
    from pathlib import Path

    import pos.tui

    offenders = []
    for path in Path(pos.tui.__file__).parent.rglob("*.py"):
        if path.name == "jobs.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("textual"):
                if any(alias.name == "work" for alias in node.names):
                    offenders.append(f"{path.name}: from {node.module} import work")
            if isinstance(node, ast.Attribute) and node.attr == "work" and isinstance(node.value, ast.Name) \
                    and node.value.id == "textual":
                offenders.append(f"{path.name}: textual.work")
    assert offenders == []
