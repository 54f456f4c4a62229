"""What each kind of campaign takes, and nothing it does not: its terms.

The JD promotion types are single-item (limits on units, a reward voucher), gift (limits), bundle and
order-total (which goods count, an order rule, or with no rule a plain coupon). A campaign holds one of the
four terms classes, so a gift promotion with an order rule cannot be built; on the wire the terms are the
flat keys ``kind``, ``scope``, ``limits``, ``reward`` and ``rule`` they always were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from pos.domain.problems import Problems
from pos.domain.records import Record, integer


class CampaignKind(StrEnum):
    """The JD promotion types (their numeric codes in :data:`JD_KIND_CODES`)."""

    SINGLE_ITEM = "single_item"
    GIFT = "gift"
    BUNDLE = "bundle"
    ORDER_TOTAL = "order_total"


JD_KIND_CODES = {CampaignKind.SINGLE_ITEM: 1, CampaignKind.GIFT: 4, CampaignKind.BUNDLE: 6, CampaignKind.ORDER_TOTAL: 10}


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


@dataclass(frozen=True, slots=True)
class PurchaseLimits(Record):
    """JD activity mode of a single-item or gift promotion; 0 means no limit.

    ``total``: promoted units in all (num_bound); ``one_only``: one unit per order (freq_bound);
    ``per_order_max`` / ``per_order_min``: units per order (per_max_num / per_min_num)."""

    total: int = 0
    one_only: bool = False
    per_order_max: int = 0
    per_order_min: int = 0


@dataclass(frozen=True, slots=True)
class SingleItemTerms(Record):
    """A single-item promotion (JD 1): promotion prices on its goods, limits on units, maybe a reward voucher
    of ``reward`` cents handed to the buyer (JD "prop")."""

    limits: PurchaseLimits = field(default_factory=PurchaseLimits)
    reward: int | None = None
    kind: ClassVar[CampaignKind] = CampaignKind.SINGLE_ITEM


@dataclass(frozen=True, slots=True)
class GiftTerms(Record):
    """A gift promotion (JD 4): gift goods with the listed goods, limits on units."""

    limits: PurchaseLimits = field(default_factory=PurchaseLimits)
    kind: ClassVar[CampaignKind] = CampaignKind.GIFT


@dataclass(frozen=True, slots=True)
class BundleTerms(Record):
    """A bundle (JD 6): its goods, each in its place, at their promotion prices; nothing else to choose."""

    kind: ClassVar[CampaignKind] = CampaignKind.BUNDLE


@dataclass(frozen=True, slots=True)
class OrderTotalTerms(Record):
    """An order-total promotion (JD 10): which goods count, and an order rule, or with no rule a plain coupon
    (the campaign's ``discount``)."""

    scope: Scope = Scope.ALL
    rule: OrderRule | None = None
    kind: ClassVar[CampaignKind] = CampaignKind.ORDER_TOTAL


#: what a campaign of each kind takes, and nothing it does not: a gift promotion has no order rule to set
Terms = SingleItemTerms | GiftTerms | BundleTerms | OrderTotalTerms


def read_terms(d: dict[str, Any]) -> tuple[Terms, Problems]:
    """A campaign's kind and terms from its stored or requested fields (``kind``, ``scope``, ``limits``,
    ``reward``, ``rule``), and each field given that its kind does not take, said as a problem (and left out)."""
    kind = CampaignKind(d.get("kind") or CampaignKind.ORDER_TOTAL)
    scope = Scope(d["scope"]) if d.get("scope") is not None else Scope.ALL
    limits = PurchaseLimits.from_dict(d["limits"]) if d.get("limits") is not None else PurchaseLimits()
    reward = integer(d["reward"]) if d.get("reward") is not None else None
    rule = OrderRule.from_dict(d["rule"]) if d.get("rule") is not None else None
    out = Problems()
    if limits != PurchaseLimits() and kind not in (CampaignKind.SINGLE_ITEM, CampaignKind.GIFT):
        out.add("activitymode.invalid", "limits", "Only single-item and gift promotions take purchase limits.")
    if reward is not None and kind is not CampaignKind.SINGLE_ITEM:
        out.add("prop.type.invalid", "reward", "Only single-item promotions hand out a reward voucher.")
    if scope is not Scope.ALL and kind is not CampaignKind.ORDER_TOTAL:
        out.add("campaign.scope.invalid", "scope", "Only order-total promotions choose which goods count.")
    if rule is not None and kind is not CampaignKind.ORDER_TOTAL:
        out.add("promo.favorMode.invalid", "rule", "Only order-total promotions take an order rule.")
    terms: Terms
    if kind is CampaignKind.SINGLE_ITEM:
        terms = SingleItemTerms(limits, reward)
    elif kind is CampaignKind.GIFT:
        terms = GiftTerms(limits)
    elif kind is CampaignKind.BUNDLE:
        terms = BundleTerms()
    else:
        terms = OrderTotalTerms(scope, rule)
    return terms, out

