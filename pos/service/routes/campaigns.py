"""Manager routes for campaigns: the list, one campaign, create and edit, lifecycle steps, SKUs,
issuing and giving vouchers, the per-campaign report, and channel bindings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from pos.domain.campaigns import Action
from pos.service import backoffice, channels, staff
from pos.service.deps import ManagerDep, ServiceDep, TerminalDep, fast_json, write
from pos.service.ledger import ServiceError
from pos.service.models import (
    BindingRequest,
    CampaignBody,
    CampaignStatusParam,
    GiveRequest,
    Ident,
    IssueRequest,
    SkuBatch,
    SkuId,
    StepRequest,
)

router = APIRouter()


@router.post("/v1/campaigns/{campaign_id}/vouchers", summary="Manager: issue vouchers, with their signed QR payloads")
async def issue_vouchers(service: ServiceDep, campaign_id: Ident, body: IssueRequest, terminal: TerminalDep,
                         session: ManagerDep) -> Response:
    now = datetime.now(UTC)
    return fast_json(await write(service, lambda db: staff.issue(db, terminal, session, campaign_id, count=body.count,
                                                        customer_id=body.customer_id, now=now,
                                                        affiliate_id=body.affiliate_id)))


@router.post("/v1/vouchers/{code}/give", summary="Manager: hand a voucher to a friend (when its campaign allows it)")
async def give(service: ServiceDep, code: Ident, body: GiveRequest, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    from pos.service.admin import ClaimError, give_voucher

    now = datetime.now(UTC)

    def op(db: Any) -> dict[str, Any]:
        try:
            give_voucher(db, code, body.to_customer, now=now, actor=session.staff_id, terminal=terminal)
        except ClaimError as exc:
            raise ServiceError(404 if exc.code == "voucher.non.exist" else 422, exc.code, str(exc),
                               {"action": "voucher.refused", "actor": session.staff_id, "terminal": terminal,
                                "subject": code}) from exc
        return {"code": code, "customer_id": body.to_customer}

    return await write(service, op)


@router.post("/v1/campaigns/{campaign_id}/skus", status_code=201,
          summary="Manager: add a batch of SKUs (at most 100 a call, 1000 a promotion)")
async def add_skus(service: ServiceDep, campaign_id: Ident, body: SkuBatch, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    batch = [s.model_dump() for s in body.skus]
    return await write(service, lambda db: backoffice.add_skus(db, terminal, session, campaign_id, batch, now))


@router.get("/v1/campaigns/{campaign_id}/skus", summary="Manager: a promotion's SKUs, a page at a time")
def skus(service: ServiceDep, campaign_id: Ident, terminal: TerminalDep, session: ManagerDep,
         bind: Literal["main", "gift"] | None = None, page: Annotated[int, Query(ge=1, le=10**6)] = 1,
         size: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    return backoffice.list_skus(service.reader(), campaign_id, bind=bind, page=page, size=size)


@router.delete("/v1/campaigns/{campaign_id}/skus/{sku}", summary="Manager: take a SKU out of a promotion")
async def remove_sku(service: ServiceDep, campaign_id: Ident, sku: SkuId, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    return await write(service, lambda db: backoffice.remove_sku(db, terminal, session, campaign_id, sku, now))


@router.get("/v1/campaigns/{campaign_id}/report",
         summary="Manager: a campaign's redemptions and sales; a 'referred by affiliate' Y/N column when shared")
def campaign_report(service: ServiceDep, campaign_id: Ident, terminal: TerminalDep, session: ManagerDep,
                    format: Literal["json", "csv"] = "json") -> Response:
    report = backoffice.campaign_report(service.reader(), campaign_id)
    if format == "csv":
        return Response(backoffice.report_csv(report), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{campaign_id}-report.csv"'})
    return fast_json(report)


@router.post("/v1/channels/{plan}/bindings", status_code=201,
          summary="Manager: bind a coupon to SKUs of a channel plan; effective from the next day")
async def bind(service: ServiceDep, plan: Ident, body: BindingRequest, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    return await write(service, lambda db: channels.bind_coupon(db, terminal, session, plan, body.campaign_id, body.skus, now))


@router.get("/v1/channels/bindings", summary="Manager: coupon bindings of every plan, with whether each is in effect")
def bindings(service: ServiceDep, terminal: TerminalDep, session: ManagerDep, plan: Ident | None = None) -> dict[str, Any]:
    return channels.list_bindings(service.reader(), plan, datetime.now(UTC))


@router.get("/v1/campaigns", summary="Manager: campaigns, filtered by status (as of now) and kind, a page at a time")
def campaigns(service: ServiceDep, terminal: TerminalDep, session: ManagerDep, status: CampaignStatusParam | None = None,
              kind: Literal["single_item", "gift", "bundle", "order_total"] | None = None,
              offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
              limit: Annotated[int, Query(ge=1, le=500)] = 20) -> Response:
    return fast_json(backoffice.list_campaigns(service.reader(), datetime.now(UTC), status=status, kind=kind,
                                               offset=offset, limit=limit))


@router.post("/v1/campaigns", status_code=201, summary="Manager: create a campaign; it waits for review")
async def create_campaign(service: ServiceDep, body: CampaignBody, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    data = body.model_dump(mode="json")
    return await write(service, lambda db: backoffice.create_campaign(db, terminal, session, data, now))


@router.get("/v1/campaigns/{campaign_id}", summary="Manager: one campaign, with the lifecycle steps open to it now")
def campaign(service: ServiceDep, campaign_id: Ident, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
    return backoffice.get_campaign(service.reader(), campaign_id, datetime.now(UTC))


@router.put("/v1/campaigns/{campaign_id}", summary="Manager: edit a campaign before approval or after rejection")
async def update_campaign(service: ServiceDep, campaign_id: Ident, body: CampaignBody, terminal: TerminalDep,
                          session: ManagerDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    data = body.model_dump(mode="json")
    return await write(service, lambda db: backoffice.update_campaign(db, terminal, session, campaign_id, data, now))


@router.post("/v1/campaigns/{campaign_id}/{action}",
          summary="Manager: a lifecycle step (submit, approve, reject with a reason, pause, resume, end, delete)")
async def campaign_step(service: ServiceDep, campaign_id: Ident, action: Action, terminal: TerminalDep,
                        session: ManagerDep, body: StepRequest | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    reason = body.reason if body else None
    authors = None
    if action is Action.APPROVE:  # who made and changed it, read off the writer (a scan of the audit)
        authors = await run_in_threadpool(lambda: backoffice.campaign_authors(service.reader(), campaign_id))
    return await write(service, lambda db: backoffice.campaign_action(db, terminal, session, campaign_id, action, now,
                                                                      four_eyes=not service.single_manager,
                                                                      authors=authors, reason=reason))
