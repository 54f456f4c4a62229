"""The counter reads a voucher from a video source end to end; a missing camera leaves typing working; the
language comes from the configuration or the locale; Chinese refusals keep their facts (that every UI string
has its Chinese: tests/test_translations.py)."""

from __future__ import annotations

from pathlib import Path

from pos.demo import PINS
from pos.domain import parse_time
from pos.testing.qrcorpus import write_video
from pos.tui import i18n
from tests.conftest import Shop
from tests.tui_helpers import app_for, log_in_at_counter, quiet, run, scan, text_of, until


def test_counter_reads_a_voucher_from_a_video_through_the_camera_worker(shop: Shop, tmp_path: Path) -> None:
    video = tmp_path / "held-up.avi"
    write_video(video, shop.payload("vip"), before=15, held=45, after=15)
    app = app_for(shop, camera=str(video))

    # VIP is a percentage: the camera's code is held until the basket amount is typed, then redeemed once
    async def with_amount() -> None:
        async with app.run_test(size=(120, 45)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            screen = app.screen
            camera = screen.query_one("#camera")  # the video plays on while the cashier types: it may end first
            await until(pilot, lambda: screen.query_one("#verdict").has_class("-prompt"), timeout=30)
            assert screen.pending_code and screen.pending_code.startswith("VC1:")
            screen.query_one("#amount").focus()
            await pilot.press(*"200", "enter")
            await until(pilot, lambda: screen.drawn == 1)
            assert screen.shown[-1].accepted and screen.shown[-1].discount == 1000
            # the whole video went by: its worker has ended, the capture is released, the note says so
            await until(pilot, lambda: screen.query(".camera-note.-ended"), timeout=30)
            assert camera.frames_read == 75 and not screen.query("#camera")
            assert "has ended after 75 frames" in text_of(app, ".camera-note")
            await quiet(pilot)
            assert screen.drawn == 1  # one code, one event: held up for 45 frames, redeemed once

    run(with_amount)
    assert shop.query("SELECT count(*) FROM redemptions") == [(1,)]


def test_a_missing_camera_says_so_and_typing_still_works(shop: Shop, tmp_path: Path) -> None:
    app = app_for(shop, camera=str(tmp_path / "no-such-camera.avi"))

    async def scenario() -> None:
        async with app.run_test(size=(120, 45)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            await until(pilot, lambda: app.screen.query(".camera-note.-error"))
            assert "does not exist" in text_of(app, ".camera-note")
            assert (await scan(pilot, shop.codes["spring"], "600")).accepted

    run(scenario)


def test_language_comes_from_configuration_then_the_locale(monkeypatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert i18n.language_from_env(None) == "zh"
    assert i18n.language_from_env("en") == "en"
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert i18n.language_from_env(None) == "en"


def test_chinese_refusals_keep_their_facts(shop: Shop) -> None:
    """The date a voucher expired, the minimum spend, the store and time of the first use, the campaign's
    name: a Chinese cashier reads them too, not only a translated headline."""
    other = shop.terminal("S001-T2")
    first = other.endpoint.redeem(nonce="zh-first-0001", code=shop.codes["spring4"], staff_id="alice", store_id="S001",
                                  amount=60000)
    assert first["verdict"]["accepted"]
    app = app_for(shop, language="zh")

    async def scenario() -> None:
        async with app.run_test(size=(120, 45)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            seen = {}
            for name, amount in (("expired", None), ("spring4", "600"), ("station", None), ("future", None)):
                verdict = await scan(pilot, shop.codes[name], amount)
                seen[name] = (verdict, text_of(app, "#verdict"))
            expired, text = seen["expired"]
            assert "过期" in text and i18n.day(parse_time(expired.params["ends"])) in text
            app.screen.query_one("#amount").value = "120"  # under the minimum: asked for again, with both amounts
            app.screen.query_one("#code").value = shop.codes["spring2"]
            await pilot.press("enter")
            await until(pilot, lambda: "500.00" in text_of(app, "#verdict"))
            short = text_of(app, "#verdict")
            assert "120.00" in short and "最低消费" in short and "basket" not in short
            used, text = seen["spring4"]
            assert "S001" in text and i18n.day(used.first_redemption.at) in text
            assert "Station opening" in seen["station"][1] and "本店" in seen["station"][1]
            assert "起可用" in seen["future"][1]
            for verdict, text in seen.values():
                assert verdict.message not in text  # said in Chinese, not the service's English

    try:
        run(scenario)
    finally:
        i18n.set_language("en")


def test_times_in_a_verdict_are_read_on_the_tills_clock(monkeypatch) -> None:
    """The service words times in UTC; a Shanghai cashier at 07:30 reads 07:30, not 23:30 the day before."""
    import time as clock_module

    from pos.domain import FirstRedemption, Reason, Verdict, parse_time

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    clock_module.tzset()
    try:
        expired = Verdict(Reason.EXPIRED, "This voucher expired on 2026-11-23 23:30 UTC.",
                          params={"ends": "2026-11-23T23:30:00.000000Z"})
        used = Verdict(Reason.ALREADY_REDEEMED, "Already redeemed on 2026-11-23 23:30 UTC in store S002.",
                       first_redemption=FirstRedemption(parse_time("2026-11-23T23:30:00Z"), "S002"))
        old = Verdict(Reason.EXPIRED, "This voucher expired on 2026-11-23 23:30 UTC.")  # from a service without params
        assert i18n.verdict_sentence(expired) == "This voucher expired on 2026-11-24 07:30."
        assert i18n.verdict_sentence(used) == "Already redeemed on 2026-11-24 07:30 in store S002."
        assert i18n.verdict_sentence(old) == old.message
        i18n.set_language("zh")
        assert "2026-11-24 07:30" in i18n.verdict_sentence(expired)
        assert "2026-11-24 07:30" in i18n.verdict_sentence(used) and "S002" in i18n.verdict_sentence(used)
    finally:
        i18n.set_language("en")
        monkeypatch.delenv("TZ")
        clock_module.tzset()
