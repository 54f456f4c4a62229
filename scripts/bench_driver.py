"""The PostgreSQL driver layer, chosen by measurement: the statements of one online redemption through
psycopg 3 directly (what the service uses) and through SQLAlchemy Core on the same psycopg connection.

Same run, same throwaway PostgreSQL server, one connection each, 2,000 redemptions' worth of statements
(a lookup by key, three reads, two inserts, an update, in one transaction per redemption). Prints the
wall and CPU time per redemption. SQLAlchemy is not a dependency of pos: ``pip install sqlalchemy`` to
include it (the script says so when it is missing).

    .venv/bin/python scripts/bench_driver.py [--n 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import machine, make_service_db

from pos.testing.postgres import PostgresServer

NOW = "2026-11-22T12:00:00.000000Z"
READS = ["SELECT request_hash, response FROM idempotency WHERE key = %(k)s",
         "SELECT code, campaign_id, customer_id, claimed_at, status FROM vouchers WHERE code = %(c)s",
         "SELECT version, body FROM campaigns WHERE id = 'SPRING'",
         "SELECT redeemed_at, store_id, nonce FROM redemptions WHERE code = %(c)s AND cancelled_at IS NULL"]
WRITES = ["INSERT INTO redemptions (nonce, code, campaign_id, store_id, staff_id, discount, redeemed_at, recorded_at, "
          "mode) VALUES (%(k)s, %(c)s, 'SPRING', 'S001', 'alice', 3000, %(t)s, %(t)s, 'online')",
          "UPDATE vouchers SET redeemed_nonce = %(k)s, redeemed_at = %(t)s WHERE code = %(c)s",
          "INSERT INTO audit (at, actor, action, subject) VALUES (%(t)s, 'alice', 'redeem', %(c)s)"]


def with_psycopg(url: str, codes: list[str]) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for code in codes:
            p = {"k": uuid.uuid4().hex, "c": code, "t": NOW}
            conn.execute("BEGIN")
            for sql in READS:
                conn.execute(sql, p).fetchall()
            for sql in WRITES:
                conn.execute(sql, p)
            conn.execute("COMMIT")
    return 0.0


def with_sqlalchemy(url: str, codes: list[str]) -> float:
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    reads = [text(s.replace("%(k)s", ":k").replace("%(c)s", ":c")) for s in READS]
    writes = [text(s.replace("%(k)s", ":k").replace("%(c)s", ":c").replace("%(t)s", ":t")) for s in WRITES]
    with engine.connect() as conn:
        for code in codes:
            p = {"k": uuid.uuid4().hex, "c": code, "t": NOW}
            with conn.begin():
                for q in reads:
                    conn.execute(q, p).fetchall()
                for q in writes:
                    conn.execute(q, p)
    engine.dispose()
    return 0.0


def timed(fn: Any, url: str, codes: list[str]) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    fn(url, codes)
    return (time.perf_counter() - w0) / len(codes) * 1000, (time.process_time() - c0) / len(codes) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    try:
        import sqlalchemy  # noqa: F401
        layers = [("psycopg 3", with_psycopg), ("SQLAlchemy Core on psycopg 3", with_sqlalchemy)]
    except ImportError:
        print("(SQLAlchemy is not installed: pip install sqlalchemy to compare)")
        layers = [("psycopg 3", with_psycopg)]
    print(f"# bench_driver: {args.n} redemptions' statements per layer, {machine()}")
    with PostgresServer() as pg:
        url = pg.create_database("driver")
        codes = make_service_db(url, args.n * (len(layers) * 2 + 1))
        for round_ in range(2):  # twice, alternating, so that neither has the warm cache to itself
            for name, fn in layers:
                batch, codes = codes[:args.n], codes[args.n:]
                wall, cpu = timed(fn, url, batch)
                print(f"round {round_ + 1}  {name:<30} {wall:.3f} ms wall, {cpu:.3f} ms CPU per redemption")
    return 0


if __name__ == "__main__":
    sys.exit(main())
