"""What a store manager does from the back office: campaigns and their goods, stores, reports (staff are in
:mod:`pos.service.staff`, channels in :mod:`pos.service.channels`, conflicts in :mod:`pos.service.conflicts`).

Mutations run on the writer thread inside :func:`~pos.service.ledger.guarded`, so a refusal leaves
nothing behind but its audit entry; every change is audited with the manager's id and terminal.
Campaign rules and lifecycle steps are the domain's (:mod:`pos.domain.campaigns`); this module only
stores their outcome and bumps catalog versions so terminals pick the change up at their next pull.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pos.domain import Campaign, CampaignStatus, format_time, money, parse_time
from pos.domain.campaigns import (
    Action,
    CampaignError,
    allowed_actions,
    apply,
    check_editable,
    check_update,
    effective_status,
    reason_problems,
    validate,
)
from pos.domain.model import PromoSku, zone
from pos.domain.problems import Problem
from pos.domain.promotions import describe, validate_skus
from pos.service.engine import Db
from pos.service.ledger import RulesRefused, ServiceError, Terminal, audit
from pos.service.schema import save_campaign, store_zone
from pos.service.staff import StaffSession


def load_campaign(db: Db, campaign_id: str) -> tuple[Campaign, int]:
    row = db.conn.execute("SELECT body, version FROM campaigns WHERE id=?", (campaign_id,)).fetchone()
    if row is None:
        raise ServiceError(404, "campaign.non.exist", f"No campaign {campaign_id}.")
    return Campaign.from_json(row[0]), int(row[1])


def _stats(db: Db, ids: list[str]) -> dict[str, tuple[int, int]]:
    """Vouchers issued and live redemptions of these campaigns: two counts on their campaign indexes."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    issued = dict(db.conn.execute(f"SELECT campaign_id, count(*) FROM vouchers WHERE campaign_id IN ({marks}) "
                                  "GROUP BY campaign_id", ids).fetchall())
    redeemed = dict(db.conn.execute(f"SELECT campaign_id, count(*) FROM redemptions WHERE campaign_id IN ({marks}) "
                                    "AND cancelled_at IS NULL GROUP BY campaign_id", ids).fetchall())
    return {k: (int(issued.get(k, 0)), int(redeemed.get(k, 0))) for k in ids}


def _rejection(text: str | None) -> dict[str, Any] | None:
    return None if not text else dict(json.loads(text))


def campaign_view(c: Campaign, now: datetime, issued: int = 0, redeemed: int = 0,
                  rejection: dict[str, Any] | None = None) -> dict[str, Any]:
    """A campaign as the back office shows it: its body, its status now, the steps open to it (no delete once
    something was redeemed), its vouchers issued and redeemed, and its last rejection (reason, by, at)."""
    body = c.to_dict()
    body["sku_count"] = len(body.pop("skus"))  # a page at a time: GET /v1/campaigns/{id}/skus
    actions = [str(a) for a in allowed_actions(c, now) if not (a is Action.DELETE and redeemed)]
    return {**body, "effective_status": str(effective_status(c, now)), "usage": describe(c),
            "actions": actions, "issued": issued, "redeemed": redeemed, "rejection": rejection}


def list_campaigns(db: Db, now: datetime, *, status: str | None = None, kind: str | None = None,
                   offset: int = 0, limit: int = 20) -> dict[str, Any]:
    """One page of campaigns, newest first; ``status`` filters on the status as it is now."""
    items = []
    for body, rejection in db.conn.execute("SELECT body, rejection FROM campaigns ORDER BY version DESC"):
        c = Campaign.from_json(body)
        if c.status is CampaignStatus.DELETED and status != "deleted":
            continue
        if status and str(effective_status(c, now)) != status:
            continue
        if kind and str(c.kind) != kind:
            continue
        items.append((c, rejection))
    page = items[offset:offset + limit]
    stats = _stats(db, [c.id for c, _ in page])
    return {"total": len(items), "offset": offset, "limit": limit,
            "items": [campaign_view(c, now, *stats[c.id], _rejection(r)) for c, r in page]}


def _view(db: Db, c: Campaign, now: datetime) -> dict[str, Any]:
    row = db.conn.execute("SELECT rejection FROM campaigns WHERE id=?", (c.id,)).fetchone()
    return campaign_view(c, now, *_stats(db, [c.id])[c.id], _rejection(row[0] if row else None))


def get_campaign(db: Db, campaign_id: str, now: datetime) -> dict[str, Any]:
    c, _ = load_campaign(db, campaign_id)
    return _view(db, c, now)


def _parse(body: dict[str, Any]) -> tuple[Campaign, list[Problem]]:
    """The campaign a request asks for, and each field it gives that the campaign's kind does not take."""
    try:
        return Campaign.read({**body, "status": "not_reviewed"})
    except (KeyError, ValueError, TypeError) as exc:
        raise ServiceError(422, "campaign.invalid", f"The campaign cannot be read: {exc}") from exc


def _store_ids(db: Db) -> list[str]:
    return [r[0] for r in db.conn.execute("SELECT id FROM stores")]


def create_campaign(db: Db, terminal: Terminal, manager: StaffSession, body: dict[str, Any],
                    now: datetime) -> dict[str, Any]:
    """A new campaign waits for review (``not_reviewed``): it redeems nothing until it is approved."""
    if body.get("timezone") is None:  # a campaign's own day (claims, pushes) is its creator's store's by default
        body = {**body, "timezone": store_zone(db, terminal.store_id)}
    c, misfits = _parse(body)
    refused = {"action": "campaign.refused", "actor": manager.staff_id, "terminal": terminal, "subject": c.id}
    problems = validate(c, now=now, stores=_store_ids(db)) + misfits
    if not problems and db.conn.execute("SELECT 1 FROM campaigns WHERE id=?", (c.id,)).fetchone():
        raise ServiceError(409, "campaign.id.taken", f"There is already a campaign {c.id}.", refused)
    if problems:
        raise RulesRefused(CampaignError(problems), refused)
    save_campaign(db, c)
    audit(db, now, "campaign.create", actor=manager.staff_id, terminal=terminal, subject=c.id, campaign=c.to_dict())
    return campaign_view(c, now)


def _editable(db: Db, terminal: Terminal, manager: StaffSession, campaign_id: str,
              now: datetime) -> tuple[Campaign, dict[str, Any]]:
    """A campaign that may still be changed, and the audit entry a refusal to change it leaves."""
    db.lock(f"campaign:{campaign_id}")  # two managers' edits one after the other, neither lost
    old, _ = load_campaign(db, campaign_id)
    refused = {"action": "campaign.refused", "actor": manager.staff_id, "terminal": terminal, "subject": campaign_id}
    try:
        check_editable(old, now)
    except CampaignError as err:
        raise RulesRefused(err, refused) from err
    return old, refused


def update_campaign(db: Db, terminal: Terminal, manager: StaffSession, campaign_id: str,
                    body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Edit a campaign that has not been approved yet (or was rejected); its status stays as it was."""
    old, refused = _editable(db, terminal, manager, campaign_id, now)
    if body.get("timezone") is None:
        body = {**body, "timezone": old.timezone}
    asked, misfits = _parse({**body, "id": campaign_id})
    c = replace(asked, status=old.status, skus=old.skus)
    problems = check_update(old, c) + validate(c, now=now, stores=_store_ids(db)) + misfits
    if problems:
        raise RulesRefused(CampaignError(problems), refused)
    save_campaign(db, c)
    if c.stores != old.stores:  # newly included stores' terminals must receive the vouchers too
        (n,) = db.conn.execute("SELECT count(*) FROM vouchers WHERE campaign_id=?", (campaign_id,)).fetchone()
        if n:
            first = db.next_versions(n)
            db.conn.execute("UPDATE vouchers SET version = ? + r.n FROM (SELECT code, row_number() OVER (ORDER BY code) - 1 "
                            "AS n FROM vouchers WHERE campaign_id=?) AS r WHERE vouchers.code = r.code",
                            (first, campaign_id))
    audit(db, now, "campaign.update", actor=manager.staff_id, terminal=terminal, subject=campaign_id,
          before=old.to_dict(), after=c.to_dict())
    return _view(db, c, now)


#: the audit entries that give a campaign its content: who made it, and every change to it since
AUTHORED = ("campaign.create", "campaign.load", "campaign.update", "campaign.skus.add", "campaign.skus.remove")


@dataclass(frozen=True, slots=True)
class Authors:
    """Who made a campaign and who changed it last, as the audit has it at the campaign's ``version``
    (None where no manager did: a campaign loaded from a fixture file is authored by ``fixture``)."""

    version: int | None
    created_by: str | None
    last_edited_by: str | None


def campaign_authors(db: Db, campaign_id: str) -> Authors:
    """Read in one statement, so the version and the authors are of one moment. The audit has no index on its
    subject: on a reader this scan keeps the writer free; the writer reads again only if the campaign changed."""
    marks = ",".join("?" * len(AUTHORED))
    row = db.conn.execute(
        f"SELECT (SELECT version FROM campaigns WHERE id=?), "
        f"(SELECT actor FROM audit WHERE subject=? AND action IN ({marks}) ORDER BY id LIMIT 1), "
        f"(SELECT actor FROM audit WHERE subject=? AND action IN ({marks}) ORDER BY id DESC LIMIT 1)",
        (campaign_id, campaign_id, *AUTHORED, campaign_id, *AUTHORED)).fetchone()
    return Authors(None if row[0] is None else int(row[0]), row[1], row[2])


def _four_eyes(db: Db, manager: StaffSession, campaign_id: str, version: int, authors: Authors | None,
               refused: dict[str, Any], *, waived: bool) -> dict[str, Any]:
    """Refuse an approval by the manager who made the campaign or changed it last (unless ``waived``); else
    the approval's audit detail. Every edit writes its audit entry in the transaction that saves the campaign
    under a new version, so authors read at this version are the campaign's."""
    if authors is None or authors.version != version:
        authors = campaign_authors(db, campaign_id)
    me = manager.staff_id
    if not waived and me in (authors.created_by, authors.last_edited_by):
        if authors.created_by == authors.last_edited_by:
            who = f"{campaign_id} was created and last edited by {me}"
        else:
            who = f"{campaign_id} was created by {authors.created_by} and last edited by {authors.last_edited_by}"
        raise ServiceError(403, "campaign.four_eyes", f"Four eyes: {who}; another manager must approve it.",
                           {**refused, "created_by": authors.created_by, "last_edited_by": authors.last_edited_by})
    return {"four_eyes": "waived" if waived else "applied", "created_by": authors.created_by,
            "last_edited_by": authors.last_edited_by}


def campaign_action(db: Db, terminal: Terminal, manager: StaffSession, campaign_id: str,
                    action: Action, now: datetime, *, four_eyes: bool = True,
                    authors: Authors | None = None, reason: str | None = None) -> dict[str, Any]:
    """A lifecycle step. An approval needs a manager other than the one who created the campaign or last
    edited it (four eyes), unless the service runs with the waiver (``four_eyes=False``, one-manager shops);
    either way the approval's audit entry says which. ``authors`` may be read beforehand on a reader.
    A rejection needs its ``reason`` (kept on the campaign and in the audit; any other step's goes in the
    audit only); a campaign with live redemptions is not deleted (``campaign.delete.redeemed``): it is ended."""
    db.lock(f"campaign:{campaign_id}")
    old, version = load_campaign(db, campaign_id)
    refused = {"action": "campaign.refused", "actor": manager.staff_id, "terminal": terminal,
               "subject": campaign_id, "step": str(action)}
    try:
        c = apply(old, action, now)
        if action is Action.REJECT and (problems := reason_problems(reason)):
            raise CampaignError(problems)
    except CampaignError as err:
        raise RulesRefused(err, refused) from err
    detail: dict[str, Any] = {}
    if action is Action.DELETE:
        (redeemed,) = db.conn.execute("SELECT count(*) FROM redemptions WHERE campaign_id=? AND cancelled_at IS NULL",
                                      (campaign_id,)).fetchone()
        if redeemed:
            raise ServiceError(409, "campaign.delete.redeemed",
                               f"{campaign_id} has {redeemed} redemption(s): a campaign with redemptions cannot be "
                               f"deleted; end it instead.", {**refused, "redeemed": int(redeemed)})
    if action is Action.APPROVE:
        detail = _four_eyes(db, manager, campaign_id, version, authors, refused, waived=not four_eyes)
    save_campaign(db, c)
    if reason is not None and reason.strip():
        detail["reason"] = reason.strip()
    if action is Action.REJECT:
        rejection = {"reason": reason.strip() if reason else "", "by": manager.staff_id, "at": format_time(now)}
        db.execute("UPDATE campaigns SET rejection=? WHERE id=?", (json.dumps(rejection), campaign_id))
    audit(db, now, f"campaign.{action}", actor=manager.staff_id, terminal=terminal, subject=campaign_id,
          before=str(effective_status(old, now)), after=str(c.status), **detail)
    return _view(db, c, now)


# -- the goods of a promotion --------------------------------------------------------------------------
def add_skus(db: Db, terminal: Terminal, manager: StaffSession, campaign_id: str,
             batch: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """Add a batch of SKUs (at most 100 a call, 1000 a promotion) to a campaign still being prepared."""
    old, refused = _editable(db, terminal, manager, campaign_id, now)
    try:
        skus = [PromoSku.from_dict(s) for s in batch]
    except (KeyError, ValueError, TypeError) as exc:
        raise ServiceError(422, "param.error", f"A SKU cannot be read: {exc}", refused) from exc
    problems = validate_skus(old, skus)
    if problems:
        raise RulesRefused(CampaignError(problems), refused)
    c = replace(old, skus=old.skus + tuple(skus))
    save_campaign(db, c)
    audit(db, now, "campaign.skus.add", actor=manager.staff_id, terminal=terminal, subject=campaign_id,
          skus=[s.sku for s in skus])
    return {"campaign_id": campaign_id, "added": len(skus), "total": len(c.skus)}


def remove_sku(db: Db, terminal: Terminal, manager: StaffSession, campaign_id: str, sku: str,
               now: datetime) -> dict[str, Any]:
    old, refused = _editable(db, terminal, manager, campaign_id, now)
    kept = tuple(s for s in old.skus if s.sku != sku)
    if len(kept) == len(old.skus):
        raise ServiceError(404, "sku.non.exist", f"SKU {sku} is not in campaign {campaign_id}.", refused)
    save_campaign(db, replace(old, skus=kept))
    audit(db, now, "campaign.skus.remove", actor=manager.staff_id, terminal=terminal, subject=campaign_id, sku=sku)
    return {"campaign_id": campaign_id, "removed": sku, "total": len(kept)}


def list_skus(db: Db, campaign_id: str, *, bind: str | None, page: int, size: int) -> dict[str, Any]:
    c, _ = load_campaign(db, campaign_id)
    rows = [s for s in c.skus if bind is None or str(s.bind) == bind]
    start = (page - 1) * size
    return {"campaign_id": campaign_id, "total": len(rows), "page": page, "size": size,
            "skus": [s.to_dict() for s in rows[start:start + size]]}


# -- the per-campaign report ------------------------------------------------------------------------------
def campaign_report(db: Db, campaign_id: str) -> dict[str, Any]:
    """Every live redemption of a campaign with its sale; the "referred by affiliate" column (Y/N) only
    when the campaign is shared with affiliates."""
    c, _ = load_campaign(db, campaign_id)
    rows = db.conn.execute(
        "SELECT r.redeemed_at, r.code, r.store_id, r.staff_id, coalesce(r.amount, 0), r.discount, v.affiliate_id "
        "FROM redemptions r LEFT JOIN vouchers v ON v.code = r.code "
        "WHERE r.campaign_id=? AND r.cancelled_at IS NULL ORDER BY r.redeemed_at, r.code", (campaign_id,)).fetchall()
    columns = ["redeemed_at", "code", "store_id", "staff_id", "sales", "discount"]
    if c.affiliates:
        columns += ["referred_by_affiliate", "affiliate_id"]
    items = []
    for r in rows:
        item = dict(zip(columns[:6], r[:6], strict=True))
        if c.affiliates:
            item["referred_by_affiliate"] = "Y" if r[6] else "N"
            item["affiliate_id"] = r[6] or ""
        items.append(item)
    return {"campaign_id": campaign_id, "affiliates": c.affiliates, "columns": columns, "rows": items,
            "totals": {"redemptions": len(items), "sales": sum(i["sales"] for i in items),
                       "discount": sum(i["discount"] for i in items),
                       "referred": sum(1 for i in items if i.get("referred_by_affiliate") == "Y")}}


def report_csv(report: dict[str, Any]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    money_columns = ("sales", "discount")  # CSV files state their unit: yuan with two decimals, as in every export
    writer.writerow([f"{c}_yuan" if c in money_columns else c for c in report["columns"]])
    for row in report["rows"]:
        writer.writerow([money(row[c]) if c in money_columns else row[c] for c in report["columns"]])
    return out.getvalue()


# -- stores -----------------------------------------------------------------------------------------
def stores(db: Db) -> list[dict[str, Any]]:
    return [{"id": r[0], "name": r[1], "timezone": r[2]}
            for r in db.conn.execute("SELECT id, name, timezone FROM stores ORDER BY id")]


def set_store_zone(db: Db, terminal: Terminal, manager: StaffSession, store_id: str, timezone: str,
                   now: datetime) -> dict[str, Any]:
    """Move a store to another time zone: its day and its tills' clock from their next catalog pull."""
    refused = {"action": "store.refused", "actor": manager.staff_id, "terminal": terminal, "subject": store_id}
    row = db.conn.execute("SELECT name, timezone FROM stores WHERE id=?", (store_id,)).fetchone()
    if row is None:
        raise ServiceError(404, "store.not_found", f"There is no store {store_id}.", refused)
    try:
        zone(timezone)
    except ValueError as err:
        raise ServiceError(422, "store.timezone.invalid", str(err), refused) from err
    db.execute("UPDATE stores SET timezone=?, version=? WHERE id=?", (timezone, db.next_versions(), store_id))
    audit(db, now, "store.timezone", actor=manager.staff_id, terminal=terminal, subject=store_id,
          before=row[1], after=timezone)
    return {"id": store_id, "name": row[0], "timezone": timezone}


# -- reports ----------------------------------------------------------------------------------------
def redemption_report(db: Db, now: datetime, *, days: int = 30, tz: str = "UTC") -> dict[str, Any]:
    """Live redemptions per day, campaign and store over the last ``days`` days, in the shop's time zone."""
    try:
        zone_info = zone(tz)
    except ValueError as exc:
        raise ServiceError(422, "report.tz.invalid", f"Unknown time zone {tz!r}.") from exc
    local_today = now.astimezone(zone_info).date()
    first_day = local_today - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), zone_info).astimezone(UTC)
    # each redemption's day in the zone at its own moment (right across a change to or from summer time)
    totals: dict[tuple[str, str, str], list[int]] = {}
    for at, campaign_id, store_id, discount, amount in db.execute(
            "SELECT redeemed_at, campaign_id, store_id, discount, coalesce(amount, 0) FROM redemptions "
            "WHERE cancelled_at IS NULL AND redeemed_at >= ?", (format_time(since),)):
        day = parse_time(at).astimezone(zone_info).date().isoformat()
        t = totals.setdefault((day, campaign_id, store_id), [0, 0, 0])
        t[0] += 1
        t[1] += discount
        t[2] += amount
    rows = [{"day": k[0], "campaign_id": k[1], "store_id": k[2], "redemptions": v[0], "discount": v[1], "amount": v[2]}
            for k, v in sorted(totals.items())]
    return {"from": first_day.isoformat(), "to": local_today.isoformat(), "tz": tz, "rows": rows,
            "totals": report_totals(db, rows)}


def report_totals(db: Db, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A report's rows summed per campaign (with its name), per store (with its name) and overall."""
    def summed(key: str | None) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for r in rows:
            t = out.setdefault(r[key] if key else "", [0, 0, 0])
            t[0] += r["redemptions"]
            t[1] += r["discount"]
            t[2] += r["amount"]
        return out

    def named(table: str, column: str, key: str) -> dict[str, str]:
        ids = sorted({r[key] for r in rows})
        if not ids:
            return {}
        found = db.conn.execute(f"SELECT id, {column} FROM {table} WHERE id IN ({','.join('?' * len(ids))})", ids)
        return {r[0]: json.loads(r[1]).get("name", "") if column == "body" else r[1] for r in found}

    names = {"campaign_id": named("campaigns", "body", "campaign_id"), "store_id": named("stores", "name", "store_id")}
    per = {key: [{key: k, "name": names[key].get(k, ""), "redemptions": t[0], "discount": t[1], "amount": t[2]}
                 for k, t in sorted(summed(key).items())] for key in names}
    overall = summed(None).get("", [0, 0, 0])
    return {"campaigns": per["campaign_id"], "stores": per["store_id"],
            "all": {"redemptions": overall[0], "discount": overall[1], "amount": overall[2]}}
