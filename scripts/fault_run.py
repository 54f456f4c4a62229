"""Redeem through a loopback proxy that injects a random network fault into every request, then sync
over a clean link; check exactly-once. Prints faults injected and lost / duplicated / wrongly kept.

Each round: one voucher of an offline-allowed campaign or of an online-only one (chosen at random),
one fault (delay beyond the timeout, black hole, reset, HTTP 500, cut after the service answered,
link down, or none). Afterwards:
  lost           accepted at the counter, not live on the service after sync
  duplicated     more than one live redemption of a voucher
  wrongly kept   refused at the counter, yet live on the service after sync
  slow           a verdict that took longer than twice the timeout (+0.5 s)

    .venv/bin/python scripts/fault_run.py [--rounds 300] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter as Tally
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import make_service_db

from pos.demo import TOKENS
from pos.service.admin import issue_vouchers
from pos.service.engine import connect
from pos.service.schema import open_db
from pos.terminal.counter import Counter
from pos.terminal.endpoint import Endpoint
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import sync
from pos.testing.faultproxy import FAULTS, FaultProxy
from pos.testing.postgres import PostgresServer
from pos.testing.process import ServiceProcess

TIMEOUT = 0.4


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--workdir", type=Path, default=Path("bench-out/faults"))
    ap.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite",
                    help="the service's database (postgres: a throwaway server started here)")
    args = ap.parse_args()
    if args.engine == "postgres":
        with PostgresServer() as pg:
            return run(args, pg.create_database("faults"))
    return run(args, None)


def run(args: argparse.Namespace, url: str | None) -> int:
    rng = random.Random(args.seed)
    args.workdir.mkdir(parents=True, exist_ok=True)
    for f in args.workdir.glob("*"):
        f.unlink()
    service_db = url or str(args.workdir / "service.db")
    spring = make_service_db(service_db, args.rounds)
    db = open_db(service_db)
    vip = issue_vouchers(db, "VIP5", count=args.rounds)  # online only, one customer each
    with db.atomic():
        db.execute("UPDATE vouchers SET customer_id = code WHERE campaign_id='VIP5'")
    db.close()
    verdicts: dict[str, bool] = {}
    tally: Tally[str] = Tally()
    slow = 0
    with ServiceProcess(service_db, log=args.workdir / "service.log") as service, FaultProxy(service.port) as proxy:
        local = LocalDB(args.workdir / "terminal.db")
        endpoint = Endpoint(proxy.url, TOKENS["S001-T1"], timeout=TIMEOUT)
        counter = Counter(local, endpoint, store_id="S001", terminal_id="S001-T1", budget=TIMEOUT)
        assert sync(local, endpoint, "S001").error is None
        for i in range(args.rounds):
            fault = rng.choice([*FAULTS, "pass"])
            online_only = rng.random() < 0.4
            code = vip[i] if online_only else spring[i]
            proxy.set(fault, delay=3 * TIMEOUT)
            t0 = time.monotonic()
            verdict = counter.redeem(code, "alice", 10000 if online_only else 60000)
            slow += time.monotonic() - t0 > 2 * TIMEOUT + 0.5
            verdicts[code] = verdict.accepted
            tally[f"{fault}:{'accepted' if verdict.accepted else verdict.reason}"] += 1
            if rng.random() < 0.1:
                proxy.set("pass")
                sync(local, endpoint, "S001")
        proxy.set("pass")
        time.sleep(4 * TIMEOUT)  # let delayed requests land before the last sync
        report = sync(local, endpoint, "S001")
        injected = sum(proxy.injected.values())
    conn = connect(service_db)
    try:
        live = dict(conn.execute("SELECT code, count(*) FROM redemptions WHERE cancelled_at IS NULL GROUP BY code")
                    .fetchall())
        conflicts = conn.execute("SELECT count(*) FROM conflicts").fetchone()[0]
    finally:
        conn.close()
    lost = sum(1 for c, ok in verdicts.items() if ok and live.get(c, 0) != 1)
    duplicated = sum(1 for n in live.values() if n > 1)
    wrongly_kept = sum(1 for c, ok in verdicts.items() if not ok and live.get(c, 0))
    result = {"rounds": args.rounds, "faults_injected": injected, "by_fault_and_verdict": dict(sorted(tally.items())),
              "lost": lost, "duplicated": duplicated, "wrongly_kept": wrongly_kept, "slow_verdicts": slow,
              "conflicts": conflicts, "final_sync_ok": report.ok, "seed": args.seed}
    print(json.dumps(result, indent=1))
    bad = lost or duplicated or wrongly_kept or slow or conflicts or not report.ok
    print("EXACTLY ONCE " + ("VIOLATED" if bad else "HOLDS"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
