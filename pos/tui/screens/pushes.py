"""Coupon pushes: the history, a form to schedule one (advertising to followers, or compensation to the
buyers of orders read from a CSV or Excel file), its preview, cancelling, and the order-file template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Button, DataTable, Footer, Input, Label, Select, Static

from pos.domain import parse_time
from pos.domain.pushes import send_dates, slots
from pos.tui.i18n import _, day, sentence, zone_name
from pos.tui.jobs import work
from pos.tui.screens.confirm import Confirm
from pos.tui.screens.form import FormModal
from pos.tui.screens.office import OfficeError, OfficeScreen
from pos.tui.widgets.status import StatusLine


class PushForm(FormModal):
    BINDINGS = [Binding("ctrl+s", "save", "Save"), Binding("ctrl+o", "preview", "Preview")]

    def compose(self) -> ComposeResult:
        # the next three days on the store's clock (a campaign's zone is its store's unless set otherwise),
        # never the machine's: the service checks them in the campaign's zone
        days = self.days = [d.isoformat() for d in send_dates(self.app.clock(), zone_name() or "UTC")]
        with VerticalScroll(id="form"):
            yield Label(_("New coupon push"), classes="section-title")
            yield Label(_("Kind"), classes="field-label")
            yield Select([(_("advertising: to followers"), "advertising"), (_("compensation: to buyers of orders"),
                                                                            "compensation")],
                         value="advertising", allow_blank=False, id="p-kind")
            yield Label(_("Campaign id"), classes="field-label")
            yield Input(placeholder="SPRING", id="p-campaign")
            yield Label(_("Send date (one of the next three days)"), classes="field-label")
            yield Select([(d, d) for d in days], value=days[0], allow_blank=False, id="p-date")
            yield Label(_("Send time (10:00 to 22:00)"), classes="field-label")
            yield Select([(t.strftime("%H:%M"), t.strftime("%H:%M")) for t in slots()], value="10:00", allow_blank=False,
                         id="p-time")
            yield Label(_("Followed from / to (YYYY-MM-DD; empty: all followers)"), classes="field-label")
            yield Input(placeholder="2026-11-01", id="p-from")
            yield Input(placeholder="2026-11-21", id="p-to")
            yield Label(_("Order numbers file (CSV or Excel, column A)"), classes="field-label")
            yield Input(placeholder="orders.xlsx", id="p-file")
            yield Label(_("Goods shown in the mail (SKUs, at most 16)"), classes="field-label")
            yield Input(placeholder="A100, B200", id="p-items")
            yield Static("", id="p-preview")
            yield Button(_("Preview"), id="preview")
            yield from self.buttons()

    def value(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value.strip()

    async def body(self) -> dict[str, Any] | None:
        kind = str(self.query_one("#p-kind", Select).value)
        body: dict[str, Any] = {"kind": kind, "campaign_id": self.value("p-campaign").upper(),
                                "send_date": str(self.query_one("#p-date", Select).value),
                                "send_time": str(self.query_one("#p-time", Select).value),
                                "followed_from": self.value("p-from") or None, "followed_to": self.value("p-to") or None,
                                "items": [s.strip() for s in self.value("p-items").split(",") if s.strip()]}
        path = self.value("p-file")
        if kind == "compensation" and path:
            try:
                content = Path(path).expanduser().read_bytes()
            except OSError as exc:
                self.query_one("#form-error", Label).update(_("Cannot read {path}: {error}", path=path, error=exc.strerror))
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
        body = await self.body()
        if body is None:
            return
        seen = await self.send(lambda office, session: office.preview_push(session, body))
        if seen is None:
            return
        lines = [f"{p['code']}: {sentence(p['code'], p['message'])}" for p in seen["problems"]]
        lines.append(_("{n} will receive it, {skipped} skipped (opted out or no verified address).",
                       n=seen["recipients"], skipped=seen["skipped"]))
        if seen.get("subject"):
            lines += ["", seen["subject"], "", seen["body"]]
        self.query_one("#p-preview", Static).update("\n".join(lines))

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self.save()

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
        yield DataTable(id="pushes", cursor_type="row", zebra_stripes=True)
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

        self.app.push_screen(PushForm(), scheduled)

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
