"""Campaigns: a list filtered by status and kind, a page at a time; create, edit, and the lifecycle
steps — each step's key is offered only when the selected campaign's state allows it."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Label, Select

from pos.tui.i18n import KINDS, STATUS, _, day, kind_text, status_text
from pos.tui.jobs import work
from pos.tui.screens.campaign_form import CampaignForm
from pos.tui.screens.confirm import Confirm
from pos.tui.screens.goods import BindForm, GoodsForm
from pos.tui.screens.office import OfficeError, OfficeScreen
from pos.tui.widgets.status import StatusLine

PAGE = 15
STEPS = {"submit": "Submit", "approve": "Approve", "reject": "Reject", "pause": "Pause", "resume": "Resume",
         "end": "End", "delete": "Delete"}


def when(iso: str) -> str:
    from pos.domain import parse_time

    return day(parse_time(iso))


class CampaignsScreen(OfficeScreen):
    BINDINGS = [
        Binding("n", "new", "New", tooltip="Create a campaign", id="campaign.new"),
        Binding("e", "edit", "Edit", tooltip="Edit the selected campaign", id="campaign.edit"),
        Binding("s", "step('submit')", "Submit", id="campaign.submit"),
        Binding("a", "step('approve')", "Approve", id="campaign.approve"),
        Binding("j", "step('reject')", "Reject", id="campaign.reject"),
        Binding("p", "step('pause')", "Pause", id="campaign.pause"),
        Binding("r", "step('resume')", "Resume", id="campaign.resume"),
        Binding("x", "step('end')", "End", id="campaign.end"),
        Binding("delete", "step('delete')", "Delete", id="campaign.delete"),
        Binding("left_square_bracket", "page(-1)", "Previous page", id="campaign.previous"),
        Binding("right_square_bracket", "page(1)", "Next page", id="campaign.next"),
        Binding("k", "goods", "Goods", tooltip="The promotion's SKUs: add a batch", id="campaign.goods"),
        Binding("b", "bind", "Bind", tooltip="Bind the coupon to SKUs of a channel plan", id="campaign.bind"),
        Binding("o", "report", "Report", tooltip="Save the campaign's redemptions and sales as CSV", id="campaign.report"),
        Binding("ctrl+r", "reload", "Refresh", tooltip="Reload from the service", id="campaign.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict[str, Any]] = []
        self.first = 0
        self.total = 0

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield Label(_("Campaigns"), classes="section-title")
        with Horizontal(id="filters"):
            yield Select([(status_text(s), s) for s in STATUS], prompt=_("All statuses"), id="status-filter")
            yield Select([(kind_text(k), k) for k in KINDS], prompt=_("All kinds"), id="kind-filter")
            yield Label("", id="page-info")
        yield DataTable(id="campaigns", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#campaigns", DataTable)
        table.add_columns(_("Id"), _("Name"), _("Kind"), _("Status"), _("Begins"), _("Ends"), _("Issued"), _("Redeemed"))
        table.focus()
        self.load()

    def selected(self) -> dict[str, Any] | None:
        row = self.query_one("#campaigns", DataTable).cursor_row
        return self.items[row] if 0 <= row < len(self.items) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "step":
            chosen = self.selected()
            return chosen is not None and parameters[0] in chosen["actions"]
        if action == "edit":
            chosen = self.selected()
            return chosen is not None and chosen["effective_status"] in ("not_reviewed", "rejected")
        if action in ("goods", "bind", "report"):
            return self.selected() is not None
        if action == "page":
            step = int(parameters[0])  # type: ignore[call-overload]
            return 0 <= self.first + step * PAGE < max(self.total, 1)
        return True

    @on(DataTable.RowHighlighted)
    def highlighted(self) -> None:
        self.refresh_bindings()

    @on(Select.Changed)
    def filter_changed(self) -> None:
        self.first = 0
        self.load()

    @work(exclusive=True, group="load")
    async def load(self, keep: str | None = None) -> None:
        status_select, kind_select = self.query_one("#status-filter", Select), self.query_one("#kind-filter", Select)
        status = None if status_select.is_blank() else str(status_select.value)
        kind = None if kind_select.is_blank() else str(kind_select.value)
        try:
            page = await self.ask(lambda e, s: e.campaigns(s, status=status, kind=kind, offset=self.first, limit=PAGE))
        except OfficeError:
            return
        self.items, self.total = page["items"], page["total"]
        table = self.query_one("#campaigns", DataTable)
        table.clear()
        for c in self.items:
            table.add_row(c["id"], c["name"], kind_text(c["kind"]), status_text(c["effective_status"]),
                          when(c["begins_at"]), when(c["ends_at"]), str(c["issued"]), str(c["redeemed"]), key=c["id"])
        if keep:
            ids = [c["id"] for c in self.items]
            if keep in ids:
                table.move_cursor(row=ids.index(keep))
        pages = max(1, -(-self.total // PAGE))
        self.query_one("#page-info", Label).update(
            _("Page {page} of {pages} · {total} campaign(s)", page=self.first // PAGE + 1, pages=pages, total=self.total))
        self.refresh_bindings()

    def action_page(self, step: int) -> None:
        self.first = max(0, self.first + step * PAGE)
        self.load()

    def action_reload(self) -> None:
        chosen = self.selected()
        self.load(chosen["id"] if chosen else None)

    def action_new(self) -> None:
        self.app.push_screen(CampaignForm(), self.saved)

    def action_edit(self) -> None:
        chosen = self.selected()
        if chosen:
            self.app.push_screen(CampaignForm(chosen), self.saved)

    def saved(self, campaign: dict[str, Any] | None) -> None:
        if campaign:
            text = "Saved {id}: it waits for review." if campaign["status"] == "not_reviewed" else "Saved {id}."
            self.notify(_(text, id=campaign["id"]))
            self.load(campaign["id"])

    def action_goods(self) -> None:
        chosen = self.selected()
        if chosen:
            self.app.push_screen(GoodsForm(chosen), lambda done: self.load(chosen["id"]) if done else None)

    def action_bind(self) -> None:
        chosen = self.selected()
        if chosen:
            self.app.push_screen(BindForm(chosen), lambda done: self.notify(
                _("Bound; in effect from {day}.", day=done["effective_from"])) if done else None)

    @work(group="report")
    async def action_report(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        try:
            text = await self.ask(lambda e, s: e.campaign_report(s, chosen["id"], csv=True))
        except OfficeError:
            return
        path = self.app.exports / f"{chosen['id']}-report.csv"
        path.write_text(text, encoding="utf-8")
        self.notify(_("Saved {path}", path=str(path)))

    def action_step(self, step: str) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        question = _("{action} {campaign}?", action=_(STEPS[step]), campaign=f"{chosen['id']} ({chosen['name']})")
        self.app.push_screen(Confirm(question, _(STEPS[step])),
                             lambda yes: self.take_step(chosen["id"], step) if yes else None)

    @work(group="step")
    async def take_step(self, campaign_id: str, step: str) -> None:
        try:
            after = await self.ask(lambda e, s: e.campaign_step(s, campaign_id, step))
        except OfficeError:  # already shown by ask()
            self.app.bell()
            return
        self.notify(_("{action}: {campaign} is now {status}.", action=_(STEPS[step]), campaign=campaign_id,
                      status=status_text(after["effective_status"])))
        self.load(campaign_id)
