"""Campaigns: a list filtered by status and kind, a page at a time; create, edit, and the lifecycle
steps — each step's key is offered only when the selected campaign's state allows it. A step that cannot be
taken back (end, delete, reject) first names the campaign and its vouchers issued and redeemed, as the service
counts them then; a rejection asks for its reason, which the campaign shows until its next review."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Select

from pos.domain.campaigns import REASON_MAX
from pos.terminal.endpoint import Endpoint
from pos.tui.i18n import KINDS, N_, STATUS, _, day, kind_text, n_, status_text
from pos.tui.jobs import work
from pos.tui.problems import with_code
from pos.tui.screens.campaign_form import CampaignForm
from pos.tui.screens.confirm import Confirm
from pos.tui.screens.form import FormModal
from pos.tui.screens.goods import BindForm, GoodsForm
from pos.tui.screens.office import OfficeError, OfficeScreen
from pos.tui.widgets.footer import Footer
from pos.tui.widgets.status import StatusLine
from pos.tui.widgets.table import Table

PAGE = 15
STEPS = {"submit": N_("Submit"), "approve": N_("Approve"), "reject": N_("Reject"), "pause": N_("Pause"),
         "resume": N_("Resume"), "end": N_("End"), "delete": N_("Delete")}


#: the steps that cannot be taken back: their question names the campaign and its vouchers issued and redeemed
LASTING = {"end": N_("Its vouchers are refused from now on. This cannot be undone."),
           "delete": N_("It leaves the list and its vouchers are refused. This cannot be undone."),
           "reject": N_("It goes back to be edited and submitted again; the reason is shown with it.")}


def when(iso: str) -> str:
    from pos.domain import parse_time

    return day(parse_time(iso))


def question(step: str, campaign: dict[str, Any]) -> str:
    """``End SPRING “Spring 30 off”? 120 issued, 37 redeemed.``"""
    return _("{action} {id} “{name}”? {issued} issued, {redeemed} redeemed.", action=_(STEPS[step]),
             id=campaign["id"], name=campaign["name"], issued=campaign["issued"], redeemed=campaign["redeemed"])


def rejection_text(campaign: dict[str, Any]) -> str:
    """The reason a campaign was last sent back, while it is being corrected and reviewed again."""
    rejection = campaign.get("rejection")
    if not rejection or campaign.get("effective_status") not in ("rejected", "not_reviewed", "manual_review"):
        return ""
    return _("Rejected by {staff} ({time}): {reason}", staff=rejection["by"], time=when(rejection["at"]),
             reason=rejection["reason"])


def reject(office: Endpoint, session: str, campaign_id: str, reason: str) -> dict[str, Any]:
    """The reject step with its reason."""
    return office.campaign_step(session, campaign_id, "reject", reason=reason)


class RejectForm(FormModal):
    """Send a campaign in review back to its author, saying why (required, at most 200 characters)."""

    NARROW = True
    BINDINGS = [Binding("ctrl+s", "save", "Reject")]

    def __init__(self, campaign: dict[str, Any]) -> None:
        super().__init__()
        self.campaign = campaign

    def heading(self) -> str:
        return question("reject", self.campaign)

    def hint(self) -> str:
        return _("Ctrl+S rejects from any field · Esc cancels")

    def fields(self) -> ComposeResult:
        yield Label(_(LASTING["reject"]), classes="field-label")
        yield from self.field("reason", _("Reason (its author reads it; at most 200 characters)"),
                              Input(id="j-reason", max_length=REASON_MAX))

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#save", Button).label = f"{_('Reject')} (ctrl+s)"

    def check_fields(self) -> dict[str, list[str]]:
        if not self.query_one("#j-reason", Input).value.strip():
            return {"reason": [self.required("reason")]}
        return {}

    @on(Input.Submitted, "#j-reason")
    @work(exclusive=True)
    async def save(self) -> None:
        if not self.begin():
            return
        reason = self.query_one("#j-reason", Input).value.strip()
        after = await self.send(lambda office, session: reject(office, session, self.campaign["id"], reason))
        if after is not None:
            self.dismiss(after)


class CampaignsScreen(OfficeScreen):
    DEFAULT_CSS = "#campaign-note { width: 100%; height: auto; margin: 0 1; color: $warning; }"
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
        yield Table(id="campaigns", cursor_type="row", zebra_stripes=True)
        yield Label("", id="campaign-note")  # why the selected campaign was sent back, while that matters
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#campaigns", DataTable)
        table.add_columns(_("Id"), _("Name"), _("Kind"), _("Status"), _("Begins"), _("Ends"), _("Issued"), _("Redeemed"))
        table.focus()
        self.query_one("#campaign-note", Label).display = False
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
        self.show_note()

    def show_note(self) -> None:
        chosen = self.selected()
        text = rejection_text(chosen) if chosen else ""
        note = self.query_one("#campaign-note", Label)
        note.update(text)
        note.display = bool(text)

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
            n_("Page {page} of {pages} · {n} campaign", "Page {page} of {pages} · {n} campaigns", self.total,
               page=self.first // PAGE + 1, pages=pages))
        self.refresh_bindings()
        self.show_note()

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
            text = N_("Saved {id}: it waits for review.") if campaign["status"] == "not_reviewed" else N_("Saved {id}.")
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
        if step in LASTING:
            self.ask_lasting(chosen["id"], step)
            return
        asked = _("{action} {campaign}?", action=_(STEPS[step]), campaign=f"{chosen['id']} ({chosen['name']})")
        self.app.push_screen(Confirm(asked, _(STEPS[step])),
                             lambda yes: self.take_step(chosen["id"], step) if yes else None)

    @work(group="step")
    async def ask_lasting(self, campaign_id: str, step: str) -> None:
        """A step that cannot be taken back: first the campaign as the service has it now, named, with its
        vouchers issued and redeemed; a rejection asks for its reason."""
        try:
            fresh = await self.ask(lambda e, s: e.campaign(s, campaign_id))
        except OfficeError:
            self.app.bell()
            return
        if step not in fresh["actions"]:  # it changed since the list was read
            if step == "delete" and fresh["redeemed"]:
                said = n_("{id} has {n} redemption: it cannot be deleted; end it instead (x).",
                          "{id} has {n} redemptions: it cannot be deleted; end it instead (x).", fresh["redeemed"],
                          id=campaign_id)
                self.notify(with_code(said, "campaign.delete.redeemed"), severity="error", timeout=8)
            else:
                self.notify(_("{campaign} is {status} now: {action} is not open to it.", action=_(STEPS[step]),
                              campaign=campaign_id, status=status_text(fresh["effective_status"])), severity="warning")
            self.app.bell()
            self.load(campaign_id)
            return
        if step == "reject":
            self.app.push_screen(RejectForm(fresh), lambda after: self.stepped(step, after) if after else None)
            return
        text = f"{question(step, fresh)}\n{_(LASTING[step])}"
        self.app.push_screen(Confirm(text, _(STEPS[step])),
                             lambda yes: self.take_step(campaign_id, step) if yes else None)

    def stepped(self, step: str, after: dict[str, Any]) -> None:
        self.notify(_("{action}: {campaign} is now {status}.", action=_(STEPS[step]), campaign=after["id"],
                      status=status_text(after["effective_status"])))
        self.load(after["id"])

    @work(group="step")
    async def take_step(self, campaign_id: str, step: str) -> None:
        try:
            after = await self.ask(lambda e, s: e.campaign_step(s, campaign_id, step))
        except OfficeError:  # already shown by ask()
            self.app.bell()
            self.load(campaign_id)  # what it is now (the list may be out of date)
            return
        self.stepped(step, after)
