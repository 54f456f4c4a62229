"""The counter's routes: redeem (idempotent by nonce), what became of a request, cancel, the offline
upload, staff logins, the catalog, and the liveness probe."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

import pos
from pos.domain.pins import verify_pin
from pos.service import feed, ledger, migrations, staff
from pos.service import upload as uploads
from pos.service.deps import (
    Service,
    ServiceDep,
    TerminalDep,
    bearer,
    decide,
    fast_json,
    read_body,
    same_store,
    self_parsed,
    write,
)
from pos.service.ledger import ServiceError
from pos.service.models import CancelRequest, LoginRequest, Nonce, RedeemRequest, UploadRequest
from pos.service.runs import RedeemCall

router = APIRouter()
PREPARE_HERE = 64  # an upload of up to this many items is prepared on the event loop itself


@router.get("/healthz", summary="Liveness and version")
async def healthz(service: ServiceDep) -> dict[str, Any]:
    writer = service.writer
    return {"ok": True, "version": pos.__version__,
            "writer": {"batches": writer.batches, "operations": writer.operations, "retries": writer.retries,
                       "threads": writer.threads, "busy_seconds": round(writer.busy_seconds, 3)}}


@router.get("/readyz", summary="Readiness for a load balancer: the database answers, its schema is this pos's, "
                               "the writer runs",
            responses={503: {"description": "not ready: do not send requests here"}})
def readyz(service: ServiceDep) -> Response:
    problems = []
    try:
        have = migrations.check(service.reader())
        if have != migrations.LATEST:
            problems.append(f"schema: version {have}, this pos needs {migrations.LATEST} (pos db upgrade)")
    except migrations.SchemaTooNew as exc:
        problems.append(f"schema: newer than this pos: {exc}")
    except Exception as exc:  # whatever keeps the database from answering makes this host not ready
        problems.append(f"database: {exc.__class__.__name__}: {exc}")
    if not service.writer.running:
        problems.append("writer: not running")
    return fast_json({"ready": not problems, "problems": problems}, status=503 if problems else 200)


@router.post("/v1/redemptions", summary="Redeem a voucher (idempotent by nonce)", openapi_extra=self_parsed(RedeemRequest))
async def redeem(request: Request) -> Response:
    # the counter's hot path: token and body read here, without FastAPI's dependency and body machinery
    service: Service = request.app.state.service
    terminal = bearer(service, request.headers.get("authorization"))
    body = read_body(RedeemRequest, await request.body())
    await same_store(service, terminal, body.store_id)
    items = [i.model_dump() for i in body.items] if body.items else None
    status, answer = await decide(service, RedeemCall(terminal, body.nonce, body.code, body.staff_id, body.amount,
                                                      datetime.now(UTC), items))
    return Response(answer, status_code=status, media_type="application/json")


@router.get("/v1/redemptions/{nonce}", summary="What became of a redeem request")
def lookup(service: ServiceDep, nonce: Nonce, terminal: TerminalDep) -> dict[str, Any]:
    return ledger.lookup(service.reader(), terminal, nonce)


@router.post("/v1/redemptions/{nonce}/cancel", summary="Undo a redemption inside the cancel window")
async def cancel(service: ServiceDep, nonce: Nonce, body: CancelRequest, terminal: TerminalDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    return await write(service, lambda db: ledger.cancel(db, terminal, nonce=nonce, staff_id=body.staff_id, now=now))


@router.post("/v1/uploads", summary="Upload offline redemptions, cancels and voids; answered per item",
             openapi_extra=self_parsed(UploadRequest))
async def upload(request: Request) -> Response:
    # up to 2,000 items: validated straight from the bytes, one pass, and dumped whole
    service: Service = request.app.state.service
    terminal = bearer(service, request.headers.get("authorization"))
    body = read_body(UploadRequest, await request.body())
    await same_store(service, terminal, body.store_id)
    for item in body.items:
        if item.kind == "redeem" and not item.code:
            raise ServiceError(422, "request.invalid", f"item {item.nonce}: a redeem needs a code")
        if item.kind != "redeem" and not item.target:
            raise ServiceError(422, "request.invalid", f"item {item.nonce}: a {item.kind} needs a target")
    now, items = datetime.now(UTC), body.model_dump()["items"]
    if len(items) > PREPARE_HERE:  # a night's batch: prepared on a worker thread, beside the writer's work
        prepared = await run_in_threadpool(uploads.prepare, terminal, items, now, service.clock_skew)
    else:  # a few items: not worth a thread's hop
        prepared = uploads.prepare(terminal, items, now, service.clock_skew)
    results = await write(service, lambda db: uploads.upload(db, terminal, prepared, now), solo=True)
    return fast_json({"results": results})


@router.post("/v1/sessions", summary="Log a staff member in with their PIN (locked after 5 wrong PINs)")
async def login(service: ServiceDep, body: LoginRequest, terminal: TerminalDep) -> dict[str, Any]:
    stored = staff.pin_hash_of(service.reader(), body.staff_id)
    pin_ok = await run_in_threadpool(verify_pin, body.pin, stored)  # slow on purpose: off the event loop
    now = datetime.now(UTC)
    answer = await write(service, lambda db: staff.record_login(db, terminal, body.staff_id, pin_ok, now))
    if "error" in answer:
        err = answer["error"]
        raise ServiceError(err["status"], err["code"], err["message"])
    return answer


@router.get("/v1/catalog", summary="What a store's terminal needs to decide offline, as a delta since a cursor")
def catalog(service: ServiceDep, terminal: TerminalDep, since: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
            limit: Annotated[int, Query(ge=1, le=50_000)] = 10_000) -> Response:
    return fast_json(feed.catalog_delta(service.reader(), terminal.store_id, since, limit, terminal.id))
