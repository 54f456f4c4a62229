"""Look up any voucher: type or scan its code and see what it is now (in a word and a symbol, never colour
alone), its campaign, and its history — issued, claimed, redeemed where, when and by whom, undone, conflicts of
uploads, revoked. A manager may revoke it (with a reason, after a form that asks for it) or print it again (its
QR image and a printable sheet, saved beside the terminal's file). A cashier looks, and only looks.

Opened from the counter (Ctrl+F, with the code typed so far) and from the Vouchers screen (Ctrl+F); Esc goes
back to where it was opened from."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, DataTable, Input, Label, Static

from pos.domain import CodeError, display, money, parse_time, read_input
from pos.tui.i18n import N_, _, code_text, day, sentence, status_text
from pos.tui.jobs import work
from pos.tui.problems import with_code
from pos.tui.screens.form import FormModal
from pos.tui.screens.office import OfficeError, OfficeScreen
from pos.tui.widgets.code_input import CodeInput
from pos.tui.widgets.footer import Footer
from pos.tui.widgets.status import StatusLine
from pos.tui.widgets.table import Table

REASON_MAX = 200  # characters of a revocation's reason (the service's rule)

#: a voucher's status now → (symbol, words, style class)
STATUS_WORDS: dict[str, tuple[str, str, str]] = {
    "valid": ("✔", N_("VALID: it can be redeemed"), "-good"),
    "redeemed": ("●", N_("REDEEMED: it cannot be used again"), "-used"),
    "revoked": ("✘", N_("REVOKED: withdrawn by the shop"), "-bad"),
    "expired": ("✘", N_("EXPIRED"), "-bad"),
    "not_yet_valid": ("◌", N_("NOT VALID YET"), "-used"),
    "campaign_inactive": ("✘", N_("CAMPAIGN NOT RUNNING"), "-bad"),
}
EVENTS = {"issued": N_("Issued"), "claimed": N_("Claimed"), "redeemed": N_("Redeemed"), "cancelled": N_("Undone"),
          "voided": N_("Voided"), "conflict": N_("Conflict"), "revoked": N_("Revoked")}


def who(event: dict[str, Any], *, full: bool = False) -> str:
    """A member of staff as the history names them: ``Carol Chen`` (in full: ``Carol Chen (carol)``)."""
    staff = event.get("staff_id")
    if not staff:
        return "—"
    name = event.get("staff_name")
    return (f"{name} ({staff})" if full else str(name)) if name else str(staff)


def where(event: dict[str, Any], *, full: bool = False) -> str:
    """A till and its store: ``S001-T1 Riverside`` (in full: ``Riverside (S001) · S001-T1``)."""
    store = event.get("store_id")
    if not store:
        return "—"
    name, till = event.get("store_name") or "", event.get("terminal_id")
    if full:
        place = f"{name} ({store})" if name else str(store)
        return f"{place} · {till}" if till else place
    return f"{till or store} {name}".strip()


def detail(event: dict[str, Any], *, full: bool = False) -> str:
    """What else there is to say about an event: the discount and basket, the customer, a conflict's reason (in
    full, its sentence) and whether it was settled, a revocation's reason."""
    kind = event["event"]
    if kind == "redeemed":
        parts = [_("{amount} off", amount=money(event["discount"]))]
        if full and event.get("amount") is not None:
            parts.append(_("basket {amount}", amount=money(event["amount"])))
        if event.get("mode") and event["mode"] != "online":
            parts.append(_("offline"))
        return ", ".join(parts)
    if kind == "claimed":
        return _("by customer {customer}", customer=event["customer_id"])
    if kind == "conflict":
        settled = event.get("settled")
        said = f"{event['reason']}: {sentence(event['reason'], event.get('message') or '')}" if full else event["reason"]
        return said + ("; " + _("settled by {staff}", staff=settled["by"]) if settled else "")
    if kind == "revoked":
        return event.get("reason") or ""
    return ""


def when(event: dict[str, Any]) -> str:
    return day(parse_time(event["at"])) if event.get("at") else "…"


def told(event: dict[str, Any]) -> str:
    """One event of the history in a line, in full: what, when, where, who, and the rest."""
    parts = [f"{_(EVENTS.get(event['event'], event['event']))} {when(event)}", where(event, full=True),
             who(event, full=True), detail(event, full=True)]
    return " · ".join(p for p in parts if p and p != "—")


def facts(view: dict[str, Any]) -> str:
    """The lines under the status: its campaign, when it is valid, whose it is, why it was revoked."""
    lines = []
    campaign = view.get("campaign")
    if campaign:
        lines.append(_("Campaign {id} “{name}” ({status})", id=campaign["id"], name=campaign["name"],
                       status=status_text(campaign["status"])))
    since = day(parse_time(view["valid_from"])) if view.get("valid_from") else "…"
    until = day(parse_time(view["valid_until"])) if view.get("valid_until") else "…"
    valid = _("Valid {start} to {end}", start=since, end=until)
    lines.append(valid + (" · " + _("customer {customer}", customer=view["customer_id"]) if view.get("customer_id") else ""))
    revoked = view.get("revocation")
    if revoked:
        when = day(parse_time(revoked["at"])) if revoked.get("at") else "…"
        reason = revoked.get("reason") or _("no reason was recorded")
        lines.append(_("Revoked by {staff} at {time}: {reason}", staff=revoked.get("by") or "?", time=when,
                       reason=reason))
    return "\n".join(lines)


class RevokeForm(FormModal):
    """Revoke a voucher, saying why (required, at most 200 characters): the confirmation and the reason in one."""

    NARROW = True
    BINDINGS = [Binding("ctrl+s", "save", "Revoke voucher")]
    CODE_FIELDS = {"voucher.revoke.reason": "reason"}

    def __init__(self, view: dict[str, Any]) -> None:
        super().__init__()
        self.view = view

    def heading(self) -> str:
        return _("Revoke voucher {code}?", code=self.view["display"])

    def hint(self) -> str:
        return _("Ctrl+S revokes from any field · Esc cancels")

    def fields(self) -> ComposeResult:
        symbol, words, _style = STATUS_WORDS.get(self.view["status"], ("", self.view["status"], ""))
        yield Label(_("Now: {status}. Tills refuse it from their next catalog pull; it cannot be undone.",
                      status=f"{symbol} {_(words)}"), classes="field-label")
        yield from self.field("reason", _("Reason (kept with the voucher and in the audit; at most 200 characters)"),
                              Input(id="l-reason", max_length=REASON_MAX))

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#save", Button).label = f"{_('Revoke voucher')} (ctrl+s)"

    def check_fields(self) -> dict[str, list[str]]:
        if not self.query_one("#l-reason", Input).value.strip():
            return {"reason": [self.required("reason")]}
        return {}

    @on(Input.Submitted, "#l-reason")
    @work(exclusive=True)
    async def save(self) -> None:
        if not self.begin():
            return
        reason = self.query_one("#l-reason", Input).value.strip()
        code = self.view["code"]
        after = await self.send(lambda office, session: office.revoke_voucher(session, code, reason))
        if after is not None:
            self.dismiss(after)


class LookupScreen(OfficeScreen):
    DEFAULT_CSS = """
    LookupScreen #l-status { text-style: bold; margin: 1 0 0 0; padding: 0 1; width: 100%; height: auto; }
    LookupScreen #l-status.-good { background: $success 35%; }
    LookupScreen #l-status.-used { background: $warning 30%; }
    LookupScreen #l-status.-bad { background: $error 35%; }
    LookupScreen #l-facts { width: 100%; height: auto; padding: 0 1; }
    LookupScreen #l-error { margin: 0 1; }
    LookupScreen #l-history { height: 1fr; }
    LookupScreen #l-event { margin: 0 1; width: 100%; height: auto; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="Back to the screen this was opened from", id="lookup.back"),
        Binding("ctrl+t", "revoke", "Revoke voucher", tooltip="Revoke this voucher, saying why", id="lookup.revoke"),
        Binding("ctrl+o", "reprint", "Print again", tooltip="Save its QR image and a printable sheet",
                id="lookup.print"),
    ]

    def __init__(self, code: str = "") -> None:
        super().__init__()
        self.first = code.strip()
        self.view: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield Label(_("Look up a voucher"), classes="section-title")
        yield CodeInput(placeholder=_("Type or scan a voucher code, then Enter"), id="l-code", max_length=512,
                        on_enter=self.entered)
        yield Label("", id="l-error", classes="field-error")
        yield Static("", id="l-status")
        yield Static("", id="l-facts")
        yield Label(_("History"), classes="section-title")
        yield Table(id="l-history", zebra_stripes=True, cursor_type="row")
        yield Label("", id="l-event")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#l-history", DataTable).add_columns(_("When"), _("What"), _("Where"), _("Who"), _("Detail"))
        self.query_one("#l-error", Label).display = False
        self.query_one("#l-code", Input).focus()
        self.show(None)
        if self.first:  # the code typed at the counter: in the field, to finish typing if it is not whole yet
            self.query_one("#l-code", Input).value = self.first
            self.entered(self.first)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("revoke", "reprint"):
            wanted = "revoke" if action == "revoke" else "print"
            return self.view is not None and wanted in self.view.get("actions", [])  # a cashier never sees them
        return True

    def action_back(self) -> None:
        self.dismiss()

    def say(self, error: str) -> None:
        label = self.query_one("#l-error", Label)
        label.update(error)
        label.display = bool(error)

    def entered(self, raw: str) -> None:
        if not raw.strip():
            return
        try:
            code = read_input(raw)[0]
        except CodeError as err:
            self.say(with_code(code_text("malformed"), err.code))
            self.app.bell()
            return
        self.say("")
        self.query_one("#l-code", Input).value = ""
        self.look_up(code)

    @work(exclusive=True, group="lookup")
    async def look_up(self, code: str) -> None:
        try:
            view = await self.ask(lambda e, s: e.voucher(s, code))
        except OfficeError as err:  # already notified; said under the field too, until the next code
            self.say(str(err))
            self.app.bell()
            return
        self.show(view)

    def show(self, view: dict[str, Any] | None) -> None:
        self.view = view
        status, info = self.query_one("#l-status", Static), self.query_one("#l-facts", Static)
        table = self.query_one("#l-history", DataTable)
        table.clear()
        for style in ("-good", "-used", "-bad"):
            status.remove_class(style)
        if view is None:
            status.update(_("Type or scan a code to see what became of it."))
            info.update("")
        else:
            symbol, words, style = STATUS_WORDS.get(view["status"], ("?", view["status"], "-used"))
            status.update(Text(f"{symbol} {_(words)} · {view['display']}"))
            status.add_class(style)
            info.update(Text(facts(view)))
            for e in view["history"]:
                table.add_row(when(e), _(EVENTS.get(e["event"], e["event"])), where(e), who(e), detail(e))
            table.move_cursor(row=len(view["history"]) - 1)  # the latest, told in full under the table
        self.describe()
        self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#l-history")
    def describe(self) -> None:
        """The highlighted event in full, under the history (the table's columns are cut short at 80 columns)."""
        row = self.query_one("#l-history", DataTable).cursor_row
        history = self.view["history"] if self.view else []
        self.query_one("#l-event", Label).update(told(history[row]) if 0 <= row < len(history) else "")

    def action_revoke(self) -> None:
        if self.view is None:
            return

        def revoked(view: dict[str, Any] | None) -> None:
            if view:
                self.show(view)
                self.notify(_("Voucher {code} is revoked; tills refuse it from their next catalog pull.",
                              code=view["display"]))
        self.app.push_screen(RevokeForm(self.view), revoked)

    @work(exclusive=True, group="print")
    async def action_reprint(self) -> None:
        if self.view is None:
            return
        code = self.view["code"]
        try:
            image, sheet = await self.ask(lambda e, s: e.print_voucher(s, code))
        except OfficeError:  # already shown by ask()
            return
        png, page = self.app.exports / f"voucher-{display(code)}.png", self.app.exports / f"voucher-{display(code)}.html"
        try:
            png.parent.mkdir(parents=True, exist_ok=True)
            png.write_bytes(image)
            page.write_text(sheet, encoding="utf-8")
        except OSError as err:
            self.notify(_("Cannot write {path}: {error}", path=png.parent, error=err.strerror), severity="error")
            return
        self.notify(_("Saved its QR image {image} and a sheet to print, {sheet}.", image=png, sheet=page), timeout=10)
