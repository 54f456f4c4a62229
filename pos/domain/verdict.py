"""The answer the counter shows: exactly one reason from a fixed vocabulary, and a sentence."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from pos.domain.model import format_time, parse_time


class Reason(StrEnum):
    OK = "ok"
    MALFORMED = "malformed"
    FORGED = "forged"
    UNKNOWN_CODE = "unknown_code"
    REVOKED = "revoked"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    CAMPAIGN_INACTIVE = "campaign_inactive"
    STORE_NOT_ALLOWED = "store_not_allowed"
    STAFF_NOT_VERIFIER = "staff_not_verifier"
    ALREADY_REDEEMED = "already_redeemed"
    RULES_NOT_MET = "rules_not_met"
    LIMIT_REACHED = "limit_reached"
    OFFLINE_NOT_ALLOWED = "offline_not_allowed"


@dataclass(frozen=True, slots=True)
class FirstRedemption:
    """Where and when a voucher was already used, so the cashier can tell the customer."""

    at: datetime
    store_id: str
    nonce: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"at": format_time(self.at), "store_id": self.store_id, "nonce": self.nonce}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FirstRedemption:
        return cls(parse_time(d["at"]), d["store_id"], d.get("nonce"))


@dataclass(frozen=True, slots=True)
class Verdict:
    reason: Reason
    message: str
    code: str | None = None
    campaign_id: str | None = None
    customer_id: str | None = None
    discount: int = 0
    offline: bool = False
    detail: str | None = None  # a stable error code under the reason, e.g. ``code.check``
    first_redemption: FirstRedemption | None = None
    gifts: tuple[str, ...] = ()  # goods handed over with the voucher, e.g. "G1 ×2"
    surcharge: int = 0  # what the customer adds for a gift (JD spend-and-get "plus"), in cents
    # the facts in ``message`` (a date, a minimum spend, a campaign's name), so that a terminal can say the
    # same sentence in its own language
    params: dict[str, str] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.reason is Reason.OK

    def but(self, **changes: Any) -> Verdict:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "reason": str(self.reason),
            "message": self.message,
            "code": self.code,
            "campaign_id": self.campaign_id,
            "customer_id": self.customer_id,
            "discount": self.discount,
            "offline": self.offline,
            "detail": self.detail,
            "first_redemption": self.first_redemption.to_dict() if self.first_redemption else None,
            "gifts": list(self.gifts),
            "surcharge": self.surcharge,
            "params": dict(self.params),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verdict:
        first = d.get("first_redemption")
        return cls(
            reason=Reason(d["reason"]),
            message=d["message"],
            code=d.get("code"),
            campaign_id=d.get("campaign_id"),
            customer_id=d.get("customer_id"),
            discount=int(d.get("discount") or 0),
            offline=bool(d.get("offline", False)),
            detail=d.get("detail"),
            first_redemption=FirstRedemption.from_dict(first) if first else None,
            gifts=tuple(d.get("gifts") or ()),
            surcharge=int(d.get("surcharge") or 0),
            params={str(k): str(v) for k, v in (d.get("params") or {}).items()},
        )


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"
