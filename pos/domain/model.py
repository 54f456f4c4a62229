"""The shop's nouns: stores, staff, verifiers, campaigns, vouchers, redemptions.

Plain frozen dataclasses, no I/O. Money is an integer number of cents (fen); times are timezone-aware
UTC. ``to_dict``/``from_dict`` give the JSON shape used by fixtures, the catalog and the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any


def parse_time(value: str | datetime) -> datetime:
    """ISO 8601 to an aware UTC datetime; a naive value is taken as UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


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


class PerCustomer(StrEnum):
    UNLIMITED = "unlimited"
    ONCE = "once"
    ONCE_PER_DAY = "once_per_day"


@dataclass(frozen=True, slots=True)
class Store:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Staff:
    id: str
    name: str
    role: Role = Role.CASHIER
    active: bool = True


@dataclass(frozen=True, slots=True)
class Verifier:
    """A staff member's right to verify vouchers: in every store, or only in the listed ones."""

    staff_id: str
    all_stores: bool = False
    stores: frozenset[str] = frozenset()
    active: bool = True

    def may_verify_at(self, store_id: str) -> bool:
        return self.active and (self.all_stores or store_id in self.stores)

    def to_dict(self) -> dict[str, Any]:
        return {"staff_id": self.staff_id, "all_stores": self.all_stores, "stores": sorted(self.stores), "active": self.active}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verifier:
        return cls(d["staff_id"], bool(d.get("all_stores", False)), frozenset(d.get("stores") or ()), bool(d.get("active", True)))


@dataclass(frozen=True, slots=True)
class Validity:
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
class Discount:
    """Spend at least ``min_spend`` and get ``amount_off`` off, or ``percent_off`` % off capped at ``cap``."""

    amount_off: int | None = None
    percent_off: int | None = None
    cap: int | None = None
    min_spend: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"amount_off": self.amount_off, "percent_off": self.percent_off, "cap": self.cap, "min_spend": self.min_spend}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Discount:
        return cls(d.get("amount_off"), d.get("percent_off"), d.get("cap"), int(d.get("min_spend") or 0))


@dataclass(frozen=True, slots=True)
class OfflinePolicy:
    """Whether a terminal may accept this campaign's vouchers with no network, and up to what discount."""

    allowed: bool = True
    max_discount: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "max_discount": self.max_discount}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OfflinePolicy:
        return cls(bool(d.get("allowed", True)), d.get("max_discount"))


@dataclass(frozen=True, slots=True)
class Campaign:
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

    def is_running(self, now: datetime) -> bool:
        """Redeemable now: approved or active, and inside its own begin/end times."""
        return self.status in (CampaignStatus.APPROVED, CampaignStatus.ACTIVE) and self.begins_at <= now < self.ends_at

    def includes_store(self, store_id: str) -> bool:
        return self.stores is None or store_id in self.stores

    @property
    def cancel_window(self) -> timedelta:
        return timedelta(minutes=self.cancel_window_minutes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": str(self.status),
            "begins_at": format_time(self.begins_at),
            "ends_at": format_time(self.ends_at),
            "validity": self.validity.to_dict(),
            "stores": None if self.stores is None else sorted(self.stores),
            "discount": self.discount.to_dict(),
            "quantity": self.quantity,
            "per_customer": str(self.per_customer),
            "offline": self.offline.to_dict(),
            "cancel_window_minutes": self.cancel_window_minutes,
            "timezone": self.timezone,
            "kind": str(self.kind),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Campaign:
        stores = d.get("stores")
        return cls(
            id=d["id"],
            name=d["name"],
            begins_at=parse_time(d["begins_at"]),
            ends_at=parse_time(d["ends_at"]),
            status=CampaignStatus(d.get("status", "active")),
            validity=Validity.from_dict(d.get("validity") or {}),
            stores=None if stores is None else frozenset(stores),
            discount=Discount.from_dict(d.get("discount") or {}),
            quantity=d.get("quantity"),
            per_customer=PerCustomer(d.get("per_customer", "unlimited")),
            offline=OfflinePolicy.from_dict(d.get("offline") or {}),
            cancel_window_minutes=int(d.get("cancel_window_minutes", 60)),
            timezone=d.get("timezone", "UTC"),
            kind=CampaignKind(d.get("kind", "order_total")),
        )


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


@dataclass(frozen=True, slots=True)
class Redemption:
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "nonce": self.nonce,
            "code": self.code,
            "campaign_id": self.campaign_id,
            "store_id": self.store_id,
            "staff_id": self.staff_id,
            "terminal_id": self.terminal_id,
            "redeemed_at": format_time(self.redeemed_at),
            "amount": self.amount,
            "discount": self.discount,
            "customer_id": self.customer_id,
            "mode": self.mode,
            "cancelled_at": format_time(self.cancelled_at),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Redemption:
        return cls(
            nonce=d["nonce"],
            code=d["code"],
            campaign_id=d["campaign_id"],
            store_id=d["store_id"],
            staff_id=d["staff_id"],
            redeemed_at=parse_time(d["redeemed_at"]),
            discount=int(d.get("discount") or 0),
            amount=d.get("amount"),
            customer_id=d.get("customer_id"),
            terminal_id=d.get("terminal_id"),
            mode=d.get("mode", "online"),
            cancelled_at=parse_time(d["cancelled_at"]) if d.get("cancelled_at") else None,
        )
