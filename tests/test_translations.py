"""The UI's Chinese is a gettext catalog made from the code (scripts/translations.py, docs/translations.md):
every message the code shows has its translation, none fuzzy, none left over; the shipped ``pos.mo`` is the
``pos.po`` compiled; plurals read right in both languages; and the translation layer starts light."""

from __future__ import annotations

import fnmatch
import importlib.util
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog

from pos.domain import FirstRedemption, Reason, Verdict, parse_time
from pos.tui import i18n
from pos.tui.sentences import CODES, KINDS, STATUS, VERDICTS

ROOT = Path(__file__).parent.parent
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("translations", ROOT / "scripts" / "translations.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


T = _script()


@pytest.fixture(scope="module")
def found() -> dict[str, list[str]]:
    """What ``scripts/translations.py check`` finds wrong, by kind."""
    return T.problems(T.read(), T.extracted(), T.MO.read_bytes())


@pytest.fixture
def chinese() -> Iterator[None]:
    i18n.set_language("zh")
    yield
    i18n.set_language("en")


@pytest.mark.parametrize("kind", ["missing (run extract)", "untranslated", "fuzzy", "fields differ"])
def test_every_message_of_the_code_has_its_chinese(found: dict[str, list[str]], kind: str) -> None:
    """Whatever the code passes to ``_``/``n_``/``N_``, its bindings, codes, verdicts, statuses and kinds: each
    is in pos.po, translated, not fuzzy, with the same {fields} as its English."""
    assert found[kind] == []


@pytest.mark.parametrize("kind", ["left over (run extract)", "kept but never sent", "header"])
def test_the_catalog_holds_nothing_the_code_does_not_say(found: dict[str, list[str]], kind: str) -> None:
    assert found[kind] == []


def test_the_shipped_mo_is_the_po_compiled() -> None:
    assert T.MO.read_bytes() == T.compiled(T.read()), "run: python scripts/translations.py compile"


def test_the_check_command_passes() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "translations.py"), "check"], capture_output=True,
                       text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "every message translated" in r.stdout


def test_the_catalog_is_package_data() -> None:
    """``pip install --no-deps .`` on a till carries the compiled catalog (and needs no Babel to read it)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["pos.tui"]
    shipped = T.MO.relative_to(ROOT / "pos" / "tui").as_posix()
    assert any(fnmatch.fnmatch(shipped, p) for p in patterns), patterns
    assert "babel" not in {r.split(">")[0].split("=")[0] for r in pyproject["project"]["dependencies"]}


def test_extract_keeps_translations_drops_what_is_gone_and_marks_what_is_new() -> None:
    """What ``extract`` does to pos.po, on catalogs in memory."""
    catalog = Catalog(locale="zh", domain="pos")
    catalog.add("Sync now", "立即同步")
    catalog.add("Issued {n} voucher for {campaign}.", "已为 {campaign} 发券 {n} 张。")
    catalog.add("Ours", "本机")
    catalog.add("An amount is zero or more.", "金额须为 0 或以上。", context=T.KEPT)
    template = Catalog(domain="pos")
    template.add("Sync now")
    template.add("Issued {n} vouchers for {campaign}!")  # reworded: offered the old translation, fuzzy
    template.add("Something brand new")
    dropped = T.update(catalog, template)

    assert catalog.get("Sync now").string == "立即同步" and not catalog.get("Sync now").fuzzy
    reworded = catalog.get("Issued {n} vouchers for {campaign}!")
    assert reworded.fuzzy and reworded.string == "已为 {campaign} 发券 {n} 张。"
    assert not catalog.get("Something brand new").string and T.untranslated(catalog.get("Something brand new"), 1)
    assert catalog.get("An amount is zero or more.", context=T.KEPT).string == "金额须为 0 或以上。"
    assert catalog.get("Ours") is None and [m.id for m in dropped] == ["Ours"]
    assert not catalog.obsolete


def test_plurals_in_english_and_chinese(chinese: None) -> None:
    say = "{n} wrong PIN", "{n} wrong PINs"
    assert i18n.n_(*say, 1) == "密码错误 1 次" and i18n.n_(*say, 3) == "密码错误 3 次"
    assert i18n.n_("Uploaded {n}; {c} conflict.", "Uploaded {n}; {c} conflicts.", 2, n=5, c=2) == "已上传 5 笔;冲突 2 笔。"
    i18n.set_language("en")
    assert i18n.n_(*say, 1) == "1 wrong PIN" and i18n.n_(*say, 3) == "3 wrong PINs" and i18n.n_(*say, 0) == "0 wrong PINs"
    outbox = "Outbox: {n} redemption waiting.", "Outbox: {n} redemptions waiting."
    assert i18n.n_(*outbox, 1) == "Outbox: 1 redemption waiting."
    assert i18n.n_(*outbox, 3) == "Outbox: 3 redemptions waiting."
    assert i18n.n_("Uploaded {n}; {c} conflict.", "Uploaded {n}; {c} conflicts.", 1, n=5, c=1) == "Uploaded 5; 1 conflict."


def test_messages_codes_statuses_and_kinds_read_in_chinese(chinese: None) -> None:
    assert i18n._("{n} waiting to upload", n=3) == "3 笔待上传"
    assert i18n._("") == ""  # not the catalog's header
    assert i18n.code_text("already_redeemed") == "已核销过"
    assert i18n.code_text("no.such.code", "the sender's words") == "the sender's words"
    for code in CODES:
        assert CHINESE.search(i18n.code_text(code)), code
    for status in STATUS:
        assert CHINESE.search(i18n.status_text(status)), status
    for kind in KINDS:
        assert CHINESE.search(i18n.kind_text(kind)), kind
    assert i18n.status_text("active") == "已生效" and i18n._("active") == "在职"  # a campaign's, a person's


def _verdict(key: str) -> Verdict:
    """A verdict that reads with the sentence of ``key`` in :data:`VERDICTS`, with every fact filled in."""
    reason, _slash, when = key.partition("/")
    detail = None
    if "." in reason:
        detail, reason = reason, ("rules_not_met" if reason.startswith("rules.") else "offline_not_allowed")
    params = {"staff": "bob", "code": "ABCD-EFGH", "campaign": "Spring", "starts": "2026-11-23T23:30:00Z",
              "ends": "2026-11-23T23:30:00Z", "min_spend": "500.00", "amount": "120.00", "max": "50.00",
              "off": "60.00", "when" if reason == "campaign_inactive" else "span": when}
    first = FirstRedemption(parse_time("2026-11-23T23:30:00Z"), "S002") if reason == "already_redeemed" else None
    return Verdict(Reason(reason), "The service's own sentence.", detail=detail, params=params, first_redemption=first)


def test_every_verdict_sentence_reads_in_chinese_with_its_facts(chinese: None) -> None:
    for key in VERDICTS:
        said = i18n.verdict_sentence(_verdict(key))
        assert CHINESE.search(said) and "{" not in said and "service" not in said, (key, said)
    assert "S002" in i18n.verdict_sentence(_verdict("already_redeemed"))
    assert "500.00" in i18n.verdict_sentence(_verdict("rules.min_spend"))


def test_in_english_a_verdict_is_the_services_sentence_unless_it_holds_a_time() -> None:
    assert i18n.verdict_sentence(_verdict("rules.min_spend")) == "The service's own sentence."
    expired = i18n.verdict_sentence(_verdict("expired"))
    assert expired.startswith("This voucher expired on 2026-11-2") and expired.endswith(".")


def test_a_refusal_the_service_sends_is_translated_by_its_english(chinese: None) -> None:
    from pos.tui.problems import problem_sentence

    sent = "Give either an amount off or a percentage off, not both."
    assert problem_sentence("campaign.discount.invalid", sent) == "请填写立减金额或折扣百分比,二选一。"
    assert problem_sentence("campaign.discount.invalid", "A sentence no catalog has.") == "请填写立减金额或折扣(1–99),二选一。"
    assert problem_sentence("no.such.code", "A sentence no catalog has.") == "此项不符合要求。"
    i18n.set_language("en")
    assert problem_sentence("campaign.discount.invalid", sent) == sent
    assert i18n.translation_of(sent) is None


def test_the_translation_layer_imports_nothing_heavy() -> None:
    """It is read before the login screen is drawn: no domain (cryptography), no Textual, no Babel."""
    child = ("import sys, types\n"
             "package = types.ModuleType('pos.tui'); package.__path__ = [sys.argv[1]]; sys.modules['pos.tui'] = package\n"
             "import pos.tui.i18n as i18n\n"
             "i18n.set_language('zh')\n"
             "print(' '.join(sorted(sys.modules)))\n")
    r = subprocess.run([sys.executable, "-c", child, str(ROOT / "pos" / "tui")], capture_output=True, text=True,
                       cwd=ROOT, timeout=60, check=True)
    loaded = set(r.stdout.split())
    heavy = {m for m in loaded if m.split(".")[0] in ("cryptography", "textual", "babel", "rich", "typing")
             or m.startswith("pos.domain")}
    assert heavy == set()
    assert "gettext" in loaded and "pos.tui.i18n" in loaded
