"""Coupon pushes: the history, a form to schedule one (advertising to followers, or compensation to the
buyers of orders read from a CSV or Excel file), its preview, cancelling, and the order-file template.
The form says, for the day and time chosen, that the push takes that week's one push and until when it can
be cancelled (24 hours before it is sent), on the store's clock, before anything is sent."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from pos.domain import parse_time
from pos.domain.model import zone
from pos.domain.promotions import SKU_PATTERN
from pos.domain.pushes import CANCEL_BEFORE, send_dates, slots, week_of
from pos.tui.i18n import _, day, zone_name
from pos.tui.jobs import work
from pos.tui.problems import with_code
from pos.tui.screens.confirm import Confirm
from pos.tui.screens.form import FormModal
from pos.tui.screens.office import OfficeError, OfficeScreen
from pos.tui.widgets.footer import Footer
from pos.tui.widgets.status import StatusLine
from pos.tui.widgets.table import Table


def week_note(send_date: date, send_time: time, now: datetime, busy: dict[str, int] | None = None) -> str:
    """What a push at this day and time takes and until when it can be undone, on the store's clock: the one
    push of its week (Monday to Sunday), and the moment 24 hours before it is sent."""
    name = zone_name()
    local = datetime.combine(send_date, send_time)
    sent = local.replace(tzinfo=zone(name)) if name else local.astimezone()
    monday = send_date - timedelta(days=send_date.weekday())
    week = week_of(send_date)
    lines = [_("One push a week: this one takes week {week} ({monday} to {sunday}); no other push can be scheduled for that week unless it is cancelled.",
               week=week, monday=monday.isoformat(), sunday=(monday + timedelta(days=6)).isoformat())]
    if busy and week in busy:
        lines = [_("Week {week} already has push {id}: choose a day in another week, or cancel that push first.",
                   week=week, id=busy[week])]
    deadline = sent - CANCEL_BEFORE
    if deadline > now:
        lines.append(_("It can be cancelled until {time} (24 hours before it is sent).", time=day(deadline)))
    else:
        lines.append(_("Once saved it cannot be cancelled: it is sent in less than 24 hours."))
    return "\n".join(lines)


class PushForm(FormModal):
    DEFAULT_CSS = "#p-week { width: 100%; height: auto; margin: 1 0 0 0; color: $warning; }"
    BINDINGS = [Binding("ctrl+o", "preview", "Preview")]
    ALIASES = {"orders": "file"}

    def __init__(self, busy: dict[str, int] | None = None) -> None:
        super().__init__()
        self.busy = busy or {}  # week → the push that has it (not cancelled)

    def now(self) -> datetime:
        return self.app.clock()

    def heading(self) -> str:
        return _("New coupon push")

    def hint(self) -> str:
        return _("Ctrl+S saves from any field · Ctrl+O previews · Esc cancels · Tab goes to the next field")

    def fields(self) -> ComposeResult:
        # the next three days on the store's clock (a campaign's zone is its store's unless set otherwise),
        # never the machine's: the service checks them in the campaign's zone
        days = self.days = [d.isoformat() for d in send_dates(self.app.clock(), zone_name() or "UTC")]
        yield from self.field("kind", _("Kind"), Select(
            [(_("advertising: to followers"), "advertising"), (_("compensation: to buyers of orders"), "compensation")],
            value="advertising", allow_blank=False, id="p-kind"))
        yield from self.field("campaign_id", _("Campaign id"), Input(placeholder="SPRING", id="p-campaign"))
        yield from self.field("send_date", _("Send date (one of the next three days)"),
                              Select([(d, d) for d in days], value=days[0], allow_blank=False, id="p-date"))
        yield from self.field("send_time", _("Send time (10:00 to 22:00)"), Select(
            [(t.strftime("%H:%M"), t.strftime("%H:%M")) for t in slots()], value="10:00", allow_blank=False, id="p-time"))
        yield Static("", id="p-week")  # the week it takes and until when it can be cancelled
        yield from self.field("followed_from", _("Followed from (YYYY-MM-DD; empty: all followers)"),
                              Input(placeholder="2026-11-01", id="p-from"))
        yield from self.field("followed_to", _("Followed until (YYYY-MM-DD)"), Input(placeholder="2026-11-21", id="p-to"))
        yield from self.field("file", _("Order numbers file (CSV or Excel, column A)"),
                              Input(placeholder="orders.xlsx", id="p-file"))
        yield from self.field("items", _("Goods shown in the mail (SKUs, at most 16)"),
                              Input(placeholder="A100, B200", id="p-items"))
        yield Static("", id="p-preview")
        yield Button(_("Preview") + " (ctrl+o)", id="preview", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.show_week()

    @on(Select.Changed, "#p-date, #p-time")
    def show_week(self) -> None:
        chosen_day, chosen_time = self.query_one("#p-date", Select).value, self.query_one("#p-time", Select).value
        if not isinstance(chosen_day, str) or not isinstance(chosen_time, str):
            return
        self.query_one("#p-week", Static).update(week_note(date.fromisoformat(chosen_day), time.fromisoformat(chosen_time),
                                                           self.now(), self.busy))

    def value(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value.strip()

    def check_fields(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        if not self.value("p-campaign"):
            found["campaign_id"] = [self.required("campaign_id")]
        for key, wid in (("followed_from", "p-from"), ("followed_to", "p-to")):
            text = self.value(wid)
            try:
                if text:
                    date.fromisoformat(text)
            except ValueError:
                found[key] = [with_code(_("Not a date: {text}. Type it as 2026-11-01.", text=text), "form.date.invalid")]
        compensation = self.query_one("#p-kind", Select).value == "compensation"
        if compensation and not self.value("p-file"):
            found["file"] = [with_code(_("A compensation push needs the file of order numbers whose buyers get the coupon."),
                                       "push.orders.invalid")]
        bad = [s for s in self.items() if not SKU_PATTERN.match(s)]
        if bad:
            found["items"] = [with_code(_("Not a SKU: {skus}. A SKU is letters, digits, '.', '-' or '_'.",
                                          skus=", ".join(bad)), "sku.skuId.invalid")]
        return found

    def items(self) -> list[str]:
        return [s.strip() for s in self.value("p-items").split(",") if s.strip()]

    async def body(self) -> dict[str, Any] | None:
        if not self.begin():
            return None
        kind = str(self.query_one("#p-kind", Select).value)
        body: dict[str, Any] = {"kind": kind, "campaign_id": self.value("p-campaign").upper(),
                                "send_date": str(self.query_one("#p-date", Select).value),
                                "send_time": str(self.query_one("#p-time", Select).value),
                                "followed_from": self.value("p-from") or None, "followed_to": self.value("p-to") or None,
                                "items": self.items()}
        path = self.value("p-file")
        if kind == "compensation" and path:
            try:
                content = Path(path).expanduser().read_bytes()
            except OSError as exc:
                self.said["file"] = [with_code(_("Cannot read {path}: {error}", path=path, error=exc.strerror),
                                               "push.file.invalid")]
                self.point_at(self.show_errors())
                self.app.bell()
                return None
            read = await self.send(lambda office, session: office.push_orders(session, content, Path(path).name))
            if read is None:
                return None
            body["orders"] = [o["order_no"] for o in read["orders"]] + read["unknown"]
        return body

    @on(Button.Pressed, "#preview")
    def action_preview(self) -> None:
        self.preview()

    @work(exclusive=True, group="preview")
    async def preview(self) -> None:
        shown = self.query_one("#p-preview", Static)
        shown.update("")
        body = await self.body()
        if body is None:
            return
        seen = await self.send(lambda office, session: office.preview_push(session, body))
        if seen is None:
            return
        lines = []
        if seen["problems"]:  # said next to their fields, as a refusal of the save would say them
            self.service_said("push.refused", "", seen["problems"])
            lines += [_("Saving it would be refused: see the fields marked in red."), ""]
        lines.append(_("{n} will receive it, {skipped} skipped (opted out or no verified address).",
                       n=seen["recipients"], skipped=seen["skipped"]))
        if seen.get("subject"):
            lines += ["", seen["subject"], "", seen["body"]]
        shown.update("\n".join(lines))
        if not seen["problems"]:
            self.call_after_refresh(shown.scroll_visible, animate=False)

    @work(exclusive=True, group="save")
    async def save(self) -> None:
        body = await self.body()
        if body is None:
            return
        made = await self.send(lambda office, session: office.schedule_push(session, body))
        if made is not None:
            self.dismiss(made)


class PushesScreen(OfficeScreen):
    BINDINGS = [
        Binding("n", "new", "New push", tooltip="Schedule a coupon push", id="push.new"),
        Binding("c", "cancel_push", "Cancel push", tooltip="Cancel the selected push (24 hours ahead)", id="push.cancel"),
        Binding("t", "template", "Template", tooltip="Save the order-number template (Excel)", id="push.template"),
        Binding("ctrl+r", "reload", "Refresh", id="push.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield Label(_("Coupon pushes (one a week)"), classes="section-title")
        yield Table(id="pushes", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#pushes", DataTable).add_columns(_("Id"), _("Kind"), _("Campaign"), _("Send at"), _("Status"),
                                                         _("Sent"), _("Skipped"))
        self.load()

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        try:
            self.items = await self.ask(lambda e, s: e.pushes(s))
        except OfficeError:
            return
        table = self.query_one("#pushes", DataTable)
        table.clear()
        for p in self.items:
            table.add_row(str(p["id"]), _(p["kind"]), p["campaign_id"], day(parse_time(p["send_at"])),  # on the store's clock
                          _(p["status"]), str(p["sent"] or ""), str(p["skipped"] or ""))

    def action_reload(self) -> None:
        self.load()

    def action_new(self) -> None:
        def scheduled(made: dict[str, Any] | None) -> None:
            if made:
                self.notify(_("Push {id} scheduled.", id=made["id"]))
                self.load()

        busy = {p["week"]: p["id"] for p in self.items if p["status"] != "cancelled" and p.get("week")}
        self.app.push_screen(PushForm(busy), scheduled)

    def action_cancel_push(self) -> None:
        row = self.query_one("#pushes", DataTable).cursor_row
        if not 0 <= row < len(self.items):
            return
        chosen = self.items[row]
        self.app.push_screen(Confirm(_("Cancel push {id}?", id=chosen["id"]), _("Cancel push")),
                             lambda yes: self.cancel(chosen["id"]) if yes else None)

    @work(group="cancel")
    async def cancel(self, push_id: int) -> None:
        try:
            await self.ask(lambda e, s: e.cancel_push(s, push_id))
        except OfficeError:
            self.app.bell()
            return
        self.notify(_("Push {id} cancelled.", id=push_id))
        self.load()

    @work(group="template")
    async def action_template(self) -> None:
        try:
            content = await self.ask(lambda e, s: e.push_template(s, "xlsx"))
        except OfficeError:
            return
        path = self.app.exports / "push-orders-template.xlsx"
        path.write_bytes(content)
        self.notify(_("Saved {path}", path=str(path)))
