"""The campaign rules a manager's form is checked against, and the lifecycle steps, in the pure domain."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pos.domain import Campaign, CampaignStatus, Discount, Validity
from pos.domain.campaigns import (
    Action,
    CampaignError,
    allowed_actions,
    apply,
    check_editable,
    effective_status,
    validate,
)

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
S = CampaignStatus


def draft(**kw: object) -> Campaign:
    base = Campaign(id="WINTER", name="Winter 20", begins_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(days=30),
                    status=S.NOT_REVIEWED, discount=Discount(amount_off=2000, min_spend=10000))
    return replace(base, **kw)  # type: ignore[arg-type]


def codes(c: Campaign, **kw: object) -> set[tuple[str, str]]:
    return {(p.code, p.field) for p in validate(c, now=NOW, **kw)}  # type: ignore[arg-type]


def test_a_sound_draft_passes() -> None:
    assert validate(draft(), now=NOW, stores=["S001"]) == []


@pytest.mark.parametrize(("name", "ok"), [("A", True), ("x" * 10, True), ("冬季满减活动十字", True), ("x" * 11, False),
                                          ("", False), (" pad", False)])
def test_name_is_one_to_ten_characters(name: str, ok: bool) -> None:
    assert (("campaign.name.invalid", "name") not in codes(draft(name=name))) is ok


@pytest.mark.parametrize(("span", "ok"), [(timedelta(minutes=1), True), (timedelta(seconds=0), False),
                                          (timedelta(days=180), True), (timedelta(days=180, minutes=1), False)])
def test_end_is_one_minute_to_180_days_after_begin(span: timedelta, ok: bool) -> None:
    begin = NOW + timedelta(hours=1)
    assert (not any(c == "campaign.time.invalid" for c, _ in codes(draft(begins_at=begin, ends_at=begin + span)))) is ok


def test_times_are_to_the_minute_and_the_end_in_the_future() -> None:
    assert ("campaign.time.invalid", "begins_at") in codes(draft(begins_at=NOW + timedelta(hours=1, seconds=5)))
    assert ("campaign.end.invalid", "ends_at") in codes(draft(begins_at=NOW - timedelta(days=2),
                                                             ends_at=NOW - timedelta(days=1)))


@pytest.mark.parametrize(("discount", "code", "field"), [
    (Discount(), "campaign.discount.invalid", "discount"),
    (Discount(amount_off=100, percent_off=5), "campaign.discount.invalid", "discount"),
    (Discount(percent_off=0), "campaign.discount.invalid", "percent_off"),
    (Discount(percent_off=100), "campaign.discount.invalid", "percent_off"),
    (Discount(amount_off=3000, cap=100), "campaign.cap.invalid", "cap"),
    (Discount(amount_off=3000, min_spend=2000), "campaign.discount.invalid", "amount_off"),
])
def test_discount_rules(discount: Discount, code: str, field: str) -> None:
    assert (code, field) in codes(draft(discount=discount))


def test_percent_with_cap_is_fine() -> None:
    assert codes(draft(discount=Discount(percent_off=5, cap=30000))) == set()


@pytest.mark.parametrize(("quantity", "ok"), [(1, True), (3_000_000, True), (0, False), (3_000_001, False)])
def test_quantity_up_to_three_million(quantity: int, ok: bool) -> None:
    assert (("campaign.quantity.invalid", "quantity") not in codes(draft(quantity=quantity))) is ok


def test_stores_validity_and_time_zone() -> None:
    assert ("campaign.stores.invalid", "stores") in codes(draft(stores=frozenset({"S009"})), stores=["S001"])
    assert ("campaign.stores.invalid", "stores") in codes(draft(stores=frozenset()))
    assert ("campaign.validity.invalid", "validity") in codes(draft(validity=Validity(days=0)))
    assert ("campaign.validity.invalid", "validity") in codes(draft(validity=Validity(NOW, NOW)))
    assert ("campaign.timezone.invalid", "timezone") in codes(draft(timezone="Mars/Olympus"))


def test_every_problem_is_reported_not_just_the_first() -> None:
    found = codes(draft(name="", quantity=0, discount=Discount()))
    assert {"campaign.name.invalid", "campaign.quantity.invalid", "campaign.discount.invalid"} <= {c for c, _ in found}


# -- lifecycle ------------------------------------------------------------------------------------
ALL = list(S)
EXPECTED = {  # action: states it is allowed from (the JD rules, plus end for anything still live)
    Action.SUBMIT: {S.NOT_REVIEWED, S.REJECTED},
    Action.APPROVE: {S.MANUAL_REVIEW},
    Action.REJECT: {S.MANUAL_REVIEW},
    Action.PAUSE: {S.ACTIVE},
    Action.FORCE_PAUSE: {S.ACTIVE, S.PAUSED},
    Action.RESUME: {S.PAUSED},
    Action.END: {S.APPROVED, S.ACTIVE, S.PAUSED, S.FORCE_PAUSED},
    Action.DELETE: {S.NOT_REVIEWED, S.REJECTED, S.ACTIVE, S.PAUSED},
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", ALL)
def test_each_step_allowed_or_refused(action: Action, status: CampaignStatus) -> None:
    c = draft(status=status, begins_at=NOW + timedelta(days=1))  # not begun: approved stays approved
    if status in EXPECTED[action]:
        assert apply(c, action, NOW).status is not status
        assert action in allowed_actions(c, NOW)
    else:
        with pytest.raises(CampaignError) as err:
            apply(c, action, NOW)
        assert err.value.code == f"campaign.non.{action}"
        assert action not in allowed_actions(c, NOW)


def test_approved_becomes_active_at_its_begin_and_ends_at_its_end_by_itself() -> None:
    c = draft(status=S.APPROVED)
    assert effective_status(c, NOW) is S.APPROVED
    assert effective_status(c, c.begins_at) is S.ACTIVE
    assert apply(c, Action.PAUSE, c.begins_at).status is S.PAUSED  # active by time, so it can be paused
    assert effective_status(replace(c, status=S.PAUSED), c.ends_at) is S.ENDED
    assert effective_status(replace(c, status=S.NOT_REVIEWED), c.ends_at) is S.NOT_REVIEWED


def test_only_drafts_and_rejected_campaigns_are_editable() -> None:
    check_editable(draft(status=S.REJECTED), NOW)
    with pytest.raises(CampaignError) as err:
        check_editable(draft(status=S.ACTIVE), NOW)
    assert err.value.code == "campaign.non.edit"
