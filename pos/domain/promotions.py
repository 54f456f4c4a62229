"""Promotion types, order rules, the goods a promotion covers, and what a basket earns from them.

Long on purpose: the JD promotion rules and what they earn are one set of bounds read together.

The bounds are the JD seller promotion API's, each refused with a stable code in its style
(``rule.quota.invalid``, ``sku.promoPrice.invalid``, ``gift.price.invalid``) and a sentence. Money is
in cents; JD's "yuan to one decimal" means a whole number of 10 cents, "whole yuan" of 100 cents.

What a basket earns is computed here, once per order: the counter shows it in the verdict and the
service recomputes it from the same basket.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pos.domain.amounts import parse_amount
from pos.domain.codes import DomainError
from pos.domain.model import Bind, Campaign, Discount, PromoSku
from pos.domain.problems import Problem, Problems
from pos.domain.terms import (
    CampaignKind,
    GiftTerms,
    OrderRule,
    OrderTotalTerms,
    PurchaseLimits,
    RuleMode,
    Scope,
    SingleItemTerms,
)
from pos.domain.verdict import money

SKU_BATCH_MAX = 100  # JD: at most 100 SKUs a call
SKU_PROMO_MAX = 1000  # JD: at most 1000 SKUs a promotion
BUNDLE_MAX = 7  # JD: a bundle has at most 7 goods, seq 1-7
GIFT_SKUS_MAX = 5  # JD: 1-5 gift SKUs
GIFT_NUM_MAX = 3  # JD: each gift given 1-3 times
GIFT_MIN_ITEMS_MAX = 10  # JD: a gift promotion's least purchase is at most 10
SLOGAN_MAX = 50  # JD: slogan at most 50 characters
COMMENT_MAX_BYTES = 200  # JD: comment at most 200 bytes
MERCHANT_MAX = 10  # Douyin: merchant name within 10 characters
TITLE_MAX = 15  # Douyin: coupon title within 15 characters
CONDITIONS_MAX = 200
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
BASKET_LINES_MAX = 200
QTY_MAX = 999


def tenths(cents: int) -> bool:
    return cents % 10 == 0


def validate_promotion(c: Campaign) -> list[Problem]:
    """The JD promotion fields of ``c`` (slogan, comment, limits, reward, scope, order rule, coupon text)."""
    out = Problems()

    if len(c.slogan) > SLOGAN_MAX:
        out.add("campaign.slogan.invalid", "slogan", f"The slogan is at most {SLOGAN_MAX} characters.")
    if len(c.comment.encode()) > COMMENT_MAX_BYTES:
        out.add("campaign.comment.invalid", "comment",
            f"The comment is at most {COMMENT_MAX_BYTES} bytes (a Chinese character takes 3).")
    if len(c.merchant) > MERCHANT_MAX:
        out.add("campaign.merchant.invalid", "merchant", f"The merchant name is at most {MERCHANT_MAX} characters.")
    if len(c.title) > TITLE_MAX:
        out.add("campaign.title.invalid", "title", f"The coupon title is at most {TITLE_MAX} characters.")
    if len(c.conditions) > CONDITIONS_MAX:
        out.add("campaign.conditions.invalid", "conditions", f"The usage conditions are at most {CONDITIONS_MAX} characters.")
    if (c.claim_starts_at is None) != (c.claim_ends_at is None):
        out.add("campaign.claim.invalid", "claim_ends_at", "Give both ends of the claim window, or neither.")
    elif c.claim_starts_at and c.claim_ends_at:
        if c.claim_ends_at <= c.claim_starts_at:
            out.add("campaign.claim.invalid", "claim_ends_at", "The claim window must end after it starts.")
        elif c.claim_ends_at > c.ends_at:
            out.add("campaign.claim.invalid", "claim_ends_at", "Vouchers cannot be claimed after the campaign ends.")

    match c.terms:  # what its kind takes; what it does not take cannot be in the terms (see read_terms)
        case SingleItemTerms(limits, reward):
            out.extend(_check_limits(limits, gift=False))
            if reward is not None and (reward <= 0 or reward % 1000):
                out.add("prop.num.invalid", "reward", "A reward voucher is worth a multiple of 10 yuan.")
        case GiftTerms(limits):
            out.extend(_check_limits(limits, gift=True))
        case OrderTotalTerms(scope, rule) if rule is not None:
            out.extend(validate_rule(rule, scope))
    return out


def _check_limits(lim: PurchaseLimits, *, gift: bool) -> list[Problem]:
    out = Problems()
    if any(v < 0 for v in (lim.total, lim.per_order_max, lim.per_order_min)):
        out.add("activitymode.invalid", "limits", "Purchase limits are 0 (no limit) or more.")
        return out
    if gift and lim.per_order_min > GIFT_MIN_ITEMS_MAX:
        out.add("activitymode.invalid", "per_order_min",
            f"A gift promotion's least purchase is at most {GIFT_MIN_ITEMS_MAX} items.")
    if lim.per_order_max and lim.per_order_min > lim.per_order_max:
        out.add("activitymode.invalid", "per_order_min", "The least purchase cannot exceed the most.")
    return out


def validate_rule(r: OrderRule, scope: Scope) -> list[Problem]:
    """JD ``ordermode.add`` bounds for each order rule."""
    out = Problems()

    if r.mode is not RuleMode.SPEND_OFF_GIFT and (r.minus is not None or r.plus is not None or r.gift is not None):
        out.add("ordermode.minus.invalid", "minus", "Money off, an added price and a gift belong to spend-and-get rules.")
    if r.mode is RuleMode.ITEMS_OFF:
        if not 3 <= r.quota <= 20:
            out.add("ordermode.quota.invalid", "quota", "Buy M items: M is a whole number from 3 to 20.")
        elif r.rate is None or not 1 <= r.rate <= r.quota // 3:
            out.add("ordermode.rate.invalid", "rate", f"Get N off: N is from 1 to a third of M ({r.quota // 3}).")
    elif r.mode is RuleMode.PRICE_FOR_ITEMS:
        if r.quota <= 0 or not tenths(r.quota):
            out.add("ordermode.quota.invalid", "quota", "M yuan is more than 0, to one decimal (for example 9.9).")
        if r.rate is None or not 2 <= r.rate <= 5:
            out.add("ordermode.rate.invalid", "rate", "Any N items: N is from 2 to 5.")
        if scope is not Scope.LISTED:
            out.add("promo.bound.invalid", "scope", "M yuan for any N items works only on listed goods.")
    elif r.mode is RuleMode.ITEMS_TENTHS:
        if not 1 <= r.quota <= 8:
            out.add("ordermode.quota.invalid", "quota", "M items: M is a whole number from 1 to 8.")
        if r.rate is None or not 50 <= r.rate <= 99:
            out.add("ordermode.rate.invalid", "rate", "At N tenths of the price: N is from 5 to 9.9, to one decimal.")
    else:
        if r.quota <= 0 or r.quota % 100:
            out.add("ordermode.quota.invalid", "quota", "Spend M yuan: M is a whole number of yuan, more than 0.")
        if r.rate is not None:
            out.add("ordermode.rate.invalid", "rate", "A spend-and-get rule has no N; give money off or a gift.")
        if r.minus is None and r.gift is None:
            out.add("promo.favorMode.invalid", "minus", "Give money off, a gift, or both.")
        if r.minus is not None and (r.minus <= 0 or r.minus % 100):
            out.add("ordermode.minus.invalid", "minus", "Money off is a whole number of yuan, more than 0.")
        elif r.minus is not None and r.quota > 0 and r.minus * 100 > r.quota * 80:
            out.add("ordermode.minus.invalid", "minus", "Money off is at most 80% of the amount to spend.")
        if r.plus is not None:
            if r.plus <= 0 or r.plus % 100:
                out.add("ordermode.plus.invalid", "plus", "The added price is a whole number of yuan, more than 0.")
            elif r.gift is None:
                out.add("ordermode.plus.invalid", "plus", "An added price needs a gift.")
    return out


def validate_skus(c: Campaign, batch: Sequence[PromoSku]) -> list[Problem]:
    """A batch of SKUs to add to ``c`` (JD ``sku.add``): per-SKU checks and the batch and promotion limits."""
    out = Problems()

    if not batch:
        out.add("param.error", "skus", "Add at least one SKU.")
    if len(batch) > SKU_BATCH_MAX:
        out.add("sku.batch.invalid", "skus", f"Add at most {SKU_BATCH_MAX} SKUs at a time; this batch has {len(batch)}.")
    if len(c.skus) + len(batch) > SKU_PROMO_MAX:
        out.add("promo.sku.invalid", "skus",
            f"A promotion has at most {SKU_PROMO_MAX} SKUs; it has {len(c.skus)}, this batch adds {len(batch)}.")
    seen = {s.sku for s in c.skus}
    for s in batch:
        where = f"SKU {s.sku}"
        if not SKU_PATTERN.match(s.sku):
            out.add("sku.skuId.invalid", "sku", f"{s.sku!r} is not a SKU id (letters, digits, '.', '-', '_').")
            continue
        if s.sku in seen:
            out.add("sku.skuId.invalid", "sku", f"{where} is already in this promotion.")
        seen.add(s.sku)
        if s.price <= 0 or not tenths(s.price):
            out.add("sku.jdPrice.invalid", "price", f"{where}: the list price is more than 0, to 0.1 yuan.")
        if s.promo_price is not None and (s.promo_price <= 0 or not tenths(s.promo_price) or s.promo_price >= s.price):
            out.add("sku.promoPrice.invalid", "promo_price",
                f"{where}: the promotion price is more than 0, below the list price, to 0.1 yuan.")
        if s.seq is not None and (c.kind is not CampaignKind.BUNDLE or not 1 <= s.seq <= BUNDLE_MAX):
            out.add("sku.seq.invalid", "seq", f"{where}: a place (1 to {BUNDLE_MAX}) is given only in a bundle.")
        if s.bind is Bind.GIFT:
            if c.kind not in (CampaignKind.GIFT, CampaignKind.ORDER_TOTAL):
                out.add("sku.bindType.invalid", "bind", f"{where}: only gift and order-total promotions give gifts.")
            if c.kind is CampaignKind.GIFT and (s.num is None or not 1 <= s.num <= GIFT_NUM_MAX):
                out.add("sku.num.invalid", "num", f"{where}: a gift is given 1 to {GIFT_NUM_MAX} times.")
            if c.kind is CampaignKind.GIFT and s.promo_price is None:
                out.add("sku.promoPrice.invalid", "promo_price", f"{where}: a gift needs its return price (promotion price).")
        elif s.num is not None:
            out.add("sku.num.invalid", "num", f"{where}: only gifts have a number given.")
        if c.kind is CampaignKind.BUNDLE:
            if s.seq is None:
                out.add("sku.seq.invalid", "seq", f"{where}: give its place in the bundle (1 to {BUNDLE_MAX}).")
            if s.promo_price is None:
                out.add("sku.promoPrice.invalid", "promo_price", f"{where}: a bundle needs the promotion price.")
    return out


def validate_complete(c: Campaign) -> list[Problem]:
    """What must be in place before a promotion is submitted (JD ``commit``)."""
    out = Problems()

    main = [s for s in c.skus if s.bind is Bind.MAIN]
    gifts = [s for s in c.skus if s.bind is Bind.GIFT]
    if c.kind is CampaignKind.SINGLE_ITEM:
        if not main:
            out.add("promo.sku.invalid", "skus", "A single-item promotion needs at least one SKU.")
        elif c.reward is None and any(s.promo_price is None for s in main):
            out.add("sku.promoPrice.invalid", "skus", "A SKU without a promotion price needs a reward voucher.")
    elif c.kind is CampaignKind.BUNDLE:
        places = {s.seq or 0 for s in main}
        if len(places) < 2:
            out.add("ware.num.invalid", "skus", "A bundle has 2 to 7 goods (places 1 to 7).")
        elif places != set(range(1, len(places) + 1)):
            out.add("sku.seq.invalid", "skus", f"A bundle's places run 1, 2, 3 … without gaps; it has {sorted(places)}.")
    elif c.kind is CampaignKind.GIFT:
        if not main:
            out.add("promo.sku.invalid", "skus", "A gift promotion needs at least one SKU to buy.")
        if not 1 <= len(gifts) <= GIFT_SKUS_MAX:
            out.add("gift.num.invalid", "skus", f"A gift promotion gives 1 to {GIFT_SKUS_MAX} gift SKUs; it has {len(gifts)}.")
        elif main and sum(s.price * (s.num or 1) for s in gifts) >= min(s.price for s in main):
            out.add("gift.price.invalid", "skus", "The gifts together must cost less than the cheapest SKU bought.")
    else:
        if c.scope is not Scope.ALL and not main:
            out.add("promo.sku.invalid", "skus", "List the SKUs that take part (or are left out).")
        if c.rule is not None and c.rule.gift is not None:
            gift = next((s for s in gifts if s.sku == c.rule.gift), None)
            if gift is None:
                out.add("gift.num.invalid", "rule", f"The gift {c.rule.gift} is not among this promotion's gift SKUs.")
            elif not (c.rule.plus or 0) < gift.price < c.rule.quota:
                out.add("gift.price.invalid", "rule",
                    "The gift's list price must be above the added price and below the amount to spend.")
    return out


# -- the basket -------------------------------------------------------------------------------------
class BasketError(DomainError):
    """A basket the counter cannot read (``basket.line.invalid``, …)."""


@dataclass(frozen=True, slots=True)
class Line:
    """``qty`` units of one SKU (or of unnamed goods) at ``price`` cents each; price None: the list price."""

    sku: str | None
    price: int | None
    qty: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "price": self.price, "qty": self.qty}


@dataclass(frozen=True, slots=True)
class Basket:
    """What the customer buys: an amount, and when the rules need them, the lines."""

    amount: int | None = None
    lines: tuple[Line, ...] = ()

    @classmethod
    def of(cls, amount: int | None, items: Iterable[dict[str, Any]] | None) -> Basket:
        lines = []
        for i, item in enumerate(items or ()):
            if not isinstance(item, dict):
                raise BasketError("basket.line.invalid", f"Line {i + 1} is not a line.")
            sku, price, qty = item.get("sku"), item.get("price"), item.get("qty", 1)
            if sku is not None and (not isinstance(sku, str) or not SKU_PATTERN.match(sku)):
                raise BasketError("basket.sku.invalid", f"Line {i + 1}: {sku!r} is not a SKU id.")
            if price is not None and (not isinstance(price, int) or isinstance(price, bool) or not 0 <= price <= 10**9):
                raise BasketError("basket.price.invalid", f"Line {i + 1}: the price is a number of cents.")
            if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= QTY_MAX:
                raise BasketError("basket.qty.invalid", f"Line {i + 1}: the quantity is 1 to {QTY_MAX}.")
            if sku is None and price is None:
                raise BasketError("basket.line.invalid", f"Line {i + 1}: give a SKU, a price, or both.")
            lines.append(Line(sku, price, qty))
        if len(lines) > BASKET_LINES_MAX:
            raise BasketError("basket.lines.invalid", f"A basket has at most {BASKET_LINES_MAX} lines.")
        return cls(amount, tuple(lines))

    def items(self) -> list[dict[str, Any]] | None:
        return [ln.to_dict() for ln in self.lines] or None


_TOKEN = re.compile(r"^(?:(?P<sku>[A-Za-z0-9][A-Za-z0-9_.-]*?)(?:@(?P<at>\d+(?:\.\d{1,2})?))?|(?P<price>\d+(?:\.\d{1,2})?))"
                    r"(?:[*xX×](?P<qty>\d{1,3}))?$")


def parse_lines(text: str, known: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The counter's way of typing a basket: ``A100*2, B200@15.00, 12.50*3`` — a SKU (its list price
    unless ``@price`` is given) or a bare price, each optionally ``*qty``. A bare number is a SKU when the
    campaign lists one by that id, else a price."""
    known = set(known)
    out: list[dict[str, Any]] = []
    for token in re.split(r"[,;\s]+", text.strip()):
        if not token:
            continue
        m = _TOKEN.match(token)
        if m is None:
            raise BasketError("basket.line.invalid", f"Cannot read {token!r}: write SKU, SKU@price or a price, then *qty.")
        qty = int(m["qty"] or 1)
        sku, at, price = m["sku"], m["at"], m["price"]
        if sku is not None and at is None and sku not in known and re.fullmatch(r"\d+(?:\.\d{1,2})?", sku):
            sku, price = None, sku
        if sku is not None:
            out.append({"sku": sku, "price": cents(at) if at else None, "qty": qty})
        else:
            out.append({"sku": None, "price": cents(price), "qty": qty})
    return out


def cents(text: str) -> int:
    value = parse_amount(text)
    if value is None:
        raise BasketError("basket.line.invalid", "A price is missing.")
    return value


# -- what a basket earns ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Benefit:
    """The discount (cents), the gifts handed over, an added price the customer pays for a gift, and a
    sentence; or ``problem`` (a stable code) when the basket does not qualify."""

    off: int = 0
    gifts: tuple[tuple[str, int], ...] = ()
    plus: int = 0
    reward: int = 0
    units: int = 0  # promoted units in the basket (for a promotion's total limit)
    problem: str | None = None
    sentence: str = ""
    params: dict[str, str] = field(default_factory=dict)  # the facts in ``sentence``


def _refused(code: str, sentence: str, **params: str) -> Benefit:
    return Benefit(problem=code, sentence=sentence, params=params)


@dataclass(slots=True)
class _Unit:
    sku: str | None
    price: int
    promo: PromoSku | None = field(default=None)


def _units(c: Campaign, basket: Basket) -> list[_Unit] | Benefit:
    listed = {s.sku: s for s in c.skus}
    units: list[_Unit] = []
    for ln in basket.lines:
        promo = listed.get(ln.sku) if ln.sku else None
        price = ln.price if ln.price is not None else (promo.price if promo else None)
        if price is None:
            return _refused("basket.price.invalid", f"Give the price of {ln.sku}: it is not one of this promotion's goods.")
        units.extend(_Unit(ln.sku, price, promo) for _ in range(ln.qty))
    return units


def _counts(c: Campaign, u: _Unit) -> bool:
    """Whether a unit counts toward an order-total promotion, by the promotion's scope."""
    listed = u.promo is not None and u.promo.bind is Bind.MAIN
    return c.scope is Scope.ALL or (listed if c.scope is Scope.LISTED else not listed)


def benefit(c: Campaign, basket: Basket) -> Benefit:
    """What ``basket`` earns from ``c``: computed once per order."""
    if basket.amount is not None and basket.amount < 0:
        return _refused("rules.amount_negative", "The basket amount cannot be negative.")
    units = _units(c, basket)
    if isinstance(units, Benefit):
        return units
    terms = c.terms
    if isinstance(terms, OrderTotalTerms):
        if terms.rule is None:
            if basket.lines and terms.scope is not Scope.ALL:
                return coupon_benefit(c.discount, sum(u.price for u in units if _counts(c, u)))
            if terms.scope is not Scope.ALL:
                return _refused("rules.items_required", "List the goods bought: only some of them count.")
            total = basket.amount if basket.amount is not None else (sum(u.price for u in units) if units else None)
            return coupon_benefit(c.discount, total)
        return _order_rule(c, terms.rule, basket, units)
    if not basket.lines:
        return _refused("rules.items_required", "List the goods bought: this promotion depends on which they are.")
    if isinstance(terms, SingleItemTerms):
        return _single_item(c, terms, units)
    if isinstance(terms, GiftTerms):
        return _gift(c, terms, units)
    return _bundle(c, units)


def coupon_benefit(d: Discount, amount: int | None) -> Benefit:
    """A plain coupon (amount or percentage off, a cap, a minimum spend) on a basket amount."""
    if amount is not None and amount < 0:
        return _refused("rules.amount_negative", "The basket amount cannot be negative.")
    needs_amount = d.min_spend > 0 or d.percent_off is not None
    if needs_amount and amount is None:
        return _refused("rules.amount_required", "Enter the basket amount: this voucher depends on it.")
    if amount is not None and amount < d.min_spend:
        return _refused("rules.min_spend", f"The basket must come to at least {money(d.min_spend)}; it is {money(amount)}.",
                        min_spend=money(d.min_spend), amount=money(amount))
    if d.percent_off is not None:
        assert amount is not None
        off = amount * d.percent_off // 100
        if d.cap is not None:
            off = min(off, d.cap)
        return Benefit(off, sentence=f"{d.percent_off}% off: {money(off)}.")
    off = d.amount_off or 0
    if amount is not None:
        off = min(off, amount)
    return Benefit(off, sentence=f"{money(off)} off.")


def _order_rule(c: Campaign, r: OrderRule, basket: Basket, units: list[_Unit]) -> Benefit:
    counted = sorted((u for u in units if _counts(c, u)), key=lambda u: u.price)
    if r.mode is RuleMode.SPEND_OFF_GIFT:
        if basket.lines:
            spent = sum(u.price for u in counted)
        elif c.scope is Scope.ALL and basket.amount is not None:
            spent = basket.amount
        elif c.scope is Scope.ALL:
            return _refused("rules.amount_required", "Enter the basket amount: this promotion depends on it.")
        else:
            return _refused("rules.items_required", "List the goods bought: only some of them count.")
        if spent < r.quota:
            return _refused("rules.min_spend", f"Spend at least {money(r.quota)} on the goods that count; it is {money(spent)}.")
        gifts = ((r.gift, 1),) if r.gift else ()
        parts = []
        if r.minus:
            parts.append(f"{money(r.minus)} off")
        if r.gift:
            parts.append(f"gift {r.gift}" + (f" for {money(r.plus)} more" if r.plus else ""))
        return Benefit(r.minus or 0, gifts, r.plus or 0, sentence=" and ".join(parts) + ".")
    if not basket.lines:
        return _refused("rules.items_required", "List the goods bought: this promotion counts items.")
    n = len(counted)
    if r.mode is RuleMode.ITEMS_OFF:
        assert r.rate is not None
        if n < r.quota:
            return _refused("rules.min_items", f"Buy at least {r.quota} items that count; there are {n}.")
        off = sum(u.price for u in counted[: r.rate])  # the cheapest N are free
        return Benefit(off, units=n, sentence=f"Buy {r.quota}, {r.rate} free: {money(off)} off.")
    if r.mode is RuleMode.PRICE_FOR_ITEMS:
        assert r.rate is not None
        if n < r.rate:
            return _refused("rules.min_items", f"Choose {r.rate} items that count; there are {n}.")
        chosen = sum(u.price for u in counted[-r.rate:])  # the dearest N, for the customer's good
        off = max(0, chosen - r.quota)
        return Benefit(off, units=n, sentence=f"Any {r.rate} for {money(r.quota)}: {money(off)} off.")
    assert r.rate is not None
    if n < r.quota:
        return _refused("rules.min_items", f"Buy at least {r.quota} items that count; there are {n}.")
    total = sum(u.price for u in counted)
    off = total * (100 - r.rate) // 100
    return Benefit(off, units=n, sentence=f"{r.quota} items at {r.rate / 10:g} tenths: {money(off)} off.")


def _promoted(lim: PurchaseLimits, units: list[_Unit], none: str) -> list[_Unit] | Benefit:
    """The basket's units of the promotion's main goods, or a refusal: none bought, or too few."""
    promoted = [u for u in units if u.promo is not None and u.promo.bind is Bind.MAIN]
    if not promoted:
        return _refused("rules.items_required", none)
    if lim.per_order_min and not lim.one_only and len(promoted) < lim.per_order_min:
        return _refused("rules.min_items", f"Buy at least {lim.per_order_min} of the promoted goods; there are {len(promoted)}.")
    return promoted


def _single_item(c: Campaign, terms: SingleItemTerms, units: list[_Unit]) -> Benefit:
    promoted = _promoted(terms.limits, units, "None of the goods bought is in this promotion.")
    if isinstance(promoted, Benefit):
        return promoted
    cap = 1 if terms.limits.one_only else terms.limits.per_order_max or len(promoted)
    taken = sorted(promoted, key=lambda u: u.price - (u.promo.promo_price or u.price) if u.promo else 0, reverse=True)[:cap]
    off = sum(max(0, u.price - u.promo.promo_price) for u in taken if u.promo and u.promo.promo_price is not None)
    reward = terms.reward or 0
    sentence = f"{len(taken)} at the promotion price: {money(off)} off"
    if reward:
        sentence += f", and a {money(reward)} voucher"
    return Benefit(off, reward=reward, units=len(taken), sentence=sentence + ".")


def _gift(c: Campaign, terms: GiftTerms, units: list[_Unit]) -> Benefit:
    promoted = _promoted(terms.limits, units, "None of the goods bought earns this gift.")
    if isinstance(promoted, Benefit):
        return promoted
    gifts = tuple((s.sku, s.num or 1) for s in c.skus if s.bind is Bind.GIFT)
    listed = ", ".join(f"{sku} ×{num}" for sku, num in gifts)
    return Benefit(0, gifts, units=len(promoted), sentence=f"Give {listed}.")


def _bundle(c: Campaign, units: list[_Unit]) -> Benefit:
    by_place: dict[int, _Unit] = {}
    for u in units:
        if u.promo is not None and u.promo.seq is not None and u.promo.seq not in by_place:
            by_place[u.promo.seq] = u
    places = {s.seq for s in c.skus if s.seq is not None}
    missing = sorted(p for p in places if p not in by_place)
    if missing:
        return _refused("rules.bundle_incomplete", f"The bundle is not complete: place {', '.join(map(str, missing))} missing.")
    off = sum(max(0, u.price - (u.promo.promo_price or u.price)) for u in by_place.values() if u.promo)
    return Benefit(off, units=len(by_place), sentence=f"Bundle of {len(places)}: {money(off)} off.")


# -- in words ---------------------------------------------------------------------------------------
def describe(c: Campaign, store_names: dict[str, str] | None = None) -> str:
    """The usage conditions in one line, e.g. "5% off, at most 300.00 off, only at Harbour St"."""
    parts: list[str] = []
    d, r = c.discount, c.rule
    if r is not None:
        parts.append({
            RuleMode.ITEMS_OFF: lambda: f"buy {r.quota} items, {r.rate} free",
            RuleMode.PRICE_FOR_ITEMS: lambda: f"any {r.rate} items for {money(r.quota)}",
            RuleMode.ITEMS_TENTHS: lambda: f"{r.quota} items at {(r.rate or 0) / 10:g} tenths of the price",
            RuleMode.SPEND_OFF_GIFT: lambda: f"spend {money(r.quota)}" + (f", {money(r.minus)} off" if r.minus else "")
            + (f", gift {r.gift}" + (f" for {money(r.plus)} more" if r.plus else "") if r.gift else ""),
        }[r.mode]())
    elif c.kind is CampaignKind.SINGLE_ITEM:
        parts.append(f"promotion prices on {len(c.skus)} goods")
    elif c.kind is CampaignKind.GIFT:
        parts.append("a gift with the listed goods")
    elif c.kind is CampaignKind.BUNDLE:
        parts.append(f"a bundle of {len({s.seq for s in c.skus})} goods")
    elif d.percent_off is not None:
        parts.append(f"{d.percent_off}% off" + (f", at most {money(d.cap)} off" if d.cap else ""))
    elif d.amount_off is not None:
        parts.append(f"{money(d.amount_off)} off")
    if d.min_spend and r is None:
        parts.append(f"on {money(d.min_spend)} or more")
    if c.stores is not None:
        names = [(store_names or {}).get(s, s) for s in sorted(c.stores)]
        parts.append("only at " + ", ".join(names))
    text = ", ".join(parts)
    return text[:1].upper() + text[1:] if text else ""
