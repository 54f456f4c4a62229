"""Create or edit a campaign. The domain's rules check the form as it is typed; each broken rule is shown
under its own field as a sentence with its stable code once that field was left after a change (or at the
first save), and follows what is typed from then on. The service checks the same rules on save."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, Label, Select

from pos.domain import Campaign, money
from pos.domain.amounts import parse_amount
from pos.domain.campaigns import validate
from pos.domain.model import zone
from pos.domain.problems import Problem
from pos.tui.i18n import KINDS, N_, _, kind_text, zone_name
from pos.tui.jobs import work
from pos.tui.problems import problem_sentence, with_code
from pos.tui.screens.form import FormModal

FIELDS = [  # (field, label, placeholder)
    ("id", N_("Id"), "WINTER20"),
    ("name", N_("Name"), ""),
    ("begins_at", N_("Begins at (YYYY-MM-DD HH:MM)"), "2026-12-01 09:00"),
    ("ends_at", N_("Ends at (YYYY-MM-DD HH:MM)"), "2026-12-31 22:00"),
    ("timezone", N_("Time zone of these times and of the claim and push days (IANA name)"), "Asia/Shanghai"),
    ("amount_off", N_("Amount off (yuan)"), "30"),
    ("percent_off", N_("Percent off"), "5"),
    ("cap", N_("Cap (yuan)"), "300"),
    ("min_spend", N_("Minimum spend (yuan)"), "500"),
    ("quantity", N_("Quantity (empty: no limit)"), "1000"),
    ("stores", N_("Stores (empty: all; e.g. S001,S002)"), ""),
    ("days", N_("Valid days after claiming (empty: the campaign's time)"), ""),
    ("cancel_window_minutes", N_("Undo window (minutes)"), "60"),
    ("slogan", N_("Slogan (at most 50 characters)"), ""),
    ("comment", N_("Comment (at most 200 bytes)"), ""),
    ("merchant", N_("Merchant name on the coupon (at most 10)"), ""),
    ("title", N_("Coupon title (at most 15)"), ""),
    ("conditions", N_("Usage conditions"), ""),
    ("claim_starts_at", N_("Claim from (YYYY-MM-DD HH:MM, empty: any time)"), ""),
    ("claim_ends_at", N_("Claim until (YYYY-MM-DD HH:MM)"), ""),
    ("rule_quota", N_("Order rule M (items; yuan for 'any N for M' and 'spend M')"), ""),
    ("rule_rate", N_("Order rule N (items; tenths such as 8.5 for 'M items at N tenths')"), ""),
    ("rule_minus", N_("Spend-and-get: yuan off"), ""),
    ("rule_plus", N_("Spend-and-get: added price for the gift (yuan)"), ""),
    ("rule_gift", N_("Spend-and-get: gift SKU"), ""),
    ("reward", N_("Single item: reward voucher (yuan, multiple of 10)"), ""),
    ("per_order_min", N_("Least promoted items per order (0: none)"), "0"),
    ("per_order_max", N_("Most promoted items per order (0: no limit)"), "0"),
]
#: where a problem about a field the form does not have directly is shown
SHOWN_AT = {"discount": "amount_off", "validity": "days", "offline": "amount_off", "status": "id",
            "rule": "rule_quota", "quota": "rule_quota", "rate": "rule_rate", "minus": "rule_minus", "plus": "rule_plus",
            "limits": "per_order_min", "scope": "rule_quota", "member": "slogan", "affiliates": "id", "skus": "id",
            "claim_limit": "claim_starts_at"}
RULE_MODES = [N_("items_off"), N_("price_for_items"), N_("items_tenths"), N_("spend_off_gift")]
IN_YUAN = {"price_for_items", "spend_off_gift"}
MEMBER_LEVELS = [(N_("registered"), 50), (N_("bronze"), 56), (N_("silver"), 61), (N_("gold"), 62),
                 (N_("diamond"), 105), ("VIP", 110)]


FIELD_NAMES = {f for f, _label, _placeholder in FIELDS}


def rule_values(rule: dict[str, Any] | None) -> dict[str, str]:
    r = rule or {}
    mode = r.get("mode")

    def yuan(v: int | None) -> str:
        return money(v) if v else ""

    quota = r.get("quota")
    rate = r.get("rate")
    return {"rule_quota": (yuan(quota) if mode in IN_YUAN else str(quota)) if quota else "",
            "rule_rate": (f"{rate / 10:g}" if mode == "items_tenths" else str(rate)) if rate else "",
            "rule_minus": yuan(r.get("minus")), "rule_plus": yuan(r.get("plus")), "rule_gift": r.get("gift") or ""}


def local_time(text: str, zone_name: str) -> datetime:
    """A time typed in the campaign's zone (DST-correct), as UTC."""
    moment = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    return moment.replace(tzinfo=zone(zone_name)).astimezone(UTC)


def typed_at(iso: str | None, zone_name: str) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(zone(zone_name)).strftime("%Y-%m-%d %H:%M")


class CampaignForm(FormModal):
    def __init__(self, existing: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.existing = existing

    ALIASES = SHOWN_AT
    CODE_FIELDS = {"campaign.id.taken": "id", "campaign.id.invalid": "id"}

    def heading(self) -> str:
        return _("Edit campaign {id}", id=self.existing["id"]) if self.existing else _("New campaign")

    def fields(self) -> ComposeResult:
        c = self.existing or {}
        d = c.get("discount") or {}
        tz = c.get("timezone") or zone_name() or "UTC"  # a new campaign lives on this store's clock

        def typed_time(iso: str | None) -> str:
            return typed_at(iso, tz)

        values = {
            "id": c.get("id", ""), "name": c.get("name", ""), "begins_at": typed_time(c.get("begins_at")),
            "ends_at": typed_time(c.get("ends_at")), "timezone": tz,
            "amount_off": money(d["amount_off"]) if d.get("amount_off") else "",
            "percent_off": str(d["percent_off"]) if d.get("percent_off") else "",
            "cap": money(d["cap"]) if d.get("cap") else "",
            "min_spend": money(d["min_spend"]) if d.get("min_spend") else "",
            "quantity": str(c["quantity"]) if c.get("quantity") else "",
            "stores": ",".join(c["stores"]) if c.get("stores") else "",
            "days": str((c.get("validity") or {}).get("days") or ""),
            "cancel_window_minutes": str(c.get("cancel_window_minutes", 60)),
            "slogan": c.get("slogan", ""), "comment": c.get("comment", ""), "merchant": c.get("merchant", ""),
            "title": c.get("title", ""), "conditions": c.get("conditions", ""),
            "claim_starts_at": typed_time(c.get("claim_starts_at")), "claim_ends_at": typed_time(c.get("claim_ends_at")),
            "reward": money(c["reward"]) if c.get("reward") else "",
            "per_order_min": str((c.get("limits") or {}).get("per_order_min", 0)),
            "per_order_max": str((c.get("limits") or {}).get("per_order_max", 0)),
            **rule_values(c.get("rule")),
        }
        for field, label, placeholder in FIELDS:
            yield from self.field(field, _(label), Input(values[field], placeholder=placeholder, id=f"f-{field}",
                                                         disabled=field == "id" and bool(c)))
        yield Label(_("Kind"), classes="field-label")
        yield Select([(kind_text(k), k) for k in KINDS], value=c.get("kind", "order_total"), allow_blank=False,
                     id="f-kind")
        yield Label(_("Per customer"), classes="field-label")
        yield Select([("unlimited", "unlimited"), ("once", "once"), ("once_per_day", "once_per_day")],
                     value=c.get("per_customer", "unlimited"), allow_blank=False, id="f-per_customer")
        yield Label(_("Claims per customer"), classes="field-label")
        yield Select([("unlimited", "unlimited"), ("once", "once"), ("once_per_day", "once_per_day")],
                     value=c.get("claim_limit", "unlimited"), allow_blank=False, id="f-claim_limit")
        yield Label(_("Member level (and above)"), classes="field-label")
        yield Select([(_(name), level) for name, level in MEMBER_LEVELS], value=c.get("member", 50),
                     allow_blank=False, id="f-member")
        yield Label(_("Goods that count (order-total)"), classes="field-label")
        yield Select([(_("all goods"), "all"), (_("only the listed SKUs"), "listed"),
                      (_("all but the listed SKUs"), "except_listed")],
                     value=c.get("scope", "all"), allow_blank=False, id="f-scope")
        yield Label(_("Order rule (order-total; none: the coupon discount above)"), classes="field-label")
        mode = (c.get("rule") or {}).get("mode")
        yield Select([(_(m), m) for m in RULE_MODES], allow_blank=True, id="f-rule_mode",
                     **({"value": mode} if mode else {}))
        yield Checkbox("offline", value=(c.get("offline") or {}).get("allowed", True), id="f-offline")
        yield Checkbox(_("One promoted item per order"), value=(c.get("limits") or {}).get("one_only", False),
                       id="f-one_only")
        yield Checkbox(_("May be given to a friend"), value=c.get("giftable", False), id="f-giftable")
        yield Checkbox(_("Share with affiliates (cannot be changed later)"), value=c.get("affiliates", True),
                       id="f-affiliates", disabled=bool(c))

    def value(self, field: str) -> str:
        return self.query_one(f"#f-{field}", Input).value.strip()

    def build(self) -> tuple[dict[str, Any], list[Problem]]:
        """The request body from the form, and what could not even be read (dates, numbers)."""
        read = _Reading(self.value)
        tz = read.zone("timezone")
        days = read.number("days")
        rule = self._rule(read)
        no_discount = rule is not None or self.query_one("#f-kind", Select).value != "order_total"
        body = {
            "id": self.value("id").upper(), "name": self.query_one("#f-name", Input).value,
            "kind": self.query_one("#f-kind", Select).value, "begins_at": read.when("begins_at", tz),
            "ends_at": read.when("ends_at", tz),
            "discount": {} if no_discount and not any(self.value(f) for f in ("amount_off", "percent_off", "cap", "min_spend"))
            else {"amount_off": read.number("amount_off", yuan=True), "percent_off": read.number("percent_off"),
                  "cap": read.number("cap", yuan=True), "min_spend": read.number("min_spend", yuan=True) or 0},
            "quantity": read.number("quantity"),
            "stores": [s.strip().upper() for s in self.value("stores").split(",") if s.strip()] or None,
            "validity": {"days": days} if days is not None else {"starts_at": None, "ends_at": None},
            "per_customer": self.query_one("#f-per_customer", Select).value,
            "cancel_window_minutes": read.number("cancel_window_minutes") if self.value("cancel_window_minutes") else 60,
            "offline": {"allowed": self.query_one("#f-offline", Checkbox).value, "max_discount": None},
            "slogan": self.query_one("#f-slogan", Input).value, "comment": self.query_one("#f-comment", Input).value,
            "merchant": self.value("merchant"), "title": self.value("title"), "conditions": self.value("conditions"),
            "claim_starts_at": read.optional_time("claim_starts_at", tz),
            "claim_ends_at": read.optional_time("claim_ends_at", tz),
            "claim_limit": self.query_one("#f-claim_limit", Select).value,
            "member": self.query_one("#f-member", Select).value, "scope": self.query_one("#f-scope", Select).value,
            "rule": rule, "reward": read.number("reward", yuan=True),
            "limits": {"total": 0, "one_only": self.query_one("#f-one_only", Checkbox).value,
                       "per_order_min": read.number("per_order_min") or 0,
                       "per_order_max": read.number("per_order_max") or 0},
            "giftable": self.query_one("#f-giftable", Checkbox).value,
            "affiliates": self.query_one("#f-affiliates", Checkbox).value,
            "timezone": tz,
        }
        return body, read.unread

    def _rule(self, read: _Reading) -> dict[str, Any] | None:
        mode = self.query_one("#f-rule_mode", Select).value
        if not isinstance(mode, str):
            return None
        rate_text = self.value("rule_rate")
        rate = None
        if rate_text and mode == "items_tenths":
            try:
                rate = round(float(rate_text) * 10)
            except ValueError:
                read.unread.append(Problem("form.number.invalid", "rule_rate", _("Not a number: {text}", text=rate_text)))
        else:
            rate = read.number("rule_rate")
        return {"mode": mode, "quota": read.number("rule_quota", yuan=mode in IN_YUAN) or 0, "rate": rate,
                "minus": read.number("rule_minus", yuan=True), "plus": read.number("rule_plus", yuan=True),
                "gift": self.value("rule_gift") or None}

    def check(self) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """The request body, and every rule it breaks by field: the domain's rules on everything that could
        be read, and each field that could not be read said as such."""
        body, unread = self.build()
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        stand_in = {"begins_at": (now + timedelta(hours=1)).isoformat(), "ends_at": (now + timedelta(days=1)).isoformat()}
        readable = {**body, **{k: v for k, v in stand_in.items() if body[k] is None}, "status": "not_reviewed"}
        campaign, misfits = Campaign.read(readable)
        skip = {p.field for p in unread}
        broken = [p for p in validate(campaign, now=datetime.now(UTC), new=self.existing is None) + misfits
                  if p.field not in skip and not (p.field in ("begins_at", "ends_at") and skip & {"begins_at", "ends_at"})]
        by_field: dict[str, list[str]] = {}
        for p in unread:  # said by the form itself, already in the reader's language
            by_field.setdefault(self.place(p.field) or "id", []).append(with_code(p.message, p.code))
        for p in broken:
            by_field.setdefault(self.place(p.field) or "id", []).append(
                with_code(problem_sentence(p.code, p.message), p.code))
        return body, by_field

    def check_fields(self) -> dict[str, list[str]]:
        return self.check()[1]

    @work(exclusive=True, group="save")
    async def save(self) -> None:
        if not self.begin():
            return
        body, _problems = self.check()
        saved = await self.send(lambda office, session: office.save_campaign(session, body, new=self.existing is None))
        if saved is not None:
            self.dismiss(saved)


class _Reading:
    """Reads the form's typed fields, noting each one that cannot be read (a number, a time, a zone)."""

    def __init__(self, value: Callable[[str], str]) -> None:
        self.value = value
        self.unread: list[Problem] = []

    def number(self, field: str, *, yuan: bool = False) -> int | None:
        text = self.value(field)
        if not text:
            return None
        try:
            return parse_amount(text) if yuan else int(text)
        except ValueError:
            self.unread.append(Problem("form.number.invalid", field, _("Not a number: {text}", text=text)))
            return None

    def zone(self, field: str) -> str:
        tz = self.value(field) or "UTC"
        try:
            zone(tz)
        except ValueError:
            self.unread.append(Problem("campaign.timezone.invalid", field, _("Unknown time zone.")))
            return "UTC"
        return tz

    def when(self, field: str, tz: str) -> str | None:
        try:
            return local_time(self.value(field), tz).isoformat()
        except ValueError:
            text = self.value(field)
            self.unread.append(Problem("form.time.invalid", field,
                                       _("Not a date and time: {text}", text=text) if text
                                       else _("Type a date and time such as 2026-12-01 09:00.")))
            return None

    def optional_time(self, field: str, tz: str) -> str | None:
        return self.when(field, tz) if self.value(field) else None
