"""Staff at the service: PIN logins with lockout, shift sessions, and what only managers may do.

Checking a PIN costs tens of milliseconds by design, so it is done off the writer thread; only the
bookkeeping (failure count, lockout, the session) goes through the writer.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pos.domain import Verifier, format_time, parse_time
from pos.domain.model import local_text
from pos.domain.pins import LOCKED_FOR, PinError, check_pin_rules, hash_pin, locked_until
from pos.service.admin import issue_vouchers, token_hash, voucher_payload
from pos.service.engine import Db
from pos.service.ledger import ServiceError, Terminal, audit
from pos.service.schema import store_zone, touch_staff

SHIFT = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class StaffSession:
    staff_id: str
    role: str
    terminal_id: str


def pin_hash_of(db: Db, staff_id: str) -> str | None:
    row = db.conn.execute("SELECT pin_hash FROM staff WHERE id=? AND active", (staff_id,)).fetchone()
    return row[0] if row else None


def record_login(db: Db, terminal: Terminal, staff_id: str, pin_ok: bool,
                 now: datetime) -> dict[str, Any]:
    """After the PIN was checked: count a failure (locking after too many) or open a session."""
    db.lock(f"staff:{staff_id}")  # failures at two tills at once both count
    row = db.conn.execute("SELECT name, role, failed_logins, last_failed_at, active FROM staff WHERE id=?",
                          (staff_id,)).fetchone()
    failed = {"action": "login.failed", "actor": staff_id, "terminal": terminal, "subject": staff_id}
    known = row is not None and bool(row[4])
    if row is None or not row[4]:
        # an id that is no active staff member's is answered exactly as a real one with a wrong PIN: counted,
        # and locked after as many failures, so that neither the words nor a lockout tell which ids exist
        db.conn.execute("DELETE FROM login_failures WHERE last_failed_at < ?", (format_time(now - 2 * LOCKED_FOR),))
        row = db.conn.execute("SELECT NULL, NULL, failures, last_failed_at FROM login_failures WHERE staff_id=?",
                              (staff_id,)).fetchone() or (None, None, 0, None)
        pin_ok = False
    failures, last_failed = int(row[2]), row[3]
    until = locked_until(failures, parse_time(last_failed) if last_failed else None)
    if until is not None and now < until:
        when = local_text(until, store_zone(db, terminal.store_id))  # on the clock of the store it is read in
        raise ServiceError(423, "login.locked", f"Too many wrong PINs: locked until {when}. A manager can unlock.",
                           {**failed, "action": "login.locked"})
    if until is not None:  # the lock has run out: start counting afresh
        failures = 0
    if not pin_ok:
        failures += 1
        if known:
            db.conn.execute("UPDATE staff SET failed_logins=?, last_failed_at=? WHERE id=?",
                            (failures, format_time(now), staff_id))
        else:
            db.conn.execute("INSERT INTO login_failures (staff_id, failures, last_failed_at) VALUES (?,?,?) "
                            "ON CONFLICT (staff_id) DO UPDATE SET failures=excluded.failures, "
                            "last_failed_at=excluded.last_failed_at", (staff_id, failures, format_time(now)))
        # the failure count must survive the refusal, so it is written here and the refusal returned as data
        audit(db, now, "login.failed", actor=staff_id, terminal=terminal, subject=staff_id, failures=failures,
              **({} if known else {"unknown": True}))
        return {"error": {"status": 401, "code": "login.failed", "message": "Wrong staff number or PIN."}}
    name, role = row[0], row[1]
    token = secrets.token_urlsafe(32)
    expires = now + SHIFT
    db.conn.execute("UPDATE staff SET failed_logins=0, last_failed_at=NULL WHERE id=?", (staff_id,))
    db.conn.execute("INSERT INTO sessions (token_hash, staff_id, terminal_id, role, created_at, expires_at) "
                    "VALUES (?,?,?,?,?,?)", (token_hash(token), staff_id, terminal.id, role, format_time(now),
                                              format_time(expires)))
    audit(db, now, "login", actor=staff_id, terminal=terminal, subject=staff_id)
    return {"session": token, "expires_at": format_time(expires), "staff": {"id": staff_id, "name": name, "role": role}}


def session_of(db: Db, token: str, terminal: Terminal, now: datetime) -> StaffSession | None:
    row = db.conn.execute("SELECT staff_id, role, terminal_id, expires_at FROM sessions WHERE token_hash=?",
                          (token_hash(token),)).fetchone()
    if row is None or row[2] != terminal.id or parse_time(row[3]) <= now:
        return None
    return StaffSession(row[0], row[1], row[2])


def set_verifier(db: Db, terminal: Terminal, manager: StaffSession, staff_id: str, *,
                 all_stores: bool, stores: list[str], active: bool, now: datetime) -> dict[str, Any]:
    """Let a staff member verify in all stores or in the listed ones, or take the right away."""
    if db.conn.execute("SELECT 1 FROM staff WHERE id=?", (staff_id,)).fetchone() is None:
        raise ServiceError(404, "staff.not_found", f"No staff member {staff_id}.")
    unknown = [s for s in stores if db.conn.execute("SELECT 1 FROM stores WHERE id=?", (s,)).fetchone() is None]
    if unknown:
        raise ServiceError(422, "verifier.store_unknown", f"No store {', '.join(unknown)}.")
    if active and not all_stores and not stores:
        raise ServiceError(422, "verifier.no_store", "Choose all stores or at least one store.")
    grant = Verifier(staff_id, all_stores, frozenset(stores), active)
    db.conn.execute(
        "INSERT INTO verifiers (staff_id, all_stores, stores, active, version) VALUES (?,?,?,?,?) "
        "ON CONFLICT(staff_id) DO UPDATE SET all_stores=excluded.all_stores, stores=excluded.stores, "
        "active=excluded.active, version=excluded.version",
        (staff_id, all_stores, json.dumps(sorted(stores)), active, db.next_versions()))
    touch_staff(db, staff_id)
    audit(db, now, "verifier.grant" if active else "verifier.revoke", actor=manager.staff_id, terminal=terminal,
          subject=staff_id, **grant.to_dict())
    return grant.to_dict()


def _member(db: Db, manager: StaffSession, terminal: Terminal, staff_id: str) -> tuple[str, int, str | None]:
    """The role and failure count of a member of staff, held against other logins until the change commits."""
    db.lock(f"staff:{staff_id}")
    row = db.conn.execute("SELECT role, failed_logins, last_failed_at FROM staff WHERE id=?", (staff_id,)).fetchone()
    if row is None:
        raise ServiceError(404, "staff.not_found", f"No staff member {staff_id}.",
                           {"action": "staff.refused", "actor": manager.staff_id, "terminal": terminal, "subject": staff_id})
    return row[0], int(row[1]), row[2]


def unlock(db: Db, terminal: Terminal, manager: StaffSession, staff_id: str, now: datetime) -> dict[str, Any]:
    """Clear a member of staff's wrong-PIN count, and with it a lockout."""
    _, failures, last_failed = _member(db, manager, terminal, staff_id)
    was_locked = locked_until(failures, parse_time(last_failed) if last_failed else None)
    db.conn.execute("UPDATE staff SET failed_logins=0, last_failed_at=NULL WHERE id=?", (staff_id,))
    audit(db, now, "staff.unlock", actor=manager.staff_id, terminal=terminal, subject=staff_id, failures=failures,
          was_locked=was_locked is not None and now < was_locked)
    return {"id": staff_id, "failed_logins": 0, "locked_until": None}


def set_pin(db: Db, terminal: Terminal, manager: StaffSession, staff_id: str, pin: str, pin_hash: str | None,
            now: datetime) -> dict[str, Any]:
    """Give a member of staff a new PIN (``pin_hash``, made off the writer) and clear their lockout. The PIN is
    checked here against the rules for their role (a manager's is longer); it is never stored or audited."""
    role, failures, _ = _member(db, manager, terminal, staff_id)
    try:
        check_pin_rules(pin, role)
    except PinError as exc:
        raise ServiceError(422, exc.code, exc.message, {"action": "staff.refused", "actor": manager.staff_id,
                                                        "terminal": terminal, "subject": staff_id}) from exc
    if pin_hash is None:  # cannot happen: a PIN that passes its role's rules passes the cashier's, which made the hash
        raise ServiceError(422, "pin.invalid", "A PIN is 4 to 8 digits.")
    # a new catalog version: the stores where they may verify receive the new hash at their next pull
    db.conn.execute("UPDATE staff SET pin_hash=?, failed_logins=0, last_failed_at=NULL, version=? WHERE id=?",
                    (pin_hash, db.next_versions(), staff_id))
    audit(db, now, "staff.pin_reset", actor=manager.staff_id, terminal=terminal, subject=staff_id, role=role,
          failures=failures)
    return {"id": staff_id, "failed_logins": 0, "locked_until": None}


def issue(db: Db, terminal: Terminal, manager: StaffSession, campaign_id: str, *, count: int,
          customer_id: str | None, now: datetime, affiliate_id: str | None = None) -> dict[str, Any]:
    from pos.service.admin import ClaimError, FixtureError

    try:
        codes = issue_vouchers(db, campaign_id, count=count, customer_id=customer_id, now=now,
                               actor=manager.staff_id, terminal=terminal, affiliate_id=affiliate_id)
    except ClaimError as exc:
        raise ServiceError(422, exc.code, str(exc), {"action": "vouchers.refused", "actor": manager.staff_id,
                                                     "terminal": terminal, "subject": campaign_id}) from exc
    except FixtureError as exc:
        raise ServiceError(422, "vouchers.refused", str(exc)) from exc
    return {"campaign_id": campaign_id, "vouchers": [{"code": c, "payload": voucher_payload(db, c)} for c in codes]}


# -- editing a member of staff ----------------------------------------------------------------------
NAME_MAX = 40


def _refused(manager: StaffSession, terminal: Terminal, staff_id: str) -> dict[str, Any]:
    return {"action": "staff.refused", "actor": manager.staff_id, "terminal": terminal, "subject": staff_id}


def _keeps_a_manager(db: Db, manager: StaffSession, terminal: Terminal, staff_id: str) -> None:
    """Refuse what would leave the shop without an active manager (nobody could then run the back office)."""
    db.lock("staff:managers")  # two managers taking each other's role at once: one of them stays
    (others,) = db.conn.execute("SELECT count(*) FROM staff WHERE role='manager' AND active AND id != ?",
                                (staff_id,)).fetchone()
    if not others:
        raise ServiceError(409, "staff.last_manager", f"{staff_id} is the only active manager: make another member of "
                                                      "staff a manager first.", _refused(manager, terminal, staff_id))


def _not_self(manager: StaffSession, terminal: Terminal, staff_id: str, what: str) -> None:
    if staff_id == manager.staff_id:
        raise ServiceError(409, "staff.self", f"You cannot {what} yourself: ask another manager.",
                           _refused(manager, terminal, staff_id))


def update_staff(db: Db, terminal: Terminal, manager: StaffSession, staff_id: str, *, name: str, role: str,
                 pin: str | None, pin_hash: str | None, now: datetime) -> dict[str, Any]:
    """Change a member of staff's name and role. Making a cashier a manager needs a new PIN (a manager's is 6 to 8
    digits: ``pin_hash`` made off the writer); a change of role ends their open sessions, which carry the old one.
    Nobody changes their own role, and the last active manager stays one."""
    old_role, _, _ = _member(db, manager, terminal, staff_id)
    refused = _refused(manager, terminal, staff_id)
    if not name.strip() or len(name.strip()) > NAME_MAX:
        raise ServiceError(422, "staff.name.invalid", f"The name must be 1 to {NAME_MAX} characters.", refused)
    if role not in ("cashier", "manager"):
        raise ServiceError(422, "staff.role.invalid", "The role is cashier or manager.", refused)
    if role != old_role:
        _not_self(manager, terminal, staff_id, "change the role of")
        if old_role == "manager":
            _keeps_a_manager(db, manager, terminal, staff_id)
    if role == "manager" and old_role != "manager" and not pin:
        raise ServiceError(422, "staff.pin.required", "A new manager needs a new PIN of 6 to 8 digits.", refused)
    if pin:
        try:
            check_pin_rules(pin, role)
        except PinError as exc:
            raise ServiceError(422, exc.code, exc.message, refused) from exc
    row = db.conn.execute("SELECT name FROM staff WHERE id=?", (staff_id,)).fetchone()
    db.conn.execute("UPDATE staff SET name=?, role=?, version=? WHERE id=?",
                    (name.strip(), role, db.next_versions(), staff_id))
    if pin and pin_hash:
        db.conn.execute("UPDATE staff SET pin_hash=?, failed_logins=0, last_failed_at=NULL WHERE id=?",
                        (pin_hash, staff_id))
    if role != old_role:
        db.conn.execute("DELETE FROM sessions WHERE staff_id=?", (staff_id,))
    audit(db, now, "staff.update", actor=manager.staff_id, terminal=terminal, subject=staff_id,
          before={"name": row[0], "role": old_role}, after={"name": name.strip(), "role": role}, new_pin=bool(pin))
    return {"id": staff_id, "name": name.strip(), "role": role}


def set_active(db: Db, terminal: Terminal, manager: StaffSession, staff_id: str, active: bool,
               now: datetime) -> dict[str, Any]:
    """Deactivate a member of staff (they cannot log in at the service at once, nor at a till after its next
    catalog pull; their open sessions end) or take them back. Nobody deactivates themselves or the last active
    manager."""
    role, _, _ = _member(db, manager, terminal, staff_id)
    (was,) = db.conn.execute("SELECT active FROM staff WHERE id=?", (staff_id,)).fetchone()
    if bool(was) != active:
        if not active:
            _not_self(manager, terminal, staff_id, "deactivate")
            if role == "manager":
                _keeps_a_manager(db, manager, terminal, staff_id)
            db.conn.execute("DELETE FROM sessions WHERE staff_id=?", (staff_id,))
        db.conn.execute("UPDATE staff SET active=?, version=? WHERE id=?", (active, db.next_versions(), staff_id))
        audit(db, now, "staff.reactivate" if active else "staff.deactivate", actor=manager.staff_id, terminal=terminal,
              subject=staff_id, role=role)
    return {"id": staff_id, "active": active}


# -- the staff list, and adding a member ------------------------------------------------------------
STAFF_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")


def list_staff(db: Db, now: datetime | None = None) -> list[dict[str, Any]]:
    """Staff with their verifier rights, their count of wrong PINs in a row and, while it lasts, their lockout."""
    now = now or datetime.now(UTC)
    rows = db.conn.execute(
        "SELECT s.id, s.name, s.role, s.active, v.all_stores, v.stores, v.active, s.failed_logins, s.last_failed_at "
        "FROM staff s LEFT JOIN verifiers v ON v.staff_id = s.id ORDER BY s.role DESC, s.id").fetchall()
    out = []
    for r in rows:
        until = locked_until(int(r[7]), parse_time(r[8]) if r[8] else None)
        out.append({"id": r[0], "name": r[1], "role": r[2], "active": bool(r[3]),
                    "verifier": None if r[4] is None else {"all_stores": bool(r[4]), "stores": json.loads(r[5]),
                                                           "active": bool(r[6])},
                    "failed_logins": int(r[7]), "locked_until": format_time(until) if until and now < until else None})
    return out


def add_staff(db: Db, terminal: Terminal, manager: StaffSession, *, staff_id: str, name: str,
              role: str, pin: str, now: datetime) -> dict[str, Any]:
    refused = {"action": "staff.refused", "actor": manager.staff_id, "terminal": terminal, "subject": staff_id}
    if not STAFF_ID.match(staff_id):
        raise ServiceError(422, "staff.id.invalid", "A staff id is 1 to 32 small letters, digits, '.', '-' or '_'.", refused)
    if not name.strip() or len(name) > 40:
        raise ServiceError(422, "staff.name.invalid", "The name must be 1 to 40 characters.", refused)
    if role not in ("cashier", "manager"):
        raise ServiceError(422, "staff.role.invalid", "The role is cashier or manager.", refused)
    try:
        pin_hash = hash_pin(pin, role=role)
    except PinError as exc:
        raise ServiceError(422, exc.code, exc.message, refused) from exc
    if db.conn.execute("SELECT 1 FROM staff WHERE id=?", (staff_id,)).fetchone():
        raise ServiceError(409, "staff.id.taken", f"There is already a staff member {staff_id}.", refused)
    db.execute("INSERT INTO staff (id, name, role, active, pin_hash, version) VALUES (?,?,?,?,?,?)",
               (staff_id, name.strip(), role, True, pin_hash, db.next_versions()))
    audit(db, now, "staff.add", actor=manager.staff_id, terminal=terminal, subject=staff_id, role=role)
    return {"id": staff_id, "name": name.strip(), "role": role, "active": True, "verifier": None}
