"""The schedule explorer (:mod:`pos.testing.schedules`) on every change: seeded interleavings of the
counter, its undo, the background sync, a shell's pos redeem and a second till, with faults, against a
real ``pos serve``; the invariants hold after each. ``POS_SCHEDULES`` sets how many (default 40);
``scripts/explore_schedules.py`` runs thousands."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pos.demo import TOKENS, demo_fixture
from pos.service.admin import issue_vouchers, load_fixture
from pos.service.process import ServiceProcess
from pos.service.schema import open_db
from pos.terminal.endpoint import Endpoint
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import sync
from pos.testing.schedules import Explorer, Till

SCHEDULES = int(os.environ.get("POS_SCHEDULES", "40"))


def shop_for_exploring(work: Path, vouchers: int) -> tuple[Path, list[str]]:
    path = work / "service.db"
    fixture, _ = demo_fixture(datetime.now(UTC))
    db = open_db(path)
    load_fixture(db, fixture)
    codes = issue_vouchers(db, "SPRING", count=vouchers)
    db.close()
    return path, codes


def templates(url: str, work: Path) -> list[Till]:
    tills = []
    for tid in ("S001-T1", "S001-T2"):
        template = work / f"template-{tid}.db"
        db = LocalDB(template)
        with Endpoint(url, TOKENS[tid]) as endpoint:
            assert sync(db, endpoint, "S001").error is None
        db.close()
        tills.append(Till(tid, TOKENS[tid], template))
    return tills


@pytest.fixture(scope="module")
def explorer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Explorer]:
    work = tmp_path_factory.mktemp("explore")
    service_db, codes = shop_for_exploring(work, 3 * SCHEDULES + 3)
    service = ServiceProcess(service_db, log=work / "service.log").start()
    try:
        yield Explorer(service.url, service_db, templates(service.url, work), codes, work)
    finally:
        service.stop()


def test_every_explored_schedule_keeps_the_invariants(explorer: Explorer) -> None:
    failed = []
    steps = faults = 0
    for seed in range(SCHEDULES):
        outcome = explorer.run(seed)
        steps += outcome.steps
        faults += outcome.faults
        if outcome.problems:
            failed.append((seed, outcome.problems, outcome.trace))
    print(f"\n{SCHEDULES} schedules, {steps} scheduling steps, {faults} injected faults, {len(failed)} failed")
    assert not failed, "\n".join(f"seed {s}: {p}\n  " + "\n  ".join(t) for s, p, t in failed[:3])
