"""Coupon pushes (Qoo10 style): tell followers or past buyers about a coupon by e-mail.

An *advertising* push goes to the shop's followers (optionally only those who followed within a date
range); a *compensation* push to the buyers of the orders the manager lists. At most one push a week
(ISO week of the send date, in the campaign's time zone); the send date is one of the next three days
(tomorrow to three days from today); the time is 10:00 to 22:00 in 30-minute steps; a push can be
cancelled until 24 hours before it is sent. Pure rules; the service stores and delivers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pos.domain.model import Campaign
from pos.domain.problems import Problem, Problems
from pos.domain.promotions import describe

FIRST_SLOT = time(10, 0)
LAST_SLOT = time(22, 0)
SLOT_MINUTES = 30
DAYS_AHEAD = 3
CANCEL_BEFORE = timedelta(hours=24)
ORDERS_MAX = 10_000
ITEMS_MAX = 16  # Qoo10: at most 16 goods shown in the message


class PushKind(StrEnum):
    ADVERTISING = "advertising"
    COMPENSATION = "compensation"


class PushStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    SENDING = "sending"
    SENT = "sent"


@dataclass(frozen=True, slots=True)
class PushRequest:
    kind: PushKind
    campaign_id: str
    send_date: date
    send_time: time
    followed_from: date | None = None
    followed_to: date | None = None
    orders: tuple[str, ...] = ()
    items: tuple[str, ...] = ()


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def send_at(req: PushRequest, tz: str) -> datetime:
    return datetime.combine(req.send_date, req.send_time, tzinfo=ZoneInfo(tz))


def slots() -> list[time]:
    out, t = [], datetime.combine(date.min, FIRST_SLOT)
    while t.time() <= LAST_SLOT:
        out.append(t.time())
        t += timedelta(minutes=SLOT_MINUTES)
    return out


def send_dates(now: datetime, tz: str) -> list[date]:
    today = now.astimezone(ZoneInfo(tz)).date()
    return [today + timedelta(days=d) for d in range(1, DAYS_AHEAD + 1)]


def validate_push(req: PushRequest, campaign: Campaign | None, *, now: datetime, busy_weeks: Iterable[str]) -> list[Problem]:
    """Every rule ``req`` breaks; ``busy_weeks``: the weeks that already have a push not cancelled."""
    out = Problems()

    if campaign is None:
        out.add("push.coupon.invalid", "campaign_id", f"No campaign {req.campaign_id}.")
        return out
    tz = campaign.timezone
    if campaign.status.value not in ("approved", "active") or now >= campaign.ends_at:
        out.add("push.coupon.invalid", "campaign_id", "Only an approved campaign that has not ended can be pushed.")
    dates = send_dates(now, tz)
    if req.send_date not in dates:
        out.add("push.date.invalid", "send_date",
            f"The send date is one of the next {DAYS_AHEAD} days: {dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}.")
    if req.send_time not in slots():
        out.add("push.time.invalid", "send_time", "The send time is 10:00 to 22:00, on the hour or half past.")
    if week_of(req.send_date) in set(busy_weeks):
        out.add("push.week.taken", "send_date", f"There is already a push in week {week_of(req.send_date)}: one a week.")
    if req.kind is PushKind.ADVERTISING:
        if req.orders:
            out.add("push.orders.invalid", "orders", "An advertising push goes to followers; order numbers are for compensation.")
        if (req.followed_from is None) != (req.followed_to is None):
            out.add("push.followers.invalid", "followed_from", "Give both ends of the follow period, or neither (all followers).")
        elif req.followed_from and req.followed_to and req.followed_to < req.followed_from:
            out.add("push.followers.invalid", "followed_to", "The follow period must end on or after its start.")
    else:
        if req.followed_from or req.followed_to:
            out.add("push.followers.invalid", "followed_from", "A compensation push goes to buyers, not to followers.")
        if not req.orders:
            out.add("push.orders.invalid", "orders", "List the order numbers whose buyers get the coupon.")
        elif len(req.orders) > ORDERS_MAX:
            out.add("push.orders.invalid", "orders", f"At most {ORDERS_MAX:,} order numbers.")
    if len(req.items) > ITEMS_MAX:
        out.add("push.items.invalid", "items", f"Show at most {ITEMS_MAX} goods.")
    return out


def cancel_refusal(when: datetime, now: datetime) -> Problem | None:
    if now > when - CANCEL_BEFORE:
        return Problem("push.cancel.too_late", "status",
                       f"A push can be cancelled until 24 hours before it is sent ({when - CANCEL_BEFORE:%Y-%m-%d %H:%M %Z}).")
    return None


def message(campaign: Campaign, *, shop: str, items: Iterable[str] = (), store_names: dict[str, str] | None = None,
            customer: str | None = None) -> tuple[str, str]:
    """The e-mail's subject and body."""
    title = campaign.title or campaign.name
    subject = f"[{shop}] A new coupon for you: {title}"
    lines = [f"Dear {customer}," if customer else "Hello,", "",
             f"{campaign.merchant or shop} has a coupon for you: {title}."]
    if campaign.slogan:
        lines.append(campaign.slogan)
    conditions = describe(campaign, store_names)
    if conditions:
        lines.append(f"How it works: {conditions}.")
    if campaign.conditions:
        lines.append(campaign.conditions)
    tz = ZoneInfo(campaign.timezone)
    lines.append(f"Valid until {campaign.ends_at.astimezone(tz):%Y-%m-%d %H:%M} ({campaign.timezone}).")
    goods = list(items)
    if goods:
        lines += ["", "Best items: " + ", ".join(goods)]
    lines += ["", "You receive this because you follow our shop or bought from us.",
              "To stop coupon mails, reply with UNSUBSCRIBE."]
    return subject, "\n".join(lines)
