"""Redemptions over the last 7, 30 or 90 days: totals overall, per campaign and per store; a bar chart of the
days with its axes (counts up the side, the first and last day along the bottom); the rows per day, campaign
and store, or per campaign, or per store; and a CSV export of what is shown. The figures are read again each
time the screen is shown."""

from __future__ import annotations

import csv
import math
from collections import Counter as Tally
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Select

from pos.domain import money
from pos.tui.i18n import _, date_text, n_
from pos.tui.jobs import work
from pos.tui.screens.office import OfficeError, OfficeScreen
from pos.tui.widgets.footer import Footer
from pos.tui.widgets.status import StatusLine
from pos.tui.widgets.table import Table

PERIODS = (7, 30, 90)  # days
VIEWS = {"day": ["day", "campaign_id", "store_id", "redemptions", "discount", "amount"],
         "campaign": ["campaign_id", "name", "redemptions", "discount", "amount"],
         "store": ["store_id", "name", "redemptions", "discount", "amount"]}
COLUMNS = VIEWS["day"]
MONEY = ("discount", "amount")


def csv_header(columns: list[str]) -> list[str]:
    """Every CSV the product writes gives money in yuan with two decimals and says so in its header (``_yuan``)."""
    return [f"{c}_yuan" if c in MONEY else c for c in columns]


CSV_HEADER = csv_header(COLUMNS)


def daily_totals(rows: list[dict[str, Any]], first: str, last: str) -> list[int]:
    """Redemptions per day from ``first`` to ``last``, with the days that had none as zero."""
    per_day: Tally[str] = Tally()
    for r in rows:
        per_day[r["day"]] += r["redemptions"]
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [per_day[(start + timedelta(days=i)).isoformat()] for i in range((end - start).days + 1)]


BLOCKS = " ▁▂▃▄▅▆▇█"


def bars(values: list[int], width: int) -> tuple[list[int], int]:
    """``values`` in at most ``width`` bars: as they are, or summed ``k`` days to a bar. Returns (bars, k)."""
    k = max(1, math.ceil(len(values) / max(width, 1)))
    return [sum(values[i:i + k]) for i in range(0, len(values), k)], k


def chart_lines(values: list[int], first: str, last: str, width: int, height: int) -> list[str]:
    """A bar chart as lines of text: the count axis on the left (the highest bar's count at its top, zero at its
    foot), a bar a day (or a few days to a bar, said along the bottom, when the days do not fit; wider bars
    when there is room), and the axis along the bottom with the first and last day under it."""
    room = width - len(str(sum(values))) - 2
    shown, k = bars(values, room)
    cell = max(1, min(4, room // max(len(shown), 1)))  # columns a bar takes, its gap included
    top = max(shown, default=0)
    axis = max(len(str(top)), 1)
    rows = max(height - 2, 1)
    lines = []
    for level in range(rows, 0, -1):  # each row holds eight eighths of a bar
        cells = ""
        for v in shown:
            block = BLOCKS[min(8, max(0, round(v * rows * 8 / top) - (level - 1) * 8))] if top else " "
            cells += block * max(cell - 1, 1) + (" " if cell > 1 else "")
        lines.append(f"{str(top) if level == rows and top else '':>{axis}} ┤{cells}")
    span = len(shown) * cell
    lines.append(f"{'0':>{axis}} └{'─' * span}")
    middle = _("{k} days a bar", k=k) if k > 1 else ""
    gap = span - len(first) - len(last)
    if gap < len(middle) + 2:
        middle = ""
    left = (gap - len(middle)) // 2
    lines.append(" " * (axis + 2) + first + " " * max(left, 1) + middle + " " * max(gap - len(middle) - left, 1) + last)
    return lines


class DayChart(Widget):
    """Redemptions per day as bars, with the count axis and the days along the bottom (never colour alone:
    the counts are written on the axis)."""

    DEFAULT_CSS = "DayChart { height: 1fr; min-height: 5; max-height: 14; margin: 0 1; text-wrap: nowrap; text-overflow: clip; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.values: list[int] = []
        self.first = self.last = ""

    def show(self, values: list[int], first: str, last: str) -> None:
        self.values, self.first, self.last = values, first, last
        self.refresh()

    def render(self) -> Text:
        if not self.values:
            return Text("")
        lines = chart_lines(self.values, self.first, self.last, self.size.width, self.size.height)
        return Text("\n".join(lines), no_wrap=True, overflow="crop")  # drawn as laid out: never wrapped


class ReportsScreen(OfficeScreen):
    DEFAULT_CSS = """
    ReportsScreen #days, ReportsScreen #view { width: 1fr; max-width: 30; }
    ReportsScreen #totals { margin: 0 1; width: 100%; height: auto; text-style: bold; }
    ReportsScreen #chart-title { margin: 1 1 0 1; color: $text-muted; width: 100%; height: auto; }
    """
    BINDINGS = [Binding("ctrl+e", "export", "Export CSV", tooltip="Write what is shown to a CSV file", id="reports.export"),
                Binding("ctrl+r", "reload", "Refresh", id="reports.refresh")]

    def __init__(self) -> None:
        super().__init__()
        self.report: dict[str, Any] = {"rows": []}

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="report-row"):
            yield Select([(_("last {n} days", n=n), n) for n in PERIODS], value=30, allow_blank=False, id="days")
            yield Select([(_("per day"), "day"), (_("per campaign"), "campaign"),
                          (_("per store"), "store")], value="day", allow_blank=False, id="view")
        yield Label("", id="totals")
        yield Label("", id="chart-title")
        yield DayChart(id="day-chart")
        yield Table(id="report", zebra_stripes=True)
        with Horizontal(id="export-row"):
            yield Label(_("CSV file"), classes="field-label")
            yield Input(id="r-path")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#r-path", Input).value = str(self.app.exports / f"redemptions-{datetime.now():%Y%m%d}.csv")

    def on_screen_resume(self) -> None:
        """Each time the screen is shown (the first time too): the figures as they are now."""
        self.load()

    @on(Select.Changed, "#days")
    def days_changed(self) -> None:
        self.load()

    @on(Select.Changed, "#view")
    def view_changed(self) -> None:
        self.fill()

    def action_reload(self) -> None:
        self.load()

    def view(self) -> str:
        return str(self.query_one("#view", Select).value)

    def shown_rows(self) -> list[dict[str, Any]]:
        """The rows of the view chosen: per day, campaign and store; or the totals per campaign, or per store."""
        totals = self.report.get("totals") or {}
        return {"day": self.report["rows"], "campaign": totals.get("campaigns", []),
                "store": totals.get("stores", [])}[self.view()]

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        days = int(self.query_one("#days", Select).value)  # type: ignore[arg-type]
        try:
            self.report = await self.ask(lambda e, s: e.report(s, days=days))
        except OfficeError:  # already shown by ask()
            return
        overall = self.report["totals"]["all"]
        self.query_one("#totals", Label).update(n_(
            "Total: {n} redemption, {discount} off, {amount} of sales",
            "Total: {n} redemptions, {discount} off, {amount} of sales", overall["redemptions"],
            discount=money(overall["discount"]), amount=money(overall["amount"])))
        self.query_one("#chart-title", Label).update(_(
            "Redemptions per day, {first} to {last} ({zone})", first=date_text(self.report["from"]),
            last=date_text(self.report["to"]), zone=self.report.get("tz", "UTC")))
        self.query_one("#day-chart", DayChart).show(daily_totals(self.report["rows"], self.report["from"], self.report["to"]),
                                               date_text(self.report["from"])[5:], date_text(self.report["to"])[5:])
        self.fill()

    def fill(self) -> None:
        table = self.query_one("#report", DataTable)
        table.clear(columns=True)
        heads = {"day": _("Day"), "campaign_id": _("Campaign"), "store_id": _("Store"), "name": _("Name"),
                 "redemptions": _("Count"), "discount": _("Discount (yuan)"), "amount": _("Sales (yuan)")}
        columns = VIEWS[self.view()]
        table.add_columns(*(heads[c] for c in columns))
        for r in self.shown_rows():
            table.add_row(*(date_text(r[c]) if c == "day" else money(r[c]) if c in MONEY else str(r[c])
                            for c in columns))

    def action_export(self) -> None:
        path = Path(self.query_one("#r-path", Input).value.strip()).expanduser()
        columns, rows = VIEWS[self.view()], self.shown_rows()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as f:
                out = csv.writer(f)
                out.writerow(csv_header(columns))
                out.writerows([money(r[c]) if c in MONEY else r[c] for c in columns] for r in rows)
        except OSError as err:
            self.notify(_("Cannot write {path}: {error}", path=path, error=err.strerror), severity="error")
            return
        self.notify(n_("Wrote {n} row to {path}.", "Wrote {n} rows to {path}.", len(rows), path=path))
