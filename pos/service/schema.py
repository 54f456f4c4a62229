"""The service's SQLite database: schema, pragmas, and the row ↔ domain mapping."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils

from pos.domain import Campaign, FirstRedemption, Verifier, Voucher, VoucherStatus, format_time, parse_time

SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters VALUES ('version', 0);
CREATE TABLE IF NOT EXISTS stores (id TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS staff (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
    pin_hash TEXT, failed_logins INTEGER NOT NULL DEFAULT 0, last_failed_at TEXT, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, staff_id TEXT NOT NULL, terminal_id TEXT NOT NULL, role TEXT NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verifiers (
    staff_id TEXT PRIMARY KEY, all_stores INTEGER NOT NULL, stores TEXT NOT NULL,
    active INTEGER NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS campaigns (id TEXT PRIMARY KEY, body TEXT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS vouchers (
    code TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, customer_id TEXT, claimed_at TEXT,
    status TEXT NOT NULL, issued_at TEXT NOT NULL, redeemed_at TEXT, redeemed_store TEXT,
    redeemed_nonce TEXT, version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS vouchers_version ON vouchers(version);
CREATE INDEX IF NOT EXISTS vouchers_campaign ON vouchers(campaign_id);
CREATE TABLE IF NOT EXISTS redemptions (
    nonce TEXT PRIMARY KEY, code TEXT NOT NULL, campaign_id TEXT NOT NULL, customer_id TEXT,
    store_id TEXT NOT NULL, staff_id TEXT NOT NULL, terminal_id TEXT, amount INTEGER,
    discount INTEGER NOT NULL, redeemed_at TEXT NOT NULL, recorded_at TEXT NOT NULL, mode TEXT NOT NULL,
    cancelled_at TEXT, cancelled_by TEXT, cancel_reason TEXT,
    request_hash TEXT);  -- set for uploaded redemptions: they are their own idempotency record
-- The database itself refuses a second live redemption of one voucher.
CREATE UNIQUE INDEX IF NOT EXISTS redemptions_one_live ON redemptions(code) WHERE cancelled_at IS NULL;
CREATE INDEX IF NOT EXISTS redemptions_customer ON redemptions(campaign_id, customer_id, redeemed_at);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, request_hash TEXT NOT NULL, terminal_id TEXT, status INTEGER NOT NULL,
    response TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conflicts (
    id INTEGER PRIMARY KEY, nonce TEXT NOT NULL UNIQUE, code TEXT, terminal_id TEXT, store_id TEXT,
    reason TEXT NOT NULL, message TEXT NOT NULL, item TEXT NOT NULL, existing TEXT,
    recorded_at TEXT NOT NULL, resolved_at TEXT, request_hash TEXT);
CREATE TABLE IF NOT EXISTS terminals (
    id TEXT PRIMARY KEY, store_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    kid TEXT PRIMARY KEY, public TEXT NOT NULL, private TEXT, created_at TEXT NOT NULL,
    version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT, terminal_id TEXT,
    store_id TEXT, action TEXT NOT NULL, subject TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', email TEXT, email_verified INTEGER NOT NULL DEFAULT 0,
    opted_out INTEGER NOT NULL DEFAULT 0, member INTEGER NOT NULL DEFAULT 50, followed_at TEXT);
CREATE TABLE IF NOT EXISTS orders (
    order_no TEXT PRIMARY KEY, customer_id TEXT NOT NULL, amount INTEGER NOT NULL, ordered_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bindings (
    plan TEXT NOT NULL, campaign_id TEXT NOT NULL, sku TEXT NOT NULL, effective_from TEXT NOT NULL,
    created_at TEXT NOT NULL, created_by TEXT, PRIMARY KEY (plan, campaign_id, sku));
CREATE TABLE IF NOT EXISTS pushes (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, campaign_id TEXT NOT NULL, send_at TEXT NOT NULL, week TEXT NOT NULL,
    followed_from TEXT, followed_to TEXT, orders TEXT NOT NULL, items TEXT NOT NULL, status TEXT NOT NULL,
    created_at TEXT NOT NULL, created_by TEXT, cancelled_at TEXT, sent_at TEXT, sent INTEGER, skipped INTEGER);
-- One push a week: the database itself refuses a second live push in the same ISO week.
CREATE UNIQUE INDEX IF NOT EXISTS pushes_one_a_week ON pushes(week) WHERE status != 'cancelled';
CREATE TABLE IF NOT EXISTS deliveries (
    push_id INTEGER NOT NULL, customer_id TEXT NOT NULL, email TEXT, status TEXT NOT NULL, reason TEXT,
    at TEXT NOT NULL, PRIMARY KEY (push_id, customer_id));
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
"""


def open_db(path: str | Path, *, synchronous: str = "FULL") -> sqlite_utils.Database:
    """A connection for one thread, in WAL mode, schema in place.

    ``synchronous=FULL`` makes every commit durable (the WAL is fsynced); the writer commits many
    requests at once, so durability costs one fsync per batch, not per redemption.
    """
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=10.0)
    db = sqlite_utils.Database(conn)
    db.enable_wal()
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("PRAGMA busy_timeout=10000")
    db.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages: the hot indexes stay in memory
    db.execute("PRAGMA temp_store=MEMORY")
    # Checkpoint every ~40 MiB of WAL instead of 4 MiB: batches of redemptions touch pages all over the
    # indexes, and fewer, larger checkpoints write each of those pages back once instead of many times.
    db.execute("PRAGMA wal_autocheckpoint=10000")
    ensure_schema(db)
    return db


MIGRATIONS = (("vouchers", "affiliate_id", "TEXT"),)


def ensure_schema(db: sqlite_utils.Database) -> None:
    db.conn.executescript(SCHEMA)
    for table, column, kind in MIGRATIONS:  # columns added after a database was first made
        if column not in {r[1] for r in db.conn.execute(f"PRAGMA table_info({table})")}:
            db.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def next_versions(conn: sqlite3.Connection, n: int = 1) -> int:
    """Reserve ``n`` catalog versions and return the first. Must run inside a write transaction."""
    (last,) = conn.execute("UPDATE counters SET value = value + ? WHERE name='version' RETURNING value", (n,)).fetchone()
    return int(last) - n + 1


def voucher_from_row(row: tuple[Any, ...]) -> Voucher:
    code, campaign_id, customer_id, claimed_at, status, *rest = row
    return Voucher(code, campaign_id, customer_id, parse_time(claimed_at) if claimed_at else None, VoucherStatus(status),
                   affiliate_id=rest[0] if rest else None)


class SqlCatalog:
    """The domain's Catalog over the service database (one connection, one thread)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._campaigns: dict[str, tuple[int, Campaign]] = {}

    def voucher(self, code: str) -> Voucher | None:
        row = self.conn.execute(
            "SELECT code, campaign_id, customer_id, claimed_at, status FROM vouchers WHERE code=?", (code,)
        ).fetchone()
        return voucher_from_row(row) if row else None

    def campaign(self, campaign_id: str) -> Campaign | None:
        row = self.conn.execute("SELECT version, body FROM campaigns WHERE id=?", (campaign_id,)).fetchone()
        if row is None:
            return None
        cached = self._campaigns.get(campaign_id)
        if cached and cached[0] == row[0]:
            return cached[1]
        campaign = Campaign.from_dict(json.loads(row[1]))
        self._campaigns[campaign_id] = (row[0], campaign)
        return campaign

    def verifier(self, staff_id: str) -> Verifier | None:
        row = self.conn.execute(
            "SELECT v.all_stores, v.stores, v.active AND s.active FROM verifiers v JOIN staff s ON s.id = v.staff_id "
            "WHERE v.staff_id=?",
            (staff_id,),
        ).fetchone()
        if row is None:
            return None
        return Verifier(staff_id, bool(row[0]), frozenset(json.loads(row[1])), bool(row[2]))

    def public_key(self, kid: str) -> bytes | None:
        row = self.conn.execute("SELECT public FROM keys WHERE kid=?", (kid,)).fetchone()
        return bytes.fromhex(row[0]) if row else None


class SqlHistory:
    """The domain's History: live (not cancelled) redemptions in the service database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def active_redemption(self, code: str) -> FirstRedemption | None:
        row = self.conn.execute(
            "SELECT redeemed_at, store_id, nonce FROM redemptions WHERE code=? AND cancelled_at IS NULL", (code,)
        ).fetchone()
        return FirstRedemption(parse_time(row[0]), row[1], row[2]) if row else None

    def customer_redemptions(self, campaign_id: str, customer_id: str, since: Any) -> int:
        (n,) = self.conn.execute(
            "SELECT count(*) FROM redemptions WHERE campaign_id=? AND customer_id=? AND cancelled_at IS NULL "
            "AND redeemed_at >= ?",
            (campaign_id, customer_id, format_time(since) if since else ""),
        ).fetchone()
        return int(n)
