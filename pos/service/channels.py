"""Channels: a coupon bound to the goods of an affiliate plan, from the next day on the campaign's clock."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pos.domain import Campaign, CampaignStatus, format_time
from pos.domain.campaigns import CampaignError, effective_status
from pos.domain.model import Bind
from pos.domain.problems import Problem
from pos.domain.terms import Scope
from pos.service.backoffice import load_campaign
from pos.service.engine import Db
from pos.service.ledger import RulesRefused, Terminal, audit
from pos.service.staff import StaffSession


def applies_to(c: Campaign, sku: str) -> bool:
    """Whether a coupon applies to a SKU: the listed goods, or all but the listed, or all."""
    listed = {s.sku for s in c.skus if s.bind is Bind.MAIN}
    if c.scope is Scope.EXCEPT_LISTED:
        return sku not in listed
    if c.scope is Scope.LISTED or listed:
        return sku in listed
    return True


def bind_coupon(db: Db, terminal: Terminal, manager: StaffSession, plan: str, campaign_id: str,
                skus: list[str], now: datetime) -> dict[str, Any]:
    """Bind a coupon to SKUs in a channel plan; each binding takes effect from the next day (shop time)."""
    c, _ = load_campaign(db, campaign_id)
    refused = {"action": "binding.refused", "actor": manager.staff_id, "terminal": terminal, "subject": campaign_id}
    problems = []
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$", plan):
        problems.append(Problem("binding.plan.invalid", "plan", "A plan id is letters, digits, '.', '-' or '_'."))
    if not c.affiliates:
        problems.append(Problem("binding.coupon.not_shared", "campaign_id",
                                f"Campaign {campaign_id} is not shared with affiliates, so no channel may carry it."))
    if effective_status(c, now) in (CampaignStatus.ENDED, CampaignStatus.DELETED):
        problems.append(Problem("binding.coupon.ended", "campaign_id", f"Campaign {campaign_id} has ended."))
    if not skus:
        problems.append(Problem("binding.sku.invalid", "skus", "Name at least one SKU."))
    for sku in skus:
        if not applies_to(c, sku):
            problems.append(Problem("binding.sku.invalid", "skus", f"Coupon {campaign_id} does not apply to SKU {sku}."))
    if problems:
        raise RulesRefused(CampaignError(problems), refused)
    zone = ZoneInfo(c.timezone)
    start = (now.astimezone(zone).date() + timedelta(days=1)).isoformat()
    for sku in skus:
        db.conn.execute("INSERT INTO bindings (plan, campaign_id, sku, effective_from, created_at, created_by) "
                        "VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                        (plan, campaign_id, sku, start, format_time(now), manager.staff_id))
    audit(db, now, "binding.add", actor=manager.staff_id, terminal=terminal, subject=campaign_id, plan=plan, skus=skus)
    return {"plan": plan, "campaign_id": campaign_id, "skus": skus, "effective_from": start}


def list_bindings(db: Db, plan: str | None, now: datetime) -> dict[str, Any]:
    rows = db.conn.execute("SELECT b.plan, b.campaign_id, b.sku, b.effective_from, c.body FROM bindings b "
                           "JOIN campaigns c ON c.id = b.campaign_id WHERE CAST(? AS TEXT) IS NULL OR b.plan = ? "
                           "ORDER BY b.plan, b.campaign_id, b.sku", (plan, plan)).fetchall()
    out = []
    for r in rows:
        tz = ZoneInfo(json.loads(r[4]).get("timezone", "UTC"))
        out.append({"plan": r[0], "campaign_id": r[1], "sku": r[2], "effective_from": r[3],
                    "effective": now.astimezone(tz).date().isoformat() >= r[3]})
    return {"bindings": out}
