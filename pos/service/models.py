"""The request bodies of the service's HTTP API: strict (unknown fields are refused) and bounded, so
FastAPI refuses what the domain would never accept before any state is read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Nonce = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Ident = Annotated[str, Field(min_length=1, max_length=64)]
Cents = Annotated[int, Field(ge=0, le=10**11)]
Moment = Annotated[datetime, Field(strict=False)]  # an ISO 8601 string in JSON: parsed, the one conversion allowed
CodeText = Annotated[str, Field(min_length=1, max_length=512)]


CampaignStatusParam = Literal["rejected", "not_reviewed", "manual_review", "approved", "active", "paused",
                              "force_paused", "ended", "deleted"]


class Strict(BaseModel):
    """No unknown fields, and no coercion: ``"5000"`` or ``true`` is not an amount, ``1.5`` not a count;
    no NUL character in any text (no person types one, and PostgreSQL cannot store it)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("text must not contain the NUL character")
        return value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


SkuId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class LineBody(Strict):
    sku: SkuId | None = None
    price: Cents | None = Field(None, description="Unit price in cents; for a promotion's SKU, its list price if left out.")
    qty: Annotated[int, Field(ge=1, le=999)] = 1


class RedeemRequest(Strict):
    nonce: Nonce = Field(description="Client-made idempotency key: a retry with the same key gets the first answer.")
    code: CodeText = Field(description="The typed code or the scanned QR payload.")
    staff_id: Ident
    store_id: Ident = Field(description="Must be the store the terminal's token belongs to.")
    amount: Cents | None = Field(None, description="Basket amount in cents, when the campaign's rules need it.")
    items: list[LineBody] | None = Field(None, max_length=200,
                                         description="The basket's lines, when the promotion depends on the goods.")


class CancelRequest(Strict):
    staff_id: Ident


class LoginRequest(Strict):
    staff_id: Ident
    pin: Annotated[str, Field(min_length=1, max_length=16)] = Field(description="4 to 8 digits; never stored or logged.")


class VerifierRequest(Strict):
    all_stores: bool = False
    stores: list[Ident] = Field(default_factory=list, max_length=1000)
    active: bool = True


class IssueRequest(Strict):
    count: Annotated[int, Field(ge=1, le=10_000)] = 1
    customer_id: Ident | None = None
    affiliate_id: Ident | None = Field(None, description="The affiliate who referred the customer.")


class GiveRequest(Strict):
    to_customer: Ident


class StepRequest(Strict):
    reason: Annotated[str, Field(max_length=2000)] | None = Field(
        None, description="Why: required to reject (1 to 200 characters, kept on the campaign and shown to its author); "
                          "for any other step, kept in the audit.")


class SkuBody(Strict):
    sku: SkuId
    price: Cents = Field(description="List price in cents, to 0.10 yuan.")
    promo_price: Cents | None = None
    seq: Annotated[int, Field(ge=0, le=100)] | None = Field(None, description="Bundles: the good's place, 1 to 7.")
    num: Annotated[int, Field(ge=0, le=100)] | None = Field(None, description="Gifts: how many are given, 1 to 3.")
    bind: Literal["main", "gift"] = "main"


class SkuBatch(Strict):
    skus: list[SkuBody] = Field(max_length=1000, description="At most 100 a call (sku.batch.invalid beyond).")


class BindingRequest(Strict):
    campaign_id: Ident
    skus: list[SkuId] = Field(max_length=100)


class PushBody(Strict):
    kind: Literal["advertising", "compensation"]
    campaign_id: Ident
    send_date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    send_time: Annotated[str, Field(pattern=r"^\d{2}:\d{2}$")]
    followed_from: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    followed_to: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    orders: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default_factory=list, max_length=20_000)
    items: list[SkuId] = Field(default_factory=list, max_length=100)


class ValidityBody(Strict):
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    days: Annotated[int, Field(ge=1, le=3650)] | None = Field(None, description="Valid this many days after claiming.")


class DiscountBody(Strict):
    amount_off: Cents | None = None
    percent_off: Annotated[int, Field(ge=0, le=100)] | None = None
    cap: Cents | None = Field(None, description="With percent_off: the most taken off, in cents.")
    min_spend: Cents = 0


class LimitsBody(Strict):
    total: Annotated[int, Field(ge=-1, le=10**9)] = 0
    one_only: bool = False
    per_order_max: Annotated[int, Field(ge=-1, le=10**6)] = 0
    per_order_min: Annotated[int, Field(ge=-1, le=10**6)] = 0


class RuleBody(Strict):
    mode: Literal["items_off", "price_for_items", "items_tenths", "spend_off_gift"]
    quota: Annotated[int, Field(ge=-1, le=10**11)]
    rate: Annotated[int, Field(ge=-1, le=10**6)] | None = None
    minus: Annotated[int, Field(ge=-1, le=10**11)] | None = None
    plus: Annotated[int, Field(ge=-1, le=10**11)] | None = None
    gift: SkuId | None = None


class OfflineBody(Strict):
    allowed: bool = True
    max_discount: Cents | None = None


class CampaignBody(Strict):
    """A campaign as the manager writes it; the rules (lengths, times, bounds) are checked by the domain
    and refused with ``campaign.*.invalid`` codes, each problem naming its field."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(max_length=200)]
    kind: Literal["single_item", "gift", "bundle", "order_total"] = "order_total"
    begins_at: Moment
    ends_at: Moment
    validity: ValidityBody = Field(default_factory=ValidityBody)
    stores: list[Ident] | None = Field(None, max_length=1000, description="None: every store.")
    discount: DiscountBody = Field(default_factory=DiscountBody)
    quantity: Annotated[int, Field(ge=0, le=10**9)] | None = None
    per_customer: Literal["unlimited", "once", "once_per_day"] = "unlimited"
    offline: OfflineBody = Field(default_factory=OfflineBody)
    cancel_window_minutes: Annotated[int, Field(ge=0, le=100_000)] = 60
    timezone: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="IANA name, for the claim and push rules; None: the zone of the manager's store.")
    slogan: Annotated[str, Field(max_length=1000)] = ""
    comment: Annotated[str, Field(max_length=2000)] = ""
    member: Literal[50, 56, 61, 62, 105, 110] = 50
    scope: Literal["all", "listed", "except_listed"] = "all"
    limits: LimitsBody = Field(default_factory=LimitsBody)
    reward: Annotated[int, Field(ge=-1, le=10**9)] | None = None
    rule: RuleBody | None = None
    claim_starts_at: Moment | None = None
    claim_ends_at: Moment | None = None
    claim_limit: Literal["unlimited", "once", "once_per_day"] = Field(
        "unlimited", description="How often one customer may claim a voucher (per_customer limits redeeming).")
    giftable: bool = False
    merchant: Annotated[str, Field(max_length=1000)] = ""
    title: Annotated[str, Field(max_length=1000)] = ""
    conditions: Annotated[str, Field(max_length=2000)] = ""
    affiliates: bool = Field(True, description="Share with affiliates (on unless turned off); fixed at creation.")


class StaffBody(Strict):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(max_length=200)]
    role: Literal["cashier", "manager"] = "cashier"
    pin: Annotated[str, Field(min_length=1, max_length=16)]


class StoreZoneBody(Strict):
    timezone: Annotated[str, Field(min_length=1, max_length=64, description="An IANA name, e.g. Asia/Shanghai.")]


class PinBody(Strict):
    pin: Annotated[str, Field(min_length=1, max_length=16)] = Field(
        description="The new PIN: 4 to 8 digits, a manager's 6 to 8; never stored, logged or audited.")


class StaffUpdateBody(Strict):
    name: Annotated[str, Field(max_length=200)]
    role: Literal["cashier", "manager"]
    pin: Annotated[str, Field(min_length=1, max_length=16)] | None = Field(
        None, description="A new PIN (needed to make a cashier a manager: 6 to 8 digits); never stored, logged or audited.")


class RevokeBody(Strict):
    reason: Annotated[str, Field(max_length=2000)] = Field(
        description="Why the voucher is withdrawn: 1 to 200 characters, kept with it and in the audit.")


class SettleBody(Strict):
    note: Annotated[str, Field(max_length=2000)] | None = Field(
        None, description="How the conflict was settled: at most 200 characters, kept with it and in the audit.")


class ClockAnchor(Strict):
    contact_at: Moment = Field(description="The service's time at the terminal's last successful catalog pull.")
    elapsed: Annotated[float, Field(ge=0, le=10**9)] | None = Field(
        None, description="Monotonic seconds from that contact to the redemption; null after a restart.")


class UploadItem(Strict):
    kind: Literal["redeem", "cancel", "void"] = "redeem"
    nonce: Nonce
    staff_id: Ident
    code: CodeText | None = None
    amount: Cents | None = None
    items: list[LineBody] | None = Field(None, max_length=200)
    redeemed_at: Moment | None = Field(None, description="When the terminal accepted it offline.")
    clock: ClockAnchor | None = Field(None, description="What the service checks redeemed_at against.")
    target: Nonce | None = Field(None, description="For cancel and void: the redemption's nonce.")
    requested_at: Moment | None = None


class UploadRequest(Strict):
    store_id: Ident
    items: list[UploadItem] = Field(max_length=2000)
