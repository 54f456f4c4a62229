"""Explore many seeded interleavings of the counter, its undo, the background sync, a shell's pos redeem
and a second till against a real ``pos serve`` (see pos/testing/schedules.py); print the figures and
the first failing seeds with their traces.

    .venv/bin/python scripts/explore_schedules.py [--schedules 2000] [--first-seed 0] [--fault-rate 0.15] [--kill-rate 0.02]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from pos.testing.schedules import exploring


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--schedules", type=int, default=2000)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--fault-rate", type=float, default=0.15)
    ap.add_argument("--kill-rate", type=float, default=0.02, help="chance an actor is killed at a step")
    args = ap.parse_args()
    started = time.monotonic()
    tally: Counter[str] = Counter()
    failed = []
    with tempfile.TemporaryDirectory() as tmp, exploring(Path(tmp), args.schedules) as explorer:
        explorer.fault_rate, explorer.kill_rate = args.fault_rate, args.kill_rate
        for seed in range(args.first_seed, args.first_seed + args.schedules):
            out = explorer.run(seed)
            tally["schedules"] += 1
            tally["steps"] += out.steps
            tally["faults"] += out.faults
            tally["kills"] += out.kills
            tally["verdicts shown"] += len(out.shown)
            tally["accepted shown"] += sum(s.accepted for s in out.shown)
            tally["undos"] += len(out.undone)
            if out.problems:
                failed.append({"seed": seed, "problems": out.problems, "trace": out.trace})
            if tally["schedules"] % 250 == 0:
                print(f"  {tally['schedules']} schedules, {len(failed)} failed", file=sys.stderr, flush=True)
    print(json.dumps({**tally, "failed": len(failed), "seconds": round(time.monotonic() - started, 1),
                      "first_failures": failed[:3]}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
