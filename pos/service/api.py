"""The redemption service's HTTP API (FastAPI; the OpenAPI document is at ``/openapi.json``).

Business refusals are answers, not errors: a redeem that is refused comes back 200 with a verdict
whose ``reason`` says why. HTTP errors are for requests the service will not consider at all, and
always carry ``{"error": {"code", "message"}}`` with a stable code.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi import Path as Path_
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import pos
from pos.domain.campaigns import Action
from pos.domain.pins import verify_pin
from pos.service import backoffice, ledger, pushes, staff
from pos.service.admin import token_hash
from pos.service.ledger import RulesRefused, ServiceError, Terminal
from pos.service.pushes import Smtp
from pos.service.schema import open_db
from pos.service.staff import StaffSession
from pos.service.writer import Writer

Nonce = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Ident = Annotated[str, Field(min_length=1, max_length=64)]
Cents = Annotated[int, Field(ge=0, le=10**11)]
CodeText = Annotated[str, Field(min_length=1, max_length=512)]


CampaignStatusParam = Literal["rejected", "not_reviewed", "manual_review", "approved", "active", "paused",
                              "force_paused", "ended", "deleted"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


SkuId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class LineBody(Strict):
    sku: SkuId | None = None
    price: Cents | None = Field(None, description="Unit price in cents; for a promotion's SKU, its list price if left out.")
    qty: Annotated[int, Field(ge=1, le=999)] = 1


class RedeemRequest(Strict):
    nonce: Nonce = Field(description="Client-made idempotency key: a retry with the same key gets the first answer.")
    code: CodeText = Field(description="The typed code or the scanned QR payload.")
    staff_id: Ident
    store_id: Ident = Field(description="Must be the store the terminal's token belongs to.")
    amount: Cents | None = Field(None, description="Basket amount in cents, when the campaign's rules need it.")
    items: list[LineBody] | None = Field(None, max_length=200,
                                         description="The basket's lines, when the promotion depends on the goods.")


class CancelRequest(Strict):
    staff_id: Ident


class LoginRequest(Strict):
    staff_id: Ident
    pin: Annotated[str, Field(min_length=1, max_length=16)] = Field(description="4 to 8 digits; never stored or logged.")


class VerifierRequest(Strict):
    all_stores: bool = False
    stores: list[Ident] = Field(default_factory=list, max_length=1000)
    active: bool = True


class IssueRequest(Strict):
    count: Annotated[int, Field(ge=1, le=10_000)] = 1
    customer_id: Ident | None = None
    affiliate_id: Ident | None = Field(None, description="The affiliate who referred the customer.")


class GiveRequest(Strict):
    to_customer: Ident


class SkuBody(Strict):
    sku: SkuId
    price: Cents = Field(description="List price in cents, to 0.10 yuan.")
    promo_price: Cents | None = None
    seq: Annotated[int, Field(ge=0, le=100)] | None = Field(None, description="Bundles: the good's place, 1 to 7.")
    num: Annotated[int, Field(ge=0, le=100)] | None = Field(None, description="Gifts: how many are given, 1 to 3.")
    bind: Literal["main", "gift"] = "main"


class SkuBatch(Strict):
    skus: list[SkuBody] = Field(max_length=1000, description="At most 100 a call (sku.batch.invalid beyond).")


class BindingRequest(Strict):
    campaign_id: Ident
    skus: list[SkuId] = Field(max_length=100)


class PushBody(Strict):
    kind: Literal["advertising", "compensation"]
    campaign_id: Ident
    send_date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    send_time: Annotated[str, Field(pattern=r"^\d{2}:\d{2}$")]
    followed_from: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    followed_to: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    orders: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default_factory=list, max_length=20_000)
    items: list[SkuId] = Field(default_factory=list, max_length=100)


class ValidityBody(Strict):
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    days: Annotated[int, Field(ge=1, le=3650)] | None = Field(None, description="Valid this many days after claiming.")


class DiscountBody(Strict):
    amount_off: Cents | None = None
    percent_off: Annotated[int, Field(ge=0, le=100)] | None = None
    cap: Cents | None = Field(None, description="With percent_off: the most taken off, in cents.")
    min_spend: Cents = 0


class LimitsBody(Strict):
    total: Annotated[int, Field(ge=-1, le=10**9)] = 0
    one_only: bool = False
    per_order_max: Annotated[int, Field(ge=-1, le=10**6)] = 0
    per_order_min: Annotated[int, Field(ge=-1, le=10**6)] = 0


class RuleBody(Strict):
    mode: Literal["items_off", "price_for_items", "items_tenths", "spend_off_gift"]
    quota: Annotated[int, Field(ge=-1, le=10**11)]
    rate: Annotated[int, Field(ge=-1, le=10**6)] | None = None
    minus: Annotated[int, Field(ge=-1, le=10**11)] | None = None
    plus: Annotated[int, Field(ge=-1, le=10**11)] | None = None
    gift: SkuId | None = None


class OfflineBody(Strict):
    allowed: bool = True
    max_discount: Cents | None = None


class CampaignBody(Strict):
    """A campaign as the manager writes it; the rules (lengths, times, bounds) are checked by the domain
    and refused with ``campaign.*.invalid`` codes, each problem naming its field."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(max_length=200)]
    kind: Literal["single_item", "gift", "bundle", "order_total"] = "order_total"
    begins_at: datetime
    ends_at: datetime
    validity: ValidityBody = Field(default_factory=ValidityBody)
    stores: list[Ident] | None = Field(None, max_length=1000, description="None: every store.")
    discount: DiscountBody = Field(default_factory=DiscountBody)
    quantity: Annotated[int, Field(ge=0, le=10**9)] | None = None
    per_customer: Literal["unlimited", "once", "once_per_day"] = "unlimited"
    offline: OfflineBody = Field(default_factory=OfflineBody)
    cancel_window_minutes: Annotated[int, Field(ge=0, le=100_000)] = 60
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"
    slogan: Annotated[str, Field(max_length=1000)] = ""
    comment: Annotated[str, Field(max_length=2000)] = ""
    member: Literal[50, 56, 61, 62, 105, 110] = 50
    scope: Literal["all", "listed", "except_listed"] = "all"
    limits: LimitsBody = Field(default_factory=LimitsBody)
    reward: Annotated[int, Field(ge=-1, le=10**9)] | None = None
    rule: RuleBody | None = None
    claim_starts_at: datetime | None = None
    claim_ends_at: datetime | None = None
    claim_limit: Literal["unlimited", "once", "once_per_day"] = Field(
        "unlimited", description="How often one customer may claim a voucher (per_customer limits redeeming).")
    giftable: bool = False
    merchant: Annotated[str, Field(max_length=1000)] = ""
    title: Annotated[str, Field(max_length=1000)] = ""
    conditions: Annotated[str, Field(max_length=2000)] = ""
    affiliates: bool = Field(True, description="Share with affiliates (on unless turned off); fixed at creation.")


class StaffBody(Strict):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(max_length=200)]
    role: Literal["cashier", "manager"] = "cashier"
    pin: Annotated[str, Field(min_length=1, max_length=16)]


class UploadItem(Strict):
    kind: Literal["redeem", "cancel", "void"] = "redeem"
    nonce: Nonce
    staff_id: Ident
    code: CodeText | None = None
    amount: Cents | None = None
    items: list[LineBody] | None = Field(None, max_length=200)
    redeemed_at: datetime | None = Field(None, description="When the terminal accepted it offline.")
    target: Nonce | None = Field(None, description="For cancel and void: the redemption's nonce.")
    requested_at: datetime | None = None


class UploadRequest(Strict):
    store_id: Ident
    items: list[UploadItem] = Field(max_length=2000)


def fast_json(content: Any, status: int = 200) -> Response:
    """Large answers (uploads, catalog pages) serialised by orjson, skipping FastAPI's generic encoder."""
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def refuse(err: ServiceError) -> None:
    """An operation that only refuses: run on the writer so the refusal is audited."""
    raise err


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


TOKEN_TTL = 5.0


class Service:
    """The state behind the app: the writer thread and one read connection per worker thread."""

    def __init__(self, db_path: str | Path, *, synchronous: str = "FULL", group_commit: bool = True) -> None:
        self.db_path = Path(db_path)
        open_db(self.db_path, synchronous=synchronous).close()  # schema in place before any request
        self.writer = Writer(self.db_path, synchronous=synchronous, group_commit=group_commit)
        self._local = threading.local()
        self._tokens: dict[str, tuple[Terminal | None, float]] = {}

    def reader(self) -> Any:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = open_db(self.db_path)
        return db

    def terminal(self, token: str) -> Terminal | None:
        """The terminal a token belongs to; answers are kept for TOKEN_TTL seconds, so a withdrawn
        token stops working within that time without a database read on every request."""
        digest = token_hash(token)
        now = time.monotonic()
        hit = self._tokens.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        row = self.reader().conn.execute(
            "SELECT id, store_id FROM terminals WHERE token_hash=? AND active=1", (digest,)
        ).fetchone()
        terminal = Terminal(row[0], row[1]) if row else None
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[digest] = (terminal, now + TOKEN_TTL)
        return terminal


async def authenticated(request: Request, authorization: Annotated[str | None, Header()] = None) -> Terminal:
    """The terminal behind the bearer token; every endpoint but /healthz needs one."""
    if not authorization or not authorization.startswith("Bearer "):
        raise ServiceError(401, "auth.missing", "Send the terminal's token as 'Authorization: Bearer …'.")
    terminal = request.app.state.service.terminal(authorization.removeprefix("Bearer ").strip())
    if terminal is None:
        raise ServiceError(401, "auth.invalid", "This terminal token is not known or was withdrawn.")
    return terminal


TerminalDep = Annotated[Terminal, Depends(authenticated)]


async def manager(request: Request, terminal: TerminalDep,
                  x_staff_session: Annotated[str | None, Header()] = None) -> StaffSession:
    """The manager logged in at this terminal (``X-Staff-Session`` from ``POST /v1/sessions``)."""
    service = request.app.state.service
    if not x_staff_session:
        raise ServiceError(401, "session.missing", "Log in as a manager first (send X-Staff-Session).")
    session = staff.session_of(service.reader(), x_staff_session, terminal, datetime.now(UTC))
    if session is None:
        raise ServiceError(401, "session.invalid", "This staff session is unknown, expired, or from another terminal.")
    if session.role != "manager":
        refusal = ServiceError(403, "role.manager_required", "Only a manager may do this.",
                               {"action": "role.refused", "actor": session.staff_id, "terminal": terminal,
                                "subject": str(request.url.path)})
        await asyncio.wrap_future(service.writer.submit(ledger.guarded(lambda db: refuse(refusal), datetime.now(UTC))))
        raise refusal
    return session


ManagerDep = Annotated[StaffSession, Depends(manager)]


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory`` worker processes, configured by ``pos serve`` through the environment."""
    smtp = os.environ.get("POS_SMTP")
    return create_app(os.environ["POS_SERVICE_DB"], synchronous=os.environ.get("POS_SERVICE_SYNCHRONOUS", "FULL"),
                      group_commit=os.environ.get("POS_SERVICE_GROUP_COMMIT", "1") == "1",
                      smtp=Smtp.parse(smtp, sender=os.environ.get("POS_SMTP_FROM", "coupons@localhost"),
                                      shop=os.environ.get("POS_SHOP", "Our shop")) if smtp else None,
                      push_every=float(os.environ.get("POS_PUSH_EVERY", "30")), shop=os.environ.get("POS_SHOP", "Our shop"))


def pusher(service: Service, smtp: Smtp, every: float, stop: threading.Event) -> None:
    """Deliver due coupon pushes every ``every`` seconds until ``stop`` is set."""
    import logging

    log = logging.getLogger("pos.pushes")
    while not stop.wait(every):
        now = datetime.now(UTC)
        try:
            def submit(fn: Callable[[Any], Any], t: datetime = now) -> Any:
                return service.writer.call(ledger.guarded(fn, t))

            for done in pushes.deliver(submit, smtp, now):
                log.warning("push %s: %s", done["id"], done)
        except Exception:  # a delivery round that fails is retried next round; the service stays up
            log.exception("push delivery failed")


def create_app(db_path: str | Path, *, synchronous: str = "FULL", group_commit: bool = True, smtp: Smtp | None = None,
               push_every: float = 30.0, shop: str = "Our shop") -> FastAPI:
    service = Service(db_path, synchronous=synchronous, group_commit=group_commit)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.writer.start()
        stop = threading.Event()
        thread = None
        if smtp is not None:
            thread = threading.Thread(target=pusher, args=(service, smtp, push_every, stop), name="pusher", daemon=True)
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=60)
            service.writer.stop()

    app = FastAPI(title="pos redemption service", version=pos.__version__, lifespan=lifespan,
                  description="Voucher redemption: online redeem, cancel, offline upload, catalog for terminals.")
    app.state.service = service
    app.state.shop = shop

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        if isinstance(exc, RulesRefused):
            return JSONResponse({"error": {"code": exc.code, "message": exc.message,
                                           "problems": [p.to_dict() for p in exc.problems]}}, status_code=exc.status)
        return error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error(422, "request.invalid", f"{where or 'request'}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, f"http.{exc.status_code}", str(exc.detail))

    async def same_store(terminal: Terminal, store_id: str) -> None:
        if store_id != terminal.store_id:
            refusal = ServiceError(403, "store.mismatch",
                                   f"This terminal belongs to store {terminal.store_id}, not {store_id}.",
                                   {"action": "store.mismatch", "terminal": terminal, "subject": store_id})
            await write(lambda db: refuse(refusal))

    async def write(op: Any) -> Any:
        result = await asyncio.wrap_future(service.writer.submit(ledger.guarded(op, datetime.now(UTC))))
        if isinstance(result, ServiceError):
            raise result
        return result

    @app.get("/healthz", summary="Liveness and version")
    async def healthz() -> dict[str, Any]:
        writer = service.writer
        return {"ok": True, "version": pos.__version__,
                "writer": {"batches": writer.batches, "operations": writer.operations,
                           "busy_seconds": round(writer.busy_seconds, 3)}}

    @app.post("/v1/redemptions", summary="Redeem a voucher (idempotent by nonce)")
    async def redeem(body: RedeemRequest, terminal: TerminalDep) -> Response:
        await same_store(terminal, body.store_id)
        now = datetime.now(UTC)
        status, answer = await write(lambda db: ledger.redeem(
            db, terminal, nonce=body.nonce, code=body.code, staff_id=body.staff_id, amount=body.amount, now=now,
            items=[i.model_dump() for i in body.items] if body.items else None))
        return Response(answer, status_code=status, media_type="application/json")

    @app.get("/v1/redemptions/{nonce}", summary="What became of a redeem request")
    def lookup(nonce: Nonce, terminal: TerminalDep) -> dict[str, Any]:
        return ledger.lookup(service.reader(), terminal, nonce)

    @app.post("/v1/redemptions/{nonce}/cancel", summary="Undo a redemption inside the cancel window")
    async def cancel(nonce: Nonce, body: CancelRequest, terminal: TerminalDep) -> dict[str, Any]:
        now = datetime.now(UTC)
        return await write(lambda db: ledger.cancel(db, terminal, nonce=nonce, staff_id=body.staff_id, now=now))

    @app.post("/v1/uploads", summary="Upload offline redemptions, cancels and voids; answered per item")
    async def upload(body: UploadRequest, terminal: TerminalDep) -> Response:
        await same_store(terminal, body.store_id)
        for item in body.items:
            if item.kind == "redeem" and not item.code:
                raise ServiceError(422, "request.invalid", f"item {item.nonce}: a redeem needs a code")
            if item.kind != "redeem" and not item.target:
                raise ServiceError(422, "request.invalid", f"item {item.nonce}: a {item.kind} needs a target")
        items = [i.model_dump() for i in body.items]
        now = datetime.now(UTC)
        results = await write(lambda db: ledger.upload(db, terminal, items, now))
        return fast_json({"results": results})

    @app.post("/v1/sessions", summary="Log a staff member in with their PIN (locked after 5 wrong PINs)")
    async def login(body: LoginRequest, terminal: TerminalDep) -> dict[str, Any]:
        stored = staff.pin_hash_of(service.reader(), body.staff_id)
        pin_ok = await run_in_threadpool(verify_pin, body.pin, stored)  # slow on purpose: off the event loop
        now = datetime.now(UTC)
        answer = await write(lambda db: staff.record_login(db, terminal, body.staff_id, pin_ok, now))
        if "error" in answer:
            err = answer["error"]
            raise ServiceError(err["status"], err["code"], err["message"])
        return answer

    @app.put("/v1/verifiers/{staff_id}", summary="Manager: let a staff member verify in all or chosen stores, or revoke")
    async def put_verifier(staff_id: Ident, body: VerifierRequest, terminal: TerminalDep,
                           session: ManagerDep) -> dict[str, Any]:
        now = datetime.now(UTC)
        return await write(lambda db: staff.set_verifier(db, terminal, session, staff_id, all_stores=body.all_stores,
                                                         stores=body.stores, active=body.active, now=now))

    @app.post("/v1/campaigns/{campaign_id}/vouchers", summary="Manager: issue vouchers, with their signed QR payloads")
    async def issue_vouchers(campaign_id: Ident, body: IssueRequest, terminal: TerminalDep,
                             session: ManagerDep) -> Response:
        now = datetime.now(UTC)
        return fast_json(await write(lambda db: staff.issue(db, terminal, session, campaign_id, count=body.count,
                                                            customer_id=body.customer_id, now=now,
                                                            affiliate_id=body.affiliate_id)))

    @app.post("/v1/vouchers/{code}/give", summary="Manager: hand a voucher to a friend (when its campaign allows it)")
    async def give(code: Ident, body: GiveRequest, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
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

        return await write(op)

    @app.post("/v1/campaigns/{campaign_id}/skus", status_code=201,
              summary="Manager: add a batch of SKUs (at most 100 a call, 1000 a promotion)")
    async def add_skus(campaign_id: Ident, body: SkuBatch, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
        now = datetime.now(UTC)
        batch = [s.model_dump() for s in body.skus]
        return await write(lambda db: backoffice.add_skus(db, terminal, session, campaign_id, batch, now))

    @app.get("/v1/campaigns/{campaign_id}/skus", summary="Manager: a promotion's SKUs, a page at a time")
    def skus(campaign_id: Ident, terminal: TerminalDep, session: ManagerDep,
             bind: Literal["main", "gift"] | None = None, page: Annotated[int, Query(ge=1, le=10**6)] = 1,
             size: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
        return backoffice.list_skus(service.reader(), campaign_id, bind=bind, page=page, size=size)

    @app.delete("/v1/campaigns/{campaign_id}/skus/{sku}", summary="Manager: take a SKU out of a promotion")
    async def remove_sku(campaign_id: Ident, sku: SkuId, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
        now = datetime.now(UTC)
        return await write(lambda db: backoffice.remove_sku(db, terminal, session, campaign_id, sku, now))

    @app.get("/v1/campaigns/{campaign_id}/report",
             summary="Manager: a campaign's redemptions and sales; a 'referred by affiliate' Y/N column when shared")
    def campaign_report(campaign_id: Ident, terminal: TerminalDep, session: ManagerDep,
                        format: Literal["json", "csv"] = "json") -> Response:
        report = backoffice.campaign_report(service.reader(), campaign_id)
        if format == "csv":
            return Response(backoffice.report_csv(report), media_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{campaign_id}-report.csv"'})
        return fast_json(report)

    @app.post("/v1/channels/{plan}/bindings", status_code=201,
              summary="Manager: bind a coupon to SKUs of a channel plan; effective from the next day")
    async def bind(plan: Ident, body: BindingRequest, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
        now = datetime.now(UTC)
        return await write(lambda db: backoffice.bind_coupon(db, terminal, session, plan, body.campaign_id, body.skus, now))

    @app.get("/v1/channels/bindings", summary="Manager: coupon bindings of every plan, with whether each is in effect")
    def bindings(terminal: TerminalDep, session: ManagerDep, plan: Ident | None = None) -> dict[str, Any]:
        return backoffice.list_bindings(service.reader(), plan, datetime.now(UTC))

    @app.get("/v1/pushes", summary="Manager: the history of coupon pushes")
    def push_history(terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
        return pushes.history(service.reader())

    @app.post("/v1/pushes/preview", summary="Manager: the message a push would send, to how many, and any rule broken")
    def push_preview(body: PushBody, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
        return pushes.preview(service.reader(), body.model_dump(), datetime.now(UTC), app.state.shop)

    @app.post("/v1/pushes", status_code=201, summary="Manager: schedule a coupon push (one a week)")
    async def push_schedule(body: PushBody, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
        now = datetime.now(UTC)
        data = body.model_dump()
        return await write(lambda db: pushes.schedule(db, terminal, session.staff_id, data, now))

    @app.post("/v1/pushes/{push_id}/cancel", summary="Manager: cancel a push, up to 24 hours before it is sent")
    async def push_cancel(push_id: Annotated[int, Path_(ge=1, le=2**62)], terminal: TerminalDep,
                          session: ManagerDep) -> dict[str, Any]:
        now = datetime.now(UTC)
        return await write(lambda db: pushes.cancel(db, terminal, session.staff_id, push_id, now))

    @app.get("/v1/pushes/{push_id}/deliveries", summary="Manager: who a sent push reached, and who was skipped and why")
    def push_deliveries(push_id: Annotated[int, Path_(ge=1, le=2**62)], terminal: TerminalDep,
                        session: ManagerDep) -> dict[str, Any]:
        return pushes.deliveries(service.reader(), push_id)

    @app.get("/v1/push-template", summary="Manager: the order-number template for a compensation push")
    def push_template(terminal: TerminalDep, session: ManagerDep, format: Literal["csv", "xlsx"] = "xlsx") -> Response:
        if format == "csv":
            return Response(pushes.template_csv(), media_type="text/csv",
                            headers={"Content-Disposition": 'attachment; filename="push-orders.csv"'})
        return Response(pushes.template_xlsx(),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": 'attachment; filename="push-orders.xlsx"'})

    @app.post("/v1/push-orders", summary="Manager: read order numbers from an uploaded CSV or Excel file (raw body)")
    async def push_orders(request: Request, terminal: TerminalDep, session: ManagerDep,
                          filename: Annotated[str, Query(min_length=1, max_length=200)]) -> dict[str, Any]:
        content = await request.body()
        numbers = await run_in_threadpool(pushes.read_order_numbers, content, filename)
        return pushes.order_buyers(service.reader(), numbers, datetime.now(UTC))

    @app.get("/v1/campaigns", summary="Manager: campaigns, filtered by status (as of now) and kind, a page at a time")
    def campaigns(terminal: TerminalDep, session: ManagerDep, status: CampaignStatusParam | None = None,
                  kind: Literal["single_item", "gift", "bundle", "order_total"] | None = None,
                  offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                  limit: Annotated[int, Query(ge=1, le=500)] = 20) -> Response:
        return fast_json(backoffice.list_campaigns(service.reader(), datetime.now(UTC), status=status, kind=kind,
                                                   offset=offset, limit=limit))

    @app.get("/v1/campaigns/{campaign_id}", summary="Manager: one campaign, with the lifecycle steps open to it now")
    def campaign(campaign_id: Ident, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
        return backoffice.get_campaign(service.reader(), campaign_id, datetime.now(UTC))

    @app.post("/v1/campaigns", status_code=201, summary="Manager: create a campaign; it waits for review")
    async def create_campaign(body: CampaignBody, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
        now = datetime.now(UTC)
        data = body.model_dump(mode="json")
        return await write(lambda db: backoffice.create_campaign(db, terminal, session, data, now))

    @app.put("/v1/campaigns/{campaign_id}", summary="Manager: edit a campaign before approval or after rejection")
    async def update_campaign(campaign_id: Ident, body: CampaignBody, terminal: TerminalDep,
                              session: ManagerDep) -> dict[str, Any]:
        now = datetime.now(UTC)
        data = body.model_dump(mode="json")
        return await write(lambda db: backoffice.update_campaign(db, terminal, session, campaign_id, data, now))

    @app.post("/v1/campaigns/{campaign_id}/{action}",
              summary="Manager: a lifecycle step (submit, approve, reject, pause, resume, end, delete)")
    async def campaign_step(campaign_id: Ident, action: Action, terminal: TerminalDep,
                            session: ManagerDep) -> dict[str, Any]:
        now = datetime.now(UTC)
        return await write(lambda db: backoffice.campaign_action(db, terminal, session, campaign_id, action, now))

    @app.get("/v1/staff", summary="Manager: staff members and their verifier rights")
    def staff_list(terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
        return {"staff": backoffice.list_staff(service.reader())}

    @app.post("/v1/staff", status_code=201, summary="Manager: add a staff member with their PIN")
    async def add_staff(body: StaffBody, terminal: TerminalDep, session: ManagerDep) -> dict[str, Any]:
        now = datetime.now(UTC)
        return await write(lambda db: backoffice.add_staff(db, terminal, session, staff_id=body.id, name=body.name,
                                                           role=body.role, pin=body.pin, now=now))

    @app.get("/v1/reports/redemptions", summary="Manager: live redemptions per day, campaign and store")
    def report(terminal: TerminalDep, session: ManagerDep, days: Annotated[int, Query(ge=1, le=366)] = 30,
               tz: Annotated[str, Query(min_length=1, max_length=64)] = "UTC") -> dict[str, Any]:
        return backoffice.redemption_report(service.reader(), datetime.now(UTC), days=days, tz=tz)

    @app.get("/v1/catalog", summary="What a store's terminal needs to decide offline, as a delta since a cursor")
    def catalog(terminal: TerminalDep, since: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
                limit: Annotated[int, Query(ge=1, le=50_000)] = 10_000) -> Response:
        return fast_json(ledger.catalog_delta(service.reader(), terminal.store_id, since, limit, terminal.id))

    return app
