"""The one check: (input, basket, store, staff, catalog, history, clock) → Verdict.

The counter, the ``pos redeem`` command, the service and the tests all call :func:`check`; the
terminal calls it against its local catalog, the service against its authoritative one. It reads
through two small protocols so it never touches a database itself.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, Protocol

from pos.domain import payload as qr
from pos.domain.codes import CodeError, display, normalise
from pos.domain.model import (
    Campaign,
    Discount,
    PerCustomer,
    Verifier,
    Voucher,
    VoucherStatus,
    format_time,
    local_text,
    zone,
)
from pos.domain.promotions import Basket, BasketError, benefit, coupon_benefit
from pos.domain.verdict import FirstRedemption, Reason, Verdict, money


class Catalog(Protocol):
    def voucher(self, code: str) -> Voucher | None: ...
    def campaign(self, campaign_id: str) -> Campaign | None: ...
    def verifier(self, staff_id: str) -> Verifier | None: ...
    def public_key(self, kid: str) -> bytes | None: ...
    def store_zone(self, store_id: str) -> str: ...  # the store's IANA time zone ("UTC" when unknown)


class History(Protocol):
    def active_redemption(self, code: str) -> FirstRedemption | None: ...
    def customer_redemptions(self, campaign_id: str, customer_id: str, since: datetime | None) -> int: ...


def read_input(raw: str) -> tuple[str, qr.SignedPayload | None]:
    """The canonical code, and the signed payload when the input was a scanned QR code."""
    text = raw.strip()
    if qr.is_payload(text):
        signed = qr.parse(text)
        return signed.claims.code, signed
    return normalise(text), None


def compute_discount(discount: Discount, amount: int | None) -> tuple[int, str | None, str]:
    """The discount a plain coupon earns on a basket amount: (cents, error code or None, sentence)."""
    got = coupon_benefit(discount, amount)
    return got.off, got.problem, got.sentence


def day_start(now: datetime, tz: str) -> datetime:
    """Midnight of ``now``'s day in zone ``tz`` (DST-correct: the zone's own midnight that day)."""
    local = now.astimezone(zone(tz))
    return datetime.combine(local.date(), time(0), tzinfo=local.tzinfo)


def check(
    raw: str,
    *,
    store_id: str,
    staff_id: str,
    amount: int | None,
    catalog: Catalog,
    history: History,
    now: datetime,
    offline: bool = False,
    items: list[dict[str, Any]] | None = None,
) -> Verdict:
    """The verdict on one voucher, checked in the order a cashier would ask: is it ours and genuine, may
    this person accept it here, is it known and valid now, was it used, what does the basket earn, and may
    that be given offline. The first refusal is the answer."""

    def refuse(reason: Reason, message: str, detail: str | None = None, **extra: object) -> Verdict:
        return Verdict(reason, message, detail=detail, offline=offline, **extra)  # type: ignore[arg-type]

    try:
        code, signed = read_input(raw)
    except CodeError as err:
        return refuse(Reason.MALFORMED, err.message, err.code)
    found = _genuine(code, signed, catalog, refuse) or _verifier(code, store_id, staff_id, catalog, refuse)
    if found is not None:
        return found
    voucher = _voucher(code, signed, catalog, refuse)
    if isinstance(voucher, Verdict):
        return voucher

    base: dict[str, Any] = {"code": code, "campaign_id": voucher.campaign_id, "customer_id": voucher.customer_id}

    def deny(reason: Reason, message: str, detail: str | None = None, **extra: object) -> Verdict:
        return refuse(reason, message, detail, **extra, **base)

    here = catalog.store_zone(store_id)  # every "day" and every time a person reads is the store's own
    if voucher.status is VoucherStatus.REVOKED:
        return deny(Reason.REVOKED, "This voucher was withdrawn by the shop.")
    campaign = catalog.campaign(voucher.campaign_id)
    if campaign is None:
        return deny(Reason.CAMPAIGN_INACTIVE, "This voucher's campaign is not known here.")
    refused = (_running_here(campaign, store_id, now, deny) or _valid_now(campaign, voucher, now, here, deny)
               or _unused(campaign, voucher, history, now, here, deny))
    if refused is not None:
        return refused
    try:
        basket = Basket.of(amount, items)
    except BasketError as err:
        return deny(Reason.RULES_NOT_MET, err.message, err.code)
    got = benefit(campaign, basket)
    if got.problem is not None:
        return deny(Reason.RULES_NOT_MET, got.sentence, got.problem, params=got.params)
    if offline and (refused := _offline_allowed(campaign, got.off, deny)) is not None:
        return refused
    gifts = tuple(f"{sku} ×{num}" for sku, num in got.gifts)
    return Verdict(Reason.OK, f"Accepted: {got.sentence}", discount=got.off, offline=offline, gifts=gifts,
                   surcharge=got.plus, **base)


class _Refuse(Protocol):
    def __call__(self, reason: Reason, message: str, detail: str | None = None, **extra: object) -> Verdict: ...


def _voucher(code: str, signed: qr.SignedPayload | None, catalog: Catalog, refuse: _Refuse) -> Voucher | Verdict:
    """The voucher's record; for a signed payload the catalog does not hold yet (issued after the last pull),
    what the payload itself says."""
    voucher = catalog.voucher(code)
    if voucher is None and signed is not None:
        c = signed.claims
        voucher = Voucher(c.code, c.campaign_id, c.customer_id, valid_until=c.valid_until)
    if voucher is None:
        return refuse(Reason.UNKNOWN_CODE, f"No voucher {display(code)} is known here.", code=code,
                      params={"code": display(code)})
    if signed is not None and signed.claims.campaign_id != voucher.campaign_id:
        return refuse(Reason.FORGED, "This voucher's payload does not match its record.", "payload.mismatch", code=code)
    return voucher


def _genuine(code: str, signed: qr.SignedPayload | None, catalog: Catalog, refuse: _Refuse) -> Verdict | None:
    """A scanned payload must be signed by a key this shop knows, and the signature must hold."""
    if signed is None:
        return None
    key = catalog.public_key(signed.kid)
    if key is None:
        return refuse(Reason.FORGED, "This voucher was signed by a key this shop does not know.", "payload.unknown_key",
                      code=code)
    if not qr.verify(signed, key):
        return refuse(Reason.FORGED, "This voucher's signature is wrong: it is forged or altered.", "payload.signature",
                      code=code)
    return None


def _verifier(code: str, store_id: str, staff_id: str, catalog: Catalog, refuse: _Refuse) -> Verdict | None:
    verifier = catalog.verifier(staff_id)
    if verifier is None or not verifier.may_verify_at(store_id):
        return refuse(Reason.STAFF_NOT_VERIFIER, f"Staff member {staff_id} may not verify vouchers in this store.",
                      code=code, params={"staff": staff_id})
    return None


def _running_here(campaign: Campaign, store_id: str, now: datetime, deny: _Refuse) -> Verdict | None:
    if not campaign.is_running(now):
        when = "has not started" if now < campaign.begins_at else "is not running"
        if now >= campaign.ends_at:
            when = "has ended"
        return deny(Reason.CAMPAIGN_INACTIVE, f"The campaign “{campaign.name}” {when}.", f"campaign.{campaign.status}",
                    params={"campaign": campaign.name, "when": when.replace(" ", "_")})
    if not campaign.includes_store(store_id):
        return deny(Reason.STORE_NOT_ALLOWED, f"“{campaign.name}” vouchers are not valid in this store.",
                    params={"campaign": campaign.name})
    return None


def _valid_now(campaign: Campaign, voucher: Voucher, now: datetime, here: str, deny: _Refuse) -> Verdict | None:
    starts, ends = campaign.validity.window(voucher.claimed_at)
    if voucher.valid_until is not None:
        ends = voucher.valid_until if ends is None else min(ends, voucher.valid_until)
    if starts is not None and now < starts:
        return deny(Reason.NOT_YET_VALID, f"This voucher is valid from {local_text(starts, here)}.",
                    params={"starts": format_time(starts)})
    if ends is not None and now >= ends:
        return deny(Reason.EXPIRED, f"This voucher expired on {local_text(ends, here)}.",
                    params={"ends": format_time(ends)})
    return None


def _unused(campaign: Campaign, voucher: Voucher, history: History, now: datetime, here: str,
            deny: _Refuse) -> Verdict | None:
    """Not redeemed already, and the customer within the campaign's once / once-a-day limit."""
    first = history.active_redemption(voucher.code)
    if first is not None:
        return deny(Reason.ALREADY_REDEEMED, f"Already redeemed on {local_text(first.at, here)} in store {first.store_id}.",
                    first_redemption=first)
    if voucher.customer_id and campaign.per_customer is not PerCustomer.UNLIMITED:
        since = None if campaign.per_customer is PerCustomer.ONCE else day_start(now, here)
        if history.customer_redemptions(campaign.id, voucher.customer_id, since) > 0:
            span = "" if since is None else " today"
            return deny(Reason.LIMIT_REACHED, f"This customer has already used a “{campaign.name}” voucher{span}.",
                        params={"campaign": campaign.name, "span": "today" if since else "ever"})
    return None


def _offline_allowed(campaign: Campaign, off: int, deny: _Refuse) -> Verdict | None:
    policy = campaign.offline
    if not policy.allowed:
        return deny(Reason.OFFLINE_NOT_ALLOWED, f"“{campaign.name}” vouchers need a connection to the service.",
                    params={"campaign": campaign.name})
    if policy.max_discount is not None and off > policy.max_discount:
        return deny(Reason.OFFLINE_NOT_ALLOWED,
                    f"Offline, at most {money(policy.max_discount)} off may be given; this is {money(off)}.",
                    "offline.max_discount", params={"max": money(policy.max_discount), "off": money(off)})
    return None


def cancel_refusal(redeemed_at: datetime, campaign: Campaign | None, now: datetime) -> str | None:
    """Why a redemption can no longer be undone, or None when it can."""
    window = campaign.cancel_window if campaign else timedelta(minutes=60)
    if now - redeemed_at > window:
        minutes = int(window.total_seconds() // 60)
        return f"It is more than {minutes} minutes since this voucher was redeemed; it can no longer be undone."
    return None
