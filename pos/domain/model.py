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
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pos.domain.problems import Problems
from pos.domain.records import Record, fields_from_dict, fields_to_dict, format_time, parse_time, plain
from pos.domain.terms import (
    CampaignKind,
    GiftTerms,
    OrderRule,
    OrderTotalTerms,
    PurchaseLimits,
    Scope,
    SingleItemTerms,
    Terms,
    read_terms,
)

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


class MemberLevel(IntEnum):
    """JD member levels, lowest first; a campaign admits its level and every level above it."""

    REGISTERED = 50
    BRONZE = 56
    SILVER = 61
    GOLD = 62
    DIAMOND = 105
    VIP = 110


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
    terms: Terms = field(default_factory=OrderTotalTerms)  # its kind and what that kind takes
    # JD promotion: advertising line, internal note, who may take part, the goods.
    slogan: str = ""
    comment: str = ""
    member: MemberLevel = MemberLevel.REGISTERED
    skus: tuple[PromoSku, ...] = ()
    # Coupon fields (JD union coupon, Douyin card coupon).
    claim_starts_at: datetime | None = None
    claim_ends_at: datetime | None = None
    claim_limit: PerCustomer = PerCustomer.UNLIMITED  # how often one customer may claim (JD 限领)
    giftable: bool = False
    merchant: str = ""
    title: str = ""
    conditions: str = ""
    affiliates: bool = False  # shared with affiliates; chosen at creation, never changed afterwards

    by_hand: ClassVar[tuple[str, ...]] = ("terms",)

    def to_dict(self) -> dict[str, Any]:
        """The campaign as stored and sent: its terms as the flat keys the wire has always had, each where it always
        was, with the kind's default where it takes none."""
        ordered: dict[str, Any] = {}
        for name, value in fields_to_dict(self).items():
            ordered[name] = value
            if name == "timezone":
                ordered["kind"] = self.kind.value
            elif name == "member":
                ordered["scope"] = self.scope.value
            elif name == "skus":
                ordered.update(limits=self.limits.to_dict(), reward=self.reward, rule=plain(self.rule))
        return ordered

    @classmethod
    def read(cls, d: dict[str, Any]) -> tuple[Campaign, Problems]:
        """A campaign from a request or a form, and each field given that its kind does not take (left out):
        the service and the form refuse those with the rest of the campaign's problems."""
        terms, misfits = read_terms(d)
        return cls(**fields_from_dict(cls, d), terms=terms), misfits

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Campaign:
        """A campaign as stored; a field its kind does not take is :class:`ValueError`."""
        campaign, misfits = cls.read(d)
        if misfits:
            raise ValueError(" ".join(p.message for p in misfits))
        return campaign

    # what its terms say, as every kind reads them (the defaults where its kind takes none)
    @property
    def kind(self) -> CampaignKind:
        return self.terms.kind

    @property
    def scope(self) -> Scope:
        return self.terms.scope if isinstance(self.terms, OrderTotalTerms) else Scope.ALL

    @property
    def rule(self) -> OrderRule | None:
        return self.terms.rule if isinstance(self.terms, OrderTotalTerms) else None

    @property
    def limits(self) -> PurchaseLimits:
        return self.terms.limits if isinstance(self.terms, SingleItemTerms | GiftTerms) else PurchaseLimits()

    @property
    def reward(self) -> int | None:
        return self.terms.reward if isinstance(self.terms, SingleItemTerms) else None

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


