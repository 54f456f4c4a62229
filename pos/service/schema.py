"""Opening the service database (schema brought up to date), and the row ↔ domain mapping."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pos.domain import Campaign, FirstRedemption, Verifier, Voucher, VoucherStatus, format_time, parse_time
from pos.service import migrations
from pos.service.engine import Db, EngineError, connect, describe


def open_db(target: str | Path, *, synchronous: str = "FULL", upgrade: bool = True) -> Db:
    """A connection for one thread to the service database at ``target`` (a file, or a PostgreSQL URL),
    with the schema brought up to date (or only checked: ``upgrade=False`` refuses an out-of-date one)."""
    db = connect(target, synchronous=synchronous)
    try:
        if upgrade:
            migrations.upgrade(db)
        elif (have := migrations.check(db)) < migrations.LATEST:
            raise EngineError(f"The database's schema is version {have}, this pos needs {migrations.LATEST}: "
                              f"run 'pos db upgrade --db {describe(target)}' first.")
    except BaseException:
        db.close()
        raise
    return db


def save_campaign(db: Db, campaign: Campaign) -> None:
    """Store a campaign (new or changed) under a new catalog version."""
    db.execute("INSERT INTO campaigns (id, body, version) VALUES (?,?,?) "
               "ON CONFLICT (id) DO UPDATE SET body=excluded.body, version=excluded.version",
               (campaign.id, json.dumps(campaign.to_dict()), db.next_versions()))


def touch_staff(db: Db, staff_id: str) -> None:
    """A new catalog version for a member of staff whose verifier grant changed: the stores' terminals
    receive (or lose) the PIN hash they may hold for offline logins."""
    db.execute("UPDATE staff SET version=? WHERE id=?", (db.next_versions(), staff_id))


def voucher_from_row(row: tuple[Any, ...]) -> Voucher:
    code, campaign_id, customer_id, claimed_at, status, *rest = row
    return Voucher(code, campaign_id, customer_id, parse_time(claimed_at) if claimed_at else None, VoucherStatus(status),
                   affiliate_id=rest[0] if rest else None)


def store_zone(db: Db, store_id: str) -> str:
    """A store's IANA time zone ("UTC" for a store the database does not know)."""
    row = db.conn.execute("SELECT timezone FROM stores WHERE id=?", (store_id,)).fetchone()
    return str(row[0]) if row else "UTC"


ZONE_TTL = 60.0  # seconds a connection trusts a store's time zone it has read


class SqlCatalog:
    """The domain's Catalog over the service database (one connection, one thread)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self._campaigns: dict[str, tuple[int, Campaign]] = {}
        self._zones: dict[str, tuple[float, str]] = {}

    def store_zone(self, store_id: str) -> str:
        """The store's time zone. It changes rarely (by loading stores), so a connection keeps it for a
        minute rather than asking on every redemption."""
        now = time.monotonic()
        cached = self._zones.get(store_id)
        if cached is None or now - cached[0] > ZONE_TTL:
            row = self.conn.execute("SELECT timezone FROM stores WHERE id=?", (store_id,)).fetchone()
            cached = self._zones[store_id] = (now, row[0] if row else "UTC")
        return cached[1]

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
        campaign = Campaign.from_json(row[1])
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

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def active_redemption(self, code: str) -> FirstRedemption | None:
        row = self.conn.execute(
            "SELECT redeemed_at, store_id, nonce FROM redemptions WHERE code=? AND cancelled_at IS NULL", (code,)
        ).fetchone()
        return FirstRedemption(parse_time(row[0]), row[1], row[2]) if row else None

    def customer_redemptions(self, campaign_id: str, customer_id: str, since: Any) -> int:
        sql = "SELECT count(*) FROM redemptions WHERE campaign_id=? AND customer_id=? AND cancelled_at IS NULL"
        if since is None:
            (n,) = self.conn.execute(sql, (campaign_id, customer_id)).fetchone()
        else:
            (n,) = self.conn.execute(sql + " AND redeemed_at >= ?", (campaign_id, customer_id, format_time(since))).fetchone()
        return int(n)
