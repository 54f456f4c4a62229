"""The catalog feed (``GET /v1/catalog``): everything a store's terminal needs to decide offline that changed
after its cursor, as one consistent state of the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pos.domain import format_time
from pos.service.engine import Db


def _verifies_here(row: tuple[Any, ...], store_id: str) -> bool:
    """A staff row with its verifier grant: a cashier who may verify in ``store_id``."""
    _, _, role, active, _, all_stores, stores, granted = row
    return (role == "cashier" and bool(active) and bool(granted)
            and (bool(all_stores) or store_id in json.loads(stores or "[]")))


def catalog_delta(db: Db, store_id: str, since: int, limit: int,
                  terminal_id: str | None = None) -> dict[str, Any]:
    """Everything a store's terminal needs to decide offline that changed after ``since``.

    Vouchers whose live redemption this very terminal made are left out: it knows them from its own
    redemptions, and after a large upload they would otherwise all come straight back.
    """
    conn = db.conn
    db.begin_snapshot()  # one state of every table, and the highest version safe to hand out in it
    try:
        upto = db.feed_upto()
        campaigns = [(json.loads(b), v) for b, v in conn.execute("SELECT body, version FROM campaigns")]
        mine = [c["id"] for c, _ in campaigns if c.get("stores") is None or store_id in c["stores"]]
        marks = ",".join("?" * len(mine))
        vouchers = [] if not mine else conn.execute(
            f"SELECT v.code, v.campaign_id, v.customer_id, v.claimed_at, v.status, v.redeemed_at, v.redeemed_store, "
            f"v.redeemed_nonce, v.version FROM vouchers v LEFT JOIN redemptions r ON r.nonce = v.redeemed_nonce "
            f"WHERE v.version > ? AND v.version <= ? AND v.campaign_id IN ({marks}) "
            f"AND (r.terminal_id IS NULL OR r.terminal_id IS DISTINCT FROM ?) ORDER BY v.version LIMIT ?",
            (since, upto, *mine, terminal_id, limit),
        ).fetchall()
        more = len(vouchers) == limit
        if more:
            upto = vouchers[-1][-1]

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return conn.execute(sql, (since, upto)).fetchall()

        body = {
            "now": format_time(datetime.now(UTC)),  # the service's clock, by which the terminal places offline work
            "cursor": upto,
            "more": more,
            "stores": [{"id": r[0], "name": r[1], "timezone": r[2]}
                       for r in rows("SELECT id, name, timezone FROM stores WHERE version > ? AND version <= ?")],
            # the PIN's salted scrypt hash lets a cashier log in while the network is down: only the hashes
            # of cashiers who may verify in this store travel to it, never a manager's (managers log in
            # online), so a stolen till gives away no PIN that works anywhere else
            "staff": [{"id": r[0], "name": r[1], "role": r[2], "active": bool(r[3]),
                       "pin_hash": r[4] if _verifies_here(r, store_id) else None}
                      for r in rows("SELECT s.id, s.name, s.role, s.active, s.pin_hash, v.all_stores, v.stores, v.active "
                                    "FROM staff s LEFT JOIN verifiers v ON v.staff_id = s.id "
                                    "WHERE s.version > ? AND s.version <= ?")],
            "verifiers": [{"staff_id": r[0], "all_stores": bool(r[1]), "stores": json.loads(r[2]), "active": bool(r[3])}
                          for r in rows("SELECT staff_id, all_stores, stores, active FROM verifiers "
                                        "WHERE version > ? AND version <= ?")],
            "campaigns": [c for c, v in campaigns if since < v <= upto],
            "keys": [{"kid": r[0], "public": r[1]} for r in rows("SELECT kid, public FROM keys WHERE version > ? AND version <= ?")],
            "vouchers": [
                {"code": r[0], "campaign_id": r[1], "customer_id": r[2], "claimed_at": r[3], "status": r[4],
                 "redeemed_at": r[5], "redeemed_store": r[6], "redeemed_nonce": r[7]}
                for r in vouchers
            ],
        }
    finally:
        conn.execute("COMMIT")
    return body
