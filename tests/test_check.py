"""The one check function, against an in-memory catalog: each reason, in order, and discounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from pos.domain import (
    Campaign,
    CampaignStatus,
    Discount,
    FirstRedemption,
    OfflinePolicy,
    PerCustomer,
    Reason,
    Validity,
    Verifier,
    Voucher,
    VoucherStatus,
    cancel_refusal,
    check,
    compute_discount,
    generate,
)
from pos.domain import payload as qr

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
KEY = qr.new_key()


@dataclass
class Memory:
    vouchers: dict[str, Voucher] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    verifiers: dict[str, Verifier] = field(default_factory=dict)
    redeemed: dict[str, FirstRedemption] = field(default_factory=dict)
    by_customer: list[tuple[str, str, datetime]] = field(default_factory=list)
    zones: dict[str, str] = field(default_factory=dict)

    def voucher(self, code: str) -> Voucher | None:
        return self.vouchers.get(code)

    def campaign(self, campaign_id: str) -> Campaign | None:
        return self.campaigns.get(campaign_id)

    def verifier(self, staff_id: str) -> Verifier | None:
        return self.verifiers.get(staff_id)

    def public_key(self, kid: str) -> bytes | None:
        return qr.public_bytes(KEY) if kid == "K1" else None

    def store_zone(self, store_id: str) -> str:
        return self.zones.get(store_id, "UTC")

    def active_redemption(self, code: str) -> FirstRedemption | None:
        return self.redeemed.get(code)

    def customer_redemptions(self, campaign_id: str, customer_id: str, since: datetime | None) -> int:
        return sum(1 for c, cu, at in self.by_customer if c == campaign_id and cu == customer_id and (since is None or at >= since))


def campaign(**kw: object) -> Campaign:
    base = dict(id="C", name="Test", begins_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=1),
                validity=Validity(NOW - timedelta(days=1), NOW + timedelta(days=1)), discount=Discount(amount_off=1000))
    base.update(kw)
    return Campaign(**base)  # type: ignore[arg-type]


@pytest.fixture
def shop() -> tuple[Memory, str]:
    m = Memory()
    code = generate()
    m.campaigns["C"] = campaign()
    m.vouchers[code] = Voucher(code, "C", "cust")
    m.verifiers["alice"] = Verifier("alice", stores=frozenset({"S1"}))
    return m, code


def run(m: Memory, raw: str, *, store: str = "S1", staff: str = "alice", amount: int | None = None,
        now: datetime = NOW, offline: bool = False):
    return check(raw, store_id=store, staff_id=staff, amount=amount, catalog=m, history=m, now=now, offline=offline)


def test_ok(shop) -> None:
    m, code = shop
    v = run(m, code)
    assert v.reason is Reason.OK and v.discount == 1000 and v.code == code and v.campaign_id == "C"


def test_each_refusal_reason(shop) -> None:
    m, code = shop
    assert run(m, "nonsense").reason is Reason.MALFORMED
    assert run(m, generate()).reason is Reason.UNKNOWN_CODE
    assert run(m, code, staff="bob").reason is Reason.STAFF_NOT_VERIFIER
    assert run(m, code, store="S2").reason is Reason.STAFF_NOT_VERIFIER
    m.verifiers["alice"] = Verifier("alice", all_stores=True)
    m.campaigns["C"] = campaign(stores=frozenset({"S1"}))
    assert run(m, code, store="S2").reason is Reason.STORE_NOT_ALLOWED
    m.campaigns["C"] = campaign(status=CampaignStatus.PAUSED)
    assert run(m, code).reason is Reason.CAMPAIGN_INACTIVE
    m.campaigns["C"] = campaign(status=CampaignStatus.NOT_REVIEWED)
    assert run(m, code).reason is Reason.CAMPAIGN_INACTIVE
    m.campaigns["C"] = campaign()
    assert run(m, code, now=NOW + timedelta(days=2)).reason is Reason.CAMPAIGN_INACTIVE
    m.campaigns["C"] = campaign(validity=Validity(NOW + timedelta(hours=1), NOW + timedelta(days=1)))
    assert run(m, code).reason is Reason.NOT_YET_VALID
    m.campaigns["C"] = campaign(validity=Validity(NOW - timedelta(days=1), NOW))
    assert run(m, code).reason is Reason.EXPIRED  # the end is exclusive
    m.campaigns["C"] = campaign()
    m.redeemed[code] = FirstRedemption(NOW - timedelta(minutes=5), "S9", "n1")
    v = run(m, code)
    assert v.reason is Reason.ALREADY_REDEEMED and v.first_redemption.store_id == "S9"
    del m.redeemed[code]
    m.vouchers[code] = Voucher(code, "C", "cust", status=VoucherStatus.REVOKED)
    assert run(m, code).reason is Reason.REVOKED


def test_relative_validity_counts_from_the_claim() -> None:
    m = Memory()
    code = generate()
    m.campaigns["C"] = campaign(validity=Validity(days=7))
    m.verifiers["alice"] = Verifier("alice", all_stores=True)
    m.vouchers[code] = Voucher(code, "C", claimed_at=NOW - timedelta(days=6, hours=23))
    assert run(m, code).accepted
    m.vouchers[code] = Voucher(code, "C", claimed_at=NOW - timedelta(days=7))
    assert run(m, code).reason is Reason.EXPIRED


def test_per_customer_once_and_once_per_day(shop) -> None:
    m, code = shop
    m.campaigns["C"] = campaign(per_customer=PerCustomer.ONCE)
    m.by_customer.append(("C", "cust", NOW - timedelta(days=30)))
    assert run(m, code).reason is Reason.LIMIT_REACHED
    m.campaigns["C"] = campaign(per_customer=PerCustomer.ONCE_PER_DAY)
    assert run(m, code).accepted  # that was another day
    m.by_customer.append(("C", "cust", NOW.replace(hour=0, minute=1)))
    assert run(m, code).reason is Reason.LIMIT_REACHED
    m.zones["S1"] = "Asia/Shanghai"  # the store's day, not the campaign's
    # 00:01 UTC is 08:01 in Shanghai, the same local day as 20:00 Shanghai (12:00 UTC)
    assert run(m, code).reason is Reason.LIMIT_REACHED


@pytest.mark.parametrize(("discount", "amount", "expected", "problem"), [
    (Discount(amount_off=3000, min_spend=50000), 50000, 3000, None),
    (Discount(amount_off=3000, min_spend=50000), 49999, 0, "rules.min_spend"),
    (Discount(amount_off=3000, min_spend=50000), None, 0, "rules.amount_required"),
    (Discount(amount_off=3000), None, 3000, None),
    (Discount(amount_off=3000), 2000, 2000, None),  # never more than the basket
    (Discount(percent_off=5, cap=30000), 100000, 5000, None),
    (Discount(percent_off=5, cap=30000), 10_000_000, 30000, None),  # "at most 300 off"
    (Discount(percent_off=5, cap=30000), 1999, 99, None),  # rounds down, in the shop's favour
    (Discount(percent_off=5), None, 0, "rules.amount_required"),
    (Discount(amount_off=100), -1, 0, "rules.amount_negative"),
])
def test_discounts(discount: Discount, amount: int | None, expected: int, problem: str | None) -> None:
    off, why, sentence = compute_discount(discount, amount)
    assert (off, why) == (expected, problem) and sentence


def test_offline_policy(shop) -> None:
    m, code = shop
    m.campaigns["C"] = campaign(offline=OfflinePolicy(allowed=False))
    assert run(m, code).accepted
    assert run(m, code, offline=True).reason is Reason.OFFLINE_NOT_ALLOWED
    m.campaigns["C"] = campaign(offline=OfflinePolicy(allowed=True, max_discount=500))
    v = run(m, code, offline=True)
    assert v.reason is Reason.OFFLINE_NOT_ALLOWED and v.detail == "offline.max_discount"
    m.campaigns["C"] = campaign(offline=OfflinePolicy(allowed=True, max_discount=1000))
    assert run(m, code, offline=True).accepted


def test_signed_payload_of_an_unknown_voucher_is_trusted_on_its_signature(shop) -> None:
    m, _ = shop
    code = generate()
    text = qr.sign(KEY, "K1", qr.Claims(code, "C", "cust-9", NOW + timedelta(hours=1)))
    assert run(m, text).accepted
    assert run(m, text, now=NOW + timedelta(hours=1)).reason is Reason.EXPIRED  # the payload's own expiry
    assert run(m, text.replace("K1", "K2", 1)).reason is Reason.FORGED
    assert run(m, text[:-4] + ("AAAA" if not text.endswith("AAAA") else "BBBB")).reason is Reason.FORGED


def test_every_verdict_has_exactly_one_reason_and_a_sentence(shop) -> None:
    m, code = shop
    for raw in (code, "x", generate(), "VC1:garbage"):
        v = run(m, raw)
        assert isinstance(v.reason, Reason) and v.message.strip()


def test_cancel_window() -> None:
    c = campaign()
    assert cancel_refusal(NOW - timedelta(minutes=59), c, NOW) is None
    assert cancel_refusal(NOW - timedelta(minutes=60), c, NOW) is None
    assert "60 minutes" in cancel_refusal(NOW - timedelta(minutes=61), c, NOW)
    assert cancel_refusal(NOW - timedelta(minutes=10), campaign(cancel_window_minutes=5), NOW)
