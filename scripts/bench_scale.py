"""The service on PostgreSQL next to SQLite: durable redemptions with many service processes, and a
chain's nightly sync. Everything runs on this machine, on loopback, in one run.

Part ``redeem`` (50 keep-alive clients, each redeeming a different voucher per request, for
``--seconds`` per phase; every acknowledged redemption is durable: SQLite synchronous=FULL, PostgreSQL
with fsync and synchronous_commit on):

  sqlite-1    pos serve on a SQLite file, one process (the embedded default; the same-run baseline)
  pg-1/2/4    pos serve --workers N on one PostgreSQL database (a server this script starts with the
              distribution's defaults: fsync on)

Afterwards every phase's accepted answers are counted in its database: each must be there.

Part ``nightly`` (PostgreSQL, 2 service processes): ``--terminals`` terminals of one store upload their
outboxes at once (sizes mixed: most small, a few large; ``--conflicts`` of the vouchers were also
redeemed by another terminal), in batches of 1,000 as ``pos sync`` sends them; then each pulls its
catalog delta from where it stood in the evening (the others' redemptions). Per-batch upload costs and
the pulls are measured, and the run's totals printed.

    .venv/bin/python scripts/bench_scale.py [--part redeem|nightly|all] [--seconds 15] [--terminals 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_serve import drive
from benchlib import machine, make_service_db, percentile

from pos.domain import format_time
from pos.service.admin import add_terminal
from pos.service.engine import connect
from pos.service.schema import open_db
from pos.testing.postgres import PostgresServer
from pos.testing.process import ServiceProcess


def stored(target: str) -> int:
    db = connect(target)
    try:
        return int(db.execute("SELECT count(*) FROM redemptions").fetchone()[0])
    finally:
        db.close()


def redeem_phase(name: str, target: str, codes: list[str], clients: int, seconds: float, workdir: Path,
                 extra: list[str]) -> dict[str, Any]:
    service = ServiceProcess(target, synchronous="full", log=workdir / f"{name}.log", extra=extra).start()
    try:
        asyncio.run(drive(service.port, clients, 1.0, codes[:2000], True))  # warm up every process
        rest = codes[2000:]
        before = stored(target)
        elapsed, lat, tally = asyncio.run(drive(service.port, clients, seconds, rest, True))
        added = stored(target) - before
    finally:
        service.stop()
    ms = [v * 1000 for v in lat]
    return {"phase": name, "requests": len(lat), "seconds": round(elapsed, 2),
            "durable_per_second": round(tally.get("accepted", 0) / elapsed), "p50_ms": round(percentile(ms, 50), 2),
            "p99_ms": round(percentile(ms, 99), 2), "answers": tally, "in_database": added}


def part_redeem(pg: PostgresServer, args: argparse.Namespace) -> list[dict[str, Any]]:
    vouchers = int(args.seconds * 6000) + 2000
    results = []
    sqlite_db = args.workdir / "sqlite-1.db"
    codes = make_service_db(sqlite_db, vouchers)
    results.append(redeem_phase("sqlite-1", str(sqlite_db), codes, args.clients, args.seconds, args.workdir, []))
    for workers in (1, 2, 4):
        url = pg.create_database(f"bench_pg_{workers}")
        codes = make_service_db(url, vouchers)
        results.append(redeem_phase(f"pg-{workers}", url, codes, args.clients, args.seconds, args.workdir,
                                    ["--workers", str(workers)]))
        pg.drop_database(f"bench_pg_{workers}")
    return results


# -- the nightly sync ------------------------------------------------------------------------------------------
def outbox_sizes(n: int, rng: random.Random) -> list[int]:
    """Most terminals hold a few dozen offline redemptions; one in ten a few hundred; one in fifty 2,000."""
    sizes = []
    for _ in range(n):
        roll = rng.random()
        sizes.append(rng.randint(2000, 2500) if roll < 0.02 else rng.randint(200, 600) if roll < 0.12
                     else rng.randint(10, 80))
    return sizes


async def upload_outbox(client: httpx.AsyncClient, token: str, items: list[dict[str, Any]], batch: int,
                        costs: list[float], tally: dict[str, int]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    for i in range(0, len(items), batch):
        t0 = time.perf_counter()
        for attempt in range(5):  # as pos sync does: an upload is idempotent by its nonces, so it is sent again
            try:
                r = await client.post("/v1/uploads", json={"store_id": "S001", "items": items[i:i + batch]},
                                      headers=headers, timeout=300)
                break
            except httpx.TransportError:  # a keep-alive connection the server closed as it was reused
                tally["resent"] = tally.get("resent", 0) + 1
                if attempt == 4:
                    raise
        r.raise_for_status()
        costs.append(time.perf_counter() - t0)
        for result in r.json()["results"]:
            tally[result["result"]] = tally.get(result["result"], 0) + 1


async def pull_catalog(client: httpx.AsyncClient, token: str, since: int, pulls: list[float], rows: list[int],
                       tally: dict[str, int]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    t0 = time.perf_counter()
    more, n = True, 0
    while more:
        try:
            page = (await client.get("/v1/catalog", params={"since": since}, headers=headers, timeout=300)).json()
        except httpx.TransportError:
            tally["resent"] = tally.get("resent", 0) + 1
            continue
        since, more, n = page["cursor"], page["more"], n + len(page["vouchers"])
    pulls.append(time.perf_counter() - t0)
    rows.append(n)


def part_nightly(pg: PostgresServer, args: argparse.Namespace, engine: str) -> dict[str, Any]:
    rng = random.Random(7)
    sizes = outbox_sizes(args.terminals, rng)
    total = sum(sizes)
    url = pg.create_database("bench_nightly") if engine == "pg-2" else str(args.workdir / "nightly.db")
    codes = make_service_db(url, total)
    db = open_db(url)
    tokens = [add_terminal(db, f"S001-N{i:04d}", "S001") for i in range(args.terminals)]
    db.close()
    now = format_time(datetime.now(UTC))
    outboxes: list[list[dict[str, Any]]] = []
    taken = 0
    for size in sizes:
        mine = codes[taken:taken + size]
        taken += size
        outboxes.append([{"kind": "redeem", "nonce": uuid.uuid4().hex, "code": code, "staff_id": "alice",
                          "amount": 60000, "redeemed_at": now} for code in mine])
    conflicts = int(total * args.conflicts)
    for _ in range(conflicts):  # a voucher another terminal also redeemed offline
        a, b = rng.randrange(len(outboxes)), rng.randrange(len(outboxes))
        if outboxes[b]:
            outboxes[a].append({**rng.choice(outboxes[b]), "nonce": uuid.uuid4().hex})
    service = ServiceProcess(url, synchronous="full", log=args.workdir / "nightly.log",
                             extra=["--workers", "2"] if engine == "pg-2" else []).start()
    costs: list[float] = []
    pulls: list[float] = []
    rows: list[int] = []
    tally: dict[str, int] = {}

    async def night() -> tuple[float, float, int]:
        limits = httpx.Limits(max_connections=args.terminals, max_keepalive_connections=args.terminals)
        async with httpx.AsyncClient(base_url=service.url, limits=limits) as client:
            # where every terminal stood before closing time: the catalog as of the evening
            evening, more = 0, True
            while more:
                page = (await client.get("/v1/catalog", params={"since": evening},
                                         headers={"Authorization": f"Bearer {tokens[0]}"})).json()
                evening, more = page["cursor"], page["more"]
            t0 = time.perf_counter()
            await asyncio.gather(*(upload_outbox(client, tok, box, 1000, costs, tally)
                                   for tok, box in zip(tokens, outboxes, strict=True)))
            uploaded = time.perf_counter() - t0
            t1 = time.perf_counter()
            await asyncio.gather(*(pull_catalog(client, tok, evening, pulls, rows, tally) for tok in tokens))
            return uploaded, time.perf_counter() - t1, evening

    try:
        elapsed, pulled, _ = asyncio.run(night())
        in_db = stored(url)
    finally:
        service.stop()
        if engine == "pg-2":
            pg.drop_database("bench_nightly")
    items = sum(len(b) for b in outboxes)
    batch_ms = [c * 1000 for c in costs]
    pull_ms = [p * 1000 for p in pulls]
    return {"phase": f"nightly-{engine}", "terminals": args.terminals, "items": items, "upload_seconds": round(elapsed, 2),
            "items_per_second": round(items / elapsed), "batches": len(costs),
            "batch_p50_ms": round(percentile(batch_ms, 50), 1), "batch_p99_ms": round(percentile(batch_ms, 99), 1),
            "pull_seconds": round(pulled, 2), "pull_rows_mean": round(sum(rows) / max(1, len(rows))),
            "pull_p50_ms": round(percentile(pull_ms, 50), 1), "pull_p99_ms": round(percentile(pull_ms, 99), 1),
            "answers": tally, "in_database": in_db}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["redeem", "nightly", "all"], default="all")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--terminals", type=int, default=200)
    ap.add_argument("--conflicts", type=float, default=0.01, help="share of uploads that hit another's voucher")
    ap.add_argument("--workdir", type=Path, default=Path("bench-out/scale"))
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"# bench_scale: {machine()}")
    ok = True
    with PostgresServer() as pg:  # durable settings: fsync and synchronous_commit on
        if args.part in ("redeem", "all"):
            results = part_redeem(pg, args)
            for r in results:
                print(json.dumps(r))
            base = results[0]["durable_per_second"]
            for r in results:
                print(f"{r['phase']:>9}: {r['durable_per_second']:>5} durable redemptions/s, p50 {r['p50_ms']} ms, "
                      f"p99 {r['p99_ms']} ms ({r['durable_per_second'] / max(1, base):.2f}x sqlite-1)")
            pg1 = next(r for r in results if r["phase"] == "pg-1")["durable_per_second"]
            pg2 = next(r for r in results if r["phase"] == "pg-2")["durable_per_second"]
            print(f"scaling pg-1 -> pg-2: {pg2 / max(1, pg1):.2f}x")
            ok &= all(r["in_database"] == r["answers"].get("accepted", 0) for r in results)
        if args.part in ("nightly", "all"):
            for engine in ("sqlite-1", "pg-2"):
                n = part_nightly(pg, args, engine)
                print(json.dumps(n))
                print(f"nightly {engine}: {n['terminals']} terminals, {n['items']} uploads in {n['upload_seconds']} s "
                      f"({n['items_per_second']}/s); batch of 1,000 p50 {n['batch_p50_ms']} ms, p99 {n['batch_p99_ms']} ms; "
                      f"then every terminal's catalog delta ({n['pull_rows_mean']} rows each) in {n['pull_seconds']} s, "
                      f"p50 {n['pull_p50_ms']} ms, p99 {n['pull_p99_ms']} ms")
                ok &= n["in_database"] == n["answers"].get("accepted", 0)
    if not ok:
        print("MISMATCH between accepted answers and stored redemptions")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
