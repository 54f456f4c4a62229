"""Online redeems decided together (pos.service.runs): the writer runs the redeems queued in one batch as one
step, which must answer each exactly as it would have been answered alone, in the order they came.

The writer is held on a gate while the redeems are queued, so that they all land in its next batch; the
same redeems through a writer that commits each alone (``group_commit=False``) are the reference."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from pos.service.engine import Db, connect
from pos.service.ledger import ServiceError, Terminal
from pos.service.runs import RedeemCall
from pos.service.writer import Writer
from pos.testing.postgres import PostgresServer

from .conftest import DemoShop, load_shop

TILL = Terminal("S001-T1", "S001")
OTHER_TILL = Terminal("S001-T2", "S001")


@pytest.fixture(params=["sqlite", "postgres"])
def fresh(request: pytest.FixtureRequest, demo_shop: DemoShop, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Fresh copies of the demo shop's database, on either engine: a file, or a new PostgreSQL database."""
    made: list[str] = []

    def make() -> str:
        if request.param == "sqlite":
            path = tmp_path / f"service-{len(made)}.db"
            shutil.copyfile(demo_shop.sqlite, path)
            made.append(str(path))
            return str(path)
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database()
        made.append(url)
        load_shop(url, demo_shop.fixture, dict(demo_shop.codes))
        return url

    yield make
    for target in made:
        if target.startswith("postgresql:"):
            request.getfixturevalue("postgres").drop_database(target.rpartition("/")[2])


def run_held(target: str, calls: list[Any], *, group_commit: bool = True) -> tuple[list[Any], int]:
    """The calls queued while the writer is held, so that they reach it as one batch; their outcomes (an
    answer, or the refusal), and the batches the writer committed for them."""
    writer = Writer(target, group_commit=group_commit, threads=1)
    writer.start()
    try:
        entered, gate = threading.Event(), threading.Event()

        def hold(db: Db) -> None:
            entered.set()
            assert gate.wait(30)

        held = writer.submit(hold)
        assert entered.wait(30)
        before = writer.batches
        futures = [writer.submit(call) for call in calls]
        gate.set()
        held.result(30)
        return [outcome(f) for f in futures], writer.batches - before - 1
    finally:
        writer.stop()


def outcome(future: Future[Any]) -> Any:
    result = future.result(30)
    if isinstance(result, ServiceError):
        return ("refused", result.code)
    status, body = result
    return status, orjson.loads(body)


def call(code: str, nonce: str, *, amount: int | None = 62000, till: Terminal = TILL,
         now: datetime | None = None) -> RedeemCall:
    return RedeemCall(till, nonce, code, "alice", amount, now or datetime.now(UTC))


def reasons(outcomes: list[Any]) -> list[str]:
    return [o[1]["verdict"]["reason"] if o[0] == 200 else o[1] for o in outcomes]


def rows(target: str, sql: str) -> list[tuple[Any, ...]]:
    db = connect(target)
    try:
        return [tuple(r) for r in db.execute(sql).fetchall()]
    finally:
        db.close()


def test_redeems_in_one_batch_are_decided_in_order_as_if_one_after_the_other(
        fresh: Callable[[], str], demo_shop: DemoShop) -> None:
    target, codes = fresh(), demo_shop.codes
    now = datetime.now(UTC)
    calls = [call(codes["spring"], "run-spring-1", now=now), call(codes["spring"], "run-spring-2", till=OTHER_TILL, now=now),
             call(codes["vip"], "run-vip-0001", amount=10000, now=now),
             call(codes["vip2"], "run-vip-0002", amount=10000, now=now),  # cust-42's second VIP5 voucher: once each
             call("NOT-A-CODE", "run-typo-001", now=now), call(codes["expired"], "run-expired", now=now)]
    together, batches = run_held(target, calls)
    assert batches == 1  # all six in one batch, decided as one run
    assert reasons(together) == ["ok", "already_redeemed", "ok", "limit_reached", "malformed", "expired"]
    assert together[1][1]["verdict"]["first_redemption"]["nonce"] == "run-spring-1"
    assert rows(target, "SELECT nonce FROM redemptions ORDER BY nonce") == [("run-spring-1",), ("run-vip-0001",)]
    assert rows(target, "SELECT count(*) FROM idempotency WHERE key LIKE 'run-%'") == [(6,)]
    assert rows(target, "SELECT action, count(*) FROM audit WHERE action LIKE 'redeem%' GROUP BY action "
                        "ORDER BY action") == [("redeem", 2), ("redeem.refused", 4)]


def test_each_answer_of_a_run_is_the_answer_it_gets_alone(fresh: Callable[[], str], demo_shop: DemoShop) -> None:
    together_db, alone_db = fresh(), fresh()
    codes, now = demo_shop.codes, datetime.now(UTC)  # after loading: a customer's voucher is claimed at its load
    scenario = [("spring", "same-spring-1", 62000), ("spring", "same-spring-2", 62000), ("spring2", "same-spring-3", 100),
                ("vip", "same-vip-0001", 10000), ("vip2", "same-vip-0002", 10000), ("station", "same-station", 62000),
                ("revoked", "same-revoked", 62000)]

    def calls() -> list[RedeemCall]:
        return [call(codes[name], nonce, amount=amount, now=now) for name, nonce, amount in scenario]

    together, batches = run_held(together_db, calls())
    assert batches == 1
    alone, batches = run_held(alone_db, calls(), group_commit=False)
    assert batches == len(scenario)  # the reference: each redeem in a transaction of its own
    assert reasons(together) == ["ok", "already_redeemed", "rules_not_met", "ok", "limit_reached",
                                 "store_not_allowed", "revoked"]
    assert together == alone
    for sql in ("SELECT nonce, code, discount, redeemed_at, recorded_at, request_hash FROM redemptions ORDER BY nonce",
                "SELECT code, redeemed_nonce, redeemed_at, redeemed_store FROM vouchers WHERE redeemed_nonce IS NOT NULL "
                "ORDER BY code",
                "SELECT key, request_hash, terminal_id, status, response FROM idempotency ORDER BY key",
                "SELECT at, actor, terminal_id, store_id, action, subject, detail FROM audit WHERE action LIKE 'redeem%' "
                "ORDER BY subject, action"):
        assert rows(together_db, sql) == rows(alone_db, sql), sql


def test_a_nonce_twice_in_one_batch_is_answered_once_and_another_request_under_it_is_refused(
        fresh: Callable[[], str], demo_shop: DemoShop) -> None:
    target, codes, now = fresh(), demo_shop.codes, datetime.now(UTC)
    calls = [call(codes["spring"], "twice-000001", now=now), call(codes["spring"], "twice-000001", now=now),
             call(codes["spring2"], "twice-000001", now=now)]  # the same key, another voucher: another request
    (first, again, other), batches = run_held(target, calls)
    assert batches == 1
    assert first[0] == 200 and first[1]["verdict"]["accepted"]
    assert again == first  # the retry gets the first answer, byte for byte
    assert other == ("refused", "idempotency.mismatch")
    assert rows(target, "SELECT nonce, code FROM redemptions") == [("twice-000001", codes["spring"])]
    assert rows(target, "SELECT count(*) FROM audit WHERE action='idempotency.mismatch'") == [(1,)]


def test_a_key_answered_in_an_earlier_batch_is_replayed_and_not_decided_again(
        fresh: Callable[[], str], demo_shop: DemoShop) -> None:
    target, codes = fresh(), demo_shop.codes
    (first,), _ = run_held(target, [call(codes["spring"], "earlier-00001")])
    later = [call(codes["spring"], "earlier-00001"), call(codes["spring2"], "earlier-00001"),
             call(codes["spring2"], "earlier-00002")]
    (again, other, fresh_one), batches = run_held(target, later)
    assert batches == 1
    assert again == first  # the stored answer, though decided again now it would be "already redeemed"
    assert other == ("refused", "idempotency.mismatch")
    assert fresh_one[1]["verdict"]["accepted"]
    assert rows(target, "SELECT count(*) FROM redemptions") == [(2,)]


class Doubled:
    """An op that doubles a number alone; run together its kind fails (as a run hit by a bug in one request
    would), and a number below zero fails alone too."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, db: Db) -> int:
        if self.n < 0:
            raise ValueError("below zero")
        db.execute("INSERT INTO audit (at, action, subject) VALUES ('now', 'doubled', ?)", (str(self.n),))
        return self.n * 2

    @staticmethod
    def together(db: Db, ops: list[Doubled]) -> list[int]:
        db.execute("INSERT INTO audit (at, action, subject) VALUES ('now', 'doubled', 'together')")
        raise RuntimeError("the run failed")


def test_a_run_that_fails_is_undone_and_each_request_runs_again_alone(fresh: Callable[[], str]) -> None:
    target = fresh()
    writer = Writer(target, threads=1)
    writer.start()
    try:
        entered, gate = threading.Event(), threading.Event()
        held = writer.submit(lambda db: (entered.set(), gate.wait(30)))
        assert entered.wait(30)
        futures = [writer.submit(Doubled(n)) for n in (1, -1, 3)]
        gate.set()
        held.result(30)
        assert futures[0].result(30) == 2 and futures[2].result(30) == 6
        with pytest.raises(ValueError, match="below zero"):
            futures[1].result(30)
    finally:
        writer.stop()
    assert rows(target, "SELECT subject FROM audit WHERE action='doubled' ORDER BY id") == [("1",), ("3",)]
