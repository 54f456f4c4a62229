"""Local check latency at the counter with 1,000,000 vouchers and 100,000 redemptions on the terminal.

Builds a terminal database of that size, then times the counter's local check (format, signature,
permission, validity, history; everything the terminal decides before the network) per kind of
input. In the same run it times the floor: a bare SQLite primary-key lookup of the same vouchers.
Also reported: the whole offline redemption (check + journal + outbox + fsync), which is what a
cashier waits for when the network is down.

    .venv/bin/python scripts/bench_check.py [--vouchers 1000000] [--redemptions 100000] [--samples 5000]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import machine, summary_ms

from pos.demo import demo_fixture
from pos.domain import Campaign, format_time, generate
from pos.domain import payload as qr
from pos.terminal.counter import Counter
from pos.terminal.localdb import LocalDB


def build(path: Path, vouchers: int, redemptions: int) -> tuple[list[str], qr.Ed25519PrivateKey]:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    db = LocalDB(path)
    now = datetime.now(UTC)
    fixture, _ = demo_fixture(now)
    key = qr.new_key()
    rng = random.Random(1)
    codes = list({generate(randbelow=rng.randrange) for _ in range(int(vouchers * 1.001) + 10)})[:vouchers]
    claimed = format_time(now - timedelta(days=1))
    with db.atomic() as conn:
        db.apply_delta({"cursor": 1, "stores": fixture["stores"], "verifiers": [
            {"staff_id": "alice", "all_stores": False, "stores": ["S001"], "active": True}],
            "campaigns": [Campaign.from_dict(c).to_dict() for c in fixture["campaigns"]],
            "keys": [{"kid": "K1", "public": qr.public_bytes(key).hex()}]})
        conn.executemany("INSERT INTO vouchers (code, campaign_id, claimed_at, status) VALUES (?, 'SPRING', ?, 'issued')",
                         ((c, claimed) for c in codes))
        conn.executemany(
            "INSERT INTO redemptions (nonce, code, campaign_id, store_id, staff_id, amount, discount, redeemed_at, mode) "
            "VALUES (?, ?, 'SPRING', 'S001', 'alice', 60000, 3000, ?, 'offline')",
            ((f"n{i:08d}", codes[i], format_time(now - timedelta(minutes=i % 600))) for i in range(redemptions)))
    db.conn.execute("ANALYZE")
    db.close()
    return codes, key


def timed(fn, inputs: list) -> list[float]:
    out = []
    gc.collect()
    for x in inputs:
        t0 = time.perf_counter()
        fn(x)
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vouchers", type=int, default=1_000_000)
    ap.add_argument("--redemptions", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--workdir", type=Path, default=Path("bench-out/check"))
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / "terminal.db"
    print(f"# bench_check: {args.vouchers:,} vouchers, {args.redemptions:,} redemptions, {machine()}")
    t0 = time.perf_counter()
    codes, key = build(path, args.vouchers, args.redemptions)
    print(f"built {path} in {time.perf_counter() - t0:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)")

    db = LocalDB(path)
    counter = Counter(db, None, store_id="S001", terminal_id="S001-T1")
    rng = random.Random(2)
    n = args.samples
    fresh = rng.sample(codes[args.redemptions:], 2 * n)
    redeemed = rng.sample(codes[: args.redemptions], n)
    unknown = [generate() for _ in range(n)]
    signed = [qr.sign(key, "K1", qr.Claims(c, "SPRING")) for c in fresh[n:]]

    def floor(code: str) -> None:
        db.conn.execute("SELECT campaign_id, customer_id, claimed_at, status FROM vouchers WHERE code=?", (code,)).fetchone()

    check = lambda raw: counter.check(raw, "alice", 60000)  # noqa: E731
    for warm in fresh[:200]:
        check(warm), floor(warm)
    rows = [
        ("floor: SQLite primary-key lookup", timed(floor, fresh[:n])),
        ("check: typed code, accepted", timed(check, fresh[:n])),
        ("check: typed code, already redeemed", timed(check, redeemed)),
        ("check: typed code, unknown", timed(check, unknown)),
        ("check: signed QR payload, accepted", timed(check, signed)),
    ]
    verdicts = {str(check(fresh[0]).reason), str(check(redeemed[0]).reason), str(check(unknown[0]).reason),
                str(check(signed[0]).reason)}
    assert verdicts == {"ok", "already_redeemed", "unknown_code"}, verdicts
    offline = timed(lambda c: counter.redeem(c, "alice", 60000), fresh[n : n + min(n, 1000)])
    rows.append(("offline redemption: check + journal + outbox, fsynced", offline))
    for name, values in rows:
        print(f"{name:<55} {summary_ms(values)}")
    checks = [v for name, vals in rows if name.startswith("check") for v in vals]
    p99 = sorted(checks)[int(0.99 * (len(checks) - 1))] * 1000
    print(f"\nall local checks: p99 {p99:.3f} ms (target < 1 ms): {'met' if p99 < 1 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
