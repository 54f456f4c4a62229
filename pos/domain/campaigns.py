"""What a manager may write into a campaign, and which lifecycle step is possible from which state.

Every refusal carries a stable code in the JD promotion API's style (``campaign.name.invalid``) and
the form field it belongs to, so the back office can show it inline next to that field and the
service can return the same code over HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum

from pos.domain.codes import DomainError
from pos.domain.model import Campaign, CampaignStatus, MemberLevel, zone
from pos.domain.problems import Problem, Problems
from pos.domain.promotions import validate_complete, validate_promotion
from pos.domain.terms import CampaignKind

NAME_MAX = 10  # JD: promotion name at most 10 characters
SPAN_MAX = timedelta(days=180)  # JD: end at most 180 days after begin
SPAN_MIN = timedelta(minutes=1)  # JD: end at least one minute after begin
QUANTITY_MAX = 3_000_000  # JD union coupon: at most 3,000,000 vouchers
VALIDITY_DAYS_MAX = 365
CANCEL_WINDOW_MAX = 24 * 60
MONEY_MAX = 10**9  # ten million yuan in cents: beyond any voucher
ID_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
REASON_MAX = 200  # a rejection's reason, in characters


class CampaignError(DomainError):
    """A campaign change the rules refuse; ``problems`` lists every violation, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].code, problems[0].message)
        self.problems = problems


def validate(c: Campaign, *, now: datetime, stores: Iterable[str] | None = None, new: bool = True) -> list[Problem]:
    """Every rule the campaign breaks, in form order. ``stores``: the chain's store ids, when known."""
    out = Problems()
    if not ID_PATTERN.match(c.id):
        out.add("campaign.id.invalid", "id", "The campaign id is 1 to 32 capital letters, digits, '-' or '_'.")
    name = c.name.strip()
    if not name or len(name) > NAME_MAX or name != c.name:
        out.add("campaign.name.invalid", "name", f"The name must be 1 to {NAME_MAX} characters, with no spaces around it.")
    _check_times(c, now, new, out)
    _check_discount(c, out)
    _check_limits(c, stores, out)
    out.extend(validate_promotion(c))
    return out


def _check_times(c: Campaign, now: datetime, new: bool, out: Problems) -> None:
    if c.begins_at.second or c.begins_at.microsecond or c.ends_at.second or c.ends_at.microsecond:
        out.add("campaign.time.invalid", "begins_at", "Begin and end times are given to the minute.")
    if c.ends_at < c.begins_at + SPAN_MIN:
        out.add("campaign.time.invalid", "ends_at", "The end must be at least one minute after the begin.")
    elif c.ends_at - c.begins_at > SPAN_MAX:
        out.add("campaign.time.invalid", "ends_at", "Begin and end may be at most 180 days apart.")
    if new and c.ends_at <= now:
        out.add("campaign.end.invalid", "ends_at", "The end must be in the future.")
    if new and c.begins_at > now + SPAN_MAX:
        out.add("campaign.begin.invalid", "begins_at", "The begin may be at most 180 days from now.")


def _check_discount(c: Campaign, out: Problems) -> None:
    d = c.discount
    coupon = c.kind is CampaignKind.ORDER_TOTAL and c.rule is None
    if not coupon and (d.amount_off is not None or d.percent_off is not None or d.cap is not None or d.min_spend):
        out.add("campaign.discount.invalid", "discount",
            "An order rule or the goods' promotion prices decide the discount; leave the coupon discount empty.")
    elif coupon and (d.amount_off is None) == (d.percent_off is None):
        out.add("campaign.discount.invalid", "discount", "Give either an amount off or a percentage off, not both.")
    if d.amount_off is not None and not 0 < d.amount_off <= MONEY_MAX:
        out.add("campaign.discount.invalid", "amount_off", "The amount off must be more than 0.")
    if d.percent_off is not None and not 1 <= d.percent_off <= 99:
        out.add("campaign.discount.invalid", "percent_off", "The percentage off must be between 1 and 99.")
    if d.cap is not None and (d.percent_off is None or not 0 < d.cap <= MONEY_MAX):
        out.add("campaign.cap.invalid", "cap", "A cap (most taken off) goes with a percentage off and is more than 0.")
    if not 0 <= d.min_spend <= MONEY_MAX:
        out.add("campaign.min_spend.invalid", "min_spend", "The minimum spend cannot be negative.")
    elif d.amount_off is not None and d.min_spend and d.amount_off > d.min_spend:
        out.add("campaign.discount.invalid", "amount_off", "The amount off cannot be more than the minimum spend.")


def _check_limits(c: Campaign, stores: Iterable[str] | None, out: Problems) -> None:
    if c.quantity is not None and not 1 <= c.quantity <= QUANTITY_MAX:
        out.add("campaign.quantity.invalid", "quantity", f"The quantity must be between 1 and {QUANTITY_MAX:,}.")
    v = c.validity
    if v.days is not None:
        if not 1 <= v.days <= VALIDITY_DAYS_MAX:
            out.add("campaign.validity.invalid", "validity", f"Valid for 1 to {VALIDITY_DAYS_MAX} days after claiming.")
    elif v.starts_at and v.ends_at and v.ends_at <= v.starts_at:
        out.add("campaign.validity.invalid", "validity", "The validity must end after it starts.")
    if c.stores is not None:
        if not c.stores:
            out.add("campaign.stores.invalid", "stores", "Choose all stores or at least one store.")
        elif stores is not None and (unknown := sorted(c.stores - set(stores))):
            out.add("campaign.stores.invalid", "stores", f"No store {', '.join(unknown)}.")
    if not 0 <= c.cancel_window_minutes <= CANCEL_WINDOW_MAX:
        out.add("campaign.cancel_window.invalid", "cancel_window_minutes", "The undo window is 0 to 1,440 minutes.")
    if c.offline.max_discount is not None and c.offline.max_discount < 0:
        out.add("campaign.offline.invalid", "offline", "The offline limit cannot be negative.")
    try:
        zone(c.timezone)
    except ValueError:
        out.add("campaign.timezone.invalid", "timezone", f"Unknown time zone {c.timezone!r}.")
    if c.member not in MemberLevel:
        out.add("promo.member.invalid", "member", "Unknown member level.")


def check_update(old: Campaign, new: Campaign) -> list[Problem]:
    """What an edit may not change: the affiliate opt-in is chosen once, at creation."""
    if old.affiliates != new.affiliates:
        return [Problem("campaign.affiliates.immutable", "affiliates",
                        "Sharing with affiliates is chosen when the campaign is created and cannot be changed.")]
    return []


class Action(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    PAUSE = "pause"
    FORCE_PAUSE = "force_pause"
    RESUME = "resume"
    END = "end"
    DELETE = "delete"


S = CampaignStatus
#: action → (the states it may start from, the state it leads to). JD: review only what waits for manual
#: review, suspend only what is active, resume only what is paused, delete only from the listed states.
TRANSITIONS: dict[Action, tuple[frozenset[CampaignStatus], CampaignStatus]] = {
    Action.SUBMIT: (frozenset({S.NOT_REVIEWED, S.REJECTED}), S.MANUAL_REVIEW),
    Action.APPROVE: (frozenset({S.MANUAL_REVIEW}), S.APPROVED),
    Action.REJECT: (frozenset({S.MANUAL_REVIEW}), S.REJECTED),
    Action.PAUSE: (frozenset({S.ACTIVE}), S.PAUSED),
    Action.FORCE_PAUSE: (frozenset({S.ACTIVE, S.PAUSED}), S.FORCE_PAUSED),
    Action.RESUME: (frozenset({S.PAUSED}), S.ACTIVE),
    Action.END: (frozenset({S.APPROVED, S.ACTIVE, S.PAUSED, S.FORCE_PAUSED}), S.ENDED),
    Action.DELETE: (frozenset({S.NOT_REVIEWED, S.REJECTED, S.ACTIVE, S.PAUSED}), S.DELETED),
}
EDITABLE = frozenset({S.NOT_REVIEWED, S.REJECTED})


def effective_status(c: Campaign, now: datetime) -> CampaignStatus:
    """The status as the shop sees it now: an approved campaign is active from its begin time, and
    anything still live ends at its end time, without anyone pressing a button."""
    if c.status in (S.APPROVED, S.ACTIVE, S.PAUSED, S.FORCE_PAUSED) and now >= c.ends_at:
        return S.ENDED
    if c.status is S.APPROVED and now >= c.begins_at:
        return S.ACTIVE
    return c.status


def allowed_actions(c: Campaign, now: datetime) -> list[Action]:
    status = effective_status(c, now)
    return [a for a, (sources, _) in TRANSITIONS.items() if status in sources]


def apply(c: Campaign, action: Action, now: datetime) -> Campaign:
    """The campaign after ``action``, or :class:`CampaignError` with ``campaign.non.<action>``."""
    status = effective_status(c, now)
    sources, target = TRANSITIONS[action]
    if status not in sources:
        allowed = ", ".join(str(s) for s in sorted(sources))
        raise CampaignError([Problem(f"campaign.non.{action}", "status",
                                     f"A campaign that is {status} cannot be {_past(action)}; only one that is {allowed}.")])
    if action is Action.SUBMIT and (missing := validate_complete(c)):
        raise CampaignError(missing)
    return replace(c, status=target)


def reason_problems(reason: str | None) -> list[Problem]:
    """What is wrong with a rejection's reason: it is required (not blank) and at most 200 characters."""
    text = (reason or "").strip()
    if not text or len(text) > REASON_MAX:
        return [Problem("campaign.reject.reason", "reason",
                        f"Say why the campaign is rejected, in 1 to {REASON_MAX} characters; its author reads it.")]
    return []


def check_editable(c: Campaign, now: datetime) -> None:
    status = effective_status(c, now)
    if status not in EDITABLE:
        raise CampaignError([Problem("campaign.non.edit", "status",
                                     f"A campaign that is {status} cannot be edited; only before approval or after rejection.")])


def _past(action: Action) -> str:
    return {Action.SUBMIT: "submitted", Action.APPROVE: "approved", Action.REJECT: "rejected", Action.PAUSE: "paused", Action.FORCE_PAUSE: "force-paused",
            Action.RESUME: "resumed", Action.END: "ended", Action.DELETE: "deleted"}[action]
