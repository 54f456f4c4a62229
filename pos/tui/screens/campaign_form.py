"""Create or edit a campaign. Every change is checked at once by the domain's rules, and each broken
rule is shown under its own field with its stable code; the service checks the same rules on save."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Select

from pos.domain import Campaign, money
from pos.domain.campaigns import Problem, validate
from pos.terminal.endpoint import Refused
from pos.tui.i18n import KINDS, _, kind_text, sentence
from pos.tui.screens.counter import parse_amount
from pos.tui.screens.form import FormModal

FIELDS = [  # (field, label, placeholder)
    ("id", "Id", "WINTER20"),
    ("name", "Name", ""),
    ("begins_at", "Begins at (YYYY-MM-DD HH:MM)", "2026-12-01 09:00"),
    ("ends_at", "Ends at (YYYY-MM-DD HH:MM)", "2026-12-31 22:00"),
    ("amount_off", "Amount off (yuan)", "30"),
    ("percent_off", "Percent off", "5"),
    ("cap", "Cap (yuan)", "300"),
    ("min_spend", "Minimum spend (yuan)", "500"),
    ("quantity", "Quantity (empty: no limit)", "1000"),
    ("stores", "Stores (empty: all; e.g. S001,S002)", ""),
    ("days", "Valid days after claiming (empty: the campaign's time)", ""),
    ("cancel_window_minutes", "Undo window (minutes)", "60"),
]
#: where a problem about a field the form does not have directly is shown
SHOWN_AT = {"discount": "amount_off", "validity": "days", "offline": "amount_off", "timezone": "id", "status": "id"}


def local_time(text: str) -> datetime:
    moment = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    return moment.astimezone().astimezone(UTC)  # typed in the terminal's time zone


def typed_time(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M")


class CampaignForm(FormModal):
    BINDINGS = [Binding("ctrl+s", "save", "Save")]

    def __init__(self, existing: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.existing = existing

    def compose(self) -> ComposeResult:
        c = self.existing or {}
        d = c.get("discount") or {}
        values = {
            "id": c.get("id", ""), "name": c.get("name", ""), "begins_at": typed_time(c.get("begins_at")),
            "ends_at": typed_time(c.get("ends_at")),
            "amount_off": money(d["amount_off"]) if d.get("amount_off") else "",
            "percent_off": str(d["percent_off"]) if d.get("percent_off") else "",
            "cap": money(d["cap"]) if d.get("cap") else "",
            "min_spend": money(d["min_spend"]) if d.get("min_spend") else "",
            "quantity": str(c["quantity"]) if c.get("quantity") else "",
            "stores": ",".join(c["stores"]) if c.get("stores") else "",
            "days": str((c.get("validity") or {}).get("days") or ""),
            "cancel_window_minutes": str(c.get("cancel_window_minutes", 60)),
        }
        title = _("Edit campaign {id}", id=c["id"]) if c else _("New campaign")
        with VerticalScroll(id="form"):
            yield Label(title, classes="section-title")
            for field, label, placeholder in FIELDS:
                yield Label(_(label), classes="field-label")
                yield Input(values[field], placeholder=placeholder, id=f"f-{field}", disabled=field == "id" and bool(c))
                yield Label("", id=f"err-{field}", classes="field-error")
            yield Label(_("Kind"), classes="field-label")
            yield Select([(kind_text(k), k) for k in KINDS], value=c.get("kind", "order_total"), allow_blank=False,
                         id="f-kind")
            yield Label(_("Per customer"), classes="field-label")
            yield Select([("unlimited", "unlimited"), ("once", "once"), ("once_per_day", "once_per_day")],
                         value=c.get("per_customer", "unlimited"), allow_blank=False, id="f-per_customer")
            yield Checkbox("offline", value=(c.get("offline") or {}).get("allowed", True), id="f-offline")
            yield from self.buttons()

    def value(self, field: str) -> str:
        return self.query_one(f"#f-{field}", Input).value.strip()

    def build(self) -> tuple[dict[str, Any], list[Problem]]:
        """The request body from the form, and what could not even be read (dates, numbers)."""
        unread: list[Problem] = []

        def number(field: str, *, yuan: bool = False) -> int | None:
            text = self.value(field)
            if not text:
                return None
            try:
                return parse_amount(text) if yuan else int(text)
            except ValueError:
                unread.append(Problem("form.number.invalid", field, _("Not a number: {text}", text=text)))
                return None

        def when(field: str) -> str | None:
            try:
                return local_time(self.value(field)).isoformat()
            except ValueError:
                unread.append(Problem("form.time.invalid", field, _("Not a date and time: {text}", text=self.value(field))))
                return None

        stores = [s.strip().upper() for s in self.value("stores").split(",") if s.strip()]
        days = number("days")
        body = {
            "id": self.value("id").upper(), "name": self.query_one("#f-name", Input).value,
            "kind": self.query_one("#f-kind", Select).value, "begins_at": when("begins_at"), "ends_at": when("ends_at"),
            "discount": {"amount_off": number("amount_off", yuan=True), "percent_off": number("percent_off"),
                         "cap": number("cap", yuan=True), "min_spend": number("min_spend", yuan=True) or 0},
            "quantity": number("quantity"), "stores": stores or None,
            "validity": {"days": days} if days is not None else {"starts_at": None, "ends_at": None},
            "per_customer": self.query_one("#f-per_customer", Select).value,
            "cancel_window_minutes": number("cancel_window_minutes") if self.value("cancel_window_minutes") else 60,
            "offline": {"allowed": self.query_one("#f-offline", Checkbox).value, "max_discount": None},
        }
        if self.existing:
            body["timezone"] = self.existing.get("timezone", "UTC")
        return body, unread

    def check(self) -> tuple[dict[str, Any], list[Problem]]:
        """The domain's rules on everything that could be read; a field that could not is reported as such."""
        body, unread = self.build()
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        stand_in = {"begins_at": (now + timedelta(hours=1)).isoformat(), "ends_at": (now + timedelta(days=1)).isoformat()}
        readable = {**body, **{k: v for k, v in stand_in.items() if body[k] is None}, "status": "not_reviewed"}
        campaign = Campaign.from_dict(readable)
        skip = {p.field for p in unread}
        problems = unread + [p for p in validate(campaign, now=datetime.now(UTC), new=self.existing is None)
                             if p.field not in skip and not (p.field in ("begins_at", "ends_at") and skip & {"begins_at", "ends_at"})]
        self.show_problems(problems)
        return body, problems

    def show_problems(self, problems: list[Problem] | list[dict[str, str]]) -> None:
        by_field: dict[str, list[str]] = {}
        for p in problems:
            code, field, message = (p.code, p.field, p.message) if isinstance(p, Problem) else (
                p["code"], p["field"], p["message"])
            target = SHOWN_AT.get(field, field)
            by_field.setdefault(target, []).append(f"{code}: {sentence(code, message)}")
        for field, _label, _placeholder in FIELDS:
            label = self.query_one(f"#err-{field}", Label)
            label.update("\n".join(by_field.get(field, [])))
            self.query_one(f"#f-{field}", Input).set_class(field in by_field, "-invalid")

    @on(Input.Changed)
    def changed(self) -> None:
        if self.is_mounted:
            self.check()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self.save()

    def refused(self, err: Refused) -> None:
        super().refused(err)
        self.show_problems(err.problems or [{"code": err.code, "field": "id", "message": err.message}])

    @work(exclusive=True, group="save")
    async def save(self) -> None:
        body, problems = self.check()
        if problems:
            self.app.bell()
            return
        saved = await self.send(lambda office, session: office.save_campaign(session, body, new=self.existing is None))
        if saved is not None:
            self.dismiss(saved)
