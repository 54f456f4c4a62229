"""``pos sync`` of 100,000 offline redemptions against the service on loopback.

Same run, same machine, each against a fresh service (synchronous=FULL):
  pos sync       the real command (``pos sync --json``, default batches of 1,000), timed from start
                 to exit, uploading N offline redemptions, then pulling the catalog;
  batch-size-1   the same command with ``--batch-size 1``: one redemption per request (it still keeps
                 two requests in flight), on a sample, extrapolated linearly to N;
  sequential     the plain alternative: one POST per redemption, each waiting for the last, with no
                 local bookkeeping at all (flattering to it), on a sample, extrapolated linearly to N.

The terminal's outbox is filled in one transaction with the same entries the counter writes
(``pos.terminal.counter.offline_item``); the service's final state is checked afterwards.

    .venv/bin/python scripts/bench_sync.py [--redemptions 100000] [--sample 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import machine, make_service_db

from pos.demo import TOKENS
from pos.terminal.config import TerminalConfig, write
from pos.terminal.counter import offline_item
from pos.terminal.endpoint import Endpoint
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import sync
from pos.testing.process import ServiceProcess


def run(workdir: Path, name: str, n: int, batch: int, sequential: bool = False) -> dict:
    service_db = workdir / f"{name}-service.db"
    codes = make_service_db(service_db, n)
    term_db = workdir / f"{name}-terminal.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(term_db) + suffix).unlink(missing_ok=True)
    with ServiceProcess(service_db, log=workdir / f"{name}.log") as service:
        local = LocalDB(term_db)
        t0 = time.perf_counter()
        with Endpoint(service.url, TOKENS["S001-T1"]) as ep:
            assert sync(local, ep, "S001").error is None  # the catalog, as a terminal has it before going offline
        pull = time.perf_counter() - t0
        at = datetime.now(UTC) - timedelta(hours=1)
        with local.atomic() as conn:
            for i, code in enumerate(codes):
                nonce = uuid.uuid4().hex
                conn.execute(
                    "INSERT INTO redemptions (nonce, code, campaign_id, store_id, staff_id, amount, discount, "
                    "redeemed_at, mode) VALUES (?, ?, 'SPRING', 'S001', 'alice', 60000, 3000, ?, 'offline')",
                    (nonce, code, at.isoformat()))
                conn.execute("INSERT INTO outbox (nonce, seq, kind, body, created_at) VALUES (?, ?, 'redeem', ?, ?)",
                             (nonce, i + 1, json.dumps(offline_item(nonce, code, "alice", 60000, at)), at.isoformat()))
        local.close()
        cfg = workdir / f"{name}.toml"
        write(cfg, TerminalConfig(service_url=service.url, token=TOKENS["S001-T1"], store_id="S001",
                                  terminal_id="S001-T1", database=term_db))
        t0 = time.perf_counter()
        if sequential:
            local = LocalDB(term_db)
            with Endpoint(service.url, TOKENS["S001-T1"]) as ep:
                answers = [ep.upload("S001", [json.loads(r["body"])])[0]["result"] for r in local.pending(n)]
            local.close()
            proc = subprocess.CompletedProcess([], 0, json.dumps({"uploaded": {"accepted": answers.count("accepted")}}))
        else:
            proc = subprocess.run([sys.executable, "-m", "pos", "sync", "--json", "--batch-size", str(batch)],
                                  env={**os.environ, "POS_CONFIG": str(cfg)}, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
    summary = json.loads(proc.stdout)
    with sqlite3.connect(service_db) as conn:
        stored = conn.execute("SELECT count(*), count(DISTINCT code) FROM redemptions WHERE mode='offline'").fetchone()
    ok = proc.returncode == 0 and summary["uploaded"] == {"accepted": n} and stored == (n, n)
    return {"run": name, "redemptions": n, "batch_size": batch, "seconds": round(elapsed, 2),
            "per_second": round(n / elapsed), "catalog_pull_seconds": round(pull, 2), "exit": proc.returncode,
            "service_has": stored[0], "exactly_once": ok}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redemptions", type=int, default=100_000)
    ap.add_argument("--sample", type=int, default=3000, help="redemptions for the one-by-one baseline")
    ap.add_argument("--workdir", type=Path, default=Path("bench-out/sync"))
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"# bench_sync: {args.redemptions:,} offline redemptions, {machine()}")
    ours = run(args.workdir, "pos-sync", args.redemptions, 1000)
    print(json.dumps(ours))
    one = run(args.workdir, "batch-size-1", args.sample, 1)
    print(json.dumps(one))
    seq = run(args.workdir, "sequential", args.sample, 1, sequential=True)
    print(json.dumps(seq))
    print(f"\npos sync: {args.redemptions:,} in {ours['seconds']} s ({ours['per_second']}/s), target < 15 s")
    for base in (one, seq):
        projected = args.redemptions / base["per_second"]
        print(f"{base['run']}: {base['per_second']}/s measured on {args.sample:,}, so {projected:.0f} s for "
              f"{args.redemptions:,} (extrapolated); pos sync is {projected / ours['seconds']:.0f}x faster (target >= 30x)")
    return 0 if ours["exactly_once"] and one["exactly_once"] and seq["exactly_once"] else 1


if __name__ == "__main__":
    sys.exit(main())
