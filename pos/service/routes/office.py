"""Manager routes for staff and reports: verifier rights, the staff list, adding staff, unlocking staff and
resetting their PIN, redemption reports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from pos.domain.pins import PinError, hash_pin
from pos.service import backoffice, staff
from pos.service.deps import ManagerDep, ServiceDep, TerminalDep, write
from pos.service.models import Ident, PinBody, StaffBody, StoreZoneBody, VerifierRequest
from pos.service.schema import store_zone

router = APIRouter()


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
    return {"staff": backoffice.list_staff(service.reader(), datetime.now(UTC))}


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
    return await write(service, lambda db: backoffice.add_staff(db, terminal, session, staff_id=body.id, name=body.name,
                                                       role=body.role, pin=body.pin, now=now))


@router.get("/v1/reports/redemptions", summary="Manager: live redemptions per day, campaign and store")
def report(service: ServiceDep, terminal: TerminalDep, session: ManagerDep, days: Annotated[int, Query(ge=1, le=366)] = 30,
           tz: Annotated[str | None, Query(min_length=1, max_length=64,
                                           description="IANA zone of the days; default the manager's store's")] = None
           ) -> dict[str, Any]:
    db = service.reader()
    return backoffice.redemption_report(db, datetime.now(UTC), days=days, tz=tz or store_zone(db, terminal.store_id))
