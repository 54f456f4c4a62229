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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import pos
from pos.domain.campaigns import Action
from pos.domain.pins import verify_pin
from pos.service import backoffice, ledger, staff
from pos.service.admin import token_hash
from pos.service.backoffice import CampaignRefused
from pos.service.ledger import ServiceError, Terminal
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


class RedeemRequest(Strict):
    nonce: Nonce = Field(description="Client-made idempotency key: a retry with the same key gets the first answer.")
    code: CodeText = Field(description="The typed code or the scanned QR payload.")
    staff_id: Ident
    store_id: Ident = Field(description="Must be the store the terminal's token belongs to.")
    amount: Cents | None = Field(None, description="Basket amount in cents, when the campaign's rules need it.")


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


class ValidityBody(Strict):
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    days: Annotated[int, Field(ge=1, le=3650)] | None = Field(None, description="Valid this many days after claiming.")


class DiscountBody(Strict):
    amount_off: Cents | None = None
    percent_off: Annotated[int, Field(ge=0, le=100)] | None = None
    cap: Cents | None = Field(None, description="With percent_off: the most taken off, in cents.")
    min_spend: Cents = 0


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
    discount: DiscountBody
    quantity: Annotated[int, Field(ge=0, le=10**9)] | None = None
    per_customer: Literal["unlimited", "once", "once_per_day"] = "unlimited"
    offline: OfflineBody = Field(default_factory=OfflineBody)
    cancel_window_minutes: Annotated[int, Field(ge=0, le=100_000)] = 60
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"


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
    return create_app(os.environ["POS_SERVICE_DB"], synchronous=os.environ.get("POS_SERVICE_SYNCHRONOUS", "FULL"),
                      group_commit=os.environ.get("POS_SERVICE_GROUP_COMMIT", "1") == "1")


def create_app(db_path: str | Path, *, synchronous: str = "FULL", group_commit: bool = True) -> FastAPI:
    service = Service(db_path, synchronous=synchronous, group_commit=group_commit)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.writer.start()
        try:
            yield
        finally:
            service.writer.stop()

    app = FastAPI(title="pos redemption service", version=pos.__version__, lifespan=lifespan,
                  description="Voucher redemption: online redeem, cancel, offline upload, catalog for terminals.")
    app.state.service = service

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        if isinstance(exc, CampaignRefused):
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
            db, terminal, nonce=body.nonce, code=body.code, staff_id=body.staff_id, amount=body.amount, now=now))
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
                                                            customer_id=body.customer_id, now=now)))

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
