"""The counter tells the cashier what happened and lets them fix what can be fixed, driven by Textual's Pilot
against a real ``pos serve``: a basket under the minimum, a missing amount or goods keep the voucher and ask
again (Esc drops it); final refusals stay final; an acceptance names its campaign, what it gives and the new
total; an undo changes the big panel; a person who may not verify here is told at login."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pos.demo import PINS
from pos.domain import Campaign, Reason, Verdict, display
from pos.terminal.counter import fixable
from pos.tui import i18n
from pos.tui.widgets.verdict import offer
from tests.conftest import Shop
from tests.tui_helpers import app_for, log_in_at_counter, run, scan, text_of, until


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    """A Chinese app sets the process's language: the next test starts in English."""
    yield
    i18n.set_language("en")


async def enter_code(pilot: Any, raw: str, amount: str | None = None) -> None:
    """A code typed (or scanned) into the code field and Enter, with this basket amount."""
    screen = pilot.app.screen
    if amount is not None:
        screen.query_one("#amount").value = amount
    screen.query_one("#code").focus()
    screen.query_one("#code").value = raw
    await pilot.press("enter")


async def asked(pilot: Any, before: int) -> str:
    """Waits for the counter to ask for a kept voucher's amount or goods; what the panel says."""
    screen = pilot.app.screen
    await until(pilot, lambda: screen.asked > before)
    return text_of(pilot.app, "#verdict")


def test_a_basket_under_the_minimum_keeps_the_voucher_and_asks_for_the_amount_again(shop: Shop) -> None:
    """It was a red REFUSED (rules_not_met) that needed the voucher scanned again."""
    app = app_for(shop)
    code = shop.codes["spring2"]

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            screen = app.screen
            await enter_code(pilot, code, "120")
            said = await asked(pilot, 0)
            assert f"Minimum spend 500.00 — enter the basket amount for Spring 30 off ({display(code)})" in said
            assert "The basket was 120.00." in said and "Esc" in said and "REFUSED" not in said
            assert screen.query_one("#verdict").has_class("-prompt") and not screen.query_one("#verdict").has_class("-refused")
            assert app.focused is screen.query_one("#amount") and screen.query_one("#amount").value == ""
            assert screen.pending_code == code and screen.drawn == 0
            await pilot.press(*"450", "enter")  # still short: asked once more, the voucher still kept
            said = await asked(pilot, 1)
            assert "The basket was 450.00." in said and screen.pending_code == code
            await pilot.press(*"620", "enter")
            await until(pilot, lambda: screen.drawn == 1)
            assert screen.shown[-1].accepted and screen.shown[-1].discount == 3000 and screen.shown[-1].code == code
            await pilot.pause()
            assert screen.pending_code is None and app.focused is screen.query_one("#code")
            assert app.bells == 2  # a basket that fell short rings, as a refusal did

    run(scenario)
    assert shop.query("SELECT code, amount FROM redemptions") == [(code, 62000)]


def test_esc_drops_the_kept_voucher(shop: Shop) -> None:
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            screen = app.screen
            await enter_code(pilot, shop.codes["spring2"], "120")
            await asked(pilot, 0)
            await pilot.press("escape")
            await pilot.pause()
            assert screen.pending_code is None and app.focused is screen.query_one("#code")
            assert "dropped: nothing was redeemed" in text_of(app, "#verdict")
            screen.query_one("#amount").focus()
            await pilot.press(*"620", "enter")  # an amount with no voucher kept redeems nothing
            await pilot.pause(0.3)
            assert screen.drawn == 0 and app.focused is screen.query_one("#code")

    run(scenario)
    assert shop.query("SELECT count(*) FROM redemptions") == [(0,)]


def test_missing_or_short_goods_are_asked_for_again(shop: Shop) -> None:
    """BUY5 (buy 5, the cheapest free) counts the goods: none, three items and a line that cannot be read each
    ask for the goods again, keeping what was typed; five items redeem it."""
    app = app_for(shop)
    code = shop.codes["buy5"]

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "carol", PINS["carol"])
            screen = app.screen
            goods = screen.query_one("#goods")
            await enter_code(pilot, code)
            said = await asked(pilot, 0)
            assert f"List the goods bought for Buy 5 get 1 ({display(code)})" in said and "GOODS NEEDED" in said
            assert app.focused is goods
            await pilot.press(*"10*3", "enter")
            said = await asked(pilot, 1)
            await pilot.pause()
            assert "Buy at least 5 items that count; there are 3." in said  # the check's own counts
            assert goods.value == "10*3" and app.focused is goods and screen.pending_code == code
            goods.value = "10*3, 8.50*x"
            await pilot.press("enter")
            said = await asked(pilot, 2)
            assert "8.50*x" in said and screen.drawn == 0
            goods.value = "10*4, 8.50"
            await pilot.press("enter")
            await until(pilot, lambda: screen.drawn == 1)
            assert screen.shown[-1].accepted and screen.shown[-1].discount == 850
            assert goods.value == "" and screen.pending_code is None

    run(scenario)
    assert shop.query("SELECT code, discount FROM redemptions") == [(code, 850)]


def test_final_refusals_stay_final(shop: Shop) -> None:
    """Expired, another store's, already redeemed (and under the minimum too) and forged: a red REFUSED, no
    voucher kept, even while another voucher was waiting for its amount."""
    other = shop.terminal("S001-T2")
    assert other.endpoint.redeem(nonce="fix-first-0001", code=shop.codes["spring4"], staff_id="alice",
                                 store_id="S001", amount=60000)["verdict"]["accepted"]
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            screen = app.screen
            await enter_code(pilot, shop.codes["spring2"], "120")
            await asked(pilot, 0)
            for raw, reason in ((shop.codes["expired"], "expired"), (shop.codes["station"], "store_not_allowed"),
                                (shop.codes["spring4"], "already_redeemed"),
                                (shop.payload("vip")[:-4] + "AAAA", "forged")):
                verdict = await scan(pilot, raw, "100")
                assert str(verdict.reason) == reason
                await pilot.pause()
                assert screen.query_one("#verdict").has_class("-refused") and "REFUSED" in text_of(app, "#verdict")
                assert screen.pending_code is None and app.focused is screen.query_one("#code")
            assert screen.asked == 1

    run(scenario)


def test_a_voucher_the_till_has_not_pulled_yet_is_asked_for_again_when_the_service_finds_the_basket_short(
        shop: Shop) -> None:
    """The service's refusal (the minimum spend) becomes the same question; its journal entry is not shown
    again at the next scan."""
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            await until(pilot, lambda: not app.syncing)
            manager = shop.terminal("S001-T2", pull=False).endpoint
            session = manager.login("carol", PINS["carol"])["session"]
            fresh = manager.issue_vouchers(session, "SPRING", 1)["vouchers"][0]["code"]  # after the pull
            screen = app.screen
            await enter_code(pilot, fresh, "120")
            said = await asked(pilot, 0)
            assert f"Minimum spend 500.00 — enter the basket amount for Spring 30 off ({display(fresh)})" in said
            assert app.focused is screen.query_one("#amount") and screen.drawn == 0
            await pilot.press(*"620", "enter")
            await until(pilot, lambda: screen.drawn == 1)
            assert screen.shown[-1].accepted and screen.shown[-1].discount == 3000

    run(scenario)
    assert shop.query("SELECT amount FROM redemptions") == [(62000,)]


def test_an_acceptance_names_its_campaign_what_it_gives_and_the_new_total(shop: Shop) -> None:
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            await scan(pilot, shop.codes["spring"], "620")
            said = text_of(app, "#verdict")
            assert "Spring 30 off · 30.00 off" in said and "New total 590.00 (basket 620.00)" in said
            await enter_code(pilot, shop.payload("vip"))  # a percentage: the prompt names the voucher it keeps
            said = await asked(pilot, 0)
            assert f"Enter the basket amount for VIP 5% off ({display(shop.codes['vip'])})." in said
            await pilot.press(*"620,50", "enter")
            await until(pilot, lambda: app.screen.drawn == 2)
            said = text_of(app, "#verdict")
            assert "−31.02" in said and "VIP 5% off · 5% off" in said and "New total 589.48 (basket 620.50)" in said

    run(scenario)


def test_what_an_acceptance_gives_by_the_campaigns_kind() -> None:
    from datetime import UTC, datetime

    from pos.domain import Discount

    at = datetime(2026, 1, 1, tzinfo=UTC)
    percent = Campaign("P", "Twenty", at, at, discount=Discount(percent_off=20))
    amount = Campaign("A", "Thirty", at, at, discount=Discount(amount_off=3000))
    ok = Verdict(Reason.OK, "Accepted", discount=3000)
    assert offer(ok, percent) == "20% off"
    assert offer(ok, amount) == "30.00 off"
    assert offer(Verdict(Reason.OK, "Accepted", gifts=("G1 ×1",)), amount) == "gift: G1 ×1"
    assert offer(Verdict(Reason.OK, "Accepted", discount=500, gifts=("G1 ×1",)), None) == "5.00 off + gift: G1 ×1"


def test_which_refusals_can_be_fixed_at_the_counter() -> None:
    def refused(reason: Reason, detail: str | None) -> Verdict:
        return Verdict(reason, "", detail=detail)

    assert fixable(refused(Reason.RULES_NOT_MET, "rules.min_spend")) == "amount"
    assert fixable(refused(Reason.RULES_NOT_MET, "rules.min_spend"), goods_given=True) == "goods"
    assert fixable(refused(Reason.RULES_NOT_MET, "rules.amount_required")) == "amount"
    assert fixable(refused(Reason.RULES_NOT_MET, "rules.items_required")) == "goods"
    assert fixable(refused(Reason.RULES_NOT_MET, "rules.min_items")) == "goods"
    assert fixable(refused(Reason.RULES_NOT_MET, "basket.line.invalid")) == "goods"
    for final in (Reason.EXPIRED, Reason.STORE_NOT_ALLOWED, Reason.ALREADY_REDEEMED, Reason.FORGED, Reason.LIMIT_REACHED):
        assert fixable(refused(final, None)) is None
    assert fixable(refused(Reason.RULES_NOT_MET, "rules.amount_negative")) is None


def test_undo_shows_the_voucher_put_back_in_the_big_panel(shop: Shop) -> None:
    """It left the ACCEPTED panel up, with a toast beside it."""
    app = app_for(shop)
    code = shop.codes["spring"]

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            screen = app.screen
            assert (await scan(pilot, code, "620")).accepted
            await until(pilot, lambda: screen.query_one("#shift").row_count == 1)
            await pilot.press("ctrl+z")
            await until(pilot, lambda: type(app.screen).__name__ == "Confirm")
            await pilot.press("y")
            await until(pilot, lambda: screen.undos_drawn == 1)
            said = text_of(app, "#verdict")
            assert screen.query_one("#verdict").has_class("-undone") and "ACCEPTED" not in said
            assert "UNDONE" in said and f"Spring 30 off ({display(code)}) can be used again; 30.00 is no longer given." in said

    run(scenario)
    assert shop.query("SELECT cancelled_at IS NOT NULL FROM redemptions") == [(1,)]


def test_a_person_who_may_not_verify_here_is_told_at_login(shop: Shop) -> None:
    """Bob (no verifier right) and Dan (Station Road only) at Riverside, and Grace, a manager without the right,
    who keeps the back office; Alice, a verifier here, is not told anything."""
    app = app_for(shop)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            for staff in ("bob", "dan"):
                await log_in_at_counter(pilot, staff, PINS[staff])
                await until(pilot, lambda: app.screen.query_one("#verdict").has_class("-warning"))
                said = text_of(app, "#verdict")
                assert ("You may not verify vouchers in store Riverside (S001); ask a manager to add you as a verifier."
                        in said) and "back office" not in said and app.screen.drawn == 0
                await pilot.press("ctrl+l")
            await log_in_at_counter(pilot, "grace", PINS["grace"])
            await until(pilot, lambda: app.screen.query_one("#verdict").has_class("-warning"))
            assert "You may not verify vouchers in store Riverside (S001)" in text_of(app, "#verdict")
            assert "The back office (F2–F7) is open to you." in text_of(app, "#verdict")
            await pilot.press("f2")
            await until(pilot, lambda: type(app.screen).__name__ == "CampaignsScreen")
            await pilot.press("f1")
            await until(pilot, lambda: type(app.screen).__name__ == "CounterScreen")
            assert "You may not verify" in text_of(app, "#verdict")
            await pilot.press("ctrl+l")
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            await pilot.pause(0.3)
            assert text_of(app, "#verdict").strip() == "Ready for the next voucher."

    run(scenario)


def test_the_login_note_in_chinese_and_a_scan_still_refused(shop: Shop) -> None:
    app = app_for(shop, language="zh")

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "bob", PINS["bob"])
            await until(pilot, lambda: app.screen.query_one("#verdict").has_class("-warning"))
            assert "您无权在门店 Riverside (S001) 核销券;请店长将您添加为核销员。" in text_of(app, "#verdict")
            verdict = await scan(pilot, shop.codes["spring"], "620")
            assert str(verdict.reason) == "staff_not_verifier"

    run(scenario)
