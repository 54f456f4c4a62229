"""Back-office routes: verifier rights, the staff list, adding, editing, deactivating and unlocking staff and
resetting their PIN, redemption reports, conflicts of uploads and settling them, and one voucher looked up (by
any member of staff), revoked or printed again (by a manager)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from pos.domain.pins import PinError, hash_pin
from pos.service import backoffice, conflicts, printing, staff, vouchers
from pos.service.deps import ManagerDep, ServiceDep, TerminalDep, write
from pos.service.ledger import ServiceError
from pos.service.models import (
    CodeText,
    Ident,
    PinBody,
    RevokeBody,
    SettleBody,
    StaffBody,
    StaffUpdateBody,
    StoreZoneBody,
    VerifierRequest,
)
from pos.service.schema import store_zone
from pos.service.staff import StaffSession

router = APIRouter()


async def any_staff(request: Request, terminal: TerminalDep,
                    x_staff_session: Annotated[str | None, Header()] = None) -> StaffSession:
    """The member of staff logged in at this terminal, cashier or manager (``X-Staff-Session``)."""
    if not x_staff_session:
        raise ServiceError(401, "session.missing", "Log in first (send X-Staff-Session).")
    session = staff.session_of(request.app.state.service.reader(), x_staff_session, terminal, datetime.now(UTC))
    if session is None:
        raise ServiceError(401, "session.invalid", "This staff session is unknown, expired, or from another terminal.")
    return session


StaffDep = Annotated[StaffSession, Depends(any_staff)]


@router.put("/v1/verifiers/{staff_id}", summary="Manager: let a staff member verify in all or chosen stores, or revoke")
async def put_verifier(service: ServiceDep, staff_id: Ident, body: VerifierRequest, terminal: TerminalDep,
                       session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    return await write(service, lambda db: staff.set_verifier(db, terminal, session, staff_id, all_stores=body.all_stores,
                                                     stores=body.stores, active=body.active, now=now))


@router.get("/v1/stores", summary="Manager: the stores with their time zones")
def store_list(service: ServiceDep, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    return {"items": backoffice.stores(service.reader())}


@router.put("/v1/stores/{store_id}/timezone", summary="Manager: move a store to another time zone (audited)")
async def put_store_zone(service: ServiceDep, store_id: Ident, body: StoreZoneBody, terminal: TerminalDep,
                         session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    return await write(service, lambda db: backoffice.set_store_zone(db, terminal, session, store_id, body.timezone, now))


@router.get("/v1/staff", summary="Manager: staff members, their verifier rights and lockouts")
def staff_list(service: ServiceDep, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    return {"staff": staff.list_staff(service.reader(), datetime.now(UTC))}


@router.post("/v1/staff/{staff_id}/unlock", summary="Manager: clear a staff member's wrong-PIN count and lockout")
async def unlock_staff(service: ServiceDep, staff_id: Ident, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    return await write(service, lambda db: staff.unlock(db, terminal, session, staff_id, now))


@router.put("/v1/staff/{staff_id}/pin", summary="Manager: give a staff member a new PIN (and clear their lockout)")
async def reset_pin(service: ServiceDep, staff_id: Ident, body: PinBody, terminal: TerminalDep,
                    session: ManagerDep) -> dict[str, Any]:
    try:  # slow on purpose: off the event loop and the writer; the role's own rule is checked on the writer
        pin_hash: str | None = await run_in_threadpool(hash_pin, body.pin)
    except PinError:
        pin_hash = None
    now = datetime.now(UTC)
    return await write(service, lambda db: staff.set_pin(db, terminal, session, staff_id, body.pin, pin_hash, now))


@router.post("/v1/staff", status_code=201, summary="Manager: add a staff member with their PIN")
async def add_staff(service: ServiceDep, body: StaffBody, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    return await write(service, lambda db: staff.add_staff(db, terminal, session, staff_id=body.id, name=body.name,
                                                           role=body.role, pin=body.pin, now=now))


@router.get("/v1/reports/redemptions", summary="Manager: live redemptions per day, campaign and store")
def report(service: ServiceDep, terminal: TerminalDep, session: ManagerDep, days: Annotated[int, Query(ge=1, le=366)] = 30,
           tz: Annotated[str | None, Query(min_length=1, max_length=64,
                                           description="IANA zone of the days; default the manager's store's")] = None
           ) -> dict[str, Any]:
    db = service.reader()
    return backoffice.redemption_report(db, datetime.now(UTC), days=days, tz=tz or store_zone(db, terminal.store_id))


async def _pin_hash(pin: str | None) -> str | None:
    """A PIN's hash, made off the event loop and the writer (slow on purpose); None for no PIN or one that breaks
    even a cashier's rule (the role's own rule is checked on the writer)."""
    if not pin:
        return None
    try:
        return await run_in_threadpool(hash_pin, pin)
    except PinError:
        return None


@router.put("/v1/staff/{staff_id}", summary="Manager: change a staff member's name and role (a new manager: with a PIN)")
async def update_staff(service: ServiceDep, staff_id: Ident, body: StaffUpdateBody, terminal: TerminalDep,
                       session: ManagerDep) -> dict[str, Any]:
    pin_hash = await _pin_hash(body.pin)
    now = datetime.now(UTC)
    return await write(service, lambda db: staff.update_staff(db, terminal, session, staff_id, name=body.name,
                                                              role=body.role, pin=body.pin, pin_hash=pin_hash, now=now))


@router.post("/v1/staff/{staff_id}/deactivate", summary="Manager: deactivate a staff member: no login, here or at a till")
async def deactivate(service: ServiceDep, staff_id: Ident, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    return await write(service, lambda db: staff.set_active(db, terminal, session, staff_id, False, now))


@router.post("/v1/staff/{staff_id}/reactivate", summary="Manager: let a deactivated staff member log in again")
async def reactivate(service: ServiceDep, staff_id: Ident, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    return await write(service, lambda db: staff.set_active(db, terminal, session, staff_id, True, now))


@router.get("/v1/conflicts", summary="Manager: conflicts of uploads, newest first: open, settled or all")
def conflict_list(service: ServiceDep, terminal: TerminalDep, session: ManagerDep,
              state: Literal["open", "settled", "all"] = "open",
              limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
    settled = {"open": False, "settled": True, "all": None}[state]
    return conflicts.list_conflicts(service.reader(), settled=settled, limit=limit)


@router.post("/v1/conflicts/{conflict_id}/settle", summary="Manager: mark a conflict settled, with a note (audited)")
async def settle(service: ServiceDep, conflict_id: Annotated[int, Path(ge=1, le=2**62)], terminal: TerminalDep,
                 session: ManagerDep, body: SettleBody | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    note = body.note if body else None
    return await write(service, lambda db: conflicts.settle_conflict(db, terminal, session, conflict_id, note, now))


@router.get("/v1/vouchers/{code}", summary="Staff: one voucher's status, campaign and history (a manager: what they may do)")
def voucher(service: ServiceDep, code: CodeText, terminal: TerminalDep, session: StaffDep) -> dict[str, Any]:
    return vouchers.voucher_view(service.reader(), code, datetime.now(UTC), manager=session.role == "manager")


@router.post("/v1/vouchers/{code}/revoke", summary="Manager: withdraw a voucher, with a reason (audited)")
async def revoke(service: ServiceDep, code: CodeText, body: RevokeBody, terminal: TerminalDep,
                 session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    return await write(service, lambda db: vouchers.revoke(db, terminal, session, code, body.reason, now))


@router.post("/v1/vouchers/{code}/print", summary="Manager: a voucher's QR image and printable sheet again (audited)")
async def reprint(service: ServiceDep, code: CodeText, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    found = await write(service, lambda db: vouchers.allow_print(db, terminal, session, code, now))
    image, sheet = await run_in_threadpool(lambda: printing.one_voucher(service.reader(), found))
    return {"code": found, "png": base64.b64encode(image).decode(), "html": sheet}
