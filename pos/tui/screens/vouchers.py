"""Issue a batch of vouchers for a campaign and export the codes (with their signed QR payloads) as CSV; look one
voucher up (Ctrl+F: the one selected in the batch, else the one typed or scanned there)."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Select

from pos.domain import display
from pos.tui.i18n import _, n_
from pos.tui.jobs import work
from pos.tui.problems import with_code
from pos.tui.screens.office import OfficeError, OfficeScreen
from pos.tui.widgets.footer import Footer
from pos.tui.widgets.status import StatusLine
from pos.tui.widgets.table import Table


def write_csv(path: Path, campaign_id: str, vouchers: list[dict[str, Any]], customer: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["code", "display", "campaign_id", "customer_id", "qr_payload"])
        for v in vouchers:
            out.writerow([v["code"], display(v["code"]), campaign_id, customer or "", v["payload"]])
    tmp.replace(path)  # never a half-written file under the chosen name


ISSUE_MAX = 10_000  # the most vouchers the service issues in one batch


class VouchersScreen(OfficeScreen):
    BINDINGS = [
        Binding("ctrl+n", "issue", "Issue", tooltip="Issue a batch for the chosen campaign", id="vouchers.issue"),
        Binding("ctrl+e", "export", "Export CSV", tooltip="Write the codes to a CSV file", id="vouchers.export"),
        Binding("ctrl+f", "lookup", "Look up", tooltip="Look up one voucher: its status and history; revoke, print again",
                id="vouchers.lookup"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.issued: list[dict[str, Any]] = []
        self.batch_campaign = ""
        self.batch_customer: str | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield Label(_("Vouchers"), classes="section-title")
        with Horizontal(id="issue-row"):
            yield Select([], prompt=_("Campaign"), id="v-campaign")
            yield Input("10", placeholder=_("How many"), id="v-count", restrict=r"[0-9]*", max_length=5)
            yield Input(placeholder=_("Customer (optional)"), id="v-customer", max_length=64)
        yield Label("", id="v-error", classes="field-error")
        with Horizontal(id="export-row"):
            yield Label(_("CSV file"), classes="field-label")
            yield Input(id="v-path")
        yield Table(id="batch", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#batch", DataTable).add_columns(_("Code"), _("Campaign"))
        self.say("")
        self.load_campaigns()

    def say(self, error: str) -> None:
        """What stopped the last batch, under the fields (gone with the next one issued)."""
        label = self.query_one("#v-error", Label)
        label.update(error)
        label.display = bool(error)

    @work(exclusive=True)
    async def load_campaigns(self) -> None:
        try:
            page = await self.ask(lambda e, s: e.campaigns(s, limit=500))
        except OfficeError:  # already shown by ask()
            return
        usable = [c for c in page["items"] if c["effective_status"] not in ("ended", "deleted")]
        select = self.query_one("#v-campaign", Select)
        select.set_options([(f"{c['id']} · {c['name']}", c["id"]) for c in usable])
        if usable:
            select.value = usable[0]["id"]
        select.focus()

    @on(Input.Changed, "#issue-row Input")
    @on(Select.Changed, "#v-campaign")
    def batch_changed(self) -> None:
        self.say("")  # what was said was about the batch as it was

    @on(Select.Changed, "#v-campaign")
    def campaign_chosen(self, event: Select.Changed) -> None:
        if not event.select.is_blank():
            stamp = datetime.now().strftime("%Y%m%d-%H%M")
            self.query_one("#v-path", Input).value = str(self.app.exports / f"vouchers-{event.value}-{stamp}.csv")

    @work(exclusive=True, group="issue")
    async def action_issue(self) -> None:
        select = self.query_one("#v-campaign", Select)
        campaign = select.value
        count_text = self.query_one("#v-count", Input).value.strip()
        if select.is_blank():
            self.stop(select, with_code(_("Choose the campaign to issue vouchers for."), "form.required"))
            return
        if not count_text.isdigit() or not 1 <= int(count_text) <= ISSUE_MAX:
            self.stop(self.query_one("#v-count", Input), with_code(
                _("How many vouchers: a whole number from 1 to {max}.", max=f"{ISSUE_MAX:,}"), "form.count.invalid"))
            return
        customer = self.query_one("#v-customer", Input).value.strip() or None
        try:
            answer = await self.ask(lambda e, s: e.issue_vouchers(s, str(campaign), int(count_text), customer))
        except OfficeError as err:  # already shown by ask(); said under the fields too, until the next batch
            self.say(str(err))
            self.app.bell()
            return
        self.say("")
        self.issued, self.batch_campaign, self.batch_customer = answer["vouchers"], str(campaign), customer
        table = self.query_one("#batch", DataTable)
        table.clear()
        for v in self.issued:
            table.add_row(display(v["code"]), self.batch_campaign)
        self.notify(n_("Issued {n} voucher for {campaign}.", "Issued {n} vouchers for {campaign}.", len(self.issued),
                       campaign=campaign))

    def stop(self, field: Widget, error: str) -> None:
        """A batch that cannot be asked for as typed: why, under the fields, and the field to correct focused."""
        self.say(error)
        field.focus()
        self.app.bell()

    def action_lookup(self) -> None:
        from pos.tui.screens.lookup import LookupScreen

        table = self.query_one("#batch", DataTable)
        chosen = self.issued[table.cursor_row]["code"] if self.issued and 0 <= table.cursor_row < len(self.issued) else ""
        self.app.push_screen(LookupScreen(chosen if table.has_focus else ""))

    def action_export(self) -> None:
        if not self.issued:
            self.notify(_("Issue a batch first."), severity="warning")
            return
        path = Path(self.query_one("#v-path", Input).value.strip()).expanduser()
        try:
            write_csv(path, self.batch_campaign, self.issued, self.batch_customer)
        except OSError as err:
            self.notify(_("Cannot write {path}: {error}", path=path, error=err.strerror), severity="error")
            return
        self.notify(n_("Wrote {n} code to {path}.", "Wrote {n} codes to {path}.", len(self.issued), path=path))
