"""One voucher as the back office looks it up: its status now, its campaign and its history (issued, claimed,
redeemed where, when and by whom, undone, conflicts of uploads, revoked); revoking it with a reason and
printing it again, each audited.

Every part of the history is read on an index: the voucher by its code, its live redemption on the
one-live index, its undone ones on a partial index of undone redemptions, its conflicts by code. Only a
voucher withdrawn before revocations kept their reason (``pos vouchers revoke``) has its revocation looked
up in the audit, which has no index on its subject.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pos.domain import Campaign, CodeError, display, format_time, parse_time, read_input
from pos.domain.campaigns import effective_status
from pos.domain.model import CampaignStatus
from pos.service.engine import Db
from pos.service.ledger import ServiceError, Terminal, audit
from pos.service.staff import StaffSession

REASON_MAX = 200  # characters of a revocation's reason, as a rejection's

VOUCHER = ("SELECT code, campaign_id, customer_id, claimed_at, status, issued_at, affiliate_id, revocation "
           "FROM vouchers WHERE code=?")
REDEMPTIONS = ("SELECT nonce, store_id, staff_id, terminal_id, amount, discount, redeemed_at, mode, cancelled_at, "
               "cancelled_by, cancel_reason FROM redemptions WHERE code=? AND cancelled_at IS {} NULL")
CONFLICTS = ("SELECT id, nonce, terminal_id, store_id, reason, message, item, recorded_at, resolved_at, resolved_by "
             "FROM conflicts WHERE code=? ORDER BY id")


def code_of(raw: str) -> str:
    """The voucher's code from what was typed (any case, with dashes) or scanned (its signed QR payload)."""
    try:
        return read_input(raw)[0]
    except CodeError as exc:
        raise ServiceError(422, "voucher.code.invalid", f"{raw[:40]!r} is not a voucher code: {exc}") from exc


def _row(db: Db, code: str, refused: dict[str, Any] | None = None) -> tuple[Any, ...]:
    row = db.conn.execute(VOUCHER, (code,)).fetchone()
    if row is None:
        raise ServiceError(404, "voucher.non.exist", f"No voucher {display(code)} was ever issued.", refused)
    return tuple(row)


def _names(db: Db, table: str, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {r[0]: r[1] for r in db.conn.execute(f"SELECT id, name FROM {table} WHERE id IN ({marks})", sorted(ids))}


def _redeemed(r: tuple[Any, ...]) -> list[dict[str, Any]]:
    """A redemption as its history events: redeemed, and undone when it was."""
    nonce, store_id, staff_id, terminal_id, amount, discount, at, mode, cancelled_at, cancelled_by, why = r
    events = [{"event": "redeemed", "at": at, "store_id": store_id, "terminal_id": terminal_id, "staff_id": staff_id,
               "mode": mode, "discount": int(discount), "amount": None if amount is None else int(amount),
               "nonce": nonce, "undone": cancelled_at is not None}]
    if cancelled_at is not None:
        events.append({"event": "voided" if why == "void" else "cancelled", "at": cancelled_at, "store_id": store_id,
                       "terminal_id": terminal_id, "staff_id": cancelled_by, "nonce": nonce})
    return events


def _conflict(r: tuple[Any, ...]) -> dict[str, Any]:
    cid, nonce, terminal_id, store_id, reason, message, item, recorded_at, resolved_at, resolved_by = r
    staff_id = json.loads(item).get("staff_id") if item else None
    settled = None if resolved_at is None else {"at": resolved_at, "by": resolved_by}
    return {"event": "conflict", "at": recorded_at, "id": int(cid), "store_id": store_id, "terminal_id": terminal_id,
            "staff_id": staff_id, "reason": reason, "message": message, "nonce": nonce, "settled": settled}


def _revocation(db: Db, code: str, status: str, kept: str | None) -> dict[str, Any] | None:
    if kept:
        return dict(json.loads(kept))
    if status != "revoked":
        return None
    # withdrawn from the shell before revocations kept their reason: the audit has who and when
    row = db.conn.execute("SELECT at, actor FROM audit WHERE subject=? AND action='voucher.revoke' ORDER BY id DESC "
                          "LIMIT 1", (code,)).fetchone()
    return {"at": row[0], "by": row[1], "reason": ""} if row else {"at": None, "by": None, "reason": ""}


def _status(stored: str, live: bool, campaign: Campaign | None, window: tuple[datetime | None, datetime | None],
            now: datetime) -> str:
    """What the voucher is now, in one word: revoked, redeemed, expired, not_yet_valid, campaign_inactive, valid."""
    if stored == "revoked":
        return "revoked"
    if live:
        return "redeemed"
    starts, ends = window
    if ends is not None and now >= ends:
        return "expired"
    if starts is not None and now < starts:
        return "not_yet_valid"
    if campaign is None or effective_status(campaign, now) is not CampaignStatus.ACTIVE:
        return "campaign_inactive"
    return "valid"


def _history(db: Db, code: str, row: tuple[Any, ...], revocation: dict[str, Any] | None) -> list[dict[str, Any]]:
    _, _, customer_id, claimed_at, _, issued_at, _, _ = row
    events: list[dict[str, Any]] = [{"event": "issued", "at": issued_at}]
    if customer_id:
        events.append({"event": "claimed", "at": claimed_at or issued_at, "customer_id": customer_id})
    for which in ("NOT", ""):  # live (on the one-live index), then undone (on the partial index of undone ones)
        for r in db.conn.execute(REDEMPTIONS.format(which), (code,)).fetchall():
            events += _redeemed(tuple(r))
    events += [_conflict(tuple(r)) for r in db.conn.execute(CONFLICTS, (code,)).fetchall()]
    if revocation is not None:
        events.append({"event": "revoked", "at": revocation.get("at"), "staff_id": revocation.get("by"),
                       "reason": revocation.get("reason", "")})
    events.sort(key=lambda e: e["at"] or "")
    staff = _names(db, "staff", {e["staff_id"] for e in events if e.get("staff_id")})
    stores = _names(db, "stores", {e["store_id"] for e in events if e.get("store_id")})
    for e in events:
        if e.get("staff_id"):
            e["staff_name"] = staff.get(e["staff_id"], "")
        if e.get("store_id"):
            e["store_name"] = stores.get(e["store_id"], "")
    return events


def voucher_view(db: Db, raw: str, now: datetime, *, manager: bool) -> dict[str, Any]:
    """A voucher's status, campaign and history; ``actions`` are what this member of staff may do with it."""
    code = code_of(raw)
    row = _row(db, code)
    _, campaign_id, customer_id, claimed_at, stored, issued_at, affiliate_id, kept = row
    body = db.conn.execute("SELECT body FROM campaigns WHERE id=?", (campaign_id,)).fetchone()
    campaign = Campaign.from_json(body[0]) if body else None
    window = campaign.validity.window(parse_time(claimed_at) if claimed_at else None) if campaign else (None, None)
    revocation = _revocation(db, code, stored, kept)
    history = _history(db, code, row, revocation)
    live = any(e["event"] == "redeemed" and not e["undone"] for e in history)
    status = _status(stored, live, campaign, window, now)
    actions = [] if not manager else [a for a, allowed in (("revoke", status != "revoked"),
                                                           ("print", status not in ("revoked", "redeemed"))) if allowed]
    return {"code": code, "display": display(code), "status": status,
            "campaign": None if campaign is None else {
                "id": campaign.id, "name": campaign.name, "status": str(effective_status(campaign, now)),
                "timezone": campaign.timezone},
            "customer_id": customer_id, "affiliate_id": affiliate_id, "issued_at": issued_at, "claimed_at": claimed_at,
            "valid_from": format_time(window[0]) if window[0] else None,
            "valid_until": format_time(window[1]) if window[1] else None,
            "revocation": revocation, "history": history, "actions": actions}


def revoke(db: Db, terminal: Terminal, manager: StaffSession, raw: str, reason: str | None,
           now: datetime) -> dict[str, Any]:
    """Withdraw a voucher, saying why (1 to 200 characters): terminals refuse it from their next catalog pull."""
    code = code_of(raw)
    refused = {"action": "voucher.refused", "actor": manager.staff_id, "terminal": terminal, "subject": code,
               "step": "revoke"}
    text = (reason or "").strip()
    if not 1 <= len(text) <= REASON_MAX:
        raise ServiceError(422, "voucher.revoke.reason",
                           f"Say why the voucher is revoked, in 1 to {REASON_MAX} characters.", refused)
    if _row(db, code, refused)[4] == "revoked":
        raise ServiceError(409, "voucher.revoke.already", f"Voucher {display(code)} was already revoked.", refused)
    revocation = {"reason": text, "by": manager.staff_id, "at": format_time(now)}
    db.conn.execute("UPDATE vouchers SET status='revoked', revocation=?, version=? WHERE code=?",
                    (json.dumps(revocation), db.next_versions(), code))
    audit(db, now, "voucher.revoke", actor=manager.staff_id, terminal=terminal, subject=code, reason=text)
    return voucher_view(db, code, now, manager=True)


def allow_print(db: Db, terminal: Terminal, manager: StaffSession, raw: str, now: datetime) -> str:
    """Before a voucher is printed again: refused when it was revoked or is redeemed; else audited (who printed
    a copy of which voucher). Returns its code."""
    code = code_of(raw)
    refused = {"action": "voucher.refused", "actor": manager.staff_id, "terminal": terminal, "subject": code,
               "step": "print"}
    if _row(db, code, refused)[4] == "revoked":
        raise ServiceError(409, "voucher.print.revoked", f"Voucher {display(code)} was revoked: it is not printed again.",
                           refused)
    if db.conn.execute("SELECT 1 FROM redemptions WHERE code=? AND cancelled_at IS NULL", (code,)).fetchone():
        raise ServiceError(409, "voucher.print.redeemed",
                           f"Voucher {display(code)} is redeemed: a copy could not be used.", refused)
    audit(db, now, "voucher.print", actor=manager.staff_id, terminal=terminal, subject=code)
    return code
