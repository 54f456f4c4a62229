"""Redemptions per campaign, store and day, with a sparkline of the daily totals and a CSV export."""

from __future__ import annotations

import csv
from collections import Counter as Tally
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Input, Label, Select, Sparkline

from pos.domain import money
from pos.tui.i18n import _, date_text
from pos.tui.jobs import work
from pos.tui.screens.office import OfficeError, OfficeScreen
from pos.tui.widgets.status import StatusLine

COLUMNS = ["day", "campaign_id", "store_id", "redemptions", "discount", "amount"]
MONEY = ("discount", "amount")
# Every CSV the product writes gives money in yuan with two decimals and says so in its header.
CSV_HEADER = [f"{c}_yuan" if c in MONEY else c for c in COLUMNS]


def daily_totals(rows: list[dict[str, Any]], first: str, last: str) -> list[int]:
    """Redemptions per day from ``first`` to ``last``, with the days that had none as zero."""
    per_day: Tally[str] = Tally()
    for r in rows:
        per_day[r["day"]] += r["redemptions"]
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [per_day[(start + timedelta(days=i)).isoformat()] for i in range((end - start).days + 1)]


class ReportsScreen(OfficeScreen):
    BINDINGS = [Binding("ctrl+e", "export", "Export CSV", tooltip="Write the report to a CSV file", id="reports.export"),
                Binding("ctrl+r", "reload", "Refresh", id="reports.refresh")]

    def __init__(self) -> None:
        super().__init__()
        self.report: dict[str, Any] = {"rows": []}

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="report-row"):
            yield Select([("7", 7), ("30", 30), ("90", 90)], value=30, allow_blank=False, id="days")
            yield Label("", id="chart-title")
        yield Sparkline([0], id="chart")
        yield DataTable(id="report", zebra_stripes=True)
        with Horizontal(id="export-row"):
            yield Label(_("CSV file"), classes="field-label")
            yield Input(id="r-path")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#report", DataTable).add_columns(_("Day"), _("Campaign"), _("Store"), _("Count"),
                                                         _("Discount"), _("Amount"))
        self.query_one("#r-path", Input).value = str(self.app.exports / f"redemptions-{datetime.now():%Y%m%d}.csv")

    def on_screen_resume(self) -> None:
        """Each time the screen is shown (the first time too): the figures as they are now."""
        self.load()

    @on(Select.Changed, "#days")
    def days_changed(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        days = int(self.query_one("#days", Select).value)  # type: ignore[arg-type]
        try:
            self.report = await self.ask(lambda e, s: e.report(s, days=days))
        except OfficeError:  # already shown by ask()
            return
        table = self.query_one("#report", DataTable)
        table.clear()
        for r in self.report["rows"]:
            table.add_row(date_text(r["day"]), r["campaign_id"], r["store_id"], str(r["redemptions"]), money(r["discount"]),
                          money(r["amount"]))
        self.query_one("#chart", Sparkline).data = daily_totals(self.report["rows"], self.report["from"],
                                                                self.report["to"])
        self.query_one("#chart-title", Label).update(_("Redemptions per day, last {days} days ({zone})", days=days,
                                                       zone=self.report.get("tz", "UTC")))

    def action_export(self) -> None:
        path = Path(self.query_one("#r-path", Input).value.strip()).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as f:
                out = csv.writer(f)
                out.writerow(CSV_HEADER)
                out.writerows([money(r[c]) if c in MONEY else r[c] for c in COLUMNS] for r in self.report["rows"])
        except OSError as err:
            self.notify(_("Cannot write {path}: {error}", path=path, error=err.strerror), severity="error")
            return
        self.notify(_("Wrote {n} row(s) to {path}.", n=len(self.report["rows"]), path=path))
