"""The shop's nouns: stores, staff, verifiers, campaigns, vouchers, redemptions.

Plain frozen dataclasses, no I/O. Money is an integer number of cents (fen); times are timezone-aware
UTC. ``to_dict``/``from_dict`` (:class:`~pos.domain.records.Record`, read off the fields) give the JSON
shape used by fixtures, the catalog and the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pos.domain.records import Record, format_time, parse_time

__all__ = ["format_time", "parse_time"]  # the time helpers, where the nouns' users have always found them


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """An IANA time zone by name (``Asia/Shanghai``); :class:`ValueError` for anything else (a region's
    folder such as ``America``, a path, a file of the database that is no zone)."""
    if name not in _zone_names():
        raise ValueError(f"Unknown time zone {name!r}; use an IANA name such as Asia/Shanghai.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"Unknown time zone {name!r}; use an IANA name such as Asia/Shanghai.") from exc


def local_text(moment: datetime, zone_name: str, *, with_zone: bool = True) -> str:
    """A moment as a person in ``zone_name`` reads it: ``2026-11-24 07:30 (Asia/Shanghai)``."""
    text = moment.astimezone(zone(zone_name)).strftime("%Y-%m-%d %H:%M")
    return f"{text} ({zone_name})" if with_zone else text


class Role(StrEnum):
    CASHIER = "cashier"
    MANAGER = "manager"


class CampaignStatus(StrEnum):
    """The JD promotion statuses (their numeric codes in :data:`JD_STATUS_CODES`) plus ended and deleted."""

    REJECTED = "rejected"
    NOT_REVIEWED = "not_reviewed"
    MANUAL_REVIEW = "manual_review"
    APPROVED = "approved"
    ACTIVE = "active"
    PAUSED = "paused"
    FORCE_PAUSED = "force_paused"
    ENDED = "ended"
    DELETED = "deleted"


JD_STATUS_CODES = {
    CampaignStatus.REJECTED: 1,
    CampaignStatus.NOT_REVIEWED: 2,
    CampaignStatus.MANUAL_REVIEW: 3,
    CampaignStatus.APPROVED: 4,
    CampaignStatus.ACTIVE: 5,
    CampaignStatus.PAUSED: 6,
    CampaignStatus.FORCE_PAUSED: 7,
}


class CampaignKind(StrEnum):
    """The JD promotion types (their numeric codes in :data:`JD_KIND_CODES`)."""

    SINGLE_ITEM = "single_item"
    GIFT = "gift"
    BUNDLE = "bundle"
    ORDER_TOTAL = "order_total"


JD_KIND_CODES = {CampaignKind.SINGLE_ITEM: 1, CampaignKind.GIFT: 4, CampaignKind.BUNDLE: 6, CampaignKind.ORDER_TOTAL: 10}


class MemberLevel(IntEnum):
    """JD member levels, lowest first; a campaign admits its level and every level above it."""

    REGISTERED = 50
    BRONZE = 56
    SILVER = 61
    GOLD = 62
    DIAMOND = 105
    VIP = 110


class Scope(StrEnum):
    """Which goods an order-total promotion counts (JD ``bound``): listed SKUs, all, or all but the listed."""

    LISTED = "listed"  # JD 1: only the listed SKUs take part
    ALL = "all"  # JD 2: the whole shop
    EXCEPT_LISTED = "except_listed"  # JD 3: all but the listed SKUs


class RuleMode(StrEnum):
    """The JD order rules (``favor_mode``) of an order-total promotion."""

    ITEMS_OFF = "items_off"  # 6: buy M items, N of them free
    PRICE_FOR_ITEMS = "price_for_items"  # 13: any N items for M yuan
    ITEMS_TENTHS = "items_tenths"  # 15: M items at N tenths of the price
    SPEND_OFF_GIFT = "spend_off_gift"  # 16: spend M, get money off and/or a gift


JD_RULE_CODES = {RuleMode.ITEMS_OFF: 6, RuleMode.PRICE_FOR_ITEMS: 13, RuleMode.ITEMS_TENTHS: 15,
                 RuleMode.SPEND_OFF_GIFT: 16}


@dataclass(frozen=True, slots=True)
class OrderRule(Record):
    """One order rule. Units per mode: items_off quota=M items, rate=N items; price_for_items quota=M in
    cents, rate=N items; items_tenths quota=M items, rate=N tenths x10 (8.5 tenths = 85); spend_off_gift
    quota=M in cents, minus and plus in cents, gift a gift SKU of the promotion."""

    mode: RuleMode
    quota: int
    rate: int | None = None
    minus: int | None = None
    plus: int | None = None
    gift: str | None = None


class Bind(StrEnum):
    MAIN = "main"  # JD bind_type 1
    GIFT = "gift"  # JD bind_type 2


@dataclass(frozen=True, slots=True)
class PromoSku(Record):
    """A SKU taking part in a promotion: its list price, its promotion price, and for bundles its place
    (``seq`` 1-7), for gifts how many are given (``num`` 1-3). Prices in cents, to 0.10 yuan."""

    sku: str
    price: int
    promo_price: int | None = None
    seq: int | None = None
    num: int | None = None
    bind: Bind = Bind.MAIN


@dataclass(frozen=True, slots=True)
class PurchaseLimits(Record):
    """JD activity mode of a single-item or gift promotion; 0 means no limit.

    ``total``: promoted units in all (num_bound); ``one_only``: one unit per order (freq_bound);
    ``per_order_max`` / ``per_order_min``: units per order (per_max_num / per_min_num)."""

    total: int = 0
    one_only: bool = False
    per_order_max: int = 0
    per_order_min: int = 0


class PerCustomer(StrEnum):
    UNLIMITED = "unlimited"
    ONCE = "once"
    ONCE_PER_DAY = "once_per_day"


@dataclass(frozen=True, slots=True)
class Store:
    id: str
    name: str
    timezone: str = "UTC"  # an IANA name; the store's "day" and the times shown at its counters


@dataclass(frozen=True, slots=True)
class Staff:
    id: str
    name: str
    role: Role = Role.CASHIER
    active: bool = True


@dataclass(frozen=True, slots=True)
class Verifier(Record):
    """A staff member's right to verify vouchers: in every store, or only in the listed ones."""

    staff_id: str
    all_stores: bool = False
    stores: frozenset[str] = frozenset()
    active: bool = True

    def may_verify_at(self, store_id: str) -> bool:
        return self.active and (self.all_stores or store_id in self.stores)


@dataclass(frozen=True, slots=True)
class Validity(Record):
    """When a voucher may be used: a fixed window, or ``days`` days from the moment it was claimed."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    days: int | None = None

    def window(self, claimed_at: datetime | None) -> tuple[datetime | None, datetime | None]:
        if self.days is not None:
            if claimed_at is None:
                return None, None
            return claimed_at, claimed_at + timedelta(days=self.days)
        return self.starts_at, self.ends_at

    def to_dict(self) -> dict[str, Any]:
        if self.days is not None:
            return {"days": self.days}
        return {"starts_at": format_time(self.starts_at), "ends_at": format_time(self.ends_at)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Validity:
        if d.get("days") is not None:
            return cls(days=int(d["days"]))
        return cls(
            parse_time(d["starts_at"]) if d.get("starts_at") else None,
            parse_time(d["ends_at"]) if d.get("ends_at") else None,
        )


@dataclass(frozen=True, slots=True)
class Discount(Record):
    """Spend at least ``min_spend`` and get ``amount_off`` off, or ``percent_off`` % off capped at ``cap``."""

    amount_off: int | None = None
    percent_off: int | None = None
    cap: int | None = None
    min_spend: int = 0


@dataclass(frozen=True, slots=True)
class OfflinePolicy(Record):
    """Whether a terminal may accept this campaign's vouchers with no network, and up to what discount."""

    allowed: bool = True
    max_discount: int | None = None


@dataclass(frozen=True, slots=True)
class Campaign(Record):
    id: str
    name: str
    begins_at: datetime
    ends_at: datetime
    status: CampaignStatus = CampaignStatus.ACTIVE
    validity: Validity = field(default_factory=Validity)
    stores: frozenset[str] | None = None  # None: every store
    discount: Discount = field(default_factory=Discount)
    quantity: int | None = None
    per_customer: PerCustomer = PerCustomer.UNLIMITED
    offline: OfflinePolicy = field(default_factory=OfflinePolicy)
    cancel_window_minutes: int = 60
    timezone: str = "UTC"
    kind: CampaignKind = CampaignKind.ORDER_TOTAL
    # JD promotion: advertising line, internal note, who may take part, what counts, the goods, limits.
    slogan: str = ""
    comment: str = ""
    member: MemberLevel = MemberLevel.REGISTERED
    scope: Scope = Scope.ALL
    skus: tuple[PromoSku, ...] = ()
    limits: PurchaseLimits = field(default_factory=PurchaseLimits)
    reward: int | None = None  # single-item "prop": a voucher worth this many cents handed to the buyer
    rule: OrderRule | None = None
    # Coupon fields (JD union coupon, Douyin card coupon).
    claim_starts_at: datetime | None = None
    claim_ends_at: datetime | None = None
    claim_limit: PerCustomer = PerCustomer.UNLIMITED  # how often one customer may claim (JD 限领)
    giftable: bool = False
    merchant: str = ""
    title: str = ""
    conditions: str = ""
    affiliates: bool = False  # shared with affiliates; chosen at creation, never changed afterwards

    def is_running(self, now: datetime) -> bool:
        """Redeemable now: approved or active, and inside its own begin/end times."""
        return self.status in (CampaignStatus.APPROVED, CampaignStatus.ACTIVE) and self.begins_at <= now < self.ends_at

    def includes_store(self, store_id: str) -> bool:
        return self.stores is None or store_id in self.stores

    @property
    def cancel_window(self) -> timedelta:
        return timedelta(minutes=self.cancel_window_minutes)


class VoucherStatus(StrEnum):
    ISSUED = "issued"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Voucher:
    code: str
    campaign_id: str
    customer_id: str | None = None
    claimed_at: datetime | None = None
    status: VoucherStatus = VoucherStatus.ISSUED
    valid_until: datetime | None = None  # only from a signed payload; otherwise the campaign decides
    affiliate_id: str | None = None  # the affiliate who referred the customer, when it came through one


@dataclass(frozen=True, slots=True)
class Redemption(Record):
    nonce: str
    code: str
    campaign_id: str
    store_id: str
    staff_id: str
    redeemed_at: datetime
    discount: int = 0
    amount: int | None = None
    customer_id: str | None = None
    terminal_id: str | None = None
    mode: str = "online"
    cancelled_at: datetime | None = None


