"""``pos demo`` speaks the UI's language: the vouchers it offers to try at its counter, what it says as it ends
and its walk, in Chinese when ``--lang zh`` or the locale (``LANG=zh_CN.UTF-8``) asks for it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pos.demo import TOKENS, demo_app, managers_hint
from pos.terminal.config import TerminalConfig
from pos.tui import i18n
from tests.conftest import Shop
from tests.tui_helpers import run, until

HINTS = {
    "en": ["Good: Spring 30 off (basket ≥ 500)", "Good: VIP 5% as a signed QR code", "Already used at the other till",
           "Expired: last winter", "Wrong store: Station Road only", "Not valid yet: summer", "Withdrawn by the shop",
           "Forged: altered QR code", "Typo in a code", "Good: Spring, another one"],
    "zh": ["可用:Spring 30 off(订单满 500)", "可用:VIP 5% 折扣(签名二维码)", "已在另一台收银机核销", "已过期:去年冬季",
           "门店不符:仅限 Station Road", "尚未生效:夏季", "已被商家作废", "伪造:被篡改的二维码", "券码输入有误",
           "可用:另一张 Spring 券"],
}


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    yield
    i18n.set_language("en")


@pytest.mark.parametrize(("locale", "language"), [("zh_CN.UTF-8", "zh"), ("C.UTF-8", "en")])
def test_the_demo_counter_offers_its_vouchers_in_the_locales_language(shop: Shop, monkeypatch: pytest.MonkeyPatch,
                                                                     locale: str, language: str) -> None:
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", locale)
    cfg = TerminalConfig(service_url=shop.service.url, token=TOKENS["S001-T1"], store_id="S001", terminal_id="S001-T1",
                         staff_id="alice", database=shop.tmp / "demo-terminal.db", timeout=2.0)
    app = demo_app(cfg, shop.codes, shop.payload("vip"), "VC1:forged", None, probe_every=0.0)  # no --lang: the locale

    async def scenario() -> None:
        async with app.run_test(size=(140, 45)) as pilot:
            await until(pilot, lambda: type(app.screen).__name__ == "CounterScreen" and app.screen.query("#hints")
                        and app.shift is not None)
            hints = app.screen.query_one("#hints")
            labels = [str(hints.get_option_at_index(i).prompt).split("\n")[0] for i in range(hints.option_count)]
            assert labels == HINTS[language]

    run(scenario)
    said = managers_hint(Path(".pos-demo"))
    if language == "zh":
        assert said.startswith("演示文件在 .pos-demo/。店长:") and "carol(密码 987654)" in said, said
    else:
        assert said.startswith("Demo files are in .pos-demo/. Managers:"), said


def test_pos_demo_walks_in_chinese(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "pos", "demo", "--walk", "--lang", "zh", "--dir", str(tmp_path / "demo")],
                       capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "240"})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    out = r.stdout
    assert "每一步都得到了预期结果。" in out and "Every step" not in out
    for label in ("Spring 券,订单 620.00", "Bob(收银员,无核销权限)扫码", "同一顾客的第二张 VIP 券", "VIP 券(需联网)"):
        assert label in out, label
    assert "核销成功 优惠 30.00" in out and "already_redeemed" in out  # the stable codes stay as they are
    assert "收银员看到的说明" in out and "网络中断" in out
