"""``pos sync`` of 100,000 offline redemptions against the service on loopback.

Same run, same machine, each against a fresh service (synchronous=FULL):
  pos sync       the real command (``pos sync --json``, its default batches), timed from start to exit,
                 uploading N offline redemptions, then pulling the catalog;
  batch-size-1   the same command with ``--batch-size 1``: one redemption per request (it still keeps
                 two requests in flight), on a sample, extrapolated linearly to N;
  sequential     the plain alternative: one POST per redemption, each waiting for the last, with no
                 local bookkeeping at all (flattering to it), on a sample, extrapolated linearly to N.

The terminal's outbox is filled in one transaction with the entries the counter writes
(``pos.terminal.counter.offline_item``, each with its clock anchor: a catalog pull an hour before, the
redemptions in the 50 minutes after it). Afterwards every run is checked for exactly once: the service holds
N redemptions of N distinct vouchers, and the terminal's outbox has N entries answered "accepted".

    .venv/bin/python scripts/bench_sync.py [--redemptions 100000] [--sample 3000]
    .venv/bin/python scripts/bench_sync.py --small      # every run, quickly (tests/test_bench_sync.py)
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
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import child_cpu, load_average, machine, make_service_db, process_cpu

from pos.demo import TOKENS
from pos.domain import format_time, parse_time
from pos.terminal.config import TerminalConfig, write
from pos.terminal.counter import offline_item
from pos.terminal.endpoint import Endpoint
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import sync
from pos.testing.process import ServiceProcess

TARGET_SECONDS = 5.0
TARGET_FACTOR = 30


def fill_outbox(local: LocalDB, codes: list[str]) -> None:
    """The terminal's outbox as the counter leaves it after ``len(codes)`` offline redemptions: its catalog
    pulled an hour ago (the service's time then is the anchor), the redemptions in the 50 minutes after."""
    anchor = local.clock_anchor()
    assert anchor is not None, "the catalog pull records the service's time"
    contact = parse_time(anchor["contact_at"]) - timedelta(hours=1)
    step = 3000 / len(codes)
    with local.atomic() as conn:
        for i, code in enumerate(codes):
            nonce = uuid.uuid4().hex
            elapsed = round((i + 1) * step, 3)
            at = contact + timedelta(seconds=elapsed)
            clock = {"contact_at": format_time(contact), "elapsed": elapsed}
            conn.execute(
                "INSERT INTO redemptions (nonce, code, campaign_id, store_id, staff_id, amount, discount, "
                "redeemed_at, mode) VALUES (?, ?, 'SPRING', 'S001', 'alice', 60000, 3000, ?, 'offline')",
                (nonce, code, at.isoformat()))
            conn.execute("INSERT INTO outbox (nonce, seq, kind, body, created_at) VALUES (?, ?, 'redeem', ?, ?)",
                         (nonce, i + 1, json.dumps(offline_item(nonce, code, "alice", 60000, at, clock=clock)),
                          at.isoformat()))


def upload_sequentially(url: str, term_db: Path, n: int) -> subprocess.CompletedProcess[str]:
    """The plain alternative: one POST per redemption, each waiting for the last, nothing recorded."""
    local = LocalDB(term_db)
    with Endpoint(url, TOKENS["S001-T1"]) as ep:
        answers = [ep.upload("S001", [json.loads(r["body"])])[0]["result"] for r in local.pending(n)]
    local.close()
    return subprocess.CompletedProcess([], 0, json.dumps({"uploaded": {"accepted": answers.count("accepted")}}))


def run(workdir: Path, name: str, n: int, batch: int | None, sequential: bool = False) -> dict[str, Any]:
    service_db = workdir / f"{name}-service.db"
    codes = make_service_db(service_db, n)
    term_db = workdir / f"{name}-terminal.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(term_db) + suffix).unlink(missing_ok=True)
    with ServiceProcess(service_db, log=workdir / f"{name}.log") as service:
        local = LocalDB(term_db)
        with Endpoint(service.url, TOKENS["S001-T1"]) as ep:
            assert sync(local, ep, "S001").error is None  # the catalog, as a terminal has it before going offline
        fill_outbox(local, codes)
        local.close()
        cfg = workdir / f"{name}.toml"
        write(cfg, TerminalConfig(service_url=service.url, token=TOKENS["S001-T1"], store_id="S001",
                                  terminal_id="S001-T1", database=term_db))
        served, children, t0 = process_cpu(service.proc.pid), child_cpu(), time.perf_counter()
        if sequential:
            proc = upload_sequentially(service.url, term_db, n)
        else:
            sizing = [] if batch is None else ["--batch-size", str(batch)]
            proc = subprocess.run([sys.executable, "-m", "pos", "sync", "--json", *sizing],
                                  env={**os.environ, "POS_CONFIG": str(cfg)}, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        cpu = {"service_cpu_seconds": round(process_cpu(service.proc.pid) - served, 2),
               "sync_cpu_seconds": None if sequential else round(child_cpu() - children, 2)}
    return {"run": name, "redemptions": n, "batch_size": batch or "default", "seconds": round(elapsed, 2),
            "per_second": round(n / elapsed), "exit": proc.returncode, **cpu,
            **exactly_once(proc, service_db, term_db, n, sequential)}


def exactly_once(proc: subprocess.CompletedProcess[str], service_db: Path, term_db: Path, n: int,
                 sequential: bool) -> dict[str, Any]:
    """What the run left: every redemption once at the service, and (for pos sync) every outbox entry answered."""
    summary = json.loads(proc.stdout)
    with sqlite3.connect(service_db) as conn:
        stored = conn.execute("SELECT count(*), count(DISTINCT code) FROM redemptions WHERE mode='offline'").fetchone()
    with sqlite3.connect(term_db) as conn:
        answered = conn.execute("SELECT count(*) FROM outbox WHERE state='accepted'").fetchone()[0]
    ok = (proc.returncode == 0 and summary["uploaded"] == {"accepted": n} and stored == (n, n)
          and (sequential or answered == n))
    return {"service_has": stored[0], "outbox_accepted": answered, "exactly_once": ok}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redemptions", type=int, default=100_000)
    ap.add_argument("--sample", type=int, default=3000, help="redemptions for the one-by-one baselines")
    ap.add_argument("--batch-size", type=int, default=None, help="pos sync --batch-size (default: the command's)")
    ap.add_argument("--small", action="store_true", help="2,000 redemptions, samples of 200: every run, quickly")
    ap.add_argument("--workdir", type=Path, default=Path("bench-out/sync"))
    args = ap.parse_args()
    if args.small:
        args.redemptions, args.sample = 2000, 200
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"# bench_sync: {args.redemptions:,} offline redemptions, {machine()}, load {load_average()}")
    ours = run(args.workdir, "pos-sync", args.redemptions, args.batch_size)
    print(json.dumps(ours))
    one = run(args.workdir, "batch-size-1", args.sample, 1)
    print(json.dumps(one))
    seq = run(args.workdir, "sequential", args.sample, 1, sequential=True)
    print(json.dumps(seq))
    print(f"# load afterwards {load_average()}")
    met = "met" if ours["seconds"] <= TARGET_SECONDS else "not met"
    print(f"\npos sync: {args.redemptions:,} in {ours['seconds']} s ({ours['per_second']}/s), "
          f"target <= {TARGET_SECONDS:.0f} s: {met}")
    for base in (one, seq):
        projected = args.redemptions / base["per_second"]
        factor = projected / ours["seconds"]
        print(f"{base['run']}: {base['per_second']}/s measured on {args.sample:,}, so {projected:.0f} s for "
              f"{args.redemptions:,} (extrapolated); pos sync is {factor:.0f}x faster "
              f"(target >= {TARGET_FACTOR}x: {'met' if factor >= TARGET_FACTOR else 'not met'})")
    every = (ours, one, seq)
    print(json.dumps({"exactly_once": all(r["exactly_once"] for r in every), "runs": list(every)}))
    return 0 if all(r["exactly_once"] for r in every) else 1


if __name__ == "__main__":
    sys.exit(main())
