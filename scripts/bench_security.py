"""Security checks with figures: what a PIN hash costs an attacker, whether a login's answer or its time
tells a real staff id from an unknown one, and which PIN hashes a till of another store holds.

Runs against a real ``pos serve`` on loopback over a fresh SQLite file.

    .venv/bin/python scripts/bench_security.py            # 30 tries per kind of login
    .venv/bin/python scripts/bench_security.py --small    # a quick run (CI)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import machine, percentile

from pos.demo import PINS, TOKENS, demo_fixture
from pos.domain.pins import MAX_FAILURES, hash_pin, verify_pin
from pos.service.admin import load_fixture
from pos.service.schema import open_db
from pos.terminal.endpoint import Endpoint, Refused
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import sync
from pos.testing.process import ServiceProcess


def hash_cost(n: int) -> float:
    stored = hash_pin("4711")
    times = []
    for _ in range(n):
        started = time.perf_counter()
        verify_pin("0000", stored)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=30, help="wrong-PIN logins per kind (known id, unknown id)")
    parser.add_argument("--small", action="store_true", help="a quick run: 8 tries per kind")
    args = parser.parse_args()
    tries = 8 if args.small else args.tries
    print(f"# security checks — {machine()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")

    per_try = hash_cost(5 if args.small else 30)
    print("\n## What one stolen PIN hash costs (scrypt N=2^14, r=8, p=1; one core)")
    print("| PIN | tries to exhaust | time on one core |\n|---|---|---|")
    print(f"| one try | 1 | {per_try * 1000:.1f} ms |")
    for digits, who in ((4, "a cashier's, 4 digits"), (6, "a manager's, 6 digits"), (8, "8 digits")):
        total = 10 ** digits * per_try
        print(f"| {who} | {10 ** digits:,} | {total / 60:,.0f} min ({total / 3600:,.1f} h) |")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "service.db"
        fixture, _ = demo_fixture(datetime.now(UTC))
        # enough real ids that no one of them is locked by the tries below
        extra = [{"id": f"clerk{i}", "name": f"Clerk {i}", "role": "cashier", "pin": "4711"}
                 for i in range(tries // (MAX_FAILURES - 1) + 1)]
        fixture["staff"] += extra
        db = open_db(path)
        load_fixture(db, fixture)
        db.close()
        with ServiceProcess(path, log=Path(tmp) / "service.log") as service, \
                Endpoint(service.url, TOKENS["S002-T1"]) as e:
            timings: dict[str, list[float]] = {"known": [], "unknown": []}
            answers: dict[str, set[tuple[int, str, str]]] = {"known": set(), "unknown": set()}
            for i in range(tries):  # interleaved, so that the machine's noise falls on both alike
                for kind, who in (("known", extra[i // (MAX_FAILURES - 1)]["id"]),
                                  ("unknown", f"ghost{i // (MAX_FAILURES - 1)}")):
                    started = time.perf_counter()
                    try:
                        e.login(who, "0000")
                    except Refused as err:
                        answers[kind].add((err.status, err.code, err.message))
                    timings[kind].append(time.perf_counter() - started)
            print("\n## A wrong PIN for a real id against an id that is nobody's (loopback, interleaved)")
            print("| login | median | p90 | answers |\n|---|---|---|---|")
            for kind in ("known", "unknown"):
                ms = [t * 1000 for t in timings[kind]]
                print(f"| {kind} id, wrong PIN (n={len(ms)}) | {statistics.median(ms):.1f} ms | "
                      f"{percentile(ms, 90):.1f} ms | {sorted(answers[kind])} |")
            gap = abs(statistics.median(timings["known"]) - statistics.median(timings["unknown"])) * 1000
            print(f"\nmedian gap {gap:.1f} ms; the same answers: {answers['known'] == answers['unknown']}")
            locked = []
            for who in ("bob", "nobody"):
                seen = []
                for _ in range(MAX_FAILURES + 1):
                    try:
                        e.login(who, "0000")
                    except Refused as err:
                        seen.append(err.code)
                locked.append(seen)
            print(f"six wrong PINs, a real id: {locked[0]}")
            print(f"six wrong PINs, nobody's id: {locked[1]}")

            local = LocalDB(Path(tmp) / "S002-T1.db")
            try:
                sync(local, e, "S002")
                held = {r[0]: bool(r[1]) for r in local.conn.execute("SELECT id, pin_hash IS NOT NULL FROM staff")}
            finally:
                local.close()
        print("\n## The PIN hashes a till of store S002 holds after its catalog pull")
        roles = {s["id"]: s["role"] for s in fixture["staff"]}
        print("| staff | role | hash at the S002 till |\n|---|---|---|")
        for sid in sorted(held, key=lambda s: (roles.get(s, ""), s)):
            if sid.startswith("clerk"):
                continue
            print(f"| {sid} | {roles.get(sid)} | {'yes' if held[sid] else 'no'} |")
        print(f"| clerk0…clerk{len(extra) - 1} (verify nowhere) | cashier | "
              f"{sum(held.get(x['id'], False) for x in extra)} of {len(extra)} |")
        assert not any(held[s] for s in held if roles.get(s) == "manager"), "a manager's hash reached a till"
        assert PINS  # the demo's PINs are documented; none of them appears in the till's file (hashes only)


if __name__ == "__main__":
    main()
