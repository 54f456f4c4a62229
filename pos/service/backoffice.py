"""What a store manager does from the back office: campaigns, staff, reports.

Mutations run on the writer thread inside :func:`~pos.service.ledger.guarded`, so a refusal leaves
nothing behind but its audit entry; every change is audited with the manager's id and terminal.
Campaign rules and lifecycle steps are the domain's (:mod:`pos.domain.campaigns`); this module only
stores their outcome and bumps catalog versions so terminals pick the change up at their next pull.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils

from pos.domain import Campaign, CampaignStatus, format_time
from pos.domain.campaigns import (
    Action,
    CampaignError,
    allowed_actions,
    apply,
    check_editable,
    effective_status,
    validate,
)
from pos.domain.pins import PinError, hash_pin
from pos.service.ledger import ServiceError, Terminal, audit
from pos.service.schema import next_versions
from pos.service.staff import StaffSession

STAFF_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")


class CampaignRefused(ServiceError):
    """A campaign change the rules refuse; ``problems`` go back to the form field by field."""

    def __init__(self, err: CampaignError, audit_entry: dict[str, Any] | None = None) -> None:
        status = 409 if err.code.startswith("campaign.non.") else 422
        super().__init__(status, err.code, err.message, audit_entry)
        self.problems = err.problems


def _load(db: sqlite_utils.Database, campaign_id: str) -> tuple[Campaign, int]:
    row = db.conn.execute("SELECT body, version FROM campaigns WHERE id=?", (campaign_id,)).fetchone()
    if row is None:
        raise ServiceError(404, "campaign.non.exist", f"No campaign {campaign_id}.")
    return Campaign.from_dict(json.loads(row[0])), int(row[1])


def _stats(db: sqlite_utils.Database) -> dict[str, tuple[int, int]]:
    issued = dict(db.conn.execute("SELECT campaign_id, count(*) FROM vouchers GROUP BY campaign_id").fetchall())
    redeemed = dict(db.conn.execute("SELECT campaign_id, count(*) FROM redemptions WHERE cancelled_at IS NULL "
                                    "GROUP BY campaign_id").fetchall())
    return {k: (issued.get(k, 0), redeemed.get(k, 0)) for k in issued.keys() | redeemed.keys()}


def campaign_view(c: Campaign, now: datetime, issued: int = 0, redeemed: int = 0) -> dict[str, Any]:
    return {**c.to_dict(), "effective_status": str(effective_status(c, now)),
            "actions": [str(a) for a in allowed_actions(c, now)], "issued": issued, "redeemed": redeemed}


def list_campaigns(db: sqlite_utils.Database, now: datetime, *, status: str | None = None, kind: str | None = None,
                   offset: int = 0, limit: int = 20) -> dict[str, Any]:
    """One page of campaigns, newest first; ``status`` filters on the status as it is now."""
    stats = _stats(db)
    items = []
    for body, in db.conn.execute("SELECT body FROM campaigns ORDER BY version DESC"):
        c = Campaign.from_dict(json.loads(body))
        if c.status is CampaignStatus.DELETED and status != "deleted":
            continue
        if status and str(effective_status(c, now)) != status:
            continue
        if kind and str(c.kind) != kind:
            continue
        items.append(c)
    page = items[offset:offset + limit]
    return {"total": len(items), "offset": offset, "limit": limit,
            "items": [campaign_view(c, now, *stats.get(c.id, (0, 0))) for c in page]}


def get_campaign(db: sqlite_utils.Database, campaign_id: str, now: datetime) -> dict[str, Any]:
    c, _ = _load(db, campaign_id)
    return campaign_view(c, now, *_stats(db).get(c.id, (0, 0)))


def _parse(body: dict[str, Any]) -> Campaign:
    try:
        return Campaign.from_dict({**body, "status": "not_reviewed"})
    except (KeyError, ValueError, TypeError) as exc:
        raise ServiceError(422, "campaign.invalid", f"The campaign cannot be read: {exc}") from exc


def _store_ids(db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in db.conn.execute("SELECT id FROM stores")]


def _save(db: sqlite_utils.Database, c: Campaign) -> None:
    db["campaigns"].upsert({"id": c.id, "body": json.dumps(c.to_dict()), "version": next_versions(db.conn)}, pk="id")


def create_campaign(db: sqlite_utils.Database, terminal: Terminal, manager: StaffSession, body: dict[str, Any],
                    now: datetime) -> dict[str, Any]:
    """A new campaign waits for review (``not_reviewed``): it redeems nothing until it is approved."""
    c = _parse(body)
    refused = {"action": "campaign.refused", "actor": manager.staff_id, "terminal": terminal, "subject": c.id}
    problems = validate(c, now=now, stores=_store_ids(db))
    if not problems and db.conn.execute("SELECT 1 FROM campaigns WHERE id=?", (c.id,)).fetchone():
        raise ServiceError(409, "campaign.id.taken", f"There is already a campaign {c.id}.", refused)
    if problems:
        raise CampaignRefused(CampaignError(problems), refused)
    _save(db, c)
    audit(db, now, "campaign.create", actor=manager.staff_id, terminal=terminal, subject=c.id, campaign=c.to_dict())
    return campaign_view(c, now)


def update_campaign(db: sqlite_utils.Database, terminal: Terminal, manager: StaffSession, campaign_id: str,
                    body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Edit a campaign that has not been approved yet (or was rejected); its status stays as it was."""
    old, _ = _load(db, campaign_id)
    refused = {"action": "campaign.refused", "actor": manager.staff_id, "terminal": terminal, "subject": campaign_id}
    try:
        check_editable(old, now)
    except CampaignError as err:
        raise CampaignRefused(err, refused) from err
    c = replace(_parse({**body, "id": campaign_id}), status=old.status)
    problems = validate(c, now=now, stores=_store_ids(db))
    if problems:
        raise CampaignRefused(CampaignError(problems), refused)
    _save(db, c)
    if c.stores != old.stores:  # newly included stores' terminals must receive the vouchers too
        (n,) = db.conn.execute("SELECT count(*) FROM vouchers WHERE campaign_id=?", (campaign_id,)).fetchone()
        if n:
            first = next_versions(db.conn, n)
            db.conn.execute("UPDATE vouchers SET version = ? + r.n FROM (SELECT code, row_number() OVER (ORDER BY code) - 1 "
                            "AS n FROM vouchers WHERE campaign_id=?) AS r WHERE vouchers.code = r.code",
                            (first, campaign_id))
    audit(db, now, "campaign.update", actor=manager.staff_id, terminal=terminal, subject=campaign_id,
          before=old.to_dict(), after=c.to_dict())
    return campaign_view(c, now, *_stats(db).get(c.id, (0, 0)))


def campaign_action(db: sqlite_utils.Database, terminal: Terminal, manager: StaffSession, campaign_id: str,
                    action: Action, now: datetime) -> dict[str, Any]:
    old, _ = _load(db, campaign_id)
    try:
        c = apply(old, action, now)
    except CampaignError as err:
        raise CampaignRefused(err, {"action": "campaign.refused", "actor": manager.staff_id, "terminal": terminal,
                                    "subject": campaign_id, "step": str(action)}) from err
    _save(db, c)
    audit(db, now, f"campaign.{action}", actor=manager.staff_id, terminal=terminal, subject=campaign_id,
          before=str(effective_status(old, now)), after=str(c.status))
    return campaign_view(c, now, *_stats(db).get(c.id, (0, 0)))


# -- staff ------------------------------------------------------------------------------------------
def list_staff(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    rows = db.conn.execute(
        "SELECT s.id, s.name, s.role, s.active, v.all_stores, v.stores, v.active FROM staff s "
        "LEFT JOIN verifiers v ON v.staff_id = s.id ORDER BY s.role DESC, s.id").fetchall()
    return [{"id": r[0], "name": r[1], "role": r[2], "active": bool(r[3]),
             "verifier": None if r[4] is None else {"all_stores": bool(r[4]), "stores": json.loads(r[5]),
                                                    "active": bool(r[6])}} for r in rows]


def add_staff(db: sqlite_utils.Database, terminal: Terminal, manager: StaffSession, *, staff_id: str, name: str,
              role: str, pin: str, now: datetime) -> dict[str, Any]:
    refused = {"action": "staff.refused", "actor": manager.staff_id, "terminal": terminal, "subject": staff_id}
    if not STAFF_ID.match(staff_id):
        raise ServiceError(422, "staff.id.invalid", "A staff id is 1 to 32 small letters, digits, '.', '-' or '_'.", refused)
    if not name.strip() or len(name) > 40:
        raise ServiceError(422, "staff.name.invalid", "The name must be 1 to 40 characters.", refused)
    if role not in ("cashier", "manager"):
        raise ServiceError(422, "staff.role.invalid", "The role is cashier or manager.", refused)
    try:
        pin_hash = hash_pin(pin)
    except PinError as exc:
        raise ServiceError(422, exc.code, exc.message, refused) from exc
    if db.conn.execute("SELECT 1 FROM staff WHERE id=?", (staff_id,)).fetchone():
        raise ServiceError(409, "staff.id.taken", f"There is already a staff member {staff_id}.", refused)
    db["staff"].insert({"id": staff_id, "name": name.strip(), "role": role, "active": 1, "pin_hash": pin_hash,
                        "version": next_versions(db.conn)})
    audit(db, now, "staff.add", actor=manager.staff_id, terminal=terminal, subject=staff_id, role=role)
    return {"id": staff_id, "name": name.strip(), "role": role, "active": True, "verifier": None}


# -- reports ----------------------------------------------------------------------------------------
def redemption_report(db: sqlite_utils.Database, now: datetime, *, days: int = 30, tz: str = "UTC") -> dict[str, Any]:
    """Live redemptions per day, campaign and store over the last ``days`` days, in the shop's time zone."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ServiceError(422, "report.tz.invalid", f"Unknown time zone {tz!r}.") from exc
    offset = now.astimezone(zone).utcoffset() or timedelta(0)
    shift = f"{int(offset.total_seconds() // 60):+d} minutes"
    local_today = now.astimezone(zone).date()
    first_day = local_today - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), zone).astimezone(UTC)
    rows = db.conn.execute(
        "SELECT date(redeemed_at, ?) AS day, campaign_id, store_id, count(*), sum(discount), sum(coalesce(amount, 0)) "
        "FROM redemptions WHERE cancelled_at IS NULL AND redeemed_at >= ? "
        "GROUP BY day, campaign_id, store_id ORDER BY day, campaign_id, store_id",
        (shift, format_time(since))).fetchall()
    return {"from": first_day.isoformat(), "to": local_today.isoformat(), "tz": tz,
            "rows": [{"day": r[0], "campaign_id": r[1], "store_id": r[2], "redemptions": r[3], "discount": r[4],
                      "amount": r[5]} for r in rows]}
