"""The schedule explorer (:mod:`pos.testing.schedules`) on every change: seeded interleavings of the
counter, its undo, the background sync, a shell's pos redeem and a second till, with faults, against a
real ``pos serve``; the invariants hold after each. ``POS_SCHEDULES`` sets how many (default 40);
``scripts/explore_schedules.py`` runs thousands."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from pos.testing.schedules import Explorer, exploring

SCHEDULES = int(os.environ.get("POS_SCHEDULES", "40"))


@pytest.fixture(scope="module")
def explorer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Explorer]:
    with exploring(tmp_path_factory.mktemp("explore"), SCHEDULES) as explorer:
        yield explorer


def test_every_explored_schedule_keeps_the_invariants(explorer: Explorer) -> None:
    failed = []
    steps = faults = kills = 0
    for seed in range(SCHEDULES):
        outcome = explorer.run(seed)
        steps += outcome.steps
        faults += outcome.faults
        kills += outcome.kills
        if outcome.problems:
            failed.append((seed, outcome.problems, outcome.trace))
    print(f"\n{SCHEDULES} schedules, {steps} scheduling steps, {faults} injected faults, {kills} actors killed, "
          f"{len(failed)} failed")
    assert not failed, "\n".join(f"seed {s}: {p}\n  " + "\n  ".join(t) for s, p, t in failed[:3])
