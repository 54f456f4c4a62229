"""Promotion types, order rules, SKU batches and coupon fields: each documented bound at, just inside and
just outside its limit, and a basket for each order rule with its exact discount (pure domain)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pos.domain import Campaign, CampaignStatus, Discount
from pos.domain.campaigns import Action, CampaignError, apply, check_update, validate
from pos.domain.model import Bind, MemberLevel, PromoSku
from pos.domain.problems import Problem
from pos.domain.promotions import (
    Basket,
    BasketError,
    benefit,
    describe,
    parse_lines,
    validate_complete,
    validate_skus,
)
from pos.domain.records import plain
from pos.domain.terms import CampaignKind, OrderRule, PurchaseLimits, RuleMode, Scope

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
K = CampaignKind


TERMS = frozenset({"scope", "limits", "reward", "rule"})  # what a campaign's kind may take (its terms)


def read_promo(kind: CampaignKind = K.ORDER_TOTAL, **kw: object) -> tuple[Campaign, list[Problem]]:
    """A campaign read as a request gives it (its terms by name), and the terms its kind does not take."""
    discount = Discount(amount_off=2000, min_spend=10000) if kind is K.ORDER_TOTAL and "rule" not in kw else Discount()
    base = Campaign(id="P1", name="Promo", begins_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(days=30),
                    status=CampaignStatus.NOT_REVIEWED, discount=discount)
    terms = {k: plain(v) for k, v in kw.items() if k in TERMS}
    c, misfits = Campaign.read({**base.to_dict(), "kind": kind.value, **terms})
    return replace(c, **{k: v for k, v in kw.items() if k not in TERMS}), misfits  # type: ignore[arg-type]


def promo(kind: CampaignKind = K.ORDER_TOTAL, **kw: object) -> Campaign:
    c, misfits = read_promo(kind, **kw)
    assert not misfits, misfits
    return c


def with_terms(c: Campaign, **kw: object) -> Campaign:
    return replace(c, terms=replace(c.terms, **kw))  # type: ignore[arg-type]


def codes(c: Campaign) -> set[str]:
    return {p.code for p in validate(c, now=NOW)}


def all_codes(kind: CampaignKind = K.ORDER_TOTAL, **kw: object) -> set[str]:
    """What the service and the form refuse in such a request: the campaign's rules and the misfit terms."""
    c, misfits = read_promo(kind, **kw)
    return codes(c) | {p.code for p in misfits}


def rule(mode: RuleMode, quota: int, rate: int | None = None, **kw: object) -> Campaign:
    scope = Scope.LISTED if mode is RuleMode.PRICE_FOR_ITEMS else Scope.ALL
    return promo(rule=OrderRule(mode, quota, rate, **kw), scope=scope)  # type: ignore[arg-type]


# -- text fields --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("field", "value", "code", "ok"), [
    ("slogan", "x" * 50, "campaign.slogan.invalid", True),
    ("slogan", "冬" * 50, "campaign.slogan.invalid", True),
    ("slogan", "x" * 51, "campaign.slogan.invalid", False),
    ("comment", "x" * 200, "campaign.comment.invalid", True),
    ("comment", "x" * 201, "campaign.comment.invalid", False),
    ("comment", "冬" * 66, "campaign.comment.invalid", True),  # 198 bytes
    ("comment", "冬" * 67, "campaign.comment.invalid", False),  # 201 bytes: the limit is in bytes
    ("merchant", "x" * 10, "campaign.merchant.invalid", True),
    ("merchant", "好" * 11, "campaign.merchant.invalid", False),
    ("title", "x" * 15, "campaign.title.invalid", True),
    ("title", "券" * 16, "campaign.title.invalid", False),
])
def test_text_lengths(field: str, value: str, code: str, ok: bool) -> None:
    assert (code not in codes(promo(**{field: value}))) is ok


def test_begin_at_most_180_days_from_now() -> None:
    at_limit = NOW.replace(second=0, microsecond=0) + timedelta(days=180)
    assert "campaign.begin.invalid" not in codes(promo(begins_at=at_limit - timedelta(minutes=1),
                                                       ends_at=at_limit + timedelta(days=1)))
    assert "campaign.begin.invalid" in codes(promo(begins_at=at_limit + timedelta(minutes=1),
                                                   ends_at=at_limit + timedelta(days=1)))


def test_member_levels_are_the_documented_ones() -> None:
    assert [int(m) for m in MemberLevel] == [50, 56, 61, 62, 105, 110]
    with pytest.raises(ValueError):
        Campaign.from_dict({**promo().to_dict(), "member": 57})


def test_claim_window() -> None:
    assert "campaign.claim.invalid" in codes(promo(claim_starts_at=NOW))
    assert "campaign.claim.invalid" in codes(promo(claim_starts_at=NOW, claim_ends_at=NOW))
    assert "campaign.claim.invalid" in codes(promo(claim_starts_at=NOW, claim_ends_at=NOW + timedelta(days=31)))
    assert "campaign.claim.invalid" not in codes(promo(claim_starts_at=NOW, claim_ends_at=NOW + timedelta(days=3)))


def test_affiliate_opt_in_never_changes() -> None:
    shared = promo(affiliates=True)
    assert check_update(shared, replace(shared, name="Renamed")) == []
    [problem] = check_update(shared, replace(shared, affiliates=False))
    assert problem.code == "campaign.affiliates.immutable"
    assert check_update(promo(), replace(promo(), affiliates=True))[0].code == "campaign.affiliates.immutable"


# -- order rules: bounds ------------------------------------------------------------------------------
@pytest.mark.parametrize(("quota", "rate", "ok"), [
    (3, 1, True), (20, 6, True), (2, 1, False), (21, 7, False),  # M is 3 to 20
    (9, 3, True), (9, 4, False), (5, 1, True), (5, 2, False), (6, 0, False),  # N is 1 to M/3
])
def test_items_off_bounds(quota: int, rate: int, ok: bool) -> None:
    assert (not codes(rule(RuleMode.ITEMS_OFF, quota, rate)) & {"ordermode.quota.invalid", "ordermode.rate.invalid"}) is ok


@pytest.mark.parametrize(("quota", "rate", "ok"), [
    (990, 2, True), (990, 5, True), (990, 1, False), (990, 6, False),  # N is 2 to 5
    (10, 3, True), (995, 3, False), (0, 3, False),  # M yuan to one decimal, above 0
])
def test_price_for_items_bounds(quota: int, rate: int, ok: bool) -> None:
    assert (not codes(rule(RuleMode.PRICE_FOR_ITEMS, quota, rate)) & {"ordermode.quota.invalid",
                                                                      "ordermode.rate.invalid"}) is ok


def test_price_for_items_only_on_listed_goods() -> None:
    c = promo(rule=OrderRule(RuleMode.PRICE_FOR_ITEMS, 9900, 3), scope=Scope.ALL)
    assert "promo.bound.invalid" in codes(c)


@pytest.mark.parametrize(("quota", "rate", "ok"), [
    (1, 80, True), (8, 80, True), (0, 80, False), (9, 80, False),  # M is 1 to 8
    (2, 50, True), (2, 99, True), (2, 49, False), (2, 100, False),  # N from 5 to under 10 tenths
])
def test_items_tenths_bounds(quota: int, rate: int, ok: bool) -> None:
    assert (not codes(rule(RuleMode.ITEMS_TENTHS, quota, rate)) & {"ordermode.quota.invalid", "ordermode.rate.invalid"}) is ok


@pytest.mark.parametrize(("kw", "code"), [
    ({"quota": 10000, "minus": 8000}, None),  # money off at 80% of the amount to spend
    ({"quota": 10000, "minus": 8100}, "ordermode.minus.invalid"),  # just over 80%
    ({"quota": 10050, "minus": 1000}, "ordermode.quota.invalid"),  # whole yuan only
    ({"quota": 10000, "minus": 1050}, "ordermode.minus.invalid"),
    ({"quota": 10000}, "promo.favorMode.invalid"),  # money off or a gift must be there
    ({"quota": 10000, "plus": 1000, "minus": 1000}, "ordermode.plus.invalid"),  # an added price needs a gift
    ({"quota": 10000, "rate": 5, "minus": 1000}, "ordermode.rate.invalid"),
    ({"quota": 10000, "gift": "G1", "plus": 1000}, None),
])
def test_spend_off_gift_bounds(kw: dict, code: str | None) -> None:
    found = codes(promo(rule=OrderRule(RuleMode.SPEND_OFF_GIFT, **kw)))
    assert found == set() if code is None else code in found


MISFITS = {"scope": ("listed", "campaign.scope.invalid"),
           "limits": (PurchaseLimits(per_order_max=2).to_dict(), "activitymode.invalid"),
           "reward": (1000, "prop.type.invalid"),
           "rule": (OrderRule(RuleMode.ITEMS_OFF, 3, 1).to_dict(), "promo.favorMode.invalid")}
TAKES = {K.SINGLE_ITEM: {"limits", "reward"}, K.GIFT: {"limits"}, K.BUNDLE: set(), K.ORDER_TOTAL: {"scope", "rule"}}


@pytest.mark.parametrize("kind", list(K))
def test_a_kind_holds_only_its_own_terms(kind: CampaignKind) -> None:
    """Each term a kind does not take is refused by its field when a request gives it, and cannot be stored."""
    stored = promo(kind).to_dict()
    assert set(stored) >= set(MISFITS) | {"kind"} and stored["kind"] == kind.value  # the wire keeps every key
    assert Campaign.from_dict(stored) == promo(kind)
    for term, (value, code) in MISFITS.items():
        given = {**stored, term: value}
        c, misfits = Campaign.read(given)
        if term in TAKES[kind]:
            assert misfits == [] and c.to_dict()[term] == value
            continue
        assert [(p.code, p.field) for p in misfits] == [(code, term)]
        assert c == promo(kind) and c.to_dict()[term] == stored[term]  # left out: the kind's default stays
        with pytest.raises(ValueError, match="Only"):
            Campaign.from_dict(given)


def test_rule_only_on_order_total_and_never_with_a_coupon_discount() -> None:
    assert "promo.favorMode.invalid" in all_codes(K.GIFT, rule=OrderRule(RuleMode.ITEMS_OFF, 3, 1))
    both = replace(rule(RuleMode.ITEMS_OFF, 3, 1), discount=Discount(amount_off=100))
    assert "campaign.discount.invalid" in codes(both)


def test_spend_and_get_gift_price_between_added_price_and_amount() -> None:
    base = promo(rule=OrderRule(RuleMode.SPEND_OFF_GIFT, 10000, plus=1000, gift="G1"))
    ok = replace(base, skus=(PromoSku("G1", 5000, bind=Bind.GIFT),))
    assert validate_complete(ok) == []
    for price in (1000, 10000):  # equal to the added price, equal to the amount: both refused
        bad = replace(base, skus=(PromoSku("G1", price, bind=Bind.GIFT),))
        assert [p.code for p in validate_complete(bad)] == ["gift.price.invalid"]
    assert [p.code for p in validate_complete(base)] == ["gift.num.invalid"]


# -- SKUs ---------------------------------------------------------------------------------------------
def skus(n: int, start: int = 0, **kw: object) -> list[PromoSku]:
    return [PromoSku(f"S{start + i}", 1000, **kw) for i in range(n)]  # type: ignore[arg-type]


def test_sku_batches_of_at_most_100_and_1000_a_promotion() -> None:
    c = promo(K.SINGLE_ITEM, reward=1000)
    assert validate_skus(c, skus(100, promo_price=900)) == []
    assert "sku.batch.invalid" in {p.code for p in validate_skus(c, skus(101, promo_price=900))}
    full = replace(c, skus=tuple(skus(900, promo_price=900)))
    assert validate_skus(full, skus(100, 900, promo_price=900)) == []
    assert "promo.sku.invalid" in {p.code for p in validate_skus(full, skus(100, 900, promo_price=900) + skus(1, 5000))}


@pytest.mark.parametrize(("sku", "code"), [
    (PromoSku("A1", 2000, 1890), None),
    (PromoSku("A1", 2005), "sku.jdPrice.invalid"),  # list price to 0.1 yuan
    (PromoSku("A1", 0), "sku.jdPrice.invalid"),
    (PromoSku("A1", 2000, 2000), "sku.promoPrice.invalid"),  # promotion price below the list price
    (PromoSku("A1", 2000, 1990), None),
    (PromoSku("A1", 2000, 1895), "sku.promoPrice.invalid"),
    (PromoSku("bad id!", 2000), "sku.skuId.invalid"),
    (PromoSku("A1", 2000, seq=1), "sku.seq.invalid"),  # places only in bundles
    (PromoSku("A1", 2000, num=1), "sku.num.invalid"),  # numbers given only for gifts
])
def test_single_sku_checks(sku: PromoSku, code: str | None) -> None:
    found = {p.code for p in validate_skus(promo(K.SINGLE_ITEM), [sku])}
    assert found == set() if code is None else code in found


def test_duplicate_sku_refused() -> None:
    c = promo(K.SINGLE_ITEM, skus=(PromoSku("A1", 2000, 1800),))
    assert "sku.skuId.invalid" in {p.code for p in validate_skus(c, [PromoSku("A1", 2000, 1700)])}


@pytest.mark.parametrize(("seq", "ok"), [(1, True), (7, True), (0, False), (8, False)])
def test_bundle_places_one_to_seven(seq: int, ok: bool) -> None:
    found = {p.code for p in validate_skus(promo(K.BUNDLE), [PromoSku("A1", 2000, 1800, seq=seq)])}
    assert ("sku.seq.invalid" not in found) is ok


@pytest.mark.parametrize(("num", "ok"), [(1, True), (3, True), (0, False), (4, False)])
def test_gift_given_one_to_three_times(num: int, ok: bool) -> None:
    found = {p.code for p in validate_skus(promo(K.GIFT), [PromoSku("G1", 500, 100, num=num, bind=Bind.GIFT)])}
    assert ("sku.num.invalid" not in found) is ok


@pytest.mark.parametrize(("n", "ok"), [(1, True), (5, True), (0, False), (6, False)])
def test_gift_promotion_has_one_to_five_gift_skus(n: int, ok: bool) -> None:
    gifts = tuple(PromoSku(f"G{i}", 100, 10, num=1, bind=Bind.GIFT) for i in range(n))
    c = promo(K.GIFT, skus=(PromoSku("M1", 5000), *gifts))
    assert ("gift.num.invalid" not in {p.code for p in validate_complete(c)}) is ok


def test_gifts_cost_less_than_the_cheapest_main_sku() -> None:
    main = (PromoSku("M1", 5000), PromoSku("M2", 3000))
    under = promo(K.GIFT, skus=(*main, PromoSku("G1", 1490, 100, num=2, bind=Bind.GIFT)))  # 2 × 14.90 < 30
    over = promo(K.GIFT, skus=(*main, PromoSku("G1", 1500, 100, num=2, bind=Bind.GIFT)))  # 2 × 15.00 = 30
    assert validate_complete(under) == []
    assert [p.code for p in validate_complete(over)] == ["gift.price.invalid"]


@pytest.mark.parametrize(("places", "ok"), [((1, 2), True), ((1, 2, 3, 4, 5, 6, 7), True), ((1,), False), ((1, 3), False)])
def test_bundle_complete_with_two_to_seven_places(places: tuple[int, ...], ok: bool) -> None:
    c = promo(K.BUNDLE, skus=tuple(PromoSku(f"B{p}", 2000, 1500, seq=p) for p in places))
    assert (validate_complete(c) == []) is ok


def test_submit_refuses_an_incomplete_promotion() -> None:
    with pytest.raises(CampaignError) as err:
        apply(promo(K.SINGLE_ITEM), Action.SUBMIT, NOW)
    assert err.value.code == "promo.sku.invalid"
    ready = promo(K.SINGLE_ITEM, skus=(PromoSku("A1", 2000, 1800),))
    assert apply(ready, Action.SUBMIT, NOW).status is CampaignStatus.MANUAL_REVIEW
    no_price = promo(K.SINGLE_ITEM, skus=(PromoSku("A1", 2000),))  # list price only: needs a reward voucher
    assert [p.code for p in validate_complete(no_price)] == ["sku.promoPrice.invalid"]
    assert validate_complete(with_terms(no_price, reward=1000)) == []


@pytest.mark.parametrize(("reward", "ok"), [(1000, True), (5000, True), (1500, False), (0, False)])
def test_reward_voucher_multiple_of_ten_yuan(reward: int, ok: bool) -> None:
    assert ("prop.num.invalid" not in codes(promo(K.SINGLE_ITEM, reward=reward))) is ok


def test_purchase_limits() -> None:
    assert "activitymode.invalid" in all_codes(K.ORDER_TOTAL, limits=PurchaseLimits(per_order_max=2))
    assert "activitymode.invalid" not in codes(promo(K.GIFT, limits=PurchaseLimits(per_order_min=10)))
    assert "activitymode.invalid" in codes(promo(K.GIFT, limits=PurchaseLimits(per_order_min=11)))
    assert "activitymode.invalid" in codes(promo(K.SINGLE_ITEM, limits=PurchaseLimits(per_order_min=3, per_order_max=2)))


# -- baskets: the exact discount for each rule --------------------------------------------------------
def basket(*lines: tuple[str | None, int | None, int], amount: int | None = None) -> Basket:
    return Basket.of(amount, [{"sku": s, "price": p, "qty": q} for s, p, q in lines])


def test_items_off_frees_the_cheapest() -> None:
    c = rule(RuleMode.ITEMS_OFF, 5, 1)
    got = benefit(c, basket((None, 1000, 2), (None, 850, 1), (None, 3000, 2)))
    assert (got.problem, got.off) == (None, 850)
    short = benefit(c, basket((None, 1000, 4)))
    assert short.problem == "rules.min_items"


def test_price_for_items_takes_the_dearest_n() -> None:
    c = replace(rule(RuleMode.PRICE_FOR_ITEMS, 9900, 3), skus=(PromoSku("A", 5000), PromoSku("B", 4000),
                                                                 PromoSku("C", 1000)))
    got = benefit(c, basket(("A", None, 1), ("B", None, 1), ("C", None, 2), ("Z", 9000, 1)))  # Z not listed
    assert got.off == 5000 + 4000 + 1000 - 9900
    assert benefit(c, basket(("A", None, 1), ("Z", 9000, 3))).problem == "rules.min_items"


def test_items_at_tenths() -> None:
    c = rule(RuleMode.ITEMS_TENTHS, 2, 85)  # 2 items at 8.5 tenths
    got = benefit(c, basket((None, 1999, 1), (None, 3001, 1)))
    assert got.off == 5000 * 15 // 100  # 7.50
    assert benefit(c, basket((None, 1999, 1))).problem == "rules.min_items"


def test_spend_off_and_gift() -> None:
    c = replace(promo(rule=OrderRule(RuleMode.SPEND_OFF_GIFT, 10000, minus=1000, plus=500, gift="G1")),
                skus=(PromoSku("G1", 3000, bind=Bind.GIFT),))
    got = benefit(c, Basket(10000))
    assert (got.off, got.gifts, got.plus) == (1000, (("G1", 1),), 500)
    assert benefit(c, Basket(9999)).problem == "rules.min_spend"
    assert benefit(c, Basket(None)).problem == "rules.amount_required"


def test_scope_except_listed_leaves_listed_goods_out() -> None:
    c = promo(rule=OrderRule(RuleMode.SPEND_OFF_GIFT, 10000, minus=1000), scope=Scope.EXCEPT_LISTED,
              skus=(PromoSku("TOBACCO", 5000),))
    assert benefit(c, basket(("TOBACCO", None, 2), (None, 9000, 1))).problem == "rules.min_spend"
    assert benefit(c, basket(("TOBACCO", None, 2), (None, 10000, 1))).off == 1000
    assert benefit(c, Basket(20000)).problem == "rules.items_required"


def test_single_item_prices_and_limits() -> None:
    c = promo(K.SINGLE_ITEM, skus=(PromoSku("A", 2000, 1800), PromoSku("B", 1000, 900)))
    assert benefit(c, basket(("A", None, 2), ("B", None, 1), (None, 500, 1))).off == 200 * 2 + 100
    one = with_terms(c, limits=PurchaseLimits(one_only=True))
    assert benefit(one, basket(("A", None, 2), ("B", None, 1))).off == 200  # the best single unit
    at_least = with_terms(c, limits=PurchaseLimits(per_order_min=3))
    assert benefit(at_least, basket(("A", None, 2))).problem == "rules.min_items"
    assert benefit(c, basket((None, 500, 1))).problem == "rules.items_required"
    assert benefit(c, Basket(5000)).problem == "rules.items_required"


def test_gift_given_with_the_main_sku() -> None:
    c = promo(K.GIFT, skus=(PromoSku("M1", 5000), PromoSku("G1", 1000, 100, num=2, bind=Bind.GIFT)))
    got = benefit(c, basket(("M1", None, 1)))
    assert (got.off, got.gifts) == (0, (("G1", 2),))
    assert benefit(c, basket(("G1", None, 1))).problem == "rules.items_required"


def test_bundle_needs_every_place() -> None:
    c = promo(K.BUNDLE, skus=(PromoSku("B1", 2000, 1500, seq=1), PromoSku("B1b", 2100, 1600, seq=1),
                              PromoSku("B2", 3000, 2500, seq=2)))
    assert benefit(c, basket(("B1b", None, 1), ("B2", None, 1))).off == 500 + 500
    assert benefit(c, basket(("B1", None, 1))).problem == "rules.bundle_incomplete"


def test_coupon_discount_counts_only_scoped_goods() -> None:
    c = promo(scope=Scope.LISTED, skus=(PromoSku("A", 6000),), discount=Discount(percent_off=5, cap=30000))
    assert benefit(c, basket(("A", None, 2), (None, 100000, 1))).off == 600


# -- the typed basket ---------------------------------------------------------------------------------
def test_parse_lines() -> None:
    assert parse_lines("A100*2, B200@15.00 12.50x3") == [
        {"sku": "A100", "price": None, "qty": 2}, {"sku": "B200", "price": 1500, "qty": 1},
        {"sku": None, "price": 1250, "qty": 3}]
    assert parse_lines("1001", known={"1001"}) == [{"sku": "1001", "price": None, "qty": 1}]
    assert parse_lines("1001") == [{"sku": None, "price": 100100, "qty": 1}]
    with pytest.raises(BasketError):
        parse_lines("A1*0x")


@pytest.mark.parametrize("items", [[{"qty": 1}], [{"sku": "A", "qty": 0}], [{"sku": "A", "qty": 1000}],
                                   [{"sku": "bad sku", "qty": 1}], [{"price": -1}], ["x"], [{"price": True}]])
def test_bad_lines_refused(items: list) -> None:
    with pytest.raises(BasketError):
        Basket.of(None, items)


def test_usage_conditions_in_words() -> None:
    c = promo(discount=Discount(percent_off=5, cap=30000), stores=frozenset({"S001"}))
    assert describe(c, {"S001": "Harbour St"}) == "5% off, at most 300.00 off, only at Harbour St"
    assert describe(rule(RuleMode.ITEMS_OFF, 5, 1)) == "Buy 5 items, 1 free"
