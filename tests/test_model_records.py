"""The shop's records as JSON: campaigns, verifiers and redemptions are stored as JSON by the service and
cached by every terminal, so their shape is a file format. A corpus of varied records, written once to
``tests/data/records.jsonl``, must still come out the same and read back equal."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pos.domain.model import (
    Bind,
    Campaign,
    CampaignStatus,
    Discount,
    MemberLevel,
    OfflinePolicy,
    PerCustomer,
    PromoSku,
    Redemption,
    Validity,
    Verifier,
)
from pos.domain.terms import (
    BundleTerms,
    CampaignKind,
    GiftTerms,
    OrderRule,
    OrderTotalTerms,
    PurchaseLimits,
    RuleMode,
    Scope,
    SingleItemTerms,
    Terms,
)

CORPUS = Path(__file__).parent / "data" / "records.jsonl"
T0 = datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=UTC)


def _maybe(rng: random.Random, value: Any) -> Any:
    return value if rng.random() < 0.5 else None


def _moment(rng: random.Random) -> datetime:
    return T0 + timedelta(minutes=rng.randint(-100_000, 100_000), microseconds=rng.randint(0, 999_999))


def campaign(rng: random.Random, n: int) -> Campaign:
    begins = _moment(rng)
    validity = (Validity(days=rng.randint(1, 90)) if rng.random() < 0.3
                else Validity(_maybe(rng, _moment(rng)), _maybe(rng, _moment(rng))))
    skus = tuple(PromoSku(f"SKU{rng.randint(1, 999)}", rng.randint(1, 9999) * 10, _maybe(rng, rng.randint(1, 999) * 10),
                          _maybe(rng, rng.randint(1, 7)), _maybe(rng, rng.randint(1, 3)), rng.choice(list(Bind)))
                 for _ in range(rng.randint(0, 3)))
    rule = _maybe(rng, OrderRule(rng.choice(list(RuleMode)), rng.randint(1, 50_000), _maybe(rng, rng.randint(1, 9)),
                                 _maybe(rng, rng.randint(1, 999)), _maybe(rng, rng.randint(1, 999)), _maybe(rng, "GIFT1")))
    fields = dict(
        id=f"C{n}", name=rng.choice(["Spring 30 off", "冬季满减", "VIP 5% off"]), begins_at=begins,
        ends_at=begins + timedelta(days=rng.randint(1, 180)), status=rng.choice(list(CampaignStatus)),
        validity=validity, stores=_maybe(rng, frozenset(rng.sample(["S001", "S002", "S003"], rng.randint(0, 3)))),
        discount=Discount(_maybe(rng, rng.randint(1, 5000)), _maybe(rng, rng.randint(1, 99)), _maybe(rng, 3000),
                          rng.choice([0, 10000])),
        quantity=_maybe(rng, rng.randint(1, 10_000)), per_customer=rng.choice(list(PerCustomer)),
        offline=OfflinePolicy(rng.random() < 0.5, _maybe(rng, rng.randint(0, 5000))),
        cancel_window_minutes=rng.randint(0, 1440), timezone=rng.choice(["UTC", "Asia/Shanghai", "Europe/Berlin"]),
        kind=rng.choice(list(CampaignKind)), slogan=rng.choice(["", "满300减30"]), comment=rng.choice(["", "note"]),
        member=rng.choice(list(MemberLevel)), scope=rng.choice(list(Scope)), skus=skus,
        limits=PurchaseLimits(rng.randint(0, 100), rng.random() < 0.5, rng.randint(0, 5), rng.randint(0, 5)),
        reward=_maybe(rng, rng.randint(1, 999)), rule=rule, claim_starts_at=_maybe(rng, _moment(rng)),
        claim_ends_at=_maybe(rng, _moment(rng)), claim_limit=rng.choice(list(PerCustomer)),
        giftable=rng.random() < 0.5, merchant=rng.choice(["", "Shop"]), title=rng.choice(["", "Title"]),
        conditions=rng.choice(["", "Not with other offers"]), affiliates=rng.random() < 0.5,
    )
    return Campaign(**{k: v for k, v in fields.items() if k not in TERMS}, terms=fitting_terms(fields))  # type: ignore[arg-type]


TERMS = ("kind", "scope", "limits", "reward", "rule")


def fitting_terms(drawn: dict[str, Any]) -> Terms:
    """The terms of the drawn kind, from those of the drawn values it takes."""
    kind = drawn["kind"]
    if kind is CampaignKind.SINGLE_ITEM:
        return SingleItemTerms(drawn["limits"], drawn["reward"])
    if kind is CampaignKind.GIFT:
        return GiftTerms(drawn["limits"])
    if kind is CampaignKind.BUNDLE:
        return BundleTerms()
    return OrderTotalTerms(drawn["scope"], drawn["rule"])


def verifier(rng: random.Random, n: int) -> Verifier:
    return Verifier(f"staff-{n}", rng.random() < 0.3, frozenset(rng.sample(["S001", "S002", "S003"], rng.randint(0, 3))),
                    rng.random() < 0.8)


def redemption(rng: random.Random, n: int) -> Redemption:
    return Redemption(f"nonce-{n}", f"CODE{n:08d}", f"C{n}", "S001", "dan", _moment(rng), rng.randint(0, 5000),
                      _maybe(rng, rng.randint(0, 100_000)), _maybe(rng, f"cust-{n}"), _maybe(rng, "S001-T1"),
                      rng.choice(["online", "offline"]), _maybe(rng, _moment(rng)))


def corpus() -> dict[str, list[Any]]:
    rng = random.Random(20261122)
    return {"campaigns": [campaign(rng, n) for n in range(80)], "verifiers": [verifier(rng, n) for n in range(30)],
            "redemptions": [redemption(rng, n) for n in range(40)]}


def as_text(records: dict[str, list[Any]]) -> str:
    """One record a line, as stored (``json.dumps`` of ``to_dict()``), after its kind."""
    return "".join(f"{kind} {json.dumps(r.to_dict(), ensure_ascii=False)}\n" for kind, rs in records.items() for r in rs)


def test_records_keep_their_json_shape() -> None:
    """Every record writes the same keys and values as when the corpus was written (key order aside)."""
    now = as_text(corpus()).splitlines()
    stored = CORPUS.read_text(encoding="utf-8").splitlines()
    assert len(now) == len(stored)
    for mine, theirs in zip(now, stored, strict=True):
        kind, _, record = theirs.partition(" ")
        assert mine.partition(" ")[0] == kind
        assert json.loads(mine.partition(" ")[2]) == json.loads(record)


@pytest.mark.parametrize("kind, cls", [("campaigns", Campaign), ("verifiers", Verifier), ("redemptions", Redemption)])
def test_records_read_back_equal(kind: str, cls: Any) -> None:
    for record in corpus()[kind]:
        assert cls.from_dict(json.loads(json.dumps(record.to_dict()))) == record


def test_older_and_sparser_records_read_with_their_defaults() -> None:
    """A campaign stored before later fields existed (or written by hand in a fixture) reads with defaults."""
    c = Campaign.from_dict({"id": "OLD", "name": "Old", "begins_at": "2026-01-01T00:00:00Z",
                            "ends_at": "2026-02-01T00:00:00+08:00", "member": None, "slogan": None, "skus": None})
    assert c == Campaign("OLD", "Old", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 31, 16, tzinfo=UTC))
    assert Verifier.from_dict({"staff_id": "dan"}) == Verifier("dan")
    r = Redemption.from_dict({"nonce": "n", "code": "X", "campaign_id": "C", "store_id": "S", "staff_id": "s",
                              "redeemed_at": "2026-01-01T08:00:00+08:00"})
    assert (r.redeemed_at, r.discount, r.mode, r.cancelled_at) == (datetime(2026, 1, 1, tzinfo=UTC), 0, "online", None)


def test_a_number_that_is_not_whole_is_refused_not_rounded() -> None:
    base = {"id": "C", "name": "C", "begins_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z"}
    assert Campaign.from_dict({**base, "quantity": "12"}).quantity == 12
    with pytest.raises(ValueError, match="whole number"):
        Campaign.from_dict({**base, "quantity": 1.5})
    with pytest.raises(KeyError):
        Campaign.from_dict({"id": "C", "name": "C", "begins_at": "2026-01-01T00:00:00Z"})
    for beyond in ("0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"):  # no time in UTC (found by the fuzz)
        with pytest.raises(ValueError, match="out of range"):
            Campaign.from_dict({**base, "ends_at": beyond})
