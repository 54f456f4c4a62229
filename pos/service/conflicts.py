"""Conflicts of uploads, as the back office lists and settles them: whose upload (till, member of staff), why, the
redemption it ran into (where, when, which till, who), and who settled it, when and with what note (audited)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pos.domain import format_time
from pos.service.engine import Db
from pos.service.ledger import ServiceError, Terminal, audit
from pos.service.staff import StaffSession

CONFLICT_COLUMNS = ("id, nonce, code, terminal_id, store_id, reason, message, item, existing, recorded_at, resolved_at, "
                    "resolved_by, resolution")
NOTE_MAX = 200  # characters of the note a conflict is settled with


def _other_side(db: Db, existing: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """The till and the staff member of each first redemption a conflict names (nonce → (terminal, staff))."""
    nonces = sorted({e["nonce"] for e in existing if e.get("nonce")})
    if not nonces:
        return {}
    marks = ",".join("?" * len(nonces))
    return {r[0]: (r[1], r[2]) for r in db.conn.execute(
        f"SELECT nonce, terminal_id, staff_id FROM redemptions WHERE nonce IN ({marks})", nonces)}


def _conflict_views(db: Db, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Conflicts as the back office lists them: whose upload (till and staff member), why, the redemption it
    ran into (where, when, at which till, by whom), and who settled it, when and with what note."""
    existing = [json.loads(r[8]) if r[8] else {} for r in rows]
    others = _other_side(db, existing)
    out = []
    for r, first in zip(rows, existing, strict=True):
        cid, nonce, code, terminal_id, store_id, reason, message, item, _, recorded_at, resolved_at, by, note = r
        if first.get("nonce") in others:
            first = {**first, "terminal_id": others[first["nonce"]][0], "staff_id": others[first["nonce"]][1]}
        ours = json.loads(item) if item else {}
        out.append({"id": int(cid), "nonce": nonce, "code": code, "terminal_id": terminal_id, "store_id": store_id,
                    "staff_id": ours.get("staff_id"), "reason": reason, "message": message,
                    "recorded_at": recorded_at, "redeemed_at": ours.get("redeemed_at"), "existing": first or None,
                    "settled": None if resolved_at is None else {"at": resolved_at, "by": by, "note": note or ""}})
    return out


def list_conflicts(db: Db, *, settled: bool | None = False, limit: int = 200) -> dict[str, Any]:
    """Conflicts newest first: the open ones (``settled=False``), the settled ones, or all (None); with the count
    of open ones."""
    where = {False: " WHERE resolved_at IS NULL", True: " WHERE resolved_at IS NOT NULL", None: ""}[settled]
    rows = [tuple(r) for r in db.conn.execute(f"SELECT {CONFLICT_COLUMNS} FROM conflicts{where} ORDER BY id DESC LIMIT ?",
                                              (limit,)).fetchall()]
    (still_open,) = db.conn.execute("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL").fetchone()
    return {"items": _conflict_views(db, rows), "open": int(still_open)}


def settle_conflict(db: Db, terminal: Terminal, manager: StaffSession, conflict_id: int, note: str | None,
                    now: datetime) -> dict[str, Any]:
    """Mark a conflict settled (by this manager, now, with an optional note of at most 200 characters); audited."""
    refused = {"action": "conflict.refused", "actor": manager.staff_id, "terminal": terminal, "subject": str(conflict_id)}
    text = (note or "").strip()
    if len(text) > NOTE_MAX:
        raise ServiceError(422, "conflict.note.invalid", f"A note is at most {NOTE_MAX} characters.", refused)
    db.lock(f"conflict:{conflict_id}")
    row = db.conn.execute("SELECT code, resolved_at, resolved_by FROM conflicts WHERE id=?", (conflict_id,)).fetchone()
    if row is None:
        raise ServiceError(404, "conflict.non.exist", f"No conflict {conflict_id}.", refused)
    if row[1] is not None:
        raise ServiceError(409, "conflict.settled", f"Conflict {conflict_id} was already settled by {row[2]}.", refused)
    db.conn.execute("UPDATE conflicts SET resolved_at=?, resolved_by=?, resolution=? WHERE id=?",
                    (format_time(now), manager.staff_id, text, conflict_id))
    audit(db, now, "conflict.settle", actor=manager.staff_id, terminal=terminal, subject=str(conflict_id), code=row[0],
          note=text)
    (view,) = _conflict_views(db, [tuple(db.conn.execute(f"SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id=?",
                                                         (conflict_id,)).fetchone())])
    return view
