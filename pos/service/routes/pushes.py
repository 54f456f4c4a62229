"""Manager routes for coupon pushes: history, preview, schedule, cancel, deliveries, the order-number
template and reading an uploaded order file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as Path_
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from pos.service import pushes
from pos.service.deps import ManagerDep, ServiceDep, TerminalDep, write
from pos.service.models import PushBody

router = APIRouter()


@router.get("/v1/pushes", summary="Manager: the history of coupon pushes")
def push_history(service: ServiceDep, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    return pushes.history(service.reader())


@router.post("/v1/pushes", status_code=201, summary="Manager: schedule a coupon push (one a week)")
async def push_schedule(service: ServiceDep, body: PushBody, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    data = body.model_dump()
    return await write(service, lambda db: pushes.schedule(db, terminal, session.staff_id, data, now))


@router.post("/v1/pushes/preview", summary="Manager: the message a push would send, to how many, and any rule broken")
def push_preview(service: ServiceDep, body: PushBody, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    return pushes.preview(service.reader(), body.model_dump(), datetime.now(UTC), service.shop)


@router.post("/v1/pushes/{push_id}/cancel", summary="Manager: cancel a push, up to 24 hours before it is sent")
async def push_cancel(service: ServiceDep, push_id: Annotated[int, Path_(ge=1, le=2**62)], terminal: TerminalDep,
                      session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    return await write(service, lambda db: pushes.cancel(db, terminal, session.staff_id, push_id, now))


@router.get("/v1/pushes/{push_id}/deliveries", summary="Manager: who a sent push reached, and who was skipped and why")
def push_deliveries(service: ServiceDep, push_id: Annotated[int, Path_(ge=1, le=2**62)], terminal: TerminalDep,
                    session: ManagerDep) -> dict[str, Any]:
    return pushes.deliveries(service.reader(), push_id)


@router.get("/v1/push-template", summary="Manager: the order-number template for a compensation push")
def push_template(service: ServiceDep, terminal: TerminalDep, session: ManagerDep, format: Literal["csv", "xlsx"] = "xlsx") -> Response:
    if format == "csv":
        return Response(pushes.template_csv(), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="push-orders.csv"'})
    return Response(pushes.template_xlsx(),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="push-orders.xlsx"'})


@router.post("/v1/push-orders", summary="Manager: read order numbers from an uploaded CSV or Excel file (raw body)")
async def push_orders(service: ServiceDep, request: Request, terminal: TerminalDep, session: ManagerDep,
                      filename: Annotated[str, Query(min_length=1, max_length=200)]) -> dict[str, Any]:
    content = await request.body()
    numbers = await run_in_threadpool(pushes.read_order_numbers, content, filename)
    return pushes.order_buyers(service.reader(), numbers, datetime.now(UTC))
