"""Service throughput of durable redemptions with 50 concurrent clients, and its latency.

Runs ``pos serve`` (synchronous=FULL: every acknowledged redemption is fsynced) as a child process and
drives it with 50 keep-alive HTTP/1.1 connections from one asyncio process, each redeeming a
different voucher per request. Same run, same machine, three phases:

  ceiling   GET /healthz         — what the HTTP stack alone gives on this machine
  baseline  redeem, one commit per request (--no-group-commit)
  pos       redeem, group commit (the default)
  pos-2-workers  the same with two service processes sharing the database (pos serve --workers 2)

Afterwards it counts the redemptions in the database file: every 'accepted' answer must be there.

    .venv/bin/python scripts/bench_serve.py [--seconds 15] [--clients 50]
    .venv/bin/python scripts/bench_serve.py --small     # every phase, 2 s each (tests/test_bench_serve.py)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import load_average, machine, make_service_db, percentile, process_cpu

from pos.demo import TOKENS
from pos.testing.process import ServiceProcess

TOKEN = TOKENS["S001-T1"]
TARGET_RATE = 2000  # durable redemptions a second, one service process
TARGET_P99_MS = 50.0


async def one_client(port: int, codes: list[str], deadline: float, lat: list[float], tally: dict[str, int],
                     redeem: bool) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            if redeem:
                if not codes:
                    return
                body = json.dumps({"nonce": uuid.uuid4().hex, "code": codes.pop(), "staff_id": "alice",
                                   "store_id": "S001", "amount": 60000}).encode()
                request = (b"POST /v1/redemptions HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer " + TOKEN.encode()
                           + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
                           + b"\r\n\r\n" + body)
            else:
                request = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            answer = await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            status = head.split(b" ", 2)[1]
            if status != b"200":
                tally["http_" + status.decode()] = tally.get("http_" + status.decode(), 0) + 1
            elif redeem:
                key = "accepted" if b'"accepted":true' in answer else "refused"
                tally[key] = tally.get(key, 0) + 1
            else:
                tally["ok"] = tally.get("ok", 0) + 1
    finally:
        writer.close()


async def drive(port: int, clients: int, seconds: float, codes: list[str], redeem: bool) -> tuple[float, list[float], dict]:
    lat: list[float] = []
    tally: dict[str, int] = {}
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(one_client(port, codes, deadline, lat, tally, redeem) for _ in range(clients)))
    return time.perf_counter() - start, lat, tally


def service_cpu(service: ServiceProcess) -> float:
    """CPU seconds the service's processes (with --workers, the supervisor's children too) have used so far."""
    assert service.proc is not None
    pids = [service.proc.pid, *children_of(service.proc.pid)]
    return sum(process_cpu(pid) for pid in pids)


def children_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM redemptions").fetchone()[0]


def phase(name: str, workdir: Path, vouchers: int, clients: int, seconds: float, *, redeem: bool, extra: list[str]) -> dict:
    db = workdir / f"{name}.db"
    codes = make_service_db(db, vouchers)
    service = ServiceProcess(db, synchronous="full", log=workdir / f"{name}.log", extra=extra).start()
    try:
        asyncio.run(drive(service.port, clients, 1.0, list(codes[:2000]) if redeem else [], redeem))  # warm up
        codes = codes[2000:]
        before = stored(db)
        writer_before = httpx.get(service.url + "/healthz").json()["writer"]
        cpu = service_cpu(service)
        elapsed, lat, tally = asyncio.run(drive(service.port, clients, seconds, codes, redeem))
        cpu = service_cpu(service) - cpu
        writer_after = httpx.get(service.url + "/healthz").json()["writer"]
        added = stored(db) - before
    finally:
        service.stop()
    ms = [v * 1000 for v in lat]
    result = {"phase": name, "requests": len(lat), "seconds": round(elapsed, 2), "per_second": round(len(lat) / elapsed),
              "p50_ms": round(percentile(ms, 50), 2), "p99_ms": round(percentile(ms, 99), 2), "answers": tally,
              "service_cpu_us_per_request": round(cpu / max(1, len(lat)) * 1e6)}
    if redeem:
        result["in_database"] = added
        result["durable_per_second"] = round(tally.get("accepted", 0) / elapsed)
        batches = writer_after["batches"] - writer_before["batches"]
        result["mean_commit_batch"] = round((writer_after["operations"] - writer_before["operations"]) / max(1, batches), 1)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--small", action="store_true", help="every phase for 2 seconds")
    ap.add_argument("--workdir", type=Path, default=Path("bench-out/serve"))
    args = ap.parse_args()
    if args.small:
        args.seconds = 2
    args.workdir.mkdir(parents=True, exist_ok=True)
    vouchers = int(args.seconds * 5000) + 2000
    print(f"# bench_serve: {args.clients} clients, {args.seconds:.0f} s per phase, {machine()}, load {load_average()}")
    results = [
        phase("ceiling", args.workdir, 10, args.clients, args.seconds / 2, redeem=False, extra=[]),
        phase("baseline", args.workdir, vouchers, args.clients, args.seconds, redeem=True, extra=["--no-group-commit"]),
        phase("pos", args.workdir, vouchers, args.clients, args.seconds, redeem=True, extra=[]),
        phase("pos-2-workers", args.workdir, vouchers, args.clients, args.seconds, redeem=True,
              extra=["--workers", "2"]),
    ]
    for r in results:
        print(json.dumps(r))
    print(f"# load afterwards {load_average()}")
    report(results)
    lost = [r["phase"] for r in results[1:] if r["in_database"] != r["answers"].get("accepted", 0)]
    if lost:
        print(f"MISMATCH between accepted answers and stored redemptions in: {lost}")
    print(json.dumps({"durable": not lost, "phases": results}))
    return 1 if lost else 0


def report(results: list[dict]) -> None:
    base, ours = results[1], results[2]
    print(f"\nHTTP ceiling (GET /healthz, through FastAPI): {results[0]['per_second']} req/s, "
          f"p50 {results[0]['p50_ms']} ms, p99 {results[0]['p99_ms']} ms")
    for r in results[1:]:
        print(f"{r['phase']:>14}: {r['durable_per_second']:>5} durable redemptions/s, p50 {r['p50_ms']} ms, "
              f"p99 {r['p99_ms']} ms ({r['durable_per_second'] / max(1, base['durable_per_second']):.1f}x baseline)")
    rate_met = ours["durable_per_second"] >= TARGET_RATE
    p99_met = ours["p99_ms"] <= TARGET_P99_MS
    print(f"one process: {ours['durable_per_second']}/s (target >= {TARGET_RATE}: {'met' if rate_met else 'not met'}), "
          f"p99 {ours['p99_ms']} ms (target <= {TARGET_P99_MS:.0f} ms: {'met' if p99_met else 'not met'})")


if __name__ == "__main__":
    sys.exit(main())
