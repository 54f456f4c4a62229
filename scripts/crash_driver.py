"""A cashier that never stops: redeems the vouchers in CODES one by one through the real counter,
syncs every few redemptions, and writes each verdict to SHOWN (fsynced) the moment it would be on screen.

Run by scripts/crash_harness.py, which kills it with SIGKILL at random and starts it again; on each
start it settles what the last run left pending and carries on with the first code not yet shown.

    python scripts/crash_driver.py CONFIG CODES SHOWN [--sync-every 15]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pos.terminal import config as cfgmod
from pos.terminal.counter import Counter
from pos.terminal.endpoint import Endpoint, EndpointError
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import recover, sync


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("codes", type=Path)
    ap.add_argument("shown", type=Path)
    ap.add_argument("--sync-every", type=int, default=15)
    args = ap.parse_args()
    cfg = cfgmod.load(args.config)
    db = LocalDB(cfg.database)
    endpoint = Endpoint(cfg.service_url, cfg.token, timeout=0.5)
    counter = Counter(db, endpoint, store_id=cfg.store_id, terminal_id=cfg.terminal_id, budget=0.5)
    try:
        recover(db, endpoint)
    except EndpointError:
        pass
    done = set()
    if args.shown.exists():
        done = {line.split()[0] for line in args.shown.read_text().splitlines() if line.strip()}
    todo = [c for c in args.codes.read_text().split() if c not in done]
    with open(args.shown, "a", encoding="utf-8") as shown:
        for i, code in enumerate(todo, 1):
            verdict = counter.redeem(code, "alice", 60000)
            shown.write(f"{code} {verdict.reason} {'offline' if verdict.offline else 'online'}\n")
            shown.flush()
            os.fsync(shown.fileno())
            if i % args.sync_every == 0:
                sync(db, endpoint, cfg.store_id, batch_size=7)
    return 0


if __name__ == "__main__":
    sys.exit(main())
