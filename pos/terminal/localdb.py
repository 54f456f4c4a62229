"""The terminal's own SQLite file: catalog cache, journal, outbox, redemptions, audit.

Everything the counter writes goes through :meth:`LocalDB.atomic` so a crash leaves either all of a
step or none of it. Each thread opens its own :class:`LocalDB` (a connection belongs to one thread).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from pos.domain import Campaign, FirstRedemption, Verifier, Voucher, VoucherStatus, format_time, parse_time

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS stores (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS staff (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, active INTEGER NOT NULL,
    pin_hash TEXT);
-- Wrong PINs typed at this terminal while it could not reach the service (the service counts its own).
CREATE TABLE IF NOT EXISTS logins (staff_id TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failed_at TEXT);
CREATE TABLE IF NOT EXISTS verifiers (staff_id TEXT PRIMARY KEY, all_stores INTEGER NOT NULL, stores TEXT NOT NULL,
    active INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS campaigns (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (kid TEXT PRIMARY KEY, public TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vouchers (code TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, customer_id TEXT,
    claimed_at TEXT, status TEXT NOT NULL, redeemed_at TEXT, redeemed_store TEXT, redeemed_nonce TEXT);
-- Every verdict this terminal gave, written before it is shown.
CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, nonce TEXT,
    input TEXT NOT NULL, code TEXT, staff_id TEXT NOT NULL, store_id TEXT NOT NULL, amount INTEGER,
    state TEXT NOT NULL, mode TEXT, reason TEXT, message TEXT, discount INTEGER, detail TEXT);
CREATE INDEX IF NOT EXISTS journal_nonce ON journal(nonce);
CREATE INDEX IF NOT EXISTS journal_unsettled ON journal(code) WHERE state='pending';
-- Redemptions this terminal made (online or offline); at most one live per voucher.
CREATE TABLE IF NOT EXISTS redemptions (nonce TEXT PRIMARY KEY, code TEXT NOT NULL, campaign_id TEXT NOT NULL,
    customer_id TEXT, store_id TEXT NOT NULL, staff_id TEXT NOT NULL, amount INTEGER, discount INTEGER NOT NULL,
    redeemed_at TEXT NOT NULL, mode TEXT NOT NULL, cancelled_at TEXT, state TEXT NOT NULL DEFAULT 'ok');
CREATE UNIQUE INDEX IF NOT EXISTS redemptions_one_live ON redemptions(code) WHERE cancelled_at IS NULL;
CREATE INDEX IF NOT EXISTS redemptions_customer ON redemptions(campaign_id, customer_id, redeemed_at);
-- Work for the service, uploaded by pos sync exactly once (the nonce is the service's idempotency key).
CREATE TABLE IF NOT EXISTS outbox (nonce TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    body TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', result TEXT, created_at TEXT NOT NULL,
    updated_at TEXT);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(state, seq);
CREATE TABLE IF NOT EXISTS conflicts (nonce TEXT PRIMARY KEY, code TEXT, reason TEXT NOT NULL, message TEXT NOT NULL,
    ours TEXT NOT NULL, theirs TEXT, recorded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT,
    action TEXT NOT NULL, subject TEXT, detail TEXT);
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
"""


class LocalDB:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(sqlite3.connect(str(self.path), timeout=10.0))
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous=FULL")  # a verdict shown is a verdict on disk
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.conn.executescript(SCHEMA)
        if "pin_hash" not in self.db["staff"].columns_dict:  # a file from before offline logins
            self.db.execute("ALTER TABLE staff ADD COLUMN pin_hash TEXT")
        if "items" not in self.db["journal"].columns_dict:  # a file from before basket lines
            self.db.execute("ALTER TABLE journal ADD COLUMN items TEXT")
        self.conn = self.db.conn
        self._campaigns: dict[str, Campaign] = {}

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        with self.db.atomic():
            yield self.conn

    # -- meta -----------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                          (key, value))

    # -- the domain's Catalog ---------------------------------------------------------------------
    def voucher(self, code: str) -> Voucher | None:
        row = self.conn.execute("SELECT campaign_id, customer_id, claimed_at, status FROM vouchers WHERE code=?",
                                (code,)).fetchone()
        if row is None:
            return None
        return Voucher(code, row[0], row[1], parse_time(row[2]) if row[2] else None, VoucherStatus(row[3]))

    def campaign(self, campaign_id: str) -> Campaign | None:
        cached = self._campaigns.get(campaign_id)
        if cached is not None:
            return cached
        row = self.conn.execute("SELECT body FROM campaigns WHERE id=?", (campaign_id,)).fetchone()
        if row is None:
            return None
        campaign = self._campaigns[campaign_id] = Campaign.from_dict(json.loads(row[0]))
        return campaign

    def verifier(self, staff_id: str) -> Verifier | None:
        row = self.conn.execute(
            "SELECT v.all_stores, v.stores, v.active AND coalesce(s.active, 1) FROM verifiers v "
            "LEFT JOIN staff s ON s.id = v.staff_id WHERE v.staff_id=?",
            (staff_id,),
        ).fetchone()
        return Verifier(staff_id, bool(row[0]), frozenset(json.loads(row[1])), bool(row[2])) if row else None

    def public_key(self, kid: str) -> bytes | None:
        row = self.conn.execute("SELECT public FROM keys WHERE kid=?", (kid,)).fetchone()
        return bytes.fromhex(row[0]) if row else None

    # -- the domain's History -------------------------------------------------------------------
    def local_redemption(self, code: str) -> dict[str, Any] | None:
        """This terminal's live redemption of a voucher, if any."""
        rows = self.db.query("SELECT * FROM redemptions WHERE code=? AND cancelled_at IS NULL", [code])
        return next(iter(rows), None)

    def active_redemption(self, code: str) -> FirstRedemption | None:
        row = self.conn.execute(
            "SELECT redeemed_at, store_id, nonce FROM redemptions WHERE code=? AND cancelled_at IS NULL", (code,)
        ).fetchone()
        if row is None:  # redeemed elsewhere, as of the last catalog pull?
            row = self.conn.execute(
                "SELECT redeemed_at, redeemed_store, redeemed_nonce FROM vouchers WHERE code=? AND redeemed_at IS NOT NULL",
                (code,),
            ).fetchone()
        return FirstRedemption(parse_time(row[0]), row[1], row[2]) if row else None

    def customer_redemptions(self, campaign_id: str, customer_id: str, since: datetime | None) -> int:
        """This terminal's live redemptions for the customer, plus those elsewhere as of the last pull."""
        after = format_time(since) if since else ""
        (n,) = self.conn.execute(
            "SELECT count(*) FROM (SELECT code FROM redemptions WHERE campaign_id=? AND customer_id=? "
            "AND cancelled_at IS NULL AND redeemed_at >= ? UNION SELECT code FROM vouchers WHERE campaign_id=? "
            "AND customer_id=? AND redeemed_at IS NOT NULL AND redeemed_at >= ?)",
            (campaign_id, customer_id, after, campaign_id, customer_id, after),
        ).fetchone()
        return int(n)

    # -- catalog pulls --------------------------------------------------------------------------
    def apply_delta(self, delta: dict[str, Any]) -> int:
        """Store one catalog page and its cursor in one transaction; returns rows applied."""
        n = 0
        with self.atomic():
            for table, pk, rows in (
                ("stores", "id", delta.get("stores", [])),
                ("staff", "id", [{**r, "active": int(r["active"])} for r in delta.get("staff", [])]),
                ("verifiers", "staff_id", [{**r, "all_stores": int(r["all_stores"]), "active": int(r["active"]),
                                            "stores": json.dumps(r["stores"])} for r in delta.get("verifiers", [])]),
                ("campaigns", "id", [{"id": c["id"], "body": json.dumps(c)} for c in delta.get("campaigns", [])]),
                ("keys", "kid", delta.get("keys", [])),
                ("vouchers", "code", delta.get("vouchers", [])),
            ):
                if rows:
                    self.db[table].upsert_all(rows, pk=pk, batch_size=1000)
                    n += len(rows)
            self.set_meta("catalog_cursor", str(int(delta["cursor"])))
        self._campaigns.clear()
        return n

    @property
    def catalog_cursor(self) -> int:
        return int(self.get_meta("catalog_cursor", "0") or 0)

    # -- journal and audit ----------------------------------------------------------------------
    def journal(self, *, at: datetime, nonce: str | None, raw: str, staff_id: str, store_id: str,
                amount: int | None, state: str, mode: str | None = None, verdict: Any = None,
                code: str | None = None, items: list[dict[str, Any]] | None = None) -> int:
        cur = self.conn.execute(
            "INSERT INTO journal (at, nonce, input, code, staff_id, store_id, amount, state, mode, reason, message, "
            "discount, detail, items) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (format_time(at), nonce, raw[:512], code or getattr(verdict, "code", None), staff_id, store_id, amount,
             state, mode,
             str(verdict.reason) if verdict else None, verdict.message if verdict else None,
             verdict.discount if verdict else None, verdict.detail if verdict else None,
             json.dumps(items) if items else None),
        )
        return int(cur.lastrowid or 0)

    def unsettled_attempt(self, code: str) -> dict[str, Any] | None:
        """The latest attempt at this voucher whose outcome was never learned (the terminal died)."""
        rows = self.db.query("SELECT id, nonce, staff_id, amount, items FROM journal WHERE state='pending' AND code=? "
                             "AND nonce IS NOT NULL ORDER BY id DESC LIMIT 1", [code])
        return next(iter(rows), None)

    def settle_journal(self, entry: int, *, state: str, mode: str, verdict: Any) -> None:
        self.conn.execute(
            "UPDATE journal SET state=?, mode=?, code=?, reason=?, message=?, discount=?, detail=? WHERE id=?",
            (state, mode, verdict.code, str(verdict.reason), verdict.message, verdict.discount, verdict.detail, entry),
        )

    def audit(self, at: datetime, action: str, *, actor: str | None, subject: str | None, **detail: Any) -> None:
        self.conn.execute("INSERT INTO audit (at, actor, action, subject, detail) VALUES (?,?,?,?,?)",
                          (format_time(at), actor, action, subject, json.dumps(detail, default=str) if detail else None))

    # -- outbox ---------------------------------------------------------------------------------
    def enqueue(self, nonce: str, kind: str, body: dict[str, Any], at: datetime) -> None:
        (seq,) = self.conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM outbox").fetchone()
        self.conn.execute("INSERT INTO outbox (nonce, seq, kind, body, created_at) VALUES (?,?,?,?,?)",
                          (nonce, seq, kind, json.dumps(body), format_time(at)))

    def pending(self, limit: int, after: int = 0) -> list[dict[str, Any]]:
        """The next ``limit`` pending outbox entries, in the order they were made, after sequence ``after``."""
        return list(self.db.query(
            "SELECT seq, nonce, kind, body FROM outbox WHERE state='pending' AND seq > ? ORDER BY seq LIMIT ?",
            [after, limit]))

    def outbox_counts(self) -> dict[str, int]:
        return {row["state"]: row["n"] for row in self.db.query("SELECT state, count(*) AS n FROM outbox GROUP BY state")}

    def pending_count(self) -> int:
        (n,) = self.conn.execute("SELECT count(*) FROM outbox WHERE state='pending'").fetchone()
        return int(n)
