"""``pos demo``: demo data, a service on loopback, and a scripted walk through the counter's cases.

:func:`demo_fixture` is also what the tests and benchmarks load, so the demo shows exactly the
shop the test suite checks.

Long on purpose: the demo shop's data and the walk through it are read side by side.
"""

from __future__ import annotations

import contextlib
import random
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from pos.domain import Verdict, display, format_time, generate, money

PINS = {"alice": "1234", "bob": "2345", "dan": "3456", "carol": "987654", "grace": "246810"}  # demo shop only
TOKENS = {"S001-T1": "demo-token-riverside-1", "S001-T2": "demo-token-riverside-2", "S002-T1": "demo-token-station-1"}


def demo_codes(n: int, seed: int = 2026) -> list[str]:
    rng = random.Random(seed)
    return [generate(randbelow=rng.randrange) for _ in range(n)]


def demo_fixture(now: datetime | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """A small chain: three stores, five staff (two managers, for four eyes), six campaigns, customers, orders
    and named vouchers to try."""
    now = now or datetime.now(UTC)
    t = lambda delta: format_time(now + delta)  # noqa: E731
    names = ["spring", "spring2", "spring3", "spring4", "vip", "vip2", "vip3", "expired", "station", "revoked", "future",
             "buy5", "buy5b"]
    codes = dict(zip(names, demo_codes(len(names)), strict=True))
    fixture: dict[str, Any] = {
        "stores": [{"id": "S001", "name": "Riverside"}, {"id": "S002", "name": "Station Road"},
                   {"id": "S003", "name": "Airport"}],
        "staff": [{"id": "alice", "name": "Alice Wang", "role": "cashier", "pin": PINS["alice"]},
                  {"id": "bob", "name": "Bob Li", "role": "cashier", "pin": PINS["bob"]},
                  {"id": "dan", "name": "Dan Zhou", "role": "cashier", "pin": PINS["dan"]},
                  {"id": "carol", "name": "Carol Chen", "role": "manager", "pin": PINS["carol"]},
                  {"id": "grace", "name": "Grace Lin", "role": "manager", "pin": PINS["grace"]}],
        "verifiers": [{"staff_id": "alice", "stores": ["S001"]},
                      {"staff_id": "dan", "stores": ["S002"]},
                      {"staff_id": "carol", "all_stores": True}],
        "campaigns": _demo_campaigns(t),
        "customers": _demo_customers(t),
        "orders": [
            {"order_no": "262749754", "customer_id": "cust-13", "amount": 12900, "ordered_at": t(-timedelta(days=2))},
            {"order_no": "262749886", "customer_id": "cust-42", "amount": 5600, "ordered_at": t(-timedelta(days=20))},
            {"order_no": "262749887", "customer_id": "cust-9", "amount": 990, "ordered_at": t(-timedelta(days=1))},
        ],
        "vouchers": [
            *({"campaign_id": "SPRING", "code": codes[k]} for k in ("spring", "spring2", "spring3", "spring4")),
            {"campaign_id": "VIP5", "code": codes["vip"], "customer_id": "cust-42"},
            {"campaign_id": "VIP5", "code": codes["vip2"], "customer_id": "cust-42"},
            {"campaign_id": "VIP5", "code": codes["vip3"], "customer_id": "cust-7"},
            {"campaign_id": "OLD", "code": codes["expired"]},
            {"campaign_id": "STATION", "code": codes["station"]},
            {"campaign_id": "SPRING", "code": codes["revoked"]},
            {"campaign_id": "SUMMER", "code": codes["future"]},
            {"campaign_id": "BUY5", "code": codes["buy5"]},
            {"campaign_id": "BUY5", "code": codes["buy5b"], "customer_id": "cust-7", "affiliate_id": "blog-deals"},
        ],
        "terminals": [{"id": tid, "store_id": tid.split("-")[0], "token": tok} for tid, tok in TOKENS.items()],
    }
    return fixture, codes


def _demo_campaigns(t: Callable[[timedelta], str]) -> list[dict[str, Any]]:
    """Six campaigns: money off with an offline limit, a VIP percentage, expired, one store only, not yet valid,
    an order rule shared with affiliates."""
    return [
        {"id": "SPRING", "name": "Spring 30 off", "begins_at": t(-timedelta(days=1)), "ends_at": t(timedelta(days=60)),
         "validity": {"starts_at": t(-timedelta(days=1)), "ends_at": t(timedelta(days=30))},
         "discount": {"min_spend": 50000, "amount_off": 3000},
         "offline": {"allowed": True, "max_discount": 5000}, "cancel_window_minutes": 60},
        {"id": "VIP5", "name": "VIP 5% off", "begins_at": t(-timedelta(days=1)), "ends_at": t(timedelta(days=60)),
         "validity": {"days": 7}, "stores": ["S001"], "discount": {"percent_off": 5, "cap": 30000},
         "per_customer": "once", "offline": {"allowed": False}},
        {"id": "OLD", "name": "Last winter", "begins_at": t(-timedelta(days=90)), "ends_at": t(timedelta(days=60)),
         "validity": {"starts_at": t(-timedelta(days=90)), "ends_at": t(-timedelta(days=1))},
         "discount": {"amount_off": 1000}},
        {"id": "STATION", "name": "Station opening", "begins_at": t(-timedelta(days=1)),
         "ends_at": t(timedelta(days=60)), "stores": ["S002"], "discount": {"amount_off": 500},
         "validity": {"starts_at": t(-timedelta(days=1)), "ends_at": t(timedelta(days=30))}},
        {"id": "SUMMER", "name": "Summer preview", "begins_at": t(-timedelta(days=1)), "ends_at": t(timedelta(days=90)),
         "validity": {"starts_at": t(timedelta(days=30)), "ends_at": t(timedelta(days=60))},
         "discount": {"amount_off": 800}},
        {"id": "BUY5", "name": "Buy 5 get 1", "begins_at": t(-timedelta(days=1)), "ends_at": t(timedelta(days=30)),
         "rule": {"mode": "items_off", "quota": 5, "rate": 1}, "slogan": "Five for the price of four",
         "merchant": "Riverside", "title": "Buy 5, 1 free", "affiliates": True, "status": "active"},
    ]


def _demo_customers(t: Callable[[timedelta], str]) -> list[dict[str, Any]]:
    return [
        {"id": "cust-42", "name": "Mei Lin", "email": "mei@example.com", "email_verified": True, "member": 62,
         "followed_at": t(-timedelta(days=40))},
        {"id": "cust-7", "name": "Jun Ho", "email": "jun@example.com", "email_verified": True,
         "followed_at": t(-timedelta(days=3))},
        {"id": "cust-9", "name": "Ana Ruiz", "email": "ana@example.com", "email_verified": False,
         "followed_at": t(-timedelta(days=5))},
        {"id": "cust-11", "name": "Tom Berg", "email": "tom@example.com", "email_verified": True, "opted_out": True,
         "followed_at": t(-timedelta(days=8))},
        {"id": "cust-13", "name": "Sara Kim", "email": "sara@example.com", "email_verified": True},
    ]


def _verdict_table(title: str) -> Table:
    from pos.tui.i18n import _ as say

    table = Table(title=title, show_lines=True)
    table.add_column(say("case"), ratio=2)
    table.add_column(say("verdict"), ratio=2, no_wrap=True)
    table.add_column(say("what the cashier reads"), ratio=3)
    return table


def pos_command() -> str:
    """How to run pos from the shell the demo was started in: ``pos`` when that is this installation's on the
    PATH (an activated virtual environment), else the path of this installation's (``.venv/bin/pos``)."""
    import os
    import sys

    here = Path(sys.executable).parent / "pos"
    found = shutil.which("pos")
    if found and Path(found).resolve() == here.resolve():
        return "pos"
    if not here.exists():
        return f"{sys.executable} -m pos"
    if here.is_relative_to(Path.cwd()):
        return os.path.join(".", os.path.relpath(here)) if os.sep not in os.path.relpath(here) else os.path.relpath(here)
    return str(here)


def local_zone() -> str:
    """This machine's IANA time zone (``TZ``, else the zone file ``/etc/localtime`` points at), or UTC."""
    import os

    from pos.domain.model import zone

    for name in (os.environ.get("TZ", "").lstrip(":"),
                 str(Path("/etc/localtime").resolve()).partition("zoneinfo/")[2] if Path("/etc/localtime").exists() else ""):
        try:
            if name:
                zone(name)
                return name
        except ValueError:
            continue
    return "UTC"


def _prepare(workdir: Path, service_db: str) -> tuple[dict[str, str], str, str]:
    """The service's database filled: the demo shop, a withdrawn voucher, and the VIP voucher's signed QR
    payload (and an altered copy of it)."""
    from pos.service.admin import load_fixture, revoke_voucher, voucher_payload
    from pos.service.schema import open_db

    fixture, codes = demo_fixture()
    fixture["timezone"] = local_zone()  # the demo's stores keep this machine's time
    db = open_db(service_db)
    load_fixture(db, fixture)
    revoke_voucher(db, codes["revoked"])
    vip_qr = voucher_payload(db, codes["vip"])
    db.close()
    forged = vip_qr[:-6] + ("AAAAAA" if not vip_qr.endswith("AAAAAA") else "BBBBBB")
    return codes, vip_qr, forged


@contextlib.contextmanager
def shop_database(workdir: Path, *, postgres: bool = False) -> Iterator[tuple[str, list[str]]]:
    """A fresh work folder and an empty service database in it: a SQLite file, or (``postgres``) a
    PostgreSQL server of the demo's own, served by two service processes. Yields the database and the
    extra ``pos serve`` arguments."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    if not postgres:
        yield str(workdir / "service.db"), []
        return
    from pos.testing.postgres import PostgresServer

    with PostgresServer(workdir / "postgresql") as server:
        yield server.create_database("pos_demo"), ["--workers", "2"]


def demo_hints(codes: dict[str, str], vip_qr: str, forged: str) -> list[tuple[str, str, str]]:
    """The vouchers the demo counter offers to try: (what it is, in the UI's language; what is submitted; how
    it is shown)."""
    from pos.tui.i18n import _ as say

    typo = codes["spring2"][:-1] + ("X" if codes["spring2"][-1] != "X" else "Y")
    items = [
        (say("Good: Spring 30 off (basket ≥ 500)"), codes["spring"]),
        (say("Good: VIP 5% as a signed QR code"), vip_qr),
        (say("Already used at the other till"), codes["spring4"]),
        (say("Expired: last winter"), codes["expired"]),
        (say("Wrong store: Station Road only"), codes["station"]),
        (say("Not valid yet: summer"), codes["future"]),
        (say("Withdrawn by the shop"), codes["revoked"]),
        (say("Forged: altered QR code"), forged),
        (say("Typo in a code"), typo),
        (say("Good: Spring, another one"), codes["spring3"]),
    ]
    return [(label, raw, display(raw) if len(raw) <= 16 else raw[:20] + "…") for label, raw in items]


def use_language(language: str | None) -> str:
    """The demo speaks as the UI would: ``--lang``, else the locale (``LANG=zh_CN.UTF-8``); returns it."""
    from pos.tui.i18n import language_from_env, set_language

    chosen = language_from_env(language)
    set_language(chosen)
    return chosen


def managers_hint(workdir: Path) -> str:
    """What ``pos demo`` says as it ends: where its files are, and how to reach the back office."""
    from pos.tui.i18n import _ as say

    return say("Demo files are in {workdir}/. Managers: log out (Ctrl+L) and log in as carol, PIN {carol}, or grace, "
               "PIN {grace} (a campaign one of them made, the other approves).",
               workdir=workdir, carol=PINS["carol"], grace=PINS["grace"])


def run_ui(workdir: Path, *, port: int = 0, language: str | None = None, camera: str | None = None,
           postgres: bool = False) -> int:
    """``pos demo``: the demo shop on a local service, and the terminal UI logged in at its counter."""
    from pos.testing.process import ServiceProcess

    with shop_database(workdir, postgres=postgres) as (service_db, extra):
        codes, vip_qr, forged = _prepare(workdir, service_db)
        service = ServiceProcess(service_db, port, log=workdir / "service.log", extra=extra)
        try:
            _counter_ui(workdir, service, codes, vip_qr, forged, language, camera)
        finally:
            service.stop()
    print(managers_hint(workdir))
    return 0


def _counter_ui(workdir: Path, service: Any, codes: dict[str, str], vip_qr: str, forged: str, language: str | None,
                camera: str | None) -> None:
    from pos.terminal.config import TerminalConfig, write
    from pos.terminal.endpoint import Endpoint
    from pos.terminal.localdb import LocalDB
    from pos.terminal.sync import sync

    service.start()
    with Endpoint(service.url, TOKENS["S001-T2"]) as other_till:  # a voucher already used next door
        other_till.redeem(nonce="demo-other-till-1", code=codes["spring4"], staff_id="alice", store_id="S001",
                          amount=60000)
    cfg = TerminalConfig(service_url=service.url, token=TOKENS["S001-T1"], store_id="S001", terminal_id="S001-T1",
                         staff_id="alice", database=workdir / "terminal.db", camera=camera, language=language)
    write(workdir / "pos.toml", cfg)
    local = LocalDB(cfg.database)
    with Endpoint(cfg.service_url, cfg.token) as endpoint:
        sync(local, endpoint, "S001")
    local.close()
    demo_app(cfg, codes, vip_qr, forged, language, camera).run()


def demo_app(cfg: Any, codes: dict[str, str], vip_qr: str, forged: str, language: str | None,
             camera: str | None = None, **kw: Any) -> Any:
    """The demo's UI: logged in as alice at the counter, with the vouchers to try in the UI's language."""
    from pos.tui import make_app

    chosen = use_language(language)
    return make_app(cfg, language=chosen, hints=demo_hints(codes, vip_qr, forged), camera=camera,
                    auto_login=("alice", PINS["alice"]), **kw)


def run_demo(workdir: Path, *, port: int = 0, postgres: bool = False, language: str | None = None) -> int:
    """``pos demo --walk``: the same shop, walked through in a script (for a machine with no terminal), in the
    UI's language (``--lang``, else the locale)."""
    use_language(language)
    with shop_database(workdir, postgres=postgres) as (service_db, extra):
        return _walk(workdir, service_db, extra, port)


Step = tuple[str, str, str, int | None, str]  # what the case is, the input, who scans, the basket, the verdict expected


class _Tour:
    """The scripted walk's counter and what it has printed: each case's verdict against the one expected."""

    def __init__(self, console: Console, counter: Any) -> None:
        self.console, self.counter = console, counter
        self.failures = 0

    def cases(self, title: str, steps: list[Step]) -> None:
        """Scan each case, print the table, then tell the journal the verdicts are on the screen."""
        from pos.tui.i18n import _ as say
        from pos.tui.i18n import language, verdict_sentence

        table = _verdict_table(title)
        shown: list[int] = []
        for label, raw, staff, amount, expected in steps:
            decision = self.counter.decide(raw, staff, amount)
            shown.append(decision.entry)
            verdict: Verdict = decision.verdict
            good = str(verdict.reason) == expected
            self.failures += not good
            style = "green" if verdict.accepted else "red"
            word = (f"{say('ACCEPTED')} {say('{amount} off', amount=money(verdict.discount))}" if verdict.accepted
                    else say("REFUSED"))
            reads = verdict.message if language() == "en" else verdict_sentence(verdict)
            table.add_row(label, f"[{style}]{word}[/]\n{verdict.reason}",
                          reads + ("" if good else "  [bold red]" + say("(expected {expected})", expected=expected)))
        self.console.print(table)
        for entry in shown:
            self.counter.shown(entry)


def _online_steps(codes: dict[str, str], vip_qr: str, forged: str) -> list[Step]:
    from pos.tui.i18n import _ as say

    typo = codes["spring2"][:-1] + ("X" if codes["spring2"][-1] != "X" else "Y")
    return [
        (say("Spring voucher, basket 620.00"), codes["spring"], "alice", 62000, "ok"),
        (say("The same voucher again"), codes["spring"], "alice", 62000, "already_redeemed"),
        (say("VIP voucher as a signed QR code"), vip_qr, "alice", 12000, "ok"),
        (say("That QR code, altered"), forged, "alice", 12000, "forged"),
        (say("A typo in a code"), typo, "alice", None, "malformed"),
        (say("Spring voucher, basket only 120.00"), codes["spring2"], "alice", 12000, "rules_not_met"),
        (say("Last winter's voucher"), codes["expired"], "alice", None, "expired"),
        (say("Summer voucher, not valid yet"), codes["future"], "alice", None, "not_yet_valid"),
        (say("A Station Road voucher here"), codes["station"], "alice", None, "store_not_allowed"),
        (say("A withdrawn voucher"), codes["revoked"], "alice", 62000, "revoked"),
        (say("Bob (a cashier, not a verifier) scans one"), codes["spring3"], "bob", 62000, "staff_not_verifier"),
        (say("The customer's second VIP voucher"), codes["vip2"], "alice", 10000, "limit_reached"),
    ]


def _offline_steps(codes: dict[str, str]) -> list[Step]:
    from pos.tui.i18n import _ as say

    return [
        (say("Spring voucher, basket 550.00"), codes["spring3"], "alice", 55000, "ok"),
        (say("The same voucher again"), codes["spring3"], "alice", 55000, "already_redeemed"),
        (say("VIP voucher (needs the network)"), codes["vip3"], "alice", 10000, "offline_not_allowed"),
    ]


def _walk(workdir: Path, service_db: str, extra: list[str], port: int) -> int:
    from pos.terminal.config import TerminalConfig, write
    from pos.terminal.counter import Counter
    from pos.terminal.endpoint import Endpoint
    from pos.terminal.localdb import LocalDB
    from pos.terminal.sync import sync
    from pos.testing.process import ServiceProcess
    from pos.tui.i18n import _ as say
    from pos.tui.i18n import n_

    console = Console()
    codes, vip_qr, forged = _prepare(workdir, service_db)
    service = ServiceProcess(service_db, port, log=workdir / "service.log", extra=extra)
    try:
        console.rule("[bold]pos demo")
        console.print(say("Starting the redemption service on {url} …", url=service.url))
        service.start()
        cfg = TerminalConfig(service_url=service.url, token=TOKENS["S001-T1"], store_id="S001", terminal_id="S001-T1",
                             staff_id="alice", database=workdir / "terminal.db")
        write(workdir / "pos.toml", cfg)
        local = LocalDB(cfg.database)
        endpoint = Endpoint(cfg.service_url, cfg.token)
        counter = Counter(local, endpoint, store_id="S001", terminal_id="S001-T1")
        report = sync(local, endpoint, "S001")
        console.print(say("Terminal S001-T1 (store S001 Riverside) pulled {n} catalog rows.", n=report.pulled) + "\n")
        tour = _Tour(console, counter)
        tour.cases(say("At the counter, online"), _online_steps(codes, vip_qr, forged))

        console.print(f"\n[bold]{say('The network goes down')}[/] {say('(the service is stopped).')}")
        service.stop()
        tour.cases(say("At the counter, offline"), _offline_steps(codes))
        console.print(n_("Outbox: {n} redemption waiting.", "Outbox: {n} redemptions waiting.", local.pending_count()))

        console.print(f"\n[bold]{say('The network is back')}[/]: pos sync.")
        service.start()
        report = sync(local, endpoint, "S001")
        console.print(say("Uploaded: {results}; conflicts: {n}; outbox now {left}.", results=dict(report.results),
                          n=len(report.conflicts), left=local.pending_count()))
        tour.failures += report.results.get("accepted", 0) != 1 or bool(report.conflicts)
        undo = counter.cancel(codes["spring"], "alice")
        console.print(say("Undo of {code} inside the 60-minute window: done.", code=display(undo.code)))
        service.stop()
        endpoint.close()
        local.close()
    finally:
        service.stop()
    return _closing(console, workdir, service_db, extra, codes, tour.failures)


def _closing(console: Console, workdir: Path, service_db: str, extra: list[str], codes: dict[str, str],
             failures: int) -> int:
    """Where the files are and how to try it by hand; the exit status says whether every case went as expected."""
    from pos.service.engine import describe
    from pos.tui.i18n import _ as say
    from pos.tui.i18n import n_

    console.rule()
    pos = pos_command()
    if extra:  # the demo's own PostgreSQL server ends with it
        console.print(say("The service ran as {n} processes on PostgreSQL ({db}).", n=extra[-1], db=describe(service_db)))
    else:
        console.print(say("Files are in {workdir}/: service.db, terminal.db, pos.toml. Try it by hand:", workdir=workdir) + "\n"
                      f"  {pos} serve --db {service_db} --port 8765 &\n"
                      f"  POS_CONFIG={workdir / 'pos.toml'} POS_SERVICE_URL=http://127.0.0.1:8765 {pos} redeem {display(codes['spring4'])} --amount 600\n"
                      f"  POS_CONFIG={workdir / 'pos.toml'} POS_SERVICE_URL=http://127.0.0.1:8765 {pos} sync", soft_wrap=True)  # commands to copy: never broken
    if failures:
        console.print("[bold red]" + n_("{n} step did not give the expected verdict.",
                                         "{n} steps did not give the expected verdict.", failures))
        return 1
    console.print("[bold green]" + say("Every step gave the expected verdict."))
    return 0
