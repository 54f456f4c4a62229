"""The dangerous pairs, each forced into its worst interleaving against a real ``pos serve``.

A request is held at a gate (:mod:`pos.testing.gates`) — before it is sent, or after the service
answered — while the other actor runs; then it is released, or its answer is lost. Each actor runs in
its own thread with its own connection to the one terminal file, as the UI's counter and its
background sync do (and as a ``pos redeem`` in a shell does, in its own process: see the last test).
Each test ends with a plain sync and checks both databases.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from pos.demo import PINS, TOKENS
from pos.domain import Reason
from pos.terminal.config import TerminalConfig, write
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import recover
from pos.testing.gates import GateTransport

from .conftest import Shop, Terminal

T = TypeVar("T")


class Actor:
    """One thread, one connection: what the UI's station thread or its sync thread is."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1)

    def run(self, job: Callable[[], T]) -> Future[T]:
        return self.pool.submit(job)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


@pytest.fixture
def actor() -> Iterator[Actor]:
    a = Actor()
    yield a
    a.close()


def live_on_service(shop: Shop, code: str) -> list[tuple[Any, ...]]:
    return shop.query("SELECT nonce FROM redemptions WHERE code=? AND cancelled_at IS NULL", code)


def live_on_terminal(t: Terminal, code: str) -> list[tuple[Any, ...]]:
    return t.db.conn.execute("SELECT nonce FROM redemptions WHERE code=? AND cancelled_at IS NULL AND state='ok'",
                             (code,)).fetchall()


def settled(t: Terminal) -> None:
    """A final sync leaves nothing waiting and nothing unanswered."""
    report = t.sync()
    assert report.error is None and report.ok, report.to_dict()
    assert t.db.pending_count() == 0
    assert t.db.conn.execute("SELECT count(*) FROM journal WHERE state='pending'").fetchone() == (0,)


# -- 1. redeem × sync: recovery never touches an attempt in flight ---------------------------------
@pytest.mark.parametrize("at", ["request", "answer"])
def test_a_sync_while_the_counter_waits_for_its_answer_leaves_the_attempt_alone(shop: Shop, actor: Actor,
                                                                                at: str) -> None:
    code = shop.codes["spring"]
    gate = GateTransport()
    hold = gate.hold("POST", "/v1/redemptions", at=at)
    counter = actor.run(lambda: shop.terminal(transport=gate)).result()
    sync = shop.terminal(pull=False)  # the UI's background sync: its own connection to the same file
    verdict = actor.run(lambda: counter.counter.redeem(code, "alice", 62000))
    hold.wait_arrived()
    report = sync.sync()  # recovery runs while the counter's request is in flight
    assert report.recovered == 0 and report.ok
    assert sync.db.pending_count() == 0  # no void queued for the live attempt
    hold.release()
    assert verdict.result().accepted and not verdict.result().offline
    settled(sync)
    [(nonce,)] = live_on_service(shop, code)
    assert live_on_terminal(sync, code) == [(nonce,)]
    assert shop.query("SELECT count(*) FROM redemptions WHERE cancelled_at IS NOT NULL") == [(0,)]
    # and another till is refused, as it must be
    other = shop.terminal("S001-T2")
    assert other.counter.redeem(code, "alice", 62000).reason is Reason.ALREADY_REDEEMED


def test_a_sync_while_the_counter_times_out_keeps_the_offline_acceptance_true(shop: Shop, actor: Actor) -> None:
    """The variant where the counter's answer is lost twice and it accepts offline under the same nonce."""
    code = shop.codes["spring"]
    gate = GateTransport()
    first = gate.hold("POST", "/v1/redemptions", at="answer")
    counter = actor.run(lambda: shop.terminal(transport=gate)).result()
    sync = shop.terminal(pull=False)
    gate.hold("POST", "/v1/redemptions", at="request").release(refuse=True)  # the retry cannot connect
    verdict = actor.run(lambda: counter.counter.redeem(code, "alice", 62000))
    first.wait_arrived()
    sync.sync()
    first.release(lose=True)
    assert verdict.result().accepted and verdict.result().offline
    settled(sync)  # the upload is recognised as the same redemption
    [(nonce,)] = live_on_service(shop, code)
    assert live_on_terminal(sync, code) == [(nonce,)]


# -- 2. undo × upload and undo × the upload's answer -------------------------------------------------
@pytest.mark.parametrize("at", ["request", "answer"])
def test_an_undo_while_the_upload_is_on_its_way_is_sent_as_a_cancel(shop: Shop, actor: Actor, at: str) -> None:
    code = shop.codes["spring"]
    gate = GateTransport()
    counter = shop.terminal()
    shop.service.stop()
    assert counter.counter.redeem(code, "alice", 62000).offline
    shop.service.start()
    hold = gate.hold("POST", "/v1/uploads", at=at)
    syncer = actor.run(lambda: shop.terminal(pull=False, transport=gate, path=counter.db.path))
    report = actor.run(lambda: syncer.result().sync())
    hold.wait_arrived()
    undo = counter.counter.cancel(code, "alice")  # Ctrl+Z while the upload carries the redemption
    assert undo.queued
    hold.release()
    assert report.result().results == {"accepted": 1, "cancelled": 1}  # the cancel went up right behind it
    settled(counter)
    assert live_on_service(shop, code) == []
    assert shop.query("SELECT cancel_reason FROM redemptions WHERE code=?", code) == [("cancel",)]
    assert live_on_terminal(counter, code) == []
    states = dict(counter.db.conn.execute("SELECT kind, state FROM outbox").fetchall())
    assert states == {"redeem": "accepted", "cancel": "cancelled"}


def test_an_undo_before_the_upload_withdraws_and_nothing_is_sent(shop: Shop) -> None:
    code = shop.codes["spring"]
    t = shop.terminal()
    shop.service.stop()
    t.counter.redeem(code, "alice", 62000)
    assert t.counter.cancel(code, "alice").queued
    shop.service.start()
    settled(t)
    assert shop.query("SELECT count(*) FROM redemptions") == [(0,)]
    assert t.db.conn.execute("SELECT state FROM outbox").fetchall() == [("withdrawn",)]


# -- 3. catalog pull × offline decision ---------------------------------------------------------------
def test_the_counter_decides_with_the_campaign_the_background_sync_just_pulled(shop: Shop) -> None:
    code, other = shop.codes["spring"], shop.codes["spring2"]
    counter = shop.terminal()
    counter.counter.endpoint = None  # the link is down at the counter
    assert counter.counter.redeem(code, "alice", 62000).offline  # the campaign is cached by this connection now
    manager = shop.terminal("S001-T2").endpoint
    session = manager.login("carol", PINS["carol"])["session"]
    assert manager.campaign_step(session, "SPRING", "pause")["status"] == "paused"
    puller = shop.terminal(path=counter.db.path)  # the UI's sync pulls the pause into the same file
    assert puller.db.campaign("SPRING").status.value == "paused"
    verdict = counter.counter.redeem(other, "alice", 62000)
    assert verdict.reason is Reason.CAMPAIGN_INACTIVE, verdict


# -- 4. two terminals' uploads of one voucher ------------------------------------------------------
def test_two_tills_upload_the_same_voucher_at_once_one_wins_one_conflict(shop: Shop) -> None:
    code = shop.codes["spring"]
    gate1, gate2 = GateTransport(), GateTransport()
    t1, t2 = shop.terminal("S001-T1"), shop.terminal("S001-T2")
    shop.service.stop()
    assert t1.counter.redeem(code, "alice", 62000).offline and t2.counter.redeem(code, "alice", 62000).offline
    shop.service.start()
    holds = [gate1.hold("POST", "/v1/uploads", at="request"), gate2.hold("POST", "/v1/uploads", at="request")]
    a1, a2 = Actor(), Actor()
    try:
        s1 = a1.run(lambda: shop.terminal("S001-T1", pull=False, transport=gate1, path=t1.db.path).sync())
        s2 = a2.run(lambda: shop.terminal("S001-T2", pull=False, transport=gate2, path=t2.db.path).sync())
        for hold in holds:
            hold.wait_arrived()
        for hold in reversed(holds):
            hold.release()
        results = s1.result().results + s2.result().results
    finally:
        a1.close()
        a2.close()
    assert results == {"accepted": 1, "conflict": 1}
    assert len(live_on_service(shop, code)) == 1
    assert shop.query("SELECT count(*) FROM conflicts") == [(1,)]
    kept = [t for t in (t1, t2) if t.db.conn.execute("SELECT count(*) FROM conflicts").fetchone() == (1,)]
    assert len(kept) == 1  # the losing till keeps its conflict for the manager


# -- 5. undo after a lost answer -----------------------------------------------------------------------
def test_an_undo_after_a_lost_answer_reaches_the_service(shop: Shop) -> None:
    code = shop.codes["spring"]
    gate = GateTransport()
    for _ in range(2):
        gate.hold("POST", "/v1/redemptions", at="answer").release(lose=True)
    t = shop.terminal(transport=gate)
    verdict = t.counter.redeem(code, "alice", 62000)
    assert verdict.accepted and verdict.offline  # the service has it, the terminal could not hear so
    assert len(live_on_service(shop, code)) == 1
    assert t.counter.cancel(code, "alice").queued
    settled(t)
    assert live_on_service(shop, code) == []
    assert shop.query("SELECT cancel_reason FROM redemptions WHERE code=?", code) == [("void",)]
    other = shop.terminal("S001-T2")
    assert other.counter.redeem(code, "alice", 62000).accepted  # the voucher is free again


# -- 6. a verdict committed but never displayed ------------------------------------------------------
def test_a_verdict_never_displayed_is_shown_again_at_the_rescan(shop: Shop) -> None:
    code = shop.codes["spring"]
    t = shop.terminal()
    dying = LocalDB(t.db.path)  # a counter that dies after the commit, before the frame is drawn
    from pos.terminal.counter import Counter

    assert Counter(dying, t.endpoint, store_id="S001", terminal_id="S001-T1").redeem(code, "alice", 62000).accepted
    assert recover(t.db, t.endpoint) == 0  # still alive: maybe drawing it right now
    dying.close()
    assert recover(t.db, t.endpoint) == 1
    again = t.counter.redeem(code, "alice", 62000)  # the cashier scans it again
    assert again.accepted and "restarted" in again.message
    decision = t.counter.decide(code, "alice", 62000)  # shown until the screen confirms it, then never again
    assert decision.verdict.accepted and t.counter.shown(decision.entry)
    assert t.counter.redeem(code, "alice", 62000).reason is Reason.ALREADY_REDEEMED
    settled(t)
    assert len(live_on_service(shop, code)) == 1


# -- 7. a shell's pos redeem (another process) while the UI's counter waits --------------------------
def test_pos_redeem_in_a_shell_recovers_nothing_of_a_counter_in_flight(shop: Shop, actor: Actor) -> None:
    code, other = shop.codes["spring"], shop.codes["spring2"]
    gate = GateTransport()
    hold = gate.hold("POST", "/v1/redemptions", at="request")
    counter = actor.run(lambda: shop.terminal(transport=gate)).result()
    cfg = shop.tmp / "shell.toml"
    write(cfg, TerminalConfig(service_url=shop.service.url, token=TOKENS["S001-T1"], store_id="S001",
                              terminal_id="S001-T1", database=counter.db.path, staff_id="alice"))
    verdict = actor.run(lambda: counter.counter.redeem(code, "alice", 62000))
    hold.wait_arrived()
    shell = subprocess.run([sys.executable, "-m", "pos", "redeem", other, "--amount", "620", "--config", str(cfg)],
                           capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})
    assert shell.returncode == 0, shell.stdout + shell.stderr
    hold.release()
    assert verdict.result().accepted
    after = shop.terminal(pull=False, path=counter.db.path)
    settled(after)
    assert len(live_on_service(shop, code)) == 1 and len(live_on_service(shop, other)) == 1
    assert shop.query("SELECT count(*) FROM redemptions WHERE cancelled_at IS NOT NULL") == [(0,)]
    journal = dict(after.db.conn.execute("SELECT code, state FROM journal WHERE nonce IS NOT NULL").fetchall())
    assert journal == {code: "given", other: "shown"}  # the shell printed its verdict; ours was not drawn here


def test_the_terminal_file_is_written_in_one_module_only() -> None:
    """Counter, undo, upload, pull, recovery and login change the terminal's state through LocalDB alone."""
    import re
    from pathlib import Path

    import pos

    root = Path(pos.__file__).parent
    writers = []
    for path in [*(root / "terminal").glob("*.py"), *(root / "tui").rglob("*.py"), root / "cli.py", root / "demo.py"]:
        if path.name in ("localdb.py", "states.py"):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r'["\'](INSERT|UPDATE|DELETE|REPLACE)\s', line):
                writers.append(f"{path.relative_to(root)}:{n}")
    assert writers == []


def test_an_undo_whose_counter_died_waiting_for_the_service_is_finished_by_recovery(shop: Shop) -> None:
    """The service cancelled it, the terminal died before recording so: the next sync agrees with it."""
    code = shop.codes["spring"]
    t = shop.terminal()
    assert t.counter.redeem(code, "alice", 62000).accepted
    [(nonce,)] = live_on_terminal(t, code)
    dying = LocalDB(t.db.path)  # what Counter.cancel leaves when it dies while the service answers
    with dying.atomic():
        dying.journal(at=t.counter.clock(), nonce=nonce, raw=code, staff_id="alice", store_id="S001",
                      amount=62000, state="undoing", mode="online")
    t.endpoint.cancel(nonce, staff_id="alice")
    assert recover(t.db, t.endpoint) == 0  # the undo's counter is alive: not touched
    assert live_on_terminal(t, code) == [(nonce,)]
    dying.close()
    assert recover(t.db, t.endpoint) == 1
    assert live_on_terminal(t, code) == []
    settled(t)
    assert live_on_service(shop, code) == []
    assert t.db.conn.execute("SELECT state FROM journal WHERE state IN ('undoing','cancelled')").fetchall() == [
        ("cancelled",)]


def test_an_undo_after_an_upload_whose_answer_was_lost_voids_it_on_the_service(shop: Shop) -> None:
    """Found by the schedule explorer: the upload reached the service, its answer did not come back, the
    entry went back to waiting — and an undo then withdrew it as if the service had never seen it."""
    code = shop.codes["spring"]
    t = shop.terminal()
    shop.service.stop()
    assert t.counter.redeem(code, "alice", 62000).offline
    shop.service.start()
    gate = GateTransport()
    gate.hold("POST", "/v1/uploads", at="answer").release(lose=True)
    lossy = shop.terminal(pull=False, transport=gate, path=t.db.path)
    assert lossy.sync().error is not None
    assert len(live_on_service(shop, code)) == 1  # the service has it; the terminal does not know
    assert t.counter.cancel(code, "alice").queued
    settled(t)
    assert live_on_service(shop, code) == []
